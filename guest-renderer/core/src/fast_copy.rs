//! Appending short byte strings without a `memcpy` call.
//!
//! Inside wasm, `memcpy` becomes `memory.copy`, which wasmtime runs as a call
//! into the host: fine for large copies, costly for the 1 to 30 byte pieces
//! (names, label values, numbers) that make up most of an exposition. Short
//! pieces are copied here with at most two overlapping word loads and stores.
use alloc::vec::Vec;
use core::ptr;

/// Pieces up to this long take the word-copy path (label values such as
/// queue names are often 30 to 60 bytes).
const SHORT: usize = 64;

/// Appends `bytes` to `buf`.
#[inline(always)]
pub(crate) fn push_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() > SHORT {
        buf.extend_from_slice(bytes);
        return;
    }
    buf.reserve(bytes.len());
    // SAFETY: `reserve` made room for `bytes.len()` more bytes after `buf.len()`.
    unsafe {
        copy_to(buf.as_mut_ptr().add(buf.len()), bytes);
        buf.set_len(buf.len() + bytes.len());
    }
}

/// Copies `bytes` to `dst`.
///
/// # Safety
/// `dst` must be valid for writes of `bytes.len()` bytes and must not
/// overlap `bytes`.
#[inline(always)]
pub(crate) unsafe fn copy_to(dst: *mut u8, bytes: &[u8]) {
    let len = bytes.len();
    let src = bytes.as_ptr();
    // SAFETY: every read stays within `bytes` and every write within the
    // `len` bytes at `dst`, as the caller guarantees.
    unsafe {
        // No loops below SHORT: inside wasm every loop iteration also pays
        // for the deadline (epoch) check, so the pieces are fixed sequences
        // of overlapping word copies.
        let word = |at: usize| ptr::write_unaligned(dst.add(at) as *mut u64, ptr::read_unaligned(src.add(at) as *const u64));
        if len > SHORT {
            ptr::copy_nonoverlapping(src, dst, len);
        } else if len > 32 {
            for at in [0, 8, 16, 24, len - 32, len - 24, len - 16, len - 8] {
                word(at);
            }
        } else if len > 16 {
            for at in [0, 8, len - 16, len - 8] {
                word(at);
            }
        } else if len >= 8 {
            word(0);
            word(len - 8);
        } else if len >= 4 {
            ptr::write_unaligned(dst as *mut u32, ptr::read_unaligned(src as *const u32));
            ptr::write_unaligned(dst.add(len - 4) as *mut u32, ptr::read_unaligned(src.add(len - 4) as *const u32));
        } else if len >= 2 {
            ptr::write_unaligned(dst as *mut u16, ptr::read_unaligned(src as *const u16));
            ptr::write_unaligned(dst.add(len - 2) as *mut u16, ptr::read_unaligned(src.add(len - 2) as *const u16));
        } else if len == 1 {
            *dst = *src;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_copies_exactly() {
        let source: Vec<u8> = (0..80u8).collect();
        for len in 0..=80 {
            let mut buf = alloc::vec![0xAAu8; 3];
            push_bytes(&mut buf, &source[..len]);
            assert_eq!(&buf[..3], &[0xAA; 3]);
            assert_eq!(&buf[3..], &source[..len], "length {len}");
        }
    }
}
