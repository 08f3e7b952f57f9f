//! Snapshot -> what a renderer reads (`wit/v0.3.0/renderer.wit`): the families up
//! front ([`SnapshotArg`]), then the series in batches ([`SeriesBatch`])
//! that carry their label values inline.
//!
//! A batch holds at most [`MAX_BATCH_SERIES`] series and about
//! [`MAX_BATCH_LABEL_BYTES`] of label text, so a renderer's memory holds one
//! batch at a time, whatever the size of the snapshot. The same batches feed
//! the formatting code linked natively ([`Snapshot::render_native`]), so
//! benchmarks compare the same work inside and outside the sandbox.
use crate::name_escaping::NameEscaping;
use crate::registry::MetricKind;
use crate::snapshot::{FamilySnapshot, Snapshot};
use metrics_render_core as core_render;

/// Series per batch, at most.
pub const MAX_BATCH_SERIES: usize = 4096;
/// A batch stops growing once its label text passes this many bytes.
pub const MAX_BATCH_LABEL_BYTES: usize = 256 * 1024;

/// The contract's records, as generated from `wit/v0.3.0/renderer.wit`. The batch
/// lowers with the same derived code a hand-written mirror would use, so the
/// hot path costs the same (see `make bench`).
pub use super::wit::latest::metrics::renderer::types::{
    BucketSpan as BucketSpanArg, Family as FamilyArg, MetricKind as MetricKindArg, NativeBuckets as NativeBucketsArg, SeriesBatch,
    Snapshot as SnapshotArg,
};

impl From<MetricKind> for MetricKindArg {
    fn from(kind: MetricKind) -> Self {
        match kind {
            MetricKind::Counter => MetricKindArg::Counter,
            MetricKind::Gauge => MetricKindArg::Gauge,
            MetricKind::Histogram => MetricKindArg::Histogram,
            MetricKind::Summary => MetricKindArg::Summary,
        }
    }
}

fn spans_arg(spans: &[core_render::BucketSpan]) -> Vec<BucketSpanArg> {
    spans.iter().map(|s| BucketSpanArg { offset: s.offset, length: s.length }).collect()
}

fn spans_core(spans: &[BucketSpanArg]) -> Vec<core_render::BucketSpan> {
    spans.iter().map(|s| core_render::BucketSpan { offset: s.offset, length: s.length }).collect()
}

impl From<&core_render::NativeBuckets> for NativeBucketsArg {
    fn from(n: &core_render::NativeBuckets) -> Self {
        NativeBucketsArg {
            schema: n.schema,
            zero_threshold: n.zero_threshold,
            zero_count: n.zero_count,
            positive_spans: spans_arg(&n.positive_spans),
            positive_deltas: n.positive_deltas.clone(),
            negative_spans: spans_arg(&n.negative_spans),
            negative_deltas: n.negative_deltas.clone(),
        }
    }
}

impl From<&NativeBucketsArg> for core_render::NativeBuckets {
    fn from(n: &NativeBucketsArg) -> Self {
        core_render::NativeBuckets {
            schema: n.schema,
            zero_threshold: n.zero_threshold,
            zero_count: n.zero_count,
            positive_spans: spans_core(&n.positive_spans),
            positive_deltas: n.positive_deltas.clone(),
            negative_spans: spans_core(&n.negative_spans),
            negative_deltas: n.negative_deltas.clone(),
        }
    }
}

/// A family's contract fields, from the snapshot, with the names as the
/// render writes them.
struct FamilyView<'a> {
    name: String,
    help: Option<&'a str>,
    label_names: Vec<std::borrow::Cow<'a, str>>,
    series: u32,
    bounds: &'a [f64],
    quantiles: &'a [f64],
    native: bool,
}

impl SeriesBatch {
    /// Borrowed view for the native formatting code; `native` holds the
    /// batch's native buckets converted (see [`SeriesBatch::native_view`]).
    pub fn view<'a>(&'a self, native: &'a [core_render::NativeBuckets]) -> core_render::SeriesBatch<'a> {
        core_render::SeriesBatch {
            family: self.family,
            label_text: &self.label_text,
            label_ends: &self.label_ends,
            values: &self.values,
            bucket_counts: &self.bucket_counts,
            sums: &self.sums,
            counts: &self.counts,
            quantile_values: &self.quantile_values,
            native,
            created_ms: &self.created_ms,
        }
    }

    /// The native buckets in the formatting code's types.
    pub fn native_view(&self) -> Vec<core_render::NativeBuckets> {
        self.native.iter().map(Into::into).collect()
    }
}

/// Where the next batch of a snapshot starts.
#[derive(Debug, Clone, Default)]
pub struct BatchCursor {
    family: usize,
    series: usize,
    /// The last batch handed out: (family index, first series, end).
    last: Option<(usize, usize, usize)>,
    /// For a contract version that cannot express some families: the
    /// index each family has among the shown ones, `None` when hidden.
    shown_index: Option<Vec<Option<u32>>>,
}

