//! Building a guest crate of the workspace for `wasm32-wasip2` with a
//! nested cargo, from a build script: shared by the host's build script
//! (the embedded default renderer) and the `test-components` crate's (the
//! test fixtures), each included with `#[path]`.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every guest is built for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// Builds `package` (with `features`, comma-separated, or none) of the
/// workspace at `root` into `target_dir`; returns the component.
pub fn build_guest(root: &Path, target_dir: &Path, package: &str, features: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", GUEST_TARGET, "-p", package, "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        // A build script's stdout is read by cargo as directives.
        .stdout(std::io::stderr());
    if !features.is_empty() {
        command.args(["--features", features]);
    }
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
    let status = command.status().unwrap_or_else(|e| panic!("running cargo for {package}: {e}"));
    assert!(
        status.success(),
        "building {package} (features {features:?}) for {GUEST_TARGET} failed; if the target is missing: rustup target add {GUEST_TARGET}"
    );
    target_dir.join(GUEST_TARGET).join("release").join(format!("{}.wasm", package.replace('-', "_")))
}
