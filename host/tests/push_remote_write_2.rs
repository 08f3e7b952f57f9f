//! Remote write 2.0: against a receiver written for the tests from the
//! specification's messages (`tests/remote_write_2_receiver.py`, which
//! checks the specification's rules on every request), every series
//! arrives with its value, metadata and creation time; a receiver that
//! answers 415, and Debian's Prometheus 2.42 (which speaks only 1.0 and
//! answers 2.0 with a 204 that says nothing was written), make the
//! endpoint fall back to 1.0, say so in `/-/push`, and deliver with 1.0.
mod common;

use common::prometheus_server::PrometheusServer;
use common::python_receiver::PythonReceiver;
use common::{get, renderers};
use metrics_host::config::ServeConfig;
use metrics_host::push::PushArgs;
use metrics_host::registry::{NativeHistogramOptions, Registry};
use metrics_host::server::{self, RunningServer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const CREATED_MS: i64 = 1_700_000_000_123;

fn registry() -> Registry {
    let registry = Registry::new();
    let sent = registry.counter_family("rw2_sent_total", "messages sent", &["domain"]).unwrap();
    sent.with_label_values(&["a.example"]).unwrap().inc_by(7);
    sent.with_label_values(&["b.example"]).unwrap().inc_by(2);
    sent.set_created(&["a.example"], Some(CREATED_MS)).unwrap();
    registry.gauge("rw2_queue_depth", "messages waiting").unwrap().set(3.5);
    let latency = registry.histogram("rw2_latency_seconds", "delivery time", &[1.0, 5.0]).unwrap();
    for value in [0.5, 3.0, 10.0] {
        latency.observe(value);
    }
    let balance = registry.native_histogram("rw2_balance", "changes", &[], NativeHistogramOptions::default()).unwrap();
    for value in [0.3, 1.5, -2.5, 0.0] {
        balance.observe(value);
    }
    registry.summary_family("rw2_size_bytes", "message size", &[], &[0.5]).unwrap().with_label_values(&[]).unwrap().set(
        &[100.0],
        1234.0,
        4,
    );
    registry
}

async fn start(url: &str) -> RunningServer {
    let table: PushArgs = toml::from_str(&format!(
        "url = \"{url}\"\nprotocol = \"remote-write-2\"\ninterval_ms = 200\nmax_samples_per_request = 5\n\
         external_labels = {{ instance = \"pushed-1\", job = \"push-test\" }}\n\
         families = [\"rw2_sent_total\", \"rw2_queue_depth\", \"rw2_latency_seconds\", \"rw2_balance\", \"rw2_size_bytes\"]\n"
    ))
    .unwrap();
    let config =
        ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), push: vec![table.check(0, |_| None).unwrap()], ..ServeConfig::default() };
    server::start(&config, registry(), renderers().await).await.unwrap()
}

