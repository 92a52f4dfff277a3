//! The job machinery against a deterministic fake tool chain: outcomes, exactly-once across a stop,
//! pause/resume/cancel, scopes, dry runs and the census. The real tool chain runs in `tests/it`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tempfile::TempDir;

use registratur_storage::Store;

use super::*;
use registratur_ops::background::StopSignal;
use registratur_records::aktenplan::Aktenplan;
use registratur_records::aktenzeichen::{AktenplanKey, AktenzeichenFormat};
use registratur_records::model::Channel;
use registratur_records::repo::{AkteRef, NewDokument, Records};

/// Formats by their first bytes: `IMG` an image to migrate (TIFF), `PDFA` an archival PDF/A (kept),
/// `BAD` an image that cannot be decoded, `INVALID` an image whose output fails validation, anything
/// else unknown. Outputs are `PDFA-OUT` plus the source, so they identify as PDF/A.
struct FakeToolchain {
    migrations: AtomicUsize,
    /// Stops the given signal after this many migrations (a simulated shutdown mid-job).
    stop_after: Mutex<Option<(usize, Arc<StopSignal>)>>,
}

impl FakeToolchain {
    fn new() -> Self {
        Self { migrations: AtomicUsize::new(0), stop_after: Mutex::new(None) }
    }
}

fn ident(puid: &str, name: &str) -> Identification {
    Identification {
        puid: puid.into(),
        name: name.into(),
        version: String::new(),
        tool: "fake-identify".into(),
        tool_version: "1".into(),
    }
}

impl Toolchain for FakeToolchain {
    fn identify(&self, bytes: &[u8]) -> Identification {
        if bytes.starts_with(b"PDFA") {
            ident("fmt/477", "PDF/A-2b")
        } else if bytes.starts_with(b"IMG") || bytes.starts_with(b"BAD") || bytes.starts_with(b"INVALID") {
            ident("fmt/353", "TIFF")
        } else if bytes.starts_with(b"TEXT") {
            ident("x-fmt/111", "Plain Text File")
        } else {
            ident("UNKNOWN", "Unknown")
        }
    }

    fn identifier_version(&self) -> String {
        "1".into()
    }

    fn preflight(&self, bytes: &[u8], _: &Identification, _: Target) -> Result<u32, Failure> {
        if bytes.starts_with(b"BAD") { Err(Failure::Corrupt("truncated strip".into())) } else { Ok(1) }
    }

    fn migrate(
        &self,
        bytes: &[u8],
        _: &Identification,
        _: Target,
        about: &tools::About,
    ) -> Result<tools::Output, Failure> {
        if bytes.starts_with(b"BAD") {
            return Err(Failure::Corrupt("truncated strip".into()));
        }
        if bytes.starts_with(b"INVALID") {
            return Err(Failure::ValidationFailed(vec!["page 1: pixels differ".into()]));
        }
        let done = self.migrations.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((after, signal)) = &*self.stop_after.lock().unwrap()
            && done >= *after
        {
            signal.stop();
        }
        Ok(tools::Output {
            bytes: [b"PDFA-OUT:".as_slice(), about.title.as_bytes(), b":", bytes].concat(),
            media_type: "application/pdf".into(),
            extension: "pdf".into(),
            pages: 1,
            checks: vec!["page count 1 = 1".into()],
            changes: Vec::new(),
            tool: "fake-convert".into(),
            tool_version: "1".into(),
            parameters: "pdfa-2b".into(),
        })
    }
}

struct Fixture {
    _dir: TempDir,
    records: Arc<Records>,
    tools: Arc<FakeToolchain>,
}

impl Fixture {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let records = Arc::new(Records::open(store, AktenzeichenFormat::default()).unwrap());
        records.import_aktenplan("setup", &Aktenplan::example_kgst()).unwrap();
        Self { _dir: dir, records, tools: Arc::new(FakeToolchain::new()) }
    }

    fn runner(&self) -> Runner {
        Runner::new(
            self.records.clone(),
            self.tools.clone(),
            MigrationSettings { threads: 2, ..MigrationSettings::default() },
            Box::new(|| false),
        )
        .unwrap()
    }

    fn akte(&self, unit: &str) -> u64 {
        let key = AktenplanKey::parse(unit).unwrap();
        self.records.create_akte("setup", &key, "Akte", None, Some(2020)).unwrap().id
    }

    fn add(&self, akte: u64, bytes: &[u8]) -> u64 {
        let new = NewDokument {
            akte: AkteRef::Id(akte),
            vorgang_id: None,
            title: "Schreiben".into(),
            sender: "Amt".into(),
            fremdes_geschaeftszeichen: String::new(),
            posteingangsdatum: NaiveDate::from_ymd_opt(2020, 3, 1).unwrap(),
            channel: Channel::Fachverfahren,
            source: "test".into(),
            filename: "scan.tif".into(),
            media_type: "image/tiff".into(),
        };
        self.records.add_dokument("test", &new, &mut &bytes[..]).unwrap().0.id
    }

    fn versions(&self, id: u64) -> Vec<registratur_records::model::Version> {
        let dokument = self.records.dokument(id).unwrap();
        self.records.versions(&dokument).unwrap()
    }
}

