//! The renderer contract as Rust, one generated module per supported
//! version (as Zed's extension host does). Inside, the host speaks the
//! newest version's types ([`latest`]); [`RendererBindings`] holds a
//! checked, pre-linked component of whichever version it exports and calls
//! it through that version's bindings, adapting at the edge.
//!
//! Every contract version lives in its own `wit/vX.Y.Z/` folder, and a
//! released one is never edited. Adding a version: write it in a new
//! folder, add its module generated from there (bindings and its imports
//! beside them, as `v0_3.rs`), point [`latest`] at it, give the previous
//! version `From` impls from the newest types (leaving out what it cannot
//! express), add a variant here and list the version in
//! [`SUPPORTED_VERSIONS`].
pub mod v0_2;
pub mod v0_3;

/// The newest contract version; the host's internal types come from here.
pub use v0_3 as latest;

use latest::exports::metrics::renderer::renderer::FormatInfo;
use latest::metrics::renderer::types::{RenderError, RenderOptions, Snapshot};
use wasmtime::component::{InstancePre, Linker};
use wasmtime::Store;

/// Contract versions this host can load, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[v0_3::VERSION, v0_2::VERSION];

/// A component's exports differ in type from what its contract version
/// requires (found when the exports are bound, before any guest call).
#[derive(Debug, thiserror::Error)]
#[error("an export has the wrong type: {0}")]
pub struct ContractMismatch(pub String);

/// What a store's data provides to the imports of every supported version
/// (the host's render state: the bindings know nothing else of it).
pub trait ContractHost:
    v0_3::metrics::renderer::input::Host
    + v0_3::metrics::renderer::types::Host
    + v0_2::metrics::renderer::input::Host
    + v0_2::metrics::renderer::types::Host
    + Send
    + 'static
{
    /// Leaves the families `hide` says yes to out of `input.next-batch`
    /// (for a version that cannot express them).
    fn hide_from_input(&mut self, hide: &dyn Fn(&crate::snapshot::FamilySnapshot) -> bool);
}

/// A component checked against one supported version of the contract,
/// pre-linked for stores whose data is `T`.
pub enum RendererBindings<T: ContractHost> {
    /// A 0.3.0 component.
    V0_3 {
        /// Linked, ready to instantiate.
        pre: InstancePre<T>,
        /// Where its exports are.
        indices: v0_3::RendererPluginIndices,
    },
    /// A 0.2.0 component.
    V0_2 {
        /// Linked, ready to instantiate.
        pre: InstancePre<T>,
        /// Where its exports are.
        indices: v0_2::RendererPluginIndices,
    },
}

/// Instantiates `pre` and binds its exports with `indices`, reporting a
/// signature mismatch as [`ContractMismatch`].
macro_rules! instantiate {
    ($pre:expr, $indices:expr, $store:expr) => {{
        let instance = $pre.instantiate_async(&mut *$store).await?;
        $indices.load(&mut *$store, &instance).map_err(|e| wasmtime::Error::new(ContractMismatch(format!("{e:#}"))))?
    }};
}

impl<T: ContractHost> RendererBindings<T> {
    /// Checks that the pre-linked component exports what `version`
    /// requires; the signatures are checked when an instance is bound
    /// ([`ContractMismatch`]), which loading does once.
    pub fn new(version: &str, pre: InstancePre<T>) -> wasmtime::Result<Self> {
        match version {
            v0_3::VERSION => Ok(RendererBindings::V0_3 { indices: v0_3::RendererPluginIndices::new(&pre)?, pre }),
            v0_2::VERSION => Ok(RendererBindings::V0_2 { indices: v0_2::RendererPluginIndices::new(&pre)?, pre }),
            other => Err(wasmtime::format_err!("contract version {other} is not supported")),
        }
    }

    /// Calls `formats()`.
    pub async fn formats(&self, store: &mut Store<T>) -> wasmtime::Result<Vec<FormatInfo>> {
        match self {
            RendererBindings::V0_3 { pre, indices } => {
                let plugin: v0_3::RendererPlugin = instantiate!(pre, indices, store);
                plugin.metrics_renderer_renderer().call_formats(&mut *store).await
            }
            RendererBindings::V0_2 { pre, indices } => {
                let plugin: v0_2::RendererPlugin = instantiate!(pre, indices, store);
                let formats = plugin.metrics_renderer_renderer().call_formats(&mut *store).await?;
                Ok(formats.into_iter().map(FormatInfo::from).collect())
            }
        }
    }

    /// Calls `configure(settings)`: the plugin's verdict on its settings.
    /// A 0.2.0 plugin has no `configure` and takes no settings.
    pub async fn configure(&self, store: &mut Store<T>, settings: &[(String, String)]) -> wasmtime::Result<Result<(), String>> {
        match self {
            RendererBindings::V0_3 { pre, indices } => {
                let plugin: v0_3::RendererPlugin = instantiate!(pre, indices, store);
                plugin.metrics_renderer_renderer().call_configure(&mut *store, settings).await
            }
            RendererBindings::V0_2 { .. } if settings.is_empty() => Ok(Ok(())),
            RendererBindings::V0_2 { .. } => Ok(Err("contract 0.2.0 takes no settings; rebuild the plugin against 0.3.0".into())),
        }
    }

    /// Calls `render(snapshot, format, options)`.
    pub async fn render(
        &self,
        store: &mut Store<T>,
        snapshot: &Snapshot,
        format: &str,
        options: &RenderOptions,
    ) -> wasmtime::Result<Result<(), RenderError>> {
        match self {
            RendererBindings::V0_3 { pre, indices } => {
                let plugin: v0_3::RendererPlugin = instantiate!(pre, indices, store);
                plugin.metrics_renderer_renderer().call_render(&mut *store, snapshot, format, options).await
            }
            RendererBindings::V0_2 { pre, indices } => {
                let plugin: v0_2::RendererPlugin = instantiate!(pre, indices, store);
                store.data_mut().hide_from_input(&|family| !v0_2::carries(family.kind));
                let snapshot = v0_2::metrics::renderer::types::Snapshot::from(snapshot);
                let options = options.clone().into();
                let result = plugin.metrics_renderer_renderer().call_render(&mut *store, &snapshot, format, &options).await?;
                Ok(result.map_err(RenderError::from))
            }
        }
    }
}

/// Adds the generated host side of every supported version to `linker`:
/// `input.next-batch`. `output.write` is defined by hand in `plugin::call`
/// (see there why), and `types` has no functions.
pub fn add_to_linker<T: ContractHost>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    v0_3::metrics::renderer::input::add_to_linker::<T, HasSelf<T>>(linker, |state| state)?;
    v0_2::metrics::renderer::input::add_to_linker::<T, HasSelf<T>>(linker, |state| state)
}
