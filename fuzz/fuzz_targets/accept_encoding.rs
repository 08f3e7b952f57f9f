//! `Accept-Encoding`, as the router's compression layer reads it: any
//! header gets a complete answer, in an encoding the client named (or `*`)
//! among gzip, deflate and zstd, that decodes to the body.
#![no_main]
use axum::body::Body;
use axum::http::{Request, Response};
use libfuzzer_sys::fuzz_target;
use std::io::Read;
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
        let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20).await.unwrap();
        let asked = String::from_utf8_lossy(data).to_ascii_lowercase();
        let decoded = match encoding.as_deref() {
            None => body.to_vec(),
            Some(chosen) => {
                assert!(asked.contains(chosen) || asked.contains('*'), "{chosen} was not asked for in {asked:?}");
                let mut decoded = Vec::new();
                match chosen {
                    "gzip" => flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut decoded).map(drop).unwrap(),
                    // HTTP's deflate is the zlib format.
                    "deflate" => flate2::read::ZlibDecoder::new(&body[..]).read_to_end(&mut decoded).map(drop).unwrap(),
                    "zstd" => decoded = zstd::decode_all(&body[..]).unwrap(),
                    other => panic!("unexpected encoding {other:?}"),
                }
                decoded
            }
        };
        assert_eq!(decoded, "metric 1\n".repeat(100).as_bytes());
    });
});
