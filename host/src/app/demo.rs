//! Demo data: KumoMTA-like metrics that change over time, so `make run`
//! has something real to show. `--demo-queues N` simulates N queues.
use crate::app::process_memory;
use crate::registry::{Counter, Family, Gauge, Histogram, NativeHistogramOptions, Registry, RegistryError};
use std::time::Duration;

const SERVICES: [&str; 3] = ["esmtp_listener", "smtp_client", "http_listener"];
const TLS_VERSIONS: [&str; 2] = ["TLSv1.2", "TLSv1.3"];
const DOMAINS: [&str; 6] = ["gmail.com", "yahoo.com", "outlook.com", "example.com", "example.net", "kumomta.com"];

/// Handles on every demo metric.
pub struct Demo {
    connection_count: Vec<Gauge>,
    ready_count: Vec<Gauge>,
    delivered: Vec<Counter>,
    failed: Vec<Counter>,
    transfail: Vec<Counter>,
    latency: Vec<Histogram>,
    scheduled: Vec<Gauge>,
    /// A Prometheus 3 name (dotted) with a dotted label name, so `make run`
    /// shows the difference between quoting and escaping.
    tls_handshakes: Vec<Counter>,
    lua_count: Gauge,
    memory_usage: Gauge,
    memory_limit: Gauge,
    /// xorshift state: cheap randomness without a dependency.
    seed: u64,
}

/// Name of simulated queue `i`, in KumoMTA's `campaign:tenant@domain` style.
pub fn queue_name(i: u64) -> String {
    format!("campaign{}:tenant{}@q{i}.{}", i % 7, i % 13, DOMAINS[(i % 6) as usize])
}

impl Demo {
    /// Registers the demo families in `registry`.
    pub fn register(registry: &Registry, queues: u64) -> Result<Demo, RegistryError> {
        let per_service = |family: &Family<Gauge>| -> Result<Vec<Gauge>, RegistryError> {
            SERVICES.iter().map(|s| family.with_label_values(&[s])).collect()
        };
        let connection_count = per_service(&registry.gauge_family("connection_count", "number of active connections", &["service"])?)?;
        let ready_count = per_service(&registry.gauge_family("ready_count", "number of messages in the ready queue", &["service"])?)?;
        let counters = |name: &str, help: &str| -> Result<Vec<Counter>, RegistryError> {
            let family = registry.counter_family(name, help, &["service"])?;
            SERVICES.iter().map(|s| family.with_label_values(&[s])).collect()
        };
        let delivered = counters("total_messages_delivered", "total number of messages delivered")?;
        let failed = counters("total_messages_fail", "total number of message delivery attempts that permanently failed")?;
        let transfail = counters("total_messages_transfail", "total number of message delivery attempts that transiently failed")?;
        // Native too: a Prometheus scraping protobuf sees exponential buckets,
        // text scrapes the classic ones.
        let latency_family = registry.native_histogram_family(
            "deliver_message_latency",
            "how long it takes to send a message, in seconds",
            &["service"],
            &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
            NativeHistogramOptions::default(),
        )?;
        let latency = SERVICES.iter().map(|s| latency_family.with_label_values(&[s])).collect::<Result<_, _>>()?;
        let scheduled_family = registry.gauge_family("scheduled_count", "number of messages in the scheduled queue", &["queue"])?;
        let scheduled = (0..queues).map(|i| scheduled_family.with_label_values(&[&queue_name(i)])).collect::<Result<_, _>>()?;
        let tls_family =
            registry.counter_family("tls.handshakes_total", "TLS handshakes completed, by protocol version", &["tls.version"])?;
        let tls_handshakes = TLS_VERSIONS.iter().map(|v| tls_family.with_label_values(&[v])).collect::<Result<_, _>>()?;
        Ok(Demo {
            connection_count,
            ready_count,
            delivered,
            failed,
            transfail,
            latency,
            scheduled,
            tls_handshakes,
            lua_count: registry.gauge("lua_count", "the number of lua contexts currently alive")?,
            memory_usage: registry.gauge("memory_usage", "number of bytes of used memory (resident set size)")?,
            memory_limit: registry.gauge("memory_limit", "soft memory limit measured in bytes")?,
            seed: 0x9E37_79B9_7F4A_7C15,
        })
    }

    fn random(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// Advances the simulation by one step.
    pub fn step(&mut self) {
        for i in 0..SERVICES.len() {
            let r = self.random();
            self.connection_count[i].set((r % 50) as f64);
            self.ready_count[i].set((r >> 8) as f64 % 500.0);
            self.delivered[i].inc_by(r % 100);
            self.failed[i].inc_by((r >> 16) % 3);
            self.transfail[i].inc_by((r >> 24) % 5);
            for _ in 0..(r % 20) {
                let latency = (self.random() % 10_000) as f64 / 1000.0;
                self.latency[i].observe(latency * latency / 10.0);
            }
        }
        // Touch a bounded sample of queues per step, so a million queues stay cheap.
        let queues = self.scheduled.len();
        for _ in 0..queues.min(1000) {
            let r = self.random();
            self.scheduled[(r % queues as u64) as usize].set(((r >> 20) % 1000) as f64);
        }
        for (i, handshakes) in self.tls_handshakes.iter().enumerate() {
            handshakes.inc_by((self.seed >> (8 * i)) % 30);
        }
        let lua = (self.random() % 8) as f64;
        self.lua_count.set(lua);
        if let Some(rss) = process_memory::resident_bytes() {
            self.memory_usage.set(rss as f64);
        }
        if let Some(limit) = process_memory::limit_bytes() {
            self.memory_limit.set(limit as f64);
        }
    }

    /// Steps once now and then every `period`, forever.
    pub async fn run(mut self, period: Duration) {
        let mut ticker = tokio::time::interval(period);
        loop {
            ticker.tick().await;
            self.step();
        }
    }
}
