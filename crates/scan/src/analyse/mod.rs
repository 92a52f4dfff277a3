//! What is printed on a page: QR codes (`qr`), 1D barcodes (`barcode`) and whether it is blank
//! (`blank`), and whether its text stands upright (`updown`). Each works on the grey page as scanned
//! and is independent of the others.

pub mod barcode;
pub mod blank;
pub mod qr;
pub mod updown;

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
    /// Other places on the page where the same code was read again (a routing code printed in the
    /// header and the footer), in page pixels. The code counts once, but OCR must not read any copy.
    pub also_at: Vec<PixelRect>,
}

impl Symbol {
    /// Every place on the page where this code was read, in page pixels.
    pub fn regions(&self) -> impl Iterator<Item = PixelRect> + '_ {
        self.bounds.into_iter().chain(self.also_at.iter().copied())
    }
}

/// Everything the mailroom needs to know about one page before splitting.
#[derive(Clone, Debug)]
pub struct PageFindings {
    pub blank: blank::BlankMeasure,
    /// QR codes first, then 1D barcodes; empty for a blank page.
    pub symbols: Vec<Symbol>,
}

impl PageFindings {
    /// Every place on the page where a code was read, in page pixels (the pixels of the page as it
    /// was analysed, before any turning), for [`crate::ocr::mask_regions`].
    pub fn code_regions(&self) -> Vec<PixelRect> {
        self.symbols.iter().flat_map(Symbol::regions).collect()
    }
}

/// Analyses a page: blankness first, then — only for pages with content — QR codes and 1D barcodes.
///
/// A page measured blank cannot carry a readable code: the smallest QR code (21 × 21 modules) or
/// barcode printed at a scannable size has far more ink than the blank threshold allows, so skipping
/// the code search there loses nothing and saves most of a blank page's analysis time.
pub fn analyse_page(page: &image::GrayImage, dpi: crate::Dpi, blank_threshold: f64) -> PageFindings {
    let blank = blank::measure(page, dpi, blank_threshold);
    let symbols = if blank.blank {
        Vec::new()
    } else {
        qr::find_qr_codes(page).into_iter().chain(barcode::find_barcodes(page)).collect()
    };
    PageFindings { blank, symbols }
}

#[cfg(test)]
mod tests {
    use image::{GrayImage, Luma};

    use super::*;

    #[test]
    fn a_blank_page_is_blank_and_a_page_with_only_a_code_is_not() {
        let dpi = crate::Dpi::uniform(150.0);
        let white = GrayImage::from_pixel(1240, 1754, Luma([250]));
        let findings = analyse_page(&white, dpi, blank::DEFAULT_BLANK_THRESHOLD);
        assert!(findings.blank.blank && findings.symbols.is_empty());

        // A small code alone on a page: the smallest thing a separator or routing sheet carries.
        let code = qrcode::QrCode::new(b"PATCHT").unwrap();
        let rendered = code.render::<Luma<u8>>().module_dimensions(4, 4).build();
        let mut page = white.clone();
        image::imageops::overlay(&mut page, &rendered, 500, 600);
        let findings = analyse_page(&page, dpi, blank::DEFAULT_BLANK_THRESHOLD);
        assert!(!findings.blank.blank, "{:?}", findings.blank);
        assert_eq!(findings.symbols.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(), ["PATCHT"]);
    }
}
