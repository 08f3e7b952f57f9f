//! Guard rails of the `metrics-host` binary against plugins that are costly
//! before they ever render: the server listens before plugins load, a compile
//! runs in a limited child process (time and memory) that leaves nothing
//! behind in the server, strange files never block it, and SIGTERM exits
//! promptly while a compile is under way.
mod common;

use common::built_components::slow_to_compile_component;
use common::served_process::Server;
use common::{component_bytes, get, install_plugin};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Blocks of the slow-to-compile fixture: a 2 MB component that took 26 s
/// and 1.6 GB to compile on this machine (4x the blocks is over wasmparser's
/// function size limit).
const SLOW_BLOCKS: usize = 60_000;

/// A plugins folder and a compiled-plugin cache of the test's own.
struct Folders {
    plugins: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Folders {
    fn new() -> Self {
        Folders { plugins: tempfile::tempdir().unwrap(), cache: tempfile::tempdir().unwrap() }
    }

    fn path(&self) -> &std::path::Path {
        self.plugins.path()
    }

    /// `metrics-host serve` with these folders and `extra` flags.
    fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["--plugins", self.plugins.path().to_str().unwrap(), "--plugin-cache", self.cache.path().to_str().unwrap()];
        args.extend_from_slice(extra);
        Server::start(&args)
    }
}

async fn listing(addr: std::net::SocketAddr) -> Value {
    let started = Instant::now();
    let r = get(addr, "/-/plugins", &[]).await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "the listing took {:?}", started.elapsed());
    serde_json::from_slice(&r.body).unwrap()
}

fn state_of(listing: &Value, file: &str) -> (String, String) {
    let entry = listing["plugins"].as_array().unwrap().iter().find(|p| p["file"] == file).unwrap_or_else(|| panic!("{file}: {listing}"));
    (entry["state"].as_str().unwrap().to_string(), entry["last_error"].as_str().unwrap_or("").to_string())
}

/// The built-in answers `/metrics?format=json` within 1 s (`json` is a
/// format only the built-in offers in these tests).
async fn metrics_answer_fast(addr: std::net::SocketAddr) {
    let started = Instant::now();
    let r = get(addr, "/metrics?format=json", &[]).await;
    assert_eq!(r.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1), "/metrics took {:?}", started.elapsed());
}

