//! Bounded HTTP/1.1 POSTs of push requests over one kept-alive connection
//! ([`Receiver`]): plain `http://` only, to the configured host and port
//! (redirects are not followed), each within a deadline for the whole
//! exchange (connecting included); of the answer only the status,
//! `Retry-After` and at most [`MAX_ANSWER_BYTES`] of body (the receiver's
//! reason) are kept. A failed exchange drops the connection; the next
//! request connects again.
use crate::bounded_text::truncate_text;
use crate::upstream::http_fetch::{AbortOnDrop, UpstreamUrl};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
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
    /// Remote write 2.0: the answer says what was written
    /// (`X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written`).
    pub written: bool,
}

/// The headers by which a remote write 2.0 receiver says what it wrote.
pub const WRITTEN_HEADERS: [&str; 3] = [
    "x-prometheus-remote-write-samples-written",
    "x-prometheus-remote-write-histograms-written",
    "x-prometheus-remote-write-exemplars-written",
];

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

/// A receiver and the open connection to it, if any.
pub struct Receiver {
    url: UpstreamUrl,
    connection: Option<(hyper::client::conn::http1::SendRequest<Full<Bytes>>, AbortOnDrop)>,
}

impl Receiver {
    pub fn new(url: UpstreamUrl) -> Self {
        Receiver { url, connection: None }
    }

    /// Sends `body` with `method` (`POST`, `PUT`) and `headers` (name,
    /// value) within `timeout`.
    pub async fn send(
        &mut self,
        method: hyper::Method,
        headers: &[(String, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, PostError> {
        let who = self.url.authority.clone();
        let answer = match tokio::time::timeout(timeout, self.send_inner(method, headers, body)).await {
            Ok(result) => result,
            Err(_) => Err(PostError::TimedOut(who, timeout)),
        };
        if answer.is_err() {
            self.connection = None;
        }
        answer
    }

    async fn send_inner(&mut self, method: hyper::Method, headers: &[(String, String)], body: Bytes) -> Result<Answer, PostError> {
        let who = self.url.authority.clone();
        let failed = |why: String| PostError::Exchange(who.clone(), truncate_text(&why, MAX_ANSWER_BYTES));
        if self.connection.as_ref().is_some_and(|(sender, _)| sender.is_closed()) {
            self.connection = None;
        }
        if self.connection.is_none() {
            let stream = TcpStream::connect(&who).await.map_err(|e| PostError::Connect(who.clone(), e))?;
            let (sender, connection) = hyper::client::conn::http1::Builder::new()
                .max_buf_size(64 * 1024)
                .handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| failed(e.to_string()))?;
            self.connection = Some((sender, AbortOnDrop(tokio::spawn(connection).abort_handle())));
        }
        let (sender, _) = self.connection.as_mut().expect("connected above");
        sender.ready().await.map_err(|e| failed(e.to_string()))?;
        let mut request = Request::builder()
            .method(method)
            .uri(self.url.target.as_str())
            .header(header::HOST, self.url.authority.as_str())
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
        let written = WRITTEN_HEADERS.iter().any(|name| response.headers().contains_key(*name));
        // The reason: the first bytes of the body. A body longer than that
        // is not read to its end, so the connection is not reused.
        let mut body = response.into_body();
        let mut reason = Vec::new();
        let mut ended = false;
        while reason.len() < MAX_ANSWER_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(chunk) = frame.data_ref() {
                        reason.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - reason.len())]);
                    }
                }
                Some(Err(_)) => break,
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if !ended && !body.is_end_stream() {
            self.connection = None;
        }
        let reason = truncate_text(String::from_utf8_lossy(&reason).trim(), MAX_ANSWER_BYTES);
        Ok(Answer { status, retry_after, reason, written })
    }
}
