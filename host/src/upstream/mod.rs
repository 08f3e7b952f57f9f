//! The sidecar: `serve --upstream URL` serves another exporter's metrics
//! through our renderers, formats, prefix, filters, gzip and trusted-IP
//! rules, for applications we cannot link into.
//!
//! Before each scrape the upstream is fetched ([`http_fetch`], bounded in
//! time and size), read strictly ([`exposition_parser`] for Prometheus text
//! and OpenMetrics, the replay reader for KumoMTA's metrics.json, chosen by
//! the upstream's `Content-Type`) and mirrored into the served registry
//! ([`mirror`]); then the scrape renders a snapshot as usual. Concurrent
//! scrapes share one fetch, and with a minimum interval scrapes within it
//! reuse the last fetch. A fetch that fails answers `502` with the reason,
//! and the registry keeps what it had.
pub mod exposition_parser;
pub mod http_fetch;
pub mod mirror;

use crate::registry::Registry;
use exposition_parser::Syntax;
use http_fetch::UpstreamUrl;
use std::time::{Duration, Instant};

/// What the sidecar asks the upstream for: OpenMetrics first (it carries
/// creation times), then text, then metrics.json.
const ACCEPT: &str = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,application/json;q=0.2";

/// Where the upstream is and how it is fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamSettings {
    /// The exporter's `/metrics` URL.
    pub url: UpstreamUrl,
    /// Scrapes within this time of the last fetch reuse it.
    pub min_interval: Duration,
    /// Connecting, sending and reading the whole answer, together.
    pub timeout: Duration,
    /// Largest body read.
    pub max_body_bytes: usize,
}

/// When the last fetch started and how it ended.
#[derive(Default)]
struct LastFetch {
    started: Option<Instant>,
    result: Option<Result<(), String>>,
}

/// The upstream of a sidecar server.
pub struct Upstream {
    settings: UpstreamSettings,
    /// Held while fetching: a scrape arriving meanwhile waits and reuses it.
    last: tokio::sync::Mutex<LastFetch>,
    mirror: std::sync::Arc<std::sync::Mutex<mirror::Mirror>>,
}

impl Upstream {
    /// Mirrors the upstream into `registry` (where the host's own families are).
    pub fn new(settings: UpstreamSettings, registry: Registry) -> Self {
        let mirror = std::sync::Arc::new(std::sync::Mutex::new(mirror::Mirror::new(registry)));
        Upstream { settings, last: tokio::sync::Mutex::new(LastFetch::default()), mirror }
    }

    /// Brings the registry up to date with the upstream, or says why not.
    pub async fn refresh(&self) -> Result<(), String> {
        let arrived = Instant::now();
        let mut last = self.last.lock().await;
        if let (Some(started), Some(result)) = (last.started, &last.result) {
            // A fetch that started after this scrape arrived, or within the interval.
            if started >= arrived || started.elapsed() < self.settings.min_interval {
                return result.clone();
            }
        }
        last.started = Some(Instant::now());
        // An upstream's text (a malformed line, a status) is quoted in the
        // 502 and the log: at most 4 KiB of it.
        let result = self.fetch_and_mirror().await.map_err(|why| crate::bounded_text::bounded(&why));
        if let Err(why) = &result {
            tracing::warn!(upstream = %self.settings.url.authority, reason = %why, "upstream fetch failed");
        }
        last.result = Some(result.clone());
        result
    }

    async fn fetch_and_mirror(&self) -> Result<(), String> {
        let s = &self.settings;
        let fetched = http_fetch::fetch(&s.url, ACCEPT, s.timeout, s.max_body_bytes).await.map_err(|e| e.to_string())?;
        let mirror = std::sync::Arc::clone(&self.mirror);
        let who = s.url.authority.clone();
        // Parsing and mirroring are CPU work: off the async workers.
        tokio::task::spawn_blocking(move || {
            let families =
                read_exposition(fetched.content_type.as_deref(), &fetched.body).map_err(|why| format!("upstream {who}: {why}"))?;
            mirror.lock().unwrap_or_else(|e| e.into_inner()).sync(families);
            Ok(())
        })
        .await
        .map_err(|e| format!("reading the upstream answer failed: {e}"))?
    }
}

/// Reads an upstream body by its content type.
pub fn read_exposition(content_type: Option<&str>, body: &[u8]) -> Result<Vec<exposition_parser::ParsedFamily>, String> {
    let media = content_type.map(crate::content_type::media_type).unwrap_or_default();
    let text = std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8: {e}"))?;
    match media.as_str() {
        "application/openmetrics-text" => exposition_parser::parse(text, Syntax::OpenMetrics).map_err(|e| format!("OpenMetrics {e}")),
        "text/plain" | "" => exposition_parser::parse(text, Syntax::Text).map_err(|e| format!("Prometheus text {e}")),
        "application/json" => {
            let registry = crate::metrics_json_input::registry_from_metrics_json(text).map_err(|e| format!("metrics.json {e}"))?;
            Ok(mirror::families_of(&registry.snapshot()))
        }
        other => Err(format!("unsupported content type {other:?} (expected OpenMetrics, Prometheus text or metrics.json)")),
    }
}
