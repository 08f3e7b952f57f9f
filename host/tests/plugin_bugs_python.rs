//! The four bugs a plugin author makes, written in Python (the Rust ones
//! are in `plugins_hot_swap.rs` and `plugin_check.rs`): a label value
//! written without escaping, a render that differs each time, an endless
//! loop on an empty family, writing after the host refused output. Each is
//! a version of the fixture `tests/plugins/python-json/app.py`, built with
//! componentize-py over a `plugin new --lang python` project. Hot-loaded
//! over the good version, each is refused by its preflight with the reason
//! while the good version keeps serving (scrapes during each swap never
//! fail or see the bad version); `plugin check` fails each naming where.
mod common;

use common::{get, install_plugin, start_with_plugins_and};
use metrics_host::config::ServeConfig;
use metrics_host::registry::Registry;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Each bug, what the preflight says about it, what `plugin check` says.
const BUGS: [(&str, &str, &[&str]); 4] = [
    (
        "unescaped-label",
        "(edge cases): its output is refused by the strict reader: not valid JSON: ",
        &["FAIL edge cases: output not valid JSON: ", " at line 1 column "],
    ),
    (
        "nondeterministic",
        "(deterministic): a second render of the same snapshot wrote different bytes (first difference at line 1, byte ",
        &["FAIL deterministic: a second render of the same snapshot differs (first difference at line 1, byte ", "rendered_at_ns"],
    ),
    ("spin-on-empty-family", "(edge cases): timed out after 2s", &["FAIL edge cases: timed out after 2s (before asking for any series)"]),
    (
        "writes-after-refusal",
        // Its output (2 KiB) is one write: refused, it returns Ok.
        "(output refused part-way): its output was refused and it returned Ok instead of output-closed",
        &["FAIL output refused part-way: kept writing (", "FAIL output refused at once: returned Ok instead of output-closed"],
    ),
];

fn run(program: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// Builds the fixture with `bug` (empty: none) as `version` into `project`.
fn build(project: &Path, componentize: &str, bug: &str, version: &str) -> PathBuf {
    let fixture = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/python-json/app.py")).unwrap();
    assert!(fixture.contains("\nBUG = \"\"\n") && fixture.contains("\nVERSION = \"v1\"\n"), "the fixture's switches");
    let app = fixture
        .replace("\nBUG = \"\"\n", &format!("\nBUG = {bug:?}\n"))
        .replace("\nVERSION = \"v1\"\n", &format!("\nVERSION = {version:?}\n"));
    std::fs::write(project.join("app.py"), app).unwrap();
    let out = format!("{}.wasm", if bug.is_empty() { "good" } else { bug });
    let (ok, text) = run(componentize, &["-d", "wit", "-w", "renderer-plugin", "componentize", "app", "-o", &out], project);
    assert!(ok, "componentize-py {bug}: {text}");
    project.join(out)
}

/// The version a `pyjson` scrape was rendered by; panics on anything else
/// than a complete, valid answer.
async fn served_version(addr: std::net::SocketAddr) -> String {
    let r = get(addr, "/metrics?format=pyjson", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let doc: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()));
    doc["version"].as_str().unwrap().to_string()
}

async fn entry(addr: std::net::SocketAddr) -> Value {
    let listing: Value = serde_json::from_slice(&get(addr, "/-/plugins", &[]).await.body).unwrap();
    listing["plugins"].as_array().unwrap().iter().find(|p| p["file"] == "pyjson.wasm").cloned().unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn python_versions_with_each_bug_never_go_live_and_plugin_check_names_where() {
    let python = common::validators::python();
    let componentize = Path::new(&python).with_file_name("componentize-py");
    if common::tools::missing(&[&format!("file:{}", componentize.display())]) {
        return;
    }
    let componentize = componentize.to_str().unwrap();
    let binary = env!("CARGO_BIN_EXE_metrics-host");
    let work = tempfile::tempdir().unwrap();
    let (ok, text) = run(binary, &["plugin", "new", "pyjson", "--lang", "python", "--dir", work.path().to_str().unwrap()], work.path());
    assert!(ok, "{text}");
    let project = work.path().join("pyjson");
    let good = build(&project, componentize, "", "v1");
    let bugs: Vec<(PathBuf, &str, &[&str])> =
        BUGS.iter().map(|(bug, says, check)| (build(&project, componentize, bug, "v2"), *says, *check)).collect();

    let plugins = tempfile::tempdir().unwrap();
    install_plugin(plugins.path(), "pyjson.wasm", &std::fs::read(&good).unwrap());
    let render_limits = metrics_host::plugin::RenderLimits { deadline: Duration::from_secs(2), ..Default::default() };
    let config = ServeConfig { render_limits, ..ServeConfig::default() };
    let registry = Registry::new();
    registry.gauge_family("queued", "messages queued", &["queue"]).unwrap().with_label_values(&["a\"b"]).unwrap().set(1.0);
    let (server, renderers, _watcher) = start_with_plugins_and(config, registry, plugins.path(), None).await;
    let addr = server.local_addr;
    assert_eq!(entry(addr).await["state"], "serving", "{}", entry(addr).await);
    assert_eq!(served_version(addr).await, "v1");

    for (wasm, says, _) in &bugs {
        install_plugin(plugins.path(), "pyjson.wasm", &std::fs::read(wasm).unwrap());
        let reload = tokio::spawn({
            let renderers = renderers.clone();
            async move { renderers.reload().await }
        });
        let mut scrapes = 0;
        while !reload.is_finished() {
            assert_eq!(served_version(addr).await, "v1", "{}: went live", wasm.display());
            scrapes += 1;
        }
        reload.await.unwrap();
        let entry = entry(addr).await;
        assert_eq!(entry["state"], "serving previous version", "{}: {entry}", wasm.display());
        let error = entry["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("failed its preflight") && error.contains(says), "{}: {error}", wasm.display());
        assert_eq!(served_version(addr).await, "v1");
        eprintln!("{}: refused; {scrapes} scrapes during the swap", wasm.display());
    }
    server.stop().await.unwrap();

    for (wasm, _, check_says) in &bugs {
        let (ok, report) = run(binary, &["plugin", "check", wasm.to_str().unwrap(), "--render-timeout-ms", "2000"], &project);
        assert!(!ok && report.ends_with("result: FAIL\n"), "{}: {report}", wasm.display());
        for says in *check_says {
            assert!(report.contains(says), "{}: expected {says:?} in\n{report}", wasm.display());
        }
    }
    let (ok, report) = run(binary, &["plugin", "check", good.to_str().unwrap()], &project);
    assert!(ok && report.ends_with("result: ok\n"), "{report}");
}
