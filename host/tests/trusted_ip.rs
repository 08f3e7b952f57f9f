//! Trusted-IP enforcement: a matrix of peers and headers through the router
//! (peer addresses faked with MockConnectInfo, as only loopback is reachable
//! here), and the real server on loopback sockets.
mod common;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode};
use common::{get, renderers, start};
use metrics_host::http::trusted_hosts::TrustedHosts;
use metrics_host::http::{app, AppState};
use metrics_host::plugin::RenderLimits;
use metrics_host::registry::Registry;
use metrics_host::render_service::RenderService;
use metrics_host::self_metrics::HostMetrics;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

/// Headers that try to claim a trusted identity; none may grant access.
const SPOOFING_HEADERS: [(&str, &str); 7] = [
    ("Authorization", "Basic YWRtaW46YWRtaW4="),
    ("Authorization", "Bearer secret-token"),
    ("X-Forwarded-For", "127.0.0.1"),
    ("X-Forwarded-For", "::1, 127.0.0.1"),
    ("Forwarded", "for=127.0.0.1;proto=http"),
    ("Forwarded", "for=\"[::1]\""),
    ("X-Real-IP", "127.0.0.1"),
];

fn registry() -> Registry {
    let registry = Registry::new();
    registry.gauge("canary_value", "proves the body was served").unwrap().set(1.0);
    registry
}

async fn status_for(trusted: &TrustedHosts, peer: &str, path: &str, header: Option<(&str, &str)>) -> (StatusCode, String) {
    let registry = registry();
    let metrics = Arc::new(HostMetrics::register(&registry, &Default::default()).unwrap());
    let renders = RenderService::new(registry, renderers().await, RenderLimits::default(), 8, Some(Arc::clone(&metrics)));
    let state = AppState::new(Arc::new(renders), metrics, trusted.clone(), std::time::Duration::from_secs(5));
    let peer: SocketAddr = peer.parse().unwrap();
    let mut request = Request::get(path);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = app(state).layer(MockConnectInfo(peer)).oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn check_matrix(trusted: &TrustedHosts, cases: &[(&str, bool)]) {
    for &(peer, allowed) in cases {
        for path in ["/metrics", "/metrics.json", "/metrics?prefix=x_"] {
            let headers = std::iter::once(None).chain(SPOOFING_HEADERS.iter().copied().map(Some));
            for header in headers {
                let (status, body) = status_for(trusted, peer, path, header).await;
                if allowed {
                    assert_eq!(status, StatusCode::OK, "{peer} {path} {header:?} should be served: {body}");
                    assert!(body.contains("canary_value"));
                } else {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{peer} {path} {header:?} must be refused");
                    assert!(body.contains("not a trusted host"), "plain reason: {body}");
                    assert!(!body.contains("canary_value"), "no metrics leak to {peer}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn default_list_trusts_only_loopback_addresses() {
    let trusted = TrustedHosts::default();
    check_matrix(
        &trusted,
        &[
            ("127.0.0.1:5000", true),
            ("[::1]:5000", true),
            ("[::ffff:127.0.0.1]:5000", true),
            ("127.0.0.2:5000", false),
            ("10.0.0.1:5000", false),
            ("192.168.1.10:5000", false),
            ("[::2]:5000", false),
            ("[::ffff:10.0.0.1]:5000", false),
            ("[2001:db8::1]:5000", false),
            ("[fe80::1%2]:5000", false),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cidr_edges_v4_and_v6() {
    let trusted = TrustedHosts::parse(["10.20.0.0/16", "fd00:abcd::/32", "192.0.2.7"]).unwrap();
    check_matrix(
        &trusted,
        &[
            ("10.20.0.0:1", true),
            ("10.20.255.255:1", true),
            ("10.19.255.255:1", false),
            ("10.21.0.0:1", false),
            ("[::ffff:10.20.1.1]:1", true),
            ("[::ffff:10.21.1.1]:1", false),
            ("[fd00:abcd::]:1", true),
            ("[fd00:abcd:ffff:ffff:ffff:ffff:ffff:ffff]:1", true),
            ("[fd00:abce::]:1", false),
            ("[fd00:abcc:ffff:ffff:ffff:ffff:ffff:ffff]:1", false),
            ("[fd00:abcd::1%3]:1", true),
            ("192.0.2.7:1", true),
            ("192.0.2.8:1", false),
            ("127.0.0.1:1", false),
            ("[::1]:1", false),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn real_sockets_are_judged_by_peer_address_only() {
    // Listening on IPv4 loopback but trusting only ::1: a v4 client is refused,
    // whatever headers it sends.
    let server = start(registry(), "127.0.0.1:0", &["::1"]).await;
    for header in std::iter::once(None).chain(SPOOFING_HEADERS.iter().copied().map(Some)) {
        let headers: Vec<(&str, &str)> = header.into_iter().collect();
        let r = get(server.local_addr, "/metrics", &headers).await;
        assert_eq!(r.status, 401, "{header:?}");
        assert!(r.text().contains("127.0.0.1 is not a trusted host"));
    }
    server.stop().await.unwrap();

    let server = start(registry(), "[::1]:0", &["127.0.0.1"]).await;
    assert_eq!(get(server.local_addr, "/metrics", &[("X-Forwarded-For", "127.0.0.1")]).await.status, 401);
    server.stop().await.unwrap();

    let server = start(registry(), "[::1]:0", &["::1/128"]).await;
    let r = get(server.local_addr, "/metrics.json", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("canary_value"));
    server.stop().await.unwrap();
}
