//! The real server on a loopback port: endpoints, content types, prefixes,
//! errors, streaming and compression.
mod common;

use common::{get, is_self_metric, start};
use metrics_host::app::demo::{queue_name, Demo};
use metrics_host::registry::Registry;
use serde_json::Value;
use std::io::Read;

fn demo_registry(queues: u64) -> Registry {
    let registry = Registry::new();
    Demo::register(&registry, queues).unwrap().step();
    registry
}

/// A registry with no, one and two labels, and a histogram.
fn shapes_registry() -> Registry {
    let registry = Registry::new();
    registry.gauge("lua_count", "lua contexts").unwrap().set(3.0);
    let one = registry.gauge_family("ready_count", "ready", &["service"]).unwrap();
    one.with_label_values(&["smtp_client"]).unwrap().set(4.0);
    one.with_label_values(&["esmtp_listener"]).unwrap().set(0.0);
    let two = registry.counter_family("delivered", "delivered", &["queue", "service"]).unwrap();
    two.with_label_values(&["a.com", "smtp_client"]).unwrap().inc_by(5);
    two.with_label_values(&["b.com", "smtp_client"]).unwrap().inc_by(6);
    registry.gauge_family("nothing_yet", "no series", &["queue"]).unwrap();
    let h = registry.histogram("latency", "latency", &[0.005, 0.01]).unwrap();
    for v in [0.001, 0.007, 0.007, 1.0] {
        h.observe(v);
    }
    let hf = registry.histogram_family("latency_by", "latency by service", &["service"], &[1.0]).unwrap();
    hf.with_label_values(&["x"]).unwrap().observe(0.5);
    registry
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_serves_prometheus_text() {
    let server = start(demo_registry(5), "127.0.0.1:0", &["127.0.0.1"]).await;
    let r = get(server.local_addr, "/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores"));
    let text = r.text();
    assert!(text.ends_with('\n'));
    assert!(text.contains("# TYPE connection_count gauge\n"));
    assert!(text.contains(&format!("scheduled_count{{queue=\"{}\"}} ", queue_name(4))));
    assert!(text.contains("deliver_message_latency_bucket{service=\"smtp_client\",le=\"+Inf\"} "));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_json_has_kumomta_shape() {
    let server = start(shapes_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    let r = get(server.local_addr, "/metrics.json", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(doc["lua_count"]["value"], 3.0);
    assert_eq!(doc["lua_count"]["type"], "gauge");
    assert_eq!(doc["lua_count"]["help"], "lua contexts");
    assert_eq!(doc["ready_count"]["value"]["service"]["smtp_client"], 4.0);
    assert_eq!(doc["ready_count"]["value"]["service"]["esmtp_listener"], 0.0);
    let list = doc["delivered"]["value"].as_array().unwrap();
    assert_eq!(list[1], serde_json::json!({"queue": "b.com", "service": "smtp_client", "@": 6.0}));
    assert_eq!(doc["nothing_yet"]["value"], Value::Null);
    let h = &doc["latency"]["value"];
    assert_eq!(h["count"], 4);
    assert_eq!(h["sum"], 0.001 + 0.007 + 0.007 + 1.0);
    assert_eq!(h["avg"], (0.001 + 0.007 + 0.007 + 1.0) / 4.0);
    assert_eq!(h["bucket"], serde_json::json!([[0.005, 1.0], [0.01, 3.0]]));
    assert_eq!(doc["latency_by"]["value"]["service"]["x"]["bucket"], serde_json::json!([[1.0, 1.0]]));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn prefix_applies_to_every_family_in_both_formats() {
    let server = start(shapes_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    let text = get(server.local_addr, "/metrics?prefix=kumomta_", &[]).await.text();
    let mut lines = 0;
    for line in text.lines() {
        let name = line.strip_prefix("# HELP ").or_else(|| line.strip_prefix("# TYPE ")).unwrap_or(line);
        assert!(name.starts_with("kumomta_"), "unprefixed line: {line}");
        lines += 1;
    }
    assert!(text.contains("kumomta_delivered{queue=\"a.com\",service=\"smtp_client\"} 5\n"), "{text}");
    assert!(lines > 10);
    let doc: Value = serde_json::from_slice(&get(server.local_addr, "/metrics.json?prefix=kumomta_", &[]).await.body).unwrap();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys.iter().filter(|k| !is_self_metric(k.trim_start_matches("kumomta_"))).count(), 6);
    assert!(keys.iter().all(|k| k.starts_with("kumomta_")), "{keys:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_400_with_a_reason() {
    let server = start(shapes_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    for prefix in ["9x", "a-b", "%20", "%C3%A9", "a%7Bb", "a%0Ab"] {
        for path in ["/metrics", "/metrics.json"] {
            let r = get(server.local_addr, &format!("{path}?prefix={prefix}"), &[]).await;
            assert_eq!(r.status, 400, "{path}?prefix={prefix}");
            assert!(r.text().contains("invalid prefix"), "{}", r.text());
            assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        }
    }
    let r = get(server.local_addr, "/metrics?format=yaml", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("unknown format \"yaml\"") && r.text().contains("json, otlp, prometheus"), "{}", r.text());
    let r = get(server.local_addr, "/metrics?prefix=a&prefix=b", &[]).await;
    assert_eq!(r.status, 400, "a repeated prefix is ambiguous: {}", r.text());
    // The server is still fine afterwards.
    assert_eq!(get(server.local_addr, "/metrics?format=json", &[]).await.status, 200);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_on_ipv6_loopback() {
    let server = start(shapes_registry(), "[::1]:0", &["::1"]).await;
    let r = get(server.local_addr, "/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("lua_count 3\n"));
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn large_output_streams_complete_and_compresses() {
    let queues = 30_000;
    let server = start(demo_registry(queues), "127.0.0.1:0", &["127.0.0.1"]).await;
    let plain = get(server.local_addr, "/metrics", &[]).await;
    assert_eq!(plain.header("transfer-encoding"), Some("chunked"), "the body is streamed");
    assert!(!plain.truncated);
    let text = plain.text();
    assert_eq!(text.lines().filter(|l| l.starts_with("scheduled_count{")).count(), queues as usize);
    assert!(text.ends_with('\n'));

    let gzip = get(server.local_addr, "/metrics", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert!(!gzip.truncated);
    let mut inflated = String::new();
    flate2::read::GzDecoder::new(gzip.body.as_slice()).read_to_string(&mut inflated).unwrap();
    assert!(gzip.body.len() * 3 < inflated.len(), "gzip shrinks the text");
    // Only the host's own render metrics change between the two scrapes.
    let data = |t: &str| -> Vec<String> {
        t.lines().filter(|l| !is_self_metric(l.trim_start_matches("# HELP ").trim_start_matches("# TYPE "))).map(String::from).collect()
    };
    let (a, b) = (data(&inflated), data(&text));
    assert!(a == b, "gzip and plain scrapes differ ({} vs {} lines)", a.len(), b.len());

    let json = get(server.local_addr, "/metrics.json", &[]).await;
    let doc: Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(doc["scheduled_count"]["value"]["queue"].as_object().unwrap().len(), queues as usize);
    server.stop().await.unwrap();
}
