//! What the decoder fuzz targets share: open the input as the mailroom does, under tight limits, and
//! decode every page up to the poppler boundary, checking that each page honours the limits.

use registratur_scan::decode::{self, InputFormat, Limits};
use registratur_scan::{Dpi, Raster};

/// Limits tight enough that the fuzzer spends its time parsing rather than allocating large pages.
pub fn tight_limits() -> Limits {
    Limits {
        max_pixels_per_page: 1 << 18,
        max_side: 4096,
        max_pages_per_file: 16,
        max_file_bytes: 1 << 20,
        max_text_bytes: 1 << 20,
        max_stream_bytes: 1 << 20,
    }
}

/// Decodes every page of `data`, which the caller has checked starts like a file of `format` (inputs
/// of another format are left to that format's target).
pub fn decode_every_page(data: &[u8], format: InputFormat) {
    let limits = tight_limits();
    let Ok(file) = decode::open(data, &limits, Dpi::uniform(300.0)) else { return };
    assert_eq!(file.format, format);
    assert!(file.page_count() >= 1 && file.page_count() <= limits.max_pages_per_file);
    for index in 0..file.page_count() {
        if let Ok(Some(page)) = file.page_without_rendering(index) {
            let (width, height, bytes) = match &page.raster {
                Raster::Bilevel(image) | Raster::Gray(image) => {
                    (image.width(), image.height(), image.as_raw().len())
                }
                Raster::Rgb(image) => (image.width(), image.height(), image.as_raw().len() / 3),
            };
            // A decoded page honours the limits and holds exactly its pixels.
            assert!(u64::from(width) * u64::from(height) <= limits.max_pixels_per_page);
            assert_eq!(bytes, width as usize * height as usize);
        }
    }
}
