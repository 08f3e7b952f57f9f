//! A `[[push]]` table of the server's TOML (and [`PushSettings`] in the
//! library): where, what protocol, how often, with which external labels
//! and outbound headers. Every value is checked before start-up, with the
//! key named; a header value `env:NAME` is read from the environment, and
//! header values never appear in errors, logs or `/-/push`.
use crate::snapshot::FamilyFilter;
use crate::upstream::http_fetch::UpstreamUrl;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What a receiver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushProtocol {
    /// Prometheus remote write 1.0 (protobuf `WriteRequest`, snappy).
    RemoteWrite1,
    /// Prometheus remote write 2.0 (protobuf `io.prometheus.write.v2.Request`,
    /// snappy); falls back to 1.0 for a receiver that does not speak it.
    RemoteWrite2,
    /// Prometheus' Pushgateway: the text format, `PUT` to the group of
    /// the external labels (which replaces the whole group).
    Pushgateway,
    /// OpenTelemetry's OTLP/HTTP (protobuf `ExportMetricsServiceRequest`,
    /// gzip, to `/v1/metrics`); the external labels are resource attributes.
    Otlp,
    /// Any format that writes delimited requests (a plugin's vendor
    /// protocol): each request `POST`ed with the format's content type
    /// (less `encoding=delimited`) and the configured `content_encoding`.
    Http,
}

/// How a request body is compressed before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    /// As rendered.
    Identity,
    /// gzip at the fastest level.
    Gzip,
    /// snappy's block format (never the framed one).
    Snappy,
}

impl BodyEncoding {
    /// Its `Content-Encoding` value (none for identity).
    pub fn header(self) -> Option<&'static str> {
        match self {
            BodyEncoding::Identity => None,
            BodyEncoding::Gzip => Some("gzip"),
            BodyEncoding::Snappy => Some("snappy"),
        }
    }
}

