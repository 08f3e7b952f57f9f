//! One family read at an instant: the columns a snapshot holds (label-set
//! ids, values, histogram and summary columns, creation times), read by the
//! family itself so nothing outside the registry touches its cells.
use super::family::{Cells, FamilyCore, UNKNOWN_CREATED};
use super::{InternTables, MetricKind};
use metrics_render_core::NativeBuckets;
use std::sync::Arc;

/// Histogram columns of one family.
#[derive(Debug, Clone)]
pub struct HistogramColumns {
    /// The finite bucket upper bounds (`+Inf` is implied).
    pub bounds: Vec<f64>,
    /// Cumulative counts, `bounds.len()` per series.
    pub bucket_counts: Vec<u64>,
    /// Sum of the observations, one per series.
    pub sums: Vec<f64>,
    /// Number of observations, one per series.
    pub counts: Vec<u64>,
    /// Native histograms: the exponential buckets, one per series; else empty.
    pub native: Vec<NativeBuckets>,
    /// Whether the family is a native histogram.
    pub is_native: bool,
}

/// Summary columns of one family.
#[derive(Debug, Clone)]
pub struct SummaryColumns {
    /// The quantiles, ascending within [0, 1].
    pub quantiles: Vec<f64>,
    /// Quantile values, `quantiles.len()` per series.
    pub values: Vec<f64>,
    /// Sum of the observations, one per series.
    pub sums: Vec<f64>,
    /// Number of observations, one per series.
    pub counts: Vec<u64>,
}

/// One family at the instant of the snapshot.
#[derive(Debug, Clone)]
pub struct FamilySnapshot {
    /// String id of the name (in the snapshot's `tables`).
    pub name: u32,
    /// String id of the help text, if any.
    pub help: Option<u32>,
    /// String ids of the label names, in order.
    pub label_names: Vec<u32>,
    /// What the family measures.
    pub kind: MetricKind,
    /// Label-set ids of the series, in order. Shared with the registry
    /// while the family gains no series.
    pub series: Arc<[u32]>,
    /// Counters and gauges: one value per series; empty otherwise.
    pub values: Vec<f64>,
    /// Histograms: their columns.
    pub histogram: Option<HistogramColumns>,
    /// Summaries: their columns.
    pub summary: Option<SummaryColumns>,
    /// Creation time of each series in ms since the epoch (counters,
    /// histograms and summaries); empty when unknown.
    pub created_ms: Vec<i64>,
}

/// What reading one family against published tables gave.
pub(crate) enum FamilyRead {
    /// The family at this instant.
    Ready(Box<FamilySnapshot>),
    /// Registered after the tables were published: the next snapshot has it.
    Later,
    /// A compaction renumbered the ids since the tables were published.
    Stale,
}

impl FamilyCore {
    /// This family's series known to `tables`, and their values now.
    pub(crate) fn read(&self, tables: &InternTables) -> FamilyRead {
        let (label_set_count, string_count) = (tables.label_set_count(), tables.string_count());
        let table = self.series.read().unwrap_or_else(|e| e.into_inner());
        let known = |id: u32| id < string_count;
        if table.generation != tables.generation {
            return FamilyRead::Stale;
        }
        if !known(table.name) || !table.label_names.iter().all(|&l| known(l)) {
            return FamilyRead::Later;
        }
        // Label set ids ascend within a family; ids past the published tables
        // belong to series created after the tables were taken.
        let n = table.label_sets.partition_point(|&set| set < label_set_count);
        let series = {
            let mut cached = self.series_column.lock().unwrap_or_else(|e| e.into_inner());
            match &*cached {
                Some(column) if column.len() == n => Arc::clone(column),
                _ => {
                    let column: Arc<[u32]> = Arc::from(&table.label_sets[..n]);
                    *cached = Some(Arc::clone(&column));
                    column
                }
            }
        };
        let (mut values, mut histogram, mut summary) = (Vec::new(), None, None);
        match &table.cells {
            Cells::Counter(cells) => values = cells[..n].iter().map(|c| c.get() as f64).collect(),
            Cells::Gauge(cells) => values = cells[..n].iter().map(|g| g.get()).collect(),
            Cells::Histogram(cells) => {
                let bounds = self.shape.bounds.as_deref().unwrap_or(&[]).to_vec();
                let is_native = self.shape.native.is_some();
                let mut columns = HistogramColumns {
                    bucket_counts: Vec::with_capacity(n * bounds.len()),
                    bounds,
                    sums: Vec::with_capacity(n),
                    counts: Vec::with_capacity(n),
                    native: Vec::with_capacity(if is_native { n } else { 0 }),
                    is_native,
                };
                for cell in &cells[..n] {
                    // Native buckets first (see `Histogram::observe`).
                    if let Some(native) = cell.read_native() {
                        columns.native.push(native);
                    }
                    let reading = cell.read_into(&mut columns.bucket_counts);
                    columns.sums.push(reading.sum);
                    columns.counts.push(reading.count);
                }
                histogram = Some(columns);
            }
            Cells::Summary(cells) => {
                let quantiles = self.shape.quantiles.as_deref().unwrap_or(&[]).to_vec();
                let mut columns = SummaryColumns {
                    values: Vec::with_capacity(n * quantiles.len()),
                    quantiles,
                    sums: Vec::with_capacity(n),
                    counts: Vec::with_capacity(n),
                };
                for cell in &cells[..n] {
                    let reading = cell.read();
                    columns.values.extend_from_slice(&reading.values);
                    columns.sums.push(reading.sum);
                    columns.counts.push(reading.count);
                }
                summary = Some(columns);
            }
        }
        // All known, or none exposed.
        let created = table.created_ms.get(..n).filter(|c| !c.contains(&UNKNOWN_CREATED));
        let created_ms = created.map(<[i64]>::to_vec).unwrap_or_default();
        let label_names = table.label_names.to_vec();
        // Help given after the tables were published waits for the next snapshot.
        let help = table.help.filter(|&id| known(id));
        FamilyRead::Ready(Box::new(FamilySnapshot {
            name: table.name,
            help,
            label_names,
            kind: self.kind,
            series,
            values,
            histogram,
            summary,
            created_ms,
        }))
    }
}
