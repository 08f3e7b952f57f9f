//! The format descriptors a plugin's `formats()` returns: any list is
//! accepted only if every name, content type and description keeps the
//! rules, and a refusal's reason is bounded.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::plugin::format_rules::{check_formats, is_valid_format_name};
use metrics_host::plugin::FormatInfo;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let formats: Vec<FormatInfo> = text
        .split('\n')
        .map(|entry| {
            let mut fields = entry.splitn(3, '\t');
            FormatInfo {
                name: fields.next().unwrap_or("").to_string(),
                content_type: fields.next().unwrap_or("").to_string(),
                description: fields.next().unwrap_or("").to_string(),
            }
        })
        .collect();
    match check_formats(&formats) {
        Ok(()) => {
            for f in &formats {
                assert!(is_valid_format_name(&f.name));
                assert!(axum::http::HeaderValue::from_str(&f.content_type).is_ok(), "usable as a header: {:?}", f.content_type);
            }
        }
        Err(why) => assert!(why.len() <= 8192, "reason of {} bytes", why.len()),
    }
});
