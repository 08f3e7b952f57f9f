//! The default renderer's formatting code, independent of the sandbox.
//!
//! `render` takes the families of a snapshot (as `wit/v0.3.0/renderer.wit` hands
//! them to a renderer), a [`BatchSource`] that delivers their series batch
//! by batch, a format name and options, and streams bytes into a [`Sink`]. The wasm component in `guest-renderer/component` wraps this crate;
//! the host links it natively so benchmarks compare the same code inside and
//! outside the sandbox.
#![no_std]

extern crate alloc;

mod batch_driver;
mod error;
mod escape;
mod fast_copy;
mod html;
mod line;
mod line_requests;
mod metrics_json;
mod names;
mod number;
mod openmetrics_text;
mod otlp;
mod output;
mod prometheus_text;
mod proto_wire;
mod protobuf;
mod remote_write;
mod sample_line;
mod series_api;
mod snapshot;

pub use error::RenderError;
pub use html::FILTER_SCRIPT as HTML_FILTER_SCRIPT;
pub use line_requests::LineRequests;
pub use names::{is_valid_label_name, is_valid_metric_name};
pub use output::{Sink, DEFAULT_CHUNK_BYTES};
pub use remote_write::STALE_NAN_BITS;
pub use series_api::{render_series, Series, SeriesFormatter, Writer};
pub use snapshot::{BatchSource, BucketSpan, Family, MetricKind, NativeBuckets, SeriesBatch, NATIVE_SCHEMAS};

/// A format this crate can render.
#[derive(Debug, Clone, Copy)]
pub struct FormatInfo {
    /// Name used in `?format=`.
    pub name: &'static str,
    /// HTTP `Content-Type` of the output.
    pub content_type: &'static str,
    /// One line for humans.
    pub description: &'static str,
}

/// Prometheus text exposition format 0.0.4.
pub const PROMETHEUS: FormatInfo = FormatInfo {
    name: "prometheus",
    content_type: "text/plain; version=0.0.4; charset=utf-8",
    description: "Prometheus text exposition format 0.0.4",
};

/// KumoMTA's metrics.json shape.
pub const JSON: FormatInfo = FormatInfo {
    name: "json",
    content_type: "application/json",
    description: "metrics.json: one object keyed by family name (KumoMTA's shape)",
};

/// OpenMetrics 1.0 text. Its content type declares `escaping=allow-utf-8`:
/// it writes names outside the legacy syntax quoted, so a host may hand it
/// UTF-8 names (and states the escaping it used in the response).
pub const OPENMETRICS: FormatInfo = FormatInfo {
    name: "openmetrics",
    content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
    description: "OpenMetrics 1.0 text exposition format",
};

/// Prometheus' protobuf exposition (delimited `MetricFamily` messages):
/// native histograms and creation timestamps. Names may be UTF-8 (no
/// quoting needed), so it declares `escaping=allow-utf-8` like OpenMetrics.
pub const PROTOBUF: FormatInfo = FormatInfo {
    name: "protobuf",
    content_type: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8",
    description: "Prometheus protobuf exposition (delimited MetricFamily), with native histograms",
};

/// Prometheus remote write 1.0 (`prometheus.WriteRequest`), for pushing:
/// delimited messages, each the body of one request within
/// `max_samples_per_request` samples (see `remote_write.rs`).
pub const REMOTE_WRITE_1: FormatInfo = FormatInfo {
    name: "remote-write-1",
    content_type: "application/x-protobuf; proto=prometheus.WriteRequest; encoding=delimited",
    description: "Prometheus remote write 1.0 requests (delimited WriteRequest), for push",
};

/// Prometheus remote write 2.0 (`io.prometheus.write.v2.Request`), for
/// pushing: like [`REMOTE_WRITE_1`], with a symbols table, per-series
/// metadata and creation times.
pub const REMOTE_WRITE_2: FormatInfo = FormatInfo {
    name: "remote-write-2",
    content_type: "application/x-protobuf; proto=io.prometheus.write.v2.Request; encoding=delimited",
    description: "Prometheus remote write 2.0 requests (delimited io.prometheus.write.v2.Request), for push",
};

/// OpenTelemetry's OTLP metrics (`ExportMetricsServiceRequest`), for
/// pushing: delimited messages, each the body of one request within
/// `max_samples_per_request` data points (see `otlp.rs`).
pub const OTLP: FormatInfo = FormatInfo {
    name: "otlp",
    content_type: "application/x-protobuf; proto=opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest; encoding=delimited",
    description: "OpenTelemetry OTLP metrics requests (delimited ExportMetricsServiceRequest), for push",
};