impl PushProtocol {
    /// Its name in the config.
    pub fn name(self) -> &'static str {
        match self {
            PushProtocol::RemoteWrite1 => "remote-write-1",
            PushProtocol::RemoteWrite2 => "remote-write-2",
            PushProtocol::Pushgateway => "pushgateway",
            PushProtocol::Otlp => "otlp",
            PushProtocol::Http => "http",
        }
    }

    /// The format that renders its requests unless `format` names another
    /// (`http` has none of its own).
    pub fn default_format(self) -> Option<&'static str> {
        match self {
            PushProtocol::RemoteWrite1 => Some("remote-write-1"),
            PushProtocol::RemoteWrite2 => Some("remote-write-2"),
            PushProtocol::Pushgateway => Some("prometheus"),
            PushProtocol::Otlp => Some("otlp"),
            PushProtocol::Http => None,
        }
    }

    /// How its request bodies are compressed (`http`: as configured).
    fn body_encoding(self) -> BodyEncoding {
        match self {
            PushProtocol::RemoteWrite1 | PushProtocol::RemoteWrite2 => BodyEncoding::Snappy,
            PushProtocol::Otlp => BodyEncoding::Gzip,
            PushProtocol::Pushgateway | PushProtocol::Http => BodyEncoding::Identity,
        }
    }

    /// Headers every request of this protocol carries, besides
    /// `Content-Encoding` (the endpoint's [`BodyEncoding`] says it).
    pub fn headers(self) -> Vec<(&'static str, &'static str)> {
        match self {
            PushProtocol::RemoteWrite1 => {
                vec![("content-type", "application/x-protobuf"), ("x-prometheus-remote-write-version", "0.1.0")]
            }
            PushProtocol::RemoteWrite2 => vec![
                ("content-type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"),
                ("x-prometheus-remote-write-version", "2.0.0"),
            ],
            PushProtocol::Pushgateway => vec![("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            PushProtocol::Otlp => vec![("content-type", "application/x-protobuf")],
            // The format's content type and the configured encoding, per endpoint.
            PushProtocol::Http => Vec::new(),
        }
    }
}

/// A Pushgateway group path: `/metrics/job/JOB` then `/NAME/VALUE` for
/// the other labels; a value that is empty or not plain URL text is written
/// in base64url (`NAME@base64/...`), as the Pushgateway reads it.
pub fn pushgateway_group_path(labels: &[(String, String)]) -> String {
    let job = labels.iter().find(|(name, _)| name == "job").map_or("metrics-host", |(_, value)| value.as_str());
    let others = labels.iter().filter(|(name, _)| name != "job").map(|(name, value)| (name.as_str(), value.as_str()));
    let mut path = String::from("/metrics");
    for (name, value) in std::iter::once(("job", job)).chain(others) {
        let plain = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if plain {
            path.push_str(&format!("/{name}/{value}"));
        } else {
            path.push_str(&format!("/{name}@base64/{}", base64url(value.as_bytes())));
        }
    }
    path
}

/// RFC 4648 §5 base64url, unpadded (`=` stands for an empty value).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if bytes.is_empty() {
        return "=".into();
    }
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// One `[[push]]` table as written (its `Debug` leaves header values out).
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushArgs {
    /// `http://host:port/path` or `https://...` of the receiver (remote
    /// write: `/api/v1/write`; OTLP: `/v1/metrics`, which a URL without a
    /// path gets).
    pub url: String,
    /// `remote-write-1` (the default), `remote-write-2`, `otlp`,
    /// `pushgateway` or `http`.
    pub protocol: Option<String>,
    /// The format that renders the requests [default: the protocol's own;
    /// required for `http`]: a loaded format writing delimited requests
    /// (PLUGINS.md "Push formats").
    pub format: Option<String>,
    /// `http` only: `identity` (the default), `gzip` or `snappy`.
    pub content_encoding: Option<String>,
    /// How often a snapshot is pushed, in ms [default: 15000].
    pub interval_ms: Option<u64>,
    /// Time allowed for one request, in ms [default: 10000].
    pub timeout_ms: Option<u64>,
    /// Labels added to every series that lacks them (`instance`, `job`).
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
    /// Outbound headers (`X-Scope-OrgID`, `Authorization`); a value
    /// `env:NAME` is read from the environment at start-up.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Put before every family name.
    pub prefix: Option<String>,
    /// Only these families (like `name[]`) [default: all].
    pub families: Option<Vec<String>>,
    /// Samples per request [default: 2000].
    pub max_samples_per_request: Option<u64>,
    /// Compressed requests queued while the receiver is slow or down, in
    /// MiB; beyond it the oldest are dropped [default: 64].
    pub queue_max_mb: Option<u64>,
    /// Concurrent senders, each on its own connection; they take requests
    /// of one push at a time, so a series' samples stay in order [default: 1].
    pub shards: Option<u64>,
    /// `https://`: a PEM file of the CA certificates the receiver's
    /// certificate must chain to [default: the system's].
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// `https://`: a client certificate (PEM) for receivers that ask for
    /// one, with `tls_key_file`.
    pub tls_cert_file: Option<std::path::PathBuf>,
    /// `https://`: the client certificate's private key (PEM).
    pub tls_key_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for PushArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushArgs")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("format", &self.format)
            .field("external_labels", &self.external_labels)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A checked `[[push]]` endpoint.
#[derive(Clone)]
pub struct PushSettings {
    /// The receiver.
    pub url: UpstreamUrl,
    /// What the receiver speaks.
    pub protocol: PushProtocol,
    /// The format that renders the requests.
    pub format: String,
    /// How each request body is compressed.
    pub body_encoding: BodyEncoding,
    /// Time between pushes.
    pub interval: Duration,
    /// Time for one request (connect, send, read the answer).
    pub timeout: Duration,
    /// Sorted by name.
    pub external_labels: Vec<(String, String)>,
    /// Resolved values: secrets, never shown.
    pub headers: Vec<(String, String)>,
    /// Put in front of every metric name.
    pub prefix: String,
    /// The families pushed (all when empty).
    pub families: FamilyFilter,
    /// Most samples in one request.
    pub max_samples_per_request: u64,
    /// Bytes of requests queued before the oldest is dropped.
    pub queue_max_bytes: usize,
    /// Concurrent senders.
    pub shards: usize,
    /// `https://`: the TLS client configuration (roots, client certificate).
    pub tls: Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>,
}

impl std::fmt::Debug for PushSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSettings")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("format", &self.format)
            .field("interval", &self.interval)
            .field("external_labels", &self.external_labels)
            .field("headers", &self.headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Headers the host writes itself.
const RESERVED_HEADERS: [&str; 7] =
    ["host", "content-length", "content-type", "content-encoding", "connection", "transfer-encoding", "user-agent"];

fn in_range(key: &str, value: u64, min: u64, max: u64) -> Result<u64, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{key} = {value} is out of range: it must be between {min} and {max}"))
    }
}

