//! Fixity on demand and audit over gRPC: a scrub run by an archivist, its recorded report, the
//! quarantine with the Dokumente that need restoring; journal tampering named by `VerifyJournal`;
//! and a Dokument's history export checked the way an outside party would, without registratur's code.

use registratur::grpc::client::Client;
use registratur::records::aktenplan::Aktenplan;
use registratur::records::repo::AkteRef;
use registratur::service::{BlobReference, Damage, DocumentHeader};
use registratur_storage::journal::JournalEntry;
use registratur_storage::meta::Cf;
use registratur_storage::{BlobDigest, Store};
use serde_json::Value;

use crate::support::{ARCHIVIST, TestServer, sample};

fn letter(akte: &AkteRef) -> DocumentHeader {
    DocumentHeader {
        akte: akte.clone(),
        vorgang_id: None,
        title: "Bauantrag Musterstraße 1".into(),
        sender: "Erika Mustermann".into(),
        fremdes_geschaeftszeichen: "EM-7".into(),
        posteingangsdatum: "2026-11-20".into(),
        channel: "email".into(),
        source: "postfach".into(),
        filename: "antrag.bin".into(),
        media_type: "application/octet-stream".into(),
    }
}

/// A server with the example Aktenplan, one Akte and one Dokument with two Versionen; returns the
/// Dokument's id, its Aktenzeichen and both Versionen' bytes.
async fn server_with_dokument() -> (TestServer, u64, String, Vec<u8>, Vec<u8>) {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let unit =
        Aktenplan::example_kgst().units().map(|u| u.key.to_string()).find(|k| k.starts_with("32.")).unwrap();
    let akte = admin.create_akte(&unit, "Prüfakte", None, None).await.unwrap();
    let (first, second) = (sample(70_000, 1), sample(50_000, 2));
    let added =
        admin.add_document(letter(&AkteRef::Id(akte.id)), std::io::Cursor::new(first.clone())).await.unwrap();
    let id = added.dokument.id;
    admin
        .add_version(
            id,
            "Korrektur",
            "antrag-2.bin",
            "application/octet-stream",
            std::io::Cursor::new(second.clone()),
        )
        .await
        .unwrap();
    (server, id, akte.aktenzeichen, first, second)
}

fn entry_akte(reference: &BlobReference) -> u64 {
    match reference {
        BlobReference::Version { akte_id, .. } => *akte_id,
        other => panic!("expected a Version reference, got {other:?}"),
    }
}

/// Makes a blob file writable and flips one of its bytes.
fn rot(server: &TestServer, blake3: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = server.data_dir.join("blobs/blobs").join(&blake3[..2]).join(&blake3[2..4]).join(blake3);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
}

/// The DATA_LOSS answer to a read of a Dokument whose bytes are damaged or gone: it names the
/// Dokument and Version, what happened to the bytes and what restores them.
fn assert_data_loss(error: registratur::grpc::client::ClientError, id: u64, version: u32, happened: &str) {
    let registratur::grpc::client::ClientError::Rpc { code, message } = &error else {
        panic!("expected an RPC error, got {error}")
    };
    assert_eq!(*code, tonic::Code::DataLoss, "{error}");
    for part in
        [&format!("Dokument {id} Version {version}"), happened, "backup", "registratur fixity quarantine"]
    {
        assert!(message.contains(part), "{part:?} missing in {message:?}");
    }
    assert!(!message.contains("check the hash"), "{message}");
}

