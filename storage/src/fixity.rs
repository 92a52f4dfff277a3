//! Fixity: re-hash every blob the metadata knows and report what is missing or corrupted.
//!
//! The metadata's `blobs` column family says which blobs must exist and what their SHA-256 is; the
//! blob store says what is on disk. A check compares both: blobs missing from the store, blobs whose
//! bytes no longer match (quarantined by the store on the spot), blobs whose SHA-256 differs from the
//! recorded one, and blobs on disk that no record refers to (left by a crash between the blob write
//! and its metadata commit). The engine's scrub worker calls [`check`] on a schedule, throttled through `progress`.

use std::ops::ControlFlow;

use crate::blob::{BlobError, BlobStore};
use crate::hash::BlobHash;
use crate::meta::{MetaError, MetaStore};

/// The findings of one fixity check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixityReport {
    pub blobs_checked: u64,
    pub bytes_checked: u64,
    /// Recorded in the metadata but absent from the store.
    pub missing: Vec<BlobHash>,
    /// Present but their bytes do not match their hash or the recorded SHA-256 or size; quarantined.
    pub corrupted: Vec<BlobHash>,
    /// In the store but unknown to the metadata.
    pub unreferenced: Vec<BlobHash>,
    /// The caller stopped the check before every blob was checked (`unreferenced` is then not listed).
    pub stopped_early: bool,
}

impl FixityReport {
    pub fn is_clean(&self) -> bool {
        self.missing.is_empty() && self.corrupted.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FixityError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// Re-hashes every recorded blob. `progress` is called after each blob with the bytes checked so far,
/// so a caller can report progress or throttle; returning `Break` stops the check early.
pub fn check(
    blobs: &dyn BlobStore,
    meta: &MetaStore,
    mut progress: impl FnMut(u64) -> ControlFlow<()>,
) -> Result<FixityReport, FixityError> {
    let mut report = FixityReport::default();
    let records = meta.blob_records()?;
    for (hash, record) in &records {
        match blobs.verify(hash) {
            Ok(Some(digest)) if digest.sha256 == record.sha256 && digest.size == record.size => {}
            Ok(Some(_)) => {
                tracing::error!(%hash, "blob hashes to its address but its SHA-256 or size differs from the record");
                report.corrupted.push(*hash);
            }
            Ok(None) => report.missing.push(*hash),
            Err(BlobError::Corrupted { hash }) => report.corrupted.push(hash),
            Err(other) => return Err(other.into()),
        }
        report.blobs_checked += 1;
        report.bytes_checked += record.size;
        if progress(report.bytes_checked).is_break() {
            report.stopped_early = true;
            return Ok(report);
        }
    }
    let known: std::collections::HashSet<BlobHash> = records.iter().map(|(hash, _)| *hash).collect();
    report.unreferenced = blobs.list()?.into_iter().filter(|hash| !known.contains(hash)).collect();
    report.unreferenced.sort();
    Ok(report)
}
