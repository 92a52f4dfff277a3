//! `MemoryBlobStore`: the blob store contract kept in an ordered map, for tests of code above the store.

use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Write};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::{BlobError, BlobStore, BlobWriter, PutOutcome, VerifyingReader};
use crate::hash::{BlobDigest, BlobHash, DualHasher};

/// An in-memory blob store. Cheap to clone; clones share their contents.
#[derive(Clone, Default)]
pub struct MemoryBlobStore {
    inner: Arc<RwLock<Contents>>,
}

/// A blob's shared bytes together with their freshly computed digest.
type Verified = (Arc<Vec<u8>>, BlobDigest);

#[derive(Default)]
struct Contents {
    /// Ordered by hash, so that listing pages are ranges.
    blobs: BTreeMap<BlobHash, Arc<Vec<u8>>>,
    quarantine: Vec<(BlobHash, Arc<Vec<u8>>)>,
    /// Stored bytes handed to readers and verifications so far.
    bytes_read: AtomicU64,
}

impl MemoryBlobStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Blobs moved aside because their bytes no longer matched their hash.
    pub fn quarantined(&self) -> Vec<BlobHash> {
        self.read().quarantine.iter().map(|(hash, _)| *hash).collect()
    }

    /// Replaces a stored blob's bytes without changing its address: simulates bit rot in tests of
    /// the corruption path. Returns false when the blob is absent.
    pub fn tamper(&self, hash: &BlobHash, edit: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut contents = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let Some(bytes) = contents.blobs.get_mut(hash) else {
            return false;
        };
        edit(Arc::make_mut(bytes));
        true
    }

    /// How many stored bytes reads and verifications have looked at so far: lets tests prove that an
    /// operation (a duplicate put, say) does not read stored blobs.
    pub fn bytes_read(&self) -> u64 {
        self.read().bytes_read.load(Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Contents> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns the blob's bytes after checking them; quarantines a mismatch.
    fn verified(&self, hash: &BlobHash) -> Result<Option<Verified>, BlobError> {
        let Some(bytes) = self.read().blobs.get(hash).cloned() else {
            return Ok(None);
        };
        self.read().bytes_read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let digest = BlobDigest::of(&bytes);
        if digest.blake3 != *hash {
            let mut contents = self.inner.write().unwrap_or_else(|e| e.into_inner());
            if let Some(bad) = contents.blobs.remove(hash) {
                contents.quarantine.push((*hash, bad));
            }
            return Err(BlobError::Corrupted { hash: *hash });
        }
        Ok(Some((bytes, digest)))
    }
}

impl BlobStore for MemoryBlobStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        Ok(Box::new(MemoryBlobWriter { store: self.clone(), bytes: Vec::new() }))
    }

    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        let (bytes, _) = self.verified(hash)?.ok_or(BlobError::NotFound { hash: *hash })?;
        Ok(Box::new(VerifyingReader::new(Cursor::new(ArcBytes(bytes)), *hash)))
    }

    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        Ok(self.read().blobs.get(hash).map(|bytes| bytes.len() as u64))
    }

    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        Ok(self.verified(hash)?.map(|(_, digest)| digest))
    }

    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(self.read().blobs.range((from, Bound::Unbounded)).map(|(hash, _)| *hash).take(limit).collect())
    }
}

struct MemoryBlobWriter {
    store: MemoryBlobStore,
    bytes: Vec<u8>,
}

impl Write for MemoryBlobWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobWriter for MemoryBlobWriter {
    fn commit(self: Box<Self>) -> Result<PutOutcome, BlobError> {
        let mut hasher = DualHasher::new();
        hasher.update(&self.bytes);
        let digest = hasher.finalize();
        // Stored already? Decided by size alone, never by reading the stored bytes (see the contract): a
        // copy of another size is damaged and is quarantined and replaced.
        let mut contents = self.store.inner.write().unwrap_or_else(|e| e.into_inner());
        match contents.blobs.get(&digest.blake3) {
            Some(stored) if stored.len() as u64 == digest.size => {
                return Ok(PutOutcome { digest, newly_stored: false });
            }
            Some(_) => {
                if let Some(bad) = contents.blobs.remove(&digest.blake3) {
                    contents.quarantine.push((digest.blake3, bad));
                }
            }
            None => {}
        }
        contents.blobs.insert(digest.blake3, Arc::new(self.bytes));
        Ok(PutOutcome { digest, newly_stored: true })
    }
}

/// Shares a stored blob's bytes with a reader without copying them.
struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
