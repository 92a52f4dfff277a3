//! A deterministic stand-in for tesseract, for unit tests of code that consumes OCR results (the
//! mailroom, the text layer, the index). It reads no pixels beyond "is there ink on the page", needs no
//! system libraries and answers in microseconds. Not for production: it does not read anything.
//!
//! Every page with ink reads as the same configured text; a page without ink reads as empty, as a blank
//! page does with tesseract. Words get boxes laid out over the page's inked area, one row per line, so
//! that code placing a text layer has plausible geometry to work with.

use std::sync::atomic::{AtomicUsize, Ordering};

use image::GrayImage;

use super::{OcrEngine, OcrError, OcrPage, OcrWord, Orientation};
use crate::page::{Dpi, PixelRect, QuarterTurns};

/// Samples darker than this count as ink.
const INK_BELOW: u8 = 128;

/// The confidence the fake reports for every word.
pub const FAKE_CONFIDENCE: f32 = 90.0;

/// A scripted OCR engine for tests. See the module documentation for what it answers.
#[derive(Debug)]
pub struct FakeOcrEngine {
    text: String,
    orientation: Orientation,
    failure: Option<String>,
    recognize_calls: AtomicUsize,
    orientation_calls: AtomicUsize,
}

impl FakeOcrEngine {
    /// An engine that reads `text` (lines separated by `\n`) on every page that has ink, and reports
    /// every page upright with confidence 0.
    pub fn reading(text: impl Into<String>) -> FakeOcrEngine {
        FakeOcrEngine {
            text: text.into(),
            orientation: Orientation { turns: QuarterTurns::NONE, confidence: 0.0 },
            failure: None,
            recognize_calls: AtomicUsize::new(0),
            orientation_calls: AtomicUsize::new(0),
        }
    }

    /// An engine whose every call fails with `OcrError::Recognition(message)`, for testing error paths.
    pub fn failing(message: impl Into<String>) -> FakeOcrEngine {
        FakeOcrEngine { failure: Some(message.into()), ..FakeOcrEngine::reading("") }
    }

    /// Makes orientation detection report `turns` with `confidence` for every page that has ink.
    pub fn with_orientation(mut self, turns: QuarterTurns, confidence: f32) -> FakeOcrEngine {
        self.orientation = Orientation { turns, confidence };
        self
    }

    /// How many times `recognize` was called, so that a test can check which pages were read.
    pub fn recognize_calls(&self) -> usize {
        self.recognize_calls.load(Ordering::Relaxed)
    }

    /// How many times `detect_orientation` was called.
    pub fn orientation_calls(&self) -> usize {
        self.orientation_calls.load(Ordering::Relaxed)
    }

    fn fail_if_configured(&self) -> Result<(), OcrError> {
        match &self.failure {
            Some(message) => Err(OcrError::Recognition(message.clone())),
            None => Ok(()),
        }
    }
}

impl OcrEngine for FakeOcrEngine {
    fn recognize(&self, page: &GrayImage, _dpi: Dpi) -> Result<OcrPage, OcrError> {
        self.recognize_calls.fetch_add(1, Ordering::Relaxed);
        self.fail_if_configured()?;
        let Some(ink) = ink_bounds(page) else {
            return Ok(OcrPage::default());
        };
        let lines: Vec<Vec<&str>> = self
            .text
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .collect();
        let words = lay_out(&lines, ink);
        let text = lines.iter().map(|words| words.join(" ")).collect::<Vec<_>>().join("\n");
        let mean_confidence = if words.is_empty() { 0.0 } else { FAKE_CONFIDENCE };
        Ok(OcrPage { text, words, mean_confidence })
    }

    fn detect_orientation(&self, page: &GrayImage, _dpi: Dpi) -> Result<Orientation, OcrError> {
        self.orientation_calls.fetch_add(1, Ordering::Relaxed);
        self.fail_if_configured()?;
        match ink_bounds(page) {
            Some(_) => Ok(self.orientation),
            None => Ok(Orientation { turns: QuarterTurns::NONE, confidence: 0.0 }),
        }
    }

    fn describe(&self) -> String {
        "fake-ocr 1".to_owned()
    }
}

/// The smallest rectangle holding every ink sample, or `None` for a page without ink.
fn ink_bounds(page: &GrayImage) -> Option<PixelRect> {
    let mut bounds: Option<PixelRect> = None;
    for (x, y, pixel) in page.enumerate_pixels() {
        if pixel.0[0] < INK_BELOW {
            let rect = bounds.get_or_insert(PixelRect { x0: x, y0: y, x1: x + 1, y1: y + 1 });
            rect.x0 = rect.x0.min(x);
            rect.y0 = rect.y0.min(y);
            rect.x1 = rect.x1.max(x + 1);
            rect.y1 = rect.y1.max(y + 1);
        }
    }
    bounds
}

