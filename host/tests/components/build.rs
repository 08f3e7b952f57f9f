//! Builds every fixture component of the host's tests with a nested cargo
//! into this build's `OUT_DIR` and writes their paths to `components.rs`
//! (`src/lib.rs` includes it). A package built with several feature sets
//! (the marker's two versions, the hostile plugin's variants) is built once
//! per set and copied out after each build.
use std::path::PathBuf;

#[path = "../../build/guest_build.rs"]
mod guest_build;

/// (name the tests use, package, features).
const COMPONENTS: &[(&str, &str, &str)] = &[
    ("plugins/prometheus.wasm", "prometheus-renderer", ""),
    ("plugins/openmetrics.wasm", "openmetrics-renderer", ""),
    ("test-plugins/marker-v1.wasm", "marker-renderer", ""),
    ("test-plugins/marker-v2.wasm", "marker-renderer", "v2"),
    ("test-plugins/marker-v2-nondeterministic.wasm", "marker-renderer", "v2,bug-nondeterministic"),
    ("test-plugins/marker-v2-spin-on-empty-family.wasm", "marker-renderer", "v2,bug-spin-on-empty-family"),
    ("test-plugins/marker-v2-writes-after-refusal.wasm", "marker-renderer", "v2,bug-writes-after-refusal"),
    ("test-plugins/marker-v2-unescaped-label.wasm", "marker-renderer", "v2,bug-unescaped-label"),
    ("test-plugins/hostile.wasm", "hostile-renderer", ""),
    ("test-plugins/formats-many.wasm", "hostile-renderer", "formats-many"),
    ("test-plugins/formats-huge-name.wasm", "hostile-renderer", "formats-huge-name"),
    ("test-plugins/formats-bad-name.wasm", "hostile-renderer", "formats-bad-name"),
    ("test-plugins/formats-spin.wasm", "hostile-renderer", "formats-spin"),
    ("examples/influx.wasm", "influx-renderer", ""),
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.ancestors().nth(3).expect("host/tests/components is inside the workspace").to_path_buf();
    for input in ["guest-renderer", "host/tests/plugins", "examples/plugins/influx", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = out_dir.join("guest");
    let built_dir = out_dir.join("components");
    let mut list = String::from("/// (FOLDER/FILE, absolute path) of every built component.\npub const COMPONENTS: &[(&str, &str)] = &[\n");
    for (name, package, features) in COMPONENTS {
        let artifact = guest_build::build_guest(&root, &target_dir, package, features);
        let destination = built_dir.join(name);
        std::fs::create_dir_all(destination.parent().expect("FOLDER/FILE")).expect("components folder");
        std::fs::copy(&artifact, &destination).unwrap_or_else(|e| panic!("{} -> {}: {e}", artifact.display(), destination.display()));
        list.push_str(&format!("    ({name:?}, {:?}),\n", destination.display().to_string()));
    }
    list.push_str("];\n");
    std::fs::write(out_dir.join("components.rs"), list).expect("components.rs");
}
