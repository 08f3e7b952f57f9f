//! metrics.json, as `render --input` and a metrics.json upstream read it:
//! anything is refused with a reason or read; what is read renders as JSON
//! that reads back to the same JSON (the replay round trip).
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::metrics_json_input::registry_from_metrics_json;
use metrics_host::name_escaping::NameEscaping;
use metrics_host::plugin::series_batches::RenderNames;

fn render_json(registry: &metrics_host::registry::Registry) -> Vec<u8> {
    let mut out = Vec::new();
    // Names as they are, as the server writes metrics.json.
    let names = RenderNames { prefix: "", escaping: NameEscaping::AllowUtf8, settings: &[] };
    registry.snapshot().render_native("json", names, &mut out).expect("an accepted document renders");
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(registry) = registry_from_metrics_json(text) {
        let first = render_json(&registry);
        let again = registry_from_metrics_json(std::str::from_utf8(&first).unwrap()).expect("our JSON reads back");
        assert_eq!(render_json(&again), first, "the JSON round trip is exact");
    }
});
