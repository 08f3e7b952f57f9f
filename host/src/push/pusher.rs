//! One push endpoint at work: every interval its push format is rendered
//! through the [`RenderService`] (a slot is held only while rendering) into
//! a sink that cuts the output into requests, compresses them and queues
//! them ([`RequestQueue`]); a sender task posts the queue in order,
//! retrying 5xx, 429 (honouring `Retry-After`) and connection failures with
//! capped exponential backoff and jitter, at most [`MAX_ATTEMPTS`] times,
//! and dropping other 4xx at once, each with its reason in the status.
use super::http_post::{Answer, Outgoing, Receiver};
use super::queue::{PushRequest, RequestQueue};
use super::settings::{BodyEncoding, PushProtocol, PushSettings};
use super::stale;
use crate::bounded_text::truncate_text;
use crate::plugin::{OutputSink, SinkClosed, WriteFuture};
use crate::render_service::{RenderRequest, RenderService};
use crate::self_metrics::HostMetrics;
use crate::snapshot::Snapshot;
use bytes::Bytes;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Sends of one request before it is dropped.
pub const MAX_ATTEMPTS: u32 = 5;
/// The first wait before a retry; doubled per attempt up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait before a retry.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The largest request a renderer may write (a length beyond it ends the render).
pub const MAX_REQUEST_BYTES: usize = 64 << 20;

/// What `/-/push` shows of one endpoint (never its headers).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PushStatus {
    /// Where it pushes (scheme, authority, path; never credentials).
    pub url: String,
    /// `remote-write-1`, `remote-write-2`, `otlp`, `pushgateway` or `http`.
    pub protocol: &'static str,
    /// Time between pushes.
    pub interval_ms: u64,
    /// Pushes rendered.
    pub renders: u64,
    /// Pushes that failed to render (or whose upstream fetch failed).
    pub renders_failed: u64,
    /// Requests the receiver accepted.
    pub requests_sent: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Requests given up: refused (4xx), out of attempts, or pushed out of
    /// a full queue.
    pub requests_dropped: u64,
    /// Milliseconds since the Unix epoch.
    pub last_success_ms: Option<u64>,
    /// The last failure, cut to 4 KiB.
    pub last_error: Option<String>,
    /// The wait before the current retry, 0 when none.
    pub backoff_ms: u64,
    /// Samples in the requests sent (remote write: series; OTLP: data
    /// points; not counted for `pushgateway` and `http`).
    pub samples_sent: u64,
    /// Remote write: series marked stale (gone since the push before).
    pub stale_series: u64,
    /// Remote write 2.0: why this endpoint fell back to 1.0 (the receiver
    /// answered 415, or a 2xx without saying what it wrote), if it did.
    pub fallback: Option<String>,
    /// Bytes of requests waiting to be sent.
    pub queued_bytes: usize,
}

struct Endpoint {
    status: Arc<Mutex<PushStatus>>,
    queue: Arc<RequestQueue>,
    /// Asks the render loop for a push now.
    push_now: Arc<tokio::sync::Notify>,
    /// Pushes rendered so far (their requests are queued).
    rendered: tokio::sync::watch::Receiver<u64>,
}

