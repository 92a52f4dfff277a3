//! Evidence records for stored Versionen (RFC 4998 over RFC 3161 timestamps), the engine side of
//! `registratur-evidence`: the background thread that collects, builds trees and has them stamped
//! ([`stamper`]), their tables ([`tables`]), and the use cases: exporting a Version's `.ers` files and
//! the status of the queue.
//!
//! Without an `[evidence]` section ([`EngineSettings::evidence`](crate::EngineSettings) `None`) nothing
//! is collected, and export and status say that the feature is off.

mod stamper;
pub mod tables;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use registratur_evidence::{StampedTree, Stamper, TrustList};
use registratur_ops::background::BackgroundThread;
use registratur_records::repo::{Records, RecordsError};
use registratur_storage::MetaError;

use crate::auth::{Principal, Role};
use crate::records::require_role;
use crate::{Engine, ServiceError};
pub use stamper::{EVIDENCE_ACTOR, anchor_leaf};
use tables::{CURSOR, PENDING, TREES, VERSIONS};

/// How the engine gets its timestamps.
#[derive(Clone)]
pub struct EvidenceSettings {
    /// The TSA (in the product an `HttpTsa`).
    pub tsa: Arc<dyn Stamper>,
    /// Where the TSA is, for the status and log lines.
    pub tsa_url: String,
    /// The CA certificates a TSA certificate must chain to.
    pub trust: TrustList,
    /// A tree is built at most this often (when something was stored meanwhile).
    pub interval: Duration,
    /// A tree is built at once when this many leaves wait.
    pub max_leaves: usize,
    /// The first and the longest wait before asking a failing TSA again.
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl EvidenceSettings {
    /// Hourly trees, up to 100,000 leaves each, retries from 5 s up to 10 minutes.
    pub fn new(tsa: Arc<dyn Stamper>, tsa_url: impl Into<String>, trust: TrustList) -> Self {
        Self {
            tsa,
            tsa_url: tsa_url.into(),
            trust,
            interval: Duration::from_secs(3600),
            max_leaves: 100_000,
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
        }
    }
}

impl std::fmt::Debug for EvidenceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceSettings")
            .field("tsa_url", &self.tsa_url)
            .field("trusted_cas", &self.trust.len())
            .field("interval", &self.interval)
            .field("max_leaves", &self.max_leaves)
            .finish_non_exhaustive()
    }
}

