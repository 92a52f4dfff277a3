//! The mailroom use cases: receiving a batch (stored and queued before it is acknowledged), its state
//! and a live watch, and the Klärfall queue (list, preview, resolve).
//!
//! Roles: `mailroom` and `admin`. The mailroom role sees Klärfall previews because deciding where a
//! piece belongs is the Poststelle's job.

use chrono::NaiveDate;
use registratur_storage::BlobDigest;
use tokio::sync::{broadcast, mpsc};

use super::{Engine, ServiceError, Upload};
use crate::auth::{Principal, Role};
use registratur_mailroom::ingest::model::{
    Batch, BatchHeader, BatchState, BatchSummary, Klaerfall, PieceRecord, ScannerProfile,
};
use registratur_mailroom::ingest::pipeline::MailroomEvent;
use registratur_mailroom::ingest::repo::{BatchFilter, BatchListing};
use registratur_records::model::{Channel, Dokument};
use registratur_records::repo::AkteRef;
use registratur_records::text::check_text;

/// Longest scanner batch id, operator or device name accepted.
const MAX_LABEL: usize = 200;
/// Most files one batch may hold; a scanner delivers one file per batch or one per sheet.
const MAX_FILES_PER_BATCH: usize = 10_000;

/// What a client sends before the files of a batch.
#[derive(Clone, Debug)]
pub struct NewBatch {
    pub scanner_batch_id: String,
    pub channel: String,
    pub posteingangsdatum: String,
    pub operator: String,
    pub dpi: u32,
    pub colour_mode: String,
    pub device: String,
    pub duplex: bool,
    pub expected_sheets: Option<u32>,
    pub scanned_at: Option<String>,
}

/// A batch with everything known about it so far.
#[derive(Clone, Debug)]
pub struct BatchView {
    pub batch: Batch,
    pub state: BatchState,
    pub pieces: Vec<PieceRecord>,
    pub summary: Option<BatchSummary>,
}

/// Which batches to list, as a client asks: text fields are checked by [`Engine::list_batches`].
#[derive(Clone, Debug, Default)]
pub struct BatchQuery {
    /// `queued`, `processing`, `done`, or empty for all.
    pub state: String,
    /// YYYY-MM-DD bounds of the Posteingangsdatum, inclusive; empty for none.
    pub from: String,
    pub to: String,
    /// Only batches with a larger id (0: from the first).
    pub after: u64,
    /// 0 means [`DEFAULT_BATCH_PAGE`]; at most [`MAX_BATCH_PAGE`].
    pub limit: u32,
}

/// Batches per listing page when the caller gives no limit, and the most it may ask for.
pub const DEFAULT_BATCH_PAGE: usize = 100;
pub const MAX_BATCH_PAGE: usize = 1000;

/// One message of a batch watch.
#[derive(Clone, Debug)]
pub enum BatchUpdate {
    Progress { stage: String, done: u32, total: u32 },
    Piece(Box<PieceRecord>),
    Done(Box<BatchSummary>),
}

/// A page preview of a Klärfall.
#[derive(Clone, Debug)]
pub struct PagePreview {
    pub png: Vec<u8>,
    pub page: u32,
    pub pages: u32,
}

/// A batch upload in progress: files one after another, committed by [`IngestUpload::finish`].
pub struct IngestUpload {
    engine: Engine,
    actor: String,
    header: BatchHeader,
    files: Vec<(BlobDigest, String, String)>,
    current: Option<(String, String, Upload<BlobDigest>)>,
    /// Bytes received over all files; a batch as a whole stays within the upload limit.
    received: u64,
}

fn require_mailroom(principal: &Principal, what: &str) -> Result<(), ServiceError> {
    super::records::require_role(principal, &[Role::Mailroom, Role::Admin], what)
}

/// A batch label or file name, under the one rule for human-readable fields (`records::text`), but
/// at most [`MAX_LABEL`] characters.
fn label(field: &str, value: &str, required: bool) -> Result<String, ServiceError> {
    check_text(field, value, required, MAX_LABEL)
        .map(str::to_string)
        .map_err(|problem| ServiceError::InvalidArgument(problem.to_string()))
}

