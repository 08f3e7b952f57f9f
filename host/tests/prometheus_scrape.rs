//! End to end with a real Prometheus server (Debian's `prometheus` package):
//! it scrapes us on loopback every second with its default content
//! negotiation, and its query API must return our values.
mod common;

use common::embedded_example::EmbeddedExample;
use common::prometheus_server::{value_of, PrometheusServer};
use common::{component_bytes, get};
use metrics_host::config::ServeConfig;
use metrics_host::http::negotiate::NegotiableFormats;
use metrics_host::plugin::catalog::Renderers;
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::RendererEngine;
use metrics_host::registry::{NativeHistogramOptions, Registry};
use metrics_host::server::{self, RunningServer};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The label value Prometheus must store exactly as we sent it.
const TRICKY_LABEL: &str = "q\"uote\\back\nslash ünï ✓";

fn registry() -> Registry {
    let registry = Registry::new();
    registry.gauge("lua_count", "lua contexts").unwrap().set(3.0);
    registry.counter("total_messages_delivered", "delivered").unwrap().inc_by(9);
    let connections = registry.gauge_family("connection_count", "connections", &["service"]).unwrap();
    connections.with_label_values(&["smtp_client"]).unwrap().set(42.0);
    let queues = registry.gauge_family("scheduled_count", "scheduled", &["queue", "service"]).unwrap();
    queues.with_label_values(&[TRICKY_LABEL, "smtp_client"]).unwrap().set(5.0);
    let latency = registry.histogram("deliver_message_latency", "latency", &[0.1, 1.0]).unwrap();
    latency.observe(0.5);
    latency.observe(2.0);
    // A Prometheus 3 name: 2.42 reads it escaped with underscores.
    let replies = registry.gauge_family("smtp.replies", "replies by code", &["smtp.code"]).unwrap();
    replies.with_label_values(&["250"]).unwrap().set(11.0);
    registry
}

async fn start_server(with_openmetrics: bool) -> RunningServer {
    let engine = RendererEngine::new().unwrap();
    let mut set = RendererSet::builtin(&engine).await.unwrap();
    if with_openmetrics {
        set = set.with_plugin(Arc::new(engine.load("openmetrics", &component_bytes("plugins", "openmetrics.wasm")).await.unwrap()));
    }
    // OpenMetrics is negotiated only when the operator lists it.
    let negotiate = if with_openmetrics {
        NegotiableFormats::new(&["openmetrics".into(), "prometheus".into()]).unwrap()
    } else {
        NegotiableFormats::default()
    };
    let config = ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), negotiate, ..ServeConfig::default() };
    server::start(&config, registry(), Arc::new(Renderers::fixed(engine, set))).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_us_and_stores_our_values() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    let text_server = start_server(false).await;
    let om_server = start_server(true).await;
    // The `embedded` example: an application embedding the exporter.
    let example = EmbeddedExample::start();
    let embedded = example.addr;
    let prometheus = PrometheusServer::start(
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: text\n    static_configs: [{{targets: ['{text}']}}]\n\
             \x20 - job_name: prefixed\n    params: {{prefix: ['kumomta_']}}\n    static_configs: [{{targets: ['{text}']}}]\n\
             \x20 - job_name: openmetrics\n    static_configs: [{{targets: ['{om}']}}]\n\
             \x20 - job_name: embedded\n    static_configs: [{{targets: ['{embedded}']}}]\n",
            text = text_server.local_addr,
            om = om_server.local_addr,
        ),
        &[],
    );
    let checks: [(&str, f64); 8] = [
        ("smtp_replies{job=\"text\",smtp_code=\"250\"}", 11.0),
        ("smtp_replies{job=\"openmetrics\",smtp_code=\"250\"}", 11.0),
        ("lua_count{job=\"text\"}", 3.0),
        ("kumomta_lua_count{job=\"prefixed\"}", 3.0),
        ("connection_count{job=\"text\",service=\"smtp_client\"}", 42.0),
        // 0.0.4 text: the counter keeps its name; OpenMetrics: samples end in _total.
        ("total_messages_delivered{job=\"text\"}", 9.0),
        ("total_messages_delivered_total{job=\"openmetrics\"}", 9.0),
        ("deliver_message_latency_count{job=\"openmetrics\"}", 2.0),
    ];
    prometheus.wait_for_values(&checks).await;

    // Bucket counts, and a label value with quotes, backslashes, a newline and non-ASCII.
    let le = prometheus.query("deliver_message_latency_bucket{job=\"text\"}").await;
    let mut buckets: Vec<(String, f64)> =
        le.iter().map(|s| (s["metric"]["le"].as_str().unwrap().to_string(), s["value"][1].as_str().unwrap().parse().unwrap())).collect();
    buckets.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(buckets, vec![("+Inf".into(), 2.0), ("0.1".into(), 0.0), ("1".into(), 1.0)]);
    let scheduled = prometheus.query("scheduled_count{job=\"text\"}").await;
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0]["metric"]["queue"], TRICKY_LABEL);
    // The embedded example's facade and native families, stored by Prometheus.
    for expr in [
        "messages_delivered_total{job=\"embedded\",domain=\"gmail.com\"}",
        "queue_depth{job=\"embedded\",domain=\"example.com\"}",
        "smtp_delivery_seconds_count{job=\"embedded\",domain=\"outlook.com\"}",
        "smtp_connections{job=\"embedded\",listener=\"inbound\"}",
    ] {
        let started = Instant::now();
        while prometheus.query(expr).await.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(30), "Prometheus never stored {expr}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let up = prometheus.query("up").await;
    assert_eq!(up.len(), 4);
    assert!(up.iter().all(|s| s["value"][1] == "1"), "every target up: {up:?}");

    text_server.stop().await.unwrap();
    om_server.stop().await.unwrap();
}

