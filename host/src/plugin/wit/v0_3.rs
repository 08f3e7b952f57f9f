//! Bindings for contract `metrics:renderer@0.3.0`, the newest, generated
//! from `wit/renderer.wit` by `wasmtime::component::bindgen!`. The host's
//! own import implementations live in `plugin::call`; this module only
//! generates and names things.
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
pub const VERSION: &str = "0.3.0";
