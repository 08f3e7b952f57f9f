//! At most one log line per interval for events a client can cause at will
//! (refused peers), with a count of the ones left out, so a flood of
//! requests cannot flood the log.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Admits one event per interval.
#[derive(Debug)]
pub struct LogLimiter {
    start: Instant,
    interval: Duration,
    /// Milliseconds since `start` before which events are only counted.
    quiet_until_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl LogLimiter {
    pub fn new(interval: Duration) -> Self {
        LogLimiter { start: Instant::now(), interval, quiet_until_ms: AtomicU64::new(0), suppressed: AtomicU64::new(0) }
    }

    /// `Some(n)` when this event may be logged (`n` events were left out
    /// since the last one logged), `None` when it is only counted.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    pub fn admit_at(&self, now: Instant) -> Option<u64> {
        let now_ms = now.saturating_duration_since(self.start).as_millis() as u64;
        let quiet_until = self.quiet_until_ms.load(Ordering::Relaxed);
        let next = now_ms + self.interval.as_millis() as u64;
        if now_ms >= quiet_until && self.quiet_until_ms.compare_exchange(quiet_until, next, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_interval_and_a_count_of_the_rest() {
        let limiter = LogLimiter::new(Duration::from_secs(1));
        let t0 = limiter.start;
        assert_eq!(limiter.admit_at(t0), Some(0));
        for _ in 0..5 {
            assert_eq!(limiter.admit_at(t0 + Duration::from_millis(500)), None);
        }
        assert_eq!(limiter.admit_at(t0 + Duration::from_millis(1000)), Some(5));
        assert_eq!(limiter.admit_at(t0 + Duration::from_millis(1999)), None);
        assert_eq!(limiter.admit_at(t0 + Duration::from_millis(2000)), Some(1));
    }
}
