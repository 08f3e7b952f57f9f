//! A push format from a plugin: the Rust influx example's `influx-push`
//! (InfluxDB line protocol cut into requests by the SDK's `LineRequests`)
//! pushed with `protocol = "http"`. A receiver written here checks each
//! request's headers, size and lines against the same plugin's scrape;
//! Debian's VictoriaMetrics stores every pushed value through its
//! InfluxDB `/write` endpoint, with the external labels as tags. With
//! `shards`, requests of one push are sent at once and a push's requests
//! all wait for the push before it.
mod common;

use common::victoria_metrics::VictoriaMetrics;
use common::{component_bytes, get, install_plugin, start_with_plugins_and};
use metrics_host::config::ServeConfig;
use metrics_host::push::PushArgs;
use metrics_host::registry::Registry;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FAMILIES: [&str; 3] = ["push_sent_total", "push_queue_depth", "push_latency_seconds"];

fn registry() -> Registry {
    let registry = Registry::new();
    let sent = registry.counter_family("push_sent_total", "messages sent", &["domain"]).unwrap();
    sent.with_label_values(&["a.example"]).unwrap().inc_by(7);
    sent.with_label_values(&["b example,with=delimiters"]).unwrap().inc_by(2);
    registry.gauge("push_queue_depth", "messages waiting").unwrap().set(3.5);
    let latency = registry.histogram("push_latency_seconds", "delivery time", &[1.0, 5.0]).unwrap();
    for value in [0.5, 3.0, 10.0] {
        latency.observe(value);
    }
    registry
}

fn push_table(url: &str, extra: &str) -> PushArgs {
    let families = FAMILIES.map(|f| format!("\"{f}\"")).join(", ");
    let text = format!(
        "url = \"{url}\"\nprotocol = \"http\"\nformat = \"influx-push\"\ninterval_ms = 200\nmax_samples_per_request = 2\nfamilies = [{families}]\n{extra}"
    );
    toml::from_str(&text).unwrap()
}

async fn start(table: PushArgs) -> (metrics_host::server::RunningServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "influx.wasm", &component_bytes("examples", "influx.wasm"));
    let config = ServeConfig { push: vec![table.check(0, |_| None).unwrap()], ..ServeConfig::default() };
    let (server, _renderers, watcher) = start_with_plugins_and(config, registry(), dir.path(), None).await;
    drop(watcher);
    (server, dir)
}

/// (headers, body) of every request.
type Seen = Arc<Mutex<Vec<(axum::http::HeaderMap, Vec<u8>)>>>;

