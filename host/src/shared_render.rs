//! Coalesced scrapes: concurrent requests for the same representation
//! (format, prefix, version and escaping, families, and scrape deadline)
//! share one snapshot and one render, and every client gets the whole output.
//!
//! The render writes into a shared log of chunks; each client reads it at
//! its own pace. While the render runs and its output so far fits in
//! [`SharedRenders::window_bytes`], the log keeps every chunk from the
//! first, and a request for the same representation joins it (so a client
//! never gets part of an output). Past that, the render stops taking new
//! clients (later requests start a fresh render and snapshot) and a chunk is
//! dropped once every client has read it: the log then holds at most the
//! window beyond the slowest client, and the render waits when it is full
//! (back-pressure, as with one client).
//!
//! Slow clients are bounded three ways:
//! - **Laggards.** While another client is waiting for output, the time the
//!   render spends held back is charged to the clients at the oldest
//!   position; one charged [`LAGGARD_PATIENCE`] in all is cut off. The
//!   charge adds up across waits, so a client that reads slowly but
//!   steadily (each read frees a little room) cannot pace everyone else.
//! - **Everyone behind.** The render waits up to the client stall timeout,
//!   then cuts off the clients that read nothing meanwhile (with none left,
//!   it stops as for one stalled client).
//! - **Slots.** Render slots are for rendering. A request that finds every
//!   slot taken looks for renders whose clients are all behind and that have
//!   waited for them [`STALL_GRACE`] in all: it cuts such a render's clients
//!   off (the render stops and gives its slot back) and takes the slot,
//!   waiting at most [`SLOT_WAIT`]. With no such render it is refused at
//!   once. Finished renders whose remaining clients have not read for the
//!   stall timeout are dropped at the same time, so unread output does not
//!   pile up behind clients that never read.
//!
//! Requests that joined are counted in `metrics_host_shared_requests_total`, cut-off
//! clients in `metrics_host_clients_cut_off_total`; `metrics_host_renders_total` counts renders.
use crate::plugin::{OutputSink, RenderFailure, SinkClosed, WriteFuture};
use crate::render_service::{RenderRefused, RenderRequest, RenderService, StartedRender};
use crate::render_slots::{RenderSlot, RenderSlots};
use crate::representation::Wanted;
use crate::self_metrics::HostMetrics;
use crate::snapshot::FamilyFilter;
use bytes::Bytes;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::watch;
// Tokio's clock, so tests can run the patience rules in virtual time.
use tokio::time::Instant;

/// How long in all a client may hold the render back while another client
/// is waiting for output.
pub const LAGGARD_PATIENCE: Duration = Duration::from_secs(2);

/// How long in all a render must have waited for clients that are all
/// behind before a request that finds no free slot may take its slot.
pub const STALL_GRACE: Duration = Duration::from_secs(1);

/// How long a request that finds every slot taken waits for one to be
/// given back by a stalled render (past [`STALL_GRACE`], so a render that
/// just began to wait can still be stopped).
pub const SLOT_WAIT: Duration = Duration::from_millis(1500);

/// How long a stopped render has to give its slot back (it is waiting on
/// its clients, so it stops at once; this only covers scheduling).
const EVICTION_SETTLE: Duration = Duration::from_millis(500);

/// Output kept for joining clients, then beyond the slowest client.
pub const DEFAULT_WINDOW_BYTES: usize = 8 << 20;

/// What makes two requests the same representation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RenderKey {
    format: String,
    prefix: String,
    wanted: Wanted,
    /// Sorted names, or None for every family.
    families: Option<BTreeSet<String>>,
    /// A scrape's own deadline: a render stopped early for one client
    /// must not fail another that allowed more time.
    deadline: Option<Duration>,
    settings: Vec<(String, String)>,
}

impl RenderKey {
    fn of(request: &RenderRequest) -> Self {
        let families = match &request.families {
            FamilyFilter::All => None,
            FamilyFilter::Names(names) => Some(names.iter().cloned().collect()),
        };
        RenderKey {
            format: request.format.clone(),
            prefix: request.prefix.clone(),
            wanted: request.wanted.clone(),
            families,
            deadline: request.deadline,
            settings: request.settings.clone(),
        }
    }
}

/// Why a client's output ended early.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SharedFailure {
    /// The shared render failed.
    #[error(transparent)]
    Render(Arc<RenderFailure>),
    #[error("cut off: this client fell more than {0} bytes behind the others reading the same render, or read too slowly while render slots were needed")]
    /// This client fell behind (the bytes of the window).
    CutOff(usize),
}

