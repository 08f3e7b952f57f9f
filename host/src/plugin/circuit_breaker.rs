//! Backs off a renderer that keeps failing, so a broken plugin does not burn
//! a render budget on every scrape. After [`TRIP_AFTER`] failures in a row
//! it is skipped for a back-off that doubles on each trip (1 s up to 60 s);
//! the first request after that is a trial, and one more failure trips it
//! again. A success closes it. While it is open, a built-in (or another
//! plugin) offering the same format serves instead.
//!
//! Time is monotonic (`Instant`), so a wall-clock jump never opens or
//! closes a breaker; every method has an `_at(now)` form that tests drive
//! with explicit instants. State changes happen under one small lock, so
//! concurrent failures are never lost.
use serde::Serialize;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Consecutive failures that trip the breaker.
pub const TRIP_AFTER: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct BreakerState {
    consecutive_failures: u32,
    /// Trips since the last success; sets the back-off.
    trips: u32,
    /// Skipped until this instant.
    open_until: Option<Instant>,
}

/// Failure bookkeeping of one renderer component.
#[derive(Debug, Default)]
pub struct CircuitBreaker {
    state: Mutex<BreakerState>,
}

/// What the plugin listing shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BreakerStatus {
    /// `closed` (serving) or `open` (backed off).
    pub state: &'static str,
    /// Renderer faults in a row since the last success.
    pub consecutive_failures: u32,
    /// How long until the next trial, when open.
    pub retry_in_ms: Option<u64>,
}

impl CircuitBreaker {
    fn state(&self) -> MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Time left until the next trial; None when closed.
    pub fn backed_off_for(&self) -> Option<Duration> {
        self.backed_off_for_at(Instant::now())
    }

    /// How long it stays backed off at `now`, if it is.
    pub fn backed_off_for_at(&self, now: Instant) -> Option<Duration> {
        self.state().open_until.and_then(|until| until.checked_duration_since(now)).filter(|d| !d.is_zero())
    }

    /// A render succeeded: closes the breaker.
    pub fn record_success(&self) {
        let mut s = self.state();
        s.consecutive_failures = 0;
        s.trips = 0;
        s.open_until = None;
    }

    /// A render failed by the renderer's fault.
    pub fn record_failure(&self) {
        self.record_failure_at(Instant::now());
    }

    /// [`record_failure`](Self::record_failure) at `now`.
    pub fn record_failure_at(&self, now: Instant) {
        let mut s = self.state();
        s.consecutive_failures += 1;
        // After a trip, the trial request alone decides.
        if s.consecutive_failures >= TRIP_AFTER || s.trips > 0 {
            let backoff = FIRST_BACKOFF.saturating_mul(1 << s.trips.min(6)).min(MAX_BACKOFF);
            s.open_until = Some(now + backoff);
            s.trips += 1;
            s.consecutive_failures = 0;
        }
    }

    /// What the listing shows now.
    pub fn status(&self) -> BreakerStatus {
        self.status_at(Instant::now())
    }

    /// What the listing shows at `now`.
    pub fn status_at(&self, now: Instant) -> BreakerStatus {
        let open = self.backed_off_for_at(now);
        BreakerStatus {
            state: if open.is_some() { "open" } else { "closed" },
            consecutive_failures: self.state().consecutive_failures,
            retry_in_ms: open.map(|d| d.as_millis() as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_after_three_failures_and_a_successful_trial_closes_it() {
        let b = CircuitBreaker::default();
        let t0 = Instant::now();
        b.record_failure_at(t0);
        b.record_failure_at(t0);
        assert!(b.backed_off_for_at(t0).is_none());
        b.record_failure_at(t0);
        assert_eq!(b.backed_off_for_at(t0), Some(FIRST_BACKOFF));
        assert_eq!(b.status_at(t0).state, "open");
        // The back-off passes; the trial succeeds.
        let trial = t0 + FIRST_BACKOFF;
        assert!(b.backed_off_for_at(trial).is_none(), "open for exactly the back-off");
        b.record_success();
        assert_eq!(b.status_at(trial), BreakerStatus { state: "closed", consecutive_failures: 0, retry_in_ms: None });
        // Closed for real: one failure no longer trips it, three do, with the first back-off again.
        b.record_failure_at(trial);
        assert!(b.backed_off_for_at(trial).is_none());
        b.record_failure_at(trial);
        b.record_failure_at(trial);
        assert_eq!(b.backed_off_for_at(trial), Some(FIRST_BACKOFF));
    }

    #[test]
    fn a_failed_trial_trips_again_with_a_longer_backoff_up_to_the_maximum() {
        let b = CircuitBreaker::default();
        let mut now = Instant::now();
        for _ in 0..TRIP_AFTER {
            b.record_failure_at(now);
        }
        let mut expected = FIRST_BACKOFF;
        for _ in 0..10 {
            assert_eq!(b.backed_off_for_at(now), Some(expected));
            now += expected;
            b.record_failure_at(now); // the trial fails
            expected = (expected * 2).min(MAX_BACKOFF);
        }
        assert_eq!(b.backed_off_for_at(now), Some(MAX_BACKOFF));
    }

    #[test]
    fn concurrent_failures_are_all_counted() {
        // 8 failures at once: 3 trip the breaker, each of the other 5 trips
        // it again, so the 6th trip backs off 2^5 s. A lost update shortens it.
        let b = std::sync::Arc::new(CircuitBreaker::default());
        let t0 = Instant::now();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (b, barrier) = (std::sync::Arc::clone(&b), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    b.record_failure_at(t0);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(b.backed_off_for_at(t0), Some(Duration::from_secs(32)));
    }
}
