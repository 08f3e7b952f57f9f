//! Debian's VictoriaMetrics started for a test on a random 127.0.0.1 port
//! with its own data folder, stopped when dropped; reads back what a push
//! stored through `/api/v1/export`.
use super::get;
use serde_json::Value;
use std::time::{Duration, Instant};

pub struct VictoriaMetrics {
    child: std::process::Child,
    pub addr: std::net::SocketAddr,
    _data: tempfile::TempDir,
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl VictoriaMetrics {
    pub async fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let addr: std::net::SocketAddr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let child = std::process::Command::new("victoria-metrics")
            .arg(format!("-httpListenAddr={addr}"))
            .arg(format!("-storageDataPath={}", data.path().display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("victoria-metrics (Debian package victoria-metrics; `make test-deps` installs it)");
        let started = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() || get(addr, "/health", &[]).await.status != 200 {
            assert!(started.elapsed() < Duration::from_secs(30), "VictoriaMetrics never became healthy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        VictoriaMetrics { child, addr, _data: data }
    }

    /// The newest value of every exported series of job `push-test` (the
    /// host's own aside), by its labels written `name{k="v",...}` (sorted,
    /// without job/instance).
    pub async fn latest(&self) -> std::collections::BTreeMap<String, f64> {
        let r = get(self.addr, "/api/v1/export?match%5B%5D=%7Bjob%3D%22push-test%22%7D", &[]).await;
        let mut out = std::collections::BTreeMap::new();
        for line in r.text().lines().filter(|l| !l.trim().is_empty()) {
            let doc: Value = serde_json::from_str(line).unwrap();
            let metric = doc["metric"].as_object().unwrap();
            if super::is_self_metric(metric["__name__"].as_str().unwrap()) {
                continue;
            }
            let labels: Vec<String> = metric
                .iter()
                .filter(|(k, _)| !["__name__", "job", "instance"].contains(&k.as_str()))
                .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap()))
                .collect();
            let value = doc["values"].as_array().unwrap().last().unwrap().as_f64().unwrap();
            out.insert(format!("{}{{{}}}", metric["__name__"].as_str().unwrap(), labels.join(",")), value);
        }
        out
    }
}
