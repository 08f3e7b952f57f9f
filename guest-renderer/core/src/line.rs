//! Writing one or a few exposition lines into room reserved up front.
//!
//! A formatter that knows an upper bound for what it is about to write
//! reserves it once and writes through a cursor held in a local, instead of
//! checking the buffer's capacity (and reloading its length and pointer from
//! memory) for every piece. Every write still checks the bound against that
//! local, so a wrong bound panics instead of writing out of bounds.
use crate::escape::{label_value_needs_escape, write_escaped_label_value};
use crate::fast_copy::copy_to;
use crate::number::prometheus_f64;
use alloc::vec::Vec;

/// A cursor into the reserved spare capacity of a buffer; the bytes become
/// part of the buffer when it is dropped.
pub(crate) struct Line<'b> {
    buf: &'b mut Vec<u8>,
    dst: *mut u8,
    written: usize,
    room: usize,
}

impl<'b> Line<'b> {
    /// Reserves `room` bytes at the end of `buf`.
    #[inline(always)]
    pub(crate) fn start(buf: &'b mut Vec<u8>, room: usize) -> Self {
        buf.reserve(room);
        // SAFETY: `reserve` made `room` bytes after `len` part of the allocation.
        let dst = unsafe { buf.as_mut_ptr().add(buf.len()) };
        Line { buf, dst, written: 0, room }
    }

    #[inline(always)]
    fn claim(&mut self, len: usize) -> *mut u8 {
        assert!(len <= self.room - self.written, "line room underestimated");
        // SAFETY: `written + len <= room`, within the reserved bytes.
        unsafe { self.dst.add(self.written) }
    }

    #[inline(always)]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let at = self.claim(bytes.len());
        // SAFETY: `claim` checked the room; the source is not in the spare capacity.
        unsafe { copy_to(at, bytes) };
        self.written += bytes.len();
    }

    #[inline(always)]
    pub(crate) fn byte(&mut self, byte: u8) {
        let at = self.claim(1);
        // SAFETY: `claim` checked the room.
        unsafe { *at = byte };
        self.written += 1;
    }

    /// A label value, escaped: needs room for twice its length.
    #[inline(always)]
    pub(crate) fn label_value(&mut self, bytes: &[u8]) {
        if !label_value_needs_escape(bytes) {
            return self.put(bytes);
        }
        let at = self.claim(2 * bytes.len());
        // SAFETY: `claim` checked room for the worst case of two bytes per byte.
        self.written += unsafe { write_escaped_label_value(at, bytes) };
    }

    /// A value in Go float syntax: needs [`crate::number::MAX_NUMBER_BYTES`].
    #[inline(always)]
    pub(crate) fn prometheus_f64(&mut self, value: f64) {
        let (mut itoa, mut ryu) = (itoa::Buffer::new(), ryu::Buffer::new());
        self.put(prometheus_f64(value, &mut itoa, &mut ryu));
    }

    /// An unsigned integer: needs [`crate::number::MAX_NUMBER_BYTES`].
    #[inline(always)]
    pub(crate) fn u64(&mut self, value: u64) {
        let mut itoa = itoa::Buffer::new();
        self.put(itoa.format(value).as_bytes());
    }
}

impl Drop for Line<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the first `written` bytes of the spare capacity were initialised.
        unsafe { self.buf.set_len(self.buf.len() + self.written) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_land_after_existing_bytes_and_escape() {
        let mut buf = b"x".to_vec();
        {
            let mut line = Line::start(&mut buf, 64);
            line.put(b"a{q=\"");
            line.label_value(b"say \"hi\"\n");
            line.put(b"\"} ");
            line.prometheus_f64(2.5);
            line.byte(b' ');
            line.u64(7);
        }
        assert_eq!(buf, b"xa{q=\"say \\\"hi\\\"\\n\"} 2.5 7");
    }

    #[test]
    #[should_panic(expected = "line room underestimated")]
    fn writing_past_the_room_panics() {
        let mut buf = Vec::new();
        let mut line = Line::start(&mut buf, 4);
        line.put(b"12345");
    }
}
