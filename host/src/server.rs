//! Server lifecycle: wire registry, renderers and policy into the HTTP app,
//! bind, serve, and shut down gracefully.
use crate::config::ServeConfig;
use crate::http::{self, AppState};
use crate::registry::Registry;
use crate::renderers::Renderers;
use crate::self_metrics::HostMetrics;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running on a tokio task.
pub struct RunningServer {
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    /// The host's own metrics, registered in the served registry.
    pub host_metrics: Arc<HostMetrics>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops accepting, finishes in-flight requests, and returns.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Waits until the server ends (after [`RunningServer::stop`] or a failure).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        (&mut self.task).await.context("server task panicked")?.context("server failed")
    }

    /// A future that resolves when the server has been told to stop.
    pub fn shutdown_handle(&mut self) -> Option<oneshot::Sender<()>> {
        self.shutdown.take()
    }
}

/// Binds `config.listen` and serves `registry` with `renderers`.
pub async fn start(config: &ServeConfig, registry: Registry, renderers: Arc<Renderers>) -> anyhow::Result<RunningServer> {
    let host_metrics = Arc::new(HostMetrics::register(&registry).context("registering the host's own metrics")?);
    let observer = Arc::clone(&host_metrics);
    renderers.observe_reloads(Box::new(move |report| observer.record_reload(report)));
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let local_addr = listener.local_addr()?;
    let state = AppState::new(registry, renderers, Arc::clone(&host_metrics), config);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(http::serve(listener, state, async {
        let _ = rx.await;
    }));
    Ok(RunningServer { local_addr, host_metrics, shutdown: Some(tx), task })
}
