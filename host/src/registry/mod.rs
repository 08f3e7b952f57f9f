//! The metrics registry: families of counters, gauges, histograms (classic
//! and native) and summaries.
//!
//! Names may be any non-empty UTF-8, as in Prometheus 3 (legacy clients get
//! them escaped, see `name_escaping`). A scrape may ask for any
//! escaping scheme, so registration refuses what any scheme would break: a
//! family name that is another's under `underscores`, `dots` or `values`; a
//! label name that any scheme makes empty, reserved (`__...`, `le` in a
//! histogram, `quantile` in a summary) or the same as another label of the
//! family. So a render never fails for a name the registry accepted.
//! Registration validates names once; label values are interned once per
//! series (see [`interner`]). Callers keep the returned handles
//! ([`Counter`], [`Gauge`], [`Histogram`]) and update them lock-free.
//! [`Registry::snapshot`] reads everything into the WIT snapshot shape.
mod family;
pub(crate) mod family_read;
pub mod interner;
mod metric;
mod native_histogram;

pub use family::{CellShape, Family};
pub use interner::{InternTables, InternerFull};
pub use metric::{Counter, Gauge, Histogram, Summary};
pub use native_histogram::NativeHistogramOptions;

use family::FamilyCore;
use family_read::{FamilyRead, FamilySnapshot};

use crate::name_escaping::NameEscaping;
use interner::Interner;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// What a family measures: the formatting core's kind (the renderer
/// contract's `metric-kind`), its one definition.
pub use metrics_render_core::MetricKind;

/// Now, in milliseconds since the Unix epoch (creation timestamps).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Why a registration or label lookup was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A metric name that is empty.
    #[error("invalid metric name {0:?}: it must not be empty")]
    InvalidMetricName(String),
    /// A label name that is empty, starts with `__` or becomes so once escaped.
    #[error("family {family}: invalid label name {label:?}: it must not be empty or start with __, nor become so once escaped ({escaping} escaping writes {escaped:?})")]
    InvalidLabelName {
        /// The family being registered.
        family: String,
        /// The label name as given.
        label: String,
        /// The escaping scheme that breaks it.
        escaping: &'static str,
        /// What that scheme writes for it.
        escaped: String,
    },
    /// Two label names of a family that one escaping scheme makes the same.
    #[error("family {family}: label names {label:?} and {other:?} are the same once escaped with {escaping} ({escaped:?})")]
    LabelCollision {
        /// The family being registered.
        family: String,
        /// One label name.
        label: String,
        /// The label name it collides with.
        other: String,
        /// The escaping scheme that makes them the same.
        escaping: &'static str,
        /// What that scheme writes for both.
        escaped: String,
    },
    /// A family name that one escaping scheme makes another family's.
    #[error("family {family} is the same as family {other} once escaped with {escaping} ({escaped:?})")]
    FamilyCollision {
        /// The family being registered.
        family: String,
        /// The registered family it collides with.
        other: String,
        /// The escaping scheme that makes them the same.
        escaping: &'static str,
        /// What that scheme writes for both.
        escaped: String,
    },
    /// `le` in a histogram or `quantile` in a summary (under some escaping).
    #[error("family {family}: label name {label:?} is reserved for histogram buckets and summary quantiles ({escaping} escaping writes {escaped:?})")]
    ReservedLabel {
        /// The family being registered.
        family: String,
        /// The label name as given.
        label: String,
        /// The escaping scheme that makes it reserved.
        escaping: &'static str,
        /// What that scheme writes for it.
        escaped: String,
    },
    /// Summary quantiles that are not strictly ascending within [0, 1].
    #[error("family {family}: quantiles must be strictly ascending within [0, 1], got {quantiles:?}")]
    InvalidQuantiles {
        /// The family being registered.
        family: String,
        /// The quantiles as given.
        quantiles: Vec<f64>,
    },
    /// Native histogram options out of range.
    #[error("family {family}: {problem}")]
    InvalidNativeHistogram {
        /// The family being registered.
        family: String,
        /// Which option and why.
        problem: String,
    },
    /// A label name given twice for one family.
    #[error("family {family}: label name {label:?} is declared twice")]
    DuplicateLabel {
        /// The family being registered.
        family: String,
        /// The repeated label name.
        label: String,
    },
    /// A family name that is already registered.
    #[error("family {0} is already registered")]
    DuplicateFamily(String),
    /// Histogram bounds that are not finite and strictly ascending.
    #[error("family {family}: bucket bounds must be finite and strictly ascending, got {bounds:?}")]
    InvalidBuckets {
        /// The family being registered.
        family: String,
        /// The bounds as given.
        bounds: Vec<f64>,
    },
    /// A label lookup with the wrong number of values.
    #[error("family {family} has {expected} labels but {got} values were given")]
    LabelCount {
        /// The family looked up.
        family: String,
        /// Its number of labels.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// The registry's string table is full.
    #[error(transparent)]
    Full(#[from] InternerFull),
}

/// A set of metric families. Cloning shares it.
#[derive(Clone, Default)]
pub struct Registry {
    pub(crate) inner: Arc<RegistryInner>,
}

#[derive(Default)]
pub(crate) struct RegistryInner {
    /// Strings and label sets of every family.
    pub(crate) interner: Arc<Interner>,
    /// Families in registration order, which is also exposition order.
    pub(crate) families: RwLock<Vec<Arc<FamilyCore>>>,
    /// Registered names, to refuse duplicates, by their form under each
    /// escaping scheme ([`ESCAPINGS`]): the family name each stands for.
    names: Mutex<HashMap<(NameEscaping, String), String>>,
    /// Families removed since the last compaction.
    dead_families: std::sync::atomic::AtomicUsize,
    /// Called after each reclaim, with no lock of the registry held, to
    /// let what caches handles by key (the facade) drop handles of removed
    /// series; each returns whether it released anything.
    reclaim_listeners: Mutex<Vec<std::sync::Weak<ReclaimListener>>>,
}

/// See [`Registry::after_reclaim`].
pub(crate) type ReclaimListener = dyn Fn() -> bool + Send + Sync;

/// The schemes a scrape may ask names to be written in (besides
/// `allow-utf-8`, which writes them as they are).
const ESCAPINGS: [NameEscaping; 3] = [NameEscaping::Underscores, NameEscaping::Dots, NameEscaping::Values];

/// A family name's keys in `names`.
fn escaped_keys(name: &str) -> impl Iterator<Item = (NameEscaping, String)> + '_ {
    ESCAPINGS.into_iter().map(move |scheme| (scheme, scheme.metric_name(name).into_owned()))
}

