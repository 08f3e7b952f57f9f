//! Prometheus remote write 1.0 (`prometheus.WriteRequest`) and 2.0
//! (`io.prometheus.write.v2.Request`) messages, each preceded by its length
//! as a varint, each the body of one request (the host snappy-compresses
//! and sends them one by one).
//!
//! 2.0 writes the same series and samples with its own layout: every
//! string goes once into the request's `symbols` table (`""` first), a
//! series names its labels by `labels_refs` into it, and each series
//! carries its family's metadata (type, `help_ref`) and, when the snapshot
//! has it, its `created_timestamp`.
//!
//! Every series becomes `TimeSeries` with one sample at the snapshot's
//! time, labels sorted by name with `__name__` among them, empty values
//! left out (remote write forbids them; Prometheus treats them as absent),
//! then the external labels a series does not carry itself. Histograms
//! with classic buckets become their `_bucket` (with `le`, `+Inf` the
//! count), `_sum` and `_count` series, summaries their `quantile`, `_sum`
//! and `_count` series, as a scrape would store them; native histograms go
//! in `TimeSeries.histograms` (integer counts). Each family's metadata
//! (type, help) rides in the request that carries its first series.
//!
//! A request holds at most `max_samples` samples (a native histogram counts
//! as one), so the host never sends more than a receiver was told to take.
//!
//! Stale markers: a host marks a series that disappeared since its last
//! push by giving it the value (counters, gauges) or the sum (histograms,
//! summaries) [`STALE_NAN_BITS`]; every sample of such a series is then
//! written as that NaN (a native histogram with it as its sum), which tells
//! a receiver the series ended at once, as a scrape's staleness does.
use crate::batch_driver::Formatter;
use crate::number::push_prometheus_f64;
use crate::output::Out;
use crate::proto_wire::{push_bytes, push_double, push_message, push_sint, push_uint, push_varint};
use crate::snapshot::{Batch, BucketSpan, Family, MetricKind, NativeBuckets};
use crate::RenderError;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Which remote write message to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// 1.0: `prometheus.WriteRequest`.
    V1,
    /// 2.0: `io.prometheus.write.v2.Request`.
    V2,
}

/// The string table of one 2.0 request.
#[derive(Default)]
struct Symbols {
    /// `symbols` fields, `""` first.
    encoded: Vec<u8>,
    index: BTreeMap<Vec<u8>, u32>,
}

impl Symbols {
    fn reference(&mut self, text: &[u8]) -> u32 {
        if self.index.is_empty() {
            push_bytes(&mut self.encoded, 4, b"");
            self.index.insert(Vec::new(), 0);
        }
        if let Some(&at) = self.index.get(text) {
            return at;
        }
        let at = self.index.len() as u32;
        push_bytes(&mut self.encoded, 4, text);
        self.index.insert(text.to_vec(), at);
        at
    }

    fn clear(&mut self) {
        self.encoded.clear();
        self.index.clear();
    }
}

/// Samples per request unless the options say otherwise (Prometheus' own
/// `max_samples_per_send`).
pub const DEFAULT_MAX_SAMPLES: usize = 2000;

/// `MetricMetadata.MetricType` values.
fn metadata_type(kind: MetricKind) -> u64 {
    match kind {
        MetricKind::Counter => 1,
        MetricKind::Gauge => 2,
        MetricKind::Histogram => 3,
        MetricKind::Summary => 5,
    }
}

/// Prometheus' stale marker: a NaN with these exact bits.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

