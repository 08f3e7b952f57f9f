//! An immutable set of loaded renderers, indexed by format name: which one
//! serves a format (most preferred first, skipping backed-off ones) and
//! what is on offer for content negotiation. `catalog` swaps in a
//! new set on every reload.
use crate::plugin::format_capabilities::FormatCapabilities;
use crate::plugin::{FormatInfo, LoadError, RendererComponent, RendererEngine, DEFAULT_RENDERER_WASM};
use std::collections::HashMap;
use std::sync::Arc;

/// Name under which the embedded default renderer is listed.
pub const BUILTIN_NAME: &str = "builtin";

/// A format on offer, for content negotiation.
#[derive(Debug, Clone)]
pub struct OfferedFormat {
    /// The format, as its renderer offers it.
    pub info: FormatInfo,
    /// What it can write beyond its content type.
    pub capabilities: FormatCapabilities,
    /// Served by the host's own renderer (the listings say `built-in`).
    pub builtin: bool,
}

impl OfferedFormat {
    /// `info` on offer, served by the host's own renderer (`builtin`) or a plugin.
    pub fn of(info: FormatInfo, builtin: bool) -> Self {
        OfferedFormat { capabilities: FormatCapabilities::of(&info, builtin), info, builtin }
    }
}

/// Loaded renderers: plugins (in file-name order) before built-ins.
#[derive(Clone)]
pub struct RendererSet {
    builtins: Vec<Arc<RendererComponent>>,
    plugins: Vec<Arc<RendererComponent>>,
    /// Every renderer offering each format, most preferred first.
    by_format: HashMap<String, Vec<(Arc<RendererComponent>, FormatInfo)>>,
    /// The winning renderer's format for each name, sorted by name.
    offered: Vec<OfferedFormat>,
}

impl std::fmt::Debug for RendererSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RendererSet").field("formats", &self.format_names()).finish_non_exhaustive()
    }
}

impl RendererSet {
    fn new(builtins: Vec<Arc<RendererComponent>>, plugins: Vec<Arc<RendererComponent>>) -> Self {
        let mut by_format: HashMap<String, Vec<(Arc<RendererComponent>, FormatInfo)>> = HashMap::new();
        for renderer in plugins.iter().rev().chain(builtins.iter().rev()) {
            for info in &renderer.formats {
                by_format.entry(info.name.clone()).or_default().push((Arc::clone(renderer), info.clone()));
            }
        }
        let mut offered: Vec<OfferedFormat> = by_format.values().map(|c| OfferedFormat::of(c[0].1.clone(), c[0].0.builtin)).collect();
        offered.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        RendererSet { builtins, plugins, by_format, offered }
    }

    /// The embedded default renderer only.
    pub async fn builtin(engine: &Arc<RendererEngine>) -> Result<Self, LoadError> {
        let mut default = engine.load_embedded(BUILTIN_NAME, DEFAULT_RENDERER_WASM).await?;
        default.builtin = true;
        Ok(RendererSet::new(vec![Arc::new(default)], Vec::new()))
    }

    /// Adds a plugin; its formats take precedence over the built-ins'.
    pub fn with_plugin(self, plugin: Arc<RendererComponent>) -> Self {
        let mut plugins = self.plugins;
        plugins.push(plugin);
        RendererSet::new(self.builtins, plugins)
    }

    pub(crate) fn with_plugins(&self, plugins: Vec<Arc<RendererComponent>>) -> Self {
        RendererSet::new(self.builtins.clone(), plugins)
    }

    /// The renderer for `format` and that format's description.
    pub fn find(&self, format: &str) -> Option<(Arc<RendererComponent>, FormatInfo)> {
        self.by_format.get(format).and_then(|c| c.first()).cloned()
    }

    /// The renderer to use for `format` now: the most preferred one whose
    /// circuit breaker is closed.
    pub fn select(&self, format: &str) -> Selection {
        let mut backed_off = None;
        for (renderer, info) in self.by_format.get(format).into_iter().flatten() {
            match renderer.breaker.backed_off_for() {
                None => return Selection::Ready(Arc::clone(renderer), info.clone()),
                Some(wait) => {
                    backed_off.get_or_insert((renderer.name.clone(), wait));
                }
            }
        }
        match backed_off {
            Some((plugin, retry_in)) => Selection::BackedOff { plugin, retry_in },
            None => Selection::Unknown,
        }
    }

    /// Every format on offer (the one that wins for each name), sorted by name.
    pub fn formats(&self) -> Vec<FormatInfo> {
        self.offered.iter().map(|o| o.info.clone()).collect()
    }

    /// Every format on offer with where it comes from, sorted by name.
    pub fn offered(&self) -> &[OfferedFormat] {
        &self.offered
    }

    /// Every format name on offer, sorted.
    pub fn format_names(&self) -> Vec<String> {
        self.offered.iter().map(|o| o.info.name.clone()).collect()
    }

    pub(crate) fn builtin_components(&self) -> &[Arc<RendererComponent>] {
        &self.builtins
    }
}

/// Which renderer serves a format right now.
pub enum Selection {
    /// This renderer serves it, as this format.
    Ready(Arc<RendererComponent>, FormatInfo),
    /// Every renderer of the format is backed off after repeated failures.
    BackedOff {
        /// The plugin backed off.
        plugin: String,
        /// Until its next trial render.
        retry_in: std::time::Duration,
    },
    /// No renderer offers the format.
    Unknown,
}
