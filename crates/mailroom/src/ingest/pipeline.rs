//! Processing one batch: decode and analyse every page, split into pieces, turn, OCR and render each
//! piece, route it, and file it or open a Klärfall.
//!
//! Phases, each parallel across pages on the mailroom's thread pool (one page per core; tesseract uses
//! one core per call):
//! 1. **analyse**: decode each page, measure blankness, read QR codes and 1D barcodes, hash the raw
//!    samples. Deterministic, so a restart splits the batch exactly as before.
//! 2. **read**: for every content page, one task per page in batch order: the page and its findings
//!    go to the `PageReader` (`registratur_scan::read`), which turns it upright and reads it.
//! 3. **file**: on the batch's own thread while the pool goes on reading, per piece as soon as its
//!    pages are read: render, decide, commit (`filing`).
//!
//! Pieces already committed (a restart after a crash) are skipped; the batch leaves the queue only
//! with its summary. A file that cannot be decoded is reported in the summary and its pages are left
//! out; its bytes stay stored with the batch.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use registratur_scan::analyse::{self, Symbology, blank};
use registratur_scan::decode::{self, InputFormat, Limits, OpenedFile};
use registratur_scan::ocr::OcrEngine;
use registratur_scan::read::{LocalPageReader, PageReader, PageToRead, ReadError, ReadPage, ReadSettings};
use registratur_scan::{Dpi, Page, PixelRect, QuarterTurns};
use registratur_storage::Store;
use tokio::sync::broadcast;

use super::error::{BatchFileError, MailroomError, PageAgainError};
use super::filing::{self, CommitInput, DecideInput, FilingError, PieceToFile, Router, Targets};
use super::model::{Batch, BatchSummary, FileOutcome, PageRef, PieceDestination, PieceRecord};
use super::repo::MailroomRepo;
use super::split::{self, FileScan, PageScan, PiecePlan, SplitPlan};
use crate::route::code::RoutingKeyRing;
use crate::route::resolve::{AkteLookup, AkteSummary, RoutingRules};
use registratur_ops::metrics::Metrics;
use registratur_records::model::{AkteState, Content};
use registratur_records::repo::{AkteRef, Records, RecordsError};

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

impl MailroomSettings {
    /// When the page reader turns a page.
    pub fn read_settings(&self) -> ReadSettings {
        ReadSettings {
            orientation_min_confidence: self.orientation_min_confidence,
            confident_reading: self.confident_reading,
        }
    }
}

