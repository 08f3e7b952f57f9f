//! The one place a render is decided and run: prefix check, renderer
//! selection (with the circuit breaker), the concurrency bound, the
//! snapshot, the limits, and the self-metrics. The HTTP handlers and the
//! `render` command both call [`RenderService::start`]; data flows one way:
//! registry -> snapshot -> renderer -> sink.
use crate::bounded_text::{truncate_text, MAX_QUOTED_CLIENT_TEXT};
use crate::plugin::catalog::Renderers;
use crate::plugin::format_capabilities::FormatCapabilities;
use crate::plugin::renderer_set::{RendererSet, Selection};
use crate::plugin::series_batches::RenderNames;
use crate::plugin::{OutputSink, RenderFailure, RenderFailureCause, RenderLimits, SinkClosed, WriteFuture};
use crate::registry::Registry;
use crate::render_slots::{RenderSlot, RenderSlots};
use crate::representation::{representation, Wanted};
use crate::self_metrics::HostMetrics;
use crate::snapshot::{FamilyFilter, Snapshot};
use crate::upstream::Upstream;
use bytes::Bytes;
use metrics_render_core::is_valid_metric_name;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Why a render was not started.
#[derive(Debug, thiserror::Error)]
pub enum RenderRefused {
    /// A prefix that is not a metric name.
    #[error("invalid prefix {0:?}: prefixed metric names must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    BadPrefix(String),
    /// No loaded renderer offers the format.
    #[error("unknown format {requested:?}; available formats: {available}")]
    UnknownFormat {
        /// The format asked for (cut).
        requested: String,
        /// The formats loaded.
        available: String,
    },
    /// The renderer's circuit breaker is open (503 with `Retry-After`).
    #[error("renderer {plugin:?} for format {format:?} is backed off after repeated failures; retry in {}s", retry_in.as_secs() + 1)]
    BackedOff {
        /// The plugin.
        plugin: String,
        /// The format asked for.
        format: String,
        /// Until its next trial render.
        retry_in: Duration,
    },
    /// Every render slot is taken (503, never queued).
    #[error("{limit} renders are already running; retry in 1s")]
    Busy {
        /// The number of slots.
        limit: usize,
    },
    /// The client's scrape timeout leaves too little time to render.
    #[error(
        "the scrape timeout leaves {}ms to render, less than the {}ms a render needs at least; send a longer X-Prometheus-Scrape-Timeout-Seconds (the server takes scrape_timeout_offset_ms off it)",
        left.as_millis(), MIN_RENDER_DEADLINE.as_millis()
    )]
    DeadlineTooShort {
        /// The time the client's deadline leaves.
        left: Duration,
    },
    /// A prefix longer than [`MAX_PREFIX_BYTES`].
    #[error("prefix of {0} bytes is longer than the {MAX_PREFIX_BYTES} allowed")]
    PrefixTooLong(usize),
}

/// The shortest render deadline a scrape may ask for; a shorter one is
/// answered at once without a render (it could not render anything).
pub const MIN_RENDER_DEADLINE: Duration = Duration::from_millis(10);

/// The longest `?prefix=`: it is written before every name, so its length
/// multiplies the output.
pub const MAX_PREFIX_BYTES: usize = 128;

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
    /// The renderer set the format was chosen from (negotiation's one
    /// read), so a hot swap between choosing and starting cannot turn the
    /// choice into an unknown format; `None`: the current set.
    pub renderer_set: Option<Arc<RendererSet>>,
    /// Options added to the renderer's settings for this render (a push's
    /// `max_samples_per_request`, `external_label.NAME`).
    pub settings: Vec<(String, String)>,
    /// Render this snapshot instead of taking one (a push keeps what it
    /// pushed, to mark the series gone by the next push); `families` is
    /// then not read.
    pub snapshot: Option<Arc<Snapshot>>,
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
    /// One slot per render that may run at once.
    slots: RenderSlots,
    /// Where renders are counted; None for one-off renders (`render`).
    metrics: Option<Arc<HostMetrics>>,
    /// Sidecar mode: the exporter mirrored into the registry, fetched
    /// before each snapshot.
    upstream: Option<Arc<Upstream>>,
}

