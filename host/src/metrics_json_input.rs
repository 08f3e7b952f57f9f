//! metrics.json -> registry: a captured `/metrics.json` rendered again
//! offline (`metrics-host render --input FILE`), and a sidecar's upstream
//! that speaks KumoMTA's metrics.json.
//!
//! Reads exactly the shape `metrics_render_core` writes (see its
//! `metrics_json` module) and names the place of any mistake as a path such
//! as `family "ready_count": value.service["smtp"]`.
use crate::registry::{Gauge, Histogram, MetricKind, Registry};
use serde_json::{Map, Value};
use std::fmt::Display;

/// Where and why a metrics.json document is malformed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Not JSON at all.
    #[error("not valid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// JSON, but not the metrics.json shape.
    #[error("{at}: {why}")]
    Shape {
        /// Where: a path such as `family "ready_count": value.service["smtp"]`.
        at: String,
        /// What is wrong there.
        why: String,
    },
}

fn shape(at: impl Display, why: impl Display) -> ReplayError {
    ReplayError::Shape { at: at.to_string(), why: why.to_string() }
}

/// Builds a registry holding exactly the data of a metrics.json document.
pub fn registry_from_metrics_json(text: &str) -> Result<Registry, ReplayError> {
    let root: Value = serde_json::from_str(text)?;
    let Value::Object(families) = root else {
        return Err(shape("document", "expected an object keyed by family name"));
    };
    let registry = Registry::new();
    for (name, family) in &families {
        let at = format!("family {name:?}");
        let Value::Object(fields) = family else {
            return Err(shape(at, "expected an object with \"type\" and \"value\""));
        };
        replay_family(&registry, name, fields, &at)?;
    }
    Ok(registry)
}

/// One series as found in the document: label pairs and its value.
struct SeriesEntry<'a> {
    labels: Vec<(&'a str, &'a str)>,
    value: &'a Value,
    at: String,
}

fn replay_family(registry: &Registry, name: &str, fields: &Map<String, Value>, at: &str) -> Result<(), ReplayError> {
    if let Some(key) = fields.keys().find(|k| !matches!(k.as_str(), "help" | "type" | "value")) {
        return Err(shape(at, format!("unknown key {key:?} (expected help, type, value)")));
    }
    let help = match fields.get("help") {
        None => None,
        Some(Value::String(h)) => Some(h.as_str()),
        Some(_) => return Err(shape(format!("{at}: help"), "expected a string")),
    };
    let kind = match fields.get("type").and_then(Value::as_str) {
        Some("counter") => MetricKind::Counter,
        Some("gauge") => MetricKind::Gauge,
        Some("histogram") => MetricKind::Histogram,
        Some("summary") => MetricKind::Summary,
        _ => return Err(shape(format!("{at}: type"), "expected \"counter\", \"gauge\", \"histogram\" or \"summary\"")),
    };
    let value = fields.get("value").ok_or_else(|| shape(at, "missing \"value\""))?;
    let series = series_entries(value, &format!("{at}: value"))?;
    let label_names: Vec<&str> = series.first().map(|s| s.labels.iter().map(|(n, _)| *n).collect()).unwrap_or_default();
    for s in &series {
        let names: Vec<&str> = s.labels.iter().map(|(n, _)| *n).collect();
        if names != label_names {
            return Err(shape(&s.at, format!("labels {names:?} differ from the family's first series {label_names:?}")));
        }
    }
    let registration_error = |e: crate::registry::RegistryError| shape(at, e);
    if kind == MetricKind::Summary {
        let parsed: Vec<(SummaryValue, &SeriesEntry)> =
            series.iter().map(|s| Ok((summary_value(s.value, &s.at)?, s))).collect::<Result<_, ReplayError>>()?;
        let quantiles: Vec<f64> = parsed.first().map(|(v, _)| v.quantiles.clone()).unwrap_or_default();
        if let Some((_, s)) = parsed.iter().find(|(v, _)| v.quantiles != quantiles) {
            return Err(shape(&s.at, "quantiles differ from the family's first series"));
        }
        let family = registry.register_summary(name, help, &label_names, &quantiles).map_err(registration_error)?;
        for (v, s) in &parsed {
            let values: Vec<&str> = s.labels.iter().map(|(_, v)| *v).collect();
            family.with_label_values(&values).map_err(|e| shape(&s.at, e))?.set(&v.values, v.sum, v.count);
        }
    } else if kind == MetricKind::Histogram {
        let parsed: Vec<(HistogramValue, &SeriesEntry)> =
            series.iter().map(|s| Ok((histogram_value(s.value, &s.at)?, s))).collect::<Result<_, ReplayError>>()?;
        let bounds: Vec<f64> = parsed.first().map(|(h, _)| h.bounds.clone()).unwrap_or_default();
        if let Some((_, s)) = parsed.iter().find(|(h, _)| h.bounds != bounds) {
            return Err(shape(&s.at, "bucket bounds differ from the family's first series"));
        }
        let family = registry.register::<Histogram>(name, help, &label_names, kind, Some(&bounds), false).map_err(registration_error)?;
        for (h, s) in &parsed {
            let values: Vec<&str> = s.labels.iter().map(|(_, v)| *v).collect();
            let cell = family.with_label_values(&values).map_err(|e| shape(&s.at, e))?;
            cell.restore(&h.cumulative, h.count, h.sum);
        }
    } else {
        // Gauge cells hold any float, so replayed counters keep NaN and fractions.
        let family = registry.register::<Gauge>(name, help, &label_names, kind, None, false).map_err(registration_error)?;
        for s in &series {
            let values: Vec<&str> = s.labels.iter().map(|(_, v)| *v).collect();
            family.with_label_values(&values).map_err(|e| shape(&s.at, e))?.set(number(s.value, &s.at)?);
        }
    }
    Ok(())
}

