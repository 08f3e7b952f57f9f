//! One call into a renderer, in a fresh store with every limit applied: an
//! execution-time budget (epoch interruption inside wasm, plus a watchdog
//! that cancels the async call when a host call never returns; see
//! [`GuestBudget`]), a memory cap, and a cap on output bytes.
use super::budget::GuestBudget;
use super::component::RendererComponent;
use super::sink::{OutputSink, SinkClosed};
use super::wit_types::{FormatInfoWit, RenderErrorWit, RenderOptionsArg};
use super::WIT_VERSION;
use crate::series_batches::{BatchCursor, SnapshotArg};
use crate::snapshot::Snapshot;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Linker, ResourceTable, WasmList};
use wasmtime::{AsContext, ResourceLimiter, Store, StoreContextMut, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Bounds on one render.
#[derive(Debug, Clone)]
pub struct RenderLimits {
    /// Guest execution time allowed.
    pub deadline: Duration,
    /// Linear memory the guest may grow to.
    pub memory_bytes: usize,
    /// Output bytes the guest may write.
    pub output_bytes: u64,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits { deadline: Duration::from_secs(30), memory_bytes: 256 << 20, output_bytes: 2 << 30 }
    }
}

/// Why a render failed, and which plugin and format it was.
#[derive(Debug, thiserror::Error)]
#[error("renderer {plugin:?} format {format:?}: {cause}")]
pub struct RenderFailure {
    pub plugin: String,
    pub format: String,
    pub cause: RenderFailureCause,
}

/// What went wrong in a render.
#[derive(Debug, thiserror::Error)]
pub enum RenderFailureCause {
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    #[error("ran out of memory (limit {0} bytes)")]
    OutOfMemory(usize),
    #[error("trapped: {0}")]
    Trapped(String),
    #[error("output exceeds the limit of {0} bytes")]
    OutputTooLarge(u64),
    #[error("{0}")]
    Client(SinkClosed),
    #[error("does not offer this format (renderer says: unknown format {0:?})")]
    UnknownFormat(String),
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("failed: {0}")]
    Failed(String),
}

impl RenderFailureCause {
    /// The `outcome` label of the render metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            RenderFailureCause::TimedOut(_) => "timed_out",
            RenderFailureCause::OutOfMemory(_) => "out_of_memory",
            RenderFailureCause::Trapped(_) => "trapped",
            RenderFailureCause::OutputTooLarge(_) => "output_too_large",
            RenderFailureCause::Client(_) => "client_gone",
            RenderFailureCause::InvalidOption(_) => "invalid_option",
            RenderFailureCause::UnknownFormat(_) | RenderFailureCause::Failed(_) => "failed",
        }
    }

    /// Whether the renderer is to blame (and its circuit breaker should count it).
    pub fn is_renderer_fault(&self) -> bool {
        !matches!(self, RenderFailureCause::Client(_) | RenderFailureCause::InvalidOption(_))
    }
}

/// Store data of one render.
pub struct RenderState {
    /// WASI with no capabilities, for std-built plugins; stdout and stderr
    /// are captured and logged after the call.
    wasi: WasiCtx,
    table: ResourceTable,
    stdio: Option<(MemoryOutputPipe, MemoryOutputPipe)>,
    memory: MemoryCap,
    /// What `input.next-batch` reads; None outside `render`.
    input: Option<(Arc<Snapshot>, BatchCursor)>,
    /// Where `output.write` sends chunks; None for calls that may not write.
    output: Option<Box<dyn OutputSink>>,
    written: u64,
    output_limit: u64,
    /// Set when the host refused further output.
    stopped: Option<RenderFailureCause>,
    /// Guest execution time left.
    budget: GuestBudget,
}

