//! Blank-page detection for duplex backsides with scanner noise and faint bleed-through.
//!
//! A blank backside is rarely white: the scanner adds speckles and dust, dark borders and shadows along
//! the edges, and the front side's text shows through as light grey mirrored writing. A page that holds
//! only a short line, a signature or a small stamp must still count as content, because dropping a page
//! with content loses part of the record while keeping a blank page costs nothing but storage. So every
//! step below errs towards "not blank":
//!
//! 1. The page is reduced to about 150 dpi by taking the darkest pixel of each block, so a thin pen
//!    stroke stays as dark as it was instead of fading into the paper as an average would make it.
//! 2. A band of [`MARGIN_MM`] along every edge is ignored: scanner borders, edge shadows and punched
//!    holes live there, and letters keep their content further in.
//! 3. The paper's own white is the median of the remaining pixels (most of any page is paper), which
//!    follows grey recycled paper and scanner calibration. A pixel is ink when it is darker than
//!    [`INK_FRACTION_OF_PAPER`] of that white: bleed-through (light grey, about 200-230 on white 255)
//!    stays above it, while printed text, ink pens and coloured stamps fall below it.
//! 4. Connected ink specks that are at most [`SPECK_MM`] across are dust and noise, not content, and
//!    are removed.
//! 5. The fraction of the analysed area that the remaining ink covers is the measure; the page is blank
//!    when it is at most the threshold ([`DEFAULT_BLANK_THRESHOLD`] unless the scanner profile says
//!    otherwise).

use image::GrayImage;

use crate::page::Dpi;

/// The default largest ink fraction of a blank page: 0.0001, that is 0.01 % of the analysed area,
/// about 5 mm² on an A4 page (the area inside the margins is about 48,000 mm²).
///
/// The smallest content this must keep is a short line of text, a signature or a stamp. On the
/// synthetic 300 dpi pages in the tests, one line "Mit freundlichen Grüßen" in 11 pt measures 0.0013, a
/// 40 mm ballpoint signature 0.0008 and a 30 × 15 mm stamp 0.0019, so the smallest of them is eight times
/// the threshold; heavy scanner noise with salt-and-pepper and dust leaves 0.00001 after speck removal,
/// and dark borders, filing holes and bleed-through leave nothing. The threshold sits nearer the noise
/// than the content on purpose: a blank page that is kept costs a page of storage, a page with content
/// that is dropped loses part of the record. Only a mark under about 5 mm² of ink (a tick, short
/// initials) alone on a page would count as blank.
pub const DEFAULT_BLANK_THRESHOLD: f64 = 0.0001;

/// The band along every edge that is not looked at, in millimetres. Scanner borders and shadows are a
/// few millimetres wide; filing holes reach about 15 mm in from the edge.
pub const MARGIN_MM: f32 = 15.0;

/// A pixel is ink when it is darker than this fraction of the paper's white (0.7 × 255 = 178 on white
/// paper): faint bleed-through (200-230) is not, pen, print and stamps are.
pub const INK_FRACTION_OF_PAPER: f32 = 0.7;

/// Connected ink no wider and no higher than this, in millimetres, is a speck of dust or noise.
pub const SPECK_MM: f32 = 0.3;

/// The measured value and the threshold it was compared with, kept in the scan protocol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlankMeasure {
    /// Fraction of the analysed page area (inside the margins) covered by ink that counts as content:
    /// darker than `ink_level` and not part of a speck. The headline value.
    pub ink_ratio: f64,
    /// The largest `ink_ratio` of a blank page.
    pub threshold: f64,
    /// Whether `ink_ratio` is at most `threshold`. False when the threshold is not a number.
    pub blank: bool,
    /// The paper's white level that was measured (0-255), kept so an odd result can be explained.
    pub paper_level: u8,
    /// Grey levels below this counted as ink.
    pub ink_level: u8,
}

