//! A structural PDF/A-2 checker: the rules of the veraPDF PDFA-2B/2U profiles that matter for scanned
//! renditions and migration targets, checked with lopdf plus a raw look at the bytes where lopdf would
//! hide the problem (it repairs wrong `/Length` values and strips `/Encrypt` on load).
//!
//! Rule ids are the ISO 19005-2 clause numbers veraPDF uses. Fonts and device colours are judged from
//! what pages draw, including Form XObjects and annotations' appearance streams (see `usage`). This
//! is not a full validator: it does not compare the Info dictionary with the XMP, does not check
//! transparency, optional content, embedded files, glyph widths or whether every used glyph is
//! present in an embedded font, and it reads the XMP with plain string search (the `pdfaid` prefix
//! is assumed). It requires `/ToUnicode` on every used font for level U,
//! which is stricter than the standard for simple fonts with standard encodings.

use std::collections::BTreeSet;

use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::usage::{collect_device_colours, page_usage};

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The ISO 19005-2 clause, as in veraPDF's rule ids (e.g. `6.1.3`).
    pub rule: &'static str,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// The result of [`check`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The `pdfaid:part` and `pdfaid:conformance` the file claims, when its XMP says.
    pub claimed_part: Option<String>,
    pub claimed_conformance: Option<String>,
    pub violations: Vec<Violation>,
}

impl CheckReport {
    /// Whether no rule is broken.
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }

    /// Whether the rule with this id is broken.
    pub fn violates(&self, rule: &str) -> bool {
        self.violations.iter().any(|violation| violation.rule == rule)
    }

    fn add(&mut self, rule: &'static str, message: impl Into<String>) {
        self.violations.push(Violation { rule, message: message.into() });
    }
}

/// Checks `pdf` against the PDF/A-2 rules listed in the module documentation.
pub fn check(pdf: &[u8]) -> CheckReport {
    let mut report = CheckReport::default();
    check_header(pdf, &mut report);
    check_end_of_file(pdf, &mut report);
    let document = match Document::load_mem(pdf) {
        Ok(document) => document,
        Err(error) => {
            if contains(pdf, b"/Encrypt") {
                report.add(
                    "6.1.3",
                    "the file is encrypted; PDF/A forbids encryption, so write it without /Encrypt",
                );
            }
            report.add("6.1.1", format!("the file cannot be parsed ({error}); repair or regenerate it"));
            return report;
        }
    };
    check_trailer(pdf, &document, &mut report);
    check_streams(pdf, &document, &mut report);
    check_actions(&document, &mut report);
    let conformance = check_metadata(&document, &mut report);
    let intent = check_output_intents(&document, &mut report);
    check_pages(&document, intent, conformance.as_deref(), &mut report);
    report
}

/// 6.1.2: `%PDF-1.n` and a comment line with at least four bytes above 127.
fn check_header(pdf: &[u8], report: &mut CheckReport) {
    let version_ok = pdf.len() >= 8 && pdf.starts_with(b"%PDF-1.") && (b'0'..=b'7').contains(&pdf[7]);
    if !version_ok {
        report.add("6.1.2", "the file does not start with %PDF-1.0 .. %PDF-1.7; write a PDF 1.x header");
        return;
    }
    let after_header = pdf.iter().position(|&b| b == b'\n' || b == b'\r').map(|end| {
        let rest = &pdf[end..];
        let skip = rest.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
        &rest[skip..]
    });
    let binary_ok = after_header.is_some_and(|line| {
        line.first() == Some(&b'%') && line.iter().skip(1).take(4).filter(|&&b| b > 127).count() == 4
    });
    if !binary_ok {
        report.add(
            "6.1.2",
            "the header is not followed by a comment of four bytes above 127; add the binary comment line",
        );
    }
}

/// 6.1.3: nothing but one end-of-line marker after the last `%%EOF`.
fn check_end_of_file(pdf: &[u8], report: &mut CheckReport) {
    let Some(position) = rfind(pdf, b"%%EOF") else {
        report.add("6.1.3", "the file has no %%EOF marker; it is truncated, regenerate it");
        return;
    };
    let tail = &pdf[position + 5..];
    if !matches!(tail, b"" | b"\n" | b"\r" | b"\r\n") {
        report.add("6.1.3", format!("{} bytes follow the last %%EOF; cut the file after %%EOF", tail.len()));
    }
}

