//! Native (sparse, exponential) histogram buckets, as Prometheus defines
//! them: at schema `s` the buckets grow by `base = 2^(2^-s)`; bucket `i`
//! holds `(base^(i-1), base^i]` (negative values: the mirror image), and
//! values within the zero threshold go to the zero bucket. Only buckets
//! that were hit exist. When a series has more buckets than its limit,
//! the schema drops by one, merging neighbouring buckets in pairs (as
//! client_golang does), so memory stays bounded whatever is observed.
use metrics_render_core::{BucketSpan, NativeBuckets, NATIVE_SCHEMAS};
use std::collections::BTreeMap;

/// How the native buckets of a histogram family are laid out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NativeHistogramOptions {
    /// Starting resolution, -4 to 8 (3: buckets about 9% wide).
    pub schema: i32,
    /// Observations with an absolute value up to this count as zero.
    pub zero_threshold: f64,
    /// Buckets a series may have before its resolution is halved.
    pub max_buckets: usize,
}

impl Default for NativeHistogramOptions {
    /// client_golang's defaults for the threshold; schema 3 and 160 buckets.
    fn default() -> Self {
        NativeHistogramOptions { schema: 3, zero_threshold: 2f64.powi(-128), max_buckets: 160 }
    }
}

impl NativeHistogramOptions {
    /// Why these options cannot be used, if they cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if !NATIVE_SCHEMAS.contains(&self.schema) {
            return Some(format!("native schema {} is outside -4..=8", self.schema));
        }
        if !(self.zero_threshold >= 0.0 && self.zero_threshold.is_finite()) {
            return Some(format!("native zero threshold {} is not a finite non-negative number", self.zero_threshold));
        }
        if self.max_buckets == 0 {
            return Some("native max_buckets must be at least 1".into());
        }
        None
    }
}

/// `(fraction, exponent)` with `value = fraction * 2^exponent` and
/// fraction in [0.5, 1), for finite positive `value` (C's `frexp`).
fn frexp(value: f64) -> (f64, i32) {
    let bits = value.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    if exponent == 0 {
        // Subnormal: scale into the normal range first.
        let (fraction, e) = frexp(value * 2f64.powi(64));
        return (fraction, e - 64);
    }
    let fraction = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (fraction, exponent - 1022)
}

/// For schemas 1 to 8: the bucket bounds within one power of two, as
/// fractions in [0.5, 1) (`0.5 * 2^(j / 2^schema)`), like client_golang's table.
fn fraction_bounds(schema: i32) -> &'static [f64] {
    static TABLES: std::sync::OnceLock<Vec<Vec<f64>>> = std::sync::OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        (1..=*NATIVE_SCHEMAS.end())
            .map(|s| {
                let per_power = 1 << s;
                (0..per_power).map(|j| 0.5 * 2f64.powf(j as f64 / per_power as f64)).collect()
            })
            .collect()
    });
    &tables[(schema - 1) as usize]
}

/// The bucket index of positive finite `value` at `schema`.
pub(crate) fn bucket_index(value: f64, schema: i32) -> i32 {
    let (fraction, exponent) = frexp(value);
    if schema > 0 {
        let bounds = fraction_bounds(schema);
        let j = bounds.partition_point(|&b| b < fraction) as i32;
        j + (exponent - 1) * bounds.len() as i32
    } else {
        let key = if fraction == 0.5 { exponent - 1 } else { exponent };
        let shift = -schema;
        (key + (1 << shift) - 1) >> shift
    }
}

/// The native buckets of one series.
#[derive(Debug)]
pub(crate) struct NativeState {
    schema: i32,
    zero_threshold: f64,
    max_buckets: usize,
    zero_count: u64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
}

impl NativeState {
    pub(crate) fn new(options: &NativeHistogramOptions) -> Self {
        NativeState {
            schema: options.schema,
            zero_threshold: options.zero_threshold,
            max_buckets: options.max_buckets,
            zero_count: 0,
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
        }
    }

    /// Counts `value` (NaN counts in no bucket, only in the histogram's count).
    pub(crate) fn observe(&mut self, value: f64) {
        if value.is_nan() {
            return;
        }
        let magnitude = value.abs().min(f64::MAX);
        if magnitude <= self.zero_threshold {
            self.zero_count += 1;
            return;
        }
        let index = bucket_index(magnitude, self.schema);
        let side = if value > 0.0 { &mut self.positive } else { &mut self.negative };
        *side.entry(index).or_insert(0) += 1;
        while self.positive.len() + self.negative.len() > self.max_buckets && self.schema > *NATIVE_SCHEMAS.start() {
            self.halve_resolution();
        }
    }