/// Dead label sets below which the interner is not compacted.
const COMPACTION_MIN_DEAD: usize = 65_536;

/// Which cell type a family stores; sealed to the metric types.
pub trait Metric: Clone + Send + Sync + 'static + family::CellAccess {}
impl Metric for Counter {}
impl Metric for Gauge {}
impl Metric for Histogram {}
impl Metric for Summary {}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// An unlabelled counter.
    pub fn counter(&self, name: &str, help: &str) -> Result<Counter, RegistryError> {
        self.counter_family(name, help, &[])?.with_label_values(&[])
    }

    /// A family of counters with the given label names.
    pub fn counter_family(&self, name: &str, help: &str, labels: &[&str]) -> Result<Family<Counter>, RegistryError> {
        self.register(name, Some(help), labels, MetricKind::Counter, None, false)
    }

    /// An unlabelled gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Result<Gauge, RegistryError> {
        self.gauge_family(name, help, &[])?.with_label_values(&[])
    }

    /// A family of gauges with the given label names.
    pub fn gauge_family(&self, name: &str, help: &str, labels: &[&str]) -> Result<Family<Gauge>, RegistryError> {
        self.register(name, Some(help), labels, MetricKind::Gauge, None, false)
    }

    /// An unlabelled histogram with the given finite bucket bounds.
    pub fn histogram(&self, name: &str, help: &str, bounds: &[f64]) -> Result<Histogram, RegistryError> {
        self.histogram_family(name, help, &[], bounds)?.with_label_values(&[])
    }

    /// A family of histograms sharing bucket bounds.
    pub fn histogram_family(&self, name: &str, help: &str, labels: &[&str], bounds: &[f64]) -> Result<Family<Histogram>, RegistryError> {
        self.register(name, Some(help), labels, MetricKind::Histogram, Some(bounds), false)
    }

    /// An unlabelled native histogram (see [`Registry::native_histogram_family`]).
    pub fn native_histogram(
        &self,
        name: &str,
        help: &str,
        classic_bounds: &[f64],
        native: NativeHistogramOptions,
    ) -> Result<Histogram, RegistryError> {
        self.native_histogram_family(name, help, &[], classic_bounds, native)?.with_label_values(&[])
    }

    /// A family of native histograms: observations are counted in
    /// exponential buckets laid out by `native` (exposed through protobuf,
    /// where Prometheus reads native histograms) and in the classic buckets
    /// `classic_bounds` (possibly none), which the text formats write.
    pub fn native_histogram_family(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        classic_bounds: &[f64],
        native: NativeHistogramOptions,
    ) -> Result<Family<Histogram>, RegistryError> {
        if let Some(problem) = native.problem() {
            return Err(RegistryError::InvalidNativeHistogram { family: name.into(), problem });
        }
        let shape = CellShape { bounds: Some(checked_bounds(name, classic_bounds)?), native: Some(native), quantiles: None };
        self.register_shaped(name, Some(help), labels, MetricKind::Histogram, shape, false)
    }

    /// An unlabelled summary (see [`Registry::summary_family`]).
    pub fn summary(&self, name: &str, help: &str, quantiles: &[f64]) -> Result<Summary, RegistryError> {
        self.summary_family(name, help, &[], quantiles)?.with_label_values(&[])
    }

    /// A family of summaries reporting `quantiles` (strictly ascending in
    /// [0, 1]). The values are computed elsewhere and set with
    /// [`Summary::set`]: the registry mirrors summaries, it does not estimate
    /// quantiles.
    pub fn summary_family(&self, name: &str, help: &str, labels: &[&str], quantiles: &[f64]) -> Result<Family<Summary>, RegistryError> {
        self.register_summary(name, Some(help), labels, quantiles)
    }

    /// [`Registry::summary_family`], with help text or without.
    pub(crate) fn register_summary(
        &self,
        name: &str,
        help: Option<&str>,
        labels: &[&str],
        quantiles: &[f64],
    ) -> Result<Family<Summary>, RegistryError> {
        let ascending = quantiles.windows(2).all(|w| w[0] < w[1]);
        if !ascending || quantiles.iter().any(|q| !(0.0..=1.0).contains(q)) {
            return Err(RegistryError::InvalidQuantiles { family: name.into(), quantiles: quantiles.to_vec() });
        }
        let shape = CellShape { bounds: None, native: None, quantiles: Some(Arc::from(quantiles)) };
        self.register_shaped(name, help, labels, MetricKind::Summary, shape, false)
    }

    /// The registered family `name` if it has exactly this kind, cell type,
    /// label names and shape.
    fn matching_family<M: Metric>(&self, name: &str, kind: MetricKind, labels: &[&str], shape: &CellShape) -> Option<Family<M>> {
        let families = self.inner.families.read().unwrap_or_else(|e| e.into_inner());
        let core = families.iter().find(|f| f.name_text == name)?;
        let same = core.kind == kind
            && core.has_cells::<M>()
            && core.label_name_texts.iter().map(String::as_str).eq(labels.iter().copied())
            && core.shape == *shape;
        same.then(|| Family::new(Arc::clone(core), Arc::clone(&self.inner.interner)))
    }

    /// How many times series or families were removed (or expired): a
    /// cache of handles by label values is stale once this changes.
    pub fn removals(&self) -> u64 {
        self.inner.interner.removals()
    }

    /// Removes family `name` and every series of it; whether it existed.
    /// Handles on it keep working on cells no snapshot reads; the name may
    /// be registered again. Its memory is reclaimed by the next snapshots.
    pub fn remove_family(&self, name: &str) -> bool {
        let mut names = self.inner.names.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<(NameEscaping, String)> = escaped_keys(name).collect();
        if names.get(&keys[0]).is_none_or(|n| n != name) {
            return false;
        }
        for key in &keys {
            names.remove(key);
        }
        let mut families = self.inner.families.write().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = families.iter().position(|f| f.name_text == name) {
            let core = families.remove(at);
            core.detached.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.inner.dead_families.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.interner.note_removal();
        true
    }

    /// Before a snapshot: expires idle series (families that opted in),
    /// drops removed series from their families and, when removed series
    /// left dead label sets in the interner for more than a quarter of the
    /// live ones (or a family was removed), compacts it: the interner then
    /// holds at most 1.25 times what live series need.
    pub(crate) fn reclaim_removed(&self) {
        self.reclaim_tables();
        let listeners: Vec<_> = {
            let mut listeners = self.inner.reclaim_listeners.lock().unwrap_or_else(|e| e.into_inner());
            listeners.retain(|l| l.strong_count() > 0);
            listeners.iter().filter_map(std::sync::Weak::upgrade).collect()
        };
        let released = listeners.iter().fold(false, |released, listener| listener() | released);
        if released {
            crate::heap::release_freed_memory();
        }
    }

    /// The families `wanted` selects (by name) read at one instant, with the
    /// published tables their ids refer to. Reclaims removed series first;
    /// reads again if a compaction renumbered ids meanwhile. Series and
    /// families created while reading appear in the next read.
    pub(crate) fn read_families(&self, wanted: impl Fn(&str) -> bool) -> (Arc<InternTables>, Vec<FamilySnapshot>) {
        loop {
            self.reclaim_removed();
            let tables = self.inner.interner.publish();
            let families = self.inner.families.read().unwrap_or_else(|e| e.into_inner()).clone();
            let mut read = Vec::with_capacity(families.len());
            let mut stale = false;
            for family in families.iter().filter(|f| wanted(&f.name_text)) {
                match family.read(&tables) {
                    FamilyRead::Ready(snapshot) => read.push(*snapshot),
                    FamilyRead::Later => {}
                    FamilyRead::Stale => stale = true,
                }
            }
            if !stale {
                return (tables, read);
            }
        }
    }

    /// Calls `listener` after every reclaim (each snapshot) for as long as
    /// it lives; kept weakly.
    pub(crate) fn after_reclaim(&self, listener: std::sync::Weak<ReclaimListener>) {
        self.inner.reclaim_listeners.lock().unwrap_or_else(|e| e.into_inner()).push(listener);
    }

    fn reclaim_tables(&self) {
        let families = self.inner.families.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut live = 0usize;
        let now = std::time::Instant::now();
        for family in &families {
            let expires = family.series.read().unwrap_or_else(|e| e.into_inner()).idle.is_some();
            if expires && family.series.write().unwrap_or_else(|e| e.into_inner()).expire_idle(now) > 0 {
                self.inner.interner.note_removal();
            }
            let has_removed = !family.series.read().unwrap_or_else(|e| e.into_inner()).removed.is_empty();
            if has_removed {
                let mut table = family.series.write().unwrap_or_else(|e| e.into_inner());
                table.drop_removed();
                family.forget_series_column();
            }
            live += family.series.read().unwrap_or_else(|e| e.into_inner()).label_sets.len();
        }
        let dead = self.inner.interner.label_set_count().saturating_sub(live);
        let dead_families = self.inner.dead_families.load(std::sync::atomic::Ordering::Relaxed);
        if dead < COMPACTION_MIN_DEAD.max(live / 4) && dead_families == 0 {
            return;
        }
        // New families wait (registration holds `names`); every table is
        // held while ids are renumbered.
        let _names = self.inner.names.lock().unwrap_or_else(|e| e.into_inner());
        let families = self.inner.families.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut guards: Vec<_> = families.iter().map(|f| f.series.write().unwrap_or_else(|e| e.into_inner())).collect();
        for table in guards.iter_mut() {
            table.drop_removed();
        }
        let mut tables: Vec<&mut dyn interner::RenumberedTable> =
            guards.iter_mut().map(|g| &mut **g as &mut dyn interner::RenumberedTable).collect();
        self.inner.interner.compact(&mut tables);
        self.inner.dead_families.store(0, std::sync::atomic::Ordering::Relaxed);
        // Cached columns hold the old ids; forgotten while the tables are held.
        for family in &families {
            family.forget_series_column();
        }
        drop(guards);
        crate::heap::release_freed_memory();
    }

    /// Registers a family whose declared kind may differ from its cell type
    /// (a replayed counter holds arbitrary floats in gauge cells). With
    /// `reuse_existing`, an identical family already registered is returned
    /// instead of an error (the host's own metrics, when one registry is
    /// served by several servers).
    pub(crate) fn register<M: Metric>(
        &self,
        name: &str,
        help: Option<&str>,
        labels: &[&str],
        kind: MetricKind,
        bounds: Option<&[f64]>,
        reuse_existing: bool,
    ) -> Result<Family<M>, RegistryError> {
        let bounds = bounds.map(|b| checked_bounds(name, b)).transpose()?;
        self.register_shaped(name, help, labels, kind, CellShape { bounds, native: None, quantiles: None }, reuse_existing)
    }

    /// [`Registry::register`] with every cell made to `shape`.
    pub(crate) fn register_shaped<M: Metric>(
        &self,
        name: &str,
        help: Option<&str>,
        labels: &[&str],
        kind: MetricKind,
        shape: CellShape,
        reuse_existing: bool,
    ) -> Result<Family<M>, RegistryError> {
        if name.is_empty() {
            return Err(RegistryError::InvalidMetricName(name.into()));
        }
        check_label_names(name, labels, kind)?;
        let keys: Vec<(NameEscaping, String)> = escaped_keys(name).collect();
        let mut names = self.inner.names.lock().unwrap_or_else(|e| e.into_inner());
        for key in &keys {
            match names.get(key) {
                Some(other) if other == name => {
                    if reuse_existing {
                        if let Some(existing) = self.matching_family::<M>(name, kind, labels, &shape) {
                            return Ok(existing);
                        }
                    }
                    return Err(RegistryError::DuplicateFamily(name.into()));
                }
                Some(other) => {
                    return Err(RegistryError::FamilyCollision {
                        family: name.into(),
                        other: other.clone(),
                        escaping: key.0.as_str(),
                        escaped: key.1.clone(),
                    });
                }
                None => {}
            }
        }
        let interner = &self.inner.interner;
        // Holding `names` keeps compaction out: these ids stay valid.
        let core = FamilyCore::new::<M>(
            name.to_string(),
            labels.iter().map(|l| l.to_string()).collect(),
            interner.intern(name)?,
            help.map(|h| interner.intern(h)).transpose()?,
            kind,
            labels.iter().map(|l| interner.intern(l)).collect::<Result<_, _>>()?,
            shape,
            interner.generation(),
        );
        let core = Arc::new(core);
        for key in keys {
            names.insert(key, name.to_string());
        }
        self.inner.families.write().unwrap_or_else(|e| e.into_inner()).push(Arc::clone(&core));
        Ok(Family::new(core, Arc::clone(interner)))
    }
}

