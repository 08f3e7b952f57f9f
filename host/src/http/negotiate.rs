//! Content negotiation: choose a format from the `Accept` header, the way
//! Prometheus client libraries do (q-values honoured, most preferred first).
//!
//! Each format is matched by the media type of its content type
//! (`text/plain`, `application/openmetrics-text`, `application/json`) and,
//! where the client names one, by the `version` parameter. A plugin's format
//! satisfies a version only if its own content type declares it; for the
//! built-in formats the host knows what they produce. When several formats
//! match the same media range, a built-in one wins, so a plugin that merely
//! says `text/plain` cannot take over Prometheus' scrapes. `*/*` and
//! `text/*` without a better match pick the default `prometheus`.
use crate::plugin::renderer_set::OfferedFormat;
use crate::plugin::FormatInfo;

/// The format served when the client expresses no preference.
pub const DEFAULT_FORMAT: &str = "prometheus";

/// The `version` parameter of a content type, if it has one.
fn declared_version(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("version").then(|| value.trim().trim_matches('"'))
    })
}

/// Whether `offer` satisfies a request for `version` of its media type.
fn satisfies_version(offer: &OfferedFormat, media_type: &str, version: &str) -> bool {
    // The built-in text output uses legacy names only, so it is valid
    // 1.0.0 text too.
    if offer.builtin && media_type == "text/plain" && ["0.0.4", "1.0.0"].contains(&version) {
        return true;
    }
    declared_version(&offer.info.content_type) == Some(version)
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
pub fn choose_format<'a>(accept: Option<&str>, available: &'a [OfferedFormat]) -> Option<&'a FormatInfo> {
    let default = available.iter().find(|f| f.info.name == DEFAULT_FORMAT).map(|f| &f.info);
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return default;
    };
    let mut best: Option<(f32, &FormatInfo)> = None;
    for range in parse_accept(accept) {
        if range.q <= 0.0 || best.is_some_and(|(q, _)| range.q <= q) {
            continue;
        }
        let candidate = match range.media_type.as_str() {
            "*/*" => default,
            "text/*" => default.filter(|f| media_type_of(&f.content_type).starts_with("text/")),
            wanted => {
                let mut matching = available.iter().filter(|f| {
                    media_type_of(&f.info.content_type) == wanted && range.version.is_none_or(|v| satisfies_version(f, wanted, v))
                });
                // A built-in wins ties; otherwise the first by name.
                let first = matching.next();
                first.filter(|f| f.builtin).or_else(|| matching.find(|f| f.builtin)).or(first).map(|f| &f.info)
            }
        };
        if let Some(format) = candidate {
            // Higher q wins; on equal q, the earlier entry wins.
            best = Some((range.q, format));
        }
    }
    best.map(|(_, format)| format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(name: &str, content_type: &str, builtin: bool) -> OfferedFormat {
        OfferedFormat { info: FormatInfo { name: name.into(), content_type: content_type.into(), description: String::new() }, builtin }
    }

    fn formats(with_openmetrics: bool) -> Vec<OfferedFormat> {
        let mut v = vec![offer("prometheus", "text/plain; version=0.0.4; charset=utf-8", true), offer("json", "application/json", true)];
        if with_openmetrics {
            v.push(offer("openmetrics", "application/openmetrics-text; version=1.0.0; charset=utf-8", false));
        }
        v.sort_by(|a, b| a.info.name.cmp(&b.info.name));
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

    /// A plugin format that says only `text/plain` and sorts before `prometheus`.
    fn with_influx(with_openmetrics: bool) -> Vec<OfferedFormat> {
        let mut v = formats(with_openmetrics);
        v.push(offer("influx", "text/plain; charset=utf-8", false));
        v.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        v
    }

    #[test]
    fn a_plain_text_plugin_never_takes_prometheus_scrapes() {
        let offers = with_influx(false);
        let pick = |accept: &str| choose_format(Some(accept), &offers).map(|f| f.name.clone());
        for accept in [PROMETHEUS_2, PROMETHEUS_3, "text/plain;version=0.0.4", "text/plain;version=1.0.0", "*/*", "text/plain", "text/*"] {
            assert_eq!(pick(accept).as_deref(), Some("prometheus"), "{accept}");
        }
        assert_eq!(pick("text/plain;version=2.0.0"), None, "nobody declares 2.0.0");
    }

    #[test]
    fn a_plugin_gets_a_version_only_if_it_declares_it() {
        let mut offers = vec![offer("lines", "text/plain; version=7.1; charset=utf-8", false)];
        assert_eq!(choose_format(Some("text/plain;version=7.1"), &offers).map(|f| f.name.as_str()), Some("lines"));
        assert_eq!(choose_format(Some("text/plain;version=0.0.4"), &offers), None);
        offers.push(offer("prometheus", "text/plain; version=0.0.4; charset=utf-8", false));
        assert_eq!(
            choose_format(Some("text/plain;version=0.0.4"), &offers).map(|f| f.name.as_str()),
            Some("prometheus"),
            "an override that declares 0.0.4 serves it"
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for header in [";;;", ",,,", "q=1", "text/plain;q", "*/*;q=-1", "\u{0}", "a/b;version=\"1.0.0\";q=1e9"] {
            let _ = pick(Some(header), true);
        }
    }
}
