//! The service layer: the engine's use cases over the store, free of any transport. `auth` says who
//! is calling (tokens, roles, scopes); `keyspaces` lists every keyspace of the store.
//!
//! Every blocking call (file I/O, hashing, RocksDB) runs on tokio's blocking pool, so the async
//! handlers above never block a runtime thread. Handlers in `grpc` decode a request, call one method
//! here, and encode the answer.

mod audit;
mod aussonderung;
pub mod auth;
mod clerk;
mod error;
pub mod evidence;
mod handover;
pub mod keyspaces;
mod lifecycle;
mod mailroom;
mod migration;
mod records;
mod scrub;
mod search;
mod transfer;

use std::path::PathBuf;
use std::sync::Arc;

use registratur_storage::Store;

pub use audit::{
    EXPORT_FORMAT, ExportedContent, ExportedDokument, ExportedEingang, ExportedEntry, ExportedRendition,
    ExportedVersion, HistoryExport, JournalAnchor,
};
pub use aussonderung::{
    AkteInProcess, Appraisal, AppraisalReceipt, AussonderungProcess, ObjectKind, Offer, OfferRequest,
    ProcessObject, ProcessState,
};
pub use clerk::{KlaerfallReading, MAX_AKTE_MATCHES, OpenKlaerfaelle};
pub use error::{ErrorCode, ServiceError};
pub use handover::Handover;
pub use lifecycle::RetentionView;
pub use mailroom::{BatchQuery, BatchUpdate, BatchView, IngestUpload, NewBatch, PagePreview};
pub use migration::{DEFAULT_REPORT_PAGE, JobView, MAX_REPORT_PAGE, PolicyView, ScopeRequest};
pub use records::{AkteDetails, DocumentHeader, DokumentDetails, HistoryItem, HistoryOf, IssuedRoutingCode};
pub use scrub::{
    BlobReference, Damage, QuarantineEntry, QuarantineRecord, SCRUB_ACTOR, ScrubEvent, ScrubProgress,
    ScrubReport, ScrubSettings,
};
pub use search::{DEFAULT_PAGE, MAX_PAGE};
pub use transfer::{BlobDownload, StoredBlobInfo, Upload};

use registratur_scan::ocr::OcrEngine;
use registratur_scan::ocr::tesseract::{TesseractConfig, TesseractEngine};

use crate::auth::{Principal, Role};
use registratur_mailroom::ingest::pipeline::{Mailroom, MailroomSettings};
use registratur_mailroom::ingest::worker::WorkerHandle;
use registratur_mailroom::route::code::RoutingKeyRing;
use registratur_migrate::{MigrationSettings, MigrationWorker, Runner, ScanToolchain};
use registratur_ops::metrics::Gauges;
use registratur_records::aktenzeichen::AktenzeichenFormat;
use registratur_records::repo::Records;
use registratur_search::{IndexerHandle, SearchIndex, SearchSettings};
use scrub::{ScrubHandle, ScrubLock};

/// Settings the engine needs beyond the store.
#[derive(Clone, Debug)]
pub struct EngineLimits {
    pub max_upload_bytes: u64,
    /// Batches the mailroom may hold waiting; beyond that, new batches are refused until it catches
    /// up (backpressure instead of an ever-growing queue).
    pub max_queued_batches: usize,
}

/// Everything an engine is configured with.
#[derive(Clone, Debug, Default)]
pub struct EngineSettings {
    pub limits: EngineLimits,
    pub aktenzeichen_format: AktenzeichenFormat,
    pub mailroom: MailroomSettings,
    pub ocr: OcrChoice,
    pub search: SearchSettings,
    pub scrub: ScrubSettings,
    pub migration: MigrationSettings,
    /// Evidence records (`None`: off).
    pub evidence: Option<evidence::EvidenceSettings>,
    /// The clock records and journal entries are stamped with (`None`: the system clock). Tests set a
    /// `registratur_storage::clock::ManualClock` to see retention run out.
    pub clock: Option<Arc<dyn registratur_storage::clock::Clock>>,
    /// Where the blobs live (the metadata is always in the data directory).
    pub blobs: BlobBackend,
}

/// The blob store an engine opens (`[blobs]` in the config).
#[derive(Clone, Debug, Default)]
pub enum BlobBackend {
    /// `blobs/` under the data directory.
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3(Box<registratur_storage::blob::S3Settings>),
}