/// Every configured endpoint's loops; stopped when dropped.
pub struct Pushers {
    endpoints: Vec<Endpoint>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Pushers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn lock(status: &Mutex<PushStatus>) -> std::sync::MutexGuard<'_, PushStatus> {
    status.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pushers {
    /// Starts the render and send loops of every endpoint (on the current
    /// runtime). In sidecar mode each push renders the upstream's data
    /// fetched then, as each scrape does ([`RenderService::snapshot`]).
    pub fn start(endpoints: &[PushSettings], service: Arc<RenderService>, metrics: Option<Arc<HostMetrics>>) -> Self {
        let mut pushers = Pushers { endpoints: Vec::new(), tasks: Vec::new() };
        for settings in endpoints {
            let status = Arc::new(Mutex::new(PushStatus {
                url: format!("{}://{}{}", settings.url.scheme(), settings.url.authority, settings.url.target),
                protocol: settings.protocol.name(),
                interval_ms: settings.interval.as_millis() as u64,
                ..PushStatus::default()
            }));
            let mut queue = RequestQueue::new(settings.queue_max_bytes);
            if let Some(metrics) = metrics.clone() {
                let endpoint = endpoint_label(settings);
                queue.on_drop(Box::new(move || metrics.record_push_dropped(&endpoint, "queue_full")));
            }
            let queue = Arc::new(queue);
            let push_now = Arc::new(tokio::sync::Notify::new());
            let (rendered_tx, rendered) = tokio::sync::watch::channel(0u64);
            let render = tokio::spawn(render_loop(
                settings.clone(),
                Arc::clone(&service),
                Arc::clone(&queue),
                Arc::clone(&status),
                (Arc::clone(&push_now), rendered_tx),
            ));
            pushers.tasks.push(render.abort_handle());
            for _ in 0..settings.shards {
                let send = tokio::spawn(send_loop(
                    settings.clone(),
                    Arc::clone(&queue),
                    Arc::clone(&status),
                    metrics.clone(),
                    Arc::clone(&push_now),
                ));
                pushers.tasks.push(send.abort_handle());
            }
            pushers.endpoints.push(Endpoint { status, queue, push_now, rendered });
        }
        pushers
    }

    /// Pushes now to every endpoint and waits until each push's requests
    /// are sent or given up (a stopping server calls this within its grace).
    pub async fn flush(&self) {
        let flushes = self.endpoints.iter().map(|endpoint| async move {
            let mut rendered = endpoint.rendered.clone();
            let before = *rendered.borrow_and_update();
            endpoint.push_now.notify_one();
            if rendered.wait_for(|&count| count > before).await.is_ok() {
                endpoint.queue.settled().await;
            }
        });
        futures_util::future::join_all(flushes).await;
    }

    /// Each endpoint's status, for `/-/push`.
    pub fn status(&self) -> Vec<PushStatus> {
        self.endpoints
            .iter()
            .map(|endpoint| {
                let mut status = lock(&endpoint.status).clone();
                let (queued, dropped) = endpoint.queue.levels();
                status.queued_bytes = queued;
                status.requests_dropped += dropped;
                status
            })
            .collect()
    }
}

async fn render_loop(
    settings: PushSettings,
    service: Arc<RenderService>,
    queue: Arc<RequestQueue>,
    status: Arc<Mutex<PushStatus>>,
    (push_now, pushes_rendered): (Arc<tokio::sync::Notify>, tokio::sync::watch::Sender<u64>),
) {
    let mut ticker = tokio::time::interval(settings.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut options = vec![("max_samples_per_request".to_string(), settings.max_samples_per_request.to_string())];
    options.extend(settings.external_labels.iter().map(|(name, value)| (format!("external_label.{name}"), value.clone())));
    // Remote write: the last pushed snapshot, to mark series gone since.
    let mut previous: Option<Arc<Snapshot>> = None;
    let mut push = 0u64;
    loop {
        push += 1;
        tokio::select! {
            _ = ticker.tick() => {}
            () = push_now.notified() => {}
        }
        // A 2.0 endpoint whose receiver turned out to speak only 1.0.
        let protocol = match settings.protocol {
            PushProtocol::RemoteWrite2 if lock(&status).fallback.is_some() => PushProtocol::RemoteWrite1,
            protocol => protocol,
        };
        let rendered = push_once(&settings, (protocol, push), &service, &options, &queue, &mut previous, &status).await;
        pushes_rendered.send_modify(|count| *count += 1);
        let mut status = lock(&status);
        status.renders += 1;
        if let Err(why) = rendered {
            tracing::warn!(url = %status.url, error = %why, "push render failed");
            status.renders_failed += 1;
            status.last_error = Some(truncate_text(&format!("render: {why}"), 4096));
        }
    }
}

/// One push: a snapshot rendered in the endpoint's format and queued;
/// for remote write, then the stale markers of the series gone since
/// `previous` (which becomes this snapshot).
async fn push_once(
    settings: &PushSettings,
    (protocol, push): (PushProtocol, u64),
    service: &Arc<RenderService>,
    options: &[(String, String)],
    queue: &Arc<RequestQueue>,
    previous: &mut Option<Arc<Snapshot>>,
    status: &Mutex<PushStatus>,
) -> Result<(), String> {
    // Sidecar mode: the upstream's current data, or no push this time.
    let snapshot = service.snapshot(&settings.families).await.map_err(|failure| failure.to_string())?;
    // After a fallback from 2.0 the built-in 1.0 format renders.
    let format = if protocol == settings.protocol { settings.format.clone() } else { "remote-write-1".to_string() };
    let request = |snapshot: Arc<Snapshot>| RenderRequest {
        format: format.clone(),
        prefix: settings.prefix.clone(),
        settings: options.to_vec(),
        snapshot: Some(snapshot),
        ..RenderRequest::default()
    };
    // Requests cut from the output, compressed as the endpoint says.
    let sink = || Box::new(RequestSink::new(Arc::clone(queue), (protocol, push), Compression::from(settings.body_encoding)));
    match protocol {
        PushProtocol::Pushgateway => {
            // A Pushgateway group goes as one request, once the render is whole.
            let whole = Arc::new(Mutex::new(WholeBody { bytes: Vec::new(), max: settings.queue_max_bytes, over: false }));
            let rendered = render(service, request(snapshot), Box::new(WholeBodySink(Arc::clone(&whole)))).await;
            let mut whole = whole.lock().unwrap_or_else(|e| e.into_inner());
            if whole.over {
                return Err(format!("the output passed queue_max_mb ({} bytes)", whole.max));
            }
            rendered?;
            queue.push(PushRequest {
                body: Bytes::from(std::mem::take(&mut whole.bytes)),
                protocol,
                content_type: None,
                push,
                samples: None,
            });
            Ok(())
        }
        PushProtocol::Otlp => render(service, request(snapshot), sink()).await,
        PushProtocol::Http => {
            let mut sink = sink();
            sink.content_type = Some(request_content_type(service, &format)?);
            render(service, request(snapshot), sink).await
        }
        PushProtocol::RemoteWrite1 | PushProtocol::RemoteWrite2 => {
            render(service, request(Arc::clone(&snapshot)), sink()).await?;
            let Some(before) = previous.replace(Arc::clone(&snapshot)) else { return Ok(()) };
            let gone = tokio::task::spawn_blocking(move || stale::gone_series(&before, &snapshot)).await.map_err(|e| e.to_string())?;
            if let Some(gone) = gone {
                let series: usize = gone.families.iter().map(|f| f.series.len()).sum();
                render(service, request(Arc::new(gone)), sink()).await.map_err(|why| format!("stale markers: {why}"))?;
                lock(status).stale_series += series as u64;
            }
            Ok(())
        }
    }
}

/// The `Content-Type` of each request a format writes: its declared
/// content type without the `encoding=delimited` parameter (which
/// describes the framing the host removes).
fn request_content_type(service: &RenderService, format: &str) -> Result<Arc<str>, String> {
    let set = service.renderers().current();
    let Some((_, info)) = set.find(format) else {
        return Err(format!("no loaded format {format:?} (loaded: {})", set.format_names().join(", ")));
    };
    Ok(without_delimited_encoding(&info.content_type).into())
}

fn without_delimited_encoding(content_type: &str) -> String {
    content_type
        .split(';')
        .map(str::trim)
        .filter(|part| !part.replace(' ', "").eq_ignore_ascii_case("encoding=delimited"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs one render into `sink` to its end.
async fn render(service: &RenderService, request: RenderRequest, sink: Box<dyn OutputSink>) -> Result<(), String> {
    match service.start(request, sink) {
        Ok(started) => match started.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(failure)) => Err(failure.to_string()),
            Err(join) => Err(join.to_string()),
        },
        Err(refused) => Err(refused.to_string()),
    }
}

/// Cuts a render's output (requests, each preceded by its length as a
/// varint) into requests, compresses each and queues it.
struct RequestSink {
    pending: Vec<u8>,
    queue: Arc<RequestQueue>,
    /// What the requests are encoded for.
    protocol: PushProtocol,
    /// `http`: each request's content type.
    content_type: Option<Arc<str>>,
    /// The push the requests belong to.
    push: u64,
    compression: Compression,
}

/// How a protocol compresses a request body.
enum Compression {
    /// `http` with `content_encoding = "identity"`.
    Identity,
    /// Remote write: snappy's block format (never the framed one).
    Snappy(Box<snap::raw::Encoder>),
    /// OTLP/HTTP: gzip, at the fastest level (as scrapes are).
    Gzip,
}

impl From<BodyEncoding> for Compression {
    fn from(encoding: BodyEncoding) -> Self {
        match encoding {
            BodyEncoding::Identity => Compression::Identity,
            BodyEncoding::Gzip => Compression::Gzip,
            BodyEncoding::Snappy => Compression::Snappy(Box::new(snap::raw::Encoder::new())),
        }
    }
}

impl Compression {
    fn compress(&mut self, body: &[u8]) -> Option<Vec<u8>> {
        match self {
            Compression::Identity => Some(body.to_vec()),
            Compression::Snappy(encoder) => encoder.compress_vec(body).ok(),
            Compression::Gzip => {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
                encoder.write_all(body).ok()?;
                encoder.finish().ok()
            }
        }
    }
}

impl RequestSink {
    fn new(queue: Arc<RequestQueue>, (protocol, push): (PushProtocol, u64), compression: Compression) -> Self {
        RequestSink { pending: Vec::new(), queue, protocol, content_type: None, push, compression }
    }
}

/// The length prefix at the start of `bytes`: (length, prefix bytes),
/// `Ok(None)` while incomplete, `Err` when ten bytes hold no varint.
fn length_prefix(bytes: &[u8]) -> Result<Option<(u64, usize)>, ()> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 10 {
        Err(())
    } else {
        Ok(None)
    }
}

impl OutputSink for RequestSink {
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_> {
        self.pending.extend_from_slice(&chunk);
        let mut result = Ok(());
        let mut start = 0;
        loop {
            let Ok(next) = length_prefix(&self.pending[start..]) else {
                result = Err(SinkClosed::Gone);
                break;
            };
            let Some((len, prefix)) = next else { break };
            if len > MAX_REQUEST_BYTES as u64 {
                result = Err(SinkClosed::Gone);
                break;
            }
            let end = start + prefix + len as usize;
            if self.pending.len() < end {
                break;
            }
            let request = &self.pending[start + prefix..end];
            let samples = super::sample_count::samples(self.protocol, request);
            match self.compression.compress(request) {
                Some(compressed) => self.queue.push(PushRequest {
                    body: Bytes::from(compressed),
                    protocol: self.protocol,
                    content_type: self.content_type.clone(),
                    push: self.push,
                    samples,
                }),
                None => result = Err(SinkClosed::Gone),
            }
            start = end;
        }
        self.pending.drain(..start);
        Box::pin(std::future::ready(result))
    }
}

/// A whole render's output, up to `max` bytes (`over` once it went past).
struct WholeBody {
    bytes: Vec<u8>,
    max: usize,
    over: bool,
}

/// Keeps a render's whole output (a Pushgateway group is one request).
struct WholeBodySink(Arc<Mutex<WholeBody>>);

impl OutputSink for WholeBodySink {
    fn write(&mut self, chunk: Bytes) -> WriteFuture<'_> {
        let mut whole = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let result = if whole.bytes.len() + chunk.len() > whole.max {
            whole.over = true;
            whole.bytes = Vec::new();
            Err(SinkClosed::Gone)
        } else {
            whole.bytes.extend_from_slice(&chunk);
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }
}

/// A pseudo-random fraction in [0, 1) for jitter.
fn jitter() -> f64 {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut x = u64::from(nanos) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % 1000) as f64 / 1000.0
}

/// The self-metrics label of an endpoint: scheme, host and path (a query
/// may carry a key).
fn endpoint_label(settings: &PushSettings) -> String {
    format!("{}://{}{}", settings.url.scheme(), settings.url.authority, settings.url.target.split('?').next().unwrap_or("/"))
}

/// Where an endpoint's sends are counted (the self-metrics, if served).
struct EndpointCounts {
    metrics: Option<Arc<HostMetrics>>,
    endpoint: String,
    queue: Arc<RequestQueue>,
}

impl EndpointCounts {
    fn outcome(&self, outcome: &str) {
        if let Some(metrics) = &self.metrics {
            metrics.record_push(&self.endpoint, outcome);
        }
    }