fn is_stale(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// Label names and values of one series, sorted when written.
type Labels<'a> = Vec<(&'a [u8], &'a [u8])>;

pub(crate) struct RemoteWrite<'p> {
    version: Version,
    /// 2.0: the request's string table.
    symbols: Symbols,
    /// 2.0: the open family's type and help, written with each series.
    kind: MetricKind,
    help: Vec<u8>,
    prefix: &'p str,
    timestamp_ms: i64,
    max_samples: usize,
    /// External labels, (name, value), sorted by name.
    external: &'p [(&'p str, &'p str)],
    /// The request being gathered: `timeseries` and `metadata` fields.
    request: Vec<u8>,
    samples: usize,
    /// The open family's `MetricMetadata`, until its first series is written.
    metadata: Option<Vec<u8>>,
    /// The open family's sample names: `_bucket` (or the name), `_sum`,
    /// `_count`, and the name itself.
    names: [Vec<u8>; 4],
    /// The open family's `le` values (with `+Inf`) or quantiles, formatted.
    points: Vec<Vec<u8>>,
}

impl<'p> RemoteWrite<'p> {
    /// `external` must be sorted by name.
    pub(crate) fn new(
        version: Version,
        prefix: &'p str,
        timestamp_ms: i64,
        max_samples: usize,
        external: &'p [(&'p str, &'p str)],
    ) -> Self {
        RemoteWrite {
            version,
            symbols: Symbols::default(),
            kind: MetricKind::Gauge,
            help: Vec::new(),
            prefix,
            timestamp_ms,
            max_samples: max_samples.max(1),
            external,
            request: Vec::new(),
            samples: 0,
            metadata: None,
            names: Default::default(),
            points: Vec::new(),
        }
    }

    fn flush_request(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        if self.request.is_empty() {
            return Ok(());
        }
        let symbols: &[u8] = if self.version == Version::V2 { &self.symbols.encoded } else { &[] };
        push_varint(&mut out.buf, (symbols.len() + self.request.len()) as u64);
        for piece in symbols.chunks(crate::DEFAULT_CHUNK_BYTES).chain(self.request.chunks(crate::DEFAULT_CHUNK_BYTES)) {
            out.push(piece);
            out.flush_if_full()?;
        }
        self.request.clear();
        self.symbols.clear();
        self.samples = 0;
        Ok(())
    }

    /// Makes room for `samples` more, flushing the request if they would
    /// not fit (a series is never split over two requests).
    fn reserve(&mut self, samples: usize, out: &mut Out<'_>) -> Result<(), RenderError> {
        if self.samples > 0 && self.samples + samples > self.max_samples {
            self.flush_request(out)?;
        }
        if let Some(metadata) = self.metadata.take().filter(|_| self.version == Version::V1) {
            self.request.extend_from_slice(&metadata);
        }
        self.samples += samples;
        Ok(())
    }

    /// One `TimeSeries` with `labels` (plus `__name__` = `name` and the
    /// external labels it lacks) and either a float sample or a native
    /// histogram; 2.0 adds the family's metadata and `created_ms`.
    fn push_series<'l>(&mut self, name: &'l [u8], labels: &mut Labels<'l>, value: SeriesValue<'_>, created_ms: Option<i64>)
    where
        'p: 'l,
    {
        labels.push((b"__name__", name));
        labels.retain(|(_, value)| !value.is_empty());
        labels.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let own = labels.len();
        for &(label, value) in self.external {
            if labels[..own].binary_search_by(|l| l.0.cmp(label.as_bytes())).is_err() && !value.is_empty() {
                labels.push((label.as_bytes(), value.as_bytes()));
            }
        }
        if labels.len() > own {
            labels.sort_unstable_by(|a, b| a.0.cmp(b.0));
        }
        let timestamp_ms = self.timestamp_ms;
        if self.version == Version::V2 {
            let mut refs = Vec::with_capacity(labels.len() * 2);
            for (label, value) in labels.iter() {
                refs.push(self.symbols.reference(label));
                refs.push(self.symbols.reference(value));
            }
            let help_ref = self.symbols.reference(&self.help);
            let kind = self.kind;
            push_message(&mut self.request, 5, |series| {
                push_message(series, 1, |packed| refs.iter().for_each(|&r| push_varint(packed, u64::from(r))));
                push_value(series, 3, value, timestamp_ms);
                push_message(series, 5, |metadata| {
                    push_uint(metadata, 1, metadata_type(kind));
                    push_uint(metadata, 3, u64::from(help_ref));
                });
                if let Some(created) = created_ms.filter(|ms| *ms > 0) {
                    push_uint(series, 6, created as u64);
                }
            });
            return;
        }
        push_message(&mut self.request, 1, |series| {
            for (label, value) in labels.iter() {
                push_message(series, 1, |pair| {
                    push_bytes(pair, 1, label);
                    push_bytes(pair, 2, value);
                });
            }
            push_value(series, 4, value, timestamp_ms);
        });
    }
}

