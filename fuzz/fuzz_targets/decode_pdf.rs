//! Fuzzes PDF decoding as the mailroom runs it: `decode::open`, then every page, under tight limits
//! so that the fuzzer spends its time in parsing rather than in allocating large pages.
//!
//! PDF pages that are not one scanned image are rendered by poppler's `pdftoppm` in a child process.
//! That boundary is not crossed here: `page_without_rendering` does everything up to it (the lopdf
//! object graph, the content stream walk, image extraction and decoding, the render size checked
//! against the limits) and stops before spawning, since a child per input would run at a few
//! executions per second and fuzz poppler rather than this code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registratur_scan::decode::InputFormat;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"%PDF-") {
        registratur_fuzz::decode_every_page(data, InputFormat::Pdf);
    }
});