impl BatchCursor {
    /// A cursor that skips the families `hide` says yes to and numbers
    /// the others among themselves.
    pub fn hiding(snapshot: &Snapshot, hide: impl Fn(&FamilySnapshot) -> bool) -> Self {
        let mut shown = 0u32;
        let shown_index = snapshot
            .families
            .iter()
            .map(|f| {
                (!hide(f)).then(|| {
                    shown += 1;
                    shown - 1
                })
            })
            .collect();
        BatchCursor { shown_index: Some(shown_index), ..BatchCursor::default() }
    }

    fn shown(&self, family: usize) -> Option<u32> {
        match &self.shown_index {
            Some(index) => index[family],
            None => Some(family as u32),
        }
    }

    /// The next batch of `snapshot`, or None once every series was read.
    pub fn next(&mut self, snapshot: &Snapshot) -> Option<SeriesBatch> {
        let families = &snapshot.families;
        while self.family < families.len() && (self.series >= families[self.family].series.len() || self.shown(self.family).is_none()) {
            self.family += 1;
            self.series = 0;
        }
        let family = families.get(self.family)?;
        let tables = &snapshot.tables;
        let start = self.series;
        let mut end = start;
        let mut batch = SeriesBatch {
            family: self.shown(self.family).unwrap_or_default(),
            label_text: String::new(),
            label_ends: Vec::new(),
            values: Vec::new(),
            bucket_counts: Vec::new(),
            sums: Vec::new(),
            counts: Vec::new(),
            quantile_values: Vec::new(),
            native: Vec::new(),
            created_ms: Vec::new(),
        };
        let limit = family.series.len().min(start + MAX_BATCH_SERIES);
        batch.label_ends.reserve((limit - start) * family.label_names.len());
        while end < limit && batch.label_text.len() < MAX_BATCH_LABEL_BYTES {
            for &value in tables.label_values_of(family.series[end]) {
                batch.label_text.push_str(tables.string(value as usize));
                batch.label_ends.push(batch.label_text.len() as u32);
            }
            end += 1;
        }
        match (&family.histogram, &family.summary) {
            (Some(h), _) => {
                let buckets = h.bounds.len();
                batch.bucket_counts = h.bucket_counts[start * buckets..end * buckets].to_vec();
                batch.sums = h.sums[start..end].to_vec();
                batch.counts = h.counts[start..end].to_vec();
                if h.is_native {
                    batch.native = h.native[start..end].iter().map(Into::into).collect();
                }
            }
            (None, Some(summary)) => {
                let quantiles = summary.quantiles.len();
                batch.quantile_values = summary.values[start * quantiles..end * quantiles].to_vec();
                batch.sums = summary.sums[start..end].to_vec();
                batch.counts = summary.counts[start..end].to_vec();
            }
            (None, None) => batch.values = family.values[start..end].to_vec(),
        }
        if !family.created_ms.is_empty() {
            batch.created_ms = family.created_ms[start..end].to_vec();
        }
        self.series = end;
        self.last = Some((self.family, start, end));
        Some(batch)
    }

    /// The last batch handed out, for a report of where a render was:
    /// `family "NAME", series FIRST to END (batch N)`.
    pub fn last_batch(&self, snapshot: &Snapshot) -> Option<String> {
        let (family, start, end) = self.last?;
        let name = snapshot.tables.string(snapshot.families.get(family)?.name as usize);
        Some(format!("reading family {name:?}, series {start} to {end} of the last batch handed out"))
    }
}

/// How a render writes names: the prefix is put in front of every family
/// name and the whole name escaped with the scheme, so a renderer gets the
/// final names (and an empty prefix).
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderNames<'a> {
    /// Put in front of every family name.
    pub prefix: &'a str,
    /// How names outside the legacy syntax are written.
    pub escaping: NameEscaping,
    /// Options this render adds to the plugin's settings (a push's
    /// `max_samples_per_request`, `external_label.NAME`); they win over a
    /// setting of the same key.
    pub settings: &'a [(String, String)],
}

fn family_view<'a>(snapshot: &'a Snapshot, family: &'a FamilySnapshot, names: RenderNames<'_>) -> FamilyView<'a> {
    let string = |id: u32| snapshot.tables.string(id as usize);
    let name = [names.prefix, string(family.name)].concat();
    FamilyView {
        name: names.escaping.metric_name(&name).into_owned(),
        help: family.help.map(string),
        label_names: family.label_names.iter().map(|&l| names.escaping.label_name(string(l))).collect(),
        series: family.series.len() as u32,
        bounds: family.histogram.as_ref().map(|h| h.bounds.as_slice()).unwrap_or(&[]),
        quantiles: family.summary.as_ref().map(|s| s.quantiles.as_slice()).unwrap_or(&[]),
        native: family.histogram.as_ref().is_some_and(|h| h.is_native),
    }
}

