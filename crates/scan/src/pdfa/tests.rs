//! Writer tests: each rendition must pass our checker and `qpdf --check`, give its words back through
//! `pdftotext` at the right places, keep JPEG bytes and lossless pixels unchanged, and render upright.
//! The poppler and qpdf command-line tools are installed in CI.

use std::path::PathBuf;
use std::process::Command;

use image::{GrayImage, Luma, Rgb, RgbImage};
use lopdf::{Document, Object};

use super::{DocumentInfo, RenditionPage, check, write_pdfa};
use crate::ocr::OcrWord;
use crate::page::{Dpi, EmbeddedImage, Page, PixelRect, QuarterTurns, Raster};

const DPI: f32 = 100.0;
/// A4 at 100 dpi, small enough for fast tests and large enough for poppler's text grouping.
const WIDTH: u32 = 827;
const HEIGHT: u32 = 1169;

fn info() -> DocumentInfo {
    DocumentInfo {
        title: "Bescheid über Grundsteuer".into(),
        author: Some("Poststelle Kreis Müllheim".into()),
        creator_tool: "registratur test".into(),
        created_unix_seconds: 1_714_557_600,
        document_id: *b"0123456789abcdef",
    }
}

/// An upright white page with a black block in its top-left corner (the orientation mark) and a few
/// grey "text" bars where the words are.
fn upright_page(words: &[OcrWord]) -> GrayImage {
    let mut image = GrayImage::from_pixel(WIDTH, HEIGHT, Luma([255]));
    for y in 40..200 {
        for x in 40..300 {
            image.put_pixel(x, y, Luma([0]));
        }
    }
    for word in words {
        for y in word.bounds.y0 + 5..word.bounds.y1 - 5 {
            for x in word.bounds.x0..word.bounds.x1 {
                image.put_pixel(x, y, Luma([0]));
            }
        }
    }
    image
}

fn word(text: &str, line: u32, x0: u32, x1: u32) -> OcrWord {
    let y0 = 300 + line * 60;
    OcrWord { text: text.into(), bounds: PixelRect { x0, y0, x1, y1: y0 + 40 }, confidence: 90.0, line }
}

/// Two lines of German words with umlauts and ß.
fn german_words() -> Vec<OcrWord> {
    vec![
        word("Sehr", 0, 100, 180),
        word("geehrte", 0, 200, 340),
        word("Frau", 0, 360, 440),
        word("Müller,", 0, 460, 600),
        word("Straße", 1, 100, 240),
        word("Größe", 1, 260, 380),
        word("äöü", 1, 400, 470),
        word("ÄÖÜß", 1, 490, 600),
    ]
}

fn gray_page(raster: GrayImage) -> Page {
    Page { raster: Raster::Gray(raster), dpi: Dpi::uniform(DPI), embedded: None }
}

/// A temporary file path unique to this test.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("registratur-pdfa-{}-{name}", std::process::id()))
}

/// Writes the PDF, runs our checker and `qpdf --check`, and returns the path for further tools.
fn write_and_validate(
    name: &str,
    pages: &[RenditionPage<'_>],
    expected_conformance: &str,
) -> (Vec<u8>, PathBuf) {
    let pdf = write_pdfa(pages, &info()).expect("rendition is written");
    let report = check(&pdf);
    assert!(report.is_valid(), "{name}: checker found {:#?}", report.violations);
    assert_eq!(report.claimed_conformance.as_deref(), Some(expected_conformance));
    let path = temp_path(&format!("{name}.pdf"));
    std::fs::write(&path, &pdf).expect("temp file is written");
    let qpdf = Command::new("qpdf").arg("--check").arg(&path).output().expect("qpdf runs");
    assert!(qpdf.status.success(), "{name}: qpdf --check failed: {}", String::from_utf8_lossy(&qpdf.stdout));
    (pdf, path)
}

fn pdftotext(path: &PathBuf) -> String {
    let output = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("utf-8 text")
}

/// `pdftotext -bbox` words as (text, xMin, yMin, xMax, yMax) in points, origin top left.
fn pdftotext_boxes(path: &PathBuf) -> Vec<(String, f64, f64, f64, f64)> {
    let output = Command::new("pdftotext").arg("-bbox").arg(path).arg("-").output().expect("pdftotext runs");
    let html = String::from_utf8(output.stdout).expect("utf-8 html");
    let attribute = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).expect("attribute present") + name.len() + 2;
        let end = line[start..].find('"').expect("closing quote");
        line[start..start + end].parse().expect("number")
    };
    html.lines()
        .filter(|line| line.trim_start().starts_with("<word"))
        .map(|line| {
            let text_start = line.find('>').expect("tag end") + 1;
            let text_end = line.rfind("</word>").expect("word end");
            (
                line[text_start..text_end].to_string(),
                attribute(line, "xMin"),
                attribute(line, "yMin"),
                attribute(line, "xMax"),
                attribute(line, "yMax"),
            )
        })
        .collect()
}