fn run_to_end(runner: &Runner, id: u64) -> Progress {
    runner.run(id, &StopSignal::default()).unwrap();
    runner.repo().progress(id).unwrap()
}

#[test]
fn a_migration_job_derives_versions_keeps_archival_formats_and_reports_the_rest() {
    let fx = Fixture::new();
    let akte = fx.akte("32.10.05");
    let image = fx.add(akte, b"IMG one");
    let pdfa = fx.add(akte, b"PDFA already");
    let unknown = fx.add(akte, b"\x00\x01 what is this");
    let bad = fx.add(akte, b"BAD tiff");
    let invalid = fx.add(akte, b"INVALID tiff");
    let runner = fx.runner();
    let job = runner
        .repo()
        .create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id)
        .unwrap();
    assert_eq!(runner.next_job().unwrap(), Some(job.id));
    let progress = run_to_end(&runner, job.id);

    assert_eq!(progress.state, JobState::Done);
    assert_eq!(progress.total, Some(5));
    assert_eq!((progress.counts.examined, progress.counts.migrated, progress.counts.kept), (5, 1, 1));
    assert_eq!((progress.counts.flagged, progress.counts.failed), (1, 2));

    // The image has a derived Version; its original is untouched.
    let versions = fx.versions(image);
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].derived_from, Some(1));
    assert_eq!(versions[1].original.media_type, "application/pdf");
    assert_eq!(versions[1].original.filename, "scan.pdf");
    let stored = fx.records.store().blobs().get(&versions[0].original.blob_hash().unwrap()).unwrap();
    assert_eq!(stored, b"IMG one");
    for other in [pdfa, unknown, bad, invalid] {
        assert_eq!(fx.versions(other).len(), 1, "Dokument {other} must keep its one Version");
    }

    let items = runner.repo().items(job.id, 0, 100).unwrap();
    let outcome = |id: u64| items.iter().find(|i| i.dokument_id == id).unwrap().outcome.clone();
    assert!(matches!(outcome(image), Outcome::Migrated { new_version: 2, pages: 1, .. }));
    assert_eq!(outcome(pdfa), Outcome::Kept);
    assert!(matches!(outcome(unknown), Outcome::Flagged { reason } if reason.contains("UNKNOWN")));
    assert!(matches!(outcome(bad), Outcome::Failed { failure: Failure::Corrupt(_) }));
    assert!(matches!(outcome(invalid), Outcome::Failed { failure: Failure::ValidationFailed(_) }));

    // The migration is one journal entry naming tool, parameters, hashes and the validation.
    let history = fx.records.dokument_history(image).unwrap();
    let entry = history.iter().find(|e| e.action == "version.add").expect("the derivation is journaled");
    let payload: serde_json::Value = serde_json::from_slice(&entry.payload).unwrap();
    assert_eq!(payload["derived_from"], 1);
    assert_eq!(payload["event"]["migration"]["tool"], "fake-convert");
    assert_eq!(payload["event"]["migration"]["source"]["blake3"], versions[0].original.blake3);
    assert_eq!(payload["event"]["migration"]["output"]["sha256"], versions[1].original.sha256);
    assert_eq!(payload["event"]["validation"]["outcome"], "pass");
    assert_eq!(payload["event"]["identification"]["puid"], "fmt/353");
    // A failure is in the Dokument's history too.
    let failed = fx.records.dokument_history(invalid).unwrap();
    assert!(
        failed.iter().any(|e| e.action == "migration.items"
            && String::from_utf8_lossy(&e.payload).contains("pixels differ"))
    );
    assert!(fx.records.store().verify_journal().unwrap().first_break.is_none());
}

#[test]
fn running_the_policy_again_changes_nothing() {
    let fx = Fixture::new();
    let akte = fx.akte("32.10.05");
    let ids: Vec<u64> = (0..6).map(|n| fx.add(akte, format!("IMG {n}").as_bytes())).collect();
    let runner = fx.runner();
    let first = runner
        .repo()
        .create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id)
        .unwrap();
    assert_eq!(run_to_end(&runner, first.id).counts.migrated, 6);
    let journal = fx.records.store().meta().journal_head().unwrap().seq;

    // Running the finished job again does nothing at all.
    run_to_end(&runner, first.id);
    assert_eq!(fx.records.store().meta().journal_head().unwrap().seq, journal);

    // A new job over the same scope finds PDF/A everywhere and keeps it.
    let second = runner
        .repo()
        .create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id)
        .unwrap();
    let progress = run_to_end(&runner, second.id);
    assert_eq!((progress.counts.kept, progress.counts.migrated), (6, 0));
    for id in ids {
        assert_eq!(fx.versions(id).len(), 2);
    }
}

