//! Guard rails against hostile plugins, one channel at a time: content
//! negotiation, time (output floods, host-call loops), memory over several
//! linear memories, `formats()` descriptors, error text and stderr, strange
//! files in the plugins folder, and the concurrency bound. Each test uses its
//! own hostile fixture and checks that the bound holds and that the server
//! keeps serving meanwhile.
mod common;

use common::built_components::multi_memory_component;
use common::{component_bytes, get, install_plugin, post, start_with_plugins};
use metrics_host::app::process_memory::resident_bytes;
use metrics_host::config::ServeConfig;
use metrics_host::plugin::catalog::Renderers;
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::{LoadError, RenderLimits, RendererEngine};
use metrics_host::registry::Registry;
use metrics_host::server::{self, RunningServer};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(1);
/// What the acceptance allows beyond the deadline for the answer to arrive.
const MARGIN: Duration = Duration::from_secs(1);

/// Memory measurements need the process to themselves.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn registry() -> Registry {
    let registry = Registry::new();
    registry.gauge("lua_count", "lua contexts").unwrap().set(1.0);
    registry
}

fn limits() -> RenderLimits {
    RenderLimits { deadline: DEADLINE, memory_bytes: 64 << 20, output_bytes: 8 << 20 }
}

/// The built-ins plus `plugins` (name, component), served with `config`.
async fn server_with(plugins: Vec<(&str, Vec<u8>)>, config: ServeConfig) -> RunningServer {
    let engine = RendererEngine::new().unwrap();
    let mut set = RendererSet::builtin(&engine).await.unwrap();
    for (name, bytes) in plugins {
        set = set.with_plugin(Arc::new(engine.load(name, &bytes).await.unwrap()));
    }
    let config = ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), render_limits: limits(), ..config };
    server::start(&config, registry(), Arc::new(Renderers::fixed(engine, set))).await.unwrap()
}

async fn hostile_server() -> RunningServer {
    server_with(vec![("hostile", component_bytes("test-plugins", "hostile.wasm"))], ServeConfig::default()).await
}

/// The built-in answers `/metrics?format=json` within 1 s.
async fn builtin_answers_fast(addr: std::net::SocketAddr) {
    let started = Instant::now();
    let r = get(addr, "/metrics?format=json", &[]).await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "built-in took {:?}", started.elapsed());
}

