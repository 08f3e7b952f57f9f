//! The `metrics-host` binary as an operator runs it: bad configuration stops
//! start-up with the offending value named; SIGHUP reloads plugins; SIGTERM
//! stops accepting, lets an in-flight scrape finish, and exits 0.
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::served_process::{Server, BINARY};

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
