//! The plugin author's view of a render: callbacks per family and per
//! series ([`SeriesFormatter`]), each series with its labels as
//! `(&str, &str)` pairs and its values, and a [`Writer`] that buffers the
//! output and hands it to the host in chunks. Underneath is the same
//! checked batch walking the built-in formats use: a batch whose lengths
//! or offsets do not add up is refused before any callback sees it.
use crate::batch_driver::{drive, Formatter};
use crate::escape::{push_help, push_json_bytes, push_label_value};
use crate::number::{push_json_f64, push_prometheus_f64, push_u64};
use crate::output::{Out, Sink, DEFAULT_CHUNK_BYTES};
use crate::snapshot::{validate_families, Batch, BatchSource, Family, MetricKind, NativeBuckets};
use crate::RenderError;

/// A format written series by series. Every method but `series` has a
/// default that writes nothing.
pub trait SeriesFormatter {
    /// Before the first family.
    fn begin(&mut self, _out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
        Ok(())
    }
    /// Before the series of `family` (also for a family without series).
    fn family(&mut self, _family: &Family<'_>, _out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
        Ok(())
    }
    /// One series of `family`.
    fn series(&mut self, family: &Family<'_>, series: &Series<'_>, out: &mut Writer<'_, '_>) -> Result<(), RenderError>;
    /// After the last series of `family`.
    fn family_end(&mut self, _family: &Family<'_>, _out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
        Ok(())
    }
    /// After the last family.
    fn end(&mut self, _out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
        Ok(())
    }
}

/// Buffered output: what is written goes to the host in chunks of about
/// 64 KiB (between series, so a chunk never splits one). When the host
/// stops accepting output, the render ends with
/// [`RenderError::OutputClosed`] at the next series.
pub struct Writer<'w, 's> {
    out: &'w mut Out<'s>,
}

impl Writer<'_, '_> {
    /// Appends text as it is.
    pub fn str(&mut self, text: &str) -> &mut Self {
        self.out.push(text.as_bytes());
        self
    }

    /// Appends bytes as they are.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.push(bytes);
        self
    }

    /// Appends one byte.
    pub fn byte(&mut self, byte: u8) -> &mut Self {
        self.out.push_byte(byte);
        self
    }

    /// A number as Go writes floats (`NaN`, `+Inf`, `-Inf`, integers
    /// without a fraction, else the shortest round-trip form).
    pub fn f64(&mut self, value: f64) -> &mut Self {
        push_prometheus_f64(&mut self.out.buf, value);
        self
    }

    /// An unsigned integer.
    pub fn u64(&mut self, value: u64) -> &mut Self {
        push_u64(&mut self.out.buf, value);
        self
    }

    /// A Prometheus label value, escaped (`\\`, `\"`, `\n`), without quotes.
    pub fn label_value(&mut self, value: &str) -> &mut Self {
        push_label_value(&mut self.out.buf, value);
        self
    }

    /// Prometheus `# HELP` text, escaped (`\\`, `\n`).
    pub fn help(&mut self, help: &str) -> &mut Self {
        push_help(&mut self.out.buf, help);
        self
    }

    /// A JSON string, quoted and escaped.
    pub fn json_string(&mut self, text: &str) -> &mut Self {
        push_json_bytes(&mut self.out.buf, text.as_bytes());
        self
    }

    /// A JSON number (NaN and the infinities as the strings `"NaN"`, `"+Inf"`, `"-Inf"`).
    pub fn json_f64(&mut self, value: f64) -> &mut Self {
        push_json_f64(&mut self.out.buf, value);
        self
    }

    /// `text` with every byte listed in `escapes` replaced by its
    /// replacement (any other byte as it is): the helper for formats with
    /// rules of their own, e.g. InfluxDB line protocol's
    /// `[(b',', "\\,"), (b' ', "\\ "), (b'=', "\\=")]`.
    pub fn escaped(&mut self, text: &str, escapes: &[(u8, &str)]) -> &mut Self {
        let bytes = text.as_bytes();
        let mut start = 0;
        for (i, byte) in bytes.iter().enumerate() {
            if let Some((_, replacement)) = escapes.iter().find(|(b, _)| b == byte) {
                self.out.push(&bytes[start..i]);
                self.out.push(replacement.as_bytes());
                start = i + 1;
            }
        }
        self.out.push(&bytes[start..]);
        self
    }
}

/// One series of a batch, checked against its family.
pub struct Series<'b> {
    batch: &'b Batch<'b>,
    family: &'b Family<'b>,
    i: usize,
}