    fn answer(&self, code: u16) {
        if let Some(metrics) = &self.metrics {
            metrics.record_push_response(&self.endpoint, code);
        }
    }

    fn sent(&self, samples: Option<u64>) {
        self.outcome("sent");
        if let (Some(metrics), Some(samples)) = (&self.metrics, samples) {
            metrics.record_push_samples(&self.endpoint, samples);
        }
    }

    fn dropped(&self, reason: &str) {
        if let Some(metrics) = &self.metrics {
            metrics.record_push_dropped(&self.endpoint, reason);
        }
    }

    fn levels(&self, status: &PushStatus) {
        if let Some(metrics) = &self.metrics {
            metrics.set_push_levels(&self.endpoint, self.queue.levels().0, status.last_success_ms);
        }
    }
}

async fn send_loop(
    settings: PushSettings,
    queue: Arc<RequestQueue>,
    status: Arc<Mutex<PushStatus>>,
    metrics: Option<Arc<HostMetrics>>,
    push_now: Arc<tokio::sync::Notify>,
) {
    let counts = EndpointCounts { metrics, endpoint: endpoint_label(&settings), queue: Arc::clone(&queue) };
    let headers = |request: &PushRequest| {
        let mut headers: Vec<(String, String)> = request.protocol.headers().iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        if request.protocol == PushProtocol::Http {
            let content_type = request.content_type.as_deref().unwrap_or("application/octet-stream");
            headers.push(("content-type".into(), content_type.into()));
        }
        headers.extend(settings.body_encoding.header().map(|encoding| ("content-encoding".to_string(), encoding.to_string())));
        headers.extend(settings.headers.iter().cloned());
        headers
    };
    let mut receiver = Receiver::new(settings.url.clone(), settings.tls.clone());
    // A Pushgateway PUT replaces the group (series gone from the registry
    // leave it too).
    let method = if settings.protocol == PushProtocol::Pushgateway { hyper::Method::PUT } else { hyper::Method::POST };
    loop {
        let request = queue.next().await;
        // 2.0 requests rendered before a fallback: the 1.0 render replaces them.
        let superseded = request.protocol == PushProtocol::RemoteWrite2 && lock(&status).fallback.is_some();
        if !superseded {
            let headers = headers(&request);
            let fell_back = send_with_retries(&mut receiver, (&method, &headers), &request, &settings, &status, &counts).await;
            if fell_back {
                push_now.notify_one();
            }
        }
        queue.done();
    }
}

/// Whether a remote write 2.0 answer shows a receiver that does not speak
/// 2.0: a 415, or a 2xx that does not say what it wrote.
fn speaks_only_1_0(request: &PushRequest, answer: &Answer) -> Option<String> {
    if request.protocol != PushProtocol::RemoteWrite2 {
        return None;
    }
    match answer.status {
        415 => Some(format!("the receiver answered 415 to remote write 2.0: {}", answer.reason)),
        code if (200..300).contains(&code) && !answer.written => {
            Some(format!("the receiver answered {code} to remote write 2.0 without X-Prometheus-Remote-Write-*-Written headers"))
        }
        _ => None,
    }
}

/// Sends one request, retrying as the module says; its outcome goes to
/// `status` and the self-metrics. Returns whether the endpoint fell back
/// from remote write 2.0 to 1.0 on its answer.
async fn send_with_retries(
    receiver: &mut Receiver,
    (method, headers): (&hyper::Method, &[(String, String)]),
    request: &PushRequest,
    settings: &PushSettings,
    status: &Mutex<PushStatus>,
    counts: &EndpointCounts,
) -> bool {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outgoing = Outgoing { method: method.clone(), headers, body: request.body.clone() };
        let answer = receiver.send(outgoing, settings.timeout).await;
        if let Ok(answer) = &answer {
            counts.answer(answer.status);
        }
        if let Some(why) = answer.as_ref().ok().and_then(|answer| speaks_only_1_0(request, answer)) {
            let mut status = lock(status);
            tracing::warn!(url = %status.url, reason = %why, "remote write 2.0 not spoken here; this endpoint falls back to 1.0");
            status.fallback = Some(truncate_text(&why, 4096));
            status.backoff_ms = 0;
            return true;
        }
        let (retry_after, why) = match answer {
            Ok(Answer { status: code, .. }) if (200..300).contains(&code) => {
                let mut status = lock(status);
                status.requests_sent += 1;
                status.samples_sent += request.samples.unwrap_or(0);
                status.last_success_ms = Some(now_ms());
                status.backoff_ms = 0;
                counts.sent(request.samples);
                counts.levels(&status);
                return false;
            }
            Ok(Answer { status: code, retry_after, reason, .. }) if code == 429 || code >= 500 => {
                (retry_after, format!("{code}: {reason}"))
            }
            Ok(Answer { status: code, reason, .. }) => {
                let mut status = lock(status);
                status.requests_dropped += 1;
                status.last_error = Some(format!("{code} (not retried): {reason}"));
                counts.dropped("refused");
                counts.levels(&status);
                tracing::warn!(url = %status.url, status = code, reason = %reason, "push request refused; dropped");
                return false;
            }
            Err(error) => (None, error.to_string()),
        };
        let wait = {
            let mut status = lock(status);
            if attempt >= MAX_ATTEMPTS {
                status.requests_dropped += 1;
                status.backoff_ms = 0;
                status.last_error = Some(format!("{why} (dropped after {attempt} attempts)"));
                counts.dropped("out_of_attempts");
                counts.levels(&status);
                tracing::warn!(url = %status.url, error = %why, "push request dropped after {attempt} attempts");
                return false;
            }
            let backoff = (MIN_BACKOFF * 2u32.pow(attempt - 1)).min(MAX_BACKOFF);
            let wait = retry_after.unwrap_or(backoff.mul_f64(1.0 + jitter() / 4.0));
            status.retries += 1;
            status.backoff_ms = wait.as_millis() as u64;
            counts.outcome("retried");
            counts.levels(&status);
            status.last_error = Some(why);
            wait
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_into_requests_at_their_length_prefixes_however_it_arrives() {
        let queue = Arc::new(RequestQueue::new(1 << 20));
        let mut sink =
            RequestSink::new(Arc::clone(&queue), (PushProtocol::RemoteWrite1, 1), Compression::Snappy(Box::new(snap::raw::Encoder::new())));
        let mut output = Vec::new();
        for body in [vec![7u8; 3], vec![8u8; 300]] {
            let mut len = body.len() as u64;
            while len >= 0x80 {
                output.push(len as u8 | 0x80);
                len >>= 7;
            }
            output.push(len as u8);
            output.extend_from_slice(&body);
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for piece in output.chunks(5) {
            runtime.block_on(sink.write(Bytes::copy_from_slice(piece))).unwrap();
        }
        let mut decoder = snap::raw::Decoder::new();
        let first = runtime.block_on(queue.next()).body;
        let second = runtime.block_on(queue.next()).body;
        assert_eq!(decoder.decompress_vec(&first).unwrap(), vec![7u8; 3]);
        assert_eq!(decoder.decompress_vec(&second).unwrap(), vec![8u8; 300]);
        assert!(sink.pending.is_empty());
        // A length beyond the cap ends the render, and so does a length
        // that never ends (nothing is held waiting for it).
        let huge = [0xff, 0xff, 0xff, 0xff, 0x7f];
        assert!(runtime.block_on(sink.write(Bytes::copy_from_slice(&huge))).is_err());
        let mut endless =
            RequestSink::new(Arc::clone(&queue), (PushProtocol::RemoteWrite1, 1), Compression::Snappy(Box::new(snap::raw::Encoder::new())));
        assert!(runtime.block_on(endless.write(Bytes::from(vec![0xffu8; 10]))).is_err());
    }

    #[test]
    fn an_http_request_is_sent_with_the_format_content_type_less_the_framing() {
        assert_eq!(without_delimited_encoding("text/plain; charset=utf-8; encoding=delimited"), "text/plain; charset=utf-8");
        assert_eq!(
            without_delimited_encoding("application/x-protobuf;proto=a.B;Encoding = Delimited"),
            "application/x-protobuf; proto=a.B"
        );
        assert_eq!(without_delimited_encoding("text/plain"), "text/plain");
    }
}