/// Spreads the lines evenly over the height of `ink` and each line's words over its width, in
/// proportion to their length; boxes never leave `ink`.
fn lay_out(lines: &[Vec<&str>], ink: PixelRect) -> Vec<OcrWord> {
    let mut words = Vec::new();
    let line_count = lines.len() as u64;
    let (width, height) = (u64::from(ink.x1 - ink.x0), u64::from(ink.y1 - ink.y0));
    for (index, line) in lines.iter().enumerate() {
        let index = index as u64;
        // Integer arithmetic in u64 cannot overflow for u32 page sides and keeps every box inside `ink`.
        let y0 = ink.y0 + (height * index / line_count) as u32;
        let y1 = (ink.y0 + (height * (index + 1) / line_count) as u32).max(y0 + 1).min(ink.y1);
        let characters: u64 = line.iter().map(|word| word.chars().count() as u64 + 1).sum();
        let mut before = 0u64;
        for word in line {
            let length = word.chars().count() as u64 + 1;
            let x0 = ink.x0 + (width * before / characters) as u32;
            let x1 = (ink.x0 + (width * (before + length) / characters) as u32).max(x0 + 1).min(ink.x1);
            before += length;
            words.push(OcrWord {
                text: (*word).to_owned(),
                bounds: PixelRect { x0, y0, x1, y1 },
                confidence: FAKE_CONFIDENCE,
                line: index as u32,
            });
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use image::Luma;

    use super::*;
    use crate::ocr::test_suite;

    fn page_with_ink() -> GrayImage {
        let mut page = GrayImage::from_pixel(400, 300, Luma([255]));
        for y in 100..140 {
            for x in 50..350 {
                page.put_pixel(x, y, Luma([0]));
            }
        }
        page
    }

    #[test]
    fn passes_the_engine_test_suite() {
        let engine = FakeOcrEngine::reading("Sehr geehrte Frau Müller,\nIhr Zeichen: 32-1-12/2026");
        test_suite::run_all(&engine, &page_with_ink(), Dpi::uniform(300.0));
    }

    #[test]
    fn reads_the_configured_text_laid_out_over_the_ink() {
        let engine = FakeOcrEngine::reading("Sehr geehrte Frau Müller,\n\nIhr Zeichen: 32-1-12/2026\n");
        let page = engine.recognize(&page_with_ink(), Dpi::uniform(300.0)).expect("fake reads");
        assert_eq!(page.text, "Sehr geehrte Frau Müller,\nIhr Zeichen: 32-1-12/2026");
        let texts: Vec<&str> = page.words.iter().map(|word| word.text.as_str()).collect();
        assert_eq!(texts, ["Sehr", "geehrte", "Frau", "Müller,", "Ihr", "Zeichen:", "32-1-12/2026"]);
        assert_eq!(page.words[3].line, 0);
        assert_eq!(page.words[4].line, 1);
        assert_eq!(page.words[0].bounds, PixelRect { x0: 50, y0: 100, x1: 107, y1: 120 });
        assert_eq!(page.words[6].bounds.x1, 350);
        assert_eq!(page.words[6].bounds.y1, 140);
        assert_eq!(page.mean_confidence, FAKE_CONFIDENCE);
        assert_eq!(engine.recognize_calls(), 1);
    }

    #[test]
    fn reports_the_configured_orientation_only_for_pages_with_ink() {
        let engine = FakeOcrEngine::reading("x").with_orientation(QuarterTurns::HALF, 20.0);
        let dpi = Dpi::uniform(300.0);
        let inked = engine.detect_orientation(&page_with_ink(), dpi).expect("fake detects");
        assert_eq!(inked, Orientation { turns: QuarterTurns::HALF, confidence: 20.0 });
        let blank = engine.detect_orientation(&GrayImage::from_pixel(10, 10, Luma([255])), dpi);
        assert_eq!(blank.expect("fake detects").confidence, 0.0);
        assert_eq!(engine.orientation_calls(), 2);
    }

    #[test]
    fn failing_engine_fails_every_call() {
        let engine = FakeOcrEngine::failing("scanner on fire");
        let dpi = Dpi::uniform(300.0);
        let error = engine.recognize(&page_with_ink(), dpi).expect_err("configured to fail");
        assert_eq!(error.to_string(), "OCR failed: scanner on fire");
        assert!(engine.detect_orientation(&page_with_ink(), dpi).is_err());
    }

    #[test]
    fn tiny_inked_area_still_gives_non_empty_boxes_inside_it() {
        let engine = FakeOcrEngine::reading("ein sehr langer Satz mit vielen Wörtern");
        let mut page = GrayImage::from_pixel(20, 20, Luma([255]));
        page.put_pixel(5, 5, Luma([0]));
        let read = engine.recognize(&page, Dpi::uniform(300.0)).expect("fake reads");
        assert_eq!(read.words.len(), 7);
        for word in &read.words {
            assert_eq!((word.bounds.x0, word.bounds.y0, word.bounds.x1, word.bounds.y1), (5, 5, 6, 6));
        }
    }
}
