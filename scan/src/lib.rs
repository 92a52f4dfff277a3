//! Scanned pages, from bytes to a PDF/A rendition: decoding the files a scanner produces (`decode`),
//! finding what is printed on a page (`analyse`: QR codes, 1D barcodes, blank pages), reading its text
//! (`ocr`) and writing the archival rendition (`pdfa`). Born-digital PDFs need no OCR: `text` extracts
//! their text for the search index. For archivists: identifying a file's format by its content as a
//! PRONOM PUID (`identify`) and migrating old image formats to PDF/A with a validation gate (`migrate`).
//!
//! Everything here is a pure function of its inputs: no store, no records, no gRPC. The mailroom in the
//! service crate decides what a page means (separator, routing code) and what gets kept.

pub mod analyse;
pub mod decode;
pub mod identify;
pub mod migrate;
pub mod ocr;
pub mod page;
pub mod pdfa;
mod poppler;
pub mod text;
mod zlib;

pub use page::{Dpi, EmbeddedImage, Page, PixelRect, QuarterTurns, Raster};
pub use text::{TextError, pdf_text};
