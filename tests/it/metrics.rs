//! The Prometheus endpoint: `GET /metrics` answers with the text format and the engine's numbers;
//! every error a request ends in, gRPC or HTTP, is counted once under its code.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use registratur::auth::{Principal, Role};
use registratur::grpc::pb;
use registratur::search::{SearchRequest, SearchSettings};
use registratur::service::{Engine, EngineSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

use crate::support::{ADMIN, MAILROOM, TestServer};

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

/// Set for the child process that runs [`handler_errors_child`].
const HANDLER_ERRORS_CHILD_VAR: &str = "REGISTRATUR_HANDLER_ERRORS_CHILD";
/// What the child prints when every check passed, so that a child that ran no test cannot pass.
const HANDLER_ERRORS_CHECKED: &str = "handler errors checked";

/// Each kind of error a handler answers with (a request that does not decode, an unknown Akte, a
/// role that may not, a wrong token) and an HTTP error raise the error counter of exactly their own
/// code by exactly one. The counters are process-wide, and `cargo test` runs the tests of this binary
/// as threads of one process, so the checks run in a child process that runs nothing else.
#[test]
fn every_handler_error_counts_once_under_its_code() {
    let output = Command::new(std::env::current_exe().expect("locating the test binary"))
        .args([
            "--exact",
            "metrics::handler_errors_child",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HANDLER_ERRORS_CHILD_VAR, "1")
        .stdin(Stdio::null())
        .output()
        .expect("starting the child test process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(HANDLER_ERRORS_CHECKED), "the child ran no checks:\n{stdout}\n{stderr}");
}

/// Every error counter by its code label.
fn error_counts() -> BTreeMap<String, u64> {
    let text = registratur::metrics::global().render(&Default::default());
    text.lines()
        .filter_map(|line| line.strip_prefix("registratur_rpc_errors_total{code=\""))
        .map(|rest| {
            let (code, count) = rest.split_once("\"} ").unwrap();
            (code.to_string(), count.parse().unwrap())
        })
        .collect()
}

/// Asserts that since `before` exactly the counter of `code` went up, by one.
fn assert_counted_once(before: &BTreeMap<String, u64>, code: &str, what: &str) {
    let after = error_counts();
    let mut expected = before.clone();
    *expected.get_mut(code).unwrap_or_else(|| panic!("no counter for {code}")) += 1;
    assert_eq!(after, expected, "{what} must count once as {code}");
}

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The checks of [`every_handler_error_counts_once_under_its_code`], in a process of their own.
#[tokio::test]
#[ignore = "run in a child process by every_handler_error_counts_once_under_its_code"]
async fn handler_errors_child() {
    if std::env::var_os(HANDLER_ERRORS_CHILD_VAR).is_none() {
        return;
    }
    let server = TestServer::start().await;
    let mut records = pb::records_service_client::RecordsServiceClient::new(server.channel().await);

    // A request the handler cannot decode: GetAkte without the Akte.
    let before = error_counts();
    let status = records.get_akte(with_token(pb::GetAkteRequest { akte: None }, ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    assert!(status.message().contains("missing akte"), "{}", status.message());
    assert_counted_once(&before, "invalid_argument", "a request without its Akte");

    // A client stream whose first message lacks its header.
    let before = error_counts();
    let first = pb::AddDocumentRequest { chunk: b"x".to_vec(), last: true, ..Default::default() };
    let status = records.add_document(with_token(tokio_stream::iter([first]), ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    assert!(status.message().contains("DocumentHeader"), "{}", status.message());
    assert_counted_once(&before, "invalid_argument", "an upload without its header");

    // An Akte that does not exist.
    let before = error_counts();
    let unknown = pb::AkteRef { by: Some(pb::akte_ref::By::Id(987_654)) };
    let status =
        records.get_akte(with_token(pb::GetAkteRequest { akte: Some(unknown) }, ADMIN)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{}", status.message());
    assert!(status.message().contains("987654"), "{}", status.message());
    assert_counted_once(&before, "not_found", "an unknown Akte");

    // A role that may not: the mailroom creates no Akten.
    let before = error_counts();
    let create =
        pb::CreateAkteRequest { aktenplan_key: "32".into(), title: "Bauantrag".into(), ..Default::default() };
    let status = records.create_akte(with_token(create, MAILROOM)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{}", status.message());
    assert_counted_once(&before, "permission_denied", "a call the role may not make");

    // A token the server does not know.
    let before = error_counts();
    let status =
        records.get_akte(with_token(pb::GetAkteRequest { akte: None }, "not-a-token")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{}", status.message());
    assert_counted_once(&before, "unauthenticated", "a wrong token");
    server.stop().await;

    // An HTTP error: a path the metrics endpoint does not serve.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("data"), EngineSettings::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(registratur::http::serve_metrics(engine, listener, async {
        let _ = stopped.await;
    }));
    let before = error_counts();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /akten HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    assert!(response.contains("content-type: application/json"), "{response}");
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["code"], "not_found", "{response}");
    assert!(body["message"].as_str().unwrap().contains("/akten"), "{response}");
    assert_counted_once(&before, "not_found", "an HTTP request for an unknown path");
    let _ = stop.send(());
    http.await.unwrap().unwrap();

    println!("{HANDLER_ERRORS_CHECKED}");
}
