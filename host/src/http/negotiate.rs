//! Content negotiation: choose a format from the `Accept` header, the way
//! Prometheus client libraries do (q-values honoured, most preferred first),
//! among the formats the operator lets negotiation pick ([`NegotiableFormats`],
//! `--negotiate`; `?format=` can still ask for any loaded format).
//!
//! Each format is matched by the media type of its content type
//! (`text/plain`, `application/openmetrics-text`, `application/json`,
//! `application/vnd.google.protobuf`) and, where the client names them, by
//! the `version`, `proto` and `encoding` parameters. A plugin's format
//! satisfies a version only if its own content type declares it; for the
//! built-in formats the host knows what they produce. When several
//! negotiable formats match one media range, the operator's order decides.
//! `*/*` (and no `Accept` at all) picks the first negotiable format loaded
//! that is not protobuf (binary output goes only to clients that name it)
//! or HTML (a page goes only to browsers, which name `text/html`), or the
//! built-in `prometheus` when there is none; `text/*` never picks HTML
//! either. The chosen range's
//! `version` and `escaping` go on to [`crate::representation`].
use crate::name_escaping::NameEscaping;
use crate::plugin::format_rules::is_valid_format_name;
use crate::plugin::renderer_set::OfferedFormat;
use crate::plugin::FormatInfo;
use crate::content_type::{media_type, parameter};
use crate::representation::Wanted;
use std::sync::Arc;

/// The format served when nothing negotiable is loaded.
pub const DEFAULT_FORMAT: &str = "prometheus";

/// Most formats `--negotiate` may list.
pub const MAX_NEGOTIABLE: usize = 64;

/// The formats negotiation may pick by default: the built-in protobuf,
/// text and HTML, all shipped with the host.
pub const DEFAULT_NEGOTIABLE: [&str; 3] = ["protobuf", DEFAULT_FORMAT, "html"];

/// The protobuf media type, which wildcards never pick.
const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.google.protobuf";
/// HTML, which only a client naming it gets (browsers do; Prometheus and
/// curl do not).
const HTML_MEDIA_TYPE: &str = "text/html";

/// Whether a wildcard (`*/*`, `text/*`) may pick this content type.
fn wildcards_pick(content_type: &str) -> bool {
    let media = media_type(content_type);
    media != PROTOBUF_MEDIA_TYPE && media != HTML_MEDIA_TYPE
}

/// The formats negotiation may pick, most preferred first. The default is
/// the built-in protobuf (which only clients naming it get, as Prometheus
/// does for native histograms) and text: a plugin dropped into the folder
/// never changes what Prometheus scrapes (and so the identity of its
/// series) unless the operator says so.
#[derive(Debug, Clone, PartialEq)]
pub struct NegotiableFormats(Arc<[String]>);

impl Default for NegotiableFormats {
    fn default() -> Self {
        NegotiableFormats(DEFAULT_NEGOTIABLE.iter().map(|s| s.to_string()).collect())
    }
}

impl NegotiableFormats {
    /// Checks a list: not empty, format names, no repeats.
    pub fn new(names: &[String]) -> Result<Self, String> {
        if names.is_empty() {
            return Err("the list is empty; name at least one format, e.g. prometheus".into());
        }
        if names.len() > MAX_NEGOTIABLE {
            return Err(format!("{} formats listed; at most {MAX_NEGOTIABLE}", names.len()));
        }
        for (i, name) in names.iter().enumerate() {
            if !is_valid_format_name(name) {
                return Err(format!("{name:?} is not a format name ([a-z0-9][a-z0-9_.-]{{0,63}})"));
            }
            if names[..i].contains(name) {
                return Err(format!("{name:?} is listed twice"));
            }
        }
        Ok(NegotiableFormats(names.iter().cloned().collect()))
    }

    /// The names, most preferred first.
    pub fn names(&self) -> &[String] {
        &self.0
    }
}

/// A format negotiation chose and what else the client asked of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice<'a> {
    /// The format chosen.
    pub format: &'a FormatInfo,
    /// The version and escaping the client asked for with it.
    pub wanted: Wanted,
}

/// Whether `offer` satisfies a request for `version` of its media type.
fn satisfies_version(offer: &OfferedFormat, media_type: &str, version: &str) -> bool {
    if offer.capabilities.text_0_0_4_and_1_0_0 && media_type == "text/plain" && ["0.0.4", "1.0.0"].contains(&version) {
        return true;
    }
    parameter(&offer.info.content_type, "version") == Some(version)
}

/// One entry of an `Accept` header.
#[derive(Debug, PartialEq)]
struct MediaRange<'a> {
    media_type: String,
    version: Option<&'a str>,
    /// Protobuf: the message type and framing asked for.
    proto: Option<&'a str>,
    encoding: Option<&'a str>,
    escaping: Option<NameEscaping>,
    q: f32,
}

