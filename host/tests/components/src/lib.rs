//! Paths of the wasm components the host's tests load, built for
//! `wasm32-wasip2` by this crate's build script (the way wasmtime's
//! `test-programs-artifacts` works), so `cargo test` on a fresh clone needs
//! nothing but the wasm target: no `make` step before it.
//!
//! Each component is named `FOLDER/FILE`, the folder and file name the
//! Makefile's targets use: `plugins/prometheus.wasm`,
//! `test-plugins/hostile.wasm`, `examples/influx.wasm`, ...

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// The built component `folder/name`, or `None` if this crate builds no such
/// component.
pub fn path(folder: &str, name: &str) -> Option<&'static str> {
    COMPONENTS.iter().find(|(key, _)| key.split_once('/') == Some((folder, name))).map(|(_, path)| *path)
}
