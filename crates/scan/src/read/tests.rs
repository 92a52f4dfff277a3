//! The reading strategy against scripted engines: which pictures OCR is asked to read, turned how, at
//! which resolution, and which reading is kept.

use std::sync::Mutex;

use image::{GrayImage, Luma};
use registratur_testkit::{LetterSpec, Routing, render_letter};

use super::*;
use crate::ocr::{FakeOcrEngine, Orientation};
use crate::page::Raster;

/// The fake engine's text, with a confidence a test chooses per picture, and every picture it was
/// asked to read (with the resolution it was told).
struct Scripted {
    fake: FakeOcrEngine,
    confidence: fn(&GrayImage) -> f32,
    orientation: Result<Orientation, &'static str>,
    read: Mutex<Vec<(GrayImage, Dpi)>>,
}

impl Scripted {
    fn new(confidence: fn(&GrayImage) -> f32, orientation: Result<Orientation, &'static str>) -> Scripted {
        Scripted {
            fake: FakeOcrEngine::reading("Sehr geehrte Damen und Herren"),
            confidence,
            orientation,
            read: Mutex::default(),
        }
    }

    fn pictures(&self) -> Vec<(GrayImage, Dpi)> {
        self.read.lock().expect("not poisoned").clone()
    }
}

impl OcrEngine for Scripted {
    fn recognize(&self, page: &GrayImage, dpi: Dpi) -> Result<OcrPage, OcrError> {
        self.read.lock().expect("not poisoned").push((page.clone(), dpi));
        let mut read = self.fake.recognize(page, dpi)?;
        read.mean_confidence = (self.confidence)(page);
        Ok(read)
    }

    fn detect_orientation(&self, _page: &GrayImage, _dpi: Dpi) -> Result<Orientation, OcrError> {
        self.orientation.map_err(|message| OcrError::Recognition(message.to_string()))
    }

    fn describe(&self) -> String {
        "scripted 1".to_string()
    }
}

/// Reads portrait pictures well and landscape ones badly, as tesseract does a page lying on its side.
fn portrait_reads_well(page: &GrayImage) -> f32 {
    if page.height() > page.width() { 90.0 } else { 30.0 }
}

/// A landscape picture of a portrait page lying on its side: 300 × 200 pixels, a dark text block.
fn page_on_its_side() -> Page {
    let mut gray = GrayImage::from_pixel(300, 200, Luma([255]));
    for y in 40..160 {
        for x in 30..120 {
            gray.put_pixel(x, y, Luma([0]));
        }
    }
    Page { raster: Raster::Gray(gray), dpi: Dpi { x: 300.0, y: 150.0 }, embedded: None }
}

fn reader(engine: &Arc<Scripted>) -> LocalPageReader {
    LocalPageReader::new(engine.clone(), ReadSettings::default())
}

fn to_read(page: &Page) -> PageToRead<'_> {
    PageToRead { page, dpi: page.dpi, code_regions: &[] }
}

#[test]
fn a_confident_first_reading_is_kept_without_orientation_detection() {
    let engine = Arc::new(Scripted::new(|_| 90.0, Err("must not be asked")));
    let page = page_on_its_side();
    let read = reader(&engine).read(to_read(&page));
    assert_eq!(read.turns, QuarterTurns::NONE);
    assert_eq!(read.ocr.expect("read").mean_confidence, 90.0);
    let pictures = engine.pictures();
    assert_eq!(pictures.len(), 1, "read once");
    assert_eq!(pictures[0].0.dimensions(), (300, 200), "as scanned");
}

#[test]
fn a_poor_reading_asks_orientation_and_keeps_the_better_second_reading_turned_with_its_resolution() {
    let turned = Orientation { turns: QuarterTurns::new(1), confidence: 20.0 };
    let engine = Arc::new(Scripted::new(portrait_reads_well, Ok(turned)));
    let page = page_on_its_side();
    let read = reader(&engine).read(to_read(&page));
    assert_eq!(read.turns, QuarterTurns::new(1));
    assert_eq!(read.ocr.expect("read").mean_confidence, 90.0);
    let pictures = engine.pictures();
    assert_eq!(pictures.len(), 2, "read as scanned, then turned");
    assert_eq!(pictures[1].0.dimensions(), (200, 300), "turned by a quarter");
    // A quarter turn swaps the horizontal and vertical resolution.
    assert_eq!(pictures[1].1, Dpi { x: 150.0, y: 300.0 });
    // Turned clockwise: the text block at the left of the scan is at the top of the upright page.
    assert_eq!(pictures[1].0.get_pixel(100, 50).0[0], 0);
    assert_eq!(pictures[1].0.get_pixel(100, 250).0[0], 255);
}

