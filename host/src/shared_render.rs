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
//! (back-pressure, as with one client). A client that holds everyone back
//! while another is waiting for output is cut off after
//! [`LAGGARD_PATIENCE`] and counted; when every client is behind, the
//! render waits up to the client stall timeout, then cuts off those that
//! read nothing meanwhile (with none left, it stops as for one stalled
//! client). Requests that joined are counted in `total_shared_requests`;
//! `total_renders` counts renders.
use crate::plugin::{OutputSink, RenderFailure, SinkClosed, WriteFuture};
use crate::render_service::{RenderRefused, RenderRequest, RenderService, StartedRender};
use crate::representation::Wanted;
use crate::self_metrics::HostMetrics;
use crate::snapshot::FamilyFilter;
use bytes::Bytes;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// How long a client that holds the render back may do so while another
/// client is waiting for output.
pub const LAGGARD_PATIENCE: Duration = Duration::from_secs(2);

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
        }
    }
}

/// Why a client's output ended early.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SharedFailure {
    #[error(transparent)]
    Render(Arc<RenderFailure>),
    #[error("cut off: this client fell more than {0} bytes behind the others reading the same render")]
    CutOff(usize),
}

/// The shared log of one render.
struct Log {
    /// Index of `chunks[0]` in the render's output.
    base: u64,
    chunks: VecDeque<Bytes>,
    bytes: usize,
    /// Next chunk index of each client.
    readers: HashMap<u64, u64>,
    next_reader: u64,
    /// Clients cut off, told so on their next read.
    cut_off: Vec<u64>,
    /// Set when the render has ended.
    outcome: Option<Result<(), Arc<RenderFailure>>>,
    /// New clients may join: every chunk from the first is kept.
    joinable: bool,
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
        let slowest = self.readers.values().copied().min().unwrap_or(self.end());
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
}

/// One render and its readers.
struct SharedRender {
    log: Mutex<Log>,
    /// Bumped on every change of the log; readers and the writer wait on it.
    changed: watch::Sender<u64>,
    window_bytes: usize,
    stall_timeout: Duration,
    metrics: Option<Arc<HostMetrics>>,
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
        log.readers.insert(id, log.base);
        id
    }
}

/// The render's side: appends to the log, waiting while it is full.
struct SharedSink(Arc<SharedRender>);

impl SharedSink {
    async fn append(&self, chunk: Bytes) -> Result<(), SinkClosed> {
        let shared = &self.0;
        let mut changes = shared.changed.subscribe();
        loop {
            let (patience, someone_waiting, positions) = {
                let mut log = shared.lock();
                changes.borrow_and_update();
                if log.readers.is_empty() {
                    return Err(SinkClosed::Gone);
                }
                if log.joinable && log.bytes + chunk.len() > shared.window_bytes {
                    log.close_to_joiners();
                }
                if log.chunks.is_empty() || log.bytes + chunk.len() <= shared.window_bytes {
                    log.bytes += chunk.len();
                    log.chunks.push_back(chunk);
                    drop(log);
                    shared.bump();
                    return Ok(());
                }
                let end = log.end();
                let someone_waiting = log.readers.values().any(|&at| at == end);
                let patience = if someone_waiting { LAGGARD_PATIENCE.min(shared.stall_timeout) } else { shared.stall_timeout };
                (patience, someone_waiting, log.readers.clone())
            };
            if tokio::time::timeout(patience, changes.changed()).await.is_err() && !self.cut_off(someone_waiting, &positions) {
                // Everyone left was too slow: the render stops as it would
                // for one stalled client.
                return Err(SinkClosed::Stalled(patience));
            }
        }
    }

