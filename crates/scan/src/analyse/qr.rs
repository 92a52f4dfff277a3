//! QR codes with `rqrr`, helped by binarisation, scaling, regions and rotations.
//!
//! `rqrr` finds finder patterns on a black-and-white image and verifies every code with its Reed-Solomon
//! error correction, but its own thresholding and its single look at the image miss many real scans:
//! small codes, blurred or noisy ones, light-on-dark ones and codes on uneven backgrounds. This module
//! gives it better pictures. A cheap first pass looks at the page (downscaled when it is large) with one
//! local threshold; further attempts (other thresholds, scales, inversion, denoising, crops around
//! finder patterns, resampling of grids that were found but not read) only run when there is evidence
//! of a code that was not read yet, or when the page is small enough that trying costs little.
//!
//! Everything runs on the calling thread: pages are analysed in parallel by the caller.

mod binarise;
mod payload;
mod plane;
mod regions;
mod resample;
mod text;

use std::panic::{AssertUnwindSafe, catch_unwind};

use image::GrayImage;
use rqrr::{BitGrid, PreparedImage};

use self::binarise::{Bits, finder_candidates};
use self::plane::Plane;
use self::resample::Located;
use super::{Symbol, Symbology};
use crate::page::PixelRect;

/// Every distinct QR code on the page, in the order found, deduplicated by text.
pub fn find_qr_codes(page: &GrayImage) -> Vec<Symbol> {
    let Some(plane) = Plane::from_gray(page) else {
        return Vec::new();
    };
    let mut search = Search::new(plane.width, plane.height);
    search.run(&plane);
    search.found
}

/// Fuzz entry for the payload reader (see `payload::fuzz`): the hand-written Reed-Solomon
/// correction and mode parsing that run on codes `rqrr` cannot parse. Not for other callers.
#[doc(hidden)]
pub fn fuzz_payload(input: &[u8]) -> Option<String> {
    payload::fuzz(input)
}

/// Above this many pixels, the first pass looks at a downscaled page: a printed QR code has modules
/// of several pixels at scanning resolutions, and the smaller picture is four times cheaper to search.
const FIRST_PASS_MAX_PIXELS: usize = 2_500_000;

/// Pages up to this many pixels get every whole-image attempt when nothing was found: trying costs
/// little there, and photos of codes (the typical small input) need the most help.
const SMALL_IMAGE_MAX_PIXELS: usize = 1_000_000;

/// How much work retries may do on a large page, in pixels handed to `rqrr`: enough for a few regions
/// with every attempt at full resolution (a 300 dpi code region is ~0.2 megapixels, read in up to 20
/// ways), and about 150 ms on the machine this was measured on. Counted rather than timed, so that a
/// page reads the same on a busy machine as on an idle one, and a restart splits a batch as before.
const RETRY_WORK: u64 = 10_000_000;

/// At most this many finder-pattern regions get a look on one page, so that a page full of
/// finder-like print cannot take unbounded time.
const MAX_REGIONS: usize = 24;

/// Whether a region of the working picture lies inside a code already read (in page pixels).
fn region_in(region: &regions::Region, work_frame: Frame, bounds: &PixelRect) -> bool {
    let (x0, y0) = work_frame.to_page(region.centre_x(), region.centre_y());
    x0 >= f64::from(bounds.x0)
        && x0 < f64::from(bounds.x1)
        && y0 >= f64::from(bounds.y0)
        && y0 < f64::from(bounds.y1)
}