/// A read that finds damaged bytes registers the finding at once (register, journal, metric); every
/// later read of them is DATA_LOSS too, and the scrub reports them as corrupted, not missing. A blob
/// file deleted behind the engine's back is data loss as well, registered as missing.
#[tokio::test]
async fn a_read_that_finds_damage_registers_it_and_every_later_read_is_data_loss() {
    let (server, id, aktenzeichen, first, second) = server_with_dokument().await;
    let damaged = BlobDigest::of(&first).blake3.to_hex();
    rot(&server, &damaged);
    let mut fachverfahren = server.client_as(crate::support::FACHVERFAHREN).await;
    for _ in 0..3 {
        let mut received = Vec::new();
        let error = fachverfahren.read_content(id, Some(1), None, &mut received).await.unwrap_err();
        assert!(received.is_empty(), "no byte of damaged content is sent");
        assert_data_loss(error, id, 1, "corrupted and are quarantined");
    }

    // Registered by the first read, before any scrub.
    let mut archivist = server.client_as(ARCHIVIST).await;
    assert_eq!(archivist.last_scrub().await.unwrap(), None);
    let quarantine = archivist.quarantine().await.unwrap();
    assert_eq!(quarantine.len(), 1, "{quarantine:?}");
    let record = &quarantine[0].record;
    assert_eq!((record.blake3.as_str(), record.damage), (damaged.as_str(), Damage::Corrupted));
    assert_eq!((record.found_by.as_str(), record.size), ("fv", 70_000));
    assert_eq!(
        quarantine[0].references,
        vec![BlobReference::Version {
            dokument_id: id,
            akte_id: entry_akte(&quarantine[0].references[0]),
            aktenzeichen: aktenzeichen.clone(),
            version: 1,
            part: "original".into(),
            filename: "antrag.bin".into(),
        }]
    );
    let metrics = registratur::metrics::global().render(&Default::default());
    let corrupted_findings: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("registratur_fixity_findings_total{finding=\"corrupted\"} "))
        .and_then(|value| value.parse().ok())
        .expect("the findings counter");
    assert!(corrupted_findings >= 1, "the read's finding is counted: {metrics}");

    // The scrub finds the bytes gone from the store and reports them as what they are: corrupted.
    let report = archivist.check_fixity(|_| {}).await.unwrap();
    assert_eq!(
        (report.corrupted.clone(), report.missing.clone()),
        (vec![damaged.clone()], vec![]),
        "{report:?}"
    );
    assert_eq!(report.quarantined, 1);

    // The other Version is intact; deleted behind the engine's back, it is data loss too.
    let mut intact = Vec::new();
    fachverfahren.read_content(id, Some(2), None, &mut intact).await.unwrap();
    assert_eq!(intact, second);
    let gone = BlobDigest::of(&second).blake3.to_hex();
    let path = server.data_dir.join("blobs/blobs").join(&gone[..2]).join(&gone[2..4]).join(&gone);
    std::fs::remove_file(path).unwrap();
    let error = fachverfahren.read_content(id, None, None, &mut Vec::new()).await.unwrap_err();
    assert_data_loss(error, id, 2, "missing");
    let quarantine = archivist.quarantine().await.unwrap();
    let missing = quarantine.iter().find(|e| e.record.blake3 == gone).expect("registered at once");
    assert_eq!(missing.record.damage, Damage::Missing);

    // Each finding is one `fixity.damage` journal entry, however often the bytes were read.
    let (found, damaged_hex, gone_hex) =
        (std::sync::Arc::new(std::sync::Mutex::new(Vec::new())), damaged, gone);
    let seen = found.clone();
    let server = server
        .restart_after(move |data_dir| {
            let store = Store::open(data_dir).unwrap();
            let head = store.meta().journal_head().unwrap().seq;
            let entries = store.meta().journal_entries(1, head as usize).unwrap();
            *seen.lock().unwrap() =
                entries.into_iter().filter(|e| e.action == "fixity.damage").collect::<Vec<JournalEntry>>();
        })
        .await;
    let found = found.lock().unwrap().clone();
    assert_eq!(found.len(), 2, "{found:?}");
    let payloads: Vec<Value> = found.iter().map(|e| serde_json::from_slice(&e.payload).unwrap()).collect();
    assert_eq!(payloads[0]["blake3"], damaged_hex.as_str());
    assert_eq!(payloads[0]["damage"], "corrupted");
    assert_eq!(payloads[1]["blake3"], gone_hex.as_str());
    assert_eq!(payloads[1]["damage"], "missing");
    assert!(found.iter().all(|e| e.actor == "fv"));
    server.stop().await;
}

