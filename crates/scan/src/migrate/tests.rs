//! Migration tests: every image format round-trips through the gate with sources generated here;
//! the gate itself fails tampered outputs (changed pixels, a changed JPEG byte, a missing page, a
//! broken PDF/A rule); damaged sources are `Corrupt`; PDFs and animations are refused precisely.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage};
use lopdf::{Document, Object, Stream, dictionary};

use super::*;
use crate::decode::{self, Limits};
use crate::identify::{Format, identify};
use registratur_testkit::{TiffCompression, TiffOptions, TiffPage};

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

/// A TIFF of `pages` stored as `compression` with `rows_per_strip` and the predictor or not.
fn tiff_with(
    pages: &[TiffPage<'_>],
    compression: TiffCompression,
    rows_per_strip: Option<u32>,
    predictor: bool,
) -> Vec<u8> {
    registratur_testkit::write_tiff_with(pages, 300.0, TiffOptions { compression, rows_per_strip, predictor })
        .unwrap()
}

/// Every output page, decoded by the PDF reader independently of the gate, equals its source page.
fn assert_pixels_equal(source: &[u8], pdf: &[u8]) {
    let (source, output) = (decoded_pages(source), decoded_pages(pdf));
    assert_eq!(source.len(), output.len());
    for (index, (source, output)) in source.iter().zip(&output).enumerate() {
        assert_eq!(
            std::mem::discriminant(&source.raster),
            std::mem::discriminant(&output.raster),
            "page {index} keeps its colour model"
        );
        assert_eq!(
            (source.raster.width(), source.raster.height()),
            (output.raster.width(), output.raster.height())
        );
        assert_eq!(max_difference(&source.raster, &output.raster), 0, "page {index}");
    }
}

#[test]
fn multi_strip_tiffs_of_every_codec_are_pixel_identical() {
    let grey = [gray(60, 80, 0), gray(60, 80, 99), gray(31, 17, 5)];
    let colour = [rgb(50, 40), rgb(23, 19)];
    let grey: Vec<TiffPage<'_>> = grey.iter().map(TiffPage::Gray).collect();
    let colour: Vec<TiffPage<'_>> = colour.iter().map(TiffPage::Rgb).collect();
    for compression in [
        TiffCompression::DeflateFast,
        TiffCompression::Deflate,
        TiffCompression::Lzw,
        TiffCompression::PackBits,
        TiffCompression::None,
    ] {
        for predictor in [false, true] {
            for pages in [&grey, &colour] {
                // 7 rows per strip: several strips per page, and a short last one.
                let tiff = tiff_with(pages, compression, Some(7), predictor);
                let migrated = migrate_ok(&tiff, pages.len() as u32);
                assert_eq!(
                    methods(&migrated),
                    vec![CheckMethod::PixelIdentical; pages.len()],
                    "{compression:?}, predictor {predictor}"
                );
                assert!(migrated.validation.pages.iter().all(|page| page.max_channel_difference == 0));
                assert_pixels_equal(&tiff, &migrated.pdf);
            }
        }
    }
}

#[test]
fn single_strip_deflate_tiffs_keep_their_zlib_streams() {
    let grey = [gray(60, 80, 0), gray(31, 17, 5)];
    let colour = [rgb(50, 40)];
    let grey: Vec<TiffPage<'_>> = grey.iter().map(TiffPage::Gray).collect();
    let colour: Vec<TiffPage<'_>> = colour.iter().map(TiffPage::Rgb).collect();
    for predictor in [false, true] {
        for pages in [&grey, &colour] {
            let tiff = tiff_with(pages, TiffCompression::Deflate, None, predictor);
            let source = decoded_pages(&tiff);
            let Some(EmbeddedImage::Flate { bytes, predictor: p, components, .. }) = &source[0].embedded
            else {
                panic!("a single-strip 8-bit deflate page carries its zlib stream")
            };
            assert_eq!(*p, if predictor { 2 } else { 1 });
            assert_eq!(*components, if matches!(pages[0], TiffPage::Gray(_)) { 1 } else { 3 });
            // The stream is the TIFF's strip, byte for byte.
            assert!(tiff.windows(bytes.len()).any(|window| window == bytes.as_slice()));
            let migrated = migrate_ok(&tiff, pages.len() as u32);
            assert_eq!(methods(&migrated), vec![CheckMethod::FlateStreamIdentical; pages.len()]);
            assert!(migrated.pdf.windows(bytes.len()).any(|window| window == bytes.as_slice()));
            // What a PDF reader inflates (with /Predictor 2 undone) is the source's pixels.
            assert_pixels_equal(&tiff, &migrated.pdf);

            // A changed byte in the embedded stream fails the gate.
            let at = migrated.pdf.windows(bytes.len()).position(|window| window == bytes.as_slice()).unwrap();
            let mut tampered = migrated.pdf.clone();
            tampered[at + bytes.len() / 2] ^= 0x10;
            let validation = validate(&source, &tampered, &Limits::default());
            assert!(!validation.passed());
            assert!(
                validation.findings()[0].contains("flate-stream-identical"),
                "{:?}",
                validation.findings()
            );
        }
    }
    // Parameters that describe other pixels fail it too: the predictor dropped, the width changed.
    let tiff = tiff_with(&grey, TiffCompression::Deflate, None, true);
    let source = decoded_pages(&tiff);
    let migrated = migrate_ok(&tiff, 2);
    let without_predictor = replace_first(&migrated.pdf, b"/Predictor 2", b"/Predictor 1");
    let validation = validate(&source, &without_predictor, &Limits::default());
    assert!(!validation.passed());
    assert_eq!(validation.pages[0].method, CheckMethod::FlateStreamIdentical);
}

#[test]
fn a_truncated_deflate_strip_is_corrupt() {
    let page = gray(60, 80, 3);
    let tiff = tiff_with(&[TiffPage::Gray(&page)], TiffCompression::Deflate, None, false);
    let source = decoded_pages(&tiff);
    let Some(EmbeddedImage::Flate { bytes, .. }) = &source[0].embedded else { panic!("single strip") };
    // Cut the zlib stream short inside the file (the strip byte count stays): damaged data.
    let at = tiff.windows(bytes.len()).position(|window| window == bytes.as_slice()).unwrap();
    let mut damaged = tiff.clone();
    damaged[at + bytes.len() / 2..at + bytes.len()].fill(0);
    let error = migrate(&damaged, Format::TIFF, Target::PdfA2b, &Limits::default(), &info()).unwrap_err();
    assert!(matches!(error, MigrateError::Corrupt(_)), "{error}");
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
    let pages: Vec<TiffPage<'_>> = pages.iter().map(TiffPage::Gray).collect();
    // Several strips per page, so the output is re-encoded and compared pixel by pixel.
    let tiff = tiff_with(&pages, TiffCompression::Deflate, Some(16), false);
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

/// A one-page TIFF of `C` samples (uncompressed), written by the `tiff` crate.
fn tiff_of<C: ::tiff::encoder::colortype::ColorType>(width: u32, height: u32, data: &[C::Inner]) -> Vec<u8>
where
    [C::Inner]: ::tiff::encoder::TiffValue,
{
    let mut bytes = Cursor::new(Vec::new());
    let mut encoder = ::tiff::encoder::TiffEncoder::new(&mut bytes).unwrap();
    encoder.write_image::<C>(width, height, data).unwrap();
    bytes.into_inner()
}

/// A one-page PNG of raw `data` in the given colour type and depth.
fn png_of(width: u32, height: u32, colour: ::png::ColorType, depth: ::png::BitDepth, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(colour);
    encoder.set_depth(depth);
    if colour == ::png::ColorType::Indexed {
        encoder.set_palette(vec![0u8, 0, 0, 200, 30, 10, 5, 90, 250, 255, 255, 255]);
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    bytes
}

/// The samples the output holds for page `index`, as the PDF reader inflates them.
fn output_samples(pdf: &[u8], index: u32) -> EmbeddedImage {
    decode::open(pdf, &Limits::default(), DEFAULT_DPI).unwrap().page_samples(index).expect("plain samples")
}

#[test]
fn sixteen_bit_sources_keep_every_bit() {
    let (width, height) = (23u32, 15u32);
    // Low bytes that differ from the high bytes: reducing to 8 bits would lose them.
    let grey16: Vec<u16> = (0..width * height).map(|i| (i * 2477 % 65536) as u16).collect();
    let rgb16: Vec<u16> = (0..width * height * 3).map(|i| (i * 7919 % 65536) as u16).collect();
    let be = |samples: &[u16]| samples.iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
    let sources = [
        (tiff_of::<::tiff::encoder::colortype::Gray16>(width, height, &grey16), be(&grey16), 1),
        (tiff_of::<::tiff::encoder::colortype::RGB16>(width, height, &rgb16), be(&rgb16), 3),
        (
            png_of(width, height, ::png::ColorType::Grayscale, ::png::BitDepth::Sixteen, &be(&grey16)),
            be(&grey16),
            1,
        ),
        (png_of(width, height, ::png::ColorType::Rgb, ::png::BitDepth::Sixteen, &be(&rgb16)), be(&rgb16), 3),
    ];
    for (source, expected, expected_components) in &sources {
        let migrated = migrate_ok(source, 1);
        assert_eq!(methods(&migrated), vec![CheckMethod::SamplesIdentical]);
        let EmbeddedImage::Samples { colour, alpha, bits, components, .. } = output_samples(&migrated.pdf, 0)
        else {
            panic!("samples")
        };
        assert_eq!((bits, components, alpha), (16, *expected_components, None));
        assert_eq!(&colour, expected, "every 16-bit sample is in the PDF");

        // One source sample off by one in its low byte: the gate sees it.
        let mut pages = decoded_pages(source);
        let Some(EmbeddedImage::Samples { colour, .. }) = &mut pages[0].embedded else { panic!("exact") };
        colour[1] ^= 1;
        let validation = validate(&pages, &migrated.pdf, &Limits::default());
        assert!(!validation.passed());
        assert!(validation.findings()[0].contains("samples-identical"), "{:?}", validation.findings());
        assert_eq!(validation.pages[0].max_channel_difference, 1);
    }
}

#[test]
fn transparency_is_kept_as_a_soft_mask() {
    let (width, height) = (19u32, 15u32);
    let rgba: Vec<u8> =
        (0..width * height).flat_map(|i| [(i * 5) as u8, 40, 200, (i * 37 % 256) as u8]).collect();
    let grey_alpha: Vec<u8> =
        (0..width * height).flat_map(|i| [(i * 3) as u8, if i % 3 == 0 { 0 } else { 255 }]).collect();
    let sources = [
        (png_of(width, height, ::png::ColorType::Rgba, ::png::BitDepth::Eight, &rgba), 3u8),
        (png_of(width, height, ::png::ColorType::GrayscaleAlpha, ::png::BitDepth::Eight, &grey_alpha), 1),
        (tiff_of::<::tiff::encoder::colortype::RGBA8>(width, height, &rgba), 3),
    ];
    for (source, expected_components) in &sources {
        let migrated = migrate_ok(source, 1);
        assert_eq!(methods(&migrated), vec![CheckMethod::SamplesIdentical]);
        let EmbeddedImage::Samples { colour, alpha: Some(alpha), components, bits: 8, .. } =
            output_samples(&migrated.pdf, 0)
        else {
            panic!("an 8-bit image with a soft mask")
        };
        assert_eq!(components, *expected_components);
        let channels = usize::from(components) + 1;
        let source_samples = if channels == 4 { &rgba } else { &grey_alpha };
        let expected_alpha: Vec<u8> =
            source_samples.chunks_exact(channels).map(|p| p[channels - 1]).collect();
        let expected_colour: Vec<u8> =
            source_samples.chunks_exact(channels).flat_map(|p| p[..channels - 1].to_vec()).collect();
        assert_eq!((colour, alpha), (expected_colour, expected_alpha));
        assert!(contains(&migrated.pdf, b"/SMask"));
    }
    // An alpha channel that is opaque everywhere changes nothing: the page is plain RGB.
    let opaque: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let migrated =
        migrate_ok(&png_of(width, height, ::png::ColorType::Rgba, ::png::BitDepth::Eight, &opaque), 1);
    assert_eq!(methods(&migrated), vec![CheckMethod::PixelIdentical]);
    assert!(!contains(&migrated.pdf, b"/SMask"));
}

#[test]
fn palettes_and_one_bit_pages_are_pixel_identical() {
    let indices: Vec<u8> = (0..16 * 14).map(|i| (i % 4) as u8).collect();
    let palette = png_of(16, 14, ::png::ColorType::Indexed, ::png::BitDepth::Eight, &indices);
    let migrated = migrate_ok(&palette, 1);
    assert_eq!(methods(&migrated), vec![CheckMethod::PixelIdentical]);
    assert_pixels_equal(&palette, &migrated.pdf);

    // 1-bit grey that is not G4: packed into a 1-bit Flate image, every pixel kept.
    // 17 × 15 pixels, rows of 3 bytes.
    let packed: Vec<u8> = (0..15)
        .flat_map(|row| if row % 2 == 0 { [0b1010_1010, 0xFF, 0x80] } else { [0b0111_0000, 0, 0] })
        .collect();
    let one_bit = png_of(17, 15, ::png::ColorType::Grayscale, ::png::BitDepth::One, &packed);
    let migrated = migrate_ok(&one_bit, 1);
    assert_eq!(methods(&migrated), vec![CheckMethod::PixelIdentical]);
    assert!(matches!(decoded_pages(&migrated.pdf)[0].raster, Raster::Bilevel(_)));
    assert_pixels_equal(&one_bit, &migrated.pdf);
}

#[test]
fn cmyk_and_extra_channels_need_a_human() {
    let cmyk: Vec<u8> = (0..8 * 3 * 4).map(|i| (i * 11 % 256) as u8).collect();
    let tiff = tiff_of::<::tiff::encoder::colortype::CMYK8>(8, 3, &cmyk);
    for error in [
        migrate(&tiff, identify(&tiff), Target::PdfA2b, &Limits::default(), &info()).unwrap_err(),
        preflight(&tiff, identify(&tiff), Target::PdfA2b, &Limits::default()).unwrap_err(),
    ] {
        match error {
            MigrateError::NeedsHuman { reason } => {
                assert!(reason.starts_with("page 1: the image is CMYK"), "{reason}");
                assert!(reason.contains("colour profile"), "{reason}");
                assert!(!reason.contains("  "), "no runs of spaces: {reason:?}");
            }
            other => panic!("expected NeedsHuman, got {other}"),
        }
    }
    // A CMYK JPEG (the decoder marks it with four components) is refused the same way.
    let page = Page {
        raster: Raster::Rgb(rgb(4, 4)),
        dpi: DEFAULT_DPI,
        embedded: Some(EmbeddedImage::Jpeg {
            bytes: vec![0xFF, 0xD8],
            width: 4,
            height: 4,
            components: 4,
            adobe_inverted: true,
            origin: crate::page::JpegOrigin::Source,
        }),
    };
    assert!(not_representable(&page).is_some_and(|reason| reason.contains("CMYK")));
    // Grey with two extra channels that are not alpha.
    let page = Page {
        raster: Raster::Gray(gray(4, 4, 0)),
        dpi: DEFAULT_DPI,
        embedded: Some(EmbeddedImage::Samples {
            colour: vec![0; 4 * 4 * 3],
            alpha: None,
            width: 4,
            height: 4,
            components: 3 + 2,
            bits: 8,
            premultiplied: false,
        }),
    };
    let reason = not_representable(&page).expect("five channels need a human");
    assert!(reason.contains("5 samples per pixel") && !reason.contains("  "), "{reason:?}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// A JPEG-in-TIFF of `pages` in strips of `rows_per_strip` rows, tables shared in JPEGTables.
fn jpeg_tiff(pages: &[TiffPage<'_>], rows_per_strip: u32) -> Vec<u8> {
    let options = registratur_testkit::JpegTiffOptions { quality: 85, rows_per_strip, shared_tables: true };
    registratur_testkit::write_jpeg_tiff(pages, 300.0, options).unwrap()
}

/// A page with scanner-like texture, which compresses as a scan does rather than as a flat pattern.
fn textured(width: u32, height: u32, seed: u32) -> GrayImage {
    let mut state = 0x2545_f491_u32 ^ seed;
    GrayImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let ink = if (x / 9 + y / 23) % 5 == 0 && y % 23 > 8 { 60 } else { 235 };
        Luma([ink - (state % 24) as u8])
    })
}

#[test]
fn many_strip_jpeg_tiffs_migrate_to_joined_jpeg_images_as_small_as_their_source() {
    let grey = [textured(400, 300, 1), textured(123, 77, 2)];
    let colour = [rgb(200, 96)];
    let grey: Vec<TiffPage<'_>> = grey.iter().map(TiffPage::Gray).collect();
    let colour: Vec<TiffPage<'_>> = colour.iter().map(TiffPage::Rgb).collect();
    for pages in [&grey, &colour] {
        let tiff = jpeg_tiff(pages, 16);
        let migrated = migrate_ok(&tiff, pages.len() as u32);
        assert_eq!(methods(&migrated), vec![CheckMethod::JoinedJpegPixelIdentical; pages.len()]);
        assert_pixels_equal(&tiff, &migrated.pdf);
        let pdf = Document::load_mem(&migrated.pdf).unwrap();
        let filters = pdf
            .objects
            .values()
            .filter_map(|object| object.as_stream().ok())
            .filter(|stream| {
                stream.dict.get(b"Subtype").is_ok_and(|s| s.as_name().is_ok_and(|n| n == b"Image"))
            })
            .map(|stream| stream.dict.get(b"Filter").unwrap().as_name().unwrap().to_vec())
            .collect::<Vec<_>>();
        assert_eq!(filters, vec![b"DCTDecode".to_vec(); pages.len()]);
        // The source's JPEG data plus the PDF/A container (ICC profile, XMP, page objects).
        let without_container = migrated.pdf.len().saturating_sub(tiff.len());
        assert!(
            without_container < 12_000,
            "the PDF is {} bytes, the TIFF {}",
            migrated.pdf.len(),
            tiff.len()
        );
        // The same pages decoded and stored losslessly, as before, take several times the space.
        let mut decoded = decoded_pages(&tiff);
        decoded.iter_mut().for_each(|page| page.embedded = None);
        let rendition: Vec<RenditionPage<'_>> = decoded
            .iter()
            .map(|page| RenditionPage { page, turns: QuarterTurns::NONE, words: &[] })
            .collect();
        let flate = pdfa::write_pdfa(&rendition, &info()).unwrap();
        assert!(
            flate.len() > migrated.pdf.len() * 2,
            "Flate {} vs joined {}",
            flate.len(),
            migrated.pdf.len()
        );
    }
}

#[test]
fn jpeg_tiffs_whose_strips_cannot_be_joined_are_stored_losslessly_and_pass_the_gate() {
    let grey = [textured(64, 60, 3)];
    let grey: Vec<TiffPage<'_>> = grey.iter().map(TiffPage::Gray).collect();
    // 12-row strips end inside the second of two 8-row MCU rows.
    let tiff = jpeg_tiff(&grey, 12);
    let migrated = migrate_ok(&tiff, 1);
    assert_eq!(methods(&migrated), vec![CheckMethod::PixelIdentical]);
    assert!(contains(&migrated.pdf, b"/FlateDecode") && !contains(&migrated.pdf, b"/DCTDecode"));
    assert_pixels_equal(&tiff, &migrated.pdf);
}

#[test]
fn a_truncated_jpeg_strip_is_corrupt_and_the_gate_refuses_a_joined_page_with_other_pixels() {
    let pages = [textured(64, 48, 4), textured(64, 48, 5)];
    let kit: Vec<TiffPage<'_>> = pages.iter().map(TiffPage::Gray).collect();
    let tiff = jpeg_tiff(&kit[..1], 16);
    // Strip 2 loses its end (its EOI, the only 0xFF 0xD9 in it: image data stuffs every 0xFF).
    let mut damaged = tiff.clone();
    let ends: Vec<usize> =
        damaged.windows(2).enumerate().filter(|(_, w)| *w == [0xFF, 0xD9]).map(|(at, _)| at).collect();
    damaged[ends[1]..ends[1] + 2].copy_from_slice(&[0, 0]);
    for error in [
        migrate(&damaged, identify(&damaged), Target::PdfA2b, &Limits::default(), &info()).unwrap_err(),
        preflight(&damaged, identify(&damaged), Target::PdfA2b, &Limits::default()).unwrap_err(),
    ] {
        match error {
            MigrateError::Corrupt(DecodeError::Corrupt(message)) => {
                assert!(message.contains("strip 2") && message.contains("truncated"), "{message}")
            }
            other => panic!("expected Corrupt, got {other}"),
        }
    }
    // The gate decodes the output's JPEG: a joined page of other content fails it.
    let migrated = migrate_ok(&tiff, 1);
    let other = decoded_pages(&jpeg_tiff(&kit[1..], 16));
    assert!(matches!(other[0].embedded, Some(EmbeddedImage::Jpeg { .. })));
    let validation = validate(&other, &migrated.pdf, &Limits::default());
    assert!(!validation.passed());
    assert_eq!(validation.pages[0].method, CheckMethod::JoinedJpegPixelIdentical);
    assert!(validation.pages[0].max_channel_difference > 0);
}
