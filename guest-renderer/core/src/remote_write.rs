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
use crate::proto_wire::{
    push_bytes, push_double, push_message, push_sint, push_uint, push_varint, varint_len, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT,
};
use crate::snapshot::{Batch, BucketSpan, Family, MetricKind, NativeBuckets};
use crate::RenderError;
use alloc::vec::Vec;

/// Which remote write message to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// 1.0: `prometheus.WriteRequest`.
    V1,
    /// 2.0: `io.prometheus.write.v2.Request`.
    V2,
}

/// The string table of one 2.0 request: the `symbols` fields as written,
/// and an open-addressing index into them (no allocation per symbol; a
/// 1M-series push looks up ~6M strings).
#[derive(Default)]
struct Symbols {
    /// `symbols` fields, `""` first.
    encoded: Vec<u8>,
    /// Where each symbol's bytes are in `encoded`: (start, length).
    spans: Vec<(u32, u32)>,
    /// Symbol index + 1 per slot, 0 when empty; a power of two long,
    /// at most half full.
    slots: Vec<u32>,
}

/// FxHash over 8-byte words (the string's length mixed in last).
fn symbol_hash(text: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut hash = 0u64;
    let mut words = text.chunks_exact(8);
    for word in &mut words {
        hash = (hash.rotate_left(5) ^ u64::from_le_bytes(word.try_into().unwrap_or_default())).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    hash = (hash.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    (hash.rotate_left(5) ^ text.len() as u64).wrapping_mul(K)
}

impl Symbols {
    fn reference(&mut self, text: &[u8]) -> u32 {
        if self.spans.is_empty() && !text.is_empty() {
            // `""` is symbol 0 of every table.
            self.reference(b"");
        }
        if (self.spans.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut slot = (symbol_hash(text) >> 7) as usize & mask;
        loop {
            match self.slots[slot] {
                0 => break,
                taken => {
                    let (start, len) = self.spans[taken as usize - 1];
                    if &self.encoded[start as usize..(start + len) as usize] == text {
                        return taken - 1;
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
        push_bytes(&mut self.encoded, 4, text);
        self.spans.push(((self.encoded.len() - text.len()) as u32, text.len() as u32));
        self.slots[slot] = self.spans.len() as u32;
        self.spans.len() as u32 - 1
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(1024);
        self.slots.clear();
        self.slots.resize(size, 0);
        let mask = size - 1;
        for (index, &(start, len)) in self.spans.iter().enumerate() {
            let mut slot = (symbol_hash(&self.encoded[start as usize..(start + len) as usize]) >> 7) as usize & mask;
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = index as u32 + 1;
        }
    }

    fn clear(&mut self) {
        self.encoded.clear();
        self.spans.clear();
        self.slots.fill(0);
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
    /// The open family's label indices sorted by name, and where
    /// `__name__` goes among them: a series' labels are written sorted
    /// without sorting each one.
    order: Vec<usize>,
    name_at: usize,
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
            order: Vec::new(),
            name_at: 0,
        }
    }

    fn flush_request(&mut self, out: &mut Out<'_>) -> Result<(), RenderError> {
        if self.request.is_empty() {
            return Ok(());
        }
        let symbols: &[u8] = if self.version == Version::V2 { &self.symbols.encoded } else { &[] };
        push_varint(&mut out.buf, (symbols.len() + self.request.len()) as u64);
        out.push(symbols);
        out.write_through(&self.request)?;
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
    fn push_series<'l>(&mut self, labels: &mut Labels<'l>, value: SeriesValue<'_>, created_ms: Option<i64>)
    where
        'p: 'l,
    {
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
        if let SeriesValue::Float(value) = value {
            push_float_series_v1(&mut self.request, labels, value, timestamp_ms);
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

/// A 1.0 `TimeSeries` (field 1) with `labels` and one float sample, in
/// one pass: every length is computed first, so nothing is moved behind
/// its length and short strings are copied without a `memcpy` call (the
/// hot path of a push: one call per series).
fn push_float_series_v1(buf: &mut Vec<u8>, labels: &[(&[u8], &[u8])], value: f64, timestamp_ms: i64) {
    let pair_body =
        |name: &[u8], value: &[u8]| 2 + varint_len(name.len() as u64) + name.len() + varint_len(value.len() as u64) + value.len();
    let mut body = 0;
    for (name, value) in labels {
        let pair = pair_body(name, value);
        body += 1 + varint_len(pair as u64) + pair;
    }
    let sample = 1 + 8 + 1 + varint_len(timestamp_ms as u64);
    body += 1 + varint_len(sample as u64) + sample;
    let total = 1 + varint_len(body as u64) + body;
    buf.reserve(total);
    let start = buf.len();
    // SAFETY: `reserve` made room for `total` bytes after `start`, and the
    // writes below are exactly the `total` bytes counted above (the field
    // tags, varint lengths and bytes of the same labels and sample).
    unsafe {
        let mut out = RawCursor(buf.as_mut_ptr().add(start));
        out.byte(1 << 3 | WIRE_LEN);
        out.varint(body as u64);
        for (name, value) in labels {
            out.byte(1 << 3 | WIRE_LEN);
            out.varint(pair_body(name, value) as u64);
            out.byte(1 << 3 | WIRE_LEN);
            out.varint(name.len() as u64);
            out.bytes(name);
            out.byte(2 << 3 | WIRE_LEN);
            out.varint(value.len() as u64);
            out.bytes(value);
        }
        out.byte(2 << 3 | WIRE_LEN);
        out.varint(sample as u64);
        out.byte(1 << 3 | WIRE_FIXED64);
        out.bytes(&value.to_le_bytes());
        out.byte(2 << 3 | WIRE_VARINT);
        out.varint(timestamp_ms as u64);
        debug_assert_eq!(out.0, buf.as_mut_ptr().add(start + total));
        buf.set_len(start + total);
    }
}

/// Writes forward from a pointer into reserved capacity.
struct RawCursor(*mut u8);

impl RawCursor {
    /// # Safety
    /// One byte must be writable at the cursor.
    #[inline(always)]
    unsafe fn byte(&mut self, byte: u8) {
        // SAFETY: as the caller guarantees.
        unsafe {
            *self.0 = byte;
            self.0 = self.0.add(1);
        }
    }

    /// # Safety
    /// `varint_len(value)` bytes must be writable at the cursor.
    #[inline(always)]
    unsafe fn varint(&mut self, mut value: u64) {
        // SAFETY: as the caller guarantees.
        unsafe {
            while value >= 0x80 {
                self.byte(value as u8 | 0x80);
                value >>= 7;
            }
            self.byte(value as u8);
        }
    }

    /// # Safety
    /// `bytes.len()` bytes must be writable at the cursor, not overlapping `bytes`.
    #[inline(always)]
    unsafe fn bytes(&mut self, bytes: &[u8]) {
        // SAFETY: as the caller guarantees.
        unsafe {
            crate::fast_copy::copy_to(self.0, bytes);
            self.0 = self.0.add(bytes.len());
        }
    }
}

/// How a family's labels are written in order.
struct LabelOrder<'o, 'l> {
    /// Label indices sorted by name.
    order: &'o [usize],
    /// Where `__name__` goes among them.
    name_at: usize,
    names: &'o [&'l str],
}

impl<'l> LabelOrder<'_, 'l> {
    /// Series `i`'s labels sorted by name, with `__name__` = `name` and
    /// `extra` (`le`, `quantile`), empty values left out.
    fn fill(&self, labels: &mut Labels<'l>, batch: &Batch<'l>, i: usize, name: &'l [u8], extra: Option<(&'l [u8], &'l [u8])>) {
        labels.clear();
        for (k, &j) in self.order.iter().enumerate() {
            if k == self.name_at {
                labels.push((b"__name__", name));
            }
            let value = batch.label(i, j);
            if !value.is_empty() {
                labels.push((self.names[j].as_bytes(), value));
            }
        }
        if self.name_at == self.order.len() {
            labels.push((b"__name__", name));
        }
        if let Some((label, value)) = extra {
            let at = labels.partition_point(|l| l.0 < label);
            labels.insert(at, (label, value));
        }
    }
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
        self.order.clear();
        self.order.extend(0..family.label_names.len());
        self.order.sort_by(|&a, &b| family.label_names[a].as_bytes().cmp(family.label_names[b].as_bytes()));
        self.name_at = self.order.partition_point(|&j| family.label_names[j].as_bytes() < b"__name__".as_slice());
        Ok(())
    }

    fn series(&mut self, family: &Family<'_>, batch: &Batch<'_>, _first: u32, out: &mut Out<'_>) -> Result<(), RenderError> {
        let names = core::mem::take(&mut self.names);
        let points = core::mem::take(&mut self.points);
        let order = core::mem::take(&mut self.order);
        let sorted = LabelOrder { order: &order, name_at: self.name_at, names: &family.label_names };
        let mut labels: Labels<'_> = Vec::with_capacity(family.label_names.len() + self.external.len() + 2);
        for i in 0..batch.len() {
            match family.kind {
                MetricKind::Counter | MetricKind::Gauge => {
                    self.reserve(1, out)?;
                    sorted.fill(&mut labels, batch, i, &names[0], None);
                    self.push_series(&mut labels, SeriesValue::Float(batch.value(i)), batch.created_ms(i));
                }
                MetricKind::Histogram => {
                    let stale = is_stale(batch.sum(i));
                    let float = |value: f64| SeriesValue::Float(if stale { f64::from_bits(STALE_NAN_BITS) } else { value });
                    let native = batch.native(i);
                    let classic = !family.bounds.is_empty() || native.is_none();
                    let samples = if classic { family.bounds.len() + 3 } else { 0 } + usize::from(native.is_some());
                    self.reserve(samples, out)?;
                    if let Some(native) = native {
                        sorted.fill(&mut labels, batch, i, &names[3], None);
                        let value = SeriesValue::Native { native, count: batch.count(i), sum: batch.sum(i) };
                        self.push_series(&mut labels, value, batch.created_ms(i));
                    }
                    if classic {
                        let cumulative = batch.buckets(i);
                        for (k, le) in points.iter().enumerate() {
                            sorted.fill(&mut labels, batch, i, &names[0], Some((b"le", le)));
                            let count = cumulative.get(k).copied().unwrap_or(batch.count(i));
                            self.push_series(&mut labels, float(count as f64), batch.created_ms(i));
                        }
                        sorted.fill(&mut labels, batch, i, &names[1], None);
                        self.push_series(&mut labels, float(batch.sum(i)), batch.created_ms(i));
                        sorted.fill(&mut labels, batch, i, &names[2], None);
                        self.push_series(&mut labels, float(batch.count(i) as f64), batch.created_ms(i));
                    }
                }
                MetricKind::Summary => {
                    let stale = is_stale(batch.sum(i));
                    let float = |value: f64| SeriesValue::Float(if stale { f64::from_bits(STALE_NAN_BITS) } else { value });
                    self.reserve(family.quantiles.len() + 2, out)?;
                    for (quantile, &value) in points.iter().zip(batch.quantile_values(i)) {
                        sorted.fill(&mut labels, batch, i, &names[0], Some((b"quantile", quantile)));
                        self.push_series(&mut labels, float(value), batch.created_ms(i));
                    }
                    sorted.fill(&mut labels, batch, i, &names[1], None);
                    self.push_series(&mut labels, float(batch.sum(i)), batch.created_ms(i));
                    sorted.fill(&mut labels, batch, i, &names[2], None);
                    self.push_series(&mut labels, float(batch.count(i) as f64), batch.created_ms(i));
                }
            }
        }
        self.order = order;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings of `symbols` fields (tag 4, length-delimited), in order.
    fn decoded(mut encoded: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !encoded.is_empty() {
            assert_eq!(encoded[0], 4 << 3 | 2);
            let (mut len, mut at, mut shift) = (0usize, 1, 0);
            loop {
                len |= usize::from(encoded[at] & 0x7f) << shift;
                at += 1;
                shift += 7;
                if encoded[at - 1] < 0x80 {
                    break;
                }
            }
            out.push(encoded[at..at + len].to_vec());
            encoded = &encoded[at + len..];
        }
        out
    }

    #[test]
    fn the_one_pass_series_is_the_same_bytes_as_the_nested_encoding() {
        let long = [b'x'; 300];
        let cases: [&[(&[u8], &[u8])]; 4] = [
            &[(b"__name__", b"up")],
            &[(b"__name__", b"queue_size"), (b"queue", b"mx.example.com"), (b"tenant", b"")],
            &[(b"__name__", &long[..127]), (b"a", &long[..120]), (b"b", &long)],
            &[(b"__name__", &long[..60]), (b"q", &long[..64]), (b"r", &long[..65])],
        ];
        for labels in cases {
            for (value, timestamp) in [(1.5, 1_700_000_000_000i64), (f64::NAN, 0), (-0.0, 127), (1e300, 128)] {
                let mut one_pass = alloc::vec![9u8];
                push_float_series_v1(&mut one_pass, labels, value, timestamp);
                let mut nested = alloc::vec![9u8];
                push_message(&mut nested, 1, |series| {
                    for (label, value) in labels {
                        push_message(series, 1, |pair| {
                            push_bytes(pair, 1, label);
                            push_bytes(pair, 2, value);
                        });
                    }
                    push_value(series, 4, SeriesValue::Float(value), timestamp);
                });
                assert_eq!(one_pass, nested);
            }
        }
    }

    #[test]
    fn labels_come_out_sorted_with_the_name_and_extra_without_empty_values() {
        use crate::snapshot::SeriesBatch;
        let label_names = alloc::vec!["zeta", "Upper", "alpha", "__x", "quantile_", "a"];
        let family = Family {
            name: "f",
            help: None,
            kind: MetricKind::Gauge,
            label_names: label_names.clone(),
            series: 1,
            bounds: &[],
            native: false,
            quantiles: &[],
        };
        // Values: zeta=z, Upper=U, alpha="" (left out), __x=x, quantile_=q, a=A.
        let text = "zUxqA";
        let ends = [1u32, 2, 2, 3, 4, 5];
        let raw = SeriesBatch::of_values(0, text, &ends, &[1.0]);
        let batch = Batch::check(&raw, &family).unwrap();
        let mut order: Vec<usize> = (0..label_names.len()).collect();
        order.sort_by(|&a, &b| label_names[a].cmp(label_names[b]));
        let name_at = order.partition_point(|&j| label_names[j].as_bytes() < b"__name__".as_slice());
        let sorted = LabelOrder { order: &order, name_at, names: &label_names };
        let mut labels = Vec::new();
        for extra in [None, Some((b"le".as_slice(), b"0.5".as_slice())), Some((b"quantile".as_slice(), b"0.9".as_slice()))] {
            sorted.fill(&mut labels, &batch, 0, b"f", extra);
            let mut expected: Vec<(&[u8], &[u8])> = label_names
                .iter()
                .enumerate()
                .map(|(j, n)| (n.as_bytes(), batch.label(0, j)))
                .chain([(b"__name__".as_slice(), b"f".as_slice())])
                .chain(extra)
                .filter(|(_, v)| !v.is_empty())
                .collect();
            expected.sort();
            assert_eq!(labels, expected, "{extra:?}");
        }
    }

    #[test]
    fn symbols_start_with_the_empty_string_and_each_string_is_written_once() {
        let mut symbols = Symbols::default();
        let texts: Vec<Vec<u8>> = (0..5000u32).map(|i| alloc::format!("value-{}", i % 3001).into_bytes()).collect();
        let refs: Vec<u32> = texts.iter().map(|t| symbols.reference(t)).collect();
        assert_eq!(symbols.reference(b""), 0);
        let table = decoded(&symbols.encoded);
        assert_eq!(table[0], b"");
        assert_eq!(table.len(), 3002, "3001 distinct strings after the empty one");
        for (text, r) in texts.iter().zip(&refs) {
            assert_eq!(&table[*r as usize], text);
        }
        symbols.clear();
        assert_eq!(symbols.reference(b"again"), 1);
        assert_eq!(decoded(&symbols.encoded), [b"".to_vec(), b"again".to_vec()]);
    }
}