#[tokio::test]
async fn an_archivist_runs_a_scrub_reads_its_report_and_finds_what_to_restore() {
    let (server, id, aktenzeichen, first, _) = server_with_dokument().await;
    let mut archivist = server.client_as(ARCHIVIST).await;
    assert_eq!(archivist.last_scrub().await.unwrap(), None);

    let clean = archivist.check_fixity(|_| {}).await.unwrap();
    assert!(clean.is_clean(), "{clean:?}");
    assert_eq!((clean.blobs_checked, clean.bytes_checked, clean.quarantined), (2, 120_000, 0));
    assert_eq!(clean.started_by, "archivist");
    assert!(archivist.quarantine().await.unwrap().is_empty());

    let damaged = BlobDigest::of(&first).blake3.to_hex();
    rot(&server, &damaged);
    let report = archivist.check_fixity(|_| {}).await.unwrap();
    // Whoever read the blob first quarantined it: the scrub finds it corrupted or, already moved aside,
    // missing. Either way it is named, and the register holds it.
    let named: Vec<&String> = report.corrupted.iter().chain(&report.missing).collect();
    assert_eq!(named, vec![&damaged], "{report:?}");
    assert_eq!(report.quarantined, 1);
    assert!(!report.is_clean());

    // The report is kept, and the run is journaled under the archivist's name.
    let last = archivist.last_scrub().await.unwrap().expect("a recorded report");
    assert_eq!(
        (last.corrupted.clone(), last.missing.clone()),
        (report.corrupted.clone(), report.missing.clone())
    );
    assert_eq!((last.blobs_checked, last.started_by.as_str()), (2, "archivist"));
    assert!(last.finished_at >= last.started_at);

    let quarantine = archivist.quarantine().await.unwrap();
    assert_eq!(quarantine.len(), 1);
    let entry = &quarantine[0];
    assert_eq!(entry.record.blake3, damaged);
    assert_eq!(entry.record.sha256, BlobDigest::of(&first).sha256.to_hex());
    assert_eq!(entry.record.size, 70_000);
    assert!(matches!(entry.record.damage, Damage::Corrupted | Damage::Missing));
    assert_eq!(entry.record.found_by, "archivist");
    assert_eq!(entry.references.len(), 1, "{entry:?}");
    let expected = BlobReference::Version {
        dokument_id: id,
        akte_id: entry_akte(&entry.references[0]),
        aktenzeichen: aktenzeichen.clone(),
        version: 1,
        part: "original".into(),
        filename: "antrag.bin".into(),
    };
    assert_eq!(entry.references, vec![expected]);

    // Restored from a backup (the same bytes put again), the next scrub finds it intact and clears it.
    server
        .client()
        .await
        .put_blob(std::io::Cursor::new(first.clone()), "restored from backup")
        .await
        .unwrap();
    let after = archivist.check_fixity(|_| {}).await.unwrap();
    assert!(after.is_clean() && after.quarantined == 0, "{after:?}");
    assert!(archivist.quarantine().await.unwrap().is_empty());

    // Every run is journaled under the archivist's name.
    let scrubs = std::sync::Arc::new(std::sync::Mutex::new(0));
    let count = scrubs.clone();
    let server = server
        .restart_after(move |data_dir| {
            let store = Store::open(data_dir).unwrap();
            let entries = store.meta().journal_entries(1, 10_000).unwrap();
            *count.lock().unwrap() =
                entries.iter().filter(|e| e.actor == "archivist" && e.action == "fixity.scrub").count();
        })
        .await;
    assert_eq!(*scrubs.lock().unwrap(), 3);
    server.stop().await;
}

