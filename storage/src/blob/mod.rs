//! `BlobStore`: put bytes, get them back by their BLAKE3 hash — and never anything else.
//!
//! A blob store holds immutable byte strings addressed by content. It knows nothing of documents,
//! reference counts or who owns a blob; the metadata store (`meta`) keeps that. Two implementations
//! share one contract and one test suite ([`test_suite`], public behind the `test-suite` feature so
//! that a backend in another crate proves the same contract): [`LocalBlobStore`] on the file system
//! (the default), `S3BlobStore` on S3-compatible object storage (feature `s3`) and [`MemoryBlobStore`]
//! for tests. [`RetryingBlobStore`] wraps any of them and
//! retries what is safe to retry when the backend reports a transient failure.
//!
//! The contract every implementation keeps:
//! - **Atomic visibility**: a blob becomes visible only once all its bytes are durable; readers never
//!   observe a partially written blob, even after a crash.
//! - **Idempotence**: putting bytes that are already stored stores them once and returns the same digest.
//!   Whether they are already stored is decided from the stored blob's existence and size alone, never
//!   by reading its bytes (a remote store would download them): a damaged copy of the right size stays
//!   until a verified read or the fixity scrub finds it and quarantines it, and a put after that stores
//!   the bytes afresh. A stored copy of the wrong size is damaged for certain; the put quarantines it and
//!   stores the bytes.
//! - **Immutability**: no method overwrites or edits an intact stored blob.
//! - **Verified reads**: every read re-hashes the bytes. A mismatch yields [`BlobError::Corrupted`] (or, for
//!   a stream, an `InvalidData` error at its end, see [`BlobStore::open`]), the blob is moved to
//!   quarantine, and bad bytes are never handed out as good.
//! - **Ordered listing**: [`BlobStore::list_page`] lists hashes in ascending order, a page at a time,
//!   like S3's ListObjectsV2 with `start-after`; nobody has to hold every hash of a large store at once.
//! - **Transient failures are said so**: a backend that cannot reach its storage for now (timeout, dropped
//!   connection, throttling, server error) answers [`BlobError::Unavailable`], and nothing else, so that
//!   callers retry exactly what may succeed later ([`retry`]).
//!
//! Which methods stream: [`BlobStore::writer`], [`BlobStore::put_reader`] and [`BlobStore::open`] move
//! the bytes in chunks, with memory bounded independently of the blob's size; [`BlobStore::verify`] reads
//! the whole blob but keeps none of it. [`BlobStore::put`] and [`BlobStore::get`] take or return the
//! whole blob in memory: for small blobs and for bytes that are in memory anyway.

#[cfg(test)]
mod crash_fs;
mod fs;
mod local;
mod memory;
mod retry;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(any(test, feature = "test-suite"))]
pub mod test_suite;

use std::io::{self, Read, Write};
use std::sync::Arc;

pub use local::{Durability, LocalBlobStore};
pub use memory::MemoryBlobStore;
pub use retry::{RetryPolicy, RetryingBlobStore, retry};
#[cfg(feature = "s3")]
pub use s3::{S3BlobStore, S3Credentials, S3Settings};

use crate::hash::{BlobDigest, BlobHash};

