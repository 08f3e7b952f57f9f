//! `GET /metrics` and `GET /metrics.json`: choose the format, join or start
//! a render through [`SharedRenders`](crate::shared_render::SharedRenders)
//! (concurrent requests for the same output share one), and stream its
//! output as the body.
//!
//! The response head waits for the first output chunk (or the end of the
//! render), so a render that fails before writing anything is answered with
//! a proper error status. A failure after output has started aborts the body:
//! the client sees a truncated chunked response, never a "complete" one.
use super::error::AppError;
use super::metrics_query::MetricsQuery;
use super::negotiate::{choose_format, wanted_of};
use super::scrape_timeout::{requested_deadline, SCRAPE_TIMEOUT_HEADER};
use super::AppState;
use crate::bounded_text::{truncate_text, MAX_QUOTED_CLIENT_TEXT};
use crate::render_service::RenderRequest;
use crate::representation::Wanted;
use crate::shared_render::SharedOutput;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// `GET /metrics`: `?format=` if given, else negotiated from `Accept`.
pub async fn metrics(State(app): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Result<Response, AppError> {
    let query = MetricsQuery::parse(query.as_deref()).map_err(AppError::BadRequest)?;
    let accept = headers.get(header::ACCEPT).map(|v| v.to_str().unwrap_or(""));
    let renderers = app.renders.renderers().current();
    let (format, wanted) = match query.format.clone() {
        Some(format) => {
            let wanted = renderers.offered().iter().find(|o| o.info.name == format).map(|o| wanted_of(accept, o)).unwrap_or_default();
            (format, wanted)
        }
        None => match choose_format(accept, &app.negotiate, renderers.offered()) {
            Some(choice) => (choice.format.name.clone(), choice.wanted),
            None => {
                return Err(AppError::NotAcceptable {
                    accept: truncate_text(accept.unwrap_or_default(), MAX_QUOTED_CLIENT_TEXT),
                    available: renderers
                        .offered()
                        .iter()
                        .filter(|o| app.negotiate.names().contains(&o.info.name))
                        .map(|o| format!("{} ({})", o.info.name, o.info.content_type))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        },
    };
    render_response(&app, RenderChoice { format, wanted, renderer_set: Some(renderers) }, &query, &headers).await
}

pub async fn metrics_json(State(app): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap) -> Result<Response, AppError> {
    let query = MetricsQuery::parse(query.as_deref()).map_err(AppError::BadRequest)?;
    render_response(&app, RenderChoice { format: "json".into(), wanted: Wanted::default(), renderer_set: None }, &query, &headers).await
}

/// What the route chose: the format, the representation asked for, and the
/// renderer set it was chosen from.
struct RenderChoice {
    format: String,
    wanted: Wanted,
    renderer_set: Option<std::sync::Arc<crate::plugin::renderer_set::RendererSet>>,
}

async fn render_response(app: &AppState, choice: RenderChoice, query: &MetricsQuery, headers: &HeaderMap) -> Result<Response, AppError> {
    let RenderChoice { format, wanted, renderer_set } = choice;
    let timeout_header = headers.get(SCRAPE_TIMEOUT_HEADER).and_then(|v| v.to_str().ok());
    let deadline = requested_deadline(timeout_header, app.scrape_timeout_offset);
    let request = RenderRequest {
        format,
        prefix: query.prefix.clone().unwrap_or_default(),
        wanted,
        families: query.families(),
        deadline,
        renderer_set,
        settings: Vec::new(),
        snapshot: None,
    };
    let mut output = app.scrapes.subscribe(request).await?;
    let content_type = HeaderValue::from_str(&output.content_type).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let is_html = crate::content_type::media_type(&output.content_type) == "text/html";
    // The head waits for the first chunk, so a render that fails before
    // writing anything gets a proper error status.
    let body = match output.next().await {
        None => Body::empty(),
        Some(Err(failure)) => return Err(failure.into()),
        Some(Ok(first)) => Body::from_stream(body_stream(first, output, tracing::Span::current())),
    };
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if is_html {
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::html_policy::content_security_policy()));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    }
    Ok(response)
}

/// The first chunk, the rest as they come, then an error item if the render
/// failed after output started (or this client was cut off).
fn body_stream(first: Bytes, output: SharedOutput, span: tracing::Span) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    use futures_util::StreamExt;
    // Fused: compression layers may poll again after the end.
    futures_util::stream::unfold((Some(first), Some(output)), move |(mut first, mut output)| {
        let span = span.clone();
        async move {
            if let Some(chunk) = first.take() {
                return Some((Ok(chunk), (None, output)));
            }
            match output.as_mut()?.next().await? {
                Ok(chunk) => Some((Ok(chunk), (None, output))),
                Err(error) => {
                    span.in_scope(|| tracing::error!(%error, "output failed after the response started; aborting the body"));
                    Some((Err(std::io::Error::other(error.to_string())), (None, None)))
                }
            }
        }
    })
    .fuse()
}
