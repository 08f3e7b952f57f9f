//! OpenMetrics 1.0 text.
//!
//! Differences from Prometheus text 0.0.4: counter samples carry the
//! `_total` suffix while the family name does not (a registry name that
//! already ends in `_total` loses it in `# TYPE`/`# HELP`); `# HELP` also
//! escapes `"`; `# UNIT` is written when the name ends in a known unit
//! (`_seconds`, `_bytes`, ...); the body ends with `# EOF`.
use crate::escape::push_label_value;
use crate::sample_line::{push_name, write_histogram_samples, write_value_samples};
use crate::number::push_prometheus_f64;
use crate::output::Out;
use crate::snapshot::{Family, MetricKind, Snapshot};
use crate::RenderError;
use alloc::vec::Vec;

/// Units recognised from a family name's last component.
const UNITS: [&str; 8] = ["seconds", "bytes", "ratio", "meters", "grams", "celsius", "volts", "joules"];

pub(crate) fn write(snapshot: &Snapshot<'_>, prefix: &str, out: &mut Out<'_>) -> Result<(), RenderError> {
    for family in &snapshot.families {
        let name = snapshot.string(family.name);
        let family_name = match family.kind {
            MetricKind::Counter => name.strip_suffix("_total").filter(|n| !n.is_empty()).unwrap_or(name),
            _ => name,
        };
        write_descriptors(snapshot, family, prefix, family_name, out);
        match family.kind {
            MetricKind::Counter => write_value_samples(snapshot, family, prefix, family_name, "_total", out)?,
            MetricKind::Gauge => write_value_samples(snapshot, family, prefix, family_name, "", out)?,
            MetricKind::Histogram => {
                if let Some(histogram) = &family.histogram {
                    write_histogram_samples(snapshot, family, histogram, prefix, family_name, push_om_bound, out)?
                }
            }
        }
    }
    out.push(b"# EOF\n");
    Ok(())
}

fn write_descriptors(snapshot: &Snapshot<'_>, family: &Family<'_>, prefix: &str, name: &str, out: &mut Out<'_>) {
    out.push(b"# TYPE ");
    push_name(out, prefix, name, " ");
    out.push(family.kind.as_str().as_bytes());
    out.push_byte(b'\n');
    if let Some(unit) = UNITS.iter().find(|u| name.len() > u.len() + 1 && name.ends_with(*u) && name.as_bytes()[name.len() - u.len() - 1] == b'_') {
        out.push(b"# UNIT ");
        push_name(out, prefix, name, " ");
        out.push(unit.as_bytes());
        out.push_byte(b'\n');
    }
    if let Some(help) = family.help {
        out.push(b"# HELP ");
        push_name(out, prefix, name, " ");
        // OpenMetrics escapes help like a label value (`\\`, `\"`, newline).
        push_label_value(&mut out.buf, snapshot.string(help));
        out.push_byte(b'\n');
    }
}

fn push_om_bound(buf: &mut Vec<u8>, bound: f64) {
    let start = buf.len();
    push_prometheus_f64(buf, bound);
    if !buf[start..].iter().any(|b| matches!(b, b'.' | b'e' | b'E' | b'N' | b'I')) {
        buf.extend_from_slice(b".0");
    }
}
