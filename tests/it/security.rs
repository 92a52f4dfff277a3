//! Security at the edge, tested over the wire: every RPC of every service against every role (the
//! list of RPCs comes from the compiled descriptors, so a new RPC without a row fails here), tokens
//! that never reach the logs, and size limits on messages and streamed uploads.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use prost::Message as _;
use prost::bytes::{Buf as _, BufMut as _};
use registratur::auth::Role;
use registratur::grpc::pb;
use registratur::records::aktenplan::Aktenplan;
use registratur::records::repo::AkteRef;
use registratur::service::{DocumentHeader, EngineLimits};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

use crate::support::{ADMIN, ARCHIVIST, FACHVERFAHREN, MAILROOM, TestServer, sample};

/// Passes encoded messages through unchanged, so one caller can reach every method by its path.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// Calls `path` with `messages` (one for unary calls) and returns the status of the call: the
/// response's, or for server streams that of the first message.
async fn call(channel: &Channel, path: &str, token: Option<&str>, messages: Vec<Vec<u8>>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let path = http::uri::PathAndQuery::from_str(path).unwrap();
    match grpc.streaming(request, path, RawCodec).await {
        Err(status) => status,
        Ok(response) => match response.into_inner().message().await {
            Ok(_) => tonic::Status::ok(""),
            Err(status) => status,
        },
    }
}

/// Every RPC of registratur's services, from the descriptors compiled into the binary.
fn every_rpc() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = BTreeSet::new();
    for file in set.file {
        for service in &file.service {
            for method in &service.method {
                methods.insert(format!("/{}.{}/{}", file.package(), service.name(), method.name()));
            }
        }
    }
    methods
}

const READERS: &[Role] = &[Role::Fachverfahren, Role::Archivist, Role::Admin];
const WRITERS: &[Role] = &[Role::Fachverfahren, Role::Admin];
const ARCHIVE: &[Role] = &[Role::Archivist, Role::Admin];
const MAILROOM_ROLES: &[Role] = &[Role::Mailroom, Role::Admin];
const ADMIN_ONLY: &[Role] = &[Role::Admin];

