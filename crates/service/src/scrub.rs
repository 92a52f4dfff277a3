//! The fixity scrub: re-hash every blob, record what was found, and keep the quarantine register.
//!
//! A scrub runs on a schedule in a background thread, throttled so that it does not starve the
//! mailroom of disk bandwidth, and on demand for archivists (`registratur fixity`, unthrottled, with
//! progress). Both are the same code, [`scrub_once`], and never run at the same time ([`ScrubLock`]).
//!
//! Each completed scrub is one transaction: a journal entry (`fixity.scrub`, with the counts and the
//! damaged blobs' hashes), its report under `fixity/last-scrub` in the `meta` column family, and the
//! quarantine register ([`registratur_ops::quarantine`]): one record per blob found damaged (when, by whom,
//! what is wrong), removed again by the first scrub that finds the blob intact (restored from a
//! backup). Reads register what they find in the same register at once; a blob a read found
//! corrupted and moved aside is reported by the scrub as corrupted, as registered, not as missing.
//! The next scheduled run is due one interval after the last run of either kind, across restarts.
//! Damaged blobs are quarantined by the blob store as they are found, logged as errors and counted in
//! the metrics.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use registratur_storage::Store;
use registratur_storage::fixity::FixityReport;
use registratur_storage::meta::{Cf, Txn};
use registratur_storage::table::{
    Keyspace, Single, Table, ValueCodec, Versioned, decode_versioned, encode_versioned,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};
use registratur_ops::background::{BackgroundThread, StopSignal};
use registratur_ops::quarantine::{self, count_findings};
pub use registratur_ops::quarantine::{Damage, QuarantineRecord};
use registratur_records::repo::AkteRef;

/// When and how fast the scheduled scrub runs.
#[derive(Clone, Debug)]
pub struct ScrubSettings {
    /// Time between the starts of two scrubs; `None` disables the scheduled scrub.
    pub interval: Option<Duration>,
    /// Bytes re-hashed per second, at most.
    pub bytes_per_second: u64,
}

impl Default for ScrubSettings {
    fn default() -> Self {
        Self { interval: Some(Duration::from_secs(7 * 24 * 3600)), bytes_per_second: 50 << 20 }
    }
}

/// The actor the scheduled scrub's journal entries name.
pub const SCRUB_ACTOR: &str = "registratur/fixity-scrub";
/// The last completed scrub's report (one entry).
const LAST_SCRUB: Table<Single, LastScrubCodec> = Table::new("last-scrub", Cf::Meta, b"fixity/last-scrub");

/// The keyspaces of the scrub, for the registry.
pub fn keyspaces() -> Vec<Keyspace> {
    vec![LAST_SCRUB.keyspace()]
}

impl Versioned for ScrubReport {
    const VERSION: u16 = 1;
}

/// What `fixity/last-scrub` holds: a report, or, as written before reports were kept, only the start
/// time (milliseconds, i64 BE).
#[derive(Clone, Debug, PartialEq)]
enum LastScrub {
    StartedAt(i64),
    Report(Box<ScrubReport>),
}

struct LastScrubCodec;

impl ValueCodec for LastScrubCodec {
    type Value = LastScrub;
    fn shape() -> String {
        format!("ScrubReport v{} (or an i64 BE start time)", ScrubReport::VERSION)
    }
    fn encode(value: &LastScrub) -> Vec<u8> {
        match value {
            LastScrub::StartedAt(ms) => ms.to_be_bytes().to_vec(),
            LastScrub::Report(report) => encode_versioned(report.as_ref()),
        }
    }
    fn decode(bytes: &[u8]) -> Result<LastScrub, String> {
        if let Ok(ms) = <[u8; 8]>::try_from(bytes) {
            return Ok(LastScrub::StartedAt(i64::from_be_bytes(ms)));
        }
        decode_versioned(bytes).map(|report| LastScrub::Report(Box::new(report)))
    }
}
/// How often an on-demand scrub reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// What one completed scrub found. Stored as JSON under `fixity/last-scrub`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScrubReport {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// [`SCRUB_ACTOR`] for the schedule, else the name of the principal who asked for it.
    pub started_by: String,
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    /// Hex BLAKE3 of blobs the metadata records but the blob store lacks.
    pub missing: Vec<String>,
    /// Hex BLAKE3 of blobs whose bytes no longer match their hashes.
    pub corrupted: Vec<String>,
    /// Blobs in the quarantine register after this run: every blob known damaged and not yet restored.
    pub quarantined: u64,
    /// Blobs on disk that no metadata refers to (left by a crash between blob write and commit).
    pub unreferenced: u64,
    pub seconds: f64,
}

