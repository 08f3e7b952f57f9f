//! Prometheus' protobuf exposition: `io.prometheus.client.MetricFamily`
//! messages, each preceded by its length as a varint (`encoding=delimited`),
//! the format Prometheus asks for to scrape native histograms.
//!
//! Every series becomes a `Metric` with its labels and one of `counter`
//! (value, `created_timestamp`), `gauge`, `summary` (count, sum, quantiles,
//! `created_timestamp`) or `histogram` (count, sum, classic buckets without
//! `+Inf`, which readers add from the count; for native histograms schema,
//! zero threshold and count, spans and deltas; `created_timestamp`).
//!
//! A family's metrics are gathered into messages of about
//! [`MESSAGE_BYTES`]: a large family is written as several `MetricFamily`
//! messages with the same name, type and help (readers append their
//! metrics), so the renderer never holds a whole family. Families without
//! series are not written. Repeated scalar fields are written unpacked, as
//! the proto2 definition declares them.
use crate::batch_driver::Formatter;
use crate::output::Out;
use crate::proto_wire::{push_bytes, push_double, push_message, push_sint, push_uint, push_varint};
use crate::snapshot::{Batch, BucketSpan, Family, MetricKind, NativeBuckets};
use crate::RenderError;
use alloc::vec::Vec;

/// A family's metrics are flushed as a message once they pass this size.
const MESSAGE_BYTES: usize = 256 * 1024;

/// `MetricType` values.
fn metric_type(kind: MetricKind) -> u64 {
    match kind {
        MetricKind::Counter => 0,
        MetricKind::Gauge => 1,
        MetricKind::Summary => 2,
        MetricKind::Histogram => 4,
    }
}

/// `google.protobuf.Timestamp` from milliseconds since the epoch.
fn push_timestamp(buf: &mut Vec<u8>, field: u8, ms: i64) {
    push_message(buf, field, |b| {
        push_uint(b, 1, ms.div_euclid(1000) as u64);
        let nanos = ms.rem_euclid(1000) * 1_000_000;
        if nanos != 0 {
            push_uint(b, 2, nanos as u64);
        }
    });
}

fn push_spans(buf: &mut Vec<u8>, field: u8, spans: &[BucketSpan]) {
    for span in spans {
        push_message(buf, field, |b| {
            push_sint(b, 1, span.offset as i64);
            push_uint(b, 2, span.length as u64);
        });
    }
}

/// The native fields of a `Histogram`. A histogram without any bucket
/// gets an empty span, as client_golang writes it, so readers still see a
/// native histogram.
fn push_native(buf: &mut Vec<u8>, native: &NativeBuckets) {
    push_sint(buf, 5, native.schema as i64);
    push_double(buf, 6, native.zero_threshold);
    push_uint(buf, 7, native.zero_count);
    push_spans(buf, 9, &native.negative_spans);
    for &delta in &native.negative_deltas {
        push_sint(buf, 10, delta);
    }
    if native.positive_spans.is_empty() && native.negative_spans.is_empty() && native.zero_count == 0 {
        push_spans(buf, 12, &[BucketSpan { offset: 0, length: 0 }]);
    }
    push_spans(buf, 12, &native.positive_spans);
    for &delta in &native.positive_deltas {
        push_sint(buf, 13, delta);
    }
}

pub(crate) struct ProtobufDelimited<'p> {
    prefix: &'p str,
    /// `name`, `help` and `type` of the open family, encoded.
    header: Vec<u8>,
    /// `metric` fields gathered for the next message.
    metrics: Vec<u8>,
}

impl<'p> ProtobufDelimited<'p> {
    pub(crate) fn new(prefix: &'p str) -> Self {
        ProtobufDelimited { prefix, header: Vec::new(), metrics: Vec::new() }
    }

    /// Writes the gathered metrics as one `MetricFamily` message.
    fn flush_message(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        if self.metrics.is_empty() {
            return Ok(());
        }
        push_varint(&mut out.buf, (self.header.len() + self.metrics.len()) as u64);
        out.push(&self.header);
        for piece in self.metrics.chunks(crate::DEFAULT_CHUNK_BYTES) {
            out.push(piece);
            out.flush_if_full()?;
        }
        self.metrics.clear();
        Ok(())
    }

    fn push_metric(&mut self, family: &Family<'_>, batch: &Batch<'_>, i: usize) {
        push_message(&mut self.metrics, 4, |m| {
            for (j, name) in family.label_names.iter().enumerate() {
                push_message(m, 1, |pair| {
                    push_bytes(pair, 1, name.as_bytes());
                    push_bytes(pair, 2, batch.label(i, j));
                });
            }
            match family.kind {
                MetricKind::Gauge => push_message(m, 2, |g| push_double(g, 1, batch.value(i))),
                MetricKind::Counter => push_message(m, 3, |c| {
                    push_double(c, 1, batch.value(i));
                    if let Some(ms) = batch.created_ms(i) {
                        push_timestamp(c, 3, ms);
                    }
                }),
                MetricKind::Summary => push_message(m, 4, |s| {
                    push_uint(s, 1, batch.count(i));
                    push_double(s, 2, batch.sum(i));
                    for (&quantile, &value) in family.quantiles.iter().zip(batch.quantile_values(i)) {
                        push_message(s, 3, |q| {
                            push_double(q, 1, quantile);
                            push_double(q, 2, value);
                        });
                    }
                    if let Some(ms) = batch.created_ms(i) {
                        push_timestamp(s, 4, ms);
                    }
                }),
                MetricKind::Histogram => push_message(m, 7, |h| {
                    push_uint(h, 1, batch.count(i));
                    push_double(h, 2, batch.sum(i));
                    for (&bound, &cumulative) in family.bounds.iter().zip(batch.buckets(i)) {
                        push_message(h, 3, |b| {
                            push_uint(b, 1, cumulative);
                            push_double(b, 2, bound);
                        });
                    }
                    if let Some(native) = batch.native(i) {
                        push_native(h, native);
                    }
                    if let Some(ms) = batch.created_ms(i) {
                        push_timestamp(h, 15, ms);
                    }
                }),
            }
        });
    }
}

impl Formatter for ProtobufDelimited<'_> {
    fn family_start(&mut self, _index: usize, family: &Family<'_>, _out: &mut Out<'_>) -> Result<(), RenderError> {
        self.header.clear();
        self.metrics.clear();
        let name = [self.prefix, family.name].concat();
        push_bytes(&mut self.header, 1, name.as_bytes());
        if let Some(help) = family.help {
            push_bytes(&mut self.header, 2, help.as_bytes());
        }
        push_uint(&mut self.header, 3, metric_type(family.kind));
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        for i in 0..batch.len() {
            self.push_metric(family, batch, i);
            if self.metrics.len() >= MESSAGE_BYTES {
                self.flush_message(out)?;
            }
        }
        Ok(())
    }

    fn family_end(&mut self, _family: &Family<'_>, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.flush_message(out)
    }
}