/// 6.1.3: a trailer `/ID` with two strings and no encryption.
fn check_trailer(pdf: &[u8], document: &Document, report: &mut CheckReport) {
    let id_ok = document
        .trailer
        .get(b"ID")
        .and_then(|id| document.dereference(id))
        .and_then(|(_, id)| id.as_array())
        .is_ok_and(|id| id.len() == 2 && id.iter().all(|part| matches!(part, Object::String(..))));
    if !id_ok {
        report.add("6.1.3", "the trailer has no /ID of two strings; write the file with a document id");
    }
    // lopdf decrypts on load and removes /Encrypt from the trailer, so look at what it saw and at the bytes.
    let trailer_encrypt = rfind(pdf, b"trailer").is_some_and(|start| contains(&pdf[start..], b"/Encrypt"));
    if document.trailer.has(b"Encrypt")
        || document.was_encrypted()
        || document.is_encrypted()
        || trailer_encrypt
    {
        report.add("6.1.3", "the file is encrypted; PDF/A forbids encryption, so write it without /Encrypt");
    }
}

/// 6.1.7: exact `/Length`, no external streams, no LZW.
fn check_streams(pdf: &[u8], document: &Document, report: &mut CheckReport) {
    for (&id, object) in &document.objects {
        let Object::Stream(stream) = object else { continue };
        if ["F", "FFilter", "FDecodeParms"].iter().any(|key| stream.dict.has(key.as_bytes())) {
            report.add(
                "6.1.7.1",
                format!("stream {} refers to an external file (/F); embed the data instead", id.0),
            );
        }
        if filter_names(document, &stream.dict).iter().any(|name| name == b"LZWDecode") {
            report.add("6.1.7.2", format!("stream {} uses LZWDecode; recompress it with FlateDecode", id.0));
        }
        check_stream_length(pdf, document, id, report);
    }
}

/// Compares the declared `/Length` with the bytes between `stream` and `endstream` in the file.
fn check_stream_length(pdf: &[u8], document: &Document, id: ObjectId, report: &mut CheckReport) {
    let Some(XrefEntry::Normal { offset, .. }) = document.reference_table.get(id.0) else { return };
    let Some(start) = stream_data_start(pdf, *offset as usize) else {
        report.add(
            "6.1.7.1",
            format!(
                "stream {} has no `stream` keyword followed by an end of line; regenerate the file",
                id.0
            ),
        );
        return;
    };
    // lopdf replaces a wrong direct /Length with the length it found, so read the declared one from the bytes.
    let declared = declared_length(&pdf[*offset as usize..start], document);
    let ends_at = |end: usize| {
        pdf.get(end..).is_some_and(|rest| {
            // PDF/A counts the bytes up to the end-of-line marker that must precede `endstream`.
            let skip = if rest.starts_with(b"\r\n") {
                2
            } else {
                usize::from(rest.starts_with(b"\n") || rest.starts_with(b"\r"))
            };
            skip > 0 && rest[skip..].starts_with(b"endstream")
        })
    };
    if declared.is_some_and(|length| start.checked_add(length).is_some_and(ends_at)) {
        return;
    }
    let actual = find(&pdf[start..], b"endstream").map(|end| {
        let data = &pdf[start..start + end];
        data.len()
            - if data.ends_with(b"\r\n") {
                2
            } else {
                usize::from(data.ends_with(b"\n") || data.ends_with(b"\r"))
            }
    });
    let declared =
        declared.map_or_else(|| "no valid /Length".to_string(), |length| format!("/Length {length}"));
    let actual = actual.map_or_else(|| "no endstream".to_string(), |length| format!("{length} bytes"));
    report.add(
        "6.1.7.1",
        format!(
            "stream {} declares {declared} but holds {actual}; rewrite the file with exact lengths",
            id.0
        ),
    );
}