impl PushArgs {
    /// Checks the table (`index` names it in errors); `env` reads `env:NAME` values.
    pub fn check(&self, index: usize, env: impl Fn(&str) -> Option<String>) -> Result<PushSettings, String> {
        let at = |key: &str| format!("push[{index}].{key}");
        let url = UpstreamUrl::parse_allowing_https(&self.url).map_err(|why| format!("{} = {why}", at("url")))?;
        let tls = self.tls(&url, &at)?;
        let protocol = match self.protocol.as_deref().unwrap_or("remote-write-1") {
            "remote-write-1" => PushProtocol::RemoteWrite1,
            "remote-write-2" => PushProtocol::RemoteWrite2,
            "pushgateway" => PushProtocol::Pushgateway,
            "otlp" => PushProtocol::Otlp,
            "http" => PushProtocol::Http,
            other => {
                return Err(format!(
                    "{} = {:?}: expected remote-write-1, remote-write-2, otlp, pushgateway or http",
                    at("protocol"),
                    crate::bounded_text::truncate_text(other, 64)
                ))
            }
        };
        let format = match (self.format.as_deref(), protocol.default_format()) {
            (Some(name), _) if !crate::plugin::format_rules::is_valid_format_name(name) => {
                return Err(format!(
                    "{} = {:?} is not a format name ([a-z0-9][a-z0-9_.-]{{0,63}})",
                    at("format"),
                    crate::bounded_text::truncate_text(name, 64)
                ))
            }
            (Some(name), _) => name.to_string(),
            (None, Some(own)) => own.to_string(),
            (None, None) => {
                return Err(format!("{} is required with protocol = \"http\" (the format that writes its requests)", at("format")))
            }
        };
        let body_encoding = match (self.content_encoding.as_deref(), protocol) {
            (None, protocol) => protocol.body_encoding(),
            (Some("identity"), PushProtocol::Http) => BodyEncoding::Identity,
            (Some("gzip"), PushProtocol::Http) => BodyEncoding::Gzip,
            (Some("snappy"), PushProtocol::Http) => BodyEncoding::Snappy,
            (Some(other), PushProtocol::Http) => {
                return Err(format!(
                    "{} = {:?}: expected identity, gzip or snappy",
                    at("content_encoding"),
                    crate::bounded_text::truncate_text(other, 64)
                ))
            }
            (Some(_), protocol) => {
                return Err(format!("{} applies to protocol = \"http\" only ({} has its own)", at("content_encoding"), protocol.name()))
            }
        };
        let interval = in_range(&at("interval_ms"), self.interval_ms.unwrap_or(15_000), 100, 86_400_000)?;
        let timeout = in_range(&at("timeout_ms"), self.timeout_ms.unwrap_or(10_000), 10, 600_000)?;
        for (name, value) in &self.external_labels {
            if protocol == PushProtocol::Otlp {
                // Resource attribute keys: `service.name`, `host.name`, ...
                if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
                    return Err(format!("{} has attribute key {name:?}: 1 to 255 bytes, no control characters", at("external_labels")));
                }
            } else if !metrics_render_core::is_valid_label_name(name) || name.starts_with("__") {
                return Err(format!("{} has label name {name:?}: [a-zA-Z_][a-zA-Z0-9_]*, not starting with __", at("external_labels")));
            }
            if value.is_empty() {
                return Err(format!("{}.{name} is empty (remote write forbids empty label values)", at("external_labels")));
            }
        }
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let lower = name.to_ascii_lowercase();
            if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() || RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(format!("{} has header {name:?}: not a header name, or one the host writes itself", at("headers")));
            }
            let value = match value.strip_prefix("env:") {
                Some(variable) => env(variable).ok_or_else(|| format!("{}.{name} = env:{variable}, which is not set", at("headers")))?,
                None => value.clone(),
            };
            if hyper::header::HeaderValue::from_str(&value).is_err() {
                // The value is a secret: never quoted.
                return Err(format!("{}.{name} has a value that is not a valid header value", at("headers")));
            }
            headers.push((lower, value));
        }
        let prefix = self.prefix.clone().unwrap_or_default();
        if !prefix.is_empty() && (!metrics_render_core::is_valid_metric_name(&prefix) || prefix.len() > 128) {
            return Err(format!("{} = {prefix:?} is not a metric name prefix", at("prefix")));
        }
        let families = match &self.families {
            None => FamilyFilter::All,
            Some(names) => FamilyFilter::Names(names.iter().cloned().collect()),
        };
        let max_samples_per_request = in_range(&at("max_samples_per_request"), self.max_samples_per_request.unwrap_or(2000), 1, 100_000)?;
        let queue_max_mb = in_range(&at("queue_max_mb"), self.queue_max_mb.unwrap_or(64), 1, 4096)?;
        let shards = in_range(&at("shards"), self.shards.unwrap_or(1), 1, 16)?;
        // The Pushgateway's group is part of the path: the URL is its base.
        let url = match protocol {
            PushProtocol::Pushgateway => {
                let external: Vec<(String, String)> = self.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                UpstreamUrl { target: format!("{}{}", url.target.trim_end_matches('/'), pushgateway_group_path(&external)), ..url }
            }
            // OTLP/HTTP exporters post to `/v1/metrics` under a base URL.
            PushProtocol::Otlp if url.target == "/" => UpstreamUrl { target: "/v1/metrics".into(), ..url },
            PushProtocol::RemoteWrite1 | PushProtocol::RemoteWrite2 | PushProtocol::Otlp | PushProtocol::Http => url,
        };
        Ok(PushSettings {
            url,
            protocol,
            format,
            body_encoding,
            interval: Duration::from_millis(interval),
            timeout: Duration::from_millis(timeout),
            external_labels: self.external_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            headers,
            prefix,
            families,
            max_samples_per_request,
            queue_max_bytes: (queue_max_mb as usize) << 20,
            shards: shards as usize,
            tls,
        })
    }

    /// The TLS client configuration of an `https://` URL; the `tls_*`
    /// keys apply to nothing else.
    fn tls(
        &self,
        url: &UpstreamUrl,
        at: &dyn Fn(&str) -> String,
    ) -> Result<Option<std::sync::Arc<tokio_rustls::rustls::ClientConfig>>, String> {
        let given = [("tls_ca_file", &self.tls_ca_file), ("tls_cert_file", &self.tls_cert_file), ("tls_key_file", &self.tls_key_file)];
        if !url.tls {
            return match given.iter().find(|(_, value)| value.is_some()) {
                Some((key, _)) => Err(format!("{} applies to https:// URLs only", at(key))),
                None => Ok(None),
            };
        }
        let client = match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Some((cert.as_path(), key.as_path())),
            (None, None) => None,
            (Some(_), None) => return Err(format!("{} needs {}", at("tls_cert_file"), at("tls_key_file"))),
            (None, Some(_)) => return Err(format!("{} needs {}", at("tls_key_file"), at("tls_cert_file"))),
        };
        crate::tls_files::client_config(self.tls_ca_file.as_deref(), client).map(Some).map_err(|why| format!("{}: {why}", at("tls")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> PushArgs {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn pushgateway_groups_are_paths_with_unusual_values_in_base64url() {
        let labels = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(pushgateway_group_path(&labels(&[("instance", "mx1"), ("job", "mail")])), "/metrics/job/mail/instance/mx1");
        assert_eq!(pushgateway_group_path(&[]), "/metrics/job/metrics-host");
        // The Pushgateway's own examples: "/var/tmp" and an empty value.
        assert_eq!(pushgateway_group_path(&labels(&[("job", "j"), ("path", "/var/tmp")])), "/metrics/job/j/path@base64/L3Zhci90bXA");
        assert_eq!(pushgateway_group_path(&labels(&[("job", "j"), ("e", "")])), "/metrics/job/j/e@base64/=");
    }

    #[test]
    fn a_push_table_is_checked_with_the_key_named_and_secrets_kept_out_of_errors() {
        let env = |name: &str| (name == "TENANT").then(|| "team-a".to_string());
        let ok = args("url = \"http://127.0.0.1:9090/api/v1/write\"\nexternal_labels = { instance = \"h1\" }\nheaders = { \"X-Scope-OrgID\" = \"env:TENANT\" }\n");
        let settings = ok.check(0, env).unwrap();
        assert_eq!(settings.headers, vec![("x-scope-orgid".to_string(), "team-a".to_string())]);
        assert!(!format!("{settings:?}").contains("team-a"), "{settings:?}");
        let literal = args("url = \"http://x/w\"\nheaders = { Authorization = \"Bearer s3cret\" }\n");
        assert!(!format!("{literal:?}").contains("s3cret"), "{literal:?}");
        for (text, expected) in [
            ("url = \"ftp://x/api/v1/write\"", "push[0].url"),
            (
                "url = \"http://x/w\"\ntls_ca_file = \"/etc/ssl/certs/ca-certificates.crt\"",
                "push[0].tls_ca_file applies to https:// URLs only",
            ),
            ("url = \"https://x/w\"\ntls_cert_file = \"/c.pem\"", "push[0].tls_cert_file needs push[0].tls_key_file"),
            ("url = \"https://x/w\"\ntls_ca_file = \"/nonexistent/ca.pem\"", "push[0].tls: /nonexistent/ca.pem"),
            ("url = \"http://x/w\"\nprotocol = \"remote-write-3\"", "push[0].protocol"),
            ("url = \"http://x/w\"\nprotocol = \"otlp\"\nexternal_labels = { \"\" = \"1\" }", "push[0].external_labels"),
            ("url = \"http://x/w\"\ninterval_ms = 5", "push[0].interval_ms = 5 is out of range"),
            ("url = \"http://x/w\"\nshards = 0", "push[0].shards = 0 is out of range"),
            ("url = \"http://x/w\"\nexternal_labels = { \"__x\" = \"1\" }", "push[0].external_labels"),
            ("url = \"http://x/w\"\nheaders = { Authorization = \"env:MISSING\" }", "env:MISSING, which is not set"),
            ("url = \"http://x/w\"\nheaders = { Host = \"a\" }", "header \"Host\""),
            ("url = \"http://x/w\"\nheaders = { Authorization = \"secret\\nvalue\" }", "not a valid header value"),
            ("url = \"http://x/w\"\nprotocol = \"http\"", "push[0].format is required"),
            (
                "url = \"http://x/w\"\nprotocol = \"http\"\nformat = \"Influx Push\"",
                "push[0].format = \"Influx Push\" is not a format name",
            ),
            ("url = \"http://x/w\"\nprotocol = \"http\"\nformat = \"lines\"\ncontent_encoding = \"br\"", "push[0].content_encoding"),
            ("url = \"http://x/w\"\ncontent_encoding = \"gzip\"", "applies to protocol = \"http\" only"),
        ] {
            let error = args(text).check(0, env).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
        assert!(toml::from_str::<PushArgs>("url = \"http://x/w\"\ncolour = 1").is_err());
        let custom =
            args("url = \"http://x/w\"\nprotocol = \"http\"\nformat = \"influx-push\"\ncontent_encoding = \"gzip\"").check(0, env).unwrap();
        assert_eq!((custom.format.as_str(), custom.body_encoding), ("influx-push", BodyEncoding::Gzip));
        let own = args("url = \"http://x/w\"\nprotocol = \"otlp\"").check(0, env).unwrap();
        assert_eq!((own.format.as_str(), own.body_encoding), ("otlp", BodyEncoding::Gzip));
    }
}
