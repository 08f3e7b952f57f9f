//! Builds the default renderer component, which `src/plugin/mod.rs` embeds,
//! so plain `cargo build`, `cargo test` and `cargo clippy` work on a fresh
//! clone (with the `wasm32-wasip2` target installed): the guest crate is
//! built with a nested cargo into this build's `OUT_DIR`, the way wasmtime's
//! test-programs artifacts are. `METRICS_DEFAULT_RENDERER_WASM` may point at
//! a component built elsewhere instead.
use std::path::PathBuf;
use std::process::Command;

const GUEST_PACKAGE: &str = "prometheus-renderer";
const GUEST_TARGET: &str = "wasm32-wasip2";

fn main() {
    println!("cargo:rerun-if-env-changed=METRICS_DEFAULT_RENDERER_WASM");
    let component = match std::env::var_os("METRICS_DEFAULT_RENDERER_WASM") {
        Some(path) => {
            let path = PathBuf::from(path);
            println!("cargo:rerun-if-changed={}", path.display());
            path.canonicalize().unwrap_or_else(|e| panic!("METRICS_DEFAULT_RENDERER_WASM={}: {e}", path.display()))
        }
        None => build_guest(),
    };
    println!("cargo:rustc-env=METRICS_DEFAULT_RENDERER_WASM={}", component.display());
}

/// Builds `prometheus-renderer` for wasm32-wasip2 and returns the component.
fn build_guest() -> PathBuf {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ is inside the workspace").to_path_buf();
    // Cargo scans a folder given here for changes to anything inside it.
    for input in ["guest-renderer/core", "guest-renderer/sdk", "guest-renderer/component", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    let target_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("guest");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", GUEST_TARGET, "-p", GUEST_PACKAGE, "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // This script's stdout is read by cargo as directives.
        .stdout(std::io::stderr());
    // What the outer build sets for itself must not leak into the guest's.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command.status().expect("running cargo for the guest component");
    if !status.success() {
        panic!(
            "building the default renderer component ({GUEST_PACKAGE}, target {GUEST_TARGET}) failed; \
             if the target is missing: rustup target add {GUEST_TARGET}"
        );
    }
    target_dir.join(GUEST_TARGET).join("release").join(format!("{}.wasm", GUEST_PACKAGE.replace('-', "_")))
}