impl RenderService {
    /// Renders `registry` with `renderers` within `limits`, at most
    /// `max_concurrent` at once, counted in `metrics` if given.
    pub fn new(
        registry: Registry,
        renderers: Arc<Renderers>,
        limits: RenderLimits,
        max_concurrent: usize,
        metrics: Option<Arc<HostMetrics>>,
    ) -> Self {
        RenderService { registry, renderers, limits, slots: RenderSlots::new(max_concurrent), metrics, upstream: None }
    }

    /// Sidecar mode: every snapshot (of a scrape or a push) first brings
    /// the registry up to date with `upstream`; a failed fetch fails the
    /// render with [`RenderFailureCause::Upstream`] (HTTP 502).
    pub fn with_upstream(mut self, upstream: Option<Arc<Upstream>>) -> Self {
        self.upstream = upstream;
        self
    }

    /// A snapshot of `families`, up to date with the upstream in sidecar
    /// mode: what a push renders (a scrape's render takes its own, the same
    /// way, inside its render slot).
    pub async fn snapshot(&self, families: &FamilyFilter) -> Result<Arc<Snapshot>, RenderFailure> {
        let (registry, upstream, families) = (self.registry.clone(), self.upstream.clone(), families.clone());
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || fresh_snapshot(&runtime, upstream.as_deref(), &registry, &families)).await.map_err(|join| {
            RenderFailure {
                plugin: String::new(),
                format: String::new(),
                cause: RenderFailureCause::Failed(format!("the snapshot task failed: {join}")),
            }
        })?
    }

    /// The render slots (how many renders run at once).
    pub fn slots(&self) -> &RenderSlots {
        &self.slots
    }

    /// Refuses a request that cannot be rendered whatever the load: a
    /// prefix that is too long or not a name, a deadline too short to
    /// render anything.
    pub fn check(&self, request: &RenderRequest) -> Result<(), RenderRefused> {
        let prefix = &request.prefix;
        if prefix.len() > MAX_PREFIX_BYTES {
            return Err(RenderRefused::PrefixTooLong(prefix.len()));
        }
        if !prefix.is_empty() && !is_valid_metric_name(prefix) {
            return Err(RenderRefused::BadPrefix(prefix.to_string()));
        }
        if let Some(left) = request.deadline.filter(|d| *d < MIN_RENDER_DEADLINE) {
            return Err(RenderRefused::DeadlineTooShort { left });
        }
        Ok(())
    }

    /// The refusal when every slot is taken, counted.
    pub fn busy(&self, format: &str) -> RenderRefused {
        self.count(format, "busy", Instant::now(), 0);
        RenderRefused::Busy { limit: self.slots.limit() }
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
        self.check(&request)?;
        let slot = self.slots.try_take().ok_or_else(|| self.busy(&request.format))?;
        self.start_in(slot, request, sink)
    }

    /// [`RenderService::start`] with a slot already taken (checked requests only).
    pub fn start_in(&self, slot: RenderSlot, request: RenderRequest, sink: Box<dyn OutputSink>) -> Result<StartedRender, RenderRefused> {
        let RenderRequest { format, prefix, wanted, families, deadline, renderer_set, settings, snapshot } = request;
        let format = format.as_str();
        let started = Instant::now();
        let renderers = renderer_set.unwrap_or_else(|| self.renderers.current());
        let (renderer, info) = match renderers.select(format) {
            Selection::Ready(renderer, info) => (renderer, info),
            Selection::BackedOff { plugin, retry_in } => {
                self.count(format, "backed_off", started, 0);
                return Err(RenderRefused::BackedOff { plugin, format: format.to_string(), retry_in });
            }
            Selection::Unknown => {
                return Err(RenderRefused::UnknownFormat {
                    requested: truncate_text(format, MAX_QUOTED_CLIENT_TEXT),
                    available: renderers.format_names().join(", "),
                })
            }
        };
        let shown = representation(&info, FormatCapabilities::of(&info, renderer.builtin), &wanted);
        let escaping = shown.escaping;
        let sent = Arc::new(AtomicU64::new(0));
        let sink = Box::new(CountingSink { inner: sink, sent: Arc::clone(&sent) });
        let mut limits = self.limits.clone();
        // A deadline the client chose: running out of it is not the renderer's fault.
        let client_deadline = deadline.is_some_and(|d| d < limits.deadline);
        if let Some(deadline) = deadline {
            limits.deadline = limits.deadline.min(deadline);
        }
        let (registry, metrics, upstream) = (self.registry.clone(), self.metrics.clone(), self.upstream.clone());
        let format = format.to_string();
        let runtime = tokio::runtime::Handle::current();
        let span = tracing::info_span!("render", plugin = %renderer.name, format = %format);
        // The snapshot and the guest's work are CPU-bound: keep them off the
        // async workers. The render future is driven on this blocking thread.
        let task = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let _in_span = span.enter();
            let result = match snapshot.map_or_else(|| fresh_snapshot(&runtime, upstream.as_deref(), &registry, &families), Ok) {
                Ok(snapshot) => runtime.block_on(renderer.render(
                    &snapshot,
                    &format,
                    RenderNames { prefix: &prefix, escaping, settings: &settings },
                    &limits,
                    sink,
                )),
                Err(failure) => Err(RenderFailure { plugin: renderer.name.clone(), format: format.clone(), ..failure }),
            };
            let outcome = match &result {
                Ok(()) => {
                    renderer.breaker.record_success();
                    "ok"
                }
                Err(failure) => {
                    if counts_against_renderer(&failure.cause, client_deadline, renderer.builtin) {
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

/// A snapshot of `families` of `registry`, brought up to date with
/// `upstream` first (on `runtime`, from a blocking thread): the one place
/// the sidecar's upstream is fetched, for scrapes and pushes alike.
fn fresh_snapshot(
    runtime: &tokio::runtime::Handle,
    upstream: Option<&Upstream>,
    registry: &Registry,
    families: &FamilyFilter,
) -> Result<Arc<Snapshot>, RenderFailure> {
    if let Some(upstream) = upstream {
        runtime.block_on(upstream.refresh()).map_err(upstream_failure)?;
    }
    Ok(Arc::new(registry.snapshot_of(families)))
}

fn upstream_failure(why: String) -> RenderFailure {
    RenderFailure { plugin: String::new(), format: String::new(), cause: RenderFailureCause::Upstream(why) }
}

/// Whether a failed render counts towards its renderer's circuit breaker.
/// Only the plugin's own faults do: never a client that left or stalled, an
/// option the client got wrong, or a deadline the client chose; and never
/// for a built-in renderer, whose failures can only come from what a client
/// asked for (the breaker exists to stop a broken plugin from burning
/// render budget, and a built-in has nothing to fall back to).
pub(crate) fn counts_against_renderer(cause: &RenderFailureCause, client_deadline: bool, builtin: bool) -> bool {
    if builtin || !cause.is_renderer_fault() {
        return false;
    }
    !(client_deadline && matches!(cause, RenderFailureCause::TimedOut(_)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plugin_s_own_faults_count_against_it() {
        let timed_out = RenderFailureCause::TimedOut(Duration::from_millis(5));
        assert!(counts_against_renderer(&timed_out, false, false), "its own deadline");
        assert!(!counts_against_renderer(&timed_out, true, false), "a deadline the client chose");
        assert!(!counts_against_renderer(&timed_out, false, true), "a built-in is never backed off");
        let trapped = RenderFailureCause::Trapped { trap: "unreachable".into(), last_stderr: None };
        assert!(counts_against_renderer(&trapped, true, false));
        assert!(!counts_against_renderer(&trapped, false, true));
        assert!(!counts_against_renderer(&RenderFailureCause::Client(SinkClosed::Gone), false, false));
        assert!(!counts_against_renderer(&RenderFailureCause::InvalidOption("x".into()), false, false));
    }
}
