//! Format migration through gRPC with the real tool chain: census, dry run, migration with the
//! validation gate, reports, re-runs, roles; and a migration job that survives SIGKILL.

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::{GrayImage, Luma};
use registratur::grpc::client::Client;
use registratur::records::aktenplan::Aktenplan;
use registratur::records::repo::AkteRef;
use registratur::service::DocumentHeader;

use crate::support::{ARCHIVIST, FACHVERFAHREN, TestServer};

/// A small grey "scan" with a pattern, distinct per `seed`.
fn page(width: u32, height: u32, seed: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| Luma([((x * 7 + y * 3 + seed * 11) % 251) as u8]))
}

fn jpeg(page: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(page).unwrap();
    out
}

fn png(page: &GrayImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    page.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn header(akte: &str, filename: &str, media_type: &str) -> DocumentHeader {
    DocumentHeader {
        akte: AkteRef::Aktenzeichen(akte.into()),
        vorgang_id: None,
        title: format!("Altbestand {filename}"),
        sender: "Bauamt".into(),
        fremdes_geschaeftszeichen: String::new(),
        posteingangsdatum: "2019-06-03".into(),
        channel: "fachverfahren".into(),
        source: "altdaten".into(),
        filename: filename.into(),
        media_type: media_type.into(),
    }
}

async fn add(client: &mut Client, akte: &str, filename: &str, media_type: &str, bytes: Vec<u8>) -> u64 {
    client.add_document(header(akte, filename, media_type), Cursor::new(bytes)).await.unwrap().dokument.id
}

async fn wait_done(client: &mut Client, job: u64) -> registratur::grpc::client::MigrationJobReport {
    let report = tokio::time::timeout(Duration::from_secs(120), client.watch_migration(job, |_| {}))
        .await
        .expect("the job finished within two minutes")
        .unwrap();
    assert!(report.is_finished(), "{report:?}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archivists_migrate_images_to_pdfa_with_validated_derived_versions() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let bau =
        admin.create_akte("32.10.05", "Bauakte Altbestand", None, Some(2019)).await.unwrap().aktenzeichen;
    let other = admin.create_akte("50.10", "Sozialakte", None, Some(2019)).await.unwrap().aktenzeichen;

    let jpeg_bytes = jpeg(&page(320, 240, 1));
    let tiff = registratur_testkit::write_tiff(&[page(300, 400, 2), page(300, 400, 3)], 300.0).unwrap();
    let tiff_id = add(&mut admin, &bau, "akte.tif", "image/tiff", tiff.clone()).await;
    let jpeg_id = add(&mut admin, &bau, "foto.jpg", "image/jpeg", jpeg_bytes.clone()).await;
    let png_id = add(&mut admin, &other, "plan.png", "image/png", png(&page(200, 100, 4))).await;
    let text_id = add(&mut admin, &bau, "vermerk.txt", "text/plain", b"Vermerk: erledigt".to_vec()).await;
    // A TIFF whose compressed image data is damaged: still a TIFF, but its pages cannot be decoded.
    let mut broken = tiff.clone();
    broken[16..600].fill(0xA5);
    let broken_id = add(&mut admin, &bau, "kaputt.tif", "image/tiff", broken).await;
    let unknown_id = add(&mut admin, &bau, "daten.bin", "application/octet-stream", vec![0x17; 300]).await;

    let mut archivist = server.client_as(ARCHIVIST).await;

    // The census names formats by PUID, per subtree and in total.
    let census = archivist.census(None, None).await.unwrap();
    let total = |puid: &str| census.iter().find(|r| r.unit.is_empty() && r.puid == puid).map(|r| r.dokumente);
    assert_eq!(total("fmt/353"), Some(2), "{census:#?}");
    assert_eq!(total("x-fmt/111"), Some(1), "{census:#?}");
    assert!(census.iter().any(|r| r.unit == "32" && r.puid == "fmt/353" && r.dokumente == 2));
    assert!(census.iter().any(|r| r.unit == "50" && r.puid.starts_with("fmt/1") && r.dokumente == 1));
    assert!(census.iter().all(|r| r.unit != "50" || r.puid != "fmt/353"));

    // A dry run changes nothing and predicts the failure.
    let plan = archivist.start_migration(true, None, None).await.unwrap();
    let plan = wait_done(&mut archivist, plan.job_id).await;
    assert_eq!(
        (plan.examined, plan.migrated, plan.kept, plan.flagged, plan.failed),
        (6, 3, 1, 1, 1),
        "{plan:?}"
    );
    assert_eq!(admin.document(tiff_id).await.unwrap().versions.len(), 1);

    // The migration.
    let job = archivist.start_migration(false, None, None).await.unwrap();
    let mut states = Vec::new();
    let done = tokio::time::timeout(
        Duration::from_secs(120),
        archivist.watch_migration(job.job_id, |r| states.push(r.state.clone())),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(done.state, "done");
    assert_eq!((done.migrated, done.kept, done.flagged, done.failed), (3, 1, 1, 1), "{done:?}");
    assert!(done.output_bytes > 0);
    assert_eq!(states.last().map(String::as_str), Some("done"));

    for id in [tiff_id, jpeg_id, png_id] {
        let details = admin.document(id).await.unwrap();
        assert_eq!(details.versions.len(), 2, "Dokument {id}");
        let derived = &details.versions[1];
        assert_eq!(derived.derived_from, Some(1));
        assert_eq!(derived.original.media_type, "application/pdf");
        let mut pdf = Vec::new();
        admin.read_content(id, Some(2), None, &mut pdf).await.unwrap();
        let check = registratur_scan::pdfa::check(&pdf);
        assert!(check.is_valid(), "Dokument {id}: {check:?}");
        assert_eq!(registratur_scan::identify::identify(&pdf).puid, "fmt/477", "PDF/A-2b");
        if id == jpeg_id {
            assert!(
                pdf.windows(jpeg_bytes.len()).any(|w| w == jpeg_bytes),
                "the JPEG stream is embedded unchanged"
            );
        }
        // The original stays as it was.
        let mut original = Vec::new();
        admin.read_content(id, Some(1), None, &mut original).await.unwrap();
        assert_eq!(blake3::hash(&original).to_hex().as_str(), details.versions[0].original.blake3);
    }
    for id in [text_id, broken_id, unknown_id] {
        assert_eq!(admin.document(id).await.unwrap().versions.len(), 1, "Dokument {id}");
    }

    let (items, next) = archivist.migration_report(job.job_id, 0, 0).await.unwrap();
    assert_eq!(next, 0);
    let item = |id: u64| items.iter().find(|i| i.dokument_id == id).unwrap();
    assert_eq!(item(tiff_id).outcome, "migrated");
    assert_eq!(item(tiff_id).pages, 2);
    assert_eq!(item(broken_id).outcome, "failed");
    assert!(item(broken_id).reason.contains("cannot be read"), "{:?}", item(broken_id));
    assert_eq!(item(unknown_id).outcome, "flagged");
    assert_eq!(item(text_id).outcome, "kept");

    // The history of a migrated Dokument names the tool, its version and the hashes.
    let history = admin.document_history(tiff_id).await.unwrap();
    let migration =
        history.iter().find(|h| h.action == "version.add").expect("the migration is in the history");
    assert_eq!(migration.actor, "archivist");
    assert!(
        migration.details.contains("\"validation\"") && migration.details.contains("\"tool_version\""),
        "{migration:?}"
    );

    // Running the policy again changes nothing.
    let again = archivist.start_migration(false, None, None).await.unwrap();
    let again = wait_done(&mut archivist, again.job_id).await;
    assert_eq!((again.migrated, again.kept), (0, 4), "{again:?}");
    assert_eq!(admin.document(tiff_id).await.unwrap().versions.len(), 2);

    // Finished jobs cannot be paused; unknown jobs are named.
    let error = archivist.control_migration(job.job_id, "pause").await.unwrap_err().to_string();
    assert!(error.contains("FailedPrecondition") && error.contains("done"), "{error}");
    let error = archivist.migration_job(999).await.unwrap_err().to_string();
    assert!(error.contains("NotFound"), "{error}");
    let (name, version, sha256, toml) = archivist.migration_policy().await.unwrap();
    assert_eq!((name.as_str(), version, sha256.len()), ("registratur-default", 1, 64));
    assert!(toml.contains("fmt/353"));

    // A Fachverfahren may neither count nor migrate.
    let mut fachverfahren = server.client_as(FACHVERFAHREN).await;
    let error = fachverfahren.start_migration(false, None, None).await.unwrap_err().to_string();
    assert!(error.contains("PermissionDenied"), "{error}");
    let error = archivist.start_migration(false, Some("99.99".into()), None).await.unwrap_err().to_string();
    assert!(error.contains("99.99"), "{error}");
    assert!(admin.verify_journal().await.unwrap().first_break.is_none());
}

/// An animated GIF of two frames.
fn animated_gif() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        for seed in 0..2 {
            let frame = image::RgbaImage::from_fn(16, 16, |x, y| {
                image::Rgba([(x * 13 + seed * 50) as u8, (y * 7) as u8, 90, 255])
            });
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    out
}

/// What the counters call flagged the report calls flagged, for a policy flag and a Dokument that
/// needs a decision alike; a TIFF cut short is a TIFF (fmt/353) that failed as damaged, not an
/// unknown format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_outcomes_agree_with_the_counters_and_a_truncated_tiff_is_damaged() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let akte = admin.create_akte("32.10.05", "Bauakte", None, Some(2019)).await.unwrap().aktenzeichen;
    let gif_id = add(&mut admin, &akte, "animation.gif", "image/gif", animated_gif()).await;
    let unknown_id = add(&mut admin, &akte, "daten.bin", "application/octet-stream", vec![0x17; 300]).await;
    let tiff = registratur_testkit::write_tiff(&[page(300, 400, 2)], 300.0).unwrap();
    assert!(tiff.starts_with(b"II*\0"));
    // Cut short so that the first directory lies past the end (the encoder writes it after the strips).
    let first_ifd = u32::from_le_bytes(tiff[4..8].try_into().unwrap()) as usize;
    let cut = tiff[..first_ifd.min(tiff.len() / 2)].to_vec();
    assert!(first_ifd >= cut.len(), "the first directory points past the end");
    let cut_id = add(&mut admin, &akte, "abgeschnitten.tif", "image/tiff", cut).await;

    let mut archivist = server.client_as(ARCHIVIST).await;
    let census = archivist.census(None, None).await.unwrap();
    let total = |puid: &str| census.iter().find(|r| r.unit.is_empty() && r.puid == puid).map(|r| r.dokumente);
    assert_eq!(total("fmt/353"), Some(1), "{census:#?}");

    for dry_run in [true, false] {
        let job = archivist.start_migration(dry_run, None, None).await.unwrap();
        let done = wait_done(&mut archivist, job.job_id).await;
        let (items, _) = archivist.migration_report(job.job_id, 0, 0).await.unwrap();
        let item = |id: u64| items.iter().find(|i| i.dokument_id == id).unwrap().clone();
        let count = |outcome: &str| items.iter().filter(|i| i.outcome == outcome).count() as u64;
        assert_eq!((done.flagged, done.failed), (count("flagged"), count("failed")), "{done:?} {items:#?}");
        assert_eq!((done.flagged, done.failed), (2, 1), "{done:?}");

        let gif = item(gif_id);
        assert_eq!(gif.outcome, "flagged", "{gif:?}");
        assert!(gif.reason.contains("needs a human decision") && gif.reason.contains("2 frames"), "{gif:?}");
        assert_eq!(item(unknown_id).outcome, "flagged");
        let cut = item(cut_id);
        assert_eq!((cut.puid.as_str(), cut.outcome.as_str()), ("fmt/353", "failed"), "{cut:?}");
        assert!(cut.reason.contains("damaged or truncated"), "{cut:?}");
        assert!(!cut.reason.contains("policy"), "no advice to add a policy rule: {cut:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_job_stays_paused_across_a_restart_and_resumes_where_it_stopped() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let akte = admin.create_akte("32.10.05", "Bauakte", None, Some(2019)).await.unwrap().aktenzeichen;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(add(&mut admin, &akte, "scan.png", "image/png", png(&page(64, 64, n))).await);
    }
    let mut archivist = server.client_as(ARCHIVIST).await;
    let job = archivist.start_migration(false, Some("32".into()), None).await.unwrap();
    let paused = archivist.control_migration(job.job_id, "pause").await.unwrap();
    assert_eq!(paused.control, "pause");
    let deadline = Instant::now() + Duration::from_secs(30);
    while archivist.migration_job(job.job_id).await.unwrap().state != "paused" {
        assert!(Instant::now() < deadline, "the worker did not pause the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let examined = archivist.migration_job(job.job_id).await.unwrap().examined;

    let server = server.restart().await;
    let mut archivist = server.client_as(ARCHIVIST).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let still = archivist.migration_job(job.job_id).await.unwrap();
    assert_eq!((still.state.as_str(), still.examined), ("paused", examined));

    let resumed = archivist.control_migration(job.job_id, "resume").await.unwrap();
    assert_eq!(resumed.control, "run");
    assert_ne!(resumed.state, "paused", "a resumed job waits for the worker or runs: {resumed:?}");
    let done = wait_done(&mut archivist, job.job_id).await;
    assert_eq!((done.state.as_str(), done.migrated), ("done", 12));
    let mut admin = server.client().await;
    for id in ids {
        assert_eq!(admin.document(id).await.unwrap().versions.len(), 2);
    }
}

/// Set in the child's environment to the data directory; without it the child test does nothing.
const CHILD_DIR_VAR: &str = "REGISTRATUR_MIGRATION_CHILD_DIR";

/// Dokumente in the SIGKILL test: `REGISTRATUR_MIGRATION_CRASH_DOCS` (scripts/migration-crash-harness
/// runs 10,000), else a few hundred.
fn crash_docs() -> usize {
    std::env::var("REGISTRATUR_MIGRATION_CRASH_DOCS").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}

/// A migration job is killed with SIGKILL at random moments until it is done; then every Dokument
/// has exactly one derived Version, the job has one item per Dokument, and the journal verifies.
#[test]
fn a_migration_job_survives_sigkill_and_migrates_every_dokument_exactly_once() {
    use std::process::{Command, Stdio};

    use rand::Rng;
    use registratur::migrate::{JobMode, JobState, MigrationRepo, Outcome, Policy, Scope};
    use registratur::records::aktenzeichen::{AktenplanKey, AktenzeichenFormat};
    use registratur::records::model::Channel;
    use registratur::records::repo::{NewDokument, Records};
    use registratur_storage::Store;

    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let docs = crash_docs();
    let started = Instant::now();
    let job = {
        let store = Store::open(&data_dir).unwrap();
        let records = Records::open(store.clone(), AktenzeichenFormat::default()).unwrap();
        records.import_aktenplan("setup", &Aktenplan::example_kgst()).unwrap();
        let key = AktenplanKey::parse("32.10.05").unwrap();
        let akte = records.create_akte("setup", &key, "Altbestand", None, Some(2019)).unwrap();
        for n in 0..docs {
            let new = NewDokument {
                akte: AkteRef::Id(akte.id),
                vorgang_id: None,
                title: format!("Scan {n}"),
                sender: "Bauamt".into(),
                fremdes_geschaeftszeichen: String::new(),
                posteingangsdatum: chrono::NaiveDate::from_ymd_opt(2019, 1, 2).unwrap(),
                channel: Channel::Fachverfahren,
                source: "altdaten".into(),
                filename: format!("scan-{n}.png"),
                media_type: "image/png".into(),
            };
            records.add_dokument("setup", &new, &mut png(&page(48, 32, n as u32)).as_slice()).unwrap();
        }
        let repo = MigrationRepo::new(store);
        repo.create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id).unwrap().id
    };
    eprintln!("{docs} Dokumente stored in {:.1} s", started.elapsed().as_secs_f64());

    let mut rng = rand::rng();
    let mut kills = 0;
    loop {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "migration::migration_crash_child_process", "--include-ignored", "--nocapture"])
            .env(CHILD_DIR_VAR, &data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // After enough kills, let the last child finish the job.
        let kill_at =
            (kills < 8).then(|| Instant::now() + Duration::from_millis(rng.random_range(400..=2500)));
        let deadline = Instant::now() + Duration::from_secs(900);
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "the migration child failed: {status}");
                break true;
            }
            if kill_at.is_some_and(|at| Instant::now() >= at) {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                break false;
            }
            assert!(Instant::now() < deadline, "the migration child did not finish the job");
            std::thread::sleep(Duration::from_millis(10));
        };
        let store = Store::open(&data_dir).unwrap();
        let progress = MigrationRepo::new(store).progress(job).unwrap();
        eprintln!(
            "after {kills} kills: {} of {docs} examined, {:?}",
            progress.counts.examined, progress.state
        );
        if finished || progress.state == JobState::Done {
            break;
        }
    }

    let store = Store::open(&data_dir).unwrap();
    let records = Records::open(store.clone(), AktenzeichenFormat::default()).unwrap();
    let repo = MigrationRepo::new(store.clone());
    let progress = repo.progress(job).unwrap();
    assert_eq!(progress.state, JobState::Done);
    assert_eq!(
        (progress.counts.examined, progress.counts.migrated),
        (docs as u64, docs as u64),
        "{progress:?}"
    );
    let items = repo.items(job, 0, docs + 10).unwrap();
    assert_eq!(items.len(), docs);
    assert!(items.iter().all(|item| matches!(item.outcome, Outcome::Migrated { new_version: 2, .. })));
    for dokument in records.dokumente_after(0, docs + 10).unwrap() {
        let versions = records.versions(&dokument).unwrap();
        assert_eq!(versions.len(), 2, "Dokument {} migrated exactly once", dokument.id);
        assert_eq!(versions[1].derived_from, Some(1));
    }
    let head = store.meta().journal_head().unwrap().seq;
    let derivations = store
        .meta()
        .journal_entries(1, head as usize)
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.action == "version.add" && String::from_utf8_lossy(&e.payload).contains("\"derived_from\"")
        })
        .count();
    assert_eq!(derivations, docs, "one derivation per Dokument in the journal");
    assert!(store.verify_journal().unwrap().first_break.is_none());
    eprintln!(
        "{docs} Dokumente migrated exactly once across {kills} kills in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The server the SIGKILL test kills: an engine on the test's data directory, whose migration worker
/// resumes the job; exits once the job is done. Does nothing unless started by that test.
#[test]
#[ignore = "the child process of the migration SIGKILL test, which sets REGISTRATUR_MIGRATION_CHILD_DIR"]
fn migration_crash_child_process() {
    let Some(data_dir) = std::env::var_os(CHILD_DIR_VAR) else { return };
    let engine = registratur::service::Engine::open(&data_dir, Default::default()).unwrap();
    let repo = registratur::migrate::MigrationRepo::new(engine.store().clone());
    let lifetime = Instant::now() + Duration::from_secs(900);
    while Instant::now() < lifetime {
        let jobs = repo.jobs().unwrap();
        if !jobs.is_empty() && jobs.iter().all(|(_, progress)| progress.state.is_finished()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the migration job did not finish within the child's lifetime");
}