/// One client of a render.
#[derive(Debug, Clone, Copy)]
struct Reader {
    /// Next chunk index.
    at: u64,
    /// Time this client held the render back while another waited.
    charged: Duration,
    /// When it last took a chunk (or joined).
    last_read: Instant,
}

/// The shared log of one render.
struct Log {
    /// Index of `chunks[0]` in the render's output.
    base: u64,
    chunks: VecDeque<Bytes>,
    bytes: usize,
    readers: HashMap<u64, Reader>,
    next_reader: u64,
    /// Clients cut off, told so on their next read.
    cut_off: Vec<u64>,
    /// Set when the render has ended.
    outcome: Option<Result<(), Arc<RenderFailure>>>,
    /// New clients may join: every chunk from the first is kept.
    joinable: bool,
    /// Since when the render has been waiting for room in the log.
    blocked_since: Option<Instant>,
    /// Time spent waiting for room before the current wait.
    blocked_before: Duration,
    /// Its slot was taken back: the render stops at its next write.
    evicted: bool,
}

impl Log {
    fn end(&self) -> u64 {
        self.base + self.chunks.len() as u64
    }

    /// Drops chunks every client has read, once nobody may join.
    fn trim(&mut self) {
        if self.joinable {
            return;
        }
        let slowest = self.readers.values().map(|r| r.at).min().unwrap_or(self.end());
        while self.base < slowest {
            let Some(chunk) = self.chunks.pop_front() else { break };
            self.bytes -= chunk.len();
            self.base += 1;
        }
    }

    /// Closes the log to new clients and drops what everyone has read.
    fn close_to_joiners(&mut self) {
        self.joinable = false;
        self.trim();
    }

    /// The render got room: its current wait ends.
    fn unblock(&mut self, now: Instant) {
        if let Some(since) = self.blocked_since.take() {
            self.blocked_before += now.saturating_duration_since(since);
        }
    }

    /// How long in all the render has waited for room, if it waits now.
    fn blocked_for(&self, now: Instant) -> Option<Duration> {
        self.blocked_since.map(|since| self.blocked_before + now.saturating_duration_since(since))
    }

    /// Whether no client is waiting for output (every one is behind).
    fn everyone_behind(&self) -> bool {
        let end = self.end();
        !self.readers.values().any(|r| r.at == end)
    }

    /// Cuts off `ids`; how many were still reading.
    fn cut(&mut self, ids: &[u64]) -> usize {
        let mut cut = 0;
        for id in ids {
            if self.readers.remove(id).is_some() {
                self.cut_off.push(*id);
                cut += 1;
            }
        }
        self.trim();
        cut
    }
}

/// One render and its readers.
struct SharedRender {
    /// Renders whose output may still be held, this one included; the last
    /// to go hands the freed heap back to the system.
    live_count: Arc<AtomicUsize>,
    log: Mutex<Log>,
    /// Bumped on every change of the log; readers and the writer wait on it.
    changed: watch::Sender<u64>,
    window_bytes: usize,
    stall_timeout: Duration,
    metrics: Option<Arc<HostMetrics>>,
}

impl Drop for SharedRender {
    /// A burst of large scrapes leaves most of what it allocated (snapshots,
    /// output chunks, instances' memories, per-thread arenas) free but
    /// resident: once no render's output is held any more, the free heap is
    /// handed back, so the idle server returns to its idle size.
    fn drop(&mut self) {
        if self.live_count.fetch_sub(1, Ordering::AcqRel) == 1 {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(crate::heap::release_freed_memory)),
                Err(_) => crate::heap::release_freed_memory(),
            }
        }
    }
}

impl SharedRender {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn add_reader(&self, log: &mut Log) -> u64 {
        let id = log.next_reader;
        log.next_reader += 1;
        log.readers.insert(id, Reader { at: log.base, charged: Duration::ZERO, last_read: Instant::now() });
        id
    }

    /// Counts and logs `clients` cut off for `why`, and wakes everyone.
    fn report_cut_off(&self, clients: usize, why: &str) {
        if clients > 0 {
            if let Some(metrics) = &self.metrics {
                metrics.record_cut_off(clients as u64);
            }
            tracing::warn!(clients, reason = why, "cut off clients of a shared render");
        }
        self.bump();
    }

    fn laggard_patience(&self) -> Duration {
        LAGGARD_PATIENCE.min(self.stall_timeout)
    }
}

/// What the render waits for when the log is full.
enum Wait {
    /// Someone is waiting for output: the clients at the oldest position
    /// hold it back and are charged for the wait.
    Laggards { ids: Vec<u64>, patience: Duration },
    /// Every client is behind; their positions when the wait began.
    EveryoneBehind { positions: HashMap<u64, u64> },
}

