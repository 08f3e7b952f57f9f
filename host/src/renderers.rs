//! The formats a server offers and which renderer component provides each.
//! Plugins override built-ins of the same format name.
use crate::plugin::{FormatInfo, LoadError, RendererComponent, RendererEngine, DEFAULT_RENDERER_WASM};
use std::sync::Arc;

/// Name under which the embedded default renderer is listed.
pub const BUILTIN_NAME: &str = "builtin";

/// Loaded renderers, built-ins first.
#[derive(Clone)]
pub struct RendererSet {
    builtins: Vec<Arc<RendererComponent>>,
    plugins: Vec<Arc<RendererComponent>>,
}

impl RendererSet {
    /// The embedded default renderer only.
    pub fn builtin(engine: &Arc<RendererEngine>) -> Result<Self, LoadError> {
        let default = engine.load(BUILTIN_NAME, DEFAULT_RENDERER_WASM)?;
        Ok(RendererSet { builtins: vec![Arc::new(default)], plugins: Vec::new() })
    }

    /// Adds a plugin; its formats take precedence over the built-ins'.
    pub fn with_plugin(mut self, plugin: Arc<RendererComponent>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// The renderer for `format` and that format's description.
    pub fn find(&self, format: &str) -> Option<(Arc<RendererComponent>, FormatInfo)> {
        self.plugins
            .iter()
            .rev()
            .chain(self.builtins.iter().rev())
            .find_map(|r| r.format(format).map(|info| (Arc::clone(r), info.clone())))
    }

    /// Every format name on offer, sorted, without duplicates.
    pub fn format_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.plugins.iter().chain(&self.builtins).flat_map(|r| r.formats.iter().map(|f| f.name.clone())).collect();
        names.sort();
        names.dedup();
        names
    }
}
