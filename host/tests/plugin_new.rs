//! `metrics-host plugin new`: a new Rust format, from the template to
//! served by a running server, outside the repository: its own test
//! passes, it builds for wasm32-wasip2, `plugin check` passes, and a
//! server hot-loads it and serves its output.
mod common;

use common::{get, install_plugin, post, start_with_plugins};
use metrics_host::registry::Registry;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn run(program: &str, args: &[&str], dir: &Path, target_dir: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        // What the outer cargo sets for itself must not leak into the project's build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_rust_format_goes_from_template_to_served() {
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    // Compiled dependencies are kept between runs (the project itself is new each time).
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugin-new");
    let binary = env!("CARGO_BIN_EXE_metrics-host");
    run(binary, &["plugin", "new", "queue_lines", "--dir", work.path().to_str().unwrap()], work.path(), &target_dir);
    let project = work.path().join("queue_lines");
    assert!(project.join("wit/renderer.wit").exists() && project.join("README.md").exists());
    let refused = Command::new(binary).args(["plugin", "new", "queue_lines", "--dir", work.path().to_str().unwrap()]).output().unwrap();
    assert!(!refused.status.success(), "an existing folder is never overwritten");
    let refused = Command::new(binary).args(["plugin", "new", "Bad-Name", "--dir", work.path().to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a plugin name"));

    let tests = run("cargo", &["test", "--quiet"], &project, &target_dir);
    // Its own tests, one of which reads back label values holding the
    // delimiters of common formats (it failed while `;` as the label
    // separator was written raw).
    assert!(tests.contains("3 passed"), "{tests}");
    run("cargo", &["build", "--release", "--target", "wasm32-wasip2"], &project, &target_dir);
    let wasm = target_dir.join("wasm32-wasip2/release/queue_lines.wasm");
    let report = run(binary, &["plugin", "check", wasm.to_str().unwrap()], &project, &target_dir);
    assert!(report.ends_with("result: ok\n"), "{report}");

    // Hot-loaded into a running server, served at ?format=queue_lines.
    let registry = Registry::new();
    let queues = registry.gauge_family("queued", "messages queued", &["queue", "tenant"]).unwrap();
    queues.with_label_values(&["a b=c", "t1"]).unwrap().set(3.0);
    let plugins = tempfile::tempdir().unwrap();
    let (server, _renderers, _watcher) = start_with_plugins(registry, plugins.path(), None).await;
    install_plugin(plugins.path(), "queue_lines.wasm", &std::fs::read(&wasm).unwrap());
    let report = post(server.local_addr, "/-/reload").await;
    assert!(report.text().contains("queue_lines.wasm"), "{}", report.text());
    let r = get(server.local_addr, "/metrics?format=queue_lines", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("queued queue=a\\ b\\=c,tenant=t1 3\n"), "{}", r.text());

    // Settings beside the plugin: accepted ones take effect, refused ones
    // keep the previous version serving and say why.
    std::fs::write(plugins.path().join("queue_lines.toml"), "label_separator = \";\"\n").unwrap();
    post(server.local_addr, "/-/reload").await;
    let text = get(server.local_addr, "/metrics?format=queue_lines", &[]).await.text();
    assert!(text.contains("queued queue=a\\ b\\=c;tenant=t1 3\n"), "{text}");
    std::fs::write(plugins.path().join("queue_lines.toml"), "colour = \"red\"\n").unwrap();
    post(server.local_addr, "/-/reload").await;
    let listing = get(server.local_addr, "/-/plugins", &[]).await.text();
    assert!(
        listing.contains("refused its settings: unknown setting \\\"colour\\\"") && listing.contains("serving previous version"),
        "{listing}"
    );
    let text = get(server.local_addr, "/metrics?format=queue_lines", &[]).await.text();
    assert!(text.contains(";tenant=t1 3\n"), "the previous version and settings keep serving: {text}");
    server.stop().await.unwrap();
    eprintln!("plugin new -> served in {:.0} s", started.elapsed().as_secs_f64());
}

/// The Python template: its helpers' test passes with plain Python, it
/// builds with componentize-py (from `make test-deps`), `plugin check`
/// passes, and a server serves it, non-ASCII labels intact.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_python_format_goes_from_template_to_served() {
    let work = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_metrics-host");
    let scratch = work.path().join("target");
    run(binary, &["plugin", "new", "py_lines", "--lang", "python", "--dir", work.path().to_str().unwrap()], work.path(), &scratch);
    let project = work.path().join("py_lines");
    let python = common::validators::python();
    let tests = run(&python, &["-m", "unittest", "test_helpers", "test_line_format"], &project, &scratch);
    assert!(tests.contains("Ran 6 tests") && tests.contains("OK"), "{tests}");
    let componentize = Path::new(&python).with_file_name("componentize-py");
    if common::tools::missing(&[&format!("file:{}", componentize.display())]) {
        return;
    }
    let componentize = componentize.to_str().unwrap();
    run(componentize, &["-d", "wit", "-w", "renderer-plugin", "componentize", "app", "-o", "py_lines.wasm"], &project, &scratch);
    let wasm = project.join("py_lines.wasm");
    let report = run(binary, &["plugin", "check", wasm.to_str().unwrap()], &project, &scratch);
    assert!(report.ends_with("result: ok\n"), "{report}");
    serves_with_its_setting("py_lines", &wasm).await;
}

/// The JavaScript template: its helpers' test passes with plain Node, it
/// builds with componentize-js (`make js-tools`), `plugin check` passes,
/// and a server serves it, non-ASCII labels intact.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_javascript_format_goes_from_template_to_served() {
    let work = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_metrics-host");
    let scratch = work.path().join("target");
    run(binary, &["plugin", "new", "js_lines", "--lang", "js", "--dir", work.path().to_str().unwrap()], work.path(), &scratch);
    let project = work.path().join("js_lines");
    let tests = run("node", &["--test", "test_helpers.mjs", "test_line_format.mjs"], &project, &scratch);
    assert!(tests.contains("# pass 6") && tests.contains("# fail 0"), "{tests}");
    let componentize = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/js-tools/node_modules/.bin/componentize-js");
    if common::tools::missing(&[&format!("file:{}", componentize.display())]) {
        return;
    }
    let args = ["app.js", "--wit", "wit", "-n", "renderer-plugin", "-d", "http", "fetch-event", "-o", "js_lines.wasm"];
    run(componentize.to_str().unwrap(), &args, &project, &scratch);
    let wasm = project.join("js_lines.wasm");
    let report = run(binary, &["plugin", "check", wasm.to_str().unwrap()], &project, &scratch);
    assert!(report.ends_with("result: ok\n"), "{report}");
    serves_with_its_setting("js_lines", &wasm).await;
}

