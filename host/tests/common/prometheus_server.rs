//! A real Prometheus server (Debian's `prometheus` package) for a test:
//! started with a given configuration on a free loopback port, queried
//! through its HTTP API, killed when the test ends however it ends.
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PrometheusServer {
    child: Child,
    /// Its web and API address.
    pub web: SocketAddr,
    data: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus with `config` (YAML) and `flags`.
    pub fn start(config: &str, flags: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let config_path = data.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let web = SocketAddr::from(([127, 0, 0, 1], port));
        let log = std::fs::File::create(data.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .args(flags)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", data.path().join("tsdb").display()))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the prometheus server (Debian package prometheus; `make test-deps` installs it)");
        PrometheusServer { child, web, data }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Waits until it answers `/-/ready` (at most 30 s).
    pub async fn ready(&self) {
        let started = Instant::now();
        while tokio::net::TcpStream::connect(self.web).await.is_err() || super::get(self.web, "/-/ready", &[]).await.status != 200 {
            assert!(started.elapsed() < Duration::from_secs(30), "Prometheus never became ready:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs an instant query; the result vector (empty if it failed).
    pub async fn query(&self, expr: &str) -> Vec<Value> {
        let encoded: String = expr
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() || b == b'_' { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let r = super::get(self.web, &format!("/api/v1/query?query={encoded}"), &[]).await;
        if r.status != 200 {
            return Vec::new();
        }
        let doc: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        doc["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Polls until every `(query, value)` returns its value (within a
    /// relative 1e-9), at most 45 s; the scrapes that fill it run every second.
    pub async fn wait_for_values(&self, checks: &[(&str, f64)]) {
        let started = Instant::now();
        let mut missing: Vec<&str> = checks.iter().map(|(q, _)| *q).collect();
        while !missing.is_empty() && started.elapsed() < Duration::from_secs(45) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut still = Vec::new();
            for (expr, want) in checks {
                let close = value_of(&self.query(expr).await).is_some_and(|got| (got - want).abs() <= 1e-9 * want.abs().max(1.0));
                if missing.contains(expr) && !close {
                    still.push(*expr);
                }
            }
            missing = still;
        }
        assert!(missing.is_empty(), "Prometheus never returned {missing:?}\nits log:\n{}", self.log());
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the first sample of a query result.
pub fn value_of(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}
