//! 1D barcodes (Code 39, Code 128), used for separator sheets (`PATCHT` and custom strings) and ASN labels.
//!
//! The decoder is ZBar (the system library `libzbar`, 0.23 on Debian, through the `zbar-rust` binding).
//! It was chosen over the pure-Rust ZXing port `rxing` 0.9 on the Paperless-ngx barcode samples
//! (`examples/separator_corpus.rs`, 83 pages rendered at 300 dpi):
//!
//! - ZBar on the page reduced to 150 dpi decodes every expected code, including the distorted `PATCHT`,
//!   the fax image and the small Code 128 `ADAR-NEXTDOC` among QR codes, the same texts as zxing-cpp
//!   3.1.1 on every page, in 9 ms per page (median, reduction included; 13 ms at most).
//! - rxing with `TryHarder` at 300 dpi misses the distorted `PATCHT` and takes 20-170 ms per page; at
//!   150 dpi it also misses `ADAR-NEXTDOC` and the fax image, and without `TryHarder` it misses most codes.
//!
//! ZBar scans every line both horizontally and vertically, and each line in both reading directions, so
//! codes printed sideways or upside down are found without rotating the page. Only the Code 39 and
//! Code 128 decoders are enabled: QR codes are the `qr` module's job, and every other decoder would only
//! add time and chances of a false reading from printed text.
//!
//! The cost is a system dependency: `libzbar-dev` and `pkg-config` at build time, `libzbar0` at run time.
//! Each call creates its own ZBar scanner, so the function is safe to call from several threads at once.

use image::GrayImage;
use zbar_rust::{ZBarConfig, ZBarImageScanResult, ZBarImageScanner, ZBarSymbolType};

use super::{Symbol, Symbology};
use crate::page::PixelRect;

/// Every distinct 1D barcode on the page (distinct by symbology and text), in the order ZBar found them.
/// Where two different texts were read in the same place, only the one read on more scan lines counts.
///
/// Large pages are first reduced by an integer factor to about 150 dpi for an A4 page (see
/// [`reduction_factor`]): separator and ASN codes have modules of 0.25 mm and more, which survive that,
/// and it makes the scan about four times faster.
pub fn find_barcodes(page: &GrayImage) -> Vec<Symbol> {
    if page.width() < MIN_SIDE || page.height() < MIN_SIDE {
        return Vec::new();
    }
    let factor = reduction_factor(page.width(), page.height());
    let reduced;
    let scanned = if factor > 1 {
        reduced = reduce(page, factor);
        &reduced
    } else {
        page
    };

    let mut scanner = configured_scanner();
    let results = match scanner.scan_y800(scanned.as_raw(), scanned.width(), scanned.height()) {
        Ok(results) => results,
        Err(error) => {
            // ZBar only fails on an image format it does not scan or a symbology it does not know,
            // neither of which a grey image with two enabled decoders can produce; say so and go on.
            tracing::warn!(%error, "zbar could not scan the page for barcodes");
            return Vec::new();
        }
    };

    let candidates: Vec<(Symbol, i32)> = results
        .iter()
        .filter_map(|result| {
            to_symbol(result, factor, page.width(), page.height()).map(|symbol| (symbol, result.quality))
        })
        .collect();
    agreed_and_distinct(candidates)
}

/// The symbols without misreads and without repeats: a candidate is a misread when a different text
/// of the same symbology was read in an overlapping place on more scan lines (ZBar's quality), and a
/// repeat when an earlier symbol has the same symbology and text. A repeat in another place is kept
/// as one of that symbol's places (`also_at`), so that OCR can be kept off every copy.
fn agreed_and_distinct(candidates: Vec<(Symbol, i32)>) -> Vec<Symbol> {
    let mut symbols: Vec<Symbol> = Vec::new();
    for (symbol, quality) in &candidates {
        let misread = candidates.iter().any(|(other, other_quality)| {
            other.symbology == symbol.symbology
                && other.text != symbol.text
                && other_quality > quality
                && overlap(symbol.bounds, other.bounds)
        });
        if misread {
            continue;
        }
        match symbols
            .iter_mut()
            .find(|known| known.symbology == symbol.symbology && known.text == symbol.text)
        {
            Some(known) => {
                if let Some(place) = symbol.bounds
                    && !known.regions().any(|known_place| overlap(Some(known_place), Some(place)))
                {
                    known.also_at.push(place);
                }
            }
            None => symbols.push(symbol.clone()),
        }
    }
    symbols
}

