//! Where a render's output goes. The guest calls `output.write` with chunks;
//! the store hands each to an [`OutputSink`].
use bytes::Bytes;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::time::Duration;

/// The receiver of a render's output is gone or stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SinkClosed {
    /// The client closed the connection.
    #[error("the client stopped reading")]
    Gone,
    /// The client stopped reading for longer than allowed.
    #[error("the client did not read for {0:?}")]
    Stalled(Duration),
    /// Its render slot went to another scrape.
    #[error("every client was too slow and the render slot was given to another scrape")]
    Evicted,
}

/// The future of one [`OutputSink::write`].
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkClosed>> + Send + 'a>>;

/// Receives output chunks, in order.
pub trait OutputSink: Send {
    /// Takes one chunk; may wait to apply back-pressure.
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_>;
}

/// Writes chunks to any `std::io::Write` (stdout for `metrics-host render`).
pub struct WriterSink<W>(pub W);

impl<W: Write + Send> OutputSink for WriterSink<W> {
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_> {
        let result = self.0.write_all(&chunk).map_err(|_| SinkClosed::Gone);
        Box::pin(std::future::ready(result))
    }
}
