//! The store of one call into a renderer, with every limit applied: a
//! wall-clock budget (epoch interruption inside wasm, plus a watchdog that
//! cancels the async call when a host call never returns; see
//! [`GuestBudget`]), one memory cap over all memories and tables, caps on
//! output bytes and on host calls, and bounded capture of stdout/stderr.
use super::bounded_text::bounded;
use super::budget::GuestBudget;
use super::limits::{StoreCaps, MAX_BATCH_CALLS, MAX_RANDOM_BYTES, MAX_WASI_RESOURCES, MAX_WRITES_AFTER_REFUSAL, MAX_WRITE_CALLS};
use super::sink::{OutputSink, SinkClosed};
use super::stdio_capture::CapturedStream;
use super::wit::latest::metrics::renderer::types;
use crate::plugin::series_batches::BatchCursor;
use crate::snapshot::Snapshot;
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;
use types::RenderError as RenderErrorWit;
use wasmtime::component::{Linker, ResourceTable, WasmList};
use wasmtime::{AsContext, Store, StoreContextMut, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use super::limits::RenderLimits;

/// Output is handed to the sink in chunks of at least this size (except the
/// last): small guest writes are gathered here, so a plugin writing one byte
/// at a time costs render time (which is bounded), not client round trips.
const OUTPUT_CHUNK_BYTES: usize = 32 * 1024;

/// Why a render failed, and which plugin and format it was.
#[derive(Debug, Clone)]
pub struct RenderFailure {
    /// The renderer (`builtin`, or a plugin's name).
    pub plugin: String,
    /// The format rendered.
    pub format: String,
    /// What went wrong.
    pub cause: RenderFailureCause,
}

impl std::fmt::Display for RenderFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            // Nothing was rendered: the renderer is not part of the story.
            RenderFailureCause::Upstream(_) => write!(f, "{}", self.cause),
            cause => write!(f, "renderer {:?} format {:?}: {cause}", self.plugin, self.format),
        }
    }
}

impl std::error::Error for RenderFailure {}

/// What went wrong in a render. Text that came from the plugin is already
/// cut to a bounded size.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderFailureCause {
    /// The render ran past its deadline.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    /// The guest asked for memory past the cap (bytes).
    #[error("ran out of memory (limit {0} bytes)")]
    OutOfMemory(usize),
    /// The guest trapped (a panic, an unreachable, a host call refused).
    #[error("trapped: {trap}{}", last_stderr_note(last_stderr))]
    Trapped {
        /// The trap, as wasmtime describes it.
        trap: String,
        /// What the guest last printed on stderr, if anything.
        last_stderr: Option<String>,
    },
    /// The guest wrote past the output cap (bytes).
    #[error("output exceeds the limit of {0} bytes")]
    OutputTooLarge(u64),
    /// The guest called a host function more often than allowed.
    #[error("made more than {limit} {call} calls")]
    TooManyCalls {
        /// The host call.
        call: &'static str,
        /// Its cap per render.
        limit: u64,
    },
    /// The guest broke the contract (batches, counts).
    #[error("{0}")]
    ContractMismatch(String),
    /// The client left, stalled or was cut off.
    #[error("{0}")]
    Client(SinkClosed),
    /// The guest does not know the format it offered.
    #[error("does not offer this format (renderer says: unknown format {0:?})")]
    UnknownFormat(String),
    /// The guest refused an option the client chose.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The guest returned an error (its words, cut).
    #[error("failed: {0}")]
    Failed(String),
    /// Sidecar mode: the upstream could not be fetched or read, so there
    /// was nothing up to date to render.
    #[error("upstream: {0}")]
    Upstream(String),
}

fn last_stderr_note(line: &Option<String>) -> String {
    line.as_ref().map(|l| format!(" (last stderr line: {l:?})")).unwrap_or_default()
}

