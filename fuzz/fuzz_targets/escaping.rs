//! Name escaping and the registry's refusals, as properties:
//! - every scheme writes a legacy metric / label name (never empty);
//! - `values` round-trips every name, `dots` every name whose only
//!   characters outside the legacy syntax are dots;
//! - two families the registry accepts never share a name under any
//!   scheme, and an accepted label name is never empty, reserved or the
//!   same as another label under any scheme.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::name_escaping::NameEscaping;
use metrics_host::registry::Registry;
use metrics_render_core::{is_valid_label_name, is_valid_metric_name};

const SCHEMES: [NameEscaping; 3] = [NameEscaping::Underscores, NameEscaping::Dots, NameEscaping::Values];

fn only_legacy_and_dots(name: &str) -> bool {
    name.chars().enumerate().all(|(i, c)| c == '.' || c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let (a, b, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    for name in [a, b] {
        if name.is_empty() {
            continue;
        }
        for scheme in SCHEMES {
            assert!(is_valid_metric_name(&scheme.metric_name(name)), "{scheme:?} {name:?}");
            assert!(is_valid_label_name(&scheme.label_name(name)), "{scheme:?} label {name:?}");
        }
        // A legacy name that itself begins with `U__` reads as escaped: the
        // one ambiguity of `values`, which registration keeps from colliding.
        if !(is_valid_metric_name(name) && name.starts_with("U__")) {
            assert_eq!(NameEscaping::Values.unescape(&NameEscaping::Values.metric_name(name)).as_deref(), Some(name));
        }
        if only_legacy_and_dots(name) {
            assert_eq!(NameEscaping::Dots.unescape(&NameEscaping::Dots.metric_name(name)).as_deref(), Some(name));
        }
    }
    let registry = Registry::new();
    let first = registry.gauge_family(a, "", &[]).is_ok();
    let second = registry.gauge_family(b, "", &[]).is_ok();
    if first && second {
        for scheme in SCHEMES {
            assert_ne!(scheme.metric_name(a), scheme.metric_name(b), "{scheme:?}: {a:?} and {b:?} both accepted");
        }
    }
    let labels = [a, b, c];
    if registry.histogram_family("h", "", &labels, &[1.0]).is_ok() {
        for scheme in SCHEMES {
            let escaped: Vec<_> = labels.iter().map(|l| scheme.label_name(l)).collect();
            for (i, e) in escaped.iter().enumerate() {
                assert!(!e.is_empty() && !e.starts_with("__") && e != "le", "{scheme:?} {e:?}");
                assert!(!escaped[..i].contains(e), "{scheme:?}: labels {labels:?} collide");
            }
        }
    }
});
