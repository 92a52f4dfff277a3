//! Identification tests: every format from a sample generated here (by the `image` and `tiff`
//! encoders, our PDF/A writer, lopdf, or by hand where an encoder cannot produce a version), plus
//! truncated and garbage inputs, which must never panic.

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma, RgbImage, RgbaImage};
use lopdf::{Document, Object, Stream, dictionary};

use super::{Family, Format, identify};
use crate::ocr::OcrWord;
use crate::page::{Dpi, Page, PixelRect, QuarterTurns, Raster};
use crate::pdfa::{DocumentInfo, RenditionPage, write_pdfa};

fn gray() -> GrayImage {
    GrayImage::from_fn(24, 16, |x, y| Luma([(x * 10 + y) as u8]))
}

fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

fn jpeg() -> Vec<u8> {
    encoded(DynamicImage::ImageLuma8(gray()), ImageFormat::Jpeg)
}

/// A JPEG whose first segment after SOI is `segment` (marker included), followed by the scan of an
/// encoded image (its own APP0 dropped).
fn jpeg_with_first_segment(segment: &[u8]) -> Vec<u8> {
    let original = jpeg();
    assert_eq!(&original[2..4], b"\xFF\xE0", "the encoder writes JFIF first");
    let app0_length = usize::from(u16::from_be_bytes([original[4], original[5]]));
    let mut bytes = b"\xFF\xD8".to_vec();
    bytes.extend_from_slice(segment);
    bytes.extend_from_slice(&original[4 + app0_length..]);
    bytes
}

fn jfif(major: u8, minor: u8) -> Vec<u8> {
    let mut segment = b"\xFF\xE0\x00\x10JFIF\x00".to_vec();
    segment.extend_from_slice(&[major, minor, 1, 0, 72, 0, 72, 0, 0]);
    jpeg_with_first_segment(&segment)
}

/// An APP1 Exif segment (big-endian TIFF) whose Exif sub-directory holds ExifVersion `version`.
fn exif(version: &[u8; 4]) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2A\x00\x00\x00\x08".to_vec();
    // IFD0 at 8: one entry, the Exif IFD pointer (LONG) to offset 26.
    tiff.extend_from_slice(&[0, 1, 0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    // Exif IFD at 26: one entry, ExifVersion (UNDEFINED, 4 bytes inline).
    tiff.extend_from_slice(&[0, 1, 0x90, 0x00, 0, 7, 0, 0, 0, 4]);
    tiff.extend_from_slice(version);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let mut segment = b"\xFF\xE1".to_vec();
    segment.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    jpeg_with_first_segment(&segment)
}

/// A PNG with an extra chunk of type `kind` before IDAT (the CRC is not checked by identification).
fn png_with_chunk(kind: &[u8; 4]) -> Vec<u8> {
    let png = encoded(DynamicImage::ImageLuma8(gray()), ImageFormat::Png);
    // Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC).
    let at = 8 + 25;
    let mut bytes = png[..at].to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 1]);
    bytes.extend_from_slice(kind);
    bytes.extend_from_slice(&[0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&png[at..]);
    bytes
}

/// A BMP with the info header size (and compression) patched, for versions the encoder does not write.
fn bmp_with_header(size: u32, compression: u32) -> Vec<u8> {
    let mut bytes = encoded(DynamicImage::ImageRgb8(RgbImage::new(4, 4)), ImageFormat::Bmp);
    bytes[14..18].copy_from_slice(&size.to_le_bytes());
    bytes[30..34].copy_from_slice(&compression.to_le_bytes());
    bytes
}

fn info() -> DocumentInfo {
    DocumentInfo {
        title: "Identifikation".into(),
        author: None,
        creator_tool: "registratur test".into(),
        created_unix_seconds: 1_714_557_600,
        document_id: [7; 16],
    }
}

fn pdfa(words: &[OcrWord]) -> Vec<u8> {
    let page = Page { raster: Raster::Gray(gray()), dpi: Dpi::uniform(72.0), embedded: None };
    write_pdfa(&[RenditionPage { page: &page, turns: QuarterTurns::NONE, words }], &info()).unwrap()
}

fn replace(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "same length keeps the xref valid");
    let at = bytes.windows(from.len()).position(|window| window == from.as_bytes()).expect("text present");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

/// A one-page PDF from lopdf with this header version, an optional catalog /Version, and optionally
/// an (unreadable) /Encrypt dictionary.
fn plain_pdf(version: &str, catalog_version: Option<&str>, encrypt: bool) -> Vec<u8> {
    let mut document = Document::with_version(version);
    let pages_id = document.new_object_id();
    let content_id = document.add_object(Stream::new(dictionary! {}, b"0 0 m 10 10 l S".to_vec()));
    let page_id = document.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 100.into(), 100.into()],
    });
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
    );
    let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => pages_id };
    if let Some(catalog_version) = catalog_version {
        catalog.set("Version", Object::Name(catalog_version.as_bytes().to_vec()));
    }
    let catalog_id = document.add_object(catalog);
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
    // lopdf may raise the header version for the features it writes; state the one under test.
    assert_eq!(&bytes[..5], b"%PDF-");
    bytes[5..8].copy_from_slice(version.as_bytes());
    bytes
}