impl MediaRange<'_> {
    /// Whether `offer` has the media type and the parameters this range names.
    fn accepts(&self, offer: &OfferedFormat) -> bool {
        let content_type = &offer.info.content_type;
        let declares = |key: &str, wanted: Option<&str>| {
            wanted.is_none_or(|w| parameter(content_type, key).is_some_and(|have| have.eq_ignore_ascii_case(w)))
        };
        media_type(content_type) == self.media_type
            && self.version.is_none_or(|v| satisfies_version(offer, &self.media_type, v))
            && declares("proto", self.proto)
            && declares("encoding", self.encoding)
    }
}

impl MediaRange<'_> {
    fn wanted(&self) -> Wanted {
        Wanted { version: self.version.map(str::to_string), escaping: self.escaping }
    }
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
            let mut range = MediaRange { media_type, version: None, proto: None, encoding: None, escaping: None, q: 1.0 };
            for param in parts {
                let Some((key, value)) = param.split_once('=') else { continue };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    // An unparseable q makes the whole range unacceptable.
                    "q" => range.q = value.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0),
                    "version" => range.version = Some(value),
                    "proto" => range.proto = Some(value),
                    "encoding" => range.encoding = Some(value),
                    // An unknown scheme is ignored, as client_golang does.
                    "escaping" => range.escaping = NameEscaping::parse(value),
                    _ => {}
                }
            }
            Some(range)
        })
        .collect()
}

/// Picks the format for `accept` among the `negotiable` formats of
/// `available`. `None` when nothing acceptable is available (answer 406).
pub fn choose_format<'a>(accept: Option<&str>, negotiable: &NegotiableFormats, available: &'a [OfferedFormat]) -> Option<Choice<'a>> {
    let candidates: Vec<&OfferedFormat> =
        negotiable.names().iter().filter_map(|name| available.iter().find(|o| &o.info.name == name)).collect();
    let default = candidates
        .iter()
        .copied()
        .find(|o| wildcards_pick(&o.info.content_type))
        .or_else(|| available.iter().find(|o| o.info.name == DEFAULT_FORMAT));
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return default.map(|o| Choice { format: &o.info, wanted: Wanted::default() });
    };
    let mut best: Option<(f32, &OfferedFormat, MediaRange<'_>)> = None;
    for range in parse_accept(accept) {
        if range.q <= 0.0 || best.as_ref().is_some_and(|(q, _, _)| range.q <= *q) {
            continue;
        }
        let candidate = match range.media_type.as_str() {
            "*/*" => default,
            "text/*" => candidates
                .iter()
                .copied()
                .find(|o| media_type(&o.info.content_type).starts_with("text/") && wildcards_pick(&o.info.content_type))
                .or(default.filter(|o| media_type(&o.info.content_type).starts_with("text/"))),
            _ => candidates.iter().copied().find(|o| range.accepts(o)),
        };
        if let Some(offer) = candidate {
            // Higher q wins; on equal q, the earlier entry wins.
            best = Some((range.q, offer, range));
        }
    }
    best.map(|(_, offer, range)| {
        // A wildcard names no version of what it picks.
        let wanted = if range.media_type.ends_with("/*") { Wanted { version: None, ..range.wanted() } } else { range.wanted() };
        Choice { format: &offer.info, wanted }
    })
}

