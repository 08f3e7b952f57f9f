//! One tracing span per request (`request{id, method, path, peer}`), so every
//! log line of a request, and of the render it starts (`render{plugin,
//! format}`, with the plugin's own output), can be tied to the answer.
use crate::bounded_text::{truncate_text, MAX_QUOTED_CLIENT_TEXT};
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
    // The path is the client's text: every log line of the request carries
    // at most a few hundred bytes of it.
    let path = truncate_text(request.uri().path(), MAX_QUOTED_CLIENT_TEXT);
    let span = tracing::info_span!("request", id, method = %request.method(), path = %path, peer = %peer.ip());
    next.run(request).instrument(span).await
}
