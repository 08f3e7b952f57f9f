//! A receiver written for the tests in Python (`tests/*_receiver.py`):
//! started with the test Python, its port read from its first line of
//! output, stopped (stdin closed, then killed) when dropped.
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

pub struct PythonReceiver {
    child: Child,
    pub addr: SocketAddr,
}

impl PythonReceiver {
    /// Starts `tests/SCRIPT` with `args`.
    pub fn start(script: &str, args: &[&str]) -> Self {
        let path = format!("{}/tests/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(super::validators::python())
            .arg(&path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{path}: {e} (`make test-deps` installs the Python it needs)"));
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("{script} printed {line:?}, not its port"));
        PythonReceiver { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) }
    }

    /// `GET /received`, as JSON.
    pub async fn received(&self) -> Value {
        serde_json::from_slice(&super::get(self.addr, "/received", &[]).await.body).unwrap()
    }
}

impl Drop for PythonReceiver {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