/// Whether two codes were found in overlapping places. ZBar decodes each scan line on its own, and on a
/// blurred code a few lines can read one character wrong (the sample `patch-code-t-middle-fuzzy.pdf`
/// gives `PATCLT` on a few lines beside `PATCHT` on many); Code 39 has no check digit to catch that.
/// So of two different texts in the same place, only the one more lines agreed on is kept.
fn overlap(a: Option<PixelRect>, b: Option<PixelRect>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1,
        _ => false,
    }
}

/// Pages narrower or lower than this hold no readable barcode, and ZBar need not see them.
const MIN_SIDE: u32 = 16;

/// The longer side, in pixels, that a page is reduced towards: an A4 page at about 150 dpi.
const TARGET_LONG_SIDE: u32 = 1600;

/// ZBar scans every `SCAN_DENSITY`-th row and column. At 150 dpi a separator code is hundreds of pixels
/// high and an ASN label still 30, so every third line gives each code many chances, at a third of the
/// cost of scanning every line; on the sample corpus 1, 2, 3 and 4 found exactly the same codes.
const SCAN_DENSITY: i32 = 3;

/// The integer factor that brings the page's longer side closest to, but not below, about 150 dpi for
/// A4: 2 for 300 dpi, 4 for 600 dpi, 1 (no reduction) for 200 dpi and less.
fn reduction_factor(width: u32, height: u32) -> u32 {
    (width.max(height) / TARGET_LONG_SIDE).max(1)
}

/// The page reduced by averaging `factor` × `factor` blocks; the last partial row and column of blocks
/// are dropped. Averaging keeps a bar narrower than a block as a grey run that ZBar's edge detector
/// still finds, where picking every n-th pixel would lose it.
///
/// Each band of `factor` rows is first summed column by column, a loop the compiler turns into vector
/// instructions, and only that row of sums is then added up across blocks.
fn reduce(page: &GrayImage, factor: u32) -> GrayImage {
    let width = page.width() / factor;
    let height = page.height() / factor;
    let factor = factor as usize;
    let used_width = width as usize * factor;
    let block = (factor * factor) as u32;
    let mut column_sums = vec![0u32; used_width];
    let mut reduced = Vec::with_capacity(width as usize * height as usize);
    if used_width > 0 {
        let source_width = page.width() as usize;
        for band in page.as_raw().chunks_exact(source_width * factor).take(height as usize) {
            column_sums.fill(0);
            for line in band.chunks_exact(source_width) {
                for (sum, &pixel) in column_sums.iter_mut().zip(&line[..used_width]) {
                    *sum += u32::from(pixel);
                }
            }
            reduced.extend(
                column_sums.chunks_exact(factor).map(|sums| (sums.iter().sum::<u32>() / block) as u8),
            );
        }
    }
    // The buffer has exactly width × height samples by construction.
    GrayImage::from_raw(width, height, reduced).unwrap_or_else(|| GrayImage::new(width, height))
}

