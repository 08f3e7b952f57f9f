//! Which renderer serves which format, and hot swapping of plugins.
//!
//! [`RendererSet`] is an immutable snapshot: built-ins plus the plugins that
//! loaded. [`Renderers`] holds the current set behind an `ArcSwap`; a reload
//! compiles and checks every new or changed plugin first, then swaps one
//! pointer. A render that started keeps the set (and component) it began
//! with. A plugin that fails to load keeps its previous good version serving,
//! and the failure shows in [`Renderers::statuses`].
use crate::plugin::{ArtifactCache, BreakerStatus, FormatInfo, LoadError, RendererComponent, RendererEngine, DEFAULT_RENDERER_WASM};
use arc_swap::ArcSwap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// Name under which the embedded default renderer is listed.
pub const BUILTIN_NAME: &str = "builtin";

/// Loaded renderers: plugins (in file-name order) before built-ins.
#[derive(Clone)]
pub struct RendererSet {
    builtins: Vec<Arc<RendererComponent>>,
    plugins: Vec<Arc<RendererComponent>>,
}

impl RendererSet {
    /// The embedded default renderer only.
    pub async fn builtin(engine: &Arc<RendererEngine>) -> Result<Self, LoadError> {
        let default = engine.load(BUILTIN_NAME, DEFAULT_RENDERER_WASM).await?;
        Ok(RendererSet { builtins: vec![Arc::new(default)], plugins: Vec::new() })
    }

    /// Adds a plugin; its formats take precedence over the built-ins'.
    pub fn with_plugin(mut self, plugin: Arc<RendererComponent>) -> Self {
        self.plugins.push(plugin);
        self
    }

    fn with_plugins(&self, plugins: Vec<Arc<RendererComponent>>) -> Self {
        RendererSet { builtins: self.builtins.clone(), plugins }
    }

    /// The renderer for `format` and that format's description.
    pub fn find(&self, format: &str) -> Option<(Arc<RendererComponent>, FormatInfo)> {
        self.candidates(format).next()
    }

    /// Every renderer offering `format`, most preferred first.
    fn candidates<'a>(&'a self, format: &'a str) -> impl Iterator<Item = (Arc<RendererComponent>, FormatInfo)> + 'a {
        self.plugins
            .iter()
            .rev()
            .chain(self.builtins.iter().rev())
            .filter_map(move |r| r.format(format).map(|info| (Arc::clone(r), info.clone())))
    }

    /// The renderer to use for `format` now: the most preferred one whose
    /// circuit breaker is closed.
    pub fn select(&self, format: &str) -> Selection {
        let mut backed_off = None;
        for (renderer, info) in self.candidates(format) {
            match renderer.breaker.backed_off_for() {
                None => return Selection::Ready(renderer, info),
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
        let mut names: Vec<String> =
            self.plugins.iter().chain(&self.builtins).flat_map(|r| r.formats.iter().map(|f| f.name.clone())).collect();
        names.sort();
        names.dedup();
        names.iter().filter_map(|n| self.find(n).map(|(_, info)| info)).collect()
    }

    /// Every format name on offer, sorted.
    pub fn format_names(&self) -> Vec<String> {
        self.formats().into_iter().map(|f| f.name).collect()
    }

    fn builtin_components(&self) -> &[Arc<RendererComponent>] {
        &self.builtins
    }
}

/// Which renderer serves a format right now.
pub enum Selection {
    Ready(Arc<RendererComponent>, FormatInfo),
    /// Every renderer of the format is backed off after repeated failures.
    BackedOff {
        plugin: String,
        retry_in: std::time::Duration,
    },
    /// No renderer offers the format.
    Unknown,
}

/// What the plugin listing shows for one renderer.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    /// `builtin`, or the file name in the plugins folder.
    pub file: String,
    pub formats: Vec<FormatStatus>,
    /// WIT version of the loaded component.
    pub wit_version: Option<String>,
    /// SHA-256 of the loaded component.
    pub content_hash: Option<String>,
    /// When the serving version was loaded, in ms since the Unix epoch.
    pub loaded_at_ms: Option<u64>,
    /// Why the latest version of the file could not be loaded.
    pub last_error: Option<String>,
    /// `serving`, `failed` (nothing serving) or `serving previous version`.
    pub state: &'static str,
    /// Circuit breaker of the serving version.
    pub breaker: Option<BreakerStatus>,
}

/// A format in the listing.
#[derive(Debug, Clone, Serialize)]
pub struct FormatStatus {
    pub name: String,
    pub content_type: String,
    /// False when another renderer (a later plugin) serves this name.
    pub active: bool,
}

/// Outcome of one reload.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ReloadReport {
    pub loaded: Vec<String>,
    pub unchanged: Vec<String>,
    pub failed: Vec<String>,
    pub removed: Vec<String>,
    /// A problem with the folder itself (nothing was changed).
    pub error: Option<String>,
}