/// Which OCR engine the mailroom uses.
#[derive(Clone)]
pub enum OcrChoice {
    /// Tesseract through libtesseract (the product).
    Tesseract(TesseractConfig),
    /// An engine supplied by the caller (unit tests use a deterministic fake).
    Custom(Arc<dyn OcrEngine>),
}

impl Default for OcrChoice {
    fn default() -> Self {
        OcrChoice::Tesseract(TesseractConfig::default())
    }
}

impl std::fmt::Debug for OcrChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OcrChoice::Tesseract(config) => f.debug_tuple("Tesseract").field(config).finish(),
            OcrChoice::Custom(engine) => f.debug_tuple("Custom").field(&engine.describe()).finish(),
        }
    }
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self { max_upload_bytes: 4 << 30, max_queued_batches: 200 }
    }
}

/// The engine: what the gRPC services call. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    // Dropped before everything else: the evidence thread finishes the request in hand.
    evidence: Option<evidence::EvidenceRuntime>,
    // Dropped first: stopping the worker waits for the piece in hand, while the store is still open.
    worker: WorkerHandle,
    // The migration worker finishes the window in hand.
    _migration_worker: MigrationWorker,
    migration: Arc<Runner>,
    // Then the indexer, which commits what it has applied, and the scrub.
    _indexer: IndexerHandle,
    _scrub: ScrubHandle,
    scrub_lock: ScrubLock,
    search: Arc<SearchIndex>,
    mailroom: Arc<Mailroom>,
    store: Store,
    records: Arc<Records>,
    routing_keys: RoutingKeyRing,
    limits: EngineLimits,
}

/// Where the search index lives inside the data directory (derived state: safe to delete).
pub const SEARCH_DIR: &str = "search";

