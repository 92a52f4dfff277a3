//! The one rule for human-readable record fields: titles, senders, Geschäftszeichen, sources, file
//! names, media types, reasons, notes, and the labels of a scan batch.
//!
//! Such a field is stored trimmed, may hold at most [`MAX_TEXT_CHARS`] characters and contains no
//! control character at all (Unicode category Cc: NUL, tab, line breaks, escape, DEL, C1 controls).
//! Titles always followed this rule; every other field follows it now too, so a NUL in a sender or
//! an escape sequence in a file name never reaches a record, a journal entry, a Transfervermerk or a
//! terminal. Leading and trailing whitespace (a final line break included) is trimmed before the
//! check, as it is before the value is stored.

/// The longest text a record field may hold, in characters (titles, senders, reasons, notes, file
/// names). Longer values are refused: they would bloat every record, journal entry and index document.
pub const MAX_TEXT_CHARS: usize = 1_000;

/// Why a value is not acceptable as a human-readable field; the message names the field and says
/// what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    #[error("{field} must not be empty; give a value")]
    Empty { field: String },
    #[error("{field} has {length} characters; at most {max} are allowed, shorten it")]
    TooLong { field: String, length: usize, max: usize },
    #[error(
        "{field} contains the control character {code} at character {position}; remove it \
         (tabs and line breaks are not allowed in record fields either)"
    )]
    ControlCharacter { field: String, code: String, position: usize },
}

/// Checks a human-readable field and returns it trimmed. `required` refuses an empty value;
/// `max_chars` is [`MAX_TEXT_CHARS`] for record fields, less for short labels.
pub fn check_text<'a>(
    field: &str,
    value: &'a str,
    required: bool,
    max_chars: usize,
) -> Result<&'a str, TextProblem> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(TextProblem::Empty { field: field.to_string() });
    }
    if let Some((index, c)) = value.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(TextProblem::ControlCharacter {
            field: field.to_string(),
            code: format!("U+{:04X}", u32::from(c)),
            position: index + 1,
        });
    }
    let length = value.chars().count();
    if length > max_chars {
        return Err(TextProblem::TooLong { field: field.to_string(), length, max: max_chars });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_ordinary_text() {
        assert_eq!(
            check_text("title", "  Antrag auf Förderung ", true, MAX_TEXT_CHARS),
            Ok("Antrag auf Förderung")
        );
        assert_eq!(check_text("sender", "", false, MAX_TEXT_CHARS), Ok(""));
        assert_eq!(
            check_text("note", "Schreiben vom 3. Mai\n", false, MAX_TEXT_CHARS),
            Ok("Schreiben vom 3. Mai")
        );
    }

    #[test]
    fn refuses_every_control_character_inside_the_value_and_names_field_and_position() {
        for (value, code) in
            [("a\0b", "U+0000"), ("a\tb", "U+0009"), ("a\nb", "U+000A"), ("a\u{1b}[31mb", "U+001B")]
        {
            let error = check_text("sender", value, false, MAX_TEXT_CHARS).unwrap_err();
            assert_eq!(
                error,
                TextProblem::ControlCharacter { field: "sender".into(), code: code.into(), position: 2 }
            );
            let message = error.to_string();
            assert!(message.starts_with("sender contains the control character"), "{message}");
            assert!(message.contains("remove it"), "{message}");
        }
        assert!(check_text("filename", "x\u{7f}.pdf", false, MAX_TEXT_CHARS).is_err(), "DEL");
        assert!(check_text("filename", "x\u{85}.pdf", false, MAX_TEXT_CHARS).is_err(), "C1 NEL");
    }

    #[test]
    fn refuses_empty_required_values_and_overlong_ones() {
        assert_eq!(
            check_text("title", "  ", true, MAX_TEXT_CHARS),
            Err(TextProblem::Empty { field: "title".into() })
        );
        let long = "ä".repeat(11);
        assert_eq!(
            check_text("operator", &long, false, 10),
            Err(TextProblem::TooLong { field: "operator".into(), length: 11, max: 10 })
        );
    }
}
