//! OTLP push against a receiver built on the OpenTelemetry project's own
//! generated classes (PyPI's `opentelemetry-proto`, `tests/otlp_receiver.py`):
//! every data point, start time, exponential histogram bucket and resource
//! attribute the receiver decodes equals what the registry holds.
mod common;

use common::python_receiver::PythonReceiver;
use common::{get, renderers};
use metrics_host::config::ServeConfig;
use metrics_host::push::PushArgs;
use metrics_host::registry::{NativeHistogramOptions, Registry};
use metrics_host::server;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A creation time set by hand on one counter series.
const CREATED_MS: i64 = 1_700_000_000_123;
/// Classic histogram observations (bounds 1 and 5).
const LATENCY: [f64; 4] = [0.5, 3.0, 10.0, 0.7];
/// Native histogram observations: both signs, a zero, spread over buckets
/// with gaps between them, none on a bucket boundary.
const BALANCE: [f64; 7] = [0.3, 1.5, 1.6, 40.0, -2.5, -0.07, 0.0];

fn registry() -> Registry {
    let registry = Registry::new();
    let sent = registry.counter_family("otlp_sent_total", "messages sent", &["domain"]).unwrap();
    sent.with_label_values(&["a.example"]).unwrap().inc_by(7);
    sent.with_label_values(&["b.example"]).unwrap().inc_by(2);
    sent.set_created(&["a.example"], Some(CREATED_MS)).unwrap();
    let depth = registry.gauge_family("otlp_queue_depth", "messages waiting", &["queue", "tier"]).unwrap();
    depth.with_label_values(&["main", ""]).unwrap().set(3.5);
    let latency = registry.histogram("otlp_latency_seconds", "delivery time", &[1.0, 5.0]).unwrap();
    for value in LATENCY {
        latency.observe(value);
    }
    let balance = registry.native_histogram("otlp_balance", "changes, both signs", &[], NativeHistogramOptions::default()).unwrap();
    for value in BALANCE {
        balance.observe(value);
    }
    let size = registry.summary_family("otlp_size_bytes", "message size", &[], &[0.5, 0.9]).unwrap();
    size.with_label_values(&[]).unwrap().set(&[100.0, 900.0], 1234.0, 4);
    registry
}

/// A 64-bit field in protobuf's JSON mapping (a string; absent when 0).
fn u64_of(value: &Value) -> u64 {
    match value {
        Value::Null => 0,
        Value::String(text) => text.parse().unwrap_or_else(|_| panic!("{text:?} is not a u64")),
        Value::Number(n) => n.as_u64().unwrap(),
        other => panic!("{other} is not a 64-bit integer"),
    }
}

