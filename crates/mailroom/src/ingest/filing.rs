//! Filing one piece whose pages are read, in three steps: **render** (the PDF/A rendition and the
//! text, from the pages as scanned and their readings; no store), **decide** (the routing decision,
//! `route::resolve`, which only reads records), **commit** (the Transfervermerk, then the blobs, then
//! one transaction that files the Dokument or opens the Klärfall, with the piece record).
//!
//! Each step is a function of a small argument struct. Their errors are [`FilingError`], which says
//! whether trying the piece again may succeed ([`FilingError::is_retryable`]). An Akte closed (z.d.A.)
//! between the decision and the commit is not a failure of the piece: [`commit_or_park`] turns it into
//! a Klärfall that names the Akte, as a person must decide where the piece goes.

use chrono::Months;
use registratur_scan::Page;
use registratur_scan::ocr::OcrPage;
use registratur_scan::pdfa::{self, DocumentInfo, RenditionPage};
use registratur_scan::read::ReadPage;
use registratur_storage::{BlobDigest, Store, StoreError};

use super::error::PageAgainError;
use super::model::{
    Batch, Klaerfall, KlaerfallState, PieceDestination, PieceRecord, StoredPage, Transfervermerk, piece_title,
};
use super::pipeline::PageFacts;
use super::repo::{MailroomRepo, content_of};
use super::split::{self, PageScan, PiecePlan};
use crate::route::code::RoutingKeyRing;
use crate::route::resolve::{self, AkteLookup, Decision, KlaerfallReason, ReadCode, RoutingRules};
use registratur_records::aktenzeichen::AktenzeichenFormat;
use registratur_records::model::{Content, RenditionKind};
use registratur_records::repo::{AkteRef, NewDokument, Records, RecordsError, StoredContent};

/// Why a piece was not filed. Nothing of the piece is committed when one of these is returned; its
/// blobs may be stored (unreferenced until a later try commits them).
#[derive(Debug, thiserror::Error)]
pub enum FilingError {
    /// A page of the piece could not be decoded again: permanent, the batch file is damaged.
    #[error("{0}")]
    Page(PageAgainError),
    /// The PDF/A writer refused the pages: permanent for these pages.
    #[error("PDF/A rendition of piece {piece}: {message}")]
    Rendition { piece: u32, message: String },
    /// A Klärfall page preview could not be encoded: permanent for these pages.
    #[error("preview: {0}")]
    Preview(String),
    /// The routing decision could not read the records it needs (usually a failing store): retryable.
    #[error(transparent)]
    Route(RecordsError),
    /// The Akte the piece was routed to is closed (z.d.A.): permanent for this decision; a person
    /// decides where the piece goes ([`commit_or_park`] opens the Klärfall).
    #[error("Akte {0} is closed (z.d.A.); nothing can be added to it or changed")]
    AkteClosed(String),
    /// A compare-and-set lost a race: another writer changed the Akte or recorded this piece first.
    /// Retryable: the next try sees what won (a piece recorded meanwhile is skipped).
    #[error("too many concurrent changes to {0}; retry the request")]
    Contention(String),
    /// The store failed writing a blob or the transaction: retryable, the piece was not committed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The records refused the piece for another reason (an unreadable record, a field out of bounds):
    /// permanent until someone fixes the cause.
    #[error(transparent)]
    Records(RecordsError),
}

impl FilingError {
    /// Whether trying the same piece again may succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, FilingError::Route(_) | FilingError::Contention(_) | FilingError::Store(_))
    }
}

impl From<RecordsError> for FilingError {
    fn from(error: RecordsError) -> Self {
        match error {
            RecordsError::AkteClosed(aktenzeichen) => FilingError::AkteClosed(aktenzeichen),
            RecordsError::Contention(what) => FilingError::Contention(what),
            RecordsError::Store(error) => FilingError::Store(error),
            other => FilingError::Records(other),
        }
    }
}

