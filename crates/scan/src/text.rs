//! The text of a born-digital PDF, for the search index, extracted by poppler's `pdftotext` in a child
//! process (see [`crate::poppler`] for how it is bounded in time and output).
//!
//! `pdftotext` runs in its default mode, which orders words the way a person reads them: columns one
//! after the other, lines top to bottom. `-layout` would keep the physical layout instead and put the
//! lines of side-by-side columns on one line, which breaks phrases apart; `-raw` keeps content-stream
//! order, which some producers scramble. Pages are separated by a blank line rather than a form feed,
//! so that the text reads as plain paragraphs.
//!
//! Scanned pages have no text to extract; their text comes from OCR (`ocr`).

use std::time::Duration;

use crate::decode::{InputFormat, Limits, sniff};
use crate::poppler::{self, PDFTOTEXT, RunError};

/// How long extracting one file's text may take. Office documents of hundreds of pages take a few
/// seconds; a file that takes a minute is pathological, and failing it is better than blocking a
/// worker.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a file's text could not be extracted. Messages name the problem and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("not a PDF ({0}); only PDF files carry a text layer to extract")]
    NotPdf(String),
    #[error("the PDF is damaged or truncated: {0}")]
    Corrupt(String),
    #[error("the PDF is password-protected; send it without encryption")]
    Encrypted,
    #[error("{0}")]
    TooLarge(String),
    /// `pdftotext` failed for a reason that is not the file's fault (the program is missing, or it
    /// took too long).
    #[error("extracting the PDF's text failed: {0}")]
    Extract(String),
}

/// The text of the PDF `bytes` in reading order, as UTF-8: lines separated by `\n`, paragraphs and
/// pages by a blank line. A PDF without text (only scanned images, or empty pages) gives `Ok("")`.
///
/// The file must fit `limits.max_file_bytes` and its text `limits.max_text_bytes`. A PDF that opens
/// without a password is read even when it restricts copying; one that needs a user password fails
/// with [`TextError::Encrypted`].
pub fn pdf_text(bytes: &[u8], limits: &Limits) -> Result<String, TextError> {
    extract(&PDFTOTEXT.program(), bytes, limits)
}

