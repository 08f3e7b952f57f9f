//! metrics.json: KumoMTA's shape, always valid JSON.
//!
//! One object keyed by family name; each value is
//! `{"help": ..., "type": ..., "value": ...}` (`help` only when present).
//! The shape of `value` follows the family's labels:
//! - no series: `null`;
//! - one series without labels: the value itself;
//! - one label: `{"label": {"label value": value, ...}}`;
//! - otherwise: `[{"label": "label value", ..., "@": value}, ...]`.
//!
//! A counter or gauge value is a number, or the string `"NaN"`, `"+Inf"` or
//! `"-Inf"`. A histogram value is
//! `{"count": N, "sum": S, "avg": S/N (0 when N is 0), "bucket": [[bound, cumulative count], ...]}`
//! without a `+Inf` bucket (it equals `count`), and stands wherever a number
//! stands in the shapes above, so labelled histograms use the same rules.
//! A summary value is `{"count": N, "sum": S, "quantile": [[q, value], ...]}`,
//! in the same places. Native buckets and creation times are not written.
use crate::batch_driver::Formatter;
use crate::escape::{push_json_bytes, push_json_string};
use crate::number::{push_json_f64, push_u64};
use crate::output::Out;
use crate::snapshot::{Batch, Family, MetricKind};
use crate::RenderError;
use alloc::vec::Vec;

/// How the `value` of a family is laid out.
#[derive(Clone, Copy)]
enum Shape {
    Null,
    Scalar,
    SingleLabel,
    List,
}

impl Shape {
    fn of(family: &Family<'_>) -> Shape {
        match (family.series, family.label_names.len()) {
            (0, _) => Shape::Null,
            (1, 0) => Shape::Scalar,
            (_, 1) => Shape::SingleLabel,
            _ => Shape::List,
        }
    }
}

pub(crate) struct MetricsJson<'p> {
    prefix: &'p str,
    shape: Shape,
    /// `"name":` of each label, JSON-escaped, for the list shape.
    label_keys: Vec<Vec<u8>>,
}

impl<'p> MetricsJson<'p> {
    pub(crate) fn new(prefix: &'p str) -> Self {
        MetricsJson { prefix, shape: Shape::Null, label_keys: Vec::new() }
    }
}

impl Formatter for MetricsJson<'_> {
    fn begin(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        out.push_byte(b'{');
        Ok(())
    }

    fn family_start(&mut self, index: usize, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        out.push(if index == 0 { b"\n" } else { b",\n" });
        push_json_string(&mut out.buf, &[self.prefix, family.name].concat());
        out.push(b":{");
        if let Some(help) = family.help {
            out.push(b"\"help\":");
            push_json_string(&mut out.buf, help);
            out.push_byte(b',');
        }
        out.push(b"\"type\":\"");
        out.push(family.kind.as_str().as_bytes());
        out.push(b"\",\"value\":");
        self.shape = Shape::of(family);
        self.label_keys = family
            .label_names
            .iter()
            .map(|label| {
                let mut key = Vec::new();
                push_json_string(&mut key, label);
                key.push(b':');
                key
            })
            .collect();
        match self.shape {
            Shape::Null => out.push(b"null"),
            Shape::Scalar => {}
            Shape::SingleLabel => {
                out.push_byte(b'{');
                out.push(&self.label_keys[0]);
                out.push_byte(b'{');
            }
            Shape::List => out.push_byte(b'['),
        }
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        for i in 0..batch.len() {
            let separator = first > 0 || i > 0;
            match self.shape {
                Shape::Null => {}
                Shape::Scalar => write_series_value(family, batch, i, out),
                Shape::SingleLabel => {
                    if separator {
                        out.push_byte(b',');
                    }
                    push_json_bytes(&mut out.buf, batch.label(i, 0));
                    out.push_byte(b':');
                    write_series_value(family, batch, i, out);
                }
                Shape::List => {
                    out.push(if separator { b",{" } else { b"{" });
                    for (j, key) in self.label_keys.iter().enumerate() {
                        out.push(key);
                        push_json_bytes(&mut out.buf, batch.label(i, j));
                        out.push_byte(b',');
                    }
                    out.push(b"\"@\":");
                    write_series_value(family, batch, i, out);
                    out.push_byte(b'}');
                }
            }
            out.flush_if_full()?;
        }
        Ok(())
    }

    fn family_end(&mut self, _family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        match self.shape {
            Shape::Null | Shape::Scalar => {}
            Shape::SingleLabel => out.push(b"}}"),
            Shape::List => out.push_byte(b']'),
        }
        out.push_byte(b'}');
        Ok(())
    }

    fn end(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        out.push(b"\n}\n");
        Ok(())
    }
}

fn write_series_value(family: &Family<'_>, batch: &Batch<'_>, i: usize, out: &mut Out<'_>) {
    match family.kind {
        MetricKind::Histogram => write_histogram(family.bounds, batch, i, out),
        MetricKind::Summary => write_summary(family.quantiles, batch, i, out),
        MetricKind::Counter | MetricKind::Gauge => push_json_f64(&mut out.buf, batch.value(i)),
    }
}

fn write_summary(quantiles: &[f64], batch: &Batch<'_>, i: usize, out: &mut Out<'_>) {
    out.push(b"{\"count\":");
    push_u64(&mut out.buf, batch.count(i));
    out.push(b",\"sum\":");
    push_json_f64(&mut out.buf, batch.sum(i));
    out.push(b",\"quantile\":[");
    for (j, (&quantile, &value)) in quantiles.iter().zip(batch.quantile_values(i)).enumerate() {
        if j > 0 {
            out.push_byte(b',');
        }
        out.push_byte(b'[');
        push_json_f64(&mut out.buf, quantile);
        out.push_byte(b',');
        push_json_f64(&mut out.buf, value);
        out.push_byte(b']');
    }
    out.push(b"]}");
}

fn write_histogram(bounds: &[f64], batch: &Batch<'_>, i: usize, out: &mut Out<'_>) {
    let count = batch.count(i);
    let sum = batch.sum(i);
    out.push(b"{\"count\":");
    push_u64(&mut out.buf, count);
    out.push(b",\"sum\":");
    push_json_f64(&mut out.buf, sum);
    out.push(b",\"avg\":");
    push_json_f64(&mut out.buf, if count == 0 { 0.0 } else { sum / count as f64 });
    out.push(b",\"bucket\":[");
    for (j, (&bound, &cumulative)) in bounds.iter().zip(batch.buckets(i)).enumerate() {
        if j > 0 {
            out.push_byte(b',');
        }
        out.push_byte(b'[');
        push_json_f64(&mut out.buf, bound);
        out.push_byte(b',');
        push_json_f64(&mut out.buf, cumulative as f64);
        out.push_byte(b']');
    }
    out.push(b"]}");
}