/// The render's side: appends to the log, waiting while it is full.
struct SharedSink(Arc<SharedRender>);

impl SharedSink {
    async fn append(&self, chunk: Bytes) -> Result<(), SinkClosed> {
        let shared = &self.0;
        let mut changes = shared.changed.subscribe();
        loop {
            let wait = {
                let mut log = shared.lock();
                changes.borrow_and_update();
                if log.evicted {
                    return Err(SinkClosed::Evicted);
                }
                if log.readers.is_empty() {
                    return Err(SinkClosed::Gone);
                }
                if log.joinable && log.bytes + chunk.len() > shared.window_bytes {
                    log.close_to_joiners();
                }
                if log.chunks.is_empty() || log.bytes + chunk.len() <= shared.window_bytes {
                    log.unblock(Instant::now());
                    log.bytes += chunk.len();
                    log.chunks.push_back(chunk);
                    drop(log);
                    shared.bump();
                    return Ok(());
                }
                log.blocked_since.get_or_insert_with(Instant::now);
                if log.everyone_behind() {
                    Wait::EveryoneBehind { positions: log.readers.iter().map(|(&id, r)| (id, r.at)).collect() }
                } else {
                    let slowest = log.readers.values().map(|r| r.at).min().unwrap_or(0);
                    let laggards: Vec<(u64, Duration)> =
                        log.readers.iter().filter(|(_, r)| r.at == slowest).map(|(&id, r)| (id, r.charged)).collect();
                    let charged = laggards.iter().map(|(_, c)| *c).max().unwrap_or_default();
                    Wait::Laggards {
                        ids: laggards.into_iter().map(|(id, _)| id).collect(),
                        patience: shared.laggard_patience().saturating_sub(charged),
                    }
                }
            };
            match wait {
                Wait::Laggards { ids, patience } => {
                    let started = Instant::now();
                    let _ = tokio::time::timeout(patience, changes.changed()).await;
                    if !self.charge(&ids, started.elapsed()) {
                        return Err(SinkClosed::Stalled(shared.laggard_patience()));
                    }
                }
                Wait::EveryoneBehind { positions } => {
                    if tokio::time::timeout(shared.stall_timeout, changes.changed()).await.is_err() && !self.cut_off_unmoved(&positions) {
                        // Everyone left was too slow: the render stops as it
                        // would for one stalled client.
                        return Err(SinkClosed::Stalled(shared.stall_timeout));
                    }
                }
            }
        }
    }

    /// Charges `held` to the laggards `ids` and cuts off those whose charge
    /// reached the patience. Whether any client is left.
    fn charge(&self, ids: &[u64], held: Duration) -> bool {
        let shared = &self.0;
        let mut log = shared.lock();
        let patience = shared.laggard_patience();
        let mut spent = Vec::new();
        for id in ids {
            if let Some(reader) = log.readers.get_mut(id) {
                reader.charged += held;
                if reader.charged >= patience {
                    spent.push(*id);
                }
            }
        }
        let cut = log.cut(&spent);
        let left = !log.readers.is_empty();
        drop(log);
        shared.report_cut_off(cut, "held the render back while another client waited");
        left
    }

    /// Every client was behind for the stall timeout: cuts off those that
    /// read nothing meanwhile (`positions`, taken when the wait began).
    /// Whether any client is left.
    fn cut_off_unmoved(&self, positions: &HashMap<u64, u64>) -> bool {
        let shared = &self.0;
        let mut log = shared.lock();
        let stuck: Vec<u64> = log.readers.iter().filter(|(id, r)| positions.get(id) == Some(&r.at)).map(|(&id, _)| id).collect();
        let cut = log.cut(&stuck);
        let left = !log.readers.is_empty();
        drop(log);
        if left {
            shared.report_cut_off(cut, "read nothing for the client stall timeout");
        } else {
            shared.bump();
        }
        left
    }
}

impl OutputSink for SharedSink {
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_> {
        Box::pin(self.append(chunk))
    }
}

/// A client's side of a shared render: its output, chunk by chunk.
pub struct SharedOutput {
    shared: Arc<SharedRender>,
    id: u64,
    changes: watch::Receiver<u64>,
    /// The `Content-Type` of the output.
    pub content_type: String,
}

