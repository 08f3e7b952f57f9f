//! Server settings: command-line flags and a TOML file with the same keys.
//!
//! Flags win over the file. Every value is checked before the server
//! starts; a bad one stops start-up with an error that names it, so the
//! server never runs with a silently different policy.
use crate::http::trusted_hosts::DEFAULT_TRUSTED_HOSTS;
use crate::self_metrics::SelfMetricsConfig;
// The types of the settings' fields, named here for embedders.
pub use crate::http::negotiate::NegotiableFormats;
pub use crate::http::tls_listener::TlsSettings;
pub use crate::http::trusted_hosts::TrustedHosts;
pub use crate::plugin::RenderLimits;
pub use crate::push::{PushArgs, PushSettings};
pub use crate::upstream::UpstreamSettings;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings of `metrics-host serve`. This one struct is both the command
/// line (clap: `--render-timeout-ms`) and the config file (serde:
/// `render_timeout_ms`), so a setting is declared once; a test checks the
/// README's table against it.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeArgs {
    /// TOML file with the same settings: each key is a flag's name with
    /// underscores (`render_timeout_ms`); `trusted_hosts` is a list.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8000].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// A peer allowed to read metrics: an IP address or CIDR mask.
    /// Repeatable; replaces the default (127.0.0.1 and ::1).
    #[arg(long = "trusted-host", value_name = "IP_OR_CIDR")]
    pub trusted_hosts: Option<Vec<String>>,
    /// Publish KumoMTA-like demo metrics that change over time.
    #[arg(long)]
    #[serde(default)]
    pub demo: bool,
    /// Number of simulated queues in the demo data [default: 100].
    #[arg(long, value_name = "N")]
    pub demo_queues: Option<u64>,
    /// Wall-clock time allowed per render, in ms [default: 30000].
    #[arg(long, value_name = "MS")]
    pub render_timeout_ms: Option<u64>,
    /// Memory cap per render over all its memories and tables, in MiB [default: 256].
    #[arg(long, value_name = "MIB")]
    pub render_memory_mb: Option<u64>,
    /// Output cap per render in MiB [default: 2048].
    #[arg(long, value_name = "MIB")]
    pub render_output_mb: Option<u64>,
    /// How long a render waits for a client that stopped reading, in ms [default: 30000].
    #[arg(long, value_name = "MS")]
    pub client_timeout_ms: Option<u64>,
    /// Renders that may run at once; beyond it requests get 503 [default: 8].
    #[arg(long, value_name = "N")]
    pub max_concurrent_renders: Option<u64>,
    /// Taken off Prometheus' X-Prometheus-Scrape-Timeout-Seconds to get the
    /// render deadline of a scrape, in ms [default: 500].
    #[arg(long, value_name = "MS")]
    pub scrape_timeout_offset_ms: Option<u64>,
    /// Formats content negotiation may pick, most preferred first
    /// (comma-separated; a list in the file). `?format=` still asks for any
    /// loaded format [default: protobuf,prometheus,html: protobuf and html only for clients naming them].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub negotiate: Option<Vec<String>>,
    /// Folder of renderer plugins (*.wasm), loaded in the background at
    /// start and reloaded on change, SIGHUP or POST /-/reload.
    #[arg(long, value_name = "DIR")]
    pub plugins: Option<PathBuf>,
    /// Folder for compiled plugins [default: ~/.cache/metrics-host].
    #[arg(long, value_name = "DIR")]
    pub plugin_cache: Option<PathBuf>,
    /// Largest plugin file loaded, in MiB [default: 64].
    #[arg(long, value_name = "MIB")]
    pub plugin_max_mb: Option<u64>,
    /// Time allowed to compile one plugin, in ms [default: 60000].
    #[arg(long, value_name = "MS")]
    pub plugin_compile_timeout_ms: Option<u64>,
    /// Address space of the process compiling a plugin, in MiB [default: 4096].
    #[arg(long, value_name = "MIB")]
    pub plugin_compile_memory_mb: Option<u64>,
    /// Sidecar: serve this exporter's metrics (http://host:port/path;
    /// Prometheus text, OpenMetrics or KumoMTA metrics.json), fetched before
    /// each scrape.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Scrapes within this time of the last upstream fetch reuse it, in ms [default: 0].
    #[arg(long, value_name = "MS")]
    pub upstream_min_interval_ms: Option<u64>,
    /// Time allowed for one upstream fetch (connect, send, read), in ms [default: 5000].
    #[arg(long, value_name = "MS")]
    pub upstream_timeout_ms: Option<u64>,
    /// Largest upstream body read, in MiB [default: 64].
    #[arg(long, value_name = "MIB")]
    pub upstream_max_mb: Option<u64>,
    /// Prefix of the host's own metrics (`[a-zA-Z_:][a-zA-Z0-9_:]*`, at
    /// most 64 bytes) [default: metrics_host_].
    #[arg(long, value_name = "PREFIX")]
    pub self_metrics_prefix: Option<String>,
    /// Do not serve the host's own metrics.
    #[arg(long)]
    #[serde(default)]
    pub no_self_metrics: bool,
    /// Let a new plugin version serve without its preflight (the sample
    /// renders it must pass first; README "Plugins").
    #[arg(long)]
    #[serde(default)]
    pub no_plugin_preflight: bool,
    /// Serve HTTPS with this certificate chain (PEM, leaf first), with
    /// `tls_key_file`; reloaded on SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub tls_cert_file: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert_file`.
    #[arg(long, value_name = "FILE")]
    pub tls_key_file: Option<PathBuf>,
    /// Also require a client certificate that chains to these CAs (PEM),
    /// in addition to the trusted-host check.
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca_file: Option<PathBuf>,
    /// `[[push]]` tables (file only): endpoints the snapshots are pushed to.
    #[arg(skip)]
    #[serde(default)]
    pub push: Vec<crate::push::PushArgs>,
}

