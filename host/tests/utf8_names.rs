//! Prometheus 3 names end to end: UTF-8 metric and label names quoted for
//! clients that allow them (text 1.0.0, OpenMetrics), escaped with the
//! negotiated scheme otherwise, the scheme stated in `Content-Type`; read
//! back by Python's prometheus_client parsers and promtool (legacy forms).
mod common;

use common::validators::{assert_promtool_clean, prometheus_client_parse};
use common::{component_bytes, get, install_plugin, start, start_with_plugins_and};
use metrics_host::config::ServeConfig;
use metrics_host::http::negotiate::NegotiableFormats;
use metrics_host::registry::Registry;
use serde_json::Value;
use std::collections::BTreeMap;

/// Families with names outside the legacy syntax, and one inside it.
fn utf8_registry() -> Registry {
    let registry = Registry::new();
    let gauge = registry.gauge_family("temperature.°C", "a dotted name with a degree sign", &["room.name", "plain"]).unwrap();
    gauge.with_label_values(&["kitchen \"north\"", "x"]).unwrap().set(21.5);
    gauge.with_label_values(&["süd\\raum\nzwei", "y"]).unwrap().set(-3.0);
    let counter = registry.counter_family("http.requests_total", "requests served", &["http.method"]).unwrap();
    counter.with_label_values(&["GET"]).unwrap().inc_by(7);
    let histogram = registry.histogram_family("rpc.duration-seconds", "latency", &["rpc.service"], &[0.1, 1.0]).unwrap();
    let observed = histogram.with_label_values(&["mail"]).unwrap();
    for v in [0.05, 0.5, 5.0] {
        observed.observe(v);
    }
    registry.histogram("unlabelled.hist", "quoted name, no labels", &[1.0]).unwrap().observe(0.5);
    registry.gauge("plain_level", "legacy name").unwrap().set(1.0);
    registry
}

/// A sample as read: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Every sample but the host's own.
fn samples(families: &[Value]) -> Vec<Sample> {
    families
        .iter()
        .flat_map(|f| f["samples"].as_array().unwrap().iter())
        .map(|s| {
            let labels = s[1].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
            (s[0].as_str().unwrap().to_string(), labels, s[2].as_str().unwrap().parse::<f64>().unwrap())
        })
        .filter(|(name, _, _)| !common::is_self_metric(name))
        .collect()
}

/// Asserts that `read` holds the sample `name{labels} value`.
fn assert_has(read: &[Sample], name: &str, labels: &[(&str, &str)], value: f64) {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert!(read.iter().any(|(n, l, v)| n == name && *l == labels && *v == value), "{name} {labels:?} {value} not in {read:#?}");
}

fn family<'a>(families: &'a [Value], name: &str) -> &'a Value {
    families.iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("no family {name:?} in {families:#?}"))
}

const TEXT_UTF8: &str = "text/plain;version=1.0.0;escaping=allow-utf-8";

