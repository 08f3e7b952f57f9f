//! Embedding the endpoint in a Rust application: an [`Exporter`] serves the
//! application's [`Registry`] (and, if asked, everything recorded through
//! the `metrics` facade) with the same renderers, plugins, limits and
//! trusted-IP rules as `metrics-host serve`.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use metrics_host::exporter::Exporter;
//! use metrics_host::facade::BucketRules;
//!
//! let exporter = Exporter::new()
//!     .listen("127.0.0.1:9100".parse()?)
//!     .install_recorder(BucketRules::default())
//!     .start()
//!     .await?;
//! metrics::counter!("messages_sent_total", "domain" => "example.com").increment(1);
//! exporter.registry().gauge("queue_depth", "messages waiting")?.set(3.0);
//! exporter.shutdown().await?;
//! # Ok(())
//! # }
//! ```
use crate::config::{ServeArgs, ServeConfig};
use crate::facade::{BucketRules, FacadeRecorder};
use crate::http::trusted_hosts::TrustedHosts;
use crate::plugin::watcher::PluginWatcher;
use crate::plugin::{CompileLimits, CompileMode, RenderLimits};
use crate::registry::Registry;
use crate::self_metrics::SelfMetricsConfig;
use crate::serve_error::ServeError;
use crate::server::{self, RunningServer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Settings of an embedded endpoint; [`Exporter::start`] serves them.
#[must_use = "an exporter serves nothing until started"]
pub struct Exporter {
    config: ServeConfig,
    registry: Registry,
    recorder: Option<BucketRules>,
    idle_timeout: Option<std::time::Duration>,
}

impl Default for Exporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Exporter {
    /// The defaults of `metrics-host serve`: 127.0.0.1:8000, trusted hosts
    /// 127.0.0.1 and ::1, the built-in renderer only, a fresh registry.
    pub fn new() -> Self {
        Exporter { config: ServeConfig::default(), registry: Registry::new(), recorder: None, idle_timeout: None }
    }

    /// Settings from a TOML file with the same keys as `metrics-host serve
    /// --config` (`listen`, `trusted_hosts`, `plugins`, limits, ...),
    /// checked the same way.
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Self, ServeError> {
        let args = ServeArgs { config: Some(path.as_ref().to_path_buf()), ..Default::default() };
        Ok(Exporter { config: ServeConfig::from_args(&args)?, ..Self::new() })
    }

    /// The address to listen on (port 0 picks a free one; see
    /// [`ExporterHandle::local_addr`]).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = addr;
        self
    }

    /// Who may read: IP addresses or CIDR masks, replacing the default.
    pub fn trusted_hosts(mut self, hosts: &[&str]) -> Result<Self, ServeError> {
        if hosts.is_empty() {
            return Err(ServeError::config("trusted_hosts is empty: nobody could read the metrics"));
        }
        self.config.trusted_hosts = TrustedHosts::parse(hosts).map_err(ServeError::config)?;
        Ok(self)
    }

    /// A plugins folder, loaded in the background and watched for changes.
    /// Plugins compile inside the application's process (the server binary
    /// compiles them in a child process of itself).
    pub fn plugins(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.plugins = Some(dir.into());
        self
    }

    /// Time, memory and output limits of one render.
    pub fn render_limits(mut self, limits: RenderLimits) -> Self {
        self.config.render_limits = limits;
        self
    }

    /// Serves `registry` (shared with the application) instead of a fresh one.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Makes the exporter the `metrics` facade's global recorder when it
    /// starts, with these histogram buckets (see [`crate::facade`]).
    pub fn install_recorder(mut self, buckets: BucketRules) -> Self {
        self.recorder = Some(buckets);
        self
    }

    /// Pushes the registry to a receiver as `table` says (the server's
    /// `[[push]]` keys: `url`, `protocol`, `interval_ms`,
    /// `external_labels`, `headers`, ...), checked the same way; `env:NAME`
    /// header values are read from the environment now. Repeatable.
    pub fn push(mut self, table: crate::push::PushArgs) -> Result<Self, ServeError> {
        let index = self.config.push.len();
        self.config.push.push(table.check(index, |name| std::env::var(name).ok()).map_err(ServeError::config)?);
        Ok(self)
    }

    /// The exporter's own metrics (renders, reloads, refusals): their
    /// prefix, or off; by default under `metrics_host_`.
    pub fn self_metrics(mut self, config: SelfMetricsConfig) -> Self {
        self.config.self_metrics = config;
        self
    }

    /// Series the facade created that stay unchanged for `after` are
    /// dropped (checked at each scrape); the next macro call brings them back.
    pub fn idle_timeout(mut self, after: std::time::Duration) -> Self {
        self.idle_timeout = Some(after);
        self
    }

    /// Binds and serves; returns once the endpoint answers. Fails if the
    /// address is taken, the plugins folder cannot be read or watched, or
    /// another global recorder is installed.
    pub async fn start(self) -> Result<ExporterHandle, ServeError> {
        let Exporter { config, registry, recorder, idle_timeout } = self;
        if let Some(buckets) = recorder {
            let mut recorder = FacadeRecorder::with_self_metrics(registry.clone(), buckets, &config.self_metrics)
                .map_err(|source| ServeError::SelfMetrics { prefix: config.self_metrics.prefix.clone(), source: Box::new(source) })?;
            if let Some(after) = idle_timeout {
                recorder = recorder.with_idle_timeout(after);
            }
            metrics::set_global_recorder(recorder).map_err(|_| ServeError::RecorderInstalled)?;
        }
        let compile_limits = CompileLimits {
            mode: CompileMode::InProcess,
            timeout: config.plugin_compile_timeout,
            memory_bytes: config.plugin_compile_memory_bytes,
        };
        if let Some(dir) = &config.plugins {
            std::fs::read_dir(dir).map_err(|e| ServeError::Renderers(format!("plugins folder {} is not readable: {e}", dir.display())))?;
        }
        let renderers = server::renderers_for(&config, compile_limits).await?;
        let server = server::start(&config, registry.clone(), std::sync::Arc::clone(&renderers)).await?;
        let watcher = server::watch_plugins(&config, &renderers)?;
        Ok(ExporterHandle { registry, server, _watcher: watcher })
    }
}

/// A running embedded endpoint.
pub struct ExporterHandle {
    registry: Registry,
    server: RunningServer,
    _watcher: Option<PluginWatcher>,
}

impl ExporterHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr
    }

    /// The served registry: register the application's own families here.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Stops accepting, finishes the scrapes in flight, and returns.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        self.server.stop().await
    }
}
