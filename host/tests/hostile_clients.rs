//! Clients cannot hurt the server: deadlines they choose never back off a
//! renderer, error bodies quote at most 4 KiB of what they sent, and
//! connections that do not read (or read slowly) do not keep render slots
//! or shared renders from scrapes that can proceed. Real sockets against
//! the real server (in process, or the binary with a large registry).
mod common;

use common::served_process::Server;
use common::{get, start};
use metrics_host::registry::Registry;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn small_registry() -> Registry {
    let registry = Registry::new();
    registry.gauge_family("ready_count", "ready", &["service"]).unwrap().with_label_values(&["smtp"]).unwrap().set(1.0);
    registry
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_deadline_too_short_to_render_is_refused_and_never_backs_off_the_renderer() {
    let server = start(small_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    for _ in 0..6 {
        let r = get(server.local_addr, "/metrics", &[("X-Prometheus-Scrape-Timeout-Seconds", "1e-9")]).await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains("scrape timeout leaves 0ms to render"), "{}", r.text());
    }
    let r = get(server.local_addr, "/metrics", &[]).await;
    assert_eq!(r.status, 200, "the built-in renderer still serves: {}", r.text());
    assert!(r.text().contains("ready_count{service=\"smtp\"} 1"));
    let plugins = get(server.local_addr, "/-/plugins", &[]).await.text();
    assert!(!plugins.contains("\"open\""), "no breaker is open: {plugins}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn error_bodies_quote_at_most_4_kib_of_what_the_client_sent() {
    let server = start(small_registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    let accept = "application/x-nothing;q=0.9, ".repeat(10_000);
    let r = get(server.local_addr, "/metrics", &[("Accept", &accept)]).await;
    assert_eq!(r.status, 406);
    assert!(r.text().len() < 1024, "{} bytes for a {} byte Accept", r.text().len(), accept.len());
    let format = "x".repeat(50_000);
    let r = get(server.local_addr, &format!("/metrics?format={format}"), &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("unknown format") && r.text().len() < 1024, "{}", r.text().len());
    let prefix = "p".repeat(50_000);
    let r = get(server.local_addr, &format!("/metrics?prefix={prefix}"), &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("longer than the 128 allowed") && r.text().len() < 1024, "{}", r.text().len());
    server.stop().await.unwrap();
}

/// Sends a GET for `target` on a socket with a tiny receive buffer and
/// returns it once the status line came, the rest unread (the client that
/// never reads).
async fn request_and_never_read(addr: SocketAddr, target: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    // The status line: the server has taken the request up (a render that
    // got a slot has written its first chunk), so the next request cannot
    // overtake it. Nothing more is read.
    let mut status_line = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(60), stream.read_exact(&mut status_line))
        .await
        .expect("the server answers within 60 s")
        .expect("a status line");
    stream
}

/// Reads a whole response with `curl`-like speed; the body length and
/// whether it ended cleanly (chunked terminator seen).
async fn scrape(addr: SocketAddr, target: &str) -> (u16, usize, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut data = Vec::new();
    let _ = stream.read_to_end(&mut data).await;
    let status = std::str::from_utf8(&data[9..12]).unwrap().parse().unwrap();
    (status, data.len(), data.ends_with(b"\r\n0\r\n\r\n"))
}

/// A 500,000-series server (about 30 MB of text): its outputs are larger
/// than the shared log's window plus what the sockets buffer.
fn large_server(extra: &[&str]) -> Server {
    let mut args = vec!["--demo", "--demo-queues", "500000", "--client-timeout-ms", "120000"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_that_never_read_do_not_keep_render_slots_from_others() {
    let server = large_server(&["--max-concurrent-renders", "2"]);
    let addr = server.socket_addr();
    // Warm the registry's first snapshot.
    assert_eq!(scrape(addr, "/metrics").await.0, 200);
    // Enough non-reading clients, each a render of its own, to hold every slot.
    let mut hostile = Vec::new();
    for i in 0..6 {
        hostile.push(request_and_never_read(addr, &format!("/metrics?prefix=h{i}_")).await);
    }
    // An ordinary scrape gets through well before the 120 s client timeout:
    // a render stalled on its clients gives its slot up once it has waited
    // a second. Retried like a scraper would, a bounded number of times.
    let started = Instant::now();
    let mut outcome = None;
    for _ in 0..40 {
        let (status, len, complete) = scrape(addr, "/metrics?prefix=ok_").await;
        if status == 200 {
            outcome = Some((len, complete));
            break;
        }
        assert_eq!(status, 503, "only 'busy' while slots are held");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (len, complete) = outcome.expect("an ordinary scrape succeeded");
    assert!(complete && len > 20_000_000, "complete body: {len} bytes");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    // The clients that never read were cut off, and counted.
    let metrics = scrape_text(addr, "/metrics?name[]=metrics_host_clients_cut_off_total").await;
    let cut: f64 =
        metrics.lines().find(|l| l.starts_with("metrics_host_clients_cut_off_total ")).unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let renders = scrape_text(addr, "/metrics?name[]=metrics_host_renders_total").await;
    let log: Vec<String> = server.log.try_iter().collect();
    assert!(cut >= 1.0, "{metrics}\n{renders}\nserver log:\n{}", log.join("\n"));
    drop(hostile);
}

async fn scrape_text(addr: SocketAddr, target: &str) -> String {
    let r = get(addr, target, &[]).await;
    assert_eq!(r.status, 200);
    r.text()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_reader_on_a_shared_render_does_not_pace_the_others() {
    let server = large_server(&[]);
    let addr = server.socket_addr();
    assert_eq!(scrape(addr, "/metrics").await.0, 200);
    // One client reading about 100 kB/s, then 8 ordinary clients of the same
    // representation at once.
    let slow = tokio::spawn(async move {
        let mut stream = request_and_never_read(addr, "/metrics").await;
        let mut buf = vec![0u8; 10_000];
        let mut read = 0usize;
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        read
    });
    let started = Instant::now();
    let ordinary: Vec<_> = (0..8).map(|_| tokio::spawn(async move { scrape(addr, "/metrics").await })).collect();
    for client in ordinary {
        let (status, len, complete) = client.await.unwrap();
        assert_eq!(status, 200);
        assert!(complete && len > 20_000_000, "complete body: {len} bytes");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "8 ordinary clients took {took:?} next to a slow reader");
    let slow_read = slow.await.unwrap();
    assert!(slow_read < 20_000_000, "the slow reader did not get a whole body at 100 kB/s: {slow_read}");
}
