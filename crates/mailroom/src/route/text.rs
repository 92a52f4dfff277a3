//! The text fallback: Aktenzeichen candidates found in OCR text after the labels letters use for them
//! ("Ihr Zeichen", "Aktenzeichen", "Az.", "Geschäftszeichen", ...).
//!
//! OCR confuses a few characters inside digit runs (O and 0, l or I and 1, S and 5), and it tends to
//! put spaces around `-` and `/`. Both are undone before a candidate is parsed with the installation's
//! Aktenzeichen template, so only text that then is a valid Aktenzeichen becomes a candidate. Whether a
//! candidate names an existing Akte is for the caller (`resolve`) to find out; it routes only when
//! exactly one Akte matches.

use registratur_records::aktenzeichen::AktenzeichenFormat;

/// Labels after which letters print an Aktenzeichen, lower case, longest first so that "ihr zeichen"
/// wins over "zeichen". OCR often loses umlauts, so both spellings are listed.
const LABELS: &[&str] = &[
    "geschäftszeichen",
    "geschaftszeichen",
    "geschaeftszeichen",
    "aktenzeichen",
    "ihr zeichen",
    "unser zeichen",
    "ihre zeichen",
    "ihr az",
    "unser az",
    "gz.",
    "az.",
    "az:",
];

/// How far after a label a candidate may run, in characters.
const TAIL_CHARS: usize = 60;
/// At most this many whitespace-separated tokens make up one candidate.
const MAX_TOKENS: usize = 5;

/// One Aktenzeichen candidate: where it was found and what it became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextCandidate {
    /// The label as it appears in the text.
    pub label: String,
    /// The text after the label, as OCR read it (one line, trimmed).
    pub raw: String,
    /// The Aktenzeichen in its canonical form after undoing OCR confusions.
    pub aktenzeichen: String,
}

/// Every distinct candidate in `text`, in order of appearance.
pub fn candidates(text: &str, format: &AktenzeichenFormat) -> Vec<TextCandidate> {
    let mut found: Vec<TextCandidate> = Vec::new();
    for line in text.lines() {
        let lower: Vec<char> = line.chars().flat_map(char::to_lowercase).collect();
        let chars: Vec<char> = line.chars().collect();
        // Lower-casing may change the number of chars (rare, e.g. 'İ'); then positions don't line up.
        if lower.len() != chars.len() {
            continue;
        }
        let mut at = 0;
        while at < lower.len() {
            let Some(label) = LABELS.iter().find(|label| starts_with_at(&lower, at, label)) else {
                at += 1;
                continue;
            };
            let label_len = label.chars().count();
            // A label must start a word: "Pflichtaz." is no label.
            if at > 0 && chars[at - 1].is_alphanumeric() {
                at += 1;
                continue;
            }
            let tail: String = chars[at + label_len..]
                .iter()
                .skip_while(|c| c.is_whitespace() || matches!(c, ':' | '.' | ','))
                .take(TAIL_CHARS)
                .collect();
            if let Some(aktenzeichen) = parse_tail(&tail, format)
                && !found.iter().any(|c| c.aktenzeichen == aktenzeichen)
            {
                found.push(TextCandidate {
                    label: chars[at..at + label_len].iter().collect(),
                    raw: tail.trim().to_string(),
                    aktenzeichen,
                });
            }
            at += label_len;
        }
    }
    found
}

fn starts_with_at(haystack: &[char], at: usize, needle: &str) -> bool {
    let mut index = at;
    needle.chars().all(|expected| {
        let matches = haystack.get(index) == Some(&expected);
        index += 1;
        matches
    })
}

/// The longest run of leading tokens of `tail` that parses as an Aktenzeichen, in canonical form.
fn parse_tail(tail: &str, format: &AktenzeichenFormat) -> Option<String> {
    let normalised = undo_digit_confusions(tail);
    let tokens: Vec<&str> = normalised.split_whitespace().take(MAX_TOKENS).collect();
    for count in (1..=tokens.len()).rev() {
        let words = &tokens[..count];
        for joined in [words.join(" "), words.concat()] {
            let candidate = joined.trim_end_matches([',', ';', ')', '.', ':']);
            if let Ok(aktenzeichen) = format.parse(candidate) {
                return Some(format.format(&aktenzeichen));
            }
        }
    }
    None
}

