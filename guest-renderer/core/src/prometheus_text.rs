//! Prometheus text exposition format 0.0.4.
//!
//! Each family is one contiguous group: `# HELP` (when there is help text),
//! `# TYPE`, then its samples. Histograms write `_bucket{le=...}` lines in
//! ascending order ending with `le="+Inf"` (equal to `_count`), then `_sum`
//! and `_count`.
use crate::escape::{push_help, push_label_value};
use crate::number::{push_prometheus_f64, push_u64};
use crate::output::Out;
use crate::snapshot::{Family, HistogramColumns, Snapshot};
use crate::RenderError;
use alloc::vec::Vec;

pub(crate) fn write(snapshot: &Snapshot<'_>, prefix: &str, out: &mut Out<'_>) -> Result<(), RenderError> {
    for family in &snapshot.families {
        let name = snapshot.string(family.name);
        write_header(snapshot, family, prefix, name, out);
        match &family.histogram {
            Some(histogram) => write_histogram(snapshot, family, histogram, prefix, name, out)?,
            None => {
                for (&set, &value) in family.series.iter().zip(family.values) {
                    push_name(out, prefix, name, "");
                    push_labels(out, snapshot, set, None);
                    out.push_byte(b' ');
                    push_prometheus_f64(&mut out.buf, value);
                    out.push_byte(b'\n');
                    out.flush_if_full()?;
                }
            }
        }
    }
    Ok(())
}

fn write_header(snapshot: &Snapshot<'_>, family: &Family<'_>, prefix: &str, name: &str, out: &mut Out<'_>) {
    if let Some(help) = family.help {
        out.push(b"# HELP ");
        push_name(out, prefix, name, " ");
        push_help(&mut out.buf, snapshot.string(help));
        out.push_byte(b'\n');
    }
    out.push(b"# TYPE ");
    push_name(out, prefix, name, " ");
    out.push(family.kind.as_str().as_bytes());
    out.push_byte(b'\n');
}

fn write_histogram(
    snapshot: &Snapshot<'_>,
    family: &Family<'_>,
    histogram: &HistogramColumns<'_>,
    prefix: &str,
    name: &str,
    out: &mut Out<'_>,
) -> Result<(), RenderError> {
    // Format the bounds once per family, not once per series.
    let bounds: Vec<Vec<u8>> = histogram
        .bounds
        .iter()
        .map(|&bound| {
            let mut text = Vec::new();
            push_prometheus_f64(&mut text, bound);
            text
        })
        .collect();
    let buckets = bounds.len();
    for (i, &set) in family.series.iter().enumerate() {
        let counts = &histogram.bucket_counts[i * buckets..(i + 1) * buckets];
        for (bound, &count) in bounds.iter().zip(counts) {
            push_name(out, prefix, name, "_bucket");
            push_labels(out, snapshot, set, Some(bound));
            out.push_byte(b' ');
            push_u64(&mut out.buf, count);
            out.push_byte(b'\n');
        }
        let count = histogram.counts[i];
        push_name(out, prefix, name, "_bucket");
        push_labels(out, snapshot, set, Some(b"+Inf"));
        out.push_byte(b' ');
        push_u64(&mut out.buf, count);
        out.push_byte(b'\n');
        push_name(out, prefix, name, "_sum");
        push_labels(out, snapshot, set, None);
        out.push_byte(b' ');
        push_prometheus_f64(&mut out.buf, histogram.sums[i]);
        out.push_byte(b'\n');
        push_name(out, prefix, name, "_count");
        push_labels(out, snapshot, set, None);
        out.push_byte(b' ');
        push_u64(&mut out.buf, count);
        out.push_byte(b'\n');
        out.flush_if_full()?;
    }
    Ok(())
}

#[inline]
fn push_name(out: &mut Out<'_>, prefix: &str, name: &str, suffix: &str) {
    out.push(prefix.as_bytes());
    out.push(name.as_bytes());
    out.push(suffix.as_bytes());
}

/// Writes `{name="value",...}` for label set `set`, plus `le` when given;
/// nothing at all for an empty set without `le`.
#[inline]
fn push_labels(out: &mut Out<'_>, snapshot: &Snapshot<'_>, set: u32, le: Option<&[u8]>) {
    let (names, values) = snapshot.label_set(set);
    if names.is_empty() && le.is_none() {
        return;
    }
    out.push_byte(b'{');
    for (i, (&name, &value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push_byte(b',');
        }
        out.push(snapshot.string(name).as_bytes());
        out.push(b"=\"");
        push_label_value(&mut out.buf, snapshot.string(value));
        out.push_byte(b'"');
    }
    if let Some(le) = le {
        if !names.is_empty() {
            out.push_byte(b',');
        }
        out.push(b"le=\"");
        out.push(le);
        out.push_byte(b'"');
    }
    out.push_byte(b'}');
}
