//! The metrics endpoints' query string: any bytes parse or are refused
//! with a reason; the `name[]` bound holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::http::metrics_query::{MetricsQuery, MAX_NAMES};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    match MetricsQuery::parse(Some(query)) {
        Ok(parsed) => assert!(parsed.names.len() <= MAX_NAMES),
        Err(why) => assert!(!why.is_empty()),
    }
});
