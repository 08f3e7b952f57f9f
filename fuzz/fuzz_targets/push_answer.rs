//! A push receiver's answer (hyper's HTTP/1.1 client with our head and
//! reason caps): any bytes from the receiver end in an answer whose reason
//! and `Retry-After` are within their caps, or an error; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::push::http_post::{post_over, Outgoing, MAX_ANSWER_BYTES, MAX_RETRY_AFTER};
use metrics_host::upstream::http_fetch::UpstreamUrl;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let response = data.to_vec();
    runtime.block_on(async move {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let receiver = tokio::spawn(async move {
            let mut request = vec![0u8; 4096];
            let _ = server.read(&mut request).await;
            let _ = server.write_all(&response).await;
            let _ = server.shutdown().await;
        });
        let url = UpstreamUrl::parse("http://127.0.0.1:9/api/v1/write").unwrap();
        let headers = [("content-type".to_string(), "application/x-protobuf".to_string())];
        let outgoing = Outgoing { method: hyper::Method::POST, headers: &headers, body: bytes::Bytes::from_static(b"request") };
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), post_over(client, &url, outgoing)).await;
        if let Ok(Ok(answer)) = answer {
            assert!(answer.reason.len() <= MAX_ANSWER_BYTES);
            assert!(answer.retry_after.is_none_or(|wait| wait <= MAX_RETRY_AFTER));
        }
        receiver.abort();
    });
});
