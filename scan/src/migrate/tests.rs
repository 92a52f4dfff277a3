//! Migration tests: every image format round-trips through the gate with sources generated here;
//! the gate itself fails tampered outputs (changed pixels, a changed JPEG byte, a missing page, a
//! broken PDF/A rule); damaged sources are `Corrupt`; PDFs and animations are refused precisely.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage};
use lopdf::{Document, Object, Stream, dictionary};

use super::*;
use crate::decode::{self, Limits};
use crate::identify::{Format, identify};

fn info() -> DocumentInfo {
    DocumentInfo {
        title: "Migration".into(),
        author: None,
        creator_tool: "registratur test".into(),
        created_unix_seconds: 1_714_557_600,
        document_id: [3; 16],
    }
}

fn gray(width: u32, height: u32, seed: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| Luma([((x * 7 + y * 13 + seed) % 256) as u8]))
}

fn rgb(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| Rgb([(x * 5) as u8, (y * 3) as u8, ((x + y) * 2) as u8]))
}

fn bilevel(width: u32, height: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| Luma([if (x / 3 + y / 5) % 2 == 0 { 0 } else { 255 }]))
}

fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// Migrates `bytes` as identified by content, and checks the common promises of a good output.
fn migrate_ok(bytes: &[u8], pages: u32) -> Migrated {
    let format = identify(bytes);
    let migrated = migrate(bytes, format, Target::PdfA2b, &Limits::default(), &info())
        .unwrap_or_else(|error| panic!("{format} migrates: {error}"));
    assert_eq!(migrated.pages, pages);
    assert!(migrated.validation.passed(), "{:?}", migrated.validation.findings());
    assert!(migrated.validation.findings().is_empty());
    assert_eq!(migrated.validation.source_pages, pages);
    assert_eq!(migrated.validation.output_pages, pages);
    assert_eq!(migrated.validation.pages.len(), pages as usize);
    assert_eq!(identify(&migrated.pdf), Format::PDFA_2B);
    migrated
}

fn methods(migrated: &Migrated) -> Vec<CheckMethod> {
    migrated.validation.pages.iter().map(|page| page.method).collect()
}

fn decoded_pages(bytes: &[u8]) -> Vec<Page> {
    let opened = decode::open(bytes, &Limits::default(), DEFAULT_DPI).unwrap();
    (0..opened.page_count()).map(|index| opened.page(index).unwrap()).collect()
}

#[test]
fn multi_page_grey_tiff_is_pixel_identical() {
    let pages = [gray(60, 80, 0), gray(60, 80, 99), gray(31, 17, 5)];
    let tiff = registratur_testkit::write_tiff(&pages, 300.0).unwrap();
    let migrated = migrate_ok(&tiff, 3);
    assert_eq!(methods(&migrated), vec![CheckMethod::PixelIdentical; 3]);
    assert!(migrated.validation.pages.iter().all(|page| page.max_channel_difference == 0));
}

#[test]
fn g4_tiff_keeps_its_streams_and_pixels() {
    let pages = [bilevel(200, 120), bilevel(64, 64)];
    let tiff = registratur_testkit::write_g4_tiff(&pages, 300.0).unwrap();
    let source = decoded_pages(&tiff);
    assert!(matches!(source[0].embedded, Some(EmbeddedImage::CcittG4 { .. })), "the fixture is G4");
    let migrated = migrate_ok(&tiff, 2);
    assert_eq!(methods(&migrated), vec![CheckMethod::CcittStreamIdentical; 2]);
    // The pixels the output shows are the source's (independently of the gate).
    let output = decoded_pages(&migrated.pdf);
    for (source, output) in source.iter().zip(&output) {
        assert_eq!(max_difference(&source.raster, &output.raster), 0);
    }
    // A flipped bit in the embedded stream fails the gate.
    let Some(EmbeddedImage::CcittG4 { bytes, .. }) = &source[0].embedded else { panic!("G4") };
    let at = migrated.pdf.windows(bytes.len()).position(|window| window == bytes.as_slice()).unwrap();
    let mut tampered = migrated.pdf.clone();
    tampered[at + bytes.len() / 2] ^= 0x10;
    let validation = validate(&source, &tampered, &Limits::default());
    assert!(!validation.passed());
    assert!(validation.findings()[0].contains("ccitt-stream-identical"), "{:?}", validation.findings());
    // The G4 strip is in the PDF unchanged.
    let Some(EmbeddedImage::CcittG4 { bytes, .. }) = &source[1].embedded else { panic!("G4") };
    assert!(migrated.pdf.windows(bytes.len()).any(|window| window == bytes.as_slice()));
}