/// A page size for [`BlobStore::list_page`] that suits every backend (S3 returns at most 1000 keys a
/// request).
pub const LIST_PAGE: usize = 1000;

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
    /// The store could not be reached or refused for now: a timeout, a dropped connection, throttling,
    /// a server error. The operation did not take effect, or took effect in a way that repeating it
    /// keeps (puts are content-addressed); retrying later may succeed. See [`BlobError::is_transient`].
    #[error("blob store unavailable while {context}: {source}; this is temporary, retry the request later")]
    Unavailable {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BlobError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> BlobError {
        let context = context.into();
        move |source| BlobError::Io { context, source }
    }

    /// A transient failure while `context` (for example "reading blob ab12…").
    pub fn unavailable(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        BlobError::Unavailable { context: context.into(), source: source.into() }
    }

    /// True when retrying the same operation later may succeed ([`BlobError::Unavailable`]). Not-found,
    /// corruption and other i/o failures are permanent: a retry would fail the same way.
    pub fn is_transient(&self) -> bool {
        matches!(self, BlobError::Unavailable { .. })
    }

    /// What a failed read of a reader from [`BlobStore::open`] means: a `BlobError` the reader carried
    /// (a remote backend's [`BlobError::Unavailable`], say) as it is, `InvalidData` as
    /// [`BlobError::Corrupted`] (the bytes did not hash to `hash`), a timeout or a dropped connection as
    /// [`BlobError::Unavailable`], anything else as [`BlobError::Io`].
    pub fn from_read(hash: &BlobHash, source: io::Error) -> Self {
        let context = format!("reading blob {hash}");
        match source.kind() {
            io::ErrorKind::InvalidData => return BlobError::Corrupted { hash: *hash },
            io::ErrorKind::TimedOut
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::NotConnected
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::NetworkDown => return BlobError::unavailable(context, source),
            _ => {}
        }
        if source.get_ref().is_some_and(|inner| inner.is::<BlobError>()) {
            let inner = source.into_inner().map(|inner| inner.downcast::<BlobError>());
            if let Some(Ok(error)) = inner {
                return *error;
            }
            // `is::<BlobError>` just said the downcast succeeds; this arm is never taken.
            return BlobError::Io { context, source: io::Error::other("unreadable stream error") };
        }
        BlobError::Io { context, source }
    }
}

/// Outcome of a successful put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    pub digest: BlobDigest,
    /// False when identical bytes were already stored. Advisory: a put retried after its first attempt
    /// stored the bytes but lost the answer says false although this caller stored them.
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
    /// Starts a streamed put. Use this when bytes arrive in chunks (for example over gRPC); memory stays
    /// bounded whatever the blob's size (a remote backend uploads in parts). Retrying a failed commit
    /// needs the bytes again, so a remote backend retries its own parts; [`RetryingBlobStore`] retries
    /// only the writer's creation.
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError>;

    /// Opens a blob for streamed reading; fails with `NotFound` when it is absent.
    ///
    /// What callers may rely on: the reader returns end of file (`Ok(0)`) only after every byte it
    /// returned hashed to `hash`; bytes that do not fails its last read with an `InvalidData` error
    /// instead, never a clean end (see [`BlobError::from_read`]). So a caller must read to the end before
    /// it treats the bytes as good (commits anything derived from them, or tells its own client the
    /// transfer is complete), and on `InvalidData` call [`BlobStore::verify`] to have the blob
    /// quarantined. A transient failure mid-stream is an `io::Error` carrying [`BlobError::Unavailable`]
    /// (or of a network kind such as `TimedOut`); the caller may open the blob again.
    ///
    /// An implementation may also check before it returns the reader: [`LocalBlobStore`] hashes the file
    /// once first (failing with `Corrupted` and quarantining the blob at once), then checks again while
    /// streaming, which costs a second local read. A remote backend must not download the blob twice:
    /// it verifies while streaming and fails at the end.
    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError>;

    /// Size of a stored blob without reading it, or `None` when it is absent.
    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError>;

    /// Re-hashes a stored blob, streaming (nothing of it is kept in memory). `Ok(Some(digest))` when
    /// intact, `Ok(None)` when absent, and `Err(Corrupted)` (after quarantining it) when the bytes do not
    /// match. This and the fixity scrub built on it are what find bit rot; puts do not read.
    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError>;

    /// At most `limit` stored hashes greater than `after` (all of them from the first when `None`), in
    /// ascending order; fewer than `limit` only when no more follow. Pass the last hash of a page as
    /// `after` for the next one; [`hashes`] does that. Blobs stored meanwhile may or may not appear.
    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError>;

    /// Stores everything a reader yields, streaming (see [`BlobStore::writer`]).
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        let mut writer = self.writer()?;
        io::copy(reader, &mut writer).map_err(BlobError::io("copying into a new blob"))?;
        writer.commit()
    }

    /// Stores a byte slice that is in memory anyway.
    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        let mut writer = self.writer()?;
        writer.write_all(bytes).map_err(BlobError::io("writing a new blob"))?;
        writer.commit()
    }

    /// Reads a whole blob into memory, verified: for small blobs and for callers that need all the
    /// bytes at once (decoders). Stream with [`BlobStore::open`] otherwise.
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let mut reader = self.open(hash)?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|source| BlobError::from_read(hash, source))?;
        Ok(bytes)
    }
}

