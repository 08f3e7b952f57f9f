//! Trusted-IP enforcement for every route. The peer's socket address is the
//! only input: `Authorization` and forwarding headers never grant access.
use super::log_limiter::LogLimiter;
use crate::bounded_text::{truncate_text, MAX_QUOTED_CLIENT_TEXT};
use crate::http::trusted_hosts::TrustedHosts;
use crate::self_metrics::HostMetrics;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// Who may pass, and where refusals are counted.
#[derive(Clone)]
pub struct AccessPolicy {
    pub trusted: Arc<TrustedHosts>,
    pub metrics: Arc<HostMetrics>,
    /// Refusals are logged at most once a second (all are counted in the metrics).
    pub log: Arc<LogLimiter>,
}

/// Middleware: 401 with a plain-text reason for peers outside the list.
pub async fn require_trusted_peer(
    State(policy): State<AccessPolicy>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if policy.trusted.allows(peer.ip()) {
        return next.run(request).await;
    }
    policy.metrics.record_denied();
    if let Some(left_out) = policy.log.admit() {
        tracing::warn!(peer = %peer.ip(), path = %truncate_text(request.uri().path(), MAX_QUOTED_CLIENT_TEXT), refusals_not_logged = left_out, "refused untrusted peer");
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("access denied: {} is not a trusted host\n", peer.ip().to_canonical()),
    )
        .into_response()
}
