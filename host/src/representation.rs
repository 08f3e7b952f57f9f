//! What a response body is, once the renderer is chosen: its `Content-Type`
//! (with the text version and name escaping stated, for the Prometheus
//! media types) and how names outside the legacy syntax are written.
//!
//! A renderer receives names as they are (UTF-8) only if its format can
//! write them (its [`FormatCapabilities`]: the host's own renderer can, a
//! plugin's format can if its content type declares `escaping=allow-utf-8`).
//! Every other renderer gets names escaped, so a renderer built for legacy
//! names never sees anything else.
//!
//! | wanted escaping | format | names |
//! |---|---|---|
//! | `allow-utf-8` | text 1.0.0 or OpenMetrics, renderer that can | as they are, quoted |
//! | `allow-utf-8` | text 0.0.4, or renderer that cannot | `underscores` |
//! | `underscores`, `dots`, `values` | any | that scheme |
//! | none | Prometheus media types | `underscores` |
//! | none | others (`json`) | as they are if the renderer can, else `underscores` |
use crate::name_escaping::NameEscaping;
use crate::content_type::media_type;
use crate::plugin::format_capabilities::FormatCapabilities;
use crate::plugin::FormatInfo;

/// Media types whose names follow Prometheus' rules and whose content type
/// states the escaping used.
const PROMETHEUS_MEDIA_TYPES: [&str; 3] = ["text/plain", "application/openmetrics-text", "application/vnd.google.protobuf"];

/// What the client asked for besides the format (from the `Accept` range
/// that chose it, or flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Wanted {
    /// The `version` parameter.
    pub version: Option<String>,
    /// The `escaping` parameter, if it named a known scheme.
    pub escaping: Option<NameEscaping>,
}

/// How a response is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    /// The response's `Content-Type`.
    pub content_type: String,
    /// How names are written.
    pub escaping: NameEscaping,
}

/// How `info`, which can what `can` says, answers `wanted`.
pub fn representation(info: &FormatInfo, can: FormatCapabilities, wanted: &Wanted) -> Representation {
    let media = media_type(&info.content_type);
    let utf8 = can.utf8_names;
    if !PROMETHEUS_MEDIA_TYPES.contains(&media.as_str()) {
        let escaping = match wanted.escaping {
            Some(NameEscaping::AllowUtf8) | None if utf8 => NameEscaping::AllowUtf8,
            Some(NameEscaping::AllowUtf8) | None => NameEscaping::Underscores,
            Some(scheme) => scheme,
        };
        return Representation { content_type: info.content_type.clone(), escaping };
    }
    // Text 0.0.4 cannot quote names; 1.0.0 (or no version named) can.
    let text_version = wanted.version.as_deref();
    let quoting_allowed = media != "text/plain" || text_version != Some("0.0.4");
    let escaping = match wanted.escaping.unwrap_or_default() {
        NameEscaping::AllowUtf8 if utf8 && quoting_allowed => NameEscaping::AllowUtf8,
        NameEscaping::AllowUtf8 => NameEscaping::Underscores,
        scheme => scheme,
    };
    // Text valid as 0.0.4 and 1.0.0 alike: say which it is.
    let version = match (can.text_0_0_4_and_1_0_0 && media == "text/plain", escaping) {
        (true, NameEscaping::AllowUtf8) => Some("1.0.0"),
        (true, _) => Some(text_version.filter(|v| *v == "1.0.0").unwrap_or("0.0.4")),
        (false, _) => None,
    };
    Representation { content_type: with_parameters(&info.content_type, version, escaping), escaping }
}

