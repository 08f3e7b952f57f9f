//! Prometheus tells each target how long it will wait for a scrape in the
//! `X-Prometheus-Scrape-Timeout-Seconds` header. A render that cannot finish
//! by then is wasted work, so the render deadline becomes the smaller of the
//! configured one and that timeout minus an offset (time for the response to
//! travel). Unlike a client library's timeout, a wasm deadline really stops
//! the work.

/// The header Prometheus sends with every scrape.
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

use std::time::Duration;

/// The deadline a scrape asks for: the header's seconds minus `offset`, or
/// the whole timeout when the offset would leave nothing. `None` when the
/// header is absent or not a positive, finite number of seconds (ignored,
/// never an error).
pub fn requested_deadline(header: Option<&str>, offset: Duration) -> Option<Duration> {
    let seconds: f64 = header?.trim().parse().ok()?;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        return None;
    }
    // At least a nanosecond: a value that rounds to zero (`1e-91`) is still
    // a (far too short) deadline, answered as one, not an absent header.
    let timeout = Duration::from_secs_f64(seconds).max(Duration::from_nanos(1));
    Some(timeout.checked_sub(offset).filter(|d| !d.is_zero()).unwrap_or(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFSET: Duration = Duration::from_millis(500);

    #[test]
    fn the_timeout_minus_the_offset() {
        assert_eq!(requested_deadline(Some("10"), OFFSET), Some(Duration::from_millis(9500)));
        assert_eq!(requested_deadline(Some(" 1.5 "), OFFSET), Some(Duration::from_secs(1)));
        assert_eq!(requested_deadline(Some("0.2"), OFFSET), Some(Duration::from_millis(200)), "offset larger than the timeout");
        // Found by the scrape_timeout fuzz target: it rounded to a zero deadline.
        assert_eq!(requested_deadline(Some("1e-91"), OFFSET), Some(Duration::from_nanos(1)));
    }

    #[test]
    fn invalid_values_are_ignored() {
        for bad in ["", "abc", "-1", "0", "NaN", "inf", "1e300", "10s"] {
            assert_eq!(requested_deadline(Some(bad), OFFSET), None, "{bad:?}");
        }
        assert_eq!(requested_deadline(None, OFFSET), None);
    }
}
