//! Fuzzes TIFF decoding as the mailroom runs it: `decode::open`, then every page, under tight limits
//! so that the fuzzer spends its time in parsing rather than in allocating large pages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registratur_scan::decode::{self, InputFormat, Limits};
use registratur_scan::{Dpi, Raster};

fuzz_target!(|data: &[u8]| {
    // Inputs of another format are left to that format's target.
    if !(data.starts_with(b"II") || data.starts_with(b"MM")) {
        return;
    }
    let limits = Limits {
        max_pixels_per_page: 1 << 18,
        max_side: 4096,
        max_pages_per_file: 16,
        max_file_bytes: 1 << 20,
        max_text_bytes: 1 << 20,
        max_stream_bytes: 1 << 20,
    };
    let Ok(file) = decode::open(data, &limits, Dpi::uniform(300.0)) else { return };
    assert_eq!(file.format, InputFormat::Tiff);
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
});