/// Who may call each RPC. A new RPC needs a row here, or `every_rpc_checks_tokens_and_roles` fails.
const PERMISSIONS: &[(&str, &[Role])] = &[
    ("/registratur.v1.AdminService/GetStatus", ARCHIVE),
    ("/registratur.v1.AdminService/PutBlob", ADMIN_ONLY),
    ("/registratur.v1.AdminService/GetBlob", ADMIN_ONLY),
    ("/registratur.v1.AdminService/VerifyJournal", ARCHIVE),
    ("/registratur.v1.AdminService/CheckFixity", ARCHIVE),
    ("/registratur.v1.AdminService/GetLastScrub", ARCHIVE),
    ("/registratur.v1.AdminService/ListQuarantine", ARCHIVE),
    ("/registratur.v1.AdminService/ExportDocumentHistory", ARCHIVE),
    ("/registratur.v1.RecordsService/CreateAkte", WRITERS),
    ("/registratur.v1.RecordsService/GetAkte", READERS),
    ("/registratur.v1.RecordsService/ListAkten", READERS),
    ("/registratur.v1.RecordsService/CloseAkte", WRITERS),
    ("/registratur.v1.RecordsService/CreateVorgang", WRITERS),
    ("/registratur.v1.RecordsService/AddDocument", WRITERS),
    ("/registratur.v1.RecordsService/AddVersion", WRITERS),
    ("/registratur.v1.RecordsService/GetDocument", READERS),
    ("/registratur.v1.RecordsService/ReadContent", READERS),
    ("/registratur.v1.RecordsService/GetHistory", READERS),
    ("/registratur.v1.RecordsService/IssueRoutingCode", WRITERS),
    ("/registratur.v1.RecordsService/ImportAktenplan", ADMIN_ONLY),
    ("/registratur.v1.RecordsService/ExportAktenplan", READERS),
    ("/registratur.v1.MailroomService/Ingest", MAILROOM_ROLES),
    ("/registratur.v1.MailroomService/GetBatch", MAILROOM_ROLES),
    ("/registratur.v1.MailroomService/ListBatches", MAILROOM_ROLES),
    ("/registratur.v1.MailroomService/WatchBatch", MAILROOM_ROLES),
    ("/registratur.v1.MailroomService/ListKlaerfaelle", MAILROOM_ROLES),
    ("/registratur.v1.MailroomService/GetKlaerfall", MAILROOM_ROLES),
    ("/registratur.v1.MailroomService/GetKlaerfallPreview", MAILROOM_ROLES),
    ("/registratur.v1.MailroomService/ResolveKlaerfall", MAILROOM_ROLES),
    ("/registratur.v1.SearchService/Search", READERS),
    ("/registratur.v1.SearchService/Reindex", ARCHIVE),
    ("/registratur.v1.MigrationService/Census", ARCHIVE),
    ("/registratur.v1.MigrationService/StartJob", ARCHIVE),
    ("/registratur.v1.MigrationService/GetJob", ARCHIVE),
    ("/registratur.v1.MigrationService/ListJobs", ARCHIVE),
    ("/registratur.v1.MigrationService/WatchJob", ARCHIVE),
    ("/registratur.v1.MigrationService/PauseJob", ARCHIVE),
    ("/registratur.v1.MigrationService/ResumeJob", ARCHIVE),
    ("/registratur.v1.MigrationService/CancelJob", ARCHIVE),
    ("/registratur.v1.MigrationService/GetJobReport", ARCHIVE),
    ("/registratur.v1.MigrationService/GetPolicy", ARCHIVE),
    ("/registratur.v1.LifecycleService/ListDue", ARCHIVE),
    ("/registratur.v1.LifecycleService/PlaceHold", ARCHIVE),
    ("/registratur.v1.LifecycleService/ReleaseHold", ARCHIVE),
    ("/registratur.v1.LifecycleService/ListHolds", ARCHIVE),
    ("/registratur.v1.LifecycleService/ReopenAkte", WRITERS),
    ("/registratur.v1.LifecycleService/CorrectAkte", WRITERS),
    ("/registratur.v1.LifecycleService/CorrectDokument", WRITERS),
    ("/registratur.v1.LifecycleService/GetRetention", READERS),
    ("/registratur.v1.LifecycleService/Offer", ARCHIVE),
    ("/registratur.v1.LifecycleService/GetProcess", ARCHIVE),
    ("/registratur.v1.LifecycleService/ImportAppraisal", ARCHIVE),
    ("/registratur.v1.LifecycleService/Handover", ARCHIVE),
    ("/registratur.v1.EvidenceService/ExportEvidence", READERS),
    ("/registratur.v1.EvidenceService/GetEvidenceStatus", ARCHIVE),
];

/// Records the calls work on: an open Akte with a Dokument, a second Akte to close.
struct Fixture {
    akte_id: u64,
    closable_akte_id: u64,
    dokument_id: u64,
    blake3: String,
    unit: String,
}

async fn fixture(server: &TestServer) -> Fixture {
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let unit =
        Aktenplan::example_kgst().units().map(|u| u.key.to_string()).find(|k| k.starts_with("32.")).unwrap();
    let akte = admin.create_akte(&unit, "Sicherheitsakte", None, None).await.unwrap();
    let closable = admin.create_akte(&unit, "Zu schließen", None, None).await.unwrap();
    let header = DocumentHeader {
        akte: AkteRef::Id(akte.id),
        vorgang_id: None,
        title: "Antrag".into(),
        sender: String::new(),
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: "2026-11-20".into(),
        channel: "email".into(),
        source: "test".into(),
        filename: "antrag.txt".into(),
        media_type: "text/plain".into(),
    };
    let added = admin
        .add_document(header, std::io::Cursor::new(b"Antrag auf Baugenehmigung".to_vec()))
        .await
        .unwrap();
    Fixture {
        akte_id: akte.id,
        closable_akte_id: closable.id,
        dokument_id: added.dokument.id,
        blake3: added.versions[0].original.blake3.clone(),
        unit,
    }
}