impl<'b> Series<'b> {
    /// Label `j`'s value (in the family's `label_names` order).
    pub fn label(&self, j: usize) -> &'b str {
        // SAFETY: `Batch::check` proved every label value ends on a character boundary.
        unsafe { core::str::from_utf8_unchecked(self.batch.label(self.i, j)) }
    }

    /// `(name, value)` of every label, in the family's order.
    pub fn labels(&self) -> impl Iterator<Item = (&'b str, &'b str)> + '_ {
        self.family.label_names.iter().enumerate().map(|(j, name)| (*name, self.label(j)))
    }

    /// Counters and gauges: the value. Histograms and summaries: the count.
    pub fn value(&self) -> f64 {
        match self.family.kind {
            MetricKind::Counter | MetricKind::Gauge => self.batch.value(self.i),
            MetricKind::Histogram | MetricKind::Summary => self.batch.count(self.i) as f64,
        }
    }

    /// Histograms and summaries: number of observations.
    pub fn count(&self) -> u64 {
        match self.family.kind {
            MetricKind::Histogram | MetricKind::Summary => self.batch.count(self.i),
            _ => 0,
        }
    }

    /// Histograms and summaries: sum of the observations.
    pub fn sum(&self) -> f64 {
        match self.family.kind {
            MetricKind::Histogram | MetricKind::Summary => self.batch.sum(self.i),
            _ => 0.0,
        }
    }

    /// Histograms: `(upper bound, cumulative count)` of every classic
    /// bucket, ending with `(+Inf, count)`.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let histogram = self.family.kind == MetricKind::Histogram;
        let finite = if histogram { self.batch.buckets(self.i) } else { &[] };
        let bounds = self.family.bounds.iter().copied().zip(finite.iter().copied());
        bounds.chain(histogram.then(|| (f64::INFINITY, self.batch.count(self.i))))
    }

    /// Summaries: `(quantile, value)` pairs.
    pub fn quantiles(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let values = if self.family.kind == MetricKind::Summary { self.batch.quantile_values(self.i) } else { &[] };
        self.family.quantiles.iter().copied().zip(values.iter().copied())
    }

    /// Native histograms: the exponential buckets.
    pub fn native(&self) -> Option<&'b NativeBuckets> {
        self.batch.native(self.i)
    }

    /// When the series was created, in ms since the Unix epoch, if known.
    pub fn created_ms(&self) -> Option<i64> {
        self.batch.created_ms(self.i)
    }
}

/// Drives a [`SeriesFormatter`] through the internal formatter interface.
struct Adapter<'f> {
    formatter: &'f mut dyn SeriesFormatter,
}

impl Formatter for Adapter<'_> {
    fn begin(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.formatter.begin(&mut Writer { out })
    }

    fn family_start(&mut self, _index: usize, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.formatter.family(family, &mut Writer { out })
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        for i in 0..batch.len() {
            self.formatter.series(family, &Series { batch, family, i }, &mut Writer { out })?;
            out.flush_if_full()?;
        }
        Ok(())
    }

    fn family_end(&mut self, family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.formatter.family_end(family, &mut Writer { out })
    }

    fn end(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.formatter.end(&mut Writer { out })
    }
}

/// Renders `families`, whose series `source` delivers, with `formatter`
/// into `sink`.
pub fn render_series(
    families: &[Family<'_>],
    source: &mut dyn BatchSource,
    formatter: &mut dyn SeriesFormatter,
    sink: &mut dyn Sink,
) -> Result<(), RenderError> {
    validate_families(families)?;
    let mut out = Out::new(sink, DEFAULT_CHUNK_BYTES);
    drive(families, source, &mut Adapter { formatter }, &mut out)?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::SeriesBatch;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A tiny line format: `name label=value,... value`.
    struct Lines;

    impl SeriesFormatter for Lines {
        fn series(&mut self, family: &Family<'_>, series: &Series<'_>, out: &mut Writer<'_, '_>) -> Result<(), RenderError> {
            out.str(family.name);
            for (name, value) in series.labels() {
                out.byte(b' ').str(name).byte(b'=').escaped(value, &[(b' ', "\\ "), (b'=', "\\=")]);
            }
            out.byte(b' ').f64(series.value()).byte(b'\n');
            Ok(())
        }
    }

    struct One(Option<(String, Vec<u32>, Vec<f64>)>);

    impl BatchSource for One {
        fn next_batch(&mut self, f: &mut dyn FnMut(&SeriesBatch<'_>) -> Result<(), RenderError>) -> Result<bool, RenderError> {
            let Some((text, ends, values)) = self.0.take() else { return Ok(false) };
            f(&SeriesBatch::of_values(0, &text, &ends, &values))?;
            Ok(true)
        }
    }

    #[test]
    fn series_callbacks_see_labels_as_pairs_and_values() {
        let families = [Family {
            name: "q",
            help: None,
            kind: MetricKind::Gauge,
            label_names: vec!["a", "b"],
            series: 2,
            bounds: &[],
            native: false,
            quantiles: &[],
        }];
        let mut out = Vec::new();
        let batch = ("x yü=z".into(), vec![3, 5, 7, 7], vec![1.5, f64::NAN]);
        render_series(&families, &mut One(Some(batch)), &mut Lines, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "q a=x\\ y b=ü 1.5\nq a=\\=z b= NaN\n");
    }
}
