//! Plugins: loading a folder, overriding and restoring built-in formats,
//! hot swapping under load, broken files, the listing, the compiled cache,
//! and content negotiation with a loaded OpenMetrics plugin.
mod common;

use common::{component_bytes, get, install_plugin, is_self_metric, post, start_with_plugins, start_with_plugins_and};
use metrics_host::config::ServeConfig;
use metrics_host::http::negotiate::NegotiableFormats;
use metrics_host::plugin::ArtifactCache;
use metrics_host::registry::Registry;
use serde_json::Value;
use std::time::{Duration, Instant};

fn registry() -> Registry {
    let registry = Registry::new();
    registry.gauge("lua_count", "lua contexts").unwrap().set(2.0);
    registry.counter("total_messages_delivered", "delivered").unwrap().inc_by(9);
    registry
}

async fn listing(addr: std::net::SocketAddr) -> Value {
    let r = get(addr, "/-/plugins", &[]).await;
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

fn plugin<'a>(listing: &'a Value, file: &str) -> Option<&'a Value> {
    listing["plugins"].as_array().unwrap().iter().find(|p| p["file"] == file)
}

/// Every line names the same version and the output is complete.
fn check_marker_output(text: &str) -> &'static str {
    let version = if text.starts_with("marker v1 ") {
        "v1"
    } else if text.starts_with("marker v2 ") {
        "v2"
    } else {
        panic!("unexpected output: {:?}", &text[..text.len().min(80)])
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5001, "complete output");
    assert!(lines[..5000].iter().all(|l| l.starts_with(&format!("marker {version} "))), "one version per response");
    assert_eq!(lines[5000], format!("end {version}"));
    version
}