fn akte(id: u64) -> Option<pb::AkteRef> {
    Some(pb::AkteRef { by: Some(pb::akte_ref::By::Id(id)) })
}

/// A well-formed request for `path`, so that a call passes input validation and meets the
/// permission check (handlers validate the message's shape first).
fn request(path: &str, f: &Fixture) -> Vec<Vec<u8>> {
    let method = path.rsplit('/').next().unwrap();
    let one = |message: &dyn Fn() -> Vec<u8>| vec![message()];
    match method {
        "PutBlob" => {
            one(&|| pb::PutBlobRequest { note: "t".into(), chunk: b"x".to_vec(), last: true }.encode_to_vec())
        }
        "GetBlob" => one(&|| pb::GetBlobRequest { blake3: f.blake3.clone() }.encode_to_vec()),
        "ExportDocumentHistory" => {
            one(&|| pb::ExportDocumentHistoryRequest { document_id: f.dokument_id }.encode_to_vec())
        }
        "CreateAkte" => one(&|| {
            pb::CreateAkteRequest { aktenplan_key: f.unit.clone(), title: "Neu".into(), ..Default::default() }
                .encode_to_vec()
        }),
        "GetAkte" => one(&|| pb::GetAkteRequest { akte: akte(f.akte_id) }.encode_to_vec()),
        "CloseAkte" => one(&|| {
            pb::CloseAkteRequest { akte: akte(f.closable_akte_id), note: "z.d.A.".into() }.encode_to_vec()
        }),
        "CreateVorgang" => one(&|| {
            pb::CreateVorgangRequest { akte: akte(f.akte_id), title: "Vorgang".into() }.encode_to_vec()
        }),
        "AddDocument" => one(&|| {
            let header = pb::DocumentHeader {
                akte: akte(f.akte_id),
                title: "Nachreichung".into(),
                eingang: Some(pb::Eingang {
                    posteingangsdatum: "2026-11-21".into(),
                    channel: "email".into(),
                    source: "test".into(),
                    received_at: String::new(),
                }),
                filename: "n.txt".into(),
                media_type: "text/plain".into(),
                ..Default::default()
            };
            pb::AddDocumentRequest { header: Some(header), chunk: b"Nachreichung".to_vec(), last: true }
                .encode_to_vec()
        }),
        "AddVersion" => one(&|| {
            let header = pb::VersionHeader {
                document_id: f.dokument_id,
                reason: "Korrektur".into(),
                filename: "v.txt".into(),
                media_type: "text/plain".into(),
            };
            pb::AddVersionRequest { header: Some(header), chunk: b"v2".to_vec(), last: true }.encode_to_vec()
        }),
        "GetDocument" => one(&|| pb::GetDocumentRequest { document_id: f.dokument_id }.encode_to_vec()),
        "ReadContent" => one(&|| {
            pb::ReadContentRequest { document_id: f.dokument_id, ..Default::default() }.encode_to_vec()
        }),
        "GetHistory" => one(&|| {
            pb::GetHistoryRequest { of: Some(pb::get_history_request::Of::DocumentId(f.dokument_id)) }
                .encode_to_vec()
        }),
        "IssueRoutingCode" => one(&|| pb::IssueRoutingCodeRequest { akte: akte(f.akte_id) }.encode_to_vec()),
        "ImportAktenplan" => {
            one(&|| pb::ImportAktenplanRequest { csv: Aktenplan::example_kgst().to_csv() }.encode_to_vec())
        }
        "Ingest" => one(&|| {
            pb::IngestRequest {
                header: Some(pb::BatchHeader::default()),
                file: Some(pb::FileStart { filename: "scan.tif".into(), media_type: "image/tiff".into() }),
                chunk: b"II*\0".to_vec(),
                last: true,
            }
            .encode_to_vec()
        }),
        "ResolveKlaerfall" => one(&|| {
            pb::ResolveKlaerfallRequest {
                id: 1,
                akte: akte(f.akte_id),
                title: "Brief".into(),
                note: String::new(),
            }
            .encode_to_vec()
        }),
        "GetKlaerfall" | "GetKlaerfallPreview" | "GetBatch" | "WatchBatch" => {
            // Field 1 is the id in each of these.
            one(&|| pb::GetKlaerfallRequest { id: 1 }.encode_to_vec())
        }
        "ExportEvidence" => {
            one(&|| pb::ExportEvidenceRequest { document_id: f.dokument_id, version: 0 }.encode_to_vec())
        }
        "Search" => {
            one(&|| pb::SearchRequest { query: "Antrag".into(), ..Default::default() }.encode_to_vec())
        }
        // A dry run of everything: harmless to start for every allowed role.
        "StartJob" => {
            one(&|| pb::StartJobRequest { mode: pb::JobMode::Plan as i32, scope: None }.encode_to_vec())
        }
        "GetJob" | "WatchJob" | "PauseJob" | "ResumeJob" | "CancelJob" => {
            one(&|| pb::GetJobRequest { job_id: 1 }.encode_to_vec())
        }
        "GetJobReport" => {
            one(&|| pb::GetJobReportRequest { job_id: 1, ..Default::default() }.encode_to_vec())
        }
        "PlaceHold" | "ReleaseHold" => {
            one(&|| pb::HoldRequest { akte: akte(f.akte_id), reason: "Prüfung".into() }.encode_to_vec())
        }
        "ReopenAkte" => one(&|| {
            pb::ReopenAkteRequest { akte: akte(f.akte_id), reason: "Widerspruch".into() }.encode_to_vec()
        }),
        "CorrectAkte" => one(&|| {
            let title = Some("Sicherheitsakte (korrigiert)".into());
            pb::CorrectAkteRequest { akte: akte(f.akte_id), title, reason: "Tippfehler".into() }
                .encode_to_vec()
        }),
        "CorrectDokument" => one(&|| {
            let sender = Some("Erika Mustermann".into());
            let reason = "Tippfehler".into();
            pb::CorrectDokumentRequest { document_id: f.dokument_id, sender, reason, ..Default::default() }
                .encode_to_vec()
        }),
        "GetRetention" => one(&|| pb::GetRetentionRequest { akte: akte(f.akte_id) }.encode_to_vec()),
        "Offer" => one(&|| {
            pb::OfferRequest { authority: "Kreis".into(), archive: "Archiv".into(), ..Default::default() }
                .encode_to_vec()
        }),
        "GetProcess" => one(&|| {
            pb::GetProcessRequest { prozess_id: "3f2a1c9e-6b7d-4e21-9a0f-2c5d8e7b1a40".into() }
                .encode_to_vec()
        }),
        // Requests without fields: the empty message.
        _ => vec![Vec::new()],
    }
}

