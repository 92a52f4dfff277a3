//! The text of a QR payload, whose character set the code rarely declares.
//!
//! `rqrr` hands back the bytes of byte-mode segments as they are and Kanji-mode segments as
//! Shift_JIS, and it skips ECI designators. The standard's default for byte mode is ISO-8859-1, but
//! in practice most codes carry UTF-8 and Japanese ones Shift_JIS. Like ZXing, the payload is read as
//! UTF-8 when it is valid UTF-8, as Shift_JIS when it looks like Japanese and decodes cleanly, and as
//! ISO-8859-1 otherwise (which maps every byte, so nothing is lost).

use encoding_rs::SHIFT_JIS;

/// The payload's text.
pub(super) fn from_payload(bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_owned();
    }
    if looks_like_shift_jis(bytes) {
        let (text, _, had_errors) = SHIFT_JIS.decode(bytes);
        if !had_errors {
            return text.into_owned();
        }
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Whether the bytes parse as Shift_JIS with at least one double-byte character or a run of
/// half-width katakana: ISO-8859-1 text almost never has either (its lead bytes 0x81–0x9F are
/// control codes, and accented letters do not come in threes).
fn looks_like_shift_jis(bytes: &[u8]) -> bool {
    let mut i = 0;
    let mut double_byte = 0;
    let mut katakana_run = 0;
    let mut longest_katakana_run = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x00..=0x7f => {
                katakana_run = 0;
                i += 1;
            }
            0xa1..=0xdf => {
                katakana_run += 1;
                longest_katakana_run = longest_katakana_run.max(katakana_run);
                i += 1;
            }
            0x81..=0x9f | 0xe0..=0xef => {
                let Some(&trail) = bytes.get(i + 1) else {
                    return false;
                };
                if !(0x40..=0xfc).contains(&trail) || trail == 0x7f {
                    return false;
                }
                double_byte += 1;
                katakana_run = 0;
                i += 2;
            }
            _ => return false,
        }
    }
    double_byte > 0 || longest_katakana_run >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_taken_as_it_is() {
        assert_eq!(from_payload("Grüße, 東京".as_bytes()), "Grüße, 東京");
    }

    #[test]
    fn shift_jis_is_recognised() {
        let (bytes, _, _) = SHIFT_JIS.encode("Google モバイル");
        assert_eq!(from_payload(&bytes), "Google モバイル");
        let (bytes, _, _) = SHIFT_JIS.encode("ﾃﾞｻﾞｲﾝQR");
        assert_eq!(from_payload(&bytes), "ﾃﾞｻﾞｲﾝQR");
    }

    #[test]
    fn latin1_is_the_fallback() {
        assert_eq!(from_payload(b"Stra\xdfe M\xfcller"), "Straße Müller");
    }
}
