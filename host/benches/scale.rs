//! `make bench`: the scale measurements of one run on this machine.
//!
//! - snapshot + render through the wasm component vs the same formatting
//!   code compiled natively vs `prometheus-client` 0.26 and `prometheus`
//!   0.14, on the same KumoMTA-like data (queues + a histogram family) at
//!   1k, 100k and 1M series;
//! - an HTTP scrape of 1M series end to end against `metrics-host serve` on
//!   loopback, plain and gzip, and the server's peak resident memory during
//!   it above idle;
//! - counter increments, single-thread and contended, vs `prometheus`.
//!
//! Every figure is a median of several runs. wasm and native runs alternate
//! and `wasm/native` is the median of each pair's ratio, so drift in the
//! machine's load cancels out. The last line is the summary.
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::{OutputSink, RenderLimits, RendererEngine, SinkClosed, WriteFuture};
use metrics_host::registry::Registry;
use metrics_render_core::Sink;
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SERVICES: [&str; 3] = ["esmtp_listener", "smtp_client", "http_listener"];
const BOUNDS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

fn queue(i: usize) -> String {
    format!("campaign{}:tenant{}@q{i}.example.com", i % 7, i % 13)
}

fn value(i: usize) -> f64 {
    ((i * 7919) % 1000) as f64
}

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Counts bytes and drops them.
struct NullSink(u64);

impl Sink for NullSink {
    fn write(&mut self, chunk: &[u8]) -> bool {
        self.0 += chunk.len() as u64;
        true
    }
}

/// Counts bytes and drops them, for the wasm path.
struct CountingSink(Arc<AtomicU64>);

impl OutputSink for CountingSink {
    fn write(&mut self, chunk: bytes::Bytes) -> WriteFuture<'_> {
        self.0.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Box::pin(std::future::ready(Ok::<(), SinkClosed>(())))
    }
}

fn our_registry(queues: usize) -> Registry {
    let registry = Registry::new();
    let scheduled = registry.gauge_family("scheduled_count", "number of messages in the scheduled queue", &["queue"]).unwrap();
    for i in 0..queues {
        scheduled.with_label_values(&[&queue(i)]).unwrap().set(value(i));
    }
    let latency = registry.histogram_family("deliver_message_latency", "latency in seconds", &["service"], &BOUNDS).unwrap();
    for (s, service) in SERVICES.iter().enumerate() {
        let h = latency.with_label_values(&[service]).unwrap();
        for k in 0..100 {
            h.observe((k * (s + 1)) as f64 / 40.0);
        }
    }
    registry
}

fn prometheus_client_registry(queues: usize) -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::metrics::histogram::Histogram;
    use std::sync::atomic::AtomicU64;
    let mut registry = prometheus_client::registry::Registry::default();
    let scheduled = Family::<Vec<(String, String)>, Gauge<f64, AtomicU64>>::default();
    for i in 0..queues {
        scheduled.get_or_create(&vec![("queue".to_string(), queue(i))]).set(value(i));
    }
    registry.register("scheduled_count", "number of messages in the scheduled queue", scheduled);
    let latency = Family::<Vec<(String, String)>, Histogram>::new_with_constructor(|| Histogram::new(BOUNDS));
    for (s, service) in SERVICES.iter().enumerate() {
        let h = latency.get_or_create(&vec![("service".to_string(), service.to_string())]);
        for k in 0..100 {
            h.observe((k * (s + 1)) as f64 / 40.0);
        }
    }
    registry.register("deliver_message_latency", "latency in seconds", latency);
    registry
}

fn prometheus_registry(queues: usize) -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let scheduled =
        prometheus::GaugeVec::new(prometheus::Opts::new("scheduled_count", "number of messages in the scheduled queue"), &["queue"])
            .unwrap();
    for i in 0..queues {
        scheduled.with_label_values(&[&queue(i)]).set(value(i));
    }
    registry.register(Box::new(scheduled)).unwrap();
    let latency = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("deliver_message_latency", "latency in seconds").buckets(BOUNDS.to_vec()),
        &["service"],
    )
    .unwrap();
    for (s, service) in SERVICES.iter().enumerate() {
        let h = latency.with_label_values(&[service]);
        for k in 0..100 {
            h.observe((k * (s + 1)) as f64 / 40.0);
        }
    }
    registry.register(Box::new(latency)).unwrap();
    registry
}

struct RenderTimes {
    series: usize,
    /// Median over runs of (wasm run / the native run right after it):
    /// drift in machine load cancels out within each pair.
    wasm_vs_native: f64,
    wasm: Duration,
    native: Duration,
    prometheus_client: Duration,
    prometheus: Duration,
    bytes: u64,
}

