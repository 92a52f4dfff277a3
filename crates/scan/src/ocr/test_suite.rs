//! The contract every [`OcrEngine`] keeps, as one suite that each implementation's tests run against
//! themselves (tesseract and the fake alike), plus the German test letter they read.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{GrayImage, Luma};

use super::{OcrEngine, OcrPage};
use crate::page::{Dpi, PixelRect, QuarterTurns};

/// Runs every contract check. `page_with_text` must be an upright page that the engine reads some words
/// from.
pub fn run_all(engine: &dyn OcrEngine, page_with_text: &GrayImage, dpi: Dpi) {
    blank_page_reads_as_nothing(engine, dpi);
    empty_image_reads_as_nothing(engine, dpi);
    words_lie_on_the_page_in_line_order(engine, page_with_text, dpi);
    concurrent_calls_agree(engine, page_with_text, dpi);
    assert!(!engine.describe().trim().is_empty(), "describe() names the engine");
}

/// A blank page is no error: it has no text, no words and confidence 0, and no orientation.
pub fn blank_page_reads_as_nothing(engine: &dyn OcrEngine, dpi: Dpi) {
    let blank = GrayImage::from_pixel(1240, 1754, Luma([255]));
    let read = engine.recognize(&blank, dpi).expect("a blank page is no error");
    assert_eq!(read.text.trim(), "", "a blank page has no text");
    assert!(read.words.is_empty(), "a blank page has no words: {:?}", read.words);
    assert_eq!(read.mean_confidence, 0.0);
    let orientation = engine.detect_orientation(&blank, dpi).expect("a blank page is no error");
    assert_eq!(orientation.turns, QuarterTurns::NONE);
    assert_eq!(orientation.confidence, 0.0);
}

/// A zero-sized image is no error either.
pub fn empty_image_reads_as_nothing(engine: &dyn OcrEngine, dpi: Dpi) {
    let empty = GrayImage::new(0, 0);
    assert_eq!(engine.recognize(&empty, dpi).expect("an empty image is no error"), OcrPage::default());
    let orientation = engine.detect_orientation(&empty, dpi).expect("an empty image is no error");
    assert_eq!(orientation.confidence, 0.0);
}

/// Words have text, lie inside the page, appear in the page text, and their line indices never
/// decrease in reading order.
pub fn words_lie_on_the_page_in_line_order(engine: &dyn OcrEngine, page: &GrayImage, dpi: Dpi) {
    let read = engine.recognize(page, dpi).expect("the page is readable");
    assert!(!read.words.is_empty(), "the page has words");
    let mut previous_line = 0;
    for word in &read.words {
        assert!(!word.text.trim().is_empty(), "word without text: {word:?}");
        let PixelRect { x0, y0, x1, y1 } = word.bounds;
        assert!(x0 < x1 && y0 < y1, "empty box: {word:?}");
        assert!(x1 <= page.width() && y1 <= page.height(), "box outside the page: {word:?}");
        assert!((0.0..=100.0).contains(&word.confidence), "confidence out of range: {word:?}");
        assert!(word.line >= previous_line, "line index went back: {word:?}");
        previous_line = word.line;
        assert!(read.text.contains(&word.text), "{:?} missing from the page text", word.text);
    }
    assert!((0.0..=100.0).contains(&read.mean_confidence));
}

/// Two threads reading the same page at once get the same answer.
pub fn concurrent_calls_agree(engine: &dyn OcrEngine, page: &GrayImage, dpi: Dpi) {
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| engine.recognize(page, dpi).expect("first thread reads"));
        let second = scope.spawn(|| engine.recognize(page, dpi).expect("second thread reads"));
        (first.join().expect("first thread"), second.join().expect("second thread"))
    });
    assert_eq!(first, second);
}

/// The test letter, one entry per line: German words with umlauts, ß and a file reference.
pub const LETTER: &[&str] = &[
    "Landratsamt Musterkreis - Bauordnungsamt",
    "Sehr geehrte Frau Müller,",
    "Ihr Zeichen: 32-1-12/2026",
    "wir bestätigen den Eingang Ihres Antrags auf Baugenehmigung.",
    "Die Unterlagen werden geprüft; Rückfragen richten Sie bitte an",
    "Herrn Weiß, Zimmer 204, Telefon 0821 12345.",
    "Mit freundlichen Grüßen",
];

/// A page with text drawn on it, and where each line's ink went.
pub struct TextPage {
    pub image: GrayImage,
    pub dpi: Dpi,
    /// The ink bounding box of each line of `LETTER`, in order.
    pub line_bounds: Vec<PixelRect>,
}

/// Draws `lines` in DejaVu Sans at `points` size onto a white page `width_mm` x `height_mm` large at
/// `dpi`, starting 25 mm from the left and top edges, with 1.5 line spacing.
pub fn render_text_page(lines: &[&str], dpi: f32, points: f32, width_mm: f32, height_mm: f32) -> TextPage {
    const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let bytes = std::fs::read(FONT)
        .unwrap_or_else(|error| panic!("{FONT}: {error}; install the Debian package fonts-dejavu-core"));
    let font = FontRef::try_from_slice(&bytes).expect("DejaVu Sans parses");
    let mm = |millimetres: f32| millimetres / 25.4 * dpi;
    let (width, height) = (mm(width_mm).round() as u32, mm(height_mm).round() as u32);
    let mut image = GrayImage::from_pixel(width, height, Luma([255]));

    // ab_glyph scales by ascent-to-descent height, not by the em square that point sizes measure.
    let em_pixels = points / 72.0 * dpi;
    let units_per_em = font.units_per_em().expect("DejaVu Sans has units per em");
    let scale = PxScale::from(em_pixels * font.height_unscaled() / units_per_em);
    let scaled = font.as_scaled(scale);
    let mut line_bounds = Vec::new();
    let mut baseline = mm(25.0) + scaled.ascent();
    for line in lines {
        let mut caret = mm(25.0);
        let mut ink: Option<PixelRect> = None;
        let mut previous = None;
        for character in line.chars() {
            let glyph_id = font.glyph_id(character);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, glyph_id);
            }
            previous = Some(glyph_id);
            let glyph = glyph_id.with_scale_and_position(scale, point(caret, baseline));
            caret += scaled.h_advance(glyph_id);
            let Some(outlined) = font.outline_glyph(glyph) else { continue };
            let bounds = outlined.px_bounds();
            outlined.draw(|x, y, coverage| {
                let (x, y) = (bounds.min.x as u32 + x, bounds.min.y as u32 + y);
                if x < width && y < height && coverage > 0.0 {
                    let value = (255.0 * (1.0 - coverage.min(1.0))).round() as u8;
                    let pixel = image.get_pixel_mut(x, y);
                    pixel.0[0] = pixel.0[0].min(value);
                    if coverage >= 0.5 {
                        let rect = ink.get_or_insert(PixelRect { x0: x, y0: y, x1: x + 1, y1: y + 1 });
                        rect.x0 = rect.x0.min(x);
                        rect.y0 = rect.y0.min(y);
                        rect.x1 = rect.x1.max(x + 1);
                        rect.y1 = rect.y1.max(y + 1);
                    }
                }
            });
        }
        line_bounds.push(ink.expect("every test line has ink"));
        baseline += 1.5 * em_pixels;
    }
    TextPage { image, dpi: Dpi::uniform(dpi), line_bounds }
}

/// Lower-case letters and digits only, so that comparisons forgive OCR's punctuation and spacing.
pub fn normalised(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}
