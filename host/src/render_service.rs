//! The one place a render is decided and run: prefix check, renderer
//! selection (with the circuit breaker), the concurrency bound, the
//! snapshot, the limits, and the self-metrics. The HTTP handlers and the
//! `render` command both call [`RenderService::start`]; data flows one way:
//! registry -> snapshot -> renderer -> sink.
use crate::plugin::catalog::Renderers;
use crate::plugin::renderer_set::Selection;
use crate::plugin::series_batches::RenderNames;
use crate::plugin::{OutputSink, RenderFailure, RenderLimits, SinkClosed, WriteFuture};
use crate::registry::Registry;
use crate::representation::{representation, Wanted};
use crate::self_metrics::HostMetrics;
use crate::snapshot::FamilyFilter;
use bytes::Bytes;
use metrics_render_core::is_valid_metric_name;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Why a render was not started.
#[derive(Debug, thiserror::Error)]
pub enum RenderRefused {
    #[error("invalid prefix {0:?}: prefixed metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    BadPrefix(String),
    #[error("unknown format {requested:?}; available formats: {available}")]
    UnknownFormat { requested: String, available: String },
    #[error("renderer {plugin:?} for format {format:?} is backed off after repeated failures; retry in {}s", retry_in.as_secs() + 1)]
    BackedOff { plugin: String, format: String, retry_in: Duration },
    #[error("{limit} renders are already running; retry in 1s")]
    Busy { limit: usize },
}

/// What to render: the representation a client asked for.
#[derive(Debug, Clone, Default)]
pub struct RenderRequest {
    /// Format name (`?format=` or negotiated).
    pub format: String,
    /// Prepended to every family name (legacy syntax).
    pub prefix: String,
    /// The version and name escaping asked for; what is used depends on
    /// the renderer that serves the format ([`crate::representation`]).
    pub wanted: Wanted,
    /// The families to snapshot.
    pub families: FamilyFilter,
    /// The scrape's own time limit, when shorter than the configured one.
    pub deadline: Option<Duration>,
}

impl RenderRequest {
    /// Every family in `format`, nothing else asked.
    pub fn format(format: &str) -> Self {
        RenderRequest { format: format.to_string(), ..Default::default() }
    }
}

/// A render that has started on a blocking thread.
pub struct StartedRender {
    /// The `Content-Type` of the output (version and escaping stated).
    pub content_type: String,
    /// Resolves when the render has finished and the sink is dropped.
    pub task: JoinHandle<Result<(), RenderFailure>>,
}

/// Renders the registry's snapshots with the current renderers.
pub struct RenderService {
    registry: Registry,
    renderers: Arc<Renderers>,
    limits: RenderLimits,
    /// One permit per render that may run at once.
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    /// Where renders are counted; None for one-off renders (`render`).
    metrics: Option<Arc<HostMetrics>>,
}

impl RenderService {
    pub fn new(
        registry: Registry,
        renderers: Arc<Renderers>,
        limits: RenderLimits,
        max_concurrent: usize,
        metrics: Option<Arc<HostMetrics>>,
    ) -> Self {
        let max_concurrent = max_concurrent.max(1);
        RenderService { registry, renderers, limits, permits: Arc::new(Semaphore::new(max_concurrent)), max_concurrent, metrics }
    }

    /// The current renderers (for negotiation and listings).
    pub fn renderers(&self) -> &Arc<Renderers> {
        &self.renderers
    }

    fn count(&self, format: &str, outcome: &str, started: Instant, bytes: u64) {
        if let Some(metrics) = &self.metrics {
            metrics.record_render(format, outcome, started.elapsed(), bytes);
        }
    }

    /// Starts rendering a fresh snapshot as `request` says into `sink`, off
    /// the async workers, with the configured deadline or the request's if
    /// that is shorter (a scrape's own timeout). Refuses at once (never
    /// queues) beyond the concurrency bound.
    pub fn start(&self, request: RenderRequest, sink: Box<dyn OutputSink>) -> Result<StartedRender, RenderRefused> {
        let RenderRequest { format, prefix, wanted, families, deadline } = request;
        let format = format.as_str();
        if !prefix.is_empty() && !is_valid_metric_name(&prefix) {
            return Err(RenderRefused::BadPrefix(prefix.to_string()));
        }
        let started = Instant::now();
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            self.count(format, "busy", started, 0);
            return Err(RenderRefused::Busy { limit: self.max_concurrent });
        };
        let renderers = self.renderers.current();
        let (renderer, info) = match renderers.select(format) {
            Selection::Ready(renderer, info) => (renderer, info),
            Selection::BackedOff { plugin, retry_in } => {
                self.count(format, "backed_off", started, 0);
                return Err(RenderRefused::BackedOff { plugin, format: format.to_string(), retry_in });
            }
            Selection::Unknown => {
                return Err(RenderRefused::UnknownFormat { requested: format.to_string(), available: renderers.format_names().join(", ") })
            }
        };
        let shown = representation(&info, renderer.builtin, &wanted);
        let escaping = shown.escaping;
        let sent = Arc::new(AtomicU64::new(0));
        let sink = Box::new(CountingSink { inner: sink, sent: Arc::clone(&sent) });
        let mut limits = self.limits.clone();
        if let Some(deadline) = deadline {
            limits.deadline = limits.deadline.min(deadline);
        }
        let (registry, metrics) = (self.registry.clone(), self.metrics.clone());
        let format = format.to_string();
        let runtime = tokio::runtime::Handle::current();
        let span = tracing::info_span!("render", plugin = %renderer.name, format = %format);
        // The snapshot and the guest's work are CPU-bound: keep them off the
        // async workers. The render future is driven on this blocking thread.
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _in_span = span.enter();
            let snapshot = Arc::new(registry.snapshot_of(&families));
            let result = runtime.block_on(renderer.render(&snapshot, &format, RenderNames { prefix: &prefix, escaping }, &limits, sink));
            let outcome = match &result {
                Ok(()) => {
                    renderer.breaker.record_success();
                    "ok"
                }
                Err(failure) => {
                    if failure.cause.is_renderer_fault() {
                        renderer.breaker.record_failure();
                    }
                    tracing::warn!(error = %failure, "render failed");
                    failure.cause.outcome()
                }
            };
            if let Some(metrics) = metrics {
                metrics.record_render(&format, outcome, started.elapsed(), sent.load(Ordering::Relaxed));
            }
            result
        });
        Ok(StartedRender { content_type: shown.content_type, task })
    }
}

/// Counts the bytes a sink accepted, for the self-metrics.
struct CountingSink {
    inner: Box<dyn OutputSink>,
    sent: Arc<AtomicU64>,
}

impl OutputSink for CountingSink {
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_> {
        let len = chunk.len() as u64;
        let sent = Arc::clone(&self.sent);
        let write = self.inner.write(chunk);
        Box::pin(async move {
            write.await?;
            sent.fetch_add(len, Ordering::Relaxed);
            Ok::<(), SinkClosed>(())
        })
    }
}
