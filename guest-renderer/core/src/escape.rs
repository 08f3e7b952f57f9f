//! Escaping rules of the two formats.
//!
//! Prometheus text: help text escapes `\` and newline; label values escape
//! `\`, `"` and newline. JSON strings escape `"`, `\` and control characters.
//! Each function has a fast path for the common case of nothing to escape.
use crate::fast_copy::push_bytes;
use alloc::vec::Vec;

/// Appends a Prometheus label value, escaped.
#[inline]
pub(crate) fn push_label_value(buf: &mut Vec<u8>, value: &str) {
    push_escaped(buf, value, |b| matches!(b, b'\\' | b'"' | b'\n'))
}

/// Appends a Prometheus help text, escaped.
#[inline]
pub(crate) fn push_help(buf: &mut Vec<u8>, help: &str) {
    push_escaped(buf, help, |b| matches!(b, b'\\' | b'\n'))
}

#[inline]
fn push_escaped(buf: &mut Vec<u8>, text: &str, needs_escape: impl Fn(u8) -> bool) {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| needs_escape(b)) {
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
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
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
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        assert_eq!(run(push_help, "say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
    }

    #[test]
    fn json_strings_escape_controls() {
        assert_eq!(run(push_json_string, "a\"b\\c\n\t\u{1}é"), "\"a\\\"b\\\\c\\n\\t\\u0001é\"");
        assert_eq!(run(push_json_string, ""), "\"\"");
    }
}