/// Renders page 1 at 30 dpi in grey and returns it.
fn render(path: &PathBuf) -> GrayImage {
    let prefix = path.with_extension("render");
    let status = Command::new("pdftoppm")
        .args(["-r", "30", "-gray", "-singlefile", "-png"])
        .arg(path)
        .arg(&prefix)
        .status()
        .expect("pdftoppm runs");
    assert!(status.success());
    let png = PathBuf::from(format!("{}.png", prefix.display()));
    let image = image::open(&png).expect("rendered png opens").to_luma8();
    let _ = std::fs::remove_file(png);
    image
}

/// Mean grey of a region given as fractions of the page.
fn mean(image: &GrayImage, x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    let (w, h) = (f64::from(image.width()), f64::from(image.height()));
    let (mut sum, mut count) = (0.0, 0.0);
    for y in (y0 * h) as u32..(y1 * h) as u32 {
        for x in (x0 * w) as u32..(x1 * w) as u32 {
            sum += f64::from(image.get_pixel(x, y)[0]);
            count += 1.0;
        }
    }
    sum / count
}

/// The rendered page is upright: the mark is dark in the top-left corner and nowhere else.
fn assert_upright(path: &PathBuf) {
    let rendered = render(path);
    let mark = mean(&rendered, 0.07, 0.05, 0.3, 0.14);
    assert!(mark < 60.0, "top-left mark should be dark, mean {mark}");
    for (x0, y0) in [(0.7, 0.05), (0.07, 0.86), (0.7, 0.86)] {
        let corner = mean(&rendered, x0, y0, x0 + 0.23, y0 + 0.09);
        assert!(corner > 200.0, "corner at {x0},{y0} should be white, mean {corner}");
    }
}

/// The text comes back in reading order, words separated by single spaces.
fn assert_text(path: &PathBuf) {
    let text = pdftotext(path);
    assert!(text.contains("Sehr geehrte Frau Müller,"), "text was {text:?}");
    assert!(text.contains("Straße Größe äöü ÄÖÜß"), "text was {text:?}");
    let first = text.find("Sehr").expect("first line");
    let second = text.find("Straße").expect("second line");
    assert!(first < second);
}

/// Every word's extracted box matches its pixel box within 1.5 pt.
fn assert_boxes(path: &PathBuf, words: &[OcrWord]) {
    let boxes = pdftotext_boxes(path);
    let scale = 72.0 / f64::from(DPI);
    assert_eq!(boxes.len(), words.len(), "boxes were {boxes:?}");
    for (word, (text, x0, y0, x1, y1)) in words.iter().zip(&boxes) {
        assert_eq!(text, &word.text);
        let expected =
            [word.bounds.x0, word.bounds.y0, word.bounds.x1, word.bounds.y1].map(|v| f64::from(v) * scale);
        for (got, want) in [x0, y0, x1, y1].into_iter().zip(expected) {
            assert!((got - want).abs() < 1.5, "{text}: got {got}, want {want}");
        }
    }
}

/// The decoded samples of the document's only image.
fn image_stream(pdf: &[u8]) -> (lopdf::Dictionary, Vec<u8>, Vec<u8>) {
    let document = Document::load_mem(pdf).expect("lopdf loads the rendition");
    let stream = document
        .objects
        .values()
        .filter_map(|object| object.as_stream().ok())
        .find(|stream| {
            stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image".as_slice())
        })
        .expect("an image stream");
    let decoded =
        if stream.dict.get(b"Filter").and_then(Object::as_name).ok() == Some(b"FlateDecode".as_slice()) {
            stream.decompressed_content().expect("flate decodes")
        } else {
            Vec::new()
        };
    (stream.dict.clone(), stream.content.clone(), decoded)
}

