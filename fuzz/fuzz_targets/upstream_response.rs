//! The upstream HTTP response reader (hyper's client with our deadline and
//! body cap): any bytes from the upstream end in a body within the cap or
//! an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use metrics_host::upstream::http_fetch::{exchange, UpstreamUrl};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MAX_BODY: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let response = data.to_vec();
    runtime.block_on(async move {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let upstream = tokio::spawn(async move {
            let mut request = [0u8; 1024];
            let _ = server.read(&mut request).await;
            let _ = server.write_all(&response).await;
            let _ = server.shutdown().await;
        });
        let url = UpstreamUrl::parse("http://127.0.0.1:9/metrics").unwrap();
        let fetched = tokio::time::timeout(std::time::Duration::from_secs(5), exchange(client, &url, "text/plain", MAX_BODY)).await;
        if let Ok(Ok(fetched)) = fetched {
            assert!(fetched.body.len() <= MAX_BODY);
        }
        upstream.abort();
    });
});
