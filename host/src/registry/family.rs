//! A labelled family: one cell per distinct combination of label values.
use super::interner::Interner;
use super::{Counter, Gauge, Histogram, Metric, MetricKind, RegistryError};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

/// The cells of one family, in series creation order. Public only because
/// the sealed [`CellAccess`] trait names it.
#[doc(hidden)]
pub enum Cells {
    Counter(Vec<Counter>),
    Gauge(Vec<Gauge>),
    Histogram(Vec<Histogram>),
}

/// How a metric type finds itself in [`Cells`].
pub trait CellAccess: Sized {
    #[doc(hidden)]
    fn empty_cells() -> Cells;
    #[doc(hidden)]
    fn create(bounds: Option<&Arc<[f64]>>) -> Self;
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
            fn create(bounds: Option<&Arc<[f64]>>) -> Self {
                $create(bounds)
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

cell_access!(Counter, |_| Counter::default());
cell_access!(Gauge, |_| Gauge::default());
cell_access!(Histogram, |bounds: Option<&Arc<[f64]>>| Histogram::new(bounds.cloned().unwrap_or_else(|| Arc::from(Vec::new()))));

/// The series of a family.
pub(crate) struct SeriesTable {
    /// Series position by label value string ids.
    index: HashMap<Box<[u32]>, usize>,
    /// Label set id per series; ascending, since ids are handed out in order.
    pub(crate) label_sets: Vec<u32>,
    pub(crate) cells: Cells,
}

/// Everything the registry knows about a family.
pub(crate) struct FamilyCore {
    /// The name as text, for error messages.
    pub(crate) name_text: String,
    /// String ids of name and help (help may be given after registration,
    /// once: `describe_*!` of the metrics facade).
    pub(crate) name: u32,
    help: std::sync::OnceLock<Option<u32>>,
    pub(crate) kind: MetricKind,
    /// String ids of the declared label names.
    label_names: Box<[u32]>,
    /// Histogram bucket bounds.
    pub(crate) bounds: Option<Arc<[f64]>>,
    pub(crate) series: RwLock<SeriesTable>,
    /// The label-set column of the last snapshot, reused while no series is
    /// added, so a scrape copies only the values.
    pub(crate) series_column: std::sync::Mutex<Option<Arc<[u32]>>>,
}

impl FamilyCore {
    /// String ids of the declared label names.
    pub(crate) fn label_names(&self) -> &[u32] {
        &self.label_names
    }

    /// String id of the help text, if there is one.
    pub(crate) fn help(&self) -> Option<u32> {
        self.help.get().copied().flatten()
    }

    /// Whether the cells are of metric type `M`.
    pub(crate) fn has_cells<M: Metric>(&self) -> bool {
        M::cells(&self.series.read().unwrap_or_else(|e| e.into_inner()).cells).is_some()
    }

    pub(crate) fn new<M: Metric>(
        name_text: String,
        name: u32,
        help: Option<u32>,
        kind: MetricKind,
        label_names: Box<[u32]>,
        bounds: Option<Arc<[f64]>>,
    ) -> Self {
        FamilyCore {
            name_text,
            name,
            help: match help {
                Some(id) => std::sync::OnceLock::from(Some(id)),
                None => std::sync::OnceLock::new(),
            },
            kind,
            label_names,
            bounds,
            series: RwLock::new(SeriesTable { index: HashMap::new(), label_sets: Vec::new(), cells: M::empty_cells() }),
            series_column: std::sync::Mutex::new(None),
        }
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

    /// The cell for these label values (in declaration order), created on
    /// first use. Keep the returned handle: updating it takes no lock.
    pub fn with_label_values(&self, values: &[&str]) -> Result<M, RegistryError> {
        let core = &self.core;
        if values.len() != core.label_names.len() {
            return Err(RegistryError::LabelCount { family: core.name_text.clone(), expected: core.label_names.len(), got: values.len() });
        }
        // Fast path: every value is already interned and the series exists.
        if let Some(ids) = values.iter().map(|v| self.interner.find(v)).collect::<Option<Vec<u32>>>() {
            let table = core.series.read().unwrap_or_else(|e| e.into_inner());
            if let Some(&i) = table.index.get(ids.as_slice()) {
                return Ok(Self::cell(&table.cells, i));
            }
        }
        let ids = values.iter().map(|v| self.interner.intern(v)).collect::<Result<Vec<u32>, _>>()?;
        let mut table = core.series.write().unwrap_or_else(|e| e.into_inner());
        if let Some(&i) = table.index.get(ids.as_slice()) {
            return Ok(Self::cell(&table.cells, i));
        }
        let label_set = self.interner.add_label_set(&core.label_names, &ids);
        let cell = M::create(core.bounds.as_ref());
        let cells = M::cells_mut(&mut table.cells).expect("a family's cells match its metric type");
        cells.push(cell.clone());
        let position = cells.len() - 1;
        table.label_sets.push(label_set);
        table.index.insert(ids.into_boxed_slice(), position);
        Ok(cell)
    }

    /// Sets the help text of a family registered without one; later calls
    /// (and families that have help) keep what they have.
    pub fn describe(&self, help: &str) -> Result<(), RegistryError> {
        if self.core.help.get().is_none() {
            let id = self.interner.intern(help)?;
            let _ = self.core.help.set(Some(id));
        }
        Ok(())
    }

    fn cell(cells: &Cells, i: usize) -> M {
        M::cells(cells).expect("a family's cells match its metric type")[i].clone()
    }
}