/// One file of the plugins folder.
struct PluginEntry {
    /// The version serving, if any.
    component: Option<Arc<RendererComponent>>,
    hash: Option<String>,
    loaded_at_ms: Option<u64>,
    /// Hash of the latest version that failed, so it is not retried until it changes.
    failed_hash: Option<String>,
    last_error: Option<String>,
}

/// The current renderers and the plugins folder they come from.
pub struct Renderers {
    engine: Arc<RendererEngine>,
    active: ArcSwap<RendererSet>,
    dir: Option<PathBuf>,
    cache: Option<ArtifactCache>,
    /// Per-file state; the lock also serialises reloads.
    entries: Mutex<BTreeMap<String, PluginEntry>>,
    builtin_loaded_at_ms: u64,
    /// SHA-256 of the embedded default renderer, computed once for the listing.
    builtin_hash: String,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Renderers {
    /// A fixed set, without a plugins folder (tests, `render`).
    pub fn fixed(engine: Arc<RendererEngine>, set: RendererSet) -> Self {
        Renderers {
            engine,
            active: ArcSwap::from_pointee(set),
            dir: None,
            cache: None,
            entries: Mutex::new(BTreeMap::new()),
            builtin_loaded_at_ms: now_ms(),
            builtin_hash: sha256_hex(DEFAULT_RENDERER_WASM),
        }
    }

    /// The built-ins plus every plugin in `dir`, which must be readable.
    pub async fn with_plugin_dir(
        engine: Arc<RendererEngine>,
        builtins: RendererSet,
        dir: PathBuf,
        cache: Option<ArtifactCache>,
    ) -> Result<(Self, ReloadReport), std::io::Error> {
        std::fs::read_dir(&dir)?;
        let renderers = Renderers { dir: Some(dir), cache, ..Renderers::fixed(engine, builtins) };
        let report = renderers.reload().await;
        Ok((renderers, report))
    }

    /// The set to render with now.
    pub fn current(&self) -> Arc<RendererSet> {
        self.active.load_full()
    }

    /// The plugins folder, if any.
    pub fn plugin_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Rescans the plugins folder: loads new and changed files, drops removed
    /// ones, keeps the previous version of any file that fails. Reloads run
    /// one at a time.
    pub async fn reload(&self) -> ReloadReport {
        let mut report = ReloadReport::default();
        let Some(dir) = &self.dir else {
            return report;
        };
        let mut entries = self.entries.lock().await;
        let files = match list_plugin_files(dir) {
            Ok(files) => files,
            Err(e) => {
                report.error = Some(format!("cannot read plugins folder {}: {e}", dir.display()));
                tracing::error!(error = report.error.as_deref(), "plugin reload skipped");
                return report;
            }
        };
        let removed: Vec<String> = entries.keys().filter(|k| !files.contains(k)).cloned().collect();
        for file in removed {
            entries.remove(&file);
            tracing::info!(plugin = %file, "plugin removed");
            report.removed.push(file);
        }
        for file in &files {
            let entry = entries.entry(file.clone()).or_insert_with(|| PluginEntry {
                component: None,
                hash: None,
                loaded_at_ms: None,
                failed_hash: None,
                last_error: None,
            });
            self.refresh_entry(dir, file, entry, &mut report).await;
        }
        let plugins = entries.values().filter_map(|e| e.component.clone()).collect();
        self.active.store(Arc::new(self.active.load().with_plugins(plugins)));
        report
    }

    async fn refresh_entry(&self, dir: &Path, file: &str, entry: &mut PluginEntry, report: &mut ReloadReport) {
        let path = dir.join(file);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                entry.last_error = Some(format!("cannot read {}: {e}", path.display()));
                report.failed.push(file.to_string());
                return;
            }
        };
        let hash = sha256_hex(&bytes);
        if entry.hash.as_deref() == Some(hash.as_str()) {
            // The serving version is back (e.g. a bad file was replaced by the good one).
            entry.failed_hash = None;
            entry.last_error = None;
            report.unchanged.push(file.to_string());
            return;
        }
        if entry.failed_hash.as_deref() == Some(hash.as_str()) {
            report.failed.push(file.to_string());
            return;
        }
        let name = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        match self.engine.load_cached(&name, &bytes, &hash, self.cache.as_ref()).await {
            Ok(component) => {
                tracing::info!(plugin = %file, version = %component.wit_version, formats = ?component.formats.iter().map(|f| &f.name).collect::<Vec<_>>(), "plugin loaded");
                entry.component = Some(Arc::new(component));
                entry.hash = Some(hash);
                entry.loaded_at_ms = Some(now_ms());
                entry.failed_hash = None;
                entry.last_error = None;
                report.loaded.push(file.to_string());
            }
            Err(error) => {
                let serving = if entry.component.is_some() { "; the previous version keeps serving" } else { "" };
                tracing::error!(plugin = %file, %error, "plugin failed to load{serving}");
                entry.failed_hash = Some(hash);
                entry.last_error = Some(error.to_string());
                report.failed.push(file.to_string());
            }
        }
    }

    /// The plugin listing: built-ins, then every file of the plugins folder.
    pub async fn statuses(&self) -> Vec<PluginStatus> {
        let set = self.current();
        let format_statuses = |component: &RendererComponent| -> Vec<FormatStatus> {
            component
                .formats
                .iter()
                .map(|f| FormatStatus {
                    name: f.name.clone(),
                    content_type: f.content_type.clone(),
                    active: set.find(&f.name).is_some_and(|(r, _)| std::ptr::eq(Arc::as_ptr(&r), component)),
                })
                .collect()
        };
        let mut out: Vec<PluginStatus> = set
            .builtin_components()
            .iter()
            .map(|b| PluginStatus {
                file: BUILTIN_NAME.into(),
                formats: format_statuses(b),
                wit_version: Some(b.wit_version.clone()),
                content_hash: Some(self.builtin_hash.clone()),
                loaded_at_ms: Some(self.builtin_loaded_at_ms),
                last_error: None,
                state: "serving",
                breaker: Some(b.breaker.status()),
            })
            .collect();
        let entries = self.entries.lock().await;
        for (file, entry) in entries.iter() {
            out.push(PluginStatus {
                file: file.clone(),
                formats: entry.component.as_deref().map(format_statuses).unwrap_or_default(),
                wit_version: entry.component.as_ref().map(|c| c.wit_version.clone()),
                content_hash: entry.hash.clone(),
                loaded_at_ms: entry.loaded_at_ms,
                last_error: entry.last_error.clone(),
                state: match (&entry.component, &entry.last_error) {
                    (Some(_), None) => "serving",
                    (Some(_), Some(_)) => "serving previous version",
                    (None, _) => "failed",
                },
                breaker: entry.component.as_ref().map(|c| c.breaker.status()),
            });
        }
        out
    }
}

/// `*.wasm` files of `dir`, sorted; hidden files (editors' and `cp`'s
/// temporaries) are skipped.
fn list_plugin_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(".wasm") || !entry.path().is_file() {
            continue;
        }
        files.push(name);
    }
    files.sort();
    Ok(files)
}
