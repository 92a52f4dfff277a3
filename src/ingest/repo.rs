//! The mailroom's persistent state: batches, pieces, summaries, Klärfälle and the ingest queue.
//!
//! Keys in the `records` column family:
//! - `mbatch/<id BE>` → [`Batch`] as received
//! - `mpiece/<batch BE>/<piece BE>` → [`PieceRecord`], written in the transaction that files the piece
//!   or opens its Klärfall (so a piece is done exactly once)
//! - `mdone/<batch BE>` → [`BatchSummary`], written in the transaction that leaves the queue
//! - `klaer/<id BE>` → [`Klaerfall`]
//!
//! In `index`: `klaer-open/<id BE>` while a Klärfall is open; `hist/batch/<id BE>/<seq>` for the
//! batch's journal entries. In `queues`: `ingest/<batch BE>` from receipt until the batch is done.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDate, Utc};
use registratur_storage::meta::{Cf, Txn};
use registratur_storage::{BlobDigest, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::model::{
    Batch, BatchFile, BatchHeader, BatchState, BatchSummary, Klaerfall, KlaerfallState, PieceRecord,
    piece_title,
};
use crate::records::model::{Content, Dokument, RenditionKind};
use crate::records::repo::{
    AkteRef, NewDokument, Records, RecordsError, StoredContent, load_json, visit_json,
};
use crate::records::text::{MAX_TEXT_CHARS, check_text};

/// The journal actor for what the mailroom worker does on its own.
pub const WORKER_ACTOR: &str = "registratur/mailroom";

/// The mailroom's records over a store.
pub struct MailroomRepo {
    store: Store,
    next_batch: AtomicU64,
    next_klaerfall: AtomicU64,
}

/// Which batches a listing shows; `None` lets everything through.
#[derive(Clone, Debug, Default)]
pub struct BatchFilter {
    pub state: Option<BatchState>,
    /// Posteingangsdatum range, both ends inclusive.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// A batch as a listing shows it.
#[derive(Clone, Debug)]
pub struct BatchListing {
    pub batch: Batch,
    pub state: BatchState,
    pub pieces_done: u32,
}

fn be(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

fn key(prefix: &str, id: u64) -> Vec<u8> {
    [prefix.as_bytes(), &be(id)].concat()
}

fn batch_key(id: u64) -> Vec<u8> {
    key("mbatch/", id)
}

fn piece_key(batch: u64, piece: u32) -> Vec<u8> {
    [key("mpiece/", batch), b"/".to_vec(), u64::from(piece).to_be_bytes().to_vec()].concat()
}

fn done_key(batch: u64) -> Vec<u8> {
    key("mdone/", batch)
}

fn klaerfall_key(id: u64) -> Vec<u8> {
    key("klaer/", id)
}

fn open_klaerfall_key(id: u64) -> Vec<u8> {
    key("klaer-open/", id)
}

fn queue_key(batch: u64) -> Vec<u8> {
    key("ingest/", batch)
}

fn batch_history(batch: u64) -> Vec<u8> {
    [key("hist/batch/", batch), b"/".to_vec()].concat()
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("mailroom records serialise to JSON")
}

/// A content record for bytes in the blob store.
pub fn content_of(digest: &BlobDigest, filename: &str, media_type: &str) -> Content {
    Content {
        blake3: digest.blake3.to_hex(),
        sha256: digest.sha256.to_hex(),
        size: digest.size,
        media_type: media_type.to_string(),
        filename: filename.to_string(),
    }
}

impl MailroomRepo {
    pub fn open(store: Store) -> Result<Self, RecordsError> {
        let next = |prefix: &str| -> Result<AtomicU64, RecordsError> {
            let last = store.meta().last_key_with_prefix(Cf::Records, prefix.as_bytes())?;
            let last_id = last
                .and_then(|key| {
                    key.get(prefix.len()..prefix.len() + 8).and_then(|id| <[u8; 8]>::try_from(id).ok())
                })
                .map_or(0, u64::from_be_bytes);
            Ok(AtomicU64::new(last_id + 1))
        };
        Ok(Self { next_batch: next("mbatch/")?, next_klaerfall: next("klaer/")?, store })
    }

    fn load<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<(T, Vec<u8>)>, RecordsError> {
        load_json(&self.store, key)
    }

    /// The big-endian ids that follow `prefix` in the keys of `cf`, in key order.
    fn ids_under(&self, cf: Cf, prefix: &[u8]) -> Result<Vec<u64>, RecordsError> {
        Ok(self
            .store
            .meta()
            .scan_prefix(cf, prefix)?
            .into_iter()
            .filter_map(|(key, _)| {
                key.get(prefix.len()..prefix.len() + 8).and_then(|id| <[u8; 8]>::try_from(id).ok())
            })
            .map(u64::from_be_bytes)
            .collect())
    }

    /// Records a batch whose files are already in the blob store and puts it in the queue, in one
    /// durable transaction. After this returns, the batch survives any crash.
    pub fn receive(
        &self,
        actor: &str,
        header: BatchHeader,
        files: Vec<(BlobDigest, String, String)>,
    ) -> Result<Batch, RecordsError> {
        let batch = Batch {
            id: self.next_batch.fetch_add(1, Ordering::Relaxed),
            header,
            files: files
                .iter()
                .map(|(digest, filename, media_type)| BatchFile {
                    content: content_of(digest, filename, media_type),
                })
                .collect(),
            received_at: Utc::now(),
            received_by: actor.to_string(),
        };
        let payload = serde_json::json!({
            "batch_id": batch.id,
            "scanner_batch_id": batch.header.scanner_batch_id,
            "posteingangsdatum": batch.header.posteingangsdatum,
            "files": batch.files.iter().map(|f| serde_json::json!({
                "filename": f.content.filename, "blake3": f.content.blake3, "sha256": f.content.sha256,
                "size": f.content.size,
            })).collect::<Vec<_>>(),
        });
        let mut txn = Txn::new(actor, "batch.receive", payload.to_string());
        txn.require_absent(Cf::Records, batch_key(batch.id))
            .put(Cf::Records, batch_key(batch.id), json(&batch))
            .put(Cf::Queues, queue_key(batch.id), Vec::new())
            .index_journal_entry(Cf::Index, batch_history(batch.id));
        for (digest, _, _) in files {
            txn.add_blob_ref(digest);
        }
        self.store.meta().commit(txn)?;
        Ok(batch)
    }

    pub fn batch(&self, id: u64) -> Result<Batch, RecordsError> {
        Ok(self.load::<Batch>(&batch_key(id))?.ok_or(RecordsError::BatchNotFound(id))?.0)
    }

    /// Calls `visit` with every batch, in id order: a walk over all of them (the quarantine listing
    /// looks for the batches whose scans it needs).
    pub fn visit_batches(&self, mut visit: impl FnMut(Batch)) -> Result<(), RecordsError> {
        visit_json(&self.store, b"mbatch/", None, |batch| {
            visit(batch);
            std::ops::ControlFlow::Continue(())
        })
    }

    /// Batches with an id above `after`, in id order, that pass `filter`: at most `limit` of them,
    /// and the id to continue after when more match. A batch's state is read from its records as
    /// [`BatchState::of`] does.
    pub fn list_batches(
        &self,
        filter: &BatchFilter,
        after: u64,
        limit: usize,
    ) -> Result<(Vec<BatchListing>, Option<u64>), RecordsError> {
        let mut listed = Vec::new();
        let mut failure = None;
        let start = (after > 0).then(|| batch_key(after));
        visit_json(&self.store, b"mbatch/", start.as_deref(), |batch: Batch| {
            let date = batch.header.posteingangsdatum;
            if filter.from.is_some_and(|from| date < from) || filter.to.is_some_and(|to| date > to) {
                return std::ops::ControlFlow::Continue(());
            }
            match self.state_of(batch.id) {
                Ok((state, pieces_done)) => {
                    if filter.state.is_none_or(|wanted| wanted == state) {
                        listed.push(BatchListing { batch, state, pieces_done });
                    }
                }
                Err(error) => {
                    failure = Some(error);
                    return std::ops::ControlFlow::Break(());
                }
            }
            // One more than asked for tells whether another page follows.
            if listed.len() > limit {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })?;
        if let Some(error) = failure {
            return Err(error);
        }
        let next = if listed.len() > limit {
            listed.truncate(limit);
            listed.last().map(|listing| listing.batch.id)
        } else {
            None
        };
        Ok((listed, next))
    }

    /// A batch's state and the number of its pieces done, without decoding the piece records.
    fn state_of(&self, batch: u64) -> Result<(BatchState, u32), RecordsError> {
        let mut pieces_done = 0u32;
        let prefix = [key("mpiece/", batch), b"/".to_vec()].concat();
        self.store.meta().visit_prefix(Cf::Records, &prefix, None, |_, _| {
            pieces_done += 1;
            std::ops::ControlFlow::Continue(())
        })?;
        let done = self.store.meta().get(Cf::Records, &done_key(batch))?.is_some();
        let state = match (done, pieces_done) {
            (true, _) => BatchState::Done,
            (false, 0) => BatchState::Queued,
            (false, _) => BatchState::Processing,
        };
        Ok((state, pieces_done))
    }

    /// Batch ids waiting in the queue, oldest first.
    pub fn queued(&self) -> Result<Vec<u64>, RecordsError> {
        self.ids_under(Cf::Queues, b"ingest/")
    }

    pub fn piece(&self, batch: u64, piece: u32) -> Result<Option<PieceRecord>, RecordsError> {
        Ok(self.load::<PieceRecord>(&piece_key(batch, piece))?.map(|(record, _)| record))
    }

    /// The pieces of a batch done so far, in order.
    pub fn pieces(&self, batch: u64) -> Result<Vec<PieceRecord>, RecordsError> {
        let prefix = [key("mpiece/", batch), b"/".to_vec()].concat();
        self.store
            .meta()
            .scan_prefix(Cf::Records, &prefix)?
            .into_iter()
            .map(|(key, bytes)| {
                serde_json::from_slice(&bytes).map_err(|e| RecordsError::Undecodable {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    pub fn summary(&self, batch: u64) -> Result<Option<BatchSummary>, RecordsError> {
        Ok(self.load::<BatchSummary>(&done_key(batch))?.map(|(summary, _)| summary))
    }

    /// Files a piece as a new Dokument and records the piece as done, in one transaction. `piece`
    /// makes the piece record once the Dokument is known.
    pub fn file_piece(
        &self,
        records: &Records,
        new: &NewDokument,
        original: &StoredContent,
        renditions: &[(RenditionKind, StoredContent)],
        (batch, piece_number): (u64, u32),
        piece: impl FnOnce(&Dokument) -> PieceRecord,
    ) -> Result<PieceRecord, RecordsError> {
        let mut filed = None;
        records.file_dokument(WORKER_ACTOR, new, original, renditions, |txn, dokument| {
            let record = piece(dokument);
            txn.require_absent(Cf::Records, piece_key(batch, piece_number))
                .put(Cf::Records, piece_key(batch, piece_number), json(&record))
                .index_journal_entry(Cf::Index, batch_history(batch));
            filed = Some(record);
        })?;
        Ok(filed.expect("the transaction was built"))
    }

    /// Opens a Klärfall for a piece and records the piece as done, in one transaction. The Klärfall
    /// holds references to the piece's rendition, text, protocol and previews.
    pub fn open_klaerfall(
        &self,
        mut klaerfall: Klaerfall,
        digests: &[BlobDigest],
        piece: impl FnOnce(u64) -> PieceRecord,
    ) -> Result<(Klaerfall, PieceRecord), RecordsError> {
        klaerfall.id = self.next_klaerfall.fetch_add(1, Ordering::Relaxed);
        let record = piece(klaerfall.id);
        let payload = serde_json::json!({
            "klaerfall_id": klaerfall.id, "batch_id": klaerfall.batch_id, "piece": klaerfall.piece,
            "reason": klaerfall.reason, "detail": klaerfall.detail, "evidence": klaerfall.evidence,
            "rendition_sha256": klaerfall.rendition.sha256,
        });
        let mut txn = Txn::new(WORKER_ACTOR, "klaerfall.open", payload.to_string());
        txn.require_absent(Cf::Records, piece_key(klaerfall.batch_id, klaerfall.piece))
            .require_absent(Cf::Records, klaerfall_key(klaerfall.id))
            .put(Cf::Records, piece_key(klaerfall.batch_id, klaerfall.piece), json(&record))
            .put(Cf::Records, klaerfall_key(klaerfall.id), json(&klaerfall))
            .put(Cf::Index, open_klaerfall_key(klaerfall.id), Vec::new())
            .index_journal_entry(Cf::Index, batch_history(klaerfall.batch_id))
            .index_journal_entry(Cf::Index, klaerfall_history(klaerfall.id));
        for digest in digests {
            txn.add_blob_ref(*digest);
        }
        self.store.meta().commit(txn)?;
        Ok((klaerfall, record))
    }

    /// Marks a batch done and takes it out of the queue.
    pub fn finish(&self, summary: &BatchSummary) -> Result<(), RecordsError> {
        let payload = serde_json::json!({
            "batch_id": summary.batch_id, "pieces": summary.pieces, "pages_fed": summary.pages_fed,
            "pages_stored": summary.pages_stored, "blank_removed": summary.blank_removed,
            "separator_sheets": summary.separator_sheets, "invariant_holds": summary.invariant_holds,
            "qc": summary.qc,
        });
        let mut txn = Txn::new(WORKER_ACTOR, "batch.done", payload.to_string());
        txn.require_absent(Cf::Records, done_key(summary.batch_id))
            .put(Cf::Records, done_key(summary.batch_id), json(summary))
            .delete(Cf::Queues, queue_key(summary.batch_id))
            .index_journal_entry(Cf::Index, batch_history(summary.batch_id));
        self.store.meta().commit(txn)?;
        Ok(())
    }

    pub fn klaerfall(&self, id: u64) -> Result<Klaerfall, RecordsError> {
        Ok(self.load::<Klaerfall>(&klaerfall_key(id))?.ok_or(RecordsError::KlaerfallNotFound(id))?.0)
    }

    /// Klärfälle, newest first; only open ones unless `include_resolved`.
    pub fn klaerfaelle(&self, include_resolved: bool, limit: usize) -> Result<Vec<Klaerfall>, RecordsError> {
        let ids = if include_resolved {
            self.ids_under(Cf::Records, b"klaer/")?
        } else {
            self.ids_under(Cf::Index, b"klaer-open/")?
        };
        ids.into_iter().rev().take(limit).map(|id| self.klaerfall(id)).collect()
    }

    /// Files an open Klärfall's piece in the Akte a person chose. The `dokument.add` journal entry
    /// carries a `klaerfall` object: who resolved it, when, into which Akte, with which note.
    pub fn resolve_klaerfall(
        &self,
        records: &Records,
        actor: &str,
        id: u64,
        akte: &AkteRef,
        title: &str,
        note: &str,
    ) -> Result<(Klaerfall, Dokument), RecordsError> {
        let (klaerfall, bytes) =
            self.load::<Klaerfall>(&klaerfall_key(id))?.ok_or(RecordsError::KlaerfallNotFound(id))?;
        if let KlaerfallState::Resolved { aktenzeichen, .. } = &klaerfall.state {
            return Err(RecordsError::KlaerfallResolved { id, aktenzeichen: aktenzeichen.clone() });
        }
        let note = check_text("note", note, false, MAX_TEXT_CHARS)
            .map_err(|problem| RecordsError::Invalid(problem.to_string()))?;
        let target = records.akte(akte)?;
        let new = NewDokument {
            akte: AkteRef::Id(target.id),
            vorgang_id: None,
            title: if title.trim().is_empty() {
                piece_title(klaerfall.posteingangsdatum, &klaerfall.source, klaerfall.piece)
            } else {
                title.trim().to_string()
            },
            sender: String::new(),
            fremdes_geschaeftszeichen: String::new(),
            posteingangsdatum: klaerfall.posteingangsdatum,
            channel: klaerfall.channel,
            source: klaerfall.source.clone(),
            filename: klaerfall.rendition.filename.clone(),
            media_type: klaerfall.rendition.media_type.clone(),
        };
        let stored = |content: &Content| -> Result<StoredContent, RecordsError> {
            let hash = content.blob_hash().map_err(|e| RecordsError::Undecodable {
                key: format!("klaer/{id}"),
                reason: e.to_string(),
            })?;
            let digest = self.store.digest_of(&hash)?.ok_or_else(|| RecordsError::Undecodable {
                key: format!("klaer/{id}"),
                reason: format!("blob {hash} is not recorded"),
            })?;
            Ok(StoredContent {
                digest,
                filename: content.filename.clone(),
                media_type: content.media_type.clone(),
            })
        };
        let original = stored(&klaerfall.rendition)?;
        let renditions = vec![
            (RenditionKind::OcrText, stored(&klaerfall.text)?),
            (RenditionKind::Transfervermerk, stored(&klaerfall.transfervermerk)?),
        ];
        let mut resolved = klaerfall.clone();
        let at = Utc::now();
        // Who resolved which Klärfall, when, into which Akte and why: in the journal entry that files
        // the Dokument, so that its history and audit export show the decision.
        let trace = serde_json::json!({
            "klaerfall_id": id, "batch_id": klaerfall.batch_id, "piece": klaerfall.piece,
            "reason": klaerfall.reason, "resolved_by": actor, "resolved_at": at,
            "akte_id": target.id, "aktenzeichen": target.aktenzeichen, "note": note,
        });
        let (dokument, _) = records.file_dokument_noting(
            actor,
            &new,
            &original,
            &renditions,
            Some(("klaerfall", trace)),
            |txn, dokument| {
                resolved.state = KlaerfallState::Resolved {
                    akte_id: target.id,
                    aktenzeichen: target.aktenzeichen.clone(),
                    dokument_id: dokument.id,
                    by: actor.to_string(),
                    at,
                    note: note.to_string(),
                };
                txn.require_value(Cf::Records, klaerfall_key(id), Some(bytes))
                    .put(Cf::Records, klaerfall_key(id), json(&resolved))
                    .delete(Cf::Index, open_klaerfall_key(id))
                    .index_journal_entry(Cf::Index, klaerfall_history(id))
                    .index_journal_entry(Cf::Index, batch_history(klaerfall.batch_id));
            },
        )?;
        Ok((resolved, dokument))
    }
}

fn klaerfall_history(id: u64) -> Vec<u8> {
    [key("hist/klaer/", id), b"/".to_vec()].concat()
}
