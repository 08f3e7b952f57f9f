//! A borrowed view of the interned, columnar snapshot of `wit/renderer.wit`,
//! with the consistency check every formatter relies on.
use crate::RenderError;
use alloc::format;
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

/// Bucket columns of a histogram family.
#[derive(Debug, Clone, Copy)]
pub struct HistogramColumns<'a> {
    /// Finite upper bounds, strictly ascending.
    pub bounds: &'a [f64],
    /// Cumulative counts, `series * bounds.len()` of them.
    pub bucket_counts: &'a [u64],
    /// One sum per series.
    pub sums: &'a [f64],
    /// One count per series.
    pub counts: &'a [u64],
}

/// One family.
#[derive(Debug, Clone, Copy)]
pub struct Family<'a> {
    /// String index of the name.
    pub name: u32,
    /// String index of the help text.
    pub help: Option<u32>,
    pub kind: MetricKind,
    /// Label set index per series.
    pub series: &'a [u32],
    /// Counter and gauge values, one per series.
    pub values: &'a [f64],
    /// Present exactly for histograms.
    pub histogram: Option<HistogramColumns<'a>>,
}

/// A snapshot, borrowed from wherever it lives (guest memory or host registry).
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    pub text: &'a str,
    pub string_ends: &'a [u32],
    pub label_set_ends: &'a [u32],
    pub label_names: &'a [u32],
    pub label_values: &'a [u32],
    pub families: Vec<Family<'a>>,
}

fn inconsistent(what: alloc::string::String) -> RenderError {
    RenderError::Failed(format!("inconsistent snapshot: {what}"))
}

impl<'a> Snapshot<'a> {
    /// String `index` of the table. Only call after [`Snapshot::validate`].
    #[inline]
    pub fn string(&self, index: u32) -> &'a str {
        let i = index as usize;
        let start = if i == 0 { 0 } else { self.string_ends[i - 1] as usize };
        &self.text[start..self.string_ends[i] as usize]
    }

    /// The (name, value) string indices of label set `index`.
    #[inline]
    pub fn label_set(&self, index: u32) -> (&'a [u32], &'a [u32]) {
        let i = index as usize;
        let start = if i == 0 { 0 } else { self.label_set_ends[i - 1] as usize };
        let end = self.label_set_ends[i] as usize;
        (&self.label_names[start..end], &self.label_values[start..end])
    }

    /// Checks every index and length, so formatting cannot go out of bounds.
    pub fn validate(&self) -> Result<(), RenderError> {
        let mut previous = 0u32;
        for (i, &end) in self.string_ends.iter().enumerate() {
            if end < previous || end as usize > self.text.len() || !self.text.is_char_boundary(end as usize) {
                return Err(inconsistent(format!("string end {i} ({end}) is out of order or splits a character")));
            }
            previous = end;
        }
        let strings = self.string_ends.len() as u32;
        if self.label_names.len() != self.label_values.len() {
            return Err(inconsistent(format!(
                "{} label names but {} label values",
                self.label_names.len(),
                self.label_values.len()
            )));
        }
        if let Some(bad) = self.label_names.iter().chain(self.label_values).find(|&&s| s >= strings) {
            return Err(inconsistent(format!("label string index {bad} is out of range")));
        }
        let mut previous = 0u32;
        for (i, &end) in self.label_set_ends.iter().enumerate() {
            if end < previous || end as usize > self.label_names.len() {
                return Err(inconsistent(format!("label set end {i} ({end}) is out of order or range")));
            }
            previous = end;
        }
        let label_sets = self.label_set_ends.len() as u32;
        for family in &self.families {
            self.validate_family(family, strings, label_sets)?;
        }
        Ok(())
    }

    fn validate_family(&self, family: &Family<'_>, strings: u32, label_sets: u32) -> Result<(), RenderError> {
        if family.name >= strings || family.help.is_some_and(|h| h >= strings) {
            return Err(inconsistent(format!("family name or help index {} is out of range", family.name)));
        }
        let name = self.string(family.name);
        if let Some(bad) = family.series.iter().find(|&&s| s >= label_sets) {
            return Err(inconsistent(format!("family {name}: label set {bad} is out of range")));
        }
        let series = family.series.len();
        match (family.kind, &family.histogram) {
            (MetricKind::Histogram, Some(h)) => {
                if h.sums.len() != series || h.counts.len() != series || h.bucket_counts.len() != series * h.bounds.len() {
                    return Err(inconsistent(format!("family {name}: histogram columns do not match {series} series")));
                }
                if h.bounds.windows(2).any(|w| !(w[0] < w[1])) || h.bounds.iter().any(|b| b.is_nan()) {
                    return Err(inconsistent(format!("family {name}: bucket bounds are not strictly ascending")));
                }
            }
            (MetricKind::Histogram, None) => {
                return Err(inconsistent(format!("family {name}: histogram without bucket columns")))
            }
            (_, Some(_)) => return Err(inconsistent(format!("family {name}: bucket columns on a non-histogram"))),
            (_, None) => {
                if family.values.len() != series {
                    return Err(inconsistent(format!(
                        "family {name}: {} values for {series} series",
                        family.values.len()
                    )));
                }
            }
        }
        Ok(())
    }
}
