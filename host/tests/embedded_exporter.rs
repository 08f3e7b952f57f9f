//! The library as an application uses it: an [`Exporter`] in process (with
//! the `metrics` facade as global recorder) and the `embedded` example run
//! as a program, checked by promtool and Python's prometheus_client.
mod common;

use common::embedded_example::EmbeddedExample;
use common::get;
use common::validators::{assert_promtool_clean, assert_promtool_lint_free, prometheus_client_parse};
use metrics_host::exporter::Exporter;
use metrics_host::facade::BucketRules;
use metrics_host::registry::Registry;
use metrics_host::self_metrics::SelfMetricsConfig;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn an_exporter_serves_the_facade_and_the_native_api_until_shut_down() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
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
    // A facade key of another kind than its family: refused, counted.
    metrics::gauge!("facade_events_total", "kind" => "a").set(1.0);
    let text = get(addr, "/metrics", &[]).await.text();
    // The application's names are lint-free, and so are the exporter's own.
    assert_promtool_lint_free(&text);
    assert!(text.contains("metrics_host_facade_refused_total 1\n"), "{text}");
    assert!(text.contains("# TYPE metrics_host_renders_total counter\n"), "{text}");
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

#[tokio::test(flavor = "multi_thread")]
async fn self_metrics_are_namespaced_movable_and_can_be_turned_off() {
    // An application with the names the exporter's own metrics once had.
    let registry = Registry::new();
    registry.counter("total_renders", "the application's own").unwrap().inc();
    registry.gauge("render_latency", "the application's own").unwrap().set(1.0);
    let moved = Exporter::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .registry(registry.clone())
        .self_metrics(SelfMetricsConfig { enabled: true, prefix: "app_exporter_".into() })
        .start()
        .await
        .unwrap();
    let text = get(moved.local_addr(), "/metrics", &[]).await.text();
    get(moved.local_addr(), "/metrics", &[]).await;
    let text_after = get(moved.local_addr(), "/metrics", &[]).await.text();
    assert!(text.contains("total_renders 1\n") && text.contains("render_latency 1\n"), "{text}");
    assert!(text_after.contains("app_exporter_renders_total{format=\"prometheus\",outcome=\"ok\"} 2\n"), "{text_after}");
    assert!(!text_after.contains("metrics_host_"), "{text_after}");
    moved.shutdown().await.unwrap();

    let off = Exporter::new().listen("127.0.0.1:0".parse().unwrap()).self_metrics(SelfMetricsConfig::off()).start().await.unwrap();
    off.registry().gauge("only_mine", "the application's only family").unwrap().set(3.0);
    get(off.local_addr(), "/metrics", &[]).await;
    let text = get(off.local_addr(), "/metrics", &[]).await.text();
    assert_eq!(text, "# HELP only_mine the application's only family\n# TYPE only_mine gauge\nonly_mine 3\n");
    off.shutdown().await.unwrap();
}

#[test]
fn exporter_settings_come_from_the_servers_toml() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\ntrusted_hosts = [\"127.0.0.1\"]\nrender_timeout_ms = 5000\n").unwrap();
    assert!(Exporter::from_config_file(&path).is_ok());
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\nself_metrics_prefix = \"my-app\"\n").unwrap();
    let error = Exporter::from_config_file(&path).err().unwrap();
    assert!(format!("{error:#}").contains("self_metrics_prefix = \"my-app\" is not a metric name prefix"), "{error:#}");
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\ncolour = 1\n").unwrap();
    let error = Exporter::from_config_file(&path).err().unwrap();
    assert!(format!("{error:#}").contains("colour"), "{error:#}");
}

#[test]
fn the_embedded_example_serves_valid_metrics_and_stops_on_sigterm() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
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

/// An application can tell what went wrong from the error's type: a taken
/// port, a bad setting (each message names what it is about).
#[tokio::test(flavor = "multi_thread")]
async fn start_up_errors_are_typed() {
    use metrics_host::serve_error::ServeError;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = metrics_host::exporter::Exporter::new().listen(addr).start().await.err().expect("the port is taken");
    assert!(matches!(&error, ServeError::Listen { addr: a, .. } if *a == addr), "{error}");
    assert!(std::error::Error::source(&error).is_some(), "the system's reason is its source");
    let empty = metrics_host::exporter::Exporter::new().trusted_hosts(&[]).err().unwrap();
    assert!(matches!(&empty, ServeError::Config(m) if m.contains("trusted_hosts is empty")), "{empty}");
    let bad = metrics_host::exporter::Exporter::new().trusted_hosts(&["not-an-address"]).err().unwrap();
    assert!(matches!(&bad, ServeError::Config(m) if m.contains("not-an-address")), "{bad}");
}
