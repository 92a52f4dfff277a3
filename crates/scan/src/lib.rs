//! Scanned pages, from bytes to a PDF/A rendition: decoding the files a scanner produces (`decode`),
//! finding what is printed on a page (`analyse`: QR codes, 1D barcodes, blank pages), reading its text
//! (`read`: the `PageReader` seam that turns a page upright and reads it, over the OCR engines in
//! `ocr`), writing the archival rendition (`pdfa`) and previews for people (`preview`). Born-digital
//! PDFs need no OCR: `text` extracts their text for the search index. For format migration,
//! `identify` names a file's format by its content (PRONOM) and `migrate` converts images to PDF/A
//! behind a validation gate.
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
pub mod preview;
pub mod read;
pub mod text;
mod zlib;

pub use page::{Dpi, EmbeddedImage, Page, PixelRect, QuarterTurns, Raster};
pub use text::{TextError, pdf_text};
