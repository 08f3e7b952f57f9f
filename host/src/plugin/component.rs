//! A renderer component: checking a compiled one against the contract
//! (exports, imports, signatures, `formats()` rules) and pre-linking it, then
//! calling it, each call in a fresh store built by [`super::call`].
use super::bounded_text::bounded;
use super::call::{guest_error_cause, new_store, trap_cause, with_watchdog, RenderFailure, RenderFailureCause, RenderLimits, RenderState};
use super::format_rules::check_formats;
use super::series_batches::RenderNames;
use super::sink::OutputSink;
use super::wit::latest::exports::metrics::renderer::renderer::FormatInfo as FormatInfoWit;
use super::wit::latest::metrics::renderer::types::RenderOptions as RenderOptionsArg;
use super::wit::{RendererBindings, SUPPORTED_VERSIONS};
use crate::snapshot::Snapshot;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{types::ComponentItem, Component, Linker};
use wasmtime::Engine;

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
    /// Not a wasm component at all.
    #[error("plugin {plugin:?}: not a valid wasm component: {detail}")]
    NotAComponent {
        /// The plugin's name.
        plugin: String,
        /// What is wrong.
        detail: String,
    },
    /// No renderer interface exported.
    #[error("plugin {plugin:?}: does not export the interface metrics:renderer/renderer (it exports: {exports})")]
    MissingExport {
        /// The plugin's name.
        plugin: String,
        /// What it exports instead.
        exports: String,
    },
    /// A contract version this host does not load.
    #[error("plugin {plugin:?}: exports metrics:renderer/renderer@{found}, but this host supports {supported}")]
    UnsupportedVersion {
        /// The plugin's name.
        plugin: String,
        /// The version it exports.
        found: String,
        /// The versions this host loads.
        supported: String,
    },
    /// An import outside the contract and WASI's allowed part.
    #[error("plugin {plugin:?} {version}: imports {import:?}, which renderers may not use")]
    ForbiddenImport {
        /// The plugin's name.
        plugin: String,
        /// The contract version it exports.
        version: String,
        /// The import.
        import: String,
    },
    /// Exports of the wrong type.
    #[error("plugin {plugin:?} {version}: does not match the renderer contract: {detail}")]
    Contract {
        /// The plugin's name.
        plugin: String,
        /// The contract version it exports.
        version: String,
        /// What is wrong.
        detail: String,
    },
    /// `formats()` trapped, timed out or failed.
    #[error("plugin {plugin:?} {version}: formats() failed: {detail}")]
    Formats {
        /// The plugin's name.
        plugin: String,
        /// The contract version it exports.
        version: String,
        /// What is wrong.
        detail: String,
    },
    /// `formats()` answered something the host refuses.
    #[error("plugin {plugin:?} {version}: formats() breaks the host's rules: {detail}")]
    FormatRules {
        /// The plugin's name.
        plugin: String,
        /// The contract version it exports.
        version: String,
        /// What is wrong.
        detail: String,
    },
    /// `configure` refused the plugin's settings.
    #[error("plugin {plugin:?} {version}: refused its settings: {detail}")]
    Settings {
        /// The plugin's name.
        plugin: String,
        /// The contract version it exports.
        version: String,
        /// What is wrong.
        detail: String,
    },
    /// A format failed its preflight.
    #[error("plugin {plugin:?} {version}: {failure}; it does not go live")]
    Preflight {
        /// The plugin's name.
        plugin: String,
        /// The contract version it exports.
        version: String,
        /// Which format failed which check.
        failure: super::preflight::PreflightFailure,
    },
}

pub use super::format_rules::FormatInfo;

/// A compiled, checked, pre-linked renderer. Each render instantiates it in
/// a fresh store, so a trap never leaves a broken instance behind.
pub struct RendererComponent {
    /// Plugin name (file stem, or `builtin`), for messages.
    pub name: String,
    /// WIT version of the `renderer` interface it exports.
    pub wit_version: String,
    /// The formats it offers, as checked at load.
    pub formats: Vec<FormatInfo>,
    /// True for the renderers embedded in the host, whose output the host
    /// knows (content negotiation relies on it).
    pub builtin: bool,
    /// The engine it was compiled for (a handle; keeps the epoch ticker alive).
    pub(crate) engine: Engine,
    /// Pre-linked, with its exports checked against its contract version.
    pub(crate) bindings: RendererBindings<RenderState>,
    /// Whether instances need a (capability-free) WASI context.
    pub(crate) uses_wasi: bool,
    /// Backs the component off when it keeps failing.
    pub breaker: super::CircuitBreaker,
    /// Its settings, as `configure` accepted them; in every render's options.
    pub settings: super::settings::Settings,
}

