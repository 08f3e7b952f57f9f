//! A small simulated mail server that embeds the metrics endpoint: it
//! records through the `metrics` facade (`counter!`, `gauge!`,
//! `histogram!`) and through the registry's own API, and serves both.
//!
//! ```sh
//! cargo run --release --example embedded -- --listen 127.0.0.1:9100
//! curl -s 127.0.0.1:9100/metrics
//! ```
//! Stops on Ctrl-C or SIGTERM.
use metrics_host::exporter::Exporter;
use metrics_host::facade::{BucketRules, MetricMatcher};
use std::time::Duration;

const DOMAINS: [&str; 3] = ["gmail.com", "outlook.com", "example.com"];

fn listen_address() -> anyhow::Result<std::net::SocketAddr> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:9100".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or_else(|| anyhow::anyhow!("--listen needs an address"))?,
            other => anyhow::bail!("unknown argument {other:?}; usage: embedded [--listen ADDR]"),
        }
    }
    Ok(listen.parse()?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let buckets = BucketRules::default().with_rule(MetricMatcher::Prefix("smtp_".into()), &[0.01, 0.05, 0.1, 0.5, 1.0]);
    let exporter = Exporter::new().listen(listen_address()?).install_recorder(buckets).start().await?;

    // The registry's own API: handles kept, updates without a lookup.
    let connections = exporter.registry().gauge_family("smtp_connections", "open SMTP connections", &["listener"])?;
    let inbound = connections.with_label_values(&["inbound"])?;
    metrics::describe_counter!("messages_delivered_total", "messages delivered, by destination domain");
    metrics::describe_histogram!("smtp_delivery_seconds", "time to deliver one message");
    metrics::describe_gauge!("queue.depth", "messages waiting, by destination domain");

    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // The first tick is immediate: every family exists before the address is announced.
    tick.tick().await;
    simulate(&mut seed, &inbound);
    println!("serving http://{}/metrics", exporter.local_addr());
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => simulate(&mut seed, &inbound),
            _ = &mut stop => break,
        }
    }
    Ok(exporter.shutdown().await?)
}

/// One step of the simulated mail server.
fn simulate(seed: &mut u64, inbound: &metrics_host::registry::Gauge) {
    for domain in DOMAINS {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        metrics::counter!("messages_delivered_total", "domain" => domain).increment(*seed % 5);
        metrics::gauge!("queue.depth", "domain" => domain).set((*seed >> 8) as f64 % 100.0);
        metrics::histogram!("smtp_delivery_seconds", "domain" => domain).record((*seed % 1000) as f64 / 1000.0);
    }
    inbound.set((*seed % 40) as f64);
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
