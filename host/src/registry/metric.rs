//! The metric cells: lock-free counters, gauges and histograms, and summaries.
//!
//! Updates are single atomic operations (a compare-and-swap loop for float
//! additions); nothing on the update path takes a lock or allocates, except
//! for native histograms (an uncontended per-series lock around their
//! sparse buckets, which allocate when a new bucket is first hit) and
//! summaries (set as a whole under a per-series lock, so a snapshot never
//! sees half an update).
use super::native_histogram::{NativeHistogramOptions, NativeState};
use metrics_render_core::NativeBuckets;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A monotonically increasing integer total.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Raises the total to `value` if it is below (a counter never goes
    /// down): for totals counted elsewhere.
    #[inline]
    pub fn raise_to(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that can go up and down, stored as f64 bits.
#[derive(Clone, Debug, Default)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds `delta` (negative to subtract).
    #[inline]
    pub fn add(&self, delta: f64) {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + delta).to_bits();
            match self.0.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// Observations counted into fixed buckets, and for native histograms
/// also into exponential buckets.
#[derive(Clone, Debug)]
pub struct Histogram(Arc<HistogramCell>);

#[derive(Debug)]
pub(crate) struct HistogramCell {
    /// Finite upper bounds, ascending; shared by the family.
    pub(crate) bounds: Arc<[f64]>,
    /// Non-cumulative counts, one per bound plus one for `+Inf`.
    buckets: Box<[AtomicU64]>,
    /// Sum of observations, as f64 bits.
    sum: AtomicU64,
    /// Native histograms: the exponential buckets.
    native: Option<Mutex<NativeState>>,
}

/// A histogram read at one instant: cumulative buckets whose last entry is the count.
pub(crate) struct HistogramReading {
    pub(crate) sum: f64,
    pub(crate) count: u64,
}

impl Histogram {
    pub(crate) fn new(bounds: Arc<[f64]>, native: Option<&NativeHistogramOptions>) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        let native = native.map(|options| Mutex::new(NativeState::new(options)));
        Histogram(Arc::new(HistogramCell { bounds, buckets, sum: AtomicU64::new(0f64.to_bits()), native }))
    }

    /// Records one observation. NaN is counted in the `+Inf` bucket (and
    /// in no native bucket).
    #[inline]
    pub fn observe(&self, value: f64) {
        let cell = &self.0;
        let index = if value.is_nan() { cell.bounds.len() } else { cell.bounds.partition_point(|&b| b < value) };
        // Classic buckets first: a snapshot reads the native ones first,
        // so it never sees more native observations than the count.
        cell.buckets[index].fetch_add(1, Ordering::Relaxed);
        if let Some(native) = &cell.native {
            native.lock().unwrap_or_else(|e| e.into_inner()).observe(value);
        }
        let mut current = cell.sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            match cell.sum.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Appends the cumulative bucket counts (one per finite bound) to `out`
    /// and returns sum and count. The count is derived from the buckets read,
    /// so the `+Inf` bucket always equals the count and buckets never decrease.
    pub(crate) fn read_into(&self, out: &mut Vec<u64>) -> HistogramReading {
        let mut cumulative = 0u64;
        let finite = self.0.bounds.len();
        for (i, bucket) in self.0.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            if i < finite {
                out.push(cumulative);
            }
        }
        HistogramReading { sum: f64::from_bits(self.0.sum.load(Ordering::Relaxed)), count: cumulative }
    }

    /// The native buckets, read before [`Histogram::read_into`] (see `observe`).
    pub(crate) fn read_native(&self) -> Option<NativeBuckets> {
        self.0.native.as_ref().map(|native| native.lock().unwrap_or_else(|e| e.into_inner()).read())
    }

    /// Changes whenever an observation is recorded (count and sum).
    pub(crate) fn fingerprint(&self) -> u64 {
        let count: u64 = self.0.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum();
        count ^ self.0.sum.load(Ordering::Relaxed).rotate_left(17)
    }

    /// Replaces the state with cumulative bucket counts, a total and a sum,
    /// as read from a metrics.json file.
    pub(crate) fn restore(&self, cumulative: &[u64], count: u64, sum: f64) {
        let mut previous = 0;
        for (bucket, &c) in self.0.buckets.iter().zip(cumulative) {
            bucket.store(c.saturating_sub(previous), Ordering::Relaxed);
            previous = c;
        }
        self.0.buckets[self.0.bounds.len()].store(count.saturating_sub(previous), Ordering::Relaxed);
        self.0.sum.store(sum.to_bits(), Ordering::Relaxed);
        if let Some(native) = &self.0.native {
            native.lock().unwrap_or_else(|e| e.into_inner()).reset();
        }
    }
}

/// Quantiles computed elsewhere (an upstream exporter, a sketch in the
/// application), with the sum and count of the observations: set as a
/// whole, read as a whole.
#[derive(Clone, Debug)]
pub struct Summary(Arc<SummaryCell>);

#[derive(Debug)]
pub(crate) struct SummaryCell {
    /// The quantiles, ascending in [0, 1]; shared by the family.
    pub(crate) quantiles: Arc<[f64]>,
    state: Mutex<SummaryReading>,
}

/// A summary read at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SummaryReading {
    /// One value per quantile of the family.
    pub(crate) values: Vec<f64>,
    pub(crate) sum: f64,
    pub(crate) count: u64,
}