#[tokio::test(flavor = "multi_thread")]
async fn text_1_0_0_with_allow_utf8_reads_back_every_name_exactly() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let server = start(utf8_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    let r = get(server.local_addr, "/metrics", &[("Accept", TEXT_UTF8)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"));
    let families = prometheus_client_parse("text", &r.text());
    let gauge = family(&families, "temperature.°C");
    assert_eq!(gauge["type"], "gauge");
    assert_eq!(gauge["documentation"], "a dotted name with a degree sign");
    let read = samples(&families);
    assert_has(&read, "temperature.°C", &[("room.name", "kitchen \"north\""), ("plain", "x")], 21.5);
    assert_has(&read, "temperature.°C", &[("room.name", "süd\\raum\nzwei"), ("plain", "y")], -3.0);
    assert_has(&read, "http.requests_total", &[("http.method", "GET")], 7.0);
    assert_has(&read, "rpc.duration-seconds_bucket", &[("rpc.service", "mail"), ("le", "0.1")], 1.0);
    assert_has(&read, "rpc.duration-seconds_bucket", &[("rpc.service", "mail"), ("le", "+Inf")], 3.0);
    assert_has(&read, "rpc.duration-seconds_count", &[("rpc.service", "mail")], 3.0);
    assert_has(&read, "unlabelled.hist_bucket", &[("le", "1")], 1.0);
    assert_has(&read, "unlabelled.hist_sum", &[], 0.5);
    assert_has(&read, "plain_level", &[], 1.0);

    // The prefix goes in front of the name, inside the quotes.
    let r = get(server.local_addr, "/metrics?prefix=kumo_", &[("Accept", TEXT_UTF8)]).await;
    let families = prometheus_client_parse("text", &r.text());
    family(&families, "kumo_temperature.°C");
    family(&families, "kumo_plain_level");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy_clients_get_underscores_that_promtool_accepts() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let server = start(utf8_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    for accept in [None, Some("text/plain;version=0.0.4"), Some("text/plain;version=0.0.4;escaping=allow-utf-8"), Some("*/*")] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let r = get(server.local_addr, "/metrics", &headers).await;
        assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores"), "{accept:?}");
        let text = r.text();
        assert_promtool_clean(&text);
        let families = prometheus_client_parse("text", &text);
        assert_has(&samples(&families), "temperature__C", &[("room_name", "kitchen \"north\""), ("plain", "x")], 21.5);
        family(&families, "rpc_duration_seconds");
        family(&families, "http_requests");
    }
    let r = get(server.local_addr, "/metrics?prefix=p_", &[]).await;
    assert_promtool_clean(&r.text());
    assert!(r.text().contains("\np_temperature__C{room_name="), "{}", r.text());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn dots_and_values_escaping_follow_prometheus() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let server = start(utf8_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    let r = get(server.local_addr, "/metrics", &[("Accept", "text/plain;version=1.0.0;escaping=dots")]).await;
    assert_eq!(r.header("content-type"), Some("text/plain; version=1.0.0; charset=utf-8; escaping=dots"));
    assert_promtool_clean(&r.text());
    let families = prometheus_client_parse("text", &r.text());
    assert_has(&samples(&families), "http_dot_requests__total", &[("http_dot_method", "GET")], 7.0);
    family(&families, "plain__level");
    let r = get(server.local_addr, "/metrics", &[("Accept", "text/plain;version=1.0.0;escaping=values")]).await;
    assert_promtool_clean(&r.text());
    let families = prometheus_client_parse("text", &r.text());
    let gauge = family(&families, "U__temperature_2e__b0_C");
    assert_eq!(gauge["samples"][0][1]["U__room_2e_name"], "kitchen \"north\"");
    family(&families, "plain_level");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn openmetrics_quotes_for_prometheus_3_and_only_when_negotiable() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    let negotiate = NegotiableFormats::new(&["openmetrics".into(), "prometheus".into()]).unwrap();
    let config = ServeConfig { negotiate, ..ServeConfig::default() };
    let (server, renderers, _watcher) = start_with_plugins_and(config, utf8_registry(), dir.path(), None).await;
    renderers.reload().await;
    let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let r = get(server.local_addr, "/metrics", &[("Accept", prometheus_3)]).await;
    assert_eq!(r.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"));
    let families = prometheus_client_parse("openmetrics", &r.text());
    assert_eq!(family(&families, "http.requests")["type"], "counter");
    let read = samples(&families);
    assert_has(&read, "http.requests_total", &[("http.method", "GET")], 7.0);
    assert_has(&read, "rpc.duration-seconds_bucket", &[("rpc.service", "mail"), ("le", "1.0")], 2.0);
    // Prometheus 2 asks for OpenMetrics without escaping: underscores.
    let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let r = get(server.local_addr, "/metrics", &[("Accept", prometheus_2)]).await;
    assert_eq!(r.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"));
    family(&prometheus_client_parse("openmetrics", &r.text()), "temperature__C");
    server.stop().await.unwrap();

    // With the default negotiable formats the same plugin is only served on request.
    let (server, renderers, _watcher) = start_with_plugins_and(ServeConfig::default(), utf8_registry(), dir.path(), None).await;
    renderers.reload().await;
    let r = get(server.local_addr, "/metrics", &[("Accept", prometheus_3)]).await;
    assert_eq!(r.header("content-type"), Some("text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"));
    let r = get(server.local_addr, "/metrics?format=openmetrics", &[("Accept", prometheus_3)]).await;
    assert_eq!(r.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"));
    server.stop().await.unwrap();
}

#[test]
fn names_that_collide_once_escaped_are_refused_at_registration() {
    let registry = Registry::new();
    registry.gauge("a.b", "first").unwrap();
    let error = registry.gauge("a_b", "second").unwrap_err().to_string();
    assert!(error.contains("a.b") && error.contains("escaped"), "{error}");
    let error = registry.gauge_family("c", "labels", &["x.y", "x_y"]).err().expect("refused").to_string();
    assert!(error.contains("x.y") && error.contains("x_y"), "{error}");
    assert!(registry.gauge_family("d", "reserved once escaped", &["._x"]).is_err());
    assert!(registry.gauge("", "empty").is_err());
    assert!(registry.histogram_family("e", "le", &["le"], &[1.0]).is_err());
}
