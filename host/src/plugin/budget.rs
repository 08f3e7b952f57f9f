//! The execution-time budget of one render.
//!
//! Wall-clock time counts from instantiation to the end of the call,
//! including every host call (WASI, `input.next-batch`, the host side of
//! `output.write`); it stops only while a full output chunk waits for a
//! client that is not reading (that wait has its own stall timeout). Two things enforce it: the epoch callback traps
//! running wasm code once the budget is spent, and a watchdog future cancels
//! the whole call when a host call never returns.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct BudgetState {
    limit: Duration,
    /// Time used before the current running stretch.
    used: Duration,
    /// Start of the current running stretch; None while paused.
    running_since: Option<Instant>,
}

/// Shared between the store (which pauses and resumes it) and the watchdog.
#[derive(Debug, Clone)]
pub struct GuestBudget(Arc<Mutex<BudgetState>>);

impl GuestBudget {
    /// A paused budget of `limit`.
    pub fn new(limit: Duration) -> Self {
        GuestBudget(Arc::new(Mutex::new(BudgetState { limit, used: Duration::ZERO, running_since: None })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts counting.
    pub fn resume(&self) {
        self.resume_at(Instant::now());
    }

    /// [`resume`](Self::resume) at `now` (tests pass their own clock).
    pub fn resume_at(&self, now: Instant) {
        let mut s = self.state();
        if s.running_since.is_none() {
            s.running_since = Some(now);
        }
    }

    /// Stops counting (the guest waits for the client).
    pub fn pause(&self) {
        self.pause_at(Instant::now());
    }

    /// [`pause`](Self::pause) at `now`.
    pub fn pause_at(&self, now: Instant) {
        let mut s = self.state();
        if let Some(since) = s.running_since.take() {
            s.used += now.saturating_duration_since(since);
        }
    }

    /// What is left of the budget now.
    pub fn remaining(&self) -> Duration {
        self.remaining_at(Instant::now())
    }

    /// The time left at `now` (paused time not counted).
    pub fn remaining_at(&self, now: Instant) -> Duration {
        let s = self.state();
        let used = s.used + s.running_since.map(|since| now.saturating_duration_since(since)).unwrap_or_default();
        s.limit.saturating_sub(used)
    }

    /// Resolves once the budget is spent.
    pub async fn exhausted(&self) {
        loop {
            let remaining = self.remaining();
            if remaining.is_zero() {
                return;
            }
            tokio::time::sleep(remaining).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_time_does_not_count() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let budget = GuestBudget::new(ms(50));
        assert_eq!(budget.remaining_at(t0 + ms(60)), ms(50), "starts paused");
        budget.resume_at(t0 + ms(60));
        assert_eq!(budget.remaining_at(t0 + ms(70)), ms(40), "running time counts");
        budget.pause_at(t0 + ms(80));
        assert_eq!(budget.remaining_at(t0 + ms(500)), ms(30), "paused time does not");
        budget.resume_at(t0 + ms(500));
        assert_eq!(budget.remaining_at(t0 + ms(600)), Duration::ZERO, "spent");
    }

    #[tokio::test]
    async fn exhausted_resolves_after_the_running_time() {
        let budget = GuestBudget::new(Duration::from_millis(30));
        budget.resume();
        let started = Instant::now();
        budget.exhausted().await;
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
