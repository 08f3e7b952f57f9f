//! Locates the default renderer component, which `src/plugin/mod.rs` embeds.
//! `make build` (or `make plugins`) builds it into `target/plugins/`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=METRICS_DEFAULT_RENDERER_WASM");
    let path = match std::env::var_os("METRICS_DEFAULT_RENDERER_WASM") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("../target/plugins/prometheus.wasm"),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let path = path.canonicalize().unwrap_or_else(|_| {
        panic!(
            "the default renderer component {} is missing: run `make plugins` first (it builds guest-renderer/ for wasm32-wasip2)",
            path.display()
        )
    });
    println!("cargo:rustc-env=METRICS_DEFAULT_RENDERER_WASM={}", path.display());
}
