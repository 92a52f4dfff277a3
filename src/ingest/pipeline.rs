//! Processing one batch: decode and analyse every page, split into pieces, turn, OCR and render each
//! piece, route it, and file it or open a Klärfall.
//!
//! Phases, each parallel across pages on the mailroom's thread pool (one page per core; tesseract uses
//! one core per call):
//! 1. **analyse**: decode each page, measure blankness, read QR codes and 1D barcodes, hash the raw
//!    samples. Deterministic, so a restart splits the batch exactly as before.
//! 2. **read**: for every content page, one task per page in batch order: detect orientation, turn
//!    upright, OCR.
//! 3. **file**: on the batch's own thread while the pool goes on reading, per piece as soon as its
//!    pages are read, write the PDF/A rendition, decide the route, store rendition, text and
//!    Transfervermerk, and commit the piece (filed or Klärfall) in one transaction.
//!
//! Pieces already committed (a restart after a crash) are skipped; the batch leaves the queue only
//! with its summary. A file that cannot be decoded is reported in the summary and its pages are left
//! out; its bytes stay stored with the batch.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Months, Utc};
use image::GrayImage;
use rayon::prelude::*;
use registratur_scan::analyse::{self, Symbology, blank, updown};
use registratur_scan::decode::{self, InputFormat, Limits, OpenedFile};
use registratur_scan::ocr::{OcrEngine, OcrPage};

use crate::metrics::Metrics;
use registratur_scan::pdfa::{self, DocumentInfo, RenditionPage};
use registratur_scan::{Dpi, Page, PixelRect, QuarterTurns};
use registratur_storage::{BlobDigest, Store};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::model::{
    Batch, BatchSummary, FileOutcome, Klaerfall, KlaerfallState, PageRef, PieceDestination, PieceRecord,
    StoredPage, Transfervermerk, piece_title,
};
use super::repo::{MailroomRepo, content_of};
use super::split::{self, FileScan, PageScan, PiecePlan, SplitPlan};
use crate::records::model::{AkteState, Content};
use crate::records::repo::{AkteRef, NewDokument, Records, RecordsError, StoredContent};
use crate::route::code::RoutingKeyRing;
use crate::route::resolve::{
    self, AkteLookup, AkteSummary, Decision, KlaerfallReason, ReadCode, RoutingRules,
};

/// Mailroom settings (the `[mailroom]` section of the configuration).
#[derive(Clone, Debug)]
pub struct MailroomSettings {
    /// The text of a separator sheet's code (QR, Code 39 or Code 128).
    pub separator_code: String,
    /// The blank measure's threshold (`blank::DEFAULT_BLANK_THRESHOLD` says what it decides).
    pub blank_threshold: f64,
    pub routing: RoutingRules,
    pub limits: Limits,
    /// Orientation detection below this confidence leaves a page as it is.
    pub orientation_min_confidence: f32,
    /// A first reading with at least this mean word confidence (0–100) is taken as upright, without
    /// orientation detection.
    pub confident_reading: f32,
    /// Resolution of the Klärfall page previews.
    pub preview_dpi: f32,
    /// Worker threads for page work; 0 means one per core.
    pub page_threads: usize,
}

impl Default for MailroomSettings {
    fn default() -> Self {
        Self {
            separator_code: "PATCHT".to_string(),
            blank_threshold: blank::DEFAULT_BLANK_THRESHOLD,
            routing: RoutingRules::default(),
            limits: Limits::default(),
            orientation_min_confidence: 6.0,
            confident_reading: 70.0,
            preview_dpi: 60.0,
            page_threads: 0,
        }
    }
}

/// What the mailroom reports while it works, for `WatchBatch`.
#[derive(Clone, Debug)]
pub enum MailroomEvent {
    Progress { batch_id: u64, stage: &'static str, done: u32, total: u32 },
    PieceDone { batch_id: u64, piece: Box<PieceRecord> },
    BatchDone { batch_id: u64, summary: Box<BatchSummary> },
}

/// Why processing a batch stopped. The batch stays queued and is tried again.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error("stopping: the server is shutting down")]
    Stopped,
    #[error("{0}")]
    Internal(String),
}

/// The mailroom: everything the pipeline needs, shared by the worker and the service.
pub struct Mailroom {
    store: Store,
    records: Arc<Records>,
    repo: MailroomRepo,
    ring: RoutingKeyRing,
    ocr: Arc<dyn OcrEngine>,
    settings: MailroomSettings,
    pool: rayon::ThreadPool,
    events: broadcast::Sender<MailroomEvent>,
    stop: AtomicBool,
}

/// What phase 1 learns about a page beyond what splitting needs.
#[derive(Clone, Debug)]
struct PageFacts {
    raw_sha256: String,
    width: u32,
    height: u32,
    dpi: Dpi,
    /// Where codes were decoded, in the pixels of the page as scanned: painted out before OCR.
    code_regions: Vec<PixelRect>,
}

