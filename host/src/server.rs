//! Server lifecycle: wire registry, renderers and policy into the HTTP app,
//! bind, serve, and shut down gracefully.
use crate::config::ServeConfig;
use crate::http::tls_listener::{TlsListener, TlsReloader};
use crate::http::{self, AppState};
pub use crate::plugin::catalog::Renderers;
use crate::plugin::renderer_set::RendererSet;
use crate::plugin::watcher::{self, PluginWatcher};
pub use crate::plugin::CompileLimits;
use crate::plugin::{ArtifactCache, RendererEngine};
use crate::registry::Registry;
use crate::render_service::RenderService;
use crate::self_metrics::HostMetrics;
use crate::serve_error::ServeError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a stopping server waits for its last push.
pub const PUSH_FLUSH_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// One last push to every endpoint, waited for at most [`PUSH_FLUSH_GRACE`].
pub(crate) async fn flush_pushes(pushers: &crate::push::Pushers) {
    if tokio::time::timeout(PUSH_FLUSH_GRACE, pushers.flush()).await.is_err() {
        tracing::warn!(grace = ?PUSH_FLUSH_GRACE, "the last push did not finish within the grace period");
    }
}

/// A server running on a tokio task.
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    /// The host's own metrics, registered in the served registry.
    pub host_metrics: Arc<HostMetrics>,
    /// The push endpoints' loops (stopped with the server).
    pub(crate) pushers: Arc<crate::push::Pushers>,
    /// Serving HTTPS: reloads the certificate (SIGHUP).
    pub(crate) tls: Option<crate::http::tls_listener::TlsReloader>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, finishes in-flight requests and one last push to
    /// every push endpoint (within [`PUSH_FLUSH_GRACE`]), and returns.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let pushers = Arc::clone(&self.pushers);
        let (_, stopped) = tokio::join!(flush_pushes(&pushers), self.wait());
        stopped
    }

    /// Waits until the server ends (after [`RunningServer::stop`] or a failure).
    pub async fn wait(&mut self) -> Result<(), ServeError> {
        match (&mut self.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ServeError::Server(error.to_string())),
            Err(join) => Err(ServeError::Server(format!("the server task panicked: {join}"))),
        }
    }

    /// A future that resolves when the server has been told to stop.
    pub fn shutdown_handle(&mut self) -> Option<oneshot::Sender<()>> {
        self.shutdown.take()
    }
}

/// The built-in renderers, and the plugins folder's (loaded in the
/// background) when `config` names one, compiled within `compile_limits`.
pub async fn renderers_for(config: &ServeConfig, compile_limits: CompileLimits) -> Result<Arc<Renderers>, ServeError> {
    let engine =
        RendererEngine::with_compile_limits(compile_limits).map_err(|e| ServeError::Renderers(format!("the WebAssembly engine: {e:#}")))?;
    let builtins = RendererSet::builtin(&engine).await.map_err(|e| ServeError::Renderers(format!("loading the built-in renderer: {e}")))?;
    Ok(match &config.plugins {
        None => Arc::new(Renderers::fixed(engine, builtins)),
        Some(dir) => {
            let cache = config.plugin_cache.clone().or_else(ArtifactCache::default_dir).and_then(|d| {
                ArtifactCache::open(d.clone())
                    .inspect_err(|e| tracing::warn!(dir = %d.display(), error = %e, "no compiled-plugin cache"))
                    .ok()
            });
            let preflight = config.plugin_preflight.then(|| config.render_limits.clone());
            Renderers::for_plugin_dir(engine, builtins, dir.clone(), cache, config.plugin_max_bytes, preflight)
                .map_err(|e| ServeError::Renderers(format!("plugins folder {}: {e}", dir.display())))?
        }
    })
}

/// Watches `config`'s plugins folder (if any) and starts its first load in
/// the background: the built-ins serve meanwhile, and each plugin's formats
/// appear once it is ready. Keep the watcher for as long as the server runs.
pub fn watch_plugins(config: &ServeConfig, renderers: &Arc<Renderers>) -> Result<Option<PluginWatcher>, ServeError> {
    let Some(dir) = &config.plugins else { return Ok(None) };
    let watcher = watcher::watch(Arc::clone(renderers), dir)
        .map_err(|e| ServeError::Renderers(format!("cannot watch plugins folder {}: {e}", dir.display())))?;
    let mut first_load = renderers.request_reload();
    let folder = dir.display().to_string();
    tokio::spawn(async move {
        let report = first_load.wait_for(Option::is_some).await.ok().and_then(|r| r.clone());
        if let Some(report) = report {
            tracing::info!(dir = %folder, loaded = ?report.loaded, failed = ?report.failed, skipped = ?report.skipped, "plugins loaded");
        }
    });
    Ok(Some(watcher))
}

/// Binds `config.listen` and serves `registry` with `renderers`.
pub async fn start(config: &ServeConfig, registry: Registry, renderers: Arc<Renderers>) -> Result<RunningServer, ServeError> {
    let host_metrics = Arc::new(
        HostMetrics::register(&registry, &config.self_metrics)
            .map_err(|source| ServeError::SelfMetrics { prefix: config.self_metrics.prefix.clone(), source: Box::new(source) })?,
    );
    let observer = Arc::clone(&host_metrics);
    renderers.observe_reloads(Box::new(move |report| observer.record_reload(report)));
    let listen = |source| ServeError::Listen { addr: config.listen, source };
    let listener = TcpListener::bind(config.listen).await.map_err(listen)?;
    let local_addr = listener.local_addr().map_err(listen)?;
    let upstream = config.upstream.clone().map(|settings| Arc::new(crate::upstream::Upstream::new(settings, registry.clone())));
    let renders = RenderService::new(
        registry,
        renderers,
        config.render_limits.clone(),
        config.max_concurrent_renders,
        Some(Arc::clone(&host_metrics)),
    )
    .with_upstream(upstream);
    let renders = Arc::new(renders);
    let pushers = Arc::new(crate::push::Pushers::start(&config.push, Arc::clone(&renders), Some(Arc::clone(&host_metrics))));
    let state = AppState {
        scrape_timeout_offset: config.scrape_timeout_offset,
        negotiate: config.negotiate.clone(),
        pushers: Some(Arc::clone(&pushers)),
        ..AppState::new(renders, Arc::clone(&host_metrics), config.trusted_hosts.clone(), config.client_stall_timeout)
    };
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = rx.await;
    };
    let (task, tls) = match &config.tls {
        None => (tokio::spawn(http::serve(listener, state, shutdown)), None),
        Some(settings) => {
            let reloader = TlsReloader::new(settings.clone()).map_err(|why| ServeError::config(format!("TLS listener: {why}")))?;
            let listener = TlsListener::new(listener, &reloader, config.trusted_hosts.clone()).map_err(listen)?;
            (tokio::spawn(http::serve_tls(listener, state, shutdown)), Some(reloader))
        }
    };
    Ok(RunningServer { local_addr, host_metrics, pushers, tls, shutdown: Some(tx), task })
}
