//! Buffered output: formatters append to a buffer that is handed to the
//! [`Sink`] in chunks, so the host sees few, large writes.
use crate::RenderError;
use alloc::vec::Vec;

/// Size of the chunks handed to the sink.
pub const DEFAULT_CHUNK_BYTES: usize = 64 * 1024;

/// Receives the rendered bytes.
pub trait Sink {
    /// Takes one chunk; false means "stop, nobody is reading any more".
    fn write(&mut self, chunk: &[u8]) -> bool;
}

impl Sink for Vec<u8> {
    fn write(&mut self, chunk: &[u8]) -> bool {
        self.extend_from_slice(chunk);
        true
    }
}

/// The formatters' write buffer.
pub(crate) struct Out<'s> {
    /// Bytes not yet handed to the sink.
    pub(crate) buf: Vec<u8>,
    /// Where full chunks go.
    sink: &'s mut dyn Sink,
    /// Flush once the buffer holds this many bytes.
    chunk_bytes: usize,
}

impl<'s> Out<'s> {
    pub(crate) fn new(sink: &'s mut dyn Sink, chunk_bytes: usize) -> Self {
        Out { buf: Vec::with_capacity(chunk_bytes + 4096), sink, chunk_bytes }
    }

    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        crate::fast_copy::push_bytes(&mut self.buf, bytes);
    }

    #[inline]
    pub(crate) fn push_byte(&mut self, byte: u8) {
        self.buf.push(byte);
    }

    /// Hands the buffer to the sink once it is full. Called between lines,
    /// so a chunk boundary never splits a line.
    #[inline]
    pub(crate) fn flush_if_full(&mut self) -> Result<(), RenderError> {
        if self.buf.len() >= self.chunk_bytes {
            self.flush()
        } else {
            Ok(())
        }
    }

    fn flush(&mut self) -> Result<(), RenderError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let accepted = self.sink.write(&self.buf);
        self.buf.clear();
        if accepted {
            Ok(())
        } else {
            Err(RenderError::OutputClosed)
        }
    }

    /// Hands the buffer, then `bytes` (a large piece built aside, such as
    /// a whole push request), to the sink without copying `bytes` into the
    /// buffer; `bytes` goes in chunks of at most the chunk size.
    pub(crate) fn write_through(&mut self, bytes: &[u8]) -> Result<(), RenderError> {
        self.flush()?;
        for chunk in bytes.chunks(self.chunk_bytes.max(1)) {
            if !self.sink.write(chunk) {
                return Err(RenderError::OutputClosed);
            }
        }
        Ok(())
    }

    /// Hands the rest of the buffer to the sink.
    pub(crate) fn finish(mut self) -> Result<(), RenderError> {
        self.flush()
    }
}