/// `with_prometheus`: also time the `prometheus` crate (the slowest peer).
fn render_comparison(
    runtime: &tokio::runtime::Runtime,
    set: &RendererSet,
    queues: usize,
    runs: usize,
    with_prometheus: bool,
) -> RenderTimes {
    let registry = our_registry(queues);
    let (renderer, _) = set.find("prometheus").unwrap();
    let mut bytes = 0;
    // Alternate the two paths run by run, so drift in machine load hits both alike.
    let (mut wasm_runs, mut native_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        wasm_runs.push(median(1, || {
            let snapshot = Arc::new(registry.snapshot());
            let limits = RenderLimits::default();
            let counted = Arc::new(AtomicU64::new(0));
            let sink = Box::new(CountingSink(Arc::clone(&counted)));
            runtime.block_on(renderer.render(&snapshot, "prometheus", Default::default(), &limits, sink)).unwrap();
            bytes = counted.load(Ordering::Relaxed);
        }));
        native_runs.push(median(1, || {
            let snapshot = registry.snapshot();
            let mut sink = NullSink(0);
            snapshot.render_native("prometheus", Default::default(), &mut sink).unwrap();
            black_box(sink.0);
        }));
    }
    let mut ratios: Vec<f64> = wasm_runs.iter().zip(&native_runs).map(|(w, n)| w.as_secs_f64() / n.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let wasm_vs_native = ratios[runs / 2];
    wasm_runs.sort();
    native_runs.sort();
    let (wasm, native) = (wasm_runs[runs / 2], native_runs[runs / 2]);
    let pc = prometheus_client_registry(queues);
    let prometheus_client = median(runs, || {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &pc).unwrap();
        black_box(out.len());
    });
    let prometheus = if with_prometheus {
        let p = prometheus_registry(queues);
        // The slowest peer: fewer runs.
        median(runs.min(3), || {
            let families = p.gather();
            let mut out = Vec::new();
            prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &families, &mut out).unwrap();
            black_box(out.len());
        })
    } else {
        Duration::ZERO
    };
    RenderTimes { series: queues + SERVICES.len() * (BOUNDS.len() + 3), wasm_vs_native, wasm, native, prometheus_client, prometheus, bytes }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l[6..].trim().trim_end_matches("kB").trim().to_string()))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The peak resident memory of a process, sampled every 2 ms on a thread