impl RenderFailureCause {
    /// The `outcome` label of the render metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            RenderFailureCause::TimedOut(_) => "timed_out",
            RenderFailureCause::OutOfMemory(_) => "out_of_memory",
            RenderFailureCause::Trapped { .. } => "trapped",
            RenderFailureCause::OutputTooLarge(_) => "output_too_large",
            RenderFailureCause::TooManyCalls { .. } => "too_many_calls",
            RenderFailureCause::ContractMismatch(_) => "failed",
            RenderFailureCause::Client(_) => "client_gone",
            RenderFailureCause::InvalidOption(_) => "invalid_option",
            RenderFailureCause::UnknownFormat(_) | RenderFailureCause::Failed(_) => "failed",
            RenderFailureCause::Upstream(_) => "upstream_failed",
        }
    }

    /// Whether the renderer is to blame (and its circuit breaker should count it).
    pub fn is_renderer_fault(&self) -> bool {
        !matches!(self, RenderFailureCause::Client(_) | RenderFailureCause::InvalidOption(_) | RenderFailureCause::Upstream(_))
    }
}

/// Store data of one render.
pub struct RenderState {
    /// WASI with no capabilities, for std-built plugins; stdout and stderr
    /// are captured and logged after the call.
    wasi: WasiCtx,
    table: ResourceTable,
    stdio: Option<(CapturedStream, CapturedStream)>,
    caps: StoreCaps,
    /// What `input.next-batch` reads; None outside `render`.
    input: Option<(Arc<Snapshot>, BatchCursor)>,
    batch_calls: u64,
    /// Where `output.write` sends chunks; None for calls that may not write.
    output: Option<Box<dyn OutputSink>>,
    /// Small writes gathered until [`OUTPUT_CHUNK_BYTES`].
    pending: BytesMut,
    written: u64,
    write_calls: u64,
    output_limit: u64,
    /// Set when the host refused further output or input.
    stopped: Option<RenderFailureCause>,
    /// `output.write` calls after the host refused output (a renderer
    /// should stop at the first refusal).
    writes_after_stop: u64,
    /// Wall-clock time left.
    budget: GuestBudget,
}

impl WasiView for RenderState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A WASI context without files, environment, arguments or network.
fn sandboxed_wasi(uses_wasi: bool) -> (WasiCtx, Option<(CapturedStream, CapturedStream)>) {
    let mut builder = WasiCtx::builder();
    builder.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false).max_random_size(MAX_RANDOM_BYTES);
    if !uses_wasi {
        return (builder.build(), None);
    }
    let stdout = CapturedStream::default();
    let stderr = CapturedStream::default();
    builder.stdout(stdout.clone()).stderr(stderr.clone());
    (builder.build(), Some((stdout, stderr)))
}

/// Logs what a plugin printed, tagged with its name, and returns the last
/// line of its stderr.
fn log_plugin_stdio(plugin: &str, stdio: Option<(CapturedStream, CapturedStream)>) -> Option<String> {
    let (stdout, stderr) = stdio?;
    stdout.log(plugin, "stdout");
    stderr.log(plugin, "stderr");
    stderr.last_line()
}

impl RenderState {
    /// The budget, for the watchdog.
    pub(crate) fn budget(&self) -> GuestBudget {
        self.budget.clone()
    }

    /// Sends the last gathered output, unless output was refused.
    pub(crate) async fn flush_pending(&mut self) {
        if self.stopped.is_none() && !self.pending.is_empty() {
            let rest = self.pending.split().freeze();
            send(self, rest).await;
        }
    }

    /// What the guest did that a plugin check reports: its memory, the
    /// writes it made after output was refused, and the last batch of
    /// series it was handed (where it was, if it never returned).
    pub(crate) fn conduct(&self) -> (usize, u64, Option<String>) {
        let reading = self.input.as_ref().and_then(|(snapshot, cursor)| cursor.last_batch(snapshot));
        (self.caps.used(), self.writes_after_stop, reading)
    }

