//! The host's own metrics, registered in the served registry so they appear
//! in every exposition: renders by format and outcome, render duration,
//! output bytes, plugin reloads by outcome, requests refused by the
//! trusted-IP check, requests served from a shared render, clients cut
//! off from one, keys the `metrics` facade refused, and per push endpoint
//! its requests by outcome, answers by status code, drops by reason,
//! samples sent, queue bytes and last success.
//!
//! They live in their own namespace, `metrics_host_` by default, with
//! Prometheus' naming conventions (`_total` counters, base units), so they
//! pass `promtool check metrics` and cannot meet an application's names;
//! [`SelfMetricsConfig`] moves them to another prefix or turns them off.
use crate::plugin::catalog::ReloadReport;
use crate::registry::{Counter, Family, Histogram, MetricKind, Registry, RegistryError};
use std::time::Duration;

/// The default prefix of the host's own metrics.
pub const DEFAULT_PREFIX: &str = "metrics_host_";

/// Names of the families registered here, without their prefix.
pub const FAMILY_NAMES: [&str; 14] = [
    "renders_total",
    "render_duration_seconds",
    "render_output_bytes_total",
    "plugin_reloads_total",
    "requests_denied_total",
    "shared_requests_total",
    "clients_cut_off_total",
    "facade_refused_total",
    "push_requests_total",
    "push_queue_bytes",
    "push_last_success_timestamp_seconds",
    "push_responses_total",
    "push_dropped_total",
    "push_samples_total",
];

/// Whether the host's own metrics are served, and under which prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfMetricsConfig {
    /// Off: they are counted into a registry nobody serves.
    pub enabled: bool,
    /// Put before every name in [`FAMILY_NAMES`].
    pub prefix: String,
}

impl Default for SelfMetricsConfig {
    fn default() -> Self {
        SelfMetricsConfig { enabled: true, prefix: DEFAULT_PREFIX.to_string() }
    }
}

impl SelfMetricsConfig {
    /// Turned off.
    pub fn off() -> Self {
        SelfMetricsConfig { enabled: false, ..Self::default() }
    }

    /// The full name of one of [`FAMILY_NAMES`].
    pub fn name(&self, family: &str) -> String {
        format!("{}{family}", self.prefix)
    }

    /// Where they are registered: `served`, or a registry of their own
    /// when they are off.
    pub fn registry(&self, served: &Registry) -> Registry {
        if self.enabled {
            served.clone()
        } else {
            Registry::new()
        }
    }
}

/// Handles on the host's own metrics.
pub struct HostMetrics {
    renders: Family<Counter>,
    latency: Family<Histogram>,
    output_bytes: Family<Counter>,
    reloads: Family<Counter>,
    denied: Counter,
    shared_requests: Counter,
    cut_off: Counter,
    push_requests: Family<Counter>,
    push_queue: Family<crate::registry::Gauge>,
    push_success: Family<crate::registry::Gauge>,
    push_responses: Family<Counter>,
    push_dropped: Family<Counter>,
    push_samples: Family<Counter>,
}