/// Memory cap that remembers when it refused growth, so a trap that
/// follows can be reported as "out of memory".
struct MemoryCap {
    limit: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

impl WasiView for RenderState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Bytes of stdout and of stderr kept per call; beyond that writes fail.
const STDIO_CAPTURE_BYTES: usize = 16 * 1024;
/// Lines of a plugin's stdout/stderr logged per call.
const STDIO_LOG_LINES: usize = 20;

/// A WASI context without files, environment, arguments or network.
fn sandboxed_wasi(uses_wasi: bool) -> (WasiCtx, Option<(MemoryOutputPipe, MemoryOutputPipe)>) {
    let mut builder = WasiCtx::builder();
    builder.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    if !uses_wasi {
        return (builder.build(), None);
    }
    let stdout = MemoryOutputPipe::new(STDIO_CAPTURE_BYTES);
    let stderr = MemoryOutputPipe::new(STDIO_CAPTURE_BYTES);
    builder.stdout(stdout.clone()).stderr(stderr.clone());
    (builder.build(), Some((stdout, stderr)))
}

/// Logs what a plugin printed, tagged with its name, at most
/// [`STDIO_LOG_LINES`] lines per call.
fn log_plugin_stdio(plugin: &str, stdio: Option<(MemoryOutputPipe, MemoryOutputPipe)>) {
    let Some((stdout, stderr)) = stdio else {
        return;
    };
    for (stream, pipe) in [("stdout", stdout), ("stderr", stderr)] {
        let contents = pipe.contents();
        let text = String::from_utf8_lossy(&contents);
        let lines: Vec<&str> = text.lines().collect();
        for line in lines.iter().take(STDIO_LOG_LINES) {
            tracing::info!(plugin, stream, "{line}");
        }
        if lines.len() > STDIO_LOG_LINES {
            tracing::warn!(plugin, stream, dropped = lines.len() - STDIO_LOG_LINES, "plugin output rate-limited");
        }
    }
}

/// Defines `metrics:renderer/input#next-batch` in `linker`. Building a
/// batch is work done for the guest, so it counts against its budget.
pub(crate) fn add_input_import(linker: &mut Linker<RenderState>) -> wasmtime::Result<()> {
    let mut input = linker.instance(&format!("metrics:renderer/input@{WIT_VERSION}"))?;
    input.func_wrap("next-batch", |mut store: StoreContextMut<'_, RenderState>, (): ()| {
        let batch = store.data_mut().input.as_mut().and_then(|(snapshot, cursor)| cursor.next(snapshot));
        Ok((batch,))
    })?;
    Ok(())
}

/// Defines `metrics:renderer/output#write` in `linker`.
pub(crate) fn add_output_import(linker: &mut Linker<RenderState>) -> wasmtime::Result<()> {
    let mut output = linker.instance(&format!("metrics:renderer/output@{WIT_VERSION}"))?;
    output.func_wrap_async("write", |mut store: StoreContextMut<'_, RenderState>, (chunk,): (WasmList<u8>,)| {
        Box::new(async move {
            let chunk = Bytes::copy_from_slice(chunk.as_le_slice(store.as_context()));
            let state = store.data_mut();
            state.budget.pause();
            let accepted = write_chunk(state, chunk).await;
            state.budget.resume();
            Ok((accepted,))
        })
    })?;
    Ok(())
}

async fn write_chunk(state: &mut RenderState, chunk: Bytes) -> bool {
    if state.stopped.is_some() {
        return false;
    }
    state.written += chunk.len() as u64;
    if state.written > state.output_limit {
        state.stopped = Some(RenderFailureCause::OutputTooLarge(state.output_limit));
        return false;
    }
    let Some(output) = state.output.as_mut() else {
        state.stopped = Some(RenderFailureCause::Failed("wrote output outside render".into()));
        return false;
    };
    match output.write(chunk).await {
        Ok(()) => true,
        Err(closed) => {
            state.stopped = Some(RenderFailureCause::Client(closed));
            false
        }
    }
}

