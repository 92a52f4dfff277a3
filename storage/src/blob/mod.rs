//! `BlobStore`: put bytes, get them back by their BLAKE3 hash — and never anything else.
//!
//! A blob store holds immutable byte strings addressed by content. It knows nothing of documents,
//! reference counts or who owns a blob; the metadata store (`meta`) keeps that. Two implementations
//! share one contract and one test suite (`test_suite`): [`LocalBlobStore`] on the file system (the
//! default) and [`MemoryBlobStore`] for tests.
//!
//! The contract every implementation keeps:
//! - **Atomic visibility**: a blob becomes visible only once all its bytes are durable; readers never
//!   observe a partially written blob, even after a crash.
//! - **Idempotence**: putting bytes that are already stored stores them once and returns the same digest.
//! - **Immutability**: no method overwrites or edits a stored blob.
//! - **Verified reads**: every read re-hashes the bytes. A mismatch yields [`BlobError::Corrupted`], the
//!   blob is moved to quarantine, and the bad bytes are never handed out.

#[cfg(test)]
mod crash_fs;
mod fs;
mod local;
mod memory;
#[cfg(test)]
mod test_suite;

use std::io::{self, Read, Write};

pub use local::{Durability, LocalBlobStore};
pub use memory::MemoryBlobStore;

use crate::hash::{BlobDigest, BlobHash};

/// Errors of a blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {hash} not found")]
    NotFound { hash: BlobHash },
    /// The stored bytes no longer hash to their address. The blob has been quarantined.
    #[error(
        "blob {hash} is corrupted (stored bytes do not match their hash); it was quarantined, restore it from a replica or backup"
    )]
    Corrupted { hash: BlobHash },
    #[error("blob store i/o failed while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl BlobError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> BlobError {
        let context = context.into();
        move |source| BlobError::Io { context, source }
    }
}

/// Outcome of a successful put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    pub digest: BlobDigest,
    /// False when identical bytes were already stored.
    pub newly_stored: bool,
}

/// A blob being written. Bytes written here stay invisible until [`BlobWriter::commit`] returns;
/// dropping the writer without committing discards them.
pub trait BlobWriter: Write + Send {
    /// Makes the blob durable and visible under its hash.
    fn commit(self: Box<Self>) -> Result<PutOutcome, BlobError>;
}

/// A content-addressed, immutable blob store. See the module documentation for the contract.
pub trait BlobStore: Send + Sync {
    /// Starts a streamed put. Use this when bytes arrive in chunks (for example over gRPC).
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError>;

    /// Opens a blob for streamed reading. The bytes are verified against the hash before the reader
    /// is returned, and the reader verifies them again as they are read: a blob altered in between
    /// yields an `InvalidData` error at its end, never silently bad bytes.
    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError>;

    /// Size of a stored blob without reading it, or `None` when it is absent.
    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError>;

    /// Re-hashes a stored blob. `Ok(Some(digest))` when intact, `Ok(None)` when absent, and
    /// `Err(Corrupted)` (after quarantining it) when the bytes do not match.
    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError>;

    /// Every stored blob's hash, in no particular order.
    fn list(&self) -> Result<Vec<BlobHash>, BlobError>;

    /// Stores everything a reader yields.
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        let mut writer = self.writer()?;
        io::copy(reader, &mut writer).map_err(BlobError::io("copying into a new blob"))?;
        writer.commit()
    }

    /// Stores a byte slice.
    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        let mut writer = self.writer()?;
        writer.write_all(bytes).map_err(BlobError::io("writing a new blob"))?;
        writer.commit()
    }

    /// Reads a whole blob into memory, verified.
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let mut reader = self.open(hash)?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|source| match source.kind() {
            io::ErrorKind::InvalidData => BlobError::Corrupted { hash: *hash },
            _ => BlobError::Io { context: format!("reading blob {hash}"), source },
        })?;
        Ok(bytes)
    }
}

/// A reader that hashes what passes through it and fails at the end if the hash is not `expected`.
pub(crate) struct VerifyingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    expected: BlobHash,
}

impl<R: Read> VerifyingReader<R> {
    pub(crate) fn new(inner: R, expected: BlobHash) -> Self {
        Self { inner, hasher: blake3::Hasher::new(), expected }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if self.hasher.finalize().as_bytes() != self.expected.as_bytes() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("blob {} changed while it was read", self.expected),
                ));
            }
        } else {
            self.hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}
