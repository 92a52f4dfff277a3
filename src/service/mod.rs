//! The service layer: the engine's use cases over the store, free of any transport.
//!
//! Every blocking call (file I/O, hashing, RocksDB) runs on tokio's blocking pool, so the async
//! handlers above never block a runtime thread. Handlers in `grpc` decode a request, call one method
//! here, and encode the answer.

mod blobs;
mod error;

use std::path::PathBuf;
use std::sync::Arc;

use registratur_storage::Store;
use registratur_storage::fixity::FixityReport;

pub use blobs::{BlobDownload, BlobUpload, StoredBlobInfo};
pub use error::{ErrorCode, ServiceError};

/// Settings the engine needs beyond the store.
#[derive(Clone, Debug)]
pub struct EngineLimits {
    pub max_upload_bytes: u64,
}

/// The engine: what the gRPC services call. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    store: Store,
    limits: EngineLimits,
}

/// Counts from the store, as reported by `GetStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    pub version: String,
    pub data_dir: PathBuf,
    pub blob_count: u64,
    pub blob_bytes: u64,
    pub journal_length: u64,
    /// Hex hash of the newest journal entry.
    pub journal_head: Option<String>,
}

/// The outcome of walking the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalCheck {
    pub entries_checked: u64,
    /// The first broken entry and what is wrong with it.
    pub first_break: Option<(u64, String)>,
}

impl Engine {
    pub fn new(store: Store, limits: EngineLimits) -> Self {
        Self {
            inner: Arc::new(EngineInner { store, limits }),
        }
    }

    /// Opens the store in `data_dir` (creating it if needed).
    pub fn open(data_dir: impl Into<PathBuf>, limits: EngineLimits) -> Result<Self, ServiceError> {
        let store = Store::open(data_dir.into())?;
        Ok(Self::new(store, limits))
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub async fn status(&self) -> Result<StatusReport, ServiceError> {
        let store = self.inner.store.clone();
        let status = tokio::task::spawn_blocking(move || store.status()).await??;
        Ok(StatusReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: self.inner.store.data_dir().to_path_buf(),
            blob_count: status.blob_count,
            blob_bytes: status.blob_bytes,
            journal_length: status.journal_length,
            journal_head: status.journal_head.map(hex::encode),
        })
    }

    pub async fn verify_journal(&self) -> Result<JournalCheck, ServiceError> {
        let store = self.inner.store.clone();
        let report = tokio::task::spawn_blocking(move || store.verify_journal()).await??;
        Ok(JournalCheck {
            entries_checked: report.entries_checked,
            first_break: report.first_break.map(|b| (b.seq, b.problem.to_string())),
        })
    }

    /// Re-hashes every blob the metadata knows (see `registratur_storage::fixity`).
    pub async fn check_fixity(&self) -> Result<FixityReport, ServiceError> {
        let store = self.inner.store.clone();
        Ok(tokio::task::spawn_blocking(move || store.check_fixity(|_| {})).await??)
    }
}
