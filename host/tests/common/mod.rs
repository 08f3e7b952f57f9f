//! Helpers shared by the integration tests: one renderer set per test
//! process, a real server on a loopback port 0, a small HTTP/1.1 client that
//! notices truncated chunked bodies, and the tricky-values fixture.
#![allow(dead_code)]

pub mod built_components;
pub mod embedded_example;
pub mod prometheus_server;
pub mod python_receiver;
pub mod served_process;
pub mod test_certificates;
pub mod tools;
pub mod validators;
pub mod victoria_metrics;

use metrics_host::config::ServeConfig;
use metrics_host::http::trusted_hosts::TrustedHosts;
use metrics_host::plugin::catalog::Renderers;
use metrics_host::plugin::renderer_set::RendererSet;
use metrics_host::plugin::RendererEngine;
use metrics_host::registry::{NativeHistogramOptions, Registry};
use metrics_host::server::{self, RunningServer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The built-in renderers, compiled once per test binary.
pub async fn renderers() -> Arc<Renderers> {
    static SET: tokio::sync::OnceCell<Arc<Renderers>> = tokio::sync::OnceCell::const_new();
    Arc::clone(
        SET.get_or_init(|| async {
            let engine = RendererEngine::new().expect("engine");
            let set = RendererSet::builtin(&engine).await.expect("built-in renderer loads");
            Arc::new(Renderers::fixed(engine, set))
        })
        .await,
    )
}

/// Starts the real server on `listen` (port 0) serving `registry`.
pub async fn start(registry: Registry, listen: &str, trusted: &[&str]) -> RunningServer {
    let config = ServeConfig {
        listen: listen.parse().expect("listen address"),
        trusted_hosts: TrustedHosts::parse(trusted).expect("trusted hosts"),
        ..ServeConfig::default()
    };
    server::start(&config, registry, renderers().await).await.expect("server starts")
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A chunked body that ended without its final zero-size chunk.
    pub truncated: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("body is UTF-8")
    }
}

/// `GET target` with extra headers, over a new connection; at most 60 s.
pub async fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Response {
    tokio::time::timeout(Duration::from_secs(60), get_inner(addr, target, headers)).await.expect("request finishes in 60 s")
}

async fn get_inner(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    // A reset after a partial body is what an aborted response looks like.
    let _ = stream.read_to_end(&mut raw).await;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("response has a head");
    let head = std::str::from_utf8(&raw[..split]).expect("head is ASCII");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line");
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let (body, truncated) = if chunked { dechunk(rest) } else { (rest.to_vec(), false) };
    Response { status, headers, body, truncated }
}

fn dechunk(mut data: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return (body, true);
        };
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16) else {
            return (body, true);
        };
        data = &data[line_end + 2..];
        if size == 0 {
            return (body, false);
        }
        if data.len() < size + 2 {
            body.extend_from_slice(&data[..data.len().min(size)]);
            return (body, true);
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// True for the host's own metric families (and their samples), which
/// every exposition carries besides the data a test put in.
pub fn is_self_metric(name: &str) -> bool {
    name.starts_with(metrics_host::self_metrics::DEFAULT_PREFIX)
}

/// One sample as a client should read it back.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> ExpectedSample {
    ExpectedSample { name: name.into(), labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), value }
}

/// Help text with every character that needs escaping, and non-ASCII.
pub const TRICKY_HELP: &str = "path C:\\temp\\ says \"hi\"\nsecond line: ünïcødé ✓";