/// Polls `/-/push` until `done` holds (at most 20 s).
async fn wait_for_status(server: &RunningServer, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let status: Value = serde_json::from_slice(&get(server.local_addr, "/-/push", &[]).await.body).unwrap();
        if done(&status[0]) {
            return status[0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never reached: {status:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    labels.insert("instance".into(), "pushed-1".into());
    labels.insert("job".into(), "push-test".into());
    labels
}

#[tokio::test(flavor = "multi_thread")]
async fn every_series_arrives_in_2_0_with_its_metadata_and_creation_time() {
    if common::tools::missing(&["python:cramjam", "python:google.protobuf"]) {
        return;
    }
    let receiver = PythonReceiver::start("remote_write_2_receiver.py", &["speaks-2.0"]);
    let server = start(&format!("http://{}/api/v1/write", receiver.addr)).await;
    let status = wait_for_status(&server, |s| s["renders"].as_u64() >= Some(2) && s["requests_sent"].as_u64() >= Some(4)).await;
    assert!(status["fallback"].is_null() && status["last_error"].is_null(), "{status:#}");
    let received = receiver.received().await;
    assert_eq!(received["errors"], serde_json::json!([]), "the receiver's rules: {received:#}");
    assert_eq!(received["v1_requests"], 0);

    // The first push: the series with the earliest timestamp.
    let requests = received["requests"].as_array().unwrap();
    let first = requests.iter().flat_map(|r| r.as_array().unwrap()).map(|s| s["timestamp"].as_i64().unwrap()).min().unwrap();
    let mut series: BTreeMap<BTreeMap<String, String>, Value> = BTreeMap::new();
    for request in requests {
        let request = request.as_array().unwrap();
        let samples = request.iter().filter(|s| s.get("value").is_some()).count();
        assert!(samples <= 5, "max_samples_per_request = 5 (a classic histogram's 5 samples stay together): {request:#?}");
        for s in request.iter().filter(|s| s["timestamp"] == first) {
            let labels: BTreeMap<String, String> = serde_json::from_value(s["labels"].clone()).unwrap();
            assert!(series.insert(labels, s.clone()).is_none(), "a series twice in one push: {s}");
        }
    }
    assert_eq!(series.len(), 2 + 1 + 5 + 1 + 3, "only the families asked for: {:#?}", series.keys());
    let value = |pairs: &[(&str, &str)]| -> f64 {
        let s = series.get(&labels(pairs)).unwrap_or_else(|| panic!("no series {pairs:?} in {:#?}", series.keys()));
        s["value"].as_str().unwrap().parse().unwrap()
    };
    let meta = |pairs: &[(&str, &str)]| {
        let s = &series[&labels(pairs)];
        (s["type"].as_str().unwrap().to_string(), s["help"].as_str().unwrap().to_string(), s["created_timestamp"].as_i64().unwrap())
    };
    assert_eq!(value(&[("__name__", "rw2_sent_total"), ("domain", "a.example")]), 7.0);
    assert_eq!(value(&[("__name__", "rw2_sent_total"), ("domain", "b.example")]), 2.0);
    assert_eq!(meta(&[("__name__", "rw2_sent_total"), ("domain", "a.example")]), ("counter".into(), "messages sent".into(), CREATED_MS));
    let (_, _, created_b) = meta(&[("__name__", "rw2_sent_total"), ("domain", "b.example")]);
    assert!(created_b > CREATED_MS && created_b <= first, "b.example's creation time {created_b}");
    assert_eq!(value(&[("__name__", "rw2_queue_depth")]), 3.5);
    assert_eq!(meta(&[("__name__", "rw2_queue_depth")]), ("gauge".into(), "messages waiting".into(), 0));
    for (le, count) in [("1", 1.0), ("5", 2.0), ("+Inf", 3.0)] {
        assert_eq!(value(&[("__name__", "rw2_latency_seconds_bucket"), ("le", le)]), count);
    }
    assert_eq!(value(&[("__name__", "rw2_latency_seconds_sum")]), 13.5);
    assert_eq!(value(&[("__name__", "rw2_latency_seconds_count")]), 3.0);
    assert_eq!(meta(&[("__name__", "rw2_latency_seconds_count")]).0, "histogram");
    assert_eq!(value(&[("__name__", "rw2_size_bytes"), ("quantile", "0.5")]), 100.0);
    assert_eq!(meta(&[("__name__", "rw2_size_bytes_sum")]).0, "summary");
    let native = &series[&labels(&[("__name__", "rw2_balance")])]["histogram"];
    assert_eq!((native["count"].as_u64(), native["schema"].as_i64()), (Some(4), Some(NativeHistogramOptions::default().schema as i64)));
    assert_eq!(native["sum"].as_str().unwrap().parse::<f64>().unwrap(), 0.3 + 1.5 - 2.5 + 0.0);
    assert_eq!(native["zero_count"], 1);

    // The samples counted as sent are the series the receiver decoded
    // (read between pushes: the same requests on both sides).
    let started = Instant::now();
    loop {
        let before = wait_for_status(&server, |_| true).await;
        let received = receiver.received().await;
        let after = wait_for_status(&server, |_| true).await;
        let requests = received["requests"].as_array().unwrap();
        if before["requests_sent"] == after["requests_sent"] && after["requests_sent"].as_u64() == Some(requests.len() as u64) {
            let decoded: usize = requests.iter().map(|r| r.as_array().unwrap().len()).sum();
            assert_eq!(after["samples_sent"].as_u64(), Some(decoded as u64), "{after:#}");
            let metrics = get(server.local_addr, "/metrics", &[]).await.text();
            assert!(metrics.contains("metrics_host_push_responses_total{endpoint=\""), "{metrics}");
            assert!(metrics.lines().any(|l| l.starts_with("metrics_host_push_samples_total{") && !l.ends_with(" 0")), "{metrics}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never between two pushes");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_415_makes_the_endpoint_fall_back_to_1_0_and_deliver() {
    if common::tools::missing(&["python:cramjam", "python:google.protobuf"]) {
        return;
    }
    let receiver = PythonReceiver::start("remote_write_2_receiver.py", &["refuses-2.0"]);
    let server = start(&format!("http://{}/api/v1/write", receiver.addr)).await;
    let status = wait_for_status(&server, |s| s["requests_sent"].as_u64() >= Some(2)).await;
    assert!(status["fallback"].as_str().is_some_and(|why| why.contains("415")), "{status:#}");
    assert_eq!(status["protocol"], "remote-write-2", "the configured protocol stays shown: {status:#}");
    assert_eq!(status["requests_dropped"], 0, "{status:#}");
    let received = receiver.received().await;
    assert!(received["v1_requests"].as_u64() >= Some(2), "{received:#}");
    assert_eq!(received["requests"], serde_json::json!([]), "nothing decoded as 2.0: {received:#}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_2_42_which_speaks_only_1_0_gets_1_0_after_the_fallback() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    let prometheus = PrometheusServer::start("global:\n  scrape_interval: 1h\n", &["--web.enable-remote-write-receiver"]);
    prometheus.ready().await;
    let server = start(&format!("http://{}/api/v1/write", prometheus.web)).await;
    let status = wait_for_status(&server, |s| s["fallback"].is_string()).await;
    assert!(status["fallback"].as_str().unwrap().contains("without X-Prometheus-Remote-Write-*-Written"), "{status:#}");
    prometheus
        .wait_for_values(&[
            ("rw2_sent_total{domain=\"a.example\",instance=\"pushed-1\",job=\"push-test\"}", 7.0),
            ("rw2_latency_seconds_count{instance=\"pushed-1\",job=\"push-test\"}", 3.0),
        ])
        .await;
    server.stop().await.unwrap();
}
