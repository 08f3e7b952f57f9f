//! Stale markers for remote write: the series of the previous push's
//! snapshot that are gone from this one, as a snapshot of only those
//! series whose values (counters, gauges) or sums (histograms, summaries)
//! are Prometheus' stale NaN. The same sandboxed renderer encodes it (the
//! built-in `remote-write-1` writes every sample of such a series as the
//! stale NaN), so a receiver ends the series at once instead of answering
//! its last value for five minutes.
//!
//! A series is its family name plus its label values in the family's label
//! order. Within one interner generation the value string ids are compared;
//! across a compaction (which renumbers ids, and happens when series
//! expire) the strings are. A family whose series column is the very same
//! as before (shared while it gains no series) is skipped at once, so a
//! steady registry costs a pass over its families, not its series.
use crate::registry::MetricKind;
use crate::snapshot::{FamilySnapshot, HistogramColumns, Snapshot, SummaryColumns};
use metrics_render_core::{NativeBuckets, STALE_NAN_BITS};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The series of `previous` that `current` lacks, as a snapshot at
/// `current`'s time (ids of `previous`'s tables); `None` when none are gone.
pub(crate) fn gone_series(previous: &Snapshot, current: &Snapshot) -> Option<Snapshot> {
    let (old, new) = (&previous.tables, &current.tables);
    let same_ids = old.generation == new.generation;
    let by_name: HashMap<&str, &FamilySnapshot> = current.families.iter().map(|f| (new.string(f.name as usize), f)).collect();
    let mut families = Vec::new();
    for family in &previous.families {
        let now = by_name.get(old.string(family.name as usize)).copied();
        let gone: Vec<usize> = match now {
            Some(now) if Arc::ptr_eq(&family.series, &now.series) && same_ids => continue,
            Some(now) if now.kind == family.kind && label_names(previous, family) == label_names(current, now) => {
                if same_ids {
                    let present: HashSet<&[u32]> = now.series.iter().map(|&set| new.label_values_of(set)).collect();
                    (0..family.series.len()).filter(|&i| !present.contains(old.label_values_of(family.series[i]))).collect()
                } else {
                    let present: HashSet<Vec<&str>> = now.series.iter().map(|&set| label_values(current, set)).collect();
                    (0..family.series.len()).filter(|&i| !present.contains(&label_values(previous, family.series[i]))).collect()
                }
            }
            // The family is gone, or replaced by one of another kind or labels.
            _ => (0..family.series.len()).collect(),
        };
        if !gone.is_empty() {
            families.push(stale_family(family, &gone));
        }
    }
    (!families.is_empty()).then(|| Snapshot { tables: Arc::clone(old), families, timestamp_ms: current.timestamp_ms })
}

fn label_names<'s>(snapshot: &'s Snapshot, family: &FamilySnapshot) -> Vec<&'s str> {
    family.label_names.iter().map(|&id| snapshot.tables.string(id as usize)).collect()
}

fn label_values(snapshot: &Snapshot, set: u32) -> Vec<&str> {
    snapshot.tables.label_values_of(set).iter().map(|&id| snapshot.tables.string(id as usize)).collect()
}

/// `family` with only the series at `gone`, each carrying the stale NaN.
fn stale_family(family: &FamilySnapshot, gone: &[usize]) -> FamilySnapshot {
    let stale = f64::from_bits(STALE_NAN_BITS);
    let n = gone.len();
    FamilySnapshot {
        name: family.name,
        help: family.help,
        label_names: family.label_names.clone(),
        kind: family.kind,
        series: gone.iter().map(|&i| family.series[i]).collect(),
        values: match family.kind {
            MetricKind::Counter | MetricKind::Gauge => vec![stale; n],
            _ => Vec::new(),
        },
        histogram: family.histogram.as_ref().map(|h| HistogramColumns {
            bounds: h.bounds.clone(),
            bucket_counts: vec![0; n * h.bounds.len()],
            sums: vec![stale; n],
            counts: vec![0; n],
            native: if h.is_native {
                gone.iter()
                    .map(|&i| {
                        let was = h.native.get(i);
                        NativeBuckets {
                            schema: was.map_or(0, |b| b.schema),
                            zero_threshold: was.map_or(0.0, |b| b.zero_threshold),
                            ..NativeBuckets::default()
                        }
                    })
                    .collect()
            } else {
                Vec::new()
            },
            is_native: h.is_native,
        }),
        summary: family.summary.as_ref().map(|s| SummaryColumns {
            quantiles: s.quantiles.clone(),
            values: vec![stale; n * s.quantiles.len()],
            sums: vec![stale; n],
            counts: vec![0; n],
        }),
        created_ms: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    fn stale_series(snapshot: &Snapshot) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for family in &snapshot.families {
            for &set in family.series.iter() {
                let values = label_values(snapshot, set).into_iter().map(String::from).collect();
                out.push((snapshot.tables.string(family.name as usize).to_string(), values));
            }
            assert!(family.values.iter().chain(family.histogram.iter().flat_map(|h| h.sums.iter())).all(|v| v.to_bits() == STALE_NAN_BITS));
        }
        out.sort();
        out
    }

    #[test]
    fn removed_series_and_families_are_marked_and_kept_ones_are_not() {
        let registry = Registry::new();
        let sent = registry.counter_family("sent_total", "sent", &["domain"]).unwrap();
        for domain in ["a", "b", "c"] {
            sent.with_label_values(&[domain]).unwrap().inc();
        }
        let latency = registry.histogram_family("latency_seconds", "latency", &["path"], &[1.0]).unwrap();
        latency.with_label_values(&["/x"]).unwrap().observe(0.5);
        registry.gauge("depth", "depth").unwrap().set(1.0);
        let first = registry.snapshot();
        assert!(gone_series(&first, &registry.snapshot()).is_none(), "nothing changed");

        sent.remove(&["b"]).unwrap();
        sent.with_label_values(&["d"]).unwrap().inc();
        assert!(registry.remove_family("latency_seconds"));
        let second = registry.snapshot();
        let gone = gone_series(&first, &second).expect("some are gone");
        assert_eq!(gone.timestamp_ms, second.timestamp_ms);
        assert_eq!(stale_series(&gone), [("latency_seconds".into(), vec!["/x".into()]), ("sent_total".into(), vec!["b".into()])]);
        let histogram = gone.families.iter().find(|f| f.kind == MetricKind::Histogram).unwrap().histogram.as_ref().unwrap();
        assert_eq!((histogram.bucket_counts.len(), histogram.counts.as_slice()), (1, &[0][..]));
        assert!(gone_series(&second, &registry.snapshot()).is_none(), "marked once");
    }
}