impl NewBatch {
    fn validate(self) -> Result<BatchHeader, ServiceError> {
        let invalid = |message: String| ServiceError::InvalidArgument(message);
        let channel = if self.channel.trim().is_empty() {
            Channel::PaperScan
        } else {
            Channel::parse(self.channel.trim()).ok_or_else(|| {
                invalid(format!(
                    "unknown channel {:?}; use paper_scan, email, fachverfahren or other",
                    self.channel
                ))
            })?
        };
        let posteingangsdatum = NaiveDate::parse_from_str(self.posteingangsdatum.trim(), "%Y-%m-%d")
            .map_err(|_| {
                invalid(format!(
                    "posteingangsdatum {:?} is not a date; send YYYY-MM-DD, the day the mail arrived",
                    self.posteingangsdatum
                ))
            })?;
        let dpi = match self.dpi {
            0 => 300,
            dpi @ 50..=1200 => dpi,
            other => {
                return Err(invalid(format!("dpi {other} is out of range; use 50 to 1200 (0 means 300)")));
            }
        };
        let colour_mode = match self.colour_mode.trim() {
            "" => "gray".to_string(),
            mode @ ("bw" | "gray" | "color") => mode.to_string(),
            other => return Err(invalid(format!("colour mode {other:?} is unknown; use bw, gray or color"))),
        };
        let scanned_at = match self.scanned_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(
                chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|_| invalid(format!("scanned_at {text:?} is not an RFC 3339 time")))?
                    .with_timezone(&chrono::Utc),
            ),
        };
        Ok(BatchHeader {
            scanner_batch_id: label("scanner batch id", &self.scanner_batch_id, true)?,
            channel,
            posteingangsdatum,
            operator: label("operator", &self.operator, true)?,
            profile: ScannerProfile {
                dpi,
                colour_mode,
                device: label("device", &self.device, false)?,
                duplex: self.duplex,
            },
            expected_sheets: self.expected_sheets.filter(|n| *n > 0),
            scanned_at,
        })
    }
}

impl Engine {
    /// Starts receiving a batch. Nothing is acknowledged until [`IngestUpload::finish`].
    pub fn begin_ingest(&self, principal: &Principal, batch: NewBatch) -> Result<IngestUpload, ServiceError> {
        require_mailroom(principal, "deliver scan batches")?;
        let limit = self.inner.limits.max_queued_batches;
        let waiting = self.inner.mailroom.repo().queued()?.len();
        if waiting >= limit {
            registratur_ops::metrics::Metrics::add(
                &registratur_ops::metrics::global().ingest_refused_busy,
                1,
            );
            return Err(ServiceError::Busy(format!(
                "the mailroom has {waiting} batches waiting (limit {limit}, [mailroom] max_queued_batches); \
                 nothing was stored: send this batch again in a minute"
            )));
        }
        Ok(IngestUpload {
            engine: self.clone(),
            actor: principal.name.clone(),
            header: batch.validate()?,
            files: Vec::new(),
            current: None,
            received: 0,
        })
    }

    pub async fn batch(&self, principal: &Principal, id: u64) -> Result<BatchView, ServiceError> {
        require_mailroom(principal, "read batch states")?;
        self.blocking(move |engine| engine.batch_view(id)).await
    }