fn token(role: Role) -> &'static str {
    match role {
        Role::Admin => ADMIN,
        Role::Archivist => ARCHIVIST,
        Role::Fachverfahren => FACHVERFAHREN,
        Role::Mailroom => MAILROOM,
    }
}

#[tokio::test]
async fn every_rpc_checks_tokens_and_roles() {
    let server = TestServer::start().await;
    let f = fixture(&server).await;
    let channel = server.channel().await;

    let rpcs = every_rpc();
    let table: BTreeSet<String> = PERMISSIONS.iter().map(|(path, _)| path.to_string()).collect();
    let missing: Vec<&String> = rpcs.difference(&table).collect();
    assert!(missing.is_empty(), "RPCs without a row in PERMISSIONS (add who may call them): {missing:?}");
    let stale: Vec<&String> = table.difference(&rpcs).collect();
    assert!(stale.is_empty(), "rows in PERMISSIONS for RPCs that do not exist: {stale:?}");
    assert!(rpcs.len() >= 30, "the descriptors list only {} RPCs", rpcs.len());

    let mut failures = Vec::new();
    for (path, allowed) in PERMISSIONS {
        let messages = request(path, &f);
        for (label, presented) in [("no token", None), ("wrong token", Some("not-a-registratur-token"))] {
            let status = call(&channel, path, presented, messages.clone()).await;
            if status.code() != Code::Unauthenticated {
                failures.push(format!("{path} with {label}: {:?} {}", status.code(), status.message()));
            }
        }
        for role in [Role::Mailroom, Role::Fachverfahren, Role::Archivist, Role::Admin] {
            let status = call(&channel, path, Some(token(role)), messages.clone()).await;
            let code = status.code();
            let ok = if allowed.contains(&role) {
                code != Code::PermissionDenied && code != Code::Unauthenticated
            } else {
                code == Code::PermissionDenied
            };
            if !ok {
                failures.push(format!("{path} as {role}: {code:?} {}", status.message()));
            }
        }
    }
    assert!(failures.is_empty(), "permission failures:\n{}", failures.join("\n"));

    // Health and reflection stay open: no token needed.
    let check = pb_health_check();
    let status = call(&channel, "/grpc.health.v1.Health/Check", None, vec![check]).await;
    assert_eq!(status.code(), Code::Ok, "{}", status.message());
    server.stop().await;
}

