//! One bounded HTTP/1.1 GET of the upstream exposition: plain `http://`
//! only, to the configured host and port only (redirects are not
//! followed), within a deadline for the whole exchange and a cap on the
//! body. `Content-Length`, chunked and read-until-close bodies are read;
//! the body is never asked compressed.
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the upstream is, from `http://HOST[:PORT][/PATH][?QUERY]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// `host:port`, what is connected to and sent as `Host`.
    pub authority: String,
    /// Path and query, at least `/`.
    pub target: String,
}

impl UpstreamUrl {
    /// Checks and splits `url`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url:?}: only http:// upstreams are supported"))?;
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
                format!("{authority}:80")
            };
        let target = if target.starts_with('?') { format!("/{target}") } else { target.to_string() };
        Ok(UpstreamUrl { authority, target })
    }
}

/// What a fetch got.
#[derive(Debug)]
pub struct Fetched {
    /// The `Content-Type` the upstream sent, if any.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why a fetch failed, for the 502 answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("connecting to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("upstream {0} did not answer within {1:?}")]
    TimedOut(String, Duration),
    #[error("upstream {0}: {1}")]
    Io(String, std::io::Error),
    #[error("upstream {0} answered status {1}")]
    Status(String, u16),
    #[error("upstream {0}: body larger than {1} bytes")]
    TooLarge(String, usize),
    #[error("upstream {0}: malformed response: {1}")]
    Malformed(String, String),
}

/// Response headers are at most this large.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// GETs `url` within `timeout`, reading at most `max_body` bytes of body.
pub async fn fetch(url: &UpstreamUrl, accept: &str, timeout: Duration, max_body: usize) -> Result<Fetched, FetchError> {
    let who = url.authority.clone();
    match tokio::time::timeout(timeout, fetch_inner(url, accept, max_body)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::TimedOut(who, timeout)),
    }
}

async fn fetch_inner(url: &UpstreamUrl, accept: &str, max_body: usize) -> Result<Fetched, FetchError> {
    let who = url.authority.as_str();
    let mut stream = TcpStream::connect(who).await.map_err(|e| FetchError::Connect(who.to_string(), e))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\nAccept-Encoding: identity\r\nConnection: close\r\nUser-Agent: metrics-host\r\n\r\n",
        url.target, url.authority
    );
    let io = |e| FetchError::Io(who.to_string(), e);
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let malformed = |why: &str| FetchError::Malformed(who.to_string(), why.to_string());
    // Everything read so far; the head ends at the first blank line.
    let mut data = Vec::with_capacity(16 * 1024);
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if data.len() > MAX_HEAD_BYTES {
            return Err(malformed("response headers too large"));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            return Err(malformed("connection closed before the headers ended"));
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&data[..head_end]).map_err(|_| malformed("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| malformed("no HTTP/1.x status line"))?;
    let mut content_type = None;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| malformed("a header line without ':'"))?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.to_string()),
            "content-length" => content_length = Some(value.parse::<usize>().map_err(|_| malformed("invalid Content-Length"))?),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-encoding" if !value.eq_ignore_ascii_case("identity") => return Err(malformed("a compressed body was not asked for")),
            _ => {}
        }
    }
    if status != 200 {
        return Err(FetchError::Status(who.to_string(), status));
    }
    if content_length.is_some_and(|len| len > max_body) {
        return Err(FetchError::TooLarge(who.to_string(), max_body));
    }
    let mut raw = data.split_off(head_end);
    // Read to the end of the connection, within the cap (chunk framing is
    // at most a few bytes per chunk, hence the margin).
    let cap = max_body + max_body / 8 + 1024;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        if content_length.is_some_and(|len| raw.len() >= len) {
            break;
        }
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > cap {
            return Err(FetchError::TooLarge(who.to_string(), max_body));
        }
    }
    let body = if chunked {
        dechunk(&raw).ok_or_else(|| malformed("invalid chunked body"))?
    } else if let Some(len) = content_length {
        if raw.len() < len {
            return Err(malformed("connection closed before the body ended"));
        }
        raw.truncate(len);
        raw
    } else {
        raw
    };
    if body.len() > max_body {
        return Err(FetchError::TooLarge(who.to_string(), max_body));
    }
    Ok(Fetched { content_type, body })
}

/// Decodes a chunked body; None when the framing is wrong or incomplete.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 || &data[size..size + 2] != b"\r\n" {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_with_a_host_are_accepted() {
        assert_eq!(
            UpstreamUrl::parse("http://127.0.0.1:9100/metrics").unwrap(),
            UpstreamUrl { authority: "127.0.0.1:9100".into(), target: "/metrics".into() }
        );
        assert_eq!(UpstreamUrl::parse("http://localhost").unwrap(), UpstreamUrl { authority: "localhost:80".into(), target: "/".into() });
        assert_eq!(UpstreamUrl::parse("http://[::1]:8000?x=1").unwrap().target, "/?x=1");
        assert_eq!(UpstreamUrl::parse("http://[::1]/m").unwrap().authority, "[::1]:80");
        for bad in ["https://a/metrics", "ftp://a", "http://", "http://user@host/", "http://a/b c", "localhost:9100"] {
            assert!(UpstreamUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chunked_bodies_decode_and_truncated_ones_are_refused() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(), b"abcde");
        assert!(dechunk(b"3\r\nab").is_none());
        assert!(dechunk(b"zz\r\n").is_none());
    }
}
