//! Compression chosen by `Accept-Encoding`: gzip, deflate and zstd, read
//! back by curl (a client we did not write, decoding each itself) to the
//! same bytes as the uncompressed body; q-values decide between them.
mod common;

use common::start;
use metrics_host::app::demo::Demo;
use metrics_host::registry::Registry;
use std::process::Command;

/// `curl --compressed` with `accept_encoding`: (Content-Encoding, decoded body).
fn curl(url: &str, accept_encoding: &str) -> (String, Vec<u8>) {
    let headers = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("curl")
        .args(["-sS", "--compressed", "-H", &format!("Accept-Encoding: {accept_encoding}"), "-D"])
        .arg(headers.path())
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
    let head = std::fs::read_to_string(headers.path()).unwrap();
    let encoding = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-encoding:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    (encoding, out.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_deflate_and_zstd_decode_to_the_same_body_and_q_values_choose() {
    if common::tools::missing(&["curl"]) {
        return;
    }
    let registry = Registry::new();
    Demo::register(&registry, 2000).unwrap().step();
    let server = start(registry, "127.0.0.1:0", &["127.0.0.1"]).await;
    let url = format!("http://{}/metrics?name%5B%5D=scheduled_count", server.local_addr);
    let (none, plain) = curl(&url, "identity");
    assert_eq!(none, "");
    assert!(plain.len() > 100_000, "{} bytes", plain.len());
    for (asked, chosen) in [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("zstd", "zstd"),
        ("gzip;q=1.0, zstd;q=0.5", "gzip"),
        ("zstd;q=0.2, deflate;q=0.9, gzip;q=0.5", "deflate"),
        ("br, zstd", "zstd"),
    ] {
        let (encoding, body) = curl(&url, asked);
        assert_eq!(encoding, chosen, "Accept-Encoding: {asked}");
        assert!(body == plain, "{asked}: the decoded body differs ({} vs {} bytes)", body.len(), plain.len());
    }
    server.stop().await.unwrap();
}