/// What an outside party computes from an exported entry: BLAKE3 of
/// `"RJE1" | seq u64 BE | prev 32 bytes | time_ms i64 BE | (u32 BE length | bytes) for actor, action, payload`.
fn recompute_entry_hash(entry: &Value) -> String {
    let mut body = b"RJE1".to_vec();
    body.extend_from_slice(&entry["seq"].as_u64().unwrap().to_be_bytes());
    body.extend_from_slice(&hex::decode(entry["prev_hash"].as_str().unwrap()).unwrap());
    body.extend_from_slice(&entry["time_ms"].as_i64().unwrap().to_be_bytes());
    let payload = entry["payload"].as_str().unwrap().as_bytes().to_vec();
    for field in
        [entry["actor"].as_str().unwrap().as_bytes(), entry["action"].as_str().unwrap().as_bytes(), &payload]
    {
        body.extend_from_slice(&(field.len() as u32).to_be_bytes());
        body.extend_from_slice(field);
    }
    blake3::hash(&body).to_hex().to_string()
}

/// Checks an export the way an outside party would; returns the first entry that fails, and why.
fn outside_check(export: &Value) -> Option<(u64, &'static str)> {
    let entries = export["journal"].as_array().unwrap();
    for (i, entry) in entries.iter().enumerate() {
        let seq = entry["seq"].as_u64().unwrap();
        if recompute_entry_hash(entry) != entry["entry_hash"].as_str().unwrap() {
            return Some((seq, "hash"));
        }
        if let Some(next) = entries.get(i + 1)
            && next["seq"].as_u64().unwrap() == seq + 1
            && next["prev_hash"] != entry["entry_hash"]
        {
            return Some((seq, "link"));
        }
    }
    None
}

async fn export(client: &mut Client, id: u64) -> Value {
    serde_json::from_str(&client.export_document_history(id).await.unwrap()).unwrap()
}

#[tokio::test]
async fn the_history_export_is_complete_and_verifiable_and_tampering_is_named() {
    let (server, id, aktenzeichen, first, second) = server_with_dokument().await;
    let mut archivist = server.client_as(ARCHIVIST).await;
    let exported = export(&mut archivist, id).await;

    assert_eq!(exported["format"], "registratur-history-export/1");
    assert_eq!(exported["exported_by"], "archivist");
    assert_eq!(exported["aktenzeichen"], aktenzeichen.as_str());
    assert_eq!(exported["dokument"]["id"], id);
    assert_eq!(exported["dokument"]["title"], "Bauantrag Musterstraße 1");
    assert_eq!(exported["dokument"]["current_version"], 2);
    let versionen = exported["versionen"].as_array().unwrap();
    assert_eq!(versionen.len(), 2);
    for (version, bytes) in versionen.iter().zip([&first, &second]) {
        let digest = BlobDigest::of(bytes);
        assert_eq!(version["original"]["blake3"], digest.blake3.to_hex().as_str());
        assert_eq!(version["original"]["sha256"], digest.sha256.to_hex().as_str());
        assert_eq!(version["original"]["size"], bytes.len());
    }
    assert_eq!(versionen[1]["reason"], "Korrektur");
    let journal = exported["journal"].as_array().unwrap();
    let actions: Vec<&str> = journal.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["dokument.add", "version.add"]);
    let (add_seq, version_seq) = (journal[0]["seq"].as_u64().unwrap(), journal[1]["seq"].as_u64().unwrap());
    assert_eq!(version_seq, add_seq + 1, "the two entries are adjacent, so their link is checkable");
    assert!(journal.iter().all(|e| e["actor"] == "admin" && !e["time"].as_str().unwrap().is_empty()));
    let payload: Value = serde_json::from_str(journal[1]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["sha256"], BlobDigest::of(&second).sha256.to_hex().as_str());
    assert_eq!(outside_check(&exported), None);
    assert_eq!(exported["journal_head"]["seq"], version_seq);
    assert_eq!(exported["journal_head"]["hash"], journal[1]["entry_hash"]);
    assert_eq!(exported["journal_check"]["intact"], true);

    // Edited in the database: the Dokument's first entry now claims another title, its stored hash kept.
    let original_bytes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = original_bytes.clone();
    let server = server
        .restart_after(move |data_dir| {
            let store = Store::open(data_dir).unwrap();
            let entry = store.meta().journal_entry(add_seq).unwrap().unwrap();
            *keep.lock().unwrap() = entry.encode();
            let mut edited = entry.clone();
            edited.payload = String::from_utf8(entry.payload)
                .unwrap()
                .replace("Musterstraße 1", "Musterstraße 9")
                .into_bytes();
            store.meta().raw_put_for_tests(Cf::Journal, &add_seq.to_be_bytes(), &edited.encode()).unwrap();
        })
        .await;
    let mut archivist = server.client_as(ARCHIVIST).await;
    let check = archivist.verify_journal().await.unwrap();
    let (broken, problem) = check.first_break.expect("the edit is found");
    assert_eq!(broken, add_seq);
    assert!(problem.contains("edited"), "{problem}");
    let tampered = export(&mut archivist, id).await;
    assert_eq!(outside_check(&tampered), Some((add_seq, "hash")));
    assert_eq!(tampered["journal_check"]["intact"], false);
    assert_eq!(tampered["journal_check"]["broken_seq"], add_seq);

    // Replaced by a forgery whose own hash is right: the next entry's link names it.
    let server = server
        .restart_after(move |data_dir| {
            let store = Store::open(data_dir).unwrap();
            let original = JournalEntry::decode(&original_bytes.lock().unwrap()).unwrap();
            let forged = JournalEntry::new(
                original.seq,
                original.prev_hash,
                original.time_ms,
                original.actor.clone(),
                original.action.clone(),
                String::from_utf8(original.payload)
                    .unwrap()
                    .replace("Musterstraße 1", "Musterstraße 9")
                    .into_bytes(),
            );
            store.meta().raw_put_for_tests(Cf::Journal, &add_seq.to_be_bytes(), &forged.encode()).unwrap();
        })
        .await;
    let mut archivist = server.client_as(ARCHIVIST).await;
    let (broken, problem) =
        archivist.verify_journal().await.unwrap().first_break.expect("the forgery is found");
    assert_eq!(broken, add_seq);
    assert!(problem.contains("replaced"), "{problem}");
    let forged = export(&mut archivist, id).await;
    assert_eq!(outside_check(&forged), Some((add_seq, "link")));
    assert_eq!(forged["journal_check"]["broken_seq"], add_seq);
    server.stop().await;
}

