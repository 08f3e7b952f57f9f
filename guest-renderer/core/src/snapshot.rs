//! Borrowed views of what `wit/v0.3.0/renderer.wit` hands a renderer: the
//! families of a snapshot (up front) and batches of their series (pulled one
//! at a time from a [`BatchSource`]), with the checks every formatter relies on.
use crate::RenderError;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What a family measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl MetricKind {
    /// The name used by both Prometheus text and metrics.json.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
        }
    }

    /// Whether series of this kind may carry a creation time.
    pub fn has_created(self) -> bool {
        !matches!(self, MetricKind::Gauge)
    }
}

/// A run of consecutive native buckets (`bucket-span`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketSpan {
    /// Gap to the previous span's end (for the first span: the index of its first bucket).
    pub offset: i32,
    pub length: u32,
}

/// The native (exponential) buckets of one histogram series (`native-buckets`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NativeBuckets {
    /// Resolution, -4 to 8: bucket `i` holds `(base^(i-1), base^i]`, `base = 2^(2^-schema)`.
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: u64,
    pub positive_spans: Vec<BucketSpan>,
    /// Bucket counts as differences to the previous bucket (the first as is).
    pub positive_deltas: Vec<i64>,
    pub negative_spans: Vec<BucketSpan>,
    pub negative_deltas: Vec<i64>,
}

/// The lowest and highest schema Prometheus accepts.
pub const NATIVE_SCHEMAS: core::ops::RangeInclusive<i32> = -4..=8;

impl NativeBuckets {
    /// Checks the layout: schema in range, a finite non-negative zero
    /// threshold, spans that cover exactly the deltas, later spans not
    /// going backwards, and counts that never go negative; returns the sum
    /// of every bucket count and the zero count.
    pub fn check(&self) -> Result<u64, String> {
        if !NATIVE_SCHEMAS.contains(&self.schema) {
            return Err(format!("native schema {} is outside -4..=8", self.schema));
        }
        if !(self.zero_threshold >= 0.0 && self.zero_threshold.is_finite()) {
            return Err(format!("native zero threshold {} is not a finite non-negative number", self.zero_threshold));
        }
        let mut total = self.zero_count;
        for (spans, deltas) in [(&self.positive_spans, &self.positive_deltas), (&self.negative_spans, &self.negative_deltas)] {
            let covered: u64 = spans.iter().map(|s| s.length as u64).sum();
            if covered != deltas.len() as u64 {
                return Err(format!("native spans cover {covered} buckets but {} deltas were given", deltas.len()));
            }
            if spans.iter().skip(1).any(|s| s.offset < 0) {
                return Err("a native span after the first has a negative offset".into());
            }
            let mut count: i64 = 0;
            for &delta in deltas {
                count = count
                    .checked_add(delta)
                    .filter(|c| *c >= 0)
                    .ok_or_else(|| String::from("native bucket counts go negative or overflow"))?;
                total = total.saturating_add(count as u64);
            }
        }
        Ok(total)
    }
}

/// One family, without its series.
#[derive(Debug, Clone)]
pub struct Family<'a> {
    pub name: &'a str,
    pub help: Option<&'a str>,
    pub kind: MetricKind,
    /// Label names of every series, in order.
    pub label_names: Vec<&'a str>,
    /// Number of series the batches deliver for this family.
    pub series: u32,
    /// Histograms: finite classic bucket bounds, strictly ascending; else empty.
    pub bounds: &'a [f64],
    /// Histograms: every series also has native buckets.
    pub native: bool,
    /// Summaries: the quantiles, strictly ascending in [0, 1]; else empty.
    pub quantiles: &'a [f64],
}

/// A run of consecutive series of one family, as `series-batch` lays it out.
#[derive(Debug, Clone, Copy)]
pub struct SeriesBatch<'a> {
    /// Index into the families.
    pub family: u32,
    /// Label values, concatenated: label `j` of series `i` is value `i * labels + j`.
    pub label_text: &'a str,
    /// End offset of each label value in `label_text`.
    pub label_ends: &'a [u32],
    /// Counters and gauges: one value per series.
    pub values: &'a [f64],
    /// Histograms: cumulative bucket counts, `bounds` per series.
    pub bucket_counts: &'a [u64],
    /// Histograms: one sum per series.
    pub sums: &'a [f64],
    /// Histograms and summaries: one count per series.
    pub counts: &'a [u64],
    /// Summaries: quantile values, `quantiles` per series.
    pub quantile_values: &'a [f64],
    /// Native histograms: one per series.
    pub native: &'a [NativeBuckets],
    /// Counters, histograms, summaries: creation time per series (ms since
    /// the epoch), or empty.
    pub created_ms: &'a [i64],
}

