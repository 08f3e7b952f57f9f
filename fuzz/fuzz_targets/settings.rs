//! A plugin's settings file: any text is a flat, bounded, sorted table or
//! refused with a reason.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::plugin::settings::{parse_settings, MAX_SETTINGS};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(settings) = parse_settings(text) {
        assert!(settings.len() <= MAX_SETTINGS);
        assert!(settings.windows(2).all(|w| w[0] <= w[1]), "sorted");
    }
});