/// The `/Length` written in a stream's dictionary text: a direct integer, or `N G R` resolved through
/// the document (indirect lengths are separate objects, which lopdf leaves as they are).
fn declared_length(dictionary: &[u8], document: &Document) -> Option<usize> {
    let mut from = 0;
    let after_key = loop {
        let at = from + find(&dictionary[from..], b"/Length")?;
        let after = at + 7;
        if dictionary.get(after).is_some_and(|b| b.is_ascii_whitespace() || b"/<[(".contains(b)) {
            break after;
        }
        from = after;
    };
    let text = std::str::from_utf8(&dictionary[after_key..]).ok().or_else(|| {
        // Binary bytes later in the dictionary are no concern; only the tokens after the key are read.
        let end = dictionary[after_key..].iter().position(|b| !b.is_ascii()).unwrap_or(0);
        std::str::from_utf8(&dictionary[after_key..after_key + end]).ok()
    })?;
    let mut tokens =
        text.split(|c: char| c.is_ascii_whitespace() || "/<>[]()".contains(c)).filter(|t| !t.is_empty());
    let first: u64 = tokens.next()?.parse().ok()?;
    let mut rest = tokens.clone();
    if let (Some(generation), Some("R")) = (rest.next(), rest.next())
        && let Ok(generation) = generation.parse::<u16>()
    {
        let id = (u32::try_from(first).ok()?, generation);
        let length = document.get_object(id).ok()?.as_i64().ok()?;
        return usize::try_from(length).ok();
    }
    usize::try_from(first).ok()
}

/// The offset of a stream's first data byte: after the first `stream` keyword (not `endstream`) from
/// the object's offset, and the CRLF or LF that must follow it.
fn stream_data_start(pdf: &[u8], offset: usize) -> Option<usize> {
    let mut from = offset;
    loop {
        let at = from + find(pdf.get(from..)?, b"stream")?;
        let keyword_end = at + 6;
        let standalone = at == 0 || !pdf[at - 1].is_ascii_alphanumeric();
        if standalone {
            let rest = pdf.get(keyword_end..)?;
            if rest.starts_with(b"\r\n") {
                return Some(keyword_end + 2);
            }
            if rest.starts_with(b"\n") {
                return Some(keyword_end + 1);
            }
        }
        from = keyword_end;
    }
}

fn filter_names(document: &Document, dict: &Dictionary) -> Vec<Vec<u8>> {
    let Ok((_, filter)) = dict.get(b"Filter").and_then(|filter| document.dereference(filter)) else {
        return Vec::new();
    };
    match filter {
        Object::Name(name) => vec![name.clone()],
        Object::Array(names) => {
            names.iter().filter_map(|name| name.as_name().ok().map(<[u8]>::to_vec)).collect()
        }
        _ => Vec::new(),
    }
}

/// 6.5.1/6.5.2: no JavaScript, Launch and the other forbidden actions, no additional-actions entries
/// on the catalog or pages.
/// Actions PDF/A-2 forbids (ISO 19005-2, 6.5.1); the normaliser refuses the same ones.
pub(crate) const FORBIDDEN_ACTIONS: [&[u8]; 11] = [
    b"Launch",
    b"Sound",
    b"Movie",
    b"ResetForm",
    b"ImportData",
    b"Hide",
    b"SetOCGState",
    b"Rendition",
    b"Trans",
    b"GoTo3DView",
    b"JavaScript",
];

fn check_actions(document: &Document, report: &mut CheckReport) {
    for (&id, object) in &document.objects {
        let dict = match object {
            Object::Dictionary(dict) => dict,
            Object::Stream(stream) => &stream.dict,
            _ => continue,
        };
        if dict.has(b"JS") {
            report.add("6.5.1", format!("object {} holds JavaScript; remove it", id.0));
        }
        if let Ok(kind) = dict.get(b"S").and_then(Object::as_name)
            && FORBIDDEN_ACTIONS.contains(&kind)
        {
            report.add(
                "6.5.1",
                format!(
                    "object {} is a {} action, which PDF/A forbids; remove it",
                    id.0,
                    String::from_utf8_lossy(kind)
                ),
            );
        }
        let is_catalog_or_page = dict.get_type().is_ok_and(|t| t == b"Catalog" || t == b"Page");
        if is_catalog_or_page && dict.has(b"AA") {
            report.add("6.5.2", format!("object {} has additional actions (/AA); remove them", id.0));
        }
    }
}