/// Highest resident memory of this process while `work` runs.
async fn peak_rss_during<F: std::future::Future>(work: F) -> (F::Output, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(resident_bytes().unwrap()));
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(resident_bytes().unwrap(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let out = work.await;
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (out, peak.load(Ordering::Relaxed))
}

/// Prometheus 2.x's scrape Accept header, exactly.
const PROMETHEUS_SCRAPE_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_text_plugin_sorting_first_never_takes_prometheus_scrapes() {
    let _serial = SERIAL.lock().await;
    // Its one format, `grow`, says only `text/plain` and sorts before `prometheus`.
    let server = server_with(vec![("aaa", multi_memory_component(1, false))], ServeConfig::default()).await;
    let addr = server.local_addr;
    assert_eq!(get(addr, "/metrics?format=grow", &[]).await.status, 200, "the plugin is loaded and serves on request");
    for accept in [PROMETHEUS_SCRAPE_ACCEPT, "text/plain;version=0.0.4", "*/*", "text/plain"] {
        let r = get(addr, "/metrics", &[("Accept", accept)]).await;
        assert_eq!(r.status, 200, "{accept}");
        assert_eq!(r.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores"), "{accept}");
        assert!(r.text().contains("lua_count 1\n"), "{accept}: the built-in answers");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn one_memory_cap_covers_every_memory_of_a_render() {
    let _serial = SERIAL.lock().await;
    // Six extra memories, each grown until refused and written in full:
    // with a cap per memory this would be 6 x 64 MiB.
    let server = server_with(vec![("multi", multi_memory_component(6, true))], ServeConfig::default()).await;
    let addr = server.local_addr;
    get(addr, "/metrics?format=json", &[]).await;
    let before = resident_bytes().unwrap();
    let (r, peak) = peak_rss_during(get(addr, "/metrics?format=grow", &[])).await;
    assert_eq!(r.status, 500);
    assert!(r.text().contains("ran out of memory (limit 67108864 bytes)"), "{}", r.text());
    let grown = peak.saturating_sub(before);
    assert!(grown < (64 + 48) << 20, "memory grew {} MiB during one render capped at 64 MiB", grown >> 20);
    builtin_answers_fast(addr).await;
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn output_floods_and_host_call_loops_end_within_the_deadline() {
    let _serial = SERIAL.lock().await;
    for format in ["trickle", "empty-writes", "batch-spin"] {
        let server = hostile_server().await;
        let addr = server.local_addr;
        let started = Instant::now();
        let attack = tokio::spawn(async move { get(addr, &format!("/metrics?format={format}"), &[]).await });
        builtin_answers_fast(addr).await;
        let r = attack.await.unwrap();
        let elapsed = started.elapsed();
        assert!(elapsed < DEADLINE + MARGIN, "{format}: the response lasted {elapsed:?}");
        assert!(r.status == 500 || (r.status == 200 && r.truncated), "{format}: {} truncated={}", r.status, r.truncated);
        let doc: Value = serde_json::from_str(&get(addr, "/metrics?format=json", &[]).await.text()).unwrap();
        let renders = doc["metrics_host_renders_total"]["value"].as_array().unwrap();
        assert!(
            renders.iter().any(|r| r["format"] == format && (r["outcome"] == "timed_out" || r["outcome"] == "too_many_calls")),
            "{format}: {renders:?}"
        );
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_error_text_is_cut_and_the_last_stderr_line_explains_a_trap() {
    let _serial = SERIAL.lock().await;
    let server = hostile_server().await;
    let addr = server.local_addr;
    let r = get(addr, "/metrics?format=long-error", &[]).await;
    assert_eq!(r.status, 500);
    assert!(r.body.len() < 5000, "a 10 MB plugin message became a {} byte body", r.body.len());
    assert!(r.text().contains("more bytes cut"), "{}", &r.text()[..200]);
    let r = get(addr, "/metrics?format=chatty", &[]).await;
    assert_eq!(r.status, 500);
    assert!(r.text().contains("last stderr line: \"last words: the plugin gives up\""), "{}", r.text());
    assert!(r.body.len() < 5000);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn formats_that_break_the_rules_are_refused_with_a_short_reason() {
    let _serial = SERIAL.lock().await;
    let engine = RendererEngine::new().unwrap();
    for (fixture, says) in [
        ("formats-many.wasm", "offers 100000 formats; at most 64"),
        ("formats-huge-name.wasm", "must match [a-z0-9][a-z0-9_.-]{0,63}"),
        ("formats-bad-name.wasm", "\"evil\\nname/../x\""),
    ] {
        let started = Instant::now();
        let err = engine.load("bad", &component_bytes("test-plugins", fixture)).await.err().expect("refused");
        assert!(matches!(err, LoadError::FormatRules { .. }), "{fixture}: {err}");
        let message = err.to_string();
        assert!(message.contains(says), "{fixture}: {message}");
        assert!(message.len() < 512, "{fixture}: a {} byte reason", message.len());
        assert!(started.elapsed() < Duration::from_secs(10), "{fixture}: {:?}", started.elapsed());
    }
    let started = Instant::now();
    let err = engine.load("spin", &component_bytes("test-plugins", "formats-spin.wasm")).await.err().expect("refused");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "formats() is bounded: {:?}", started.elapsed());

    let server = hostile_server().await;
    let r = get(server.local_addr, "/metrics?format=", &[]).await;
    assert_eq!(r.status, 400, "an empty format name is unknown");
    server.stop().await.unwrap();
}

fn listed<'a>(listing: &'a Value, file: &str) -> &'a Value {
    listing["plugins"].as_array().unwrap().iter().find(|p| p["file"] == file).unwrap_or_else(|| panic!("{file} listed: {listing}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn strange_files_in_the_plugins_folder_are_listed_with_a_reason_and_never_block() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let before = resident_bytes().unwrap();
    std::fs::File::create(dir.path().join("huge.wasm")).unwrap().set_len(3 << 29).unwrap(); // 1.5 GiB, sparse
    common::mkfifo(&dir.path().join("pipe.wasm"));
    std::fs::create_dir(dir.path().join("dir.wasm")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("dev.wasm")).unwrap();
    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    let (server, _renderers, _watcher) = start_with_plugins(registry(), dir.path(), None).await;
    let addr = server.local_addr;

    let listing: Value = serde_json::from_slice(&get(addr, "/-/plugins", &[]).await.body).unwrap();
    for (file, reason) in
        [("huge.wasm", "over the plugin size limit"), ("pipe.wasm", "a FIFO"), ("dir.wasm", "a directory"), ("dev.wasm", "a device")]
    {
        let entry = listed(&listing, file);
        assert_eq!(entry["state"], "skipped", "{file}: {entry}");
        assert!(entry["last_error"].as_str().unwrap().contains(reason), "{file}: {entry}");
    }
    assert_eq!(listed(&listing, "openmetrics.wasm")["state"], "serving");

    // The serving plugin's file becomes a FIFO: a reload neither blocks nor drops the serving version.
    std::fs::remove_file(dir.path().join("openmetrics.wasm")).unwrap();
    common::mkfifo(&dir.path().join("openmetrics.wasm"));
    let started = Instant::now();
    let r = post(addr, "/-/reload").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(2), "reload took {:?}", started.elapsed());
    let listing: Value = serde_json::from_slice(&get(addr, "/-/plugins", &[]).await.body).unwrap();
    let entry = listed(&listing, "openmetrics.wasm");
    assert_eq!(entry["state"], "serving previous version", "{entry}");
    assert!(entry["last_error"].as_str().unwrap().contains("a FIFO"), "{entry}");
    assert_eq!(get(addr, "/metrics?format=openmetrics", &[]).await.status, 200);
    builtin_answers_fast(addr).await;
    let grown = resident_bytes().unwrap().saturating_sub(before);
    assert!(grown < 64 << 20, "resident memory grew {} MiB", grown >> 20);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn renders_beyond_the_concurrency_bound_get_503_at_once() {
    let _serial = SERIAL.lock().await;
    let config = ServeConfig { max_concurrent_renders: 1, ..ServeConfig::default() };
    let server = server_with(vec![("hostile", component_bytes("test-plugins", "hostile.wasm"))], config).await;
    let addr = server.local_addr;
    // The spin holds the only permit for its whole deadline; within it, a
    // second request is refused at once. (If a scrape took the permit just as
    // the spin arrived, the spin is the one refused: try again.)
    let mut refused = None;
    for _attempt in 0..5 {
        let spin = tokio::spawn(async move { get(addr, "/metrics?format=spin", &[]).await.status });
        while !spin.is_finished() {
            let started = Instant::now();
            let r = get(addr, "/metrics?format=json", &[]).await;
            if r.status == 503 {
                refused = Some((r, started.elapsed()));
                break;
            }
            assert_eq!(r.status, 200);
        }
        let spin_status = spin.await.unwrap();
        if refused.is_some() {
            assert_eq!(spin_status, 500, "the spin render times out");
            break;
        }
        assert_eq!(spin_status, 503, "the spin ran its whole deadline and no other render was refused");
    }
    let (refused, after) = refused.expect("a render beyond the bound was refused");
    assert!(after < Duration::from_millis(500), "refused after {after:?}");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(refused.text().contains("1 renders are already running"), "{}", refused.text());
    assert_eq!(get(addr, "/metrics?format=json", &[]).await.status, 200, "the permit is back");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_timeout_header_shortens_the_render_deadline() {
    let _serial = SERIAL.lock().await;
    let engine = RendererEngine::new().unwrap();
    let hostile = engine.load("hostile", &component_bytes("test-plugins", "hostile.wasm")).await.unwrap();
    let set = RendererSet::builtin(&engine).await.unwrap().with_plugin(Arc::new(hostile));
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        render_limits: RenderLimits { deadline: Duration::from_secs(30), ..limits() },
        ..ServeConfig::default()
    };
    let server = server::start(&config, registry(), Arc::new(Renderers::fixed(engine, set))).await.unwrap();
    let addr = server.local_addr;
    // 1.3 s from Prometheus, minus the default 500 ms offset.
    let started = Instant::now();
    let r = get(addr, "/metrics?format=spin", &[("X-Prometheus-Scrape-Timeout-Seconds", "1.3")]).await;
    assert_eq!(r.status, 500);
    assert!(r.text().contains("timed out after 800ms"), "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    for ignored in ["soon", "-1", "NaN", ""] {
        let r = get(addr, "/metrics?format=json", &[("X-Prometheus-Scrape-Timeout-Seconds", ignored)]).await;
        assert_eq!(r.status, 200, "{ignored:?} is ignored");
    }
    server.stop().await.unwrap();
}
