//! Push to real receivers: Debian's Prometheus with its remote-write
//! receiver and Debian's VictoriaMetrics, which must return every pushed
//! series (counters, gauges, classic histograms, summaries, external
//! labels) with the value the registry holds, and Debian's Pushgateway,
//! which must hold them in the group of the external labels; then a
//! receiver that refuses (not retried, dropped with the reason) and one
//! that is down (retried with backoff, scrapes served meanwhile) or
//! slower than the interval (the queue stays within its budget), as
//! `/-/push` shows them.
mod common;

use common::prometheus_server::PrometheusServer;
use common::victoria_metrics::VictoriaMetrics;
use common::{get, renderers};
use metrics_host::config::ServeConfig;
use metrics_host::push::PushArgs;
use metrics_host::registry::Registry;
use metrics_host::server;
use serde_json::Value;
use std::time::{Duration, Instant};

fn registry() -> Registry {
    let registry = Registry::new();
    let sent = registry.counter_family("push_sent_total", "messages sent", &["domain"]).unwrap();
    sent.with_label_values(&["a.example"]).unwrap().inc_by(7);
    sent.with_label_values(&["b.example"]).unwrap().inc_by(2);
    registry.gauge("push_queue_depth", "messages waiting").unwrap().set(3.5);
    let latency = registry.histogram("push_latency_seconds", "delivery time", &[1.0, 5.0]).unwrap();
    for value in [0.5, 3.0, 10.0] {
        latency.observe(value);
    }
    let quantiles = registry.summary_family("push_size_bytes", "message size", &[], &[0.5, 0.9]).unwrap();
    quantiles.with_label_values(&[]).unwrap().set(&[100.0, 900.0], 1234.0, 4);
    registry
}

fn push_table(url: &str) -> PushArgs {
    let text = format!(
        "url = \"{url}\"\ninterval_ms = 200\ntimeout_ms = 2000\nmax_samples_per_request = 3\nexternal_labels = {{ instance = \"pushed-1\", job = \"push-test\" }}\n"
    );
    toml::from_str(&text).unwrap()
}

async fn start(push: Vec<PushArgs>) -> server::RunningServer {
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        push: push.iter().enumerate().map(|(i, table)| table.check(i, |_| None).unwrap()).collect(),
        ..ServeConfig::default()
    };
    server::start(&config, registry(), renderers().await).await.unwrap()
}

async fn push_status(addr: std::net::SocketAddr) -> Vec<Value> {
    serde_json::from_slice::<Value>(&get(addr, "/-/push", &[]).await.body).unwrap().as_array().unwrap().clone()
}

