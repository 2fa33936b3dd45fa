//! Arbitrary requests to the simulated cluster's API server (`kiln sim serve`'s tower
//! service): no panic, no hang, and every answer is an HTTP status the server may give.
//!
//! The input is split on lines `%%%` into: the method, the path with its query, the
//! Content-Type and the body. Several requests run against one cluster in turn, so that
//! writes are followed by reads, patches and watches of what they wrote.
#![no_main]

use kiln::cluster::serve::{ApiServer, Clock};
use kiln::cluster::sim::{SimCluster, SimConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let server = ApiServer::new(SimCluster::new(SimConfig::default()), Clock::Virtual);
    for request in text.split("\n&&&\n").take(8) {
        let mut parts = request.splitn(4, "\n%%%\n");
        let method = parts.next().unwrap_or("GET").trim();
        let path = parts.next().unwrap_or("/").trim();
        let content_type = parts.next().unwrap_or("application/json").trim();
        let body = parts.next().unwrap_or("").as_bytes().to_vec();
        let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
            continue;
        };
        // A watch would wait for changes: bound it.
        let path = if path.contains("watch") {
            format!("{path}&timeoutSeconds=0")
        } else {
            path.to_string()
        };
        let Ok(req) = http::Request::builder()
            .method(method)
            .uri(path)
            .header("Content-Type", content_type)
            .body(bytes::Bytes::from(body))
        else {
            continue;
        };
        let resp = runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), server.handle(req)).await
        });
        let resp = resp.expect("every request is answered");
        assert!((200..600).contains(&resp.status().as_u16()));
    }
});
