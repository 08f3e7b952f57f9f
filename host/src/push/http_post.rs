//! One bounded HTTP/1.1 POST of a push request: plain `http://` only, to the
//! configured host and port (redirects are not followed), within a deadline
//! for the whole exchange; of the answer only the status, `Retry-After` and
//! at most [`MAX_ANSWER_BYTES`] of body (the receiver's reason) are kept.
use crate::bounded_text::truncate_text;
use crate::upstream::http_fetch::UpstreamUrl;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Request};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

/// Bytes of a receiver's answer kept as the reason of a failure.
pub const MAX_ANSWER_BYTES: usize = 4096;

/// What the receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After` in seconds, when given as seconds.
    pub retry_after: Option<Duration>,
    /// The start of the body, for the log and `/-/push`.
    pub reason: String,
}

/// Why no answer came.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("{0} did not answer within {1:?}")]
    TimedOut(String, Duration),
    #[error("{0}: {1}")]
    Exchange(String, String),
}

/// Aborts the connection task when the exchange ends or is dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// POSTs `body` to `url` with `headers` (name, value) within `timeout`.
pub async fn post(url: &UpstreamUrl, headers: &[(String, String)], body: Bytes, timeout: Duration) -> Result<Answer, PostError> {
    let who = url.authority.clone();
    match tokio::time::timeout(timeout, post_inner(url, headers, body)).await {
        Ok(result) => result,
        Err(_) => Err(PostError::TimedOut(who, timeout)),
    }
}

async fn post_inner(url: &UpstreamUrl, headers: &[(String, String)], body: Bytes) -> Result<Answer, PostError> {
    let who = url.authority.as_str();
    let failed = |why: String| PostError::Exchange(who.to_string(), truncate_text(&why, MAX_ANSWER_BYTES));
    let stream = TcpStream::connect(who).await.map_err(|e| PostError::Connect(who.to_string(), e))?;
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let _connection = AbortOnDrop(tokio::spawn(connection).abort_handle());
    let mut request = Request::post(url.target.as_str())
        .header(header::HOST, url.authority.as_str())
        .header(header::CONNECTION, "close")
        .header(header::USER_AGENT, concat!("metrics-host/", env!("CARGO_PKG_VERSION")));
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request.body(Full::new(body)).map_err(|e| failed(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // The reason: the first bytes of the body, the rest left unread.
    let mut body = response.into_body();
    let mut reason = Vec::new();
    while reason.len() < MAX_ANSWER_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(chunk) = frame.data_ref() {
                    reason.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - reason.len())]);
                }
            }
            _ => break,
        }
    }
    let reason = truncate_text(String::from_utf8_lossy(&reason).trim(), MAX_ANSWER_BYTES);
    Ok(Answer { status, retry_after, reason })
}
