//! Snapshots a plugin is checked against (`metrics-host plugin check`):
//! the data that is easy to get wrong, and a large one.
use crate::registry::{NativeHistogramOptions, Registry, RegistryError};

/// Label values a renderer must escape or carry through intact.
pub const TRICKY_LABEL_VALUES: [&str; 7] = ["plain", "say \"hi\"", "C:\\dir\\file", "line1\nline2", "ünïcødé ✓ 日本", "", "tab\there"];

/// The delimiters of common line formats (CSV, Graphite, InfluxDB,
/// Prometheus, JSON, ...), each inside a label value of the delimiter
/// sample as `zz{delimiter}zz`, so a value written raw can be found.
pub const DELIMITERS: [&str; 12] = [",", "\"", "\\", "\n", "=", "{", "}", " ", ".", "/", ";", "\t"];

/// One gauge series per [`DELIMITERS`] entry, its label `value` holding it.
pub fn delimiters() -> Result<Registry, RegistryError> {
    let registry = Registry::new();
    let family = registry.gauge_family("delimiter_values", "label values holding the delimiters of common formats", &["value"])?;
    for (n, delimiter) in DELIMITERS.iter().enumerate() {
        family.with_label_values(&[&format!("zz{delimiter}zz")])?.set(n as f64);
    }
    Ok(registry)
}

/// Every kind, escapes in help and label values, multi-byte and empty
/// values, NaN and the infinities, an empty family, labelled histograms
/// (classic and native), a summary, a family without labels.
pub fn edge_cases() -> Result<Registry, RegistryError> {
    let registry = Registry::new();
    let values = registry.gauge_family("edge_values", "help with \\ backslash, \"quotes\"\nand a second line ✓", &["case"])?;
    for (case, value) in [
        ("nan", f64::NAN),
        ("pos_inf", f64::INFINITY),
        ("neg_inf", f64::NEG_INFINITY),
        ("max", f64::MAX),
        ("subnormal", 5e-324),
        ("negative", -42.5),
        ("zero", 0.0),
    ] {
        values.with_label_values(&[case])?.set(value);
    }
    let labels = registry.counter_family("edge_labels_total", "label values that need care", &["value", "kind"])?;
    for (i, value) in TRICKY_LABEL_VALUES.iter().enumerate() {
        labels.with_label_values(&[value, "counter"])?.inc_by(i as u64 + 1);
    }
    registry.gauge_family("edge_empty_family", "a family without series", &["queue"])?;
    let latency = registry.histogram_family("edge_latency_seconds", "a labelled histogram", &["service"], &[0.01, 0.1, 1.0])?;
    for (i, service) in TRICKY_LABEL_VALUES.iter().enumerate() {
        let h = latency.with_label_values(&[service])?;
        for k in 0..=i {
            h.observe(0.005 * 10f64.powi(k as i32 % 4));
        }
    }
    let native = registry.native_histogram_family(
        "edge_native_seconds",
        "a native histogram with classic buckets",
        &["service"],
        &[0.1, 1.0],
        NativeHistogramOptions::default(),
    )?;
    for v in [-1.0, 0.0, 0.05, 0.5, 5.0] {
        native.with_label_values(&["smtp"])?.observe(v);
    }
    let summary = registry.summary_family("edge_rpc_seconds", "a summary", &["method"], &[0.5, 0.9, 0.99])?;
    summary.with_label_values(&["get"])?.set(&[0.01, 0.2, f64::NAN], 12.5, 40);
    registry.gauge("edge_unlabelled", "no labels")?.set(7.5);
    Ok(registry)
}

/// Series in the large sample.
pub const LARGE_SERIES: usize = 100_000;

/// One gauge family of [`LARGE_SERIES`] series with KumoMTA-like queue names.
pub fn large() -> Result<Registry, RegistryError> {
    let registry = Registry::new();
    let queues = registry.gauge_family("scheduled_count", "messages in the scheduled queue", &["queue", "service"])?;
    for i in 0..LARGE_SERIES {
        let queue = format!("campaign{}:tenant{}@q{i}.example.com", i % 7, i % 13);
        queues.with_label_values(&[&queue, "smtp_client"])?.set(i as f64);
    }
    Ok(registry)
}
