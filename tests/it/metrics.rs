//! The Prometheus endpoint: `GET /metrics` answers with the text format and the engine's numbers.

use std::time::Duration;

use registratur::auth::{Principal, Role};
use registratur::search::{SearchRequest, SearchSettings};
use registratur::service::{Engine, EngineSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn metrics_are_served_in_the_prometheus_text_format() {
    let dir = tempfile::tempdir().unwrap();
    let search = SearchSettings { commit_interval: Duration::from_millis(20), ..SearchSettings::default() };
    let settings = EngineSettings { search, ..EngineSettings::default() };
    let engine = Engine::open(dir.path().join("data"), settings).unwrap();
    let admin = Principal { name: "admin".into(), role: Role::Admin, scopes: Vec::new() };
    // A search, once the (empty) index is built, counts.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while engine.search(&admin, SearchRequest::default()).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the search index was not built");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(registratur::http::serve_metrics(engine, listener, async {
        let _ = stopped.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("content-type: text/plain; version=0.0.4"), "{response}");
    assert!(response.contains("# TYPE registratur_ingest_pages_total counter"), "{response}");
    assert!(response.contains("registratur_ingest_queue_depth 0\n"), "{response}");
    assert!(response.contains("registratur_search_index_lag_entries 0\n"), "{response}");
    let searches: u64 = response
        .lines()
        .find_map(|line| line.strip_prefix("registratur_search_requests_total "))
        .and_then(|value| value.parse().ok())
        .unwrap();
    assert!(searches >= 1, "{response}");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
