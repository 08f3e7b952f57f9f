//! `metrics-host plugin check`: the shipped renderers pass, a renderer
//! built for contract 0.2.0 passes, and every hostile fixture fails with a
//! reason that says what is wrong.
mod common;

use std::process::Command;

/// Runs `plugin check ARGS`; (exit code, the report on stdout, or the
/// error on stderr when there is no report).
fn check(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_metrics-host")).args(["plugin", "check"]).args(args).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = if report.is_empty() { String::from_utf8_lossy(&out.stderr).into_owned() } else { report };
    (out.status.code().unwrap_or(-1), report)
}

fn fixture(folder: &str, name: &str) -> String {
    common::component_path(folder, name).to_string()
}

#[test]
fn the_shipped_renderers_and_a_0_2_0_renderer_pass() {
    let legacy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/renderer-0.2.0.wasm").to_string();
    for (path, contract, formats) in
        [(fixture("plugins", "openmetrics.wasm"), "0.3.0", vec!["openmetrics"]), (legacy, "0.2.0", vec!["prometheus", "json"])]
    {
        let (code, report) = check(&[&path]);
        assert_eq!(code, 0, "{report}");
        assert!(report.contains(&format!("contract {contract}")), "{report}");
        for format in formats {
            assert!(report.contains(&format!("format {format} (")), "{report}");
        }
        for passed in [
            "edge cases:",
            "edge cases with prefix check_:",
            "100000 series:",
            "deterministic:",
            "output refused part-way: returned output-closed",
        ] {
            assert!(report.contains(&format!("ok   {passed}")), "{passed}: {report}");
        }
        assert!(report.ends_with("result: ok\n"), "{report}");
        assert!(!report.contains("FAIL"), "{report}");
    }
}

#[test]
fn hostile_fixtures_fail_with_a_reason() {
    let hostile = fixture("test-plugins", "hostile.wasm");
    let cases: [(&str, &str); 11] = [
        ("spin", "timed out"),
        ("oom", "out of memory"),
        ("panic", "trapped"),
        ("flood", "output exceeds the limit"),
        ("lie", "output exceeds the limit"),
        ("sleep", "timed out"),
        // One-byte and empty writers meet the deadline or the write-call cap first,
        // depending on the machine.
        ("trickle", "timed out|output.write calls"),
        ("empty-writes", "timed out|output.write calls"),
        ("batch-spin", "input.next-batch calls"),
        ("long-error", "failed"),
        ("chatty", "last words"),
    ];
    for (format, reason) in cases {
        // Short for the cases that must time out; roomy for the others, so
        // a busy machine does not turn their reason into a timeout.
        let timeout = if reason.contains("timed out") { "500" } else { "10000" };
        // Every check runs: a small output cap keeps the floods short.
        let (code, report) = check(&[&hostile, "--format", format, "--render-timeout-ms", timeout, "--render-output-mb", "64"]);
        assert_eq!(code, 1, "{format}: {report}");
        let fail = report.lines().find(|l| l.contains("FAIL ")).unwrap_or_else(|| panic!("{format}: no FAIL line: {report}"));
        let fail = fail.to_lowercase();
        assert!(reason.split('|').any(|reason| fail.contains(reason)), "{format}: expected {reason:?} in {fail:?}");
        assert!(report.ends_with("result: FAIL\n"), "{report}");
    }
    let refused_at_load: [(&str, &str); 4] = [
        ("formats-many.wasm", "formats"),
        ("formats-huge-name.wasm", "format"),
        ("formats-bad-name.wasm", "name"),
        ("formats-spin.wasm", "timed out"),
    ];
    for (file, reason) in refused_at_load {
        let (code, report) = check(&[&fixture("test-plugins", file)]);
        assert_eq!(code, 1, "{file}: {report}");
        assert!(report.contains("refused at load:") && report.to_lowercase().contains(reason), "{file}: {report}");
    }
    // Contract breakers built in the test from WebAssembly text.
    let built = tempfile::tempdir().unwrap();
    let breakers = [
        ("forbidden-import.wasm", common::built_components::forbidden_import_component(), "imports \"metrics:renderer/secrets@0.2.0\""),
        ("wrong-version.wasm", common::built_components::other_version_component("9.0.0"), "supports 0.3.0, 0.2.0"),
        ("wrong-signature.wasm", common::built_components::wrong_signature_component(), "an export has the wrong type"),
    ];
    for (file, bytes, reason) in breakers {
        let path = built.path().join(file);
        std::fs::write(&path, bytes).unwrap();
        let (code, report) = check(&[path.to_str().unwrap()]);
        assert_eq!(code, 1, "{file}: {report}");
        assert!(report.contains("refused at load:") && report.contains(reason), "{file}: {report}");
    }
    let (code, report) = check(&["/nonexistent/plugin.wasm"]);
    assert_ne!(code, 0);
    assert!(report.contains("cannot read"), "{report}");
}

