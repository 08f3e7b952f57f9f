//! Content negotiation: choose a format from the `Accept` header, the way
//! Prometheus client libraries do (q-values honoured, most preferred first).
//!
//! Each format is matched by the media type of its content type
//! (`text/plain`, `application/openmetrics-text`, `application/json`) and,
//! where the client names one, by the `version` parameter. `*/*` and
//! `text/*` without a better match pick the default `prometheus`.
use crate::plugin::FormatInfo;

/// The format served when the client expresses no preference.
pub const DEFAULT_FORMAT: &str = "prometheus";

/// Versions of a media type a format satisfies, when the client asks for one.
fn versions_of(media_type: &str) -> &'static [&'static str] {
    match media_type {
        // Our text output uses legacy names only, so it is valid 1.0.0 text too.
        "text/plain" => &["0.0.4", "1.0.0"],
        "application/openmetrics-text" => &["1.0.0"],
        _ => &[],
    }
}

/// One entry of an `Accept` header.
#[derive(Debug, PartialEq)]
struct MediaRange<'a> {
    media_type: String,
    version: Option<&'a str>,
    q: f32,
}

fn parse_accept(header: &str) -> Vec<MediaRange<'_>> {
    header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let media_type = parts.next()?.trim().to_ascii_lowercase();
            if media_type.is_empty() {
                return None;
            }
            let mut range = MediaRange { media_type, version: None, q: 1.0 };
            for param in parts {
                let Some((key, value)) = param.split_once('=') else { continue };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    // An unparseable q makes the whole range unacceptable.
                    "q" => range.q = value.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0),
                    "version" => range.version = Some(value),
                    _ => {}
                }
            }
            Some(range)
        })
        .collect()
}

fn media_type_of(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Picks the format for `accept` among `available`. `None` when nothing
/// acceptable is available (answer 406).
pub fn choose_format<'a>(accept: Option<&str>, available: &'a [FormatInfo]) -> Option<&'a FormatInfo> {
    let default = available.iter().find(|f| f.name == DEFAULT_FORMAT);
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return default;
    };
    let mut best: Option<(f32, usize, &FormatInfo)> = None;
    for (position, range) in parse_accept(accept).iter().enumerate() {
        if range.q <= 0.0 {
            continue;
        }
        let candidate = match range.media_type.as_str() {
            "*/*" => default,
            "text/*" => default.filter(|f| media_type_of(&f.content_type).starts_with("text/")),
            wanted => available.iter().find(|f| {
                let media = media_type_of(&f.content_type);
                media == wanted && range.version.is_none_or(|v| versions_of(&media).contains(&v))
            }),
        };
        let Some(format) = candidate else { continue };
        // Higher q wins; on equal q, the earlier entry wins.
        if best.is_none_or(|(q, _, _)| range.q > q) {
            best = Some((range.q, position, format));
        }
    }
    best.map(|(_, _, format)| format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(name: &str, content_type: &str) -> FormatInfo {
        FormatInfo { name: name.into(), content_type: content_type.into(), description: String::new() }
    }

    fn formats(with_openmetrics: bool) -> Vec<FormatInfo> {
        let mut v = vec![format("prometheus", "text/plain; version=0.0.4; charset=utf-8"), format("json", "application/json")];
        if with_openmetrics {
            v.push(format("openmetrics", "application/openmetrics-text; version=1.0.0; charset=utf-8"));
        }
        v
    }

    fn pick(accept: Option<&str>, with_openmetrics: bool) -> Option<String> {
        choose_format(accept, &formats(with_openmetrics)).map(|f| f.name.clone())
    }

    /// Prometheus 2.x's scrape Accept header.
    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// Prometheus 3.x's scrape Accept header.
    const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

    #[test]
    fn prometheus_scrapes_pick_openmetrics_when_loaded_else_text() {
        for header in [PROMETHEUS_2, PROMETHEUS_3] {
            assert_eq!(pick(Some(header), true).as_deref(), Some("openmetrics"));
            assert_eq!(pick(Some(header), false).as_deref(), Some("prometheus"));
        }
    }

    #[test]
    fn no_header_or_wildcards_pick_the_default() {
        assert_eq!(pick(None, true).as_deref(), Some("prometheus"));
        assert_eq!(pick(Some(""), true).as_deref(), Some("prometheus"));
        assert_eq!(pick(Some("*/*"), true).as_deref(), Some("prometheus"));
        assert_eq!(pick(Some("text/*"), true).as_deref(), Some("prometheus"));
    }

    #[test]
    fn q_values_are_honoured() {
        assert_eq!(pick(Some("text/plain;q=0.5, application/json"), true).as_deref(), Some("json"));
        assert_eq!(pick(Some("application/json;q=0.1, text/plain;q=0.9"), true).as_deref(), Some("prometheus"));
        assert_eq!(pick(Some("application/json;q=0, */*;q=0.1"), true).as_deref(), Some("prometheus"));
        assert_eq!(pick(Some("application/json;q=bogus"), true), None);
    }

    #[test]
    fn unsupported_versions_and_types_are_not_acceptable() {
        assert_eq!(pick(Some("application/openmetrics-text;version=0.0.1"), true), None);
        assert_eq!(pick(Some("text/plain;version=9.9.9"), true), None);
        assert_eq!(pick(Some("application/xml"), true), None);
        assert_eq!(pick(Some("application/openmetrics-text"), false), None);
    }

    #[test]
    fn garbage_does_not_panic() {
        for header in [";;;", ",,,", "q=1", "text/plain;q", "*/*;q=-1", "\u{0}", "a/b;version=\"1.0.0\";q=1e9"] {
            let _ = pick(Some(header), true);
        }
    }
}
