//! Prometheus name rules: the legacy syntax, and how a name outside it is
//! written (quoted, as Prometheus 3 text and OpenMetrics allow).
use crate::escape::push_label_value;
use alloc::vec::Vec;

/// True when `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// True when `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Appends a metric name as `# HELP`/`# TYPE` lines write it: as is when it
/// is legacy, else in double quotes with `\\`, `"` and newline escaped.
pub(crate) fn push_metric_name(buf: &mut Vec<u8>, name: &str) {
    if is_valid_metric_name(name) {
        buf.extend_from_slice(name.as_bytes());
    } else {
        push_quoted(buf, name);
    }
}

/// Appends a label name: as is when it is legacy, else quoted.
pub(crate) fn push_label_name(buf: &mut Vec<u8>, name: &str) {
    if is_valid_label_name(name) {
        buf.extend_from_slice(name.as_bytes());
    } else {
        push_quoted(buf, name);
    }
}

/// Appends `text` in double quotes, escaped like a label value.
pub(crate) fn push_quoted(buf: &mut Vec<u8>, text: &str) {
    buf.push(b'"');
    push_label_value(buf, text);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        assert!(is_valid_metric_name("kumomta_:x9"));
        assert!(is_valid_metric_name(":a"));
        assert!(!is_valid_metric_name(""));
        assert!(!is_valid_metric_name("9a"));
        assert!(!is_valid_metric_name("a-b"));
        assert!(!is_valid_metric_name("é"));
    }

    #[test]
    fn names_outside_the_legacy_syntax_are_quoted() {
        let write = |f: fn(&mut Vec<u8>, &str), name: &str| {
            let mut buf = Vec::new();
            f(&mut buf, name);
            alloc::string::String::from_utf8(buf).unwrap()
        };
        assert_eq!(write(push_metric_name, "a:b_c"), "a:b_c");
        assert_eq!(write(push_metric_name, "my.metric"), "\"my.metric\"");
        assert_eq!(write(push_metric_name, "say \"é\"\n"), "\"say \\\"é\\\"\\n\"");
        assert_eq!(write(push_label_name, "a:b"), "\"a:b\"");
        assert_eq!(write(push_label_name, "le"), "le");
    }

    #[test]
    fn label_names() {
        assert!(is_valid_label_name("_queue1"));
        assert!(!is_valid_label_name("a:b"));
        assert!(!is_valid_label_name(""));
    }
}
