//! metrics.json: KumoMTA's shape, always valid JSON.
//!
//! One object keyed by family name; each value is
//! `{"help": ..., "type": ..., "value": ...}` (`help` only when present).
//! The shape of `value` follows the family's labels:
//! - no series: `null`;
//! - one series without labels: the value itself;
//! - every series has exactly one label, all with the same name:
//!   `{"label": {"label value": value, ...}}`;
//! - otherwise: `[{"label": "label value", ..., "@": value}, ...]`.
//!
//! A counter or gauge value is a number, or the string `"NaN"`, `"+Inf"` or
//! `"-Inf"`. A histogram value is
//! `{"count": N, "sum": S, "avg": S/N (0 when N is 0), "bucket": [[bound, cumulative count], ...]}`
//! without a `+Inf` bucket (it equals `count`), and stands wherever a number
//! stands in the shapes above, so labelled histograms use the same rules.
use crate::escape::push_json_string;
use crate::number::{push_json_f64, push_u64};
use crate::output::Out;
use crate::snapshot::{Family, HistogramColumns, Snapshot};
use crate::RenderError;

pub(crate) fn write(snapshot: &Snapshot<'_>, prefix: &str, out: &mut Out<'_>) -> Result<(), RenderError> {
    out.push_byte(b'{');
    for (i, family) in snapshot.families.iter().enumerate() {
        out.push(if i == 0 { b"\n" } else { b",\n" });
        let name = snapshot.string(family.name);
        out.push_byte(b'"');
        // Names are [a-zA-Z0-9_:] only: nothing to escape.
        out.push(prefix.as_bytes());
        out.push(name.as_bytes());
        out.push(b"\":{");
        if let Some(help) = family.help {
            out.push(b"\"help\":");
            push_json_string(&mut out.buf, snapshot.string(help));
            out.push_byte(b',');
        }
        out.push(b"\"type\":\"");
        out.push(family.kind.as_str().as_bytes());
        out.push(b"\",\"value\":");
        write_value(snapshot, family, out)?;
        out.push_byte(b'}');
        out.flush_if_full()?;
    }
    out.push(b"\n}\n");
    Ok(())
}

/// How the `value` of a family is laid out.
enum Shape {
    Null,
    Scalar,
    /// Every series has the one label of this name.
    SingleLabel(u32),
    List,
}

fn shape(snapshot: &Snapshot<'_>, family: &Family<'_>) -> Shape {
    let Some(&first) = family.series.first() else {
        return Shape::Null;
    };
    let (names, _) = snapshot.label_set(first);
    match names {
        [] if family.series.len() == 1 => Shape::Scalar,
        [label] => {
            let same = family.series.iter().all(|&set| {
                let (names, _) = snapshot.label_set(set);
                names.len() == 1 && snapshot.string(names[0]) == snapshot.string(*label)
            });
            if same {
                Shape::SingleLabel(*label)
            } else {
                Shape::List
            }
        }
        _ => Shape::List,
    }
}

fn write_value(snapshot: &Snapshot<'_>, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
    match shape(snapshot, family) {
        Shape::Null => out.push(b"null"),
        Shape::Scalar => write_series_value(family, 0, out),
        Shape::SingleLabel(label) => {
            out.push(b"{");
            push_json_string(&mut out.buf, snapshot.string(label));
            out.push(b":{");
            for (i, &set) in family.series.iter().enumerate() {
                if i > 0 {
                    out.push_byte(b',');
                }
                let (_, values) = snapshot.label_set(set);
                push_json_string(&mut out.buf, snapshot.string(values[0]));
                out.push_byte(b':');
                write_series_value(family, i, out);
                out.flush_if_full()?;
            }
            out.push(b"}}");
        }
        Shape::List => {
            out.push_byte(b'[');
            for (i, &set) in family.series.iter().enumerate() {
                if i > 0 {
                    out.push_byte(b',');
                }
                out.push_byte(b'{');
                let (names, values) = snapshot.label_set(set);
                for (&name, &value) in names.iter().zip(values) {
                    push_json_string(&mut out.buf, snapshot.string(name));
                    out.push_byte(b':');
                    push_json_string(&mut out.buf, snapshot.string(value));
                    out.push_byte(b',');
                }
                out.push(b"\"@\":");
                write_series_value(family, i, out);
                out.push_byte(b'}');
                out.flush_if_full()?;
            }
            out.push_byte(b']');
        }
    }
    Ok(())
}

fn write_series_value(family: &Family<'_>, series: usize, out: &mut Out<'_>) {
    match &family.histogram {
        Some(histogram) => write_histogram(histogram, series, out),
        None => push_json_f64(&mut out.buf, family.values[series]),
    }
}

fn write_histogram(histogram: &HistogramColumns<'_>, series: usize, out: &mut Out<'_>) {
    let count = histogram.counts[series];
    let sum = histogram.sums[series];
    out.push(b"{\"count\":");
    push_u64(&mut out.buf, count);
    out.push(b",\"sum\":");
    push_json_f64(&mut out.buf, sum);
    out.push(b",\"avg\":");
    push_json_f64(&mut out.buf, if count == 0 { 0.0 } else { sum / count as f64 });
    out.push(b",\"bucket\":[");
    let buckets = histogram.bounds.len();
    let counts = &histogram.bucket_counts[series * buckets..(series + 1) * buckets];
    for (j, (&bound, &cumulative)) in histogram.bounds.iter().zip(counts).enumerate() {
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
