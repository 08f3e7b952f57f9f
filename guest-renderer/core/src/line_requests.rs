//! Push framing for line formats: [`LineRequests`] cuts a line format's
//! output into requests of at most N lines, each preceded by its length as
//! a protobuf varint (`encoding=delimited`), which is how the host reads a
//! push format's output (PLUGINS.md "Push formats"). A plugin wraps its
//! sink in one and renders as for a scrape.
use crate::output::Sink;
use alloc::vec::Vec;

/// A [`Sink`] that writes whole lines as delimited requests.
pub struct LineRequests<'s> {
    sink: &'s mut dyn Sink,
    max_lines: usize,
    /// The request being filled.
    pending: Vec<u8>,
    lines: usize,
}

impl<'s> LineRequests<'s> {
    /// Requests of at most `max_lines` lines (at least one) into `sink`.
    pub fn new(sink: &'s mut dyn Sink, max_lines: usize) -> Self {
        LineRequests { sink, max_lines: max_lines.max(1), pending: Vec::new(), lines: 0 }
    }

    /// Writes the last request (lines since the last full one, if any);
    /// false when the sink refused it.
    pub fn finish(mut self) -> bool {
        self.pending.is_empty() || self.emit()
    }

    fn emit(&mut self) -> bool {
        let mut request = Vec::with_capacity(self.pending.len() + 10);
        let mut len = self.pending.len() as u64;
        while len >= 0x80 {
            request.push(len as u8 | 0x80);
            len >>= 7;
        }
        request.push(len as u8);
        request.extend_from_slice(&self.pending);
        self.pending.clear();
        self.lines = 0;
        self.sink.write(&request)
    }
}

impl Sink for LineRequests<'_> {
    fn write(&mut self, mut chunk: &[u8]) -> bool {
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&chunk[..=end]);
            chunk = &chunk[end + 1..];
            self.lines += 1;
            if self.lines == self.max_lines && !self.emit() {
                return false;
            }
        }
        self.pending.extend_from_slice(chunk);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The requests in delimited `bytes`.
    fn requests(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (mut len, mut shift, mut at) = (0usize, 0, 0);
            loop {
                let byte = bytes[at];
                len |= usize::from(byte & 0x7f) << shift;
                at += 1;
                shift += 7;
                if byte < 0x80 {
                    break;
                }
            }
            out.push(bytes[at..at + len].to_vec());
            bytes = &bytes[at + len..];
        }
        out
    }

    #[test]
    fn lines_are_cut_into_requests_of_at_most_n_whatever_the_chunks() {
        let text: Vec<u8> = (0..250).flat_map(|i| alloc::format!("line {i} {}\n", "x".repeat(i % 7)).into_bytes()).collect();
        for chunk_size in [1, 3, 64, 100_000] {
            let mut out = Vec::new();
            let mut requests_sink = LineRequests::new(&mut out, 100);
            for chunk in text.chunks(chunk_size) {
                assert!(requests_sink.write(chunk));
            }
            assert!(requests_sink.finish());
            let cut = requests(&out);
            assert_eq!(cut.iter().map(|r| r.iter().filter(|&&b| b == b'\n').count()).collect::<Vec<_>>(), [100, 100, 50]);
            assert_eq!(cut.concat(), text, "chunks of {chunk_size}");
        }
        let mut out = Vec::new();
        assert!(LineRequests::new(&mut out, 10).finish());
        assert!(out.is_empty(), "no lines, no request");
    }
}
