//! The default renderer's formatting code, independent of the sandbox.
//!
//! `render` takes the families of a snapshot (as `wit/renderer.wit` hands
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
mod line;
mod metrics_json;
mod names;
mod number;
mod openmetrics_text;
mod output;
mod prometheus_text;
mod protobuf;
mod sample_line;
mod series_api;
mod snapshot;

pub use error::RenderError;
pub use names::{is_valid_label_name, is_valid_metric_name};
pub use output::{Sink, DEFAULT_CHUNK_BYTES};
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

/// Every format this crate renders.
pub const FORMATS: [FormatInfo; 4] = [PROMETHEUS, JSON, OPENMETRICS, PROTOBUF];

/// Options of one render call.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// Prepended to every family name.
    pub prefix: &'a str,
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
        other => return Err(RenderError::UnknownFormat(other.into())),
    }
    out.finish()
}
