//! The mailroom's persistent state: batches, pieces, summaries, Klärfälle and the ingest queue, in the
//! tables of `tables`.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use registratur_storage::meta::{Cf, Txn};
use registratur_storage::table::{IdPair, Marker, Table};
use registratur_storage::{BlobDigest, Store};

use super::error::MailroomError;
use super::model::{
    Batch, BatchFile, BatchHeader, BatchState, BatchSummary, Klaerfall, KlaerfallState, PieceRecord,
    piece_title,
};
use super::tables::{
    BATCH_HISTORY, BATCHES, INGEST_QUEUE, KLAERFAELLE, KLAERFALL_HISTORY, OPEN_KLAERFAELLE, PIECES, SUMMARIES,
};
use registratur_records::model::{Content, Dokument, RenditionKind};
use registratur_records::repo::{AkteRef, NewDokument, Records, RecordsError, StoredContent, visit_records};
use registratur_records::text::{MAX_TEXT_CHARS, check_text};

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

/// The journal-index prefix of one batch's or Klärfall's history.
fn history(table: Table<IdPair, Marker>, id: u64) -> Vec<u8> {
    [table.prefix(), &id.to_be_bytes(), b"/"].concat()
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
        let last_batch = store.meta().last_key_with_prefix(Cf::Records, BATCHES.prefix())?;
        let last_klaerfall = store.meta().last_key_with_prefix(Cf::Records, KLAERFAELLE.prefix())?;
        Ok(Self {
            next_batch: AtomicU64::new(last_batch.and_then(|key| BATCHES.decode_key(&key)).unwrap_or(0) + 1),
            next_klaerfall: AtomicU64::new(
                last_klaerfall.and_then(|key| KLAERFAELLE.decode_key(&key)).unwrap_or(0) + 1,
            ),
            store,
        })
    }

    /// The ids a table of markers lists, in key order.
    fn ids_in(&self, table: Table<registratur_storage::table::Id, Marker>) -> Result<Vec<u64>, RecordsError> {
        Ok(table.scan(self.store.meta(), b"")?.into_iter().map(|(id, ())| id).collect())
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
            received_at: self.store.clock().now(),
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
        BATCHES.require_absent(&mut txn, &batch.id);
        BATCHES.put(&mut txn, &batch.id, &batch);
        INGEST_QUEUE.put(&mut txn, &batch.id, &());
        txn.index_journal_entry(Cf::Index, history(BATCH_HISTORY, batch.id));
        for (digest, _, _) in files {
            txn.add_blob_ref(digest);
        }
        self.store.meta().commit(txn)?;
        Ok(batch)
    }

    pub fn batch(&self, id: u64) -> Result<Batch, MailroomError> {
        let batch = BATCHES.get(self.store.meta(), &id).map_err(RecordsError::from)?;
        batch.ok_or(MailroomError::BatchNotFound(id))
    }

    /// Calls `visit` with every batch, in id order: a walk over all of them (the quarantine listing
    /// looks for the batches whose scans it needs).
    pub fn visit_batches(&self, mut visit: impl FnMut(Batch)) -> Result<(), RecordsError> {
        visit_records(&self.store, BATCHES, None, |batch| {
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
        let start = (after > 0).then(|| BATCHES.key(&after));
        visit_records(&self.store, BATCHES, start.as_deref(), |batch: Batch| {
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
        let prefix = [PIECES.prefix(), &batch.to_be_bytes(), b"/"].concat();
        self.store.meta().visit_prefix(Cf::Records, &prefix, None, |_, _| {
            pieces_done += 1;
            std::ops::ControlFlow::Continue(())
        })?;
        let done = SUMMARIES.contains(self.store.meta(), &batch)?;
        let state = match (done, pieces_done) {
            (true, _) => BatchState::Done,
            (false, 0) => BatchState::Queued,
            (false, _) => BatchState::Processing,
        };
        Ok((state, pieces_done))
    }

    /// Batch ids waiting in the queue, oldest first.
    pub fn queued(&self) -> Result<Vec<u64>, RecordsError> {
        self.ids_in(INGEST_QUEUE)
    }

    pub fn piece(&self, batch: u64, piece: u32) -> Result<Option<PieceRecord>, RecordsError> {
        Ok(PIECES.get(self.store.meta(), &(batch, u64::from(piece)))?)
    }

    /// The pieces of a batch done so far, in order.
    pub fn pieces(&self, batch: u64) -> Result<Vec<PieceRecord>, RecordsError> {
        Ok(PIECES
            .scan(self.store.meta(), &[batch.to_be_bytes().as_slice(), b"/"].concat())?
            .into_iter()
            .map(|(_, record)| record)
            .collect())
    }

    pub fn summary(&self, batch: u64) -> Result<Option<BatchSummary>, RecordsError> {
        Ok(SUMMARIES.get(self.store.meta(), &batch)?)
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
            let key = (batch, u64::from(piece_number));
            PIECES.require_absent(txn, &key);
            PIECES.put(txn, &key, &record);
            txn.index_journal_entry(Cf::Index, history(BATCH_HISTORY, batch));
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
        let piece_key = (klaerfall.batch_id, u64::from(klaerfall.piece));
        PIECES.require_absent(&mut txn, &piece_key);
        KLAERFAELLE.require_absent(&mut txn, &klaerfall.id);
        PIECES.put(&mut txn, &piece_key, &record);
        KLAERFAELLE.put(&mut txn, &klaerfall.id, &klaerfall);
        OPEN_KLAERFAELLE.put(&mut txn, &klaerfall.id, &());
        txn.index_journal_entry(Cf::Index, history(BATCH_HISTORY, klaerfall.batch_id))
            .index_journal_entry(Cf::Index, history(KLAERFALL_HISTORY, klaerfall.id));
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
        SUMMARIES.require_absent(&mut txn, &summary.batch_id);
        SUMMARIES.put(&mut txn, &summary.batch_id, summary);
        INGEST_QUEUE.delete(&mut txn, &summary.batch_id);
        txn.index_journal_entry(Cf::Index, history(BATCH_HISTORY, summary.batch_id));
        self.store.meta().commit(txn)?;
        Ok(())
    }

    pub fn klaerfall(&self, id: u64) -> Result<Klaerfall, MailroomError> {
        let klaerfall = KLAERFAELLE.get(self.store.meta(), &id).map_err(RecordsError::from)?;
        klaerfall.ok_or(MailroomError::KlaerfallNotFound(id))
    }

    /// Klärfälle, newest first; only open ones unless `include_resolved`.
    pub fn klaerfaelle(&self, include_resolved: bool, limit: usize) -> Result<Vec<Klaerfall>, MailroomError> {
        let ids = if include_resolved {
            KLAERFAELLE.scan(self.store.meta(), b"")?.into_iter().map(|(id, _)| id).collect()
        } else {
            self.ids_in(OPEN_KLAERFAELLE)?
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
    ) -> Result<(Klaerfall, Dokument), MailroomError> {
        let (klaerfall, bytes) = KLAERFAELLE
            .get_with_bytes(self.store.meta(), &id)
            .map_err(RecordsError::from)?
            .ok_or(MailroomError::KlaerfallNotFound(id))?;
        if let KlaerfallState::Resolved { aktenzeichen, .. } = &klaerfall.state {
            return Err(MailroomError::KlaerfallResolved { id, aktenzeichen: aktenzeichen.clone() });
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
        let at = self.store.clock().now();
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
                KLAERFAELLE.require(txn, &id, Some(bytes));
                KLAERFAELLE.put(txn, &id, &resolved);
                OPEN_KLAERFAELLE.delete(txn, &id);
                txn.index_journal_entry(Cf::Index, history(KLAERFALL_HISTORY, id))
                    .index_journal_entry(Cf::Index, history(BATCH_HISTORY, klaerfall.batch_id));
            },
        )?;
        Ok((resolved, dokument))
    }
}