#[test]
fn jpeg_stream_is_embedded_byte_identical() {
    for image in [DynamicImage::ImageLuma8(gray(64, 48, 1)), DynamicImage::ImageRgb8(rgb(64, 48))] {
        let jpeg = encoded(image, ImageFormat::Jpeg);
        let migrated = migrate_ok(&jpeg, 1);
        assert_eq!(methods(&migrated), vec![CheckMethod::JpegStreamIdentical]);
        assert!(migrated.pdf.windows(jpeg.len()).any(|window| window == jpeg.as_slice()));
    }
}

#[test]
fn png_gif_and_bmp_are_pixel_identical() {
    let samples = [
        encoded(DynamicImage::ImageRgb8(rgb(40, 30)), ImageFormat::Png),
        encoded(DynamicImage::ImageLuma8(gray(40, 30, 7)), ImageFormat::Png),
        encoded(
            DynamicImage::ImageRgba8(DynamicImage::ImageLuma8(gray(40, 30, 3)).to_rgba8()),
            ImageFormat::Gif,
        ),
        encoded(DynamicImage::ImageRgb8(rgb(33, 17)), ImageFormat::Bmp),
        encoded(DynamicImage::ImageLuma8(bilevel(33, 17)), ImageFormat::Bmp),
    ];
    for sample in &samples {
        let migrated = migrate_ok(sample, 1);
        assert_eq!(methods(&migrated), vec![CheckMethod::PixelIdentical]);
    }
}

#[test]
fn the_gate_fails_changed_pixels_missing_pages_and_broken_rules() {
    let pages = [gray(60, 80, 0), gray(60, 80, 50)];
    let tiff = registratur_testkit::write_tiff(&pages, 300.0).unwrap();
    let migrated = migrate_ok(&tiff, 2);
    let mut source = decoded_pages(&tiff);
    assert!(validate(&source, &migrated.pdf, &Limits::default()).passed());

    // One source pixel off by 3: the output no longer matches.
    if let Raster::Gray(image) = &mut source[1].raster {
        let Luma([value]) = *image.get_pixel(10, 10);
        image.put_pixel(10, 10, Luma([value.wrapping_add(3)]));
    }
    let validation = validate(&source, &migrated.pdf, &Limits::default());
    assert!(!validation.passed());
    assert_eq!(validation.pages[1].max_channel_difference, 3);
    assert!(validation.pages[0].passed());
    assert!(validation.findings().iter().any(|finding| finding.starts_with("page 2 (pixel-identical)")));

    // A source page the output lacks.
    source[1] = source[0].clone();
    source.push(source[0].clone());
    let validation = validate(&source, &migrated.pdf, &Limits::default());
    assert!(!validation.passed());
    assert!(validation.findings().iter().any(|finding| finding.contains("3 pages but the output has 2")));

    // A PDF/A rule broken in the output (same length, so the file stays parseable).
    let source = decoded_pages(&tiff);
    let tampered = replace_first(&migrated.pdf, b"/Interpolate false", b"/Interpolate true ");
    let validation = validate(&source, &tampered, &Limits::default());
    assert!(!validation.passed());
    assert!(validation.pdfa.violates("6.2.8"));

    // Garbage instead of a PDF.
    let validation = validate(&source, b"not a pdf", &Limits::default());
    assert!(!validation.passed());
    assert!(validation.unreadable.is_some());
}

#[test]
fn the_gate_fails_a_changed_jpeg_byte() {
    let jpeg = encoded(DynamicImage::ImageLuma8(gray(64, 48, 9)), ImageFormat::Jpeg);
    let migrated = migrate_ok(&jpeg, 1);
    let source = decoded_pages(&jpeg);
    // Flip a byte in the entropy-coded data of the embedded stream (before its EOI marker).
    let at = migrated.pdf.windows(jpeg.len()).position(|window| window == jpeg.as_slice()).unwrap();
    let mut tampered = migrated.pdf.clone();
    tampered[at + jpeg.len() - 10] ^= 0x01;
    let validation = validate(&source, &tampered, &Limits::default());
    assert!(!validation.passed());
    assert_eq!(validation.pages[0].method, CheckMethod::JpegStreamIdentical);
    assert!(validation.findings()[0].contains("JPEG stream differs"), "{:?}", validation.findings());
}

#[test]
fn damaged_sources_are_corrupt() {
    let tiff = registratur_testkit::write_tiff(&[gray(60, 80, 0)], 300.0).unwrap();
    let truncated = &tiff[..tiff.len() / 2];
    let error = migrate(truncated, Format::TIFF, Target::PdfA2b, &Limits::default(), &info()).unwrap_err();
    assert!(matches!(error, MigrateError::Corrupt(_)), "{error}");

    let jpeg = encoded(DynamicImage::ImageLuma8(gray(64, 48, 1)), ImageFormat::Jpeg);
    let error =
        migrate(&jpeg[..200], identify(&jpeg), Target::PdfA2b, &Limits::default(), &info()).unwrap_err();
    assert!(matches!(error, MigrateError::Corrupt(_)), "{error}");

    let bomb = Limits { max_pixels_per_page: 100, ..Limits::default() };
    let error = migrate(&tiff, Format::TIFF, Target::PdfA2b, &bomb, &info()).unwrap_err();
    assert!(matches!(error, MigrateError::Corrupt(DecodeError::TooLarge(_))), "{error}");

    // The identification says TIFF, the bytes are a PNG.
    let png = encoded(DynamicImage::ImageLuma8(gray(8, 8, 0)), ImageFormat::Png);
    let error = migrate(&png, Format::TIFF, Target::PdfA2b, &Limits::default(), &info()).unwrap_err();
    assert!(matches!(error, MigrateError::FormatMismatch { .. }), "{error}");
    assert!(error.to_string().contains("Portable Network Graphics"));
}