impl RendererComponent {
    /// Checks a compiled component against the contract and pre-links it.
    pub(crate) async fn from_component(
        engine: &Engine,
        linker: &Linker<RenderState>,
        name: &str,
        component: Component,
    ) -> Result<Self, LoadError> {
        let plugin = name.to_string();
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
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
        for (import, item) in ty.imports(engine) {
            let allowed = import == format!("{INPUT_IMPORT}{version}")
                || import == format!("{OUTPUT_IMPORT}{version}")
                || (import == format!("{TYPES_IMPORT}{version}") && is_types_only(engine, &item.ty))
                || WASI_IMPORTS.iter().any(|prefix| import.starts_with(prefix));
            if !allowed {
                return Err(LoadError::ForbiddenImport { plugin, version, import: bounded(import) });
            }
        }
        let contract = |detail: String| LoadError::Contract { plugin: plugin.clone(), version: version.clone(), detail: bounded(&detail) };
        let pre = linker.instantiate_pre(&component).map_err(|e| contract(format!("{e:#}")))?;
        // The generated bindings check every export and its signature.
        let bindings = RendererBindings::new(&version, pre).map_err(|e| contract(format!("{e:#}")))?;
        let uses_wasi = ty.imports(engine).any(|(import, _)| import.starts_with("wasi:"));
        let mut loaded = RendererComponent {
            uses_wasi,
            builtin: false,
            breaker: Default::default(),
            name: plugin.clone(),
            wit_version: version.clone(),
            formats: Vec::new(),
            settings: Vec::new(),
            engine: engine.clone(),
            bindings,
        };
        let limits = load_call_limits();
        let formats = loaded.call_formats(&limits).await.map_err(|cause| match cause {
            RenderFailureCause::ContractMismatch(detail) => {
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

/// The bounds of the calls made while loading (`formats()`, `configure`).
fn load_call_limits() -> RenderLimits {
    RenderLimits { deadline: Duration::from_secs(2), memory_bytes: 64 << 20, ..RenderLimits::default() }
}

/// True when an imported instance exports only types (no functions).
fn is_types_only(engine: &wasmtime::Engine, item: &ComponentItem) -> bool {
    match item {
        ComponentItem::ComponentInstance(instance) => instance.exports(engine).all(|(_, item)| matches!(item.ty, ComponentItem::Type(_))),
        _ => false,
    }
}

impl RendererComponent {
    /// Hands the plugin its settings (`configure`, in a fresh store with the
    /// load-time bounds); kept for every render if it accepts them.
    pub async fn configure(&mut self, settings: super::settings::Settings) -> Result<(), LoadError> {
        let refused = |detail: String| LoadError::Settings { plugin: self.name.clone(), version: self.wit_version.clone(), detail };
        let limits = load_call_limits();
        let mut store = new_store(&self.engine, self.uses_wasi, &limits, None, None);
        let budget = store.data().budget();
        let call = async {
            budget.resume();
            self.bindings.configure(&mut store, &settings).await
        };
        let result = with_watchdog(budget.clone(), call).await;
        let (_, last_stderr) = store.data_mut().finish(&self.name);
        match result {
            None => Err(refused(RenderFailureCause::TimedOut(limits.deadline).to_string())),
            Some(Err(error)) => Err(refused(trap_cause(&store, &limits, error, last_stderr).to_string())),
            Some(Ok(Err(reason))) => Err(refused(bounded(&reason))),
            Some(Ok(Ok(()))) => {
                self.settings = settings;
                Ok(())
            }
        }
    }

    /// Calls `formats()` in a fresh store.
    async fn call_formats(&self, limits: &RenderLimits) -> Result<Vec<FormatInfoWit>, RenderFailureCause> {
        let mut store = new_store(&self.engine, self.uses_wasi, limits, None, None);
        let budget = store.data().budget();
        let call = async {
            budget.resume();
            self.bindings.formats(&mut store).await
        };
        let result = with_watchdog(budget.clone(), call).await;
        let (_, last_stderr) = store.data_mut().finish(&self.name);
        match result {
            Some(result) => result.map_err(|e| trap_cause(&store, limits, e, last_stderr)),
            None => Err(RenderFailureCause::TimedOut(limits.deadline)),
        }
    }

    /// Renders `snapshot` in `format`, streaming into `output`; the guest
    /// reads the series in batches. The guest runs on the calling thread
    /// between yields, so drive this from a blocking thread
    /// (`Handle::block_on` inside `spawn_blocking`).
    pub async fn render(
        &self,
        snapshot: &Arc<Snapshot>,
        format: &str,
        names: RenderNames<'_>,
        limits: &RenderLimits,
        output: Box<dyn OutputSink>,
    ) -> Result<(), RenderFailure> {
        self.render_reporting(snapshot, format, names, limits, output).await.0
    }

    /// [`RendererComponent::render`], also reporting how the guest behaved
    /// (for `plugin check`).
    pub async fn render_reporting(
        &self,
        snapshot: &Arc<Snapshot>,
        format: &str,
        names: RenderNames<'_>,
        limits: &RenderLimits,
        output: Box<dyn OutputSink>,
    ) -> (Result<(), RenderFailure>, GuestConduct) {
        let fail = |cause| RenderFailure { plugin: self.name.clone(), format: format.to_string(), cause };
        let mut store = new_store(&self.engine, self.uses_wasi, limits, Some(Arc::clone(snapshot)), Some(output));
        let arg = snapshot.arg(names);
        // The prefix is already part of the names.
        let mut settings: Vec<(String, String)> =
            self.settings.iter().filter(|(key, _)| !names.settings.iter().any(|(k, _)| k == key)).cloned().collect();
        settings.extend_from_slice(names.settings);
        settings.sort();
        let options = RenderOptionsArg { prefix: String::new(), settings };
        let budget = store.data().budget();
        let call = async {
            budget.resume();
            let result = self.bindings.render(&mut store, &arg, format, &options).await?;
            // The last gathered output goes out before the render counts as done.
            if result.is_ok() {
                store.data_mut().flush_pending().await;
            }
            Ok(result)
        };
        let result = with_watchdog(budget.clone(), call).await;
        let (memory_bytes, writes_after_refusal, reading) = store.data().conduct();
        let (stopped, last_stderr) = store.data_mut().finish(&self.name);
        let mut conduct = GuestConduct { returned: None, memory_bytes, writes_after_refusal, reading };
        let Some(result) = result else {
            return (Err(fail(RenderFailureCause::TimedOut(limits.deadline))), conduct);
        };
        let result = match result {
            Ok(Ok(())) => {
                conduct.returned = Some(GuestReturn::Ok);
                match stopped {
                    Some(cause) => Err(fail(cause)),
                    None => Ok(()),
                }
            }
            Ok(Err(error)) => {
                conduct.returned = Some(GuestReturn::of(&error));
                Err(fail(stopped.unwrap_or_else(|| guest_error_cause(error))))
            }
            Err(error) => Err(fail(stopped.unwrap_or_else(|| trap_cause(&store, limits, error, last_stderr)))),
        };
        (result, conduct)
    }
}

/// What a guest's `render` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestReturn {
    /// `ok`.
    Ok,
    /// `render-error::unknown-format`.
    UnknownFormat,
    /// `render-error::invalid-option`.
    InvalidOption,
    /// `render-error::output-closed`.
    OutputClosed,
    /// `render-error::failed`, with its message.
    Failed(String),
}

impl GuestReturn {
    fn of(error: &super::wit::latest::metrics::renderer::types::RenderError) -> Self {
        use super::wit::latest::metrics::renderer::types::RenderError as E;
        match error {
            E::UnknownFormat(_) => GuestReturn::UnknownFormat,
            E::InvalidOption(_) => GuestReturn::InvalidOption,
            E::OutputClosed => GuestReturn::OutputClosed,
            E::Failed(why) => GuestReturn::Failed(bounded(why)),
        }
    }
}

/// How a guest behaved in one render, beyond the outcome.
#[derive(Debug, Clone)]
pub struct GuestConduct {
    /// What `render` returned, if it returned (not trapped, not timed out).
    pub returned: Option<GuestReturn>,
    /// Linear memory and tables the guest grew to, in bytes.
    pub memory_bytes: usize,
    /// `output.write` calls after the host refused output.
    pub writes_after_refusal: u64,
    /// The last batch of series the guest was handed (family and series),
    /// `None` when it asked for none.
    pub reading: Option<String>,
}
