//! The sidecar (`serve --upstream URL`) against exporters we did not
//! write: Python prometheus_client's own HTTP server (every metric type,
//! tricky label values) and a real Prometheus server's `/metrics`; and
//! against broken upstreams, which answer 502 with the reason.
mod common;

use common::prometheus_server::PrometheusServer;
use common::validators::{assert_promtool_clean, prometheus_client_parse, python};
use common::{component_bytes, get, is_self_metric};
use metrics_host::config::ServeConfig;
use metrics_host::plugin::catalog::Renderers;
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::RendererEngine;
use metrics_host::registry::Registry;
use metrics_host::server::{self, RunningServer};
use metrics_host::upstream::http_fetch::UpstreamUrl;
use metrics_host::upstream::UpstreamSettings;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Kills a child process when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tests/python_exporter.py`; its address.
fn python_exporter() -> (KillOnDrop, SocketAddr) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python_exporter.py");
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python with prometheus_client (`make test-deps`)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("the exporter printed its port, got {line:?}"));
    (KillOnDrop(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

fn settings(url: &str) -> UpstreamSettings {
    UpstreamSettings {
        url: UpstreamUrl::parse(url).unwrap(),
        min_interval: Duration::ZERO,
        timeout: Duration::from_secs(5),
        max_body_bytes: 1 << 20,
    }
}

/// A sidecar of `upstream`, with the OpenMetrics plugin loaded.
async fn sidecar(upstream: UpstreamSettings) -> RunningServer {
    let engine = RendererEngine::new().unwrap();
    let openmetrics = engine.load("openmetrics", &component_bytes("plugins", "openmetrics.wasm")).await.unwrap();
    let set = RendererSet::builtin(&engine).await.unwrap().with_plugin(Arc::new(openmetrics));
    let config = ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), upstream: Some(upstream), ..ServeConfig::default() };
    server::start(&config, Registry::new(), Arc::new(Renderers::fixed(engine, set))).await.unwrap()
}

/// One sample: name, sorted labels, value (NaN compared as NaN).
type Sample = (String, Vec<(String, String)>, f64);

/// The samples of parsed families, without the host's own and, unless
/// asked, without `_created` samples.
fn samples(families: &[Value], with_created: bool) -> Vec<Sample> {
    let mut out = Vec::new();
    for family in families.iter().filter(|f| !is_self_metric(f["name"].as_str().unwrap())) {
        for s in family["samples"].as_array().unwrap() {
            let name = s[0].as_str().unwrap().to_string();
            if name.ends_with("_created") && !with_created {
                continue;
            }
            let mut labels: Vec<(String, String)> =
                s[1].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
            labels.sort();
            out.push((name, labels, s[2].as_str().unwrap().parse().unwrap()));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

fn same(a: &[Sample], b: &[Sample], tolerance: f64) {
    assert_eq!(a.len(), b.len(), "sample count: {a:#?}\nvs {b:#?}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!((&x.0, &x.1), (&y.0, &y.1));
        let close = (x.2.is_nan() && y.2.is_nan()) || x.2 == y.2 || (x.2 - y.2).abs() <= tolerance;
        assert!(close, "{} {:?}: {} vs {}", x.0, x.1, x.2, y.2);
    }
}

/// metrics.json as samples (numbers; histograms as buckets, sum and
/// count; summaries as quantiles, sum and count), for comparing with a parser's.
fn json_samples(document: &Value) -> Vec<Sample> {
    let mut out = Vec::new();
    for (name, family) in document.as_object().unwrap() {
        if is_self_metric(name) {
            continue;
        }
        let mut series: Vec<(Vec<(String, String)>, &Value)> = Vec::new();
        match &family["value"] {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    let labels = item
                        .as_object()
                        .unwrap()
                        .iter()
                        .filter(|(k, _)| *k != "@")
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()));
                    series.push((labels.collect(), &item["@"]));
                }
            }
            // `{"label": {...}}`: a histogram or summary value has more keys.
            Value::Object(map) if map.len() == 1 && map.values().all(Value::is_object) => {
                let (label, by_value) = map.iter().next().unwrap();
                for (v, value) in by_value.as_object().unwrap() {
                    series.push((vec![(label.clone(), v.clone())], value));
                }
            }
            value => series.push((Vec::new(), value)),
        }
        let number = |v: &Value| match v {
            Value::String(s) if s == "NaN" => f64::NAN,
            Value::String(s) if s == "+Inf" => f64::INFINITY,
            Value::String(s) if s == "-Inf" => f64::NEG_INFINITY,
            v => v.as_f64().unwrap(),
        };
        for (mut labels, value) in series {
            labels.sort();
            let with = |extra: (&str, String)| {
                let mut l = labels.clone();
                l.push((extra.0.to_string(), extra.1));
                l.sort();
                l
            };
            match family["type"].as_str().unwrap() {
                "histogram" => {
                    for pair in value["bucket"].as_array().unwrap() {
                        out.push((format!("{name}_bucket"), with(("le", format!("{:?}", number(&pair[0])))), number(&pair[1])));
                    }
                    out.push((format!("{name}_bucket"), with(("le", "+Inf".into())), number(&value["count"])));
                    out.push((format!("{name}_sum"), labels.clone(), number(&value["sum"])));
                    out.push((format!("{name}_count"), labels.clone(), number(&value["count"])));
                }
                "summary" => {
                    for pair in value["quantile"].as_array().unwrap() {
                        out.push((name.clone(), with(("quantile", format!("{:?}", number(&pair[0])))), number(&pair[1])));
                    }
                    out.push((format!("{name}_sum"), labels.clone(), number(&value["sum"])));
                    out.push((format!("{name}_count"), labels.clone(), number(&value["count"])));
                }
                _ => out.push((name.clone(), labels, number(value))),
            }
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

/// `le` and `quantile` values as f64 debug text, as `json_samples` writes them.
fn normalise_bounds(samples: &mut [Sample]) {
    for (_, labels, _) in samples.iter_mut() {
        for (k, v) in labels.iter_mut() {
            if (k == "le" || k == "quantile") && v != "+Inf" {
                *v = format!("{:?}", v.parse::<f64>().unwrap());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn python_exporter_values_read_back_exactly_in_text_json_and_openmetrics() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let (_exporter, addr) = python_exporter();
    let server = sidecar(settings(&format!("http://{addr}/metrics"))).await;
    let upstream_om = get(addr, "/metrics", &[("accept", "application/openmetrics-text;version=1.0.0")]).await.text();
    let want = prometheus_client_parse("openmetrics", &upstream_om);

    // Text 0.0.4: every sample of the upstream but its creation times.
    let text = get(server.local_addr, "/metrics", &[]).await.text();
    assert_promtool_clean(&text);
    let got = prometheus_client_parse("text", &text);
    // Sample names are the same in both (`_total`); bucket bounds are
    // spelled `1` in text and `1.0` in OpenMetrics: compared as numbers.
    let (mut got_samples, mut want_samples) = (samples(&got, false), samples(&want, false));
    normalise_bounds(&mut got_samples);
    normalise_bounds(&mut want_samples);
    same(&got_samples, &want_samples, 0.0);
    let kinds = |families: &[Value]| -> Vec<(String, String)> {
        let mut k: Vec<(String, String)> = families
            .iter()
            .filter(|f| !is_self_metric(f["name"].as_str().unwrap()))
            .map(|f| (f["name"].as_str().unwrap().to_string(), f["type"].as_str().unwrap().to_string()))
            .collect();
        k.sort();
        k
    };
    let got_kinds = kinds(&got);
    for kind in ["counter", "gauge", "histogram", "summary"] {
        assert!(got_kinds.iter().any(|(_, k)| k == kind), "a {kind} family: {got_kinds:?}");
    }
    let depth = got.iter().find(|f| f["name"] == "app_queue_depth").unwrap();
    assert_eq!(depth["documentation"], "queue depth\nsecond line with \\ backslash");

    // OpenMetrics through the plugin: the same samples, creation times within a millisecond.
    let om = get(server.local_addr, "/metrics?format=openmetrics", &[]).await.text();
    let got_om = prometheus_client_parse("openmetrics", &om);
    same(&samples(&got_om, true), &samples(&want, true), 1e-3);
    // Info and stateset families are gauges here (named by their samples).
    let mut want_kinds: Vec<(String, String)> = kinds(&want)
        .into_iter()
        .map(|(name, kind)| match kind.as_str() {
            "info" => (format!("{name}_info"), "gauge".to_string()),
            "stateset" => (name, "gauge".to_string()),
            _ => (name, kind),
        })
        .collect();
    want_kinds.sort();
    assert_eq!(kinds(&got_om), want_kinds, "family names and types as the upstream's");

    // metrics.json: the same values.
    let json: Value = serde_json::from_str(&get(server.local_addr, "/metrics.json", &[]).await.text()).unwrap();
    let mut want_json = samples(&want, false);
    normalise_bounds(&mut want_json);
    let mut json_got = json_samples(&json);
    normalise_bounds(&mut json_got);
    same(&json_got, &want_json, 0.0);

    server.stop().await.unwrap();
}

/// Serves `response` (raw bytes) to every connection, after `delay`.
async fn canned_upstream(response: Vec<u8>, delay: Duration) -> SocketAddr {
    counted_upstream(response, delay, Arc::new(std::sync::atomic::AtomicUsize::new(0))).await
}

/// Like [`canned_upstream`], counting connections in `fetches`.
async fn counted_upstream(response: Vec<u8>, delay: Duration, fetches: Arc<std::sync::atomic::AtomicUsize>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                tokio::time::sleep(delay).await;
                let _ = socket.write_all(&response).await;
            });
        }
    });
    addr
}

fn http_response(content_type: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_upstreams_answer_502_with_the_reason() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let malformed = canned_upstream(http_response("text/plain; version=0.0.4", "ok 1\nbad{x=\"\\t\"} 2\n"), Duration::ZERO).await;
    let no_eof = canned_upstream(http_response("application/openmetrics-text; version=1.0.0", "a 1\n"), Duration::ZERO).await;
    let too_big = canned_upstream(http_response("text/plain", &"a 1\n".repeat(400_000)), Duration::ZERO).await;
    let slow = canned_upstream(http_response("text/plain", "a 1\n"), Duration::from_secs(30)).await;
    let status = canned_upstream(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(), Duration::ZERO).await;
    let redirect =
        canned_upstream(b"HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\nContent-Length: 0\r\n\r\n".to_vec(), Duration::ZERO).await;
    let binary = canned_upstream(http_response("application/vnd.google.protobuf", "xx"), Duration::ZERO).await;
    // Hostile framing: a chunk size near u64::MAX, and a chunk larger than the body cap.
    let huge_chunk = canned_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff0\r\nabc".to_vec(),
        Duration::ZERO,
    )
    .await;
    let big_chunk = canned_upstream(
        [&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n"[..], &vec![b'a'; 0x200000], b"\r\n0\r\n\r\n"].concat(),
        Duration::ZERO,
    )
    .await;
    // A malformed line of 900 kB is quoted, cut, in the 502.
    let long_line = canned_upstream(http_response("text/plain", &format!("a 1 2 {}\n", "x".repeat(900_000))), Duration::ZERO).await;
    let cases: [(SocketAddr, &str); 11] = [
        (closed, "connecting to"),
        (malformed, "line 2: label x: invalid escape"),
        (no_eof, "must end with # EOF"),
        (too_big, "larger than 1048576 bytes"),
        (slow, "did not answer within"),
        (status, "status 404"),
        (redirect, "status 302"),
        (binary, "unsupported content type"),
        (huge_chunk, "malformed response"),
        (big_chunk, "larger than 1048576 bytes"),
        (long_line, "line 1: unexpected"),
    ];
    for (addr, why) in cases {
        let mut upstream = settings(&format!("http://{addr}/metrics"));
        upstream.timeout = Duration::from_millis(500);
        let server = sidecar(upstream).await;
        let r = get(server.local_addr, "/metrics", &[]).await;
        assert_eq!(r.status, 502, "{why}: {}", r.text());
        assert!(r.text().contains(why), "expected {why:?} in {:?}", r.text());
        assert!(r.text().len() <= 4096 + 64, "the reason is cut to 4 KiB: {} bytes", r.text().len());
        // Not the renderer's fault: a plugin format keeps answering 502
        // (its circuit breaker, open after three faults, would say 503).
        for _ in 0..4 {
            let r = get(server.local_addr, "/metrics?format=openmetrics", &[]).await;
            assert_eq!(r.status, 502, "{why}: {}", r.text());
        }
        // The server itself is fine: its listing still answers.
        assert_eq!(get(server.local_addr, "/-/plugins", &[]).await.status, 200);
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_own_metrics_pass_through() {
    if common::tools::missing(&["prometheus", "promtool", "python:prometheus_client"]) {
        return;
    }
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 60s\nscrape_configs: []\n", &[]);
    prometheus.ready().await;
    let web = prometheus.web;
    let server = sidecar(settings(&format!("http://{web}/metrics"))).await;
    let text = get(server.local_addr, "/metrics", &[]).await.text();
    assert_promtool_clean(&text);
    let ours = prometheus_client_parse("text", &text);
    let family = |name: &str| ours.iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("{name} passes through"));
    assert_eq!(family("go_gc_duration_seconds")["type"], "summary");
    assert!(family("go_gc_duration_seconds")["samples"].as_array().unwrap().iter().any(|s| s[1]["quantile"] == "0.5"));
    assert_eq!(family("prometheus_http_request_duration_seconds")["type"], "histogram");
    // A value that does not move: the build information, label for label.
    // (Python's OpenMetrics parser refuses Prometheus' own OpenMetrics: it
    // has both `go_memstats_alloc_bytes` and a counter `..._bytes_total`.)
    let direct = prometheus_client_parse("text", &get(web, "/metrics", &[("accept", "text/plain;version=0.0.4")]).await.text());
    let build = |families: &[Value]| {
        families.iter().find(|f| f["name"] == "prometheus_build_info").map(|f| f["samples"][0].clone()).expect("prometheus_build_info")
    };
    assert_eq!(build(&ours)[1], build(&direct)[1]);
    // Every family of the upstream is here, with its type.
    for f in &direct {
        let name = f["name"].as_str().unwrap();
        // (Two families may read as one name: `x` gauge and `x_total` counter.)
        assert!(ours.iter().any(|o| o["name"] == name && o["type"] == f["type"]), "{name} ({}) passes through with its type", f["type"]);
    }
    server.stop().await.unwrap();
}

/// KumoMTA's metrics.json as the upstream (here our own server's): the
/// sidecar serves the same families, values and help text.
#[tokio::test(flavor = "multi_thread")]
async fn a_metrics_json_upstream_serves_the_same_text() {
    if common::tools::missing(&["python:prometheus_client"]) {
        return;
    }
    let (registry, _) = common::tricky_registry();
    let origin = common::start(registry, "127.0.0.1:0", &["127.0.0.1"]).await;
    let server = sidecar(settings(&format!("http://{}/metrics.json", origin.local_addr))).await;
    let ours = prometheus_client_parse("text", &get(server.local_addr, "/metrics", &[]).await.text());
    let theirs = prometheus_client_parse("text", &get(origin.local_addr, "/metrics", &[]).await.text());
    same(&samples(&ours, false), &samples(&theirs, false), 0.0);
    let help = |families: &[Value]| families.iter().find(|f| f["name"] == "tricky_values").unwrap()["documentation"].clone();
    assert_eq!(help(&ours), help(&theirs));
    server.stop().await.unwrap();
    origin.stop().await.unwrap();
}

/// Concurrent scrapes share one fetch; with a minimum interval, later
/// scrapes within it reuse the last fetch.
#[tokio::test(flavor = "multi_thread")]
async fn scrapes_share_fetches() {
    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let body = http_response("text/plain", "# TYPE a gauge\na 1\n");
    let addr = counted_upstream(body, Duration::from_millis(300), Arc::clone(&fetches)).await;
    let server = sidecar(settings(&format!("http://{addr}/"))).await;
    let scrapes: Vec<_> = (0..8).map(|_| tokio::spawn(get(server.local_addr, "/metrics", &[]))).collect();
    for scrape in scrapes {
        let r = scrape.await.unwrap();
        assert_eq!(r.status, 200);
        assert!(r.text().contains("\na 1\n"));
    }
    let concurrent = fetches.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&concurrent), "8 concurrent scrapes took {concurrent} fetches");
    server.stop().await.unwrap();

    let mut upstream = settings(&format!("http://{addr}/"));
    upstream.min_interval = Duration::from_secs(3600);
    let server = sidecar(upstream).await;
    let before = fetches.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(get(server.local_addr, "/metrics", &[]).await.status, 200);
    }
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst) - before, 1, "one fetch within the interval");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sidecar_pushes_what_its_upstream_serves() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    let upstream = canned_upstream(
        http_response("text/plain; version=0.0.4", "# TYPE upstream_only_total counter\nupstream_only_total{q=\"a\"} 42\n"),
        Duration::ZERO,
    )
    .await;
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 1h\n", &["--web.enable-remote-write-receiver"]);
    prometheus.ready().await;
    let push: metrics_host::push::PushArgs = toml::from_str(&format!(
        "url = \"http://{}/api/v1/write\"\ninterval_ms = 300\nexternal_labels = {{ instance = \"sidecar-1\" }}\n",
        prometheus.web
    ))
    .unwrap();
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        upstream: Some(settings(&format!("http://{upstream}/metrics"))),
        push: vec![push.check(0, |_| None).unwrap()],
        ..ServeConfig::default()
    };
    // No scrape: only the pushes fetch the upstream.
    let server = server::start(&config, Registry::new(), common::renderers().await).await.unwrap();
    prometheus.wait_for_values(&[("upstream_only_total{instance=\"sidecar-1\",q=\"a\"}", 42.0)]).await;
    server.stop().await.unwrap();
}