fn new_store(
    renderer: &RendererComponent,
    limits: &RenderLimits,
    input: Option<Arc<Snapshot>>,
    output: Option<Box<dyn OutputSink>>,
) -> Store<RenderState> {
    let (wasi, stdio) = sandboxed_wasi(renderer.uses_wasi);
    let state = RenderState {
        wasi,
        table: ResourceTable::new(),
        stdio,
        memory: MemoryCap { limit: limits.memory_bytes, refused: false },
        input: input.map(|snapshot| (snapshot, BatchCursor::default())),
        output,
        written: 0,
        output_limit: limits.output_bytes,
        stopped: None,
        budget: GuestBudget::new(limits.deadline),
    };
    let mut store = Store::new(&renderer.engine.engine, state);
    store.limiter(|state| &mut state.memory);
    // Every epoch tick: trap once the budget is spent, else yield so the
    // watchdog and other tasks get to run.
    store.epoch_deadline_callback(|store| {
        if store.data().budget.remaining().is_zero() {
            Err(Trap::Interrupt.into())
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store.set_epoch_deadline(1);
    store
}

/// Explains a trap or host error from a call.
fn trap_cause(store: &Store<RenderState>, limits: &RenderLimits, error: wasmtime::Error) -> RenderFailureCause {
    let state = store.data();
    if state.memory.refused {
        return RenderFailureCause::OutOfMemory(limits.memory_bytes);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => RenderFailureCause::TimedOut(limits.deadline),
        Some(trap) => RenderFailureCause::Trapped(trap.to_string()),
        None => RenderFailureCause::Trapped(format!("{error:#}")),
    }
}

/// Runs `call` on `store` until it finishes or the store's budget is spent.
/// `None` means the watchdog fired (a host call did not return in time).
async fn with_watchdog<R>(
    budget: GuestBudget,
    call: impl std::future::Future<Output = wasmtime::Result<R>>,
) -> Option<wasmtime::Result<R>> {
    tokio::select! {
        result = call => Some(result),
        () = budget.exhausted() => None,
    }
}

/// Calls `formats()`.
pub(crate) async fn call_formats(renderer: &RendererComponent, limits: &RenderLimits) -> Result<Vec<FormatInfoWit>, String> {
    let mut store = new_store(renderer, limits, None, None);
    let budget = store.data().budget.clone();
    let call = async {
        budget.resume();
        let instance = renderer.pre.instantiate_async(&mut store).await?;
        let func = instance.get_typed_func::<(), (Vec<FormatInfoWit>,)>(&mut store, &renderer.formats_export)?;
        let (formats,) = func.call_async(&mut store, ()).await?;
        Ok(formats)
    };
    let result = with_watchdog(budget.clone(), call).await;
    log_plugin_stdio(&renderer.name, store.data_mut().stdio.take());
    match result {
        Some(result) => result.map_err(|e| trap_cause(&store, limits, e).to_string()),
        None => Err(RenderFailureCause::TimedOut(limits.deadline).to_string()),
    }
}

impl RendererComponent {
    /// Renders `snapshot` in `format`, streaming into `output`; the guest
    /// reads the series in batches. The guest runs on the calling thread
    /// between yields, so drive this from a blocking thread
    /// (`Handle::block_on` inside `spawn_blocking`).
    pub async fn render(
        &self,
        snapshot: &Arc<Snapshot>,
        format: &str,
        prefix: &str,
        limits: &RenderLimits,
        output: Box<dyn OutputSink>,
    ) -> Result<(), RenderFailure> {
        let fail = |cause| RenderFailure { plugin: self.name.clone(), format: format.to_string(), cause };
        let mut store = new_store(self, limits, Some(Arc::clone(snapshot)), Some(output));
        let arg = snapshot.arg();
        let budget = store.data().budget.clone();
        let call = async {
            budget.resume();
            let instance = self.pre.instantiate_async(&mut store).await?;
            type Params<'a> = (SnapshotArg<'a>, &'a str, RenderOptionsArg<'a>);
            let func = instance.get_typed_func::<Params<'_>, (Result<(), RenderErrorWit>,)>(&mut store, &self.render_export)?;
            let (result,) = func.call_async(&mut store, (arg, format, RenderOptionsArg { prefix })).await?;
            Ok(result)
        };
        let result = with_watchdog(budget.clone(), call).await;
        // Drop the sink now: the HTTP body sees the end of the output.
        let (stopped, stdio) = {
            let state = store.data_mut();
            state.output = None;
            state.input = None;
            (state.stopped.take(), state.stdio.take())
        };
        log_plugin_stdio(&self.name, stdio);
        let Some(result) = result else {
            return Err(fail(RenderFailureCause::TimedOut(limits.deadline)));
        };
        match result {
            Ok(Ok(())) => match stopped {
                Some(cause) => Err(fail(cause)),
                None => Ok(()),
            },
            Ok(Err(error)) => Err(fail(match (error, stopped) {
                (_, Some(cause)) => cause,
                (RenderErrorWit::UnknownFormat(name), None) => RenderFailureCause::UnknownFormat(name),
                (RenderErrorWit::InvalidOption(why), None) => RenderFailureCause::InvalidOption(why),
                (RenderErrorWit::OutputClosed, None) => {
                    RenderFailureCause::Failed("stopped with output-closed while the host was accepting".into())
                }
                (RenderErrorWit::Failed(why), None) => RenderFailureCause::Failed(why),
            })),
            Err(error) => Err(fail(stopped.unwrap_or_else(|| trap_cause(&store, limits, error)))),
        }
    }
}