/// 6.6.2.1 and 6.6.4: a catalog `/Metadata` XMP stream in UTF-8 naming part 2 and a conformance level.
/// Returns the claimed conformance letter.
fn check_metadata(document: &Document, report: &mut CheckReport) -> Option<String> {
    let metadata = document
        .catalog()
        .ok()
        .and_then(|catalog| catalog.get(b"Metadata").ok())
        .and_then(|metadata| document.dereference(metadata).ok())
        .and_then(|(_, metadata)| metadata.as_stream().ok());
    let Some(metadata) = metadata else {
        report.add(
            "6.6.2.1",
            "the catalog has no /Metadata stream; add an XMP packet with pdfaid:part and pdfaid:conformance",
        );
        return None;
    };
    let bytes = if metadata.dict.has(b"Filter") {
        metadata.decompressed_content().ok()
    } else {
        Some(metadata.content.clone())
    };
    let Some(text) = bytes.and_then(|bytes| String::from_utf8(bytes).ok()) else {
        report.add("6.6.2.1", "the /Metadata stream is not readable UTF-8; write the XMP packet in UTF-8");
        return None;
    };
    if !text.contains("x:xmpmeta") && !text.contains("rdf:RDF") {
        report.add("6.6.2.1", "the /Metadata stream is not an XMP packet; write an XMP packet");
    }
    report.claimed_part = xmp_property(&text, "pdfaid:part");
    report.claimed_conformance = xmp_property(&text, "pdfaid:conformance");
    if report.claimed_part.as_deref() != Some("2") {
        report.add(
            "6.6.4",
            format!("the XMP claims pdfaid:part {:?}, not 2; write pdfaid:part 2", report.claimed_part),
        );
    }
    if !matches!(report.claimed_conformance.as_deref(), Some("A" | "B" | "U")) {
        report.add(
            "6.6.4",
            format!("the XMP claims pdfaid:conformance {:?}; write A, B or U", report.claimed_conformance),
        );
    }
    report.claimed_conformance.clone()
}

/// The value of a simple XMP property written as an element or as an attribute.
pub(crate) fn xmp_property(xmp: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    if let Some(start) = xmp.find(&open).map(|at| at + open.len()) {
        let end = xmp[start..].find('<')?;
        return Some(xmp[start..start + end].trim().to_string());
    }
    let attribute = format!("{name}=");
    let start = xmp.find(&attribute)? + attribute.len();
    let quote = xmp[start..].chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value_start = start + 1;
    let end = xmp[value_start..].find(quote)?;
    Some(xmp[value_start..value_start + end].trim().to_string())
}

/// The colour model of the PDF/A OutputIntent, from the ICC header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IntentColour {
    Gray,
    Rgb,
    Cmyk,
    Other,
}

/// 6.2.3: `/OutputIntents` with GTS_PDFA1 and an ICC profile of version < 5 whose colour space matches
/// `/N`; all GTS_PDFA1 intents share one profile.
fn check_output_intents(document: &Document, report: &mut CheckReport) -> Option<IntentColour> {
    let intents = document
        .catalog()
        .ok()
        .and_then(|catalog| catalog.get(b"OutputIntents").ok())
        .and_then(|intents| document.dereference(intents).ok())
        .and_then(|(_, intents)| intents.as_array().ok());
    let mut profiles = BTreeSet::new();
    let mut colour = None;
    for intent in intents.into_iter().flatten() {
        let Ok((_, Object::Dictionary(intent))) = document.dereference(intent) else { continue };
        if intent.get(b"S").and_then(Object::as_name).ok() != Some(b"GTS_PDFA1".as_slice()) {
            continue;
        }
        let Ok(profile_ref) = intent.get(b"DestOutputProfile") else {
            report.add("6.2.3", "the GTS_PDFA1 OutputIntent has no DestOutputProfile; embed an ICC profile");
            continue;
        };
        profiles.insert(format!("{profile_ref:?}"));
        let Ok((_, Object::Stream(profile))) = document.dereference(profile_ref) else {
            report.add("6.2.3", "the OutputIntent's DestOutputProfile is not a stream; embed an ICC profile");
            continue;
        };
        let data = if profile.dict.has(b"Filter") {
            profile.decompressed_content().ok()
        } else {
            Some(profile.content.clone())
        };
        let Some(header) = data.filter(|data| data.len() >= 128 && &data[36..40] == b"acsp") else {
            report
                .add("6.2.3", "the OutputIntent's profile is not an ICC profile; embed a valid ICC profile");
            continue;
        };
        if header[8] >= 5 {
            report.add(
                "6.2.3",
                format!(
                    "the OutputIntent's ICC profile has version {}; use a version 2 or 4 profile",
                    header[8]
                ),
            );
        }
        let (profile_colour, components) = match &header[16..20] {
            b"GRAY" => (IntentColour::Gray, 1),
            b"RGB " => (IntentColour::Rgb, 3),
            b"CMYK" => (IntentColour::Cmyk, 4),
            _ => (IntentColour::Other, 0),
        };
        if profile.dict.get(b"N").and_then(Object::as_i64).ok() != Some(components) {
            report.add("6.2.3", "the OutputIntent's profile /N does not match its colour space; correct /N");
        }
        colour = Some(profile_colour);
    }
    if profiles.len() > 1 {
        report.add("6.2.3", "the GTS_PDFA1 OutputIntents use different profiles; keep one profile");
    }
    colour
}