impl HostMetrics {
    /// Registers the families (as `config` says), or reuses them when this
    /// registry already serves another server; fails if a name is taken by
    /// a different family.
    pub fn register(served: &Registry, config: &SelfMetricsConfig) -> Result<Self, RegistryError> {
        let registry = config.registry(served);
        let registry = &registry;
        let counters = |family: &str, help: &str, labels: &[&str]| {
            registry.register::<Counter>(&config.name(family), Some(help), labels, MetricKind::Counter, None, true)
        };
        let gauges = |family: &str, help: &str, labels: &[&str]| {
            registry.register::<crate::registry::Gauge>(&config.name(family), Some(help), labels, MetricKind::Gauge, None, true)
        };
        Ok(HostMetrics {
            renders: counters(
                FAMILY_NAMES[0],
                "renders by format and outcome (ok, timed_out, out_of_memory, trapped, output_too_large, client_gone, invalid_option, failed, backed_off)",
                &["format", "outcome"],
            )?,
            latency: registry.register::<Histogram>(
                &config.name(FAMILY_NAMES[1]),
                Some("time from request to the end of the render, in seconds"),
                &["format"],
                MetricKind::Histogram,
                Some(&[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                true,
            )?,
            output_bytes: counters(FAMILY_NAMES[2], "bytes of rendered output sent", &["format"])?,
            reloads: counters(
                FAMILY_NAMES[3],
                "plugin files processed by reloads, by outcome (loaded, failed, removed)",
                &["outcome"],
            )?,
            denied: counters(FAMILY_NAMES[4], "requests refused by the trusted-host check", &[])?.with_label_values(&[])?,
            shared_requests: counters(FAMILY_NAMES[5], "requests served from a render another request started (coalesced scrapes)", &[])?
                .with_label_values(&[])?,
            cut_off: counters(FAMILY_NAMES[6], "clients cut off for falling too far behind a shared render", &[])?.with_label_values(&[])?,
            push_requests: counters(
                FAMILY_NAMES[8],
                "push requests by endpoint and outcome (sent, retried, dropped)",
                &["endpoint", "outcome"],
            )?,
            push_queue: gauges(FAMILY_NAMES[9], "compressed push requests waiting to be sent, in bytes", &["endpoint"])?,
            push_success: gauges(FAMILY_NAMES[10], "when a push request last succeeded, in seconds since the epoch", &["endpoint"])?,
            push_responses: counters(FAMILY_NAMES[11], "push receivers' answers by endpoint and HTTP status code", &["endpoint", "code"])?,
            push_dropped: counters(
                FAMILY_NAMES[12],
                "push requests given up by endpoint and reason (refused, out_of_attempts, queue_full)",
                &["endpoint", "reason"],
            )?,
            push_samples: counters(
                FAMILY_NAMES[13],
                "samples in the push requests sent (remote write series, OTLP data points)",
                &["endpoint"],
            )?,
        })
    }

    /// Counts one render.
    pub fn record_render(&self, format: &str, outcome: &str, elapsed: Duration, bytes: u64) {
        if let Ok(c) = self.renders.with_label_values(&[format, outcome]) {
            c.inc();
        }
        if let Ok(h) = self.latency.with_label_values(&[format]) {
            h.observe(elapsed.as_secs_f64());
        }
        if let Ok(c) = self.output_bytes.with_label_values(&[format]) {
            c.inc_by(bytes);
        }
    }

    /// Counts what a reload did.
    pub fn record_reload(&self, report: &ReloadReport) {
        for (outcome, files) in [("loaded", &report.loaded), ("failed", &report.failed), ("removed", &report.removed)] {
            if let Ok(c) = self.reloads.with_label_values(&[outcome]) {
                c.inc_by(files.len() as u64);
            }
        }
    }

    /// Counts one request that joined a render already running.
    pub fn record_shared_request(&self) {
        self.shared_requests.inc();
    }

    /// Counts clients cut off from a shared render.
    pub fn record_cut_off(&self, clients: u64) {
        self.cut_off.inc_by(clients);
    }

    /// Counts push requests to `endpoint` that ended as `outcome`.
    pub fn record_push(&self, endpoint: &str, outcome: &str) {
        if let Ok(c) = self.push_requests.with_label_values(&[endpoint, outcome]) {
            c.inc();
        }
    }

    /// Counts one answer of a push receiver.
    pub fn record_push_response(&self, endpoint: &str, code: u16) {
        if let Ok(c) = self.push_responses.with_label_values(&[endpoint, &code.to_string()]) {
            c.inc();
        }
    }

    /// Counts a push request given up for `reason`: its `dropped` outcome
    /// and the reason.
    pub fn record_push_dropped(&self, endpoint: &str, reason: &str) {
        self.record_push(endpoint, "dropped");
        if let Ok(c) = self.push_dropped.with_label_values(&[endpoint, reason]) {
            c.inc();
        }
    }

    /// Counts the samples of a push request sent.
    pub fn record_push_samples(&self, endpoint: &str, samples: u64) {
        if let Ok(c) = self.push_samples.with_label_values(&[endpoint]) {
            c.inc_by(samples);
        }
    }

    /// What a push endpoint has queued, and when it last succeeded.
    pub fn set_push_levels(&self, endpoint: &str, queued_bytes: usize, last_success_ms: Option<u64>) {
        if let Ok(g) = self.push_queue.with_label_values(&[endpoint]) {
            g.set(queued_bytes as f64);
        }
        if let (Some(ms), Ok(g)) = (last_success_ms, self.push_success.with_label_values(&[endpoint])) {
            g.set(ms as f64 / 1000.0);
        }
    }

    /// Counts one refused request.
    pub fn record_denied(&self) {
        self.denied.inc();
    }
}
