//! Filing against the memory blob store and a RocksDB metadata store in a temporary directory, pages
//! read by the fake OCR engine through the local page reader: concurrent filings into one Akte, the
//! same piece committed twice at once, an Akte closed between decision and commit, a failed reading.

use std::sync::{Arc, Barrier};

use chrono::{NaiveDate, Utc};
use image::{GrayImage, Luma};
use registratur_scan::ocr::FakeOcrEngine;
use registratur_scan::read::{LocalPageReader, PageReader, PageToRead, ReadSettings};
use registratur_scan::{Dpi, Raster};
use registratur_storage::meta::MetaOptions;
use registratur_storage::{MemoryBlobStore, MetaStore};
use tempfile::TempDir;

use super::*;
use crate::ingest::model::{BatchHeader, PageRef, ScannerProfile};
use crate::route::code::RoutingKey;
use crate::route::resolve::RouteMethod;
use registratur_records::aktenplan::Aktenplan;
use registratur_records::aktenzeichen::AktenplanKey;
use registratur_records::model::{Akte, Channel};

const TEXT: &str = "Sehr geehrte Damen und Herren,\nanbei die Unterlagen.";

struct Fixture {
    _dir: TempDir,
    store: Store,
    records: Records,
    repo: MailroomRepo,
    ring: RoutingKeyRing,
    akte: Akte,
    batch: Batch,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = TempDir::new().expect("a temporary directory");
        let meta = MetaStore::open(dir.path().join("meta"), MetaOptions::default()).expect("meta opens");
        let store = Store::with_parts(dir.path().to_path_buf(), Arc::new(MemoryBlobStore::new()), meta);
        let records = Records::open(store.clone(), AktenzeichenFormat::default()).expect("records open");
        records.import_aktenplan("setup", &Aktenplan::example_kgst()).expect("imports");
        let unit = AktenplanKey::parse("32.10.05").expect("a valid key");
        let akte = records.create_akte("setup", &unit, "Gewerbe Müller", None, Some(2026)).expect("created");
        let repo = MailroomRepo::open(store.clone()).expect("opens");
        let ring = RoutingKeyRing::new(RoutingKey::from_bytes('A', [7; 32]).expect("a valid key"));
        let batch = Batch {
            id: 1,
            header: BatchHeader {
                scanner_batch_id: "POST-2026-03-02".to_string(),
                channel: Channel::PaperScan,
                posteingangsdatum: NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date"),
                operator: "Poststelle".to_string(),
                profile: ScannerProfile {
                    dpi: 300,
                    colour_mode: "gray".to_string(),
                    device: "test".to_string(),
                    duplex: false,
                },
                expected_sheets: None,
                scanned_at: None,
            },
            files: Vec::new(),
            received_at: Utc::now(),
            received_by: "mailroom".to_string(),
        };
        Fixture { _dir: dir, store, records, repo, ring, akte, batch }
    }

    fn targets(&self) -> Targets<'_> {
        Targets { store: &self.store, records: &self.records, repo: &self.repo }
    }
}

/// A one-page piece, number `index` of the batch (0-based), whose page carries `codes`.
struct PieceParts {
    plan: PiecePlan,
    scan: PageScan,
    facts: PageFacts,
}

impl PieceParts {
    fn new(index: u32, codes: Vec<(String, String)>) -> PieceParts {
        let at = PageRef { file: 0, page: index };
        PieceParts {
            plan: PiecePlan {
                index,
                pages: vec![at],
                batch_pages: vec![index + 1],
                blanks: Vec::new(),
                separators: Vec::new(),
            },
            scan: PageScan {
                at,
                codes,
                ink_ratio: 0.1,
                blank_threshold: 0.01,
                blank: false,
                blank_doubt: None,
            },
            facts: PageFacts {
                raw_sha256: "00".repeat(32),
                width: 600,
                height: 800,
                dpi: Dpi::uniform(100.0),
                code_regions: Vec::new(),
            },
        }
    }