/// `content_type` with its `version` replaced (when given) and its
/// `escaping` set to `escaping`.
fn with_parameters(content_type: &str, version: Option<&str>, escaping: NameEscaping) -> String {
    let mut parts = content_type.split(';');
    let mut out = parts.next().unwrap_or("").trim().to_string();
    for param in parts {
        let key = param.split_once('=').map(|(k, _)| k.trim().to_ascii_lowercase()).unwrap_or_default();
        match key.as_str() {
            "escaping" => {}
            "version" if version.is_some() => out.push_str(&format!("; version={}", version.unwrap_or_default())),
            _ => {
                out.push_str("; ");
                out.push_str(param.trim());
            }
        }
    }
    out.push_str("; escaping=");
    out.push_str(escaping.as_str());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use NameEscaping::*;

    fn info(content_type: &str) -> FormatInfo {
        FormatInfo { name: "f".into(), content_type: content_type.into(), description: String::new() }
    }

    fn wanted(version: Option<&str>, escaping: Option<NameEscaping>) -> Wanted {
        Wanted { version: version.map(str::to_string), escaping }
    }

    const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
    const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    #[test]
    fn builtin_text_quotes_only_for_version_1_and_says_so() {
        let text = info(TEXT);
        let r = representation(&text, FormatCapabilities::of(&text, true), &wanted(Some("1.0.0"), Some(AllowUtf8)));
        assert_eq!((r.content_type.as_str(), r.escaping), ("text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8", AllowUtf8));
        let r = representation(&text, FormatCapabilities::of(&text, true), &wanted(Some("0.0.4"), Some(AllowUtf8)));
        assert_eq!((r.content_type.as_str(), r.escaping), ("text/plain; version=0.0.4; charset=utf-8; escaping=underscores", Underscores));
        let r = representation(&text, FormatCapabilities::of(&text, true), &wanted(None, None));
        assert_eq!((r.content_type.as_str(), r.escaping), ("text/plain; version=0.0.4; charset=utf-8; escaping=underscores", Underscores));
        let r = representation(&text, FormatCapabilities::of(&text, true), &wanted(Some("1.0.0"), Some(Values)));
        assert_eq!((r.content_type.as_str(), r.escaping), ("text/plain; version=1.0.0; charset=utf-8; escaping=values", Values));
        let r = representation(&text, FormatCapabilities::of(&text, true), &wanted(None, Some(AllowUtf8)));
        assert_eq!(r.escaping, AllowUtf8, "no version named: 1.0.0");
    }

    #[test]
    fn plugins_get_utf8_names_only_if_they_declare_it() {
        let legacy = representation(&info(OM), FormatCapabilities::of(&info(OM), false), &wanted(Some("1.0.0"), Some(AllowUtf8)));
        assert_eq!(
            (legacy.content_type.as_str(), legacy.escaping),
            ("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores", Underscores)
        );
        let declared = info(&format!("{OM}; escaping=allow-utf-8"));
        let r = representation(&declared, FormatCapabilities::of(&declared, false), &wanted(Some("1.0.0"), Some(AllowUtf8)));
        assert_eq!(
            (r.content_type.as_str(), r.escaping),
            ("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8", AllowUtf8)
        );
        let r = representation(&declared, FormatCapabilities::of(&declared, false), &wanted(None, Some(Dots)));
        assert_eq!(
            (r.content_type.as_str(), r.escaping),
            ("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots", Dots)
        );
        let r = representation(&declared, FormatCapabilities::of(&declared, false), &wanted(None, None));
        assert_eq!(r.escaping, Underscores, "legacy clients get underscores");
    }

    #[test]
    fn other_media_types_keep_their_content_type() {
        let json = info("application/json");
        assert_eq!(
            representation(&json, FormatCapabilities::of(&json, true), &wanted(None, None)),
            Representation { content_type: "application/json".into(), escaping: AllowUtf8 }
        );
        let influx = info("text/x-influx; charset=utf-8");
        assert_eq!(representation(&influx, FormatCapabilities::of(&influx, false), &wanted(None, Some(AllowUtf8))).escaping, Underscores);
        assert_eq!(representation(&influx, FormatCapabilities::of(&influx, false), &wanted(None, Some(Values))).escaping, Values);
    }
}
