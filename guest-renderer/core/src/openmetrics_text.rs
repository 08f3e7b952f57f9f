//! OpenMetrics 1.0 text.
//!
//! Differences from Prometheus text 0.0.4: counter samples carry the
//! `_total` suffix while the family name does not (a registry name that
//! already ends in `_total` loses it in `# TYPE`/`# HELP`); `# HELP` also
//! escapes `"`; `# UNIT` is written when the name ends in a known unit
//! (`_seconds`, `_bytes`, ...); counters, histograms and summaries whose
//! creation time is known get a `_created` sample; the body ends with `# EOF`.
use crate::batch_driver::Formatter;
use crate::escape::push_label_value;
use crate::names::push_metric_name;
use crate::number::push_prometheus_f64;
use crate::output::Out;
use crate::sample_line::{Flavour, SampleLines};
use crate::snapshot::{Batch, Family, MetricKind};
use crate::RenderError;
use alloc::vec::Vec;

/// Units recognised from a family name's last component.
const UNITS: [&str; 8] = ["seconds", "bytes", "ratio", "meters", "grams", "celsius", "volts", "joules"];

pub(crate) struct OpenMetricsText<'p> {
    prefix: &'p str,
    /// Lines of the open family.
    lines: Option<SampleLines>,
}

impl<'p> OpenMetricsText<'p> {
    pub(crate) fn new(prefix: &'p str) -> Self {
        OpenMetricsText { prefix, lines: None }
    }

    fn push_name(&self, out: &mut Out<'_>, name: &str) {
        push_metric_name(&mut out.buf, &[self.prefix, name].concat());
        out.push_byte(b' ');
    }
}

impl Formatter for OpenMetricsText<'_> {
    fn family_start(&mut self, _index: usize, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        let name = match family.kind {
            MetricKind::Counter => family.name.strip_suffix("_total").filter(|n| !n.is_empty()).unwrap_or(family.name),
            _ => family.name,
        };
        out.push(b"# TYPE ");
        self.push_name(out, name);
        out.push(family.kind.as_str().as_bytes());
        out.push_byte(b'\n');
        if let Some(unit) =
            UNITS.iter().find(|u| name.len() > u.len() + 1 && name.ends_with(*u) && name.as_bytes()[name.len() - u.len() - 1] == b'_')
        {
            out.push(b"# UNIT ");
            self.push_name(out, name);
            out.push(unit.as_bytes());
            out.push_byte(b'\n');
        }
        if let Some(help) = family.help {
            out.push(b"# HELP ");
            self.push_name(out, name);
            // OpenMetrics escapes help like a label value (`\\`, `\"`, newline).
            push_label_value(&mut out.buf, help);
            out.push_byte(b'\n');
        }
        let suffix = if family.kind == MetricKind::Counter { "_total" } else { "" };
        self.lines = Some(SampleLines::new(family, self.prefix, name, suffix, push_om_bound, Flavour::OpenMetrics));
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.lines.as_ref().map_or(Ok(()), |lines| lines.write(family.kind, batch, out))
    }

    fn end(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        out.push(b"# EOF\n");
        Ok(())
    }
}

fn push_om_bound(buf: &mut Vec<u8>, bound: f64) {
    let start = buf.len();
    push_prometheus_f64(buf, bound);
    if !buf[start..].iter().any(|b| matches!(b, b'.' | b'e' | b'E' | b'N' | b'I')) {
        buf.extend_from_slice(b".0");
    }
}
