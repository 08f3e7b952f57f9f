//! A labelled family: one cell per distinct combination of label values.
use super::interner::{InternedIds, Interner, RenumberedTable};
use super::native_histogram::NativeHistogramOptions;
use super::{Counter, Gauge, Histogram, Metric, MetricKind, RegistryError, Summary};
use hashbrown::HashTable;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The cells of one family, in series creation order. Public only because
/// the sealed [`CellAccess`] trait names it.
#[doc(hidden)]
pub enum Cells {
    Counter(Vec<Counter>),
    Gauge(Vec<Gauge>),
    Histogram(Vec<Histogram>),
    Summary(Vec<Summary>),
}

/// What every cell of a family is made with. Public only because the
/// sealed [`CellAccess`] trait names it.
#[doc(hidden)]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CellShape {
    /// Histograms: the classic bucket bounds.
    pub(crate) bounds: Option<Arc<[f64]>>,
    /// Native histograms: how their exponential buckets are laid out.
    pub(crate) native: Option<NativeHistogramOptions>,
    /// Summaries: the quantiles.
    pub(crate) quantiles: Option<Arc<[f64]>>,
}

/// How a metric type finds itself in [`Cells`].
pub trait CellAccess: Sized {
    #[doc(hidden)]
    fn empty_cells() -> Cells;
    #[doc(hidden)]
    fn create(shape: &CellShape) -> Self;
    #[doc(hidden)]
    fn cells_mut(cells: &mut Cells) -> Option<&mut Vec<Self>>;
    #[doc(hidden)]
    fn cells(cells: &Cells) -> Option<&Vec<Self>>;
}

