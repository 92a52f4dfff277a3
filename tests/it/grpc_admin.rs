//! End-to-end tests of `AdminService` over real gRPC on loopback: every RPC and its error paths.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use registratur::grpc::client::ClientError;
use registratur::grpc::pb;
use registratur::grpc::pb::admin_service_client::AdminServiceClient;
use registratur::service::EngineLimits;
use registratur_storage::BlobDigest;
use tonic::Code;

use crate::support::{TestServer, accepted_sockets_nodelay, sample, with_admin_token};

fn rpc_code(error: ClientError) -> Code {
    match error {
        ClientError::Rpc { code, .. } => code,
        other => panic!("expected an RPC error, got {other}"),
    }
}

#[tokio::test]
async fn status_of_an_empty_store() {
    let server = TestServer::start().await;
    let status = server.client().await.status().await.unwrap();
    assert_eq!((status.blob_count, status.blob_bytes, status.journal_length), (0, 0, 0));
    assert_eq!(status.journal_head, None);
    assert_eq!(status.data_dir, server.data_dir);
    server.stop().await;
}

#[tokio::test]
async fn served_connections_have_nodelay_set() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    client.status().await.unwrap();
    let port = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let nodelay = accepted_sockets_nodelay(port);
    // Without TCP_NODELAY every response written in pieces waits ~40 ms for the client's ACK.
    assert!(
        !nodelay.is_empty() && nodelay.iter().all(|&set| set),
        "connections need TCP_NODELAY: {nodelay:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn put_and_get_round_trip_with_both_digests_and_deduplication() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    for (len, seed) in [(0, 0), (1, 1), (5_000_000, 2)] {
        let bytes = sample(len, seed);
        let stored = client.put_blob(std::io::Cursor::new(bytes.clone()), "round trip").await.unwrap();
        assert_eq!(stored.digest, BlobDigest::of(&bytes));
        assert!(stored.newly_stored);
        let mut read_back = Vec::new();
        let digest = client.get_blob(&stored.digest.blake3.to_hex(), &mut read_back).await.unwrap();
        assert_eq!(digest, stored.digest);
        assert_eq!(read_back, bytes);
    }
    let again = client.put_blob(std::io::Cursor::new(sample(1, 1)), "again").await.unwrap();
    assert!(!again.newly_stored);
    assert_eq!(again.journal_seq, 4);

    let status = client.status().await.unwrap();
    assert_eq!((status.blob_count, status.blob_bytes, status.journal_length), (3, 5_000_001, 4));
    let check = client.verify_journal().await.unwrap();
    assert_eq!((check.entries_checked, check.first_break), (4, None));
    let fixity = client.check_fixity(|_| {}).await.unwrap();
    assert_eq!((fixity.blobs_checked, fixity.bytes_checked), (3, 5_000_001));
    assert!(fixity.is_clean() && fixity.unreferenced == 0);
    server.stop().await;
}

#[tokio::test]
async fn get_blob_errors_say_what_is_wrong() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let error = client.get_blob("not-a-hash", Vec::new()).await.unwrap_err();
    assert!(error.to_string().contains("64 lowercase hex digits"), "{error}");
    assert_eq!(rpc_code(error), Code::InvalidArgument);
    let unknown = "ab".repeat(32);
    assert_eq!(rpc_code(client.get_blob(&unknown, Vec::new()).await.unwrap_err()), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn a_corrupted_blob_is_data_loss_never_bad_bytes_and_fixity_reports_it() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let stored = client.put_blob(std::io::Cursor::new(sample(100_000, 5)), "").await.unwrap();
    let hex = stored.digest.blake3.to_hex();
    let path = server.data_dir.join("blobs/blobs").join(&hex[..2]).join(&hex[2..4]).join(&hex);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[50_000] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let mut received = Vec::new();
    let error = client.get_blob(&hex, &mut received).await.unwrap_err();
    assert!(received.is_empty(), "no byte of a corrupted blob may be sent");
    assert!(error.to_string().contains("quarantined"), "{error}");
    assert_eq!(rpc_code(error), Code::DataLoss);
    // The blob is now in quarantine, and the read registered it: fixity reports it corrupted, not
    // merely missing from the store.
    let fixity = client.check_fixity(|_| {}).await.unwrap();
    assert_eq!((fixity.corrupted.clone(), fixity.missing.clone()), (vec![hex.clone()], vec![]));
    assert!(!fixity.is_clean());
    // A second read is data loss as well, not "not found".
    let error = client.get_blob(&hex, Vec::new()).await.unwrap_err();
    assert!(error.to_string().contains("quarantined"), "{error}");
    assert_eq!(rpc_code(error), Code::DataLoss);
    let quarantined = std::fs::read_dir(server.data_dir.join("blobs/quarantine")).unwrap().count();
    assert_eq!(quarantined, 1);
    server.stop().await;
}

