//! The `metrics-host` binary as an operator runs it: bad configuration stops
//! start-up with the offending value named; SIGHUP reloads plugins; SIGTERM
//! stops accepting, lets an in-flight scrape finish, and exits 0.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_metrics-host");

/// Kills the server if a test fails before it exits on its own.
struct Server {
    child: Child,
    addr: String,
    log: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `metrics-host serve ARGS --listen 127.0.0.1:0` and reads the
    /// bound address from its log.
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BINARY)
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = log.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("server logs its address");
            if let Some(rest) = line.split("listen=").nth(1) {
                let addr = rest.split_whitespace().next().unwrap().to_string();
                return Server { child, addr, log };
            }
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for a log line containing `needle`.
    fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.log.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(_) => panic!("no log line containing {needle:?}"),
            }
        }
    }
}

fn start_failure(args: &[&str]) -> String {
    let out = Command::new(BINARY).arg("serve").args(args).args(["--listen", "127.0.0.1:0"]).output().unwrap();
    assert!(!out.status.success(), "{args:?} must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_configuration_stops_start_up_naming_the_value() {
    assert!(start_failure(&["--trusted-host", "10.0.0.0/33"]).contains("10.0.0.0/33"));
    assert!(start_failure(&["--trusted-host", "fe80::1%eth0"]).contains("fe80::1%eth0"));
    assert!(start_failure(&["--render-timeout-ms", "0"]).contains("render_timeout_ms = 0"));
    assert!(start_failure(&["--render-memory-mb", "999999"]).contains("render_memory_mb = 999999"));
    assert!(start_failure(&["--plugins", "/nonexistent/plugins"]).contains("/nonexistent/plugins"));
    let mut config = tempfile::NamedTempFile::new().unwrap();
    config.write_all(b"listen = \"127.0.0.1:0\"\ntrusted_hosts = [\"127.0.0.1\"]\ntrusted_host = [\"0.0.0.0/0\"]\n").unwrap();
    let stderr = start_failure(&["--config", config.path().to_str().unwrap()]);
    assert!(stderr.contains("trusted_host"), "{stderr}");
}

#[test]
fn sighup_reloads_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&["--plugins", dir.path().to_str().unwrap(), "--plugin-cache", dir.path().join(".cache").to_str().unwrap()]);
    server.signal("HUP");
    let line = server.wait_for_log("plugins reloaded");
    assert!(line.contains("SIGHUP"), "{line}");
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(stream, "GET /-/plugins HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "alive after SIGHUP: {response}");
}

#[test]
fn sigterm_finishes_the_scrape_in_flight_and_exits_0() {
    let mut server = Server::start(&["--demo", "--demo-queues", "200000"]);
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut first = vec![0u8; 16 * 1024];
    stream.read_exact(&mut first).unwrap();
    server.signal("TERM");
    server.wait_for_log("shutting down");
    // New connections are refused once the listener is closed.
    let refused_by = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&server.addr).is_ok() {
        assert!(Instant::now() < refused_by, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The scrape in flight completes: the chunked body has its final chunk.
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    let mut whole = first;
    whole.extend_from_slice(&rest);
    assert!(whole.len() > 5_000_000, "{} bytes", whole.len());
    assert!(whole.ends_with(b"\r\n0\r\n\r\n"), "complete chunked body");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}
