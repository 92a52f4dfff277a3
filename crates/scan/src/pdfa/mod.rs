//! PDF/A-2 renditions of scanned pieces: page images embedded without recompression where possible,
//! an invisible word-positioned text layer, XMP and an OutputIntent (`write_pdfa`), and a structural
//! checker for the PDF/A-2 rules the product relies on (`check`), which also guards format migration.
//! Born-digital PDFs are migrated by `normalize_to_pdfa2b`, which keeps their content and fixes the
//! file around it, or says why a person has to look; `compare_rendered` is the pixel gate for both.
//!
//! The writer produces PDF/A-2u when any page carries OCR words and PDF/A-2b when none does. Its output
//! is a pure function of its inputs: no clock, no randomness, so the same pages give the same bytes.

mod check;
mod font;
mod normalize;
#[cfg(test)]
mod tests;
mod usage;
mod writer;
mod xmp;

pub(crate) use check::xmp_property;
pub use check::{CheckReport, Violation, check};
pub use normalize::{
    CompareError, NormalizeError, Normalized, PageComparison, PageDifference, compare_rendered,
    comparison_reference, normalize_to_pdfa2b,
};
pub use writer::write_pdfa;

use crate::ocr::OcrWord;
use crate::page::{Page, QuarterTurns};

/// One page of a rendition: the page as scanned, how to turn it upright, and its OCR words.
#[derive(Clone, Copy, Debug)]
pub struct RenditionPage<'a> {
    /// The page as scanned (not turned).
    pub page: &'a Page,
    /// Quarter turns clockwise that make `page.raster` upright. The rendition shows the upright page.
    pub turns: QuarterTurns,
    /// The OCR words, in pixel coordinates of the upright page (OCR ran on the turned image).
    pub words: &'a [OcrWord],
}

/// Document-level metadata, written to both the XMP packet and the Info dictionary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentInfo {
    /// `dc:title` and `/Title`, e.g. the Dokument's subject.
    pub title: String,
    /// `dc:creator` and `/Author`; `None` leaves both out.
    pub author: Option<String>,
    /// `xmp:CreatorTool` and `/Creator`: the application that asked for the rendition.
    pub creator_tool: String,
    /// Creation time in seconds since the Unix epoch (UTC). Used for the create, modify and metadata
    /// dates, so the caller decides the time and the writer stays deterministic.
    pub created_unix_seconds: i64,
    /// Identifies the document: the trailer `/ID` and the XMP `xmpMM:DocumentID`/`InstanceID`. Derive it
    /// from content hashes so that the same input gives the same bytes.
    pub document_id: [u8; 16],
}

/// The PDF/A conformance level a rendition claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conformance {
    /// PDF/A-2b: visual appearance only (image-only scans).
    B,
    /// PDF/A-2u: additionally every glyph maps to Unicode (scans with a text layer).
    U,
}

impl Conformance {
    /// The letter used by `pdfaid:conformance`.
    pub fn letter(self) -> &'static str {
        match self {
            Conformance::B => "B",
            Conformance::U => "U",
        }
    }
}

/// Why a rendition could not be written. Every case is a caller-side inconsistency in the pages.
#[derive(Debug, thiserror::Error)]
pub enum PdfaError {
    #[error("no pages to write; pass at least one page")]
    NoPages,
    #[error(
        "page {page}: resolution {x}x{y} dpi is not a positive number; set the scanner profile's resolution"
    )]
    InvalidDpi { page: usize, x: f32, y: f32 },
    #[error(
        "page {page}: the page is {width_pt:.0}x{height_pt:.0} pt, outside PDF/A's 3..=14400 pt; check the declared resolution"
    )]
    PageSize { page: usize, width_pt: f64, height_pt: f64 },
    #[error(
        "page {page}: the embedded image is {embedded_width}x{embedded_height} px but the raster is {raster_width}x{raster_height} px; decode the page again"
    )]
    EmbeddedSizeMismatch {
        page: usize,
        embedded_width: u32,
        embedded_height: u32,
        raster_width: u32,
        raster_height: u32,
    },
    #[error("compressing page {page} failed: {message}")]
    Compression { page: usize, message: String },
}