/// A registry of values that are easy to get wrong, and the samples a
/// correct parser must read back from it (in exposition order).
pub fn tricky_registry() -> (Registry, Vec<ExpectedSample>) {
    let registry = Registry::new();
    let mut expected = Vec::new();
    let values = registry.gauge_family("tricky_values", TRICKY_HELP, &["case"]).unwrap();
    let cases: [(&str, f64); 12] = [
        ("nan", f64::NAN),
        ("pos_inf", f64::INFINITY),
        ("neg_inf", f64::NEG_INFINITY),
        ("max", f64::MAX),
        ("min_positive", f64::MIN_POSITIVE),
        ("subnormal", 5e-324),
        ("negative_small", -1.25e-7),
        ("integer_limit", 1e15),
        ("big_integer", 999_999_999_999_999.0),
        ("fraction", 0.1),
        ("zero", 0.0),
        ("negative", -42.0),
    ];
    for (case, value) in cases {
        values.with_label_values(&[case]).unwrap().set(value);
        expected.push(sample("tricky_values", &[("case", case)], value));
    }
    let escapes = registry.counter_family("escaped_labels_total", "label values that need escaping", &["path", "text"]).unwrap();
    let label_cases: [(&str, &str, u64); 5] = [
        ("C:\\dir\\file", "plain", 1),
        ("quote", "say \"hi\"", 2),
        ("newline", "line1\nline2", 3),
        ("unicode", "ünïcødé ✓ 日本", 4),
        ("", "empty path", 5),
    ];
    for (path, text, n) in label_cases {
        escapes.with_label_values(&[path, text]).unwrap().inc_by(n);
        expected.push(sample("escaped_labels_total", &[("path", path), ("text", text)], n as f64));
    }
    registry.gauge_family("empty_family", "a family with no series yet", &["queue"]).unwrap();
    let latency = registry.histogram_family("request_seconds", "request latency", &["service"], &[0.005, 0.1, 1.0, 10.0]).unwrap();
    let h = latency.with_label_values(&["smtp"]).unwrap();
    for v in [0.001, 0.05, 0.05, 0.5, 20.0] {
        h.observe(v);
    }
    for (le, count) in [("0.005", 1.0), ("0.1", 3.0), ("1.0", 4.0), ("10.0", 4.0), ("+Inf", 5.0)] {
        expected.push(sample("request_seconds_bucket", &[("service", "smtp"), ("le", le)], count));
    }
    expected.push(sample("request_seconds_sum", &[("service", "smtp")], 0.001 + 0.05 + 0.05 + 0.5 + 20.0));
    expected.push(sample("request_seconds_count", &[("service", "smtp")], 5.0));
    registry.gauge("unlabelled_value", "no labels at all").unwrap().set(7.5);
    expected.push(sample("unlabelled_value", &[], 7.5));
    // Contract 0.3.0 kinds: a summary, a native histogram with classic
    // buckets (text formats write those) and one without (only `+Inf`).
    let rpc = registry.summary_family("rpc_duration_seconds", "rpc latency quantiles", &["method"], &[0.5, 0.9, 0.99]).unwrap();
    rpc.with_label_values(&["get \"x\""]).unwrap().set(&[0.01, 0.2, f64::NAN], 12.5, 40);
    for (q, v) in [("0.5", 0.01), ("0.9", 0.2), ("0.99", f64::NAN)] {
        expected.push(sample("rpc_duration_seconds", &[("method", "get \"x\""), ("quantile", q)], v));
    }
    expected.push(sample("rpc_duration_seconds_sum", &[("method", "get \"x\"")], 12.5));
    expected.push(sample("rpc_duration_seconds_count", &[("method", "get \"x\"")], 40.0));
    let native = registry
        .native_histogram_family("native_seconds", "native and classic", &["service"], &[0.1, 1.0], NativeHistogramOptions::default())
        .unwrap()
        .with_label_values(&["smtp"])
        .unwrap();
    let observed = [0.05, 0.5, 0.5, 3.0];
    for v in observed {
        native.observe(v);
    }
    for (le, count) in [("0.1", 1.0), ("1.0", 3.0), ("+Inf", 4.0)] {
        expected.push(sample("native_seconds_bucket", &[("service", "smtp"), ("le", le)], count));
    }
    expected.push(sample("native_seconds_sum", &[("service", "smtp")], observed.iter().fold(0.0, |sum, v| sum + v)));
    expected.push(sample("native_seconds_count", &[("service", "smtp")], 4.0));
    let native_only =
        registry.native_histogram("native_only_seconds", "no classic buckets", &[], NativeHistogramOptions::default()).unwrap();
    native_only.observe(-2.0);
    native_only.observe(0.0);
    expected.push(sample("native_only_seconds_bucket", &[("le", "+Inf")], 2.0));
    expected.push(sample("native_only_seconds_sum", &[], -2.0));
    expected.push(sample("native_only_seconds_count", &[], 2.0));
    (registry, expected)
}

/// The fixture component `folder/name` (`plugins/prometheus.wasm`,
/// `test-plugins/hostile.wasm`, ...), built by the `test-components` crate.
pub fn component_path(folder: &str, name: &str) -> &'static str {
    test_components::path(folder, name).unwrap_or_else(|| panic!("test-components builds no {folder}/{name}"))
}

/// The bytes of [`component_path`].
pub fn component_bytes(folder: &str, name: &str) -> Vec<u8> {
    let path = component_path(folder, name);
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Puts `bytes` at `dir/name` the way operators are told to: write a
/// hidden temporary file, then rename it into place.
pub fn install_plugin(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// A `POST` with an empty body; returns status and body.
pub async fn post(addr: SocketAddr, target: &str) -> Response {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("POST {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw)).await.expect("response in 60 s");
    parse_response(&raw)
}

/// Starts the real server with a plugins folder (watched like `serve` does).
pub async fn start_with_plugins(
    registry: Registry,
    dir: &std::path::Path,
    cache: Option<metrics_host::plugin::ArtifactCache>,
) -> (RunningServer, Arc<Renderers>, metrics_host::plugin::watcher::PluginWatcher) {
    start_with_plugins_and(ServeConfig::default(), registry, dir, cache).await
}

/// Like [`start_with_plugins`], with `config`'s settings (its listen
/// address aside); a new plugin version passes its preflight first unless
/// `config.plugin_preflight` is off, as in `serve`.
pub async fn start_with_plugins_and(
    config: ServeConfig,
    registry: Registry,
    dir: &std::path::Path,
    cache: Option<metrics_host::plugin::ArtifactCache>,
) -> (RunningServer, Arc<Renderers>, metrics_host::plugin::watcher::PluginWatcher) {
    let engine = RendererEngine::new().expect("engine");
    let builtins = RendererSet::builtin(&engine).await.expect("built-in renderer");
    let preflight = config.plugin_preflight.then(|| config.render_limits.clone());
    let renderers =
        Renderers::for_plugin_dir(engine, builtins, dir.to_path_buf(), cache, config.plugin_max_bytes, preflight).expect("plugins folder");
    renderers.reload().await;
    let config = ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), ..config };
    let server = server::start(&config, registry, Arc::clone(&renderers)).await.expect("server starts");
    let watcher = metrics_host::plugin::watcher::watch(Arc::clone(&renderers), dir).expect("watch");
    (server, renderers, watcher)
}

/// Makes a FIFO at `path` (a hostile "plugin file").
pub fn mkfifo(path: &std::path::Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}
