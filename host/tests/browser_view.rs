//! The pages in a real browser: Debian's Chromium, headless, loads the
//! landing page and the `html` view (asked for by Chromium's own `Accept`
//! at `/metrics`, and by `?format=html`) and the test reads the DOM it
//! built (`--dump-dom`): every family and series is there, hostile label
//! values and help text appear as text (no element, attribute or script
//! came from them), the page's own filter script ran (the CSP allows
//! it), histograms are bar charts. A screenshot of the view is kept in
//! `target/test-artifacts/html-view.png`.
mod common;

use metrics_host::registry::Registry;
use std::path::Path;
use std::process::Command;

const HOSTILE_LABELS: [&str; 3] =
    ["<script>document.title='pwned'</script>", "\"><img src=x onerror=\"document.title='pwned'\">", "a & b < c > d 'e'"];

fn registry() -> Registry {
    let registry = Registry::new();
    let hostile =
        registry.counter_family("hostile_total", "help with <b>markup</b> & <script>document.title='pwned'</script>", &["value"]).unwrap();
    for (n, label) in HOSTILE_LABELS.iter().enumerate() {
        hostile.with_label_values(&[label]).unwrap().inc_by(n as u64 + 1);
    }
    let latency = registry.histogram_family("request_seconds", "request latency", &["service"], &[0.005, 0.1, 1.0, 10.0]).unwrap();
    for v in [0.001, 0.05, 0.05, 0.5, 20.0] {
        latency.with_label_values(&["smtp"]).unwrap().observe(v);
    }
    registry.summary_family("message_bytes", "message size", &[], &[0.5, 0.9]).unwrap().with_label_values(&[]).unwrap().set(
        &[100.0, 900.0],
        1234.0,
        4,
    );
    let wide = registry.gauge_family("queue_size", "messages per queue", &["queue"]).unwrap();
    for q in 0..1500 {
        wide.with_label_values(&[&format!("q{q:04}.example")]).unwrap().set(f64::from(q));
    }
    registry
}

/// Chromium's DOM of `url` after load (its scripts run), or its screenshot.
fn chromium(url: &str, screenshot: Option<&Path>) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = Command::new("chromium");
    command.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--window-size=1200,900"]);
    command.arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(path) => command.arg(format!("--screenshot={}", path.display())),
        None => command.arg("--dump-dom"),
    };
    let output = command.arg(url).output().expect("chromium (`make test-deps` installs Debian's chromium)");
    assert!(output.status.success(), "chromium {url}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

async fn dom(url: String) -> String {
    tokio::task::spawn_blocking(move || chromium(&url, None)).await.unwrap()
}

/// `text` as the DOM serializes text content.
fn as_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_shows_the_landing_page_and_the_html_view_with_hostile_values_as_text() {
    if common::tools::missing(&["chromium"]) {
        return;
    }
    let server = common::start(registry(), "127.0.0.1:0", &["127.0.0.1"]).await;
    let base = format!("http://{}", server.local_addr);

    let landing = dom(format!("{base}/")).await;
    for link in ["href=\"/metrics\"", "href=\"/metrics.json\"", "href=\"/-/plugins\"", "href=\"/metrics?format=html\""] {
        assert!(landing.contains(link), "{link} in {landing}");
    }

    // Chromium's own Accept at /metrics gets the page, as ?format=html does.
    for url in [format!("{base}/metrics"), format!("{base}/metrics?format=html")] {
        let page = dom(url.clone()).await;
        assert!(page.contains("<title>Metrics</title>"), "no script from the data changed the title: {url}");
        assert!(!page.contains("pwned</title>"));
        for label in HOSTILE_LABELS {
            assert!(page.contains(&format!("<td>{}</td>", as_text(label))), "{label} as text in {url}");
        }
        assert!(!page.contains("<img"), "no element from a label value");
        assert!(page.contains("help with &lt;b&gt;markup&lt;/b&gt; &amp; &lt;script&gt;"), "help as text");
        assert_eq!(page.matches("<script>").count(), 1, "only the page's own script");
        // The filter script ran: it shows the filter box.
        assert!(page.contains("<input id=\"filter\" type=\"search\" placeholder=\"Filter families by name\">"), "{page:.2000}");
        // The histogram's chart: one bar per bucket, +Inf included.
        let chart = page.split("<svg").nth(1).expect("a chart").split("</svg>").next().unwrap();
        assert_eq!(chart.matches("<rect").count(), 5, "{chart}");
        assert!(page.contains("0.5: 100, 0.9: 900"), "the summary's quantiles");
        // 1500 series: 1000 rows, and a note with links to the family alone.
        assert_eq!(page.matches(".example</td>").count(), 1000);
        assert!(page.contains("500 more series not shown"), "the cap is said");
        assert!(page.contains("href=\"?format=prometheus&amp;name[]=queue_size\""));
    }

    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("html-view.png");
    let _ = std::fs::remove_file(&shot);
    let url = format!("{base}/metrics?format=html");
    let target = shot.clone();
    tokio::task::spawn_blocking(move || chromium(&url, Some(&target))).await.unwrap();
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "a screenshot of the page");
    server.stop().await.unwrap();
}