impl ServeArgs {
    /// These settings, with `file`'s filling in what was not given here.
    fn over(self, file: ServeArgs) -> ServeArgs {
        ServeArgs {
            config: self.config,
            listen: self.listen.or(file.listen),
            trusted_hosts: self.trusted_hosts.or(file.trusted_hosts),
            demo: self.demo || file.demo,
            demo_queues: self.demo_queues.or(file.demo_queues),
            render_timeout_ms: self.render_timeout_ms.or(file.render_timeout_ms),
            render_memory_mb: self.render_memory_mb.or(file.render_memory_mb),
            render_output_mb: self.render_output_mb.or(file.render_output_mb),
            client_timeout_ms: self.client_timeout_ms.or(file.client_timeout_ms),
            max_concurrent_renders: self.max_concurrent_renders.or(file.max_concurrent_renders),
            scrape_timeout_offset_ms: self.scrape_timeout_offset_ms.or(file.scrape_timeout_offset_ms),
            negotiate: self.negotiate.or(file.negotiate),
            plugins: self.plugins.or(file.plugins),
            plugin_cache: self.plugin_cache.or(file.plugin_cache),
            plugin_max_mb: self.plugin_max_mb.or(file.plugin_max_mb),
            plugin_compile_timeout_ms: self.plugin_compile_timeout_ms.or(file.plugin_compile_timeout_ms),
            plugin_compile_memory_mb: self.plugin_compile_memory_mb.or(file.plugin_compile_memory_mb),
            upstream: self.upstream.or(file.upstream),
            upstream_min_interval_ms: self.upstream_min_interval_ms.or(file.upstream_min_interval_ms),
            upstream_timeout_ms: self.upstream_timeout_ms.or(file.upstream_timeout_ms),
            upstream_max_mb: self.upstream_max_mb.or(file.upstream_max_mb),
            self_metrics_prefix: self.self_metrics_prefix.or(file.self_metrics_prefix),
            no_self_metrics: self.no_self_metrics || file.no_self_metrics,
            no_plugin_preflight: self.no_plugin_preflight || file.no_plugin_preflight,
            tls_cert_file: self.tls_cert_file.or(file.tls_cert_file),
            tls_key_file: self.tls_key_file.or(file.tls_key_file),
            tls_client_ca_file: self.tls_client_ca_file.or(file.tls_client_ca_file),
            push: if self.push.is_empty() { file.push } else { self.push },
        }
    }
}

