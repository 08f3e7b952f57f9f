//! Borrowed views of what `wit/renderer.wit` hands a renderer: the
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
}

impl MetricKind {
    /// The name used by both Prometheus text and metrics.json.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
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
    /// Histograms: finite bucket bounds, strictly ascending; else empty.
    pub bounds: &'a [f64],
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
    /// Histograms: one count per series.
    pub counts: &'a [u64],
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
        }
        match family.kind {
            MetricKind::Histogram
                if family.bounds.windows(2).any(|w| w[0].partial_cmp(&w[1]) != Some(core::cmp::Ordering::Less))
                    || family.bounds.iter().any(|b| b.is_nan()) =>
            {
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
    len: usize,
}

impl<'a> Batch<'a> {
    /// Checks `raw` against `family`: list lengths, label offsets in order
    /// and on character boundaries.
    pub(crate) fn check(raw: &SeriesBatch<'a>, family: &Family<'_>) -> Result<Batch<'a>, RenderError> {
        let name = family.name;
        let (labels, buckets) = (family.label_names.len(), family.bounds.len());
        let len = match family.kind {
            MetricKind::Histogram => {
                let n = raw.counts.len();
                if raw.sums.len() != n || raw.bucket_counts.len() != n * buckets || !raw.values.is_empty() {
                    return Err(inconsistent(format!("family {name}: histogram columns of a batch do not match {n} series")));
                }
                n
            }
            _ => {
                if !(raw.counts.is_empty() && raw.sums.is_empty() && raw.bucket_counts.is_empty()) {
                    return Err(inconsistent(format!("family {name}: bucket columns on a {}", family.kind.as_str())));
                }
                raw.values.len()
            }
        };
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
        Ok(Batch { raw: *raw, labels, buckets, len })
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
}
