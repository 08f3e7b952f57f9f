//! One tracing span per request (`request{id, method, path, peer}`), so every
//! log line of a request, and of the render it starts (`render{plugin,
//! format}`, with the plugin's own output), can be tied to the answer.
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// Middleware: runs the rest of the request inside its span.
pub async fn in_request_span(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    let id = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("request", id, method = %request.method(), path = %request.uri().path(), peer = %peer.ip());
    next.run(request).instrument(span).await
}