/// `grpc.health.v1.HealthCheckRequest { service: "" }`: the empty message.
fn pb_health_check() -> Vec<u8> {
    Vec::new()
}

/// Collects everything the `fmt` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn tokens_never_reach_the_logs_even_at_trace_level() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    // The test binary's only global subscriber (nextest runs each test in its own process).
    let installed = tracing::subscriber::set_global_default(subscriber).is_ok();

    let server = TestServer::start().await;
    let f = fixture(&server).await;
    let wrong = "rgt_wrongbutplausibletokenvalue0123456789abcdefghij";
    for presented in [ADMIN, ARCHIVIST, FACHVERFAHREN, MAILROOM, wrong] {
        let mut client = server.client_as(presented).await;
        let _ = client.status().await;
        let _ = client.document(f.dokument_id).await;
        let _ = client.verify_journal().await;
    }
    // A client's options, as someone might log them.
    let options = registratur::grpc::client::ConnectOptions {
        url: server.url.clone(),
        token: Some(ADMIN.into()),
        ca_certificate: None,
    };
    tracing::debug!(?options, "connect options");
    server.stop().await;

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    if installed {
        assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "nothing was captured: {logs}");
        assert!(logs.contains("<redacted>"), "the options were not logged");
    }
    for secret in [ADMIN, ARCHIVIST, FACHVERFAHREN, MAILROOM, wrong] {
        assert!(!logs.contains(secret), "a token appears in the logs");
    }
}

/// A message just over the limit for each service, sent with the admin token.
#[tokio::test]
async fn oversized_messages_are_resource_exhausted_on_every_service() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let big = "a".repeat(registratur::grpc::MAX_MESSAGE_BYTES + 1);
    let cases = [
        ("/registratur.v1.AdminService/GetBlob", pb::GetBlobRequest { blake3: big.clone() }.encode_to_vec()),
        (
            "/registratur.v1.RecordsService/GetAkte",
            pb::GetAkteRequest {
                akte: Some(pb::AkteRef { by: Some(pb::akte_ref::By::Aktenzeichen(big.clone())) }),
            }
            .encode_to_vec(),
        ),
        (
            "/registratur.v1.MailroomService/ResolveKlaerfall",
            pb::ResolveKlaerfallRequest { id: 1, note: big.clone(), ..Default::default() }.encode_to_vec(),
        ),
        (
            "/registratur.v1.SearchService/Search",
            pb::SearchRequest { query: big.clone(), ..Default::default() }.encode_to_vec(),
        ),
        (
            "/registratur.v1.AdminService/PutBlob",
            pb::PutBlobRequest { chunk: big.clone().into_bytes(), last: true, ..Default::default() }
                .encode_to_vec(),
        ),
    ];
    for (path, message) in cases {
        let status = call(&channel, path, Some(ADMIN), vec![message]).await;
        assert_eq!(status.code(), Code::ResourceExhausted, "{path}: {}", status.message());
        let limit = registratur::grpc::MAX_MESSAGE_BYTES.to_string();
        assert!(
            status.message().contains(&limit),
            "{path}: the message must name the limit: {}",
            status.message()
        );
    }
    server.stop().await;
}