/// The series' own labels, in the family's order.
fn own_labels<'l>(labels: &mut Labels<'l>, names: &[&'l str], batch: &Batch<'l>, i: usize) {
    labels.clear();
    labels.extend(names.iter().enumerate().map(|(j, name)| (name.as_bytes(), batch.label(i, j))));
}

enum SeriesValue<'a> {
    Float(f64),
    Native { native: &'a NativeBuckets, count: u64, sum: f64 },
}

/// A series' one sample (`samples`, field 2 in both versions) or native
/// histogram (`histograms`: field 4 in 1.0, 3 in 2.0) at `timestamp_ms`.
fn push_value(series: &mut Vec<u8>, histogram_field: u8, value: SeriesValue<'_>, timestamp_ms: i64) {
    match value {
        SeriesValue::Float(value) => push_message(series, 2, |sample| {
            push_double(sample, 1, value);
            push_uint(sample, 2, timestamp_ms as u64);
        }),
        SeriesValue::Native { native, count, sum } => {
            push_message(series, histogram_field, |h| push_native_histogram(h, native, count, sum, timestamp_ms));
        }
    }
}

fn push_spans(buf: &mut Vec<u8>, field: u8, spans: &[BucketSpan]) {
    for span in spans {
        push_message(buf, field, |b| {
            push_sint(b, 1, span.offset as i64);
            push_uint(b, 2, span.length as u64);
        });
    }
}

/// `prometheus.Histogram` with integer counts; deltas as the snapshot
/// holds them (both index buckets by their upper bound).
fn push_native_histogram(buf: &mut Vec<u8>, native: &NativeBuckets, count: u64, sum: f64, timestamp_ms: i64) {
    push_uint(buf, 1, count);
    push_double(buf, 3, sum);
    push_sint(buf, 4, native.schema as i64);
    push_double(buf, 5, native.zero_threshold);
    push_uint(buf, 6, native.zero_count);
    push_spans(buf, 8, &native.negative_spans);
    if !native.negative_deltas.is_empty() {
        push_message(buf, 9, |packed| native.negative_deltas.iter().for_each(|&d| push_varint(packed, crate::proto_wire::zigzag(d))));
    }
    push_spans(buf, 11, &native.positive_spans);
    if !native.positive_deltas.is_empty() {
        push_message(buf, 12, |packed| native.positive_deltas.iter().for_each(|&d| push_varint(packed, crate::proto_wire::zigzag(d))));
    }
    push_uint(buf, 15, timestamp_ms as u64);
}

