//! Bindings for contract `metrics:renderer@0.3.0`, the newest, generated
//! from `wit/v0.3.0/renderer.wit` by `wasmtime::component::bindgen!`, and
//! the host's imports of that version (the render state in `plugin::call`
//! does the work; `output.write` is defined there for every version).
// Generated from the WIT file, whose comments document it.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "wit/v0.3.0",
        world: "renderer-plugin",
        imports: {
            // A batch past the call cap traps the guest.
            default: trappable,
        },
        exports: { default: async },
    });
}
pub use generated::*;

/// The package version these bindings speak.
pub const VERSION: &str = "0.3.0";

use crate::plugin::call::RenderState;

impl metrics::renderer::types::Host for RenderState {}

/// `metrics:renderer/input@0.3.0#next-batch`.
impl metrics::renderer::input::Host for RenderState {
    fn next_batch(&mut self) -> wasmtime::Result<Option<metrics::renderer::types::SeriesBatch>> {
        self.next_series_batch()
    }
}
