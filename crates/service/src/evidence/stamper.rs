//! The evidence thread: collects Versionen from the journal, builds hash trees, and has them stamped.
//!
//! **Collection** follows the journal like the search indexer: from the durable cursor (`evi/cursor`)
//! onward, every `dokument.add` (Version 1) and `version.add` contributes its Version's original and
//! renditions (their SHA-256, read from the stored Version). What was read since the last tree lives in
//! memory only: after a restart it is read again from the cursor, which moves in the same transaction
//! that stores the tree, so nothing is lost and nothing enters two trees.
//!
//! **Trees** are built when the interval has passed since the last one, or at once when `max_leaves`
//! leaves are waiting, and stored as pending together with the cursor. Each tree also holds the
//! journal anchor: the SHA-256 of `seq u64 BE ‖ BLAKE3 hash` of the last journal entry it covers
//! ([`anchor_leaf`]), so an evidence record of that tree proves the journal up to that entry existed.
//! A tree is made only when something besides the evidence thread's own entries happened.
//!
//! **Stamping** asks the TSA for every pending tree, oldest first, checks the token (the evidence
//! crate's `timestamp`), and stores the stamped tree plus every Version's index entry in one
//! transaction. An unreachable TSA leaves the tree pending and is retried with exponential backoff
//! (`registratur_evidence_pending_trees`, `registratur_evidence_stamp_failures_total`, a log line);
//! a wrong answer (bad token, untrusted certificate) is retried the same way and logged as an error.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use registratur_evidence::{DigestAlgorithm, HashTree, StampedTree};
use registratur_ops::background::StopSignal;
use registratur_records::repo::Records;
use registratur_storage::MetaError;
use registratur_storage::journal::JournalEntry;
use registratur_storage::meta::Txn;

use super::tables::{
    CURSOR, Cursor, JournalAnchor, PENDING, PendingTree, StoredTree, TREES, VERSIONS, VersionEvidence,
    VersionLeaves,
};
use super::{EvidenceError, EvidenceSettings, Shared};

/// The actor of the evidence thread's journal entries.
pub const EVIDENCE_ACTOR: &str = "registratur/evidence";
/// Journal entries read per step.
const JOURNAL_BATCH: usize = 1024;
/// How often the thread looks at the journal when it has nothing to do.
const POLL: Duration = Duration::from_millis(100);

/// The journal anchor's leaf: SHA-256 of `seq u64 BE ‖ BLAKE3 entry hash`.
pub fn anchor_leaf(seq: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(40);
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(hash);
    DigestAlgorithm::Sha256.digest(&bytes)
}

/// Every leaf of a pending tree, deduplicated (the same bytes stored twice are one leaf).
pub(super) fn leaves_of(pending: &PendingTree) -> Result<Vec<Vec<u8>>, EvidenceError> {
    let mut leaves = BTreeSet::new();
    for version in &pending.versions {
        leaves.insert(decode_hex(&version.original)?);
        for (_, digest) in &version.renditions {
            leaves.insert(decode_hex(digest)?);
        }
    }
    if let Some(anchor) = &pending.anchor {
        let hash: [u8; 32] = decode_hex(&anchor.hash)?.try_into().map_err(|_| {
            EvidenceError::Stored(format!("journal anchor hash {} is not 32 bytes", anchor.hash))
        })?;
        leaves.insert(anchor_leaf(anchor.seq, &hash));
    }
    Ok(leaves.into_iter().collect())
}

pub(super) fn decode_hex(text: &str) -> Result<Vec<u8>, EvidenceError> {
    hex::decode(text).map_err(|e| EvidenceError::Stored(format!("{text:?} is not hex: {e}")))
}

/// What the thread has read from the journal but not yet put into a tree.
struct Collected {
    /// The next journal entry to read.
    scanned: u64,
    versions: Vec<VersionLeaves>,
    leaves: usize,
    /// The newest entry read (the anchor of the next tree).
    last: Option<JournalAnchor>,
    /// Whether an entry other than the evidence thread's own was read.
    substantive: bool,
}

/// The state of the evidence thread.
pub(super) struct Worker {
    pub(super) records: Arc<Records>,
    pub(super) settings: EvidenceSettings,
    pub(super) shared: Arc<Shared>,
}