/// 6.2.4.3, 6.2.8, 6.2.11.4.1, 6.2.11.7.2: device colours need a matching OutputIntent, images must
/// not interpolate, fonts used visibly must be embedded, and for level U/A every used font needs
/// `/ToUnicode`.
fn check_pages(
    document: &Document,
    intent: Option<IntentColour>,
    conformance: Option<&str>,
    report: &mut CheckReport,
) {
    let mut device_colours = BTreeSet::new();
    for (&id, object) in &document.objects {
        let Object::Stream(stream) = object else { continue };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Image".as_slice()) {
            continue;
        }
        if stream.dict.get(b"Interpolate").and_then(Object::as_bool).ok() == Some(true) {
            report.add("6.2.8", format!("image {} sets /Interpolate true; set it to false", id.0));
        }
        if let Ok(colour_space) = stream.dict.get(b"ColorSpace") {
            collect_device_colours(document, colour_space, &mut device_colours, 0);
        }
    }
    let needs_unicode = matches!(conformance, Some("U" | "A"));
    for (number, page_id) in document.get_pages() {
        let usage = page_usage(document, page_id);
        device_colours.extend(usage.device_colours.iter().copied());
        if usage.interpolated_inline_images > 0 {
            report.add(
                "6.2.8",
                format!(
                    "page {number}: {} inline images set /Interpolate true; set it to false",
                    usage.interpolated_inline_images
                ),
            );
        }
        for font in &usage.fonts {
            let label = String::from_utf8_lossy(&font.resource);
            if font.visible && !font_is_embedded(document, font.font) {
                report.add(
                    "6.2.11.4.1",
                    format!("page {number}: font /{label} is not embedded; embed the font program"),
                );
            }
            if needs_unicode && !font.font.has(b"ToUnicode") {
                report.add("6.2.11.7.2", format!("page {number}: font /{label} has no /ToUnicode; add a ToUnicode CMap (required for level U)"));
            }
        }
    }
    for colour in device_colours {
        let allowed = match colour {
            "DeviceGray" => intent.is_some(),
            "DeviceRGB" => intent == Some(IntentColour::Rgb),
            _ => intent == Some(IntentColour::Cmyk),
        };
        if !allowed {
            report.add(
                "6.2.4.3",
                format!(
                    "{colour} is used without a matching PDF/A OutputIntent; add one or use ICC-based colour"
                ),
            );
        }
    }
    if intent.is_none() && !report.violates("6.2.4.3") && !report.violates("6.2.3") {
        // Not a violation on its own when no device colour is used, but every scan uses one; say so.
        report.add(
            "6.2.3",
            "the catalog has no GTS_PDFA1 OutputIntent; add one with an sRGB or Gray ICC profile",
        );
    }
}

/// Whether a font's program is in the file. Type3 fonts are made of content streams and count as
/// embedded; Type0 fonts are judged by their descendant.
pub(crate) fn font_is_embedded(document: &Document, font: &Dictionary) -> bool {
    let subtype = font.get(b"Subtype").and_then(Object::as_name).unwrap_or_default();
    if subtype == b"Type3" {
        return true;
    }
    let font = if subtype == b"Type0" {
        let descendant = font
            .get(b"DescendantFonts")
            .and_then(|fonts| document.dereference(fonts))
            .and_then(|(_, fonts)| fonts.as_array())
            .ok()
            .and_then(|fonts| fonts.first())
            .and_then(|descendant| document.dereference(descendant).ok())
            .and_then(|(_, descendant)| descendant.as_dict().ok());
        match descendant {
            Some(descendant) => descendant,
            None => return false,
        }
    } else {
        font
    };
    font.get(b"FontDescriptor")
        .and_then(|descriptor| document.dereference(descriptor))
        .and_then(|(_, descriptor)| descriptor.as_dict())
        .is_ok_and(|descriptor| {
            ["FontFile", "FontFile2", "FontFile3"].iter().any(|key| descriptor.has(key.as_bytes()))
        })
}