/// Checked settings of a running server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address the HTTP listener binds (port 0: any free port).
    pub listen: SocketAddr,
    /// Peers allowed in (CIDR list); everyone else gets 401.
    pub trusted_hosts: TrustedHosts,
    /// Fill the registry with KumoMTA-like demo data.
    pub demo: bool,
    /// Queues of the demo data.
    pub demo_queues: u64,
    /// Time, memory and output of each render.
    pub render_limits: RenderLimits,
    /// How long a render waits for a client that stopped reading.
    pub client_stall_timeout: Duration,
    /// Plugins folder; checked readable at start-up.
    pub plugins: Option<PathBuf>,
    /// Compiled-plugin cache folder.
    pub plugin_cache: Option<PathBuf>,
    /// Renders that may run at once.
    pub max_concurrent_renders: usize,
    /// Taken off a scrape's own timeout to get its render deadline.
    pub scrape_timeout_offset: Duration,
    /// Formats content negotiation may pick, most preferred first.
    pub negotiate: NegotiableFormats,
    /// Largest plugin file loaded.
    pub plugin_max_bytes: u64,
    /// A new plugin version serves only after passing its preflight.
    pub plugin_preflight: bool,
    /// Time allowed to compile one plugin.
    pub plugin_compile_timeout: Duration,
    /// Address space of the process compiling a plugin.
    pub plugin_compile_memory_bytes: u64,
    /// Sidecar mode: the exporter whose metrics are served.
    pub upstream: Option<crate::upstream::UpstreamSettings>,
    /// The host's own metrics: served or not, and their prefix.
    pub self_metrics: SelfMetricsConfig,
    /// Endpoints the snapshots are pushed to.
    pub push: Vec<crate::push::PushSettings>,
    /// Serve HTTPS with these files (checked at start-up).
    pub tls: Option<crate::http::tls_listener::TlsSettings>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            trusted_hosts: TrustedHosts::default(),
            demo: false,
            demo_queues: 100,
            render_limits: RenderLimits::default(),
            client_stall_timeout: Duration::from_secs(30),
            plugins: None,
            plugin_cache: None,
            max_concurrent_renders: 8,
            scrape_timeout_offset: crate::http::DEFAULT_SCRAPE_TIMEOUT_OFFSET,
            negotiate: NegotiableFormats::default(),
            plugin_max_bytes: 64 << 20,
            plugin_preflight: true,
            plugin_compile_timeout: Duration::from_secs(60),
            plugin_compile_memory_bytes: 4 << 30,
            upstream: None,
            self_metrics: SelfMetricsConfig::default(),
            push: Vec::new(),
            tls: None,
        }
    }
}

/// `[[push]]` endpoints one server may have (each runs two tasks).
pub const MAX_PUSH_ENDPOINTS: usize = 64;

fn in_range(key: &str, value: u64, min: u64, max: u64) -> anyhow::Result<u64> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        bail!("{key} = {value} is out of range: it must be between {min} and {max}")
    }
}

impl ServeConfig {
    /// Merges flags over the config file (if any) over the defaults.
    pub fn from_args(args: &ServeArgs) -> Result<Self, crate::serve_error::ServeError> {
        Self::checked(args).map_err(crate::serve_error::ServeError::config_chain)
    }