/// A one-page PDF drawing text in Helvetica, optionally with the font embedded (a dummy font file is
/// enough for the check) and optionally encrypted.
fn text_pdf(embedded: bool, encrypt: bool) -> Vec<u8> {
    let mut document = Document::with_version("1.4");
    let pages_id = document.new_object_id();
    let mut font = dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" };
    if embedded {
        let file = document.add_object(Stream::new(dictionary! {}, b"font program".to_vec()));
        let descriptor = document.add_object(dictionary! { "Type" => "FontDescriptor", "FontFile" => file });
        font.set("FontDescriptor", descriptor);
    }
    let font_id = document.add_object(font);
    let content_id = document.add_object(Stream::new(dictionary! {}, b"BT /F1 12 Tf (Hallo) Tj ET".to_vec()));
    let page_id = document.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
    );
    let catalog_id = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    document.trailer.set("Root", catalog_id);
    if encrypt {
        let encrypt_id = document.add_object(dictionary! {
            "Filter" => "Standard", "V" => 1, "R" => 2, "Length" => 40, "P" => -4,
            "O" => Object::string_literal(vec![0u8; 32]), "U" => Object::string_literal(vec![0u8; 32]),
        });
        document.trailer.set("Encrypt", encrypt_id);
    }
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap();
    bytes
}

#[test]
fn pdfs_animations_and_other_formats_are_refused_precisely() {
    let migrate_default = |bytes: &[u8]| {
        migrate(bytes, identify(bytes), Target::PdfA2b, &Limits::default(), &info()).unwrap_err()
    };
    assert!(matches!(migrate_default(&text_pdf(false, true)), MigrateError::Encrypted));
    match migrate_default(&text_pdf(false, false)) {
        MigrateError::NeedsHuman { reason } => assert!(reason.contains("Helvetica"), "{reason}"),
        other => panic!("expected NeedsHuman, got {other}"),
    }
    let embedded = text_pdf(true, false);
    assert_eq!(identify(&embedded).family(), crate::identify::Family::Pdf);
    // A PDF whose fonts are embedded is normalised; its pages render exactly as the source's.
    let migrated =
        migrate(&embedded, identify(&embedded), Target::PdfA2b, &Limits::default(), &info()).unwrap();
    assert_eq!(identify(&migrated.pdf), Format::PDFA_2B);
    assert_eq!(migrated.pages, 1);
    assert!(migrated.validation.passed());
    assert!(migrated.validation.pages.iter().all(|p| p.method == CheckMethod::RenderedIdentical));
    assert!(migrated.changes.iter().any(|c| c.contains("XMP")), "{:?}", migrated.changes);
    assert_eq!(preflight(&embedded, identify(&embedded), Target::PdfA2b, &Limits::default()).unwrap(), 1);
    let pdfa = migrate_ok(&encoded(DynamicImage::ImageLuma8(gray(40, 40, 0)), ImageFormat::Png), 1).pdf;
    assert!(matches!(migrate_default(&pdfa), MigrateError::Unsupported { puid } if puid == "fmt/477"));
    assert!(matches!(migrate_default(b"plain text\n"), MigrateError::Unsupported { .. }));
    assert!(matches!(migrate_default(b"\0\x01garbage"), MigrateError::Unsupported { .. }));

    let mut animation = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut animation);
        for shade in [0u8, 255] {
            let frame = image::RgbaImage::from_pixel(8, 8, image::Rgba([shade, shade, shade, 255]));
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    match migrate_default(&animation) {
        MigrateError::NeedsHuman { reason } => assert!(reason.contains("2 frames"), "{reason}"),
        other => panic!("expected NeedsHuman, got {other}"),
    }
}

#[test]
fn parameters_name_the_target_and_the_gate() {
    let parameters = parameters(Target::PdfA2b);
    assert!(parameters.starts_with("target=pdfa-2b;"));
    assert!(parameters.contains("tolerance 0"));
    assert_eq!(Target::PdfA2b.format(), Format::PDFA_2B);
    assert!(MIGRATE_TOOL_VERSION.starts_with(env!("CARGO_PKG_VERSION")));
}

fn replace_first(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|window| window == from).expect("present");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}