/// Flattens the three label shapes (none, one label, list) into entries.
fn series_entries<'a>(value: &'a Value, at: &str) -> Result<Vec<SeriesEntry<'a>>, ReplayError> {
    let entry = |labels, value, at: String| SeriesEntry { labels, value, at };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{at}[{i}]");
                let Value::Object(map) = item else {
                    return Err(shape(&at, "expected an object of labels and \"@\""));
                };
                let mut labels = Vec::new();
                for (k, v) in map.iter().filter(|(k, _)| k.as_str() != "@") {
                    let Value::String(v) = v else {
                        return Err(shape(format!("{at}.{k}"), "label values must be strings"));
                    };
                    labels.push((k.as_str(), v.as_str()));
                }
                let value = map.get("@").ok_or_else(|| shape(&at, "missing \"@\" (the series value)"))?;
                Ok(entry(labels, value, at))
            })
            .collect(),
        Value::Object(map) if is_single_label_map(map) => {
            let (label, by_value) = map.iter().next().expect("one key");
            let Value::Object(by_value) = by_value else { unreachable!("checked by is_single_label_map") };
            Ok(by_value.iter().map(|(v, value)| entry(vec![(label.as_str(), v.as_str())], value, format!("{at}.{label}[{v:?}]"))).collect())
        }
        _ => Ok(vec![entry(Vec::new(), value, at.to_string())]),
    }
}

/// `{"label": {...}}` is the one-label shape. A histogram value is an
/// object too, but never one whose only member is an object (its `bucket`
/// is a list), so a label named `bucket` is read as a label.
fn is_single_label_map(map: &Map<String, Value>) -> bool {
    map.len() == 1 && map.values().all(Value::is_object)
}

fn number(value: &Value, at: &str) -> Result<f64, ReplayError> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| shape(at, "number out of range")),
        Value::String(s) if s == "NaN" => Ok(f64::NAN),
        Value::String(s) if s == "+Inf" => Ok(f64::INFINITY),
        Value::String(s) if s == "-Inf" => Ok(f64::NEG_INFINITY),
        _ => Err(shape(at, "expected a number or one of \"NaN\", \"+Inf\", \"-Inf\"")),
    }
}

