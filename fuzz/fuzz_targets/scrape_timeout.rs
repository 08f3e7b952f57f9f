//! `X-Prometheus-Scrape-Timeout-Seconds`: any value is a positive deadline
//! of at most a day, or ignored.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::http::scrape_timeout::requested_deadline;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else { return };
    if let Some(deadline) = requested_deadline(Some(header), Duration::from_millis(500)) {
        assert!(!deadline.is_zero() && deadline <= Duration::from_secs(86_400), "{deadline:?}");
    }
});
