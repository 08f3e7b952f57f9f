//! One remote-write-1 push of the 1M-queue demo to a receiver in this
//! bench that reads and discards (HTTP/1.1 keep-alive, `204` to every
//! request): the server pushes once at start (warm-up), then every 5 s;
//! the second push is measured from its first request to its last, with
//! the server's resident memory sampled meanwhile, and its bytes per
//! sample after snappy (samples counted from a text scrape of the same
//! server).
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the discarding receiver saw.
#[derive(Default, Clone)]
struct Received {
    requests: u64,
    bytes: u64,
    /// Arrival of each request.
    times: Vec<Instant>,
}

fn serve(stream: TcpStream, seen: Arc<Mutex<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        {
            let mut seen = seen.lock().unwrap();
            seen.requests += 1;
            seen.bytes += length as u64;
            seen.times.push(Instant::now());
        }
        if writer.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").is_err() {
            return;
        }
    }
}

pub struct PushFigures {
    pub push_s: f64,
    pub rss_over_idle_mb: f64,
    pub bytes_per_sample: f64,
    pub requests: u64,
    /// Samples of one push (sample lines of a text scrape).
    pub samples: usize,
}

pub fn measure() -> PushFigures {
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_addr = receiver.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Received::default()));
    let accepted = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in receiver.incoming().map_while(Result::ok) {
            let seen = Arc::clone(&accepted);
            std::thread::spawn(move || serve(stream, seen));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("push.toml");
    std::fs::write(&config, format!("[[push]]\nurl = \"http://{receiver_addr}/api/v1/write\"\ninterval_ms = 5000\n")).unwrap();
    let started = Instant::now();
    let (mut child, addr) = super::start_demo_server(&["--config".as_ref(), config.as_os_str()]);
    let pid = child.id();
    // The warm-up push (at start) ends; the next starts 5 s after it began.
    let wait_quiet = |since: Instant| loop {
        std::thread::sleep(Duration::from_millis(200));
        let last = seen.lock().unwrap().times.last().copied();
        if last.is_some_and(|t| t > since && t.elapsed() > Duration::from_millis(700)) {
            return;
        }
        assert!(since.elapsed() < Duration::from_secs(60), "no push arrived");
    };
    wait_quiet(started);
    let samples = super::scrape_lines(&addr);
    let idle = super::rss_kib(pid);
    let before = seen.lock().unwrap().clone();
    let sampler = super::PeakRss::sample(pid);
    let second = Instant::now();
    wait_quiet(second);
    let peak = sampler.finish();
    let after = seen.lock().unwrap().clone();
    let _ = child.kill();
    let _ = child.wait();
    let times = &after.times[before.times.len()..];
    let requests = after.requests - before.requests;
    PushFigures {
        push_s: times.last().unwrap().duration_since(times[0]).as_secs_f64(),
        rss_over_idle_mb: peak.saturating_sub(idle) as f64 / 1024.0,
        bytes_per_sample: (after.bytes - before.bytes) as f64 / samples as f64,
        requests,
        samples,
    }
}
