//! The `embedded` example (`host/examples/embedded.rs`) run as a program:
//! started on a loopback port 0, its address read from its first line,
//! killed if a test ends first.
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

pub struct EmbeddedExample {
    child: Option<Child>,
    pub addr: SocketAddr,
}

/// The example binary, built by `cargo test` with the tests.
fn binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().join("examples").join("embedded")
}

impl EmbeddedExample {
    /// Starts it; returns once it has announced its address (it records
    /// every family once before that).
    pub fn start() -> Self {
        let mut child = Command::new(binary())
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("target/<profile>/examples/embedded (cargo test builds it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("serving http://").and_then(|l| l.strip_suffix("/metrics")).unwrap().parse().unwrap();
        EmbeddedExample { child: Some(child), addr }
    }

    /// Sends SIGTERM; its exit status, which must come within `limit`.
    pub fn terminate(mut self, limit: Duration) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let (tx, exited) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait()));
        exited.recv_timeout(limit).expect("the example stops on SIGTERM in time").unwrap()
    }
}

impl Drop for EmbeddedExample {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