/// Where the routing key lives inside the data directory.
pub const ROUTING_KEY_FILE: &str = "keys/routing.key";

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
    /// An engine over `store`; the routing key is read from (or created in) the store's data directory.
    pub fn new(store: Store, settings: EngineSettings) -> Result<Self, ServiceError> {
        let records = Arc::new(Records::open(store.clone(), settings.aktenzeichen_format)?);
        // The whole ring: codes signed with rotated-out keys must still verify.
        let routing_keys = RoutingKeyRing::load_or_create(&store.data_dir().join(ROUTING_KEY_FILE))?;
        let ocr: Arc<dyn OcrEngine> = match settings.ocr {
            OcrChoice::Tesseract(config) => {
                Arc::new(TesseractEngine::new(config).map_err(|e| ServiceError::Unavailable(e.to_string()))?)
            }
            OcrChoice::Custom(engine) => engine,
        };
        let mailroom = Arc::new(Mailroom::new(
            store.clone(),
            records.clone(),
            routing_keys.clone(),
            ocr,
            settings.mailroom,
        )?);
        let worker = WorkerHandle::start(&mailroom)
            .map_err(|e| ServiceError::Internal(format!("cannot start the mailroom worker: {e}")))?;
        let search =
            Arc::new(SearchIndex::open(store.data_dir().join(SEARCH_DIR), records.clone(), settings.search)?);
        let indexer = IndexerHandle::start(&search)
            .map_err(|e| ServiceError::Internal(format!("cannot start the search indexer: {e}")))?;
        let scrub_lock = ScrubLock::default();
        let scrub = ScrubHandle::start(store.clone(), settings.scrub, scrub_lock.clone())
            .map_err(|e| ServiceError::Internal(format!("cannot start the fixity scrub: {e}")))?;
        // Migration yields to the mailroom: while batches wait, it slows down.
        let ingest_busy = {
            let mailroom = mailroom.clone();
            Box::new(move || mailroom.repo().queued().is_ok_and(|queued| !queued.is_empty()))
        };
        let tools = Arc::new(ScanToolchain::default());
        let migration = Arc::new(
            Runner::new(records.clone(), tools, settings.migration, ingest_busy)
                .map_err(|e| ServiceError::Internal(format!("cannot start the migration pool: {e}")))?,
        );
        let migration_worker = MigrationWorker::start(migration.clone())
            .map_err(|e| ServiceError::Internal(format!("cannot start the migration worker: {e}")))?;
        let evidence = match settings.evidence {
            Some(evidence) => Some(
                evidence::EvidenceRuntime::start(records.clone(), evidence)
                    .map_err(|e| ServiceError::Internal(format!("cannot start the evidence thread: {e}")))?,
            ),
            None => {
                tracing::info!("evidence records off: no [evidence] section");
                None
            }
        };
        Ok(Self {
            inner: Arc::new(EngineInner {
                evidence,
                worker,
                _migration_worker: migration_worker,
                migration,
                _indexer: indexer,
                _scrub: scrub,
                scrub_lock,
                search,
                mailroom,
                store,
                records,
                routing_keys,
                limits: settings.limits,
            }),
        })
    }

    pub fn routing_keys(&self) -> &RoutingKeyRing {
        &self.inner.routing_keys
    }

    /// Opens the store in `data_dir` (creating it if needed).
    pub fn open(data_dir: impl Into<PathBuf>, settings: EngineSettings) -> Result<Self, ServiceError> {
        let meta = registratur_storage::meta::MetaOptions {
            clock: settings.clock.clone().unwrap_or_else(registratur_storage::clock::system),
            ..Default::default()
        };
        let data_dir = data_dir.into();
        let store = match &settings.blobs {
            BlobBackend::Local => Store::open_with(data_dir, registratur_storage::Durability::Fsync, meta)?,
            BlobBackend::S3(s3) => {
                let blobs = registratur_storage::blob::S3BlobStore::connect(s3)
                    .map_err(|e| ServiceError::Internal(format!("cannot set up the S3 blob store: {e}")))?;
                // A wrong key or bucket stops the start; an outage only warns (requests retry later).
                match blobs.check() {
                    Err(e) if e.is_transient() => {
                        tracing::warn!(error = %e, "S3 blob store unreachable at start")
                    }
                    other => other.map_err(registratur_storage::StoreError::from)?,
                }
                if let Err(e) = blobs.sweep_staging(std::time::Duration::from_secs(24 * 3600)) {
                    tracing::warn!(error = %e, "could not sweep uploads left in the S3 staging prefix");
                }
                Store::open_with_blobs(data_dir, Arc::new(blobs), meta)?
            }
        };
        Self::new(store, settings)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The search index (tests and benchmarks wait on it and compare its contents).
    pub fn search_index(&self) -> &SearchIndex {
        &self.inner.search
    }

    pub(crate) fn records(&self) -> &Records {
        &self.inner.records
    }

    pub async fn status(&self, principal: &Principal) -> Result<StatusReport, ServiceError> {
        records::require_role(principal, &[Role::Admin, Role::Archivist], "read the store status")?;
        let status = self.blocking(|engine| Ok(engine.store().status()?)).await?;
        Ok(StatusReport {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: self.inner.store.data_dir().to_path_buf(),
            blob_count: status.blob_count,
            blob_bytes: status.blob_bytes,
            journal_length: status.journal_length,
            journal_head: status.journal_head.map(hex::encode),
        })
    }

    pub async fn verify_journal(&self, principal: &Principal) -> Result<JournalCheck, ServiceError> {
        records::require_role(principal, &[Role::Admin, Role::Archivist], "verify the journal")?;
        let report = self.blocking(|engine| Ok(engine.store().verify_journal()?)).await?;
        Ok(JournalCheck {
            entries_checked: report.entries_checked,
            first_break: report.first_break.map(|b| (b.seq, b.problem.to_string())),
        })
    }

    /// The Prometheus exposition of this process, with the engine's gauges read now.
    pub async fn metrics_text(&self) -> String {
        let gauges = self
            .blocking(|engine| {
                let journal_next = engine.store().meta().journal_head().map_or(1, |head| head.seq + 1);
                let snapshot = engine.inner.search.snapshot().ok();
                Ok(Gauges {
                    ingest_queue_depth: engine.inner.mailroom.repo().queued().map_or(0, |q| q.len() as u64),
                    search_index_lag: journal_next
                        .saturating_sub(engine.inner.search.searchable_through().unwrap_or(1)),
                    search_documents: snapshot.as_ref().map_or(0, |s| s.document_count()),
                    journal_length: journal_next - 1,
                    quarantined_blobs: engine.quarantined_count(),
                    last_scrub_finished: scrub::last_report(engine.store())
                        .ok()
                        .flatten()
                        .map_or(0, |report| report.finished_at.timestamp()),
                })
            })
            .await
            .unwrap_or_default();
        let mut text = registratur_ops::metrics::global().render(&gauges);
        let engine = self.clone();
        if let Ok(evidence) = tokio::task::spawn_blocking(move || engine.evidence_metrics()).await {
            text.push_str(&evidence);
        }
        text
    }

    /// Runs a blocking call (file I/O, hashing, RocksDB) on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Engine) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let engine = self.clone();
        tokio::task::spawn_blocking(move || call(&engine)).await?
    }
}
