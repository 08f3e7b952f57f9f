//! Loading a renderer component: compile, check the contract, pre-link, and
//! ask it which formats it offers.
use super::bounded_text::bounded;
use super::call::{self, RenderLimits};
use super::engine::RendererEngine;
use super::format_rules::check_formats;
use super::wit::{RendererBindings, SUPPORTED_VERSIONS};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{types::ComponentItem, Component};

/// Prefix of the export every renderer has; the version follows the `@`.
const RENDERER_EXPORT: &str = "metrics:renderer/renderer@";
/// The host's interfaces a renderer may import, at the version it exports.
const INPUT_IMPORT: &str = "metrics:renderer/input@";
const OUTPUT_IMPORT: &str = "metrics:renderer/output@";
/// Type-only interface; importing it gives the component no capability.
const TYPES_IMPORT: &str = "metrics:renderer/types@";
/// WASI interfaces the host provides, with no capabilities behind them (no
/// files, environment, arguments or network), so std-built plugins load.
const WASI_IMPORTS: [&str; 6] = ["wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/", "wasi:random/", "wasi:sockets/"];

/// Why a component cannot be used as a renderer.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin {plugin:?}: not a valid wasm component: {detail}")]
    NotAComponent { plugin: String, detail: String },
    #[error("plugin {plugin:?}: does not export the interface metrics:renderer/renderer (it exports: {exports})")]
    MissingExport { plugin: String, exports: String },
    #[error("plugin {plugin:?}: exports metrics:renderer/renderer@{found}, but this host supports {supported}")]
    UnsupportedVersion { plugin: String, found: String, supported: String },
    #[error("plugin {plugin:?} {version}: imports {import:?}, which renderers may not use")]
    ForbiddenImport { plugin: String, version: String, import: String },
    #[error("plugin {plugin:?} {version}: does not match the renderer contract: {detail}")]
    Contract { plugin: String, version: String, detail: String },
    #[error("plugin {plugin:?} {version}: formats() failed: {detail}")]
    Formats { plugin: String, version: String, detail: String },
    #[error("plugin {plugin:?} {version}: formats() breaks the host's rules: {detail}")]
    FormatRules { plugin: String, version: String, detail: String },
}

/// A format a component offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatInfo {
    pub name: String,
    pub content_type: String,
    pub description: String,
}

/// A compiled, checked, pre-linked renderer. Each render instantiates it in
/// a fresh store, so a trap never leaves a broken instance behind.
pub struct RendererComponent {
    /// Plugin name (file stem, or `builtin`), for messages.
    pub name: String,
    /// WIT version of the `renderer` interface it exports.
    pub wit_version: String,
    pub formats: Vec<FormatInfo>,
    /// True for the renderers embedded in the host, whose output the host
    /// knows (content negotiation relies on it).
    pub builtin: bool,
    pub(crate) engine: Arc<RendererEngine>,
    /// Pre-linked, with its exports checked against its contract version.
    pub(crate) bindings: RendererBindings,
    /// Whether instances need a (capability-free) WASI context.
    pub(crate) uses_wasi: bool,
    /// Backs the component off when it keeps failing.
    pub breaker: super::CircuitBreaker,
}

impl RendererComponent {
    /// Checks a compiled component against the contract and pre-links it.
    pub(crate) async fn from_component(engine: &Arc<RendererEngine>, name: &str, component: Component) -> Result<Self, LoadError> {
        let plugin = name.to_string();
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(&engine.engine).map(|(n, _)| n.to_string()).collect();
        let Some(export_name) = exports.iter().find(|n| n.starts_with(RENDERER_EXPORT)) else {
            return Err(LoadError::MissingExport {
                plugin,
                exports: if exports.is_empty() { "nothing".into() } else { bounded(&exports.join(", ")) },
            });
        };
        let version = bounded(&export_name[RENDERER_EXPORT.len()..]);
        if !SUPPORTED_VERSIONS.contains(&version.as_str()) {
            return Err(LoadError::UnsupportedVersion { plugin, found: version, supported: SUPPORTED_VERSIONS.join(", ") });
        }
        for (import, item) in ty.imports(&engine.engine) {
            let allowed = import == format!("{INPUT_IMPORT}{version}")
                || import == format!("{OUTPUT_IMPORT}{version}")
                || (import == format!("{TYPES_IMPORT}{version}") && is_types_only(&engine.engine, &item.ty))
                || WASI_IMPORTS.iter().any(|prefix| import.starts_with(prefix));
            if !allowed {
                return Err(LoadError::ForbiddenImport { plugin, version, import: bounded(import) });
            }
        }
        let contract = |detail: String| LoadError::Contract { plugin: plugin.clone(), version: version.clone(), detail: bounded(&detail) };
        let pre = engine.linker.instantiate_pre(&component).map_err(|e| contract(format!("{e:#}")))?;
        // The generated bindings check every export and its signature.
        let bindings = RendererBindings::new(&version, pre).map_err(|e| contract(format!("{e:#}")))?;
        let uses_wasi = ty.imports(&engine.engine).any(|(import, _)| import.starts_with("wasi:"));
        let mut loaded = RendererComponent {
            uses_wasi,
            builtin: false,
            breaker: Default::default(),
            name: plugin.clone(),
            wit_version: version.clone(),
            formats: Vec::new(),
            engine: Arc::clone(engine),
            bindings,
        };
        let limits = RenderLimits { deadline: Duration::from_secs(2), memory_bytes: 64 << 20, ..RenderLimits::default() };
        let formats = call::call_formats(&loaded, &limits).await.map_err(|cause| match cause {
            call::RenderFailureCause::ContractMismatch(detail) => {
                LoadError::Contract { plugin: plugin.clone(), version: version.clone(), detail }
            }
            other => LoadError::Formats { plugin: plugin.clone(), version: version.clone(), detail: bounded(&other.to_string()) },
        })?;
        let formats: Vec<FormatInfo> =
            formats.into_iter().map(|f| FormatInfo { name: f.name, content_type: f.content_type, description: f.description }).collect();
        check_formats(&formats).map_err(|detail| LoadError::FormatRules { plugin: plugin.clone(), version: version.clone(), detail })?;
        loaded.formats = formats;
        Ok(loaded)
    }

    /// The format called `name`, if this component offers it.
    pub fn format(&self, name: &str) -> Option<&FormatInfo> {
        self.formats.iter().find(|f| f.name == name)
    }
}

/// True when an imported instance exports only types (no functions).
fn is_types_only(engine: &wasmtime::Engine, item: &ComponentItem) -> bool {
    match item {
        ComponentItem::ComponentInstance(instance) => instance.exports(engine).all(|(_, item)| matches!(item.ty, ComponentItem::Type(_))),
        _ => false,
    }
}