#[test]
fn a_job_stopped_midway_resumes_and_migrates_every_dokument_exactly_once() {
    let fx = Fixture::new();
    let akte = fx.akte("32.10.05");
    let ids: Vec<u64> = (0..40).map(|n| fx.add(akte, format!("IMG {n}").as_bytes())).collect();
    let runner = fx.runner();
    let job = runner
        .repo()
        .create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id)
        .unwrap();
    let stop = Arc::new(StopSignal::default());
    *fx.tools.stop_after.lock().unwrap() = Some((13, stop.clone()));
    runner.run(job.id, &stop).unwrap();
    let midway = runner.repo().progress(job.id).unwrap();
    assert_eq!(midway.state, JobState::Running);
    assert!(midway.counts.migrated >= 13 && midway.counts.migrated < 40, "{midway:?}");

    // A new runner, as after a restart, picks the job up and finishes it.
    *fx.tools.stop_after.lock().unwrap() = None;
    let restarted = fx.runner();
    assert_eq!(restarted.next_job().unwrap(), Some(job.id));
    let done = run_to_end(&restarted, job.id);
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.counts.migrated, 40);
    assert_eq!(done.counts.examined, 40);
    for id in ids {
        assert_eq!(fx.versions(id).len(), 2, "Dokument {id} migrated exactly once");
    }
    assert_eq!(restarted.repo().items(job.id, 0, 1000).unwrap().len(), 40);
}

#[test]
fn an_archivist_pauses_resumes_and_cancels_jobs() {
    let fx = Fixture::new();
    let akte = fx.akte("32.10.05");
    for n in 0..3 {
        fx.add(akte, format!("IMG {n}").as_bytes());
    }
    let runner = fx.runner();
    let repo = runner.repo();
    let job = repo.create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id).unwrap();
    repo.set_control("archivar", job.id, Control::Pause).unwrap();
    assert_eq!(runner.next_job().unwrap(), None);
    assert_eq!(repo.progress(job.id).unwrap().state, JobState::Paused);
    assert_eq!(repo.progress(job.id).unwrap().counts.examined, 0);

    repo.set_control("archivar", job.id, Control::Run).unwrap();
    assert_eq!(runner.next_job().unwrap(), Some(job.id));
    assert_eq!(run_to_end(&runner, job.id).state, JobState::Done);
    let error = repo.set_control("archivar", job.id, Control::Pause).unwrap_err();
    assert!(error.to_string().contains("is done"), "{error}");

    let other =
        repo.create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id).unwrap();
    repo.set_control("archivar", other.id, Control::Cancel).unwrap();
    assert_eq!(runner.next_job().unwrap(), None);
    assert_eq!(repo.progress(other.id).unwrap().state, JobState::Cancelled);
    assert!(matches!(repo.job(99), Err(MigrationError::JobNotFound(99))));
    // Each change of control is journaled with its actor.
    let head = fx.records.store().meta().journal_head().unwrap().seq;
    let entries = fx.records.store().meta().journal_entries(1, head as usize + 1).unwrap();
    assert!(entries.iter().any(|e| e.action == "migration.job.pause" && e.actor == "archivar"));
    assert!(entries.iter().any(|e| e.action == "migration.job.cancel"));
}

#[test]
fn a_dry_run_changes_no_dokument_and_predicts_failures() {
    let fx = Fixture::new();
    let akte = fx.akte("32.10.05");
    let image = fx.add(akte, b"IMG one");
    fx.add(akte, b"BAD two");
    fx.add(akte, b"PDFA three");
    let runner = fx.runner();
    let job =
        runner.repo().create_job("archivar", JobMode::Plan, Scope::default(), Policy::builtin().id).unwrap();
    let progress = run_to_end(&runner, job.id);
    assert_eq!((progress.counts.migrated, progress.counts.failed, progress.counts.kept), (1, 1, 1));
    assert_eq!(progress.counts.source_bytes, 7);
    assert_eq!(progress.counts.output_bytes, 0);
    assert_eq!(fx.versions(image).len(), 1);
    assert_eq!(fx.tools.migrations.load(Ordering::SeqCst), 0);
}

