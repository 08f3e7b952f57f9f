//! The `metrics` facade (crate `metrics` 0.24, as used with
//! metrics-exporter-prometheus): a [`metrics::Recorder`] that records
//! `counter!`, `gauge!`, `histogram!` and `describe_*!` into a [`Registry`].
//!
//! Decisions, documented in the README:
//! - Names and label names are kept as given: the registry takes any UTF-8
//!   (legacy scrapes see them escaped, Prometheus 3 quoted), so there is no
//!   lossy sanitising. Label order does not matter: a family keeps the
//!   label names of its first series, later keys are matched by name.
//! - A family is created on first use with the kind of that use. A key
//!   whose kind or label names differ from its family's, or that the
//!   registry refuses (an empty name, a reserved label name), gets a no-op
//!   handle: nothing panics, the refusal is logged once per name and
//!   counted in `metrics_host_facade_refused_total` (a self-metric: see
//!   [`crate::self_metrics`] to move or turn it off).
//! - Histograms use [`DEFAULT_BUCKETS`] unless a bucket rule matches the
//!   name (exact name first, then the longest prefix), like
//!   metrics-exporter-prometheus's `set_buckets_for_metric`.
//! - Help comes from `describe_*!`, before or after first use; units are
//!   not part of the exposition.
//! - With an idle timeout, series unchanged that long are dropped (checked
//!   at each snapshot); the next macro call with the key brings them back.
//! - Handles are cached by key (one lookup per macro call that resolves
//!   its key); the cache empties whenever the registry removes anything,
//!   at the next snapshot at the latest (so series dropped by the idle
//!   timeout free their memory like the registry's own, with no further
//!   macro call).
use crate::registry::{Counter, Family, Gauge, Histogram, MetricKind, Registry, RegistryError};
use crate::self_metrics::{SelfMetricsConfig, FAMILY_NAMES};
use metrics::{CounterFn, GaugeFn, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Prometheus' default histogram buckets.
pub const DEFAULT_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Which histograms a bucket rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetricMatcher {
    /// This exact name.
    Name(String),
    /// Names starting with this.
    Prefix(String),
}

/// Bucket bounds for histograms created through the facade.
#[derive(Debug, Clone)]
pub struct BucketRules {
    default: Vec<f64>,
    rules: Vec<(MetricMatcher, Vec<f64>)>,
}

impl Default for BucketRules {
    fn default() -> Self {
        BucketRules { default: DEFAULT_BUCKETS.to_vec(), rules: Vec::new() }
    }
}

impl BucketRules {
    /// Bounds for histograms no rule matches.
    pub fn with_default(mut self, bounds: &[f64]) -> Self {
        self.default = bounds.to_vec();
        self
    }

    /// Bounds for histograms `matcher` selects.
    pub fn with_rule(mut self, matcher: MetricMatcher, bounds: &[f64]) -> Self {
        self.rules.push((matcher, bounds.to_vec()));
        self
    }

    /// The bounds for histogram `name`: an exact rule, else the longest
    /// matching prefix, else the default.
    pub fn bounds_for(&self, name: &str) -> &[f64] {
        let exact = self.rules.iter().find(|(m, _)| *m == MetricMatcher::Name(name.to_string()));
        let prefix = || {
            self.rules
                .iter()
                .filter_map(|(m, b)| match m {
                    MetricMatcher::Prefix(p) if name.starts_with(p.as_str()) => Some((p.len(), b)),
                    _ => None,
                })
                .max_by_key(|(len, _)| *len)
                .map(|(_, b)| b)
        };
        exact.map(|(_, b)| b).or_else(prefix).unwrap_or(&self.default)
    }
}

/// A family created through the facade, with its label names in order.
enum FacadeFamily {
    Counter(Family<Counter>, Vec<String>),
    Gauge(Family<Gauge>, Vec<String>),
    Histogram(Family<Histogram>, Vec<String>),
}

/// Hashes a [`Key`] by the hash it carries (its `Hash` writes one u64).
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap<T> = HashMap<Key, T, std::hash::BuildHasherDefault<KeyHasher>>;

/// Handles already made, by key, so a macro that resolves its key on every
/// call costs one lookup; emptied when the registry removes anything.
#[derive(Default)]
struct HandleCache {
    removals: u64,
    counters: KeyMap<metrics::Counter>,
    gauges: KeyMap<metrics::Gauge>,
    histograms: KeyMap<metrics::Histogram>,
}

/// Records the facade's metrics into a registry.
pub struct FacadeRecorder {
    cache: Arc<std::sync::RwLock<HandleCache>>,
    /// Empties a stale cache after the registry's reclaim; the registry
    /// holds it weakly.
    _empty_stale_cache: Arc<crate::registry::ReclaimListener>,
    registry: Registry,
    buckets: BucketRules,
    families: Mutex<HashMap<String, FacadeFamily>>,
    /// Help given before the family exists.
    descriptions: Mutex<HashMap<String, String>>,
    /// Names whose refusal was already logged.
    logged: Mutex<HashSet<String>>,
    refused: Counter,
    /// Series of facade families unchanged this long are dropped.
    idle_timeout: Option<std::time::Duration>,
}

impl FacadeRecorder {
    /// A recorder into `registry`, counting refused keys in the default
    /// self-metrics namespace; fails only if the refusal counter's name is
    /// taken by a different family.
    pub fn new(registry: Registry, buckets: BucketRules) -> Result<Self, RegistryError> {
        Self::with_self_metrics(registry, buckets, &SelfMetricsConfig::default())
    }

    /// [`FacadeRecorder::new`], with the refusal counter named (or turned
    /// off) as `self_metrics` says.
    pub fn with_self_metrics(registry: Registry, buckets: BucketRules, self_metrics: &SelfMetricsConfig) -> Result<Self, RegistryError> {
        let help = "metrics facade keys refused (kind or label names differ from the family's, or invalid)";
        let refused = self_metrics
            .registry(&registry)
            .register::<Counter>(&self_metrics.name(FAMILY_NAMES[7]), Some(help), &[], MetricKind::Counter, None, true)?
            .with_label_values(&[])?;
        let cache = Arc::new(std::sync::RwLock::new(HandleCache { removals: registry.removals(), ..Default::default() }));
        let empty_stale_cache: Arc<crate::registry::ReclaimListener> = {
            let (cache, registry) = (Arc::downgrade(&cache), registry.clone());
            Arc::new(move || {
                let Some(cache) = cache.upgrade() else { return false };
                let removals = registry.removals();
                if cache.read().unwrap_or_else(|e| e.into_inner()).removals == removals {
                    return false;
                }
                let stale = std::mem::replace(
                    &mut *cache.write().unwrap_or_else(|e| e.into_inner()),
                    HandleCache { removals, ..Default::default() },
                );
                // Dropped outside the lock; worth handing heap back only
                // when many handles went.
                let handles = stale.counters.len() + stale.gauges.len() + stale.histograms.len();
                drop(stale);
                handles >= 4096
            })
        };
        registry.after_reclaim(Arc::downgrade(&empty_stale_cache));
        Ok(FacadeRecorder {
            cache,
            _empty_stale_cache: empty_stale_cache,
            registry,
            buckets,
            families: Mutex::new(HashMap::new()),
            descriptions: Mutex::new(HashMap::new()),
            logged: Mutex::new(HashSet::new()),
            refused,
            idle_timeout: None,
        })
    }

    /// Drops series of facade-created families whose value has not changed
    /// for `after` (like metrics-exporter-prometheus's `idle_timeout`);
    /// the next macro call with the same key starts the series again.
    pub fn with_idle_timeout(mut self, after: std::time::Duration) -> Self {
        self.idle_timeout = Some(after);
        self
    }

    /// The cached handle for `key`, made by `make` on a miss (and cached
    /// unless it is a no-op for a refused key).
    fn cached<T: Clone>(
        &self,
        key: &Key,
        map: impl Fn(&mut HandleCache) -> &mut KeyMap<T>,
        read: impl Fn(&HandleCache) -> &KeyMap<T>,
        make: impl FnOnce() -> Option<T>,
        noop: impl FnOnce() -> T,
    ) -> T {
        let removals = self.registry.removals();
        {
            let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
            if cache.removals == removals {
                if let Some(handle) = read(&cache).get(key) {
                    return handle.clone();
                }
            }
        }
        let Some(handle) = make() else { return noop() };
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.removals != removals {
            *cache = HandleCache { removals, ..Default::default() };
        }
        map(&mut cache).insert(key.clone(), handle.clone());
        handle
    }

    fn refuse(&self, name: &str, why: &str) {
        self.refused.inc();
        if self.logged.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string()) {
            tracing::warn!(metric = name, reason = why, "metrics facade key refused (logged once per name)");
        }
    }

    fn describe(&self, name: &str, description: &str) {
        let families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        let described = match families.get(name) {
            Some(FacadeFamily::Counter(f, _)) => f.describe(description),
            Some(FacadeFamily::Gauge(f, _)) => f.describe(description),
            Some(FacadeFamily::Histogram(f, _)) => f.describe(description),
            None => {
                self.descriptions.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), description.to_string());
                Ok(())
            }
        };
        if let Err(error) = described {
            self.refuse(name, &error.to_string());
        }
    }

    /// The label values of `key` in the order of `names`, if it has exactly those labels.
    fn values_in_order<'k>(key: &'k Key, names: &[String]) -> Option<Vec<&'k str>> {
        if key.labels().count() != names.len() {
            return None;
        }
        names.iter().map(|n| key.labels().find(|l| l.key() == n).map(|l| l.value())).collect()
    }

    /// The cell for `key`, creating its family (kind `want`) on first use.
    fn cell<M>(
        &self,
        key: &Key,
        kind: &str,
        existing: impl Fn(&FacadeFamily) -> Option<(&Family<M>, &Vec<String>)>,
        create: impl FnOnce(&Registry, &str, Option<&str>, &[&str]) -> Result<Family<M>, RegistryError>,
        wrap: impl FnOnce(Family<M>, Vec<String>) -> FacadeFamily,
    ) -> Option<M>
    where
        M: crate::registry::Metric,
    {
        let name = key.name();
        let mut families = self.families.lock().unwrap_or_else(|e| e.into_inner());
        if !families.contains_key(name) {
            let labels: Vec<String> = key.labels().map(|l| l.key().to_string()).collect();
            let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            let help = self.descriptions.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
            match create(&self.registry, name, help.as_deref(), &label_refs) {
                Ok(family) => {
                    if let Some(after) = self.idle_timeout {
                        family.expire_idle(after);
                    }
                    families.insert(name.to_string(), wrap(family, labels));
                }
                Err(error) => {
                    drop(families);
                    self.refuse(name, &error.to_string());
                    return None;
                }
            }
        }
        let Some((family, names)) = families.get(name).and_then(&existing) else {
            drop(families);
            self.refuse(name, &format!("already used as another kind than {kind}"));
            return None;
        };
        let Some(values) = Self::values_in_order(key, names) else {
            let expected = names.join(", ");
            drop(families);
            self.refuse(name, &format!("label names differ from the family's ({expected})"));
            return None;
        };
        match family.with_label_values(&values) {
            Ok(cell) => Some(cell),
            Err(error) => {
                drop(families);
                self.refuse(name, &error.to_string());
                None
            }
        }
    }
}