/// A piece ready to be filed: its pages decoded again and read, with what analysis found.
pub struct PieceToFile<'a> {
    pub batch: &'a Batch,
    pub piece: &'a PiecePlan,
    /// The piece's pages as scanned, in piece order.
    pub pages: Vec<Page>,
    /// Each page's reading, in piece order.
    pub reads: Vec<ReadPage>,
    /// Each page's analysis (codes, doubts about blankness), in piece order; `None` when unknown.
    pub scans: Vec<Option<&'a PageScan>>,
    /// What analysis learned about each page for the Transfervermerk, in piece order.
    pub facts: Vec<Option<&'a PageFacts>>,
}

/// What rendering gives: the archival rendition and the text, and which pages have no text.
pub struct Rendered {
    pub title: String,
    /// The base of the piece's file names (`<batch>-<piece>`).
    pub stem: String,
    pub pdf: Vec<u8>,
    /// The OCR text, pages separated by a form feed on a line of its own.
    pub text: String,
    /// `page <n>: OCR failed: <why>` for every page whose reading failed (n counts in the batch).
    pub ocr_failures: Vec<String>,
}

/// Step 1: the PDF/A rendition (pages as scanned, turned upright, with their words as invisible text)
/// and the text. Pure: the same piece gives the same bytes.
pub fn render(piece: &PieceToFile<'_>) -> Result<Rendered, FilingError> {
    let (batch, plan) = (piece.batch, piece.piece);
    let empty = OcrPage::default();
    let ocr_pages: Vec<&OcrPage> = piece.reads.iter().map(|r| r.ocr.as_ref().unwrap_or(&empty)).collect();
    let ocr_failures: Vec<String> = piece
        .reads
        .iter()
        .zip(&plan.batch_pages)
        .filter_map(|(r, n)| r.ocr.as_ref().err().map(|e| format!("page {n}: OCR failed: {e}")))
        .collect();
    let rendition_pages: Vec<RenditionPage<'_>> = piece
        .pages
        .iter()
        .zip(&piece.reads)
        .zip(&ocr_pages)
        .map(|((page, read), ocr)| RenditionPage { page, turns: read.turns, words: &ocr.words })
        .collect();
    let title = piece_title(batch.header.posteingangsdatum, &batch.header.scanner_batch_id, plan.index);
    let info = DocumentInfo {
        title: title.clone(),
        author: None,
        creator_tool: format!("registratur {} mailroom", env!("CARGO_PKG_VERSION")),
        created_unix_seconds: batch.received_at.timestamp(),
        document_id: document_id(batch, plan.index),
    };
    let pdf = pdfa::write_pdfa(&rendition_pages, &info)
        .map_err(|e| FilingError::Rendition { piece: plan.index + 1, message: e.to_string() })?;
    let text: String = ocr_pages.iter().map(|p| p.text.trim_end()).collect::<Vec<_>>().join("\n\u{c}\n");
    let stem = format!("{}-{}", safe_name(&batch.header.scanner_batch_id), plan.index + 1);
    Ok(Rendered { title, stem, pdf, text, ocr_failures })
}

/// What routing needs to know besides the piece.
pub struct Router<'a> {
    pub ring: &'a RoutingKeyRing,
    pub format: &'a AktenzeichenFormat,
    pub rules: &'a RoutingRules,
    pub lookup: &'a dyn AkteLookup<Error = RecordsError>,
}

/// Step 2's arguments.
pub struct DecideInput<'a> {
    pub router: Router<'a>,
    pub piece: &'a PieceToFile<'a>,
    pub rendered: &'a Rendered,
}