#[test]
fn scopes_limit_a_job_to_an_aktenplan_subtree_or_one_akte_and_closed_akten_are_migrated_too() {
    let fx = Fixture::new();
    let inside = fx.akte("32.10.05");
    let sibling = fx.akte("32.30");
    let outside = fx.akte("50.10");
    let a = fx.add(inside, b"IMG a");
    let b = fx.add(sibling, b"IMG b");
    let c = fx.add(outside, b"IMG c");
    fx.records.close_akte("setup", &AkteRef::Id(inside), "z.d.A.").unwrap();
    let runner = fx.runner();
    let scope = Scope { unit: Some("32".into()), akte_id: None, aktenzeichen: None };
    let job = runner.repo().create_job("archivar", JobMode::Migrate, scope, Policy::builtin().id).unwrap();
    let progress = run_to_end(&runner, job.id);
    assert_eq!(progress.total, Some(2));
    assert_eq!(progress.counts.migrated, 2);
    assert_eq!((fx.versions(a).len(), fx.versions(b).len(), fx.versions(c).len()), (2, 2, 1));

    let scope = Scope { unit: None, akte_id: Some(outside), aktenzeichen: None };
    let job = runner.repo().create_job("archivar", JobMode::Migrate, scope, Policy::builtin().id).unwrap();
    assert_eq!(run_to_end(&runner, job.id).counts.migrated, 1);
    assert_eq!(fx.versions(c).len(), 2);

    let bad = Scope { unit: Some("32..1".into()), akte_id: None, aktenzeichen: None };
    let job = runner.repo().create_job("archivar", JobMode::Migrate, bad, Policy::builtin().id).unwrap();
    assert!(matches!(runner.run(job.id, &StopSignal::default()), Err(MigrationError::InvalidScope(_))));
}

#[test]
fn the_census_counts_formats_per_subtree_and_identifies_each_blob_once() {
    let fx = Fixture::new();
    let a = fx.akte("32.10.05");
    let b = fx.akte("50.10");
    fx.add(a, b"IMG 1");
    fx.add(a, b"IMG 22");
    fx.add(a, b"PDFA 333");
    fx.add(b, b"IMG 1");
    let runner = fx.runner();
    let rows = runner.census("archivar", &Scope::default()).unwrap();
    let row = |unit: &str, puid: &str| {
        rows.iter().find(|r| r.unit == unit && r.puid == puid).map(|r| (r.dokumente, r.bytes))
    };
    assert_eq!(row("", "fmt/353"), Some((3, 16)));
    assert_eq!(row("", "fmt/477"), Some((1, 8)));
    assert_eq!(row("32", "fmt/353"), Some((2, 11)));
    assert_eq!(row("32.10.05", "fmt/477"), Some((1, 8)));
    assert_eq!(row("50", "fmt/353"), Some((1, 5)));
    assert_eq!(row("50", "fmt/477"), None);

    // Identifications are recorded once (three distinct blobs) and then come from the cache.
    let journal = fx.records.store().meta().journal_head().unwrap().seq;
    let entries = fx.records.store().meta().journal_entries(1, journal as usize).unwrap();
    let identify: Vec<_> = entries.iter().filter(|e| e.action == "format.identify").collect();
    assert_eq!(identify.len(), 1);
    assert_eq!(String::from_utf8_lossy(&identify[0].payload).matches("\"blake3\"").count(), 3);
    let again = runner
        .census("archivar", &Scope { unit: Some("50".into()), akte_id: None, aktenzeichen: None })
        .unwrap();
    assert_eq!(fx.records.store().meta().journal_head().unwrap().seq, journal);
    assert!(again.iter().all(|r| r.unit.is_empty() || r.unit.starts_with("50")));
}

/// A job that finds a Dokument's bytes damaged fails that Dokument with the reason and registers the
/// damage in the quarantine register at once, under the migration's name.
#[test]
fn a_job_registers_damaged_sources_in_the_quarantine_register() {
    use std::os::unix::fs::PermissionsExt;

    let fx = Fixture::new();
    let akte = fx.akte("32.10.05");
    let rotten = fx.add(akte, b"IMG that will rot");
    let hash = fx.versions(rotten)[0].original.blob_hash().unwrap();
    let hex = hash.to_hex();
    let path = fx._dir.path().join("blobs/blobs").join(&hex[..2]).join(&hex[2..4]).join(&hex);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&path, b"IMG that has rotted").unwrap();

    let runner = fx.runner();
    let job = runner
        .repo()
        .create_job("archivar", JobMode::Migrate, Scope::default(), Policy::builtin().id)
        .unwrap();
    let progress = run_to_end(&runner, job.id);
    assert_eq!((progress.counts.failed, progress.counts.migrated), (1, 0));
    let items = runner.repo().items(job.id, 0, 10).unwrap();
    let reason = items[0].outcome.reason();
    assert!(reason.contains("corrupted") && reason.contains("backup"), "{reason}");

    let record = registratur_ops::quarantine::record(fx.records.store(), &hash).unwrap().expect("registered");
    assert_eq!(record.damage, registratur_ops::quarantine::Damage::Corrupted);
    assert_eq!(record.found_by, runner::MIGRATION_ACTOR);
}
