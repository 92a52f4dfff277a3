//! Reading text: the `OcrEngine` seam, with tesseract for the product and a deterministic fake for
//! unit tests.

use image::GrayImage;

use crate::page::{Dpi, PixelRect, QuarterTurns};

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
/// call to use one core.
pub trait OcrEngine: Send + Sync {
    /// Recognises the text of an upright page.
    fn recognize(&self, page: &GrayImage, dpi: Dpi) -> Result<OcrPage, OcrError>;
    /// Detects how the page is turned.
    fn detect_orientation(&self, page: &GrayImage, dpi: Dpi) -> Result<Orientation, OcrError>;
    /// Name and version, recorded with every result (e.g. `tesseract 5.3.0 deu+eng`).
    fn describe(&self) -> String;
}