#[tokio::test]
async fn exporting_an_unknown_dokument_is_not_found() {
    let server = TestServer::start().await;
    let error = server.client_as(ARCHIVIST).await.export_document_history(999).await.unwrap_err();
    assert!(
        matches!(error, registratur::grpc::client::ClientError::Rpc { code: tonic::Code::NotFound, .. }),
        "{error}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_damaged_scan_of_a_batch_names_its_batch() {
    let server = TestServer::start().await;
    let header = registratur::service::NewBatch {
        scanner_batch_id: "poststelle-0815".into(),
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
    let scan = sample(30_000, 9);
    let files = vec![
        registratur::grpc::client::BatchFileSource {
            filename: "deckblatt.tif".into(),
            bytes: sample(20_000, 8),
        },
        registratur::grpc::client::BatchFileSource { filename: "seite-2.tif".into(), bytes: scan.clone() },
    ];
    let receipt = server.client_as(crate::support::MAILROOM).await.ingest(header, files).await.unwrap();
    let damaged = BlobDigest::of(&scan).blake3.to_hex();
    rot(&server, &damaged);

    let mut archivist = server.client_as(ARCHIVIST).await;
    let report = archivist.check_fixity(|_| {}).await.unwrap();
    assert_eq!(report.quarantined, 1, "{report:?}");
    let quarantine = archivist.quarantine().await.unwrap();
    assert_eq!(quarantine.len(), 1);
    assert_eq!(quarantine[0].record.blake3, damaged);
    let expected = BlobReference::BatchFile {
        batch_id: receipt.batch_id,
        scanner_batch_id: "poststelle-0815".into(),
        file: 1,
        filename: "seite-2.tif".into(),
    };
    assert_eq!(quarantine[0].references, vec![expected]);
    server.stop().await;
}
