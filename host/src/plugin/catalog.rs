//! Hot swapping of plugins and the plugin listing.
//!
//! [`RendererSet`] is an immutable snapshot: built-ins plus the plugins that
//! loaded, indexed by format name. [`Renderers`] holds the current set behind
//! an `ArcSwap`; a reload reads, compiles and checks each new or changed
//! plugin, then swaps one pointer, so a plugin's formats appear as soon as it
//! is ready. A render that started keeps the set (and component) it began
//! with. A plugin that fails to load keeps its previous good version serving,
//! and the failure shows in [`Renderers::statuses`].
//!
//! Reloads run one at a time on their own task; requests that arrive while
//! one runs share the next one. No lock that a scrape, the listing or a
//! shutdown needs is held while a file is read or a plugin compiled.
use crate::plugin::folder::{read_plugin, scan, FolderEntry};
use crate::plugin::renderer_set::{RendererSet, BUILTIN_NAME};
use crate::plugin::{ArtifactCache, BreakerStatus, RenderLimits, RendererComponent, RendererEngine, DEFAULT_RENDERER_WASM};
use arc_swap::ArcSwap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// Default cap on a plugin file's size.
pub const DEFAULT_PLUGIN_MAX_BYTES: u64 = 64 << 20;

/// What the plugin listing shows for one renderer.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    /// `builtin`, or the file name in the plugins folder.
    pub file: String,
    /// What it offers.
    pub formats: Vec<FormatStatus>,
    /// WIT version of the loaded component.
    pub wit_version: Option<String>,
    /// SHA-256 of the loaded component.
    pub content_hash: Option<String>,
    /// When the serving version was loaded, in ms since the Unix epoch.
    pub loaded_at_ms: Option<u64>,
    /// Why the latest version of the file could not be loaded (or read).
    pub last_error: Option<String>,
    /// `loading`, `serving`, `failed` (nothing serving), `serving previous
    /// version`, or `skipped` (not a regular file, or too large).
    pub state: &'static str,
    /// Circuit breaker of the serving version.
    pub breaker: Option<BreakerStatus>,
}

/// A format in the listing.
#[derive(Debug, Clone, Serialize)]
pub struct FormatStatus {
    /// The format's name.
    pub name: String,
    /// Its `Content-Type`.
    pub content_type: String,
    /// False when another renderer serves this name: a plugin over a
    /// built-in, or of two plugin files offering it the one whose file name
    /// sorts last (byte order).
    pub active: bool,
    /// The renderer serving this name now (`builtin`, or a plugin's file
    /// name without `.wasm`).
    pub served_by: Option<String>,
}

/// Outcome of one reload.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ReloadReport {
    /// Files loaded (new, or a new version).
    pub loaded: Vec<String>,
    /// Files whose content did not change.
    pub unchanged: Vec<String>,
    /// Files that failed to load (a previous version keeps serving).
    pub failed: Vec<String>,
    /// Files gone from the folder.
    pub removed: Vec<String>,
    /// `*.wasm` entries that are not plugin files (see the listing for why).
    pub skipped: Vec<String>,
    /// A problem with the folder itself: unreadable (nothing was changed),
    /// or too many entries (the first ones by name were looked at).
    pub error: Option<String>,
}

/// One file of the plugins folder.
#[derive(Default)]
struct PluginEntry {
    /// The version serving, if any.
    component: Option<Arc<RendererComponent>>,
    hash: Option<String>,
    /// Hash of the settings file the serving version was configured with.
    settings_hash: Option<String>,
    loaded_at_ms: Option<u64>,
    /// Hashes of the latest version (and its settings) that failed, so it
    /// is not retried until one of them changes.
    failed_hash: Option<(String, Option<String>)>,
    last_error: Option<String>,
    /// Found by a reload that has not got to it yet.
    loading: bool,
    /// Not a plugin file (the reason is in `last_error`).
    skipped: bool,
}

impl PluginEntry {
    fn state(&self) -> &'static str {
        match (&self.component, &self.last_error) {
            (Some(_), None) => "serving",
            (Some(_), Some(_)) => "serving previous version",
            (None, _) if self.loading => "loading",
            (None, _) if self.skipped => "skipped",
            (None, _) => "failed",
        }
    }
}

