//! Reload triggers for the plugins folder: file changes (debounced) and
//! SIGHUP. `POST /-/reload` is the third trigger (see `http`).
//!
//! Debouncing waits until the folder has been quiet for [`QUIET_PERIOD`], so
//! a file still being written is not loaded half-way; a half-written file
//! that does get loaded fails its checks and the previous version keeps
//! serving. Writers should still write to a temporary name (a hidden
//! `.name.wasm` or any name not ending in `.wasm`) and rename it into place.
use crate::plugin::catalog::Renderers;
use notify::{RecursiveMode, Watcher};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long the folder must be quiet before a reload.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);

/// Keeps the folder watch alive; dropping it stops watching.
pub struct PluginWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Watches `dir` and reloads `renderers` after each burst of changes.
pub fn watch(renderers: Arc<Renderers>, dir: &Path) -> notify::Result<PluginWatcher> {
    let (tx, rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    tokio::spawn(reload_after_quiet(renderers, rx));
    Ok(PluginWatcher { _watcher: watcher })
}

async fn reload_after_quiet(renderers: Arc<Renderers>, mut events: mpsc::UnboundedReceiver<()>) {
    while events.recv().await.is_some() {
        // Wait for a quiet period: every further event restarts the wait.
        while let Ok(Some(())) = tokio::time::timeout(QUIET_PERIOD, events.recv()).await {}
        reload(&renderers, "folder changed").await;
    }
}

/// Installs the SIGHUP handler now (before this returns, so an early SIGHUP
/// cannot kill the process) and returns the task that reloads on each one.
#[cfg(unix)]
pub fn reload_on_sighup(renderers: Arc<Renderers>) -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            reload(&renderers, "SIGHUP").await;
        }
    })
}

async fn reload(renderers: &Arc<Renderers>, trigger: &'static str) {
    // The self-metrics count reloads through `Renderers::observe_reloads`.
    let report = renderers.reload().await;
    tracing::info!(
        trigger,
        loaded = ?report.loaded,
        failed = ?report.failed,
        removed = ?report.removed,
        skipped = ?report.skipped,
        error = report.error.as_deref(),
        "plugins reloaded"
    );
}
