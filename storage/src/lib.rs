//! registratur-storage: where documents rest — immutable blobs under content hashes, metadata in
//! RocksDB, and a hash-chained journal of every state change.
//!
//! This crate knows nothing about OCR, QR codes, PDFs or gRPC. Its pieces:
//! - [`hash`]: BLAKE3 addresses and the SHA-256 digests computed beside them in one pass.
//! - [`clock`]: the one source of the time (system clock, or a manual one in tests).
//! - [`blob`]: the [`BlobStore`](blob::BlobStore) contract with a local-file and an in-memory implementation,
//!   the wrapper that retries transient failures, and the contract suite (public with the `test-suite` feature).
//! - [`meta`]: RocksDB column families, atomic transactions (records + blob reference counts + journal
//!   entry in one write batch) and group commit.
//! - [`journal`]: the append-only, hash-chained log and its verification.
//! - [`fixity`]: re-hashes every blob and reports missing and corrupted ones.
//! - [`table`]: typed keyspaces over the metadata store with versioned record values, and their registry.
//! - [`Store`]: the blob store and the metadata opened together from one data directory.

pub mod blob;
pub mod clock;
pub mod fixity;
pub mod hash;
pub mod journal;
pub mod meta;
mod store;
pub mod table;

pub use blob::{BlobError, BlobStore, Durability, LocalBlobStore, MemoryBlobStore};
pub use hash::{BlobDigest, BlobHash, Sha256Digest};
pub use meta::{MetaError, MetaSnapshot, MetaStore, Txn};
pub use store::{Store, StoreError};
