//! Bounded HTTP/1.1 POSTs of push requests over one kept-alive connection
//! ([`Receiver`]): `http://`, or `https://` through rustls (the receiver's
//! certificate checked for its host name), to the configured host and port
//! (redirects are not followed), each within a deadline for the whole
//! exchange (connecting included); of the answer only the status,
//! `Retry-After` (seconds or an HTTP-date, at most [`MAX_RETRY_AFTER`]),
//! the remote write 2.0 `*-Written` headers and at most
//! [`MAX_ANSWER_BYTES`] of body (the receiver's reason) are kept, and the
//! head is read within [`MAX_HEAD_BYTES`]. A failed exchange drops the
//! connection; the next request connects again.
use crate::bounded_text::truncate_text;
use crate::upstream::http_fetch::{AbortOnDrop, UpstreamUrl};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper::{header, HeaderMap, Request};
use hyper_util::rt::TokioIo;
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;

/// Bytes of a receiver's answer kept as the reason of a failure.
pub const MAX_ANSWER_BYTES: usize = 4096;
/// The answer's status line and headers are read within this buffer.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The longest wait a receiver's `Retry-After` can ask for; a longer one
/// is cut to it (a receiver cannot park an endpoint's queue for hours).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What the receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// `Retry-After`, at most [`MAX_RETRY_AFTER`].
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
    /// No connection to the receiver.
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    /// The exchange passed its deadline.
    #[error("{0} did not answer within {1:?}")]
    TimedOut(String, Duration),
    /// The TLS handshake failed (certificate, name, protocol).
    #[error("TLS with {0}: {1}")]
    Tls(String, String),
    /// The connection failed or the answer was not HTTP.
    #[error("{0}: {1}")]
    Exchange(String, String),
}

/// `Retry-After` as a wait: delta-seconds or an HTTP-date (RFC 9110
/// §10.2.3), at most [`MAX_RETRY_AFTER`]; `None` when absent or neither.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits beyond u64 are a wait longer than any cap.
        value.parse::<u64>().map_or(MAX_RETRY_AFTER, Duration::from_secs)
    } else {
        httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

type Connection = (hyper::client::conn::http1::SendRequest<Full<Bytes>>, AbortOnDrop);

/// A receiver and the open connection to it, if any.
pub struct Receiver {
    url: UpstreamUrl,
    /// `https://`: how to connect and the name the certificate must carry.
    tls: Option<(tokio_rustls::TlsConnector, tokio_rustls::rustls::pki_types::ServerName<'static>)>,
    connection: Option<Connection>,
}

/// One request to send.
pub struct Outgoing<'a> {
    /// `POST` or `PUT`.
    pub method: hyper::Method,
    /// Name and value pairs, beside Host and User-Agent.
    pub headers: &'a [(String, String)],
    /// The (compressed) body.
    pub body: Bytes,
}

impl Receiver {
    /// A receiver at `url`, not yet connected; `tls` for `https://`.
    pub fn new(url: UpstreamUrl, tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>) -> Self {
        let tls = tls.and_then(|config| {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(url.host().to_string()).ok()?;
            Some((tokio_rustls::TlsConnector::from(config), name))
        });
        Receiver { url, tls, connection: None }
    }

    /// Sends `outgoing` within `timeout`.
    pub async fn send(&mut self, outgoing: Outgoing<'_>, timeout: Duration) -> Result<Answer, PostError> {
        let who = self.url.authority.clone();
        let answer = match tokio::time::timeout(timeout, self.send_inner(outgoing)).await {
            Ok(result) => result,
            Err(_) => Err(PostError::TimedOut(who, timeout)),
        };
        if answer.is_err() {
            self.connection = None;
        }
        answer
    }

    async fn send_inner(&mut self, outgoing: Outgoing<'_>) -> Result<Answer, PostError> {
        let who = self.url.authority.as_str();
        if self.connection.as_ref().is_some_and(|(sender, _)| sender.is_closed()) {
            self.connection = None;
        }
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                let stream = TcpStream::connect(who).await.map_err(|e| PostError::Connect(who.to_string(), e))?;
                match (&self.tls, self.url.tls) {
                    (Some((connector, name)), _) => {
                        let stream = connector
                            .connect(name.clone(), stream)
                            .await
                            .map_err(|e| PostError::Tls(who.to_string(), truncate_text(&e.to_string(), MAX_ANSWER_BYTES)))?;
                        handshake(stream, who).await?
                    }
                    (None, true) => return Err(PostError::Tls(who.to_string(), format!("{:?} is not a TLS server name", self.url.host()))),
                    (None, false) => handshake(stream, who).await?,
                }
            }
        };
        let (connection, answer) = exchange(connection, &self.url, outgoing).await?;
        self.connection = connection;
        Ok(answer)
    }
}

fn failed(who: &str, why: impl std::fmt::Display) -> PostError {
    PostError::Exchange(who.to_string(), truncate_text(&why.to_string(), MAX_ANSWER_BYTES))
}

async fn handshake<IO>(io: IO, who: &str) -> Result<Connection, PostError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake::<_, Full<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|e| failed(who, e))?;
    Ok((sender, AbortOnDrop(tokio::spawn(connection).abort_handle())))
}

/// One request on a new connection over `io` and its answer: for the fuzz
/// target, which answers with arbitrary bytes.
#[cfg(feature = "internals")]
pub async fn post_over<IO>(io: IO, url: &UpstreamUrl, outgoing: Outgoing<'_>) -> Result<Answer, PostError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let connection = handshake(io, &url.authority).await?;
    Ok(exchange(connection, url, outgoing).await?.1)
}

/// Sends on `connection` and reads the answer; hands the connection back
/// when it can carry the next request (the answer was read to its end).
async fn exchange(connection: Connection, url: &UpstreamUrl, outgoing: Outgoing<'_>) -> Result<(Option<Connection>, Answer), PostError> {
    let who = url.authority.as_str();
    let (mut sender, task) = connection;
    sender.ready().await.map_err(|e| failed(who, e))?;
    let mut request = Request::builder()
        .method(outgoing.method)
        .uri(url.target.as_str())
        .header(header::HOST, who)
        .header(header::USER_AGENT, concat!("metrics-host/", env!("CARGO_PKG_VERSION")));
    for (name, value) in outgoing.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request.body(Full::new(outgoing.body)).map_err(|e| failed(who, e))?;
    let response = sender.send_request(request).await.map_err(|e| failed(who, e))?;
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers(), SystemTime::now());
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
    let reusable = ended || body.is_end_stream();
    let reason = truncate_text(String::from_utf8_lossy(&reason).trim(), MAX_ANSWER_BYTES);
    Ok((reusable.then_some((sender, task)), Answer { status, retry_after, reason, written }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date_and_never_longer_than_the_cap() {
        let now = httpdate::parse_http_date("Sun, 06 Dec 2026 10:00:00 GMT").unwrap();
        let wait = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers, now)
        };
        assert_eq!(wait("3"), Some(Duration::from_secs(3)));
        assert_eq!(wait(" 0 "), Some(Duration::ZERO));
        assert_eq!(wait("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(wait("99999999999999999999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(wait("Sun, 06 Dec 2026 10:00:20 GMT"), Some(Duration::from_secs(20)));
        assert_eq!(wait("Sun, 06 Dec 2026 09:00:00 GMT"), Some(Duration::ZERO), "a date in the past: at once");
        assert_eq!(wait("Fri, 31 Dec 9999 23:59:59 GMT"), Some(MAX_RETRY_AFTER));
        assert_eq!(wait("-5"), None);
        assert_eq!(wait("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
