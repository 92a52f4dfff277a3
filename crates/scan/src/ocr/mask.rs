//! Keeping OCR off machine-readable codes: the places where QR codes and barcodes were decoded are
//! painted paper white in the copy of the page that OCR reads.
//!
//! Tesseract reads a QR code or a barcode as junk words (`ofc) ww? Br`, `[m]:`) that end up in the
//! text rendition, the PDF text layer and the search index, and a code beside a line of text can
//! scramble its reading order. The codes are already decoded by then, so their pixels carry nothing
//! OCR should read. Only the copy handed to OCR is masked; the rendition keeps the page as scanned.

use image::{GrayImage, Luma};

use crate::page::{Dpi, PixelRect};

/// How far around a decoded code's reported place is painted, in millimetres. The reported place is
/// the code itself (a QR code's corners without its quiet zone, the span of a barcode's bars where the
/// scan lines crossed it), give or take the decoder's sampling: ZBar scans a page reduced to about
/// 150 dpi on every third line, so its rectangle may fall short by about 0.5 mm. A QR code's quiet
/// zone is 4 modules (about 1.8 mm on a 2 cm code) and a barcode's about 10 narrow bars, so text set
/// beside a code in the usual way is further away than this and stays readable.
pub const MASK_MARGIN_MM: f32 = 1.5;

/// The paper white painted over a code.
const PAPER_WHITE: u8 = 255;

/// Paints every region, grown by [`MASK_MARGIN_MM`] on each side, paper white. Regions are in the
/// pixels of `page` as it was analysed (before any turning); parts outside the page are ignored.
/// Call it before turning the page for OCR, so that the masked pixels turn with it.
pub fn mask_regions(page: &mut GrayImage, regions: &[PixelRect], dpi: Dpi) {
    let margin_x = margin_px(dpi.x);
    let margin_y = margin_px(dpi.y);
    let (width, height) = page.dimensions();
    for region in regions {
        let x0 = region.x0.saturating_sub(margin_x);
        let y0 = region.y0.saturating_sub(margin_y);
        let x1 = region.x1.saturating_add(margin_x).min(width);
        let y1 = region.y1.saturating_add(margin_y).min(height);
        for y in y0..y1 {
            for x in x0..x1 {
                page.put_pixel(x, y, Luma([PAPER_WHITE]));
            }
        }
    }
}

