//! Sample lines shared by the two text formats (Prometheus 0.0.4 and
//! OpenMetrics). Everything that is the same for every series of a family
//! (the metric names with prefix and suffix, the `{name="` heads of the
//! label block, the formatted bucket bounds) is prepared once per family by
//! [`SampleLines::new`]; per series only values are formatted.
use crate::escape::push_label_value;
use crate::number::{push_prometheus_f64, push_u64};
use crate::output::Out;
use crate::snapshot::{Batch, Family};
use crate::RenderError;
use alloc::vec::Vec;

/// One family's sample lines.
pub(crate) struct SampleLines {
    /// `prefix name suffix` of a counter or gauge sample.
    value_name: Vec<u8>,
    bucket_name: Vec<u8>,
    sum_name: Vec<u8>,
    count_name: Vec<u8>,
    /// `{name0="`, then `",name1="`, ...: what precedes each label value.
    label_heads: Vec<Vec<u8>>,
    /// What precedes the `le` value: `{le="` or `",le="`.
    le_head: &'static [u8],
    /// The bucket bounds, formatted.
    bounds: Vec<Vec<u8>>,
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

impl SampleLines {
    /// `name` is the family name as the format writes it (OpenMetrics drops
    /// a counter's `_total`), `value_suffix` what value samples append.
    pub(crate) fn new(family: &Family<'_>, prefix: &str, name: &str, value_suffix: &str, format_bound: fn(&mut Vec<u8>, f64)) -> Self {
        let (prefix, name) = (prefix.as_bytes(), name.as_bytes());
        let label_heads = family
            .label_names
            .iter()
            .enumerate()
            .map(|(j, label)| concat(&[if j == 0 { b"{" } else { b"\"," }, label.as_bytes(), b"=\""]))
            .collect();
        let bounds = family
            .bounds
            .iter()
            .map(|&bound| {
                let mut text = Vec::new();
                format_bound(&mut text, bound);
                text
            })
            .collect();
        SampleLines {
            value_name: concat(&[prefix, name, value_suffix.as_bytes()]),
            bucket_name: concat(&[prefix, name, b"_bucket"]),
            sum_name: concat(&[prefix, name, b"_sum"]),
            count_name: concat(&[prefix, name, b"_count"]),
            label_heads,
            le_head: if family.label_names.is_empty() { b"{le=\"" } else { b"\",le=\"" },
            bounds,
        }
    }

    /// Writes the label block of series `i`, plus `le` when given; nothing
    /// at all for a family without labels when there is no `le`.
    #[inline]
    fn push_labels(&self, out: &mut Out<'_>, batch: &Batch<'_>, i: usize, le: Option<&[u8]>) {
        for (j, head) in self.label_heads.iter().enumerate() {
            out.push(head);
            push_label_value(&mut out.buf, batch.label(i, j));
        }
        if let Some(le) = le {
            out.push(self.le_head);
            out.push(le);
        }
        if !self.label_heads.is_empty() || le.is_some() {
            out.push(b"\"}");
        }
    }

    /// One `name{labels} value` line per series of a counter or gauge batch.
    pub(crate) fn write_values(&self, batch: &Batch<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        for i in 0..batch.len() {
            out.push(&self.value_name);
            self.push_labels(out, batch, i, None);
            out.push_byte(b' ');
            push_prometheus_f64(&mut out.buf, batch.value(i));
            out.push_byte(b'\n');
            out.flush_if_full()?;
        }
        Ok(())
    }

    /// Per series of a histogram batch: `_bucket` lines ascending to
    /// `le="+Inf"` (equal to the count), then `_sum` and `_count`.
    pub(crate) fn write_histograms(&self, batch: &Batch<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        for i in 0..batch.len() {
            let count = batch.count(i);
            let bounds = self.bounds.iter().map(Vec::as_slice).chain([b"+Inf".as_slice()]);
            let counts = batch.buckets(i).iter().copied().chain([count]);
            for (bound, cumulative) in bounds.zip(counts) {
                out.push(&self.bucket_name);
                self.push_labels(out, batch, i, Some(bound));
                out.push_byte(b' ');
                push_u64(&mut out.buf, cumulative);
                out.push_byte(b'\n');
            }
            out.push(&self.sum_name);
            self.push_labels(out, batch, i, None);
            out.push_byte(b' ');
            push_prometheus_f64(&mut out.buf, batch.sum(i));
            out.push_byte(b'\n');
            out.push(&self.count_name);
            self.push_labels(out, batch, i, None);
            out.push_byte(b' ');
            push_u64(&mut out.buf, count);
            out.push_byte(b'\n');
            out.flush_if_full()?;
        }
        Ok(())
    }
}
