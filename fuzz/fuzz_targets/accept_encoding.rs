//! `Accept-Encoding`, as the router's compression layer reads it: any
//! header gets a complete answer whose encoding the client accepted.
#![no_main]
use axum::body::Body;
use axum::http::{Request, Response};
use libfuzzer_sys::fuzz_target;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::compression::{CompressionLayer, CompressionLevel};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = axum::http::HeaderValue::from_bytes(data) else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let service = ServiceBuilder::new().layer(CompressionLayer::new().quality(CompressionLevel::Fastest)).service_fn(|_req: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(
                Response::builder().header("content-type", "text/plain").body(Body::from("metric 1\n".repeat(100))).unwrap(),
            )
        });
        let request = Request::get("/metrics").header("accept-encoding", value).body(Body::empty()).unwrap();
        let response = service.oneshot(request).await.unwrap();
        let encoding = response.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_string());
        assert!(encoding.is_none() || encoding.as_deref() == Some("gzip"), "{encoding:?}");
        let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20).await.unwrap();
        assert!(!body.is_empty());
    });
});
