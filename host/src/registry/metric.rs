//! The metric cells: lock-free counters, gauges and histograms.
//!
//! Updates are single atomic operations (a compare-and-swap loop for float
//! additions); nothing on the update path takes a lock or allocates.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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

/// Observations counted into fixed buckets.
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
}

/// A histogram read at one instant: cumulative buckets whose last entry is the count.
pub(crate) struct HistogramReading {
    pub(crate) sum: f64,
    pub(crate) count: u64,
}

impl Histogram {
    pub(crate) fn new(bounds: Arc<[f64]>) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Histogram(Arc::new(HistogramCell { bounds, buckets, sum: AtomicU64::new(0f64.to_bits()) }))
    }

    /// Records one observation. NaN is counted in the `+Inf` bucket.
    #[inline]
    pub fn observe(&self, value: f64) {
        let cell = &self.0;
        let index = if value.is_nan() { cell.bounds.len() } else { cell.bounds.partition_point(|&b| b < value) };
        cell.buckets[index].fetch_add(1, Ordering::Relaxed);
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_with_le_semantics() {
        let h = Histogram::new(Arc::from(vec![1.0, 2.0]));
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
        let h = Histogram::new(Arc::from(vec![1.0, 2.0]));
        h.restore(&[2, 3], 7, 12.5);
        let mut buckets = Vec::new();
        let reading = h.read_into(&mut buckets);
        assert_eq!((buckets, reading.count, reading.sum), (vec![2, 3], 7, 12.5));
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
