//! `metrics-host render`: replaying a captured metrics.json offline.
mod common;

use common::tricky_registry;
use metrics_host::app::demo::Demo;
use metrics_host::plugin::series_batches::RenderNames;
use metrics_host::registry::Registry;
use std::io::Write;
use std::process::Command;

fn native_render(registry: &Registry, format: &str, prefix: &str) -> String {
    let snapshot = registry.snapshot();
    let mut out = Vec::new();
    snapshot.render_native(format, RenderNames { prefix, ..Default::default() }, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn write_temp(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn render_cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_metrics-host")).arg("render").args(args).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn json_replays_to_the_same_data_in_every_format() {
    let (tricky, _) = tricky_registry();
    let demo = Registry::new();
    Demo::register(&demo, 25).unwrap().step();
    for registry in [tricky, demo] {
        let json = native_render(&registry, "json", "");
        let input = write_temp(&json);
        let path = input.path().to_str().unwrap();

        let (ok, replayed_json, stderr) = render_cli(&["--input", path, "--format", "json"]);
        assert!(ok, "{stderr}");
        assert_eq!(replayed_json, json, "json -> json keeps every value, label and help text");

        let (ok, replayed_text, stderr) = render_cli(&["--input", path]);
        assert!(ok, "{stderr}");
        assert_eq!(replayed_text, native_render(&registry, "prometheus", ""));

        let (ok, prefixed, stderr) = render_cli(&["--input", path, "--prefix", "kumomta_"]);
        assert!(ok, "{stderr}");
        assert_eq!(prefixed, native_render(&registry, "prometheus", "kumomta_"));
    }
}

/// `tests/fixtures/renderer-0.2.0.wasm` is the default renderer as
/// released for contract 0.2.0 (built before 0.3.0 existed): it still
/// loads and renders everything 0.2.0 can express, the same bytes as
/// today's renderer, and nothing of the summary it cannot.
#[test]
fn a_renderer_built_for_contract_0_2_0_still_renders() {
    if common::tools::missing(&["promtool"]) {
        return;
    }
    let (tricky, _) = tricky_registry();
    let json = native_render(&tricky, "json", "");
    let input = write_temp(&json);
    let path = input.path().to_str().unwrap();
    let legacy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/renderer-0.2.0.wasm");
    for format in ["prometheus", "json"] {
        let (ok, current, stderr) = render_cli(&["--input", path, "--format", format]);
        assert!(ok, "{stderr}");
        assert!(current.contains("rpc_duration_seconds"), "the current renderer writes the summary");
        let (ok, old, stderr) = render_cli(&["--input", path, "--format", format, "--plugin", legacy]);
        assert!(ok, "the 0.2.0 renderer failed: {stderr}");
        let without_summary: String = match format {
            "prometheus" => current.lines().filter(|l| !l.contains("rpc_duration_seconds")).map(|l| format!("{l}\n")).collect(),
            _ => {
                let mut document: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&current).unwrap();
                document.remove("rpc_duration_seconds");
                let old: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&old).unwrap();
                assert_eq!(old, document, "json of the 0.2.0 renderer");
                continue;
            }
        };
        assert_eq!(old, without_summary, "text of the 0.2.0 renderer");
        common::validators::assert_promtool_clean(&old);
    }
}

#[test]
fn malformed_input_names_where_it_is_wrong() {
    let cases = [
        ("{\"a\": {\"type\": \"gauge\", \"value\": 1.0}", "line 1 column"),
        ("[1, 2]", "expected an object keyed by family name"),
        ("{\"a\": {\"type\": \"gauge\", \"value\": {\"service\": {\"x\": \"bad\"}}}}", "family \"a\": value.service[\"x\"]"),
        ("{\"a\": {\"type\": \"untyped\", \"value\": 1.0}}", "family \"a\": type"),
        ("{\"a\": {\"type\": \"summary\", \"value\": 1.0}}", "family \"a\": value: expected {\"count\", \"sum\", \"quantile\"}"),
        ("{\"a\": {\"type\": \"gauge\", \"value\": 1.0, \"colour\": 1}}", "unknown key \"colour\""),
        ("{\"a\": {\"type\": \"gauge\", \"value\": [{\"q\": \"x\"}]}}", "family \"a\": value[0]: missing \"@\""),
        ("{\"\": {\"type\": \"gauge\", \"value\": 1.0}}", "invalid metric name \"\""),
        (
            "{\"h\": {\"type\": \"histogram\", \"value\": {\"count\": 1, \"sum\": 1.0, \"avg\": 1.0, \"bucket\": [[1.0, 2.0]]}}}",
            "family \"h\": value.bucket[0]: bucket counts must be cumulative and at most \"count\"",
        ),
    ];
    for (input, expected) in cases {
        let file = write_temp(input);
        let (ok, stdout, stderr) = render_cli(&["--input", file.path().to_str().unwrap()]);
        assert!(!ok, "{input} must be refused");
        assert!(stdout.is_empty(), "nothing rendered for {input}");
        assert!(stderr.contains(expected), "for {input}: expected {expected:?} in {stderr}");
    }
    let (ok, _, stderr) = render_cli(&["--input", "/nonexistent/metrics.json"]);
    assert!(!ok && stderr.contains("/nonexistent/metrics.json"), "{stderr}");
    let file = write_temp("{}");
    let (ok, _, stderr) = render_cli(&["--input", file.path().to_str().unwrap(), "--format", "yaml"]);
    assert!(!ok && stderr.contains("unknown format \"yaml\""), "{stderr}");
}

/// `render --plugin ... --settings FILE` configures the plugin as a
/// `NAME.toml` beside it would: the Rust influx example writes its
/// timestamps in the precision asked for, and refuses a bad one with the
/// reason.
#[test]
fn render_hands_settings_to_the_plugin() {
    let registry = Registry::new();
    registry.gauge("queue_depth", "depth").unwrap().set(3.0);
    let input = write_temp(&native_render(&registry, "json", ""));
    let plugin = common::component_path("examples", "influx.wasm");
    let timestamp_digits = |settings: Option<&str>| {
        let file = settings.map(write_temp);
        let mut args = vec!["--input", input.path().to_str().unwrap(), "--plugin", plugin, "--format", "influx"];
        if let Some(file) = &file {
            args.extend(["--settings", file.path().to_str().unwrap()]);
        }
        let (ok, out, err) = render_cli(&args);
        assert!(ok, "{err}");
        let line = out.lines().find(|l| l.starts_with("queue_depth")).unwrap_or_else(|| panic!("{out}"));
        line.rsplit(' ').next().unwrap().len()
    };
    assert_eq!(timestamp_digits(Some("precision = \"s\"\n")), 10);
    assert_eq!(timestamp_digits(Some("precision = \"ms\"\n")), 13);
    assert_eq!(timestamp_digits(None), 19, "nanoseconds unless told");
    let bad = write_temp("precision = \"weeks\"\n");
    let (ok, _, err) = render_cli(&[
        "--input",
        input.path().to_str().unwrap(),
        "--plugin",
        plugin,
        "--format",
        "influx",
        "--settings",
        bad.path().to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("precision \"weeks\": use ns, us, ms or s"), "{err}");
    let (ok, _, err) = render_cli(&["--input", input.path().to_str().unwrap(), "--settings", bad.path().to_str().unwrap()]);
    assert!(!ok && err.contains("--plugin"), "--settings needs --plugin: {err}");
}
