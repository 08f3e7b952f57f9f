//! Bindings for contract `metrics:renderer@0.2.0`, generated from
//! `wit/renderer.wit` by `wasmtime::component::bindgen!`. The host's own
//! import implementations live in `plugin::call`; this module only
//! generates and names things.
//!
//! A later contract version gets a sibling module (`v0_3.rs`, generated from
//! that version's WIT) and `From` impls that adapt its types to the newest
//! ones at the edge (see `super`).
wasmtime::component::bindgen!({
    path: "../wit",
    world: "renderer-plugin",
    imports: {
        // A batch past the call cap traps the guest.
        default: trappable,
    },
    exports: { default: async },
});

/// The package version these bindings speak.
pub const VERSION: &str = "0.2.0";
