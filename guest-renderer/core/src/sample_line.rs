//! Sample lines shared by the two text formats (Prometheus 0.0.4 and
//! OpenMetrics). Everything that is the same for every series of a family
//! (the metric names with prefix and suffix, the `{name="` heads of the
//! label block, the formatted bucket bounds or quantiles) is prepared once
//! per family by [`SampleLines::new`]; per series only values are formatted.
//!
//! Histograms write their classic buckets (native buckets have no text
//! form; a native histogram without classic bounds writes only `+Inf`),
//! summaries a `quantile` line per quantile; both then `_sum` and
//! `_count`. In [`Flavour::OpenMetrics`] counters, histograms
//! and summaries whose creation time is known add a `_created` line, in
//! seconds, and a `_sum` that is negative or NaN is left out (OpenMetrics
//! sums are counters).
//!
//! A name outside the legacy syntax moves inside the braces, quoted
//! (`{"my.metric","label.x"="v"} 1`), as Prometheus 3 text and OpenMetrics
//! with `escaping=allow-utf-8` write it; label names outside it are quoted.
use crate::line::Line;
use crate::names::{is_valid_metric_name, push_label_name, push_quoted};
use crate::number::MAX_NUMBER_BYTES;
use crate::output::Out;
use crate::snapshot::{Batch, Family, MetricKind};
use crate::RenderError;
use alloc::vec::Vec;

/// One family's sample lines.
pub(crate) struct SampleLines {
    /// `prefix name suffix` of a counter or gauge sample.
    value_name: Vec<u8>,
    bucket_name: Vec<u8>,
    sum_name: Vec<u8>,
    count_name: Vec<u8>,
    created_name: Vec<u8>,
    flavour: Flavour,
    /// `{name0="`, then `",name1="`, ...: what precedes each label value
    /// (`,name0="` first when the metric name is quoted inside the braces).
    label_heads: Vec<Vec<u8>>,
    /// What precedes the `le` (histograms) or `quantile` (summaries)
    /// value: `{le="`, `,le="` or `",le="`.
    le_head: &'static [u8],
    /// The metric name is quoted inside the braces, which every line then has.
    quoted: bool,
    /// The bucket bounds (histograms) or quantiles (summaries), formatted.
    bounds: Vec<Vec<u8>>,
    /// Upper bounds of what one series writes, but for its label values:
    /// counter or gauge line, histogram or summary lines.
    value_room: usize,
    histogram_room: usize,
}

/// Which text format the lines are for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavour {
    /// Prometheus text: no `_created`, every `_sum`.
    Prometheus,
    /// OpenMetrics: `_created` lines, and `_sum` only where it is a valid
    /// counter (a negative or NaN sum, from negative observations, is left
    /// out with its `_count`, as the specification requires).
    OpenMetrics,
}

impl SampleLines {
    /// `name` is the family name as the format writes it (OpenMetrics drops
    /// a counter's `_total`), `value_suffix` what value samples append.
    pub(crate) fn new(
        family: &Family<'_>,
        prefix: &str,
        name: &str,
        value_suffix: &str,
        format_bound: fn(&mut Vec<u8>, f64),
        flavour: Flavour,
    ) -> Self {
        let quoted = !is_valid_metric_name(&[prefix, name].concat());
        let sample_name = |suffix: &str| {
            let text = [prefix, name, suffix].concat();
            if !quoted {
                return text.into_bytes();
            }
            let mut bytes = alloc::vec![b'{'];
            push_quoted(&mut bytes, &text);
            bytes
        };
        let label_heads = family
            .label_names
            .iter()
            .enumerate()
            .map(|(j, label)| {
                let mut head = match (j, quoted) {
                    (0, false) => b"{".to_vec(),
                    (0, true) => b",".to_vec(),
                    _ => b"\",".to_vec(),
                };
                push_label_name(&mut head, label);
                head.extend_from_slice(b"=\"");
                head
            })
            .collect();
        let bounds = match family.kind {
            MetricKind::Summary => family.quantiles,
            _ => family.bounds,
        };
        let bounds = bounds
            .iter()
            .map(|&bound| {
                let mut text = Vec::new();
                format_bound(&mut text, bound);
                text
            })
            .collect();
        let mut lines = SampleLines {
            value_name: sample_name(value_suffix),
            bucket_name: sample_name("_bucket"),
            sum_name: sample_name("_sum"),
            count_name: sample_name("_count"),
            created_name: sample_name("_created"),
            flavour,
            label_heads,
            le_head: match (family.kind == MetricKind::Summary, family.label_names.is_empty(), quoted) {
                (false, true, false) => b"{le=\"",
                (false, true, true) => b",le=\"",
                (false, false, _) => b"\",le=\"",
                (true, true, false) => b"{quantile=\"",
                (true, true, true) => b",quantile=\"",
                (true, false, _) => b"\",quantile=\"",
            },
            quoted,
            bounds,
            value_room: 0,
            histogram_room: 0,
        };
        // Per line: name, label heads, `"}`, space, number, newline.
        // (A quoted name's closing `}` fits in the room of `"}`.)
        let heads: usize = lines.label_heads.iter().map(Vec::len).sum();
        let line = |name: &[u8]| name.len() + heads + 2 + 1 + MAX_NUMBER_BYTES + 1;
        let longest_bound = lines.bounds.iter().map(Vec::len).max().unwrap_or(0).max(4);
        let created_room = if flavour == Flavour::OpenMetrics { line(&lines.created_name) } else { 0 };
        lines.value_room = line(&lines.value_name) + created_room;
        lines.histogram_room = (lines.bounds.len() + 1)
            * (line(&lines.bucket_name).max(line(&lines.value_name)) + lines.le_head.len() + longest_bound)
            + line(&lines.sum_name)
            + line(&lines.count_name)
            + created_room;
        lines
    }

