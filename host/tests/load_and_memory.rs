//! A bounded load test on loopback: concurrent healthy scrapes while hostile
//! plugins are hit and plugin files are swapped. No healthy scrape may fail,
//! and resident memory must come back to within 10% of its level before.
mod common;

use common::{component_bytes, get, install_plugin};
use metrics_host::app::demo::Demo;
use metrics_host::config::ServeConfig;
use metrics_host::plugin::catalog::Renderers;
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::{RenderLimits, RendererEngine};
use metrics_host::registry::Registry;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resident memory after asking the allocator to return its free pages, so
/// the figure is what is still held, not glibc's per-thread caches (which
/// otherwise swing by ±3 MB between runs on a 30 MB baseline).
fn rss_bytes() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory back to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    metrics_host::app::process_memory::resident_bytes().expect("/proc/self/status")
}

/// Scrape counters of one phase.
#[derive(Default)]
struct Tally {
    healthy: AtomicUsize,
    hostile: AtomicUsize,
}

async fn healthy_scraper(addr: SocketAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>, format: &'static str) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) && n < 2000 {
        let r = get(addr, &format!("/metrics?format={format}"), &[]).await;
        assert_eq!(r.status, 200, "healthy {format} scrape failed: {}", String::from_utf8_lossy(&r.body));
        assert!(!r.truncated, "healthy {format} scrape cut short");
        let text = r.text();
        match format {
            "json" => {
                serde_json::from_str::<serde_json::Value>(&text).expect("complete JSON");
            }
            _ => {
                let first = text.lines().next().unwrap().split(' ').nth(1).unwrap().to_string();
                assert!(text.lines().take(5000).all(|l| l.split(' ').nth(1) == Some(first.as_str())), "one version per response");
                assert!(text.ends_with(&format!("end {first}\n")));
            }
        }
        tally.healthy.fetch_add(1, Ordering::Relaxed);
        n += 1;
    }
}

async fn hostile_hitter(addr: SocketAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let formats = ["spin", "oom", "panic", "flood", "sleep", "lie"];
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) && i < 500 {
        let r = get(addr, &format!("/metrics?format={}", formats[i % formats.len()]), &[]).await;
        assert!(r.status == 500 || r.status == 503 || r.truncated, "hostile format answered {}", r.status);
        tally.hostile.fetch_add(1, Ordering::Relaxed);
        i += 1;
    }
}

async fn swapper(dir: std::path::PathBuf, stop: Arc<AtomicBool>) {
    let v1 = component_bytes("test-plugins", "marker-v1.wasm");
    let v2 = component_bytes("test-plugins", "marker-v2.wasm");
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) && i < 100 {
        install_plugin(&dir, "marker.wasm", if i % 2 == 0 { &v2 } else { &v1 });
        tokio::time::sleep(Duration::from_millis(700)).await;
        i += 1;
    }
}

async fn run_phase(addr: SocketAddr, dir: &std::path::Path, duration: Duration) -> Arc<Tally> {
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for format in ["json", "marker", "json"] {
        tasks.push(tokio::spawn(healthy_scraper(addr, Arc::clone(&stop), Arc::clone(&tally), format)));
    }
    tasks.push(tokio::spawn(hostile_hitter(addr, Arc::clone(&stop), Arc::clone(&tally))));
    tasks.push(tokio::spawn(swapper(dir.to_path_buf(), Arc::clone(&stop))));
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("no task panicked");
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_with_hostile_plugins_and_swaps_keeps_healthy_scrapes_and_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "hostile.wasm", &component_bytes("test-plugins", "hostile.wasm"));
    install_plugin(dir.path(), "marker.wasm", &component_bytes("test-plugins", "marker-v1.wasm"));
    let registry = Registry::new();
    Demo::register(&registry, 2000).unwrap().step();
    let engine = RendererEngine::new().unwrap();
    let builtins = RendererSet::builtin(&engine).await.unwrap();
    let (renderers, _) = Renderers::with_plugin_dir(engine, builtins, dir.path().to_path_buf(), None).await.unwrap();
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        render_limits: RenderLimits { deadline: Duration::from_millis(500), memory_bytes: 64 << 20, output_bytes: 4 << 20 },
        client_stall_timeout: Duration::from_secs(2),
        ..ServeConfig::default()
    };
    let server = metrics_host::server::start(&config, registry, Arc::clone(&renderers)).await.unwrap();
    let _watcher = metrics_host::plugin::watcher::watch(Arc::clone(&renderers), dir.path()).unwrap();
    let addr = server.local_addr;

    // Warm-up: allocator arenas, compiled code and caches reach their working
    // size (measured: resident memory plateaus after about two such phases).
    for _ in 0..2 {
        run_phase(addr, dir.path(), Duration::from_secs(4)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_bytes();

    let started = Instant::now();
    let tally = run_phase(addr, dir.path(), Duration::from_secs(8)).await;
    let healthy = tally.healthy.load(Ordering::Relaxed);
    let hostile = tally.hostile.load(Ordering::Relaxed);
    assert!(healthy >= 50, "enough healthy scrapes ran: {healthy} in {:?}", started.elapsed());
    assert!(hostile >= 5, "hostile formats were hit: {hostile}");

    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_bytes();
    let growth = after as f64 / before as f64;
    assert!(growth <= 1.10, "resident memory grew from {} MB to {} MB", before >> 20, after >> 20);
    server.stop().await.unwrap();
    println!("healthy scrapes {healthy}, hostile {hostile}, rss {} MB -> {} MB", before >> 20, after >> 20);
}
