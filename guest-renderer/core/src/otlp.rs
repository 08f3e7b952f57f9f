//! OpenTelemetry's OTLP metrics: `ExportMetricsServiceRequest` messages,
//! each preceded by its length as a varint, each the body of one request
//! (the host gzips and posts them one by one, as OTLP/HTTP does).
//!
//! One request holds one `ResourceMetrics` (attributes: the external
//! labels) with one `ScopeMetrics` (scope `metrics-host`) and at most
//! `max_points` data points. A family is one `Metric` (its name with the
//! prefix, its help as the description); one split over two requests is
//! repeated in the second with the rest of its points. Every series is a
//! data point at the snapshot's time with its labels as string attributes
//! (empty values left out, as Prometheus treats them as absent):
//! - counters: a monotonic cumulative `Sum`, `start_time_unix_nano` from
//!   the series' creation time when the snapshot has one;
//! - gauges: a `Gauge`;
//! - histograms with classic buckets only: an explicit-bucket `Histogram`
//!   (per-bucket counts, the last one above the highest bound);
//! - native histograms: an `ExponentialHistogram` (scale = schema, zero
//!   threshold and count). Prometheus indexes a bucket by its upper bound,
//!   `(base^(i-1), base^i]`, OTLP by its lower one, `(base^i, base^(i+1)]`,
//!   so each offset is the Prometheus index minus one; the sparse spans
//!   become dense counts (gaps as zeros);
//! - summaries: a `Summary` (count, sum, quantiles).
//!
//! Temporality is cumulative only: what the registry holds, and what
//! Prometheus-side consumers accept.
use crate::batch_driver::Formatter;
use crate::output::Out;
use crate::proto_wire::{push_bytes, push_double, push_fixed64, push_message, push_sint, push_uint, push_varint};
use crate::snapshot::{Batch, BucketSpan, Family, MetricKind, NativeBuckets};
use crate::RenderError;
use alloc::vec::Vec;

/// Data points per request unless the options say otherwise.
pub const DEFAULT_MAX_POINTS: usize = 2000;

/// The widest run of bucket indices one side of an exponential histogram
/// may cover once made dense (schema 8 from 1e-9 to 1e9 needs ~15,400).
pub const MAX_DENSE_BUCKETS: i64 = 1 << 16;

/// `AGGREGATION_TEMPORALITY_CUMULATIVE`.
const CUMULATIVE: u64 = 2;

/// The scope every metric is reported under.
const SCOPE_NAME: &[u8] = b"metrics-host";

/// `Metric` fields of the data kinds.
const GAUGE: u8 = 5;
const SUM: u8 = 7;
const HISTOGRAM: u8 = 9;
const EXPONENTIAL_HISTOGRAM: u8 = 10;
const SUMMARY: u8 = 11;

pub(crate) struct Otlp<'p> {
    prefix: &'p str,
    time_nano: u64,
    max_points: usize,
    /// The `Resource` message body (its attributes).
    resource: Vec<u8>,
    /// `ScopeMetrics.metrics` fields of the request being gathered.
    metrics: Vec<u8>,
    points_in_request: usize,
    /// The open family: its `Metric` field holding the data, and the
    /// `data_points` fields gathered for it in this request.
    data_field: u8,
    name: Vec<u8>,
    help: Vec<u8>,
    points: Vec<u8>,
}

/// A `KeyValue` with a string value, as field `field`.
fn push_attribute(buf: &mut Vec<u8>, field: u8, key: &[u8], value: &[u8]) {
    push_message(buf, field, |kv| {
        push_bytes(kv, 1, key);
        push_message(kv, 2, |any| push_bytes(any, 1, value));
    });
}

impl<'p> Otlp<'p> {
    pub(crate) fn new(prefix: &'p str, timestamp_ms: i64, max_points: usize, external: &[(&str, &str)]) -> Self {
        let mut resource = Vec::new();
        for (key, value) in external {
            push_attribute(&mut resource, 1, key.as_bytes(), value.as_bytes());
        }
        Otlp {
            prefix,
            time_nano: nanos(timestamp_ms),
            max_points: max_points.max(1),
            resource,
            metrics: Vec::new(),
            points_in_request: 0,
            data_field: GAUGE,
            name: Vec::new(),
            help: Vec::new(),
            points: Vec::new(),
        }
    }

