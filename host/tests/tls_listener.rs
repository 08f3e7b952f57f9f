//! The TLS listener, with real clients (curl, Python's `ssl` and urllib)
//! against certificates made by the test (rcgen): a trusted client gets
//! `/metrics` over TLS; a client that does not trust the certificate, and
//! plain HTTP to the TLS port, get nothing (and the server goes on); with
//! `tls_client_ca_file` only a client certificate from that CA gets in;
//! the trusted-host check still applies (a client certificate is never a
//! substitute for it); SIGHUP swaps the certificate without dropping the
//! listener, and a bad file on reload keeps the previous one serving.
mod common;

use common::served_process::Server;
use common::test_certificates::TestCa;
use metrics_host::config::ServeConfig;
use metrics_host::http::tls_listener::TlsSettings;
use metrics_host::http::trusted_hosts::TrustedHosts;
use metrics_host::registry::Registry;
use metrics_host::server;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// curl's exit code and output for `url` with `args`.
fn curl(url: &str, args: &[&str]) -> (i32, String) {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "10", "--noproxy", "*"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl (`make test-deps` installs it)");
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

async fn start(tls: TlsSettings, trusted: &[&str]) -> server::RunningServer {
    let registry = Registry::new();
    registry.gauge("tls_served", "a gauge").unwrap().set(2.5);
    let config = ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        trusted_hosts: TrustedHosts::parse(trusted).unwrap(),
        tls: Some(tls),
        ..ServeConfig::default()
    };
    server::start(&config, registry, common::renderers().await).await.unwrap()
}