impl Worker {
    /// The thread's body: runs until `signal` stops it.
    pub(super) fn run(&self, signal: &StopSignal) {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::error!(error = %e, "evidence: cannot start the runtime for TSA requests; nothing is timestamped");
                return;
            }
        };
        let mut collected = None;
        let mut next_tree = Instant::now() + self.settings.interval;
        self.shared.set_next_tree(self.records.store().clock().now(), self.settings.interval);
        let mut next_stamp = Instant::now();
        let mut backoff = self.settings.retry_min;
        while !signal.is_stopped() {
            if Instant::now() >= next_stamp {
                match self.stamp_pending(&runtime, signal) {
                    Ok(()) => backoff = self.settings.retry_min,
                    Err(error) => {
                        registratur_ops::metrics::Metrics::add(&self.shared.stamp_failures, 1);
                        let retry = backoff;
                        backoff = (backoff * 2).min(self.settings.retry_max);
                        next_stamp = Instant::now() + retry;
                        if error.is_transient() {
                            tracing::warn!(error = %error, retry_in = ?retry, "evidence: the TSA cannot stamp now; the tree stays pending");
                        } else {
                            tracing::error!(error = %error, retry_in = ?retry, "evidence: stamping failed; the tree stays pending");
                        }
                        self.shared.set_error(self.records.store().clock().now(), error.to_string());
                    }
                }
            }
            match self.collect(&mut collected, &mut next_tree) {
                Ok(true) => next_stamp = Instant::now().min(next_stamp),
                Ok(false) => {}
                Err(error) => {
                    tracing::error!(error = %error, "evidence: collecting from the journal failed; retrying");
                    collected = None;
                }
            }
            if !signal.sleep(POLL) {
                break;
            }
        }
    }

    /// Reads new journal entries; builds and stores a tree when one is due. True when a tree was made.
    fn collect(
        &self,
        collected: &mut Option<Collected>,
        next_tree: &mut Instant,
    ) -> Result<bool, EvidenceError> {
        let meta = self.records.store().meta();
        let state = match collected {
            Some(state) => state,
            None => {
                let cursor = CURSOR.get(meta, &())?.unwrap_or_default();
                collected.insert(Collected {
                    scanned: cursor.next_seq.max(1),
                    versions: Vec::new(),
                    leaves: 0,
                    last: None,
                    substantive: false,
                })
            }
        };
        while state.leaves < self.settings.max_leaves {
            let entries = meta.journal_entries(state.scanned, JOURNAL_BATCH)?;
            let Some(last) = entries.last() else { break };
            let through = last.seq;
            for entry in &entries {
                self.read_entry(state, entry)?;
                state.scanned = entry.seq + 1;
                if state.leaves >= self.settings.max_leaves {
                    break;
                }
            }
            if state.scanned <= through {
                break;
            }
        }
        let full = state.leaves >= self.settings.max_leaves;
        if !(full || Instant::now() >= *next_tree) {
            return Ok(false);
        }
        *next_tree = Instant::now() + self.settings.interval;
        self.shared.set_next_tree(self.records.store().clock().now(), self.settings.interval);
        if state.versions.is_empty() && !state.substantive {
            return Ok(false);
        }
        let made = self.store_tree(state);
        *collected = None;
        made.map(|()| true)
    }

    fn read_entry(&self, state: &mut Collected, entry: &JournalEntry) -> Result<(), EvidenceError> {
        state.last = Some(JournalAnchor { seq: entry.seq, hash: hex::encode(entry.hash) });
        if entry.actor != EVIDENCE_ACTOR {
            state.substantive = true;
        }
        let version = match entry.action.as_str() {
            "dokument.add" => Some(1),
            "version.add" => serde_json::from_slice::<serde_json::Value>(&entry.payload)
                .ok()
                .and_then(|payload| payload.get("version")?.as_u64())
                .and_then(|v| u32::try_from(v).ok()),
            _ => return Ok(()),
        };
        let dokument_id = serde_json::from_slice::<serde_json::Value>(&entry.payload)
            .ok()
            .and_then(|payload| payload.get("dokument_id")?.as_u64());
        let (Some(dokument_id), Some(number)) = (dokument_id, version) else {
            tracing::warn!(seq = entry.seq, action = %entry.action, "evidence: journal entry names no Dokument and Version; skipped");
            return Ok(());
        };
        let dokument = match self.records.dokument(dokument_id) {
            Ok(dokument) => dokument,
            Err(registratur_records::repo::RecordsError::DokumentNotFound(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let version = match self.records.version(&dokument, number) {
            Ok(version) => version,
            Err(registratur_records::repo::RecordsError::VersionNotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let leaves = VersionLeaves {
            dokument_id,
            version: number,
            original: version.original.sha256.clone(),
            renditions: version
                .renditions
                .iter()
                .map(|r| (r.kind.as_str().to_string(), r.content.sha256.clone()))
                .collect(),
        };
        state.leaves += 1 + leaves.renditions.len();
        state.versions.push(leaves);
        Ok(())
    }

    /// Stores the collected Versionen as a pending tree and moves the cursor, in one transaction.
    fn store_tree(&self, state: &Collected) -> Result<(), EvidenceError> {
        let meta = self.records.store().meta();
        let (cursor, cursor_bytes) = match CURSOR.get_with_bytes(meta, &())? {
            Some((cursor, bytes)) => (cursor, Some(bytes)),
            None => (Cursor::default(), None),
        };
        let id = cursor.next_tree.max(1);
        let mut pending = PendingTree {
            created_at: self.records.store().clock().now(),
            anchor: state.last.clone(),
            versions: state.versions.clone(),
            root: String::new(),
        };
        let tree = HashTree::build(DigestAlgorithm::Sha256, leaves_of(&pending)?)?;
        pending.root = hex::encode(tree.root());
        let payload = serde_json::json!({
            "tree": id, "versions": pending.versions.len(), "leaves": tree.leaf_count(), "root": pending.root,
            "journal_through": state.last.as_ref().map(|a| a.seq),
        });
        let mut txn = Txn::new(EVIDENCE_ACTOR, "evidence.tree", payload.to_string());
        CURSOR.require(&mut txn, &(), cursor_bytes);
        CURSOR.put(&mut txn, &(), &Cursor { next_seq: state.scanned, next_tree: id + 1 });
        PENDING.require_absent(&mut txn, &id);
        PENDING.put(&mut txn, &id, &pending);
        meta.commit(txn)?;
        tracing::info!(
            tree = id,
            versions = pending.versions.len(),
            leaves = tree.leaf_count(),
            "evidence: tree built, waiting for its timestamp"
        );
        Ok(())
    }

    /// Stamps every pending tree, oldest first; stops at the first failure.
    fn stamp_pending(
        &self,
        runtime: &tokio::runtime::Runtime,
        signal: &StopSignal,
    ) -> Result<(), EvidenceError> {
        let meta = self.records.store().meta();
        for (id, _) in PENDING.scan(meta, b"")? {
            if signal.is_stopped() {
                break;
            }
            self.stamp_one(runtime, id)?;
        }
        Ok(())
    }

    fn stamp_one(&self, runtime: &tokio::runtime::Runtime, id: u64) -> Result<(), EvidenceError> {
        let meta = self.records.store().meta();
        let Some((pending, pending_bytes)) = PENDING.get_with_bytes(meta, &id)? else { return Ok(()) };
        let tree = HashTree::build(DigestAlgorithm::Sha256, leaves_of(&pending)?)?;
        if hex::encode(tree.root()) != pending.root {
            return Err(EvidenceError::Stored(format!(
                "pending tree {id}: its leaves give root {}, it was stored with root {}",
                hex::encode(tree.root()),
                pending.root
            )));
        }
        let stamp = runtime.block_on(registratur_evidence::timestamp(
            self.settings.tsa.as_ref(),
            DigestAlgorithm::Sha256,
            tree.root(),
            &self.settings.trust,
        ))?;
        let gen_time = stamp.verified.gen_time;
        let leaf_count = tree.leaf_count() as u64;
        let stamped = StampedTree::new(tree, stamp.token_der)?;
        let stored = StoredTree {
            created_at: pending.created_at,
            stamped_at: self.records.store().clock().now(),
            gen_time,
            anchor: pending.anchor.clone(),
            leaf_count,
            stamped: hex::encode(stamped.to_stored()),
        };
        let payload = serde_json::json!({
            "tree": id, "root": pending.root, "gen_time": gen_time.to_rfc3339(),
            "journal_through": pending.anchor.as_ref().map(|a| a.seq),
        });
        let mut txn = Txn::new(EVIDENCE_ACTOR, "evidence.stamp", payload.to_string());
        PENDING.require(&mut txn, &id, Some(pending_bytes));
        PENDING.delete(&mut txn, &id);
        TREES.require_absent(&mut txn, &id);
        TREES.put(&mut txn, &id, &stored);
        for version in &pending.versions {
            let evidence = VersionEvidence {
                tree: id,
                original: version.original.clone(),
                renditions: version.renditions.clone(),
            };
            VERSIONS.put(&mut txn, &(version.dokument_id, version.version), &evidence);
        }
        match meta.commit(txn) {
            // Another stamping of the same tree committed first: its stamp is the one kept.
            Ok(_) | Err(MetaError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.shared.stamped();
        tracing::info!(tree = id, gen_time = %gen_time, "evidence: tree timestamped");
        Ok(())
    }
}