/// A string field that is not UTF-8 is the client's mistake: INVALID_ARGUMENT naming the field,
/// counted in the error metrics, never INTERNAL.
#[tokio::test]
async fn invalid_utf8_in_a_request_string_is_invalid_argument() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let counted = || {
        let text = registratur::metrics::global().render(&Default::default());
        text.lines()
            .find_map(|line| line.strip_prefix("registratur_rpc_errors_total{code=\"invalid_argument\"} "))
            .map_or(0, |count| count.parse::<u64>().unwrap())
    };
    let before = counted();
    // Field 1 of SearchRequest is `query`, a string: a length-delimited value with a lone 0xff byte.
    let search = vec![0x0a, 0x03, b'a', 0xff, b'b'];
    let status = call(&channel, "/registratur.v1.SearchService/Search", Some(ADMIN), vec![search]).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    assert!(
        status.message().contains("SearchRequest.query"),
        "the field must be named: {}",
        status.message()
    );
    assert!(status.message().contains("UTF-8"), "{}", status.message());
    // A streamed upload whose first message carries a bad file name is refused the same way.
    let header = pb::BatchHeader { operator: "AzB".into(), ..Default::default() };
    let mut first = pb::IngestRequest { header: Some(header), ..Default::default() }.encode_to_vec();
    let at = first.windows(3).position(|w| w == b"AzB").unwrap();
    first[at + 1] = 0xff;
    let status = call(&channel, "/registratur.v1.MailroomService/Ingest", Some(ADMIN), vec![first]).await;
    assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    assert!(counted() >= before + 2, "both refusals count as invalid_argument errors");
    server.stop().await;
}

