//! Escaping rules of the two formats.
//!
//! Prometheus text: help text escapes `\` and newline; label values escape
//! `\`, `"` and newline. JSON strings escape `"`, `\` and control characters.
//! Each function has a fast path for the common case of nothing to escape,
//! found eight bytes at a time (SWAR: the same speed natively and in wasm).
use crate::fast_copy::push_bytes;
use alloc::vec::Vec;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Nonzero when some byte of `word` is zero.
#[inline(always)]
fn zero_byte(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// Nonzero when some byte of `word` equals `byte`.
#[inline(always)]
fn has_byte(word: u64, byte: u8) -> u64 {
    zero_byte(word ^ (ONES * byte as u64))
}

/// Nonzero when some byte of `word` is below `limit` (at most 128).
#[inline(always)]
fn has_byte_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * limit as u64) & !word & HIGHS
}

/// Whether `bytes` holds a byte that `word_hit` finds in one of its
/// (possibly overlapping) eight-byte words. Up to 64 bytes the words are a
/// fixed sequence rather than a loop: inside wasm every loop iteration also
/// pays for the deadline (epoch) check. Text shorter than a word is padded
/// with `a`, which no escape rule matches.
#[inline(always)]
fn any_byte(bytes: &[u8], word_hit: impl Fn(u64) -> u64) -> bool {
    let len = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([b'a'; 8]));
    let hits = if len < 8 {
        let mut padded = [b'a'; 8];
        padded[..len].copy_from_slice(bytes);
        word_hit(u64::from_le_bytes(padded))
    } else if len <= 16 {
        word_hit(word(0)) | word_hit(word(len - 8))
    } else if len <= 32 {
        word_hit(word(0)) | word_hit(word(8)) | word_hit(word(len - 16)) | word_hit(word(len - 8))
    } else if len <= 64 {
        [0, 8, 16, 24, len - 32, len - 24, len - 16, len - 8].into_iter().fold(0, |acc, at| acc | word_hit(word(at)))
    } else {
        let mut words = bytes.chunks_exact(8);
        let mut hits = word_hit(word(len - 8));
        for chunk in &mut words {
            hits |= word_hit(u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]));
        }
        hits
    };
    hits != 0
}

/// Whether a Prometheus label value needs escaping.
#[inline(always)]
pub(crate) fn label_value_needs_escape(value: &[u8]) -> bool {
    any_byte(value, |w| has_byte(w, b'\\') | has_byte(w, b'"') | has_byte(w, b'\n'))
}

/// Writes `value` escaped as a Prometheus label value to `dst` and returns
/// the number of bytes written, at most `2 * value.len()`.
///
/// # Safety
/// `dst` must be valid for writes of `2 * value.len()` bytes.
pub(crate) unsafe fn write_escaped_label_value(dst: *mut u8, value: &[u8]) -> usize {
    let mut n = 0;
    for &b in value {
        let (first, second) = match b {
            b'\n' => (b'\\', Some(b'n')),
            b'\\' | b'"' => (b'\\', Some(b)),
            _ => (b, None),
        };
        // SAFETY: at most two bytes per input byte, within the caller's room.
        unsafe {
            *dst.add(n) = first;
            n += 1;
            if let Some(second) = second {
                *dst.add(n) = second;
                n += 1;
            }
        }
    }
    n
}

/// Appends a Prometheus label value, escaped.
#[inline]
pub(crate) fn push_label_value(buf: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !label_value_needs_escape(bytes) {
        push_bytes(buf, bytes);
        return;
    }
    buf.reserve(2 * bytes.len());
    // SAFETY: `reserve` made room for `2 * bytes.len()` more bytes, the most
    // `write_escaped_label_value` writes; those bytes are then initialised.
    unsafe {
        let written = write_escaped_label_value(buf.as_mut_ptr().add(buf.len()), bytes);
        buf.set_len(buf.len() + written);
    }
}

/// Appends a Prometheus help text, escaped (`\` and newline; quotes stay).
#[inline]
pub(crate) fn push_help(buf: &mut Vec<u8>, help: &str) {
    let bytes = help.as_bytes();
    if !any_byte(bytes, |w| has_byte(w, b'\\') | has_byte(w, b'\n')) {
        push_bytes(buf, bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            _ => buf.push(b),
        }
    }
}

/// Appends `text` as a JSON string, quotes included.
#[inline]
pub(crate) fn push_json_string(buf: &mut Vec<u8>, text: &str) {
    push_json_bytes(buf, text.as_bytes())
}

/// Appends UTF-8 `bytes` as a JSON string, quotes included.
#[inline]
pub(crate) fn push_json_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.push(b'"');
    let found = any_byte(bytes, |w| has_byte_below(w, 0x20) | has_byte(w, b'"') | has_byte(w, b'\\'));
    if !found {
        push_bytes(buf, bytes);
    } else {
        for &b in bytes {
            match b {
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                0..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    buf.extend_from_slice(b"\\u00");
                    buf.push(HEX[(b >> 4) as usize]);
                    buf.push(HEX[(b & 0xf) as usize]);
                }
                _ => buf.push(b),
            }
        }
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&mut Vec<u8>, &str), input: &str) -> alloc::string::String {
        let mut buf = Vec::new();
        f(&mut buf, input);
        alloc::string::String::from_utf8(buf).unwrap()
    }

    #[test]
    fn label_values_escape_backslash_quote_newline() {
        assert_eq!(run(push_label_value, "plain"), "plain");
        assert_eq!(run(push_label_value, r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(run(push_label_value, "line1\nline2"), "line1\\nline2");
        assert_eq!(run(push_label_value, "ünï€"), "ünï€");
    }

    #[test]
    fn escapes_are_found_at_every_position_of_a_word() {
        for len in 1..=80 {
            for at in 0..len {
                for (special, label, json) in
                    [('\\', "\\\\", "\\\\"), ('"', "\\\"", "\\\""), ('\n', "\\n", "\\n"), ('\u{1f}', "\u{1f}", "\\u001f")]
                {
                    let mut text = "a".repeat(len);
                    text.replace_range(at..at + 1, special.encode_utf8(&mut [0; 4]));
                    let (before, after) = (&text[..at], &text[at + special.len_utf8()..]);
                    assert_eq!(run(push_label_value, &text), alloc::format!("{before}{label}{after}"), "{text:?}");
                    assert_eq!(run(push_json_string, &text), alloc::format!("\"{before}{json}{after}\""), "{text:?}");
                }
            }
        }
        // Bytes just around the special ones are not escaped.
        assert_eq!(run(push_json_string, " !#[]~\u{7f}"), "\" !#[]~\u{7f}\"");
        assert_eq!(run(push_label_value, "!#[]]]]]]]]\u{80}"), "!#[]]]]]]]]\u{80}");
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        assert_eq!(run(push_help, "say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
    }

    #[test]
    fn json_strings_escape_controls() {
        assert_eq!(run(push_json_string, "a\"b\\c\n\t\u{1}é"), "\"a\\\"b\\\\c\\n\\t\\u0001é\"");
        assert_eq!(run(push_json_string, ""), "\"\"");
    }
}