/// Every stored hash in ascending order, fetched `page` at a time with [`BlobStore::list_page`]: memory
/// holds one page, whatever the store's size.
pub fn hashes(store: &dyn BlobStore, page: usize) -> Hashes<'_> {
    Hashes { store, page: page.max(1), current: Vec::new().into_iter(), after: None, done: false }
}

/// The iterator of [`hashes`]. After an error it ends.
pub struct Hashes<'a> {
    store: &'a dyn BlobStore,
    page: usize,
    current: std::vec::IntoIter<BlobHash>,
    after: Option<BlobHash>,
    done: bool,
}

impl Iterator for Hashes<'_> {
    type Item = Result<BlobHash, BlobError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(hash) = self.current.next() {
            return Some(Ok(hash));
        }
        if self.done {
            return None;
        }
        match self.store.list_page(self.after.as_ref(), self.page) {
            Ok(page) => {
                self.done = page.len() < self.page;
                self.after = page.last().copied().or(self.after);
                self.current = page.into_iter();
                let next = self.current.next();
                if next.is_none() {
                    self.done = true;
                }
                next.map(Ok)
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

/// A shared or borrowed store is a store: wrappers such as [`RetryingBlobStore`] take either.
impl<S: BlobStore + ?Sized> BlobStore for &S {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        (**self).writer()
    }
    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        (**self).open(hash)
    }
    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        (**self).size_of(hash)
    }
    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        (**self).verify(hash)
    }
    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        (**self).list_page(after, limit)
    }
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        (**self).put_reader(reader)
    }
    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        (**self).put(bytes)
    }
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        (**self).get(hash)
    }
}

impl<S: BlobStore + ?Sized> BlobStore for Arc<S> {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        (**self).writer()
    }
    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        (**self).open(hash)
    }
    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        (**self).size_of(hash)
    }
    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        (**self).verify(hash)
    }
    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        (**self).list_page(after, limit)
    }
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        (**self).put_reader(reader)
    }
    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        (**self).put(bytes)
    }
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        (**self).get(hash)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_stream_read_is_classified_by_what_it_means() {
        let hash = BlobHash::of(b"x");
        let error = |kind| io::Error::new(kind, "read failed");
        assert!(matches!(
            BlobError::from_read(&hash, error(io::ErrorKind::InvalidData)),
            BlobError::Corrupted { .. }
        ));
        for kind in [io::ErrorKind::TimedOut, io::ErrorKind::ConnectionReset, io::ErrorKind::BrokenPipe] {
            assert!(BlobError::from_read(&hash, error(kind)).is_transient(), "{kind:?}");
        }
        // A remote reader carries its own BlobError through io::Error; it comes out as it went in.
        let carried = io::Error::other(BlobError::unavailable("reading part 3", "HTTP 503"));
        assert!(BlobError::from_read(&hash, carried).is_transient());
        let carried = io::Error::other(BlobError::NotFound { hash });
        assert!(matches!(BlobError::from_read(&hash, carried), BlobError::NotFound { .. }));
        let other = BlobError::from_read(&hash, error(io::ErrorKind::PermissionDenied));
        assert!(matches!(other, BlobError::Io { .. }) && !other.is_transient(), "{other:?}");
    }

    #[test]
    fn hashes_walks_every_page_including_an_exactly_full_last_one() {
        let store = MemoryBlobStore::new();
        assert_eq!(hashes(&store, 5).count(), 0);
        let mut stored: Vec<BlobHash> = (0..25u8).map(|i| store.put(&[i]).unwrap().digest.blake3).collect();
        stored.sort();
        for page in [1, 5, 7, 25, 1000] {
            let listed: Vec<BlobHash> = hashes(&store, page).collect::<Result<_, _>>().unwrap();
            assert_eq!(listed, stored, "page size {page}");
        }
    }
}
