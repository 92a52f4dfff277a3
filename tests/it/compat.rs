//! Compatibility: every data directory an earlier build wrote (`tests/compat/<name>/`, made by
//! `scripts/make-compat-fixture`) must open with this build; every stored entry decodes through the
//! keyspace registry, the journal verifies, every blob a record names reads back under its hash, and the
//! API answers as it did when the fixture was written (`expect.json`).

use std::path::{Path, PathBuf};

use registratur::records::repo::AkteRef;
use registratur::search::SearchRequest;
use registratur::service::BatchQuery;
use registratur::service::keyspaces::check_store;
use registratur_storage::Store;
use serde_json::Value;

use crate::support::{TestServer, copy_dir};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let mut found: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().map(|entry| entry.unwrap().path()).filter(|p| p.is_dir()).collect();
    found.sort();
    assert!(!found.is_empty(), "no fixtures under {}", root.display());
    found
}

/// The list a CLI `--json` answer held: the array itself or the first array field of an object.
fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Object(fields) => fields.values().find_map(|v| v.as_array().cloned()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[test]
fn every_stored_entry_of_every_fixture_decodes_through_the_registry() {
    for fixture in fixtures() {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&fixture.join("data"), dir.path());
        let store = Store::open(dir.path()).unwrap();
        let check = check_store(&store.meta().snapshot()).unwrap();
        assert!(check.problems.is_empty(), "{}: {:#?}", fixture.display(), check.problems);
        for keyspace in [
            "akten",
            "dokumente",
            "versionen",
            "vorgaenge",
            "aktenzeichen",
            "batches",
            "pieces",
            "batch-summaries",
            "klaerfaelle",
            "migration-jobs",
            "migration-items",
            "migration-progress",
            "last-scrub",
            "journal",
            "blob-records",
        ] {
            assert!(
                check.decoded.get(keyspace).is_some_and(|n| *n > 0),
                "{}: no {keyspace} decoded: {:?}",
                fixture.display(),
                check.decoded
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_serves_what_it_served_when_it_was_written() {
    for fixture in fixtures() {
        let name = fixture.display().to_string();
        let expect: Value =
            serde_json::from_slice(&std::fs::read(fixture.join("expect.json")).unwrap()).unwrap();
        let server = TestServer::start_on_copy_of(&fixture.join("data")).await;
        let mut client = server.client().await;

        // The journal is intact and unchanged: opening the store wrote nothing into it.
        let status = client.status().await.unwrap();
        assert_eq!(status.journal_length, expect["status"]["journal_length"].as_u64().unwrap(), "{name}");
        assert_eq!(status.journal_head.as_deref(), expect["status"]["journal_head"].as_str(), "{name}");
        assert_eq!(status.blob_count, expect["status"]["blob_count"].as_u64().unwrap(), "{name}");
        let journal = client.verify_journal().await.unwrap();
        assert_eq!(journal.first_break, None, "{name}");
        assert_eq!(journal.entries_checked, status.journal_length, "{name}");

        // Every Akte with its Vorgänge and Dokumente; every Version's original and renditions read back
        // under their recorded hashes.
        let (akten, _) = client.list_akten(None, true, 1000, "").await.unwrap();
        let expected_akten = list(&expect["akten"]);
        assert_eq!(akten.len(), expected_akten.len(), "{name}");
        let mut contents = 0;
        for (akte, expected) in akten.iter().zip(&expected_akten) {
            assert_eq!(serde_json::to_value(akte).unwrap(), *expected, "{name}: Akte");
            let details = client.akte(&AkteRef::Aktenzeichen(akte.aktenzeichen.clone())).await.unwrap();
            let shown = &expect[format!("akte {}", akte.aktenzeichen)];
            assert_eq!(serde_json::to_value(&details.dokumente).unwrap(), shown["dokumente"], "{name}");
            assert_eq!(serde_json::to_value(&details.vorgaenge).unwrap(), shown["vorgaenge"], "{name}");
            for dokument in &details.dokumente {
                let document = client.document(dokument.id).await.unwrap();
                assert_eq!(document.versions.len() as u32, dokument.current_version, "{name}");
                for version in &document.versions {
                    let kinds = std::iter::once(None)
                        .chain(version.renditions.iter().map(|r| Some(r.kind.to_string())));
                    for kind in kinds {
                        let mut bytes = Vec::new();
                        let content = client
                            .read_content(dokument.id, Some(version.number), kind.as_deref(), &mut bytes)
                            .await
                            .unwrap();
                        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), content.blake3, "{name}");
                        contents += 1;
                    }
                }
            }
        }
        assert!(contents > 10, "{name}: only {contents} contents read");

        // The mailroom's batches and Klärfälle, and the migration job, as reported then.
        let (batches, _) = client.list_batches(BatchQuery::default()).await.unwrap();
        assert_eq!(serde_json::to_value(&batches).unwrap(), Value::Array(list(&expect["batches"])), "{name}");
        let klaerfaelle = client.klaerfaelle(true).await.unwrap();
        assert_eq!(
            serde_json::to_value(&klaerfaelle).unwrap(),
            Value::Array(list(&expect["klaerfaelle"])),
            "{name}"
        );
        let job = client.migration_job(1).await.unwrap();
        assert_eq!(serde_json::to_value(&job).unwrap(), expect["migration_jobs"], "{name}");

        // The search index generation written then answers the same queries with the same Dokumente.
        let searches: Vec<(&String, &Value)> =
            expect.as_object().unwrap().iter().filter(|(key, _)| key.starts_with("search ")).collect();
        assert!(!searches.is_empty(), "{name}");
        for (key, answer) in searches {
            let query = key.trim_start_matches("search ").to_string();
            let results =
                client.search(&SearchRequest { query, limit: 20, ..Default::default() }).await.unwrap();
            let ids: Vec<u64> = results.hits.iter().map(|hit| hit.dokument.dokument_id).collect();
            let expected: Vec<u64> =
                list(&answer["hits"]).iter().map(|hit| hit["dokument_id"].as_u64().unwrap()).collect();
            assert!(!expected.is_empty(), "{name}: {key} found nothing when the fixture was written");
            assert_eq!(ids, expected, "{name}: {key}");
            assert_eq!(results.total, answer["total"].as_u64().unwrap(), "{name}: {key}");
        }

        // Every blob is still there and intact.
        let scrub = client.check_fixity(|_| {}).await.unwrap();
        assert!(scrub.missing.is_empty() && scrub.corrupted.is_empty(), "{name}: {scrub:?}");
        assert_eq!(scrub.blobs_checked, status.blob_count, "{name}");
        server.stop().await;
    }
}