macro_rules! cell_access {
    ($ty:ident, $create:expr) => {
        impl CellAccess for $ty {
            fn empty_cells() -> Cells {
                Cells::$ty(Vec::new())
            }
            fn create(shape: &CellShape) -> Self {
                $create(shape)
            }
            fn cells_mut(cells: &mut Cells) -> Option<&mut Vec<Self>> {
                match cells {
                    Cells::$ty(v) => Some(v),
                    _ => None,
                }
            }
            fn cells(cells: &Cells) -> Option<&Vec<Self>> {
                match cells {
                    Cells::$ty(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

fn no_values() -> Arc<[f64]> {
    Arc::from(Vec::new())
}

cell_access!(Counter, |_| Counter::default());
cell_access!(Gauge, |_| Gauge::default());
cell_access!(Histogram, |shape: &CellShape| Histogram::new(shape.bounds.clone().unwrap_or_else(no_values), shape.native.as_ref()));
cell_access!(Summary, |shape: &CellShape| Summary::new(shape.quantiles.clone().unwrap_or_else(no_values)));

/// Where each series is, by its label value ids: a hash table of
/// positions (4 bytes a slot) whose keys live in the table's flat
/// `label_values` column, so a series costs no key allocation.
#[derive(Default)]
pub(crate) struct SeriesIndex {
    positions: HashTable<u32>,
    hasher: std::hash::RandomState,
}

impl SeriesIndex {
    fn hash(&self, ids: &[u32]) -> u64 {
        self.hasher.hash_one(ids)
    }

    /// The position of the series with label value ids `ids`.
    pub(crate) fn get(&self, ids: &[u32], values: &[u32]) -> Option<u32> {
        let width = ids.len();
        self.positions.find(self.hash(ids), |&p| key_of(values, p, width) == ids).copied()
    }

    /// Adds series `position`, whose ids are at that place in `values`.
    pub(crate) fn insert(&mut self, position: u32, values: &[u32], width: usize) {
        let hash = self.hash(key_of(values, position, width));
        let hasher = &self.hasher;
        self.positions.insert_unique(hash, position, |&p| hasher.hash_one(key_of(values, p, width)));
    }

    /// Removes the series with ids `ids`; its position.
    pub(crate) fn remove(&mut self, ids: &[u32], values: &[u32]) -> Option<u32> {
        let width = ids.len();
        let entry = self.positions.find_entry(self.hash(ids), |&p| key_of(values, p, width) == ids).ok()?;
        Some(entry.remove().0)
    }

    /// Rebuilds the table for `count` series whose ids are in `values`.
    pub(crate) fn rebuild(&mut self, values: &[u32], width: usize, count: usize) {
        let mut positions = HashTable::with_capacity(count);
        let hasher = &self.hasher;
        for p in 0..count as u32 {
            positions.insert_unique(hasher.hash_one(key_of(values, p, width)), p, |&q| hasher.hash_one(key_of(values, q, width)));
        }
        self.positions = positions;
    }

    /// Every position, in no particular order.
    pub(crate) fn positions(&self) -> impl Iterator<Item = u32> + '_ {
        self.positions.iter().copied()
    }

    /// Keeps the positions `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        self.positions.retain(|p| keep(*p));
    }

    pub(crate) fn clear(&mut self) {
        self.positions.clear();
    }
}

/// The label value ids of series `position` in a flat column of `width` per series.
fn key_of(values: &[u32], position: u32, width: usize) -> &[u32] {
    let start = position as usize * width;
    &values[start..start + width]
}

/// The series of a family, and the string ids it refers to (rewritten
/// together when the interner is compacted, see [`Interner::compact`]).
pub(crate) struct SeriesTable {
    /// String ids of the name, help and declared label names.
    pub(crate) name: u32,
    pub(crate) help: Option<u32>,
    pub(crate) label_names: Box<[u32]>,
    /// Series position by label value string ids.
    pub(crate) index: SeriesIndex,
    /// Label value string ids of every series, `label_names.len()` each,
    /// in position order (the keys of `index`).
    pub(crate) label_values: Vec<u32>,
    /// Label set id per series; ascending, since ids are handed out in order.
    pub(crate) label_sets: Vec<u32>,
    pub(crate) cells: Cells,
    /// Creation time per series, in ms since the epoch (not for gauges).
    pub(crate) created_ms: Vec<i64>,
    /// Positions of removed series, dropped at the next snapshot.
    pub(crate) removed: Vec<usize>,
    /// The interner generation the ids belong to.
    pub(crate) generation: u64,
    /// Opt-in idle expiry.
    pub(crate) idle: Option<IdleExpiry>,
}

/// A creation time not known (see [`Family::set_created`]).
pub(crate) const UNKNOWN_CREATED: i64 = i64::MIN;

impl RenumberedTable for SeriesTable {
    fn interned_ids(&mut self) -> InternedIds<'_> {
        InternedIds {
            name: &mut self.name,
            help: &mut self.help,
            label_names: &mut self.label_names,
            label_sets: &mut self.label_sets,
            label_values: &mut self.label_values,
        }
    }

    fn renumbered(&mut self, generation: u64) {
        self.index.rebuild(&self.label_values, self.label_names.len(), self.label_sets.len());
        self.generation = generation;
    }
}

/// Drops series whose value has not changed for `after`, checked at each
/// snapshot (so with the granularity of the scrapes).
pub(crate) struct IdleExpiry {
    after: Duration,
    /// Per series position: the value's fingerprint and when it last changed.
    last_change: Vec<(u64, Instant)>,
}

impl SeriesTable {
    fn fingerprint(&self, i: usize) -> u64 {
        match &self.cells {
            Cells::Counter(v) => v[i].get(),
            Cells::Gauge(v) => v[i].get().to_bits(),
            Cells::Histogram(v) => v[i].fingerprint(),
            Cells::Summary(v) => v[i].fingerprint(),
        }
    }

    /// Marks series idle for longer than the expiry removed; how many.
    pub(crate) fn expire_idle(&mut self, now: Instant) -> usize {
        let Some(mut idle) = self.idle.take() else { return 0 };
        let mut expired = HashSet::new();
        for i in 0..self.label_sets.len() {
            let print = self.fingerprint(i);
            match idle.last_change.get_mut(i) {
                None => idle.last_change.push((print, now)),
                Some(last) if last.0 != print => *last = (print, now),
                Some(last) if now.duration_since(last.1) >= idle.after => {
                    expired.insert(i);
                }
                Some(_) => {}
            }
        }
        // Only series still in the index (not removed already) expire.
        let mut dropped = Vec::new();
        if !expired.is_empty() {
            self.index.retain(|position| {
                let expire = expired.contains(&(position as usize));
                if expire {
                    dropped.push(position as usize);
                }
                !expire
            });
        }
        let count = dropped.len();
        self.removed.extend(dropped);
        self.idle = Some(idle);
        count
    }

    /// Drops the removed series (keeping the order of the others).
    pub(crate) fn drop_removed(&mut self) {
        if self.removed.is_empty() {
            return;
        }
        let mut keep = vec![true; self.label_sets.len()];
        for &i in &self.removed {
            keep[i] = false;
        }
        self.removed.clear();
        retain_kept(&mut self.label_sets, &keep);
        if !self.created_ms.is_empty() {
            retain_kept(&mut self.created_ms, &keep);
        }
        let width = self.label_names.len();
        if width > 0 {
            let mut position = 0;
            let mut kept = 0;
            while position < keep.len() {
                if keep[position] {
                    self.label_values.copy_within(position * width..(position + 1) * width, kept * width);
                    kept += 1;
                }
                position += 1;
            }
            self.label_values.truncate(kept * width);
        }
        if let Some(idle) = &mut self.idle {
            // Entries exist for the series seen by the last sweep, a prefix.
            retain_kept(&mut idle.last_change, &keep);
        }
        match &mut self.cells {
            Cells::Counter(v) => retain_kept(v, &keep),
            Cells::Gauge(v) => retain_kept(v, &keep),
            Cells::Histogram(v) => retain_kept(v, &keep),
            Cells::Summary(v) => retain_kept(v, &keep),
        }
        // Churn (remove many, add many) must not leave the columns at their peak.
        if self.label_sets.capacity() > 2 * self.label_sets.len() + 1024 {
            self.label_sets.shrink_to_fit();
            self.label_values.shrink_to_fit();
            self.created_ms.shrink_to_fit();
            match &mut self.cells {
                Cells::Counter(v) => v.shrink_to_fit(),
                Cells::Gauge(v) => v.shrink_to_fit(),
                Cells::Histogram(v) => v.shrink_to_fit(),
                Cells::Summary(v) => v.shrink_to_fit(),
            }
        }
        self.index.rebuild(&self.label_values, width, self.label_sets.len());
    }
}

/// Keeps the items whose position is marked in `keep` (at least as long).
fn retain_kept<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut position = 0;
    items.retain(|_| {
        let kept = keep[position];
        position += 1;
        kept
    });
}

/// Everything the registry knows about a family.
pub(crate) struct FamilyCore {
    /// The name as text, for error messages and `name[]` filters.
    pub(crate) name_text: String,
    /// The declared label names as text.
    pub(crate) label_name_texts: Box<[String]>,
    pub(crate) kind: MetricKind,
    /// Bucket bounds, native layout or quantiles.
    pub(crate) shape: CellShape,
    pub(crate) series: RwLock<SeriesTable>,
    /// The label-set column of the last snapshot, reused while no series is
    /// added or removed, so a scrape copies only the values.
    pub(crate) series_column: std::sync::Mutex<Option<Arc<[u32]>>>,
    /// Removed from its registry: its handles still work, on cells of their
    /// own that no snapshot reads.
    pub(crate) detached: AtomicBool,
}

impl FamilyCore {
    /// Whether the cells are of metric type `M`.
    pub(crate) fn has_cells<M: Metric>(&self) -> bool {
        M::cells(&self.series.read().unwrap_or_else(|e| e.into_inner()).cells).is_some()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new<M: Metric>(
        name_text: String,
        label_name_texts: Box<[String]>,
        name: u32,
        help: Option<u32>,
        kind: MetricKind,
        label_names: Box<[u32]>,
        shape: CellShape,
        generation: u64,
    ) -> Self {
        FamilyCore {
            name_text,
            label_name_texts,
            kind,
            shape,
            series: RwLock::new(SeriesTable {
                name,
                help,
                label_names,
                index: SeriesIndex::default(),
                label_values: Vec::new(),
                label_sets: Vec::new(),
                cells: M::empty_cells(),
                created_ms: Vec::new(),
                removed: Vec::new(),
                generation,
                idle: None,
            }),
            series_column: std::sync::Mutex::new(None),
            detached: AtomicBool::new(false),
        }
    }

    pub(crate) fn forget_series_column(&self) {
        *self.series_column.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// A handle on a registered family; cloning shares it.
pub struct Family<M> {
    core: Arc<FamilyCore>,
    interner: Arc<Interner>,
    _metric: PhantomData<M>,
}

impl<M> Clone for Family<M> {
    fn clone(&self) -> Self {
        Family { core: Arc::clone(&self.core), interner: Arc::clone(&self.interner), _metric: PhantomData }
    }
}

impl<M: Metric> Family<M> {
    pub(crate) fn new(core: Arc<FamilyCore>, interner: Arc<Interner>) -> Self {
        Family { core, interner, _metric: PhantomData }
    }

    fn check_count(&self, values: &[&str]) -> Result<(), RegistryError> {
        let expected = self.core.label_name_texts.len();
        if values.len() != expected {
            return Err(RegistryError::LabelCount { family: self.core.name_text.clone(), expected, got: values.len() });
        }
        Ok(())
    }

    /// The cell for these label values (in declaration order), created on
    /// first use. Keep the returned handle: updating it takes no lock.
    pub fn with_label_values(&self, values: &[&str]) -> Result<M, RegistryError> {
        self.check_count(values)?;
        let core = &self.core;
        if core.detached.load(Ordering::Relaxed) {
            return Ok(M::create(&core.shape));
        }
        loop {
            // Ids are only meaningful in the generation they were found in:
            // a compaction in between renumbers them (then retry).
            let generation = self.interner.generation();
            // Fast path: every value is already interned and the series exists.
            if let Some(ids) = values.iter().map(|v| self.interner.find(v)).collect::<Option<Vec<u32>>>() {
                let table = core.series.read().unwrap_or_else(|e| e.into_inner());
                if table.generation != generation {
                    continue;
                }
                if let Some(i) = table.index.get(&ids, &table.label_values) {
                    return Ok(Self::cell(&table.cells, i as usize));
                }
            }
            let ids = values.iter().map(|v| self.interner.intern(v)).collect::<Result<Vec<u32>, _>>()?;
            let mut table = core.series.write().unwrap_or_else(|e| e.into_inner());
            if table.generation != generation || self.interner.generation() != generation {
                continue;
            }
            if let Some(i) = table.index.get(&ids, &table.label_values) {
                return Ok(Self::cell(&table.cells, i as usize));
            }
            let label_set = self.interner.add_label_set(&table.label_names, &ids);
            let cell = M::create(&core.shape);
            let cells = M::cells_mut(&mut table.cells).expect("a family's cells match its metric type");
            cells.push(cell.clone());
            let position = (cells.len() - 1) as u32;
            if core.kind != MetricKind::Gauge {
                table.created_ms.push(super::now_ms());
            }
            table.label_sets.push(label_set);
            table.label_values.extend_from_slice(&ids);
            let table = &mut *table;
            table.index.insert(position, &table.label_values, ids.len());
            return Ok(cell);
        }
    }

    /// Removes the series with these label values; whether it existed.
    /// Handles on it keep working but are no longer exposed; the same
    /// label values later make a new series (from zero). Its memory is
    /// reclaimed by the next snapshots.
    pub fn remove(&self, values: &[&str]) -> Result<bool, RegistryError> {
        let removed = self.with_series(values, |table, ids| {
            let position = table.index.remove(ids, &table.label_values)?;
            table.removed.push(position as usize);
            Some(())
        })?;
        if removed.is_some() {
            self.interner.note_removal();
        }
        Ok(removed.is_some())
    }

    /// Runs `f` on the table, write-locked, with the label value ids of
    /// `values` (in the table's generation); `None` when a value was never
    /// interned (no such series), else what `f` returned.
    fn with_series<T>(&self, values: &[&str], f: impl FnOnce(&mut SeriesTable, &[u32]) -> Option<T>) -> Result<Option<T>, RegistryError> {
        self.check_count(values)?;
        loop {
            let generation = self.interner.generation();
            let Some(ids) = values.iter().map(|v| self.interner.find(v)).collect::<Option<Vec<u32>>>() else {
                return Ok(None);
            };
            let mut table = self.core.series.write().unwrap_or_else(|e| e.into_inner());
            // A compaction renumbered the ids since they were found: again.
            if table.generation != generation {
                continue;
            }
            return Ok(f(&mut table, &ids));
        }
    }

    /// Drops series whose value has not changed for `after` (checked when
    /// snapshots are taken, so at the pace of the scrapes): for label values
    /// that come and go, like KumoMTA's queues. A dropped series that is
    /// updated again through a kept handle stays dropped; look it up again
    /// with [`Family::with_label_values`] to bring it back (from zero).
    pub fn expire_idle(&self, after: Duration) {
        let mut table = self.core.series.write().unwrap_or_else(|e| e.into_inner());
        match &mut table.idle {
            Some(idle) => idle.after = after,
            None => table.idle = Some(IdleExpiry { after, last_change: Vec::new() }),
        }
    }

    /// Sets when the series with these label values was created, in ms
    /// since the epoch, for series that mirror data from elsewhere (the
    /// registry otherwise records the moment the series was added).
    /// `None`: unknown, and then no series of the family exposes a
    /// creation time. Whether the series exists.
    pub fn set_created(&self, values: &[&str], created_ms: Option<i64>) -> Result<bool, RegistryError> {
        let set = self.with_series(values, |table, ids| {
            let position = table.index.get(ids, &table.label_values)?;
            *table.created_ms.get_mut(position as usize)? = created_ms.unwrap_or(UNKNOWN_CREATED);
            Some(())
        })?;
        Ok(set.is_some())
    }

    /// Removes every series of the family (the family stays registered).
    pub fn clear(&self) {
        let mut table = self.core.series.write().unwrap_or_else(|e| e.into_inner());
        let table = &mut *table;
        table.removed.extend(table.index.positions().map(|position| position as usize));
        table.index.clear();
        self.interner.note_removal();
    }

    /// Sets the help text of a family registered without one; later calls
    /// (and families that have help) keep what they have.
    pub fn describe(&self, help: &str) -> Result<(), RegistryError> {
        loop {
            let generation = self.interner.generation();
            if self.core.series.read().unwrap_or_else(|e| e.into_inner()).help.is_some() {
                return Ok(());
            }
            let id = self.interner.intern(help)?;
            let mut table = self.core.series.write().unwrap_or_else(|e| e.into_inner());
            if table.generation != generation || self.interner.generation() != generation {
                continue;
            }
            if table.help.is_none() {
                table.help = Some(id);
            }
            return Ok(());
        }
    }

    fn cell(cells: &Cells, i: usize) -> M {
        M::cells(cells).expect("a family's cells match its metric type")[i].clone()
    }
}
