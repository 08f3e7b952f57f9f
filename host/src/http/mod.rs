//! The HTTP surface: routes, trusted-IP enforcement ([`trusted_hosts`]),
//! content negotiation, compression (gzip, deflate, zstd), the landing page
//! at `/`, request spans.
mod access;
mod admin_routes;
mod error;
mod html_policy;
mod landing_page;
mod log_limiter;
pub mod metrics_query;
mod metrics_routes;
pub mod negotiate;
mod request_span;
pub mod scrape_timeout;
pub mod tls_listener;
pub mod trusted_hosts;


use crate::http::trusted_hosts::TrustedHosts;
use crate::render_service::RenderService;
use crate::self_metrics::HostMetrics;
use crate::shared_render::{SharedRenders, StartRender};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{middleware, Router};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// What every handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Runs renders (selection, breaker, limits, concurrency, self-metrics).
    pub renders: Arc<RenderService>,
    /// The same renders, shared by concurrent requests for one representation.
    pub scrapes: Arc<SharedRenders>,
    /// Who may read.
    pub trusted_hosts: Arc<TrustedHosts>,
    /// The host's own metrics (refusals here; renders and reloads elsewhere).
    pub host_metrics: Arc<HostMetrics>,
    /// Taken off Prometheus' scrape timeout to get a scrape's render deadline.
    pub scrape_timeout_offset: Duration,
    /// Formats content negotiation may pick, most preferred first.
    pub negotiate: negotiate::NegotiableFormats,
    /// Push endpoints, for `/-/push`.
    pub pushers: Option<Arc<crate::push::Pushers>>,
}

impl AppState {
    /// The state for serving `renders` to `trusted_hosts`, with the default
    /// scrape-timeout offset ([`DEFAULT_SCRAPE_TIMEOUT_OFFSET`]) and
    /// negotiable formats (the built-in text).
    pub fn new(
        renders: Arc<RenderService>,
        host_metrics: Arc<HostMetrics>,
        trusted_hosts: TrustedHosts,
        client_stall_timeout: Duration,
    ) -> Self {
        let scrapes = Arc::new(SharedRenders::new(
            Arc::clone(&renders) as Arc<dyn StartRender>,
            client_stall_timeout,
            Some(Arc::clone(&host_metrics)),
        ));
        AppState {
            renders,
            scrapes,
            trusted_hosts: Arc::new(trusted_hosts),
            host_metrics,
            scrape_timeout_offset: DEFAULT_SCRAPE_TIMEOUT_OFFSET,
            negotiate: negotiate::NegotiableFormats::default(),
            pushers: None,
        }
    }
}

/// Taken off Prometheus' scrape timeout by default.
pub const DEFAULT_SCRAPE_TIMEOUT_OFFSET: Duration = Duration::from_millis(500);

/// The router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// (as [`serve`] does): the trusted-IP check needs the peer address.
pub fn app(state: AppState) -> Router {
    let policy = access::AccessPolicy {
        trusted: Arc::clone(&state.trusted_hosts),
        metrics: Arc::clone(&state.host_metrics),
        log: Arc::new(log_limiter::LogLimiter::new(std::time::Duration::from_secs(1))),
    };
    Router::new()
        .route("/", get(landing_page::landing_page))
        .route("/metrics", get(metrics_routes::metrics))
        .route("/metrics.json", get(metrics_routes::metrics_json))
        .route("/-/plugins", get(admin_routes::list_plugins))
        .route("/-/push", get(admin_routes::push_status))
        .route("/-/reload", post(admin_routes::reload))
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .with_state(state)
        .layer(middleware::from_fn_with_state(policy, access::require_trusted_peer))
        .layer(middleware::from_fn(request_span::in_request_span))
        .layer(CatchPanicLayer::custom(panic_response))
}

/// A panic in a request's task is a bug; it must not take the connection
/// down silently. It is logged (cut to 4 KiB) and answered `500`.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what =
        panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("(no message)");
    let what = crate::bounded_text::bounded(what);
    tracing::error!(panic = %what, "a request handler panicked");
    let body = format!("internal error: the request handler panicked: {what}\n");
    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes
/// in-flight requests and returns.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}

/// [`serve`] over TLS: the connections `listener` handshook, with each
/// peer's address for the trusted-host check.
pub async fn serve_tls(
    listener: tls_listener::TlsListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    axum::serve(listener.tap_io(|_| ()), app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_with_the_reason() {
        async fn boom() -> &'static str {
            panic!("{}", "x".repeat(100_000))
        }
        let router: Router = Router::new().route("/boom", get(boom)).layer(CatchPanicLayer::custom(panic_response));
        let response = router.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.starts_with("internal error: the request handler panicked: xxx"), "{body:.80}");
        assert!(body.len() < 4096 + 200, "the panic text is cut: {} bytes", body.len());
    }
}