/// A ZBar scanner with only the Code 39 and Code 128 decoders on, scanning every `SCAN_DENSITY`-th line.
fn configured_scanner() -> ZBarImageScanner {
    let mut scanner = ZBarImageScanner::new();
    let settings = [
        (ZBarSymbolType::ZBarNone, ZBarConfig::ZBarCfgEnable, 0),
        (ZBarSymbolType::ZBarCode39, ZBarConfig::ZBarCfgEnable, 1),
        (ZBarSymbolType::ZBarCode128, ZBarConfig::ZBarCfgEnable, 1),
        (ZBarSymbolType::ZBarNone, ZBarConfig::ZBarCfgXDensity, SCAN_DENSITY),
        (ZBarSymbolType::ZBarNone, ZBarConfig::ZBarCfgYDensity, SCAN_DENSITY),
    ];
    for (symbology, config, value) in settings {
        if let Err(error) = scanner.set_config(symbology, config, value) {
            // A setting ZBar rejects leaves its default, which still decodes; only speed or the
            // absence of other symbologies suffers, so this is worth a warning, not a failure.
            tracing::warn!(%error, ?symbology, ?config, value, "zbar rejected a scanner setting");
        }
    }
    scanner
}

/// The symbol for one ZBar result, with its bounds in page pixels; `None` for a symbology not asked for.
fn to_symbol(result: &ZBarImageScanResult, factor: u32, page_width: u32, page_height: u32) -> Option<Symbol> {
    let symbology = match result.symbol_type {
        ZBarSymbolType::ZBarCode39 => Symbology::Code39,
        ZBarSymbolType::ZBarCode128 => Symbology::Code128,
        _ => return None,
    };
    let mut places = runs_of_scan_lines(&result.points)
        .into_iter()
        .filter_map(|run| bounds(run, factor, page_width, page_height));
    Some(Symbol {
        symbology,
        text: decode_text(&result.data),
        bounds: places.next(),
        also_at: places.collect(),
    })
}

/// Scan lines further apart than this (in pixels of the scanned picture, about 4 mm at 150 dpi) did
/// not cross the same printed code.
const SAME_CODE_LINE_GAP: i32 = SCAN_DENSITY * 8;

/// ZBar's scan points split into one run per printed code. ZBar reports one result for every copy of
/// the same text on a page, with one point per scan line that decoded it, in scan order: the rows from
/// top to bottom, then the columns from left to right, each point at the end of the code where that
/// line finished (lines alternate their direction). Within one code, consecutive points therefore
/// step a few lines along one axis, and a larger step starts another copy of the code (or, for a code
/// read by both rows and columns, the column pass). Two copies side by side on the same rows stay one
/// run: telling them apart needs the pixels, and the run then spans the gap between them.
fn runs_of_scan_lines(points: &[(i32, i32)]) -> Vec<&[(i32, i32)]> {
    #[derive(Clone, Copy, PartialEq)]
    enum Axis {
        Unknown,
        Rows,
        Columns,
    }
    let near = |step: i32| (0..=SAME_CODE_LINE_GAP).contains(&step);
    let mut runs = Vec::new();
    let (mut start, mut axis) = (0, Axis::Unknown);
    for index in 1..points.len() {
        let (dx, dy) = (points[index].0 - points[index - 1].0, points[index].1 - points[index - 1].1);
        let continues = match axis {
            Axis::Rows => near(dy),
            Axis::Columns => near(dx),
            Axis::Unknown => {
                match (near(dy), near(dx)) {
                    (true, false) => axis = Axis::Rows,
                    (false, true) => axis = Axis::Columns,
                    _ => {}
                }
                near(dy) || near(dx)
            }
        };
        if !continues {
            runs.push(&points[start..index]);
            (start, axis) = (index, Axis::Unknown);
        }
    }
    if start < points.len() {
        runs.push(&points[start..]);
    }
    runs
}

/// The text of a code. ZBar passes Code 39 and Code 128 data through as bytes; those are ASCII, or
/// ISO 8859-1 for Code 128's extended characters, so bytes that are not UTF-8 are read as Latin-1.
fn decode_text(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(text) => text.to_owned(),
        Err(_) => data.iter().map(|&byte| char::from(byte)).collect(),
    }
}