    fn checked(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => ServeArgs::default(),
        };
        let args = args.clone().over(file);
        let defaults = ServeConfig::default();
        let listen = match &args.listen {
            Some(text) => {
                text.parse().with_context(|| format!("listen = {text:?} is not a socket address like 127.0.0.1:8000 or [::1]:8000"))?
            }
            None => defaults.listen,
        };
        let trusted: Vec<String> =
            args.trusted_hosts.clone().unwrap_or_else(|| DEFAULT_TRUSTED_HOSTS.iter().map(|s| s.to_string()).collect());
        if trusted.is_empty() {
            bail!("trusted_hosts is empty: nobody could read the metrics; list at least one address");
        }
        let trusted_hosts = TrustedHosts::parse(&trusted)?;
        let demo_queues = in_range("demo_queues", args.demo_queues.unwrap_or(defaults.demo_queues), 0, 10_000_000)?;
        let d = &defaults.render_limits;
        let timeout_ms = args.render_timeout_ms.unwrap_or(d.deadline.as_millis() as u64);
        let memory_mb = args.render_memory_mb.unwrap_or((d.memory_bytes >> 20) as u64);
        let output_mb = args.render_output_mb.unwrap_or(d.output_bytes >> 20);
        let render_limits = RenderLimits {
            deadline: Duration::from_millis(in_range("render_timeout_ms", timeout_ms, 10, 600_000)?),
            memory_bytes: (in_range("render_memory_mb", memory_mb, 16, 4096)? as usize) << 20,
            output_bytes: in_range("render_output_mb", output_mb, 1, 65_536)? << 20,
        };
        let client_ms = args.client_timeout_ms.unwrap_or(defaults.client_stall_timeout.as_millis() as u64);
        let client_stall_timeout = Duration::from_millis(in_range("client_timeout_ms", client_ms, 100, 600_000)?);
        let max_concurrent_renders =
            in_range("max_concurrent_renders", args.max_concurrent_renders.unwrap_or(defaults.max_concurrent_renders as u64), 1, 1024)?
                as usize;
        let offset_ms = in_range(
            "scrape_timeout_offset_ms",
            args.scrape_timeout_offset_ms.unwrap_or(defaults.scrape_timeout_offset.as_millis() as u64),
            0,
            60_000,
        )?;
        let plugin_max_mb = in_range("plugin_max_mb", args.plugin_max_mb.unwrap_or(defaults.plugin_max_bytes >> 20), 1, 1024)?;
        let compile_ms = in_range(
            "plugin_compile_timeout_ms",
            args.plugin_compile_timeout_ms.unwrap_or(defaults.plugin_compile_timeout.as_millis() as u64),
            100,
            3_600_000,
        )?;
        let compile_mb = in_range(
            "plugin_compile_memory_mb",
            args.plugin_compile_memory_mb.unwrap_or(defaults.plugin_compile_memory_bytes >> 20),
            256,
            65_536,
        )?;
        let negotiate = match &args.negotiate {
            Some(list) => NegotiableFormats::new(list).map_err(|why| anyhow::anyhow!("negotiate = {list:?}: {why}"))?,
            None => defaults.negotiate,
        };
        let upstream = match &args.upstream {
            None => None,
            Some(_) if args.demo => bail!("demo and upstream both fill the registry; use one"),
            Some(url) => Some(crate::upstream::UpstreamSettings {
                url: crate::upstream::http_fetch::UpstreamUrl::parse(url).map_err(|why| anyhow::anyhow!("upstream = {why}"))?,
                min_interval: Duration::from_millis(in_range(
                    "upstream_min_interval_ms",
                    args.upstream_min_interval_ms.unwrap_or(0),
                    0,
                    3_600_000,
                )?),
                timeout: Duration::from_millis(in_range("upstream_timeout_ms", args.upstream_timeout_ms.unwrap_or(5000), 10, 600_000)?),
                max_body_bytes: (in_range("upstream_max_mb", args.upstream_max_mb.unwrap_or(64), 1, 4096)? as usize) << 20,
            }),
        };
        let self_metrics = SelfMetricsConfig {
            enabled: !args.no_self_metrics,
            prefix: match &args.self_metrics_prefix {
                Some(prefix) => checked_prefix(prefix)?,
                None => defaults.self_metrics.prefix,
            },
        };
        if args.push.len() > MAX_PUSH_ENDPOINTS {
            bail!("{} [[push]] tables: at most {MAX_PUSH_ENDPOINTS}", args.push.len());
        }
        let push = args
            .push
            .iter()
            .enumerate()
            .map(|(i, table)| table.check(i, |name| std::env::var(name).ok()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        let tls = match (&args.tls_cert_file, &args.tls_key_file, &args.tls_client_ca_file) {
            (None, None, None) => None,
            (Some(cert), Some(key), client_ca) => {
                let settings = crate::http::tls_listener::TlsSettings {
                    cert_file: cert.clone(),
                    key_file: key.clone(),
                    client_ca_file: client_ca.clone(),
                };
                settings.load().map_err(|why| anyhow::anyhow!("tls_cert_file, tls_key_file, tls_client_ca_file: {why}"))?;
                Some(settings)
            }
            (Some(_), None, _) => bail!("tls_cert_file needs tls_key_file"),
            (None, Some(_), _) => bail!("tls_key_file needs tls_cert_file"),
            (None, None, Some(_)) => bail!("tls_client_ca_file needs tls_cert_file and tls_key_file (it applies to the TLS listener)"),
        };
        let plugins = args.plugins.clone();
        if let Some(dir) = &plugins {
            std::fs::read_dir(dir).with_context(|| format!("plugins = {:?} is not a readable folder", dir.display().to_string()))?;
        }
        Ok(ServeConfig {
            listen,
            trusted_hosts,
            demo: args.demo,
            demo_queues,
            render_limits,
            client_stall_timeout,
            plugins,
            plugin_cache: args.plugin_cache.clone(),
            max_concurrent_renders,
            scrape_timeout_offset: Duration::from_millis(offset_ms),
            negotiate,
            plugin_max_bytes: plugin_max_mb << 20,
            plugin_preflight: !args.no_plugin_preflight,
            plugin_compile_timeout: Duration::from_millis(compile_ms),
            plugin_compile_memory_bytes: compile_mb << 20,
            upstream,
            self_metrics,
            push,
            tls,
        })
    }
}

/// A metric-name prefix: empty, or a legacy name of at most 64 bytes.
fn checked_prefix(prefix: &str) -> anyhow::Result<String> {
    let legacy =
        prefix.bytes().enumerate().all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || b == b':' || (i > 0 && b.is_ascii_digit()));
    if !legacy || prefix.len() > 64 {
        bail!(
            "self_metrics_prefix = {:?} is not a metric name prefix: [a-zA-Z_:][a-zA-Z0-9_:]*, at most 64 bytes",
            crate::bounded_text::truncate_text(prefix, crate::bounded_text::MAX_QUOTED_CLIENT_TEXT)
        );
    }
    Ok(prefix.to_string())
}