struct FacadeCounter(Counter);

impl CounterFn for FacadeCounter {
    fn increment(&self, value: u64) {
        self.0.inc_by(value);
    }

    fn absolute(&self, value: u64) {
        self.0.raise_to(value);
    }
}

struct FacadeGauge(Gauge);

impl GaugeFn for FacadeGauge {
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    fn decrement(&self, value: f64) {
        self.0.add(-value);
    }

    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

struct FacadeHistogram(Histogram);

impl HistogramFn for FacadeHistogram {
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}

impl metrics::Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key.as_str(), &description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key.as_str(), &description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.describe(key.as_str(), &description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Counter {
        let make = || {
            let cell = self.cell(
                key,
                "counter",
                |f| match f {
                    FacadeFamily::Counter(family, names) => Some((family, names)),
                    _ => None,
                },
                |registry, name, help, labels| registry.register(name, help, labels, MetricKind::Counter, None, false),
                FacadeFamily::Counter,
            );
            cell.map(|c| metrics::Counter::from_arc(Arc::new(FacadeCounter(c))))
        };
        self.cached(key, |c| &mut c.counters, |c| &c.counters, make, metrics::Counter::noop)
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Gauge {
        let make = || {
            let cell = self.cell(
                key,
                "gauge",
                |f| match f {
                    FacadeFamily::Gauge(family, names) => Some((family, names)),
                    _ => None,
                },
                |registry, name, help, labels| registry.register(name, help, labels, MetricKind::Gauge, None, false),
                FacadeFamily::Gauge,
            );
            cell.map(|g| metrics::Gauge::from_arc(Arc::new(FacadeGauge(g))))
        };
        self.cached(key, |c| &mut c.gauges, |c| &c.gauges, make, metrics::Gauge::noop)
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> metrics::Histogram {
        let buckets = &self.buckets;
        let make = || {
            let cell = self.cell(
                key,
                "histogram",
                |f| match f {
                    FacadeFamily::Histogram(family, names) => Some((family, names)),
                    _ => None,
                },
                |registry, name, help, labels| {
                    registry.register(name, help, labels, MetricKind::Histogram, Some(buckets.bounds_for(name)), false)
                },
                FacadeFamily::Histogram,
            );
            cell.map(|h| metrics::Histogram::from_arc(Arc::new(FacadeHistogram(h))))
        };
        self.cached(key, |c| &mut c.histograms, |c| &c.histograms, make, metrics::Histogram::noop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics::Recorder;

    fn text(registry: &Registry) -> String {
        let mut out = Vec::new();
        registry.snapshot().render_native("prometheus", Default::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn idle_series_leave_the_handle_cache_at_the_snapshot_that_drops_them() {
        let registry = Registry::new();
        let after = std::time::Duration::from_millis(1);
        let recorder = FacadeRecorder::new(registry.clone(), BucketRules::default()).unwrap().with_idle_timeout(after);
        let handles = |recorder: &FacadeRecorder| recorder.cache.read().unwrap().gauges.len();
        metrics::with_local_recorder(&recorder, || {
            for i in 0..100 {
                metrics::gauge!("queue_depth", "queue" => format!("q{i}")).set(1.0);
            }
        });
        assert_eq!(handles(&recorder), 100);
        assert!(text(&registry).contains("queue_depth{queue=\"q99\"} 1\n"));
        // Unchanged for longer than the timeout: the next snapshot drops
        // the series and, with no macro call in between, their handles.
        std::thread::sleep(after * 20);
        let text = text(&registry);
        assert!(!text.contains("queue_depth{"), "{text}");
        assert_eq!(handles(&recorder), 0);
        // A macro call brings a series back.
        metrics::with_local_recorder(&recorder, || metrics::gauge!("queue_depth", "queue" => "q1").set(2.0));
        assert!(crate::facade::tests::text(&registry).contains("queue_depth{queue=\"q1\"} 2\n"));
    }

    #[test]
    fn macros_feed_the_registry_and_odd_keys_are_refused_without_panic() {
        let registry = Registry::new();
        let recorder =
            FacadeRecorder::new(registry.clone(), BucketRules::default().with_rule(MetricMatcher::Prefix("rpc_".into()), &[1.0, 2.0]))
                .unwrap();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("sent_total", "messages sent");
            metrics::counter!("sent_total", "domain" => "a.com", "tenant" => "t1").increment(3);
            // Same labels in another order: the same series.
            metrics::counter!("sent_total", "tenant" => "t1", "domain" => "a.com").increment(1);
            metrics::counter!("sent_total", "domain" => "b.com", "tenant" => "t1").absolute(7);
            metrics::gauge!("queue.depth", "queue" => "q1").set(5.0);
            metrics::gauge!("queue.depth", "queue" => "q1").decrement(2.0);
            metrics::histogram!("rpc_seconds").record(1.5);
            // Refused: another kind, other label names, an invalid label name.
            metrics::gauge!("sent_total", "domain" => "a.com", "tenant" => "t1").set(1.0);
            metrics::counter!("sent_total", "domain" => "a.com").increment(100);
            metrics::counter!("odd", "__reserved" => "x").increment(1);
        });
        recorder.describe_gauge("queue.depth".into(), None, "described after first use".into());
        let text = text(&registry);
        assert!(text.contains("# HELP sent_total messages sent\n"), "{text}");
        assert!(text.contains("sent_total{domain=\"a.com\",tenant=\"t1\"} 4\n"), "{text}");
        assert!(text.contains("sent_total{domain=\"b.com\",tenant=\"t1\"} 7\n"), "{text}");
        assert!(text.contains("# HELP queue_depth described after first use\n"), "{text}");
        assert!(text.contains("queue_depth{queue=\"q1\"} 3\n"), "{text}");
        assert!(text.contains("rpc_seconds_bucket{le=\"2\"} 1\n"), "prefix rule buckets: {text}");
        assert!(text.contains("metrics_host_facade_refused_total 3\n"), "{text}");
    }

    #[test]
    fn bucket_rules_prefer_exact_names_then_longest_prefixes() {
        let rules = BucketRules::default()
            .with_default(&[1.0])
            .with_rule(MetricMatcher::Prefix("a".into()), &[2.0])
            .with_rule(MetricMatcher::Prefix("ab".into()), &[3.0])
            .with_rule(MetricMatcher::Name("abc".into()), &[4.0]);
        assert_eq!(rules.bounds_for("abc"), [4.0]);
        assert_eq!(rules.bounds_for("abd"), [3.0]);
        assert_eq!(rules.bounds_for("ax"), [2.0]);
        assert_eq!(rules.bounds_for("z"), [1.0]);
    }
}