/// Refuses label names that some escaping scheme would make empty,
/// reserved or the same as another of the family's.
fn check_label_names(family: &str, labels: &[&str], kind: MetricKind) -> Result<(), RegistryError> {
    for scheme in ESCAPINGS {
        let mut seen: HashMap<std::borrow::Cow<'_, str>, &str> = HashMap::new();
        for &label in labels {
            let escaped = scheme.label_name(label);
            if label.is_empty() || label.starts_with("__") || escaped.starts_with("__") {
                return Err(RegistryError::InvalidLabelName {
                    family: family.into(),
                    label: label.into(),
                    escaping: scheme.as_str(),
                    escaped: escaped.into_owned(),
                });
            }
            if (kind == MetricKind::Histogram && escaped == "le") || (kind == MetricKind::Summary && escaped == "quantile") {
                return Err(RegistryError::ReservedLabel {
                    family: family.into(),
                    label: label.into(),
                    escaping: scheme.as_str(),
                    escaped: escaped.into_owned(),
                });
            }
            match seen.get(&escaped) {
                Some(&other) if other == label => return Err(RegistryError::DuplicateLabel { family: family.into(), label: label.into() }),
                Some(&other) => {
                    return Err(RegistryError::LabelCollision {
                        family: family.into(),
                        label: label.into(),
                        other: other.into(),
                        escaping: scheme.as_str(),
                        escaped: escaped.into_owned(),
                    })
                }
                None => {
                    seen.insert(escaped, label);
                }
            }
        }
    }
    Ok(())
}

/// `bounds` if they are finite and strictly ascending.
fn checked_bounds(family: &str, bounds: &[f64]) -> Result<Arc<[f64]>, RegistryError> {
    if bounds.iter().any(|x| !x.is_finite()) || bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Err(RegistryError::InvalidBuckets { family: family.into(), bounds: bounds.to_vec() });
    }
    Ok(Arc::from(bounds))
}