#[test]
fn tiff_and_bigtiff() {
    let tiff = encoded(DynamicImage::ImageLuma8(gray()), ImageFormat::Tiff);
    assert_eq!(identify(&tiff), Format::TIFF);
    // The same header big-endian, pointing at a directory inside the file.
    let mut big_endian = b"MM\x00\x2A\x00\x00\x00\x08".to_vec();
    big_endian.extend_from_slice(&[0; 16]);
    assert_eq!(identify(&big_endian), Format::TIFF);
    let mut bigtiff = b"II\x2B\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00".to_vec();
    bigtiff.extend_from_slice(&[0; 16]);
    assert_eq!(identify(&bigtiff), Format::BIGTIFF);
    // A first directory past the end is a truncated TIFF: DROID identifies by the header, and the
    // decoder reports the damage.
    assert_eq!(identify(b"II\x2A\x00\xFF\x00\x00\x00"), Format::TIFF);
    let cut = &tiff[..tiff.len() / 2];
    assert_eq!(identify(cut), Format::TIFF, "a TIFF cut short");
    assert_eq!(identify(b"MM\x00\x2A\x00\x01\x00\x00"), Format::TIFF);
    assert_eq!(identify(b"II\x2B\x00\x08\x00\x00\x00\xFF\xFF\x00\x00\x00\x00\x00\x00"), Format::BIGTIFF);
    // Not TIFF headers: another version, BigTIFF with another offset size, too short to tell.
    assert!(identify(b"II\x2C\x00\x08\x00\x00\x00\x01").is_unknown());
    assert!(identify(b"II\x2B\x00\x04\x00\x00\x00\x10\x00\x00\x00").is_unknown());
}

#[test]
fn jpeg_jfif_versions_exif_versions_and_raw_streams() {
    assert_eq!(identify(&jfif(1, 0)), Format::JFIF_1_00);
    assert_eq!(identify(&jfif(1, 1)), Format::JFIF_1_01);
    assert_eq!(identify(&jfif(1, 2)), Format::JFIF_1_02);
    assert_eq!(identify(&jfif(2, 0)), Format::JPEG_RAW);
    assert_eq!(identify(&jpeg()).family(), Family::Jpeg);
    assert_eq!(identify(&exif(b"0200")), Format::EXIF_2_0);
    assert_eq!(identify(&exif(b"0210")), Format::EXIF_2_1);
    assert_eq!(identify(&exif(b"0220")), Format::EXIF_2_2);
    assert_eq!(identify(&exif(b"0221")), Format::EXIF_2_21);
    assert_eq!(identify(&exif(b"0232")), Format::EXIF_2_3);
    // A quantisation table straight after SOI: a JPEG stream without a file format wrapper.
    assert_eq!(identify(&jpeg_with_first_segment(b"\xFF\xFE\x00\x04hi")), Format::JPEG_RAW);
}

#[test]
fn png_versions_follow_the_chunks_used() {
    assert_eq!(identify(&encoded(DynamicImage::ImageLuma8(gray()), ImageFormat::Png)), Format::PNG_1_0);
    assert_eq!(identify(&png_with_chunk(b"sRGB")), Format::PNG_1_1);
    assert_eq!(identify(&png_with_chunk(b"iCCP")), Format::PNG_1_1);
    assert_eq!(identify(&png_with_chunk(b"iTXt")), Format::PNG_1_2);
}

#[test]
fn gif_versions() {
    let gif = encoded(DynamicImage::ImageRgba8(RgbaImage::new(3, 3)), ImageFormat::Gif);
    assert_eq!(identify(&gif), Format::GIF_89A);
    let mut old = gif.clone();
    old[..6].copy_from_slice(b"GIF87a");
    assert_eq!(identify(&old), Format::GIF_87A);
}

#[test]
fn bmp_versions_follow_the_info_header() {
    let encoded = encoded(DynamicImage::ImageRgb8(RgbImage::new(4, 4)), ImageFormat::Bmp);
    assert_eq!(identify(&encoded).family(), Family::Bmp);
    assert_eq!(identify(&bmp_with_header(12, 0)), Format::BMP_2_0);
    assert_eq!(identify(&bmp_with_header(40, 0)), Format::BMP_3_0);
    assert_eq!(identify(&bmp_with_header(40, 3)), Format::BMP_3_0_NT);
    assert_eq!(identify(&bmp_with_header(64, 0)), Format::OS2_BMP_2_0);
    assert_eq!(identify(&bmp_with_header(108, 0)), Format::BMP_4_0);
    assert_eq!(identify(&bmp_with_header(124, 0)), Format::BMP_5_0);
    assert_eq!(identify(b"BM is how this note starts"), Format::PLAIN_TEXT);
}