impl ScrubReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.corrupted.is_empty()
    }
}

/// How far a running scrub is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScrubProgress {
    pub blobs_checked: u64,
    pub blobs_total: u64,
    pub bytes_checked: u64,
    pub bytes_total: u64,
}

/// One message of an on-demand scrub.
#[derive(Clone, Debug, PartialEq)]
pub enum ScrubEvent {
    Progress(ScrubProgress),
    Done(ScrubReport),
}

/// A place in the records that refers to a quarantined blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobReference {
    /// The original or a rendition of a Dokument's Version.
    Version {
        dokument_id: u64,
        akte_id: u64,
        aktenzeichen: String,
        version: u32,
        /// `original`, or the kind of the rendition (`ocr-text`, `transfervermerk`, ...).
        part: String,
        filename: String,
    },
    /// A file of a mailroom batch as the scanner delivered it (the TR-RESISCAN original).
    BatchFile {
        batch_id: u64,
        scanner_batch_id: String,
        /// 0-based position of the file in the batch.
        file: u32,
        filename: String,
    },
}

/// A quarantined blob and the Dokumente and Versionen that need it restored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineEntry {
    pub record: QuarantineRecord,
    pub references: Vec<BlobReference>,
}

/// Makes the scheduled and the on-demand scrub take turns: at most one scrub runs at a time.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScrubLock(Arc<AtomicBool>);

/// Held while a scrub runs; dropping it lets the next one start.
pub(crate) struct ScrubGuard(Arc<AtomicBool>);

impl ScrubLock {
    fn try_acquire(&self) -> Option<ScrubGuard> {
        let free = self.0.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok();
        free.then(|| ScrubGuard(self.0.clone()))
    }
}

impl Drop for ScrubGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Counts a finished check in the metrics and logs what it found.
fn record_findings(report: &FixityReport) {
    let metrics = registratur_ops::metrics::global();
    registratur_ops::metrics::Metrics::add(&metrics.fixity_runs, 1);
    count_findings(report.corrupted.len() as u64, report.missing.len() as u64);
    for hash in &report.corrupted {
        tracing::error!(%hash, "fixity: blob corrupted and quarantined; restore it from a backup");
    }
    for hash in &report.missing {
        tracing::error!(%hash, "fixity: blob missing; restore it from a backup");
    }
}

/// Owns the scheduled scrub's thread; dropping it stops the scrub (a run in progress ends early,
/// unrecorded).
pub struct ScrubHandle {
    _thread: Option<BackgroundThread>,
}

impl ScrubHandle {
    pub(crate) fn start(store: Store, settings: ScrubSettings, lock: ScrubLock) -> std::io::Result<Self> {
        let Some(interval) = settings.interval else { return Ok(Self { _thread: None }) };
        let rate = settings.bytes_per_second.max(1);
        BackgroundThread::spawn("fixity-scrub", move |signal| run(&store, interval, rate, &lock, signal))
            .map(|thread| Self { _thread: Some(thread) })
    }
}

/// When the last recorded scrub started (reports written before they were JSON held only that time).
fn last_scrub_ms(store: &Store) -> Option<i64> {
    match LAST_SCRUB.get(store.meta(), &()).ok()?? {
        LastScrub::Report(report) => Some(report.started_at.timestamp_millis()),
        LastScrub::StartedAt(ms) => Some(ms),
    }
}

/// The report of the last completed scrub, if one was recorded.
pub(crate) fn last_report(store: &Store) -> Result<Option<ScrubReport>, ServiceError> {
    match LAST_SCRUB.get(store.meta(), &())? {
        Some(LastScrub::Report(report)) => Ok(Some(*report)),
        // Written before reports were kept: only the start time is known.
        Some(LastScrub::StartedAt(_)) | None => Ok(None),
    }
}

