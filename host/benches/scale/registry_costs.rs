//! Registry costs against peers, each measured in a fresh child process of
//! this bench (`--child KIND`), so one measurement's allocations do not
//! sit in another's resident memory:
//! - bytes of resident memory per idle series at 1M series (one label, the
//!   demo's queue names), ours (after one snapshot) and peers';
//! - resident memory after 10 cycles of removing 1M series and adding 1M
//!   new ones, over that with 1M live series (churn);
//! - resident memory kept after 1M series expired by the idle timeout,
//!   through the registry and through the `metrics` facade;
//! - creating 1M labelled gauges and setting each once, ours and
//!   prometheus-client's;
//! - a counter increment through the `metrics` facade, ours and
//!   metrics-exporter-prometheus's, with the handle cached and with the
//!   macro resolving the labelled key on every call.
use metrics_host::facade::{BucketRules, FacadeRecorder};
use metrics_host::registry::Registry;
use std::process::Command;
use std::time::Instant;

const SERIES: usize = 1_000_000;

fn queue(i: usize) -> String {
    format!("campaign{}:tenant{}@q{i}.gmail.com", i % 7, i % 13)
}

fn rss_bytes() -> u64 {
    super::rss_kib(std::process::id()) * 1024
}

/// Runs `--child KIND` in a fresh process and parses the one number it prints.
fn in_child(kind: &str) -> f64 {
    let out = Command::new(std::env::current_exe().unwrap()).args(["--child", kind]).output().expect("bench child");
    assert!(out.status.success(), "child {kind}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or_else(|_| panic!("child {kind} printed {:?}", out.stdout))
}

/// What `--child KIND` measures; printed on stdout.
pub fn child(kind: &str) -> f64 {
    let names: Vec<String> = (0..SERIES).map(queue).collect();
    let before = rss_bytes();
    match kind {
        "ours" => {
            let registry = Registry::new();
            let family = registry.gauge_family("scheduled_count", "scheduled", &["queue"]).unwrap();
            for (i, name) in names.iter().enumerate() {
                family.with_label_values(&[name]).unwrap().set(i as f64);
            }
            drop(registry.snapshot());
            let grown = rss_bytes().saturating_sub(before);
            std::hint::black_box(&registry);
            grown as f64 / SERIES as f64
        }
        "prometheus" => {
            let gauges = prometheus::GaugeVec::new(prometheus::Opts::new("scheduled_count", "scheduled"), &["queue"]).unwrap();
            for (i, name) in names.iter().enumerate() {
                gauges.with_label_values(&[name]).set(i as f64);
            }
            let grown = rss_bytes().saturating_sub(before);
            std::hint::black_box(&gauges);
            grown as f64 / SERIES as f64
        }
        "prometheus-client" => {
            use prometheus_client::metrics::family::Family;
            use prometheus_client::metrics::gauge::Gauge;
            let family = Family::<Vec<(String, String)>, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
            for (i, name) in names.iter().enumerate() {
                family.get_or_create(&vec![("queue".to_string(), name.clone())]).set(i as f64);
            }
            let grown = rss_bytes().saturating_sub(before);
            std::hint::black_box(&family);
            grown as f64 / SERIES as f64
        }
        "metrics-exporter-prometheus" => {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            metrics::with_local_recorder(&recorder, || {
                for (i, name) in names.iter().enumerate() {
                    metrics::gauge!("scheduled_count", "queue" => name.clone()).set(i as f64);
                }
            });
            let grown = rss_bytes().saturating_sub(before);
            std::hint::black_box(&recorder);
            grown as f64 / SERIES as f64
        }
        "churn" => {
            let registry = Registry::new();
            let family = registry.gauge_family("scheduled_count", "scheduled", &["queue"]).unwrap();
            for (i, name) in names.iter().enumerate() {
                family.with_label_values(&[name]).unwrap().set(i as f64);
            }
            drop(registry.snapshot());
            let live = rss_bytes();
            for cycle in 1..=10 {
                family.clear();
                for (i, name) in names.iter().enumerate() {
                    family.with_label_values(&[&format!("c{cycle}-{name}")]).unwrap().set(i as f64);
                }
                drop(registry.snapshot());
            }
            rss_bytes() as f64 / live as f64
        }
        "idle-registry" | "idle-facade" => idle_expiry_retained_mb(kind, &names),
        "populate-ours" | "populate-prometheus-client" => populate_s(kind, &names),
        "facade-cached" | "facade-macro" | "mep-cached" | "mep-macro" => facade_ns(kind),
        other => panic!("unknown child {other}"),
    }
}

/// MB of resident memory kept after 1M series were made and then all
/// dropped by the idle timeout (two snapshots later), over before: through
/// the registry's own handles, or through `metrics::gauge!` with the
/// facade's idle timeout.
fn idle_expiry_retained_mb(kind: &str, names: &[String]) -> f64 {
    let after = std::time::Duration::from_millis(1);
    let registry = Registry::new();
    let before = rss_bytes();
    if kind == "idle-registry" {
        let family = registry.gauge_family("scheduled_count", "scheduled", &["queue"]).unwrap();
        family.expire_idle(after);
        for (i, name) in names.iter().enumerate() {
            family.with_label_values(&[name]).unwrap().set(i as f64);
        }
    } else {
        let recorder = FacadeRecorder::new(registry.clone(), BucketRules::default()).unwrap().with_idle_timeout(after);
        metrics::with_local_recorder(&recorder, || {
            for (i, name) in names.iter().enumerate() {
                metrics::gauge!("scheduled_count", "queue" => name.clone()).set(i as f64);
            }
        });
        std::mem::forget(recorder);
    }
    drop(registry.snapshot());
    // Idle for longer than the timeout: the next snapshot drops them all.
    std::thread::sleep(after * 20);
    drop(registry.snapshot());
    drop(registry.snapshot());
    rss_bytes().saturating_sub(before) as f64 / (1 << 20) as f64
}

/// Seconds to create 1M labelled gauges (one label, the demo's queue
/// names) and set each once, in a fresh registry: what an application
/// (or the KumoMTA-like demo) pays at start-up.
fn populate_s(kind: &str, names: &[String]) -> f64 {
    let started = Instant::now();
    if kind == "populate-ours" {
        let registry = Registry::new();
        let family = registry.gauge_family("scheduled_count", "scheduled", &["queue"]).unwrap();
        for (i, name) in names.iter().enumerate() {
            family.with_label_values(&[name]).unwrap().set(i as f64);
        }
        let elapsed = started.elapsed();
        std::hint::black_box(&registry);
        elapsed.as_secs_f64()
    } else {
        use prometheus_client::metrics::family::Family;
        use prometheus_client::metrics::gauge::Gauge;
        let family = Family::<Vec<(String, String)>, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        for (i, name) in names.iter().enumerate() {
            family.get_or_create(&vec![("queue".to_string(), name.clone())]).set(i as f64);
        }
        let elapsed = started.elapsed();
        std::hint::black_box(&family);
        elapsed.as_secs_f64()
    }
}

/// Nanoseconds per `counter!(...).increment(1)`.
fn facade_ns(kind: &str) -> f64 {
    const N: u64 = 5_000_000;
    let ours = FacadeRecorder::new(Registry::new(), BucketRules::default()).unwrap();
    let theirs = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let run = |recorder: &dyn metrics::Recorder, cached: bool| {
        metrics::with_local_recorder(recorder, || {
            let started = Instant::now();
            if cached {
                let counter = metrics::counter!("sent_total", "domain" => "gmail.com");
                for _ in 0..N {
                    counter.increment(1);
                }
            } else {
                for _ in 0..N {
                    metrics::counter!("sent_total", "domain" => "gmail.com").increment(1);
                }
            }
            started.elapsed().as_nanos() as f64 / N as f64
        })
    };
    match kind {
        "facade-cached" => run(&ours, true),
        "facade-macro" => run(&ours, false),
        "mep-cached" => run(&theirs, true),
        _ => run(&theirs, false),
    }
}

/// The figures of the registry section.
pub struct RegistryCosts {
    pub bytes_per_series: f64,
    pub peers: [(&'static str, f64); 3],
    pub churn_rss_ratio: f64,
    /// Seconds to create and set 1M labelled gauges: (ours, prometheus-client).
    pub populate_s: (f64, f64),
    /// MB kept after 1M series expired idle: (registry, facade).
    pub idle_expiry_mb: (f64, f64),
    /// (ours, theirs) ns: cached handle, macro per call.
    pub facade: [(f64, f64); 2],
}

impl RegistryCosts {
    pub fn memory_vs_best_peer(&self) -> f64 {
        self.bytes_per_series / self.peers.iter().map(|p| p.1).fold(f64::INFINITY, f64::min)
    }

    pub fn facade_vs_mep(&self) -> f64 {
        self.facade.iter().map(|(ours, theirs)| ours / theirs).fold(0.0, f64::max)
    }
}

pub fn measure() -> RegistryCosts {
    RegistryCosts {
        bytes_per_series: in_child("ours"),
        peers: [
            ("prometheus 0.14", in_child("prometheus")),
            ("prometheus-client 0.26", in_child("prometheus-client")),
            ("metrics-exporter-prometheus 0.17", in_child("metrics-exporter-prometheus")),
        ],
        churn_rss_ratio: in_child("churn"),
        idle_expiry_mb: (in_child("idle-registry"), in_child("idle-facade")),
        populate_s: (in_child("populate-ours"), in_child("populate-prometheus-client")),
        facade: [(in_child("facade-cached"), in_child("mep-cached")), (in_child("facade-macro"), in_child("mep-macro"))],
    }
}
