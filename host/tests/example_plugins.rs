//! The example plugins under `examples/plugins/` (built by `make
//! examples`): each passes `plugin check`, hot-loads into a running
//! server, and its output is read back by a parser we did not write.
mod common;

use common::validators::{python, run_with_stdin};
use common::{get, install_plugin, post, start_with_plugins};
use metrics_host::registry::Registry;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// Reloads the plugins folder and follows the listing until `file` serves
/// (a large component compiles for longer than a reload answer waits).
async fn wait_until_serving(addr: std::net::SocketAddr, file: &str) {
    post(addr, "/-/reload").await;
    let started = Instant::now();
    loop {
        let listing: Value = serde_json::from_str(&get(addr, "/-/plugins", &[]).await.text()).unwrap();
        let entry = listing["plugins"].as_array().unwrap().iter().find(|p| p["file"] == file).cloned();
        match entry.as_ref().map(|e| e["state"].as_str().unwrap_or("")) {
            Some("serving") => return,
            Some("failed") => panic!("{file} failed to load: {entry:?}"),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(180), "{file} not serving after 180 s: {entry:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Tag values line protocol can carry (it has no empty tags and no
/// newline escape: those are covered by the plugin's own rules).
const TAGS: [&str; 5] = ["plain", "with space", "a,comma", "x=y", "ünïcødé ✓ C:\\dir"];

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_influx_example_is_read_back_by_a_line_protocol_parser() {
    influx_example_reads_back("influx").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_influx_example_is_read_back_by_a_line_protocol_parser() {
    influx_example_reads_back("influx_py").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_influx_example_is_read_back_by_a_line_protocol_parser() {
    influx_example_reads_back("influx_js").await;
}

/// The example `NAME.wasm` (format `NAME`, settings `NAME.toml`): the Rust
/// one built by the `test-components` crate, the Python and JavaScript ones
/// by `make examples` into `target/examples/` (their toolchains are not
/// cargo's, so a plain `cargo test` skips them when they are not built):
/// `plugin check`, hot-loaded with `precision = "ms"`, every tag and field
/// read back by line-protocol-parser.
async fn influx_example_reads_back(name: &str) {
    let wasm = match test_components::path("examples", &format!("{name}.wasm")) {
        Some(built) => built.to_string(),
        None => format!("{}/../target/examples/{name}.wasm", env!("CARGO_MANIFEST_DIR")),
    };
    if common::tools::missing(&[&format!("file:{wasm}"), "python:line_protocol_parser"]) {
        return;
    }
    let settings = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(settings.path(), "precision = \"ms\"\n").unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_metrics-host"))
        .args(["plugin", "check", &wasm, "--settings", settings.path().to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && report.ends_with("result: ok\n"), "{report}");

    let registry = Registry::new();
    let depth = registry.gauge_family("queue depth", "with a space in the name", &["queue", "empty"]).unwrap();
    for (i, tag) in TAGS.iter().enumerate() {
        depth.with_label_values(&[tag, ""]).unwrap().set(i as f64 + 0.5);
    }
    depth.with_label_values(&["nan", ""]).unwrap().set(f64::NAN);
    registry.counter("delivered_total", "delivered").unwrap().inc_by(7);
    let latency = registry.histogram("latency_seconds", "latency", &[0.1, 1.0]).unwrap();
    latency.observe(0.05);
    latency.observe(2.0);
    registry.summary("rpc_seconds", "rpc", &[0.5, 0.9]).unwrap().set(&[0.25, 0.75], 3.0, 4);

    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(plugins.path().join(format!("{name}.toml")), "precision = \"ms\"\n").unwrap();
    let (server, _renderers, _watcher) = start_with_plugins(registry, plugins.path(), None).await;
    install_plugin(plugins.path(), &format!("{name}.wasm"), &std::fs::read(&wasm).unwrap());
    wait_until_serving(server.local_addr, &format!("{name}.wasm")).await;
    let before_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64;
    let r = get(server.local_addr, &format!("/metrics?format={name}"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/line_protocol_parse.py");
    let (code, stdout, stderr) = run_with_stdin(&python(), &[script], r.text().as_bytes());
    assert_eq!(code, 0, "line-protocol-parser refused the output: {stderr}\n{}", r.text());
    let lines: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let find = |measurement: &str, tag: Option<(&str, &str)>| {
        lines
            .iter()
            .find(|l| l["measurement"] == measurement && tag.is_none_or(|(k, v)| l["tags"][k] == v))
            .unwrap_or_else(|| panic!("no line for {measurement} {tag:?} in {}", r.text()))
    };
    // The name arrives escaped for legacy readers (`text/plain` does not
    // declare `escaping=allow-utf-8`), as every plugin's does.
    for (i, tag) in TAGS.iter().enumerate() {
        let line = find("queue_depth", Some(("queue", tag)));
        assert_eq!(line["fields"]["value"].as_f64(), Some(i as f64 + 0.5));
        assert!(line["tags"].get("empty").is_none(), "an empty tag is left out: {line}");
    }
    assert!(lines.iter().all(|l| l["tags"]["queue"] != "nan"), "a NaN-only line is not written");
    assert_eq!(find("delivered_total", None)["fields"]["value"].as_f64(), Some(7.0));
    let latency = &find("latency_seconds", None)["fields"];
    assert_eq!(
        [&latency["count"], &latency["0.1"], &latency["1"], &latency["+Inf"]].map(|v| v.as_f64()),
        [Some(2.0), Some(1.0), Some(1.0), Some(2.0)]
    );
    assert_eq!(latency["sum"].as_f64(), Some(2.05));
    let rpc = &find("rpc_seconds", None)["fields"];
    assert_eq!([&rpc["0.5"], &rpc["0.9"], &rpc["count"], &rpc["sum"]].map(|v| v.as_f64()), [Some(0.25), Some(0.75), Some(4.0), Some(3.0)]);
    // `precision = "ms"`: the snapshot's time in milliseconds.
    let time = lines[0]["time"].as_f64().unwrap();
    assert!((before_ms - 60_000.0..=before_ms + 60_000.0).contains(&time), "time {time} is not in ms near {before_ms}");
    assert!(lines.iter().all(|l| l["time"] == lines[0]["time"]));
    server.stop().await.unwrap();
}