#[test]
fn jpeg_page_with_words_is_2u_keeps_the_jpeg_bytes_and_returns_the_words() {
    let words = german_words();
    let upright = upright_page(&words);
    let rgb = image::DynamicImage::ImageLuma8(upright).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&rgb)
        .expect("jpeg encodes");
    let page = Page {
        raster: Raster::Rgb(rgb),
        dpi: Dpi::uniform(DPI),
        embedded: Some(EmbeddedImage::Jpeg {
            bytes: jpeg.clone(),
            width: WIDTH,
            height: HEIGHT,
            components: 3,
            adobe_inverted: false,
            origin: crate::page::JpegOrigin::Source,
        }),
    };
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &words }];
    let (pdf, path) = write_and_validate("jpeg", &pages, "U");
    let (dict, raw, _) = image_stream(&pdf);
    assert_eq!(raw, jpeg, "the JPEG is embedded byte for byte");
    assert_eq!(dict.get(b"Filter").and_then(Object::as_name).ok(), Some(b"DCTDecode".as_slice()));
    assert_eq!(dict.get(b"ColorSpace").and_then(Object::as_name).ok(), Some(b"DeviceRGB".as_slice()));
    assert_text(&path);
    assert_boxes(&path, &words);
    assert_upright(&path);
    assert_eq!(pdf, write_pdfa(&pages, &info()).expect("second write"), "output is deterministic");
    let _ = std::fs::remove_file(path);
}

#[test]
fn bilevel_page_without_words_is_2b_and_pixel_identical() {
    let upright = upright_page(&[]);
    let page = Page { raster: Raster::Bilevel(upright.clone()), dpi: Dpi::uniform(DPI), embedded: None };
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &[] }];
    let (pdf, path) = write_and_validate("bilevel", &pages, "B");
    let (dict, _, decoded) = image_stream(&pdf);
    assert_eq!(dict.get(b"BitsPerComponent").and_then(Object::as_i64).ok(), Some(1));
    let row_bytes = WIDTH.div_ceil(8) as usize;
    assert_eq!(decoded.len(), row_bytes * HEIGHT as usize);
    let unpacked = GrayImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let byte = decoded[y as usize * row_bytes + x as usize / 8];
        Luma([if byte & (0x80 >> (x % 8)) != 0 { 255 } else { 0 }])
    });
    assert_eq!(unpacked, upright, "bilevel pixels survive unchanged");
    assert!(!String::from_utf8_lossy(&pdf).contains("/Font"), "a 2b rendition carries no font");
    assert_upright(&path);
    let _ = std::fs::remove_file(path);
}

#[test]
fn gray_page_turned_half_renders_upright_with_words_in_place() {
    let words = german_words();
    let upright = upright_page(&words);
    let scanned = image::imageops::rotate180(&upright);
    let page = gray_page(scanned);
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::HALF, words: &words }];
    let (pdf, path) = write_and_validate("gray-half", &pages, "U");
    let (_, _, decoded) = image_stream(&pdf);
    assert_eq!(
        decoded,
        image::imageops::rotate180(&upright).into_raw(),
        "the scan is stored as scanned, losslessly"
    );
    assert_upright(&path);
    assert_text(&path);
    assert_boxes(&path, &words);
    let _ = std::fs::remove_file(path);
}

#[test]
fn quarter_turned_pages_render_upright_in_both_directions() {
    let words = german_words();
    let upright = upright_page(&words);
    // A page that needs one quarter turn clockwise was scanned turned counter-clockwise, and vice versa.
    for (turns, scanned) in
        [(1, image::imageops::rotate270(&upright)), (3, image::imageops::rotate90(&upright))]
    {
        let page = gray_page(scanned);
        let pages = [RenditionPage { page: &page, turns: QuarterTurns::new(turns), words: &words }];
        let (_, path) = write_and_validate(&format!("gray-quarter-{turns}"), &pages, "U");
        assert_upright(&path);
        assert_boxes(&path, &words);
        let _ = std::fs::remove_file(path);
    }
}

#[test]
fn rgb_page_is_stored_losslessly() {
    let rgb = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        if (40..300).contains(&x) && (40..200).contains(&y) {
            Rgb([0, 0, 0])
        } else {
            Rgb([255, (x % 7) as u8 + 248, 250])
        }
    });
    let page = Page { raster: Raster::Rgb(rgb.clone()), dpi: Dpi::uniform(DPI), embedded: None };
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &[] }];
    let (pdf, path) = write_and_validate("rgb", &pages, "B");
    let (dict, _, decoded) = image_stream(&pdf);
    assert_eq!(dict.get(b"ColorSpace").and_then(Object::as_name).ok(), Some(b"DeviceRGB".as_slice()));
    assert_eq!(decoded, rgb.into_raw());
    assert_upright(&path);
    let _ = std::fs::remove_file(path);
}

