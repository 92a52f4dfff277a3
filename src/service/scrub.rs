//! The fixity scrub: a background thread that re-hashes every blob on a schedule, throttled so that
//! it does not starve the mailroom of disk bandwidth.
//!
//! Each completed scrub is one journal entry (`fixity.scrub`, with the counts and the damaged blobs'
//! hashes) together with the time of the run under `fixity/last-scrub` in the `meta` column family;
//! the next run is due one interval after the last, across restarts. Damaged blobs are quarantined by
//! the blob store as they are found, logged as errors and counted in the metrics. Archivists can also
//! run a check at once (`registratur fixity`).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use registratur_storage::Store;
use registratur_storage::fixity::FixityReport;
use registratur_storage::meta::{Cf, Txn};

use crate::background::{BackgroundThread, StopSignal};

/// When and how fast the scrub runs.
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

/// The actor the scrub's journal entries name.
pub const SCRUB_ACTOR: &str = "registratur/fixity-scrub";
const LAST_SCRUB_KEY: &[u8] = b"fixity/last-scrub";

/// Counts a finished check in the metrics and logs what it found.
pub(crate) fn record_findings(report: &FixityReport) {
    let metrics = crate::metrics::global();
    crate::metrics::Metrics::add(&metrics.fixity_runs, 1);
    crate::metrics::Metrics::add(&metrics.fixity_corrupted, report.corrupted.len() as u64);
    crate::metrics::Metrics::add(&metrics.fixity_missing, report.missing.len() as u64);
    for hash in &report.corrupted {
        tracing::error!(%hash, "fixity: blob corrupted and quarantined; restore it from a backup");
    }
    for hash in &report.missing {
        tracing::error!(%hash, "fixity: blob missing; restore it from a backup");
    }
}

/// Owns the scrub thread; dropping it stops the scrub (a run in progress ends early, unrecorded).
pub struct ScrubHandle {
    _thread: Option<BackgroundThread>,
}

impl ScrubHandle {
    pub fn start(store: Store, settings: ScrubSettings) -> std::io::Result<Self> {
        let Some(interval) = settings.interval else { return Ok(Self { _thread: None }) };
        let rate = settings.bytes_per_second.max(1);
        BackgroundThread::spawn("fixity-scrub", move |signal| run(&store, interval, rate, signal))
            .map(|thread| Self { _thread: Some(thread) })
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn last_scrub_ms(store: &Store) -> Option<i64> {
    let bytes = store.meta().get(Cf::Meta, LAST_SCRUB_KEY).ok()??;
    Some(i64::from_be_bytes(bytes.as_slice().try_into().ok()?))
}

fn run(store: &Store, interval: Duration, bytes_per_second: u64, signal: &StopSignal) {
    // Without a recorded scrub, the first one is due one interval after this start.
    let mut last = last_scrub_ms(store).unwrap_or_else(now_ms);
    loop {
        let due_in = Duration::from_millis((last + interval.as_millis() as i64 - now_ms()).max(0) as u64);
        if !due_in.is_zero() {
            if !signal.sleep(due_in.min(Duration::from_secs(60))) {
                return;
            }
            continue;
        }
        let started_ms = now_ms();
        match scrub(store, bytes_per_second, signal, started_ms) {
            Ok(Some(())) => last = started_ms,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, "the fixity scrub failed; trying again in an hour");
                last = started_ms - interval.as_millis() as i64 + 3_600_000;
            }
        }
    }
}

/// One throttled scrub; `Ok(None)` when stopped before it finished.
fn scrub(
    store: &Store,
    bytes_per_second: u64,
    signal: &StopSignal,
    started_ms: i64,
) -> Result<Option<()>, String> {
    tracing::info!(bytes_per_second, "fixity scrub started");
    let started = Instant::now();
    let report = store
        .check_fixity(|bytes| {
            // Ahead of the allowed rate: wait until the rate allows these bytes.
            let allowed_at = Duration::from_secs_f64(bytes as f64 / bytes_per_second as f64);
            while started.elapsed() < allowed_at {
                let pause = (allowed_at - started.elapsed()).min(Duration::from_millis(100));
                if !signal.sleep(pause) {
                    return ControlFlow::Break(());
                }
            }
            if signal.is_stopped() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .map_err(|e| e.to_string())?;
    if report.stopped_early {
        return Ok(None);
    }
    record_findings(&report);
    let hex =
        |hashes: &[registratur_storage::BlobHash]| hashes.iter().map(|h| h.to_string()).collect::<Vec<_>>();
    let payload = serde_json::json!({
        "blobs_checked": report.blobs_checked, "bytes_checked": report.bytes_checked,
        "corrupted": hex(&report.corrupted), "missing": hex(&report.missing),
        "unreferenced": report.unreferenced.len(), "seconds": started.elapsed().as_secs_f64(),
    });
    let mut txn = Txn::new(SCRUB_ACTOR, "fixity.scrub", payload.to_string());
    txn.put(Cf::Meta, LAST_SCRUB_KEY.to_vec(), started_ms.to_be_bytes().to_vec());
    store.meta().commit(txn).map_err(|e| e.to_string())?;
    tracing::info!(
        blobs = report.blobs_checked,
        bytes = report.bytes_checked,
        corrupted = report.corrupted.len(),
        missing = report.missing.len(),
        seconds = started.elapsed().as_secs_f64(),
        "fixity scrub finished"
    );
    Ok(Some(()))
}