/// Byte-string search, shared with the normaliser.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

pub(crate) fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|window| window == needle)
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::OcrWord;
    use crate::page::{Dpi, Page, PixelRect, QuarterTurns, Raster};
    use crate::pdfa::{DocumentInfo, RenditionPage, write_pdfa};

    /// A valid PDF/A-2u rendition of a small grey page with one word, the base every broken file is cut from.
    fn valid_pdf() -> Vec<u8> {
        let page = Page {
            raster: Raster::Gray(image::GrayImage::from_pixel(300, 400, image::Luma([200]))),
            dpi: Dpi::uniform(100.0),
            embedded: None,
        };
        let words = [OcrWord {
            text: "Grüße".into(),
            bounds: PixelRect { x0: 10, y0: 10, x1: 100, y1: 40 },
            confidence: 90.0,
            line: 0,
        }];
        let info = DocumentInfo {
            title: "Test".into(),
            author: None,
            creator_tool: "registratur test".into(),
            created_unix_seconds: 0,
            document_id: [7; 16],
        };
        write_pdfa(&[RenditionPage { page: &page, turns: QuarterTurns::NONE, words: &words }], &info)
            .expect("written")
    }

    /// Replaces `from` with `to` (same length, so every offset stays right) exactly once.
    fn replace(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len(), "replacements keep offsets");
        let at = find(pdf, from.as_bytes()).unwrap_or_else(|| panic!("{from} is in the file"));
        let mut broken = pdf.to_vec();
        broken[at..at + from.len()].copy_from_slice(to.as_bytes());
        broken
    }

    fn assert_violates(pdf: &[u8], rule: &str) {
        let report = check(pdf);
        assert!(report.violates(rule), "expected a {rule} violation, got {:#?}", report.violations);
    }

    #[test]
    fn the_writers_output_is_valid_and_claims_2u() {
        let report = check(&valid_pdf());
        assert!(report.is_valid(), "{:#?}", report.violations);
        assert_eq!(report.claimed_part.as_deref(), Some("2"));
        assert_eq!(report.claimed_conformance.as_deref(), Some("U"));
    }

    #[test]
    fn missing_trailer_id_is_reported() {
        let pdf = valid_pdf();
        let start = find(&pdf, b"/ID [").expect("id");
        let end = start + find(&pdf[start..], b"]").expect("id end") + 1;
        let mut broken = pdf.clone();
        broken[start..end].fill(b' ');
        assert_violates(&broken, "6.1.3");
    }

    #[test]
    fn encryption_is_reported() {
        let pdf = valid_pdf();
        let start = find(&pdf, b"/ID [").expect("id");
        let end = start + find(&pdf[start..], b"]").expect("id end") + 1;
        let mut broken = pdf.clone();
        broken[start..end].fill(b' ');
        broken[start..start + 16].copy_from_slice(b"/Encrypt 5 0 R  ");
        let report = check(&broken);
        assert!(
            report.violations.iter().any(|v| v.rule == "6.1.3" && v.message.contains("encrypted")),
            "{:#?}",
            report.violations
        );
    }

    #[test]
    fn wrong_stream_length_is_reported() {
        let pdf = valid_pdf();
        let broken = replace(&pdf, "/Length1 572 /Length 572", "/Length1 572 /Length 571");
        assert_violates(&broken, "6.1.7.1");
        let broken = replace(&pdf, "/Length1 572 /Length 572", "/Length1 572 /Length 573");
        let report = check(&broken);
        assert!(
            report.violations.iter().any(|v| v.message.contains("/Length 573 but holds 572 bytes")),
            "{:#?}",
            report.violations
        );
    }

    #[test]
    fn lzw_filter_is_reported() {
        let broken = replace(&valid_pdf(), "/Filter /FlateDecode /Length", "/Filter /LZWDecode   /Length");
        assert_violates(&broken, "6.1.7.2");
    }

    #[test]
    fn missing_output_intent_is_reported() {
        let broken = replace(&valid_pdf(), "/OutputIntents", "/OutputIntentX");
        assert_violates(&broken, "6.2.4.3");
    }

    #[test]
    fn data_after_eof_is_reported_but_one_line_end_is_allowed() {
        let mut pdf = valid_pdf();
        assert!(pdf.ends_with(b"%%EOF\n"));
        pdf.extend_from_slice(b"junk");
        assert_violates(&pdf, "6.1.3");
    }

    #[test]
    fn missing_to_unicode_is_reported_for_level_u() {
        let broken = replace(&valid_pdf(), "/ToUnicode", "/ToUnicodX");
        assert_violates(&broken, "6.2.11.7.2");
    }

    #[test]
    fn missing_font_program_is_reported_only_for_visible_text() {
        let invisible = replace(&valid_pdf(), "/FontFile2", "/FontFileX");
        assert!(check(&invisible).is_valid(), "mode-3 text needs no embedded font");
        // Visible text needs its font program: a hand-made page shows text in Helvetica, not embedded.
        let visible = hand_made_visible_text_pdf();
        assert_violates(&visible, "6.2.11.4.1");
    }

    #[test]
    fn interpolated_inline_images_are_reported() {
        let pdf = hand_made_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Resources << >> /Contents 4 0 R >>"
                .to_string(),
            stream_object("", "q 100 0 0 100 0 0 cm BI /W 1 /H 1 /CS /G /BPC 8 /I true ID A EI Q"),
        ]);
        let report = check(&pdf);
        assert!(
            report.violations.iter().any(|v| v.rule == "6.2.8" && v.message.contains("inline image")),
            "{:#?}",
            report.violations
        );
    }

    #[test]
    fn fonts_in_forms_and_annotation_appearances_are_checked() {
        for in_annotation in [false, true] {
            let report = check(&hand_made_form_text_pdf(in_annotation));
            assert!(
                report
                    .violations
                    .iter()
                    .any(|v| v.rule == "6.2.11.4.1" && v.message.contains("/F1 is not embedded")),
                "annotation {in_annotation}: {:#?}",
                report.violations
            );
        }
    }

    /// A minimal file with visible text in a non-embedded Helvetica.
    fn hand_made_visible_text_pdf() -> Vec<u8> {
        let content = "BT /F1 12 Tf 10 10 Td (Hallo) Tj ET";
        hand_made_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
            stream_object("", content),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        ])
    }

    fn stream_object(entries: &str, content: &str) -> String {
        format!("<< {entries} /Length {} >>\nstream\n{content}\nendstream", content.len())
    }

    /// The same Helvetica text, drawn only through a Form XObject (`in_annotation` false) or only in a
    /// stamp annotation's appearance stream (true); the page content itself shows no text.
    fn hand_made_form_text_pdf(in_annotation: bool) -> Vec<u8> {
        let form = stream_object(
            "/Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /Font << /F1 5 0 R >> >>",
            "BT /F1 12 Tf 10 10 Td (Hallo) Tj ET",
        );
        let (page, content) = if in_annotation {
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Resources << >> /Contents 4 0 R /Annots [7 0 R] >>",
                "0 0 m",
            )
        } else {
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Resources << /XObject << /Fm1 6 0 R >> >> /Contents 4 0 R >>",
                "q /Fm1 Do Q",
            )
        };
        hand_made_pdf(&[
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            page.to_string(),
            stream_object("", content),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
            form,
            "<< /Type /Annot /Subtype /Stamp /F 4 /Rect [0 0 100 100] /AP << /N 6 0 R >> >>".to_string(),
        ])
    }

    /// Objects 1.. in order, a classic xref table and a trailer with an /ID.
    fn hand_made_pdf(objects: &[String]) -> Vec<u8> {
        let mut pdf = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::new();
        for (index, body) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", index + 1).as_bytes());
        }
        let xref = pdf.len();
        pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for offset in offsets {
            pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        pdf.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R /ID [<00> <00>] >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        pdf
    }

    #[test]
    fn interpolation_javascript_header_and_metadata_are_reported() {
        let pdf = valid_pdf();
        assert_violates(&replace(&pdf, "/Interpolate false", "/Interpolate true "), "6.2.8");
        assert_violates(&replace(&pdf, "/Creator", "/JS     "), "6.5.1");
        assert_violates(&replace(&pdf, "%PDF-1.7", "%PDF-2.0"), "6.1.2");
        assert_violates(&replace(&pdf, "<pdfaid:part>2<", "<pdfaid:part>3<"), "6.6.4");
        assert_violates(&replace(&pdf, "/Metadata 3 0 R", "/Metadatx 3 0 R"), "6.6.2.1");
        let hand_made = hand_made_visible_text_pdf();
        assert_violates(&hand_made, "6.6.2.1");
    }
}