#[test]
fn a_worse_second_reading_keeps_the_first_and_its_turn() {
    let turned = Orientation { turns: QuarterTurns::new(1), confidence: 20.0 };
    // The scan reads better as it is: the landscape picture is the good one here.
    let engine =
        Arc::new(Scripted::new(|page| if page.width() > page.height() { 60.0 } else { 40.0 }, Ok(turned)));
    let page = page_on_its_side();
    let read = reader(&engine).read(to_read(&page));
    assert_eq!(read.turns, QuarterTurns::NONE);
    assert_eq!(read.ocr.expect("read").mean_confidence, 60.0);
    assert_eq!(engine.pictures().len(), 2);
}

#[test]
fn an_unsure_or_failed_orientation_detection_leaves_the_page_as_scanned_and_read_once() {
    let unsure = Orientation { turns: QuarterTurns::new(3), confidence: 2.0 };
    for orientation in [Ok(unsure), Err("osd data missing")] {
        let engine = Arc::new(Scripted::new(portrait_reads_well, orientation));
        let page = page_on_its_side();
        let read = reader(&engine).read(to_read(&page));
        assert_eq!(read.turns, QuarterTurns::NONE, "{orientation:?}");
        assert_eq!(read.ocr.expect("read").mean_confidence, 30.0, "the only reading is kept");
        assert_eq!(engine.pictures().len(), 1, "{orientation:?}: not read a second time");
    }
}

#[test]
fn a_failed_reading_is_the_pages_error_with_the_engines_message() {
    let engine = Arc::new(FakeOcrEngine::failing("scanner on fire"));
    let reader = LocalPageReader::new(engine.clone(), ReadSettings::default());
    let page = page_on_its_side();
    let read = reader.read(to_read(&page));
    assert_eq!(read.turns, QuarterTurns::NONE);
    let error = read.ocr.expect_err("the engine fails");
    assert!(matches!(error, ReadError::Ocr(_)));
    assert_eq!(error.to_string(), "OCR failed: scanner on fire");
    assert_eq!(engine.recognize_calls(), 1);
    assert_eq!(reader.describe(), "fake-ocr 1");
}

#[test]
fn a_page_fed_upside_down_is_turned_before_it_is_read_once_with_its_codes_painted_out() {
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
    let scanned = image::imageops::rotate180(upright);
    let page = Page { raster: Raster::Gray(scanned.clone()), dpi: Dpi::uniform(DPI), embedded: None };
    let findings =
        crate::analyse::analyse_page(&scanned, page.dpi, crate::analyse::blank::DEFAULT_BLANK_THRESHOLD);
    let regions = findings.code_regions();
    assert!(!regions.is_empty(), "the test letter carries a code");

    let engine = Arc::new(Scripted::new(|_| 90.0, Err("must not be asked")));
    let read = reader(&engine).read(PageToRead { page: &page, dpi: page.dpi, code_regions: &regions });
    assert_eq!(read.turns, QuarterTurns::HALF);
    assert!(read.ocr.is_ok());
    let pictures = engine.pictures();
    assert_eq!(pictures.len(), 1, "one reading, of the page turned upright");
    let picture = &pictures[0].0;
    // Where the letter has its code (about 2 cm, 15 mm from the top, 20 mm from the right), the
    // picture OCR read is white, though the upright letter is black there.
    let mm = |v: f32| (v / 25.4 * DPI) as u32;
    let code = (mm(15.0)..mm(36.0))
        .flat_map(|y| (picture.width() - mm(41.0)..picture.width() - mm(20.0)).map(move |x| (x, y)));
    assert_eq!(code.clone().map(|(x, y)| picture.get_pixel(x, y).0[0]).min(), Some(255));
    assert_eq!(code.map(|(x, y)| upright.get_pixel(x, y).0[0]).min(), Some(0));
    // The page itself is not touched: the rendition is made from it as scanned.
    let Raster::Gray(kept) = &page.raster else { unreachable!("built grey above") };
    assert_eq!(kept.as_raw(), scanned.as_raw());
}

#[test]
fn turn_turns_clockwise_and_borrows_when_there_is_nothing_to_turn() {
    let mut gray = GrayImage::from_pixel(3, 2, Luma([255]));
    gray.put_pixel(0, 0, Luma([0]));
    assert!(matches!(turn(&gray, QuarterTurns::NONE), Cow::Borrowed(_)));
    let quarter = turn(&gray, QuarterTurns::new(1));
    assert_eq!(quarter.dimensions(), (2, 3));
    assert_eq!(quarter.get_pixel(1, 0).0[0], 0, "top left goes top right");
    assert_eq!(turn(&gray, QuarterTurns::HALF).get_pixel(2, 1).0[0], 0, "top left goes bottom right");
    assert_eq!(turn(&gray, QuarterTurns::new(3)).get_pixel(0, 2).0[0], 0, "top left goes bottom left");
}
