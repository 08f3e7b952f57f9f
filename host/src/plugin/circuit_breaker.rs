//! Backs off a renderer that keeps failing, so a broken plugin does not burn
//! a render budget on every scrape. After [`TRIP_AFTER`] failures in a row
//! it is skipped for a back-off that doubles on each trip (1 s up to 60 s);
//! the first request after that is a trial, and one more failure trips it
//! again. A success closes it. While it is open, a built-in (or another
//! plugin) offering the same format serves instead.
use serde::Serialize;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Consecutive failures that trip the breaker.
pub const TRIP_AFTER: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Failure bookkeeping of one renderer component.
#[derive(Debug, Default)]
pub struct CircuitBreaker {
    consecutive_failures: AtomicU32,
    /// Trips since the last success; sets the back-off.
    trips: AtomicU32,
    /// Skipped until this instant (ms since the epoch).
    open_until_ms: AtomicU64,
}

/// What the plugin listing shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BreakerStatus {
    /// `closed` (serving) or `open` (backed off).
    pub state: &'static str,
    pub consecutive_failures: u32,
    /// How long until the next trial, when open.
    pub retry_in_ms: Option<u64>,
}

impl CircuitBreaker {
    /// Time left until the next trial; None when closed.
    pub fn backed_off_for(&self) -> Option<Duration> {
        let until = self.open_until_ms.load(Ordering::Relaxed);
        let now = now_ms();
        (until > now).then(|| Duration::from_millis(until - now))
    }

    pub fn record_success(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.trips.store(0, Ordering::Relaxed);
    }

    pub fn record_failure(&self) {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let trips = self.trips.load(Ordering::Relaxed);
        // After a trip, the trial request alone decides.
        if failures >= TRIP_AFTER || trips > 0 {
            let backoff = FIRST_BACKOFF.saturating_mul(1 << trips.min(6)).min(MAX_BACKOFF);
            self.open_until_ms.store(now_ms() + backoff.as_millis() as u64, Ordering::Relaxed);
            self.trips.store(trips + 1, Ordering::Relaxed);
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }

    pub fn status(&self) -> BreakerStatus {
        let open = self.backed_off_for();
        BreakerStatus {
            state: if open.is_some() { "open" } else { "closed" },
            consecutive_failures: self.consecutive_failures.load(Ordering::Relaxed),
            retry_in_ms: open.map(|d| d.as_millis() as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_after_three_failures_and_a_success_closes_it() {
        let b = CircuitBreaker::default();
        b.record_failure();
        b.record_failure();
        assert!(b.backed_off_for().is_none());
        b.record_failure();
        let wait = b.backed_off_for().expect("open");
        assert!(wait <= FIRST_BACKOFF && wait > Duration::from_millis(500));
        assert_eq!(b.status().state, "open");
        b.record_success();
        b.open_until_ms.store(0, Ordering::Relaxed);
        assert_eq!(b.status(), BreakerStatus { state: "closed", consecutive_failures: 0, retry_in_ms: None });
    }

    #[test]
    fn a_failed_trial_trips_again_with_a_longer_backoff() {
        let b = CircuitBreaker::default();
        for _ in 0..TRIP_AFTER {
            b.record_failure();
        }
        b.open_until_ms.store(0, Ordering::Relaxed); // the back-off has passed
        b.record_failure();
        let wait = b.backed_off_for().expect("open again after one failed trial");
        assert!(wait > FIRST_BACKOFF, "{wait:?}");
    }
}
