//! Parsed upstream families -> the served registry, kept in step with the
//! upstream: families and series that appear are registered, values set,
//! series and families that disappear removed (their memory reclaimed by
//! the registry like any removal).
//!
//! The host's own families live in the same registry: an upstream family
//! with the name of one of them (or otherwise refused by the registry) is
//! left out and logged once.
use super::exposition_parser::{ParsedFamily, ParsedValue};
use crate::registry::{CellShape, Family, Gauge, Histogram, MetricKind, Registry, Summary};
use crate::snapshot::Snapshot;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a mirrored family was registered as; a change re-registers it.
#[derive(Debug, Clone, PartialEq)]
struct Declared {
    kind: MetricKind,
    help: Option<String>,
    label_names: Vec<String>,
    bounds: Vec<f64>,
    quantiles: Vec<f64>,
}

enum Cells {
    /// Counters and gauges: gauge cells hold any float (upstream counters may be fractional).
    Values(Family<Gauge>),
    Histograms(Family<Histogram>),
    Summaries(Family<Summary>),
}

struct Mirrored {
    declared: Declared,
    cells: Cells,
    /// Label values of the series the last sync saw.
    series: HashSet<Vec<String>>,
}

/// The upstream's families in a registry.
pub struct Mirror {
    registry: Registry,
    families: HashMap<String, Mirrored>,
    /// Names refused once (logged then, not again).
    refused: HashSet<String>,
}

impl Mirror {
    /// Mirrors into `registry`, which holds nothing of the upstream yet.
    pub fn new(registry: Registry) -> Self {
        Mirror { registry, families: HashMap::new(), refused: HashSet::new() }
    }

    /// Makes the registry hold exactly `parsed` (besides the host's own families).
    pub fn sync(&mut self, parsed: Vec<ParsedFamily>) {
        let present: HashSet<String> = parsed.iter().map(|f| f.name.clone()).collect();
        for gone in self.families.keys().filter(|name| !present.contains(*name)).cloned().collect::<Vec<_>>() {
            self.families.remove(&gone);
            self.registry.remove_family(&gone);
        }
        for family in parsed {
            if let Err(why) = self.sync_family(family.clone()) {
                if self.refused.insert(family.name.clone()) {
                    tracing::warn!(family = %family.name, reason = %why, "upstream family left out");
                }
            }
        }
    }

    fn sync_family(&mut self, family: ParsedFamily) -> Result<(), String> {
        let declared = Declared {
            kind: family.kind,
            help: family.help.clone(),
            label_names: family.label_names.clone(),
            bounds: family.bounds.clone(),
            quantiles: family.quantiles.clone(),
        };
        let reuse = self.families.get(&family.name).is_some_and(|m| m.declared == declared);
        if !reuse {
            if self.families.remove(&family.name).is_some() {
                self.registry.remove_family(&family.name);
            }
            let cells = self.register(&family).map_err(|e| e.to_string())?;
            self.families.insert(family.name.clone(), Mirrored { declared, cells, series: HashSet::new() });
        }
        let mirrored = self.families.get_mut(&family.name).expect("registered above");
        let mut seen = HashSet::with_capacity(family.series.len());
        for series in family.series {
            let values: Vec<&str> = series.label_values.iter().map(String::as_str).collect();
            let set = match (&mirrored.cells, &series.value) {
                (Cells::Values(cells), ParsedValue::Number(v)) => cells.with_label_values(&values).map(|cell| cell.set(*v)),
                (Cells::Histograms(cells), ParsedValue::Histogram { cumulative, count, sum }) => {
                    cells.with_label_values(&values).map(|cell| cell.restore(cumulative, *count, *sum))
                }
                (Cells::Summaries(cells), ParsedValue::Summary { values: quantiles, count, sum }) => {
                    cells.with_label_values(&values).map(|cell| cell.set(quantiles, *sum, *count))
                }
                _ => return Err("a series of another kind than its family".into()),
            };
            set.map_err(|e| e.to_string())?;
            let created = match &mirrored.cells {
                Cells::Values(cells) => cells.set_created(&values, series.created_ms),
                Cells::Histograms(cells) => cells.set_created(&values, series.created_ms),
                Cells::Summaries(cells) => cells.set_created(&values, series.created_ms),
            };
            created.map_err(|e| e.to_string())?;
            seen.insert(series.label_values);
        }
        for gone in mirrored.series.difference(&seen) {
            let values: Vec<&str> = gone.iter().map(String::as_str).collect();
            let removed = match &mirrored.cells {
                Cells::Values(cells) => cells.remove(&values),
                Cells::Histograms(cells) => cells.remove(&values),
                Cells::Summaries(cells) => cells.remove(&values),
            };
            removed.map_err(|e| e.to_string())?;
        }
        mirrored.series = seen;
        Ok(())
    }