    /// Schema minus one: buckets `2j - 1` and `2j` become bucket `j`.
    fn halve_resolution(&mut self) {
        for side in [&mut self.positive, &mut self.negative] {
            let mut merged = BTreeMap::new();
            for (&index, &count) in side.iter() {
                *merged.entry((index + 1) >> 1).or_insert(0) += count;
            }
            *side = merged;
        }
        self.schema -= 1;
    }

    /// Drops every count (for a restore).
    pub(crate) fn reset(&mut self) {
        self.zero_count = 0;
        self.positive.clear();
        self.negative.clear();
    }

    /// The buckets in the contract's layout.
    pub(crate) fn read(&self) -> NativeBuckets {
        let (positive_spans, positive_deltas) = spans_and_deltas(&self.positive);
        let (negative_spans, negative_deltas) = spans_and_deltas(&self.negative);
        NativeBuckets {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            positive_spans,
            positive_deltas,
            negative_spans,
            negative_deltas,
        }
    }
}

/// Spans over consecutive indexes and count deltas, from ascending buckets.
fn spans_and_deltas(buckets: &BTreeMap<i32, u64>) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let mut next_index = None;
    let mut previous = 0i64;
    for (&index, &count) in buckets {
        match (next_index, spans.last_mut()) {
            (Some(next), Some(span)) if next == index => span.length += 1,
            (Some(next), _) => spans.push(BucketSpan { offset: index - next, length: 1 }),
            (None, _) => spans.push(BucketSpan { offset: index, length: 1 }),
        }
        next_index = Some(index + 1);
        deltas.push(count as i64 - previous);
        previous = count as i64;
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bucket `i` holds `(base^(i-1), base^i]`: check both edges.
    #[test]
    fn bucket_indexes_follow_the_upper_inclusive_bounds() {
        for schema in NATIVE_SCHEMAS {
            for i in -40..40 {
                let upper = 2f64.powf(i as f64 * 2f64.powi(-schema));
                if !(upper.is_finite() && upper > 0.0) {
                    continue;
                }
                assert_eq!(bucket_index(upper, schema), i, "schema {schema}: upper bound of bucket {i}");
                let inside = upper * (1.0 - 1e-9);
                assert_eq!(bucket_index(inside, schema), i, "schema {schema}: just below the bound of bucket {i}");
                let above = upper * (1.0 + 1e-9);
                assert_eq!(bucket_index(above, schema), i + 1, "schema {schema}: just above bucket {i}");
            }
        }
        // Known values at schema 3 (client_golang places 1.5 in bucket 5: 2^(5/8) = 1.542).
        assert_eq!(bucket_index(1.5, 3), 5);
        assert_eq!(bucket_index(1.0, 0), 0);
        assert_eq!(bucket_index(3.0, 0), 2);
        assert_eq!(bucket_index(f64::MIN_POSITIVE / 4.0, 0), -1024);
    }

    #[test]
    fn spans_and_deltas_match_prometheus_layout() {
        let mut state = NativeState::new(&NativeHistogramOptions { schema: 0, ..Default::default() });
        for v in [1.0, 1.0, 2.0, 16.0, -0.75, 0.0] {
            state.observe(v);
        }
        let read = state.read();
        assert_eq!(read.zero_count, 1);
        // Buckets 0 (two), 1 (one), 4 (one): spans {0,2},{2,1}.
        assert_eq!(read.positive_spans, vec![BucketSpan { offset: 0, length: 2 }, BucketSpan { offset: 2, length: 1 }]);
        assert_eq!(read.positive_deltas, vec![2, -1, 0]);
        assert_eq!(read.negative_spans, vec![BucketSpan { offset: 0, length: 1 }]);
        assert_eq!(read.negative_deltas, vec![1]);
        assert_eq!(read.check(), Ok(6));
    }

    #[test]
    fn too_many_buckets_halve_the_resolution_keeping_every_count() {
        let mut state = NativeState::new(&NativeHistogramOptions { schema: 8, max_buckets: 10, ..Default::default() });
        for i in 1..=1000 {
            state.observe(i as f64);
        }
        let read = state.read();
        assert!(read.schema < 8, "schema {}", read.schema);
        assert!(read.positive_deltas.len() <= 10);
        assert_eq!(read.check(), Ok(1000));
        // The largest value still falls in the last bucket.
        let base = 2f64.powf(2f64.powi(-read.schema));
        let last = read.positive_spans.iter().fold(0i32, |end, s| end + s.offset + s.length as i32) - 1;
        assert!(base.powi(last - 1) < 1000.0 && 1000.0 <= base.powi(last));
    }
}