/// Measures a page. Never fails: a page too small to have margins is measured whole, and a resolution
/// that is missing or absurd is taken as 300 dpi.
pub fn measure(page: &GrayImage, dpi: Dpi, threshold: f64) -> BlankMeasure {
    let dpi_x = plausible_dpi(dpi.x);
    let dpi_y = plausible_dpi(dpi.y);
    let factor_x = reduction_factor(dpi_x);
    let factor_y = reduction_factor(dpi_y);
    let reduced = darkest_of_blocks(page, factor_x, factor_y);
    let reduced_dpi_x = dpi_x / factor_x as f32;
    let reduced_dpi_y = dpi_y / factor_y as f32;

    let area = inner_area(&reduced, mm_to_px(MARGIN_MM, reduced_dpi_x), mm_to_px(MARGIN_MM, reduced_dpi_y));
    let paper_level = median(&reduced, &area).max(MIN_PAPER_LEVEL);
    // The product is at most 255 × 0.7, so the conversion cannot overflow.
    let ink_level = (f32::from(paper_level) * INK_FRACTION_OF_PAPER).round() as u8;

    let speck_x = mm_to_px(SPECK_MM, reduced_dpi_x).max(1);
    let speck_y = mm_to_px(SPECK_MM, reduced_dpi_y).max(1);
    let ink_pixels = ink_without_specks(&reduced, &area, ink_level, speck_x, speck_y);
    let area_pixels = area.width * area.height;
    let ink_ratio = if area_pixels == 0 { 0.0 } else { ink_pixels as f64 / area_pixels as f64 };

    BlankMeasure { ink_ratio, threshold, blank: ink_ratio <= threshold, paper_level, ink_level }
}

/// The resolution analysis works at: about 150 dpi keeps a 0.2 mm pen stroke at one pixel or more.
const ANALYSIS_DPI: f32 = 150.0;

/// The white level assumed at least. A page darker than this overall (a dark photo, an open scanner
/// lid) gets an ink level of 90, so its dark parts count as content instead of becoming the "paper".
const MIN_PAPER_LEVEL: u8 = 128;

/// The resolution to use: the declared one when it is plausible for a scan, 300 dpi otherwise.
fn plausible_dpi(dpi: f32) -> f32 {
    if dpi.is_finite() && (50.0..=4800.0).contains(&dpi) { dpi } else { 300.0 }
}

/// The integer factor that brings `dpi` down to about [`ANALYSIS_DPI`], never below it.
fn reduction_factor(dpi: f32) -> u32 {
    // `plausible_dpi` bounds dpi to 4800, so the quotient fits easily.
    ((dpi / ANALYSIS_DPI).floor() as u32).max(1)
}

/// Millimetres to whole pixels at `dpi`, rounded.
fn mm_to_px(mm: f32, dpi: f32) -> usize {
    (mm * dpi / 25.4).round() as usize
}

