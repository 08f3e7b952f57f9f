//! `GET /metrics` and `GET /metrics.json`: snapshot, render in the sandbox
//! off the async runtime, and stream the output as the body.
//!
//! The response head waits for the first output chunk (or the end of the
//! render), so a render that fails before writing anything is answered with
//! a proper error status. A failure after output has started aborts the body:
//! the client sees a truncated chunked response, never a "complete" one.
use super::error::AppError;
use super::negotiate::choose_format;
use super::AppState;
use crate::plugin::{ChannelSink, RenderFailure};
use crate::renderers::Selection;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use metrics_render_core::is_valid_metric_name;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Chunks the render may run ahead of the client.
const BODY_CHANNEL_CHUNKS: usize = 4;

/// Query string of the metrics endpoints.
#[derive(Debug, Deserialize)]
pub struct MetricsQuery {
    /// Prepended to every family name.
    prefix: Option<String>,
    /// Output format (only on `/metrics`; default `prometheus`).
    format: Option<String>,
}

/// `GET /metrics`: `?format=` if given, else negotiated from `Accept`.
pub async fn metrics(State(app): State<AppState>, Query(query): Query<MetricsQuery>, headers: HeaderMap) -> Result<Response, AppError> {
    let format = match query.format {
        Some(format) => format,
        None => {
            let accept = headers.get(header::ACCEPT).map(|v| v.to_str().unwrap_or(""));
            let renderers = app.renderers.current();
            match choose_format(accept, renderers.offered()) {
                Some(format) => format.name.clone(),
                None => {
                    return Err(AppError::NotAcceptable {
                        accept: accept.unwrap_or_default().to_string(),
                        available: renderers
                            .formats()
                            .iter()
                            .map(|f| format!("{} ({})", f.name, f.content_type))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                }
            }
        }
    };
    render_response(&app, format, query.prefix.unwrap_or_default()).await
}

pub async fn metrics_json(State(app): State<AppState>, Query(query): Query<MetricsQuery>) -> Result<Response, AppError> {
    render_response(&app, "json".into(), query.prefix.unwrap_or_default()).await
}

async fn render_response(app: &AppState, format: String, prefix: String) -> Result<Response, AppError> {
    if !prefix.is_empty() && !is_valid_metric_name(&prefix) {
        return Err(AppError::BadRequest(format!("invalid prefix {prefix:?}: prefixed metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*")));
    }
    let started = Instant::now();
    // Refuse at once beyond the concurrency bound rather than queue.
    let Ok(permit) = Arc::clone(&app.render_permits).try_acquire_owned() else {
        app.host_metrics.record_render(&format, "busy", started.elapsed(), 0);
        return Err(AppError::Busy { limit: app.max_concurrent_renders });
    };
    let renderers = app.renderers.current();
    let (renderer, info) = match renderers.select(&format) {
        Selection::Ready(renderer, info) => (renderer, info),
        Selection::BackedOff { plugin, retry_in } => {
            app.host_metrics.record_render(&format, "backed_off", started.elapsed(), 0);
            return Err(AppError::BackedOff { plugin, format, retry_in });
        }
        Selection::Unknown => return Err(AppError::UnknownFormat { requested: format, available: renderers.format_names().join(", ") }),
    };
    let (tx, mut rx) = mpsc::channel(BODY_CHANNEL_CHUNKS);
    let sent = Arc::new(AtomicU64::new(0));
    let sink = ChannelSink::new(tx, app.client_stall_timeout, Arc::clone(&sent));
    let registry = app.registry.clone();
    let limits = app.render_limits.clone();
    let runtime = tokio::runtime::Handle::current();
    let metrics = Arc::clone(&app.host_metrics);
    // The snapshot and the guest's work are CPU-bound: keep them off the
    // async workers. The render future is driven on this blocking thread.
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let snapshot = Arc::new(registry.snapshot());
        let result = runtime.block_on(renderer.render(&snapshot, &format, &prefix, &limits, Box::new(sink)));
        let outcome = match &result {
            Ok(()) => {
                renderer.breaker.record_success();
                "ok"
            }
            Err(failure) => {
                if failure.cause.is_renderer_fault() {
                    renderer.breaker.record_failure();
                }
                tracing::warn!(error = %failure, "render failed");
                failure.cause.outcome()
            }
        };
        metrics.record_render(&format, outcome, started.elapsed(), sent.load(Ordering::Relaxed));
        result
    });
    let content_type = HeaderValue::from_str(&info.content_type).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let body = match rx.recv().await {
        None => {
            outcome(task).await?;
            Body::empty()
        }
        Some(first) => Body::from_stream(body_stream(first, rx, task)),
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

async fn outcome(task: JoinHandle<Result<(), RenderFailure>>) -> Result<(), AppError> {
    match task.await {
        Ok(result) => Ok(result?),
        Err(join) => Err(AppError::Internal(join.to_string())),
    }
}

/// The first chunk, the rest as they come, then an error item if the render
/// failed after output started.
fn body_stream(
    first: Bytes,
    rx: mpsc::Receiver<Bytes>,
    task: JoinHandle<Result<(), RenderFailure>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    use futures_util::StreamExt;
    // Fused: compression layers may poll again after the end.
    futures_util::stream::unfold((Some(first), rx, Some(task)), |(mut first, mut rx, mut task)| async move {
        if let Some(chunk) = first.take() {
            return Some((Ok(chunk), (None, rx, task)));
        }
        if let Some(chunk) = rx.recv().await {
            return Some((Ok(chunk), (None, rx, task)));
        }
        match outcome(task.take()?).await {
            Ok(()) => None,
            Err(error) => {
                tracing::error!(%error, "render failed after the response started; aborting the body");
                Some((Err(std::io::Error::other(error.to_string())), (None, rx, None)))
            }
        }
    })
    .fuse()
}