#[tokio::test(flavor = "multi_thread")]
async fn folder_plugins_override_builtins_and_removal_restores_them() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    let (server, _renderers, _watcher) = start_with_plugins(registry(), dir.path(), None).await;
    let addr = server.local_addr;

    let om = get(addr, "/metrics?format=openmetrics", &[]).await;
    assert_eq!(om.status, 200);
    assert_eq!(om.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"));
    assert!(om.text().ends_with("# EOF\n"));
    assert!(om.text().contains("total_messages_delivered_total 9\n"));

    let l = listing(addr).await;
    let entry = plugin(&l, "openmetrics.wasm").expect("listed");
    assert_eq!(entry["state"], "serving");
    assert_eq!(entry["wit_version"], "0.3.0");
    assert_eq!(entry["content_hash"].as_str().unwrap().len(), 64);
    assert_eq!(entry["formats"][0]["name"], "openmetrics");
    assert!(plugin(&l, "builtin").is_some());

    // Override the built-in `prometheus`, then remove the override.
    install_plugin(dir.path(), "marker.wasm", &component_bytes("test-plugins", "marker-v1.wasm"));
    let report: Value = serde_json::from_slice(&post(addr, "/-/reload").await.body).unwrap();
    assert_eq!(report["loaded"], serde_json::json!(["marker.wasm"]), "{report}");
    check_marker_output(&get(addr, "/metrics", &[]).await.text());
    let l = listing(addr).await;
    let builtin = plugin(&l, "builtin").unwrap();
    let prometheus = builtin["formats"].as_array().unwrap().iter().find(|f| f["name"] == "prometheus").unwrap();
    assert_eq!(prometheus["active"], false, "the plugin serves prometheus now");
    assert_eq!(prometheus["served_by"], "marker");

    // Two plugin files offering one format: the name sorting last serves it.
    install_plugin(dir.path(), "markers.wasm", &component_bytes("test-plugins", "marker-v2.wasm"));
    post(addr, "/-/reload").await;
    let l = listing(addr).await;
    for file in ["marker.wasm", "markers.wasm"] {
        let format = plugin(&l, file).unwrap()["formats"].as_array().unwrap().iter().find(|f| f["name"] == "marker").unwrap().clone();
        assert_eq!((format["active"].as_bool(), format["served_by"].as_str()), (Some(file == "markers.wasm"), Some("markers")), "{file}");
    }
    assert_eq!(check_marker_output(&get(addr, "/metrics?format=marker", &[]).await.text()), "v2");
    std::fs::remove_file(dir.path().join("markers.wasm")).unwrap();
    post(addr, "/-/reload").await;

    std::fs::remove_file(dir.path().join("marker.wasm")).unwrap();
    let report: Value = serde_json::from_slice(&post(addr, "/-/reload").await.body).unwrap();
    assert_eq!(report["removed"], serde_json::json!(["marker.wasm"]));
    let text = get(addr, "/metrics", &[]).await.text();
    assert!(text.contains("lua_count 2\n"), "built-in restored: {text}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn hot_swap_under_load_never_fails_or_mixes_versions() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = component_bytes("test-plugins", "marker-v1.wasm");
    let v2 = component_bytes("test-plugins", "marker-v2.wasm");
    install_plugin(dir.path(), "marker.wasm", &v1);
    let (server, _renderers, _watcher) = start_with_plugins(registry(), dir.path(), None).await;
    let addr = server.local_addr;

    let swaps = 12;
    let swapper = tokio::spawn({
        let dir = dir.path().to_path_buf();
        async move {
            for i in 0..swaps {
                install_plugin(&dir, "marker.wasm", if i % 2 == 0 { &v2 } else { &v1 });
                // Longer than the watcher's quiet period, so each swap is loaded.
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
        }
    });
    let started = Instant::now();
    let mut seen = std::collections::BTreeMap::new();
    let mut scrapes = 0;
    // Bounded in count and time.
    while !swapper.is_finished() && scrapes < 3000 && started.elapsed() < Duration::from_secs(60) {
        let r = get(addr, "/metrics?format=marker", &[]).await;
        assert_eq!(r.status, 200, "scrape {scrapes} failed: {}", String::from_utf8_lossy(&r.body));
        assert!(!r.truncated, "scrape {scrapes} was cut short");
        *seen.entry(check_marker_output(&r.text())).or_insert(0) += 1;
        scrapes += 1;
    }
    swapper.await.unwrap();
    assert!(scrapes >= 20, "enough scrapes overlapped the swaps: {scrapes}");
    assert_eq!(seen.len(), 2, "both versions served during the swaps: {seen:?}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_replacement_keeps_the_good_version_serving() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "marker.wasm", &component_bytes("test-plugins", "marker-v1.wasm"));
    let (server, _renderers, _watcher) = start_with_plugins(registry(), dir.path(), None).await;
    let addr = server.local_addr;

    install_plugin(dir.path(), "marker.wasm", b"this is not a wasm component");
    let report: Value = serde_json::from_slice(&post(addr, "/-/reload").await.body).unwrap();
    assert_eq!(report["failed"], serde_json::json!(["marker.wasm"]));
    assert_eq!(check_marker_output(&get(addr, "/metrics?format=marker", &[]).await.text()), "v1");
    let l = listing(addr).await;
    let entry = plugin(&l, "marker.wasm").unwrap();
    assert_eq!(entry["state"], "serving previous version");
    let error = entry["last_error"].as_str().unwrap();
    assert!(error.contains("marker") && error.contains("not a valid wasm component"), "{error}");

    // A new broken file that never worked is listed as failed, serving nothing.
    install_plugin(dir.path(), "garbage.wasm", &[0, 97, 115, 109, 1, 0, 0, 0]);
    post(addr, "/-/reload").await;
    let l = listing(addr).await;
    assert_eq!(plugin(&l, "garbage.wasm").unwrap()["state"], "failed");
    assert_eq!(get(addr, "/metrics", &[]).await.status, 200, "other formats unaffected");

    // Putting the good file back clears the error.
    install_plugin(dir.path(), "marker.wasm", &component_bytes("test-plugins", "marker-v1.wasm"));
    post(addr, "/-/reload").await;
    let l = listing(addr).await;
    assert_eq!(plugin(&l, "marker.wasm").unwrap()["state"], "serving");
    assert_eq!(plugin(&l, "marker.wasm").unwrap()["last_error"], Value::Null);
    server.stop().await.unwrap();
}

/// The bugs a plugin author makes (found by trying it): each new version
/// with one is refused by its preflight, with the reason, while v1 keeps
/// serving; scrapes during each swap never fail or see the bad version; a
/// new file with a bug serves nothing; the good v2 then goes live.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_version_that_fails_its_preflight_never_goes_live() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "marker.wasm", &component_bytes("test-plugins", "marker-v1.wasm"));
    let render_limits = metrics_host::plugin::RenderLimits { deadline: Duration::from_secs(2), ..Default::default() };
    let config = ServeConfig { render_limits, ..ServeConfig::default() };
    assert!(config.plugin_preflight, "preflight is on by default");
    let (server, _renderers, _watcher) = start_with_plugins_and(config, registry(), dir.path(), None).await;
    let addr = server.local_addr;
    assert_eq!(plugin(&listing(addr).await, "marker.wasm").unwrap()["state"], "serving");

    for (fixture, says) in [
        (
            "marker-v2-nondeterministic.wasm",
            "(deterministic): a second render of the same snapshot wrote different bytes (first difference at line 1, byte ",
        ),
        ("marker-v2-spin-on-empty-family.wasm", "(edge cases): timed out after"),
        ("marker-v2-writes-after-refusal.wasm", "(output refused part-way): its output was refused and it kept writing"),
        ("marker-v2-unescaped-label.wasm", "(edge cases): its output is refused by the strict reader: not valid JSON: "),
    ] {
        install_plugin(dir.path(), "marker.wasm", &component_bytes("test-plugins", fixture));
        let reload = tokio::spawn(post(addr, "/-/reload"));
        let mut scrapes = 0;
        while !reload.is_finished() && scrapes < 500 {
            let r = get(addr, "/metrics?format=marker", &[]).await;
            assert_eq!(r.status, 200, "{fixture}: a scrape during the swap failed: {}", r.text());
            assert_eq!(check_marker_output(&r.text()), "v1", "{fixture} went live");
            scrapes += 1;
        }
        let report: Value = serde_json::from_slice(&reload.await.unwrap().body).unwrap();
        assert_eq!(report["failed"], serde_json::json!(["marker.wasm"]), "{fixture}: {report}");
        let l = listing(addr).await;
        let entry = plugin(&l, "marker.wasm").unwrap();
        assert_eq!(entry["state"], "serving previous version", "{fixture}");
        let error = entry["last_error"].as_str().unwrap();
        assert!(error.contains("failed its preflight") && error.contains(says) && error.contains("does not go live"), "{fixture}: {error}");
        assert_eq!(check_marker_output(&get(addr, "/metrics?format=marker", &[]).await.text()), "v1");
    }

    install_plugin(dir.path(), "fresh.wasm", &component_bytes("test-plugins", "marker-v2-nondeterministic.wasm"));
    post(addr, "/-/reload").await;
    let l = listing(addr).await;
    assert_eq!(plugin(&l, "fresh.wasm").unwrap()["state"], "failed");
    assert_eq!(check_marker_output(&get(addr, "/metrics?format=marker", &[]).await.text()), "v1");

    install_plugin(dir.path(), "marker.wasm", &component_bytes("test-plugins", "marker-v2.wasm"));
    post(addr, "/-/reload").await;
    assert_eq!(plugin(&listing(addr).await, "marker.wasm").unwrap()["state"], "serving");
    assert_eq!(check_marker_output(&get(addr, "/metrics?format=marker", &[]).await.text()), "v2");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_plugins_are_cached_and_bad_cache_entries_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    let cache = ArtifactCache::open(cache_dir.path().join("compiled")).unwrap();
    let (server, _r, _w) = start_with_plugins(registry(), dir.path(), Some(cache.clone())).await;
    server.stop().await.unwrap();
    let entries: Vec<_> = std::fs::read_dir(cache_dir.path().join("compiled")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].extension().is_some_and(|e| e == "cwasm"));

    // A restart loads from the cache; a damaged entry is dropped and recompiled.
    let (server, _r, _w) = start_with_plugins(registry(), dir.path(), Some(cache.clone())).await;
    assert!(get(server.local_addr, "/metrics?format=openmetrics", &[]).await.text().ends_with("# EOF\n"));
    server.stop().await.unwrap();
    std::fs::write(&entries[0], b"damaged").unwrap();
    let (server, _r, _w) = start_with_plugins(registry(), dir.path(), Some(cache)).await;
    assert!(get(server.local_addr, "/metrics?format=openmetrics", &[]).await.text().ends_with("# EOF\n"));
    server.stop().await.unwrap();
    assert!(std::fs::read(&entries[0]).unwrap().len() > 1000, "entry rewritten");
}

/// Prometheus 2.x's scrape Accept header.
const PROMETHEUS_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const TEXT_0_0_4: &str = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";

#[tokio::test(flavor = "multi_thread")]
async fn accept_header_negotiates_openmetrics_only_when_negotiable_and_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let negotiate = NegotiableFormats::new(&["openmetrics".into(), "prometheus".into(), "json".into()]).unwrap();
    let config = ServeConfig { negotiate, ..ServeConfig::default() };
    let (server, _r, _w) = start_with_plugins_and(config, registry(), dir.path(), None).await;
    let addr = server.local_addr;
    let r = get(addr, "/metrics", &[("Accept", PROMETHEUS_ACCEPT)]).await;
    assert_eq!(r.header("content-type"), Some(TEXT_0_0_4));
    let r = get(addr, "/metrics", &[("Accept", "application/xml")]).await;
    assert_eq!(r.status, 406);
    assert!(r.text().contains("prometheus (text/plain"), "{}", r.text());

    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    post(addr, "/-/reload").await;
    let r = get(addr, "/metrics", &[("Accept", PROMETHEUS_ACCEPT)]).await;
    assert_eq!(r.header("content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"));
    assert!(r.text().ends_with("# EOF\n"));
    let r = get(addr, "/metrics", &[("Accept", "application/json")]).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = get(addr, "/metrics", &[]).await;
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"),
        "no Accept: the first negotiable"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_a_dropped_in_openmetrics_plugin_does_not_change_prometheus_scrapes() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry();
    registry.histogram("latency_seconds", "buckets whose le text differs in OpenMetrics", &[1.0, 2.5]).unwrap().observe(2.0);
    let (server, _r, _w) = start_with_plugins(registry, dir.path(), None).await;
    let addr = server.local_addr;
    let before = get(addr, "/metrics", &[("Accept", PROMETHEUS_ACCEPT)]).await;
    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    post(addr, "/-/reload").await;
    assert_eq!(get(addr, "/metrics?format=openmetrics", &[]).await.status, 200, "loaded, and served on request");
    let after = get(addr, "/metrics", &[("Accept", PROMETHEUS_ACCEPT)]).await;
    assert_eq!(after.header("content-type"), Some(TEXT_0_0_4));
    let data_lines = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !is_self_metric(l.trim_start_matches("# HELP ").trim_start_matches("# TYPE ")))
            .map(str::to_string)
            .collect()
    };
    assert!(before.text().contains("latency_seconds_bucket{le=\"1\"} 0\n"), "{}", before.text());
    assert_eq!(data_lines(before.text()), data_lines(after.text()), "same series, same bucket labels");
    let r = get(addr, "/metrics", &[("Accept", "application/openmetrics-text")]).await;
    assert_eq!(r.status, 406, "not negotiable unless the operator says so");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_format_chosen_before_a_hot_swap_is_rendered_by_the_set_it_was_chosen_from() {
    use metrics_host::plugin::sink::WriterSink;
    use metrics_host::render_service::{RenderRefused, RenderRequest, RenderService};
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    let (server, renderers, _watcher) = start_with_plugins(registry(), dir.path(), None).await;
    // Negotiation read the set with the plugin in it; then the plugin goes.
    let chosen_from = renderers.current();
    std::fs::remove_file(dir.path().join("openmetrics.wasm")).unwrap();
    renderers.reload().await;
    assert!(!renderers.current().format_names().contains(&"openmetrics".to_string()));
    let service = RenderService::new(registry(), std::sync::Arc::clone(&renderers), Default::default(), 2, None);
    let request = |renderer_set| RenderRequest { renderer_set, ..RenderRequest::format("openmetrics") };
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let started = service.start(request(Some(chosen_from)), Box::new(WriterSink(Shared(std::sync::Arc::clone(&out))))).unwrap();
    started.task.await.unwrap().unwrap();
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    assert!(text.contains("total_messages_delivered_total 9\n") && text.ends_with("# EOF\n"), "{text}");
    // Without the set it was chosen from, the current one no longer has it.
    let refused = service.start(request(None), Box::new(WriterSink(Vec::new()))).err().unwrap();
    assert!(matches!(refused, RenderRefused::UnknownFormat { .. }), "{refused}");
    server.stop().await.unwrap();
}