#[test]
fn pdf_versions_from_header_and_catalog() {
    let cases = [
        ("1.0", Format::PDF_1_0),
        ("1.1", Format::PDF_1_1),
        ("1.2", Format::PDF_1_2),
        ("1.3", Format::PDF_1_3),
        ("1.4", Format::PDF_1_4),
        ("1.5", Format::PDF_1_5),
        ("1.6", Format::PDF_1_6),
        ("1.7", Format::PDF_1_7),
        ("2.0", Format::PDF_2_0),
    ];
    for (version, expected) in cases {
        assert_eq!(identify(&plain_pdf(version, None, false)), expected, "PDF {version}");
    }
    // The catalog may raise the version the header states, never lower it.
    assert_eq!(identify(&plain_pdf("1.4", Some("1.7"), false)), Format::PDF_1_7);
    assert_eq!(identify(&plain_pdf("1.6", Some("1.3"), false)), Format::PDF_1_6);
    // An encrypted PDF is still identified (migration refuses it later).
    assert_eq!(identify(&plain_pdf("1.6", None, true)), Format::PDF_1_6);
    // Junk before the header, as some mail gateways add.
    let mut prefixed = b"X-Junk: yes\r\n".to_vec();
    prefixed.extend_from_slice(&plain_pdf("1.5", None, false));
    assert_eq!(identify(&prefixed), Format::PDF_1_5);
    assert!(identify(b"%PDF-9.9\n").is_unknown());
}

#[test]
fn pdfa_flavours_from_the_xmp_claim() {
    let b = pdfa(&[]);
    assert_eq!(identify(&b), Format::PDFA_2B);
    let word = OcrWord {
        text: "Bescheid".into(),
        bounds: PixelRect { x0: 2, y0: 2, x1: 20, y1: 10 },
        confidence: 90.0,
        line: 0,
    };
    assert_eq!(identify(&pdfa(std::slice::from_ref(&word))), Format::PDFA_2U);
    let claim = |part: &str, conformance: &str| {
        let bytes = replace(&b, "<pdfaid:part>2<", &format!("<pdfaid:part>{part}<"));
        identify(&replace(&bytes, "conformance>B<", &format!("conformance>{conformance}<")))
    };
    assert_eq!(claim("1", "A"), Format::PDFA_1A);
    assert_eq!(claim("1", "B"), Format::PDFA_1B);
    assert_eq!(claim("2", "A"), Format::PDFA_2A);
    assert_eq!(claim("3", "A"), Format::PDFA_3A);
    assert_eq!(claim("3", "B"), Format::PDFA_3B);
    assert_eq!(claim("3", "U"), Format::PDFA_3U);
    // A claim PRONOM has no record for falls back to the PDF version of the header.
    assert_eq!(claim("4", "B").family(), Family::Pdf);
}

#[test]
fn plain_text_and_unknown() {
    assert_eq!(
        identify("Sehr geehrte Frau Müller,\r\n\tanbei der Bescheid.\n".as_bytes()),
        Format::PLAIN_TEXT
    );
    assert_eq!(identify(b"Stra\xDFe 12\n"), Format::PLAIN_TEXT, "Latin-1 is text too");
    assert!(identify(b"").is_unknown());
    assert!(identify(b"PK\x03\x04\x14\x00\x00\x00").is_unknown());
    assert!(identify(b"h\0e\0l\0l\0o\0").is_unknown(), "UTF-16 is not plain text here");
    assert!(identify(&[0x00, 0x01, 0x02, 0xFF]).is_unknown());
}

#[test]
fn puids_round_trip_and_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for format in Format::ALL {
        if format.is_unknown() {
            assert_eq!(format.family(), Family::Unknown);
            continue;
        }
        assert!(seen.insert(format.puid), "{} listed twice", format.puid);
        assert_eq!(Format::by_puid(format.puid), Some(*format));
        assert_ne!(format.family(), Family::Unknown, "{format} has a family");
    }
    assert_eq!(Format::by_puid(""), None);
    assert_eq!(Format::by_puid("fmt/999999"), None);
    assert_eq!(Format::JFIF_1_01.to_string(), "JPEG File Interchange Format 1.01 (fmt/43)");
}

/// Every prefix of every sample, and every sample with bytes flipped, is identified without panicking.
#[test]
fn truncated_and_garbage_inputs_never_panic() {
    let samples = vec![
        encoded(DynamicImage::ImageLuma8(gray()), ImageFormat::Tiff),
        jfif(1, 1),
        exif(b"0221"),
        png_with_chunk(b"iTXt"),
        encoded(DynamicImage::ImageRgba8(RgbaImage::new(3, 3)), ImageFormat::Gif),
        bmp_with_header(124, 0),
        plain_pdf("1.7", Some("2.0"), false),
        pdfa(&[]),
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for sample in &samples {
        let full = identify(sample);
        assert!(!full.is_unknown(), "sample identifies");
        let step = (sample.len() / 200).max(1);
        for cut in (0..sample.len()).step_by(step) {
            let _ = identify(&sample[..cut]);
        }
        for _ in 0..50 {
            let mut damaged = sample.clone();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % damaged.len();
                damaged[at] = (state >> 32) as u8;
            }
            let _ = identify(&damaged);
        }
    }
    let _ = identify(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, b'E', b'x', b'i', b'f', 0, 0, b'M', b'M']);
    let _ = identify(b"\x89PNG\r\n\x1a\n\xFF\xFF\xFF\xFF");
}
