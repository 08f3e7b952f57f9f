//! What a plugin prints on stdout and stderr during one call: the first and
//! the last few KiB are kept (a panic message or a Python traceback comes at
//! the end), everything between is counted and dropped. Writes always
//! succeed, so a chatty plugin is never made to fail by its own logging.
use super::bounded_text::{bounded, log_line};
use bytes::Bytes;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Bytes kept from the start and from the end of each stream.
const KEEP_BYTES: usize = 8 * 1024;
/// Lines logged from the start and from the end of each stream per call.
const LOG_LINES: usize = 10;

#[derive(Debug, Default)]
struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    /// Bytes that went neither to `head` nor stayed in `tail`.
    dropped: u64,
}

/// One captured stream (stdout or stderr) of one call.
#[derive(Debug, Clone, Default)]
pub struct CapturedStream(Arc<Mutex<Captured>>);

impl CapturedStream {
    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, mut bytes: &[u8]) {
        let mut c = self.lock();
        let room = KEEP_BYTES - c.head.len();
        if room > 0 && c.tail.is_empty() {
            let n = room.min(bytes.len());
            c.head.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if bytes.len() > KEEP_BYTES {
            c.dropped += (bytes.len() - KEEP_BYTES) as u64;
            bytes = &bytes[bytes.len() - KEEP_BYTES..];
        }
        let overflow = (c.tail.len() + bytes.len()).saturating_sub(KEEP_BYTES);
        c.tail.drain(..overflow);
        c.dropped += overflow as u64;
        c.tail.extend(bytes);
    }

    /// The first lines, the number of bytes dropped, and the last lines.
    fn lines(&self) -> (Vec<String>, u64, Vec<String>) {
        let c = self.lock();
        let head = String::from_utf8_lossy(&c.head).lines().take(LOG_LINES).map(log_line).collect();
        let tail_bytes: Vec<u8> = c.tail.iter().copied().collect();
        let tail_text = String::from_utf8_lossy(&tail_bytes);
        let mut tail: Vec<String> = tail_text.lines().rev().take(LOG_LINES).map(log_line).collect();
        tail.reverse();
        (head, c.dropped, tail)
    }

    /// The last non-empty line written, if any.
    pub fn last_line(&self) -> Option<String> {
        let c = self.lock();
        let bytes: Vec<u8> = if c.tail.is_empty() { c.head.clone() } else { c.tail.iter().copied().collect() };
        String::from_utf8_lossy(&bytes).lines().rev().map(str::trim).find(|l| !l.is_empty()).map(bounded)
    }

    /// Logs what was captured, tagged with the plugin and the stream.
    pub fn log(&self, plugin: &str, stream: &'static str) {
        let (head, dropped, tail) = self.lines();
        for line in &head {
            tracing::info!(plugin, stream, "{line}");
        }
        if dropped > 0 || !tail.is_empty() {
            if dropped > 0 {
                tracing::warn!(plugin, stream, dropped_bytes = dropped, "plugin output cut: first and last lines kept");
            }
            for line in &tail {
                tracing::info!(plugin, stream, "{line}");
            }
        }
    }
}

impl IsTerminal for CapturedStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturedStream {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedStream {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedStream {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_start_and_the_end() {
        let s = CapturedStream::default();
        for i in 0..10_000 {
            s.push(format!("line {i}\n").as_bytes());
        }
        s.push(b"panicked at the end\n");
        let (head, dropped, tail) = s.lines();
        assert_eq!(head[0], "line 0");
        assert_eq!(tail.last().unwrap(), "panicked at the end");
        assert!(dropped > 0);
        assert_eq!(s.last_line().as_deref(), Some("panicked at the end"));
    }

    #[test]
    fn one_huge_write_keeps_its_start_and_end() {
        let s = CapturedStream::default();
        let mut big = vec![b'a'; 1 << 20];
        big.extend_from_slice(b"\nlast words");
        s.push(&big);
        assert_eq!(s.last_line().as_deref(), Some("last words"));
        let c = s.lock();
        assert_eq!(c.head.len(), KEEP_BYTES);
        assert_eq!(c.tail.len(), KEEP_BYTES);
        assert_eq!(c.dropped as usize, big.len() - 2 * KEEP_BYTES);
    }

    #[test]
    fn a_short_stream_is_all_head() {
        let s = CapturedStream::default();
        s.push(b"hello\nworld\n");
        assert_eq!(s.lines(), (vec!["hello".to_string(), "world".to_string()], 0, vec![]));
        assert_eq!(s.last_line().as_deref(), Some("world"));
    }
}
