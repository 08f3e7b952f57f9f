//! One bounded HTTP/1.1 GET of the upstream exposition: plain `http://`
//! only, to the configured host and port only (redirects are not
//! followed), within a deadline for the whole exchange and a cap on the
//! body. hyper's HTTP/1.1 client does the reading (`Content-Length`,
//! chunked and read-until-close bodies); the body is never asked compressed.
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{header, Request};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

/// Where the upstream (or a push receiver) is, from
/// `http://HOST[:PORT][/PATH][?QUERY]` (push receivers also `https://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// `host:port`, what is connected to and sent as `Host`.
    pub authority: String,
    /// Path and query, at least `/`.
    pub target: String,
    /// `https://`: the connection is TLS.
    pub tls: bool,
}

impl UpstreamUrl {
    /// Checks and splits an `http://` URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("https://") {
            return Err(format!("{url:?}: only http:// upstreams are supported"));
        }
        Self::parse_allowing_https(url)
    }

    /// Checks and splits an `http://` or `https://` URL.
    pub fn parse_allowing_https(url: &str) -> Result<Self, String> {
        let (rest, tls) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => return Err(format!("{url:?}: expected http:// or https://")),
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') || authority.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(format!("{url:?}: expected http://host[:port]/path (no user information)"));
        }
        if target.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(format!("{url:?}: the path may not contain spaces or control characters"));
        }
        let authority =
            if authority.rsplit_once(':').is_some_and(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')) {
                authority.to_string()
            } else {
                format!("{authority}:{}", if tls { 443 } else { 80 })
            };
        let target = if target.starts_with('?') { format!("/{target}") } else { target.to_string() };
        Ok(UpstreamUrl { authority, target, tls })
    }

    /// The host without the port (and without an IPv6 address' brackets):
    /// the name a TLS certificate must carry.
    pub fn host(&self) -> &str {
        let host = self.authority.rsplit_once(':').map_or(self.authority.as_str(), |(host, _)| host);
        host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }
}

/// What a fetch got.
#[derive(Debug)]
pub struct Fetched {
    /// The `Content-Type` the upstream sent, if any.
    pub content_type: Option<String>,
    /// The whole body (within the cap).
    pub body: Vec<u8>,
}

/// Why a fetch failed, for the 502 answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The connection failed (address, error).
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    /// No whole answer within the time allowed (address, time).
    #[error("upstream {0} did not answer within {1:?}")]
    TimedOut(String, Duration),
    /// An answer other than 200 (address, status).
    #[error("upstream {0} answered status {1}")]
    Status(String, u16),
    /// A body past the cap (address, cap).
    #[error("upstream {0}: body larger than {1} bytes")]
    TooLarge(String, usize),
    /// Not HTTP/1.1 as expected (address, what).
    #[error("upstream {0}: malformed response: {1}")]
    Malformed(String, String),
}

/// The response head (status line and headers) is read within this buffer.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// GETs `url` within `timeout`, reading at most `max_body` bytes of body.
pub async fn fetch(url: &UpstreamUrl, accept: &str, timeout: Duration, max_body: usize) -> Result<Fetched, FetchError> {
    let who = url.authority.clone();
    match tokio::time::timeout(timeout, fetch_inner(url, accept, max_body)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::TimedOut(who, timeout)),
    }
}

/// Aborts the connection task when the fetch ends or is dropped (timeout).
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn fetch_inner(url: &UpstreamUrl, accept: &str, max_body: usize) -> Result<Fetched, FetchError> {
    let who = url.authority.as_str();
    let stream = TcpStream::connect(who).await.map_err(|e| FetchError::Connect(who.to_string(), e))?;
    exchange(stream, url, accept, max_body).await
}

/// Sends the GET on `io` (a connection to the upstream) and reads the
/// answer. Public for the fuzz target, which feeds it arbitrary responses.
pub async fn exchange<IO>(io: IO, url: &UpstreamUrl, accept: &str, max_body: usize) -> Result<Fetched, FetchError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let who = url.authority.as_str();
    let malformed = |why: String| FetchError::Malformed(who.to_string(), why);
    // hyper's HTTP/1.1 client reads the head (bounded buffer), the framing
    // (Content-Length, chunked, read-until-close) and rejects what is
    // malformed; the body cap and the deadline are ours.
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|e| malformed(e.to_string()))?;
    let _connection = AbortOnDrop(tokio::spawn(connection).abort_handle());
    let request = Request::get(url.target.as_str())
        .header(header::HOST, url.authority.as_str())
        .header(header::ACCEPT, accept)
        .header(header::ACCEPT_ENCODING, "identity")
        .header(header::CONNECTION, "close")
        .header(header::USER_AGENT, "metrics-host")
        .body(Empty::new())
        .map_err(|e| malformed(e.to_string()))?;
    let response = sender.send_request(request).await.map_err(|e| malformed(e.to_string()))?;
    let status = response.status().as_u16();
    let headers = response.headers();
    if headers.get(header::CONTENT_ENCODING).is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity")) {
        return Err(malformed("a compressed body was not asked for".into()));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    if status != 200 {
        return Err(FetchError::Status(who.to_string(), status));
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_body as u64) {
        return Err(FetchError::TooLarge(who.to_string(), max_body));
    }
    let mut body = response.into_body();
    let mut data = Vec::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| malformed(e.to_string()))?;
        if let Some(chunk) = frame.data_ref() {
            if data.len() + chunk.len() > max_body {
                return Err(FetchError::TooLarge(who.to_string(), max_body));
            }
            data.extend_from_slice(chunk);
        }
    }
    Ok(Fetched { content_type, body: data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_with_a_host_are_accepted() {
        assert_eq!(
            UpstreamUrl::parse("http://127.0.0.1:9100/metrics").unwrap(),
            UpstreamUrl { authority: "127.0.0.1:9100".into(), target: "/metrics".into(), tls: false }
        );
        assert_eq!(
            UpstreamUrl::parse("http://localhost").unwrap(),
            UpstreamUrl { authority: "localhost:80".into(), target: "/".into(), tls: false }
        );
        let secure = UpstreamUrl::parse_allowing_https("https://[::1]/api/v1/write").unwrap();
        assert_eq!((secure.authority.as_str(), secure.host(), secure.tls), ("[::1]:443", "::1", true));
        assert!(UpstreamUrl::parse("https://127.0.0.1/metrics").is_err(), "upstreams are http:// only");
        assert_eq!(UpstreamUrl::parse("http://[::1]:8000?x=1").unwrap().target, "/?x=1");
        assert_eq!(UpstreamUrl::parse("http://[::1]/m").unwrap().authority, "[::1]:80");
        for bad in ["https://a/metrics", "ftp://a", "http://", "http://user@host/", "http://a/b c", "localhost:9100"] {
            assert!(UpstreamUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