fn extract(program: &str, bytes: &[u8], limits: &Limits) -> Result<String, TextError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(TextError::TooLarge(format!(
            "the file has {} bytes, over the limit of {}; split the document",
            bytes.len(),
            limits.max_file_bytes
        )));
    }
    let seen = match sniff(bytes) {
        Ok(InputFormat::Pdf) => None,
        Ok(InputFormat::Tiff) => Some("a TIFF image, a scan to OCR".to_string()),
        Ok(InputFormat::Jpeg) => Some("a JPEG image, a scan to OCR".to_string()),
        Ok(InputFormat::Png) => Some("a PNG image, a scan to OCR".to_string()),
        Ok(InputFormat::Gif) => Some("a GIF image, a scan to OCR".to_string()),
        Ok(InputFormat::Bmp) => Some("a BMP image, a scan to OCR".to_string()),
        Err(error) => Some(error.to_string()),
    };
    if let Some(seen) = seen {
        return Err(TextError::NotPdf(seen));
    }
    // Input and output `-` are stdin and stdout.
    let args = ["-enc", "UTF-8", "-nopgbrk", "-", "-"];
    let finished =
        poppler::run(program, &args, bytes, limits.max_text_bytes, TIMEOUT).map_err(|error| match error {
            RunError::TimedOut { timeout, .. } => TextError::Extract(format!(
                "the text took longer than {} s to extract; the file may be pathological, \
                 convert it to PDF/A and resend it",
                timeout.as_secs()
            )),
            other => TextError::Extract(other.to_string()),
        })?;
    if !finished.status.success() {
        // Poppler reports a wrong or missing user password this way, and exits with 1 as for damage.
        if finished.stderr.contains("Incorrect password") {
            return Err(TextError::Encrypted);
        }
        return Err(TextError::Corrupt(format!("pdftotext cannot read it ({})", finished.error_summary())));
    }
    if finished.stdout_overflowed(limits.max_text_bytes) {
        return Err(TextError::TooLarge(format!(
            "the PDF holds more than {} bytes of text; split the document",
            limits.max_text_bytes
        )));
    }
    // `-enc UTF-8` output is UTF-8; a broken sequence would only lose one character, not the text.
    Ok(match String::from_utf8(finished.stdout) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use lopdf::{Document, Object, Stream, dictionary};

    use super::*;

    /// A PDF with one A4 page per entry of `pages`, each with that content stream, drawing with
    /// Helvetica in WinAnsi encoding (so `\374` is ü and `\337` is ß). `password_protected` adds a
    /// standard security handler whose user password is not empty.
    fn pdf(pages: &[&[u8]], password_protected: bool) -> Vec<u8> {
        let mut document = Document::with_version("1.5");
        let pages_id = document.new_object_id();
        let font_id = document.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
            "Encoding" => "WinAnsiEncoding",
        });
        let kids: Vec<Object> = pages
            .iter()
            .map(|content| {
                let content_id = document.add_object(Stream::new(dictionary! {}, content.to_vec()));
                document
                    .add_object(dictionary! {
                        "Type" => "Page",
                        "Parent" => pages_id,
                        "Contents" => content_id,
                        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
                    })
                    .into()
            })
            .collect();
        document.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Count" => kids.len() as i64,
                "Kids" => kids,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog_id = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        document.trailer.set("Root", catalog_id);
        if password_protected {
            // /O and /U of zeros match no password, not even the empty one.
            let encrypt_id = document.add_object(dictionary! {
                "Filter" => "Standard", "V" => 1, "R" => 2, "Length" => 40, "P" => -4,
                "O" => Object::string_literal(vec![0u8; 32]), "U" => Object::string_literal(vec![0u8; 32]),
            });
            document.trailer.set("Encrypt", encrypt_id);
            document.trailer.set("ID", vec![Object::string_literal(vec![1u8; 16]); 2]);
        }
        let mut bytes = Vec::new();
        document.save_to(&mut bytes).expect("an in-memory PDF is written");
        bytes
    }

    const LETTER: &[u8] = b"BT /F1 12 Tf 72 750 Td (Bescheid \\374ber die Stra\\337enreinigung) Tj \
                            0 -16 Td (Aktenzeichen 32.10.05-17/2025) Tj ET";

    #[test]
    fn text_comes_out_as_utf8_in_reading_order_with_pages_apart() {
        let second: &[u8] = b"BT /F1 12 Tf 72 750 Td (Mit freundlichen Gr\\374\\337en) Tj ET";
        let text = pdf_text(&pdf(&[LETTER, second], false), &Limits::default()).unwrap();
        assert_eq!(
            text,
            "Bescheid über die Straßenreinigung\nAktenzeichen 32.10.05-17/2025\n\n\
             Mit freundlichen Grüßen\n\n"
        );
    }

    #[test]
    fn a_pdf_without_text_gives_empty_text() {
        assert_eq!(pdf_text(&pdf(&[b""], false), &Limits::default()).unwrap(), "");
        // A drawing is no text either.
        let drawing: &[u8] = b"0 0 1 rg 100 100 200 200 re f";
        assert_eq!(pdf_text(&pdf(&[drawing, b""], false), &Limits::default()).unwrap(), "");
    }

    #[test]
    fn garbage_is_refused_before_running_pdftotext() {
        let error = pdf_text(b"\x01\x02\x03 these are no PDF bytes", &Limits::default()).unwrap_err();
        assert!(matches!(&error, TextError::NotPdf(message) if message.contains("01 02 03")), "{error}");
        let error = pdf_text(b"II*\0rest of a TIFF", &Limits::default()).unwrap_err();
        assert!(matches!(&error, TextError::NotPdf(message) if message.contains("TIFF")), "{error}");
        let error = pdf_text(b"", &Limits::default()).unwrap_err();
        assert!(matches!(&error, TextError::NotPdf(message) if message.contains("empty")), "{error}");
    }

    #[test]
    fn a_truncated_or_damaged_pdf_is_corrupt() {
        let bytes = pdf(&[LETTER], false);
        for cut in [bytes.len() / 3, bytes.len() / 2] {
            let error = pdf_text(&bytes[..cut], &Limits::default()).unwrap_err();
            assert!(matches!(&error, TextError::Corrupt(message) if message.contains("Error")), "{error}");
            assert!(error.to_string().starts_with("the PDF is damaged or truncated"), "{error}");
        }
        let error = pdf_text(b"%PDF-1.7\nnothing else", &Limits::default()).unwrap_err();
        assert!(matches!(error, TextError::Corrupt(_)), "{error}");
    }

    #[test]
    fn a_password_protected_pdf_is_refused() {
        let error = pdf_text(&pdf(&[LETTER], true), &Limits::default()).unwrap_err();
        assert!(matches!(error, TextError::Encrypted), "{error}");
    }

    #[test]
    fn limits_bound_the_file_and_its_text() {
        let bytes = pdf(&[LETTER], false);
        let small_file = Limits { max_file_bytes: 100, ..Limits::default() };
        assert!(matches!(pdf_text(&bytes, &small_file), Err(TextError::TooLarge(_))));
        let little_text = Limits { max_text_bytes: 20, ..Limits::default() };
        let error = pdf_text(&bytes, &little_text).unwrap_err();
        assert!(matches!(&error, TextError::TooLarge(message) if message.contains("20 bytes")), "{error}");
        // Exactly the text's length still fits.
        let text = pdf_text(&bytes, &Limits::default()).unwrap();
        let exact = Limits { max_text_bytes: text.len() as u64, ..Limits::default() };
        assert_eq!(pdf_text(&bytes, &exact).unwrap(), text);
    }

    #[test]
    fn a_missing_pdftotext_names_the_package() {
        let error =
            extract("/nonexistent/pdftotext", &pdf(&[LETTER], false), &Limits::default()).unwrap_err();
        assert!(
            matches!(&error, TextError::Extract(message) if message.contains("poppler-utils")),
            "{error}"
        );
    }
}
