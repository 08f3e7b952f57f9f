//! The library as an application uses it: an [`Exporter`] in process (with
//! the `metrics` facade as global recorder) and the `embedded` example run
//! as a program, checked by promtool and Python's prometheus_client.
mod common;

use common::embedded_example::EmbeddedExample;
use common::get;
use common::validators::{assert_promtool_clean, prometheus_client_parse};
use metrics_host::exporter::Exporter;
use metrics_host::facade::BucketRules;
use metrics_host::registry::Registry;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn an_exporter_serves_the_facade_and_the_native_api_until_shut_down() {
    let registry = Registry::new();
    registry.gauge("native_level", "set through the registry").unwrap().set(2.5);
    let exporter = Exporter::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .trusted_hosts(&["127.0.0.1"])
        .unwrap()
        .registry(registry)
        .install_recorder(BucketRules::default().with_default(&[1.0, 10.0]))
        .start()
        .await
        .unwrap();
    metrics::describe_counter!("facade_events_total", "counted through the facade");
    metrics::counter!("facade_events_total", "kind" => "a").increment(5);
    metrics::histogram!("facade.latency").record(3.0);
    metrics::describe_histogram!("facade.latency", "described after first use");
    // A second recorder cannot be installed: an error, not a panic.
    let second = Exporter::new().listen("127.0.0.1:0".parse().unwrap()).install_recorder(BucketRules::default()).start().await;
    assert!(second.err().unwrap().to_string().contains("already installed"));

    let addr = exporter.local_addr();
    let text = get(addr, "/metrics", &[]).await.text();
    assert_promtool_clean(&text);
    assert!(text.contains("native_level 2.5\n"), "{text}");
    assert!(text.contains("# HELP facade_events_total counted through the facade\n"), "{text}");
    assert!(text.contains("facade_events_total{kind=\"a\"} 5\n"), "{text}");
    assert!(text.contains("facade_latency_bucket{le=\"10\"} 1\n"), "{text}");
    assert!(text.contains("# HELP facade_latency described after first use\n"), "{text}");
    exporter.registry().counter("added_later", "registered after start").unwrap().inc();
    assert!(get(addr, "/metrics", &[]).await.text().contains("added_later 1\n"));
    exporter.shutdown().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "stopped listening");
}

#[test]
fn exporter_settings_come_from_the_servers_toml() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\ntrusted_hosts = [\"127.0.0.1\"]\nrender_timeout_ms = 5000\n").unwrap();
    assert!(Exporter::from_config_file(&path).is_ok());
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\ncolour = 1\n").unwrap();
    let error = Exporter::from_config_file(&path).err().unwrap();
    assert!(format!("{error:#}").contains("colour"), "{error:#}");
}

#[test]
fn the_embedded_example_serves_valid_metrics_and_stops_on_sigterm() {
    let example = EmbeddedExample::start();
    let addr = example.addr;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The example records once before it announces its address.
    let text = runtime.block_on(get(addr, "/metrics", &[])).text();
    assert_promtool_clean(&text);
    let families = prometheus_client_parse("text", &text);
    let names: Vec<&str> = families.iter().filter_map(|f| f["name"].as_str()).collect();
    for name in ["messages_delivered", "queue_depth", "smtp_delivery_seconds", "smtp_connections"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(text.contains("smtp_delivery_seconds_bucket{domain=\"gmail.com\",le=\"0.05\"}"), "bucket rule for smtp_: {text}");
    let status = example.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
}