/// Runs blocking `f` (a client process) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_and_python_read_metrics_over_tls_and_untrusting_or_plain_clients_get_nothing() {
    if common::tools::missing(&["curl"]) {
        return;
    }
    let ca = TestCa::new("listener CA");
    let served = ca.issue("server", &["localhost", "127.0.0.1"]);
    let tls = TlsSettings { cert_file: served.cert_file.clone(), key_file: served.key_file.clone(), client_ca_file: None };
    let server = start(tls, &["127.0.0.1", "::1"]).await;
    let url = format!("https://localhost:{}/metrics", server.local_addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", server.local_addr.port());
    let ca_file = ca.ca_file.clone();
    let (code, text) = {
        let (url, resolve, ca_file) = (url.clone(), resolve.clone(), ca_file.clone());
        blocking(move || curl(&url, &["--resolve", &resolve, "--cacert", path(&ca_file)])).await
    };
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("tls_served 2.5\n"), "{text}");
    // Python's ssl module and urllib, checking the certificate.
    let script = "import ssl, sys, urllib.request\n\
                  ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
                  print(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=10).read().decode())";
    let python_url = format!("https://127.0.0.1:{}/metrics", server.local_addr.port());
    let (code, out, err) = {
        let ca_file = ca_file.clone();
        blocking(move || {
            common::validators::run_with_stdin(&common::validators::python(), &["-c", script, &python_url, path(&ca_file)], b"")
        })
        .await
    };
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tls_served 2.5\n"), "{out}");
    // A client that does not trust the certificate: curl's 60.
    let other = TestCa::new("another CA");
    let (code, text) = {
        let (url, resolve, other_ca) = (url.clone(), resolve.clone(), other.ca_file.clone());
        blocking(move || curl(&url, &["--resolve", &resolve, "--cacert", path(&other_ca)])).await
    };
    assert_eq!(code, 60, "{text}");
    // Plain HTTP to the TLS port gets no answer, and the server goes on.
    let plain = format!("http://127.0.0.1:{}/metrics", server.local_addr.port());
    let (code, text) = blocking(move || curl(&plain, &[])).await;
    assert_ne!(code, 0, "{text}");
    assert!(!text.contains("tls_served"), "{text}");
    let (code, text) = blocking(move || curl(&url, &["--resolve", &resolve, "--cacert", path(&ca_file)])).await;
    assert_eq!(code, 0, "{text}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_certificate_is_required_in_addition_to_the_trusted_host_check() {
    if common::tools::missing(&["curl"]) {
        return;
    }
    let ca = TestCa::new("listener CA");
    let served = ca.issue("server", &["127.0.0.1"]);
    let client = ca.issue("client", &["scraper.example"]);
    let stranger = TestCa::new("stranger CA").issue("client", &["scraper.example"]);
    let tls =
        TlsSettings { cert_file: served.cert_file.clone(), key_file: served.key_file.clone(), client_ca_file: Some(ca.ca_file.clone()) };
    let server = start(tls.clone(), &["127.0.0.1"]).await;
    let url = format!("https://127.0.0.1:{}/metrics", server.local_addr.port());
    let ca_arg = ["--cacert", path(&ca.ca_file)].map(str::to_string);
    let run = |extra: Vec<String>| {
        let (url, mut args) = (url.clone(), ca_arg.to_vec());
        args.extend(extra);
        blocking(move || curl(&url, &args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let (code, text) = run(Vec::new()).await;
    assert_ne!(code, 0, "no client certificate: {text}");
    let (code, text) = run(vec!["--cert".into(), path(&stranger.cert_file).into(), "--key".into(), path(&stranger.key_file).into()]).await;
    assert_ne!(code, 0, "a certificate from another CA: {text}");
    let with_client = vec!["--cert".into(), path(&client.cert_file).into(), "--key".into(), path(&client.key_file).into()];
    let (code, text) = run(with_client.clone()).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("tls_served 2.5\n"), "{text}");
    server.stop().await.unwrap();
    // A peer outside the trusted hosts gets nothing, certificate or not,
    // HTTP authentication or not.
    let server = start(tls, &["10.0.0.0/8"]).await;
    let url = format!("https://127.0.0.1:{}/metrics", server.local_addr.port());
    let mut args = ca_arg.to_vec();
    args.extend(with_client);
    args.extend(["--user".to_string(), "admin:secret".to_string()]);
    let (code, text) = blocking(move || curl(&url, &args.iter().map(String::as_str).collect::<Vec<_>>())).await;
    assert_ne!(code, 0, "{text}");
    assert!(!text.contains("tls_served"), "{text}");
    server.stop().await.unwrap();
}

#[test]
fn sighup_swaps_the_certificate_without_dropping_the_listener_and_a_bad_file_keeps_the_old_one() {
    if common::tools::missing(&["curl"]) {
        return;
    }
    let first = TestCa::new("first CA");
    let second = TestCa::new("second CA");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let install = |ca: &TestCa| {
        let issued = ca.issue("server", &["127.0.0.1"]);
        std::fs::copy(&issued.cert_file, &cert).unwrap();
        std::fs::copy(&issued.key_file, &key).unwrap();
    };
    install(&first);
    let config = dir.path().join("serve.toml");
    std::fs::write(&config, format!("tls_cert_file = \"{}\"\ntls_key_file = \"{}\"\n", path(&cert), path(&key))).unwrap();
    let server = Server::start(&["--demo", "--config", path(&config)]);
    let url = format!("https://{}/metrics", server.addr);
    let trusting = |ca: &TestCa| curl(&url, &["--cacert", path(&ca.ca_file), "-o", "/dev/null", "-w", "%{http_code}"]);
    assert_eq!(trusting(&first), (0, "200".to_string()));
    install(&second);
    server.signal("HUP");
    server.wait_for_log("TLS certificate reloaded");
    assert_eq!(trusting(&second), (0, "200".to_string()), "the same listener, the new certificate");
    assert_eq!(trusting(&first).0, 60, "the old certificate is gone");
    // A bad key on reload: the reload fails, the current certificate serves.
    std::fs::write(&key, "not a key\n").unwrap();
    server.signal("HUP");
    let line = server.wait_for_log("TLS certificate not reloaded");
    assert!(line.contains("server.key"), "{line}");
    let started = Instant::now();
    assert_eq!(trusting(&second), (0, "200".to_string()));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn tls_files_are_checked_at_start_up_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("serve.toml");
    for (text, expected) in [
        ("tls_cert_file = \"/nonexistent/server.pem\"\ntls_key_file = \"/nonexistent/server.key\"\n", "tls_cert_file"),
        ("tls_cert_file = \"/nonexistent/server.pem\"\n", "tls_key_file"),
        ("tls_client_ca_file = \"/nonexistent/ca.pem\"\n", "tls_client_ca_file"),
    ] {
        std::fs::write(&config, text).unwrap();
        let output = Command::new(common::served_process::BINARY).args(["serve", "--config", path(&config)]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{text}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
    }
}
