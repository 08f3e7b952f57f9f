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

/// Whether `bytes` holds a byte that `word_hit` finds in a word, or
/// `byte_hit` in the tail.
#[inline(always)]
fn any_byte(bytes: &[u8], word_hit: impl Fn(u64) -> u64, byte_hit: impl Fn(u8) -> bool) -> bool {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
        if word_hit(word) != 0 {
            return true;
        }
    }
    words.remainder().iter().any(|&b| byte_hit(b))
}

/// Appends a Prometheus label value, escaped.
#[inline]
pub(crate) fn push_label_value(buf: &mut Vec<u8>, value: &str) {
    let needs_escape = |b| matches!(b, b'\\' | b'"' | b'\n');
    let found = any_byte(value.as_bytes(), |w| has_byte(w, b'\\') | has_byte(w, b'"') | has_byte(w, b'\n'), needs_escape);
    push_escaped(buf, value, found, needs_escape)
}

/// Appends a Prometheus help text, escaped.
#[inline]
pub(crate) fn push_help(buf: &mut Vec<u8>, help: &str) {
    let needs_escape = |b| matches!(b, b'\\' | b'\n');
    let found = any_byte(help.as_bytes(), |w| has_byte(w, b'\\') | has_byte(w, b'\n'), needs_escape);
    push_escaped(buf, help, found, needs_escape)
}

#[inline]
fn push_escaped(buf: &mut Vec<u8>, text: &str, found: bool, needs_escape: impl Fn(u8) -> bool) {
    let bytes = text.as_bytes();
    if !found {
        push_bytes(buf, bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\n' if needs_escape(b) => buf.extend_from_slice(b"\\n"),
            _ if needs_escape(b) => {
                buf.push(b'\\');
                buf.push(b);
            }
            _ => buf.push(b),
        }
    }
}

/// Appends `text` as a JSON string, quotes included.
#[inline]
pub(crate) fn push_json_string(buf: &mut Vec<u8>, text: &str) {
    buf.push(b'"');
    let bytes = text.as_bytes();
    let found =
        any_byte(bytes, |w| has_byte_below(w, 0x20) | has_byte(w, b'"') | has_byte(w, b'\\'), |b| b < 0x20 || b == b'"' || b == b'\\');
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
        for len in 1..=24 {
            for at in 0..len {
                for (special, label, json) in
                    [('\\', "\\\\", "\\\\"), ('"', "\\\"", "\\\""), ('\n', "\\n", "\\n"), ('\u{1f}', "\u{1f}", "\\u001f")]
                {
                    let mut text: alloc::string::String = core::iter::repeat('a').take(len).collect();
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
