//! Prometheus text exposition format 0.0.4.
//!
//! Each family is one contiguous group: `# HELP` (when there is help text),
//! `# TYPE`, then its samples. Histograms write `_bucket{le=...}` lines in
//! ascending order ending with `le="+Inf"` (equal to `_count`), then `_sum`
//! and `_count`; summaries a `{quantile=...}` line per quantile, then `_sum`
//! and `_count`. Native buckets and creation times have no 0.0.4 form.
use crate::batch_driver::Formatter;
use crate::escape::push_help;
use crate::names::push_metric_name;
use crate::number::push_prometheus_f64;
use crate::output::Out;
use crate::sample_line::{Flavour, SampleLines};
use crate::snapshot::{Batch, Family};
use crate::RenderError;

pub(crate) struct PrometheusText<'p> {
    prefix: &'p str,
    /// Lines of the open family.
    lines: Option<SampleLines>,
}

impl<'p> PrometheusText<'p> {
    pub(crate) fn new(prefix: &'p str) -> Self {
        PrometheusText { prefix, lines: None }
    }
}

impl Formatter for PrometheusText<'_> {
    fn family_start(&mut self, _index: usize, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        let name = [self.prefix, family.name].concat();
        if let Some(help) = family.help {
            out.push(b"# HELP ");
            push_metric_name(&mut out.buf, &name);
            out.push_byte(b' ');
            push_help(&mut out.buf, help);
            out.push_byte(b'\n');
        }
        out.push(b"# TYPE ");
        push_metric_name(&mut out.buf, &name);
        out.push_byte(b' ');
        out.push(family.kind.as_str().as_bytes());
        out.push_byte(b'\n');
        self.lines = Some(SampleLines::new(family, self.prefix, family.name, "", push_prometheus_f64, Flavour::Prometheus));
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.lines.as_ref().map_or(Ok(()), |lines| lines.write(family.kind, batch, out))
    }
}
