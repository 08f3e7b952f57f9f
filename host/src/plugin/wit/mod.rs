//! The renderer contract as Rust, one generated module per supported
//! version (as Zed's extension host does). Inside, the host speaks the
//! newest version's types ([`latest`]); [`RendererBindings`] holds a
//! checked, pre-linked component of whichever version it exports and calls
//! it through that version's bindings, adapting at the edge.
pub mod v0_2;

/// The newest contract version; the host's internal types come from here.
pub use v0_2 as latest;

use super::call::RenderState;
use wasmtime::component::{InstancePre, Linker};
use wasmtime::Store;

/// Contract versions this host can load, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[v0_2::VERSION];

/// A component checked against one supported version of the contract.
pub enum RendererBindings {
    V0_2(v0_2::RendererPluginPre<RenderState>),
}

impl RendererBindings {
    /// Checks that the pre-linked component exports what `version` requires,
    /// with the right signatures.
    pub fn new(version: &str, pre: InstancePre<RenderState>) -> wasmtime::Result<Self> {
        match version {
            v0_2::VERSION => Ok(RendererBindings::V0_2(v0_2::RendererPluginPre::new(pre)?)),
            other => Err(wasmtime::format_err!("contract version {other} is not supported")),
        }
    }

    /// Calls `formats()`.
    pub async fn formats(
        &self,
        store: &mut Store<RenderState>,
    ) -> wasmtime::Result<Vec<latest::exports::metrics::renderer::renderer::FormatInfo>> {
        match self {
            RendererBindings::V0_2(pre) => {
                let plugin = pre.instantiate_async(&mut *store).await?;
                plugin.metrics_renderer_renderer().call_formats(&mut *store).await
            }
        }
    }

    /// Calls `render(snapshot, format, options)`.
    pub async fn render(
        &self,
        store: &mut Store<RenderState>,
        snapshot: &latest::metrics::renderer::types::Snapshot,
        format: &str,
        options: &latest::metrics::renderer::types::RenderOptions,
    ) -> wasmtime::Result<Result<(), latest::metrics::renderer::types::RenderError>> {
        match self {
            RendererBindings::V0_2(pre) => {
                let plugin = pre.instantiate_async(&mut *store).await?;
                plugin.metrics_renderer_renderer().call_render(&mut *store, snapshot, format, options).await
            }
        }
    }
}

/// Adds the generated host side of every supported version to `linker`:
/// `input.next-batch`. `output.write` is defined by hand in `plugin::call`
/// (see there why), and `types` has no functions.
pub fn add_to_linker(linker: &mut Linker<RenderState>) -> wasmtime::Result<()> {
    v0_2::metrics::renderer::input::add_to_linker::<RenderState, wasmtime::component::HasSelf<RenderState>>(linker, |state| state)
}
