//! Reading a page: the one unit of work between a page's analysis and its rendition.
//!
//! A page goes in with what analysis found on it (its resolution and where codes were decoded); out
//! comes how many quarter turns make it upright and its text ([`ReadPage`]). The strategy — paint the
//! decoded codes out, a quick up-down check, OCR, and orientation detection with a second reading only
//! when the first reads poorly — is one call behind the [`PageReader`] seam, so that a reader on
//! another machine can take a page once and answer once, instead of being asked once per step.
//! [`LocalPageReader`] runs the strategy on the calling thread over an [`OcrEngine`] (tesseract's
//! pooled instances in the product, the fake in unit tests). The pixel helpers the strategy and the
//! mailroom share (`picture_to_read`, `turn`) live here too.

use std::borrow::Cow;
use std::sync::Arc;

use image::GrayImage;

use crate::analyse::updown;
use crate::ocr::{OcrEngine, OcrError, OcrPage};
use crate::page::{Dpi, Page, PixelRect, QuarterTurns};

/// A page to read, with what its analysis found.
#[derive(Clone, Copy, Debug)]
pub struct PageToRead<'a> {
    /// The page as scanned (not turned).
    pub page: &'a Page,
    /// The resolution analysis used for the page.
    pub dpi: Dpi,
    /// Every place a QR code or barcode was decoded, in the pixels of the page as scanned: painted
    /// out before the page is read, so that OCR never reads a decoded code.
    pub code_regions: &'a [PixelRect],
}

/// What reading a page gives: how it was turned to be read, and its text or why there is none.
#[derive(Debug)]
pub struct ReadPage {
    /// Quarter turns clockwise that make the page upright, also when the reading failed (the turn the
    /// failed reading was tried with), so that the rendition shows the page as it was judged.
    pub turns: QuarterTurns,
    pub ocr: Result<OcrPage, ReadError>,
}

/// Why a page has no text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The page could not be handed to the reader (decoding it again failed); the message says why.
    #[error("{0}")]
    Page(String),
    /// The page never came back from the reader (the batch was given up while it was queued).
    #[error("page was not read")]
    NotRead,
    /// The OCR engine failed on the page.
    #[error(transparent)]
    Ocr(#[from] OcrError),
}

/// Reads pages. Implementations are `Send + Sync`: callers read one page per thread, and each call
/// reads one whole page (every turn, reading and orientation check it needs), so that a remote
/// implementation ships the page once.
///
/// Contract: a failure is never an `Err` of the call but the page's `ReadPage::ocr`, so that one bad
/// page costs its own text and nothing else. Reading the same page with the same findings twice gives
/// the same answer.
pub trait PageReader: Send + Sync {
    /// Reads one page.
    fn read(&self, page: PageToRead<'_>) -> ReadPage;
    /// The engine that reads, with its version, as the scan protocol records it (e.g.
    /// `tesseract 5.3.0 deu+eng`).
    fn describe(&self) -> String;
}

/// When a reader turns a page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadSettings {
    /// Orientation detection below this confidence (on the engine's own scale) leaves a page as it is.
    pub orientation_min_confidence: f32,
    /// A first reading with at least this mean word confidence (0–100) is taken as upright, without
    /// orientation detection.
    pub confident_reading: f32,
}

impl Default for ReadSettings {
    fn default() -> Self {
        Self { orientation_min_confidence: 6.0, confident_reading: 70.0 }
    }
}

/// The reading strategy on the calling thread, over an OCR engine.
pub struct LocalPageReader {
    ocr: Arc<dyn OcrEngine>,
    settings: ReadSettings,
}

impl LocalPageReader {
    pub fn new(ocr: Arc<dyn OcrEngine>, settings: ReadSettings) -> LocalPageReader {
        LocalPageReader { ocr, settings }
    }
}

impl PageReader for LocalPageReader {
    fn read(&self, to_read: PageToRead<'_>) -> ReadPage {
        let dpi = to_read.dpi;
        let gray = picture_to_read(to_read.page, to_read.code_regions, dpi);
        // Most pages arrive upright. A quick look at the ascenders (a few milliseconds) catches a page
        // fed upside down, so it is turned before it is read and read once. Then read; only when the
        // text reads badly ask orientation detection (a page turned by a quarter, or one the quick look
        // could not judge), read again turned as it says, and keep the better reading.
        let first_turns = if updown::upright_confidence(&gray, dpi) <= -updown::MIN_CONFIDENCE {
            QuarterTurns::HALF
        } else {
            QuarterTurns::NONE
        };
        let first = match self.ocr.recognize(&turn(&gray, first_turns), dpi) {
            Ok(ocr) => ocr,
            Err(error) => return ReadPage { turns: first_turns, ocr: Err(error.into()) },
        };
        if first.mean_confidence >= self.settings.confident_reading {
            return ReadPage { turns: first_turns, ocr: Ok(first) };
        }
        let turns = match self.ocr.detect_orientation(&gray, dpi) {
            Ok(found) if found.confidence >= self.settings.orientation_min_confidence => found.turns,
            Ok(_) => QuarterTurns::NONE,
            Err(error) => {
                tracing::warn!(%error, "orientation detection failed; page left as scanned");
                QuarterTurns::NONE
            }
        };
        if turns == first_turns {
            return ReadPage { turns, ocr: Ok(first) };
        }
        let upright_dpi = if turns.get() % 2 == 1 { Dpi { x: dpi.y, y: dpi.x } } else { dpi };
        match self.ocr.recognize(&turn(&gray, turns), upright_dpi) {
            Ok(second) if second.mean_confidence > first.mean_confidence => {
                ReadPage { turns, ocr: Ok(second) }
            }
            Ok(_) => ReadPage { turns: first_turns, ocr: Ok(first) },
            Err(error) => ReadPage { turns, ocr: Err(error.into()) },
        }
    }

    fn describe(&self) -> String {
        self.ocr.describe()
    }
}

/// The grey page that OCR reads: as scanned, with the codes found by analysis (`regions`, in the
/// pixels of the page as scanned) painted out, so that tesseract neither reads them as junk words nor
/// lets them scramble the reading order of the text beside them. Masked before any turning, so the
/// mask turns with the page; the rendition is made from the page as scanned.
pub fn picture_to_read<'a>(page: &'a Page, regions: &[PixelRect], dpi: Dpi) -> Cow<'a, GrayImage> {
    let mut gray = page.raster.to_gray();
    if !regions.is_empty() {
        crate::ocr::mask_regions(gray.to_mut(), regions, dpi);
    }
    gray
}

/// The page turned by `turns` quarter turns clockwise (borrowed as it is when there is nothing to turn).
pub fn turn(gray: &GrayImage, turns: QuarterTurns) -> Cow<'_, GrayImage> {
    match turns.get() {
        1 => Cow::Owned(image::imageops::rotate90(gray)),
        2 => Cow::Owned(image::imageops::rotate180(gray)),
        3 => Cow::Owned(image::imageops::rotate270(gray)),
        _ => Cow::Borrowed(gray),
    }
}

#[cfg(test)]
mod tests;