    /// The piece with its page read by `reader`.
    fn to_file<'a>(&'a self, batch: &'a Batch, reader: &dyn PageReader) -> PieceToFile<'a> {
        let page = letter_page();
        let read = reader.read(PageToRead { page: &page, dpi: page.dpi, code_regions: &[] });
        PieceToFile {
            batch,
            piece: &self.plan,
            pages: vec![page],
            reads: vec![read],
            scans: vec![Some(&self.scan)],
            facts: vec![Some(&self.facts)],
        }
    }
}

/// A grey page at 100 dpi with a block of "text" the fake engine reads.
fn letter_page() -> Page {
    let mut gray = GrayImage::from_pixel(600, 800, Luma([255]));
    for y in 100..300 {
        for x in 60..540 {
            if (y / 10) % 2 == 0 {
                gray.put_pixel(x, y, Luma([20]));
            }
        }
    }
    Page { raster: Raster::Gray(gray), dpi: Dpi::uniform(100.0), embedded: None }
}

fn reader(engine: FakeOcrEngine) -> LocalPageReader {
    LocalPageReader::new(Arc::new(engine), ReadSettings::default())
}

fn plain_code(akte: &Akte) -> Vec<(String, String)> {
    vec![("QR".to_string(), format!("AZ:{}", akte.aktenzeichen))]
}

fn lookup(records: &Records) -> crate::ingest::pipeline::RecordsLookup<'_> {
    crate::ingest::pipeline::RecordsLookup { records }
}

/// Render and decide.
fn render_and_decide(fx: &Fixture, piece: &PieceToFile<'_>) -> (Rendered, Decision) {
    let rendered = render(piece).expect("renders");
    let lookup = lookup(&fx.records);
    let router = Router {
        ring: &fx.ring,
        format: fx.records.format(),
        rules: &RoutingRules::default(),
        lookup: &lookup,
    };
    let decision = decide(DecideInput { router, piece, rendered: &rendered }).expect("decides");
    (rendered, decision)
}

fn commit_input<'a>(fx: &'a Fixture, piece: &'a PieceToFile<'a>, rendered: &'a Rendered) -> CommitInput<'a> {
    CommitInput { targets: fx.targets(), piece, rendered, ocr_engine: "fake-ocr 1", preview_dpi: 30.0 }
}

#[test]
fn render_makes_a_pdf_and_the_text_and_decide_routes_by_the_plain_code() {
    let fx = Fixture::new();
    let parts = PieceParts::new(0, plain_code(&fx.akte));
    let piece = parts.to_file(&fx.batch, &reader(FakeOcrEngine::reading(TEXT)));
    let (rendered, decision) = render_and_decide(&fx, &piece);
    assert!(rendered.pdf.starts_with(b"%PDF-"));
    assert_eq!(rendered.text, TEXT);
    assert!(rendered.ocr_failures.is_empty());
    assert_eq!(rendered.stem, "POST-2026-03-02-1");
    // Pure: the same piece renders to the same bytes.
    assert_eq!(render(&piece).expect("renders").pdf, rendered.pdf);
    let Decision::File { akte, method, .. } = decision else { panic!("filed by its code: {decision:?}") };
    assert_eq!((akte.id, method), (fx.akte.id, RouteMethod::PlainCode));
}