#[tokio::test]
async fn oversized_upload_is_refused_and_leaves_nothing() {
    let server =
        TestServer::start_with(EngineLimits { max_upload_bytes: 1_000_000, ..Default::default() }, None)
            .await;
    let mut client = server.client().await;
    let error = client.put_blob(std::io::Cursor::new(sample(3_000_000, 1)), "").await.unwrap_err();
    assert!(error.to_string().contains("max_upload_bytes"), "{error}");
    assert_eq!(rpc_code(error), Code::ResourceExhausted);
    assert_eq!(client.status().await.unwrap().blob_count, 0);
    wait_until_tmp_is_empty(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn an_upload_cancelled_mid_stream_stores_nothing() {
    let server = TestServer::start().await;
    let mut raw = AdminServiceClient::new(server.channel().await);
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let chunk = sample(300_000, 3);
    sender.send(pb::PutBlobRequest { note: "cut off".into(), chunk, last: false }).await.unwrap();
    let call = tokio::spawn(async move {
        raw.put_blob(with_admin_token(tokio_stream::wrappers::ReceiverStream::new(receiver))).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    call.abort(); // the client goes away without sending its final message
    drop(sender);
    let _ = call.await;
    wait_until_tmp_is_empty(&server).await;
    let status = server.client().await.status().await.unwrap();
    assert_eq!((status.blob_count, status.journal_length), (0, 0));
    server.stop().await;
}

#[tokio::test]
async fn a_stream_ending_without_its_final_message_is_aborted() {
    let server = TestServer::start().await;
    let mut raw = AdminServiceClient::new(server.channel().await);
    let messages = vec![pb::PutBlobRequest { note: String::new(), chunk: sample(10, 1), last: false }];
    let status = raw.put_blob(with_admin_token(tokio_stream::iter(messages))).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert!(status.message().contains("last=true"), "{}", status.message());
    let twice = vec![
        pb::PutBlobRequest { note: String::new(), chunk: sample(10, 1), last: true },
        pb::PutBlobRequest { note: String::new(), chunk: sample(10, 2), last: true },
    ];
    assert_eq!(
        raw.put_blob(with_admin_token(tokio_stream::iter(twice))).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(server.client().await.status().await.unwrap().blob_count, 0);
    server.stop().await;
}

#[tokio::test]
async fn empty_request_stream_is_invalid_argument() {
    let server = TestServer::start().await;
    let mut raw = AdminServiceClient::new(server.channel().await);
    let status = raw
        .put_blob(with_admin_token(tokio_stream::iter(Vec::<pb::PutBlobRequest>::new())))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn health_reports_serving_and_reflection_lists_the_services() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    let response = health
        .check(tonic_health::pb::HealthCheckRequest { service: "registratur.v1.AdminService".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), ServingStatus::Serving);

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses =
        reflection.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"registratur.v1.AdminService".to_string()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{names:?}");

    // The same through v1alpha, the only version many clients speak (grpcio-reflection, Postman).
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;
    let mut reflection = AlphaClient::new(server.channel().await);
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::FileContainingSymbol("registratur.v1.SearchService".into())),
    };
    let mut responses =
        reflection.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(AlphaResponse::FileDescriptorResponse(files)) = response.message_response else {
        panic!("expected the file that defines SearchService, got {:?}", response.message_response);
    };
    assert!(!files.file_descriptor_proto.is_empty());
    server.stop().await;
}

async fn wait_until_tmp_is_empty(server: &TestServer) {
    let tmp = server.data_dir.join("blobs/tmp");
    for _ in 0..100 {
        if std::fs::read_dir(&tmp).unwrap().count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().path()).collect();
    panic!("a temp file of an aborted upload stayed in {}: {left:?}", tmp.display());
}

/// A blob store outage reaches clients as UNAVAILABLE with a message that says to retry (never INTERNAL),
/// for reads and uploads alike; a short one is ridden out by the engine's retries, and once the store is
/// back everything works again.
#[tokio::test]
async fn a_blob_store_outage_is_unavailable_with_a_message_to_retry() {
    use std::sync::Arc;

    use registratur_storage::blob::test_suite::{FailureMode, FlakyBlobStore};
    use registratur_storage::blob::{BlobStore, RetryPolicy};
    use registratur_storage::meta::MetaOptions;
    use registratur_storage::{MemoryBlobStore, MetaStore, Store};

    let flaky = Arc::new(FlakyBlobStore::new(MemoryBlobStore::new(), 0, FailureMode::Before));
    let blobs: Arc<dyn BlobStore> = flaky.clone();
    let server = TestServer::start_over_store(|data_dir| {
        std::fs::create_dir_all(data_dir).unwrap();
        let meta = MetaStore::open(data_dir.join("meta"), MetaOptions::default()).unwrap();
        let policy = RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
        };
        Store::with_retry_policy(data_dir.to_path_buf(), blobs, meta, policy)
    })
    .await;
    let mut client = server.client().await;
    let bytes = sample(100_000, 3);
    let stored = client.put_blob(std::io::Cursor::new(bytes.clone()), "before the outage").await.unwrap();
    let hex = stored.digest.blake3.to_hex();

    // Two failed attempts, then the store answers: the caller never notices.
    flaky.fail_next(2);
    let mut read = Vec::new();
    client.get_blob(&hex, &mut read).await.unwrap();
    assert_eq!(read, bytes);

    flaky.fail_next(u32::MAX);
    let unavailable = |error: ClientError| match error {
        ClientError::Rpc { code, message } => {
            assert_eq!(code, Code::Unavailable, "{message}");
            assert!(message.contains("retry"), "the message says to retry: {message}");
        }
        other => panic!("expected UNAVAILABLE, got {other}"),
    };
    unavailable(client.get_blob(&hex, &mut Vec::new()).await.unwrap_err());
    unavailable(client.put_blob(std::io::Cursor::new(sample(10_000, 4)), "during").await.unwrap_err());

    flaky.fail_next(0);
    let mut read = Vec::new();
    client.get_blob(&hex, &mut read).await.unwrap();
    assert_eq!(read, bytes);
    let later = client.put_blob(std::io::Cursor::new(sample(10_000, 4)), "after").await.unwrap();
    assert!(later.newly_stored, "the failed upload stored nothing");
    server.stop().await;
}

/// The engine with its blobs on a real S3 server (`rclone serve s3`): uploads and verified downloads go
/// through S3; killing the server makes reads and uploads UNAVAILABLE with a message to retry (never
/// INTERNAL); once it is back everything works, and a byte flipped on the server's disk is DATA_LOSS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_on_a_real_s3_server_survive_its_outage_and_report_damage() {
    use std::sync::Arc;

    use registratur_storage::Store;
    use registratur_storage::blob::s3::rclone::RcloneS3;
    use registratur_storage::blob::{BlobStore, S3BlobStore};
    use registratur_storage::meta::MetaOptions;

    let mut s3 = RcloneS3::start().expect("starting rclone serve s3 (scripts/install-deps installs rclone)");
    let blobs: Arc<dyn BlobStore> = Arc::new(S3BlobStore::connect(&s3.settings("engine")).unwrap());
    let server = TestServer::start_over_store(|data_dir| {
        Store::open_with_blobs(data_dir, blobs, MetaOptions::default()).unwrap()
    })
    .await;
    let mut client = server.client().await;
    // Larger than a part: a multipart upload, then a streamed, verified download.
    let bytes = sample(6 << 20, 5);
    let stored = client.put_blob(std::io::Cursor::new(bytes.clone()), "on s3").await.unwrap();
    let hex = stored.digest.blake3.to_hex();
    let mut read = Vec::new();
    client.get_blob(&hex, &mut read).await.unwrap();
    assert!(read == bytes, "the bytes came back from S3");

    s3.kill();
    let unavailable = |error: ClientError| match error {
        ClientError::Rpc { code, message } => {
            assert_eq!(code, Code::Unavailable, "{message}");
            assert!(message.contains("retry"), "the message says to retry: {message}");
        }
        other => panic!("expected UNAVAILABLE, got {other}"),
    };
    unavailable(client.get_blob(&hex, &mut Vec::new()).await.unwrap_err());
    unavailable(client.put_blob(std::io::Cursor::new(sample(10_000, 6)), "during").await.unwrap_err());

    s3.restart().unwrap();
    let later = client.put_blob(std::io::Cursor::new(sample(10_000, 6)), "after").await.unwrap();
    assert!(later.newly_stored, "the failed upload stored nothing");

    let file = s3.object_file(&format!("engine/blobs/{hex}"));
    let mut on_disk = std::fs::read(&file).unwrap();
    on_disk[3 << 20] ^= 0x10;
    std::fs::write(&file, on_disk).unwrap();
    match client.get_blob(&hex, &mut Vec::new()).await.unwrap_err() {
        ClientError::Rpc { code, message } => assert_eq!(code, Code::DataLoss, "{message}"),
        other => panic!("expected DATA_LOSS, got {other}"),
    }
    server.stop().await;
}