/// until [`PeakRss::finish`].
struct PeakRss {
    sampling: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl PeakRss {
    fn sample(pid: u32) -> Self {
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let running = Arc::clone(&sampling);
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        PeakRss { sampling, thread }
    }

    /// Stops sampling; the peak in KiB.
    fn finish(self) -> u64 {
        self.sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Sample lines of a text scrape of `addr` (lines with a space that are
/// not comments; chunk-size lines have none).
fn scrape_lines(addr: &str) -> usize {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = Vec::new();
    stream.read_to_end(&mut text).unwrap();
    let body = &text[text.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    body.split(|&b| b == b'\n').filter(|l| !l.starts_with(b"#") && l.contains(&b' ')).count()
}

/// GET /metrics over a fresh connection, reading to the end; returns (seconds, bytes on the wire).
fn scrape(addr: &str, gzip: bool) -> (f64, usize) {
    scrape_target(addr, "/metrics", gzip)
}

fn scrape_target(addr: &str, target: &str, gzip: bool) -> (f64, usize) {
    scrape_encoded(addr, target, if gzip { "gzip" } else { "" })
}

/// A scrape asking for `encoding` (`""`: none): (seconds, bytes on the wire).
fn scrape_encoded(addr: &str, target: &str, encoding: &str) -> (f64, usize) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    let encoding = if encoding.is_empty() { String::new() } else { format!("Accept-Encoding: {encoding}\r\n") };
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{encoding}\r\n").unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    (started.elapsed().as_secs_f64(), total)
}

struct ScrapeFigures {
    plain_s: f64,
    gzip_s: f64,
    plain_bytes: usize,
    gzip_bytes: usize,
    /// deflate and zstd: (seconds, bytes), medians of three.
    deflate: (f64, usize),
    zstd: (f64, usize),
    peak_over_idle_mb: f64,
    idle_mb: f64,
    /// Peak over the resident memory before the first scrape: includes what
    /// the allocator keeps from the first scrape for the next ones.
    peak_over_cold_mb: f64,
    /// One small family (`name[]=connection_count`) out of the 1M series.
    filtered_s: f64,
    /// 64 concurrent full scrapes: wall time, renders they took, complete
    /// responses, and server RSS growth over idle.
    concurrent: ConcurrentFigures,
    /// Resident memory the idle server keeps after 8 concurrent full
    /// scrapes with distinct prefixes (8 renders at once), over before.
    burst_retained_mb: f64,
}

struct ConcurrentFigures {
    seconds: f64,
    renders: f64,
    complete: usize,
    peak_over_idle_mb: f64,
}

/// `metrics_host_renders_total{format="prometheus",outcome="ok"}` read from metrics.json.
fn prometheus_renders(addr: &str) -> f64 {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET /metrics.json?name[]=metrics_host_renders_total HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Chunked: the JSON object sits between the first `{` and the last `}`.
    let json = &body[body.find('{').unwrap_or(0)..body.rfind('}').map(|i| i + 1).unwrap_or(0)];
    let doc: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    doc["metrics_host_renders_total"]["value"]
        .as_array()
        .and_then(|series| series.iter().find(|s| s["format"] == "prometheus" && s["outcome"] == "ok"))
        .and_then(|s| s["@"].as_f64())
        .unwrap_or(0.0)
}

/// 64 clients scrape the full 1M series at once.
fn concurrent_scrapes(addr: &str, pid: u32, idle_kib: u64) -> ConcurrentFigures {
    const CLIENTS: usize = 64;
    let before = prometheus_renders(addr);
    let sampler = PeakRss::sample(pid);
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let addr = addr.to_string();
            std::thread::spawn(move || scrape(&addr, false).1)
        })
        .collect();
    let sizes: Vec<usize> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.finish();
    let largest = sizes.iter().copied().max().unwrap_or(0);
    ConcurrentFigures {
        seconds,
        renders: prometheus_renders(addr) - before,
        complete: sizes.iter().filter(|&&n| n + 4096 > largest).count(),
        peak_over_idle_mb: peak.saturating_sub(idle_kib) as f64 / 1024.0,
    }
}

/// 8 concurrent full scrapes with distinct prefixes (so 8 renders run at
/// once), then the server idle again: resident memory over before the burst.
fn burst_retained_mb(addr: &str, pid: u32) -> f64 {
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kib(pid);
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let addr = addr.to_string();
            std::thread::spawn(move || scrape_target(&addr, &format!("/metrics?prefix=burst{i}_"), false).1)
        })
        .collect();
    for client in clients {
        assert!(client.join().unwrap() > 1 << 20, "a burst scrape was answered in full");
    }
    // The server hands freed memory back once the last render's output is
    // gone; give it a moment, then read.
    std::thread::sleep(Duration::from_secs(1));
    rss_kib(pid).saturating_sub(before) as f64 / 1024.0
}

/// `metrics-host serve --demo --demo-queues 1000000` (and `extra` flags) on
/// a free loopback port, once it accepts connections: the child and its address.
fn start_demo_server(extra: &[&std::ffi::OsStr]) -> (std::process::Child, String) {
    let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/metrics-host");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(binary)
        .args(["serve", "--demo", "--demo-queues", "1000000", "--listen", &addr])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("target/release/metrics-host (make build)");
    let started = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(started.elapsed() < Duration::from_secs(120), "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, addr)
}

fn http_scrape_1m() -> ScrapeFigures {
    let (mut child, addr) = start_demo_server(&[]);
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(500));
    let cold = rss_kib(pid);
    // Warm up: the first scrape maps the renderer's memory and fills caches.
    scrape(&addr, false);
    scrape(&addr, true);
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(pid);
    let sampler = PeakRss::sample(pid);
    let mut plain: Vec<(f64, usize)> = (0..5).map(|_| scrape(&addr, false)).collect();
    let mut gzip: Vec<(f64, usize)> = (0..5).map(|_| scrape(&addr, true)).collect();
    let peak = sampler.finish();
    let median_of_3 = |encoding: &str| {
        let mut runs: Vec<(f64, usize)> = (0..3).map(|_| scrape_encoded(&addr, "/metrics", encoding)).collect();
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        runs[1]
    };
    let (deflate, zstd) = (median_of_3("deflate"), median_of_3("zstd"));
    let mut filtered: Vec<f64> = (0..5).map(|_| scrape_target(&addr, "/metrics?name[]=connection_count", false).0).collect();
    filtered.sort_by(f64::total_cmp);
    let concurrent = concurrent_scrapes(&addr, pid, idle);
    let burst_retained_mb = burst_retained_mb(&addr, pid);
    let _ = child.kill();
    let _ = child.wait();
    plain.sort_by(|a, b| a.0.total_cmp(&b.0));
    gzip.sort_by(|a, b| a.0.total_cmp(&b.0));
    ScrapeFigures {
        plain_s: plain[2].0,
        gzip_s: gzip[2].0,
        plain_bytes: plain[2].1,
        gzip_bytes: gzip[2].1,
        deflate,
        zstd,
        peak_over_idle_mb: peak.saturating_sub(idle) as f64 / 1024.0,
        idle_mb: idle as f64 / 1024.0,
        peak_over_cold_mb: peak.saturating_sub(cold) as f64 / 1024.0,
        filtered_s: filtered[2],
        concurrent,
        burst_retained_mb,
    }
}

