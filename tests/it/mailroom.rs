//! End to end through gRPC: a generated scan batch with separator sheets, blank backs, an upside-down
//! page, a QR routing code, a text-only Aktenzeichen, an unroutable and a forged piece; restarts in
//! the middle of processing; bad input per format.

use std::process::Command;

use registratur::grpc::client::{BatchEventReport, BatchFileSource, BatchReport, Client, PieceReport};
use registratur::records::aktenplan::Aktenplan;
use registratur::records::repo::AkteRef;
use registratur::service::NewBatch;
use registratur_testkit::{
    BatchOptions, JpegTiffOptions, LetterSpec, Routing, TiffPage, render_batch, write_jpeg_tiff, write_tiff,
};
use tonic::Code;

use super::support::{MAILROOM, TestServer};

/// Resolution of the generated batches: enough for tesseract, small enough for quick tests.
const DPI: f32 = 200.0;

fn header(batch: &str) -> NewBatch {
    NewBatch {
        scanner_batch_id: batch.into(),
        channel: "paper_scan".into(),
        posteingangsdatum: "2026-11-20".into(),
        operator: "Poststelle 1".into(),
        dpi: DPI as u32,
        colour_mode: "gray".into(),
        device: "test scanner".into(),
        duplex: true,
        expected_sheets: None,
        scanned_at: None,
    }
}

async fn akte_under(client: &mut Client, unit_prefix: &str, title: &str) -> (u64, String) {
    let plan = Aktenplan::example_kgst();
    let unit = plan.units().map(|u| u.key.to_string()).find(|k| k.starts_with(unit_prefix)).unwrap();
    let akte = client.create_akte(&unit, title, None, Some(2026)).await.unwrap();
    (akte.id, akte.aktenzeichen)
}

/// Ingests and waits for the summary; returns the final report.
async fn ingest_and_wait(client: &mut Client, batch: &str, files: Vec<BatchFileSource>) -> BatchReport {
    let receipt = client.ingest(header(batch), files).await.unwrap();
    let mut pieces = Vec::new();
    client
        .watch_batch(receipt.batch_id, |event| {
            if let BatchEventReport::Piece(piece) = event {
                pieces.push(piece.piece);
            }
        })
        .await
        .unwrap();
    let report = client.batch(receipt.batch_id).await.unwrap();
    assert_eq!(report.state, "done");
    let mut sorted = pieces.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), pieces.len(), "the watch reports each piece once: {pieces:?}");
    report
}

