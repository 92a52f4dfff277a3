//! Fuzzes Aktenzeichen parsing: the template grammar, parsing an Aktenzeichen with a template, and
//! Aktenplan keys. The input's first line is the template (the default when it is not a valid one),
//! the rest the Aktenzeichen. What parses must format back to text that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registratur_mailroom::route::text;
use registratur_records::aktenzeichen::{AktenplanKey, AktenzeichenFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let (template, rest) = input.split_once('\n').unwrap_or(("", input));
    let format = AktenzeichenFormat::new(template).unwrap_or_default();

    if let Ok(parsed) = format.parse(rest) {
        let formatted = format.format(&parsed);
        let again = format.parse(&formatted).expect("a formatted Aktenzeichen parses");
        assert_eq!(again, parsed);
        assert_eq!(format.format(&again), formatted);
    }
    if let Ok(key) = AktenplanKey::parse(rest) {
        assert_eq!(AktenplanKey::parse(key.as_str()).expect("a key's text parses"), key);
        for ancestor in key.ancestors() {
            assert!(key.is_within(&ancestor));
        }
    }
    // The OCR text fallback runs the same parser over whatever follows a label.
    for candidate in text::candidates(rest, &format) {
        format.parse(&candidate.aktenzeichen).expect("a candidate is a valid Aktenzeichen");
    }
});