/// ns per increment: single thread, then two threads on the same counter.
fn counter_costs() -> [(f64, f64); 2] {
    const N: u64 = 20_000_000;
    let ours = metrics_host::registry::Counter::default();
    let theirs = prometheus::IntCounter::new("c", "c").unwrap();
    let single = |f: &(dyn Fn() + Sync)| {
        median(5, || {
            for _ in 0..N {
                f();
            }
        })
        .as_nanos() as f64
            / N as f64
    };
    let contended = |f: &(dyn Fn() + Sync)| {
        median(5, || {
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..N / 2 {
                            f();
                        }
                    });
                }
            })
        })
        .as_nanos() as f64
            / N as f64
    };
    [(single(&|| ours.inc()), single(&|| theirs.inc())), (contended(&|| ours.inc()), contended(&|| theirs.inc()))]
}

#[path = "scale/push_1m.rs"]
mod push_1m;
#[path = "scale/registry_costs.rs"]
mod registry_costs;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        println!("{}", registry_costs::child(&args[at + 1]));
        return;
    }
    // `cargo bench --bench scale -- --quick`: only the 1M-series render
    // comparison, for iterating on the render path.
    let quick = std::env::args().any(|a| a == "--quick");
    // `-- --push`: only the 1M scrape and push, for iterating on push.
    if std::env::args().any(|a| a == "--push") {
        let scrape = http_scrape_1m();
        let push = push_1m::measure();
        println!(
            "push_1m_s={:.3} scrape_1m_s={:.3} push_vs_scrape={:.2} push_rss_over_idle_mb={:.1} remote_write_bytes_per_sample={:.1} requests={}",
            push.push_s,
            scrape.plain_s,
            push.push_s / scrape.plain_s,
            push.rss_over_idle_mb,
            push.bytes_per_sample,
            push.requests
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let set = runtime.block_on(async {
        let engine = RendererEngine::new().unwrap();
        RendererSet::builtin(&engine).await.unwrap()
    });
    println!("| series | wasm (snapshot+render) | native | prometheus-client 0.26 | prometheus 0.14 | wasm/native | wasm/prometheus-client | output |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut last = None;
    let sizes: &[(usize, usize)] = if quick { &[(1_000_000, 15)] } else { &[(1_000, 51), (100_000, 11), (1_000_000, 15)] };
    for &(queues, runs) in sizes {
        let t = render_comparison(&runtime, &set, queues, runs, !quick);
        println!(
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} | {:.2} | {:.1} MB |",
            t.series,
            t.wasm.as_secs_f64() * 1e3,
            t.native.as_secs_f64() * 1e3,
            t.prometheus_client.as_secs_f64() * 1e3,
            t.prometheus.as_secs_f64() * 1e3,
            t.wasm_vs_native,
            t.wasm.as_secs_f64() / t.prometheus_client.as_secs_f64(),
            t.bytes as f64 / 1e6,
        );
        last = Some(t);
    }
    let t = last.unwrap();
    if quick {
        return;
    }
    let scrape = http_scrape_1m();
    println!();
    println!(
        "HTTP scrape, 1M queues: plain {:.3} s ({:.1} MB), gzip {:.3} s ({:.1} MB on the wire); server RSS idle {:.0} MB, peak over idle {:.1} MB (over the RSS before the first scrape: {:.1} MB); one small family by name[]: {:.4} s",
        scrape.plain_s,
        scrape.plain_bytes as f64 / 1e6,
        scrape.gzip_s,
        scrape.gzip_bytes as f64 / 1e6,
        scrape.idle_mb,
        scrape.peak_over_idle_mb,
        scrape.peak_over_cold_mb,
        scrape.filtered_s
    );
    println!(
        "HTTP scrape, 1M queues, other encodings (fastest level): deflate {:.3} s ({:.1} MB), zstd {:.3} s ({:.1} MB)",
        scrape.deflate.0,
        scrape.deflate.1 as f64 / 1e6,
        scrape.zstd.0,
        scrape.zstd.1 as f64 / 1e6
    );
    let c = &scrape.concurrent;
    println!(
        "64 concurrent 1M-series scrapes: {:.3} s, {} renders, {} of 64 complete, server RSS peak over idle {:.1} MB",
        c.seconds, c.renders, c.complete, c.peak_over_idle_mb
    );
    println!("8 concurrent 1M-series scrapes with distinct prefixes: idle server keeps {:.1} MB over before", scrape.burst_retained_mb);
    let [(single_ours, single_theirs), (cont_ours, cont_theirs)] = counter_costs();
    println!(
        "counter increment: single thread {single_ours:.2} ns vs prometheus {single_theirs:.2} ns ({:.2}x); contended (2 threads) {cont_ours:.2} ns vs {cont_theirs:.2} ns ({:.2}x)",
        single_ours / single_theirs,
        cont_ours / cont_theirs
    );
    let push = push_1m::measure();
    println!(
        "push, 1M queues, remote-write-1 to a discarding receiver: {:.3} s from first to last request ({} requests; {:.2}x the plain scrape), server RSS peak over idle {:.1} MB, {:.1} bytes per sample after snappy (the text scrape: {:.1} with gzip)",
        push.push_s,
        push.requests,
        push.push_s / scrape.plain_s,
        push.rss_over_idle_mb,
        push.bytes_per_sample,
        scrape.gzip_bytes as f64 / push.samples as f64,
    );
    let costs = registry_costs::measure();
    println!(
        "registry: {:.0} B per idle series at 1M (peers: {}); RSS after 10 churn cycles of 1M series / with 1M live: {:.2}; facade counter increment, cached handle {:.1} ns vs metrics-exporter-prometheus {:.1} ns, macro per call {:.1} ns vs {:.1} ns",
        costs.bytes_per_series,
        costs.peers.iter().map(|(name, b)| format!("{name} {b:.0} B")).collect::<Vec<_>>().join(", "),
        costs.churn_rss_ratio,
        costs.facade[0].0,
        costs.facade[0].1,
        costs.facade[1].0,
        costs.facade[1].1,
    );
    println!(
        "populate: 1M labelled gauges created and set once in {:.3} s vs prometheus-client {:.3} s ({:.2}x)",
        costs.populate_s.0,
        costs.populate_s.1,
        costs.populate_s.0 / costs.populate_s.1
    );
    println!(
        "idle expiry of 1M series: RSS kept over before, registry handles {:.1} MB, metrics facade {:.1} MB",
        costs.idle_expiry_mb.0, costs.idle_expiry_mb.1
    );
    println!(
        "summary: wasm_vs_native={:.2} wasm_vs_prometheus_client={:.2} scrape_1m_s={:.3} scrape_1m_gzip_s={:.3} scrape_1m_deflate_s={:.3} scrape_1m_zstd_s={:.3} peak_rss_over_idle_mb={:.1} filtered_scrape_ratio={:.4} coalesced_renders_64={} facade_vs_mep={:.2} bytes_per_series={:.0} memory_vs_best_peer={:.2} churn_rss_ratio={:.2} burst_retained_mb={:.1} idle_expiry_registry_mb={:.1} idle_expiry_facade_mb={:.1} populate_1m_vs_prometheus_client={:.2} push_1m_s={:.3} push_vs_scrape={:.2} push_rss_over_idle_mb={:.1} remote_write_bytes_per_sample={:.1}",
        t.wasm_vs_native,
        t.wasm.as_secs_f64() / t.prometheus_client.as_secs_f64(),
        scrape.plain_s,
        scrape.gzip_s,
        scrape.deflate.0,
        scrape.zstd.0,
        scrape.peak_over_idle_mb,
        scrape.filtered_s / scrape.plain_s,
        scrape.concurrent.renders,
        costs.facade_vs_mep(),
        costs.bytes_per_series,
        costs.memory_vs_best_peer(),
        costs.churn_rss_ratio,
        scrape.burst_retained_mb,
        costs.idle_expiry_mb.0,
        costs.idle_expiry_mb.1,
        costs.populate_s.0 / costs.populate_s.1,
        push.push_s,
        push.push_s / scrape.plain_s,
        push.rss_over_idle_mb,
        push.bytes_per_sample,
    );
}