/// Every record of the quarantine register, in hash order.
pub(crate) fn quarantine_records(store: &Store) -> Result<Vec<QuarantineRecord>, ServiceError> {
    Ok(quarantine::records(store)?)
}

fn run(store: &Store, interval: Duration, bytes_per_second: u64, lock: &ScrubLock, signal: &StopSignal) {
    // Without a recorded scrub, the first one is due one interval after this start.
    let first_start = store.clock().now().timestamp_millis();
    let mut retry_after: Option<i64> = None;
    loop {
        let last = last_scrub_ms(store).unwrap_or(first_start);
        let due = retry_after.unwrap_or(last + interval.as_millis() as i64);
        let due_in = Duration::from_millis((due - store.clock().now().timestamp_millis()).max(0) as u64);
        if !due_in.is_zero() {
            if !signal.sleep(due_in.min(Duration::from_secs(60))) {
                return;
            }
            continue;
        }
        // An archivist's scrub is running: it counts as this one once recorded.
        let Some(_guard) = lock.try_acquire() else {
            if !signal.sleep(Duration::from_secs(1)) {
                return;
            }
            continue;
        };
        tracing::info!(bytes_per_second, "fixity scrub started");
        let started = Instant::now();
        let pace = |progress: &ScrubProgress| {
            // Ahead of the allowed rate: wait until the rate allows these bytes.
            let allowed_at = Duration::from_secs_f64(progress.bytes_checked as f64 / bytes_per_second as f64);
            while started.elapsed() < allowed_at {
                let pause = (allowed_at - started.elapsed()).min(Duration::from_millis(100));
                if !signal.sleep(pause) {
                    return ControlFlow::Break(());
                }
            }
            if signal.is_stopped() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        };
        match scrub_once(store, SCRUB_ACTOR, pace) {
            Ok(Some(_)) => retry_after = None,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, "the fixity scrub failed; trying again in an hour");
                retry_after = Some(store.clock().now().timestamp_millis() + 3_600_000);
            }
        }
    }
}

/// Runs one complete scrub and records it (journal entry, last report, quarantine register).
/// `pace` is called after each blob; returning `Break` stops the scrub, and then nothing is recorded
/// (`Ok(None)`). The caller holds the [`ScrubLock`].
fn scrub_once(
    store: &Store,
    started_by: &str,
    mut pace: impl FnMut(&ScrubProgress) -> ControlFlow<()>,
) -> Result<Option<ScrubReport>, ServiceError> {
    let started_at = store.clock().now();
    let started = Instant::now();
    let totals = store.status()?;
    let mut progress = ScrubProgress {
        blobs_total: totals.blob_count,
        bytes_total: totals.blob_bytes,
        ..ScrubProgress::default()
    };
    let fixity = store.check_fixity(|bytes| {
        progress.blobs_checked += 1;
        progress.bytes_checked = bytes;
        pace(&progress)
    })?;
    if fixity.stopped_early {
        return Ok(None);
    }
    record_findings(&fixity);

    let registered = quarantine_records(store)?;
    // A blob the register holds as corrupted is gone from the store because it was moved to
    // quarantine (by a read, or an earlier scrub): it is reported as what it is, corrupted.
    let registered_as = |hash: &registratur_storage::BlobHash| {
        registered.iter().find(|r| r.blake3 == hash.to_hex()).map(|r| r.damage)
    };
    let damaged: Vec<(registratur_storage::BlobHash, Damage)> = fixity
        .corrupted
        .iter()
        .map(|hash| (*hash, Damage::Corrupted))
        .chain(fixity.missing.iter().map(|hash| (*hash, registered_as(hash).unwrap_or(Damage::Missing))))
        .collect();
    let mut txn_writes: Vec<(String, Option<QuarantineRecord>)> = Vec::new();
    for record in &registered {
        if !damaged.iter().any(|(hash, _)| hash.to_hex() == record.blake3) {
            tracing::info!(hash = %record.blake3, "fixity: a quarantined blob is intact again (restored)");
            txn_writes.push((record.blake3.clone(), None));
        }
    }
    for (hash, damage) in &damaged {
        if registered.iter().any(|record| record.blake3 == hash.to_hex()) {
            continue;
        }
        let record = quarantine::new_record(store, hash, *damage, started_by)?;
        txn_writes.push((record.blake3.clone(), Some(record)));
    }

    let named = |damage: Damage| {
        damaged.iter().filter(|(_, d)| *d == damage).map(|(hash, _)| hash.to_hex()).collect::<Vec<_>>()
    };
    let report = ScrubReport {
        started_at,
        finished_at: store.clock().now(),
        started_by: started_by.to_string(),
        blobs_checked: fixity.blobs_checked,
        bytes_checked: fixity.bytes_checked,
        missing: named(Damage::Missing),
        corrupted: named(Damage::Corrupted),
        quarantined: damaged.len() as u64,
        unreferenced: fixity.unreferenced.len() as u64,
        seconds: started.elapsed().as_secs_f64(),
    };
    let json = serde_json::to_string(&report).expect("scrub reports serialise");
    let mut txn = Txn::new(started_by, "fixity.scrub", json.clone());
    LAST_SCRUB.put(&mut txn, &(), &LastScrub::Report(Box::new(report.clone())));
    for (key, value) in txn_writes {
        match value {
            Some(record) => quarantine::REGISTER.put(&mut txn, &key, &record),
            None => quarantine::REGISTER.delete(&mut txn, &key),
        };
    }
    store.meta().commit(txn)?;
    tracing::info!(
        blobs = report.blobs_checked,
        bytes = report.bytes_checked,
        corrupted = report.corrupted.len(),
        missing = report.missing.len(),
        seconds = report.seconds,
        started_by = %report.started_by,
        "fixity scrub finished"
    );
    Ok(Some(report))
}

