//! Coalesced scrapes against the real server: concurrent requests for the
//! same representation share one render (counted apart from renders), every
//! client gets the whole output, and a failure reaches every client.
mod common;

use common::validators::assert_promtool_clean;
use common::{component_bytes, get, install_plugin, start, start_with_plugins_and};
use metrics_host::config::ServeConfig;
use metrics_host::plugin::RenderLimits;
use metrics_host::registry::Registry;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

/// What the host's own metrics say, read from metrics.json (the built-in
/// JSON renderer, whatever plugins override).
struct Counts {
    json: Value,
}

impl Counts {
    async fn read(addr: SocketAddr) -> Self {
        let r = get(addr, "/metrics.json?name[]=metrics_host_renders_total&name[]=metrics_host_shared_requests_total&name[]=metrics_host_clients_cut_off_total", &[]).await;
        Counts { json: serde_json::from_slice(&r.body).unwrap() }
    }

    fn renders(&self, format: &str, outcome: &str) -> f64 {
        let series = self.json["metrics_host_renders_total"]["value"].as_array().cloned().unwrap_or_default();
        series.iter().find(|s| s["format"] == format && s["outcome"] == outcome).and_then(|s| s["@"].as_f64()).unwrap_or(0.0)
    }

    fn counter(&self, name: &str) -> f64 {
        self.json[name]["value"].as_f64().unwrap_or(0.0)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_scrapes_share_renders_and_each_gets_everything() {
    if common::tools::missing(&["promtool"]) {
        return;
    }
    let registry = Registry::new();
    let queues = registry.gauge_family("scheduled_count", "scheduled", &["queue"]).unwrap();
    const SERIES: usize = 100_000;
    for i in 0..SERIES {
        queues.with_label_values(&[&format!("campaign{}:tenant{}@q{i}.example.com", i % 7, i % 13)]).unwrap().set(i as f64);
    }
    let server = start(registry, "127.0.0.1:0", &["127.0.0.1"]).await;
    let addr = server.local_addr;
    const CLIENTS: usize = 12;
    let responses = futures_util::future::join_all((0..CLIENTS).map(|_| get(addr, "/metrics", &[]))).await;
    for r in &responses {
        assert_eq!(r.status, 200);
        assert!(!r.truncated, "complete body");
        let text = r.text();
        assert_eq!(text.lines().filter(|l| l.starts_with("scheduled_count{")).count(), SERIES, "every series");
        assert!(text.contains(&format!(
            "scheduled_count{{queue=\"campaign{}:tenant{}@q{}.example.com\"}} {}\n",
            99_999 % 7,
            99_999 % 13,
            99_999,
            99_999
        )));
    }
    assert_promtool_clean(&responses[0].text());
    let counts = Counts::read(addr).await;
    let renders = counts.renders("prometheus", "ok");
    let shared = counts.counter("metrics_host_shared_requests_total");
    assert_eq!(renders + shared, CLIENTS as f64, "every request was either rendered or shared: {:#}", counts.json);
    assert!(renders >= 1.0);
    assert_eq!(counts.counter("metrics_host_clients_cut_off_total"), 0.0);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_joining_a_render_share_its_failure() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "hostile.wasm", &component_bytes("test-plugins", "hostile.wasm"));
    // `spin` never writes: the render runs, joinable, until its deadline.
    let render_limits = RenderLimits { deadline: Duration::from_secs(3), ..RenderLimits::default() };
    // The hostile plugin would not pass its preflight: this is about runtime.
    let config = ServeConfig { render_limits, plugin_preflight: false, ..ServeConfig::default() };
    let (server, _renderers, _watcher) = start_with_plugins_and(config, Registry::new(), dir.path(), None).await;
    let addr = server.local_addr;
    const CLIENTS: usize = 6;
    let responses = futures_util::future::join_all((0..CLIENTS).map(|_| get(addr, "/metrics?format=spin", &[]))).await;
    for r in &responses {
        assert_eq!(r.status, 500);
        assert!(r.text().contains("timed out"), "{}", r.text());
    }
    let counts = Counts::read(addr).await;
    assert_eq!(counts.renders("spin", "timed_out"), 1.0, "{:#}", counts.json);
    assert_eq!(counts.counter("metrics_host_shared_requests_total"), (CLIENTS - 1) as f64, "{:#}", counts.json);
    server.stop().await.unwrap();
}