/// A receiver that keeps every request and answers 204.
async fn recording_receiver() -> (std::net::SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/write",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
            record.lock().unwrap().push((headers, body.to_vec()));
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

/// A line without its timestamp (the last space-separated field).
fn without_timestamp(line: &str) -> String {
    line.rsplit_once(' ').unwrap().0.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_push_format_is_cut_into_requests_with_its_content_type() {
    let (receiver, seen) = recording_receiver().await;
    let (server, _dir) = start(push_table(&format!("http://{receiver}/write"), "content_encoding = \"gzip\"\n")).await;
    // The same plugin's scrape of the same families, timestamps aside.
    let names: String = FAMILIES.iter().map(|f| format!("&name[]={f}")).collect();
    let scrape = get(server.local_addr, &format!("/metrics?format=influx{names}"), &[]).await;
    assert_eq!(scrape.status, 200);
    let mut expected: Vec<String> = scrape.text().lines().map(without_timestamp).collect();
    expected.sort();
    assert_eq!(expected.len(), 4, "{}", scrape.text());
    let started = Instant::now();
    let first_push = loop {
        let status = serde_json::from_slice::<Value>(&get(server.local_addr, "/-/push", &[]).await.body).unwrap()[0].clone();
        if status["renders"].as_u64() >= Some(2) && status["queued_bytes"] == 0 {
            break seen.lock().unwrap().clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no push arrived: {status:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.stop().await.unwrap();
    let mut pushed: Vec<(String, String)> = Vec::new();
    for (headers, body) in &first_push {
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8", "the format's content type less encoding=delimited");
        assert_eq!(headers["content-encoding"], "gzip");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!((1..=2).contains(&lines.len()), "max_samples_per_request = 2: {text:?}");
        assert!(text.ends_with('\n'), "whole lines: {text:?}");
        for line in lines {
            let timestamp = line.rsplit_once(' ').unwrap().1.to_string();
            pushed.push((timestamp, without_timestamp(line)));
        }
    }
    // Every push carries every line once (one timestamp per push).
    let mut by_push: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (timestamp, line) in pushed {
        by_push.entry(timestamp).or_default().push(line);
    }
    assert!(by_push.len() >= 2, "{by_push:#?}");
    for lines in by_push.values_mut() {
        lines.sort();
        assert_eq!(*lines, expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn victoria_metrics_stores_what_the_plugin_pushed_over_influx_line_protocol() {
    if common::tools::missing(&["victoria-metrics"]) {
        return;
    }
    let victoria = VictoriaMetrics::start().await;
    let table =
        push_table(&format!("http://{}/write", victoria.addr), "external_labels = { instance = \"pushed-1\", job = \"push-test\" }\n");
    let (server, _dir) = start(table).await;
    // VictoriaMetrics names an InfluxDB field `measurement_field`.
    let expected: std::collections::BTreeMap<String, f64> = [
        ("push_sent_total_value{domain=\"a.example\"}", 7.0),
        ("push_sent_total_value{domain=\"b example,with=delimiters\"}", 2.0),
        ("push_queue_depth_value{}", 3.5),
        ("push_latency_seconds_count{}", 3.0),
        ("push_latency_seconds_sum{}", 13.5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let started = Instant::now();
    let mut got = victoria.latest().await;
    while !expected.iter().all(|(k, v)| got.get(k) == Some(v)) && started.elapsed() < Duration::from_secs(45) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        got = victoria.latest().await;
    }
    for (series, value) in &expected {
        assert_eq!(got.get(series), Some(value), "{series} in {got:#?}");
    }
    server.stop().await.unwrap();
}

/// (arrival, answer, the line timestamp of the body) of every request.
type Timed = Arc<Mutex<Vec<(Instant, Instant, String)>>>;

#[tokio::test(flavor = "multi_thread")]
async fn shards_send_one_push_at_once_and_never_overtake_the_push_before() {
    // Each answer takes 300 ms; one line per request (4 per push), 3 shards.
    let timed: Timed = Arc::default();
    let record = Arc::clone(&timed);
    let app = axum::Router::new().route(
        "/write",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            let arrived = Instant::now();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let text = String::from_utf8(body.to_vec()).unwrap();
            let timestamp = text.trim_end().rsplit_once(' ').unwrap().1.to_string();
            record.lock().unwrap().push((arrived, Instant::now(), timestamp));
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut table = push_table(&format!("http://{addr}/write"), "shards = 3\n");
    (table.max_samples_per_request, table.interval_ms) = (Some(1), Some(100));
    let (server, _dir) = start(table).await;
    let started = Instant::now();
    while timed.lock().unwrap().len() < 12 {
        assert!(started.elapsed() < Duration::from_secs(20), "{} requests answered", timed.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await.unwrap();
    let timed = timed.lock().unwrap().clone();
    // At once: some request arrived while another was being answered.
    let overlapping = timed.iter().any(|a| timed.iter().any(|b| !std::ptr::eq(a, b) && a.0 <= b.0 && b.0 < a.1));
    assert!(overlapping, "the 3 shards never sent two requests at once");
    // In order: a request of a later push arrived after every request of
    // an earlier push was answered.
    for later in &timed {
        for earlier in timed.iter().filter(|e| e.2.parse::<u128>().unwrap() < later.2.parse::<u128>().unwrap()) {
            assert!(later.0 >= earlier.1, "push {} overtook push {}", later.2, earlier.2);
        }
    }
}