/// Piece `number` (1-based, as the client reports it) of a batch.
fn piece(report: &BatchReport, number: u32) -> &PieceReport {
    report
        .pieces
        .iter()
        .find(|p| p.piece == number)
        .unwrap_or_else(|| panic!("piece {number} in {report:#?}"))
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_batch_lands_where_each_piece_belongs() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let (qr_akte, qr_az) = akte_under(&mut admin, "32", "Antwort mit Routing-Code").await;
    let (_, text_az) = akte_under(&mut admin, "32", "Antwort mit Aktenzeichen im Text").await;
    let (other_akte, other_az) = akte_under(&mut admin, "32", "Für den Klärfall").await;
    let code = admin.issue_routing_code(&AkteRef::Id(qr_akte)).await.unwrap().payload;
    let forged = code.replace(&format!(":{qr_akte}:"), &format!(":{other_akte}:"));

    let letters = vec![
        LetterSpec { routing: Routing::Qr(code), pages: 2, upside_down: false, expect: qr_az.clone() },
        LetterSpec {
            routing: Routing::Text(text_az.clone()),
            pages: 1,
            upside_down: true,
            expect: text_az.clone(),
        },
        LetterSpec {
            routing: Routing::Nothing,
            pages: 1,
            upside_down: false,
            expect: "klaerfall:no_code".into(),
        },
        LetterSpec {
            routing: Routing::Qr(forged),
            pages: 1,
            upside_down: false,
            expect: "klaerfall:forged_code".into(),
        },
    ];
    let options = BatchOptions { dpi: DPI, seed: 7, ..BatchOptions::default() };
    let (pages, truth) = render_batch(&letters, &options).unwrap();
    let tiff = write_tiff(&pages, DPI).unwrap();

    let mut mailroom = server.client_as(MAILROOM).await;
    let report = ingest_and_wait(
        &mut mailroom,
        "stapel-1",
        vec![BatchFileSource { filename: "stapel-1.tiff".into(), bytes: tiff }],
    )
    .await;
    let summary = report.summary.clone().unwrap();
    assert_eq!(summary.pieces, 4, "{report:#?}");
    assert_eq!(summary.pages_fed, truth.pages_fed);
    assert_eq!(summary.blank_removed, truth.blank_pages, "{report:#?}");
    assert_eq!(summary.separator_sheets, truth.separator_sheets);
    assert_eq!(summary.pages_stored, 5);
    assert!(summary.invariant_holds);

    let first = piece(&report, 1);
    assert_eq!(
        (first.outcome.as_str(), first.aktenzeichen.as_str(), first.method.as_str()),
        ("filed", qr_az.as_str(), "routing_code"),
        "{first:#?}"
    );
    assert_eq!(first.pages.len(), 2);
    let second = piece(&report, 2);
    assert_eq!(
        (second.outcome.as_str(), second.aktenzeichen.as_str(), second.method.as_str()),
        ("filed", text_az.as_str(), "text"),
        "{second:#?}"
    );
    let third = piece(&report, 3);
    assert_eq!((third.outcome.as_str(), third.reason.as_str()), ("klaerfall", "no_code"), "{third:#?}");
    let fourth = piece(&report, 4);
    assert_eq!(
        (fourth.outcome.as_str(), fourth.reason.as_str()),
        ("klaerfall", "forged_code"),
        "{fourth:#?}"
    );

    // The filed piece's original is a valid PDF/A with a text layer that reads like the letter.
    let mut fv = server.client().await;
    let mut pdf = Vec::new();
    fv.read_content(first.dokument_id, None, None, &mut pdf).await.unwrap();
    let report_pdfa = registratur_scan::pdfa::check(&pdf);
    assert!(report_pdfa.is_valid(), "{report_pdfa:?}");
    let text = pdftotext(&pdf);
    assert!(text.contains("Sehr geehrte Damen und Herren"), "{text}");
    // The upside-down page was turned before OCR: its text reads.
    let mut upside = Vec::new();
    fv.read_content(second.dokument_id, None, Some("ocr-text"), &mut upside).await.unwrap();
    let upside = String::from_utf8(upside).unwrap();
    assert!(upside.contains("Ihr Zeichen"), "{upside}");
    // Filed pieces are searchable by their OCR text.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let greeting = registratur::search::SearchRequest {
        query: "\"Sehr geehrte Damen und Herren\"".into(),
        ..Default::default()
    };
    loop {
        let found = fv.search(&greeting).await.unwrap();
        if found.hits.iter().any(|hit| hit.dokument.dokument_id == first.dokument_id) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the filed piece did not become searchable: {found:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut turned = Vec::new();
    fv.read_content(second.dokument_id, None, Some("transfervermerk"), &mut turned).await.unwrap();
    let turned: serde_json::Value = serde_json::from_slice(&turned).unwrap();
    assert_eq!(turned["pages"][0]["turned_degrees"], 180, "{turned:#}");
    let mut protocol = Vec::new();
    fv.read_content(first.dokument_id, None, Some("transfervermerk"), &mut protocol).await.unwrap();
    let protocol: serde_json::Value = serde_json::from_slice(&protocol).unwrap();
    assert_eq!(protocol["pages_stored"], 2);
    assert_eq!(protocol["blank_pages"].as_array().unwrap().len(), 2, "{protocol:#}");

    // The Klärfall queue: list, preview, resolve; the journal names who decided.
    let open = mailroom.klaerfaelle(false).await.unwrap();
    assert_eq!(open.len(), 2);
    let klaerfall = open.iter().find(|k| k.reason == "no_code").unwrap();
    let preview = mailroom.klaerfall_preview(klaerfall.id, 1).await.unwrap();
    assert!(preview.png.starts_with(b"\x89PNG"));
    assert_eq!((preview.page, preview.pages), (1, 1));
    let first_page = mailroom.klaerfall_preview(klaerfall.id, 0).await.unwrap();
    assert_eq!(first_page.page, 1, "page 0 means the first page, and the answer says so");
    let err = mailroom.klaerfall_preview(klaerfall.id, 5).await.unwrap_err();
    assert!(err.to_string().contains("pages 1 to 1"), "{err}");
    let (resolved, dokument_id) = mailroom
        .resolve_klaerfall(klaerfall.id, &AkteRef::Aktenzeichen(other_az.clone()), "", "Absender erkannt")
        .await
        .unwrap();
    assert_eq!((resolved.state.as_str(), resolved.resolved_by.as_str()), ("resolved", "mailroom"));
    let history = fv.document_history(dokument_id).await.unwrap();
    assert!(history.iter().any(|h| h.actor == "mailroom"), "{history:?}");
    let again =
        mailroom.resolve_klaerfall(klaerfall.id, &AkteRef::Aktenzeichen(other_az), "", "").await.unwrap_err();
    assert!(again.to_string().contains("already resolved"), "{again}");
    assert_eq!(mailroom.klaerfaelle(false).await.unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jpeg_tiff_scan_in_many_strips_is_filed_as_one_jpeg_per_page() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let (_, az) = akte_under(&mut admin, "32", "Antwort auf einen JPEG-Scan").await;
    let letters = vec![LetterSpec {
        routing: Routing::Text(az.clone()),
        pages: 1,
        upside_down: false,
        expect: az.clone(),
    }];
    let options =
        BatchOptions { dpi: DPI, seed: 11, separators: false, duplex: false, ..BatchOptions::default() };
    let (pages, _) = render_batch(&letters, &options).unwrap();
    let pages: Vec<TiffPage<'_>> = pages.iter().map(TiffPage::Gray).collect();
    let options = JpegTiffOptions { quality: 85, rows_per_strip: 16, shared_tables: true };
    let tiff = write_jpeg_tiff(&pages, DPI, options).unwrap();
    let mut mailroom = server.client_as(MAILROOM).await;
    let files = vec![BatchFileSource { filename: "jpeg.tiff".into(), bytes: tiff.clone() }];
    let report = ingest_and_wait(&mut mailroom, "stapel-jpeg", files).await;
    let filed = piece(&report, 1);
    assert_eq!((filed.outcome.as_str(), filed.aktenzeichen.as_str()), ("filed", az.as_str()), "{filed:#?}");
    let mut pdf = Vec::new();
    server.client().await.read_content(filed.dokument_id, None, None, &mut pdf).await.unwrap();
    let checked = registratur_scan::pdfa::check(&pdf);
    assert!(checked.is_valid(), "{checked:?}");
    // The page image is one JPEG, about the source's size (the text layer and its font come on top),
    // and it decodes to the scan's pixels.
    assert!(pdf.len() < tiff.len() + 64 * 1024, "rendition {} bytes, scan {}", pdf.len(), tiff.len());
    assert!(pdftotext(&pdf).contains("Sehr geehrte Damen und Herren"));
    let limits = registratur_scan::decode::Limits::default();
    let dpi = registratur_scan::Dpi::uniform(DPI);
    let rendition = registratur_scan::decode::open(&pdf, &limits, dpi).unwrap();
    let jpeg = rendition.page_jpeg_stream(0).expect("the page image is the joined JPEG");
    let output = registratur_scan::decode::open(jpeg, &limits, dpi).unwrap().page(0).unwrap();
    let source = registratur_scan::decode::open(&tiff, &limits, dpi).unwrap().page(0).unwrap();
    match (&source.raster, &output.raster) {
        (registratur_scan::Raster::Gray(a), registratur_scan::Raster::Gray(b)) => {
            assert!(a == b, "the rendition's JPEG decodes to other pixels than the scan")
        }
        _ => panic!("grey pages expected"),
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_reported_and_the_rest_of_the_batch_is_processed() {
    let server = TestServer::start().await;
    let letters = vec![LetterSpec {
        routing: Routing::Nothing,
        pages: 1,
        upside_down: false,
        expect: "klaerfall:no_code".into(),
    }];
    let options = BatchOptions { dpi: 100.0, separators: false, duplex: false, ..BatchOptions::default() };
    let (pages, _) = render_batch(&letters, &options).unwrap();
    let good = write_tiff(&pages, 100.0).unwrap();
    let truncated = good[..good.len() / 3].to_vec();
    let files = vec![
        BatchFileSource { filename: "kaputt.tiff".into(), bytes: truncated },
        BatchFileSource { filename: "brief.tiff".into(), bytes: good },
        BatchFileSource { filename: "notiz.txt".into(), bytes: b"kein Scan".to_vec() },
        BatchFileSource { filename: "leer.pdf".into(), bytes: b"%PDF-1.4\n%%EOF\n".to_vec() },
        BatchFileSource { filename: "bombe.png".into(), bytes: png_claiming(100_000, 100_000) },
    ];
    let mut mailroom = server.client_as(MAILROOM).await;
    let report = ingest_and_wait(&mut mailroom, "stapel-bad", files).await;
    let summary = report.summary.unwrap();
    let errors: Vec<&str> = summary.files.iter().map(|f| f.3.as_str()).collect();
    assert!(
        !errors[0].is_empty() && errors[1].is_empty() && !errors[2].is_empty() && !errors[3].is_empty(),
        "{errors:?}"
    );
    assert!(errors[2].contains("unsupported"), "{errors:?}");
    assert!(errors[4].contains("100000"), "the bomb's error names its size: {errors:?}");
    assert_eq!(summary.pieces, 1);
    assert!(summary.invariant_holds);
    assert!(summary.qc.iter().any(|q| q.contains("kaputt.tiff")), "{:?}", summary.qc);
    server.stop().await;
}

/// A tiny PNG claiming `width` × `height` pixels: a decompression bomb's shape.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // A few bytes of deflate data stand in for the gigabytes the header promises.
    for chunk in [ihdr, b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01".to_vec(), b"IEND".to_vec()] {
        png.extend_from_slice(&(chunk.len() as u32 - 4).to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}

#[tokio::test]
async fn ingest_checks_the_header_and_the_role() {
    let server = TestServer::start().await;
    let mut mailroom = server.client_as(MAILROOM).await;
    let file = || vec![BatchFileSource { filename: "a.png".into(), bytes: vec![1, 2, 3] }];
    let mut bad = header("x");
    bad.posteingangsdatum = "20.11.2026".into();
    let err = mailroom.ingest(bad, file()).await.unwrap_err();
    assert!(err.to_string().contains("YYYY-MM-DD"), "{err}");
    let err = mailroom.ingest(header(""), file()).await.unwrap_err();
    assert!(err.to_string().contains("scanner batch id"), "{err}");
    let err = mailroom.ingest(header("x"), Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains("at least one file"), "{err}");
    let mut fv = server.client_as(super::support::FACHVERFAHREN).await;
    let err = fv.ingest(header("x"), file()).await.unwrap_err();
    assert!(
        matches!(err, registratur::grpc::client::ClientError::Rpc { code: Code::PermissionDenied, .. }),
        "{err}"
    );
    let err = mailroom.batch(999).await.unwrap_err();
    assert!(matches!(err, registratur::grpc::client::ClientError::Rpc { code: Code::NotFound, .. }), "{err}");
    server.stop().await;

    // The upload limit holds for the batch as a whole, not only per file.
    let limits = registratur::service::EngineLimits { max_upload_bytes: 1000, ..Default::default() };
    let server = TestServer::start_with(limits, None).await;
    let mut mailroom = server.client_as(MAILROOM).await;
    let two = vec![
        BatchFileSource { filename: "a.png".into(), bytes: vec![0; 600] },
        BatchFileSource { filename: "b.png".into(), bytes: vec![0; 600] },
    ];
    let err = mailroom.ingest(header("x"), two).await.unwrap_err();
    assert!(
        matches!(err, registratur::grpc::client::ClientError::Rpc { code: Code::ResourceExhausted, .. }),
        "{err}"
    );
    let err = mailroom.batch(1).await.unwrap_err();
    assert!(
        matches!(err, registratur::grpc::client::ClientError::Rpc { code: Code::NotFound, .. }),
        "no batch is recorded: {err}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailroom_queue_refuses_new_batches_before_storing_anything() {
    // No batch may wait: every delivery is refused, deterministically.
    let limits = registratur::service::EngineLimits { max_queued_batches: 0, ..Default::default() };
    let server = TestServer::start_with(limits, None).await;
    let mut mailroom = server.client_as(MAILROOM).await;
    let one = vec![BatchFileSource { filename: "a.png".into(), bytes: vec![0; 600] }];
    let err = mailroom.ingest(header("voll"), one).await.unwrap_err();
    match &err {
        registratur::grpc::client::ClientError::Rpc { code: Code::ResourceExhausted, message } => {
            assert!(message.contains("batches waiting") && message.contains("again"), "{message}");
        }
        other => panic!("expected RESOURCE_EXHAUSTED, got {other}"),
    }
    let status = server.client().await.status().await.unwrap();
    assert_eq!(status.blob_count, 0, "nothing of a refused batch is stored");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_processing_resumes_without_losing_or_duplicating_pieces() {
    let server = TestServer::start().await;
    let letters: Vec<LetterSpec> = (0..4)
        .map(|_| LetterSpec {
            routing: Routing::Nothing,
            pages: 1,
            upside_down: false,
            expect: "klaerfall:no_code".into(),
        })
        .collect();
    let options = BatchOptions { dpi: 100.0, duplex: false, ..BatchOptions::default() };
    let (pages, _) = render_batch(&letters, &options).unwrap();
    let tiff = write_tiff(&pages, 100.0).unwrap();
    let mut mailroom = server.client_as(MAILROOM).await;
    let mut batch = header("stapel-restart");
    batch.dpi = 100;
    let receipt = mailroom
        .ingest(batch, vec![BatchFileSource { filename: "s.tiff".into(), bytes: tiff }])
        .await
        .unwrap();
    // A client watching the batch must not keep the old server's store open.
    let mut watcher = server.client_as(MAILROOM).await;
    let watch = tokio::spawn(async move { watcher.watch_batch(receipt.batch_id, |_| {}).await });
    // Stop as soon as the batch is acknowledged: the worker is somewhere in the middle.
    let server = server.restart().await;
    // The old server's watch ends with an error or, if the batch finished first, normally.
    let _ = watch.await.unwrap();
    let mut mailroom = server.client_as(MAILROOM).await;
    mailroom.watch_batch(receipt.batch_id, |_| {}).await.unwrap();
    let report = mailroom.batch(receipt.batch_id).await.unwrap();
    let summary = report.summary.clone().unwrap();
    assert_eq!((summary.pieces, report.pieces.len()), (4, 4), "{report:#?}");
    let klaerfaelle = mailroom.klaerfaelle(true).await.unwrap();
    assert_eq!(klaerfaelle.len(), 4, "one Klärfall per piece, none twice: {klaerfaelle:#?}");
    let mut admin = server.client().await;
    let journal = admin.verify_journal().await.unwrap();
    assert!(journal.first_break.is_none(), "{journal:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_and_an_ihr_zeichen_naming_another_akte_file_by_the_code_and_record_the_conflict() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let (coded_akte, coded_az) = akte_under(&mut admin, "32", "Akte des Routing-Codes").await;
    let (_, quoted_az) = akte_under(&mut admin, "32", "Akte aus \"Ihr Zeichen\"").await;
    let code = admin.issue_routing_code(&AkteRef::Id(coded_akte)).await.unwrap().payload;
    let letters = vec![LetterSpec {
        routing: Routing::QrAndText(code, quoted_az.clone()),
        pages: 1,
        upside_down: false,
        expect: coded_az.clone(),
    }];
    let options =
        BatchOptions { dpi: DPI, seed: 11, separators: false, duplex: false, ..BatchOptions::default() };
    let (pages, _) = render_batch(&letters, &options).unwrap();
    let tiff = write_tiff(&pages, DPI).unwrap();
    let mut mailroom = server.client_as(MAILROOM).await;
    let report = ingest_and_wait(
        &mut mailroom,
        "stapel-konflikt",
        vec![BatchFileSource { filename: "k.tiff".into(), bytes: tiff }],
    )
    .await;
    let filed = piece(&report, 1);
    assert_eq!(
        (filed.outcome.as_str(), filed.aktenzeichen.as_str(), filed.method.as_str()),
        ("filed", coded_az.as_str(), "routing_code"),
        "the code decides: {filed:#?}"
    );
    let names_both = |note: &str| note.contains(&coded_az) && note.contains(&quoted_az);
    assert!(names_both(&filed.qc), "the piece's QC names the conflict: {filed:#?}");
    let summary = report.summary.clone().unwrap();
    assert!(
        summary.qc.iter().any(|note| note.starts_with("piece 1: ") && names_both(note)),
        "the batch's QC notes name the conflict: {:?}",
        summary.qc
    );
    let mut protocol = Vec::new();
    admin.read_content(filed.dokument_id, None, Some("transfervermerk"), &mut protocol).await.unwrap();
    let protocol: serde_json::Value = serde_json::from_slice(&protocol).unwrap();
    let conflicts = protocol["routing_conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{protocol:#}");
    assert!(names_both(conflicts[0].as_str().unwrap()), "{protocol:#}");
    assert!(names_both(protocol["qc"].as_str().unwrap()), "{protocol:#}");
    // A rendition the Version lacks: NOT_FOUND, naming the kinds it has.
    let missing = admin.read_content(filed.dokument_id, None, Some("pdfa"), Vec::new()).await.unwrap_err();
    assert!(
        matches!(&missing, registratur::grpc::client::ClientError::Rpc { code: Code::NotFound, message }
            if message.contains("one of the kinds it has: ocr-text, transfervermerk")),
        "{missing}"
    );
    server.stop().await;
}

/// A batch of one unroutable letter at a low resolution: one Klärfall, quickly.
fn one_unroutable_letter() -> Vec<BatchFileSource> {
    let letters = vec![LetterSpec {
        routing: Routing::Nothing,
        pages: 1,
        upside_down: false,
        expect: "klaerfall:no_code".into(),
    }];
    let options = BatchOptions { dpi: 100.0, separators: false, duplex: false, ..BatchOptions::default() };
    let (pages, _) = render_batch(&letters, &options).unwrap();
    vec![BatchFileSource { filename: "brief.tiff".into(), bytes: write_tiff(&pages, 100.0).unwrap() }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_klaerfall_resolution_is_traced_in_the_klaerfall_the_history_and_the_audit_export() {
    let server = TestServer::start().await;
    let mut admin = server.client().await;
    admin.import_aktenplan(Aktenplan::example_kgst().to_csv()).await.unwrap();
    let (akte_id, aktenzeichen) = akte_under(&mut admin, "32", "Ziel der Klärung").await;
    let mut mailroom = server.client_as(MAILROOM).await;
    let report = ingest_and_wait(&mut mailroom, "stapel-klaer", one_unroutable_letter()).await;
    let klaerfall_id = piece(&report, 1).klaerfall_id;
    assert_ne!(klaerfall_id, 0, "{report:#?}");

    // A note with a control character is refused like any record field; the case stays open.
    let refused = mailroom
        .resolve_klaerfall(klaerfall_id, &AkteRef::Id(akte_id), "", "Absender\0erkannt")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("note contains the control character U+0000"), "{refused}");
    assert_eq!(mailroom.klaerfall(klaerfall_id).await.unwrap().state, "open");

    let note = "Absender über Kundennummer erkannt";
    let (resolved, dokument_id) = mailroom
        .resolve_klaerfall(klaerfall_id, &AkteRef::Aktenzeichen(aktenzeichen.clone()), "", note)
        .await
        .unwrap();
    assert_eq!(resolved.resolved_note, note);
    let shown = mailroom.klaerfall(klaerfall_id).await.unwrap();
    assert_eq!(
        (
            shown.state.as_str(),
            shown.resolved_by.as_str(),
            shown.resolved_akte_id,
            shown.resolved_aktenzeichen.as_str(),
            shown.resolved_dokument_id,
            shown.resolved_note.as_str()
        ),
        ("resolved", "mailroom", akte_id, aktenzeichen.as_str(), dokument_id, note)
    );
    assert!(chrono::DateTime::parse_from_rfc3339(&shown.resolved_at).is_ok(), "{shown:#?}");
    assert_eq!(shown.piece, 1, "pieces are 1-based in the client's reports");

    // The journal entry that files the Dokument says who resolved which Klärfall, when, where, why.
    let check = |payload: &serde_json::Value| {
        let trace = &payload["klaerfall"];
        assert_eq!(trace["klaerfall_id"], klaerfall_id, "{payload:#}");
        assert_eq!(trace["batch_id"], report.batch_id, "{payload:#}");
        assert_eq!(trace["resolved_by"], "mailroom", "{payload:#}");
        assert_eq!(trace["akte_id"], akte_id, "{payload:#}");
        assert_eq!(trace["aktenzeichen"], aktenzeichen.as_str(), "{payload:#}");
        assert_eq!(trace["note"], note, "{payload:#}");
        let at = chrono::DateTime::parse_from_rfc3339(trace["resolved_at"].as_str().unwrap()).unwrap();
        let shown_at = chrono::DateTime::parse_from_rfc3339(&shown.resolved_at).unwrap();
        assert!((at - shown_at).num_milliseconds().abs() < 1000, "{payload:#} vs {}", shown.resolved_at);
    };
    let history = admin.document_history(dokument_id).await.unwrap();
    let filed = history.iter().find(|h| h.action == "dokument.add").unwrap_or_else(|| panic!("{history:?}"));
    assert_eq!(filed.actor, "mailroom");
    check(&serde_json::from_str(&filed.details).unwrap());
    let export: serde_json::Value =
        serde_json::from_str(&admin.export_document_history(dokument_id).await.unwrap()).unwrap();
    let entry = export["journal"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "dokument.add")
        .unwrap_or_else(|| panic!("{export:#}"));
    check(&serde_json::from_str(entry["payload"].as_str().unwrap()).unwrap());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_listed_a_page_at_a_time_by_state_and_posteingangsdatum() {
    let server = TestServer::start().await;
    let mut mailroom = server.client_as(MAILROOM).await;
    // Files no decoder accepts: each batch is done at once, with no piece.
    let mut ids = Vec::new();
    for (name, day) in [("a", "2026-11-18"), ("b", "2026-11-19"), ("c", "2026-11-20")] {
        let mut batch = header(name);
        batch.posteingangsdatum = day.into();
        let files = vec![BatchFileSource { filename: format!("{name}.txt"), bytes: b"kein Scan".to_vec() }];
        let receipt = mailroom.ingest(batch, files).await.unwrap();
        mailroom.watch_batch(receipt.batch_id, |_| {}).await.unwrap();
        ids.push(receipt.batch_id);
    }
    let query =
        |state: &str, from: &str, to: &str, after: u64, limit: u32| registratur::service::BatchQuery {
            state: state.into(),
            from: from.into(),
            to: to.into(),
            after,
            limit,
        };
    let (all, next) = mailroom.list_batches(query("", "", "", 0, 0)).await.unwrap();
    assert_eq!(all.iter().map(|b| b.batch_id).collect::<Vec<_>>(), ids);
    assert_eq!(next, 0, "one page holds them all");
    assert_eq!(
        (all[0].scanner_batch_id.as_str(), all[0].state.as_str(), all[0].posteingangsdatum.as_str()),
        ("a", "done", "2026-11-18")
    );
    assert_eq!((all[0].files, all[0].pieces_done, all[0].operator.as_str()), (1, 0, "Poststelle 1"));

    let (first, next) = mailroom.list_batches(query("", "", "", 0, 2)).await.unwrap();
    assert_eq!((first.len(), next), (2, ids[1]));
    let (rest, next) = mailroom.list_batches(query("", "", "", next, 2)).await.unwrap();
    assert_eq!((rest.iter().map(|b| b.batch_id).collect::<Vec<_>>(), next), (vec![ids[2]], 0));

    let (dated, _) = mailroom.list_batches(query("done", "2026-11-19", "2026-11-20", 0, 0)).await.unwrap();
    assert_eq!(dated.iter().map(|b| b.scanner_batch_id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    let (queued, _) = mailroom.list_batches(query("queued", "", "", 0, 0)).await.unwrap();
    assert!(queued.is_empty(), "{queued:?}");

    for (bad, expected) in [
        (query("fertig", "", "", 0, 0), "use queued, processing or done"),
        (query("", "20.11.2026", "", 0, 0), "YYYY-MM-DD"),
        (query("", "2026-11-20", "2026-11-18", 0, 0), "swap them"),
        (query("", "", "", 0, 5000), "is above 1000"),
    ] {
        let error = mailroom.list_batches(bad).await.unwrap_err();
        assert!(
            matches!(&error, registratur::grpc::client::ClientError::Rpc { code: Code::InvalidArgument, message }
                if message.contains(expected)),
            "{expected}: {error}"
        );
    }
    let mut fv = server.client_as(super::support::FACHVERFAHREN).await;
    let denied = fv.list_batches(query("", "", "", 0, 0)).await.unwrap_err();
    assert!(
        matches!(denied, registratur::grpc::client::ClientError::Rpc { code: Code::PermissionDenied, .. }),
        "{denied}"
    );
    server.stop().await;
}