fn require_fixity_role(principal: &Principal, what: &str) -> Result<(), ServiceError> {
    super::records::require_role(principal, &[Role::Admin, Role::Archivist], what)
}

impl Engine {
    /// Starts a scrub now, at full speed, and streams its progress and finally its report. Dropping
    /// the receiver stops the scrub unrecorded. Fails when a scrub is running already.
    pub async fn run_scrub(
        &self,
        principal: &Principal,
    ) -> Result<mpsc::Receiver<Result<ScrubEvent, ServiceError>>, ServiceError> {
        require_fixity_role(principal, "run a fixity scrub")?;
        let guard = self.inner.scrub_lock.try_acquire().ok_or_else(|| {
            ServiceError::FailedPrecondition(
                "a fixity scrub is running already; wait for it to finish and read its report with \
                 `registratur fixity last`"
                    .into(),
            )
        })?;
        let (sender, receiver) = mpsc::channel(16);
        let store = self.inner.store.clone();
        let started_by = principal.name.clone();
        tokio::task::spawn_blocking(move || {
            let _guard = guard;
            let mut reported = Instant::now();
            let outcome = scrub_once(&store, &started_by, |progress| {
                if reported.elapsed() < PROGRESS_EVERY {
                    return ControlFlow::Continue(());
                }
                reported = Instant::now();
                // The caller went away: stop, nobody would see the result.
                match sender.blocking_send(Ok(ScrubEvent::Progress(*progress))) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            });
            let last = match outcome {
                Ok(Some(report)) => Ok(ScrubEvent::Done(report)),
                Ok(None) => return,
                Err(error) => Err(error),
            };
            let _ = sender.blocking_send(last);
        });
        Ok(receiver)
    }

    /// The report of the last completed scrub (scheduled or on demand).
    pub async fn last_scrub(&self, principal: &Principal) -> Result<Option<ScrubReport>, ServiceError> {
        require_fixity_role(principal, "read fixity reports")?;
        self.blocking(|engine| last_report(engine.store())).await
    }