    /// Batches in id order, a page at a time; the second value is the id to continue after.
    pub async fn list_batches(
        &self,
        principal: &Principal,
        query: BatchQuery,
    ) -> Result<(Vec<BatchListing>, Option<u64>), ServiceError> {
        require_mailroom(principal, "list batches")?;
        let invalid = |message: String| ServiceError::InvalidArgument(message);
        let state = match query.state.trim() {
            "" => None,
            text => Some(BatchState::parse(text).ok_or_else(|| {
                invalid(format!("unknown batch state {text:?}; use queued, processing or done"))
            })?),
        };
        let date = |field: &str, text: &str| -> Result<Option<NaiveDate>, ServiceError> {
            match text.trim() {
                "" => Ok(None),
                text => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| invalid(format!("{field} {text:?} is not a date; write YYYY-MM-DD"))),
            }
        };
        let filter = BatchFilter { state, from: date("from", &query.from)?, to: date("to", &query.to)? };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(invalid(format!("from {from} is after to {to}; swap them")));
        }
        let limit = match query.limit as usize {
            0 => DEFAULT_BATCH_PAGE,
            n if n > MAX_BATCH_PAGE => {
                return Err(invalid(format!(
                    "limit {n} is above {MAX_BATCH_PAGE}; page with `after` instead"
                )));
            }
            n => n,
        };
        self.blocking(move |engine| {
            Ok(engine.inner.mailroom.repo().list_batches(&filter, query.after, limit)?)
        })
        .await
    }

    fn batch_view(&self, id: u64) -> Result<BatchView, ServiceError> {
        let mailroom = &self.inner.mailroom;
        let batch = mailroom.repo().batch(id)?;
        let pieces = mailroom.repo().pieces(id)?;
        let summary = mailroom.repo().summary(id)?;
        let state = BatchState::of(summary.as_ref(), pieces.len());
        Ok(BatchView { batch, state, pieces, summary })
    }

    /// Streams a batch's pieces as they are done: first those done already, then live ones, and
    /// finally the summary, after which the stream ends.
    pub async fn watch_batch(
        &self,
        principal: &Principal,
        id: u64,
    ) -> Result<mpsc::Receiver<Result<BatchUpdate, ServiceError>>, ServiceError> {
        require_mailroom(principal, "watch batches")?;
        // Subscribe before reading the snapshot, so that nothing falls between the two.
        let mut events = self.inner.mailroom.subscribe();
        let view = self.blocking(move |engine| engine.batch_view(id)).await?;
        let (sender, receiver) = mpsc::channel(64);
        // A watch must not keep the engine (and its store) alive after the server stops.
        let engine = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut sent = std::collections::BTreeSet::new();
            let mut snapshot = Some(view);
            loop {
                if let Some(view) = snapshot.take() {
                    for piece in view.pieces {
                        if sent.insert(piece.piece)
                            && sender.send(Ok(BatchUpdate::Piece(Box::new(piece)))).await.is_err()
                        {
                            return;
                        }
                    }
                    if let Some(summary) = view.summary {
                        let _ = sender.send(Ok(BatchUpdate::Done(Box::new(summary)))).await;
                        return;
                    }
                }
                let update = match events.recv().await {
                    Ok(MailroomEvent::Progress { batch_id, stage, done, total }) if batch_id == id => {
                        BatchUpdate::Progress { stage: stage.to_string(), done, total }
                    }
                    Ok(MailroomEvent::PieceDone { batch_id, piece }) if batch_id == id => {
                        if !sent.insert(piece.piece) {
                            continue;
                        }
                        BatchUpdate::Piece(piece)
                    }
                    Ok(MailroomEvent::BatchDone { batch_id, summary }) if batch_id == id => {
                        let _ = sender.send(Ok(BatchUpdate::Done(summary))).await;
                        return;
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Missed events: read the state again.
                        let Some(inner) = engine.upgrade() else { return };
                        match (Engine { inner }).blocking(move |engine| engine.batch_view(id)).await {
                            Ok(view) => snapshot = Some(view),
                            Err(error) => {
                                let _ = sender.send(Err(error)).await;
                                return;
                            }
                        }
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        let _ = sender
                            .send(Err(ServiceError::Unavailable(
                                "the server is shutting down; watch again later".into(),
                            )))
                            .await;
                        return;
                    }
                };
                if sender.send(Ok(update)).await.is_err() {
                    return;
                }
            }
        });
        Ok(receiver)
    }

    pub async fn klaerfaelle(
        &self,
        principal: &Principal,
        include_resolved: bool,
        limit: usize,
    ) -> Result<Vec<Klaerfall>, ServiceError> {
        require_mailroom(principal, "list Klärfälle")?;
        self.blocking(move |engine| Ok(engine.inner.mailroom.repo().klaerfaelle(include_resolved, limit)?))
            .await
    }

    pub async fn klaerfall(&self, principal: &Principal, id: u64) -> Result<Klaerfall, ServiceError> {
        require_mailroom(principal, "read Klärfälle")?;
        self.blocking(move |engine| Ok(engine.inner.mailroom.repo().klaerfall(id)?)).await
    }

    /// A PNG of page `page` (1-based) of a Klärfall's piece, upright.
    pub async fn klaerfall_preview(
        &self,
        principal: &Principal,
        id: u64,
        page: u32,
    ) -> Result<PagePreview, ServiceError> {
        require_mailroom(principal, "look at Klärfälle")?;
        let principal_name = principal.name.clone();
        self.blocking(move |engine| {
            let klaerfall = engine.inner.mailroom.repo().klaerfall(id)?;
            let pages = klaerfall.previews.len() as u32;
            let page = if page == 0 { 1 } else { page };
            let content = klaerfall.previews.get(page as usize - 1).ok_or_else(|| {
                ServiceError::InvalidArgument(format!(
                    "Klärfall {id} has pages 1 to {pages}; page {page} does not exist"
                ))
            })?;
            let hash = content.blob_hash().map_err(|e| ServiceError::Internal(e.to_string()))?;
            let what = format!("page {page} of Klärfall {id}'s preview");
            // One message carries the whole PNG: one verified read, damage registered wherever it shows.
            let png = registratur_ops::quarantine::read(engine.store(), &hash, &principal_name, &what)
                .map_err(|error| ServiceError::unreadable(error, &what))?;
            Ok(PagePreview { png, page, pages })
        })
        .await
    }

    /// Files a Klärfall's piece in the Akte a person chose.
    pub async fn resolve_klaerfall(
        &self,
        principal: &Principal,
        id: u64,
        akte: AkteRef,
        title: String,
        note: String,
    ) -> Result<(Klaerfall, Dokument), ServiceError> {
        require_mailroom(principal, "resolve Klärfälle")?;
        let actor = principal.name.clone();
        self.blocking(move |engine| {
            let records = engine.records();
            Ok(engine.inner.mailroom.repo().resolve_klaerfall(records, &actor, id, &akte, &title, &note)?)
        })
        .await
    }
}

