//! Evidence records end to end: a real gRPC server whose engine stamps its hash trees at a real TSA
//! (`openssl ts -reply` behind an HTTP responder on loopback, the evidence crate's test support), the
//! export over gRPC, and verification offline with our verifier, the `registratur evidence verify` CLI,
//! `openssl ts -verify` and BouncyCastle's ERS. Faults: the TSA down (the tree stays pending, the
//! metric and status show it), the TSA back (stamped), a restart between tree and token (stamped
//! once), tampered bytes (verification names the failure).

use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::{Duration, Instant};

use registratur::grpc::client::{Client, ClientError};
use registratur::records::aktenplan::Aktenplan;
use registratur::records::repo::AkteRef;
use registratur::service::DocumentHeader;
use registratur::service::evidence::{EvidenceExport, EvidenceSettings};
use registratur_evidence::{DataInput, EvidenceRecord, HttpTsa, VerifyError, verify_der};

use crate::support::TestServer;

#[allow(dead_code)] // the engine's tests use part of the evidence crate's support
#[path = "../../crates/evidence/tests/it/support.rs"]
mod evidence_support;

use evidence_support::{Behaviour, Pki, Signer, TestTsa, java};

/// Evidence settings for a TSA at `url`: trees every 300 ms, retries from 100 ms.
fn settings(url: &str) -> EvidenceSettings {
    let tsa = HttpTsa::new(url, Duration::from_secs(10)).unwrap();
    let mut settings = EvidenceSettings::new(std::sync::Arc::new(tsa), url, Pki::shared().trust());
    settings.interval = Duration::from_millis(300);
    settings.retry_min = Duration::from_millis(100);
    settings.retry_max = Duration::from_millis(400);
    settings
}

/// A loopback address nothing listens on (yet): the TSA is down.
fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

async fn add_document(client: &mut Client, bytes: &[u8]) -> u64 {
    if client.export_aktenplan().await.map(|(version, _)| version).unwrap_or(0) == 0 {
        client.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    }
    let unit =
        Aktenplan::example_kgst().units().map(|u| u.key.to_string()).find(|k| k.starts_with("32.")).unwrap();
    let akte = client.create_akte(&unit, "Beweisakte", None, None).await.unwrap();
    let header = DocumentHeader {
        akte: AkteRef::Id(akte.id),
        vorgang_id: None,
        title: "Bescheid".into(),
        sender: String::new(),
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: "2026-11-20".into(),
        channel: "fachverfahren".into(),
        source: "test".into(),
        filename: "bescheid.txt".into(),
        media_type: "text/plain".into(),
    };
    client.add_document(header, std::io::Cursor::new(bytes.to_vec())).await.unwrap().dokument.id
}

/// Exports until the Version is stamped; every refusal before must be FAILED_PRECONDITION.
async fn export_when_stamped(client: &mut Client, dokument: u64) -> EvidenceExport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match client.export_evidence(dokument, None).await {
            Ok(export) => return export,
            Err(ClientError::Rpc { code: tonic::Code::FailedPrecondition, message }) => {
                assert!(message.contains("not yet timestamped"), "{message}");
            }
            Err(other) => panic!("export failed: {other}"),
        }
        assert!(Instant::now() < deadline, "Dokument {dokument} was not timestamped within a minute");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn registratur(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_registratur")).args(args).output().unwrap()
}