    /// Ends the call: drops the sink (the HTTP body sees the end of the
    /// output) and the input, logs what the plugin printed; returns why the
    /// host stopped the guest, if it did, and the last stderr line.
    pub(crate) fn finish(&mut self, plugin: &str) -> (Option<RenderFailureCause>, Option<String>) {
        self.output = None;
        self.input = None;
        self.pending = BytesMut::new();
        let last_stderr = log_plugin_stdio(plugin, self.stdio.take());
        (self.stopped.take(), last_stderr)
    }
}

impl RenderState {
    /// Leaves the families `hide` says yes to out of what `input.next-batch`
    /// hands out (for a contract version that cannot express them).
    pub(crate) fn hide_families(&mut self, hide: impl Fn(&crate::snapshot::FamilySnapshot) -> bool) {
        if let Some((snapshot, cursor)) = &mut self.input {
            *cursor = BatchCursor::hiding(snapshot, hide);
        }
    }

    /// `input.next-batch`, in the newest contract's types. Building a batch
    /// is work done for the guest, so it counts against its budget.
    pub(crate) fn next_series_batch(&mut self) -> wasmtime::Result<Option<types::SeriesBatch>> {
        self.batch_calls += 1;
        if self.batch_calls > MAX_BATCH_CALLS {
            let cause = RenderFailureCause::TooManyCalls { call: "input.next-batch", limit: MAX_BATCH_CALLS };
            self.stopped.get_or_insert(cause);
            return Err(wasmtime::format_err!("too many input.next-batch calls"));
        }
        Ok(self.input.as_mut().and_then(|(snapshot, cursor)| cursor.next(snapshot)))
    }
}

impl super::wit::ContractHost for RenderState {
    fn hide_from_input(&mut self, hide: &dyn Fn(&crate::snapshot::FamilySnapshot) -> bool) {
        self.hide_families(hide);
    }
}

/// Defines `metrics:renderer/output#write` in `linker`, by hand rather than
/// through the generated binding: the generated one lifts the chunk into a
/// host `Vec` before any check, while this one reads the guest's list in
/// place, so a chunk past the output cap (or the call cap) is refused
/// without the host copying it.
pub(crate) fn add_output_import(linker: &mut Linker<RenderState>) -> wasmtime::Result<()> {
    for version in super::wit::SUPPORTED_VERSIONS {
        add_output_import_of(linker, version)?;
    }
    Ok(())
}

/// `metrics:renderer/output@VERSION#write` (the same in every version).
fn add_output_import_of(linker: &mut Linker<RenderState>, version: &str) -> wasmtime::Result<()> {
    let mut output = linker.instance(&format!("metrics:renderer/output@{version}"))?;
    output.func_wrap_async("write", |mut store: StoreContextMut<'_, RenderState>, (chunk,): (WasmList<u8>,)| {
        Box::new(async move {
            let state = store.data();
            if !accepts_write(state, chunk.len()) {
                refuse_write(store.data_mut());
                if store.data().writes_after_stop > MAX_WRITES_AFTER_REFUSAL {
                    return Err(wasmtime::Error::msg("kept calling output.write after it returned false"));
                }
                return Ok((false,));
            }
            let chunk = Bytes::copy_from_slice(chunk.as_le_slice(store.as_context()));
            Ok((write_chunk(store.data_mut(), chunk).await,))
        })
    })?;
    Ok(())
}

/// Whether a write of `len` bytes is within the render's caps.
fn accepts_write(state: &RenderState, len: usize) -> bool {
    state.stopped.is_none()
        && state.write_calls < MAX_WRITE_CALLS
        && state.written.saturating_add(len as u64) <= state.output_limit
        && state.output.is_some()
}

/// Records why a write was refused (the first reason sticks).
fn refuse_write(state: &mut RenderState) {
    state.write_calls += 1;
    if state.stopped.is_some() {
        state.writes_after_stop += 1;
        return;
    }
    let cause = if state.output.is_none() {
        RenderFailureCause::Failed("wrote output outside render".into())
    } else if state.write_calls > MAX_WRITE_CALLS {
        RenderFailureCause::TooManyCalls { call: "output.write", limit: MAX_WRITE_CALLS }
    } else {
        RenderFailureCause::OutputTooLarge(state.output_limit)
    };
    state.stopped = Some(cause);
}