#[test]
fn two_pieces_filed_concurrently_into_one_akte_are_both_filed_once() {
    let fx = Fixture::new();
    let reader = reader(FakeOcrEngine::reading(TEXT));
    let parts: Vec<PieceParts> = (0..2).map(|i| PieceParts::new(i, plain_code(&fx.akte))).collect();
    let pieces: Vec<PieceToFile<'_>> = parts.iter().map(|p| p.to_file(&fx.batch, &reader)).collect();
    let decided: Vec<(Rendered, Decision)> = pieces.iter().map(|p| render_and_decide(&fx, p)).collect();
    // Both decided before either commits, then committed at the same moment.
    let start = Barrier::new(2);
    let results: Vec<Result<PieceRecord, FilingError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .iter()
            .zip(&decided)
            .map(|(piece, (rendered, decision))| {
                let (fx, start) = (&fx, &start);
                scope.spawn(move || {
                    let input = commit_input(fx, piece, rendered);
                    start.wait();
                    commit_or_park(&input, decision.clone())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });

    let mut dokumente = Vec::new();
    for (number, result) in results.into_iter().enumerate() {
        let record = result.expect("each piece files: filings into one Akte do not conflict");
        let PieceDestination::Filed { akte_id, dokument_id, .. } = record.destination else {
            panic!("piece {number} was not filed: {:?}", record.destination)
        };
        assert_eq!(akte_id, fx.akte.id);
        assert_eq!(fx.repo.piece(fx.batch.id, number as u32).expect("reads"), Some(record));
        let version = fx.records.version(&fx.records.dokument(dokument_id).expect("filed"), 1).expect("v1");
        let kinds: Vec<&RenditionKind> = version.renditions.iter().map(|r| &r.kind).collect();
        assert_eq!(kinds, [&RenditionKind::OcrText, &RenditionKind::Transfervermerk]);
        dokumente.push(dokument_id);
    }
    dokumente.sort_unstable();
    let mut in_akte: Vec<u64> =
        fx.records.dokumente(fx.akte.id).expect("lists").iter().map(|d| d.id).collect();
    in_akte.sort_unstable();
    assert_eq!(in_akte, dokumente, "two Dokumente, one per piece");
    assert_eq!(fx.store.verify_journal().expect("verifies").first_break, None);
}

#[test]
fn the_same_piece_committed_twice_at_once_is_filed_once_and_the_loser_may_retry() {
    let fx = Fixture::new();
    let reader = reader(FakeOcrEngine::reading(TEXT));
    let parts = PieceParts::new(0, plain_code(&fx.akte));
    let piece = parts.to_file(&fx.batch, &reader);
    let (rendered, decision) = render_and_decide(&fx, &piece);
    let start = Barrier::new(2);
    let results: Vec<Result<PieceRecord, FilingError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (fx, piece, rendered, decision, start) = (&fx, &piece, &rendered, &decision, &start);
                scope.spawn(move || {
                    let input = commit_input(fx, piece, rendered);
                    start.wait();
                    commit_or_park(&input, decision.clone())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });
    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    assert_eq!((won.len(), lost.len()), (1, 1), "exactly one commit wins");
    let error = lost.into_iter().next().and_then(Result::err).expect("the loser's error");
    assert!(matches!(error, FilingError::Contention(_)), "{error:?}");
    assert!(error.is_retryable(), "a lost race is worth another try: {error}");
    assert_eq!(fx.records.dokumente(fx.akte.id).expect("lists").len(), 1, "filed once");
    assert!(fx.repo.klaerfaelle(true, 10).expect("lists").is_empty(), "and not parked");
}

#[test]
fn an_akte_closed_between_decision_and_commit_parks_the_piece_in_a_klaerfall_naming_it() {
    let fx = Fixture::new();
    let reader = reader(FakeOcrEngine::reading(TEXT));
    let parts = PieceParts::new(0, plain_code(&fx.akte));
    let piece = parts.to_file(&fx.batch, &reader);
    let (rendered, decision) = render_and_decide(&fx, &piece);
    let Decision::File { evidence, .. } = &decision else { panic!("routed to the open Akte: {decision:?}") };
    let evidence = evidence.clone();
    fx.records.close_akte("clerk", &AkteRef::Id(fx.akte.id), "erledigt").expect("closes");

    // The commit step alone refuses for good: the decision cannot be committed however often it is tried.
    let input = commit_input(&fx, &piece, &rendered);
    let stored = store_blobs(&input, &decision).expect("blobs stored");
    let refused = commit(&input, &stored, &decision).expect_err("the Akte is closed");
    assert!(matches!(&refused, FilingError::AkteClosed(az) if *az == fx.akte.aktenzeichen), "{refused:?}");
    assert!(!refused.is_retryable());
    assert_eq!(fx.repo.piece(fx.batch.id, 0).expect("reads"), None, "nothing committed");

    // Filing turns it into a Klärfall that names the Akte, with the decision's evidence and a preview.
    let record = commit_or_park(&input, decision).expect("parked");
    let PieceDestination::Klaerfall { klaerfall_id, reason, detail } = &record.destination else {
        panic!("not parked: {:?}", record.destination)
    };
    assert_eq!(*reason, KlaerfallReason::AkteClosed);
    assert_eq!(*detail, format!("Akte {} was closed while the piece was processed", fx.akte.aktenzeichen));
    assert_eq!(record.evidence, evidence);
    let klaerfall = fx.repo.klaerfall(*klaerfall_id).expect("opened");
    assert_eq!(klaerfall.candidates, vec![fx.akte.aktenzeichen.clone()]);
    assert_eq!(klaerfall.evidence, evidence);
    assert_eq!(klaerfall.excerpt, TEXT);
    assert_eq!(klaerfall.previews.len(), 1);
    let preview = klaerfall.previews[0].blob_hash().expect("a hash");
    let png = fx.store.blobs().get(&preview).expect("the preview is stored");
    assert_eq!(image::load_from_memory(&png).expect("a PNG").to_luma8().dimensions(), (180, 240));
    assert_eq!(fx.repo.piece(fx.batch.id, 0).expect("reads"), Some(record));
    assert!(fx.records.dokumente(fx.akte.id).expect("lists").is_empty());
}

#[test]
fn a_page_that_could_not_be_read_sends_the_piece_to_a_klaerfall_without_routing() {
    let fx = Fixture::new();
    let reader = reader(FakeOcrEngine::failing("tessdata missing"));
    let parts = PieceParts::new(0, plain_code(&fx.akte));
    let piece = parts.to_file(&fx.batch, &reader);
    let (rendered, decision) = render_and_decide(&fx, &piece);
    assert_eq!(rendered.ocr_failures, ["page 1: OCR failed: OCR failed: tessdata missing"]);
    let Decision::Klaerfall { reason, detail, .. } = &decision else { panic!("not routed: {decision:?}") };
    assert_eq!(
        (*reason, detail.as_str()),
        (KlaerfallReason::ProcessingFailed, "page 1: OCR failed: OCR failed: tessdata missing")
    );
    let record = commit_or_park(&commit_input(&fx, &piece, &rendered), decision).expect("parked");
    assert!(matches!(
        record.destination,
        PieceDestination::Klaerfall { reason: KlaerfallReason::ProcessingFailed, .. }
    ));
    assert_eq!(record.protocol.qc, "page 1: OCR failed: OCR failed: tessdata missing");
    assert!(fx.records.dokumente(fx.akte.id).expect("lists").is_empty());
}

#[test]
fn records_errors_are_sorted_into_retryable_and_permanent() {
    let closed = FilingError::from(RecordsError::AkteClosed("32.10.05-1/2026".to_string()));
    assert!(matches!(closed, FilingError::AkteClosed(_)) && !closed.is_retryable());
    let raced = FilingError::from(RecordsError::Contention("Akte 32.10.05-1/2026".to_string()));
    assert!(matches!(raced, FilingError::Contention(_)) && raced.is_retryable());
    // The message stays what the records layer said.
    assert_eq!(raced.to_string(), RecordsError::Contention("Akte 32.10.05-1/2026".to_string()).to_string());
    let unreadable =
        FilingError::from(RecordsError::Undecodable { key: "akte/1".into(), reason: "bad".into() });
    assert!(matches!(unreadable, FilingError::Records(_)) && !unreadable.is_retryable());
}
