//! The `metrics-host` binary started as an operator would, on a loopback
//! port 0, with its log read line by line; killed if a test fails first.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_metrics-host");

/// Kills the server if a test fails before it exits on its own.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: mpsc::Receiver<String>,
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
    pub fn start(args: &[&str]) -> Server {
        let mut command = Command::new(BINARY);
        command.arg("serve").args(args);
        Server::start_command(command)
    }

    /// Starts `command` (a `metrics-host serve` however it is run) with
    /// `--listen 127.0.0.1:0` added, and reads the bound address from its log.
    // The child is killed and waited for in `Drop`.
    #[allow(clippy::zombie_processes)]
    pub fn start_command(mut command: Command) -> Server {
        let mut child =
            command.args(["--listen", "127.0.0.1:0"]).env("RUST_LOG", "info").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
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

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for a log line containing `needle`.
    pub fn wait_for_log(&self, needle: &str) -> String {
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

impl Server {
    /// Resident memory of the server process, from `/proc/PID/status`.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("server is running");
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
        line["VmRSS:".len()..].trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
    }

    /// Waits at most `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The bound address, parsed.
    pub fn socket_addr(&self) -> std::net::SocketAddr {
        self.addr.parse().expect("socket address")
    }
}