impl IngestUpload {
    /// Ends the current file (if any) and starts the next.
    pub async fn start_file(&mut self, filename: &str, media_type: &str) -> Result<(), ServiceError> {
        self.end_file().await?;
        if self.files.len() >= MAX_FILES_PER_BATCH {
            return Err(ServiceError::InvalidArgument(format!(
                "a batch holds at most {MAX_FILES_PER_BATCH} files; split the delivery into several batches"
            )));
        }
        let filename = label("file name", filename, true)?;
        let media_type = label("media type", media_type, false)?;
        let blobs = self.engine.inner.store.clone();
        let upload = self.engine.begin_upload(move |reader| Ok(blobs.blobs().put_reader(reader)?.digest));
        self.current = Some((filename, media_type, upload));
        Ok(())
    }

    pub async fn write(&mut self, chunk: Vec<u8>) -> Result<(), ServiceError> {
        self.received += chunk.len() as u64;
        let limit = self.engine.inner.limits.max_upload_bytes;
        if self.received > limit {
            return Err(ServiceError::TooLarge { limit });
        }
        match &mut self.current {
            Some((_, _, upload)) => upload.write(chunk).await,
            None if chunk.is_empty() => Ok(()),
            None => Err(ServiceError::InvalidArgument(
                "file bytes before any file start; send a message with `file` first".into(),
            )),
        }
    }

    async fn end_file(&mut self) -> Result<(), ServiceError> {
        if let Some((filename, media_type, upload)) = self.current.take() {
            let digest = upload.finish().await?;
            self.files.push((digest, filename, media_type));
        }
        Ok(())
    }

    /// Stores the last file, records the batch and queues it: when this returns, the batch is durable.
    pub async fn finish(mut self) -> Result<Batch, ServiceError> {
        self.end_file().await?;
        if self.files.is_empty() {
            return Err(ServiceError::InvalidArgument("a batch needs at least one file".into()));
        }
        let (actor, header, files) = (self.actor, self.header, self.files);
        let batch = self
            .engine
            .blocking(move |engine| Ok(engine.inner.mailroom.repo().receive(&actor, header, files)?))
            .await?;
        self.engine.inner.worker.wake();
        Ok(batch)
    }
}