impl<'a> SeriesBatch<'a> {
    /// A batch of counter or gauge values.
    pub fn of_values(family: u32, label_text: &'a str, label_ends: &'a [u32], values: &'a [f64]) -> Self {
        SeriesBatch {
            family,
            label_text,
            label_ends,
            values,
            bucket_counts: &[],
            sums: &[],
            counts: &[],
            quantile_values: &[],
            native: &[],
            created_ms: &[],
        }
    }
}

/// Where the series come from: the host's `input.next-batch` inside the
/// sandbox, the host's snapshot directly when linked natively.
pub trait BatchSource {
    /// Hands the next batch to `f` and returns `Ok(true)`, or returns
    /// `Ok(false)` once every batch has been read.
    fn next_batch(&mut self, f: &mut dyn FnMut(&SeriesBatch<'_>) -> Result<(), RenderError>) -> Result<bool, RenderError>;
}

pub(crate) fn inconsistent(what: String) -> RenderError {
    RenderError::Failed(format!("inconsistent snapshot: {what}"))
}

/// Checks names, label names and bounds of every family. Names may be any
/// non-empty UTF-8 (Prometheus 3); the formatters quote what is not legacy.
pub(crate) fn validate_families(families: &[Family<'_>]) -> Result<(), RenderError> {
    for family in families {
        let name = family.name;
        if name.is_empty() {
            return Err(inconsistent(format!("family name {name:?} is not a valid metric name")));
        }
        for (j, label) in family.label_names.iter().enumerate() {
            if label.is_empty() || label.starts_with("__") {
                return Err(inconsistent(format!("family {name}: label name {label:?} is not valid")));
            }
            if family.label_names[..j].contains(label) {
                return Err(inconsistent(format!("family {name}: label name {label:?} is repeated")));
            }
            if family.kind == MetricKind::Histogram && *label == "le" {
                return Err(inconsistent(format!("family {name}: a histogram cannot have a label named le")));
            }
            if family.kind == MetricKind::Summary && *label == "quantile" {
                return Err(inconsistent(format!("family {name}: a summary cannot have a label named quantile")));
            }
        }
        if family.native && family.kind != MetricKind::Histogram {
            return Err(inconsistent(format!("family {name}: native buckets on a {}", family.kind.as_str())));
        }
        let ascending = |values: &[f64]| {
            values.windows(2).all(|w| w[0].partial_cmp(&w[1]) == Some(core::cmp::Ordering::Less)) && !values.iter().any(|v| v.is_nan())
        };
        match family.kind {
            MetricKind::Summary if !ascending(family.quantiles) || family.quantiles.iter().any(|q| !(0.0..=1.0).contains(q)) => {
                return Err(inconsistent(format!("family {name}: quantiles are not strictly ascending within [0, 1]")));
            }
            MetricKind::Summary => {}
            _ if !family.quantiles.is_empty() => {
                return Err(inconsistent(format!("family {name}: quantiles on a {}", family.kind.as_str())));
            }
            _ => {}
        }
        match family.kind {
            MetricKind::Histogram if !ascending(family.bounds) || family.bounds.iter().any(|b| b.is_infinite()) => {
                return Err(inconsistent(format!("family {name}: bucket bounds are not strictly ascending")));
            }
            MetricKind::Histogram => {}
            _ if !family.bounds.is_empty() => {
                return Err(inconsistent(format!("family {name}: bucket bounds on a {}", family.kind.as_str())));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A batch whose every length and offset has been checked against its family.
#[derive(Clone, Copy)]
pub(crate) struct Batch<'a> {
    raw: SeriesBatch<'a>,
    labels: usize,
    buckets: usize,
    quantiles: usize,
    len: usize,
}

impl<'a> Batch<'a> {
    /// Checks `raw` against `family`: list lengths, label offsets in order
    /// and on character boundaries.
    pub(crate) fn check(raw: &SeriesBatch<'a>, family: &Family<'_>) -> Result<Batch<'a>, RenderError> {
        let name = family.name;
        let (labels, buckets, quantiles) = (family.label_names.len(), family.bounds.len(), family.quantiles.len());
        let kind = family.kind.as_str();
        let len = match family.kind {
            MetricKind::Histogram | MetricKind::Summary => raw.counts.len(),
            MetricKind::Counter | MetricKind::Gauge => raw.values.len(),
        };
        let expect = |column: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(inconsistent(format!("family {name}: {got} {column} in a batch of {len} series of a {kind}, expected {want}")))
            }
        };
        let distribution = matches!(family.kind, MetricKind::Histogram | MetricKind::Summary);
        expect("values", raw.values.len(), if distribution { 0 } else { len })?;
        expect("sums", raw.sums.len(), if distribution { len } else { 0 })?;
        expect("bucket counts", raw.bucket_counts.len(), if family.kind == MetricKind::Histogram { len * buckets } else { 0 })?;
        expect("quantile values", raw.quantile_values.len(), len * quantiles)?;
        expect("native histograms", raw.native.len(), if family.native { len } else { 0 })?;
        if !raw.created_ms.is_empty() || !family.kind.has_created() {
            expect("creation times", raw.created_ms.len(), if family.kind.has_created() { len } else { 0 })?;
        }
        for (i, native) in raw.native.iter().enumerate() {
            let total = native.check().map_err(|why| inconsistent(format!("family {name}: series {i}: {why}")))?;
            if total > raw.counts[i] {
                return Err(inconsistent(format!(
                    "family {name}: series {i}: native buckets hold {total} observations, the count is {}",
                    raw.counts[i]
                )));
            }
        }
        if raw.label_ends.len() != len * labels {
            return Err(inconsistent(format!("family {name}: {} label values for {len} series of {labels} labels", raw.label_ends.len())));
        }
        let mut previous = 0u32;
        for &end in raw.label_ends {
            if end < previous || end as usize > raw.label_text.len() || !raw.label_text.is_char_boundary(end as usize) {
                return Err(inconsistent(format!("family {name}: label value end {end} is out of order or splits a character")));
            }
            previous = end;
        }
        Ok(Batch { raw: *raw, labels, buckets, quantiles, len })
    }

    /// Number of series.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Value of label `j` of series `i`, as bytes: `check` proved the
    /// offsets fall on character boundaries, so this is UTF-8 and slicing
    /// the bytes saves re-checking the boundaries on every access.
    #[inline]
    pub(crate) fn label(&self, i: usize, j: usize) -> &'a [u8] {
        let k = i * self.labels + j;
        let start = if k == 0 { 0 } else { self.raw.label_ends[k - 1] as usize };
        &self.raw.label_text.as_bytes()[start..self.raw.label_ends[k] as usize]
    }

    /// Bytes of all label values of series `i`, unescaped.
    #[inline]
    pub(crate) fn labels_len(&self, i: usize) -> usize {
        if self.labels == 0 {
            return 0;
        }
        let (first, last) = (i * self.labels, (i + 1) * self.labels - 1);
        let start = if first == 0 { 0 } else { self.raw.label_ends[first - 1] as usize };
        self.raw.label_ends[last] as usize - start
    }

    #[inline]
    pub(crate) fn value(&self, i: usize) -> f64 {
        self.raw.values[i]
    }

    #[inline]
    pub(crate) fn buckets(&self, i: usize) -> &'a [u64] {
        &self.raw.bucket_counts[i * self.buckets..(i + 1) * self.buckets]
    }

    #[inline]
    pub(crate) fn sum(&self, i: usize) -> f64 {
        self.raw.sums[i]
    }

    #[inline]
    pub(crate) fn count(&self, i: usize) -> u64 {
        self.raw.counts[i]
    }

    /// Summaries: the quantile values of series `i`.
    #[inline]
    pub(crate) fn quantile_values(&self, i: usize) -> &'a [f64] {
        &self.raw.quantile_values[i * self.quantiles..(i + 1) * self.quantiles]
    }

    /// Native histograms: the buckets of series `i`.
    #[inline]
    pub(crate) fn native(&self, i: usize) -> Option<&'a NativeBuckets> {
        self.raw.native.get(i)
    }

    /// The creation time of series `i` in ms since the epoch, if known.
    #[inline]
    pub(crate) fn created_ms(&self, i: usize) -> Option<i64> {
        self.raw.created_ms.get(i).copied()
    }
}