impl Default for MailroomSettings {
    fn default() -> Self {
        Self {
            separator_code: "PATCHT".to_string(),
            blank_threshold: blank::DEFAULT_BLANK_THRESHOLD,
            routing: RoutingRules::default(),
            limits: Limits::default(),
            orientation_min_confidence: ReadSettings::default().orientation_min_confidence,
            confident_reading: ReadSettings::default().confident_reading,
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
    #[error(transparent)]
    Mailroom(#[from] MailroomError),
    #[error("stopping: the server is shutting down")]
    Stopped,
    #[error("{0}")]
    Internal(String),
}

impl From<FilingError> for PipelineError {
    /// The batch stays queued whatever the piece's error; the messages are those the pipeline logged
    /// before filing had its own error type.
    fn from(error: FilingError) -> Self {
        match error {
            FilingError::AkteClosed(aktenzeichen) => RecordsError::AkteClosed(aktenzeichen).into(),
            FilingError::Contention(what) => RecordsError::Contention(what).into(),
            FilingError::Store(error) => RecordsError::Store(error).into(),
            FilingError::Records(error) => error.into(),
            error @ (FilingError::Page(_)
            | FilingError::Rendition { .. }
            | FilingError::Preview(_)
            | FilingError::Route(_)) => PipelineError::Internal(error.to_string()),
        }
    }
}

/// The mailroom: everything the pipeline needs, shared by the worker and the service.
pub struct Mailroom {
    store: Store,
    records: Arc<Records>,
    repo: MailroomRepo,
    ring: RoutingKeyRing,
    reader: Arc<dyn PageReader>,
    settings: MailroomSettings,
    pool: rayon::ThreadPool,
    events: broadcast::Sender<MailroomEvent>,
    stop: AtomicBool,
}

/// What phase 1 learns about a page beyond what splitting needs.
#[derive(Clone, Debug)]
pub struct PageFacts {
    /// SHA-256 of the decoded samples (`Page::raw_sha256`).
    pub raw_sha256: String,
    pub width: u32,
    pub height: u32,
    pub dpi: Dpi,
    /// Where codes were decoded, in the pixels of the page as scanned: painted out before OCR.
    pub code_regions: Vec<PixelRect>,
}

impl Mailroom {
    /// A mailroom that reads pages on its own threads with `ocr` (`LocalPageReader`).
    pub fn new(
        store: Store,
        records: Arc<Records>,
        ring: RoutingKeyRing,
        ocr: Arc<dyn OcrEngine>,
        settings: MailroomSettings,
    ) -> Result<Self, RecordsError> {
        let reader = Arc::new(LocalPageReader::new(ocr, settings.read_settings()));
        Self::with_reader(store, records, ring, reader, settings)
    }

    /// A mailroom whose pages are read by `reader` (one call per page, from the page threads).
    pub fn with_reader(
        store: Store,
        records: Arc<Records>,
        ring: RoutingKeyRing,
        reader: Arc<dyn PageReader>,
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
            reader,
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
                self.read_file(&file.content, &what).map_err(|e| e.to_string())
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
                let metrics = registratur_ops::metrics::global();
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
        let metrics = registratur_ops::metrics::global();
        Metrics::add(&metrics.ingest_batches, 1);
        Metrics::add(&metrics.ingest_pages, u64::from(summary.pages_fed));
        Metrics::add(&metrics.ingest_pages_blank, u64::from(summary.blank_removed));
        self.emit(MailroomEvent::BatchDone { batch_id, summary: Box::new(summary.clone()) });
        Ok(summary)
    }

    /// A batch file's bytes, verified; damage is registered in the quarantine register. `what` names
    /// the file for the journal.
    fn read_file(&self, content: &Content, what: &str) -> Result<Vec<u8>, BatchFileError> {
        let limit = self.settings.limits.max_file_bytes;
        if content.size > limit {
            return Err(BatchFileError::TooLarge { size: content.size, limit });
        }
        let hash = content.blob_hash()?;
        // The decoders need the whole file: one verified read (damage found at its end is registered
        // too, which a stream read to the end here would not do).
        registratur_ops::quarantine::read(&self.store, &hash, super::repo::WORKER_ACTOR, what)
            .map_err(BatchFileError::Unreadable)
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
                        raw_sha256: decoded.raw_sha256(),
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

    /// Phase 2 for one page: decode it again and hand it with its findings to the page reader, which
    /// turns it upright and reads it. Failures are kept per page. The time counts as OCR time.
    fn read_page(
        &self,
        opened: &[Result<OpenedFile<'_>, String>],
        at: PageRef,
        facts: &HashMap<PageRef, PageFacts>,
    ) -> ReadPage {
        let started = std::time::Instant::now();
        // The reader's log lines (a failed orientation detection) name the page through this span.
        let _page = tracing::info_span!("read_page", file = at.file, page = at.page).entered();
        let read = match decode_again(opened, at) {
            Ok(page) => {
                let dpi = facts.get(&at).map_or(page.dpi, |f| f.dpi);
                let code_regions = facts.get(&at).map_or(&[][..], |f| &f.code_regions[..]);
                self.reader.read(PageToRead { page: &page, dpi, code_regions })
            }
            Err(error) => {
                ReadPage { turns: QuarterTurns::NONE, ocr: Err(ReadError::Page(error.to_string())) }
            }
        };
        registratur_ops::metrics::global().add_ocr_time(started.elapsed());
        read
    }

    /// Phase 3 for one piece: render, decide, commit (`filing`).
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
            .map_err(FilingError::Page)?;
        let reads: Vec<ReadPage> = piece
            .pages
            .iter()
            .map(|at| {
                read.remove(at)
                    .unwrap_or(ReadPage { turns: QuarterTurns::NONE, ocr: Err(ReadError::NotRead) })
            })
            .collect();
        let to_file = PieceToFile {
            batch,
            piece,
            pages,
            reads,
            scans: piece.pages.iter().map(|at| scans.get(at).copied()).collect(),
            facts: piece.pages.iter().map(|at| facts.get(at)).collect(),
        };
        let rendered = filing::render(&to_file)?;
        let lookup = RecordsLookup { records: &self.records };
        let router = Router {
            ring: &self.ring,
            format: self.records.format(),
            rules: &self.settings.routing,
            lookup: &lookup,
        };
        let decision = filing::decide(DecideInput { router, piece: &to_file, rendered: &rendered })?;
        let ocr_engine = self.reader.describe();
        let commit = CommitInput {
            targets: Targets { store: &self.store, records: &self.records, repo: &self.repo },
            piece: &to_file,
            rendered: &rendered,
            ocr_engine: &ocr_engine,
            preview_dpi: self.settings.preview_dpi,
        };
        Ok(filing::commit_or_park(&commit, decision)?)
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
            finished_at: self.store.clock().now(),
        })
    }
}

/// Answers routing lookups from the records store.
pub(crate) struct RecordsLookup<'a> {
    pub(crate) records: &'a Records,
}

impl AkteLookup for RecordsLookup<'_> {
    type Error = RecordsError;

    fn by_id(&self, id: u64) -> Result<Option<AkteSummary>, RecordsError> {
        self.find(AkteRef::Id(id))
    }

    fn by_aktenzeichen(&self, aktenzeichen: &str) -> Result<Option<AkteSummary>, RecordsError> {
        self.find(AkteRef::Aktenzeichen(aktenzeichen.to_string()))
    }
}

impl RecordsLookup<'_> {
    fn find(&self, akte: AkteRef) -> Result<Option<AkteSummary>, RecordsError> {
        match self.records.akte(&akte) {
            Ok(akte) => Ok(Some(AkteSummary {
                id: akte.id,
                open: matches!(akte.state, AkteState::Open),
                aktenzeichen: akte.aktenzeichen,
            })),
            Err(RecordsError::AkteNotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

fn decode_again(opened: &[Result<OpenedFile<'_>, String>], at: PageRef) -> Result<Page, PageAgainError> {
    let file = opened
        .get(at.file as usize)
        .ok_or(PageAgainError::NotInBatch { file: at.file })?
        .as_ref()
        .map_err(|message| PageAgainError::FileUnusable(message.clone()))?;
    file.page(at.page).map_err(|error| PageAgainError::Page { page: at.page, error })
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
    use std::io::Cursor;
    use std::sync::Mutex;

    use image::GrayImage;
    use registratur_scan::ocr::{FakeOcrEngine, OcrError, OcrPage, Orientation};
    use registratur_testkit::{LetterSpec, Routing, render_letter};

    use super::*;
    use crate::route::code::RoutingKey;
    use registratur_records::aktenzeichen::AktenzeichenFormat;

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
