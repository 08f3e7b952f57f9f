//! The component side of the contract, used by [`crate::export_renderer!`]:
//! the host's `input.next-batch` as a [`BatchSource`], its `output.write`
//! as a [`Sink`], and the exports adapted to a [`Renderer`].
use crate::bindings::exports::metrics::renderer::renderer::{FormatInfo, RenderError as RenderErrorWit, RenderOptions, Snapshot};
use crate::bindings::metrics::renderer::types::{self, MetricKind as MetricKindWit};
use crate::{BatchSource, Family, Input, MetricKind, RenderError, Renderer, Sink};
pub use alloc::string::String;
use alloc::string::ToString;
pub use alloc::vec::Vec;
use metrics_render_core as core_render;

/// Hands chunks to the host's `output.write`.
pub struct HostOutput;

impl Sink for HostOutput {
    fn write(&mut self, chunk: &[u8]) -> bool {
        crate::bindings::metrics::renderer::output::write(chunk)
    }
}

/// Pulls batches from the host's `input.next-batch`. Each batch is owned
/// here and freed before the next is read, so guest memory holds one batch.
pub struct HostInput;

/// The contract's native buckets as the formatting code takes them.
fn native_buckets(native: types::NativeBuckets) -> core_render::NativeBuckets {
    let spans =
        |spans: Vec<types::BucketSpan>| spans.into_iter().map(|s| core_render::BucketSpan { offset: s.offset, length: s.length }).collect();
    core_render::NativeBuckets {
        schema: native.schema,
        zero_threshold: native.zero_threshold,
        zero_count: native.zero_count,
        positive_spans: spans(native.positive_spans),
        positive_deltas: native.positive_deltas,
        negative_spans: spans(native.negative_spans),
        negative_deltas: native.negative_deltas,
    }
}

impl BatchSource for HostInput {
    fn next_batch(&mut self, f: &mut dyn FnMut(&core_render::SeriesBatch<'_>) -> Result<(), RenderError>) -> Result<bool, RenderError> {
        let Some(batch) = crate::bindings::metrics::renderer::input::next_batch() else {
            return Ok(false);
        };
        let native: Vec<core_render::NativeBuckets> = batch.native.into_iter().map(native_buckets).collect();
        f(&core_render::SeriesBatch {
            family: batch.family,
            label_text: &batch.label_text,
            label_ends: &batch.label_ends,
            values: &batch.values,
            bucket_counts: &batch.bucket_counts,
            sums: &batch.sums,
            counts: &batch.counts,
            quantile_values: &batch.quantile_values,
            native: &native,
            created_ms: &batch.created_ms,
        })?;
        Ok(true)
    }
}

/// `formats()`.
pub fn formats<R: Renderer>() -> Vec<FormatInfo> {
    R::FORMATS
        .iter()
        .map(|f| FormatInfo { name: f.name.to_string(), content_type: f.content_type.to_string(), description: f.description.to_string() })
        .collect()
}

/// `render(snapshot, format, options)`: the families with `options.prefix`
/// in front of their names (this host passes it empty, having done so).
pub fn render<R: Renderer>(snapshot: Snapshot, format: String, options: RenderOptions) -> Result<(), RenderErrorWit> {
    if !R::FORMATS.iter().any(|f| f.name == format) {
        return Err(RenderErrorWit::UnknownFormat(format));
    }
    let names: Vec<String> = snapshot.families.iter().map(|f| [options.prefix.as_str(), f.name.as_str()].concat()).collect();
    let families: Vec<Family<'_>> = snapshot
        .families
        .iter()
        .zip(&names)
        .map(|(f, name)| Family {
            name,
            help: f.help.as_deref(),
            kind: match f.kind {
                MetricKindWit::Counter => MetricKind::Counter,
                MetricKindWit::Gauge => MetricKind::Gauge,
                MetricKindWit::Histogram => MetricKind::Histogram,
                MetricKindWit::Summary => MetricKind::Summary,
            },
            label_names: f.label_names.iter().map(String::as_str).collect(),
            series: f.series,
            bounds: &f.bounds,
            native: f.native,
            quantiles: &f.quantiles,
        })
        .collect();
    let input = Input { families: &families, batches: &mut HostInput, timestamp_ms: snapshot.timestamp_ms, settings: &options.settings };
    R::render(input, &format, &mut HostOutput).map_err(|e| match e {
        RenderError::UnknownFormat(name) => RenderErrorWit::UnknownFormat(name),
        RenderError::InvalidOption(why) => RenderErrorWit::InvalidOption(why),
        RenderError::OutputClosed => RenderErrorWit::OutputClosed,
        RenderError::Failed(why) => RenderErrorWit::Failed(why),
    })
}
