//! Prometheus legacy name rules.

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
    fn label_names() {
        assert!(is_valid_label_name("_queue1"));
        assert!(!is_valid_label_name("a:b"));
        assert!(!is_valid_label_name(""));
    }
}
