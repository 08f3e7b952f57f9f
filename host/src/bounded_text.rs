//! Text that comes from outside (a plugin's error, trap and log text and
//! format descriptions; a client's headers and query; an upstream's lines)
//! is cut to a fixed size before it reaches an HTTP body, the plugin
//! listing or a log line, so nobody outside can make the host copy
//! megabytes per request.

/// Bytes of outside text kept wherever it surfaces.
pub const MAX_PLUGIN_TEXT: usize = 4096;

/// Bytes of a client's own text (a header, a query value) quoted back in an
/// error: enough to recognise it.
pub const MAX_QUOTED_CLIENT_TEXT: usize = 256;

/// `text` cut to at most `max` bytes (on a character boundary), with a note
/// of how much was cut.
pub fn truncate_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes cut)", &text[..end], text.len() - end)
}

/// [`truncate_text`] at [`MAX_PLUGIN_TEXT`].
pub fn bounded(text: &str) -> String {
    truncate_text(text, MAX_PLUGIN_TEXT)
}

/// One line of plugin output for a log: control characters (a carriage
/// return, a terminal escape) are written as escapes, so a plugin cannot
/// forge or hide log lines; then cut like [`bounded`].
pub fn log_line(line: &str) -> String {
    let cut = bounded(line);
    if !cut.chars().any(|c| c.is_control() && c != '\t') {
        return cut;
    }
    cut.chars().map(|c| if c.is_control() && c != '\t' { c.escape_default().to_string() } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_escape_control_characters() {
        assert_eq!(log_line("plain\ttext ✓"), "plain\ttext ✓");
        assert_eq!(log_line("fake\r2026 INFO forged\x1b[2J"), "fake\\r2026 INFO forged\\u{1b}[2J");
    }

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_on_a_char_boundary() {
        assert_eq!(truncate_text("abc", 3), "abc");
        assert_eq!(truncate_text("abcd", 3), "abc… (1 more bytes cut)");
        // 'é' is two bytes: cutting at 2 would split it.
        assert_eq!(truncate_text("aéb", 2), "a… (3 more bytes cut)");
        let long = "x".repeat(10 << 20);
        assert!(bounded(&long).len() < MAX_PLUGIN_TEXT + 64);
    }
}
