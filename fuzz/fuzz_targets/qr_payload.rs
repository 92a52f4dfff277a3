//! Fuzzes the hand-written QR payload reader (Reed-Solomon correction, every mode of ISO/IEC 18004,
//! the grid's data modules) with the input as data codewords, a block or a grid; see
//! `registratur_scan::analyse::qr::fuzz_payload` for how the first byte picks which.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = registratur_scan::analyse::qr::fuzz_payload(data);
});
