//! Prometheus text exposition format 0.0.4.
//!
//! Each family is one contiguous group: `# HELP` (when there is help text),
//! `# TYPE`, then its samples. Histograms write `_bucket{le=...}` lines in
//! ascending order ending with `le="+Inf"` (equal to `_count`), then `_sum`
//! and `_count`.
use crate::escape::push_help;
use crate::sample_line::{push_name, write_histogram_samples, write_value_samples};
use crate::number::push_prometheus_f64;
use crate::output::Out;
use crate::snapshot::{Family, Snapshot};
use crate::RenderError;

pub(crate) fn write(snapshot: &Snapshot<'_>, prefix: &str, out: &mut Out<'_>) -> Result<(), RenderError> {
    for family in &snapshot.families {
        let name = snapshot.string(family.name);
        write_header(snapshot, family, prefix, name, out);
        match &family.histogram {
            Some(histogram) => write_histogram_samples(snapshot, family, histogram, prefix, name, push_prometheus_f64, out)?,
            None => write_value_samples(snapshot, family, prefix, name, "", out)?,
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