/// Step 2: where the piece goes. A piece with a page whose reading failed goes to a Klärfall
/// (`ProcessingFailed`) without routing: its text would be incomplete evidence.
pub fn decide(input: DecideInput<'_>) -> Result<Decision, FilingError> {
    let DecideInput { router, piece, rendered } = input;
    if !rendered.ocr_failures.is_empty() {
        return Ok(Decision::Klaerfall {
            reason: KlaerfallReason::ProcessingFailed,
            detail: rendered.ocr_failures.join("; "),
            evidence: Vec::new(),
            candidates: Vec::new(),
        });
    }
    let codes: Vec<ReadCode> = piece
        .scans
        .iter()
        .enumerate()
        .flat_map(|(i, scan)| {
            scan.iter().flat_map(move |scan| {
                scan.codes.iter().map(move |(symbology, text)| ReadCode {
                    page: i as u32 + 1,
                    symbology: symbology.clone(),
                    text: text.clone(),
                })
            })
        })
        .collect();
    resolve::decide(router.ring, router.format, router.rules, router.lookup, &codes, &rendered.text)
        .map_err(FilingError::Route)
}

/// Where committing writes.
#[derive(Clone, Copy)]
pub struct Targets<'a> {
    pub store: &'a Store,
    pub records: &'a Records,
    pub repo: &'a MailroomRepo,
}

/// Step 3's arguments besides the decision.
pub struct CommitInput<'a> {
    pub targets: Targets<'a>,
    pub piece: &'a PieceToFile<'a>,
    pub rendered: &'a Rendered,
    /// The reader's engine, for the Transfervermerk.
    pub ocr_engine: &'a str,
    /// Resolution of the Klärfall page previews.
    pub preview_dpi: f32,
}

/// Step 3 with its one exception: the Transfervermerk, the blobs (rendition, text, protocol), then
/// one transaction; when the Akte was closed after the decision, the piece is parked in a Klärfall
/// naming it instead (with the same protocol), in its own transaction.
pub fn commit_or_park(input: &CommitInput<'_>, decision: Decision) -> Result<PieceRecord, FilingError> {
    let stored = store_blobs(input, &decision)?;
    match commit(input, &stored, &decision) {
        // Closed between the decision and the commit: a person decides.
        Err(FilingError::AkteClosed(aktenzeichen)) => {
            let evidence = match decision {
                Decision::File { evidence, .. } | Decision::Klaerfall { evidence, .. } => evidence,
            };
            let parked = Decision::Klaerfall {
                reason: KlaerfallReason::AkteClosed,
                detail: format!("Akte {aktenzeichen} was closed while the piece was processed"),
                evidence,
                candidates: vec![aktenzeichen],
            };
            commit(input, &stored, &parked)
        }
        other => other,
    }
}

/// The piece's blobs as stored, with its protocol.
pub struct StoredPiece {
    pub protocol: Transfervermerk,
    pub pdf: BlobDigest,
    pub text: BlobDigest,
    pub protocol_json: BlobDigest,
    pub rendition: Content,
    pub text_content: Content,
    pub protocol_content: Content,
}