/// Reloads the plugins folder and follows the listing until `file` serves
/// (a large component compiles for longer than a reload answer waits).
async fn wait_until_serving(addr: std::net::SocketAddr, file: &str) {
    post(addr, "/-/reload").await;
    let started = Instant::now();
    loop {
        let listing: serde_json::Value = serde_json::from_str(&get(addr, "/-/plugins", &[]).await.text()).unwrap();
        let entry = listing["plugins"].as_array().unwrap().iter().find(|p| p["file"] == file).cloned();
        match entry.as_ref().map(|e| e["state"].as_str().unwrap_or("")) {
            Some("serving") => return,
            Some("failed") => panic!("{file} failed to load: {entry:?}"),
            _ => {}
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(180), "{file} not serving after 180 s: {entry:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Serves the template's `name` from `wasm`, its label values (non-ASCII
/// and escaped) intact; then its `label_separator` setting, read again by
/// every render (configure's state is gone there); a refused one keeps the
/// previous settings serving.
async fn serves_with_its_setting(name: &str, wasm: &Path) {
    let registry = Registry::new();
    let queues = registry.gauge_family("queued", "messages queued", &["queue", "tenant"]).unwrap();
    queues.with_label_values(&["ümlaut b", "t1"]).unwrap().set(1.5);
    let plugins = tempfile::tempdir().unwrap();
    let (server, renderers, _watcher) = start_with_plugins(registry, plugins.path(), None).await;
    install_plugin(plugins.path(), &format!("{name}.wasm"), &std::fs::read(wasm).unwrap());
    wait_until_serving(server.local_addr, &format!("{name}.wasm")).await;
    let path = format!("/metrics?format={name}");
    let r = get(server.local_addr, &path, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("queued queue=ümlaut\\ b,tenant=t1 1.5\n"), "{}", r.text());
    std::fs::write(plugins.path().join(format!("{name}.toml")), "label_separator = \";\"\n").unwrap();
    renderers.reload().await;
    let text = get(server.local_addr, &path, &[]).await.text();
    assert!(text.contains("queued queue=ümlaut\\ b;tenant=t1 1.5\n"), "{text}");
    std::fs::write(plugins.path().join(format!("{name}.toml")), "label_separator = \"=\"\n").unwrap();
    renderers.reload().await;
    let listing = get(server.local_addr, "/-/plugins", &[]).await.text();
    assert!(listing.contains("label_separator must be one ASCII punctuation character"), "{listing}");
    let text = get(server.local_addr, &path, &[]).await.text();
    assert!(text.contains(";tenant=t1 1.5\n"), "{text}");
    server.stop().await.unwrap();
}