#[tokio::test]
async fn streamed_uploads_stop_at_their_total_size_limit() {
    let server =
        TestServer::start_with(EngineLimits { max_upload_bytes: 1_000_000, ..Default::default() }, None)
            .await;
    let f = fixture(&server).await;
    let mut fachverfahren = server.client_as(FACHVERFAHREN).await;
    let header = DocumentHeader {
        akte: AkteRef::Id(f.akte_id),
        vorgang_id: None,
        title: "Zu groß".into(),
        sender: String::new(),
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: "2026-11-20".into(),
        channel: "email".into(),
        source: "test".into(),
        filename: "gross.bin".into(),
        media_type: "application/octet-stream".into(),
    };
    let error =
        fachverfahren.add_document(header, std::io::Cursor::new(sample(1_500_000, 3))).await.unwrap_err();
    assert!(
        matches!(&error, registratur::grpc::client::ClientError::Rpc { code: Code::ResourceExhausted, message } if message.contains("1000000 bytes")),
        "{error}"
    );
    let error = fachverfahren
        .add_version(
            f.dokument_id,
            "zu groß",
            "v.bin",
            "application/octet-stream",
            std::io::Cursor::new(sample(1_500_000, 4)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, registratur::grpc::client::ClientError::Rpc { code: Code::ResourceExhausted, .. }),
        "{error}"
    );

    // A batch counts all its files together.
    let mut mailroom = server.client_as(MAILROOM).await;
    let header = registratur::service::NewBatch {
        scanner_batch_id: "zu-gross".into(),
        channel: "paper_scan".into(),
        posteingangsdatum: "2026-11-20".into(),
        operator: "Poststelle".into(),
        dpi: 300,
        colour_mode: "bw".into(),
        device: "Scanner".into(),
        duplex: false,
        expected_sheets: None,
        scanned_at: None,
    };
    let files = (0..3)
        .map(|i| registratur::grpc::client::BatchFileSource {
            filename: format!("{i}.tif"),
            bytes: sample(400_000, i),
        })
        .collect();
    let error = mailroom.ingest(header, files).await.unwrap_err();
    assert!(
        matches!(&error, registratur::grpc::client::ClientError::Rpc { code: Code::ResourceExhausted, message } if message.contains("1000000 bytes")),
        "{error}"
    );
    // Nothing of the refused uploads is recorded: the Dokument still has one Version.
    let details = server.client().await.document(f.dokument_id).await.unwrap();
    assert_eq!(details.versions.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn record_text_fields_have_a_length_limit_checked_before_bytes_are_stored() {
    let server = TestServer::start().await;
    let f = fixture(&server).await;
    let mut admin = server.client().await;
    let blobs_before = admin.status().await.unwrap().blob_count;
    let long = "ä".repeat(registratur::records::repo::MAX_TEXT_CHARS + 1);
    let header = DocumentHeader {
        akte: AkteRef::Id(f.akte_id),
        vorgang_id: None,
        title: "Antrag".into(),
        sender: long.clone(),
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: "2026-11-20".into(),
        channel: "email".into(),
        source: "test".into(),
        filename: "a.txt".into(),
        media_type: "text/plain".into(),
    };
    let error = admin.add_document(header, std::io::Cursor::new(sample(10_000, 1))).await.unwrap_err();
    assert!(
        matches!(&error, registratur::grpc::client::ClientError::Rpc { code: Code::InvalidArgument, message }
            if message.contains("sender has 1001 characters; at most 1000")),
        "{error}"
    );
    let error = admin.create_akte(&f.unit, &long, None, None).await.unwrap_err();
    assert!(error.to_string().contains("at most 1000"), "{error}");
    let error = admin
        .add_version(f.dokument_id, &long, "v.txt", "text/plain", std::io::Cursor::new(sample(10, 2)))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("reason has 1001 characters"), "{error}");
    assert_eq!(
        admin.status().await.unwrap().blob_count,
        blobs_before,
        "no bytes of a refused upload are kept"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_record_text_field_refuses_control_characters_by_one_rule() {
    let server = TestServer::start().await;
    let f = fixture(&server).await;
    let mut admin = server.client().await;
    let blobs_before = admin.status().await.unwrap().blob_count;
    let header = || DocumentHeader {
        akte: AkteRef::Id(f.akte_id),
        vorgang_id: None,
        title: "Antrag".into(),
        sender: "Stadtwerke".into(),
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: "2026-11-20".into(),
        channel: "email".into(),
        source: "test".into(),
        filename: "a.txt".into(),
        media_type: "text/plain".into(),
    };
    let cases: Vec<(&str, DocumentHeader)> = vec![
        ("title", DocumentHeader { title: "An\0trag".into(), ..header() }),
        ("sender", DocumentHeader { sender: "Stadt\0werke".into(), ..header() }),
        ("filename", DocumentHeader { filename: "a\0.txt".into(), ..header() }),
        (
            "fremdes_geschaeftszeichen",
            DocumentHeader { fremdes_geschaeftszeichen: "Az.\t12".into(), ..header() },
        ),
        ("source", DocumentHeader { source: "scan\nner".into(), ..header() }),
    ];
    for (field, header) in cases {
        let error = admin.add_document(header, std::io::Cursor::new(sample(100, 1))).await.unwrap_err();
        assert!(
            matches!(&error, registratur::grpc::client::ClientError::Rpc { code: Code::InvalidArgument, message }
                if message.starts_with(&format!("{field} contains the control character")) && message.contains("remove it")),
            "{field}: {error}"
        );
    }
    let error = admin
        .add_version(f.dokument_id, "Korrektur", "v\0.txt", "text/plain", std::io::Cursor::new(sample(10, 2)))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("filename contains the control character U+0000"), "{error}");
    assert_eq!(
        admin.status().await.unwrap().blob_count,
        blobs_before,
        "no bytes of a refused upload are kept"
    );
    // Surrounding whitespace is trimmed before the check, as before storing.
    let mut trailing = header();
    trailing.sender = "Stadtwerke\n".into();
    admin.add_document(trailing, std::io::Cursor::new(sample(100, 3))).await.unwrap();
    server.stop().await;
}
