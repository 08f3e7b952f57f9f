//! The upstream's Prometheus text and OpenMetrics reader, and the choice by
//! content type: anything is read or refused with a line number, never a
//! panic or a stall.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::upstream::exposition_parser::{parse, Syntax};
use metrics_host::upstream::read_exposition;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for syntax in [Syntax::Text, Syntax::OpenMetrics] {
            if let Err(e) = parse(text, syntax) {
                assert!(e.line >= 1);
            }
        }
    }
    for content_type in [None, Some("application/openmetrics-text; version=1.0.0"), Some("application/json")] {
        let _ = read_exposition(content_type, data);
    }
});