    /// Every quarantined blob with the Dokumente, Versionen and mailroom batches that refer to it, so
    /// that an archivist knows what to restore. Finding the references walks all Dokumente and
    /// batches, so it is done only when something is quarantined.
    pub async fn quarantine(&self, principal: &Principal) -> Result<Vec<QuarantineEntry>, ServiceError> {
        require_fixity_role(principal, "list quarantined blobs")?;
        self.blocking(|engine| {
            let records = quarantine_records(engine.store())?;
            let mut entries: Vec<QuarantineEntry> = records
                .into_iter()
                .map(|record| QuarantineEntry { record, references: Vec::new() })
                .collect();
            if entries.is_empty() {
                return Ok(entries);
            }
            let mut aktenzeichen = std::collections::HashMap::new();
            let mut after = 0;
            loop {
                let page = engine.records().dokumente_after(after, 512)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for dokument in &page {
                    for version in engine.records().versions(dokument)? {
                        let parts = std::iter::once(("original".to_string(), &version.original))
                            .chain(version.renditions.iter().map(|r| (r.kind.to_string(), &r.content)));
                        for (part, content) in parts {
                            let Some(entry) = entries.iter_mut().find(|e| e.record.blake3 == content.blake3)
                            else {
                                continue;
                            };
                            let az = match aktenzeichen.get(&dokument.akte_id) {
                                Some(az) => String::clone(az),
                                None => {
                                    let az =
                                        engine.records().akte(&AkteRef::Id(dokument.akte_id))?.aktenzeichen;
                                    aktenzeichen.insert(dokument.akte_id, az.clone());
                                    az
                                }
                            };
                            entry.references.push(BlobReference::Version {
                                dokument_id: dokument.id,
                                akte_id: dokument.akte_id,
                                aktenzeichen: az,
                                version: version.number,
                                part,
                                filename: content.filename.clone(),
                            });
                        }
                    }
                }
            }
            engine.inner.mailroom.repo().visit_batches(|batch| {
                for (file, batch_file) in batch.files.iter().enumerate() {
                    let content = &batch_file.content;
                    if let Some(entry) = entries.iter_mut().find(|e| e.record.blake3 == content.blake3) {
                        entry.references.push(BlobReference::BatchFile {
                            batch_id: batch.id,
                            scanner_batch_id: batch.header.scanner_batch_id.clone(),
                            file: file as u32,
                            filename: content.filename.clone(),
                        });
                    }
                }
            })?;
            Ok(entries)
        })
        .await
    }

    /// How many blobs the quarantine register holds (for the metrics).
    pub(crate) fn quarantined_count(&self) -> u64 {
        quarantine_records(self.store()).map_or(0, |records| records.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scrub_at_a_time() {
        let lock = ScrubLock::default();
        let first = lock.try_acquire().expect("free at first");
        assert!(lock.clone().try_acquire().is_none(), "a second scrub must wait");
        drop(first);
        assert!(lock.try_acquire().is_some(), "free again once the first is done");
    }

    fn store_with_blobs(sizes: &[usize]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("data")).unwrap();
        for (i, size) in sizes.iter().enumerate() {
            let bytes: Vec<u8> = (0..*size).map(|n| (n as u8).wrapping_add(i as u8)).collect();
            store.put_blob_with(&mut bytes.as_slice(), |_| Txn::new("test", "blob.put", "{}")).unwrap();
        }
        (dir, store)
    }

    #[test]
    fn a_scrub_reports_progress_per_blob_and_records_its_report() {
        let (_dir, store) = store_with_blobs(&[1_000, 2_000, 3_000]);
        let mut seen = Vec::new();
        let report = scrub_once(&store, "archivar", |progress| {
            seen.push(*progress);
            ControlFlow::Continue(())
        })
        .unwrap()
        .expect("not stopped");
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|p| p.blobs_total == 3 && p.bytes_total == 6_000));
        assert_eq!(seen.iter().map(|p| p.blobs_checked).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(seen.last().unwrap().bytes_checked, 6_000);
        assert!(report.is_clean());
        assert_eq!(
            (report.blobs_checked, report.bytes_checked, report.started_by.as_str()),
            (3, 6_000, "archivar")
        );
        assert_eq!(last_report(&store).unwrap(), Some(report));
        let head = store.meta().journal_head().unwrap();
        let entry = store.meta().journal_entry(head.seq).unwrap().unwrap();
        assert_eq!((entry.actor.as_str(), entry.action.as_str()), ("archivar", "fixity.scrub"));
    }

    #[test]
    fn a_stopped_scrub_records_nothing() {
        let (_dir, store) = store_with_blobs(&[1_000, 2_000, 3_000]);
        let journal = store.meta().journal_head().unwrap().seq;
        let mut calls = 0;
        let outcome = scrub_once(&store, "archivar", |_| {
            calls += 1;
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!((outcome, calls), (None, 1));
        assert_eq!(last_report(&store).unwrap(), None);
        assert_eq!(store.meta().journal_head().unwrap().seq, journal);
    }
}
