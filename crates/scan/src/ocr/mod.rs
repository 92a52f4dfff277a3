//! Reading text: the `OcrEngine` seam, with tesseract for the product and a deterministic fake for
//! unit tests, and `mask` to keep OCR off the codes that were decoded already.

use image::GrayImage;

use crate::page::{Dpi, PixelRect, QuarterTurns};

pub mod fake;
pub mod mask;
pub mod tesseract;
#[cfg(test)]
mod test_suite;

pub use fake::FakeOcrEngine;
pub use mask::mask_regions;
pub use tesseract::{TesseractConfig, TesseractEngine, limit_openmp_threads};

/// One recognised word, in the pixel coordinates of the upright page it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct OcrWord {
    pub text: String,
    pub bounds: PixelRect,
    /// 0..=100 as tesseract reports it.
    pub confidence: f32,
    /// Index of the text line, counted over the page, so that a text layer can keep lines together.
    pub line: u32,
}

/// The text of one page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OcrPage {
    /// Plain text in reading order, lines separated by `\n`, paragraphs by a blank line.
    pub text: String,
    pub words: Vec<OcrWord>,
    /// The mean of the words' confidences, 0 when there are no words.
    pub mean_confidence: f32,
}

/// The result of orientation detection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Orientation {
    /// Quarter turns clockwise that make the page upright.
    pub turns: QuarterTurns,
    /// The detector's confidence; low values mean "leave the page as it is".
    pub confidence: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("OCR engine could not start: {0}")]
    Init(String),
    #[error("OCR failed: {0}")]
    Recognition(String),
}

/// An OCR engine. Implementations are `Send + Sync`; callers run one page per thread and expect each
/// call to use one core (the calling thread's). `test_suite.rs` checks this contract for every
/// implementation.
pub trait OcrEngine: Send + Sync {
    /// Recognises the text of an upright page. A page without text (blank, or a zero-sized image) is no
    /// error: it reads as an empty `OcrPage` with confidence 0. Word boxes lie inside the page, words come
    /// in reading order and their line indices never decrease. Reading the same page twice gives the
    /// same result.
    fn recognize(&self, page: &GrayImage, dpi: Dpi) -> Result<OcrPage, OcrError>;
    /// Detects how the page is turned. A page with too little text to judge is no error: it gives
    /// `QuarterTurns::NONE` with confidence 0. Confidence is on the engine's own scale (tesseract's runs
    /// from 0 to a few dozen); callers compare it with a threshold they configure per engine.
    fn detect_orientation(&self, page: &GrayImage, dpi: Dpi) -> Result<Orientation, OcrError>;
    /// Name and version, recorded with every result (e.g. `tesseract 5.3.0 deu+eng`).
    fn describe(&self) -> String;
}