/// [`MASK_MARGIN_MM`] in whole pixels at `dpi`; a missing or absurd resolution counts as 300 dpi.
fn margin_px(dpi: f32) -> u32 {
    let dpi = if dpi.is_finite() && (50.0..=4800.0).contains(&dpi) { dpi } else { 300.0 };
    // At most 1.5 mm at 4800 dpi, about 284 pixels: the conversion cannot overflow.
    (MASK_MARGIN_MM * dpi / 25.4).ceil() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyse::{self, blank};
    use crate::ocr::{FakeOcrEngine, OcrEngine};

    const DPI: Dpi = Dpi::uniform(300.0);

    /// A grey page with a routing-sized QR code (about 2 cm, 0.42 mm modules) at (`left`, `top`) and
    /// a dark line of text-like ink beside it; also where the code was drawn, quiet zone included.
    fn page_with_code(left: u32, top: u32) -> (GrayImage, PixelRect) {
        let mut page = GrayImage::from_pixel(2480, 3508, Luma([236]));
        let code = qrcode::QrCode::new(b"RG1:A:4711:32.10.05-123/2026:2WF5PG4SHGHFCPBM").expect("fits");
        let image = code.render::<Luma<u8>>().quiet_zone(true).module_dimensions(5, 5).build();
        image::imageops::overlay(&mut page, &image, i64::from(left), i64::from(top));
        for y in top + 100..top + 130 {
            for x in left - 600..left - 20 {
                page.put_pixel(x, y, Luma([20]));
            }
        }
        let drawn = PixelRect { x0: left, y0: top, x1: left + image.width(), y1: top + image.height() };
        (page, drawn)
    }

    fn darkest(page: &GrayImage, rect: PixelRect) -> u8 {
        (rect.y0..rect.y1)
            .flat_map(|y| (rect.x0..rect.x1).map(move |x| (x, y)))
            .map(|(x, y)| page.get_pixel(x, y).0[0])
            .min()
            .unwrap_or(255)
    }

    #[test]
    fn the_decoded_code_is_painted_white_and_the_text_beside_it_is_kept() {
        let (left, top) = (1800, 200);
        let (mut page, rendered) = page_with_code(left, top);
        let findings = analyse::analyse_page(&page, DPI, blank::DEFAULT_BLANK_THRESHOLD);
        let regions = findings.code_regions();
        assert_eq!(regions.len(), 1, "{findings:?}");
        assert!(darkest(&page, rendered) < 50);
        mask_regions(&mut page, &regions, DPI);
        // Not one dark pixel of the code, quiet zone included, is left for OCR.
        assert!(darkest(&page, rendered) > 200, "the code is still visible after masking");
        let text = PixelRect { x0: left - 600, y0: top + 100, x1: left - 20, y1: top + 130 };
        assert!((text.x0..text.x1).all(|x| page.get_pixel(x, text.y0 + 5).0[0] == 20), "text was masked");
    }

    #[test]
    fn a_page_that_only_carries_a_code_reads_as_empty() {
        // The fake engine reads its text wherever there is ink: masked, the page has none left.
        let mut page = GrayImage::from_pixel(2480, 3508, Luma([250]));
        let code = qrcode::QrCode::new(b"AZ:32.10.05-123/2026").expect("fits");
        let image = code.render::<Luma<u8>>().module_dimensions(6, 6).build();
        image::imageops::overlay(&mut page, &image, 1900, 150);
        let engine = FakeOcrEngine::reading("ofc) ww? Br");
        assert_eq!(engine.recognize(&page, DPI).expect("reads").text, "ofc) ww? Br");
        let findings = analyse::analyse_page(&page, DPI, blank::DEFAULT_BLANK_THRESHOLD);
        mask_regions(&mut page, &findings.code_regions(), DPI);
        assert_eq!(engine.recognize(&page, DPI).expect("reads").text, "");
    }

    #[test]
    fn masking_before_turning_lands_on_the_code_of_the_turned_page() {
        // The page was fed upside down: analysis sees the code bottom left, OCR reads the page turned
        // by half a turn, where the code is top right.
        let (upright, rendered) = page_with_code(1800, 200);
        let mut scanned = image::imageops::rotate180(&upright);
        let findings = analyse::analyse_page(&scanned, DPI, blank::DEFAULT_BLANK_THRESHOLD);
        mask_regions(&mut scanned, &findings.code_regions(), DPI);
        let read = image::imageops::rotate180(&scanned);
        assert!(darkest(&read, rendered) > 200, "the mask missed the turned code");
        assert_eq!(read.get_pixel(1800 - 300, 200 + 110).0[0], 20, "text was masked");
    }

    #[test]
    fn a_barcode_is_painted_white_whole() {
        let mut page = GrayImage::from_pixel(2480, 3508, Luma([255]));
        let modules = barcoders::sym::code128::Code128::new("ƁASN00123").expect("valid").encode();
        let (left, top, module, height) = (1700, 300, 3, 90);
        for (index, &bar) in modules.iter().enumerate() {
            if bar == 1 {
                for x in left + index as u32 * module..left + (index as u32 + 1) * module {
                    for y in top..top + height {
                        page.put_pixel(x, y, Luma([0]));
                    }
                }
            }
        }
        let findings = analyse::analyse_page(&page, DPI, blank::DEFAULT_BLANK_THRESHOLD);
        assert_eq!(findings.symbols.len(), 1, "{findings:?}");
        mask_regions(&mut page, &findings.code_regions(), DPI);
        let drawn =
            PixelRect { x0: left, y0: top, x1: left + modules.len() as u32 * module, y1: top + height };
        assert!(darkest(&page, drawn) > 200, "bars left after masking: {:?}", findings.code_regions());
    }

    #[test]
    fn regions_beyond_the_page_and_absurd_resolutions_are_harmless() {
        let mut page = GrayImage::from_pixel(100, 80, Luma([0]));
        let regions = [
            PixelRect { x0: 90, y0: 70, x1: 500, y1: 500 },
            PixelRect { x0: u32::MAX - 1, y0: 0, x1: u32::MAX, y1: 1 },
        ];
        mask_regions(&mut page, &regions, Dpi::uniform(f32::NAN));
        // 1.5 mm at 300 dpi is 18 pixels: the first region grows to x 72.., y 52...
        assert_eq!(page.get_pixel(72, 52).0[0], 255);
        assert_eq!(page.get_pixel(71, 52).0[0], 0);
        assert_eq!(page.get_pixel(99, 79).0[0], 255);
    }
}
