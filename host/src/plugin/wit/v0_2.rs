//! Bindings for contract `metrics:renderer@0.2.0`, generated from the
//! released `wit/v0.2.0/renderer.wit`, and the adapters from the newest
//! contract's types to it: what a 0.2.0 plugin cannot express is left out.
//!
//! - Summary families do not exist in 0.2.0: they are not in the snapshot
//!   and their series are not in the batches (the other families are
//!   numbered among themselves, see [`carries`]).
//! - Native buckets and creation times are dropped; a native histogram
//!   without classic bounds is a histogram with only its `+Inf` bucket.
// Generated from the WIT file, whose comments document it.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "wit/v0.2.0",
        world: "renderer-plugin",
        imports: {
            // A batch past the call cap traps the guest.
            default: trappable,
        },
        exports: { default: async },
    });
}
pub use generated::*;

use self::metrics::renderer::types;
use super::latest::metrics::renderer::types as latest;

/// The package version these bindings speak.
pub const VERSION: &str = "0.2.0";

use crate::plugin::call::RenderState;

impl types::Host for RenderState {}

/// `metrics:renderer/input@0.2.0#next-batch`: the same batches, adapted.
impl metrics::renderer::input::Host for RenderState {
    fn next_batch(&mut self) -> wasmtime::Result<Option<types::SeriesBatch>> {
        Ok(self.next_series_batch()?.map(Into::into))
    }
}

/// Whether a family of `kind` is shown to a 0.2.0 plugin.
pub fn carries(kind: crate::registry::MetricKind) -> bool {
    kind != crate::registry::MetricKind::Summary
}

fn kind(kind: latest::MetricKind) -> Option<types::MetricKind> {
    match kind {
        latest::MetricKind::Counter => Some(types::MetricKind::Counter),
        latest::MetricKind::Gauge => Some(types::MetricKind::Gauge),
        latest::MetricKind::Histogram => Some(types::MetricKind::Histogram),
        latest::MetricKind::Summary => None,
    }
}

impl From<&latest::Snapshot> for types::Snapshot {
    fn from(snapshot: &latest::Snapshot) -> Self {
        let families = snapshot
            .families
            .iter()
            .filter_map(|f| {
                Some(types::Family {
                    name: f.name.clone(),
                    help: f.help.clone(),
                    kind: kind(f.kind)?,
                    label_names: f.label_names.clone(),
                    series: f.series,
                    bounds: f.bounds.clone(),
                })
            })
            .collect();
        types::Snapshot { families, timestamp_ms: snapshot.timestamp_ms }
    }
}

impl From<latest::SeriesBatch> for types::SeriesBatch {
    fn from(batch: latest::SeriesBatch) -> Self {
        types::SeriesBatch {
            family: batch.family,
            label_text: batch.label_text,
            label_ends: batch.label_ends,
            values: batch.values,
            bucket_counts: batch.bucket_counts,
            sums: batch.sums,
            counts: batch.counts,
        }
    }
}

impl From<latest::RenderOptions> for types::RenderOptions {
    fn from(options: latest::RenderOptions) -> Self {
        types::RenderOptions { prefix: options.prefix }
    }
}

impl From<types::RenderError> for latest::RenderError {
    fn from(error: types::RenderError) -> Self {
        match error {
            types::RenderError::UnknownFormat(name) => latest::RenderError::UnknownFormat(name),
            types::RenderError::InvalidOption(why) => latest::RenderError::InvalidOption(why),
            types::RenderError::OutputClosed => latest::RenderError::OutputClosed,
            types::RenderError::Failed(why) => latest::RenderError::Failed(why),
        }
    }
}

impl From<exports::metrics::renderer::renderer::FormatInfo> for super::latest::exports::metrics::renderer::renderer::FormatInfo {
    fn from(info: exports::metrics::renderer::renderer::FormatInfo) -> Self {
        Self { name: info.name, content_type: info.content_type, description: info.description }
    }
}
