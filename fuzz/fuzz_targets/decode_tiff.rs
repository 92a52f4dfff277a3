//! Fuzzes TIFF decoding as the mailroom runs it: `decode::open`, then every page, under tight limits
//! so that the fuzzer spends its time in parsing rather than in allocating large pages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registratur_scan::decode::InputFormat;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"II") || data.starts_with(b"MM") {
        registratur_fuzz::decode_every_page(data, InputFormat::Tiff);
    }
});
