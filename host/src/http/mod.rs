//! The HTTP surface: routes, trusted-IP enforcement, compression, and the
//! server lifecycle.
mod access;
mod admin_routes;
mod error;
mod metrics_routes;
pub mod negotiate;

pub use error::AppError;

use crate::plugin::RenderLimits;
use crate::registry::Registry;
use crate::renderers::Renderers;
use crate::self_metrics::HostMetrics;
use crate::trusted_hosts::TrustedHosts;
use axum::routing::{get, post};
use axum::{middleware, Router};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// What every handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Where the metrics live.
    pub registry: Registry,
    /// Which renderer serves which format; swapped on plugin reloads.
    pub renderers: Arc<Renderers>,
    /// Bounds applied to every render.
    pub render_limits: RenderLimits,
    /// Who may read.
    pub trusted_hosts: Arc<TrustedHosts>,
    /// The host's own metrics (renders, reloads, refusals).
    pub host_metrics: Arc<HostMetrics>,
    /// How long a render waits for a client that does not read.
    pub client_stall_timeout: Duration,
    /// One permit per render that may run at once.
    pub render_permits: Arc<tokio::sync::Semaphore>,
    /// The number of permits, for messages.
    pub max_concurrent_renders: usize,
}

/// The router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// (as [`serve`] does): the trusted-IP check needs the peer address.
pub fn app(state: AppState) -> Router {
    let policy = access::AccessPolicy { trusted: Arc::clone(&state.trusted_hosts), metrics: Arc::clone(&state.host_metrics) };
    Router::new()
        .route("/metrics", get(metrics_routes::metrics))
        .route("/metrics.json", get(metrics_routes::metrics_json))
        .route("/-/plugins", get(admin_routes::list_plugins))
        .route("/-/reload", post(admin_routes::reload))
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .with_state(state)
        .layer(middleware::from_fn_with_state(policy, access::require_trusted_peer))
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes
/// in-flight requests and returns.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}