/// A page for browsers: each family's series as a table, histograms as
/// small bar charts, a filter box; every value escaped, at most 20,000
/// rows (see `html.rs`).
pub const HTML: FormatInfo = FormatInfo {
    name: "html",
    content_type: "text/html; charset=utf-8",
    description: "a page for browsers: families, series tables, histogram charts, a filter box",
};

/// Every format this crate renders.
pub const FORMATS: [FormatInfo; 8] = [PROMETHEUS, JSON, OPENMETRICS, PROTOBUF, REMOTE_WRITE_1, REMOTE_WRITE_2, OTLP, HTML];

/// Options of one render call.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// Prepended to every family name.
    pub prefix: &'a str,
    /// When the snapshot was taken (ms since the epoch): the samples' time
    /// in push formats.
    pub timestamp_ms: i64,
    /// Push formats: samples per request (0: the format's default).
    pub max_samples: usize,
    /// Push formats: labels added to every series that lacks them, sorted
    /// by name.
    pub external_labels: &'a [(&'a str, &'a str)],
}

/// The push options among a render's settings (a host adds them to a
/// push's render).
#[derive(Debug, Default)]
pub struct PushOptions<'a> {
    /// `max_samples_per_request` (0 when absent).
    pub max_samples: usize,
    /// `external_label.NAME` = value, sorted by name.
    pub external_labels: alloc::vec::Vec<(&'a str, &'a str)>,
}

impl<'a> PushOptions<'a> {
    /// Reads them from `settings` (other keys are left alone).
    pub fn of(settings: &'a [(alloc::string::String, alloc::string::String)]) -> Result<Self, RenderError> {
        let mut options = PushOptions::default();
        for (key, value) in settings {
            if let Some(label) = key.strip_prefix("external_label.") {
                options.external_labels.push((label, value.as_str()));
            } else if key == "max_samples_per_request" {
                options.max_samples = value
                    .parse()
                    .map_err(|_| RenderError::InvalidOption(alloc::format!("max_samples_per_request = {value:?} is not a count")))?;
            }
        }
        options.external_labels.sort_unstable();
        Ok(options)
    }
}

/// Renders `families`, whose series `source` delivers, in `format` into
/// `sink`, in chunks of about [`DEFAULT_CHUNK_BYTES`].
pub fn render(
    families: &[Family<'_>],
    source: &mut dyn BatchSource,
    format: &str,
    options: RenderOptions<'_>,
    sink: &mut dyn Sink,
) -> Result<(), RenderError> {
    if !options.prefix.is_empty() && !is_valid_metric_name(options.prefix) {
        return Err(RenderError::InvalidOption(alloc::format!(
            "prefix {:?} is not a valid metric name start ([a-zA-Z_:][a-zA-Z0-9_:]*)",
            options.prefix
        )));
    }
    snapshot::validate_families(families)?;
    let mut out = output::Out::new(sink, DEFAULT_CHUNK_BYTES);
    let prefix = options.prefix;
    match format {
        "prometheus" => batch_driver::drive(families, source, &mut prometheus_text::PrometheusText::new(prefix), &mut out)?,
        "json" => batch_driver::drive(families, source, &mut metrics_json::MetricsJson::new(prefix), &mut out)?,
        "openmetrics" => batch_driver::drive(families, source, &mut openmetrics_text::OpenMetricsText::new(prefix), &mut out)?,
        "protobuf" => batch_driver::drive(families, source, &mut protobuf::ProtobufDelimited::new(prefix), &mut out)?,
        "remote-write-1" | "remote-write-2" => {
            let version = if format == "remote-write-1" { remote_write::Version::V1 } else { remote_write::Version::V2 };
            let max_samples = if options.max_samples == 0 { remote_write::DEFAULT_MAX_SAMPLES } else { options.max_samples };
            let mut encoder = remote_write::RemoteWrite::new(version, prefix, options.timestamp_ms, max_samples, options.external_labels);
            batch_driver::drive(families, source, &mut encoder, &mut out)?
        }
        "html" => batch_driver::drive(families, source, &mut html::Html::new(prefix), &mut out)?,
        "otlp" => {
            let max_points = if options.max_samples == 0 { otlp::DEFAULT_MAX_POINTS } else { options.max_samples };
            let mut encoder = otlp::Otlp::new(prefix, options.timestamp_ms, max_points, options.external_labels);
            batch_driver::drive(families, source, &mut encoder, &mut out)?
        }
        other => return Err(RenderError::UnknownFormat(other.into())),
    }
    out.finish()
}
