//! Where a render's output goes. The guest calls `output.write` with chunks;
//! the store hands each to an [`OutputSink`].
use bytes::Bytes;
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc;

/// The receiver of a render's output is gone or stalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SinkClosed {
    #[error("the client stopped reading")]
    Gone,
    #[error("the client did not read for {0:?}")]
    Stalled(Duration),
}

/// Receives output chunks, in order.
pub trait OutputSink: Send {
    /// Takes one chunk; may block to apply back-pressure.
    fn write(&mut self, chunk: Bytes) -> Result<(), SinkClosed>;
}

/// Sends chunks to an HTTP response body through a bounded channel, so a
/// render runs at most a few chunks ahead of the client.
pub struct ChannelSink {
    tx: mpsc::Sender<Bytes>,
    runtime: tokio::runtime::Handle,
    /// How long one chunk may wait for the client before the render stops.
    stall_timeout: Duration,
}

impl ChannelSink {
    pub fn new(tx: mpsc::Sender<Bytes>, runtime: tokio::runtime::Handle, stall_timeout: Duration) -> Self {
        ChannelSink { tx, runtime, stall_timeout }
    }
}

impl OutputSink for ChannelSink {
    fn write(&mut self, chunk: Bytes) -> Result<(), SinkClosed> {
        // Called on a blocking thread (the render runs in spawn_blocking).
        let send = tokio::time::timeout(self.stall_timeout, self.tx.send(chunk));
        match self.runtime.block_on(send) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SinkClosed::Gone),
            Err(_) => Err(SinkClosed::Stalled(self.stall_timeout)),
        }
    }
}

/// Writes chunks to any `std::io::Write` (stdout for `metrics-host render`).
pub struct WriterSink<W>(pub W);

impl<W: Write + Send> OutputSink for WriterSink<W> {
    fn write(&mut self, chunk: Bytes) -> Result<(), SinkClosed> {
        self.0.write_all(&chunk).map_err(|_| SinkClosed::Gone)
    }
}