/// Replaces letters OCR confuses with digits (O→0, l/I/|→1, S→5) where they touch a digit or a `.`,
/// or stand between non-letters (`-l/`), so that the letters of words around an Aktenzeichen stay as
/// they are.
fn undo_digit_confusions(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digit_like = |c: char| c.is_ascii_digit() || c == '.' || confusable_digit(c).is_some();
    let is_digit_or_dot = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    let not_a_letter =
        |c: Option<char>| c.is_none_or(|c| !c.is_alphabetic() || confusable_digit(c).is_some());
    let mapped = |i: usize| {
        let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let after = chars.get(i + 1).copied();
        is_digit_or_dot(before)
            || is_digit_or_dot(after)
            // Two confusable letters in a row ("OO") count when the run itself touches a digit.
            || (before.is_some_and(digit_like) && after.is_some_and(digit_like))
            || (not_a_letter(before) && not_a_letter(after) && (before.is_some() || after.is_some()))
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match confusable_digit(c) {
            Some(digit) if mapped(i) => digit,
            _ => c,
        })
        .collect()
}

fn confusable_digit(c: char) -> Option<char> {
    match c {
        'O' | 'o' | 'D' => Some('0'),
        'l' | 'I' | '|' | 'i' => Some('1'),
        'S' | 's' => Some('5'),
        'B' => Some('8'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn azs(text: &str) -> Vec<String> {
        candidates(text, &AktenzeichenFormat::default()).into_iter().map(|c| c.aktenzeichen).collect()
    }

    #[test]
    fn finds_an_aktenzeichen_after_each_label() {
        assert_eq!(azs("Ihr Zeichen: 32.10.05-123/2024"), ["32.10.05-123/2024"]);
        assert_eq!(azs("Aktenzeichen 32.10-7/2025\nSehr geehrte"), ["32.10-7/2025"]);
        assert_eq!(azs("Az.: 51-12/2026, bitte stets angeben"), ["51-12/2026"]);
        assert_eq!(azs("Geschäftszeichen 32.10.05-1/2024"), ["32.10.05-1/2024"]);
        assert_eq!(azs("Geschaftszeichen: 32.10.05-1/2024"), ["32.10.05-1/2024"]);
    }

    #[test]
    fn undoes_ocr_confusions_inside_the_aktenzeichen() {
        assert_eq!(azs("Ihr Zeichen: 32.1O.O5-l23/2O24"), ["32.10.05-123/2024"]);
        assert_eq!(azs("Ihr Zeichen: 3S.10-12/2024"), ["35.10-12/2024"]);
        assert_eq!(azs("Az. 32.10.05 - 123 / 2024"), ["32.10.05-123/2024"]);
    }

    #[test]
    fn leaves_words_alone_and_finds_nothing_without_a_label() {
        assert!(azs("Sehr geehrte Damen und Herren, 32.10.05-123/2024 ist kein Zeichen").is_empty());
        assert!(azs("Ihr Zeichen: Schreiben vom 3. Mai").is_empty());
        assert!(azs("Pflichtaz. 32.10-1/2024").is_empty());
        assert!(azs("").is_empty());
    }

    #[test]
    fn reports_every_distinct_candidate_once() {
        let text = "Ihr Zeichen: 32.10-1/2024\nUnser Zeichen: 40.1-9/2025\nAz. 32.10-1/2024";
        assert_eq!(azs(text), ["32.10-1/2024", "40.1-9/2025"]);
    }

    #[test]
    fn follows_the_installation_template() {
        let format = AktenzeichenFormat::new("AZ {key}/{nr}-{year}").unwrap();
        let found = candidates("Aktenzeichen: AZ 32.10/7-2025", &format);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].aktenzeichen, "AZ 32.10/7-2025");
        assert_eq!(found[0].label, "Aktenzeichen");
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "az.",
            "İİİ Az. İ",
            "Az.\u{0}\u{fffd}",
            "ihr zeichen:::::",
            "aktenzeichen 1.2.3.4.5.6.7.8.9-1/2024",
        ] {
            let _ = azs(text);
        }
    }
}
