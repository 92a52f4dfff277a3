//! `Store`: one data directory holding the blob store (`blobs/`) and the metadata (`meta/`).
//!
//! Writing a document's bytes always goes blob first, metadata second: the blob is durable before the
//! transaction that references it commits, so a crash in between leaves at worst an unreferenced blob
//! (reported by fixity, collectable later), never a record pointing at missing bytes.
//!
//! Every blob store call of the engine goes through [`Store::blobs`], which retries what is safe to
//! retry when the backend reports a transient failure ([`RetryingBlobStore`]): every read, and puts of
//! bytes in memory (content addressing makes a repeated put harmless). A failure that outlasts the
//! retries reaches the caller as [`BlobError::Unavailable`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::blob::{
    BlobError, BlobStore, Durability, LocalBlobStore, PutOutcome, RetryPolicy, RetryingBlobStore,
};
use crate::fixity::{self, FixityError, FixityReport};
use crate::hash::BlobDigest;
use crate::journal::JournalReport;
use crate::meta::{MetaError, MetaOptions, MetaStore, Receipt, Txn};

/// Errors of the combined store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

impl From<FixityError> for StoreError {
    fn from(error: FixityError) -> Self {
        match error {
            FixityError::Blob(e) => StoreError::Blob(e),
            FixityError::Meta(e) => StoreError::Meta(e),
        }
    }
}

/// The blob store and metadata store of one data directory. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    data_dir: PathBuf,
    blobs: Arc<dyn BlobStore>,
    meta: MetaStore,
}

/// Counts for a status report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStatus {
    pub blob_count: u64,
    pub blob_bytes: u64,
    pub journal_length: u64,
    pub journal_head: Option<[u8; 32]>,
}

/// A stored blob together with the journal entry that recorded its reference.
#[derive(Clone, Copy, Debug)]
pub struct StoredBlob {
    pub outcome: PutOutcome,
    pub receipt: Receipt,
}

impl Store {
    /// The engine's clock (the one the journal is stamped with).
    pub fn clock(&self) -> &Arc<dyn crate::clock::Clock> {
        self.meta.clock()
    }