/// Feeds the native formatting code.
struct NativeSource<'s> {
    snapshot: &'s Snapshot,
    cursor: BatchCursor,
}

impl core_render::BatchSource for NativeSource<'_> {
    fn next_batch(
        &mut self,
        f: &mut dyn FnMut(&core_render::SeriesBatch<'_>) -> Result<(), core_render::RenderError>,
    ) -> Result<bool, core_render::RenderError> {
        match self.cursor.next(self.snapshot) {
            Some(batch) => f(&batch.view(&batch.native_view())).map(|()| true),
            None => Ok(false),
        }
    }
}

impl Snapshot {
    /// The `snapshot` argument of `render` (per family, not per series),
    /// with the names as `names` says.
    pub fn arg(&self, names: RenderNames<'_>) -> SnapshotArg {
        let families = self
            .families
            .iter()
            .map(|f| {
                let view = family_view(self, f, names);
                FamilyArg {
                    name: view.name,
                    help: view.help.map(str::to_string),
                    kind: f.kind.into(),
                    label_names: view.label_names.iter().map(|l| l.to_string()).collect(),
                    series: view.series,
                    bounds: view.bounds.to_vec(),
                    native: view.native,
                    quantiles: view.quantiles.to_vec(),
                }
            })
            .collect();
        SnapshotArg { families, timestamp_ms: self.timestamp_ms }
    }

    /// Renders with the formatting code linked natively (benchmarks, tests),
    /// through the same batches a renderer component reads.
    pub fn render_native(
        &self,
        format: &str,
        names: RenderNames<'_>,
        sink: &mut dyn core_render::Sink,
    ) -> Result<(), core_render::RenderError> {
        let views: Vec<FamilyView<'_>> = self.families.iter().map(|f| family_view(self, f, names)).collect();
        let families: Vec<core_render::Family<'_>> = self
            .families
            .iter()
            .zip(&views)
            .map(|(f, arg)| core_render::Family {
                name: &arg.name,
                help: arg.help,
                kind: f.kind,
                label_names: arg.label_names.iter().map(|l| l.as_ref()).collect(),
                series: arg.series,
                bounds: arg.bounds,
                native: arg.native,
                quantiles: arg.quantiles,
            })
            .collect();
        let mut source = NativeSource { snapshot: self, cursor: BatchCursor::default() };
        // The push options, read as the built-in component reads them.
        let push = core_render::PushOptions::of(names.settings)?;
        let options = core_render::RenderOptions {
            timestamp_ms: self.timestamp_ms,
            max_samples: push.max_samples,
            external_labels: &push.external_labels,
            prefix: "",
        };
        core_render::render(&families, &mut source, format, options, sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    #[test]
    fn batches_cover_every_series_once_in_order_with_inline_labels() {
        let registry = Registry::new();
        let empty = registry.gauge_family("empty", "no series", &["x"]).unwrap();
        let queues = registry.gauge_family("queued", "per queue", &["queue", "tenant"]).unwrap();
        let n = MAX_BATCH_SERIES * 2 + 5;
        for i in 0..n {
            queues.with_label_values(&[&format!("q{i}"), "t"]).unwrap().set(i as f64);
        }
        let _ = empty;
        let snapshot = registry.snapshot();
        let mut cursor = BatchCursor::default();
        let mut seen = 0;
        let mut batches = 0;
        while let Some(batch) = cursor.next(&snapshot) {
            batches += 1;
            assert_eq!(batch.family, 1, "the empty family has no batches");
            assert_eq!(batch.label_ends.len(), batch.values.len() * 2);
            for (i, &value) in batch.values.iter().enumerate() {
                assert_eq!(value, seen as f64);
                let start = if i == 0 { 0 } else { batch.label_ends[2 * i - 1] as usize };
                assert_eq!(&batch.label_text[start..batch.label_ends[2 * i] as usize], format!("q{seen}"));
                assert_eq!(&batch.label_text[batch.label_ends[2 * i] as usize..batch.label_ends[2 * i + 1] as usize], "t");
                seen += 1;
            }
        }
        assert_eq!((seen, batches), (n, 3));
        assert!(cursor.next(&snapshot).is_none());
    }

    #[test]
    fn a_batch_stops_growing_at_the_label_byte_limit() {
        let registry = Registry::new();
        let long = registry.counter_family("long_labels", "big label values", &["v"]).unwrap();
        let value = "x".repeat(100_000);
        for i in 0..10 {
            long.with_label_values(&[&format!("{i}{value}")]).unwrap().inc();
        }
        let snapshot = registry.snapshot();
        let first = BatchCursor::default().next(&snapshot).unwrap();
        assert_eq!(first.values.len(), 3, "three values of 100 kB pass 256 KiB");
    }
}
