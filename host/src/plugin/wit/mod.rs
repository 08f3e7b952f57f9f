//! The renderer contract as Rust, one generated module per supported
//! version (as Zed's extension host does). Inside, the host speaks the
//! newest version's types ([`latest`]); [`RendererBindings`] holds a
//! checked, pre-linked component of whichever version it exports and calls
//! it through that version's bindings, adapting at the edge.
//!
//! Adding contract version 0.3: copy the WIT as released, add `v0_3.rs`
//! generated from the new one, point [`latest`] at it, add a variant here
//! whose calls convert between the two versions' types (`From` impls), and
//! list the version in [`SUPPORTED_VERSIONS`].
pub mod v0_2;

/// The newest contract version; the host's internal types come from here.
pub use v0_2 as latest;

use super::call::RenderState;
use latest::exports::metrics::renderer::renderer::FormatInfo;
use latest::metrics::renderer::types::{RenderError, RenderOptions, Snapshot};
use wasmtime::component::{InstancePre, Linker};
use wasmtime::Store;

/// Contract versions this host can load, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[v0_2::VERSION];

/// A component's exports differ in type from what its contract version
/// requires (found when the exports are bound, before any guest call).
#[derive(Debug, thiserror::Error)]
#[error("an export has the wrong type: {0}")]
pub struct ContractMismatch(pub String);

/// A component checked against one supported version of the contract.
pub enum RendererBindings {
    V0_2 { pre: InstancePre<RenderState>, indices: v0_2::RendererPluginIndices },
}

impl RendererBindings {
    /// Checks that the pre-linked component exports what `version`
    /// requires; the signatures are checked when an instance is bound
    /// ([`ContractMismatch`]), which loading does once.
    pub fn new(version: &str, pre: InstancePre<RenderState>) -> wasmtime::Result<Self> {
        match version {
            v0_2::VERSION => Ok(RendererBindings::V0_2 { indices: v0_2::RendererPluginIndices::new(&pre)?, pre }),
            other => Err(wasmtime::format_err!("contract version {other} is not supported")),
        }
    }

    async fn instantiate_v0_2(
        pre: &InstancePre<RenderState>,
        indices: &v0_2::RendererPluginIndices,
        store: &mut Store<RenderState>,
    ) -> wasmtime::Result<v0_2::RendererPlugin> {
        let instance = pre.instantiate_async(&mut *store).await?;
        indices.load(&mut *store, &instance).map_err(|e| wasmtime::Error::new(ContractMismatch(format!("{e:#}"))))
    }

    /// Calls `formats()`.
    pub async fn formats(&self, store: &mut Store<RenderState>) -> wasmtime::Result<Vec<FormatInfo>> {
        match self {
            RendererBindings::V0_2 { pre, indices } => {
                let plugin = Self::instantiate_v0_2(pre, indices, store).await?;
                plugin.metrics_renderer_renderer().call_formats(&mut *store).await
            }
        }
    }

    /// Calls `render(snapshot, format, options)`.
    pub async fn render(
        &self,
        store: &mut Store<RenderState>,
        snapshot: &Snapshot,
        format: &str,
        options: &RenderOptions,
    ) -> wasmtime::Result<Result<(), RenderError>> {
        match self {
            RendererBindings::V0_2 { pre, indices } => {
                let plugin = Self::instantiate_v0_2(pre, indices, store).await?;
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