    /// The window stayed full for the patience time. With a client waiting
    /// for output, cuts off the clients at the oldest position; with every
    /// client behind, those that did not read at all meanwhile
    /// (`positions`, taken when the wait began). Whether any client is left.
    fn cut_off(&self, someone_waiting: bool, positions: &HashMap<u64, u64>) -> bool {
        let shared = &self.0;
        let mut log = shared.lock();
        let Some(slowest) = log.readers.values().copied().min() else { return false };
        let stuck: Vec<u64> = log
            .readers
            .iter()
            .filter(|(id, &at)| if someone_waiting { at == slowest } else { positions.get(id) == Some(&at) })
            .map(|(&id, _)| id)
            .collect();
        for id in &stuck {
            log.readers.remove(id);
            log.cut_off.push(*id);
        }
        log.trim();
        let left = !log.readers.is_empty();
        drop(log);
        if left && !stuck.is_empty() {
            if let Some(metrics) = &shared.metrics {
                metrics.record_cut_off(stuck.len() as u64);
            }
            tracing::warn!(clients = stuck.len(), "cut off clients that fell too far behind a shared render");
        }
        shared.bump();
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
                let Some(&at) = log.readers.get(&self.id) else {
                    return Some(Err(SharedFailure::CutOff(self.shared.window_bytes)));
                };
                if at < log.end() {
                    let chunk = log.chunks[(at - log.base) as usize].clone();
                    log.readers.insert(self.id, at + 1);
                    let base = log.base;
                    log.trim();
                    let trimmed = log.base != base;
                    drop(log);
                    if trimmed {
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
    fn start(&self, request: RenderRequest, sink: Box<dyn OutputSink>) -> Result<StartedRender, RenderRefused>;
}

impl StartRender for RenderService {
    fn start(&self, request: RenderRequest, sink: Box<dyn OutputSink>) -> Result<StartedRender, RenderRefused> {
        RenderService::start(self, request, sink)
    }
}

/// Renders shared by concurrent requests for the same representation.
pub struct SharedRenders {
    service: Arc<dyn StartRender>,
    in_flight: Mutex<HashMap<RenderKey, (Arc<SharedRender>, String)>>,
    /// Output kept beyond the slowest client of a render.
    pub window_bytes: usize,
    stall_timeout: Duration,
    metrics: Option<Arc<HostMetrics>>,
}

impl SharedRenders {
    /// Shares `service`'s renders; `stall_timeout` is how long a render
    /// waits when every client is behind.
    pub fn new(service: Arc<dyn StartRender>, stall_timeout: Duration, metrics: Option<Arc<HostMetrics>>) -> Self {
        SharedRenders { service, in_flight: Mutex::new(HashMap::new()), window_bytes: DEFAULT_WINDOW_BYTES, stall_timeout, metrics }
    }

    /// Joins a running render of the same representation that still holds
    /// its whole output, or starts one.
    pub fn subscribe(self: &Arc<Self>, request: RenderRequest) -> Result<SharedOutput, RenderRefused> {
        let key = RenderKey::of(&request);
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((shared, content_type)) = in_flight.get(&key) {
            let mut log = shared.lock();
            if log.joinable {
                let id = shared.add_reader(&mut log);
                drop(log);
                if let Some(metrics) = &self.metrics {
                    metrics.record_shared_request();
                }
                let changes = shared.changed.subscribe();
                return Ok(SharedOutput { shared: Arc::clone(shared), id, changes, content_type: content_type.clone() });
            }
        }
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(SharedRender {
            log: Mutex::new(Log {
                base: 0,
                chunks: VecDeque::new(),
                bytes: 0,
                readers: HashMap::new(),
                next_reader: 0,
                cut_off: Vec::new(),
                outcome: None,
                joinable: true,
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
        let started = self.service.start(request, Box::new(SharedSink(Arc::clone(&shared))))?;
        in_flight.insert(key.clone(), (Arc::clone(&shared), started.content_type.clone()));
        drop(in_flight);
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
                log.close_to_joiners();
            }
            ending.bump();
            let mut in_flight = this.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            if in_flight.get(&key).is_some_and(|(current, _)| Arc::ptr_eq(current, &ending)) {
                in_flight.remove(&key);
            }
        });
        Ok(SharedOutput { shared, id, changes, content_type: started.content_type })
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
    #[derive(Default)]
    struct Scripted {
        renders: Mutex<Vec<mpsc::UnboundedSender<Step>>>,
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
        fn start(&self, request: RenderRequest, mut sink: Box<dyn OutputSink>) -> Result<StartedRender, RenderRefused> {
            let (tx, mut rx) = mpsc::unbounded_channel();
            self.renders.lock().unwrap().push(tx);
            let fail = move |cause| RenderFailure { plugin: "scripted".into(), format: request.format.clone(), cause };
            let task = tokio::spawn(async move {
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
        let scripted = Arc::new(Scripted::default());
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
        let mut a = shared.subscribe(request("")).unwrap();
        let mut b = shared.subscribe(request("")).unwrap();
        let mut other = shared.subscribe(request("p_")).unwrap();
        assert_eq!(scripted.started(), 2, "a different prefix is a different render");
        scripted.step(0, Step::Write("one "));
        assert_eq!(&a.next().await.unwrap().unwrap()[..], b"one ");
        let mut c = shared.subscribe(request("")).unwrap();
        assert_eq!(scripted.started(), 2, "joins while the whole output is kept");
        scripted.step(0, Step::Write("two"));
        scripted.finish(0);
        scripted.finish(1);
        assert_eq!(read_all(&mut a).await, ("two".into(), Ok(())));
        assert_eq!(read_all(&mut b).await, ("one two".into(), Ok(())));
        assert_eq!(read_all(&mut c).await, ("one two".into(), Ok(())), "a late joiner reads from the first chunk");
        assert_eq!(read_all(&mut other).await, (String::new(), Ok(())));
        let _d = shared.subscribe(request("")).unwrap();
        assert_eq!(scripted.started(), 3, "a finished render is not joined: fresh data");
    }

    #[tokio::test]
    async fn past_the_window_new_requests_start_a_fresh_render() {
        let (scripted, shared) = renders(4);
        let mut a = shared.subscribe(request("")).unwrap();
        scripted.step(0, Step::Write("12345"));
        assert_eq!(&a.next().await.unwrap().unwrap()[..], b"12345");
        let mut b = shared.subscribe(request("")).unwrap();
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
        let mut fast = shared.subscribe(request("")).unwrap();
        let mut slow = shared.subscribe(request("")).unwrap();
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
        let mut reading = shared.subscribe(request("")).unwrap();
        let mut stuck = shared.subscribe(request("")).unwrap();
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
        let mut only = shared.subscribe(request("")).unwrap();
        scripted.step(0, Step::Write("aaaa"));
        scripted.step(0, Step::Write("bbbb"));
        // Virtual time: the client reads nothing for longer than the stall timeout.
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(shared.in_flight.lock().unwrap().is_empty(), "the render has stopped");
        assert!(matches!(only.next().await, Some(Err(_))), "the body is cut short");
        let _next = shared.subscribe(request("")).unwrap();
        assert_eq!(scripted.started(), 2, "the stopped render is not joined");
    }

    #[tokio::test]
    async fn a_failure_reaches_every_client_and_a_gone_audience_stops_the_render() {
        let (scripted, shared) = renders(1 << 20);
        let mut a = shared.subscribe(request("")).unwrap();
        let mut b = shared.subscribe(request("")).unwrap();
        scripted.step(0, Step::Fail("boom"));
        for output in [&mut a, &mut b] {
            match output.next().await {
                Some(Err(SharedFailure::Render(failure))) => assert!(failure.to_string().contains("boom")),
                _ => panic!("the failure reaches every client"),
            }
        }
        let a = shared.subscribe(request("x_")).unwrap();
        drop(a);
        let render = Arc::clone(&shared.in_flight.lock().unwrap().values().next().unwrap().0);
        let written = SharedSink(render).append(Bytes::from_static(b"x")).await;
        assert_eq!(written, Err(SinkClosed::Gone), "nobody left to read");
    }
}