/// The rectangle around ZBar's scan points of one code, scaled back to the page and clamped to it. For a
/// 1D code the points lie on the scan lines that crossed it, at both ends of the bars, so the rectangle
/// is the code's extent along those lines.
fn bounds(points: &[(i32, i32)], factor: u32, page_width: u32, page_height: u32) -> Option<PixelRect> {
    let scale = |value: i32, limit: u32| -> u32 {
        let value = u64::try_from(value.max(0)).unwrap_or(0) * u64::from(factor);
        u32::try_from(value.min(u64::from(limit))).unwrap_or(limit)
    };
    let x0 = points.iter().map(|&(x, _)| x).min()?;
    let x1 = points.iter().map(|&(x, _)| x).max()?;
    let y0 = points.iter().map(|&(_, y)| y).min()?;
    let y1 = points.iter().map(|&(_, y)| y).max()?;
    Some(PixelRect {
        x0: scale(x0, page_width),
        y0: scale(y0, page_height),
        x1: scale(x1.saturating_add(1), page_width),
        y1: scale(y1.saturating_add(1), page_height),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use barcoders::sym::{code39::Code39, code128::Code128};
    use image::Luma;

    /// Draws `modules` (1 = bar) as a horizontal barcode with its top-left corner at (`left`, `top`).
    fn draw_modules(page: &mut GrayImage, modules: &[u8], left: u32, top: u32, module_px: u32, height: u32) {
        for (index, &module) in modules.iter().enumerate() {
            if module == 0 {
                continue;
            }
            let x_start = left + index as u32 * module_px;
            for x in x_start..x_start + module_px {
                for y in top..top + height {
                    page.put_pixel(x, y, Luma([0]));
                }
            }
        }
    }

    fn white_a4_300dpi() -> GrayImage {
        GrayImage::from_pixel(2480, 3508, Luma([255]))
    }

    fn code39(text: &str) -> Vec<u8> {
        Code39::new(text).expect("the test text is valid code 39").encode()
    }

    fn code128(text: &str) -> Vec<u8> {
        Code128::new(text).expect("the test text is valid code 128").encode()
    }

    /// Writes a few lines of text-like strokes, so the page is not just the barcode.
    fn draw_text_lines(page: &mut GrayImage, top: u32) {
        for line in 0..6 {
            let y = top + line * 60;
            let mut x = 200;
            while x < 2200 {
                let word = 40 + (x * 7 + line * 13) % 90;
                for stroke in (x..x + word).step_by(9) {
                    for dy in 0..30 {
                        for dx in 0..3 {
                            page.put_pixel(stroke + dx, y + dy, Luma([20]));
                        }
                    }
                }
                x += word + 30;
            }
        }
    }

    #[test]
    fn finds_a_code39_patch_t_on_a_300_dpi_page() {
        let mut page = white_a4_300dpi();
        draw_text_lines(&mut page, 300);
        draw_modules(&mut page, &code39("PATCHT"), 600, 1500, 6, 300);
        let symbols = find_barcodes(&page);
        assert_eq!(symbols.len(), 1, "{symbols:?}");
        assert_eq!(symbols[0].symbology, Symbology::Code39);
        assert_eq!(symbols[0].text, "PATCHT");
        let bounds = symbols[0].bounds.expect("zbar reports where the code is");
        assert!(bounds.x0 >= 550 && bounds.x0 <= 700, "{bounds:?}");
        assert!(bounds.y0 >= 1450 && bounds.y1 <= 1850, "{bounds:?}");
    }

    #[test]
    fn finds_a_code128_with_a_custom_string() {
        let mut page = white_a4_300dpi();
        draw_modules(&mut page, &code128("ƁADAR-NEXTDOC"), 300, 800, 4, 150);
        let symbols = find_barcodes(&page);
        assert_eq!(
            symbols,
            vec![Symbol {
                symbology: Symbology::Code128,
                text: "ADAR-NEXTDOC".into(),
                bounds: symbols[0].bounds,
                also_at: Vec::new(),
            }]
        );
    }

    #[test]
    fn finds_a_small_asn_label_with_narrow_modules() {
        // 0.25 mm modules (3 px at 300 dpi) and 5 mm high, as on common ASN label sheets.
        let mut page = white_a4_300dpi();
        draw_modules(&mut page, &code128("ƁASN00123"), 1800, 200, 3, 60);
        let texts: Vec<String> = find_barcodes(&page).into_iter().map(|symbol| symbol.text).collect();
        assert_eq!(texts, ["ASN00123"]);
    }

    #[test]
    fn finds_codes_turned_sideways_and_upside_down() {
        let mut upright = white_a4_300dpi();
        draw_modules(&mut upright, &code39("PATCHT"), 600, 1500, 6, 300);
        for turned in [image::imageops::rotate90(&upright), image::imageops::rotate180(&upright)] {
            let texts: Vec<String> = find_barcodes(&turned).into_iter().map(|symbol| symbol.text).collect();
            assert_eq!(texts, ["PATCHT"]);
        }
    }

    #[test]
    fn reports_every_distinct_code_once() {
        let mut page = white_a4_300dpi();
        draw_modules(&mut page, &code39("PATCHT"), 300, 300, 5, 200);
        draw_modules(&mut page, &code39("PATCHT"), 300, 1500, 5, 200);
        draw_modules(&mut page, &code128("ƁCUSTOM BARCODE"), 300, 2500, 4, 200);
        let symbols = find_barcodes(&page);
        // Both copies of PATCHT are located on their own: no place spans the text between them.
        let patcht = symbols.iter().find(|symbol| symbol.text == "PATCHT").expect("found");
        let places: Vec<PixelRect> = patcht.regions().collect();
        assert_eq!(places.len(), 2, "{patcht:?}");
        assert!(places.iter().all(|place| place.y1 - place.y0 < 300), "{patcht:?}");
        let mut found: Vec<(Symbology, String)> =
            symbols.into_iter().map(|symbol| (symbol.symbology, symbol.text)).collect();
        found.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            found,
            [(Symbology::Code128, "CUSTOM BARCODE".to_owned()), (Symbology::Code39, "PATCHT".to_owned())]
        );
    }

    #[test]
    fn does_not_report_qr_codes() {
        let code = qrcode::QrCode::new(b"PATCHT").expect("a short text fits a qr code");
        let qr = code.render::<Luma<u8>>().module_dimensions(12, 12).build();
        let mut page = white_a4_300dpi();
        image::imageops::overlay(&mut page, &qr, 500, 500);
        assert_eq!(find_barcodes(&page), []);
    }

    #[test]
    fn finds_nothing_on_text_or_a_blank_page() {
        let mut page = white_a4_300dpi();
        assert_eq!(find_barcodes(&page), []);
        draw_text_lines(&mut page, 300);
        draw_text_lines(&mut page, 1200);
        assert_eq!(find_barcodes(&page), []);
    }

    #[test]
    fn survives_degenerate_pages() {
        for (width, height) in [(0, 0), (1, 1), (0, 500), (15, 4000), (3, 3), (17, 17), (1601, 1)] {
            assert_eq!(find_barcodes(&GrayImage::new(width, height)), [], "{width}x{height}");
        }
        // Sizes that do not divide by the reduction factor drop the last partial block.
        let mut odd = GrayImage::from_pixel(3201, 4803, Luma([255]));
        draw_modules(&mut odd, &code39("ODD"), 700, 2000, 6, 300);
        let texts: Vec<String> = find_barcodes(&odd).into_iter().map(|symbol| symbol.text).collect();
        assert_eq!(texts, ["ODD"]);
    }

    #[test]
    fn reduction_keeps_small_pages_and_brings_large_ones_near_150_dpi() {
        assert_eq!(reduction_factor(1700, 2339), 1);
        assert_eq!(reduction_factor(2480, 3508), 2);
        assert_eq!(reduction_factor(4960, 7016), 4);
        let reduced = reduce(&GrayImage::from_fn(5, 3, |x, _| Luma([if x % 2 == 0 { 0 } else { 200 }])), 2);
        assert_eq!((reduced.width(), reduced.height()), (2, 1));
        assert_eq!(reduced.as_raw(), &[100, 100]);
    }

    #[test]
    fn a_text_read_on_fewer_lines_in_the_same_place_is_a_misread() {
        let at = |x0, y0| Some(PixelRect { x0, y0, x1: x0 + 400, y1: y0 + 200 });
        let code39 = |text: &str, bounds| Symbol {
            symbology: Symbology::Code39,
            text: text.into(),
            bounds,
            also_at: Vec::new(),
        };
        let code128 = |text: &str, bounds| Symbol {
            symbology: Symbology::Code128,
            text: text.into(),
            bounds,
            also_at: Vec::new(),
        };
        let candidates = vec![
            (code39("PATCLT", at(100, 100)), 2),
            (code39("PATCHT", at(150, 120)), 12),
            // The same text again elsewhere is a repeat, not a second symbol.
            (code39("PATCHT", at(100, 2000)), 9),
            // A different text elsewhere, or another symbology in the same place, is a symbol of its own.
            (code39("ASN00123", at(1500, 100)), 1),
            (code128("PATCLT", at(100, 100)), 1),
            // Equally agreed readings in one place are both kept, since neither can be ruled out.
            (code39("A1", at(100, 3000)), 5),
            (code39("A2", at(120, 3000)), 5),
        ];
        let symbols = agreed_and_distinct(candidates);
        // The repeat's place is kept, so that OCR is kept off it too.
        assert_eq!(symbols[0].also_at, [at(100, 2000).unwrap()]);
        let texts: Vec<(Symbology, String)> =
            symbols.into_iter().map(|symbol| (symbol.symbology, symbol.text)).collect();
        let expected = [
            (Symbology::Code39, "PATCHT"),
            (Symbology::Code39, "ASN00123"),
            (Symbology::Code128, "PATCLT"),
            (Symbology::Code39, "A1"),
            (Symbology::Code39, "A2"),
        ];
        assert_eq!(texts, expected.map(|(symbology, text)| (symbology, text.to_owned())));
        assert!(!overlap(at(0, 0), None));
    }

    #[test]
    fn scan_points_split_into_one_run_per_printed_code() {
        // Rows alternate their direction, so the points alternate between both ends of the bars.
        let rows: Vec<(i32, i32)> =
            (0..10).map(|i| (if i % 2 == 0 { 407 } else { 150 }, 151 + 3 * i)).collect();
        let stacked: Vec<(i32, i32)> = rows.iter().map(|&(x, y)| (x, y + 600)).collect();
        let columns: Vec<(i32, i32)> =
            (0..10).map(|i| (631 + 3 * i, if i % 2 == 0 { 856 } else { 940 })).collect();
        let all: Vec<(i32, i32)> = rows.iter().chain(&stacked).chain(&columns).copied().collect();
        let runs = runs_of_scan_lines(&all);
        assert_eq!(runs, [&rows[..], &stacked[..], &columns[..]]);
        // A line that did not decode leaves a gap of a few lines, not a new code.
        let gappy: Vec<(i32, i32)> =
            rows.iter().enumerate().filter(|(i, _)| *i != 4).map(|(_, p)| *p).collect();
        assert_eq!(runs_of_scan_lines(&gappy).len(), 1);
        assert!(runs_of_scan_lines(&[]).is_empty());
        assert_eq!(runs_of_scan_lines(&[(5, 5)]), [&[(5, 5)][..]]);
    }

    #[test]
    fn text_that_is_not_utf8_is_read_as_latin1() {
        assert_eq!(decode_text(b"PATCHT"), "PATCHT");
        assert_eq!(decode_text(&[0x47, 0x72, 0xFC, 0xDF]), "Grüß");
    }
}
