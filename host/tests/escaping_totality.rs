//! Every name the registry accepts renders under every escaping scheme: a
//! set of arbitrary families (names and label names drawn from characters
//! that escaping treats differently) is registered, and whatever was
//! accepted is rendered in every format under `underscores`, `dots`,
//! `values` and `allow-utf-8`, with and without a prefix; no render fails
//! and no two families come out with the same name.
use metrics_host::name_escaping::NameEscaping;
use metrics_host::plugin::series_batches::RenderNames;
use metrics_host::registry::{Registry, RegistryError};
use proptest::prelude::*;
use std::collections::HashSet;

/// Characters escaping treats in every different way: legacy letters and
/// digits, `_` (doubled by `dots` and `values`), `.` (`_dot_`), `:` (legal
/// in metric names only), others, and the pieces `values` escapes are made of.
fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just("a"), Just("_"), Just("."), Just("-"), Just(":"), Just("U"), Just("2e"), Just("°"), Just("1"), Just("le")],
        1..6,
    )
    .prop_map(|parts| parts.concat())
}

const SCHEMES: [NameEscaping; 4] = [NameEscaping::Underscores, NameEscaping::Dots, NameEscaping::Values, NameEscaping::AllowUtf8];

/// The family names a Prometheus text output declares.
fn declared_families(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).map(|l| l.rsplit_once(' ').unwrap().0.to_string()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_accepted_name_renders_under_every_scheme(
        families in proptest::collection::vec((name(), proptest::collection::vec(name(), 0..3), 0..3u8), 1..8),
        prefixed in any::<bool>(),
    ) {
        let registry = Registry::new();
        for (family, labels, kind) in &families {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let values: Vec<&str> = labels.iter().map(|_| "v").collect();
            let registered = match kind {
                0 => registry.counter_family(family, "help", &labels).and_then(|f| f.with_label_values(&values).map(|c| c.inc())),
                1 => registry.gauge_family(family, "help", &labels).and_then(|f| f.with_label_values(&values).map(|g| g.set(1.5))),
                _ => registry.histogram_family(family, "help", &labels, &[0.5, 1.0]).and_then(|f| f.with_label_values(&values).map(|h| h.observe(0.7))),
            };
            match registered {
                Ok(()) => {}
                // Refused with a reason: fine, as long as it is one of these.
                Err(RegistryError::InvalidLabelName { .. } | RegistryError::LabelCollision { .. } | RegistryError::FamilyCollision { .. }
                    | RegistryError::ReservedLabel { .. } | RegistryError::DuplicateLabel { .. } | RegistryError::DuplicateFamily(_)) => {}
                Err(other) => panic!("unexpected refusal of {family:?} {labels:?}: {other}"),
            }
        }
        let snapshot = registry.snapshot();
        let prefix = if prefixed { "p_" } else { "" };
        for escaping in SCHEMES {
            for format in ["prometheus", "json", "protobuf"] {
                let mut out = Vec::new();
                let rendered = snapshot.render_native(format, RenderNames { prefix, escaping, settings: &[] }, &mut out);
                prop_assert!(rendered.is_ok(), "{format} under {escaping:?} failed: {:?}", rendered.err());
            }
            let mut out = Vec::new();
            snapshot.render_native("prometheus", RenderNames { prefix, escaping, settings: &[] }, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            let declared = declared_families(&text);
            let unique: HashSet<&String> = declared.iter().collect();
            prop_assert_eq!(unique.len(), declared.len(), "two families share a name under {:?}:\n{}", escaping, text);
        }
    }
}

#[test]
fn names_that_collide_or_become_reserved_under_some_scheme_are_refused_with_the_scheme() {
    let registry = Registry::new();
    registry.gauge_family("a.b", "", &[]).unwrap();
    let collision = registry.gauge_family("U__a_2e_b", "", &[]).err().expect("refused").to_string();
    assert!(collision.contains("values") && collision.contains("a.b"), "{collision}");
    let reserved = registry.gauge_family("x", "", &["_lead"]).err().expect("refused").to_string();
    assert!(reserved.contains("dots") && reserved.contains("__lead"), "{reserved}");
    let labels = registry.gauge_family("y", "", &["b", "U__a_2e_b", "a.b"]).err().expect("refused").to_string();
    assert!(labels.contains("values"), "{labels}");
    // Removing a family frees its name under every scheme.
    assert!(registry.remove_family("a.b"));
    registry.gauge_family("U__a_2e_b", "", &[]).unwrap();
}