fn f64_of(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

/// `attributes` as a map of string values.
fn attributes(point: &Value) -> BTreeMap<String, String> {
    point["attributes"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"]["string_value"].as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// OTLP's bucket index of `value` at `scale`: bucket i covers
/// (base^i, base^(i+1)] with base = 2^(2^-scale), computed here from the
/// definition, independently of the host's mapping.
fn otlp_index(value: f64, scale: i32) -> i64 {
    (value.abs().log2() * 2f64.powi(scale)).ceil() as i64 - 1
}

/// Dense `Buckets` as (index, count) pairs with non-zero counts.
fn buckets(buckets: &Value) -> BTreeMap<i64, u64> {
    let offset = buckets["offset"].as_i64().unwrap_or(0);
    let counts = buckets["bucket_counts"].as_array().cloned().unwrap_or_default();
    counts.iter().enumerate().map(|(k, c)| (offset + k as i64, u64_of(c))).filter(|(_, c)| *c > 0).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_data_point_reaches_an_otlp_receiver_as_the_registry_holds_it() {
    if common::tools::missing(&["python:opentelemetry.proto"]) {
        return;
    }
    let receiver = PythonReceiver::start("otlp_receiver.py", &[]);
    // A URL without a path: OTLP/HTTP's `/v1/metrics` is added.
    let table: PushArgs = toml::from_str(&format!(
        "url = \"http://{}\"\nprotocol = \"otlp\"\ninterval_ms = 200\nmax_samples_per_request = 3\n\
         external_labels = {{ \"service.name\" = \"fleet-a\", \"host.name\" = \"h1\" }}\n",
        receiver.addr
    ))
    .unwrap();
    let before_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let config =
        ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), push: vec![table.check(0, |_| None).unwrap()], ..ServeConfig::default() };
    let server = server::start(&config, registry(), renderers().await).await.unwrap();

    // One push is every request of one render: wait for two renders' worth.
    let started = Instant::now();
    let requests = loop {
        let status: Value = serde_json::from_slice(&get(server.local_addr, "/-/push", &[]).await.body).unwrap();
        let received = receiver.received().await.as_array().unwrap().clone();
        if status[0]["renders"].as_u64().unwrap_or(0) >= 2 && received.len() >= 2 {
            assert_eq!(status[0]["protocol"], "otlp", "{status:#}");
            assert!(status[0]["last_error"].is_null(), "{status:#}");
            break received;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no pushes: {status:#} {received:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The first push's points: those with the earliest time (a push's
    // points all carry its snapshot's time).
    let mut points: BTreeMap<String, Vec<(Value, Value)>> = BTreeMap::new();
    let first_time = requests
        .iter()
        .flat_map(|r| r["resource_metrics"][0]["scope_metrics"][0]["metrics"].as_array().unwrap().iter())
        .flat_map(|m| ["sum", "gauge", "histogram", "exponential_histogram", "summary"].map(|kind| m[kind]["data_points"].clone()))
        .flat_map(|p| p.as_array().cloned().unwrap_or_default())
        .map(|p| u64_of(&p["time_unix_nano"]))
        .min()
        .unwrap();
    assert!(first_time >= before_ms * 1_000_000, "time {first_time} before the server started");
    for request in &requests {
        let resource_metrics = request["resource_metrics"].as_array().unwrap();
        assert_eq!(resource_metrics.len(), 1, "{request:#}");
        let resource = attributes(&resource_metrics[0]["resource"]);
        assert_eq!(resource, BTreeMap::from([("service.name".into(), "fleet-a".into()), ("host.name".into(), "h1".into())]));
        let scope = &resource_metrics[0]["scope_metrics"][0];
        assert_eq!(scope["scope"]["name"], "metrics-host");
        let mut in_request = 0;
        for metric in scope["metrics"].as_array().unwrap() {
            let data = ["sum", "gauge", "histogram", "exponential_histogram", "summary"]
                .iter()
                .find_map(|kind| metric.get(*kind))
                .unwrap_or_else(|| panic!("no data in {metric:#}"));
            assert!(metric["description"].is_string(), "{metric:#}");
            for point in data["data_points"].as_array().unwrap() {
                in_request += 1;
                let time = u64_of(&point["time_unix_nano"]);
                if time == first_time {
                    points.entry(metric["name"].as_str().unwrap().to_string()).or_default().push((data.clone(), point.clone()));
                }
            }
        }
        assert!(in_request <= 3, "max_samples_per_request = 3, got {in_request}: {request:#}");
    }
    // The host's own metrics ride along; these are the test's.
    points.retain(|name, _| !name.starts_with("metrics_host_"));
    assert_eq!(
        points.keys().cloned().collect::<Vec<_>>(),
        ["otlp_balance", "otlp_latency_seconds", "otlp_queue_depth", "otlp_sent_total", "otlp_size_bytes"]
    );

    // Counters: monotonic cumulative sums with their creation time.
    let sent = &points["otlp_sent_total"];
    assert_eq!(sent.len(), 2);
    for (data, point) in sent {
        assert_eq!(
            (data["is_monotonic"].as_bool(), data["aggregation_temporality"].as_str()),
            (Some(true), Some("AGGREGATION_TEMPORALITY_CUMULATIVE"))
        );
        let start = u64_of(&point["start_time_unix_nano"]);
        match attributes(point)["domain"].as_str() {
            "a.example" => assert_eq!((f64_of(&point["as_double"]), start), (7.0, CREATED_MS as u64 * 1_000_000)),
            "b.example" => {
                assert_eq!(f64_of(&point["as_double"]), 2.0);
                assert!(start >= before_ms * 1_000_000 && start <= first_time, "start {start}");
            }
            other => panic!("unexpected domain {other}"),
        }
    }

    // Gauges: the empty label value is absent, as Prometheus reads it.
    let (_, depth) = &points["otlp_queue_depth"][0];
    assert_eq!(attributes(depth), BTreeMap::from([("queue".into(), "main".into())]));
    assert_eq!(f64_of(&depth["as_double"]), 3.5);

    // Classic histograms: per-bucket counts, the last one above 5.
    let (data, latency) = &points["otlp_latency_seconds"][0];
    assert_eq!(data["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
    assert_eq!(latency["explicit_bounds"], serde_json::json!([1.0, 5.0]));
    assert_eq!(latency["bucket_counts"].as_array().unwrap().iter().map(u64_of).collect::<Vec<_>>(), [2, 1, 1]);
    assert_eq!((u64_of(&latency["count"]), f64_of(&latency["sum"])), (4, LATENCY.iter().sum::<f64>()));

    // Native histograms: exponential, buckets from the definition.
    let (data, balance) = &points["otlp_balance"][0];
    assert_eq!(data["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE");
    let scale = balance["scale"].as_i64().unwrap_or(0) as i32;
    assert_eq!(scale, NativeHistogramOptions::default().schema);
    assert_eq!(f64_of(&balance["zero_threshold"]), NativeHistogramOptions::default().zero_threshold);
    let (mut positive, mut negative, mut zero) = (BTreeMap::new(), BTreeMap::new(), 0);
    for value in BALANCE {
        match value {
            v if v.abs() <= NativeHistogramOptions::default().zero_threshold => zero += 1,
            v if v > 0.0 => *positive.entry(otlp_index(v, scale)).or_insert(0u64) += 1,
            v => *negative.entry(otlp_index(v, scale)).or_insert(0u64) += 1,
        }
    }
    assert_eq!(buckets(&balance["positive"]), positive);
    assert_eq!(buckets(&balance["negative"]), negative);
    assert_eq!(u64_of(&balance["zero_count"]), zero);
    assert_eq!(u64_of(&balance["count"]), BALANCE.len() as u64);
    assert!((f64_of(&balance["sum"]) - BALANCE.iter().sum::<f64>()).abs() < 1e-9);

    // Summaries: count, sum and quantiles.
    let (_, size) = &points["otlp_size_bytes"][0];
    assert_eq!((u64_of(&size["count"]), f64_of(&size["sum"])), (4, 1234.0));
    assert_eq!(size["quantile_values"], serde_json::json!([{"quantile": 0.5, "value": 100.0}, {"quantile": 0.9, "value": 900.0}]));

    // The samples counted as sent are the data points the receiver decoded
    // (read between pushes: the same requests on both sides).
    let status = || async { serde_json::from_slice::<Value>(&get(server.local_addr, "/-/push", &[]).await.body).unwrap()[0].clone() };
    let started = Instant::now();
    loop {
        let (before, received, after) = (status().await, receiver.received().await, status().await);
        let received = received.as_array().unwrap();
        if before["requests_sent"] == after["requests_sent"] && after["requests_sent"].as_u64() == Some(received.len() as u64) {
            let points: usize = received
                .iter()
                .flat_map(|r| r["resource_metrics"].as_array().unwrap())
                .flat_map(|r| r["scope_metrics"].as_array().unwrap())
                .flat_map(|s| s["metrics"].as_array().unwrap())
                .map(|m| {
                    let data = ["gauge", "sum", "histogram", "exponential_histogram", "summary"].iter().find_map(|k| m.get(*k)).unwrap();
                    data["data_points"].as_array().unwrap().len()
                })
                .sum();
            assert_eq!(after["samples_sent"].as_u64(), Some(points as u64), "{after:#}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never between two pushes");
    }
    server.stop().await.unwrap();
}