    /// Writes the label block of series `i`, plus `le` when given; nothing
    /// at all for a family without labels when there is no `le`.
    #[inline(always)]
    fn push_labels(&self, line: &mut Line<'_>, batch: &Batch<'_>, i: usize, le: Option<&[u8]>) {
        for (j, head) in self.label_heads.iter().enumerate() {
            line.put(head);
            line.label_value(batch.label(i, j));
        }
        if let Some(le) = le {
            line.put(self.le_head);
            line.put(le);
        }
        if !self.label_heads.is_empty() || le.is_some() {
            line.put(b"\"}");
        } else if self.quoted {
            line.byte(b'}');
        }
    }

    /// The sample lines of a batch of the family these lines were made for.
    pub(crate) fn write(&self, kind: MetricKind, batch: &Batch<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        match kind {
            MetricKind::Histogram => self.write_histograms(batch, out),
            MetricKind::Summary => self.write_summaries(batch, out),
            MetricKind::Counter | MetricKind::Gauge => self.write_values(batch, out),
        }
    }

    /// The `_created` line of series `i`, if wanted and known.
    #[inline(always)]
    fn push_created(&self, line: &mut Line<'_>, batch: &Batch<'_>, i: usize) {
        if self.flavour == Flavour::Prometheus {
            return;
        }
        if let Some(ms) = batch.created_ms(i) {
            line.put(&self.created_name);
            self.push_labels(line, batch, i, None);
            line.byte(b' ');
            line.prometheus_f64(ms as f64 / 1000.0);
            line.byte(b'\n');
        }
    }

    /// `_sum` and `_count` lines of series `i`. OpenMetrics has them only
    /// as a pair and only with a valid counter as the sum (a histogram's
    /// count is still its `+Inf` bucket).
    #[inline(always)]
    fn push_sum_and_count(&self, line: &mut Line<'_>, batch: &Batch<'_>, i: usize) {
        let sum = batch.sum(i);
        if self.flavour == Flavour::OpenMetrics && (sum.is_nan() || sum < 0.0) {
            return;
        }
        line.put(&self.sum_name);
        self.push_labels(line, batch, i, None);
        line.byte(b' ');
        line.prometheus_f64(sum);
        line.byte(b'\n');
        line.put(&self.count_name);
        self.push_labels(line, batch, i, None);
        line.byte(b' ');
        line.u64(batch.count(i));
        line.byte(b'\n');
    }

    /// Per series of a summary batch: a line per quantile, then `_sum`
    /// and `_count`.
    fn write_summaries(&self, batch: &Batch<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        let lines = self.bounds.len() + 4;
        for i in 0..batch.len() {
            {
                let mut line = Line::start(&mut out.buf, self.histogram_room + lines * 2 * batch.labels_len(i));
                for (quantile, &value) in self.bounds.iter().zip(batch.quantile_values(i)) {
                    line.put(&self.value_name);
                    self.push_labels(&mut line, batch, i, Some(quantile));
                    line.byte(b' ');
                    line.prometheus_f64(value);
                    line.byte(b'\n');
                }
                self.push_sum_and_count(&mut line, batch, i);
                self.push_created(&mut line, batch, i);
            }
            out.flush_if_full()?;
        }
        Ok(())
    }

    /// One `name{labels} value` line per series of a counter or gauge batch.
    fn write_values(&self, batch: &Batch<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        let value_lines = 1 + (self.flavour == Flavour::OpenMetrics) as usize;
        for i in 0..batch.len() {
            {
                let mut line = Line::start(&mut out.buf, self.value_room + value_lines * 2 * batch.labels_len(i));
                line.put(&self.value_name);
                self.push_labels(&mut line, batch, i, None);
                line.byte(b' ');
                line.prometheus_f64(batch.value(i));
                line.byte(b'\n');
                self.push_created(&mut line, batch, i);
            }
            out.flush_if_full()?;
        }
        Ok(())
    }

    /// Per series of a histogram batch: `_bucket` lines ascending to
    /// `le="+Inf"` (equal to the count), then `_sum` and `_count`.
    fn write_histograms(&self, batch: &Batch<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        let lines = self.bounds.len() + 4;
        for i in 0..batch.len() {
            {
                let mut line = Line::start(&mut out.buf, self.histogram_room + lines * 2 * batch.labels_len(i));
                let count = batch.count(i);
                let bounds = self.bounds.iter().map(Vec::as_slice).chain([b"+Inf".as_slice()]);
                let counts = batch.buckets(i).iter().copied().chain([count]);
                for (bound, cumulative) in bounds.zip(counts) {
                    line.put(&self.bucket_name);
                    self.push_labels(&mut line, batch, i, Some(bound));
                    line.byte(b' ');
                    line.u64(cumulative);
                    line.byte(b'\n');
                }
                self.push_sum_and_count(&mut line, batch, i);
                self.push_created(&mut line, batch, i);
            }
            out.flush_if_full()?;
        }
        Ok(())
    }
}
