//! Series and families that come and go: removal, clearing, removing a
//! family, and the interner compaction that reclaims what they used, while
//! snapshots and writers run.
mod common;

use common::validators::{assert_promtool_clean, prometheus_client_parse};
use metrics_host::plugin::series_batches::BatchCursor;
use metrics_host::registry::Registry;

fn text(registry: &Registry) -> String {
    let mut out = Vec::new();
    registry.snapshot().render_native("prometheus", Default::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Every (label value, value) of family `index` in one snapshot.
fn series_of(registry: &Registry, family: u32) -> Vec<(String, f64)> {
    let snapshot = registry.snapshot();
    let mut cursor = BatchCursor::default();
    let mut out = Vec::new();
    while let Some(batch) = cursor.next(&snapshot) {
        if batch.family != family {
            continue;
        }
        for (i, &value) in batch.values.iter().enumerate() {
            let start = if i == 0 { 0 } else { batch.label_ends[i - 1] as usize };
            out.push((batch.label_text[start..batch.label_ends[i] as usize].to_string(), value));
        }
    }
    out
}

#[test]
fn removed_series_and_families_leave_the_exposition() {
    if common::tools::missing(&["promtool"]) {
        return;
    }
    let registry = Registry::new();
    let queues = registry.gauge_family("queued", "per queue", &["queue"]).unwrap();
    let kept = queues.with_label_values(&["kept"]).unwrap();
    kept.set(1.0);
    let gone = queues.with_label_values(&["gone"]).unwrap();
    gone.set(2.0);
    assert!(queues.remove(&["gone"]).unwrap());
    assert!(!queues.remove(&["gone"]).unwrap(), "already removed");
    assert!(!queues.remove(&["never"]).unwrap());
    assert!(queues.remove(&["a", "b"]).is_err(), "wrong label count");
    gone.set(99.0); // a handle on a removed series changes nothing visible
    let out = text(&registry);
    assert!(out.contains("queued{queue=\"kept\"} 1\n") && !out.contains("gone"), "{out}");
    // The same labels again: a new series, from zero.
    queues.with_label_values(&["gone"]).unwrap().set(3.0);
    assert!(text(&registry).contains("queued{queue=\"gone\"} 3\n"));

    queues.clear();
    let out = text(&registry);
    assert!(out.contains("# TYPE queued gauge\n") && !out.contains("queued{"), "cleared, still registered: {out}");

    let total = registry.counter_family("sent_total", "sent", &["domain"]).unwrap();
    total.with_label_values(&["a.com"]).unwrap().inc();
    assert!(registry.remove_family("sent_total"));
    assert!(!registry.remove_family("sent_total"));
    total.with_label_values(&["b.com"]).unwrap().inc(); // detached: harmless
    assert!(!text(&registry).contains("sent_total"));
    // The name is free again, even for another kind.
    registry.gauge("sent_total", "now a gauge").unwrap().set(5.0);
    let out = text(&registry);
    assert!(out.contains("# TYPE sent_total gauge\nsent_total 5\n"), "{out}");
    assert_promtool_clean(&out);
}

#[test]
fn idle_series_expire_at_snapshots_and_updated_ones_stay() {
    let registry = Registry::new();
    let queues = registry.gauge_family("queued", "per queue", &["queue"]).unwrap();
    // Zero: unchanged between two snapshots is idle enough.
    queues.expire_idle(std::time::Duration::ZERO);
    let busy = queues.with_label_values(&["busy"]).unwrap();
    queues.with_label_values(&["quiet"]).unwrap().set(1.0);
    busy.set(1.0);
    assert_eq!(series_of(&registry, 0).len(), 2, "first sight of each series");
    busy.set(2.0);
    let read = series_of(&registry, 0);
    assert_eq!(read, vec![("busy".to_string(), 2.0)], "the unchanged one expired");
    // Looked up again, it comes back from zero.
    queues.with_label_values(&["quiet"]).unwrap().add(5.0);
    busy.set(3.0);
    assert_eq!(series_of(&registry, 0), vec![("busy".to_string(), 3.0), ("quiet".to_string(), 5.0)]);
    let never = registry.gauge_family("kept", "no expiry", &["x"]).unwrap();
    never.with_label_values(&["a"]).unwrap().set(1.0);
    for _ in 0..3 {
        assert_eq!(series_of(&registry, 1).len(), 1, "families that did not opt in keep their series");
    }
}

#[test]
fn churn_through_compactions_keeps_every_label_with_its_value() {
    if common::tools::missing(&["python:prometheus_client"]) {
        return;
    }
    let registry = Registry::new();
    let other = registry.counter_family("stable_total", "never removed", &["service"]).unwrap();
    other.with_label_values(&["smtp"]).unwrap().inc_by(7);
    let queues = registry.gauge_family("scheduled", "per queue", &["queue"]).unwrap();
    const SERIES: usize = 100_000;
    for cycle in 0..6 {
        for i in 0..SERIES {
            queues.with_label_values(&[&format!("c{cycle}-q{i}")]).unwrap().set((cycle * SERIES + i) as f64);
        }
        let read = series_of(&registry, 1);
        assert_eq!(read.len(), SERIES, "cycle {cycle}");
        for (label, value) in &read {
            assert_eq!(*label, format!("c{cycle}-q{}", *value as usize - cycle * SERIES));
        }
        for i in 0..SERIES {
            assert!(queues.remove(&[&format!("c{cycle}-q{i}")]).unwrap());
        }
    }
    assert!(series_of(&registry, 1).is_empty());
    assert!(registry.snapshot().tables.generation >= 4, "the interner was compacted as series churned");
    let out = text(&registry);
    assert!(out.contains("stable_total{service=\"smtp\"} 7\n"), "{out}");
    // Handles made before the compactions still find their series.
    assert_eq!(other.with_label_values(&["smtp"]).unwrap().get(), 7);
    let families = prometheus_client_parse("text", &out);
    assert!(families.iter().any(|f| f["name"] == "stable"));
}

#[test]
fn snapshots_during_churn_are_consistent() {
    let registry = Registry::new();
    let queues = registry.gauge_family("scheduled", "per queue", &["queue"]).unwrap();
    let writer = {
        let queues = queues.clone();
        std::thread::spawn(move || {
            let mut round = 0usize;
            while round < 8 {
                for i in 0..20_000 {
                    let n = round * 20_000 + i;
                    queues.with_label_values(&[&format!("q{n}")]).unwrap().set(n as f64);
                }
                for i in 0..20_000 {
                    queues.remove(&[&format!("q{}", round * 20_000 + i)]).unwrap();
                }
                round += 1;
            }
            round
        })
    };
    // Snapshots (each may compact) until the writer's 8 rounds are done.
    let mut snapshots = 0;
    while !writer.is_finished() {
        for (label, value) in series_of(&registry, 0) {
            // 0: created, not yet set.
            assert!(value == 0.0 || label == format!("q{value}"), "{label} read with another series' value {value}");
        }
        snapshots += 1;
    }
    assert_eq!(writer.join().unwrap(), 8);
    assert!(snapshots > 0);
    assert!(series_of(&registry, 0).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn scrapes_during_churn_pass_promtool_and_prometheus_client() {
    if common::tools::missing(&["promtool", "python:prometheus_client"]) {
        return;
    }
    let registry = Registry::new();
    let queues = registry.gauge_family("scheduled", "per queue", &["queue"]).unwrap();
    let server = common::start(registry, "127.0.0.1:0", &["127.0.0.1"]).await;
    let writer = std::thread::spawn(move || {
        for round in 0..6usize {
            for i in 0..30_000 {
                let n = round * 30_000 + i + 1;
                queues.with_label_values(&[&format!("q{n}")]).unwrap().set(n as f64);
            }
            for i in 0..30_000 {
                queues.remove(&[&format!("q{}", round * 30_000 + i + 1)]).unwrap();
            }
        }
    });
    let mut scrapes = 0;
    while !writer.is_finished() || scrapes == 0 {
        let text = common::get(server.local_addr, "/metrics", &[]).await.text();
        assert_promtool_clean(&text);
        for family in prometheus_client_parse("text", &text).iter().filter(|f| f["name"] == "scheduled") {
            for sample in family["samples"].as_array().unwrap() {
                let value: f64 = sample[2].as_str().unwrap().parse().unwrap();
                let label = sample[1]["queue"].as_str().unwrap();
                assert!(value == 0.0 || label == format!("q{value}"), "{label} with value {value}");
            }
        }
        scrapes += 1;
    }
    writer.join().unwrap();
    server.stop().await.unwrap();
}