/// The bugs a plugin author makes, each named where it is: a
/// nondeterministic render by the first differing line and byte, a spin by
/// the sample that timed out, writing after refusal by the write count, a
/// label value written without escaping by the strict reader's line and
/// column.
#[test]
fn a_buggy_version_fails_with_where_it_went_wrong() {
    let cases = [
        (
            "marker-v2-nondeterministic.wasm",
            "FAIL deterministic: a second render of the same snapshot differs (first difference at line 1, byte ",
        ),
        ("marker-v2-spin-on-empty-family.wasm", "FAIL edge cases: timed out"),
        ("marker-v2-writes-after-refusal.wasm", "FAIL output refused part-way: kept writing"),
        ("marker-v2-unescaped-label.wasm", "FAIL edge cases: output not valid JSON: "),
    ];
    for (file, says) in cases {
        let (code, report) = check(&[&fixture("test-plugins", file), "--format", "marker", "--render-timeout-ms", "2000"]);
        assert_eq!(code, 1, "{file}: {report}");
        assert!(report.contains(says), "{file}: expected {says:?} in\n{report}");
    }
}

#[test]
fn settings_a_plugin_does_not_take_refuse_it_with_the_reason() {
    let settings = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(settings.path(), "precision = \"ms\"\n").unwrap();
    let legacy = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/renderer-0.2.0.wasm").to_string();
    let settings_path = settings.path().to_str().unwrap();
    for (plugin, reason) in [
        (legacy, "contract 0.2.0 takes no settings"),
        (fixture("plugins", "openmetrics.wasm"), "unknown setting \"precision\": this plugin takes no settings"),
    ] {
        let (code, report) = check(&[&plugin, "--settings", settings_path]);
        assert_eq!(code, 1, "{report}");
        assert!(report.contains("refused its settings") && report.contains(reason), "{report}");
    }
    std::fs::write(settings.path(), "[table]\nx = 1\n").unwrap();
    let (code, report) = check(&[&fixture("plugins", "openmetrics.wasm"), "--settings", settings_path]);
    assert_ne!(code, 0);
    assert!(report.contains("only strings, numbers and booleans"), "{report}");
}

#[test]
fn settings_files_are_read_within_the_server_s_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = fixture("plugins", "openmetrics.wasm");
    let large = dir.path().join("large.toml");
    std::fs::write(&large, format!("a = \"{}\"\n", "x".repeat(100_000))).unwrap();
    let fifo = dir.path().join("fifo.toml");
    common::mkfifo(&fifo);
    let zero = dir.path().join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for (path, reason) in [(&large, "size limit"), (&fifo, "a FIFO"), (&zero, "a device")] {
        let started = std::time::Instant::now();
        let (code, report) = check(&[&plugin, "--settings", path.to_str().unwrap()]);
        assert_ne!(code, 0, "{report}");
        assert!(report.contains("settings") && report.contains(reason), "{path:?}: {report}");
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{path:?} answered at once");
    }
}