fn whole_count(value: &Value, at: &str) -> Result<u64, ReplayError> {
    let n = number(value, at)?;
    if n >= 0.0 && n.fract() == 0.0 && n < u64::MAX as f64 {
        Ok(n as u64)
    } else {
        Err(shape(at, format!("expected a whole, non-negative count, got {n}")))
    }
}

struct SummaryValue {
    quantiles: Vec<f64>,
    values: Vec<f64>,
    count: u64,
    sum: f64,
}

fn summary_value(value: &Value, at: &str) -> Result<SummaryValue, ReplayError> {
    let Value::Object(map) = value else {
        return Err(shape(at, "expected {\"count\", \"sum\", \"quantile\"}"));
    };
    let field = |key: &str| map.get(key).ok_or_else(|| shape(at, format!("missing \"{key}\"")));
    let count = whole_count(field("count")?, &format!("{at}.count"))?;
    let sum = number(field("sum")?, &format!("{at}.sum"))?;
    let Value::Array(pairs) = field("quantile")? else {
        return Err(shape(format!("{at}.quantile"), "expected a list of [quantile, value]"));
    };
    let (mut quantiles, mut values) = (Vec::with_capacity(pairs.len()), Vec::with_capacity(pairs.len()));
    for (i, pair) in pairs.iter().enumerate() {
        let at = format!("{at}.quantile[{i}]");
        match pair.as_array().map(Vec::as_slice) {
            Some([q, v]) => {
                quantiles.push(number(q, &at)?);
                values.push(number(v, &at)?);
            }
            _ => return Err(shape(at, "expected [quantile, value]")),
        }
    }
    Ok(SummaryValue { quantiles, values, count, sum })
}

struct HistogramValue {
    bounds: Vec<f64>,
    cumulative: Vec<u64>,
    count: u64,
    sum: f64,
}

fn histogram_value(value: &Value, at: &str) -> Result<HistogramValue, ReplayError> {
    let Value::Object(map) = value else {
        return Err(shape(at, "expected {\"count\", \"sum\", \"avg\", \"bucket\"}"));
    };
    let field = |key: &str| map.get(key).ok_or_else(|| shape(at, format!("missing \"{key}\"")));
    let count = whole_count(field("count")?, &format!("{at}.count"))?;
    let sum = number(field("sum")?, &format!("{at}.sum"))?;
    let Value::Array(buckets) = field("bucket")? else {
        return Err(shape(format!("{at}.bucket"), "expected a list of [bound, cumulative count]"));
    };
    let mut bounds = Vec::with_capacity(buckets.len());
    let mut cumulative = Vec::with_capacity(buckets.len());
    for (i, bucket) in buckets.iter().enumerate() {
        let at = format!("{at}.bucket[{i}]");
        match bucket.as_array().map(Vec::as_slice) {
            Some([bound, c]) => {
                bounds.push(number(bound, &at)?);
                let c = whole_count(c, &at)?;
                if cumulative.last().is_some_and(|&previous| c < previous) || c > count {
                    return Err(shape(&at, "bucket counts must be cumulative and at most \"count\""));
                }
                cumulative.push(c);
            }
            _ => return Err(shape(at, "expected [bound, cumulative count]")),
        }
    }
    Ok(HistogramValue { bounds, cumulative, count, sum })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_of(registry: &Registry) -> String {
        let mut out = Vec::new();
        registry.snapshot().render_native("json", Default::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_histogram_whose_one_label_is_named_bucket_replays() {
        let registry = Registry::new();
        let family = registry.histogram_family("sizes", "by bucket", &["bucket"], &[1.0, 10.0]).unwrap();
        family.with_label_values(&["small"]).unwrap().observe(0.5);
        family.with_label_values(&["large"]).unwrap().observe(5.0);
        let json = json_of(&registry);
        assert!(json.contains("\"bucket\":{\"small\""), "{json}");
        let replayed = registry_from_metrics_json(&json).unwrap();
        assert_eq!(json_of(&replayed), json);
    }
}
