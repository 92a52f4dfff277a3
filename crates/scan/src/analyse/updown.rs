//! Is the text on a page upright or upside down? A quick answer before OCR, so that a page fed upside
//! down is turned before it is read instead of being read twice (once as garbage).
//!
//! Leptonica's up-down detector (`pixUpDownDetect`, Bloomberg, Kopec and Dasari, "Measuring document
//! image skew and orientation", 1995) counts, with hit-miss transforms on the bilevel page, the
//! ascenders of Latin letters that point up against those that point down. Its confidence is the
//! normalised difference: large and positive for upright text, large and negative for text upside
//! down, near 0 when the page has too little text to tell (the detector wants at least 70 ascenders).
//! It looks at up and down only; a page turned by a quarter is left to tesseract's orientation
//! detection. Leptonica is linked already as tesseract's image library.
//!
//! The page is judged at about 150 dpi (the detector works between 150 and 300 ppi, and a quarter of
//! the pixels makes it fast): 2 × 2 blocks (at 300 dpi) are averaged and thresholded.

use std::os::raw::c_int;

use image::GrayImage;

use crate::page::Dpi;

/// Below this magnitude the detector has not seen enough to decide (Leptonica's own decision threshold,
/// `DEFAULT_MIN_UP_DOWN_CONF`).
pub const MIN_CONFIDENCE: f32 = 8.0;

/// The resolution the page is reduced to before detection, when it has at least twice as much.
const DETECTION_DPI: f32 = 150.0;

/// Grey levels below this (of 255) count as ink.
const INK_BELOW: u32 = 128;

/// The confidence that the page's text is upright: positive when upright, negative when upside down,
/// 0 when there is too little text to tell; magnitudes of at least [`MIN_CONFIDENCE`] are decisions.
pub fn upright_confidence(page: &GrayImage, dpi: Dpi) -> f32 {
    let factor = if dpi.x.is_finite() && dpi.x >= 2.0 * DETECTION_DPI {
        (dpi.x / DETECTION_DPI).floor().clamp(1.0, 8.0) as u32
    } else {
        1
    };
    let (width, height) = (page.width() / factor, page.height() / factor);
    if width < 32 || height < 32 {
        return 0.0;
    }
    let Some(mut bilevel) = Bilevel::new(width, height) else {
        return 0.0;
    };
    bilevel.threshold_from(page, factor);
    bilevel.up_down_confidence()
}

/// A 1 bpp Leptonica `PIX`, owned.
struct Bilevel {
    pix: *mut Pix,
    width: u32,
    height: u32,
}

impl Bilevel {
    fn new(width: u32, height: u32) -> Option<Bilevel> {
        let (w, h) = (c_int::try_from(width).ok()?, c_int::try_from(height).ok()?);
        // SAFETY: plain constructor; it returns null on failure (checked) and a zeroed image otherwise.
        let pix = unsafe { pixCreate(w, h, 1) };
        (!pix.is_null()).then_some(Bilevel { pix, width, height })
    }

    /// Fills the image: a pixel is ink (1) when the mean of its `factor × factor` block is dark.
    fn threshold_from(&mut self, page: &GrayImage, factor: u32) {
        // SAFETY: `pix` is live and 1 bpp; Leptonica stores each row in `wpl` 32-bit words, so the data
        // holds `wpl * height` words.
        let words = unsafe {
            let wpl = pixGetWpl(self.pix) as usize;
            std::slice::from_raw_parts_mut(pixGetData(self.pix), wpl * self.height as usize)
        };
        let wpl = words.len() / self.height as usize;
        let samples = page.as_raw();
        let stride = page.width() as usize;
        let area = factor * factor;
        let factor = factor as usize;
        let mut sums = vec![0u32; self.width as usize];
        for (y, row) in words.chunks_exact_mut(wpl).enumerate() {
            sums.iter_mut().for_each(|sum| *sum = 0);
            for source_row in samples[y * factor * stride..].chunks_exact(stride).take(factor) {
                for (sum, block) in sums.iter_mut().zip(source_row.chunks_exact(factor)) {
                    *sum += block.iter().map(|&v| u32::from(v)).sum::<u32>();
                }
            }
            for (x, sum) in sums.iter().enumerate() {
                if *sum < INK_BELOW * area {
                    // Leptonica's bit order: the leftmost pixel is the most significant bit of its word.
                    row[x / 32] |= 1 << (31 - (x % 32));
                }
            }
        }
    }

    fn up_down_confidence(&self) -> f32 {
        let mut confidence: f32 = 0.0;
        // SAFETY: `pix` is a live 1 bpp image; `confidence` outlives the call. Mincount and npixels 0
        // select Leptonica's defaults; debug 0 writes nothing.
        let failed = unsafe { pixUpDownDetect(self.pix, &mut confidence, 0, 0, 0) };
        if failed != 0 || !confidence.is_finite() { 0.0 } else { confidence }
    }
}

impl Drop for Bilevel {
    fn drop(&mut self) {
        // SAFETY: `pix` came from `pixCreate` and is destroyed once; Leptonica nulls the pointer.
        unsafe { pixDestroy(&mut self.pix) };
    }
}

/// Leptonica's opaque image.
#[repr(C)]
struct Pix {
    _private: [u8; 0],
}

// Declarations from Leptonica 1.82's `allheaders.h` (Debian 12's libleptonica-dev).
#[link(name = "lept")]
unsafe extern "C" {
    fn pixCreate(width: c_int, height: c_int, depth: c_int) -> *mut Pix;
    fn pixGetData(pix: *mut Pix) -> *mut u32;
    fn pixGetWpl(pix: *mut Pix) -> c_int;
    fn pixUpDownDetect(
        pixs: *mut Pix,
        pconf: *mut f32,
        mincount: c_int,
        npixels: c_int,
        debug: c_int,
    ) -> c_int;
    fn pixDestroy(ppix: *mut *mut Pix);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use registratur_testkit::{LetterSpec, Routing, render_letter, scanner_noise, skew};

    /// A letter page as a scanner feeds it: slightly skewed, with sensor noise.
    fn letter() -> GrayImage {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let spec =
            LetterSpec { routing: Routing::Nothing, pages: 1, upside_down: false, expect: String::new() };
        let (pages, _) = render_letter(&spec, 300.0, &mut rng).expect("the letter renders");
        let mut page = skew(&pages[0], 0.8);
        scanner_noise(&mut page, 6.0, &mut rng);
        page
    }

    #[test]
    fn tells_an_upright_letter_from_one_upside_down() {
        let page = letter();
        let upright = upright_confidence(&page, Dpi::uniform(300.0));
        let turned = upright_confidence(&image::imageops::rotate180(&page), Dpi::uniform(300.0));
        assert!(upright >= MIN_CONFIDENCE, "upright letter: {upright}");
        assert!(turned <= -MIN_CONFIDENCE, "upside-down letter: {turned}");
    }

    #[test]
    fn a_page_without_text_decides_nothing() {
        let blank = GrayImage::from_pixel(2480, 3508, image::Luma([245]));
        assert!(upright_confidence(&blank, Dpi::uniform(300.0)).abs() < MIN_CONFIDENCE);
        assert_eq!(upright_confidence(&GrayImage::new(10, 10), Dpi::uniform(300.0)), 0.0);
        assert_eq!(upright_confidence(&GrayImage::new(0, 0), Dpi::uniform(300.0)), 0.0);
    }
}