/// Whether two rectangles share any pixel.
fn overlap(a: PixelRect, b: PixelRect) -> bool {
    a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

/// At most this many distinct grids that no binarisation read get sampled again on one picture.
const MAX_RESAMPLED_GRIDS: usize = 6;

/// At most this many grids get sampled again on one page, over all pictures and regions.
const MAX_RESAMPLED_GRIDS_PER_PAGE: usize = 12;

/// Whether the centre of a located grid lies inside a code already read (in page pixels).
fn grid_in(grid: &Located, frame: Frame, bounds: &PixelRect) -> bool {
    let x = grid.corners.iter().map(|c| c.0).sum::<f64>() / 4.0;
    let y = grid.corners.iter().map(|c| c.1).sum::<f64>() / 4.0;
    let (x, y) = frame.to_page(x, y);
    x >= f64::from(bounds.x0)
        && x < f64::from(bounds.x1)
        && y >= f64::from(bounds.y0)
        && y < f64::from(bounds.y1)
}

/// One way of turning a picture into black-and-white pictures for `rqrr`, each with its scale
/// relative to the picture.
type Attempt = fn(&Plane<'_>) -> Vec<(Bits, f64)>;

/// How a picture handed to `rqrr` relates to the page: page = offset + picture / scale.
#[derive(Clone, Copy, Debug)]
struct Frame {
    offset_x: f64,
    offset_y: f64,
    scale: f64,
}

impl Frame {
    const PAGE: Frame = Frame { offset_x: 0.0, offset_y: 0.0, scale: 1.0 };

    fn scaled(self, factor: f64) -> Frame {
        Frame { scale: self.scale * factor, ..self }
    }

    fn to_page(self, x: f64, y: f64) -> (f64, f64) {
        (self.offset_x + x / self.scale, self.offset_y + y / self.scale)
    }
}

/// What one look at a picture found.
#[derive(Debug, Default)]
struct Look {
    /// Grids `rqrr` located but could not read, in pixels of the picture it looked at.
    unread_grids: Vec<Located>,
    /// Codes read in this look (including ones already known).
    read: usize,
}

/// The state of the search on one page.
struct Search {
    page_width: u32,
    page_height: u32,
    found: Vec<Symbol>,
    /// On a large page, the pixels retries may still hand to `rqrr` (see [`RETRY_WORK`]): a page full
    /// of finder-like print or of codes too fine to read must not hold up the batch. `None` on small
    /// images, which get every attempt.
    work_left: Option<u64>,
    /// How many more located grids may be sampled again on the grey picture: each costs a few
    /// milliseconds, and the same grid turns up in every region and attempt that sees it.
    resamples_left: usize,
}

impl Search {
    fn new(page_width: usize, page_height: usize) -> Search {
        Search {
            page_width: u32::try_from(page_width).unwrap_or(u32::MAX),
            page_height: u32::try_from(page_height).unwrap_or(u32::MAX),
            found: Vec::new(),
            work_left: None,
            resamples_left: MAX_RESAMPLED_GRIDS_PER_PAGE,
        }
    }

    fn run(&mut self, page: &Plane<'_>) {
        let pixels = page.width * page.height;
        if pixels <= SMALL_IMAGE_MAX_PIXELS {
            // A photo or a clip: cheap enough to look at whole, as often as it takes, and then at the
            // regions around finder patterns, one by one.
            if self.try_whole_image(page, Frame::PAGE) {
                return;
            }
            let bits = binarise::hybrid(page);
            self.try_regions(page, &bits, Frame::PAGE);
            return;
        }
        // A scanned page: `rqrr` on the whole page costs far more than the budget (it floods every
        // dark region that looks like a finder row, and copies the page for every candidate group),
        // so it only sees the regions around finder patterns found by a cheap run-length scan.
        self.work_left = Some(RETRY_WORK);
        let factor = (1..4).find(|f| pixels / (f * f) <= FIRST_PASS_MAX_PIXELS).unwrap_or(4);
        let work = if factor > 1 { page.downscale_box(factor) } else { page.clone() };
        let bits = binarise::hybrid(&work);
        self.try_regions(page, &bits, Frame::PAGE.scaled(1.0 / factor as f64));
    }

    /// Looks at the regions around groups of finder-pattern candidates (dark on light, then light on
    /// dark) in `bits`, a binarisation of `page` scaled by `work_frame`: first at that scale, then,
    /// where nothing was read but there is evidence of a code, at full resolution with every attempt.
    fn try_regions(&mut self, page: &Plane<'_>, bits: &Bits, work_frame: Frame) {
        // Light-on-dark codes are rare on paper, while the white between lines of text makes many
        // convincing inverted finder patterns: on a large page only dark-on-light ones are searched.
        let large_page = self.work_left.is_some();
        let polarities: &[bool] = if large_page { &[true] } else { &[true, false] };
        for &dark in polarities {
            let candidates = finder_candidates(bits, dark);
            let regions = regions::group(&candidates, bits.width, bits.height);
            for region in regions.into_iter().take(MAX_REGIONS) {
                if self.found.iter().any(|s| s.regions().any(|b| region_in(&region, work_frame, &b))) {
                    continue;
                }
                if self.out_of_work() {
                    return;
                }
                let frame = Frame {
                    offset_x: region.x0 as f64 / work_frame.scale,
                    offset_y: region.y0 as f64 / work_frame.scale,
                    scale: work_frame.scale,
                };
                let mut crop = bits.crop(region.x0, region.y0, region.x1, region.y1);
                if !dark {
                    crop = crop.inverted();
                }
                let look = self.look(&crop, frame);
                if look.read > 0 && look.unread_grids.is_empty() {
                    continue;
                }
                if large_page && look.unread_grids.is_empty() && !region.convincing {
                    continue;
                }
                let to_page = |v: usize| (v as f64 / work_frame.scale) as usize;
                let (x0, y0) = (to_page(region.x0), to_page(region.y0));
                if let Some(detail) = page.crop(x0, y0, to_page(region.x1), to_page(region.y1)) {
                    let detail_frame = Frame { offset_x: x0 as f64, offset_y: y0 as f64, scale: 1.0 };
                    self.try_whole_image(&detail, detail_frame);
                }
            }
        }
    }

    /// Every whole-image attempt, in order of cost and likelihood, until one reads a code and leaves no
    /// located grid unread. Returns whether that happened.
    fn try_whole_image(&mut self, image: &Plane<'_>, frame: Frame) -> bool {
        let attempts: &[Attempt] = &[
            |p| vec![(binarise::hybrid(p), 1.0)],
            |p| vec![(binarise::rqrr_native(p), 1.0)],
            |p| vec![(binarise::otsu(p), 1.0)],
            |p| vec![(binarise::hybrid(p).inverted(), 1.0)],
            |p| vec![(binarise::hybrid(&p.blur3()), 1.0)],
            |p| {
                let up = p.upscale2();
                vec![(binarise::hybrid(&up), 2.0), (binarise::rqrr_native(&up), 2.0)]
            },
            |p| {
                let down = p.downscale_box(2);
                vec![(binarise::hybrid(&down), 0.5), (binarise::rqrr_native(&down), 0.5)]
            },
            |p| {
                let down = p.downscale_box(3);
                vec![(binarise::hybrid(&down), 1.0 / 3.0), (binarise::rqrr_native(&down), 1.0 / 3.0)]
            },
            |p| {
                let window = (p.width.min(p.height) / 8).max(15);
                vec![(binarise::sauvola(p, window, 0.2), 1.0), (binarise::sauvola(p, window, 0.05), 1.0)]
            },
            |p| {
                let smooth = p.median3();
                vec![(binarise::hybrid(&smooth), 1.0), (binarise::otsu(&smooth), 1.0)]
            },
            |p| vec![(binarise::hybrid_blocks(p, 16), 1.0), (binarise::hybrid_blocks(p, 4), 1.0)],
        ];
        let mut unread: Vec<Located> = Vec::new();
        for attempt in attempts {
            if self.out_of_work() {
                break;
            }
            for (bits, scale) in attempt(image) {
                let look = self.look(&bits, frame.scaled(scale));
                if look.read > 0 && look.unread_grids.is_empty() {
                    return true;
                }
                for mut grid in look.unread_grids {
                    for corner in &mut grid.corners {
                        *corner = (corner.0 / scale, corner.1 / scale);
                    }
                    if unread.len() < MAX_RESAMPLED_GRIDS && !unread.iter().any(|known| known.same_as(&grid))
                    {
                        unread.push(grid);
                    }
                }
            }
        }
        // Every binarisation failed on these grids: sample them again on the grey picture.
        let mut read = false;
        for grid in &unread {
            if self.found.iter().any(|s| s.regions().any(|b| grid_in(grid, frame, &b))) {
                continue;
            }
            if self.resamples_left == 0 {
                break;
            }
            self.resamples_left -= 1;
            if let Some(text) = resample::read(image, grid) {
                let bounds =
                    grid.corners.map(|(x, y)| rqrr::Point { x: x.round() as i32, y: y.round() as i32 });
                let rect = self.page_rect(&bounds, frame);
                self.record(text, rect);
                read = true;
            }
        }
        read
    }

    /// Whether a large page's retry work is used up.
    fn out_of_work(&self) -> bool {
        self.work_left == Some(0)
    }

    /// Hands one black-and-white picture to `rqrr` and records every code it reads.
    fn look(&mut self, bits: &Bits, frame: Frame) -> Look {
        let mut look = Look::default();
        if let Some(left) = &mut self.work_left {
            *left = left.saturating_sub((bits.width * bits.height) as u64);
        }
        // The smallest code is 21 modules wide; a smaller picture cannot hold one.
        if bits.width < 21 || bits.height < 21 {
            return look;
        }
        // rqrr asserts on some degenerate geometry; a panic there must not take the page down.
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut prepared =
                PreparedImage::prepare_from_bitmap(bits.width, bits.height, |x, y| bits.get(x, y));
            let grids = prepared.detect_grids();
            grids
                .into_iter()
                .map(|grid| {
                    let mut bytes = Vec::new();
                    let text = match grid.decode_to(&mut bytes) {
                        Ok(_) => Some(text::from_payload(&bytes)),
                        // Error correction passed, but the payload has a mode `rqrr` does not parse.
                        Err(rqrr::DeQRError::UnknownDataType) => payload::read(&grid.grid),
                        Err(_) => None,
                    };
                    let size = grid.grid.size();
                    let corners = grid.bounds.map(|p| (f64::from(p.x), f64::from(p.y)));
                    (text, grid.bounds, Located { size, corners })
                })
                .collect::<Vec<_>>()
        }));
        let Ok(grids) = result else {
            return look;
        };
        for (text, bounds, located) in grids {
            match text {
                Some(text) => {
                    look.read += 1;
                    let rect = self.page_rect(&bounds, frame);
                    self.record(text, rect);
                }
                None => look.unread_grids.push(located),
            }
        }
        look
    }

    fn page_rect(&self, bounds: &[rqrr::Point; 4], frame: Frame) -> Option<PixelRect> {
        let mut x0 = f64::INFINITY;
        let mut y0 = f64::INFINITY;
        let mut x1 = f64::NEG_INFINITY;
        let mut y1 = f64::NEG_INFINITY;
        for point in bounds {
            let (x, y) = frame.to_page(f64::from(point.x), f64::from(point.y));
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let clamp = |v: f64, max: u32| v.clamp(0.0, f64::from(max)) as u32;
        let rect = PixelRect {
            x0: clamp(x0.floor(), self.page_width),
            y0: clamp(y0.floor(), self.page_height),
            x1: clamp(x1.ceil(), self.page_width),
            y1: clamp(y1.ceil(), self.page_height),
        };
        (rect.x0 < rect.x1 && rect.y0 < rect.y1).then_some(rect)
    }

    /// Keeps a code read at `bounds`. A code read again elsewhere (not overlapping a place it was
    /// read before) is the same code, but its place is kept too, so that OCR can be kept off it.
    fn record(&mut self, text: String, bounds: Option<PixelRect>) {
        if let Some(known) = self.found.iter_mut().find(|symbol| symbol.text == text) {
            if let Some(bounds) = bounds
                && !known.regions().any(|place| overlap(place, bounds))
            {
                known.also_at.push(bounds);
            }
            return;
        }
        self.found.push(Symbol { symbology: Symbology::Qr, text, bounds, also_at: Vec::new() });
    }
}