/// The report of a reload that has been asked for; `None` until it is done.
type PendingReport = watch::Receiver<Option<Arc<ReloadReport>>>;

/// The current renderers and the plugins folder they come from.
pub struct Renderers {
    engine: Arc<RendererEngine>,
    active: ArcSwap<RendererSet>,
    dir: Option<PathBuf>,
    cache: Option<ArtifactCache>,
    /// Largest plugin file read.
    plugin_max_bytes: u64,
    /// The render limits of the preflight a new version must pass; `None`: no preflight.
    preflight: Option<RenderLimits>,
    /// Per-file state. Held only for short bookkeeping, never across a
    /// read, a compile or an await.
    entries: Mutex<BTreeMap<String, PluginEntry>>,
    /// Serialises reloads.
    reload_lock: tokio::sync::Mutex<()>,
    /// A reload that was asked for and has not started yet; later requests share it.
    queued: Mutex<Option<PendingReport>>,
    /// Told about every finished reload (the host's self-metrics).
    observer: Mutex<Option<ReloadObserver>>,
    builtin_loaded_at_ms: u64,
    /// SHA-256 of the embedded default renderer, computed once for the listing.
    builtin_hash: String,
}

/// Receives the report of every finished reload.
pub type ReloadObserver = Box<dyn Fn(&ReloadReport) + Send + Sync>;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Renderers {
    /// A fixed set, without a plugins folder (tests, `render`).
    pub fn fixed(engine: Arc<RendererEngine>, set: RendererSet) -> Self {
        Renderers {
            engine,
            active: ArcSwap::from_pointee(set),
            dir: None,
            cache: None,
            plugin_max_bytes: DEFAULT_PLUGIN_MAX_BYTES,
            preflight: None,
            entries: Mutex::new(BTreeMap::new()),
            reload_lock: tokio::sync::Mutex::new(()),
            queued: Mutex::new(None),
            observer: Mutex::new(None),
            builtin_loaded_at_ms: now_ms(),
            builtin_hash: sha256_hex(DEFAULT_RENDERER_WASM),
        }
    }

    /// The built-ins, with plugins to come from `dir` (which must be
    /// readable). The folder is listed now (names and file types only, so
    /// the listing shows every file as `loading` or `skipped` from the
    /// start); nothing is read or loaded until [`Renderers::request_reload`].
    /// With `preflight` (the server's render limits), a new version serves
    /// only once its formats pass the preflight (`plugin/preflight.rs`) within them.
    pub fn for_plugin_dir(
        engine: Arc<RendererEngine>,
        builtins: RendererSet,
        dir: PathBuf,
        cache: Option<ArtifactCache>,
        plugin_max_bytes: u64,
        preflight: Option<RenderLimits>,
    ) -> Result<Arc<Self>, std::io::Error> {
        let found = scan(&dir, plugin_max_bytes)?;
        let renderers = Renderers { dir: Some(dir), cache, plugin_max_bytes, preflight, ..Renderers::fixed(engine, builtins) };
        renderers.note_listing(&found.entries, &mut ReloadReport::default());
        Ok(Arc::new(renderers))
    }

    /// The built-ins plus every plugin in `dir`, loaded before this returns
    /// (without preflight: every version that loads serves).
    pub async fn with_plugin_dir(
        engine: Arc<RendererEngine>,
        builtins: RendererSet,
        dir: PathBuf,
        cache: Option<ArtifactCache>,
    ) -> Result<(Arc<Self>, ReloadReport), std::io::Error> {
        let renderers = Self::for_plugin_dir(engine, builtins, dir, cache, DEFAULT_PLUGIN_MAX_BYTES, None)?;
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

    /// Sets who is told about every finished reload.
    pub fn observe_reloads(&self, observer: ReloadObserver) {
        *lock(&self.observer) = Some(observer);
    }

    /// Asks for a rescan of the plugins folder and returns where its report
    /// will appear. A rescan that is asked for but not yet started is shared.
    pub fn request_reload(self: &Arc<Self>) -> PendingReport {
        let mut queued = lock(&self.queued);
        if let Some(pending) = queued.as_ref() {
            return pending.clone();
        }
        let (tx, rx) = watch::channel(None);
        *queued = Some(rx.clone());
        let this = Arc::clone(self);
        let span = tracing::info_span!("reload");
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let _one_at_a_time = this.reload_lock.lock().await;
                // From here on, changes need a new rescan.
                lock(&this.queued).take();
                let report = this.rescan().await;
                if let Some(observe) = lock(&this.observer).as_ref() {
                    observe(&report);
                }
                let _ = tx.send(Some(Arc::new(report)));
            },
            span,
        ));
        rx
    }

    /// Rescans the plugins folder and waits for the outcome.
    pub async fn reload(self: &Arc<Self>) -> ReloadReport {
        let mut pending = self.request_reload();
        wait_for(&mut pending).await
    }

    /// Rescans the plugins folder and waits at most `wait`; `None` if the
    /// rescan is still going on then (it goes on regardless).
    pub async fn reload_within(self: &Arc<Self>, wait: Duration) -> Option<ReloadReport> {
        let mut pending = self.request_reload();
        tokio::time::timeout(wait, wait_for(&mut pending)).await.ok()
    }

    /// Loads new and changed files, drops removed ones, keeps the previous
    /// version of any file that fails.
    async fn rescan(&self) -> ReloadReport {
        let mut report = ReloadReport::default();
        let Some(dir) = self.dir.clone() else {
            return report;
        };
        let max_bytes = self.plugin_max_bytes;
        let listing = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || scan(&dir, max_bytes)).await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
        };
        let listing = match listing {
            Ok(found) => {
                if found.ignored > 0 {
                    report.error = Some(format!(
                        "{} more *.wasm entries than the {} looked at were ignored",
                        found.ignored,
                        crate::plugin::folder::MAX_FOLDER_ENTRIES
                    ));
                    tracing::warn!(ignored = found.ignored, "plugins folder has too many entries");
                }
                found.entries
            }
            Err(e) => {
                report.error = Some(format!("cannot read plugins folder {}: {e}", dir.display()));
                tracing::error!(error = report.error.as_deref(), "plugin reload skipped");
                return report;
            }
        };
        self.note_listing(&listing, &mut report);
        self.publish();
        for entry in &listing {
            if let FolderEntry::Plugin { file } = entry {
                self.refresh(&dir, file, &mut report).await;
                self.publish();
            }
        }
        report
    }

    /// Drops entries whose file is gone, marks new files as loading and
    /// records why skipped ones are skipped.
    fn note_listing(&self, listing: &[FolderEntry], report: &mut ReloadReport) {
        let mut entries = lock(&self.entries);
        let present: std::collections::HashSet<&str> = listing.iter().map(FolderEntry::file).collect();
        let removed: Vec<String> = entries.keys().filter(|k| !present.contains(k.as_str())).cloned().collect();
        for file in removed {
            entries.remove(&file);
            tracing::info!(plugin = ?file, "plugin removed");
            report.removed.push(file);
        }
        for found in listing {
            let entry = entries.entry(found.file().to_string()).or_default();
            match found {
                FolderEntry::Plugin { .. } => {
                    entry.skipped = false;
                    entry.loading = entry.component.is_none() && entry.failed_hash.is_none();
                }
                FolderEntry::Skipped { file, reason } => {
                    if entry.last_error.as_deref() != Some(reason.as_str()) {
                        tracing::warn!(plugin = ?file, %reason, "plugin file skipped");
                    }
                    entry.skipped = true;
                    entry.loading = false;
                    entry.failed_hash = None;
                    entry.last_error = Some(reason.clone());
                    report.skipped.push(file.clone());
                }
            }
        }
    }

    /// Reads, and if new, loads one plugin file.
    async fn refresh(&self, dir: &Path, file: &str, report: &mut ReloadReport) {
        let path = dir.join(file);
        let max_bytes = self.plugin_max_bytes;
        let read = tokio::task::spawn_blocking(move || {
            let bytes = read_plugin(&path, max_bytes)?;
            let settings = super::settings::read_settings(&path)?;
            Ok((sha256_hex(&bytes), bytes, settings))
        })
        .await
        .unwrap_or_else(|e| Err(format!("reading task failed: {e}")));
        let (hash, bytes, settings) = match read {
            Ok(read) => read,
            Err(reason) => {
                self.update(file, |entry| {
                    entry.loading = false;
                    entry.skipped = entry.component.is_none();
                    entry.last_error = Some(reason);
                });
                report.failed.push(file.to_string());
                return;
            }
        };
        let (settings_hash, settings) = match settings {
            Some((settings_hash, settings)) => (Some(settings_hash), settings),
            None => (None, Vec::new()),
        };
        let identity = (hash.clone(), settings_hash.clone());
        let (serving_hash, serving_settings, failed_hash) = {
            let entries = lock(&self.entries);
            entries.get(file).map(|e| (e.hash.clone(), e.settings_hash.clone(), e.failed_hash.clone())).unwrap_or_default()
        };
        if serving_hash.as_deref() == Some(hash.as_str()) && serving_settings == settings_hash {
            // The serving version is back (e.g. a bad file was replaced by the good one).
            self.update(file, |entry| {
                entry.failed_hash = None;
                entry.last_error = None;
                entry.skipped = false;
            });
            report.unchanged.push(file.to_string());
            return;
        }
        if failed_hash.as_ref() == Some(&identity) {
            report.failed.push(file.to_string());
            return;
        }
        let name = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let span = tracing::info_span!("load", plugin = ?file);
        let load = async {
            let mut component = self.engine.load_cached(&name, bytes, &hash, self.cache.as_ref()).await?;
            component.configure(settings).await?;
            if let Some(limits) = &self.preflight {
                let started = std::time::Instant::now();
                super::preflight::preflight(&component, limits).await.map_err(|failure| super::LoadError::Preflight {
                    plugin: name.clone(),
                    version: component.wit_version.clone(),
                    failure,
                })?;
                tracing::info!(plugin = ?file, elapsed_ms = started.elapsed().as_millis() as u64, "preflight passed");
            }
            Ok::<_, super::LoadError>(component)
        };
        let loaded = tracing::Instrument::instrument(load, span).await;
        match loaded {
            Ok(component) => {
                tracing::info!(plugin = ?file, version = %component.wit_version, formats = ?component.formats.iter().map(|f| &f.name).collect::<Vec<_>>(), "plugin loaded");
                let component = Arc::new(component);
                self.update(file, |entry| {
                    entry.component = Some(component);
                    entry.hash = Some(hash);
                    entry.settings_hash = settings_hash;
                    entry.loaded_at_ms = Some(now_ms());
                    entry.failed_hash = None;
                    entry.last_error = None;
                    entry.loading = false;
                    entry.skipped = false;
                });
                report.loaded.push(file.to_string());
            }
            Err(error) => {
                let serving = if serving_hash.is_some() { "; the previous version keeps serving" } else { "" };
                tracing::error!(plugin = ?file, %error, "plugin failed to load{serving}");
                self.update(file, |entry| {
                    entry.failed_hash = Some(identity);
                    entry.last_error = Some(error.to_string());
                    entry.loading = false;
                });
                report.failed.push(file.to_string());
            }
        }
    }

    /// Changes the entry of `file` if it is still there.
    fn update(&self, file: &str, change: impl FnOnce(&mut PluginEntry)) {
        if let Some(entry) = lock(&self.entries).get_mut(file) {
            change(entry);
        }
    }

    /// Makes the loaded plugins the current set.
    fn publish(&self) {
        let plugins = lock(&self.entries).values().filter_map(|e| e.component.clone()).collect();
        self.active.store(Arc::new(self.active.load().with_plugins(plugins)));
    }

    /// The plugin listing: built-ins, then every `*.wasm` entry of the plugins folder.
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
                    served_by: set.find(&f.name).map(|(r, _)| r.name.clone()),
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
        let entries = lock(&self.entries);
        for (file, entry) in entries.iter() {
            out.push(PluginStatus {
                file: file.clone(),
                formats: entry.component.as_deref().map(format_statuses).unwrap_or_default(),
                wit_version: entry.component.as_ref().map(|c| c.wit_version.clone()),
                content_hash: entry.hash.clone(),
                loaded_at_ms: entry.loaded_at_ms,
                last_error: entry.last_error.clone(),
                state: entry.state(),
                breaker: entry.component.as_ref().map(|c| c.breaker.status()),
            });
        }
        out
    }
}

async fn wait_for(pending: &mut PendingReport) -> ReloadReport {
    match pending.wait_for(Option::is_some).await {
        Ok(report) => report.as_deref().cloned().unwrap_or_default(),
        Err(_) => ReloadReport { error: Some("the reload task ended without a report".into()), ..Default::default() },
    }
}
