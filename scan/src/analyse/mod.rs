//! What is printed on a page: QR codes (`qr`), 1D barcodes (`barcode`) and whether it is blank
//! (`blank`). Each works on the grey page as scanned and is independent of the others.

pub mod barcode;
pub mod blank;
pub mod qr;

use crate::page::PixelRect;

/// The symbologies the analysis reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Symbology {
    Qr,
    Code39,
    Code128,
}

/// One machine-readable code found on a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub symbology: Symbology,
    /// The decoded text, exactly as encoded.
    pub text: String,
    /// Where it was found, in page pixel coordinates, when the decoder says.
    pub bounds: Option<PixelRect>,
}