/// The Transfervermerk for `decision`, then the rendition, text and protocol blobs.
pub fn store_blobs(input: &CommitInput<'_>, decision: &Decision) -> Result<StoredPiece, FilingError> {
    let CommitInput { targets, piece, rendered, ocr_engine, .. } = *input;
    let store = targets.store;
    let (batch, plan) = (piece.batch, piece.piece);
    let pdf = put(store, &rendered.pdf)?;
    let text = put(store, rendered.text.as_bytes())?;
    let mut qc = rendered.ocr_failures.clone();
    let routing_conflicts = match decision {
        Decision::File { conflicts, .. } => conflicts.clone(),
        Decision::Klaerfall { .. } => Vec::new(),
    };
    qc.extend(routing_conflicts.iter().cloned());
    for (scan, n) in piece.scans.iter().zip(&plan.batch_pages) {
        if let Some(reason) = scan.and_then(|scan| scan.blank_doubt.as_deref()) {
            qc.push(split::kept_in_doubt_note(*n, reason));
        }
    }
    let empty = OcrPage::default();
    let stored_pages: Vec<StoredPage> = plan
        .pages
        .iter()
        .zip(&plan.batch_pages)
        .zip(&piece.reads)
        .zip(&piece.facts)
        .map(|(((at, n), read), f)| StoredPage {
            at: *at,
            batch_page: *n,
            raw_sha256: f.map(|f| f.raw_sha256.clone()).unwrap_or_default(),
            width: f.map_or(0, |f| f.width),
            height: f.map_or(0, |f| f.height),
            dpi: f.map_or(0.0, |f| f.dpi.x),
            turned_degrees: read.turns.degrees(),
            ocr_confidence: read.ocr.as_ref().unwrap_or(&empty).mean_confidence,
        })
        .collect();
    if stored_pages.iter().any(|p| p.ocr_confidence > 0.0 && p.ocr_confidence < 50.0) {
        qc.push("low OCR confidence on some pages; check the scan quality".to_string());
    }
    let protocol = Transfervermerk {
        batch_id: batch.id,
        scanner_batch_id: batch.header.scanner_batch_id.clone(),
        piece: plan.index,
        operator: batch.header.operator.clone(),
        profile: batch.header.profile.clone(),
        received_at: batch.received_at,
        scanned_at: batch.header.scanned_at,
        processed_at: store.clock().now(),
        pages_fed: (plan.pages.len() + plan.blanks.len() + plan.separators.len()) as u32,
        pages_stored: plan.pages.len() as u32,
        blank_pages: plan.blanks.clone(),
        separator_sheets: plan.separators.clone(),
        pages: stored_pages,
        rendition_sha256: pdf.sha256.to_hex(),
        ocr_engine: ocr_engine.to_string(),
        qc: if qc.is_empty() { "ok".to_string() } else { qc.join("; ") },
        routing_conflicts,
        destroy_eligible_at: (batch.received_at.date_naive())
            .checked_add_months(Months::new(6))
            .unwrap_or(batch.received_at.date_naive()),
    };
    // Serialising a struct of strings, numbers, dates and vectors of the same into a Vec cannot fail.
    let protocol_bytes = serde_json::to_vec_pretty(&protocol).expect("the protocol serialises");
    let protocol_json = put(store, &protocol_bytes)?;
    let stem = &rendered.stem;
    Ok(StoredPiece {
        rendition: content_of(&pdf, &format!("{stem}.pdf"), "application/pdf"),
        text_content: content_of(&text, &format!("{stem}.txt"), "text/plain; charset=utf-8"),
        protocol_content: content_of(
            &protocol_json,
            &format!("{stem}.transfervermerk.json"),
            "application/json",
        ),
        protocol,
        pdf,
        text,
        protocol_json,
    })
}

