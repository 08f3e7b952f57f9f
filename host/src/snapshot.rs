//! Registry -> snapshot: reads every family into the interned, columnar
//! shape of `wit/renderer.wit`, ready to be lowered into a renderer.
//!
//! The string and label-set tables are shared with the registry (an `Arc`),
//! not copied, and so is each family's column of label-set ids while the
//! family gains no series; what is allocated per snapshot is the value columns.
use crate::registry::{Cells, FamilyCore, InternTables, MetricKind, Registry};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use wasmtime::component::{ComponentType, Lower};

/// Histogram columns of one family; mirrors `histogram-columns`.
#[derive(ComponentType, Lower, Debug, Clone)]
#[component(record)]
pub struct HistogramColumns {
    pub bounds: Vec<f64>,
    #[component(name = "bucket-counts")]
    pub bucket_counts: Vec<u64>,
    pub sums: Vec<f64>,
    pub counts: Vec<u64>,
}

/// One family at the instant of the snapshot; mirrors `family`.
#[derive(ComponentType, Lower, Debug, Clone)]
#[component(record)]
pub struct FamilySnapshot {
    pub name: u32,
    pub help: Option<u32>,
    pub kind: MetricKind,
    /// Shared with the registry while the family gains no series.
    pub series: Arc<[u32]>,
    pub values: Vec<f64>,
    pub histogram: Option<HistogramColumns>,
}

/// A consistent view of a registry, per family.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Strings and label sets, shared with the registry.
    pub tables: Arc<InternTables>,
    pub families: Vec<FamilySnapshot>,
    pub timestamp_ms: i64,
}

impl Registry {
    /// Reads every family. Series and families created while the snapshot
    /// is taken appear in the next one.
    pub fn snapshot(&self) -> Snapshot {
        let tables = self.inner.interner.publish();
        let families = self.inner.families.read().unwrap_or_else(|e| e.into_inner()).clone();
        let families = families
            .iter()
            .filter(|f| f.name < tables.string_count())
            .map(|f| family_snapshot(f, tables.label_set_count()))
            .collect();
        let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Snapshot { tables, families, timestamp_ms }
    }
}

fn family_snapshot(family: &FamilyCore, label_set_count: u32) -> FamilySnapshot {
    let table = family.series.read().unwrap_or_else(|e| e.into_inner());
    // Label set ids ascend within a family; ids past the published tables
    // belong to series created after the tables were taken.
    let n = table.label_sets.partition_point(|&set| set < label_set_count);
    let series = {
        let mut cached = family.series_column.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some(column) if column.len() == n => Arc::clone(column),
            _ => {
                let column: Arc<[u32]> = Arc::from(&table.label_sets[..n]);
                *cached = Some(Arc::clone(&column));
                column
            }
        }
    };
    let (values, histogram) = match &table.cells {
        Cells::Counter(cells) => (cells[..n].iter().map(|c| c.get() as f64).collect(), None),
        Cells::Gauge(cells) => (cells[..n].iter().map(|g| g.get()).collect(), None),
        Cells::Histogram(cells) => {
            let bounds = family.bounds.as_deref().unwrap_or(&[]).to_vec();
            let mut columns = HistogramColumns {
                bucket_counts: Vec::with_capacity(n * bounds.len()),
                bounds,
                sums: Vec::with_capacity(n),
                counts: Vec::with_capacity(n),
            };
            for cell in &cells[..n] {
                let reading = cell.read_into(&mut columns.bucket_counts);
                columns.sums.push(reading.sum);
                columns.counts.push(reading.count);
            }
            (Vec::new(), Some(columns))
        }
    };
    FamilySnapshot { name: family.name, help: family.help, kind: family.kind, series, values, histogram }
}

impl Snapshot {
    /// Borrowed view for the native formatting code (benchmarks, tests).
    pub fn render_view(&self) -> metrics_render_core::Snapshot<'_> {
        metrics_render_core::Snapshot {
            text: &self.tables.text,
            string_ends: &self.tables.string_ends,
            label_set_ends: &self.tables.label_set_ends,
            label_names: &self.tables.label_names,
            label_values: &self.tables.label_values,
            families: self
                .families
                .iter()
                .map(|f| metrics_render_core::Family {
                    name: f.name,
                    help: f.help,
                    kind: match f.kind {
                        MetricKind::Counter => metrics_render_core::MetricKind::Counter,
                        MetricKind::Gauge => metrics_render_core::MetricKind::Gauge,
                        MetricKind::Histogram => metrics_render_core::MetricKind::Histogram,
                    },
                    series: &f.series,
                    values: &f.values,
                    histogram: f.histogram.as_ref().map(|h| metrics_render_core::HistogramColumns {
                        bounds: &h.bounds,
                        bucket_counts: &h.bucket_counts,
                        sums: &h.sums,
                        counts: &h.counts,
                    }),
                })
                .collect(),
        }
    }

    /// Bytes the snapshot occupies once copied into a renderer's memory.
    pub fn wire_bytes(&self) -> usize {
        let t = &self.tables;
        let mut bytes = t.text.len()
            + 4 * (t.string_ends.len() + t.label_set_ends.len() + t.label_names.len() + t.label_values.len());
        for f in &self.families {
            bytes += 64 + 4 * f.series.len() + 8 * f.values.len();
            if let Some(h) = &f.histogram {
                bytes += 8 * (h.bounds.len() + h.bucket_counts.len() + h.sums.len() + h.counts.len());
            }
        }
        bytes
    }
}