/// Polls `/-/push` until `done` holds for the first endpoint (at most 20 s).
async fn wait_for_status(addr: std::net::SocketAddr, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let status = push_status(addr).await.remove(0);
        if done(&status) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never reached: {status:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_series_reaches_prometheus_through_remote_write() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 1h\n", &["--web.enable-remote-write-receiver"]);
    prometheus.ready().await;
    let server = start(vec![push_table(&format!("http://{}/api/v1/write", prometheus.web))]).await;
    let at = |expr: &str| format!("{expr}{{instance=\"pushed-1\",job=\"push-test\"}}");
    prometheus
        .wait_for_values(&[
            (&at("push_sent_total").replace('}', ",domain=\"a.example\"}"), 7.0),
            (&at("push_sent_total").replace('}', ",domain=\"b.example\"}"), 2.0),
            (&at("push_queue_depth"), 3.5),
            (&at("push_latency_seconds_bucket").replace('}', ",le=\"1\"}"), 1.0),
            (&at("push_latency_seconds_bucket").replace('}', ",le=\"5\"}"), 2.0),
            (&at("push_latency_seconds_bucket").replace('}', ",le=\"+Inf\"}"), 3.0),
            (&at("push_latency_seconds_sum"), 13.5),
            (&at("push_latency_seconds_count"), 3.0),
            (&at("push_size_bytes").replace('}', ",quantile=\"0.9\"}"), 900.0),
            (&at("push_size_bytes_sum"), 1234.0),
            (&at("push_size_bytes_count"), 4.0),
        ])
        .await;
    // Requests of at most 3 samples: the 15 samples of one push took 5+.
    let status = wait_for_status(server.local_addr, |s| s["requests_sent"].as_u64() >= Some(5)).await;
    assert_eq!(status["requests_dropped"], 0, "{status:#}");
    assert!(status["last_success_ms"].as_u64().is_some(), "{status:#}");
    // The same counts in the host's own metrics, per endpoint.
    let text = get(server.local_addr, "/metrics", &[]).await.text();
    let endpoint = format!("http://{}/api/v1/write", prometheus.web);
    let sent = text
        .lines()
        .find(|l| l.starts_with(&format!("metrics_host_push_requests_total{{endpoint=\"{endpoint}\",outcome=\"sent\"}} ")))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(sent.rsplit(' ').next().unwrap().parse::<f64>().unwrap() >= 5.0, "{sent}");
    assert!(text.contains(&format!("metrics_host_push_last_success_timestamp_seconds{{endpoint=\"{endpoint}\"}} ")), "{text}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusing_receiver_is_not_retried_and_a_down_one_does_not_touch_scrapes() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    // Prometheus without the receiver flag answers 404: not retried.
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 1h\n", &[]);
    prometheus.ready().await;
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = start(vec![push_table(&format!("http://{}/api/v1/write", prometheus.web))]).await;
    let refused = wait_for_status(server.local_addr, |s| s["requests_dropped"].as_u64() >= Some(2)).await;
    assert_eq!(refused["retries"], 0, "{refused:#}");
    assert_eq!(refused["requests_sent"], 0, "{refused:#}");
    assert!(refused["last_error"].as_str().unwrap().starts_with("404 (not retried)"), "{refused:#}");
    let text = get(server.local_addr, "/metrics", &[]).await.text();
    assert!(text.contains("outcome=\"dropped\"}"), "{text}");
    assert!(!text.contains("outcome=\"sent\"}"), "{text}");
    assert!(text.contains(",reason=\"refused\"}"), "{text}");
    assert!(text.contains(",code=\"404\"}"), "{text}");
    server.stop().await.unwrap();

    // Nothing listens on `down` (its listener is gone): retried with backoff.
    let server = start(vec![push_table(&format!("http://{down}/api/v1/write"))]).await;
    let backing_off = wait_for_status(server.local_addr, |s| s["retries"].as_u64() >= Some(2)).await;
    assert!(backing_off["last_error"].as_str().unwrap().contains("connecting to"), "{backing_off:#}");
    let scrape = get(server.local_addr, "/metrics", &[]).await;
    assert_eq!(scrape.status, 200);
    assert!(scrape.text().contains("push_queue_depth 3.5\n"));
    // The status never shows header values or grows without bound.
    assert!(backing_off["queued_bytes"].as_u64().unwrap() <= 64 << 20);
    server.stop().await.unwrap();
}

#[test]
fn the_readme_push_example_is_a_valid_config() {
    let readme = include_str!("../../README.md");
    let section = &readme[readme.find("## Push: remote write").unwrap()..];
    let block = section.split("```toml\n").nth(1).unwrap().split("```").next().unwrap();
    let args: metrics_host::config::ServeArgs = toml::from_str(block).unwrap();
    let settings = args.push[0].check(0, |name| (name == "TENANT").then(|| "team-a".to_string())).unwrap();
    assert_eq!(settings.url.target, "/api/v1/write");
    assert_eq!(settings.external_labels, vec![("instance".into(), "mx1".into()), ("job".into(), "mail".into())]);
    assert_eq!(settings.headers, vec![("x-scope-orgid".into(), "team-a".into())]);
}

/// Debian's `victoria-metrics`, on a free loopback port, killed at the end.
#[tokio::test(flavor = "multi_thread")]
async fn victoria_metrics_stores_every_pushed_float_series() {
    if common::tools::missing(&["victoria-metrics"]) {
        return;
    }
    let victoria = VictoriaMetrics::start().await;
    let server = start(vec![push_table(&format!("http://{}/api/v1/write", victoria.addr))]).await;
    let expected: std::collections::BTreeMap<String, f64> = [
        ("push_sent_total{domain=\"a.example\"}", 7.0),
        ("push_sent_total{domain=\"b.example\"}", 2.0),
        ("push_queue_depth{}", 3.5),
        ("push_latency_seconds_bucket{le=\"1\"}", 1.0),
        ("push_latency_seconds_bucket{le=\"5\"}", 2.0),
        ("push_latency_seconds_bucket{le=\"+Inf\"}", 3.0),
        ("push_latency_seconds_sum{}", 13.5),
        ("push_latency_seconds_count{}", 3.0),
        ("push_size_bytes{quantile=\"0.5\"}", 100.0),
        ("push_size_bytes{quantile=\"0.9\"}", 900.0),
        ("push_size_bytes_sum{}", 1234.0),
        ("push_size_bytes_count{}", 4.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let started = Instant::now();
    let mut got = victoria.latest().await;
    while got != expected && started.elapsed() < Duration::from_secs(45) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        got = victoria.latest().await;
    }
    assert_eq!(got, expected);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn victoria_metrics_accepts_native_histograms_and_keeps_only_the_floats() {
    if common::tools::missing(&["victoria-metrics"]) {
        return;
    }
    use metrics_host::registry::NativeHistogramOptions;
    let victoria = VictoriaMetrics::start().await;
    let registry = Registry::new();
    registry.gauge("push_beside", "a float beside the native histogram").unwrap().set(1.5);
    registry.native_histogram("push_native", "native only", &[], NativeHistogramOptions::default()).unwrap().observe(2.0);
    let mut table = push_table(&format!("http://{}/api/v1/write", victoria.addr));
    table.max_samples_per_request = Some(100_000);
    let config =
        ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), push: vec![table.check(0, |_| None).unwrap()], ..ServeConfig::default() };
    let server = server::start(&config, registry, renderers().await).await.unwrap();
    let status = wait_for_status(server.local_addr, |s| s["requests_sent"].as_u64() >= Some(2)).await;
    assert_eq!(status["requests_dropped"], 0, "accepted, not refused: {status:#}");
    let started = Instant::now();
    let mut got = victoria.latest().await;
    while !got.contains_key("push_beside{}") && started.elapsed() < Duration::from_secs(45) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        got = victoria.latest().await;
    }
    assert_eq!(got.get("push_beside{}"), Some(&1.5), "{got:#?}");
    assert!(got.keys().all(|k| !k.starts_with("push_native")), "the native histogram is dropped: {got:#?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pushgateway_holds_the_group_of_the_external_labels() {
    if common::tools::missing(&["prometheus-pushgateway"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr: std::net::SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let _gateway = KillOnDrop(
        std::process::Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address={addr}"))
            .arg(format!("--persistence.file={}", dir.path().join("store").display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus-pushgateway (Debian package; `make test-deps` installs it)"),
    );
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the Pushgateway never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let table: PushArgs = toml::from_str(&format!(
        "url = \"http://{addr}\"\nprotocol = \"pushgateway\"\ninterval_ms = 200\nexternal_labels = {{ instance = \"pushed-1\", job = \"push-test\", site = \"a/b\" }}\n"
    ))
    .unwrap();
    let server = start(vec![table]).await;
    let expected = [
        "push_sent_total{domain=\"a.example\",instance=\"pushed-1\",job=\"push-test\",site=\"a/b\"} 7",
        "push_queue_depth{instance=\"pushed-1\",job=\"push-test\",site=\"a/b\"} 3.5",
        "push_latency_seconds_bucket{instance=\"pushed-1\",job=\"push-test\",site=\"a/b\",le=\"5\"} 2",
        "push_size_bytes{instance=\"pushed-1\",job=\"push-test\",site=\"a/b\",quantile=\"0.9\"} 900",
    ];
    let started = Instant::now();
    loop {
        let text = get(addr, "/metrics", &[]).await.text();
        if expected.iter().all(|line| text.lines().any(|l| l == *line)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the Pushgateway never showed {expected:#?}:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = wait_for_status(server.local_addr, |s| s["requests_sent"].as_u64() >= Some(1)).await;
    assert_eq!(status["protocol"], "pushgateway");
    assert!(status["url"].as_str().unwrap().ends_with("/metrics/job/push-test/instance/pushed-1/site@base64/YS9i"), "{status:#}");
    server.stop().await.unwrap();
}

/// Kills a receiver started by a test, however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_sends_one_last_push() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    use common::served_process::Server;
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 1h\n", &["--web.enable-remote-write-receiver"]);
    prometheus.ready().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("metrics.toml");
    let url = format!("http://{}/api/v1/write", prometheus.web);
    std::fs::write(
        &config,
        format!("[[push]]\nurl = \"{url}\"\ninterval_ms = 3600000\nexternal_labels = {{ instance = \"last-push\" }}\n"),
    )
    .unwrap();
    let mut server = Server::start(&["--config", config.to_str().unwrap()]);
    let addr: std::net::SocketAddr = server.addr.parse().unwrap();
    // The push at start is done; the next would be in an hour.
    wait_for_status(addr, |s| s["requests_sent"].as_u64() >= Some(1) && s["renders"] == 1).await;
    // A scrape after it: only a last push can carry its count.
    assert_eq!(get(addr, "/metrics", &[]).await.status, 200);
    server.signal("TERM");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
    prometheus.wait_for_values(&[("metrics_host_renders_total{instance=\"last-push\",format=\"prometheus\",outcome=\"ok\"}", 1.0)]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn native_histograms_reach_prometheus_with_their_counts_and_sums() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    use metrics_host::registry::NativeHistogramOptions;
    let prometheus = PrometheusServer::start(
        "global:\n  scrape_interval: 1h\n",
        &["--web.enable-remote-write-receiver", "--enable-feature=native-histograms"],
    );
    prometheus.ready().await;
    let registry = Registry::new();
    let options = NativeHistogramOptions::default();
    // Native and classic buckets in one family, and native only with both signs.
    let delivery = registry.native_histogram_family("delivery_seconds", "latency", &["service"], &[0.1, 1.0], options).unwrap();
    let delivery = delivery.with_label_values(&["smtp"]).unwrap();
    let observations: Vec<f64> = (0..500).map(|i| 0.001 * f64::from(i) * 1.7).collect();
    for &v in &observations {
        delivery.observe(v);
    }
    let balance = registry.native_histogram("balance_change", "changes, both signs", &[], options).unwrap();
    for v in [-5.0, -0.5, 0.0, 0.25, 8.0] {
        balance.observe(v);
    }
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        push: vec![push_table(&format!("http://{}/api/v1/write", prometheus.web)).check(0, |_| None).unwrap()],
        ..ServeConfig::default()
    };
    let server = server::start(&config, registry, renderers().await).await.unwrap();
    let sum: f64 = observations.iter().sum();
    let below_one = observations.iter().filter(|&&v| v <= 1.0).count() as f64;
    prometheus
        .wait_for_values(&[
            ("histogram_count(delivery_seconds{service=\"smtp\"})", 500.0),
            ("histogram_sum(delivery_seconds{service=\"smtp\"})", sum),
            ("delivery_seconds_bucket{service=\"smtp\",le=\"1\"}", below_one),
            ("delivery_seconds_count{service=\"smtp\"}", 500.0),
            ("histogram_count(balance_change)", 5.0),
            ("histogram_sum(balance_change)", 2.75),
        ])
        .await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_a_receiver_keeps_failing_is_dropped_after_bounded_retries() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    use metrics_host::registry::NativeHistogramOptions;
    // Without the feature flag Prometheus answers 500 to native histograms,
    // every time: the request is retried a bounded number of times, then
    // dropped with the reason.
    let prometheus = PrometheusServer::start(
        "global:
  scrape_interval: 1h
",
        &["--web.enable-remote-write-receiver"],
    );
    prometheus.ready().await;
    let registry = Registry::new();
    registry.native_histogram("balance_change", "changes", &[], NativeHistogramOptions::default()).unwrap().observe(1.0);
    let mut table = push_table(&format!("http://{}/api/v1/write", prometheus.web));
    table.interval_ms = Some(3_600_000);
    let config =
        ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), push: vec![table.check(0, |_| None).unwrap()], ..ServeConfig::default() };
    let server = server::start(&config, registry, renderers().await).await.unwrap();
    let status = wait_for_status(server.local_addr, |s| s["requests_dropped"].as_u64() >= Some(1)).await;
    assert_eq!(status["retries"].as_u64(), Some(u64::from(metrics_host::push::pusher::MAX_ATTEMPTS) - 1), "{status:#}");
    let error = status["last_error"].as_str().unwrap();
    assert!(error.starts_with("500") && error.ends_with("(dropped after 5 attempts)"), "{error}");
    server.stop().await.unwrap();
}

/// Request bodies with their arrival times.
type Arrivals = std::sync::Arc<std::sync::Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A receiver written for the test: answers each request with the next
/// scripted status (then 200), keeps every body with its arrival time.
struct ScriptedReceiver {
    addr: std::net::SocketAddr,
    seen: Arrivals,
}

impl ScriptedReceiver {
    fn start(script: Vec<&'static str>) -> Self {
        Self::start_answering_after(script, Duration::ZERO)
    }

    /// Like `start`, answering each request only after `delay`.
    fn start_answering_after(script: Vec<&'static str>, delay: Duration) -> Self {
        use std::io::{BufRead, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arrivals = Default::default();
        let record = std::sync::Arc::clone(&seen);
        let script = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(script)));
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (record, script) = (std::sync::Arc::clone(&record), std::sync::Arc::clone(&script));
                std::thread::spawn(move || {
                    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    loop {
                        let (mut line, mut length) = (String::new(), 0usize);
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                                break;
                            }
                            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0u8; length];
                        reader.read_exact(&mut body).unwrap();
                        record.lock().unwrap().push((Instant::now(), body));
                        std::thread::sleep(delay);
                        let answer = script.lock().unwrap().pop_front().unwrap_or("200 OK");
                        let extra = if answer.starts_with("429") { "Retry-After: 1\r\n" } else { "" };
                        if write!(writer, "HTTP/1.1 {answer}\r\n{extra}Content-Length: 2\r\n\r\nno").is_err() {
                            return;
                        }
                    }
                });
            }
        });
        ScriptedReceiver { addr, seen }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_is_retried_without_loss_or_duplicates_and_429_waits_for_retry_after() {
    let receiver = ScriptedReceiver::start(vec!["500 Internal Server Error", "200 OK", "429 Too Many Requests", "200 OK"]);
    let mut table = push_table(&format!("http://{}/api/v1/write", receiver.addr));
    table.interval_ms = Some(3_600_000);
    // One request per push.
    table.max_samples_per_request = Some(100_000);
    let server = start(vec![table]).await;
    let status = wait_for_status(server.local_addr, |s| s["requests_sent"] == 1).await;
    assert_eq!((status["retries"].as_u64(), status["requests_dropped"].as_u64()), (Some(1), Some(0)), "{status:#}");
    // The last push (on stop) meets the 429.
    server.stop().await.unwrap();
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "500, its retry, 429, its retry");
    assert_eq!(seen[0].1, seen[1].1, "the retry carries the same request");
    assert_eq!(seen[2].1, seen[3].1);
    let waited = seen[3].0.duration_since(seen[2].0);
    assert!(waited >= Duration::from_secs(1), "Retry-After: 1 was honoured ({waited:?})");
    let mut decoder = snap::raw::Decoder::new();
    assert!(!decoder.decompress_vec(&seen[0].1).unwrap().is_empty(), "snappy block format");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_series_stops_answering_at_once_after_its_stale_marker() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 1h\n", &["--web.enable-remote-write-receiver"]);
    prometheus.ready().await;
    let registry = Registry::new();
    let sent = registry.counter_family("stale_sent_total", "sent", &["domain"]).unwrap();
    sent.with_label_values(&["a.example"]).unwrap().inc_by(7);
    sent.with_label_values(&["b.example"]).unwrap().inc_by(2);
    let latency = registry.histogram("stale_latency_seconds", "latency", &[1.0]).unwrap();
    latency.observe(0.5);
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        push: vec![push_table(&format!("http://{}/api/v1/write", prometheus.web)).check(0, |_| None).unwrap()],
        ..ServeConfig::default()
    };
    let server = server::start(&config, registry.clone(), renderers().await).await.unwrap();
    let at = |expr: &str| format!("{expr}{{instance=\"pushed-1\",job=\"push-test\"}}");
    let gone_b = at("stale_sent_total").replace('}', ",domain=\"b.example\"}");
    let kept_a = at("stale_sent_total").replace('}', ",domain=\"a.example\"}");
    let gone_count = at("stale_latency_seconds_count");
    prometheus.wait_for_values(&[(&kept_a, 7.0), (&gone_b, 2.0), (&gone_count, 1.0)]).await;

    // Without a stale marker both would answer their last value for 5 minutes.
    assert!(sent.remove(&["b.example"]).unwrap());
    assert!(registry.remove_family("stale_latency_seconds"));
    let status = wait_for_status(server.local_addr, |s| s["stale_series"].as_u64() >= Some(2)).await;
    assert_eq!(status["stale_series"], 2, "b.example and the histogram's one series, once: {status:#}");
    wait_for_status(server.local_addr, |s| s["queued_bytes"] == 0 && s["backoff_ms"] == 0).await;
    let started = Instant::now();
    while !(prometheus.query(&gone_b).await.is_empty() && prometheus.query(&gone_count).await.is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(20), "still answering: {:?}", prometheus.query(&gone_b).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for bucket in ["1", "+Inf"] {
        assert!(prometheus.query(&at("stale_latency_seconds_bucket").replace('}', &format!(",le=\"{bucket}\"}}"))).await.is_empty());
    }
    assert!(prometheus.query(&at("stale_latency_seconds_sum")).await.is_empty());
    assert_eq!(common::prometheus_server::value_of(&prometheus.query(&kept_a).await), Some(7.0));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_slower_than_the_interval_keeps_the_queue_bounded_and_scrapes_served() {
    // Each answer takes 3 s while a push of 20,000 series (10 requests)
    // is rendered every 100 ms: the queue fills to its 1 MiB and drops
    // its oldest requests, renders go on, and scrapes are answered.
    let receiver = ScriptedReceiver::start_answering_after(Vec::new(), Duration::from_secs(3));
    let registry = registry();
    let wide = registry.gauge_family("push_wide", "many series", &["id"]).unwrap();
    for id in 0..20_000 {
        wide.with_label_values(&[&format!("series-{id:05}")]).unwrap().set(f64::from(id));
    }
    let mut table = push_table(&format!("http://{}/api/v1/write", receiver.addr));
    (table.interval_ms, table.timeout_ms, table.queue_max_mb, table.max_samples_per_request) =
        (Some(100), Some(10_000), Some(1), Some(2000));
    let config =
        ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), push: vec![table.check(0, |_| None).unwrap()], ..ServeConfig::default() };
    let server = server::start(&config, registry, renderers().await).await.unwrap();
    let started = Instant::now();
    let mut most_queued = 0;
    let status = loop {
        let status = push_status(server.local_addr).await.remove(0);
        most_queued = most_queued.max(status["queued_bytes"].as_u64().unwrap());
        if status["requests_dropped"].as_u64() >= Some(10) && status["renders"].as_u64() >= Some(20) {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the queue never overflowed: {status:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(most_queued > 0 && most_queued <= 1 << 20, "queued {most_queued} bytes, budget 1 MiB: {status:#}");
    assert!(status["requests_sent"].as_u64() <= Some(2), "the receiver answers one request per 3 s: {status:#}");
    assert_eq!(status["renders_failed"], 0, "{status:#}");
    // A scrape meanwhile: whole, and long before the receiver's next answer.
    let asked = Instant::now();
    let scrape = get(server.local_addr, "/metrics", &[]).await;
    assert_eq!(scrape.status, 200);
    assert_eq!(scrape.text().lines().filter(|line| line.starts_with("push_wide{")).count(), 20_000);
    assert!(asked.elapsed() < Duration::from_millis(2500), "a scrape waited {:?} behind the receiver", asked.elapsed());
    let dropped = scrape
        .text()
        .lines()
        .find_map(|l| {
            l.strip_prefix("metrics_host_push_dropped_total{").filter(|l| l.contains("reason=\"queue_full\"}")).map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no queue_full drops counted"));
    assert!(dropped.rsplit(' ').next().unwrap().parse::<f64>().unwrap() >= 10.0, "{dropped}");
    server.stop().await.unwrap();
}