/// Collecting, building or stamping failed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error("cannot build the hash tree: {0}")]
    Tree(#[from] registratur_evidence::TreeError),
    #[error("TSA {0}")]
    Stamp(#[from] registratur_evidence::StampError),
    #[error("evidence record: {0}")]
    Record(#[from] registratur_evidence::RecordError),
    #[error("stored stamped tree: {0}")]
    StoredTree(#[from] registratur_evidence::StoredStampedTreeError),
    #[error("cannot encode the evidence record: {0}")]
    Encode(#[from] registratur_evidence::asn1::Asn1Error),
    #[error("stored evidence state is damaged: {0}")]
    Stored(String),
}

impl EvidenceError {
    /// Whether the TSA was merely unreachable or slow.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Stamp(e) if e.is_transient())
    }
}

impl From<EvidenceError> for ServiceError {
    fn from(error: EvidenceError) -> Self {
        match error {
            EvidenceError::Meta(e) => e.into(),
            EvidenceError::Records(e) => e.into(),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// What the evidence thread knows beyond the store (kept in memory).
#[derive(Default)]
pub(crate) struct Shared {
    state: Mutex<SharedState>,
    pub(crate) stamp_failures: AtomicU64,
}

#[derive(Default)]
struct SharedState {
    last_error: Option<(DateTime<Utc>, String)>,
    next_tree_at: Option<DateTime<Utc>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, SharedState> {
        // A panic while holding this lock leaves plain values behind, still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_error(&self, at: DateTime<Utc>, error: String) {
        self.lock().last_error = Some((at, error));
    }

    fn set_next_tree(&self, now: DateTime<Utc>, interval: Duration) {
        self.lock().next_tree_at = chrono::Duration::from_std(interval).ok().map(|i| now + i);
    }

    fn stamped(&self) {
        self.lock().last_error = None;
    }
}

/// The running evidence service of an engine.
pub(crate) struct EvidenceRuntime {
    shared: Arc<Shared>,
    tsa_url: String,
    _thread: BackgroundThread,
}

impl EvidenceRuntime {
    pub(crate) fn start(records: Arc<Records>, settings: EvidenceSettings) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let tsa_url = settings.tsa_url.clone();
        tracing::info!(tsa = %tsa_url, interval = ?settings.interval, max_leaves = settings.max_leaves, "evidence records on");
        let worker = stamper::Worker { records, settings, shared: shared.clone() };
        let thread = BackgroundThread::spawn("evidence", move |signal| worker.run(signal))?;
        Ok(Self { shared, tsa_url, _thread: thread })
    }
}

/// One exported `.ers` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceFile {
    /// `original`, or the rendition's kind.
    pub kind: String,
    /// Hex SHA-256 of the bytes the record proves.
    pub sha256: String,
    /// The DER evidence record.
    pub ers: Vec<u8>,
}

/// A Version's evidence records: the original's first, then one per rendition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceExport {
    pub dokument_id: u64,
    pub version: u32,
    pub tree: u64,
    pub gen_time: DateTime<Utc>,
    pub files: Vec<EvidenceFile>,
}

/// The last journal position a stamped tree anchors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorStatus {
    pub seq: u64,
    pub hash: String,
    pub gen_time: DateTime<Utc>,
    /// Whether the journal still holds that entry with that hash.
    pub intact: bool,
}

/// The state of the evidence queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceStatus {
    pub enabled: bool,
    pub tsa_url: String,
    pub pending_trees: u64,
    pub oldest_pending: Option<DateTime<Utc>>,
    pub stamped_trees: u64,
    /// The newest stamped tree and its token's genTime.
    pub last_stamped: Option<(u64, DateTime<Utc>)>,
    pub last_error: Option<(DateTime<Utc>, String)>,
    pub next_tree_at: Option<DateTime<Utc>>,
    /// Failed stamping attempts since the server started.
    pub stamp_failures: u64,
    pub anchored: Option<AnchorStatus>,
}

const EXPORTERS: &[Role] = &[Role::Fachverfahren, Role::Archivist, Role::Admin];
const OFF: &str = "evidence records are off on this server: configure an [evidence] section (tsa_url, trust_pem) and restart";

impl Engine {
    /// The evidence records of a Version (the current one unless `version` names another).
    pub async fn export_evidence(
        &self,
        principal: Principal,
        dokument_id: u64,
        version: Option<u32>,
    ) -> Result<EvidenceExport, ServiceError> {
        self.blocking(move |engine| {
            let (dokument, _) =
                engine.visible_dokument(&principal, dokument_id, EXPORTERS, "export evidence records")?;
            let number = version.unwrap_or(dokument.current_version);
            engine.records().version(&dokument, number)?;
            let meta = engine.store().meta();
            let Some(evidence) = VERSIONS.get(meta, &(dokument_id, number))? else {
                return Err(ServiceError::FailedPrecondition(engine.not_yet_stamped(dokument_id, number)?));
            };
            let stored = TREES.get(meta, &evidence.tree)?.ok_or_else(|| {
                ServiceError::Internal(format!(
                    "Dokument {dokument_id} Version {number} names evidence tree {} that is not stored",
                    evidence.tree
                ))
            })?;
            let stamped = StampedTree::from_stored(&stamper::decode_hex(&stored.stamped)?)
                .map_err(EvidenceError::from)?;
            let mut files = Vec::with_capacity(1 + evidence.renditions.len());
            let wanted = std::iter::once(("original".to_string(), evidence.original.clone()))
                .chain(evidence.renditions.iter().cloned());
            for (kind, sha256) in wanted {
                let record =
                    stamped.record_for(&stamper::decode_hex(&sha256)?).map_err(EvidenceError::from)?;
                let ers = record.to_der_bytes().map_err(EvidenceError::from)?;
                files.push(EvidenceFile { kind, sha256, ers });
            }
            Ok(EvidenceExport {
                dokument_id,
                version: number,
                tree: evidence.tree,
                gen_time: stored.gen_time,
                files,
            })
        })
        .await
    }

    fn not_yet_stamped(&self, dokument_id: u64, number: u32) -> Result<String, ServiceError> {
        let Some(runtime) = &self.inner.evidence else { return Ok(OFF.to_string()) };
        let meta = self.store().meta();
        let waiting = PENDING.scan(meta, b"")?.into_iter().find(|(_, pending)| {
            pending.versions.iter().any(|v| v.dokument_id == dokument_id && v.version == number)
        });
        let state = runtime.shared.lock();
        Ok(match waiting {
            Some((tree, _)) => format!(
                "Dokument {dokument_id} Version {number} is not yet timestamped: its tree {tree} waits for the TSA{}; \
                 try again later (`registratur evidence status` shows the queue)",
                state.last_error.as_ref().map(|(_, e)| format!(" (last error: {e})")).unwrap_or_default()
            ),
            None => format!(
                "Dokument {dokument_id} Version {number} is not yet timestamped; next tree at {}",
                state.next_tree_at.map_or_else(|| "the next interval".to_string(), |t| t.to_rfc3339())
            ),
        })
    }

    /// The evidence queue: pending and stamped trees, the last error, the anchored journal position.
    pub async fn evidence_status(&self, principal: Principal) -> Result<EvidenceStatus, ServiceError> {
        require_role(&principal, &[Role::Admin, Role::Archivist], "read the evidence status")?;
        self.blocking(move |engine| engine.evidence_status_now()).await
    }

    pub(crate) fn evidence_status_now(&self) -> Result<EvidenceStatus, ServiceError> {
        let meta = self.store().meta();
        let pending = PENDING.scan(meta, b"")?;
        let next_tree = CURSOR.get(meta, &())?.map_or(1, |c| c.next_tree.max(1));
        let mut status = EvidenceStatus {
            pending_trees: pending.len() as u64,
            oldest_pending: pending.first().map(|(_, p)| p.created_at),
            stamped_trees: (next_tree - 1).saturating_sub(pending.len() as u64),
            ..EvidenceStatus::default()
        };
        if let Some(runtime) = &self.inner.evidence {
            let state = runtime.shared.lock();
            status.enabled = true;
            status.tsa_url = runtime.tsa_url.clone();
            status.last_error = state.last_error.clone();
            status.next_tree_at = state.next_tree_at;
            status.stamp_failures = runtime.shared.stamp_failures.load(Ordering::Relaxed);
        }
        // The newest stamped tree: the highest key of the table.
        let last =
            meta.last_key_with_prefix(TREES.cf(), TREES.prefix())?.and_then(|key| TREES.decode_key(&key));
        if let Some(id) = last
            && let Some(tree) = TREES.get(meta, &id)?
        {
            status.last_stamped = Some((id, tree.gen_time));
            if let Some(anchor) = tree.anchor {
                let intact =
                    meta.journal_entry(anchor.seq)?.is_some_and(|e| hex::encode(e.hash) == anchor.hash);
                status.anchored = Some(AnchorStatus {
                    seq: anchor.seq,
                    hash: anchor.hash,
                    gen_time: tree.gen_time,
                    intact,
                });
            }
        }
        Ok(status)
    }

    /// Prometheus lines of the evidence service (empty when it is off).
    pub(crate) fn evidence_metrics(&self) -> String {
        if self.inner.evidence.is_none() {
            return String::new();
        }
        let Ok(status) = self.evidence_status_now() else { return String::new() };
        format!(
            "# HELP registratur_evidence_pending_trees Hash trees waiting for their timestamp.\n\
             # TYPE registratur_evidence_pending_trees gauge\nregistratur_evidence_pending_trees {}\n\
             # HELP registratur_evidence_stamped_trees Hash trees timestamped.\n\
             # TYPE registratur_evidence_stamped_trees gauge\nregistratur_evidence_stamped_trees {}\n\
             # HELP registratur_evidence_stamp_failures_total Failed requests for a timestamp.\n\
             # TYPE registratur_evidence_stamp_failures_total counter\nregistratur_evidence_stamp_failures_total {}\n",
            status.pending_trees, status.stamped_trees, status.stamp_failures
        )
    }
}