/// Polls the listing until no entry is `loading` (at most `limit`), checking
/// the server stays responsive; returns the last listing and the highest
/// resident memory seen. Every file of the folder is listed from the start.
async fn wait_until_loaded(server: &Server, limit: Duration) -> (Value, u64) {
    let addr = server.socket_addr();
    let deadline = Instant::now() + limit;
    let mut peak = 0;
    loop {
        peak = peak.max(server.rss_bytes());
        metrics_answer_fast(addr).await;
        let l = listing(addr).await;
        if !l["plugins"].as_array().unwrap().iter().any(|p| p["state"] == "loading") {
            return (l, peak);
        }
        assert!(Instant::now() < deadline, "plugins still loading after {limit:?}: {l}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_listens_at_once_and_costly_plugins_load_behind_it_within_bounds() {
    let dir = Folders::new();
    for i in 0..10 {
        install_plugin(dir.path(), &format!("spin{i}.wasm"), &component_bytes("test-plugins", "formats-spin.wasm"));
    }
    install_plugin(dir.path(), "slow.wasm", &slow_to_compile_component(SLOW_BLOCKS));
    std::fs::File::create(dir.path().join("huge.wasm")).unwrap().set_len(3 << 29).unwrap();
    install_plugin(dir.path(), "openmetrics.wasm", &component_bytes("plugins", "openmetrics.wasm"));
    let started = Instant::now();
    let server = dir.serve(&["--plugin-compile-timeout-ms", "1500"]);
    let addr = server.socket_addr();
    assert!(started.elapsed() < Duration::from_secs(10), "listening took {:?}", started.elapsed());
    let baseline = server.rss_bytes();
    let first = listing(addr).await;
    assert_eq!(first["plugins"].as_array().unwrap().len(), 14, "the built-in and every file, from the start: {first}");
    assert!(first["plugins"].as_array().unwrap().iter().any(|p| p["state"] == "loading"), "loading shows: {first}");
    metrics_answer_fast(addr).await;

    let (done, peak) = wait_until_loaded(&server, Duration::from_secs(90)).await;
    let (state, error) = state_of(&done, "slow.wasm");
    assert_eq!(state, "failed");
    assert!(error.contains("longer than the limit of 1.5s"), "{error}");
    for i in 0..10 {
        let (state, error) = state_of(&done, &format!("spin{i}.wasm"));
        assert_eq!(state, "failed");
        assert!(error.contains("timed out"), "{error}");
    }
    assert_eq!(state_of(&done, "huge.wasm").0, "skipped");
    assert_eq!(state_of(&done, "openmetrics.wasm").0, "serving");
    assert_eq!(get(addr, "/metrics?format=openmetrics", &[]).await.status, 200);
    assert!(peak < 1 << 30, "server peaked at {} MiB", peak >> 20);
    let after = server.rss_bytes();
    assert!(after < baseline + (64 << 20), "server resident memory {} MiB after loading, {} MiB before", after >> 20, baseline >> 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_plugin_compiles_outside_the_server_and_leaves_nothing_behind_when_removed() {
    let dir = Folders::new();
    // Compiles in about 7 s and 550 MB here; 3.5 MB of compiled code.
    install_plugin(dir.path(), "large.wasm", &common::built_components::large_renderer_component(20_000));
    // This test is about memory: a busy machine may take long to compile.
    let server = dir.serve(&["--plugin-compile-timeout-ms", "300000"]);
    let addr = server.socket_addr();
    let baseline = server.rss_bytes();
    let (loaded, peak) = wait_until_loaded(&server, Duration::from_secs(320)).await;
    assert_eq!(state_of(&loaded, "large.wasm").0, "serving", "{loaded}");
    assert_eq!(get(addr, "/metrics?format=grow", &[]).await.status, 200);
    assert!(peak < baseline + (64 << 20), "server peaked at {} MiB from {} MiB while compiling", peak >> 20, baseline >> 20);
    std::fs::remove_file(dir.path().join("large.wasm")).unwrap();
    assert_eq!(common::post(addr, "/-/reload").await.status, 200);
    let l = listing(addr).await;
    assert!(!l["plugins"].as_array().unwrap().iter().any(|p| p["file"] == "large.wasm"), "removed: {l}");
    let after = server.rss_bytes();
    assert!(after < baseline + (64 << 20), "{} MiB after removal, {} MiB before", after >> 20, baseline >> 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compile_over_its_memory_limit_fails_in_the_child_and_the_server_stays_small() {
    let dir = Folders::new();
    install_plugin(dir.path(), "slow.wasm", &slow_to_compile_component(SLOW_BLOCKS));
    let server = dir.serve(&["--plugin-compile-memory-mb", "256"]);
    let baseline = server.rss_bytes();
    let (done, peak) = wait_until_loaded(&server, Duration::from_secs(90)).await;
    let (state, error) = state_of(&done, "slow.wasm");
    assert_eq!(state, "failed");
    assert!(error.contains("compile memory limit 256 MiB") || error.contains("memory allocation"), "{error}");
    assert!(peak < baseline + (64 << 20), "server peaked at {} MiB from {} MiB", peak >> 20, baseline >> 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_promptly_while_a_compile_is_under_way() {
    let dir = Folders::new();
    install_plugin(dir.path(), "slow.wasm", &slow_to_compile_component(SLOW_BLOCKS));
    let mut server = dir.serve(&[]);
    let addr = server.socket_addr();
    assert_eq!(state_of(&listing(addr).await, "slow.wasm").0, "loading");
    let appears_by = Instant::now() + Duration::from_secs(10);
    let compilers = loop {
        let found = compiler_children(server.child.id());
        if !found.is_empty() {
            break found;
        }
        assert!(Instant::now() < appears_by, "no compile-plugin child started");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(compilers.len(), 1, "one compile at a time");
    // A reload request waits behind the compile.
    let reload = tokio::spawn(async move { common::post(addr, "/-/reload").await.status });
    metrics_answer_fast(addr).await;
    server.signal("TERM");
    let started = Instant::now();
    let status = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "exit status after {:?}", started.elapsed());
    // The compiler does not outlive the server.
    let deadline = Instant::now() + Duration::from_secs(2);
    while std::path::Path::new(&format!("/proc/{}", compilers[0])).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", compilers[0])).unwrap_or_default();
        if stat.contains(") Z ") {
            break; // a zombie holds no memory
        }
        assert!(Instant::now() < deadline, "compile-plugin child {} still alive", compilers[0]);
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = reload.await;
}

/// Process ids of `compile-plugin` children of `parent`.
fn compiler_children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat.rsplit_once(") ").and_then(|(_, rest)| rest.split(' ').nth(1)).and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if ppid == Some(parent) && cmdline.windows(14).any(|w| w == b"compile-plugin") {
            found.push(pid);
        }
    }
    found
}

/// One attack: while it runs, the built-in answers within 1 s, the listing
/// and a reload answer, and the server's memory is sampled.
async fn attack(server: &Server, format: &str, deadline: Duration) -> u64 {
    let addr = server.socket_addr();
    let target = format!("/metrics?format={format}");
    let started = Instant::now();
    let hostile = tokio::spawn(async move { get(addr, &target, &[]).await });
    let mut peak = server.rss_bytes();
    while !hostile.is_finished() {
        peak = peak.max(server.rss_bytes());
        let t = Instant::now();
        assert_eq!(get(addr, "/metrics?format=json", &[]).await.status, 200, "{format}: built-in");
        listing(addr).await;
        let r = common::post(addr, "/-/reload").await;
        assert_eq!(r.status, 200, "{format}: reload");
        assert!(t.elapsed() < Duration::from_secs(3), "{format}: the server answered slowly during the attack: {:?}", t.elapsed());
    }
    let r = hostile.await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < deadline + Duration::from_secs(1), "{format}: answered after {elapsed:?}");
    assert!(r.status >= 400 || r.truncated, "{format}: status {} truncated {}", r.status, r.truncated);
    assert!(r.body.len() < 16 << 20, "{format}: {} bytes", r.body.len());
    peak.max(server.rss_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_of_hostile_plugins_cannot_stall_bloat_or_keep_the_server_from_stopping() {
    let dir = Folders::new();
    // Copies of the hostile plugin, each with its own circuit breaker, so
    // every attack reaches a plugin rather than a tripped breaker.
    for i in 0..4 {
        install_plugin(dir.path(), &format!("hostile{i}.wasm"), &component_bytes("test-plugins", "hostile.wasm"));
    }
    install_plugin(dir.path(), "multi.wasm", &common::built_components::multi_memory_component(6, true));
    for bad in ["formats-many", "formats-huge-name", "formats-bad-name"] {
        install_plugin(dir.path(), &format!("{bad}.wasm"), &component_bytes("test-plugins", &format!("{bad}.wasm")));
    }
    std::fs::File::create(dir.path().join("sparse.wasm")).unwrap().set_len(3 << 29).unwrap();
    common::mkfifo(&dir.path().join("fifo.wasm"));
    let mut server = dir.serve(&[
        "--no-plugin-preflight",
        "--render-timeout-ms",
        "1000",
        "--render-memory-mb",
        "64",
        "--render-output-mb",
        "8",
        "--client-timeout-ms",
        "1000",
    ]);
    let addr = server.socket_addr();
    let (loaded, _) = wait_until_loaded(&server, Duration::from_secs(120)).await;
    assert!(serde_json::to_vec(&loaded).unwrap().len() < 64 << 10, "the listing stays small: {loaded}");
    for (file, state, says) in [
        ("formats-many.wasm", "failed", "offers 100000 formats"),
        ("formats-huge-name.wasm", "failed", "must match"),
        ("formats-bad-name.wasm", "failed", "must match"),
        ("sparse.wasm", "skipped", "over the plugin size limit"),
        ("fifo.wasm", "skipped", "a FIFO"),
    ] {
        let (found, error) = state_of(&loaded, file);
        assert_eq!(found, state, "{file}: {error}");
        assert!(error.contains(says) && error.len() < 512, "{file}: {error}");
    }
    // Warm up, then attack one channel at a time.
    for _ in 0..3 {
        assert_eq!(get(addr, "/metrics?format=json", &[]).await.status, 200);
    }
    let before = server.rss_bytes();
    let deadline = Duration::from_secs(1);
    let mut peak = before;
    for format in ["spin", "sleep", "oom", "grow", "panic", "flood", "trickle", "empty-writes", "batch-spin", "long-error", "chatty"] {
        peak = peak.max(attack(&server, format, deadline).await);
    }
    assert!(peak < 1 << 30, "server peaked at {} MiB", peak >> 20);
    let after = server.rss_bytes();
    assert!(after < before + (64 << 20), "resident memory {} MiB after the attacks, {} MiB before", after >> 20, before >> 20);
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(5)).code(), Some(0));
}
