//! `Accept` negotiation: any header picks a format that is negotiable and
//! loaded, or none; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::http::negotiate::{choose_format, wanted_of, NegotiableFormats};
use metrics_host::plugin::renderer_set::OfferedFormat;
use metrics_host::plugin::FormatInfo;

fn offer(name: &str, content_type: &str, builtin: bool) -> OfferedFormat {
    OfferedFormat::of(FormatInfo { name: name.into(), content_type: content_type.into(), description: String::new() }, builtin)
}

fuzz_target!(|data: &[u8]| {
    let Ok(accept) = std::str::from_utf8(data) else { return };
    let offered = [
        offer("json", "application/json", true),
        offer("openmetrics", "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8", false),
        offer("prometheus", "text/plain; version=0.0.4; charset=utf-8", true),
        offer("protobuf", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", true),
    ];
    let negotiable = NegotiableFormats::default();
    if let Some(choice) = choose_format(Some(accept), &negotiable, &offered) {
        assert!(negotiable.names().contains(&choice.format.name), "picked a format that is not negotiable");
    }
    for o in &offered {
        let _ = wanted_of(Some(accept), o);
    }
});