impl Summary {
    pub(crate) fn new(quantiles: Arc<[f64]>) -> Self {
        let state = SummaryReading { values: vec![f64::NAN; quantiles.len()], sum: 0.0, count: 0 };
        Summary(Arc::new(SummaryCell { quantiles, state: Mutex::new(state) }))
    }

    /// The family's quantiles, in the order [`Summary::set`] takes values.
    pub fn quantiles(&self) -> &[f64] {
        &self.0.quantiles
    }

    /// Sets every quantile's value (in the order of [`Summary::quantiles`];
    /// missing ones become NaN, extra ones are ignored), the sum and the count.
    pub fn set(&self, values: &[f64], sum: f64, count: u64) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        for (i, slot) in state.values.iter_mut().enumerate() {
            *slot = values.get(i).copied().unwrap_or(f64::NAN);
        }
        state.sum = sum;
        state.count = count;
    }

    pub(crate) fn read(&self) -> SummaryReading {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes whenever [`Summary::set`] changes something.
    pub(crate) fn fingerprint(&self) -> u64 {
        let state = self.read();
        state.values.iter().fold(state.count ^ state.sum.to_bits().rotate_left(17), |h, v| h.rotate_left(5) ^ v.to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_with_le_semantics() {
        let h = Histogram::new(Arc::from(vec![1.0, 2.0]), None);
        for v in [0.5, 1.0, 1.5, 3.0, f64::NAN] {
            h.observe(v);
        }
        let mut buckets = Vec::new();
        let reading = h.read_into(&mut buckets);
        assert_eq!(buckets, vec![2, 3]);
        assert_eq!(reading.count, 5);
        assert!(reading.sum.is_nan());
    }

    #[test]
    fn histogram_restore_round_trips() {
        let h = Histogram::new(Arc::from(vec![1.0, 2.0]), None);
        h.restore(&[2, 3], 7, 12.5);
        let mut buckets = Vec::new();
        let reading = h.read_into(&mut buckets);
        assert_eq!((buckets, reading.count, reading.sum), (vec![2, 3], 7, 12.5));
    }

    #[test]
    fn native_buckets_never_hold_more_than_the_count() {
        let h = Histogram::new(Arc::from(vec![1.0]), Some(&NativeHistogramOptions::default()));
        for v in [0.5, 2.0, -3.0, 0.0, f64::NAN] {
            h.observe(v);
        }
        let native = h.read_native().unwrap();
        let reading = h.read_into(&mut Vec::new());
        assert_eq!((native.check(), reading.count), (Ok(4), 5));
    }

    #[test]
    fn a_summary_is_set_and_read_as_a_whole() {
        let s = Summary::new(Arc::from(vec![0.5, 0.9]));
        s.set(&[1.0], 10.0, 4);
        let reading = s.read();
        assert_eq!((reading.values[0], reading.sum, reading.count), (1.0, 10.0, 4));
        assert!(reading.values[1].is_nan(), "a missing quantile is NaN");
    }

    #[test]
    fn gauge_add_is_exact_for_small_integers() {
        let g = Gauge::default();
        g.set(1.5);
        g.add(2.0);
        g.add(-0.5);
        assert_eq!(g.get(), 3.0);
    }
}