#[cfg(test)]
mod tests {
    use image::{GrayImage, Luma};

    use super::*;

    /// A code for `text` with `module` pixels per module and a 4-module quiet zone, black on white.
    fn code(text: &str, module: u32) -> GrayImage {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("the text fits a qr code");
        code.render::<Luma<u8>>().quiet_zone(true).module_dimensions(module, module).build()
    }

    /// A light grey page of `width`×`height` with `code` pasted at (`left`, `top`).
    fn page_with(width: u32, height: u32, codes: &[(&GrayImage, u32, u32)]) -> GrayImage {
        let mut page = GrayImage::from_pixel(width, height, Luma([238]));
        for &(code, left, top) in codes {
            image::imageops::overlay(&mut page, code, i64::from(left), i64::from(top));
        }
        page
    }

    /// A deterministic pseudo-random sequence, so the fixtures are the same on every run.
    fn noise(seed: u64) -> impl FnMut() -> u32 {
        let mut state = seed | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u32
        }
    }

    /// Rows of glyph-like strokes, as on a typed letter.
    fn draw_text(page: &mut GrayImage, seed: u64) {
        let mut next = noise(seed);
        let (width, height) = page.dimensions();
        for y in (150..height.saturating_sub(150)).step_by(50) {
            for x in (150..width.saturating_sub(170)).step_by(22) {
                if next().is_multiple_of(7) {
                    continue;
                }
                for _ in 0..1 + next() % 3 {
                    if next().is_multiple_of(2) {
                        let column = x + next() % 14;
                        for dy in 4..30 {
                            for dx in 0..3 {
                                page.put_pixel(column + dx, y + dy, Luma([30]));
                            }
                        }
                    } else {
                        let row = y + 6 + next() % 20;
                        for dx in 2..18 {
                            for dy in 0..3 {
                                page.put_pixel(x + dx, row + dy, Luma([30]));
                            }
                        }
                    }
                }
            }
        }
    }

    /// `image` rotated by `degrees` about its centre (bilinear), the corners filled with white.
    fn rotated(image: &GrayImage, degrees: f64) -> GrayImage {
        let (w, h) = image.dimensions();
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
        GrayImage::from_fn(w, h, |x, y| {
            let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
            let (sx, sy) = (cos * dx + sin * dy + cx, -sin * dx + cos * dy + cy);
            let (x0, y0) = (sx.floor(), sy.floor());
            let sample = |x: f64, y: f64| {
                if x < 0.0 || y < 0.0 || x >= f64::from(w) || y >= f64::from(h) {
                    255.0
                } else {
                    f64::from(image.get_pixel(x as u32, y as u32).0[0])
                }
            };
            let (fx, fy) = (sx - x0, sy - y0);
            let top = sample(x0, y0) * (1.0 - fx) + sample(x0 + 1.0, y0) * fx;
            let bottom = sample(x0, y0 + 1.0) * (1.0 - fx) + sample(x0 + 1.0, y0 + 1.0) * fx;
            Luma([(top * (1.0 - fy) + bottom * fy).round() as u8])
        })
    }

    fn texts(page: &GrayImage) -> Vec<String> {
        find_qr_codes(page).into_iter().map(|symbol| symbol.text).collect()
    }

    #[test]
    fn reads_a_clean_code_and_says_where_it_is() {
        let page = page_with(500, 500, &[(&code("AKTE-2024-0815", 6), 100, 120)]);
        let symbols = find_qr_codes(&page);
        assert_eq!(symbols.len(), 1);
        assert_eq!(symbols[0].symbology, Symbology::Qr);
        assert_eq!(symbols[0].text, "AKTE-2024-0815");
        let bounds = symbols[0].bounds.expect("rqrr locates the code");
        // The code without its quiet zone starts 4 modules (24 px) into the pasted picture.
        assert!(bounds.x0.abs_diff(124) <= 8 && bounds.y0.abs_diff(144) <= 8, "bounds {bounds:?}");
        assert!(bounds.x1 > bounds.x0 + 100 && bounds.y1 > bounds.y0 + 100, "bounds {bounds:?}");
    }

    #[test]
    fn reads_a_small_code_on_a_full_a4_page() {
        // About 1.5 cm at 300 dpi: 4 pixels per module.
        let mut page = page_with(2480, 3508, &[]);
        draw_text(&mut page, 7);
        let small = code("https://example.org/vorgang/4711", 4);
        image::imageops::overlay(&mut page, &small, 2000, 3200);
        let symbols = find_qr_codes(&page);
        assert_eq!(
            symbols.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
            ["https://example.org/vorgang/4711"]
        );
        let bounds = symbols[0].bounds.expect("rqrr locates the code");
        assert!(bounds.x0 >= 2000 && bounds.x1 <= 2000 + small.width(), "bounds {bounds:?}");
        assert!(bounds.y0 >= 3200 && bounds.y1 <= 3200 + small.height(), "bounds {bounds:?}");
    }

    #[test]
    fn reads_a_code_rotated_by_a_few_degrees() {
        let page = page_with(600, 600, &[(&code("Eingang 2024-03-01", 7), 150, 150)]);
        for degrees in [-7.0, 4.0, 12.0] {
            assert_eq!(texts(&rotated(&page, degrees)), ["Eingang 2024-03-01"], "rotated by {degrees}°");
        }
    }

    #[test]
    fn reads_a_noisy_blurred_code() {
        let page = page_with(400, 400, &[(&code("Posteingang Nr. 17", 5), 80, 80)]);
        let blurred = image::imageops::blur(&page, 1.4);
        let mut next = noise(3);
        let noisy = GrayImage::from_fn(400, 400, |x, y| {
            let v = i32::from(blurred.get_pixel(x, y).0[0]) + (next() % 81) as i32 - 40;
            Luma([v.clamp(0, 255) as u8])
        });
        assert_eq!(texts(&noisy), ["Posteingang Nr. 17"]);
    }

    #[test]
    fn reads_a_light_on_dark_code() {
        let mut page = page_with(400, 400, &[(&code("invertiert", 6), 90, 90)]);
        image::imageops::invert(&mut page);
        assert_eq!(texts(&page), ["invertiert"]);
    }

    #[test]
    fn reports_two_codes_on_one_page_once_each() {
        let first = code("Trennblatt", 8);
        let second = code("AZ 12-34/2024", 8);
        let mut page = page_with(2480, 3508, &[]);
        draw_text(&mut page, 11);
        // The first code twice: it is one distinct code.
        for (code, left, top) in [(&first, 200, 200), (&second, 1700, 2800), (&first, 1700, 200)] {
            image::imageops::overlay(&mut page, code, left, top);
        }
        let symbols = find_qr_codes(&page);
        let mut found: Vec<&str> = symbols.iter().map(|symbol| symbol.text.as_str()).collect();
        found.sort();
        assert_eq!(found, ["AZ 12-34/2024", "Trennblatt"]);
        // Both copies of the first code are located, so that OCR can be kept off both.
        let first = symbols.iter().find(|symbol| symbol.text == "Trennblatt").expect("read above");
        let mut lefts: Vec<u32> = first.regions().map(|place| place.x0).collect();
        lefts.sort();
        assert_eq!(lefts.len(), 2, "{first:?}");
        assert!(lefts[0].abs_diff(200 + 32) <= 8 && lefts[1].abs_diff(1700 + 32) <= 8, "{first:?}");
    }

    #[test]
    fn finds_nothing_on_a_text_page() {
        let mut page = page_with(2480, 3508, &[]);
        draw_text(&mut page, 5);
        assert!(find_qr_codes(&page).is_empty());
    }

    #[test]
    fn empty_and_tiny_pages_have_no_codes() {
        assert!(find_qr_codes(&GrayImage::new(0, 0)).is_empty());
        assert!(find_qr_codes(&GrayImage::new(1, 1)).is_empty());
        assert!(find_qr_codes(&GrayImage::from_pixel(30, 4000, Luma([0]))).is_empty());
    }
}
