//! Example plugin: InfluxDB line protocol (format `influx`).
//!
//! One line per series: the family name is the measurement, labels are
//! tags, the value is the field `value` (histograms: `count`, `sum` and a
//! field per bucket bound, `+Inf` included; summaries: `count`, `sum` and
//! a field per quantile), and the snapshot's time the timestamp, in the
//! precision set by `influx.toml` (`precision = "ns" | "us" | "ms" | "s"`,
//! default `ns`). Escaping follows the line protocol reference:
//! measurements escape `,` and space; tag keys, tag values and field keys
//! escape `,`, `=` and space; other backslashes stay literal (readers keep
//! a backslash that does not precede one of those). The protocol has no
//! way to write an empty tag value (the tag is left out), a newline in a
//! tag (written as the two characters `\n`), or a NaN or infinite field
//! (the field is left out, and a line without fields is not written).
//!
//! Format `influx-push` writes the same lines as push requests of at most
//! `max_samples_per_request` lines each ([`LineRequests`]), for a
//! `[[push]]` endpoint with `protocol = "http"`: InfluxDB's `/api/v2/write`
//! and VictoriaMetrics' `/write` take them.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use metrics_renderer_sdk::{
    export_renderer, render_series, Family, Format, Input, LineRequests, MetricKind, RenderError, Renderer, Series, SeriesFormatter, Sink,
    Writer,
};

const MEASUREMENT_ESCAPES: &[(u8, &str)] = &[(b',', "\\,"), (b' ', "\\ "), (b'\n', "\\n")];
const KEY_ESCAPES: &[(u8, &str)] = &[(b',', "\\,"), (b'=', "\\="), (b' ', "\\ "), (b'\n', "\\n")];

/// Timestamp units per millisecond of the snapshot's time, by precision.
fn scale(precision: &str) -> Option<(i64, i64)> {
    match precision {
        "ns" => Some((1_000_000, 1)),
        "us" => Some((1_000, 1)),
        "ms" => Some((1, 1)),
        "s" => Some((1, 1000)),
        _ => None,
    }
}

pub struct Influx {
    /// The snapshot's time in the chosen precision, written on every line.
    timestamp: i64,
    /// A push's external labels (`external_label.NAME` settings): tags of
    /// every line whose series lacks them.
    external_tags: alloc::vec::Vec<(String, String)>,
}

impl Influx {
    fn field(out: &mut Writer<'_, '_>, first: &mut bool, key: &str, value: f64) {
        if !value.is_finite() {
            return;
        }
        out.byte(if *first { b' ' } else { b',' });
        *first = false;
        out.escaped(key, KEY_ESCAPES).byte(b'=');
        out.f64(value);
    }
}

impl SeriesFormatter for Influx {
    fn series(&mut self, family: &Family<'_>, series: &Series<'_>, out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
        // Build the line aside: it is dropped when it ends up without a field.
        let mut fields: alloc::vec::Vec<(String, f64)> = alloc::vec::Vec::new();
        match family.kind {
            MetricKind::Counter | MetricKind::Gauge => fields.push(("value".into(), series.value())),
            MetricKind::Histogram => {
                fields.push(("count".into(), series.count() as f64));
                fields.push(("sum".into(), series.sum()));
                for (bound, cumulative) in series.buckets() {
                    let key = if bound.is_infinite() { String::from("+Inf") } else { format!("{bound}") };
                    fields.push((key, cumulative as f64));
                }
            }
            MetricKind::Summary => {
                fields.push(("count".into(), series.count() as f64));
                fields.push(("sum".into(), series.sum()));
                for (quantile, value) in series.quantiles() {
                    fields.push((format!("{quantile}"), value));
                }
            }
        }
        if !fields.iter().any(|(_, v)| v.is_finite()) {
            return Ok(());
        }
        out.escaped(family.name, MEASUREMENT_ESCAPES);
        for (key, value) in series.labels().filter(|(_, v)| !v.is_empty()) {
            out.byte(b',').escaped(key, KEY_ESCAPES).byte(b'=').escaped(value, KEY_ESCAPES);
        }
        for (key, value) in &self.external_tags {
            if !series.labels().any(|(k, _)| k == key) {
                out.byte(b',').escaped(key, KEY_ESCAPES).byte(b'=').escaped(value, KEY_ESCAPES);
            }
        }
        let mut first = true;
        for (key, value) in &fields {
            Self::field(out, &mut first, key, *value);
        }
        out.byte(b' ').str(&format!("{}", self.timestamp)).byte(b'\n');
        Ok(())
    }
}

impl Renderer for Influx {
    const FORMATS: &'static [Format] = &[
        Format { name: "influx", content_type: "text/plain; charset=utf-8", description: "InfluxDB line protocol" },
        Format {
            name: "influx-push",
            content_type: "text/plain; charset=utf-8; encoding=delimited",
            description: "InfluxDB line protocol in push requests (protocol = \"http\")",
        },
    ];

    fn configure(settings: &[(String, String)]) -> Result<(), String> {
        for (key, value) in settings {
            match key.as_str() {
                "precision" if scale(value).is_some() => {}
                "precision" => return Err(format!("precision {value:?}: use ns, us, ms or s")),
                other => return Err(format!("unknown setting {other:?} (known: precision)")),
            }
        }
        Ok(())
    }

    fn render(input: Input<'_>, format: &str, sink: &mut dyn Sink) -> Result<(), RenderError> {
        let precision = input.settings.iter().find(|(k, _)| k == "precision").map(|(_, v)| v.as_str()).unwrap_or("ns");
        let (multiply, divide) = scale(precision).unwrap_or((1_000_000, 1));
        let timestamp = input.timestamp_ms.saturating_mul(multiply) / divide;
        if format != "influx-push" {
            return render_series(input.families, input.batches, &mut Influx { timestamp, external_tags: alloc::vec::Vec::new() }, sink);
        }
        // A push: the host's `max_samples_per_request` lines per request,
        // and its external labels as tags.
        let max_lines =
            input.settings.iter().find(|(k, _)| k == "max_samples_per_request").and_then(|(_, v)| v.parse().ok()).unwrap_or(5000);
        let external_tags = input
            .settings
            .iter()
            .filter_map(|(k, v)| Some((String::from(k.strip_prefix("external_label.")?), v.clone())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let mut requests = LineRequests::new(sink, max_lines);
        render_series(input.families, input.batches, &mut Influx { timestamp, external_tags }, &mut requests)?;
        if requests.finish() {
            Ok(())
        } else {
            Err(RenderError::OutputClosed)
        }
    }
}

export_renderer!(Influx);