    /// Moves the open family's gathered points into the request as a `Metric`.
    fn close_metric(&mut self) {
        if self.points.is_empty() {
            return;
        }
        let (name, help, points, field) = (&self.name, &self.help, &self.points, self.data_field);
        push_message(&mut self.metrics, 2, |metric| {
            push_bytes(metric, 1, name);
            if !help.is_empty() {
                push_bytes(metric, 2, help);
            }
            push_message(metric, field, |data| {
                data.extend_from_slice(points);
                if matches!(field, SUM | HISTOGRAM | EXPONENTIAL_HISTOGRAM) {
                    push_uint(data, 2, CUMULATIVE);
                }
                if field == SUM {
                    push_uint(data, 3, 1);
                }
            });
        });
        self.points.clear();
    }

    fn flush_request(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.close_metric();
        if self.metrics.is_empty() {
            return Ok(());
        }
        let mut request = Vec::with_capacity(self.metrics.len() + self.resource.len() + 32);
        push_message(&mut request, 1, |resource_metrics| {
            push_message(resource_metrics, 1, |resource| resource.extend_from_slice(&self.resource));
            push_message(resource_metrics, 2, |scope_metrics| {
                push_message(scope_metrics, 1, |scope| push_bytes(scope, 1, SCOPE_NAME));
                scope_metrics.extend_from_slice(&self.metrics);
            });
        });
        push_varint(&mut out.buf, request.len() as u64);
        for piece in request.chunks(crate::DEFAULT_CHUNK_BYTES) {
            out.push(piece);
            out.flush_if_full()?;
        }
        self.metrics.clear();
        self.points_in_request = 0;
        Ok(())
    }
}

fn nanos(ms: i64) -> u64 {
    (ms.max(0) as u64).saturating_mul(1_000_000)
}

/// The fields every data point starts with: attributes (field
/// `attributes_field`), start time (when known) and time.
fn push_point_head(buf: &mut Vec<u8>, attributes_field: u8, family: &Family<'_>, batch: &Batch<'_>, i: usize, time_nano: u64) {
    for (j, name) in family.label_names.iter().enumerate() {
        let value = batch.label(i, j);
        if !value.is_empty() {
            push_attribute(buf, attributes_field, name.as_bytes(), value);
        }
    }
    if let Some(created) = batch.created_ms(i).filter(|ms| *ms > 0) {
        push_fixed64(buf, 2, nanos(created));
    }
    push_fixed64(buf, 3, time_nano);
}

/// Prometheus' sparse buckets as OTLP's dense ones: (offset, counts), the
/// offset shifted by one from upper-bound to lower-bound indexing.
fn dense_buckets(spans: &[BucketSpan], deltas: &[i64]) -> Result<(i64, Vec<u64>), RenderError> {
    let mut indexed = Vec::with_capacity(deltas.len());
    let (mut index, mut count, mut k) = (0i64, 0i64, 0usize);
    for span in spans {
        index += i64::from(span.offset);
        for _ in 0..span.length {
            count += deltas.get(k).copied().unwrap_or(0);
            k += 1;
            indexed.push((index, count.max(0) as u64));
            index += 1;
        }
    }
    let (Some(&(first, _)), Some(&(last, _))) = (indexed.first(), indexed.last()) else {
        return Ok((0, Vec::new()));
    };
    if last - first + 1 > MAX_DENSE_BUCKETS {
        return Err(RenderError::Failed(alloc::format!(
            "a native histogram's buckets span {} indices; OTLP's dense buckets take at most {MAX_DENSE_BUCKETS}",
            last - first + 1
        )));
    }
    let mut dense = alloc::vec![0u64; (last - first + 1) as usize];
    for (index, count) in indexed {
        dense[(index - first) as usize] = count;
    }
    Ok((first - 1, dense))
}

fn push_buckets(buf: &mut Vec<u8>, field: u8, offset: i64, counts: &[u64]) {
    if counts.is_empty() {
        return;
    }
    push_message(buf, field, |b| {
        push_sint(b, 1, offset);
        push_message(b, 2, |packed| counts.iter().for_each(|&c| push_varint(packed, c)));
    });
}

