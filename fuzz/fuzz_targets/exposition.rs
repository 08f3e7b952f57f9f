//! The upstream's Prometheus text and OpenMetrics reader, and the choice by
//! content type: anything is read or refused with a line number, never a
//! panic or a stall. `plugin check`'s streaming reading of the same formats
//! (and JSON), fed in two chunks split anywhere, agrees with the whole-text
//! readers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::plugin::output_stream_check::OutputStreamCheck;
use metrics_host::upstream::exposition_parser::{parse, Syntax};
use metrics_host::upstream::read_exposition;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let streamed = |content_type: &str| {
        let mut check = OutputStreamCheck::new(content_type);
        let (a, b) = data.split_at(usize::from(split).min(data.len()));
        check.feed(a).and_then(|()| check.feed(b)).and_then(|()| check.finish().map(drop))
    };
    let text = std::str::from_utf8(data);
    for (syntax, content_type) in [(Syntax::Text, "text/plain; version=0.0.4"), (Syntax::OpenMetrics, "application/openmetrics-text")] {
        let whole = text.map_err(drop).and_then(|text| parse(text, syntax).map(drop).map_err(|e| assert!(e.line >= 1)));
        assert_eq!(whole.is_ok(), streamed(content_type).is_ok(), "{syntax:?}");
    }
    let json = serde_json::from_slice::<serde_json::Value>(data).map(drop);
    // serde_json's reader and slice parsers agree but for nesting depth, which
    // both limit to 128.
    assert_eq!(json.is_ok(), streamed("application/json").is_ok());
    for content_type in [None, Some("application/openmetrics-text; version=1.0.0"), Some("application/json")] {
        let _ = read_exposition(content_type, data);
    }
});