fn read_file(path: &Path) -> anyhow::Result<ServeArgs> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn error_of(args: ServeArgs) -> String {
        format!("{:#}", ServeConfig::from_args(&args).unwrap_err())
    }

    /// The text between the first pair of backticks of a table cell.
    fn code_in(cell: &str) -> Option<&str> {
        cell.split('`').nth(1)
    }

    #[test]
    fn the_readme_table_lists_every_setting_with_its_flag_and_key() {
        use clap::Args;
        let readme = include_str!("../../README.md");
        let documented: std::collections::BTreeSet<(String, String)> = readme
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let flag = code_in(cells.get(1)?)?.strip_prefix("--")?;
                Some((flag.to_string(), code_in(cells.get(2)?)?.to_string()))
            })
            .collect();
        let command = ServeArgs::augment_args(clap::Command::new("serve"));
        let declared: std::collections::BTreeSet<(String, String)> = command
            .get_arguments()
            .filter(|a| a.get_id() != "config")
            .filter_map(|a| Some((a.get_long()?.to_string(), a.get_id().to_string())))
            .collect();
        assert_eq!(documented, declared, "README's settings table against ServeArgs (flag, config key)");
        // And every key the file accepts is a key of that table.
        for (_, key) in &declared {
            let text = match key.as_str() {
                "trusted_hosts" => "trusted_hosts = [\"127.0.0.1\"]".to_string(),
                "negotiate" => "negotiate = [\"openmetrics\", \"prometheus\"]".to_string(),
                "listen" => "listen = \"127.0.0.1:1\"".to_string(),
                "demo" | "no_self_metrics" | "no_plugin_preflight" => format!("{key} = true"),
                "self_metrics_prefix" => "self_metrics_prefix = \"app_\"".to_string(),
                "plugins" | "plugin_cache" | "tls_cert_file" | "tls_key_file" | "tls_client_ca_file" => format!("{key} = \"/tmp\""),
                "upstream" => "upstream = \"http://127.0.0.1:9/metrics\"".to_string(),
                _ => format!("{key} = 100"),
            };
            let parsed: Result<ServeArgs, _> = toml::from_str(&text);
            assert!(parsed.is_ok(), "{text}: {parsed:?}");
        }
    }

    #[test]
    fn push_tables_are_checked_at_start_up_with_the_table_named() {
        let bad =
            file("[[push]]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\n[[push]]\nurl = \"http://x/w\"\nmax_samples_per_request = 0\n");
        let error = error_of(ServeArgs { config: Some(bad.path().to_path_buf()), ..Default::default() });
        assert!(error.contains("push[1].max_samples_per_request = 0 is out of range"), "{error}");
        let many = file(&"[[push]]\nurl = \"http://127.0.0.1:9/w\"\n".repeat(MAX_PUSH_ENDPOINTS + 1));
        let error = error_of(ServeArgs { config: Some(many.path().to_path_buf()), ..Default::default() });
        assert!(error.contains("at most 64"), "{error}");
        let good = file("[[push]]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\nprotocol = \"pushgateway\"\n");
        let config = ServeConfig::from_args(&ServeArgs { config: Some(good.path().to_path_buf()), ..Default::default() }).unwrap();
        assert_eq!(config.push[0].url.target, "/api/v1/write/metrics/job/metrics-host");
    }

    #[test]
    fn defaults_listen_on_loopback_8000_and_trust_loopback() {
        let c = ServeConfig::from_args(&ServeArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8000");
        assert_eq!(c.trusted_hosts, TrustedHosts::default());
        assert!(!c.demo);
    }

    #[test]
    fn flags_win_over_the_file() {
        let f = file("listen = \"127.0.0.1:9000\"\ntrusted_hosts = [\"10.0.0.0/8\"]\ndemo = true\ndemo_queues = 5\n");
        let args = ServeArgs { config: Some(f.path().into()), listen: Some("[::1]:9100".into()), ..Default::default() };
        let c = ServeConfig::from_args(&args).unwrap();
        assert_eq!(c.listen.to_string(), "[::1]:9100");
        assert!(c.trusted_hosts.allows("10.2.3.4".parse().unwrap()));
        assert!(!c.trusted_hosts.allows("127.0.0.1".parse().unwrap()));
        assert!(c.demo);
        assert_eq!(c.demo_queues, 5);
    }

    #[test]
    fn unknown_key_is_named() {
        let f = file("listen = \"127.0.0.1:9000\"\ntrusted_host = [\"10.0.0.0/8\"]\n");
        let msg = error_of(ServeArgs { config: Some(f.path().into()), ..Default::default() });
        assert!(msg.contains("trusted_host"), "{msg}");
    }

    #[test]
    fn bad_values_are_named() {
        let msg = error_of(ServeArgs { trusted_hosts: Some(vec!["10.0.0.0/33".into()]), ..Default::default() });
        assert!(msg.contains("10.0.0.0/33"), "{msg}");
        let msg = error_of(ServeArgs { listen: Some("localhost".into()), ..Default::default() });
        assert!(msg.contains("localhost"), "{msg}");
        let msg = error_of(ServeArgs { render_timeout_ms: Some(0), ..Default::default() });
        assert!(msg.contains("render_timeout_ms = 0"), "{msg}");
        let f = file("trusted_hosts = []\n");
        let msg = error_of(ServeArgs { config: Some(f.path().into()), ..Default::default() });
        assert!(msg.contains("trusted_hosts is empty"), "{msg}");
        let msg = error_of(ServeArgs { config: Some("/nonexistent/metrics.toml".into()), ..Default::default() });
        assert!(msg.contains("/nonexistent/metrics.toml"), "{msg}");
        let msg = error_of(ServeArgs { plugins: Some("/nonexistent/plugins".into()), ..Default::default() });
        assert!(msg.contains("/nonexistent/plugins"), "{msg}");
        let msg = error_of(ServeArgs { max_concurrent_renders: Some(0), ..Default::default() });
        assert!(msg.contains("max_concurrent_renders = 0"), "{msg}");
        let f = file("plugin_max_mb = 5000\n");
        let msg = error_of(ServeArgs { config: Some(f.path().into()), ..Default::default() });
        assert!(msg.contains("plugin_max_mb = 5000"), "{msg}");
        let msg = error_of(ServeArgs { plugin_compile_memory_mb: Some(1), ..Default::default() });
        assert!(msg.contains("plugin_compile_memory_mb = 1"), "{msg}");
    }
}