impl SharedOutput {
    /// The next chunk; `None` at the end of a complete output; an error
    /// when the render failed or this client was cut off.
    pub async fn next(&mut self) -> Option<Result<Bytes, SharedFailure>> {
        loop {
            {
                let mut log = self.shared.lock();
                self.changes.borrow_and_update();
                if log.cut_off.contains(&self.id) {
                    return Some(Err(SharedFailure::CutOff(self.shared.window_bytes)));
                }
                let Some(&reader) = log.readers.get(&self.id) else {
                    return Some(Err(SharedFailure::CutOff(self.shared.window_bytes)));
                };
                if reader.at < log.end() {
                    let chunk = log.chunks[(reader.at - log.base) as usize].clone();
                    log.readers.insert(self.id, Reader { at: reader.at + 1, last_read: Instant::now(), ..reader });
                    let base = log.base;
                    log.trim();
                    // Wake the writer when there is room now, or when it is
                    // blocked and this client has caught up (someone is
                    // waiting: the laggard rule applies from now on).
                    let wake = log.base != base || (log.blocked_since.is_some() && reader.at + 1 == log.end());
                    drop(log);
                    if wake {
                        self.shared.bump();
                    }
                    return Some(Ok(chunk));
                }
                match &log.outcome {
                    Some(Ok(())) => return None,
                    Some(Err(failure)) => return Some(Err(SharedFailure::Render(Arc::clone(failure)))),
                    None => {}
                }
            }
            if self.changes.changed().await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for SharedOutput {
    fn drop(&mut self) {
        let mut log = self.shared.lock();
        log.readers.remove(&self.id);
        log.cut_off.retain(|&id| id != self.id);
        log.trim();
        drop(log);
        self.shared.bump();
    }
}

/// Starts renders: the [`RenderService`], or a stand-in in tests.
pub trait StartRender: Send + Sync + 'static {
    /// Refuses what cannot be rendered whatever the load.
    fn check(&self, request: &RenderRequest) -> Result<(), RenderRefused>;
    /// The slots renders run in.
    fn slots(&self) -> &RenderSlots;
    /// The refusal when no slot could be had (counted).
    fn busy(&self, format: &str) -> RenderRefused;
    /// Starts a checked request in `slot`.
    fn start_in(&self, slot: RenderSlot, request: RenderRequest, sink: Box<dyn OutputSink>) -> Result<StartedRender, RenderRefused>;
}

impl StartRender for RenderService {
    fn check(&self, request: &RenderRequest) -> Result<(), RenderRefused> {
        RenderService::check(self, request)
    }

    fn slots(&self) -> &RenderSlots {
        RenderService::slots(self)
    }

    fn busy(&self, format: &str) -> RenderRefused {
        RenderService::busy(self, format)
    }

    fn start_in(&self, slot: RenderSlot, request: RenderRequest, sink: Box<dyn OutputSink>) -> Result<StartedRender, RenderRefused> {
        RenderService::start_in(self, slot, request, sink)
    }
}

/// What a request that found no free slot can do.
enum SlotRelief {
    /// A stalled render was stopped: its slot comes back shortly.
    Evicted,
    /// A render whose clients are all behind becomes evictable after this.
    After(Duration),
    /// Every slot is held by a render that is working.
    None,
}

/// Renders shared by concurrent requests for the same representation.
pub struct SharedRenders {
    service: Arc<dyn StartRender>,
    in_flight: Mutex<HashMap<RenderKey, (Arc<SharedRender>, String)>>,
    /// Every render whose log may still hold output (running, or finished
    /// with clients still reading).
    live: Mutex<Vec<Weak<SharedRender>>>,
    /// How many of them exist.
    live_count: Arc<AtomicUsize>,
    /// Output kept beyond the slowest client of a render.
    pub window_bytes: usize,
    stall_timeout: Duration,
    metrics: Option<Arc<HostMetrics>>,
}

impl SharedRenders {
    /// Shares `service`'s renders; `stall_timeout` is how long a render
    /// waits when every client is behind.
    pub fn new(service: Arc<dyn StartRender>, stall_timeout: Duration, metrics: Option<Arc<HostMetrics>>) -> Self {
        SharedRenders {
            service,
            in_flight: Mutex::new(HashMap::new()),
            live: Mutex::new(Vec::new()),
            live_count: Arc::new(AtomicUsize::new(0)),
            window_bytes: DEFAULT_WINDOW_BYTES,
            stall_timeout,
            metrics,
        }
    }

    /// Joins `key`'s running render if it still holds its whole output.
    fn join(&self, in_flight: &HashMap<RenderKey, (Arc<SharedRender>, String)>, key: &RenderKey) -> Option<SharedOutput> {
        let (shared, content_type) = in_flight.get(key)?;
        let mut log = shared.lock();
        if !log.joinable {
            return None;
        }
        let id = shared.add_reader(&mut log);
        drop(log);
        if let Some(metrics) = &self.metrics {
            metrics.record_shared_request();
        }
        let changes = shared.changed.subscribe();
        Some(SharedOutput { shared: Arc::clone(shared), id, changes, content_type: content_type.clone() })
    }

    fn in_flight(&self) -> MutexGuard<'_, HashMap<RenderKey, (Arc<SharedRender>, String)>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Joins a running render of the same representation that still holds
    /// its whole output, or starts one in a free slot (see the module
    /// documentation for when a slot is taken back from a stalled render).
    pub async fn subscribe(self: &Arc<Self>, request: RenderRequest) -> Result<SharedOutput, RenderRefused> {
        self.service.check(&request)?;
        let key = RenderKey::of(&request);
        if let Some(output) = self.join(&self.in_flight(), &key) {
            return Ok(output);
        }
        let slot = self.take_slot(&request.format).await?;
        let mut in_flight = self.in_flight();
        // Another request may have started the same render meanwhile.
        if let Some(output) = self.join(&in_flight, &key) {
            return Ok(output);
        }
        let (changed, _) = watch::channel(0);
        self.live_count.fetch_add(1, Ordering::AcqRel);
        let shared = Arc::new(SharedRender {
            live_count: Arc::clone(&self.live_count),
            log: Mutex::new(Log {
                base: 0,
                chunks: VecDeque::new(),
                bytes: 0,
                readers: HashMap::new(),
                next_reader: 0,
                cut_off: Vec::new(),
                outcome: None,
                joinable: true,
                blocked_since: None,
                blocked_before: Duration::ZERO,
                evicted: false,
            }),
            changed,
            window_bytes: self.window_bytes,
            stall_timeout: self.stall_timeout,
            metrics: self.metrics.clone(),
        });
        let id = shared.add_reader(&mut shared.lock());
        let changes = shared.changed.subscribe();
        // Starting is quick (no await): the map stays locked so a second
        // request cannot start the same render meanwhile.
        let started = self.service.start_in(slot, request, Box::new(SharedSink(Arc::clone(&shared))))?;
        in_flight.insert(key.clone(), (Arc::clone(&shared), started.content_type.clone()));
        drop(in_flight);
        {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            live.retain(|render| render.strong_count() > 0);
            live.push(Arc::downgrade(&shared));
        }
        let this = Arc::clone(self);
        let ending = Arc::clone(&shared);
        tokio::spawn(async move {
            let outcome = match started.task.await {
                Ok(result) => result.map_err(Arc::new),
                Err(join) => Err(Arc::new(RenderFailure {
                    plugin: String::new(),
                    format: key.format.clone(),
                    cause: crate::plugin::RenderFailureCause::Failed(join.to_string()),
                })),
            };
            {
                let mut log = ending.lock();
                log.outcome = Some(outcome);
                log.unblock(Instant::now());
                log.close_to_joiners();
            }
            ending.bump();
            let mut in_flight = this.in_flight();
            if in_flight.get(&key).is_some_and(|(current, _)| Arc::ptr_eq(current, &ending)) {
                in_flight.remove(&key);
            }
        });
        Ok(SharedOutput { shared, id, changes, content_type: started.content_type })
    }

    /// A free slot, or one taken back from a render stalled on its clients
    /// within [`SLOT_WAIT`]; else the busy refusal.
    async fn take_slot(&self, format: &str) -> Result<RenderSlot, RenderRefused> {
        let slots = self.service.slots();
        if let Some(slot) = slots.try_take() {
            return Ok(slot);
        }
        let give_up = Instant::now() + SLOT_WAIT;
        loop {
            let now = Instant::now();
            let wait = match self.relieve(now) {
                SlotRelief::Evicted => give_up.saturating_duration_since(now).max(EVICTION_SETTLE),
                SlotRelief::After(d) => d.min(give_up.saturating_duration_since(now)),
                SlotRelief::None => Duration::ZERO,
            };
            if let Some(slot) = slots.try_take() {
                return Ok(slot);
            }
            if wait.is_zero() {
                return Err(self.service.busy(format));
            }
            if let Some(slot) = slots.take_within(wait).await {
                return Ok(slot);
            }
        }
    }

    /// Drops finished renders' clients that have not read for the stall
    /// timeout, then stops the running render that has waited longest for
    /// clients who are all behind, if it has waited [`STALL_GRACE`].
    fn relieve(&self, now: Instant) -> SlotRelief {
        let live: Vec<Arc<SharedRender>> = {
            let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
            live.retain(|render| render.strong_count() > 0);
            live.iter().filter_map(Weak::upgrade).collect()
        };
        let mut most_stalled: Option<(Duration, &Arc<SharedRender>)> = None;
        for render in &live {
            let mut log = render.lock();
            if log.outcome.is_some() {
                let idle: Vec<u64> = log
                    .readers
                    .iter()
                    .filter(|(_, r)| now.saturating_duration_since(r.last_read) >= self.stall_timeout)
                    .map(|(&id, _)| id)
                    .collect();
                let cut = log.cut(&idle);
                drop(log);
                if cut > 0 {
                    render.report_cut_off(cut, "finished render not read for the client stall timeout");
                }
                continue;
            }
            if log.evicted || !log.everyone_behind() {
                continue;
            }
            if let Some(blocked) = log.blocked_for(now) {
                if most_stalled.is_none_or(|(longest, _)| blocked > longest) {
                    most_stalled = Some((blocked, render));
                }
            }
        }
        let Some((blocked, render)) = most_stalled else { return SlotRelief::None };
        if blocked < STALL_GRACE {
            return SlotRelief::After(STALL_GRACE - blocked);
        }
        let mut log = render.lock();
        log.evicted = true;
        let everyone: Vec<u64> = log.readers.keys().copied().collect();
        let cut = log.cut(&everyone);
        drop(log);
        render.report_cut_off(cut, "render slot needed: every client was behind for too long");
        SlotRelief::Evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::RenderFailureCause;
    use tokio::sync::mpsc;

    /// What a scripted render does next.
    enum Step {
        Write(&'static str),
        Fail(&'static str),
    }

    /// Renders that write what the test tells them to.
    struct Scripted {
        renders: Mutex<Vec<mpsc::UnboundedSender<Step>>>,
        slots: RenderSlots,
    }

    impl Default for Scripted {
        fn default() -> Self {
            Scripted { renders: Mutex::default(), slots: RenderSlots::new(8) }
        }
    }

    impl Scripted {
        fn started(&self) -> usize {
            self.renders.lock().unwrap().len()
        }

        fn step(&self, render: usize, step: Step) {
            self.renders.lock().unwrap()[render].send(step).unwrap();
        }

        /// Ends render `render` successfully (its script's sender is dropped).
        fn finish(&self, render: usize) {
            let (closed, _) = mpsc::unbounded_channel();
            self.renders.lock().unwrap()[render] = closed;
        }
    }

    impl StartRender for Scripted {
        fn check(&self, _: &RenderRequest) -> Result<(), RenderRefused> {
            Ok(())
        }

        fn slots(&self) -> &RenderSlots {
            &self.slots
        }

        fn busy(&self, _: &str) -> RenderRefused {
            RenderRefused::Busy { limit: self.slots.limit() }
        }

        fn start_in(
            &self,
            slot: RenderSlot,
            request: RenderRequest,
            mut sink: Box<dyn OutputSink>,
        ) -> Result<StartedRender, RenderRefused> {
            let (tx, mut rx) = mpsc::unbounded_channel();
            self.renders.lock().unwrap().push(tx);
            let fail = move |cause| RenderFailure { plugin: "scripted".into(), format: request.format.clone(), cause };
            let task = tokio::spawn(async move {
                let _slot = slot;
                while let Some(step) = rx.recv().await {
                    match step {
                        Step::Write(text) => {
                            sink.write(Bytes::from_static(text.as_bytes())).await.map_err(|c| fail(RenderFailureCause::Client(c)))?
                        }
                        Step::Fail(why) => return Err(fail(RenderFailureCause::Failed(why.into()))),
                    }
                }
                Ok(())
            });
            Ok(StartedRender { content_type: "text/plain".into(), task })
        }
    }

    fn renders(window_bytes: usize) -> (Arc<Scripted>, Arc<SharedRenders>) {
        renders_in_slots(window_bytes, 8)
    }

    fn renders_in_slots(window_bytes: usize, slots: usize) -> (Arc<Scripted>, Arc<SharedRenders>) {
        let scripted = Arc::new(Scripted { renders: Mutex::default(), slots: RenderSlots::new(slots) });
        let mut shared = SharedRenders::new(scripted.clone(), Duration::from_secs(30), None);
        shared.window_bytes = window_bytes;
        (scripted, Arc::new(shared))
    }

    fn request(prefix: &str) -> RenderRequest {
        RenderRequest { prefix: prefix.into(), ..RenderRequest::format("prometheus") }
    }

    /// Everything a client reads, and how it ended.
    async fn read_all(output: &mut SharedOutput) -> (String, Result<(), String>) {
        let mut text = String::new();
        while let Some(item) = output.next().await {
            match item {
                Ok(chunk) => text.push_str(std::str::from_utf8(&chunk).unwrap()),
                Err(failure) => return (text, Err(failure.to_string())),
            }
        }
        (text, Ok(()))
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_representation_share_one_render() {
        let (scripted, shared) = renders(1 << 20);
        let mut a = shared.subscribe(request("")).await.unwrap();
        let mut b = shared.subscribe(request("")).await.unwrap();
        let mut other = shared.subscribe(request("p_")).await.unwrap();
        assert_eq!(scripted.started(), 2, "a different prefix is a different render");
        scripted.step(0, Step::Write("one "));
        assert_eq!(&a.next().await.unwrap().unwrap()[..], b"one ");
        let mut c = shared.subscribe(request("")).await.unwrap();
        assert_eq!(scripted.started(), 2, "joins while the whole output is kept");
        scripted.step(0, Step::Write("two"));
        scripted.finish(0);
        scripted.finish(1);
        assert_eq!(read_all(&mut a).await, ("two".into(), Ok(())));
        assert_eq!(read_all(&mut b).await, ("one two".into(), Ok(())));
        assert_eq!(read_all(&mut c).await, ("one two".into(), Ok(())), "a late joiner reads from the first chunk");
        assert_eq!(read_all(&mut other).await, (String::new(), Ok(())));
        let _d = shared.subscribe(request("")).await.unwrap();
        assert_eq!(scripted.started(), 3, "a finished render is not joined: fresh data");
    }

    #[tokio::test]
    async fn past_the_window_new_requests_start_a_fresh_render() {
        let (scripted, shared) = renders(4);
        let mut a = shared.subscribe(request("")).await.unwrap();
        scripted.step(0, Step::Write("12345"));
        assert_eq!(&a.next().await.unwrap().unwrap()[..], b"12345");
        let mut b = shared.subscribe(request("")).await.unwrap();
        assert_eq!(scripted.started(), 2);
        scripted.finish(0);
        scripted.step(1, Step::Write("fresh"));
        scripted.finish(1);
        assert_eq!(read_all(&mut a).await, (String::new(), Ok(())));
        assert_eq!(read_all(&mut b).await, ("fresh".into(), Ok(())));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_falls_behind_is_cut_off_and_the_others_finish() {
        let (scripted, shared) = renders(4);
        let mut fast = shared.subscribe(request("")).await.unwrap();
        let mut slow = shared.subscribe(request("")).await.unwrap();
        scripted.step(0, Step::Write("aaaa"));
        assert_eq!(&fast.next().await.unwrap().unwrap()[..], b"aaaa");
        // The window is full while `slow` has read nothing and `fast` waits.
        scripted.step(0, Step::Write("bbbb"));
        scripted.finish(0);
        assert_eq!(read_all(&mut fast).await, ("bbbb".into(), Ok(())), "the fast client is not stalled");
        let (text, end) = read_all(&mut slow).await;
        assert_eq!(text, "");
        assert!(end.unwrap_err().contains("cut off"));
    }

    #[tokio::test(start_paused = true)]
    async fn when_everyone_is_behind_only_clients_that_read_nothing_are_cut_off() {
        let (scripted, shared) = renders(4);
        let mut reading = shared.subscribe(request("")).await.unwrap();
        let mut stuck = shared.subscribe(request("")).await.unwrap();
        scripted.step(0, Step::Write("aaaa"));
        scripted.step(0, Step::Write("bbbb"));
        scripted.finish(0);
        // Both are behind when the window fills; one reads during the wait.
        assert_eq!(&reading.next().await.unwrap().unwrap()[..], b"aaaa");
        assert_eq!(read_all(&mut reading).await, ("bbbb".into(), Ok(())));
        assert!(read_all(&mut stuck).await.1.unwrap_err().contains("cut off"));
    }

    #[tokio::test(start_paused = true)]
    async fn one_stalled_client_stops_the_render_as_stalled() {
        let (scripted, shared) = renders(4);
        let mut only = shared.subscribe(request("")).await.unwrap();
        scripted.step(0, Step::Write("aaaa"));
        scripted.step(0, Step::Write("bbbb"));
        // Virtual time: the client reads nothing for longer than the stall timeout.
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(shared.in_flight.lock().unwrap().is_empty(), "the render has stopped");
        assert!(matches!(only.next().await, Some(Err(_))), "the body is cut short");
        let _next = shared.subscribe(request("")).await.unwrap();
        assert_eq!(scripted.started(), 2, "the stopped render is not joined");
    }

    #[tokio::test]
    async fn a_failure_reaches_every_client_and_a_gone_audience_stops_the_render() {
        let (scripted, shared) = renders(1 << 20);
        let mut a = shared.subscribe(request("")).await.unwrap();
        let mut b = shared.subscribe(request("")).await.unwrap();
        scripted.step(0, Step::Fail("boom"));
        for output in [&mut a, &mut b] {
            match output.next().await {
                Some(Err(SharedFailure::Render(failure))) => assert!(failure.to_string().contains("boom")),
                _ => panic!("the failure reaches every client"),
            }
        }
        let a = shared.subscribe(request("x_")).await.unwrap();
        drop(a);
        let render = Arc::clone(&shared.in_flight.lock().unwrap().values().next().unwrap().0);
        let written = SharedSink(render).append(Bytes::from_static(b"x")).await;
        assert_eq!(written, Err(SinkClosed::Gone), "nobody left to read");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_reading_slowly_but_steadily_cannot_pace_the_others() {
        let (scripted, shared) = renders(4);
        let mut fast = shared.subscribe(request("")).await.unwrap();
        let mut slow = shared.subscribe(request("")).await.unwrap();
        for _ in 0..20 {
            scripted.step(0, Step::Write("abcd"));
        }
        scripted.finish(0);
        let started = Instant::now();
        let fast = tokio::spawn(async move { read_all(&mut fast).await });
        // One chunk every 500 ms: each read frees room, so no single wait
        // lasts the patience, but the waits add up.
        let mut slow_read = 0;
        let slow_end = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            match slow.next().await {
                Some(Ok(chunk)) => slow_read += chunk.len(),
                Some(Err(failure)) => break Err(failure.to_string()),
                None => break Ok(()),
            }
        };
        assert!(slow_end.unwrap_err().contains("cut off"), "the slow client is cut off");
        assert!(slow_read < 80, "it did not get everything: {slow_read}");
        let (text, end) = fast.await.unwrap();
        assert_eq!((text.len(), end), (80, Ok(())), "the fast client gets the whole output");
        let took = started.elapsed();
        assert!(took >= LAGGARD_PATIENCE && took < LAGGARD_PATIENCE * 2, "cut after the patience in all: {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_render_stalled_on_its_clients_gives_its_slot_to_a_new_scrape() {
        let (scripted, shared) = renders_in_slots(4, 1);
        let mut never_reads = shared.subscribe(request("")).await.unwrap();
        scripted.step(0, Step::Write("aaaa"));
        scripted.step(0, Step::Write("bbbb"));
        // Let the render fill the log and block on its client.
        let render = Arc::clone(&shared.in_flight.lock().unwrap().values().next().unwrap().0);
        for _ in 0..100 {
            if render.lock().blocked_since.is_some() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(render.lock().blocked_since.is_some(), "the render waits for its client");
        let asked = Instant::now();
        let mut fresh = shared.subscribe(request("other_")).await.expect("the stalled render's slot is taken back");
        let waited = asked.elapsed();
        assert!(waited >= STALL_GRACE - Duration::from_millis(1) && waited <= SLOT_WAIT, "waited {waited:?}");
        assert_eq!(scripted.started(), 2);
        scripted.step(1, Step::Write("fresh"));
        scripted.finish(1);
        assert_eq!(read_all(&mut fresh).await, ("fresh".into(), Ok(())));
        let (_, end) = read_all(&mut never_reads).await;
        assert!(end.unwrap_err().contains("cut off"), "the client that never read is cut off");
    }

    #[tokio::test(start_paused = true)]
    async fn a_working_render_keeps_its_slot_and_a_new_scrape_is_refused_at_once() {
        let (scripted, shared) = renders_in_slots(4, 1);
        let mut reading = shared.subscribe(request("")).await.unwrap();
        scripted.step(0, Step::Write("aaaa"));
        assert_eq!(&reading.next().await.unwrap().unwrap()[..], b"aaaa");
        let asked = Instant::now();
        let refused = shared.subscribe(request("other_")).await;
        assert!(matches!(refused, Err(RenderRefused::Busy { limit: 1 })));
        assert_eq!(asked.elapsed(), Duration::ZERO, "refused without waiting");
        assert_eq!(scripted.started(), 1);
        scripted.finish(0);
        assert_eq!(read_all(&mut reading).await, (String::new(), Ok(())));
    }
}
