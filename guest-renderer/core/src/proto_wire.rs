//! Protocol buffers' wire format, written by hand (no_std, no codegen):
//! varints, zigzag, tags and length-delimited fields, shared by the
//! protobuf exposition and the remote-write and OTLP encoders.
use alloc::vec::Vec;

pub(crate) const WIRE_VARINT: u8 = 0;
pub(crate) const WIRE_FIXED64: u8 = 1;
pub(crate) const WIRE_LEN: u8 = 2;

pub(crate) fn push_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push(value as u8 | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

pub(crate) fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

pub(crate) fn push_tag(buf: &mut Vec<u8>, field: u8, wire: u8) {
    buf.push(field << 3 | wire);
}

pub(crate) fn push_uint(buf: &mut Vec<u8>, field: u8, value: u64) {
    push_tag(buf, field, WIRE_VARINT);
    push_varint(buf, value);
}

pub(crate) fn push_sint(buf: &mut Vec<u8>, field: u8, value: i64) {
    push_uint(buf, field, zigzag(value));
}

pub(crate) fn push_double(buf: &mut Vec<u8>, field: u8, value: f64) {
    push_tag(buf, field, WIRE_FIXED64);
    buf.extend_from_slice(&value.to_le_bytes());
}

pub(crate) fn push_fixed64(buf: &mut Vec<u8>, field: u8, value: u64) {
    push_tag(buf, field, WIRE_FIXED64);
    buf.extend_from_slice(&value.to_le_bytes());
}

pub(crate) fn push_bytes(buf: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    push_tag(buf, field, WIRE_LEN);
    push_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// Writes field `field` as a message whose body `body` appends to the
/// buffer: the body is written first, then moved behind its length.
pub(crate) fn push_message(buf: &mut Vec<u8>, field: u8, body: impl FnOnce(&mut Vec<u8>)) {
    push_tag(buf, field, WIRE_LEN);
    // Reserve one length byte; most bodies are shorter than 128 bytes.
    let at = buf.len();
    buf.push(0);
    body(buf);
    let len = buf.len() - at - 1;
    let extra = varint_len(len as u64) - 1;
    if extra > 0 {
        buf.splice(at + 1..at + 1, core::iter::repeat_n(0, extra));
    }
    let mut value = len as u64;
    for byte in &mut buf[at..at + extra + 1] {
        *byte = value as u8 & 0x7f | if value >= 0x80 { 0x80 } else { 0 };
        value >>= 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_match_the_protobuf_encoding() {
        let encode = |v: u64| {
            let mut b = Vec::new();
            push_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "length of {v}");
            b
        };
        assert_eq!(encode(0), [0]);
        assert_eq!(encode(1), [1]);
        assert_eq!(encode(300), [0xac, 0x02]);
        assert_eq!(encode(u64::MAX).len(), 10);
        assert_eq!([zigzag(0), zigzag(-1), zigzag(1), zigzag(-2), zigzag(i64::MIN)], [0, 1, 2, 3, u64::MAX]);
    }

    #[test]
    fn a_long_message_gets_a_multi_byte_length_in_front() {
        let mut buf = Vec::new();
        push_message(&mut buf, 4, |b| b.extend_from_slice(&[7u8; 200]));
        assert_eq!(&buf[..3], &[0x22, 0xc8, 0x01]);
        assert_eq!(buf.len(), 3 + 200);
        assert!(buf[3..].iter().all(|&b| b == 7));
    }
}