/// One transaction for the piece and its record: the Dokument filed in its Akte, or — after the
/// previews are stored — the Klärfall opened. A filing that loses its race is `Contention`, one into
/// an Akte closed meanwhile `AkteClosed`; nothing is committed then.
pub fn commit(
    input: &CommitInput<'_>,
    stored: &StoredPiece,
    decision: &Decision,
) -> Result<PieceRecord, FilingError> {
    let CommitInput { targets, piece, rendered, preview_dpi, .. } = *input;
    let (batch, plan) = (piece.batch, piece.piece);
    let record = |destination, evidence| PieceRecord {
        batch_id: batch.id,
        piece: plan.index,
        destination,
        evidence,
        pages: plan.pages.clone(),
        rendition: stored.rendition.clone(),
        text: stored.text_content.clone(),
        transfervermerk: stored.protocol_content.clone(),
        protocol: stored.protocol.clone(),
    };
    match decision {
        Decision::File { akte, method, evidence, .. } => {
            let rendition = &stored.rendition;
            let new = NewDokument {
                akte: AkteRef::Id(akte.id),
                vorgang_id: None,
                title: rendered.title.clone(),
                sender: String::new(),
                fremdes_geschaeftszeichen: String::new(),
                posteingangsdatum: batch.header.posteingangsdatum,
                channel: batch.header.channel,
                source: batch.header.scanner_batch_id.clone(),
                filename: rendition.filename.clone(),
                media_type: rendition.media_type.clone(),
            };
            let original = StoredContent {
                digest: stored.pdf,
                filename: rendition.filename.clone(),
                media_type: rendition.media_type.clone(),
            };
            let renditions = [
                (
                    RenditionKind::OcrText,
                    StoredContent {
                        digest: stored.text,
                        filename: stored.text_content.filename.clone(),
                        media_type: stored.text_content.media_type.clone(),
                    },
                ),
                (
                    RenditionKind::Transfervermerk,
                    StoredContent {
                        digest: stored.protocol_json,
                        filename: stored.protocol_content.filename.clone(),
                        media_type: stored.protocol_content.media_type.clone(),
                    },
                ),
            ];
            let filed = targets.repo.file_piece(
                targets.records,
                &new,
                &original,
                &renditions,
                (batch.id, plan.index),
                |dokument| {
                    record(
                        PieceDestination::Filed {
                            akte_id: akte.id,
                            aktenzeichen: akte.aktenzeichen.clone(),
                            dokument_id: dokument.id,
                            method: *method,
                        },
                        evidence.clone(),
                    )
                },
            )?;
            Ok(filed)
        }
        Decision::Klaerfall { reason, detail, evidence, candidates } => {
            let mut digests = vec![stored.pdf, stored.text, stored.protocol_json];
            let mut previews = Vec::new();
            for (number, (page, read)) in piece.pages.iter().zip(&piece.reads).enumerate() {
                let png = registratur_scan::preview::preview_png(page, read.turns, preview_dpi)
                    .map_err(|e| FilingError::Preview(e.to_string()))?;
                let digest = put(targets.store, &png)?;
                digests.push(digest);
                let filename = format!("{}-page-{}.png", rendered.stem, number + 1);
                previews.push(content_of(&digest, &filename, "image/png"));
            }
            let klaerfall = Klaerfall {
                id: 0,
                batch_id: batch.id,
                piece: plan.index,
                reason: *reason,
                detail: detail.clone(),
                evidence: evidence.clone(),
                candidates: candidates.clone(),
                posteingangsdatum: batch.header.posteingangsdatum,
                channel: batch.header.channel,
                source: batch.header.scanner_batch_id.clone(),
                pages: plan.pages.len() as u32,
                rendition: stored.rendition.clone(),
                text: stored.text_content.clone(),
                transfervermerk: stored.protocol_content.clone(),
                previews,
                excerpt: rendered.text.chars().take(400).collect(),
                created_at: stored.protocol.processed_at,
                state: KlaerfallState::Open,
            };
            let (_, record) = targets.repo.open_klaerfall(klaerfall, &digests, |id| {
                record(
                    PieceDestination::Klaerfall { klaerfall_id: id, reason: *reason, detail: detail.clone() },
                    evidence.clone(),
                )
            })?;
            Ok(record)
        }
    }
}

fn put(store: &Store, bytes: &[u8]) -> Result<BlobDigest, FilingError> {
    let outcome = store.blobs().put(bytes).map_err(StoreError::from)?;
    Ok(outcome.digest)
}

/// A stable PDF document id: the same batch and piece give the same id.
fn document_id(batch: &Batch, piece: u32) -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&batch.id.to_be_bytes());
    for file in &batch.files {
        hasher.update(file.content.blake3.as_bytes());
    }
    hasher.update(&piece.to_be_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    id
}

/// A batch id made safe for a file name.
fn safe_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(60)
        .collect();
    if name.is_empty() { "batch".to_string() } else { name }
}

#[cfg(test)]
mod tests;