/// Every check runs whatever failed before it, a summary table ends the
/// report, a timeout names the batch of series being rendered, and
/// `--json` says the same for CI.
#[test]
fn every_check_runs_and_the_report_has_a_summary_and_a_json_form() {
    let hostile = fixture("test-plugins", "hostile.wasm");
    let (code, report) = check(&[&hostile, "--format", "spin-after-batch", "--render-timeout-ms", "500"]);
    assert_eq!(code, 1, "{report}");
    // The edge cases' first family is `edge_values`.
    assert!(report.contains("FAIL edge cases: timed out after 500ms (reading family \"edge_values\", series 0 to "), "{report}");
    for later in [
        "FAIL no families at all:",
        "FAIL 100000 series:",
        "skip deterministic: the edge cases did not render",
        "FAIL output refused part-way",
        "FAIL output refused at once",
    ] {
        assert!(report.contains(later), "{later}: every check runs\n{report}");
    }
    let summary = report.split("summary:").nth(1).unwrap_or_else(|| panic!("no summary: {report}"));
    let row: Vec<&str> = summary.lines().find(|l| l.trim_start().starts_with("spin-after-batch")).unwrap().split_whitespace().collect();
    assert_eq!(row, ["spin-after-batch", "0", "7", "1"], "ok, failed, skipped: {summary}");

    let (code, json) = check(&[&hostile, "--format", "spin-after-batch", "--render-timeout-ms", "500", "--json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(json["passed"], false);
    assert_eq!(json["formats"][0]["name"], "spin-after-batch");
    let outcomes: Vec<&str> = json["checks"].as_array().unwrap().iter().map(|c| c["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["FAIL", "FAIL", "FAIL", "FAIL", "skipped", "FAIL", "FAIL", "FAIL"]);
    let (code, json) = check(&[&fixture("plugins", "openmetrics.wasm"), "--json"]);
    assert_eq!(code, 0, "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json["passed"] == true && json["checks"].as_array().unwrap().iter().all(|c| c["outcome"] == "ok"), "{json:#}");
}

/// `--dump DIR`: each sample as metrics.json, which the replay reader
/// (`render --input`) reads back to the same document, beside what the
/// plugin rendered for it.
#[test]
fn dumped_samples_are_read_back_by_the_replay_reader_beside_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = check(&[&fixture("plugins", "openmetrics.wasm"), "--dump", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    for sample in ["edge-cases", "no-families", "100000-series"] {
        let json = dir.path().join("samples").join(format!("{sample}.json"));
        let replayed = Command::new(env!("CARGO_BIN_EXE_metrics-host"))
            .args(["render", "--input", json.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap();
        assert!(replayed.status.success(), "{sample}: {}", String::from_utf8_lossy(&replayed.stderr));
        assert_eq!(replayed.stdout, std::fs::read(&json).unwrap(), "{sample}: the replay reader reads the dump back");
    }
    let rendered = std::fs::read_to_string(dir.path().join("openmetrics").join("edge-cases.out")).unwrap();
    assert!(rendered.contains("# HELP edge_values ") && rendered.ends_with("# EOF\n"), "{rendered:.200}");
    assert!(std::fs::read_to_string(dir.path().join("openmetrics").join("edge-cases-prefix-check_.out"))
        .unwrap()
        .contains("check_edge_values"));
}

/// `--reader CMD`: the author's own parser runs on every output; its
/// failure fails the check with what it said. The delimiter sample shows
/// which label values are written raw.
#[test]
fn a_reader_runs_on_every_output_and_its_failure_fails_the_check() {
    if common::tools::missing(&["python:prometheus_client"]) {
        return;
    }
    let parser =
        format!("{} {}/tests/prometheus_client_parse.py openmetrics > /dev/null", common::validators::python(), env!("CARGO_MANIFEST_DIR"));
    let openmetrics = fixture("plugins", "openmetrics.wasm");
    let (code, report) = check(&[&openmetrics, "--reader", &parser]);
    assert_eq!(code, 0, "{report}");
    for sample in ["edge cases", "no families at all", "100000 series", "delimiters"] {
        assert!(report.contains(&format!("ok   reader on {sample}: read it")), "{sample}: {report}");
    }
    // OpenMetrics quotes label values: `,` and `=` are written as they are.
    assert!(report.contains("ok   delimiters: written raw: \",\" \"=\""), "{report}");
    let failing = "echo 'line 3: no closing quote' >&2; exit 3";
    let (code, report) = check(&[&openmetrics, "--reader", failing]);
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("FAIL reader on edge cases: the reader failed (exit status: 3): line 3: no closing quote"), "{report}");
}
