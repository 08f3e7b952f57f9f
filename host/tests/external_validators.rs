//! Our output checked by parsers we did not write: `promtool check metrics`
//! (Debian's prometheus package) and Python's prometheus_client; metrics.json
//! by Python's json module in strict mode.
mod common;

use common::validators::{assert_promtool_clean, python, run_with_stdin};
use common::{component_bytes, get, is_self_metric, start, tricky_registry, ExpectedSample, TRICKY_HELP};
use metrics_host::app::demo::Demo;
use metrics_host::config::ServeConfig;
use metrics_host::plugin::catalog::Renderers;
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::RendererEngine;
use metrics_host::registry::Registry;
use std::sync::Arc;

async fn scrape(registry: Registry, target: &str) -> String {
    let server = start(registry, "127.0.0.1:0", &["127.0.0.1"]).await;
    let response = get(server.local_addr, target, &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(!response.truncated);
    server.stop().await.unwrap();
    response.text()
}

#[tokio::test(flavor = "multi_thread")]
async fn promtool_accepts_demo_output_with_and_without_prefix() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let registry = Registry::new();
    let mut demo = Demo::register(&registry, 50).unwrap();
    demo.step();
    for target in ["/metrics", "/metrics?prefix=kumomta_"] {
        let text = scrape(registry.clone(), target).await;
        assert!(text.contains("scheduled_count{queue="), "{text}");
        assert_promtool_clean(&text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn promtool_accepts_tricky_values() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let (registry, _) = tricky_registry();
    assert_promtool_clean(&scrape(registry, "/metrics").await);
}

fn parse_value(repr: &str) -> f64 {
    repr.parse().unwrap_or_else(|_| panic!("python repr {repr} is a float"))
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}

/// Parses `text` with prometheus_client's `parser` (`text` or `openmetrics`)
/// and checks every sample, label and value against `expected`.
fn assert_client_reads_back(parser: &str, text: &str, expected: &[ExpectedSample]) -> Vec<serde_json::Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/prometheus_client_parse.py");
    let (code, stdout, stderr) = run_with_stdin(&python(), &[script, parser], text.as_bytes());
    let head: String = text.chars().take(2000).collect();
    assert_eq!(code, 0, "prometheus_client ({parser}) failed: {stderr}\n{head}");
    let families: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let families = families.as_array().unwrap().clone();
    // Bucket bounds and quantiles are numbers: compare them as numbers, not spellings.
    let normalise = |labels: &mut Vec<(String, String)>| {
        for (k, v) in labels.iter_mut() {
            if (k == "le" || k == "quantile") && v != "+Inf" {
                *v = format!("{:?}", v.parse::<f64>().unwrap());
            }
        }
        labels.sort();
    };
    let mut read: Vec<ExpectedSample> = Vec::new();
    let mut created = 0;
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let families: Vec<serde_json::Value> = families.into_iter().filter(|f| !is_self_metric(f["name"].as_str().unwrap())).collect();
    for family in &families {
        for s in family["samples"].as_array().unwrap() {
            let mut labels: Vec<(String, String)> =
                s[1].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
            normalise(&mut labels);
            let (name, value) = (s[0].as_str().unwrap(), parse_value(s[2].as_str().unwrap()));
            // Creation times (OpenMetrics): when the test made the series.
            if name.ends_with("_created") && family["type"] != "gauge" {
                assert!((now_s - 600.0..=now_s + 1.0).contains(&value), "{name} {labels:?} = {value}, now {now_s} ({parser})");
                created += 1;
                continue;
            }
            read.push(ExpectedSample { name: name.into(), labels, value });
        }
    }
    // Every counter, histogram and summary series has one in OpenMetrics, none in text 0.0.4.
    if parser == "openmetrics" {
        let series_with_created = expected.iter().filter(|s| s.name.ends_with("_count") || s.name.ends_with("_total")).count();
        assert_eq!(created, series_with_created, "one _created per counter, histogram and summary series");
    } else {
        assert_eq!(created, 0, "text 0.0.4 has no _created samples");
    }
    // OpenMetrics sums are counters: a negative one is left out, with its count.
    let negative_sums: Vec<String> = expected
        .iter()
        .filter(|s| s.name.ends_with("_sum") && s.value < 0.0)
        .map(|s| s.name.trim_end_matches("_sum").to_string())
        .collect();
    let left_out = |s: &ExpectedSample| {
        parser == "openmetrics" && negative_sums.iter().any(|n| s.name == format!("{n}_sum") || s.name == format!("{n}_count"))
    };
    let expected: Vec<&ExpectedSample> = expected.iter().filter(|s| !left_out(s)).collect();
    let shown = |samples: &[ExpectedSample]| format!("{:#?}", &samples[..samples.len().min(20)]);
    assert_eq!(read.len(), expected.len(), "sample count ({parser})\nfirst read: {}", shown(&read));
    for (got, want) in read.iter().zip(expected) {
        let mut want_labels = want.labels.clone();
        normalise(&mut want_labels);
        assert_eq!(got.name, want.name, "({parser})");
        assert_eq!(got.labels, want_labels, "labels of {} ({parser})", want.name);
        assert!(same_value(got.value, want.value), "{} {:?}: read {} want {} ({parser})", want.name, want.labels, got.value, want.value);
    }
    let tricky = families.iter().find(|f| f["name"] == "tricky_values").expect("tricky_values family");
    assert_eq!(tricky["documentation"], TRICKY_HELP, "help text round-trips ({parser})");
    assert_eq!(tricky["type"], "gauge");
    let empty = families.iter().find(|f| f["name"] == "empty_family").expect("empty family is still listed");
    assert_eq!(empty["samples"].as_array().unwrap().len(), 0);
    let histogram = families.iter().find(|f| f["name"] == "request_seconds").unwrap();
    assert_eq!(histogram["type"], "histogram");
    families
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_client_reads_back_exactly_what_we_put_in() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let (registry, expected) = tricky_registry();
    let text = scrape(registry, "/metrics").await;
    assert_client_reads_back("text", &text, &expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_openmetrics_parser_reads_back_the_openmetrics_plugin() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let engine = RendererEngine::new().unwrap();
    let openmetrics = engine.load("openmetrics", &component_bytes("plugins", "openmetrics.wasm")).await.unwrap();
    let set = RendererSet::builtin(&engine).await.unwrap().with_plugin(Arc::new(openmetrics));
    let renderers = Arc::new(Renderers::fixed(engine, set));
    let config = ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), ..ServeConfig::default() };

    let (registry, expected) = tricky_registry();
    let server = metrics_host::server::start(&config, registry, Arc::clone(&renderers)).await.unwrap();
    let r = get(server.local_addr, "/metrics?format=openmetrics", &[]).await;
    assert_eq!(r.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"));
    let families = assert_client_reads_back("openmetrics", &r.text(), &expected);
    let counter = families.iter().find(|f| f["name"] == "escaped_labels").expect("counter family without _total");
    assert_eq!(counter["type"], "counter");
    let histogram = families.iter().find(|f| f["name"] == "request_seconds").unwrap();
    assert_eq!(histogram["unit"], "seconds");
    server.stop().await.unwrap();

    let demo = Registry::new();
    Demo::register(&demo, 30).unwrap().step();
    let server = metrics_host::server::start(&config, demo, renderers).await.unwrap();
    for target in ["/metrics?format=openmetrics", "/metrics?format=openmetrics&prefix=kumomta_"] {
        let text = get(server.local_addr, target, &[]).await.text();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/prometheus_client_parse.py");
        let (code, stdout, stderr) = run_with_stdin(&python(), &[script, "openmetrics"], text.as_bytes());
        assert_eq!(code, 0, "strict OpenMetrics parse of the demo failed: {stderr}");
        assert!(stdout.contains("total_messages_delivered_total"));
    }
    server.stop().await.unwrap();
}

/// Adds families large enough that their series reach the renderer in
/// several batches: label values from a few bytes to several hundred,
/// escapes and multi-byte characters scattered through them, a labelled
/// histogram, and a small family between the big ones.
fn add_families_spanning_batches(registry: &Registry, expected: &mut Vec<ExpectedSample>) {
    let sample = |name: &str, labels: &[(&str, &str)], value: f64| ExpectedSample {
        name: name.into(),
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        value,
    };
    let depth = registry.gauge_family("queue_depth", "messages per queue", &["queue", "tenant"]).unwrap();
    for i in 0..3 * 4096 + 17 {
        let queue = match i % 97 {
            0 => format!("q{i} says \"hi\" in C:\\dir\nnext line"),
            1 => format!("q{i}-{}", "ü✓".repeat(i % 40)),
            2 => format!("q{i}-{}", "x".repeat(i % 300)),
            _ => format!("campaign{}:tenant{}@q{i}.example.com", i % 7, i % 13),
        };
        let tenant = format!("t{}", i % 5);
        depth.with_label_values(&[&queue, &tenant]).unwrap().set(i as f64 * 0.5);
        expected.push(sample("queue_depth", &[("queue", &queue), ("tenant", &tenant)], i as f64 * 0.5));
    }
    registry.gauge("between_big_families", "a small family").unwrap().set(1.0);
    expected.push(sample("between_big_families", &[], 1.0));
    let latency = registry.histogram_family("queue_latency_seconds", "per queue", &["queue"], &[0.5, 2.0]).unwrap();
    for i in 0..5000 {
        let queue = format!("q{i}");
        let h = latency.with_label_values(&[&queue]).unwrap();
        for k in 0..i % 4 {
            h.observe(k as f64);
        }
        let count = (i % 4) as f64;
        let (le_half, le_two) = (count.min(1.0), count.min(3.0));
        for (le, n) in [("0.5", le_half), ("2.0", le_two), ("+Inf", count)] {
            expected.push(sample("queue_latency_seconds_bucket", &[("queue", &queue), ("le", le)], n));
        }
        let sum: f64 = (0..i % 4).map(|k| k as f64).sum();
        expected.push(sample("queue_latency_seconds_sum", &[("queue", &queue)], sum));
        expected.push(sample("queue_latency_seconds_count", &[("queue", &queue)], count));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn series_spread_over_many_batches_read_back_exactly() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let (registry, mut expected) = tricky_registry();
    add_families_spanning_batches(&registry, &mut expected);
    let text = scrape(registry.clone(), "/metrics").await;
    assert_promtool_clean(&text);
    assert_client_reads_back("text", &text, &expected);

    // metrics.json: strict JSON, and every queue_depth entry in order.
    let json = scrape(registry, "/metrics.json").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/strict_json_check.py");
    let (code, _, stderr) = run_with_stdin(&python(), &[script], json.as_bytes());
    assert_eq!(code, 0, "strict JSON parse failed: {stderr}");
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entries = document["queue_depth"]["value"].as_array().expect("two labels: a list");
    let want: Vec<&ExpectedSample> = expected.iter().filter(|s| s.name == "queue_depth").collect();
    assert_eq!(entries.len(), want.len());
    for (entry, want) in entries.iter().zip(want) {
        assert_eq!(entry["queue"], want.labels[0].1.as_str());
        assert_eq!(entry["tenant"], want.labels[1].1.as_str());
        assert_eq!(entry["@"].as_f64(), Some(want.value));
    }
    let histograms = document["queue_latency_seconds"]["value"]["queue"].as_object().expect("one label: an object");
    assert_eq!(histograms.len(), 5000);
    assert_eq!(histograms["q4999"]["count"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_json_is_strictly_valid_json() {
    let (registry, _) = tricky_registry();
    let demo_registry = Registry::new();
    Demo::register(&demo_registry, 20).unwrap().step();
    for (registry, first_family) in [(registry, "tricky_values"), (demo_registry, "connection_count")] {
        for target in ["/metrics.json", "/metrics.json?prefix=kumomta_"] {
            let text = scrape(registry.clone(), target).await;
            let (code, stdout, stderr) =
                run_with_stdin(&python(), &[concat!(env!("CARGO_MANIFEST_DIR"), "/tests/strict_json_check.py")], text.as_bytes());
            assert_eq!(code, 0, "strict JSON parse failed: {stderr}\n{text}");
            let names: Vec<String> = serde_json::from_str(&stdout).unwrap();
            let prefix = if target.contains("prefix") { "kumomta_" } else { "" };
            assert_eq!(names[0], format!("{prefix}{first_family}"));
            assert!(names.iter().all(|n| n.starts_with(prefix)));
        }
    }
}

/// Family names prometheus_client reads from a text exposition.
fn parsed_family_names(text: &str) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/prometheus_client_parse.py");
    let (code, stdout, stderr) = run_with_stdin(&python(), &[script, "text"], text.as_bytes());
    assert_eq!(code, 0, "prometheus_client refused the filtered output: {stderr}");
    let families: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    families.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn name_filters_select_exact_families_before_the_prefix() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let demo = || {
        let registry = Registry::new();
        Demo::register(&registry, 50).unwrap().step();
        registry
    };
    let text = scrape(demo(), "/metrics?name[]=ready_count&name%5B%5D=deliver_message_latency").await;
    assert_promtool_clean(&text);
    let mut names = parsed_family_names(&text);
    names.sort();
    // prometheus_client names a histogram family without `_bucket`.
    assert_eq!(names, ["deliver_message_latency", "ready_count"], "{text}");

    let prefixed = scrape(demo(), "/metrics?prefix=kumomta_&name[]=ready_count").await;
    assert_promtool_clean(&prefixed);
    assert_eq!(parsed_family_names(&prefixed), ["kumomta_ready_count"], "names are matched without the prefix");

    let json = scrape(demo(), "/metrics.json?name[]=ready_count&name[]=no_such_family").await;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc.as_object().unwrap().keys().collect::<Vec<_>>(), ["ready_count"]);

    let nothing = scrape(demo(), "/metrics?name[]=no_such_family").await;
    assert_eq!(nothing, "", "no family matched, no output");
}