/// A grey image as plain rows, which is all the later steps need.
struct Reduced {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// The page reduced by taking the darkest pixel of each `factor_x` × `factor_y` block; a last partial
/// block at the right or bottom edge is taken as far as it goes.
///
/// Each band of `factor_y` rows is first folded into one row of column minima, a loop the compiler
/// turns into vector instructions, and only that row is then reduced across; this keeps a 300 dpi A4
/// page at a few milliseconds.
fn darkest_of_blocks(page: &GrayImage, factor_x: u32, factor_y: u32) -> Reduced {
    let source_width = page.width() as usize;
    let (factor_x, factor_y) = (factor_x as usize, factor_y as usize);
    let width = source_width.div_ceil(factor_x);
    let mut pixels = Vec::with_capacity(width * (page.height() as usize).div_ceil(factor_y));
    if source_width == 0 {
        return Reduced { width, height: 0, pixels };
    }
    let mut column_minima = vec![u8::MAX; source_width];
    for band in page.as_raw().chunks(source_width * factor_y) {
        column_minima.fill(u8::MAX);
        for line in band.chunks_exact(source_width) {
            for (minimum, &pixel) in column_minima.iter_mut().zip(line) {
                *minimum = (*minimum).min(pixel);
            }
        }
        pixels.extend(
            column_minima.chunks(factor_x).map(|block| block.iter().copied().min().unwrap_or(u8::MAX)),
        );
    }
    let height = pixels.len() / width;
    Reduced { width, height, pixels }
}

/// The part of the reduced page that is analysed, in reduced pixels.
struct Area {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

/// The page without a band of `margin_x`/`margin_y` pixels along its edges. On a page too small for
/// that (the band would take more than half of a side) the band shrinks to an eighth of the side.
fn inner_area(page: &Reduced, margin_x: usize, margin_y: usize) -> Area {
    let fit = |margin: usize, side: usize| if margin * 4 > side { side / 8 } else { margin };
    let left = fit(margin_x, page.width);
    let top = fit(margin_y, page.height);
    Area { left, top, width: page.width - 2 * left, height: page.height - 2 * top }
}

/// The median grey level in the area, 255 for an empty area.
fn median(page: &Reduced, area: &Area) -> u8 {
    let mut histogram = [0usize; 256];
    for row in area_rows(page, area) {
        for &pixel in row {
            histogram[usize::from(pixel)] += 1;
        }
    }
    let half = (area.width * area.height).div_ceil(2);
    let mut seen = 0;
    for (level, &count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= half && seen > 0 {
            // The index of a 256-entry histogram always fits a byte.
            return level as u8;
        }
    }
    u8::MAX
}

/// The rows of the page inside the area.
fn area_rows<'a>(page: &'a Reduced, area: &'a Area) -> impl Iterator<Item = &'a [u8]> + 'a {
    (area.top..area.top + area.height)
        .map(move |row| &page.pixels[row * page.width + area.left..][..area.width])
}

/// How many pixels in the area are darker than `ink_level` and belong to a connected (8-neighbour)
/// group of ink that is wider than `speck_x` or higher than `speck_y` pixels.
fn ink_without_specks(page: &Reduced, area: &Area, ink_level: u8, speck_x: usize, speck_y: usize) -> usize {
    const NONE: u8 = 0;
    const INK: u8 = 1;
    const COUNTED: u8 = 2;
    let (width, height) = (area.width, area.height);
    let mut mask: Vec<u8> = Vec::with_capacity(width * height);
    for row in area_rows(page, area) {
        mask.extend(row.iter().map(|&pixel| if pixel < ink_level { INK } else { NONE }));
    }

    let mut content = 0;
    let mut stack: Vec<usize> = Vec::new();
    for start in 0..mask.len() {
        if mask[start] != INK {
            continue;
        }
        mask[start] = COUNTED;
        stack.push(start);
        let (mut count, mut x0, mut x1, mut y0, mut y1) = (0, usize::MAX, 0, usize::MAX, 0);
        while let Some(index) = stack.pop() {
            let (x, y) = (index % width, index / width);
            count += 1;
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
            for ny in y.saturating_sub(1)..(y + 2).min(height) {
                for nx in x.saturating_sub(1)..(x + 2).min(width) {
                    let neighbour = ny * width + nx;
                    if mask[neighbour] == INK {
                        mask[neighbour] = COUNTED;
                        stack.push(neighbour);
                    }
                }
            }
        }
        if x1 - x0 + 1 > speck_x || y1 - y0 + 1 > speck_y {
            content += count;
        }
    }
    content
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    const A4_300: (u32, u32) = (2480, 3508);
    const DPI_300: Dpi = Dpi::uniform(300.0);

    /// Millimetres to pixels at 300 dpi.
    fn mm(value: f32) -> u32 {
        (value * 300.0 / 25.4).round() as u32
    }

    fn white_page() -> GrayImage {
        GrayImage::from_pixel(A4_300.0, A4_300.1, Luma([255]))
    }

    /// A small deterministic pseudo-random generator (xorshift), so noise is the same on every run.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn unit(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 24) as f32
        }