/// Takes one accepted guest write: gathers small ones, hands full chunks to
/// the sink. Only the time blocked in the sink (a client not reading) is
/// left out of the budget.
async fn write_chunk(state: &mut RenderState, chunk: Bytes) -> bool {
    state.write_calls += 1;
    state.written += chunk.len() as u64;
    let to_send = if state.pending.is_empty() && chunk.len() >= OUTPUT_CHUNK_BYTES {
        chunk
    } else {
        state.pending.extend_from_slice(&chunk);
        if state.pending.len() < OUTPUT_CHUNK_BYTES {
            return true;
        }
        state.pending.split().freeze()
    };
    send(state, to_send).await
}

/// Hands `chunk` to the sink, with the budget paused while it waits.
async fn send(state: &mut RenderState, chunk: Bytes) -> bool {
    let Some(output) = state.output.as_mut() else {
        return false;
    };
    state.budget.pause();
    let result = output.write(chunk).await;
    state.budget.resume();
    match result {
        Ok(()) => true,
        Err(closed) => {
            state.stopped = Some(RenderFailureCause::Client(closed));
            false
        }
    }
}

pub(crate) fn new_store(
    engine: &wasmtime::Engine,
    uses_wasi: bool,
    limits: &RenderLimits,
    input: Option<Arc<Snapshot>>,
    output: Option<Box<dyn OutputSink>>,
) -> Store<RenderState> {
    let (wasi, stdio) = sandboxed_wasi(uses_wasi);
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_WASI_RESOURCES);
    let state = RenderState {
        wasi,
        table,
        stdio,
        caps: StoreCaps::new(limits.memory_bytes),
        input: input.map(|snapshot| (snapshot, BatchCursor::default())),
        batch_calls: 0,
        output,
        pending: BytesMut::new(),
        written: 0,
        write_calls: 0,
        output_limit: limits.output_bytes,
        stopped: None,
        writes_after_stop: 0,
        budget: GuestBudget::new(limits.deadline),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.caps);
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
pub(crate) fn trap_cause(
    store: &Store<RenderState>,
    limits: &RenderLimits,
    error: wasmtime::Error,
    last_stderr: Option<String>,
) -> RenderFailureCause {
    let state = store.data();
    if state.caps.refused {
        return RenderFailureCause::OutOfMemory(limits.memory_bytes);
    }
    if let Some(mismatch) = error.downcast_ref::<super::wit::ContractMismatch>() {
        return RenderFailureCause::ContractMismatch(bounded(&mismatch.to_string()));
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => RenderFailureCause::TimedOut(limits.deadline),
        Some(trap) => RenderFailureCause::Trapped { trap: bounded(&trap.to_string()), last_stderr },
        None => RenderFailureCause::Trapped { trap: bounded(&format!("{error:#}")), last_stderr },
    }
}

/// Runs `call` on `store` until it finishes or the store's budget is spent.
/// `None` means the watchdog fired (a host call did not return in time).
pub(crate) async fn with_watchdog<R>(
    budget: GuestBudget,
    call: impl std::future::Future<Output = wasmtime::Result<R>>,
) -> Option<wasmtime::Result<R>> {
    tokio::select! {
        result = call => Some(result),
        () = budget.exhausted() => None,
    }
}

/// The cause a guest's `render-error` stands for.
pub(crate) fn guest_error_cause(error: RenderErrorWit) -> RenderFailureCause {
    match error {
        RenderErrorWit::UnknownFormat(name) => RenderFailureCause::UnknownFormat(bounded(&name)),
        RenderErrorWit::InvalidOption(why) => RenderFailureCause::InvalidOption(bounded(&why)),
        RenderErrorWit::OutputClosed => RenderFailureCause::Failed("stopped with output-closed while the host was accepting".into()),
        RenderErrorWit::Failed(why) => RenderFailureCause::Failed(bounded(&why)),
    }
}
