//! The rules a plugin's `formats()` answer must follow before the plugin is
//! loaded. Format names end up in URLs, listings, log lines and metric
//! labels; content types end up in response headers. A plugin that breaks a
//! rule is refused with a reason naming the offending entry (cut short).
use super::bounded_text::truncate_text;
use std::collections::HashSet;

/// A format a component offers, as its `formats()` answered (and these
/// rules accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatInfo {
    /// Used in `?format=` (`[a-z0-9][a-z0-9_.-]{0,63}`).
    pub name: String,
    /// The response's `Content-Type`.
    pub content_type: String,
    /// One line for humans (listing, landing page).
    pub description: String,
}

/// Formats one plugin may offer.
pub const MAX_FORMATS: usize = 64;
/// Longest format name: `[a-z0-9][a-z0-9_.-]{0,63}`.
pub const MAX_NAME_LEN: usize = 64;
/// Longest content type.
pub const MAX_CONTENT_TYPE_LEN: usize = 256;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// How much of an offending value a refusal quotes.
const QUOTE_LEN: usize = 80;

fn quote(text: &str) -> String {
    format!("{:?}", truncate_text(text, QUOTE_LEN))
}

/// True for names matching `[a-z0-9][a-z0-9_.-]{0,63}`.
pub fn is_valid_format_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && matches!(bytes[0], b'a'..=b'z' | b'0'..=b'9')
        && bytes.iter().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-'))
}

/// A media type `type/subtype` followed by `; key=value` parameters, all
/// visible ASCII, usable as an HTTP header value.
fn check_content_type(content_type: &str) -> Result<(), &'static str> {
    if content_type.len() > MAX_CONTENT_TYPE_LEN {
        return Err("is longer than 256 bytes");
    }
    if !content_type.bytes().all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b)) {
        return Err("has characters a header value cannot carry");
    }
    let media = content_type.split(';').next().unwrap_or("").trim();
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    match media.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => Ok(()),
        _ => Err("is not a media type like text/plain"),
    }
}

/// Checks every format of one plugin.
pub fn check_formats(formats: &[FormatInfo]) -> Result<(), String> {
    if formats.is_empty() {
        return Err("offers no formats".into());
    }
    if formats.len() > MAX_FORMATS {
        return Err(format!("offers {} formats; at most {MAX_FORMATS} are allowed", formats.len()));
    }
    let mut seen = HashSet::new();
    for (i, f) in formats.iter().enumerate() {
        if !is_valid_format_name(&f.name) {
            return Err(format!("format {i} name {} must match [a-z0-9][a-z0-9_.-]{{0,63}}", quote(&f.name)));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(format!("format {i} name {} is offered twice", quote(&f.name)));
        }
        if let Err(why) = check_content_type(&f.content_type) {
            return Err(format!("format {:?} content type {} {why}", f.name, quote(&f.content_type)));
        }
        if f.description.len() > MAX_DESCRIPTION_LEN {
            return Err(format!(
                "format {:?} description is {} bytes; at most {MAX_DESCRIPTION_LEN} are allowed",
                f.name,
                f.description.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, content_type: &str) -> FormatInfo {
        FormatInfo { name: name.into(), content_type: content_type.into(), description: String::new() }
    }

    #[test]
    fn good_formats_pass() {
        check_formats(&[f("prometheus", "text/plain; version=0.0.4; charset=utf-8"), f("influx.v2-x_1", "text/plain")]).unwrap();
    }

    #[test]
    fn names_are_a_safe_charset() {
        for bad in ["", "Upper", "a b", "a/b", "a\nb", "a\0b", "-x", ".x", "_x", "é", &"a".repeat(65)] {
            let err = check_formats(&[f(bad, "text/plain")]).unwrap_err();
            assert!(err.contains("must match"), "{bad:?}: {err}");
        }
        assert!(is_valid_format_name(&"a".repeat(64)));
    }

    #[test]
    fn the_reason_quotes_a_long_name_cut_short() {
        let err = check_formats(&[f(&"X".repeat(10 << 20), "text/plain")]).unwrap_err();
        assert!(err.len() < 300, "{}", err.len());
    }

    #[test]
    fn counts_duplicates_content_types_and_descriptions_are_bounded() {
        let many: Vec<FormatInfo> = (0..65).map(|i| f(&format!("f{i}"), "text/plain")).collect();
        assert!(check_formats(&many).unwrap_err().contains("65 formats"));
        assert!(check_formats(&[]).is_err());
        assert!(check_formats(&[f("a", "text/plain"), f("a", "text/plain")]).unwrap_err().contains("twice"));
        for bad in ["", "text", "text/plain\r\nX-Evil: 1", "/plain", &format!("text/{}", "a".repeat(300))] {
            assert!(check_formats(&[f("a", bad)]).is_err(), "{bad:?}");
        }
        let mut long = f("a", "text/plain");
        long.description = "d".repeat(2000);
        assert!(check_formats(&[long]).unwrap_err().contains("description"));
    }
}