        /// Roughly normal with mean 0 and deviation 1 (sum of twelve uniforms).
        fn normal(&mut self) -> f32 {
            (0..12).map(|_| self.unit()).sum::<f32>() - 6.0
        }
    }

    fn fill(page: &mut GrayImage, x: u32, y: u32, width: u32, height: u32, level: u8) {
        for py in y..(y + height).min(page.height()) {
            for px in x..(x + width).min(page.width()) {
                page.put_pixel(px, py, Luma([level]));
            }
        }
    }

    /// Letter-like shapes (two stems and a bar) in a line: `letters` letters of `cap_mm` height with
    /// strokes of `stroke_mm`, starting at (`x`, `y`).
    fn draw_text_line(
        page: &mut GrayImage,
        x: u32,
        y: u32,
        letters: u32,
        cap_mm: f32,
        stroke_mm: f32,
        level: u8,
    ) {
        let (height, stroke) = (mm(cap_mm), mm(stroke_mm).max(1));
        let letter_width = height * 7 / 10;
        for letter in 0..letters {
            let left = x + letter * (letter_width + height / 4);
            fill(page, left, y, stroke, height, level);
            fill(page, left + letter_width - stroke, y + height / 3, stroke, height * 2 / 3, level);
            fill(page, left, y + height / 2, letter_width, stroke, level);
        }
    }

    fn assert_blank(page: &GrayImage) -> BlankMeasure {
        let measured = measure(page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(measured.blank, "{measured:?}");
        measured
    }

    fn assert_not_blank(page: &GrayImage) -> BlankMeasure {
        let measured = measure(page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!measured.blank, "{measured:?}");
        measured
    }

    #[test]
    fn a_white_page_is_blank() {
        let measured = assert_blank(&white_page());
        assert_eq!(measured.ink_ratio, 0.0);
        assert_eq!((measured.paper_level, measured.ink_level), (255, 179));
    }

    #[test]
    fn scanner_noise_and_dust_do_not_count() {
        let mut page = white_page();
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        for pixel in page.pixels_mut() {
            pixel.0[0] = (238.0 + 8.0 * noise.normal()).clamp(0.0, 255.0) as u8;
        }
        // Salt-and-pepper: one pixel in a thousand black.
        for _ in 0..(A4_300.0 * A4_300.1 / 1000) {
            let (x, y) = (noise.next() as u32 % A4_300.0, noise.next() as u32 % A4_300.1);
            page.put_pixel(x, y, Luma([0]));
        }
        // Dust: a few hundred specks of 0.1-0.2 mm.
        for _ in 0..300 {
            let (x, y) = (noise.next() as u32 % A4_300.0, noise.next() as u32 % A4_300.1);
            let size = 1 + (noise.next() % 2) as u32;
            fill(&mut page, x, y, size, size, 30);
        }
        let measured = assert_blank(&page);
        assert!(measured.paper_level >= 220, "{measured:?}");
    }

    #[test]
    fn dark_scanner_borders_and_shadows_do_not_count() {
        let mut page = white_page();
        fill(&mut page, 0, 0, mm(4.0), A4_300.1, 10);
        fill(&mut page, 0, A4_300.1 - mm(6.0), A4_300.0, mm(6.0), 10);
        // A shadow fading from grey to white along the top edge, and filing holes on the left.
        for row in 0..mm(8.0) {
            let level = (120 + row * 135 / mm(8.0)) as u8;
            fill(&mut page, 0, row, A4_300.0, 1, level);
        }
        for centre_y in [A4_300.1 / 2 - mm(40.0), A4_300.1 / 2 + mm(40.0)] {
            fill(&mut page, mm(9.0), centre_y - mm(3.0), mm(6.0), mm(6.0), 25);
        }
        assert_blank(&page);
    }

    #[test]
    fn faint_mirrored_bleed_through_does_not_count() {
        let mut page = white_page();
        for line in 0..40 {
            let level = 200 + (line % 4) as u8 * 10;
            draw_text_line(&mut page, mm(25.0), mm(30.0) + line * mm(6.0), 60, 2.5, 0.35, level);
        }
        assert_blank(&page);
    }

    #[test]
    fn grey_recycled_paper_with_bleed_through_is_blank() {
        let mut page = GrayImage::from_pixel(A4_300.0, A4_300.1, Luma([225]));
        for line in 0..40 {
            draw_text_line(&mut page, mm(25.0), mm(30.0) + line * mm(6.0), 60, 2.5, 0.35, 180);
        }
        let measured = assert_blank(&page);
        assert_eq!(measured.paper_level, 225);
    }

    #[test]
    fn one_short_line_of_text_is_content() {
        // "Mit freundlichen Grüßen": 23 letters, 11 pt (cap height 2.7 mm), strokes 0.3 mm.
        let mut page = white_page();
        draw_text_line(&mut page, mm(25.0), mm(200.0), 23, 2.7, 0.3, 40);
        let measured = assert_not_blank(&page);
        assert!(measured.ink_ratio > 4.0 * DEFAULT_BLANK_THRESHOLD, "{measured:?}");
    }

    #[test]
    fn a_small_stamp_is_content() {
        // A 30 × 15 mm stamp outline in stamp-blue grey with two lines of small text inside.
        let mut page = white_page();
        let (x, y, width, height, stroke) = (mm(140.0), mm(40.0), mm(30.0), mm(15.0), mm(0.6));
        for (fx, fy, fw, fh) in [
            (x, y, width, stroke),
            (x, y + height, width, stroke),
            (x, y, stroke, height),
            (x + width, y, stroke, height),
        ] {
            fill(&mut page, fx, fy, fw, fh, 110);
        }
        draw_text_line(&mut page, x + mm(3.0), y + mm(3.0), 8, 2.0, 0.3, 110);
        draw_text_line(&mut page, x + mm(3.0), y + mm(9.0), 6, 2.0, 0.3, 110);
        assert_not_blank(&page);
    }

    #[test]
    fn a_signature_scribble_is_content() {
        // A 40 mm wide wavy stroke of 0.4 mm, as a quick signature with a ballpoint pen.
        let mut page = white_page();
        let (left, middle) = (mm(100.0), mm(220.0) as f32);
        let mut previous_y = middle as u32;
        for step in 0..mm(40.0) {
            let phase = step as f32 / mm(4.0) as f32 * std::f32::consts::TAU;
            let y = (middle + phase.sin() * mm(5.0) as f32 * (1.0 + (phase / 7.0).cos()) / 2.0) as u32;
            let (top, bottom) = (y.min(previous_y), y.max(previous_y));
            fill(&mut page, left + step, top, 1, bottom - top + mm(0.4), 60);
            previous_y = y;
        }
        assert_not_blank(&page);
    }

    #[test]
    fn a_full_text_page_is_content() {
        let mut page = white_page();
        for line in 0..45 {
            draw_text_line(&mut page, mm(25.0), mm(25.0) + line * mm(5.5), 70, 2.5, 0.35, 20);
        }
        let measured = assert_not_blank(&page);
        assert!(measured.ink_ratio > 0.02, "{measured:?}");
    }

    #[test]
    fn a_dark_page_is_content() {
        let page = GrayImage::from_pixel(A4_300.0, A4_300.1, Luma([40]));
        let measured = assert_not_blank(&page);
        assert_eq!(measured.ink_ratio, 1.0);
    }

    #[test]
    fn a_threshold_that_is_not_a_number_keeps_the_page() {
        let measured = measure(&white_page(), DPI_300, f64::NAN);
        assert!(!measured.blank);
    }

    #[test]
    fn other_resolutions_measure_alike() {
        for dpi in [150.0, 200.0, 600.0] {
            let scale = dpi / 300.0;
            let (width, height) = ((A4_300.0 as f32 * scale) as u32, (A4_300.1 as f32 * scale) as u32);
            let mut page = GrayImage::from_pixel(width, height, Luma([250]));
            let blank = measure(&page, Dpi::uniform(dpi), DEFAULT_BLANK_THRESHOLD);
            assert!(blank.blank, "{dpi} dpi: {blank:?}");
            let line = |value: f32| (value * scale) as u32;
            fill(&mut page, line(800.0), line(2000.0), line(600.0), line(30.0), 30);
            let content = measure(&page, Dpi::uniform(dpi), DEFAULT_BLANK_THRESHOLD);
            assert!(!content.blank, "{dpi} dpi: {content:?}");
        }
    }

    #[test]
    fn survives_degenerate_pages_and_resolutions() {
        for (width, height) in [(0, 0), (1, 1), (0, 100), (100, 0), (3, 7000)] {
            for dpi in [Dpi::uniform(0.0), Dpi::uniform(f32::NAN), Dpi { x: -3.0, y: f32::INFINITY }, DPI_300]
            {
                let measured =
                    measure(&GrayImage::from_pixel(width, height, Luma([255])), dpi, DEFAULT_BLANK_THRESHOLD);
                assert!(measured.blank, "{width}x{height} at {dpi:?}: {measured:?}");
            }
        }
        let black = measure(&GrayImage::new(5, 5), DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!black.blank, "{black:?}");
    }
}