    /// Opens (creating if needed) the store in `data_dir` with full durability.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(data_dir, Durability::Fsync, MetaOptions::default())
    }

    pub fn open_with(
        data_dir: impl AsRef<Path>,
        durability: Durability,
        meta_options: MetaOptions,
    ) -> Result<Self, StoreError> {
        let data_dir = data_dir.as_ref().to_path_buf();
        // Metadata first: RocksDB's lock file keeps a second process out before the blob store
        // removes temp files, which would belong to the first process's in-flight puts.
        let meta = MetaStore::open(data_dir.join("meta"), meta_options)?;
        let blobs = LocalBlobStore::open(data_dir.join("blobs"), durability)?;
        Ok(Self::with_parts(data_dir, Arc::new(blobs), meta))
    }

    /// The metadata in `data_dir` with blobs kept elsewhere (an S3 bucket): opens the metadata and
    /// puts the two together as [`Store::with_parts`] does.
    pub fn open_with_blobs(
        data_dir: impl AsRef<Path>,
        blobs: Arc<dyn BlobStore>,
        meta_options: MetaOptions,
    ) -> Result<Self, StoreError> {
        let data_dir = data_dir.as_ref().to_path_buf();
        let meta = MetaStore::open(data_dir.join("meta"), meta_options)?;
        Ok(Self::with_parts(data_dir, blobs, meta))
    }

    /// A store over any blob store implementation (tests use the in-memory one), whose transient
    /// failures are retried with the default [`RetryPolicy`].
    pub fn with_parts(data_dir: PathBuf, blobs: Arc<dyn BlobStore>, meta: MetaStore) -> Self {
        Self::with_retry_policy(data_dir, blobs, meta, RetryPolicy::default())
    }

    /// As [`Store::with_parts`], retrying transient blob store failures as `policy` says.
    pub fn with_retry_policy(
        data_dir: PathBuf,
        blobs: Arc<dyn BlobStore>,
        meta: MetaStore,
        policy: RetryPolicy,
    ) -> Self {
        Self { data_dir, blobs: Arc::new(RetryingBlobStore::new(blobs, policy)), meta }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The blob store, with transient failures retried (see the module documentation).
    pub fn blobs(&self) -> &dyn BlobStore {
        &*self.blobs
    }

    pub fn meta(&self) -> &MetaStore {
        &self.meta
    }

    /// Stores the reader's bytes, then commits the transaction that `build_txn` makes for their
    /// digest together with a reference to the blob. Returns once both are durable.
    pub fn put_blob_with(
        &self,
        reader: &mut dyn Read,
        build_txn: impl FnOnce(&BlobDigest) -> Txn,
    ) -> Result<StoredBlob, StoreError> {
        let outcome = self.blobs.put_reader(reader)?;
        let mut txn = build_txn(&outcome.digest);
        txn.add_blob_ref(outcome.digest);
        let receipt = self.meta.commit(txn)?;
        Ok(StoredBlob { outcome, receipt })
    }

    /// Counts of blobs, bytes and journal entries.
    pub fn status(&self) -> Result<StoreStatus, StoreError> {
        // A page of records at a time: a large store's records are never all in memory.
        let (mut blob_count, mut blob_bytes, mut after) = (0, 0, None);
        loop {
            let page = self.meta.blob_records_page(after.as_ref(), crate::blob::LIST_PAGE)?;
            blob_count += page.len() as u64;
            blob_bytes += page.iter().map(|(_, record)| record.size).sum::<u64>();
            if page.len() < crate::blob::LIST_PAGE {
                break;
            }
            after = page.last().map(|(hash, _)| *hash);
        }
        let head = self.meta.journal_head();
        Ok(StoreStatus {
            blob_count,
            blob_bytes,
            journal_length: head.map_or(0, |h| h.seq),
            journal_head: head.map(|h| h.hash),
        })
    }

    pub fn verify_journal(&self) -> Result<JournalReport, StoreError> {
        Ok(self.meta.verify_journal()?)
    }

    pub fn check_fixity(
        &self,
        progress: impl FnMut(u64) -> std::ops::ControlFlow<()>,
    ) -> Result<FixityReport, StoreError> {
        Ok(fixity::check(&*self.blobs, &self.meta, progress)?)
    }

    /// The recorded digest (BLAKE3, SHA-256, size) of a blob the metadata knows.
    pub fn digest_of(&self, hash: &crate::BlobHash) -> Result<Option<BlobDigest>, StoreError> {
        Ok(self.meta.blob_record(hash)?.map(|record| BlobDigest {
            blake3: *hash,
            sha256: record.sha256,
            size: record.size,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_process_cannot_open_a_store_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let error = Store::open(dir.path()).err().expect("the second open must fail");
        assert!(error.to_string().contains("lock"), "{error}");
    }

    #[test]
    fn put_blob_with_records_reference_and_journal_and_fixity_finds_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let stored = store
            .put_blob_with(&mut &b"Bescheid vom 1. April"[..], |digest| {
                Txn::new("admin", "blob.put", digest.blake3.to_hex())
            })
            .unwrap();
        let hash = stored.outcome.digest.blake3;
        assert_eq!(store.meta().blob_record(&hash).unwrap().unwrap().refcount, 1);
        let status = store.status().unwrap();
        assert_eq!((status.blob_count, status.blob_bytes, status.journal_length), (1, 21, 1));
        assert!(store.check_fixity(|_| std::ops::ControlFlow::Continue(())).unwrap().is_clean());

        let orphan = store.blobs().put(b"left by a crash").unwrap().digest.blake3;
        let local = LocalBlobStore::open(dir.path().join("blobs"), Durability::Fsync).unwrap();
        std::fs::remove_file(local.path_of(&hash)).unwrap();
        let report = store.check_fixity(|_| std::ops::ControlFlow::Continue(())).unwrap();
        assert_eq!(report.missing, vec![hash]);
        assert_eq!(report.unreferenced, vec![orphan]);
        assert!(!report.is_clean());
    }
}
