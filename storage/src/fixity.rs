//! Fixity: re-hash every blob the metadata knows and report what is missing or corrupted.
//!
//! The metadata's `blobs` column family says which blobs must exist and what their SHA-256 is; the
//! blob store says what is on disk. A check compares both: blobs missing from the store, blobs whose
//! bytes no longer match (quarantined by the store on the spot), blobs whose SHA-256 differs from the
//! recorded one, and blobs on disk that no record refers to (left by a crash between the blob write
//! and its metadata commit). Both sides are walked in hash order a page at a time and merged, so a check
//! holds one page of records and one of hashes, never a whole large store's. The engine's scrub worker
//! calls [`check`] on a schedule, throttled through `progress`.

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

/// Records and listed hashes fetched at a time: memory holds one page of each, whatever the store's size.
const PAGE: usize = crate::blob::LIST_PAGE;

/// Re-hashes every recorded blob. `progress` is called after each blob with the bytes checked so far,
/// so a caller can report progress or throttle; returning `Break` stops the check early.
///
/// The metadata's records and the blob store's listing are both walked in hash order, a page at a time,
/// and merged: a listed hash that no record matches is unreferenced. Neither side is ever held whole.
pub fn check(
    blobs: &dyn BlobStore,
    meta: &MetaStore,
    mut progress: impl FnMut(u64) -> ControlFlow<()>,
) -> Result<FixityReport, FixityError> {
    let mut report = FixityReport::default();
    let mut listed = crate::blob::hashes(blobs, PAGE).peekable();
    let mut after = None;
    loop {
        let records = meta.blob_records_page(after.as_ref(), PAGE)?;
        for (hash, record) in &records {
            // Listed hashes before this record's have no record.
            while let Some(next) = listed.next_if(|next| next.as_ref().map_or(true, |next| next <= hash)) {
                let next = next?;
                if next != *hash {
                    report.unreferenced.push(next);
                }
            }
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
                report.unreferenced.clear();
                return Ok(report);
            }
        }
        if records.len() < PAGE {
            break;
        }
        after = records.last().map(|(hash, _)| *hash);
    }
    for rest in listed {
        report.unreferenced.push(rest?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::MemoryBlobStore;
    use crate::hash::BlobDigest;
    use crate::meta::{MetaOptions, Txn};

    /// More blobs than a page on both sides, some recorded and stored, some only recorded (missing), some
    /// only stored (unreferenced), one damaged: the merged walk finds each exactly once.
    #[test]
    fn a_check_across_several_pages_finds_missing_corrupted_and_unreferenced_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let meta = MetaStore::open(dir.path(), MetaOptions::default()).unwrap();
        let blobs = MemoryBlobStore::new();
        let count = PAGE * 2 + 150;
        let mut missing = Vec::new();
        let mut unreferenced = Vec::new();
        let mut recorded_bytes = 0;
        let mut txn = Txn::new("test", "blob.put", "many");
        for i in 0..count {
            let bytes = (i as u32).to_le_bytes().repeat(3);
            let digest = BlobDigest::of(&bytes);
            match i % 7 {
                // Recorded, never stored.
                0 => {
                    missing.push(digest.blake3);
                    txn.add_blob_ref(digest);
                    recorded_bytes += digest.size;
                }
                // Stored, never recorded.
                1 => {
                    blobs.put(&bytes).unwrap();
                    unreferenced.push(digest.blake3);
                }
                _ => {
                    blobs.put(&bytes).unwrap();
                    txn.add_blob_ref(digest);
                    recorded_bytes += digest.size;
                }
            }
        }
        meta.commit(txn).unwrap();
        let damaged = BlobDigest::of(&5u32.to_le_bytes().repeat(3)).blake3;
        assert!(blobs.tamper(&damaged, |bytes| bytes[0] ^= 1));
        missing.sort();
        unreferenced.sort();

        let mut calls = 0;
        let report = check(&blobs, &meta, |_| {
            calls += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        let recorded = (count - unreferenced.len()) as u64;
        assert_eq!((report.blobs_checked, report.bytes_checked, calls), (recorded, recorded_bytes, recorded));
        assert_eq!(report.missing, missing);
        assert_eq!(report.corrupted, vec![damaged]);
        assert_eq!(report.unreferenced, unreferenced);
        assert!(!report.stopped_early && !report.is_clean());

        let stopped = check(&blobs, &meta, |_| ControlFlow::Break(())).unwrap();
        assert!(stopped.stopped_early && stopped.unreferenced.is_empty());
        assert_eq!(stopped.blobs_checked, 1);
    }
}
