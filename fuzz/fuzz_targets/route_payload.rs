//! Fuzzes what the mailroom does with the text of codes read off a page and with the page's OCR text:
//! routing-code verification, the plain `AZ:` codes, GiroCode and other payloads, and the text
//! fallback, through `route::resolve::decide`. The input is split at `\u{1}` into the OCR text and
//! the payloads of up to eight codes.
//!
//! Two properties are checked besides "no panic": a code issued for any Akte id and Aktenzeichen the
//! issuer accepts verifies to exactly that Akte, and a payload that verifies names what it says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registratur_mailroom::route::code::{self, RoutingKey, RoutingKeyRing};
use registratur_mailroom::route::resolve::{self, AkteLookup, AkteSummary, ReadCode, RoutingRules};
use registratur_records::aktenzeichen::AktenzeichenFormat;

/// Three Akten, one of them closed.
struct Akten;

const AKTEN: [(u64, &str, bool); 3] =
    [(4711, "32.10.05-123/2024", true), (4712, "32.10.05-124/2024", false), (1, "1-1/1900", true)];

impl AkteLookup for Akten {
    type Error = std::convert::Infallible;

    fn by_id(&self, id: u64) -> Result<Option<AkteSummary>, Self::Error> {
        Ok(AKTEN.iter().find(|a| a.0 == id).map(summary))
    }

    fn by_aktenzeichen(&self, aktenzeichen: &str) -> Result<Option<AkteSummary>, Self::Error> {
        Ok(AKTEN.iter().find(|a| a.1 == aktenzeichen).map(summary))
    }
}

fn summary(akte: &(u64, &str, bool)) -> AkteSummary {
    AkteSummary { id: akte.0, aktenzeichen: akte.1.to_string(), open: akte.2 }
}

/// The ring's keys: `B` signs, `A` is an older key that still verifies.
fn key(id: char) -> Option<RoutingKey> {
    let secret = match id {
        'B' => [7; 32],
        'A' => [3; 32],
        _ => return None,
    };
    Some(RoutingKey::from_bytes(id, secret).expect("valid key id"))
}

fn ring() -> RoutingKeyRing {
    RoutingKeyRing::new(key('B').expect("key B")).accept(key('A').expect("key A"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}');
    let ocr_text = parts.next().unwrap_or_default();
    let payloads: Vec<&str> = parts.take(8).collect();
    let ring = ring();

    for payload in &payloads {
        if let Ok(verified) = code::verify(&ring, payload) {
            // Only the fuzzer's own issued seeds (or a forged MAC, which would be a finding) get here.
            let reissued = key(verified.key_id)
                .and_then(|key| code::issue(&key, verified.akte_id, &verified.aktenzeichen).ok());
            assert!(
                reissued.is_some_and(|code| code == payload.trim_matches(|c: char| c.is_ascii_whitespace()))
            );
        }
    }
    // Any Akte id and Aktenzeichen the issuer takes make a code that verifies to them.
    if let (Some(first), Some(second)) = (payloads.first(), payloads.get(1)) {
        let akte_id = first.bytes().fold(0u64, |id, b| id.wrapping_mul(31).wrapping_add(u64::from(b)));
        if let Ok(issued) = code::issue(ring.current(), akte_id, second) {
            let verified = code::verify(&ring, &issued).expect("an issued code verifies");
            assert_eq!((verified.akte_id, verified.aktenzeichen.as_str()), (akte_id, *second));
        }
    }

    let codes: Vec<ReadCode> = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| ReadCode {
            page: i as u32 + 1,
            symbology: "QR".into(),
            text: payload.to_string(),
        })
        .collect();
    let format = AktenzeichenFormat::default();
    let rules = RoutingRules::default();
    resolve::decide(&ring, &format, &rules, &Akten, &codes, ocr_text).expect("the lookup never fails");
});
