//! Push to `https://` receivers: a TLS receiver written for the test
//! (rustls, certificates made by rcgen) gets every push when its
//! certificate chains to `tls_ca_file`, and nothing (with the reason in
//! `/-/push`) when the certificate is untrusted or for another name, when
//! it requires a client certificate the host does not present, or when
//! the host speaks plain HTTP to it; with `tls_cert_file`/`tls_key_file`
//! the client certificate is presented and accepted.
mod common;

use common::test_certificates::{Issued, TestCa};
use common::{get, renderers};
use metrics_host::config::ServeConfig;
use metrics_host::push::PushArgs;
use metrics_host::registry::Registry;
use metrics_host::server;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Request bodies received over TLS.
type Bodies = Arc<Mutex<Vec<Vec<u8>>>>;

/// A TLS listener for axum: handshakes in `accept` (a failed handshake
/// is skipped), so the handler sees only TLS requests.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else { continue };
            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(5), self.acceptor.accept(stream)).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A receiver serving `server` over TLS, asking for a client certificate
/// signed by `client_ca` when given; keeps every body, answers 204.
async fn tls_receiver(server: &Issued, client_ca: Option<&TestCa>) -> (std::net::SocketAddr, Bodies) {
    let certificates = vec![CertificateDer::from_pem_slice(server.cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider)).with_safe_default_protocol_versions().unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap()).unwrap();
            builder.with_client_cert_verifier(
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap(),
            )
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(certificates, key).unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let bodies: Bodies = Arc::default();
    let record = Arc::clone(&bodies);
    let app = axum::Router::new().route(
        "/api/v1/write",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            record.lock().unwrap().push(body.to_vec());
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    let listener = TlsListener { tcp, acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) };
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, bodies)
}

fn push_table(url: &str, extra: &str) -> PushArgs {
    toml::from_str(&format!("url = \"{url}\"\ninterval_ms = 200\ntimeout_ms = 2000\n{extra}")).unwrap()
}

async fn start(table: PushArgs) -> server::RunningServer {
    let registry = Registry::new();
    registry.gauge("tls_pushed", "a gauge").unwrap().set(4.5);
    let config =
        ServeConfig { listen: "127.0.0.1:0".parse().unwrap(), push: vec![table.check(0, |_| None).unwrap()], ..ServeConfig::default() };
    server::start(&config, registry, renderers().await).await.unwrap()
}

/// Polls `/-/push` until `done` holds (at most 20 s).
async fn wait_for_status(addr: std::net::SocketAddr, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let status = serde_json::from_slice::<Value>(&get(addr, "/-/push", &[]).await.body).unwrap()[0].clone();
        if done(&status) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never reached: {status:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_receiver_whose_certificate_chains_to_the_ca_file_gets_every_push() {
    let ca = TestCa::new("push test CA");
    let (addr, bodies) = tls_receiver(&ca.issue("receiver", &["127.0.0.1", "localhost"]), None).await;
    let ca_file = format!("tls_ca_file = \"{}\"\n", path(&ca.ca_file));
    let server = start(push_table(&format!("https://localhost:{}/api/v1/write", addr.port()), &ca_file)).await;
    let status = wait_for_status(server.local_addr, |s| s["requests_sent"].as_u64() >= Some(2)).await;
    assert!(status["url"].as_str().unwrap().starts_with("https://localhost:"), "{status:#}");
    server.stop().await.unwrap();
    let bodies = bodies.lock().unwrap().clone();
    assert!(bodies.len() >= 2);
    let request = snap::raw::Decoder::new().decompress_vec(&bodies[0]).unwrap();
    assert!(request.windows(10).any(|w| w == b"tls_pushed"), "the remote write request names the gauge");
}

#[tokio::test(flavor = "multi_thread")]
async fn untrusted_or_misnamed_certificates_and_plain_http_deliver_nothing() {
    let ca = TestCa::new("push test CA");
    let ca_file = format!("tls_ca_file = \"{}\"\n", path(&ca.ca_file));
    // Signed by a CA the host was not given (the system roots are used).
    let (addr, bodies) = tls_receiver(&ca.issue("receiver", &["127.0.0.1"]), None).await;
    let server = start(push_table(&format!("https://{addr}/api/v1/write"), "")).await;
    let status = wait_for_status(server.local_addr, |s| s["retries"].as_u64() >= Some(1)).await;
    let error = status["last_error"].as_str().unwrap();
    assert!(error.starts_with("TLS with") && error.contains("certificate"), "{error}");
    server.stop().await.unwrap();
    // Trusted, but for another name.
    let (other, other_bodies) = tls_receiver(&ca.issue("other", &["other.example"]), None).await;
    let server = start(push_table(&format!("https://{other}/api/v1/write"), &ca_file)).await;
    let status = wait_for_status(server.local_addr, |s| s["retries"].as_u64() >= Some(1)).await;
    assert!(status["last_error"].as_str().unwrap().contains("certificate"), "{status:#}");
    server.stop().await.unwrap();
    // Plain HTTP to the TLS port.
    let server = start(push_table(&format!("http://{addr}/api/v1/write"), "")).await;
    let status = wait_for_status(server.local_addr, |s| s["retries"].as_u64() >= Some(1)).await;
    assert_eq!(status["requests_sent"], 0, "{status:#}");
    server.stop().await.unwrap();
    assert!(bodies.lock().unwrap().is_empty() && other_bodies.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_asking_for_a_client_certificate_gets_pushes_only_with_one() {
    let ca = TestCa::new("push test CA");
    let (addr, bodies) = tls_receiver(&ca.issue("receiver", &["127.0.0.1"]), Some(&ca)).await;
    let url = format!("https://{addr}/api/v1/write");
    let ca_file = format!("tls_ca_file = \"{}\"\n", path(&ca.ca_file));
    let server = start(push_table(&url, &ca_file)).await;
    let status = wait_for_status(server.local_addr, |s| s["retries"].as_u64() >= Some(1)).await;
    assert_eq!(status["requests_sent"], 0, "{status:#}");
    server.stop().await.unwrap();
    assert!(bodies.lock().unwrap().is_empty(), "no client certificate, nothing delivered");
    let client = ca.issue("client", &["metrics-host.example"]);
    let with_client = format!("{ca_file}tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n", path(&client.cert_file), path(&client.key_file));
    let server = start(push_table(&url, &with_client)).await;
    wait_for_status(server.local_addr, |s| s["requests_sent"].as_u64() >= Some(1)).await;
    server.stop().await.unwrap();
    assert!(!bodies.lock().unwrap().is_empty());
}