/// Observations of the native histogram: 1000 values spread
/// exponentially from 1 ms to about 20 s, in a scrambled order.
fn delivery_observations() -> Vec<f64> {
    (0..1000u64).map(|i| 0.001 * 1.01f64.powi(((i * 617) % 1000) as i32)).collect()
}

/// A Prometheus 2.42 with native histograms scrapes the default server
/// (negotiation `protobuf,prometheus`) through protobuf: it stores our
/// native histograms (quantiles within the bucket resolution, counts and
/// sums exact), and the classic histogram, counter, gauge and summary
/// series as their values.
#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_native_histograms_through_protobuf() {
    if common::tools::missing(&["prometheus"]) {
        return;
    }
    let registry = Registry::new();
    let options = NativeHistogramOptions::default();
    let delivery = registry
        .native_histogram_family("delivery_seconds", "delivery latency", &["service"], &[0.1, 1.0], options)
        .unwrap()
        .with_label_values(&["smtp"])
        .unwrap();
    let observations = delivery_observations();
    for &v in &observations {
        delivery.observe(v);
    }
    let balance = registry.native_histogram("balance_change", "changes, both signs", &[], options).unwrap();
    for v in [-5.0, -0.5, 0.0, 0.25, 8.0] {
        balance.observe(v);
    }
    let classic = registry.histogram("classic_seconds", "classic only", &[0.1, 1.0]).unwrap();
    classic.observe(0.5);
    classic.observe(2.0);
    registry.counter("messages_total", "delivered").unwrap().inc_by(7);
    let queues = registry.gauge_family("queue_depth", "depth", &["queue"]).unwrap();
    queues.with_label_values(&[TRICKY_LABEL]).unwrap().set(5.0);
    let rpc = registry.summary("rpc_seconds", "rpc latency", &[0.5, 0.99]).unwrap();
    rpc.set(&[0.25, 1.5], 30.0, 60);
    // Large enough to be written as several MetricFamily messages.
    let big = registry.gauge_family("big_family", "many series", &["queue"]).unwrap();
    for i in 0..20_000 {
        big.with_label_values(&[&format!("campaign{}:tenant{}@q{i}.example.com", i % 7, i % 13)]).unwrap().set(i as f64);
    }

    let config = ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), ..ServeConfig::default() };
    let server = server::start(&config, registry, common::renderers().await).await.unwrap();
    let prometheus = PrometheusServer::start(
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n\
             \x20 - job_name: native\n    static_configs: [{{targets: ['{}']}}]\n",
            server.local_addr
        ),
        &["--enable-feature=native-histograms"],
    );
    let sum: f64 = observations.iter().fold(0.0, |s, v| s + v);
    let checks: Vec<(&str, f64)> = vec![
        ("histogram_count(delivery_seconds{service=\"smtp\"})", 1000.0),
        ("histogram_sum(delivery_seconds{service=\"smtp\"})", sum),
        ("histogram_count(balance_change)", 5.0),
        ("histogram_sum(balance_change)", 2.75),
        // Prometheus spells the bounds it reads from protobuf like OpenMetrics does.
        ("classic_seconds_bucket{le=\"1.0\"}", 1.0),
        ("classic_seconds_bucket{le=\"+Inf\"}", 2.0),
        ("classic_seconds_count", 2.0),
        ("messages_total", 7.0),
        ("rpc_seconds{quantile=\"0.99\"}", 1.5),
        ("rpc_seconds_count", 60.0),
        ("rpc_seconds_sum", 30.0),
        ("count(big_family)", 20_000.0),
        ("sum(big_family)", (0..20_000).map(f64::from).sum()),
        ("big_family{queue=\"campaign0:tenant5@q19999.example.com\"}", 19_999.0),
    ];
    prometheus.wait_for_values(&checks).await;

    // Only a protobuf scrape carries native histograms: Prometheus asked for it.
    let renders = get(server.local_addr, "/metrics?name[]=metrics_host_renders_total", &[]).await.text();
    assert!(renders.contains("format=\"protobuf\""), "{renders}");

    // The quantile lies in the bucket of the true one: within one bucket width.
    let mut sorted = observations.clone();
    sorted.sort_by(f64::total_cmp);
    let base = 2f64.powf(2f64.powi(-options.schema));
    for q in [0.5, 0.9, 0.99] {
        let truth = sorted[((q * sorted.len() as f64).ceil() as usize) - 1];
        let estimate = value_of(&prometheus.query(&format!("histogram_quantile({q}, delivery_seconds)")).await).expect("a quantile");
        assert!(estimate / truth <= base && truth / estimate <= base, "q {q}: estimate {estimate}, true {truth}, bucket factor {base}");
    }
    let queue = prometheus.query("queue_depth").await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["metric"]["queue"], TRICKY_LABEL);
    server.stop().await.unwrap();
}