impl Formatter for RemoteWrite<'_> {
    fn family_start(&mut self, _index: usize, family: &Family<'_>, _out: &mut Out<'_>) -> Result<(), RenderError> {
        let mut name = Vec::with_capacity(self.prefix.len() + family.name.len());
        name.extend_from_slice(self.prefix.as_bytes());
        name.extend_from_slice(family.name.as_bytes());
        let mut metadata = Vec::new();
        push_message(&mut metadata, 3, |m| {
            push_uint(m, 1, metadata_type(family.kind));
            push_bytes(m, 2, &name);
            if let Some(help) = family.help {
                push_bytes(m, 4, help.as_bytes());
            }
        });
        self.metadata = Some(metadata);
        self.kind = family.kind;
        self.help.clear();
        self.help.extend_from_slice(family.help.unwrap_or("").as_bytes());
        let suffixed = |suffix: &[u8]| [&name[..], suffix].concat();
        self.names = match family.kind {
            MetricKind::Histogram => [suffixed(b"_bucket"), suffixed(b"_sum"), suffixed(b"_count"), name],
            MetricKind::Summary => [name.clone(), suffixed(b"_sum"), suffixed(b"_count"), name],
            _ => [name.clone(), Vec::new(), Vec::new(), name],
        };
        let formatted = |value: &f64| {
            let mut text = Vec::new();
            push_prometheus_f64(&mut text, *value);
            text
        };
        self.points = match family.kind {
            MetricKind::Histogram => family.bounds.iter().chain([f64::INFINITY].iter()).map(formatted).collect(),
            MetricKind::Summary => family.quantiles.iter().map(formatted).collect(),
            _ => Vec::new(),
        };
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        let names = core::mem::take(&mut self.names);
        let points = core::mem::take(&mut self.points);
        let mut labels: Labels<'_> = Vec::with_capacity(family.label_names.len() + self.external.len() + 2);
        for i in 0..batch.len() {
            match family.kind {
                MetricKind::Counter | MetricKind::Gauge => {
                    self.reserve(1, out)?;
                    own_labels(&mut labels, &family.label_names, batch, i);
                    self.push_series(&names[0], &mut labels, SeriesValue::Float(batch.value(i)), batch.created_ms(i));
                }
                MetricKind::Histogram => {
                    let stale = is_stale(batch.sum(i));
                    let float = |value: f64| SeriesValue::Float(if stale { f64::from_bits(STALE_NAN_BITS) } else { value });
                    let native = batch.native(i);
                    let classic = !family.bounds.is_empty() || native.is_none();
                    let samples = if classic { family.bounds.len() + 3 } else { 0 } + usize::from(native.is_some());
                    self.reserve(samples, out)?;
                    if let Some(native) = native {
                        own_labels(&mut labels, &family.label_names, batch, i);
                        let value = SeriesValue::Native { native, count: batch.count(i), sum: batch.sum(i) };
                        self.push_series(&names[3], &mut labels, value, batch.created_ms(i));
                    }
                    if classic {
                        let cumulative = batch.buckets(i);
                        for (k, le) in points.iter().enumerate() {
                            own_labels(&mut labels, &family.label_names, batch, i);
                            labels.push((b"le", le));
                            let count = cumulative.get(k).copied().unwrap_or(batch.count(i));
                            self.push_series(&names[0], &mut labels, float(count as f64), batch.created_ms(i));
                        }
                        own_labels(&mut labels, &family.label_names, batch, i);
                        self.push_series(&names[1], &mut labels, float(batch.sum(i)), batch.created_ms(i));
                        own_labels(&mut labels, &family.label_names, batch, i);
                        self.push_series(&names[2], &mut labels, float(batch.count(i) as f64), batch.created_ms(i));
                    }
                }
                MetricKind::Summary => {
                    let stale = is_stale(batch.sum(i));
                    let float = |value: f64| SeriesValue::Float(if stale { f64::from_bits(STALE_NAN_BITS) } else { value });
                    self.reserve(family.quantiles.len() + 2, out)?;
                    for (quantile, &value) in points.iter().zip(batch.quantile_values(i)) {
                        own_labels(&mut labels, &family.label_names, batch, i);
                        labels.push((b"quantile", quantile));
                        self.push_series(&names[0], &mut labels, float(value), batch.created_ms(i));
                    }
                    own_labels(&mut labels, &family.label_names, batch, i);
                    self.push_series(&names[1], &mut labels, float(batch.sum(i)), batch.created_ms(i));
                    own_labels(&mut labels, &family.label_names, batch, i);
                    self.push_series(&names[2], &mut labels, float(batch.count(i) as f64), batch.created_ms(i));
                }
            }
        }
        self.names = names;
        self.points = points;
        Ok(())
    }

    fn family_end(&mut self, _family: &Family<'_>, _out: &mut Out<'_>) -> Result<(), RenderError> {
        // A family without series sends no metadata either.
        self.metadata = None;
        Ok(())
    }

    fn end(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        self.flush_request(out)
    }
}