// Multi-threaded: the CLI runs as a blocking child process while this runtime serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_versions_are_stamped_and_their_records_verify_with_us_openssl_and_bouncycastle() {
    let tsa = TestTsa::start(Behaviour::Sign(Signer::Good));
    let server = TestServer::start_with_evidence(tempfile::tempdir().unwrap(), settings(&tsa.url())).await;
    let mut admin = server.client().await;
    let bytes = b"Bescheid vom 20.11.2026: die Baugenehmigung wird erteilt.".to_vec();
    let dokument = add_document(&mut admin, &bytes).await;

    let export = export_when_stamped(&mut admin, dokument).await;
    assert_eq!((export.dokument_id, export.version, export.files.len()), (dokument, 1, 1));
    let original = &export.files[0];
    assert_eq!(original.kind, "original");
    assert_eq!(original.sha256, hex::encode(registratur_evidence::DigestAlgorithm::Sha256.digest(&bytes)));

    // Our verifier: the record proves the bytes, at the token's genTime.
    let trust = Pki::shared().trust();
    let report = verify_der(DataInput::Bytes(&bytes), &original.ers, &trust).unwrap();
    assert_eq!(report.existed_at, export.gen_time);
    // Tampered bytes: named as not in the tree.
    let mut tampered = bytes.clone();
    tampered[0] ^= 1;
    let error = verify_der(DataInput::Bytes(&tampered), &original.ers, &trust).unwrap_err();
    assert!(matches!(error, VerifyError::HashNotInTree { .. }), "{error}");

    // The CLI, offline: export to a file, verify it; tampered data fails and says why.
    let dir = tempfile::tempdir().unwrap();
    let (data, bad, ers) = (dir.path().join("data"), dir.path().join("bad"), dir.path().join("out.ers"));
    std::fs::write(&data, &bytes).unwrap();
    std::fs::write(&bad, &tampered).unwrap();
    let exported = registratur(&[
        "--server",
        &server.url,
        "--token",
        crate::support::ARCHIVIST,
        "evidence",
        "export",
        &dokument.to_string(),
        "-o",
        ers.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    assert_eq!(std::fs::read(&ers).unwrap(), original.ers);
    let ca = Pki::shared().path("ca.pem");
    let ok = registratur(&[
        "evidence",
        "verify",
        data.to_str().unwrap(),
        ers.to_str().unwrap(),
        "--trust",
        ca.to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("valid"));
    let failed = registratur(&[
        "evidence",
        "verify",
        bad.to_str().unwrap(),
        ers.to_str().unwrap(),
        "--trust",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("is not in the record's hash tree"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );

    // openssl: the token in the record stamps the tree's root.
    let record = EvidenceRecord::from_der_checked(&original.ers).unwrap();
    let token = der::Encode::to_der(&record.archive_time_stamp_sequence[0][0].time_stamp).unwrap();
    let token_file = dir.path().join("token.der");
    std::fs::write(&token_file, token).unwrap();
    let root = &report.chains[0].timestamps[0].imprint;
    let out = evidence_support::run(
        Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(&token_file)
            .args(["-digest", &hex::encode(root), "-CAfile"])
            .arg(&ca)
            .arg("-untrusted")
            .arg(Pki::shared().path("tsa.pem")),
    );
    assert!(String::from_utf8_lossy(&out).contains("Verification: OK"));

    // BouncyCastle's ERS: the record is valid for the bytes and invalid for the tampered ones.
    let tsa_pem = Pki::shared().path("tsa.pem");
    let (all_valid, output) = java(&[
        "validate",
        tsa_pem.to_str().unwrap(),
        ers.to_str().unwrap(),
        data.to_str().unwrap(),
        ers.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(!all_valid, "{output}");
    assert!(output.contains("VALID 0") && output.contains("INVALID 1"), "{output}");

    // The status: stamped, nothing pending, the journal anchored and intact.
    let status = admin.evidence_status().await.unwrap();
    assert!(status.enabled);
    assert_eq!(status.pending_trees, 0);
    assert!(status.stamped_trees >= 1);
    let anchor = status.anchored.expect("a stamped tree anchors the journal");
    assert!(anchor.intact && anchor.seq >= 3, "{anchor:?}");
    server.stop().await;
}

/// Waits until the Dokument's tree is built and waits for the TSA.
async fn wait_pending(client: &mut Client, dokument: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let error = client.export_evidence(dokument, None).await.unwrap_err();
        if error.to_string().contains("waits for the TSA") {
            return;
        }
        assert!(error.to_string().contains("not yet timestamped"), "{error}");
        assert!(Instant::now() < deadline, "no pending tree for Dokument {dokument}: {error}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_tsa_that_is_down_keeps_the_tree_pending_until_it_is_back_and_a_restart_stamps_it_once() {
    // TSA down while the server runs: the tree stays pending, status, metric and error say so.
    let address = free_address();
    let url = format!("http://{address}/tsa");
    let server = TestServer::start_with_evidence(tempfile::tempdir().unwrap(), settings(&url)).await;
    let mut admin = server.client().await;
    let first = add_document(&mut admin, b"erstes Schreiben").await;
    wait_pending(&mut admin, first).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = admin.evidence_status().await.unwrap();
        if status.stamp_failures >= 1 && status.last_error.is_some() {
            break status;
        }
        assert!(Instant::now() < deadline, "no failure recorded: {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.pending_trees >= 1 && status.stamped_trees == 0, "{status:?}");
    assert!(status.last_error.as_ref().unwrap().1.contains(&address.to_string()), "{status:?}");
    let metrics = server.metrics_text().await;
    assert!(metrics.contains("\nregistratur_evidence_pending_trees "), "{metrics}");
    assert!(!metrics.contains("\nregistratur_evidence_pending_trees 0\n"), "{metrics}");
    assert!(!metrics.contains("\nregistratur_evidence_stamp_failures_total 0\n"), "{metrics}");

    // The TSA comes up on that address: stamped without a restart.
    let _tsa = TestTsa::start_on(TcpListener::bind(address).unwrap(), Behaviour::Sign(Signer::Good));
    let first_export = export_when_stamped(&mut admin, first).await;

    // Another TSA address, down: the next tree is built, then the server stops before any token.
    let down = free_address();
    let dir = server.stop_keeping_dir().await;
    let server = TestServer::start_with_evidence(dir, settings(&format!("http://{down}/tsa"))).await;
    let mut admin = server.client().await;
    let second = add_document(&mut admin, b"zweites Schreiben").await;
    wait_pending(&mut admin, second).await;
    let dir = server.stop_keeping_dir().await;

    // Restart with the TSA up: the pending tree is stamped.
    let _tsa = TestTsa::start_on(TcpListener::bind(down).unwrap(), Behaviour::Sign(Signer::Good));
    let server = TestServer::start_with_evidence(dir, settings(&format!("http://{down}/tsa"))).await;
    let mut admin = server.client().await;
    let export = export_when_stamped(&mut admin, second).await;
    assert!(export.tree > first_export.tree);
    let trust = Pki::shared().trust();
    verify_der(DataInput::Bytes(b"zweites Schreiben"), &export.files[0].ers, &trust).unwrap();
    // The first Version's record is the same after the restarts.
    assert_eq!(admin.export_evidence(first, None).await.unwrap(), first_export);
    verify_der(DataInput::Bytes(b"erstes Schreiben"), &first_export.files[0].ers, &trust).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while admin.evidence_status().await.unwrap().pending_trees != 0 {
        assert!(Instant::now() < deadline, "trees stay pending with the TSA up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = server.stop_keeping_dir().await;

    // The journal: every tree built was stamped exactly once, in order.
    let store = registratur_storage::Store::open(dir.path().join("data")).unwrap();
    let entries = store.meta().journal_entries(1, 100_000).unwrap();
    let trees = |action: &str| -> Vec<u64> {
        entries
            .iter()
            .filter(|e| e.action == action)
            .map(|e| {
                serde_json::from_slice::<serde_json::Value>(&e.payload).unwrap()["tree"].as_u64().unwrap()
            })
            .collect()
    };
    let built = trees("evidence.tree");
    assert!(built.len() >= 2, "{built:?}");
    assert_eq!(trees("evidence.stamp"), built);
}

#[tokio::test]
async fn without_an_evidence_section_export_says_the_feature_is_off() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    let dokument = add_document(&mut admin, b"ohne Beweis").await;
    let error = admin.export_evidence(dokument, None).await.unwrap_err();
    assert!(matches!(&error, ClientError::Rpc { code: tonic::Code::FailedPrecondition, .. }), "{error}");
    assert!(error.to_string().contains("evidence records are off"), "{error}");
    let status = admin.evidence_status().await.unwrap();
    assert!(!status.enabled);
    server.stop().await;
}