    fn register(&self, family: &ParsedFamily) -> Result<Cells, crate::registry::RegistryError> {
        let labels: Vec<&str> = family.label_names.iter().map(String::as_str).collect();
        let (name, help) = (family.name.as_str(), family.help.as_deref());
        let shape = |bounds: Option<&[f64]>, quantiles: Option<&[f64]>| CellShape {
            bounds: bounds.map(Arc::from),
            native: None,
            quantiles: quantiles.map(Arc::from),
        };
        Ok(match family.kind {
            MetricKind::Counter | MetricKind::Gauge => {
                Cells::Values(self.registry.register_shaped(name, help, &labels, family.kind, shape(None, None), false)?)
            }
            MetricKind::Histogram => Cells::Histograms(self.registry.register_shaped(
                name,
                help,
                &labels,
                family.kind,
                shape(Some(&family.bounds), None),
                false,
            )?),
            MetricKind::Summary => Cells::Summaries(self.registry.register_shaped(
                name,
                help,
                &labels,
                family.kind,
                shape(None, Some(&family.quantiles)),
                false,
            )?),
        })
    }
}

/// A snapshot's families as parsed families (for upstream metrics.json,
/// read through the replay reader into a registry of its own).
pub fn families_of(snapshot: &Snapshot) -> Vec<ParsedFamily> {
    let string = |id: u32| snapshot.tables.string(id as usize).to_string();
    snapshot
        .families
        .iter()
        .map(|f| {
            let label_names = f.label_names.iter().map(|&l| string(l)).collect();
            let series = f
                .series
                .iter()
                .enumerate()
                .map(|(i, &set)| {
                    let label_values = snapshot.tables.label_values_of(set).iter().map(|&v| string(v)).collect();
                    let value = match (&f.histogram, &f.summary) {
                        (Some(h), _) => {
                            let b = h.bounds.len();
                            ParsedValue::Histogram {
                                cumulative: h.bucket_counts[i * b..(i + 1) * b].to_vec(),
                                count: h.counts[i],
                                sum: h.sums[i],
                            }
                        }
                        (None, Some(s)) => {
                            let q = s.quantiles.len();
                            ParsedValue::Summary { values: s.values[i * q..(i + 1) * q].to_vec(), count: s.counts[i], sum: s.sums[i] }
                        }
                        (None, None) => ParsedValue::Number(f.values[i]),
                    };
                    super::exposition_parser::ParsedSeries { label_values, value, created_ms: None }
                })
                .collect();
            ParsedFamily {
                name: string(f.name),
                help: f.help.map(string),
                kind: f.kind,
                label_names,
                bounds: f.histogram.as_ref().map(|h| h.bounds.clone()).unwrap_or_default(),
                quantiles: f.summary.as_ref().map(|s| s.quantiles.clone()).unwrap_or_default(),
                series,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::exposition_parser::{parse, Syntax};

    fn names_and_values(registry: &Registry) -> Vec<(String, usize)> {
        let snapshot = registry.snapshot();
        snapshot.families.iter().map(|f| (snapshot.tables.string(f.name as usize).to_string(), f.series.len())).collect()
    }

    #[test]
    fn series_and_families_that_leave_upstream_leave_the_registry() {
        let registry = Registry::new();
        let own = registry.counter("metrics_host_renders_total", "the host's own").unwrap();
        own.inc();
        let mut mirror = Mirror::new(registry.clone());
        let first =
            "# TYPE q gauge\nq{x=\"a\"} 1\nq{x=\"b\"} 2\n# TYPE gone counter\ngone 3\n# TYPE metrics_host_renders_total gauge\nmetrics_host_renders_total 9\n";
        mirror.sync(parse(first, Syntax::Text).unwrap());
        assert_eq!(names_and_values(&registry), vec![("metrics_host_renders_total".into(), 1), ("q".into(), 2), ("gone".into(), 1)]);
        let second = "# TYPE q gauge\nq{x=\"b\"} 5\n# TYPE new histogram\nnew_bucket{le=\"+Inf\"} 1\nnew_sum 2\nnew_count 1\n";
        mirror.sync(parse(second, Syntax::Text).unwrap());
        assert_eq!(names_and_values(&registry), vec![("metrics_host_renders_total".into(), 1), ("q".into(), 1), ("new".into(), 1)]);
        let snapshot = registry.snapshot();
        assert_eq!(snapshot.families[1].values, vec![5.0]);
        assert_eq!(own.get(), 1, "the host's own family is never replaced");
        // A family whose labels change is registered again.
        mirror.sync(parse("# TYPE q gauge\nq{y=\"c\"} 7\n", Syntax::Text).unwrap());
        let snapshot = registry.snapshot();
        let q = snapshot.families.iter().find(|f| snapshot.tables.string(f.name as usize) == "q").unwrap();
        assert_eq!((snapshot.tables.string(q.label_names[0] as usize), q.values.clone()), ("y", vec![7.0]));
    }
}
