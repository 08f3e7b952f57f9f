//! Reading a content type (`text/plain; version=0.0.4; charset=utf-8`): its
//! media type and its parameters. Shared by negotiation, the representation
//! of a response, format capabilities, output checks and the sidecar.

/// The value of parameter `key` of a content type.
pub fn parameter<'a>(content_type: &'a str, key: &str) -> Option<&'a str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, value) = param.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| value.trim().trim_matches('"'))
    })
}

/// The media type of a content type, lower case.
pub fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}