/// What `accept` asks of `offer` when the format was named with `?format=`:
/// the version and escaping of the most preferred range of its media type.
pub fn wanted_of(accept: Option<&str>, offer: &OfferedFormat) -> Wanted {
    let media = media_type(&offer.info.content_type);
    let mut best: Option<MediaRange<'_>> = None;
    for range in parse_accept(accept.unwrap_or("")) {
        if range.media_type == media && range.q > 0.0 && best.as_ref().is_none_or(|b| range.q > b.q) {
            best = Some(range);
        }
    }
    best.map(|r| r.wanted()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(name: &str, content_type: &str, builtin: bool) -> OfferedFormat {
        OfferedFormat::of(FormatInfo { name: name.into(), content_type: content_type.into(), description: String::new() }, builtin)
    }

    fn formats(with_openmetrics: bool) -> Vec<OfferedFormat> {
        let mut v = vec![
            offer("prometheus", "text/plain; version=0.0.4; charset=utf-8", true),
            offer("json", "application/json", true),
            offer("protobuf", PROTOBUF, true),
        ];
        if with_openmetrics {
            v.push(offer("openmetrics", "application/openmetrics-text; version=1.0.0; charset=utf-8", false));
        }
        v.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        v
    }

    fn list(names: &[&str]) -> NegotiableFormats {
        NegotiableFormats::new(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn pick_from(accept: Option<&str>, negotiable: &NegotiableFormats, offers: &[OfferedFormat]) -> Option<String> {
        choose_format(accept, negotiable, offers).map(|c| c.format.name.clone())
    }

    /// With every loaded format negotiable, OpenMetrics first.
    fn pick(accept: Option<&str>, with_openmetrics: bool) -> Option<String> {
        pick_from(accept, &list(&["openmetrics", "prometheus", "json"]), &formats(with_openmetrics))
    }

    /// The built-in protobuf format's content type.
    const PROTOBUF: &str =
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8";
    /// Prometheus 2.42's scrape Accept header with native histograms enabled.
    const PROMETHEUS_2_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

    #[test]
    fn protobuf_goes_only_to_clients_that_name_it() {
        let offers = formats(true);
        let default = NegotiableFormats::default();
        assert_eq!(pick_from(Some(PROMETHEUS_2_NATIVE), &default, &offers).as_deref(), Some("protobuf"));
        for accept in [None, Some("*/*"), Some(PROMETHEUS_2), Some(PROMETHEUS_3)] {
            assert_eq!(pick_from(accept, &default, &offers).as_deref(), Some("prometheus"), "{accept:?}");
        }
        let other_encoding = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text";
        assert_eq!(pick_from(Some(other_encoding), &default, &offers), None, "only the delimited encoding is produced");
        let other_message = "application/vnd.google.protobuf;proto=other.Message;encoding=delimited";
        assert_eq!(pick_from(Some(other_message), &default, &offers), None);
        let text_only = list(&["prometheus"]);
        assert_eq!(pick_from(Some(PROMETHEUS_2_NATIVE), &text_only, &offers).as_deref(), Some("prometheus"), "when not negotiable");
    }

    /// Prometheus 2.x's scrape Accept header.
    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// Prometheus 3.x's scrape Accept header.
    const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

    /// Chromium's and Firefox's Accept for a page.
    const BROWSERS: [&str; 2] = [
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ];

    #[test]
    fn html_goes_only_to_clients_that_name_it_and_prefer_it() {
        let mut offers = formats(true);
        offers.push(offer("html", "text/html; charset=utf-8", true));
        let default = NegotiableFormats::default();
        for browser in BROWSERS {
            assert_eq!(pick_from(Some(browser), &default, &offers).as_deref(), Some("html"), "{browser}");
        }
        // Prometheus, curl (`*/*`), no header, `text/*`: never the page,
        // even when the operator lists html first.
        for negotiable in [default.clone(), list(&["html", "prometheus"])] {
            for accept in [None, Some("*/*"), Some("text/*"), Some(PROMETHEUS_2), Some(PROMETHEUS_3), Some(PROMETHEUS_2_NATIVE)] {
                assert_ne!(pick_from(accept, &negotiable, &offers).as_deref(), Some("html"), "{accept:?}");
            }
        }
        // Named, but preferring text: text.
        assert_eq!(pick_from(Some("text/plain,text/html;q=0.5"), &default, &offers).as_deref(), Some("prometheus"));
        // Not negotiable: a browser gets the text.
        assert_eq!(pick_from(Some(BROWSERS[0]), &list(&["prometheus"]), &offers).as_deref(), Some("prometheus"));
    }

    #[test]
    fn by_default_loading_openmetrics_does_not_change_what_prometheus_gets() {
        for header in [PROMETHEUS_2, PROMETHEUS_3] {
            assert_eq!(pick_from(Some(header), &NegotiableFormats::default(), &formats(true)).as_deref(), Some("prometheus"));
        }
        assert_eq!(pick_from(Some("application/json"), &NegotiableFormats::default(), &formats(true)), None, "json is not negotiable");
    }

    #[test]
    fn prometheus_scrapes_pick_openmetrics_when_negotiable_and_loaded_else_text() {
        for header in [PROMETHEUS_2, PROMETHEUS_3] {
            assert_eq!(pick(Some(header), true).as_deref(), Some("openmetrics"));
            assert_eq!(pick(Some(header), false).as_deref(), Some("prometheus"));
        }
    }

    #[test]
    fn the_chosen_range_carries_version_and_escaping() {
        let offers = formats(false);
        let choice = choose_format(Some(PROMETHEUS_3), &NegotiableFormats::default(), &offers).unwrap();
        assert_eq!(choice.wanted, Wanted { version: Some("1.0.0".into()), escaping: Some(NameEscaping::AllowUtf8) });
        let choice = choose_format(Some(PROMETHEUS_2), &NegotiableFormats::default(), &offers).unwrap();
        assert_eq!(choice.wanted, Wanted { version: Some("0.0.4".into()), escaping: None });
        let choice = choose_format(Some("text/plain;version=1.0.0;escaping=allow-utf8"), &NegotiableFormats::default(), &offers).unwrap();
        assert_eq!(choice.wanted.escaping, Some(NameEscaping::AllowUtf8), "both spellings");
        let choice = choose_format(Some("text/plain;escaping=bogus"), &NegotiableFormats::default(), &offers).unwrap();
        assert_eq!(choice.wanted.escaping, None, "unknown schemes are ignored");
        let choice = choose_format(Some("*/*;escaping=dots"), &NegotiableFormats::default(), &offers).unwrap();
        assert_eq!(choice.wanted, Wanted { version: None, escaping: Some(NameEscaping::Dots) });
        let om = formats(true).into_iter().find(|o| o.info.name == "openmetrics").unwrap();
        assert_eq!(wanted_of(Some(PROMETHEUS_3), &om).escaping, Some(NameEscaping::AllowUtf8));
        assert_eq!(wanted_of(None, &om), Wanted::default());
    }

    #[test]
    fn no_header_or_wildcards_pick_the_first_negotiable_format() {
        assert_eq!(pick(None, true).as_deref(), Some("openmetrics"));
        assert_eq!(pick(Some(""), false).as_deref(), Some("prometheus"));
        assert_eq!(pick(Some("*/*"), true).as_deref(), Some("openmetrics"));
        assert_eq!(pick(Some("text/*"), true).as_deref(), Some("prometheus"));
        let only_missing = list(&["influx"]);
        assert_eq!(
            pick_from(Some("*/*"), &only_missing, &formats(false)).as_deref(),
            Some("prometheus"),
            "built-in text when nothing listed is loaded"
        );
        assert_eq!(pick_from(None, &NegotiableFormats::default(), &formats(true)).as_deref(), Some("prometheus"));
    }

    #[test]
    fn q_values_are_honoured() {
        assert_eq!(pick(Some("text/plain;q=0.5, application/json"), true).as_deref(), Some("json"));
        assert_eq!(pick(Some("application/json;q=0.1, text/plain;q=0.9"), true).as_deref(), Some("prometheus"));
        assert_eq!(pick(Some("application/json;q=0, */*;q=0.1"), false).as_deref(), Some("prometheus"));
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
    fn a_plain_text_plugin_takes_prometheus_scrapes_only_if_listed_first() {
        let offers = with_influx(false);
        for accept in [PROMETHEUS_2, PROMETHEUS_3, "text/plain;version=0.0.4", "text/plain;version=1.0.0", "*/*", "text/plain", "text/*"] {
            assert_eq!(pick_from(Some(accept), &list(&["prometheus", "influx"]), &offers).as_deref(), Some("prometheus"), "{accept}");
        }
        let influx_first = list(&["influx", "prometheus"]);
        assert_eq!(pick_from(Some("text/plain"), &influx_first, &offers).as_deref(), Some("influx"));
        assert_eq!(
            pick_from(Some("text/plain;version=0.0.4"), &influx_first, &offers).as_deref(),
            Some("prometheus"),
            "influx declares no version"
        );
        assert_eq!(pick_from(Some("text/plain;version=2.0.0"), &influx_first, &offers), None, "nobody declares 2.0.0");
    }

    #[test]
    fn a_plugin_gets_a_version_only_if_it_declares_it() {
        let negotiable = list(&["lines", "prometheus"]);
        let mut offers = vec![offer("lines", "text/plain; version=7.1; charset=utf-8", false)];
        assert_eq!(pick_from(Some("text/plain;version=7.1"), &negotiable, &offers).as_deref(), Some("lines"));
        assert_eq!(pick_from(Some("text/plain;version=0.0.4"), &negotiable, &offers), None);
        offers.push(offer("prometheus", "text/plain; version=0.0.4; charset=utf-8", false));
        assert_eq!(
            pick_from(Some("text/plain;version=0.0.4"), &negotiable, &offers).as_deref(),
            Some("prometheus"),
            "an override that declares 0.0.4 serves it"
        );
    }

    #[test]
    fn negotiable_lists_are_checked() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(NegotiableFormats::new(&[]).unwrap_err().contains("empty"));
        assert!(NegotiableFormats::new(&names(&["a", "a"])).unwrap_err().contains("twice"));
        assert!(NegotiableFormats::new(&names(&["Bad Name"])).unwrap_err().contains("not a format name"));
        let many: Vec<String> = (0..=MAX_NEGOTIABLE).map(|i| format!("f{i}")).collect();
        assert!(NegotiableFormats::new(&many).is_err());
        assert_eq!(list(&["openmetrics", "prometheus"]).names(), ["openmetrics", "prometheus"]);
    }

    #[test]
    fn garbage_does_not_panic() {
        for header in [
            ";;;",
            ",,,",
            "q=1",
            "text/plain;q",
            "*/*;q=-1",
            "\u{0}",
            "a/b;version=\"1.0.0\";q=1e9",
            "text/plain;escaping=",
            "*/*;escaping=allow-utf-8;escaping=dots",
        ] {
            let _ = pick(Some(header), true);
        }
    }
}
