//! Sample lines shared by the two text formats (Prometheus 0.0.4 and
//! OpenMetrics): names with prefix and suffix, label blocks, value samples
//! and histogram samples (`_bucket` ascending to `+Inf`, `_sum`, `_count`).
use crate::escape::push_label_value;
use crate::number::{push_prometheus_f64, push_u64};
use crate::output::Out;
use crate::snapshot::{Family, HistogramColumns, Snapshot};
use crate::RenderError;
use alloc::vec::Vec;

/// One `name{labels} value` line per series of a counter or gauge family.
pub(crate) fn write_value_samples(
    snapshot: &Snapshot<'_>,
    family: &Family<'_>,
    prefix: &str,
    name: &str,
    suffix: &str,
    out: &mut Out<'_>,
) -> Result<(), RenderError> {
    for (&set, &value) in family.series.iter().zip(family.values) {
        push_name(out, prefix, name, suffix);
        push_labels(out, snapshot, set, None);
        out.push_byte(b' ');
        push_prometheus_f64(&mut out.buf, value);
        out.push_byte(b'\n');
        out.flush_if_full()?;
    }
    Ok(())
}


#[inline]
pub(crate) fn push_name(out: &mut Out<'_>, prefix: &str, name: &str, suffix: &str) {
    out.push(prefix.as_bytes());
    out.push(name.as_bytes());
    out.push(suffix.as_bytes());
}

/// Writes `{name="value",...}` for label set `set`, plus `le` when given;
/// nothing at all for an empty set without `le`.
#[inline]
pub(crate) fn push_labels(out: &mut Out<'_>, snapshot: &Snapshot<'_>, set: u32, le: Option<&[u8]>) {
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

pub(crate) fn write_histogram_samples(
    snapshot: &Snapshot<'_>,
    family: &Family<'_>,
    histogram: &HistogramColumns<'_>,
    prefix: &str,
    name: &str,
    format_bound: fn(&mut Vec<u8>, f64),
    out: &mut Out<'_>,
) -> Result<(), RenderError> {
    // Format the bounds once per family, not once per series.
    let bounds: Vec<Vec<u8>> = histogram
        .bounds
        .iter()
        .map(|&bound| {
            let mut text = Vec::new();
            format_bound(&mut text, bound);
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