/// What phase 2 learns about a content page.
struct ReadPage {
    turns: QuarterTurns,
    ocr: Result<OcrPage, String>,
}

impl Mailroom {
    pub fn new(
        store: Store,
        records: Arc<Records>,
        ring: RoutingKeyRing,
        ocr: Arc<dyn OcrEngine>,
        settings: MailroomSettings,
    ) -> Result<Self, RecordsError> {
        let threads = match settings.page_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mailroom-page-{i}"))
            .build()
            .map_err(|e| RecordsError::Invalid(format!("cannot start the mailroom page threads: {e}")))?;
        let (events, _) = broadcast::channel(1024);
        Ok(Self {
            repo: MailroomRepo::open(store.clone())?,
            store,
            records,
            ring,
            ocr,
            settings,
            pool,
            events,
            stop: AtomicBool::new(false),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<MailroomEvent> {
        self.events.subscribe()
    }

    pub fn repo(&self) -> &MailroomRepo {
        &self.repo
    }

    /// Asks a running `process_batch` to stop after the piece it is working on.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn emit(&self, event: MailroomEvent) {
        // No receiver is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    fn check_stop(&self) -> Result<(), PipelineError> {
        if self.stop.load(Ordering::SeqCst) { Err(PipelineError::Stopped) } else { Ok(()) }
    }

    /// Processes a batch to the end (or returns at once when it is done already).
    pub fn process_batch(&self, batch_id: u64) -> Result<BatchSummary, PipelineError> {
        if let Some(summary) = self.repo.summary(batch_id)? {
            return Ok(summary);
        }
        let batch = self.repo.batch(batch_id)?;
        let default_dpi = Dpi::uniform(batch.header.profile.dpi.clamp(50, 1200) as f32);
        let bytes: Vec<Result<Vec<u8>, String>> = batch
            .files
            .iter()
            .enumerate()
            .map(|(index, file)| {
                let what = format!("file {} ({:?}) of batch {batch_id}", index + 1, file.content.filename);
                self.read_file(&file.content, &what)
            })
            .collect();
        let opened: Vec<Result<OpenedFile<'_>, String>> = bytes
            .iter()
            .map(|bytes| {
                let bytes = bytes.as_ref().map_err(Clone::clone)?;
                decode::open(bytes, &self.settings.limits, default_dpi).map_err(|e| e.to_string())
            })
            .collect();

        let started = std::time::Instant::now();
        // Phase 1: analyse every page.
        let total_pages: u32 = opened.iter().flatten().map(OpenedFile::page_count).sum();
        let mut scans: Vec<FileScan> = Vec::new();
        let mut facts: HashMap<PageRef, PageFacts> = HashMap::new();
        let mut outcomes = Vec::new();
        let mut analysed = 0;
        for (index, (file, opened)) in batch.files.iter().zip(&opened).enumerate() {
            self.check_stop()?;
            let index = index as u32;
            let result =
                opened.as_ref().map_err(Clone::clone).and_then(|opened| self.analyse_file(index, opened));
            let outcome = FileOutcome {
                file: index,
                filename: file.content.filename.clone(),
                format: opened.as_ref().map(|o| format_name(o.format).to_string()).unwrap_or_default(),
                pages: opened.as_ref().map_or(0, |o| o.page_count()),
                error: result.as_ref().err().cloned(),
            };
            if let Some(error) = &outcome.error {
                tracing::warn!(batch = batch_id, file = %file.content.filename, %error, "file could not be processed");
            }
            outcomes.push(outcome);
            match result {
                Ok(pages) => {
                    analysed += pages.len() as u32;
                    let mut file_scan = Vec::new();
                    for (scan, page_facts) in pages {
                        facts.insert(scan.at, page_facts);
                        file_scan.push(scan);
                    }
                    scans.push(Ok(file_scan));
                }
                Err(error) => scans.push(Err(error)),
            }
            self.emit(MailroomEvent::Progress {
                batch_id,
                stage: "analysed",
                done: analysed,
                total: total_pages,
            });
        }
        let plan = split::split(&scans, &self.settings.separator_code);
        let analysed_after = started.elapsed();
        let scan_of: HashMap<PageRef, &PageScan> =
            scans.iter().flatten().flatten().map(|s| (s.at, s)).collect();

        // Phases 2 and 3 overlap: every content page of the pending pieces is read on the page pool,
        // one task per page in batch order, while this thread files each piece as soon as all of its
        // pages are read. No phase waits for the slowest page of another, so the cores stay busy with
        // OCR, and pieces are committed as they come.
        let mut pending: Vec<&PiecePlan> = Vec::new();
        for piece in &plan.pieces {
            if self.repo.piece(batch_id, piece.index)?.is_none() {
                pending.push(piece);
            }
        }
        let refs: Vec<PageRef> = pending.iter().flat_map(|p| p.pages.iter().copied()).collect();
        let (mut waiting, mut filing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        let abandon = AtomicBool::new(false);
        let (sender, receiver) = std::sync::mpsc::channel::<(PageRef, ReadPage)>();
        self.pool.in_place_scope_fifo(|scope| {
            for at in &refs {
                let (sender, opened, facts, abandon) = (sender.clone(), &opened, &facts, &abandon);
                scope.spawn_fifo(move |_| {
                    // Once the batch is given up (stop, failure), the remaining pages are not read.
                    if abandon.load(Ordering::SeqCst) || self.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let _ = sender.send((*at, self.read_page(opened, *at, facts)));
                });
            }
            drop(sender);
            let mut read: HashMap<PageRef, ReadPage> = HashMap::new();
            let filed = pending.iter().try_for_each(|piece| {
                let started = std::time::Instant::now();
                while let Some(missing) = piece.pages.iter().find(|at| !read.contains_key(at)) {
                    let Ok((at, page)) = receiver.recv() else {
                        self.check_stop()?;
                        return Err(PipelineError::Internal(format!(
                            "page {} of file {} was not read",
                            missing.page + 1,
                            missing.file + 1
                        )));
                    };
                    read.insert(at, page);
                }
                waiting += started.elapsed();
                self.check_stop()?;
                let started = std::time::Instant::now();
                let record = self.file_piece(&batch, piece, &opened, &facts, &scan_of, &mut read)?;
                filing += started.elapsed();
                let metrics = crate::metrics::global();
                match record.destination {
                    PieceDestination::Filed { .. } => Metrics::add(&metrics.pieces_filed, 1),
                    _ => Metrics::add(&metrics.pieces_klaerfall, 1),
                }
                self.emit(MailroomEvent::PieceDone { batch_id, piece: Box::new(record) });
                Ok(())
            });
            if filed.is_err() {
                abandon.store(true, Ordering::SeqCst);
            }
            filed
        })?;
        tracing::info!(
            batch = batch_id,
            analyse_seconds = analysed_after.as_secs_f32(),
            // Phases 2 and 3 run together: the time spent waiting for pages to be read, and filing.
            read_wait_seconds = waiting.as_secs_f32(),
            file_seconds = filing.as_secs_f32(),
            total_seconds = started.elapsed().as_secs_f32(),
            pages = plan.pages_fed,
            "batch processed"
        );
        let summary = self.summarise(&batch, &plan, outcomes)?;
        self.repo.finish(&summary)?;
        let metrics = crate::metrics::global();
        Metrics::add(&metrics.ingest_batches, 1);
        Metrics::add(&metrics.ingest_pages, u64::from(summary.pages_fed));
        Metrics::add(&metrics.ingest_pages_blank, u64::from(summary.blank_removed));
        self.emit(MailroomEvent::BatchDone { batch_id, summary: Box::new(summary.clone()) });
        Ok(summary)
    }

    /// A batch file's bytes, verified; damage is registered in the quarantine register. `what` names
    /// the file for the journal.
    fn read_file(&self, content: &Content, what: &str) -> Result<Vec<u8>, String> {
        if content.size > self.settings.limits.max_file_bytes {
            return Err(format!(
                "the file has {} bytes, more than the limit of {}; split the batch",
                content.size, self.settings.limits.max_file_bytes
            ));
        }
        let hash = content.blob_hash().map_err(|e| e.to_string())?;
        // The decoders need the whole file: one verified read (damage found at its end is registered
        // too, which a stream read to the end here would not do).
        crate::quarantine::read(&self.store, &hash, super::repo::WORKER_ACTOR, what)
            .map_err(|e| format!("cannot read the stored file: {e}"))
    }

    fn analyse_file(&self, file: u32, opened: &OpenedFile<'_>) -> Result<Vec<(PageScan, PageFacts)>, String> {
        let threshold = self.settings.blank_threshold;
        let results: Vec<Result<(PageScan, PageFacts), String>> = self.pool.install(|| {
            (0..opened.page_count())
                .into_par_iter()
                .map(|page| {
                    let decoded = opened.page(page).map_err(|e| format!("page {}: {e}", page + 1))?;
                    let gray = decoded.raster.to_gray();
                    let findings = analyse::analyse_page(&gray, decoded.dpi, threshold);
                    let measure = findings.blank;
                    let code_regions = findings.code_regions();
                    let mut codes: Vec<(String, String)> = findings
                        .symbols
                        .into_iter()
                        .map(|symbol| (symbology_name(symbol.symbology).to_string(), symbol.text))
                        .collect();
                    codes.dedup();
                    let facts = PageFacts {
                        raw_sha256: raw_sha256(&decoded),
                        width: decoded.raster.width(),
                        height: decoded.raster.height(),
                        dpi: decoded.dpi,
                        code_regions,
                    };
                    let scan = PageScan {
                        at: PageRef { file, page },
                        codes,
                        ink_ratio: measure.ink_ratio,
                        blank_threshold: measure.threshold,
                        blank: measure.blank,
                        blank_doubt: measure.doubt.map(|doubt| doubt.to_string()),
                    };
                    Ok((scan, facts))
                })
                .collect()
        });
        results.into_iter().collect()
    }

    /// Phase 2 for one page: orientation, turn, OCR. Failures are kept per page.
    fn read_page(
        &self,
        opened: &[Result<OpenedFile<'_>, String>],
        at: PageRef,
        facts: &HashMap<PageRef, PageFacts>,
    ) -> ReadPage {
        let started = std::time::Instant::now();
        let read = self.read_page_timed(opened, at, facts);
        crate::metrics::global().add_ocr_time(started.elapsed());
        read
    }

    fn read_page_timed(
        &self,
        opened: &[Result<OpenedFile<'_>, String>],
        at: PageRef,
        facts: &HashMap<PageRef, PageFacts>,
    ) -> ReadPage {
        let page = match decode_again(opened, at) {
            Ok(page) => page,
            Err(error) => return ReadPage { turns: QuarterTurns::NONE, ocr: Err(error) },
        };
        let dpi = facts.get(&at).map_or(page.dpi, |f| f.dpi);
        let regions = facts.get(&at).map_or(&[][..], |f| &f.code_regions[..]);
        let gray = picture_to_read(&page, regions, dpi);
        // Most pages arrive upright. A quick look at the ascenders (a few milliseconds) catches a page
        // fed upside down, so it is turned before it is read and read once. Then read; only when the
        // text reads badly ask orientation detection (a page turned by a quarter, or one the quick look
        // could not judge), read again turned as it says, and keep the better reading.
        let first_turns = if updown::upright_confidence(&gray, dpi) <= -updown::MIN_CONFIDENCE {
            QuarterTurns::HALF
        } else {
            QuarterTurns::NONE
        };
        let first = match self.ocr.recognize(&turn(&gray, first_turns), dpi) {
            Ok(ocr) => ocr,
            Err(error) => return ReadPage { turns: first_turns, ocr: Err(error.to_string()) },
        };
        if first.mean_confidence >= self.settings.confident_reading {
            return ReadPage { turns: first_turns, ocr: Ok(first) };
        }
        let turns = match self.ocr.detect_orientation(&gray, dpi) {
            Ok(found) if found.confidence >= self.settings.orientation_min_confidence => found.turns,
            Ok(_) => QuarterTurns::NONE,
            Err(error) => {
                tracing::warn!(file = at.file, page = at.page, %error, "orientation detection failed; page left as scanned");
                QuarterTurns::NONE
            }
        };
        if turns == first_turns {
            return ReadPage { turns, ocr: Ok(first) };
        }
        let upright_dpi = if turns.get() % 2 == 1 { Dpi { x: dpi.y, y: dpi.x } } else { dpi };
        match self.ocr.recognize(&turn(&gray, turns), upright_dpi) {
            Ok(second) if second.mean_confidence > first.mean_confidence => {
                ReadPage { turns, ocr: Ok(second) }
            }
            Ok(_) => ReadPage { turns: first_turns, ocr: Ok(first) },
            Err(error) => ReadPage { turns, ocr: Err(error.to_string()) },
        }
    }

    /// Phase 3 for one piece.
    #[allow(clippy::too_many_arguments)]
    fn file_piece(
        &self,
        batch: &Batch,
        piece: &PiecePlan,
        opened: &[Result<OpenedFile<'_>, String>],
        facts: &HashMap<PageRef, PageFacts>,
        scans: &HashMap<PageRef, &PageScan>,
        read: &mut HashMap<PageRef, ReadPage>,
    ) -> Result<PieceRecord, PipelineError> {
        // Decoded here, not on the page pool: its threads are busy reading the next pieces.
        let pages: Vec<Page> = piece
            .pages
            .iter()
            .map(|at| decode_again(opened, *at))
            .collect::<Result<Vec<_>, _>>()
            .map_err(PipelineError::Internal)?;
        let reads: Vec<ReadPage> = piece
            .pages
            .iter()
            .map(|at| {
                read.remove(at)
                    .unwrap_or(ReadPage { turns: QuarterTurns::NONE, ocr: Err("page was not read".into()) })
            })
            .collect();
        let empty = OcrPage::default();
        let ocr_pages: Vec<&OcrPage> = reads.iter().map(|r| r.ocr.as_ref().unwrap_or(&empty)).collect();
        let ocr_failures: Vec<String> = reads
            .iter()
            .zip(&piece.batch_pages)
            .filter_map(|(r, n)| r.ocr.as_ref().err().map(|e| format!("page {n}: OCR failed: {e}")))
            .collect();
        let rendition_pages: Vec<RenditionPage<'_>> = pages
            .iter()
            .zip(&reads)
            .zip(&ocr_pages)
            .map(|((page, read), ocr)| RenditionPage { page, turns: read.turns, words: &ocr.words })
            .collect();
        let title = piece_title(batch.header.posteingangsdatum, &batch.header.scanner_batch_id, piece.index);
        let info = DocumentInfo {
            title: title.clone(),
            author: None,
            creator_tool: format!("registratur {} mailroom", env!("CARGO_PKG_VERSION")),
            created_unix_seconds: batch.received_at.timestamp(),
            document_id: document_id(batch, piece.index),
        };
        let pdf = pdfa::write_pdfa(&rendition_pages, &info).map_err(|e| {
            PipelineError::Internal(format!("PDF/A rendition of piece {}: {e}", piece.index + 1))
        })?;
        let text: String = ocr_pages.iter().map(|p| p.text.trim_end()).collect::<Vec<_>>().join("\n\u{c}\n");
        let stem = format!("{}-{}", safe_name(&batch.header.scanner_batch_id), piece.index + 1);
        let pdf_digest = self.put(&pdf)?;
        let text_digest = self.put(text.as_bytes())?;

        let codes: Vec<ReadCode> = piece
            .pages
            .iter()
            .enumerate()
            .flat_map(|(i, at)| {
                scans.get(at).into_iter().flat_map(move |scan| {
                    scan.codes.iter().map(move |(symbology, text)| ReadCode {
                        page: i as u32 + 1,
                        symbology: symbology.clone(),
                        text: text.clone(),
                    })
                })
            })
            .collect();
        let lookup = RecordsLookup { records: &self.records };
        let mut decision = if ocr_failures.is_empty() {
            resolve::decide(&self.ring, self.records.format(), &self.settings.routing, &lookup, &codes, &text)
                .map_err(PipelineError::Internal)?
        } else {
            Decision::Klaerfall {
                reason: KlaerfallReason::ProcessingFailed,
                detail: ocr_failures.join("; "),
                evidence: Vec::new(),
                candidates: Vec::new(),
            }
        };
        let mut qc = ocr_failures.clone();
        let routing_conflicts = match &decision {
            Decision::File { conflicts, .. } => conflicts.clone(),
            Decision::Klaerfall { .. } => Vec::new(),
        };
        qc.extend(routing_conflicts.iter().cloned());
        for (at, n) in piece.pages.iter().zip(&piece.batch_pages) {
            if let Some(reason) = scans.get(at).and_then(|scan| scan.blank_doubt.as_deref()) {
                qc.push(split::kept_in_doubt_note(*n, reason));
            }
        }
        let stored_pages: Vec<StoredPage> = piece
            .pages
            .iter()
            .zip(&piece.batch_pages)
            .zip(&reads)
            .zip(&ocr_pages)
            .map(|(((at, n), read), ocr)| {
                let f = facts.get(at);
                StoredPage {
                    at: *at,
                    batch_page: *n,
                    raw_sha256: f.map(|f| f.raw_sha256.clone()).unwrap_or_default(),
                    width: f.map_or(0, |f| f.width),
                    height: f.map_or(0, |f| f.height),
                    dpi: f.map_or(0.0, |f| f.dpi.x),
                    turned_degrees: read.turns.degrees(),
                    ocr_confidence: ocr.mean_confidence,
                }
            })
            .collect();
        if stored_pages.iter().any(|p| p.ocr_confidence > 0.0 && p.ocr_confidence < 50.0) {
            qc.push("low OCR confidence on some pages; check the scan quality".to_string());
        }
        let processed_at = Utc::now();
        let protocol = Transfervermerk {
            batch_id: batch.id,
            scanner_batch_id: batch.header.scanner_batch_id.clone(),
            piece: piece.index,
            operator: batch.header.operator.clone(),
            profile: batch.header.profile.clone(),
            received_at: batch.received_at,
            scanned_at: batch.header.scanned_at,
            processed_at,
            pages_fed: (piece.pages.len() + piece.blanks.len() + piece.separators.len()) as u32,
            pages_stored: piece.pages.len() as u32,
            blank_pages: piece.blanks.clone(),
            separator_sheets: piece.separators.clone(),
            pages: stored_pages,
            rendition_sha256: pdf_digest.sha256.to_hex(),
            ocr_engine: self.ocr.describe(),
            qc: if qc.is_empty() { "ok".to_string() } else { qc.join("; ") },
            routing_conflicts,
            destroy_eligible_at: (batch.received_at.date_naive())
                .checked_add_months(Months::new(6))
                .unwrap_or(batch.received_at.date_naive()),
        };
        let protocol_json = serde_json::to_vec_pretty(&protocol).expect("the protocol serialises");
        let protocol_digest = self.put(&protocol_json)?;
        let rendition = content_of(&pdf_digest, &format!("{stem}.pdf"), "application/pdf");
        let text_content = content_of(&text_digest, &format!("{stem}.txt"), "text/plain; charset=utf-8");
        let protocol_content =
            content_of(&protocol_digest, &format!("{stem}.transfervermerk.json"), "application/json");
        let record = |destination, evidence| PieceRecord {
            batch_id: batch.id,
            piece: piece.index,
            destination,
            evidence,
            pages: piece.pages.clone(),
            rendition: rendition.clone(),
            text: text_content.clone(),
            transfervermerk: protocol_content.clone(),
            protocol: protocol.clone(),
        };

        if let Decision::File { akte, method, evidence, .. } = &decision {
            let new = NewDokument {
                akte: AkteRef::Id(akte.id),
                vorgang_id: None,
                title: title.clone(),
                sender: String::new(),
                fremdes_geschaeftszeichen: String::new(),
                posteingangsdatum: batch.header.posteingangsdatum,
                channel: batch.header.channel,
                source: batch.header.scanner_batch_id.clone(),
                filename: rendition.filename.clone(),
                media_type: rendition.media_type.clone(),
            };
            let original = StoredContent {
                digest: pdf_digest,
                filename: rendition.filename.clone(),
                media_type: rendition.media_type.clone(),
            };
            let renditions = vec![
                (
                    "ocr-text".to_string(),
                    StoredContent {
                        digest: text_digest,
                        filename: text_content.filename.clone(),
                        media_type: text_content.media_type.clone(),
                    },
                ),
                (
                    "transfervermerk".to_string(),
                    StoredContent {
                        digest: protocol_digest,
                        filename: protocol_content.filename.clone(),
                        media_type: protocol_content.media_type.clone(),
                    },
                ),
            ];
            let filed = self.repo.file_piece(
                &self.records,
                &new,
                &original,
                &renditions,
                (batch.id, piece.index),
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
            );
            match filed {
                Ok(record) => return Ok(record),
                // Closed between the decision and the commit: a person decides.
                Err(RecordsError::AkteClosed(aktenzeichen)) => {
                    decision = Decision::Klaerfall {
                        reason: KlaerfallReason::AkteClosed,
                        detail: format!("Akte {aktenzeichen} was closed while the piece was processed"),
                        evidence: evidence.clone(),
                        candidates: vec![aktenzeichen],
                    };
                }
                Err(error) => return Err(error.into()),
            }
        }
        let Decision::Klaerfall { reason, detail, evidence, candidates } = decision else {
            unreachable!("a filed piece returned above")
        };
        let mut digests = vec![pdf_digest, text_digest, protocol_digest];
        let mut previews = Vec::new();
        for (number, (page, read)) in pages.iter().zip(&reads).enumerate() {
            let png = preview_png(page, read.turns, self.settings.preview_dpi)?;
            let digest = self.put(&png)?;
            digests.push(digest);
            previews.push(content_of(&digest, &format!("{stem}-page-{}.png", number + 1), "image/png"));
        }
        let klaerfall = Klaerfall {
            id: 0,
            batch_id: batch.id,
            piece: piece.index,
            reason,
            detail: detail.clone(),
            evidence: evidence.clone(),
            candidates,
            posteingangsdatum: batch.header.posteingangsdatum,
            channel: batch.header.channel,
            source: batch.header.scanner_batch_id.clone(),
            pages: piece.pages.len() as u32,
            rendition: rendition.clone(),
            text: text_content.clone(),
            transfervermerk: protocol_content.clone(),
            previews,
            excerpt: text.chars().take(400).collect(),
            created_at: processed_at,
            state: KlaerfallState::Open,
        };
        let (_, record) = self.repo.open_klaerfall(klaerfall, &digests, |id| {
            record(
                PieceDestination::Klaerfall { klaerfall_id: id, reason, detail: detail.clone() },
                evidence.clone(),
            )
        })?;
        Ok(record)
    }

    fn put(&self, bytes: &[u8]) -> Result<BlobDigest, PipelineError> {
        let outcome = self
            .store
            .blobs()
            .put(bytes)
            .map_err(|e| PipelineError::Records(RecordsError::Store(e.into())))?;
        Ok(outcome.digest)
    }

    fn summarise(
        &self,
        batch: &Batch,
        plan: &SplitPlan,
        files: Vec<FileOutcome>,
    ) -> Result<BatchSummary, PipelineError> {
        let mut qc = Vec::new();
        if let Some(sheets) = batch.header.expected_sheets {
            let sides = if batch.header.profile.duplex { 2 } else { 1 };
            let expected = sheets.saturating_mul(sides);
            if expected != plan.pages_fed {
                qc.push(format!(
                    "{} pages were fed but {sheets} sheets ({expected} pages) were announced; check the batch for missing or double-fed sheets",
                    plan.pages_fed
                ));
            }
        }
        qc.extend(plan.kept_in_doubt.iter().map(split::KeptInDoubt::note));
        for file in &files {
            if let Some(error) = &file.error {
                qc.push(format!("file {} ({}) was not processed: {error}", file.file + 1, file.filename));
            }
        }
        // Read from the piece records, so that pieces filed before a restart are counted too.
        for piece in self.repo.pieces(batch.id)? {
            for conflict in &piece.protocol.routing_conflicts {
                qc.push(format!("piece {}: {conflict}", piece.piece + 1));
            }
        }
        if !plan.invariant_holds() {
            qc.push("page accounting does not add up; report this as a bug".to_string());
        }
        Ok(BatchSummary {
            batch_id: batch.id,
            files,
            pieces: plan.pieces.len() as u32,
            pages_fed: plan.pages_fed,
            pages_stored: plan.pages_stored(),
            blank_removed: plan.blanks.len() as u32,
            separator_sheets: plan.separators.len() as u32,
            invariant_holds: plan.invariant_holds(),
            qc,
            finished_at: Utc::now(),
        })
    }
}

/// Answers routing lookups from the records store.
struct RecordsLookup<'a> {
    records: &'a Records,
}

impl AkteLookup for RecordsLookup<'_> {
    fn by_id(&self, id: u64) -> Result<Option<AkteSummary>, String> {
        self.find(AkteRef::Id(id))
    }

    fn by_aktenzeichen(&self, aktenzeichen: &str) -> Result<Option<AkteSummary>, String> {
        self.find(AkteRef::Aktenzeichen(aktenzeichen.to_string()))
    }
}

impl RecordsLookup<'_> {
    fn find(&self, akte: AkteRef) -> Result<Option<AkteSummary>, String> {
        match self.records.akte(&akte) {
            Ok(akte) => Ok(Some(AkteSummary {
                id: akte.id,
                open: matches!(akte.state, AkteState::Open),
                aktenzeichen: akte.aktenzeichen,
            })),
            Err(RecordsError::AkteNotFound(_)) => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }
}

fn decode_again(opened: &[Result<OpenedFile<'_>, String>], at: PageRef) -> Result<Page, String> {
    let file = opened
        .get(at.file as usize)
        .ok_or_else(|| format!("file {} is not in the batch", at.file + 1))?
        .as_ref()
        .map_err(Clone::clone)?;
    file.page(at.page).map_err(|e| format!("page {}: {e}", at.page + 1))
}

/// The grey page that OCR reads: as scanned, with the codes found by analysis (`regions`, in the
/// pixels of the page as scanned) painted out, so that tesseract neither reads them as junk words nor
/// lets them scramble the reading order of the text beside them. Masked before any turning, so the
/// mask turns with the page; the rendition is made from the page as scanned.
fn picture_to_read<'a>(page: &'a Page, regions: &[PixelRect], dpi: Dpi) -> std::borrow::Cow<'a, GrayImage> {
    let mut gray = page.raster.to_gray();
    if !regions.is_empty() {
        registratur_scan::ocr::mask_regions(gray.to_mut(), regions, dpi);
    }
    gray
}

/// The page turned by `turns` quarter turns clockwise (borrowed as it is when there is nothing to turn).
fn turn(gray: &GrayImage, turns: QuarterTurns) -> std::borrow::Cow<'_, GrayImage> {
    match turns.get() {
        1 => std::borrow::Cow::Owned(image::imageops::rotate90(gray)),
        2 => std::borrow::Cow::Owned(image::imageops::rotate180(gray)),
        3 => std::borrow::Cow::Owned(image::imageops::rotate270(gray)),
        _ => std::borrow::Cow::Borrowed(gray),
    }
}

/// A small upright grey PNG of a page, for people looking at a Klärfall.
fn preview_png(page: &Page, turns: QuarterTurns, dpi: f32) -> Result<Vec<u8>, PipelineError> {
    let gray = page.raster.to_gray();
    let scale = (dpi / page.dpi.x.max(1.0)).min(1.0);
    let width = ((gray.width() as f32 * scale).round() as u32).max(1);
    let height = ((gray.height() as f32 * scale).round() as u32).max(1);
    let small = image::imageops::resize(&*gray, width, height, image::imageops::FilterType::Triangle);
    let upright = turn(&small, turns);
    let mut png = Vec::new();
    upright
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| PipelineError::Internal(format!("preview: {e}")))?;
    Ok(png)
}

/// SHA-256 over the decoded samples, so that the Transfervermerk names each page image as scanned.
fn raw_sha256(page: &Page) -> String {
    let mut hasher = Sha256::new();
    match &page.raster {
        registratur_scan::Raster::Bilevel(image) | registratur_scan::Raster::Gray(image) => {
            hasher.update(image.as_raw())
        }
        registratur_scan::Raster::Rgb(image) => hasher.update(image.as_raw()),
    }
    hex::encode(hasher.finalize())
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

fn symbology_name(symbology: Symbology) -> &'static str {
    match symbology {
        Symbology::Qr => "QR",
        Symbology::Code39 => "Code 39",
        Symbology::Code128 => "Code 128",
    }
}

fn format_name(format: InputFormat) -> &'static str {
    match format {
        InputFormat::Tiff => "tiff",
        InputFormat::Pdf => "pdf",
        InputFormat::Jpeg => "jpeg",
        InputFormat::Png => "png",
        InputFormat::Gif => "gif",
        InputFormat::Bmp => "bmp",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use registratur_scan::ocr::{FakeOcrEngine, OcrError, Orientation};
    use registratur_testkit::{LetterSpec, Routing, render_letter};

    use super::*;
    use crate::records::aktenzeichen::AktenzeichenFormat;
    use crate::route::code::RoutingKey;

    /// The fake engine's answers, keeping every picture it is asked to read.
    struct Recording {
        fake: FakeOcrEngine,
        read: Mutex<Vec<GrayImage>>,
    }

    impl OcrEngine for Recording {
        fn recognize(&self, page: &GrayImage, dpi: Dpi) -> Result<OcrPage, OcrError> {
            self.read.lock().expect("not poisoned").push(page.clone());
            self.fake.recognize(page, dpi)
        }

        fn detect_orientation(&self, page: &GrayImage, dpi: Dpi) -> Result<Orientation, OcrError> {
            self.fake.detect_orientation(page, dpi)
        }

        fn describe(&self) -> String {
            self.fake.describe()
        }
    }

    #[test]
    fn ocr_reads_the_page_upright_with_its_codes_painted_out_and_the_rendition_keeps_them() {
        const DPI: f32 = 200.0;
        let spec = LetterSpec {
            routing: Routing::Qr("AZ:32.10.05-123/2026".into()),
            pages: 1,
            upside_down: true,
            expect: String::new(),
        };
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(5);
        let (pages, _) = render_letter(&spec, DPI, &mut rng).expect("the letter renders");
        let upright = &pages[0];
        // Fed upside down: the code the letter carries top right is bottom left in the scan.
        let scanned = image::imageops::rotate180(upright);
        let mut png = Vec::new();
        scanned.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).expect("encodes");

        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Store::open(dir.path()).expect("the store opens");
        let records = Arc::new(Records::open(store.clone(), AktenzeichenFormat::default()).expect("opens"));
        let ring = RoutingKeyRing::new(RoutingKey::from_bytes('A', [7; 32]).expect("a valid key"));
        let engine =
            Arc::new(Recording { fake: FakeOcrEngine::reading("Sehr geehrte"), read: Mutex::default() });
        let settings = MailroomSettings { page_threads: 1, ..MailroomSettings::default() };
        let mailroom = Mailroom::new(store, records, ring, engine.clone(), settings).expect("starts");

        let dpi = Dpi::uniform(DPI);
        let opened = vec![Ok(decode::open(&png, &Limits::default(), dpi).expect("the PNG opens"))];
        let analysed = mailroom.analyse_file(0, opened[0].as_ref().expect("opened")).expect("analysed");
        let (scan, page_facts) = analysed.into_iter().next().expect("one page");
        assert_eq!(scan.codes, [("QR".to_string(), "AZ:32.10.05-123/2026".to_string())]);
        let facts = HashMap::from([(scan.at, page_facts)]);

        let read = mailroom.read_page(&opened, scan.at, &facts);
        assert_eq!(read.turns, QuarterTurns::HALF);
        assert!(read.ocr.is_ok());
        let pictures = engine.read.lock().expect("not poisoned");
        assert_eq!(pictures.len(), 1, "one reading, of the page turned upright");
        let picture = &pictures[0];
        // Where the letter has its code (about 2 cm, 15 mm from the top, 20 mm from the right), the
        // picture OCR read is white; the letter's text is still there.
        let mm = |v: f32| (v / 25.4 * DPI) as u32;
        let code = (mm(15.0)..mm(36.0))
            .flat_map(|y| (picture.width() - mm(41.0)..picture.width() - mm(20.0)).map(move |x| (x, y)));
        let darkest = code.clone().map(|(x, y)| picture.get_pixel(x, y).0[0]).min();
        assert_eq!(darkest, Some(255), "the code was not painted out where OCR reads it");
        let darkest_in_scan = code.map(|(x, y)| upright.get_pixel(x, y).0[0]).min();
        assert_eq!(darkest_in_scan, Some(0), "the test page has no code where it should");
        let text = (mm(25.0)..mm(80.0)).flat_map(|x| (mm(25.0)..mm(30.0)).map(move |y| (x, y)));
        assert!(text.map(|(x, y)| picture.get_pixel(x, y).0[0]).min() < Some(100), "the sender line is gone");

        // The rendition is made from the page as decoded, code and all.
        let page = decode_again(&opened, scan.at).expect("decodes again");
        assert_eq!(page.raster.to_gray().as_raw(), scanned.as_raw());
    }
}