fn push_exponential(buf: &mut Vec<u8>, native: &NativeBuckets, count: u64, sum: f64) -> Result<(), RenderError> {
    push_fixed64(buf, 4, count);
    push_double(buf, 5, sum);
    push_sint(buf, 6, i64::from(native.schema));
    push_fixed64(buf, 7, native.zero_count);
    let (offset, counts) = dense_buckets(&native.positive_spans, &native.positive_deltas)?;
    push_buckets(buf, 8, offset, &counts);
    let (offset, counts) = dense_buckets(&native.negative_spans, &native.negative_deltas)?;
    push_buckets(buf, 9, offset, &counts);
    push_double(buf, 14, native.zero_threshold);
    Ok(())
}

impl Formatter for Otlp<'_> {
    fn family_start(&mut self, _index: usize, family: &Family<'_>, _out: &mut Out<'_>) -> Result<(), RenderError> {
        self.name.clear();
        self.name.extend_from_slice(self.prefix.as_bytes());
        self.name.extend_from_slice(family.name.as_bytes());
        self.help.clear();
        self.help.extend_from_slice(family.help.unwrap_or("").as_bytes());
        self.data_field = match family.kind {
            MetricKind::Counter => SUM,
            MetricKind::Gauge => GAUGE,
            MetricKind::Histogram if family.native => EXPONENTIAL_HISTOGRAM,
            MetricKind::Histogram => HISTOGRAM,
            MetricKind::Summary => SUMMARY,
        };
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        let time_nano = self.time_nano;
        for i in 0..batch.len() {
            if self.points_in_request >= self.max_points {
                self.flush_request(out)?;
            }
            self.points_in_request += 1;
            let mut failed = None;
            push_message(&mut self.points, 1, |point| match family.kind {
                MetricKind::Counter | MetricKind::Gauge => {
                    push_point_head(point, 7, family, batch, i, time_nano);
                    push_double(point, 4, batch.value(i));
                }
                MetricKind::Histogram => {
                    push_point_head(point, if family.native { 1 } else { 9 }, family, batch, i, time_nano);
                    match batch.native(i).filter(|_| family.native) {
                        Some(native) => failed = push_exponential(point, native, batch.count(i), batch.sum(i)).err(),
                        None => {
                            let count = batch.count(i);
                            push_fixed64(point, 4, count);
                            push_double(point, 5, batch.sum(i));
                            let cumulative = batch.buckets(i);
                            push_message(point, 6, |packed| {
                                let mut below = 0u64;
                                for &at_or_below in cumulative.iter().chain(core::iter::once(&count)) {
                                    packed.extend_from_slice(&at_or_below.saturating_sub(below).to_le_bytes());
                                    below = below.max(at_or_below);
                                }
                            });
                            push_message(point, 7, |packed| family.bounds.iter().for_each(|b| packed.extend_from_slice(&b.to_le_bytes())));
                        }
                    }
                }
                MetricKind::Summary => {
                    push_point_head(point, 7, family, batch, i, time_nano);
                    push_fixed64(point, 4, batch.count(i));
                    push_double(point, 5, batch.sum(i));
                    for (&quantile, &value) in family.quantiles.iter().zip(batch.quantile_values(i)) {
                        push_message(point, 6, |q| {
                            push_double(q, 1, quantile);
                            push_double(q, 2, value);
                        });
                    }
                }
            });
            if let Some(error) = failed {
                return Err(error);
            }
        }
        Ok(())
    }

    fn family_end(&mut self, _family: &Family<'_>, _out: &mut Out<'_>) -> Result<(), RenderError> {
        self.close_metric();
        Ok(())
    }

    fn end(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.flush_request(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_spans_become_dense_counts_indexed_by_lower_bound() {
        // Prometheus buckets 2, 3 (counts 1, 3), a gap of two, bucket 6 (count 2).
        let spans = [BucketSpan { offset: 2, length: 2 }, BucketSpan { offset: 2, length: 1 }];
        let (offset, counts) = dense_buckets(&spans, &[1, 2, -1]).unwrap();
        assert_eq!((offset, counts), (1, alloc::vec![1, 3, 0, 0, 2]));
        assert_eq!(dense_buckets(&[], &[]).unwrap(), (0, Vec::new()));
    }

    #[test]
    fn buckets_too_far_apart_are_refused_instead_of_allocated() {
        let spans = [BucketSpan { offset: 0, length: 1 }, BucketSpan { offset: i32::MAX, length: 1 }];
        assert!(matches!(dense_buckets(&spans, &[1, 0]), Err(RenderError::Failed(_))));
    }
}