#[test]
fn ccitt_g4_page_is_embedded_as_is_and_renders_black_on_white() {
    let upright = upright_page(&[]);
    let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in upright.rows() {
        let pels = row.map(|pixel| if pixel[0] < 128 { fax::Color::Black } else { fax::Color::White });
        encoder.encode_line(pels, WIDTH as u16).expect("vec writer cannot fail");
    }
    let g4 = encoder.finish().expect("vec writer cannot fail").finish();
    let page = Page {
        raster: Raster::Bilevel(upright),
        dpi: Dpi::uniform(DPI),
        embedded: Some(EmbeddedImage::CcittG4 {
            bytes: g4.clone(),
            width: WIDTH,
            height: HEIGHT,
            black_is_1: false,
        }),
    };
    let words = [word("Aktenzeichen", 0, 100, 400)];
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &words }];
    let (pdf, path) = write_and_validate("ccitt", &pages, "U");
    let (dict, raw, _) = image_stream(&pdf);
    assert_eq!(raw, g4);
    assert_eq!(dict.get(b"Filter").and_then(Object::as_name).ok(), Some(b"CCITTFaxDecode".as_slice()));
    assert_upright(&path);
    assert!(pdftotext(&path).contains("Aktenzeichen"));
    let _ = std::fs::remove_file(path);
}

#[test]
fn several_pages_keep_their_order_and_sizes() {
    let words = german_words();
    let first = gray_page(upright_page(&words));
    let mut second = gray_page(upright_page(&[]));
    second.dpi = Dpi::uniform(200.0);
    let pages = [
        RenditionPage { page: &first, turns: QuarterTurns::NONE, words: &words },
        RenditionPage { page: &second, turns: QuarterTurns::NONE, words: &[] },
    ];
    let (pdf, path) = write_and_validate("two-pages", &pages, "U");
    let document = Document::load_mem(&pdf).expect("loads");
    let sizes: Vec<Vec<f32>> = document
        .get_pages()
        .values()
        .map(|&id| {
            let page = document.get_dictionary(id).expect("page dict");
            let media = page.get(b"MediaBox").and_then(Object::as_array).expect("media box");
            media.iter().map(|v| v.as_float().expect("number")).collect()
        })
        .collect();
    assert_eq!(sizes.len(), 2);
    assert!((sizes[0][2] - 595.44).abs() < 0.01 && (sizes[1][2] - 297.72).abs() < 0.01, "sizes {sizes:?}");
    let _ = std::fs::remove_file(path);
}

#[test]
fn bad_pages_are_precise_errors() {
    let info = info();
    assert!(matches!(write_pdfa(&[], &info), Err(super::PdfaError::NoPages)));
    let mut page = gray_page(GrayImage::new(100, 100));
    page.dpi = Dpi::uniform(0.0);
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &[] }];
    assert!(matches!(write_pdfa(&pages, &info), Err(super::PdfaError::InvalidDpi { page: 0, .. })));
    page.dpi = Dpi::uniform(DPI);
    page.embedded = Some(EmbeddedImage::Jpeg {
        bytes: vec![1],
        width: 99,
        height: 100,
        components: 1,
        adobe_inverted: false,
        origin: crate::page::JpegOrigin::Source,
    });
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &[] }];
    assert!(matches!(write_pdfa(&pages, &info), Err(super::PdfaError::EmbeddedSizeMismatch { page: 0, .. })));
    let tiny = gray_page(GrayImage::new(1, 1));
    let pages = [RenditionPage { page: &tiny, turns: QuarterTurns::NONE, words: &[] }];
    assert!(matches!(write_pdfa(&pages, &info), Err(super::PdfaError::PageSize { page: 0, .. })));
}

#[test]
fn cmyk_jpeg_falls_back_to_the_lossless_raster() {
    let rgb = RgbImage::from_pixel(200, 200, Rgb([10, 20, 30]));
    let page = Page {
        raster: Raster::Rgb(rgb.clone()),
        dpi: Dpi::uniform(DPI),
        embedded: Some(EmbeddedImage::Jpeg {
            bytes: vec![0xFF, 0xD8],
            width: 200,
            height: 200,
            components: 4,
            adobe_inverted: true,
            origin: crate::page::JpegOrigin::Source,
        }),
    };
    let pages = [RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &[] }];
    let pdf = write_pdfa(&pages, &info()).expect("written");
    assert!(check(&pdf).is_valid());
    let (dict, _, decoded) = image_stream(&pdf);
    assert_eq!(dict.get(b"ColorSpace").and_then(Object::as_name).ok(), Some(b"DeviceRGB".as_slice()));
    assert_eq!(decoded, rgb.into_raw());
}
