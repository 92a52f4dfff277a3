//! The scheduled fixity scrub finds a damaged blob on its own: it quarantines it, names it in a
//! `fixity.scrub` journal entry and counts it in the metrics.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use registratur::records::aktenplan::Aktenplan;
use registratur::records::aktenzeichen::{AktenplanKey, AktenzeichenFormat};
use registratur::records::model::Channel;
use registratur::records::repo::{AkteRef, NewDokument, Records};
use registratur::service::{Engine, EngineSettings, SCRUB_ACTOR, ScrubSettings};

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

#[test]
fn the_scheduled_scrub_quarantines_and_reports_a_damaged_blob() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let scrub = ScrubSettings { interval: Some(Duration::from_millis(100)), bytes_per_second: 1 << 30 };
    let engine = Engine::open(&data_dir, EngineSettings { scrub, ..EngineSettings::default() }).unwrap();
    let records = Records::open(engine.store().clone(), AktenzeichenFormat::default()).unwrap();
    records.import_aktenplan("test", &Aktenplan::example_kgst()).unwrap();
    let unit = AktenplanKey::parse("32.10.05").unwrap();
    let akte = records.create_akte("test", &unit, "Prüfakte", None, Some(2025)).unwrap();
    let new = NewDokument {
        akte: AkteRef::Id(akte.id),
        vorgang_id: None,
        title: "Brief".into(),
        sender: String::new(),
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
        channel: Channel::Email,
        source: "test".into(),
        filename: "brief.txt".into(),
        media_type: "text/plain".into(),
    };
    let (_, version) = records.add_dokument("test", &new, &mut "Bytes, die verrotten".as_bytes()).unwrap();
    let hash = version.original.blake3.clone();

    // Bit rot: the file keeps its name, its bytes change.
    let file = find_file(&data_dir, &hash).expect("the blob file");
    let mut permissions = std::fs::metadata(&file).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&file, permissions).unwrap();
    std::fs::write(&file, "Bytes, die verrottet sind").unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let entry = loop {
        let entries = engine.store().meta().journal_entries(1, 10_000).unwrap();
        let found = entries.into_iter().find(|e| {
            e.action == "fixity.scrub" && String::from_utf8_lossy(&e.payload).contains(hash.as_str())
        });
        if let Some(entry) = found {
            break entry;
        }
        assert!(Instant::now() < deadline, "no scrub reported the damaged blob");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(entry.actor, SCRUB_ACTOR);
    let payload: serde_json::Value = serde_json::from_slice(&entry.payload).unwrap();
    // Whoever read the blob first quarantined it (the search indexer may have, reading its text): the
    // scrub then finds it corrupted or, already moved aside, missing. Either way it is named.
    let named = [&payload["corrupted"], &payload["missing"]];
    assert!(named.contains(&&serde_json::json!([hash])), "{payload}");
    assert!(
        find_file(&data_dir.join("blobs"), &hash)
            .is_none_or(|path| path.to_string_lossy().contains("quarantine"))
    );
    // The register keeps the blob until it is restored, and the metrics show it.
    let exposition = tokio::runtime::Runtime::new().unwrap().block_on(engine.metrics_text());
    assert!(exposition.contains("registratur_fixity_quarantined_blobs 1\n"), "{exposition}");
    let finished: i64 = exposition
        .lines()
        .find_map(|line| line.strip_prefix("registratur_fixity_last_scrub_timestamp_seconds "))
        .and_then(|value| value.parse().ok())
        .unwrap();
    assert!((finished - chrono::Utc::now().timestamp()).abs() < 120, "{exposition}");
    let metrics = registratur::metrics::global().render(&Default::default());
    let findings: u64 = metrics
        .lines()
        .filter(|line| line.starts_with("registratur_fixity_findings_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(findings >= 1, "{metrics}");
}
