//! Format migration of born-digital PDFs: a PDF that is not PDF/A becomes PDF/A-2b when its content
//! allows it, and is refused with a reason a person can act on when it does not.
//!
//! The content itself is never rewritten: page content streams, fonts and images keep their bytes, so
//! the pages look exactly as before. What changes is the file around them, and only in ways that cannot
//! alter the appearance: LZW streams are re-encoded with Flate (lossless), `/Interpolate true` becomes
//! false, the XMP packet (claiming PDF/A-2b), the Info dictionary and an sRGB OutputIntent are written
//! from the record's [`DocumentInfo`], the trailer gets the document id, and the whole file is written
//! anew with a classic cross-reference table: one revision, renumbered objects, unreachable objects
//! (old revisions, object and cross-reference streams, linearisation hints) dropped, exact stream
//! lengths, a `%PDF-1.7` header with the binary comment line, and nothing after `%%EOF`. Each fix is
//! listed in [`Normalized::changes`] for the journal.
//!
//! What cannot be fixed without changing what the document is or shows is refused with
//! [`NormalizeError::NeedsHuman`]: fonts that are not embedded (embedding a substitute would change
//! the glyphs), digital signatures (rewriting breaks them), JavaScript and other forbidden actions,
//! XFA forms, embedded files that are not PDF/A,
//! hidden or appearance-less annotations, DeviceCMYK colour (the added OutputIntent is RGB), external
//! stream data and PDF 2.0 sources. The structural checker ([`super::check`]) is the last gate: an
//! output it rejects is never returned.
//!
//! [`compare_rendered`] renders source and output with poppler and reports per-page pixel differences,
//! for the migration's validation gate. Because the page content is untouched, a faithful conversion
//! //! renders pixel-identical, so the gate should demand tolerance 0: any difference means an object was
//! lost or mangled, and a "small" tolerance would hide exactly that (a missing word is a few dozen
//! pixels). The one fix that moves pixels is dropping `/Interpolate`: poppler smooths upscaled images
//! when it is set, and a 4x4 image drawn over 400 pt differs by up to 79 levels in 72,941 of 242,190
//! pixels at 50 dpi (measured in the tests). The gate therefore renders [`comparison_reference`] of
//! the source (the same bytes with the hint switched off) and still demands tolerance 0.
//!
//! Known gaps: optional content configurations, transparency blend modes, Separation/DeviceN
//! alternates and glyph widths are not checked; embedded files must be PDF/A-2 (PDF/A-1 attachments,
//! which PDF/A-2 would allow, are refused); numbers in dictionaries pass through lopdf's `f32`
//! (content streams are copied as bytes, so only values outside content, such as a `/MediaBox` with
//! more than seven significant digits, can round).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};

use super::check::{FORBIDDEN_ACTIONS, check, contains, find, font_is_embedded, rfind};
use super::usage::{collect_device_colours, page_usage};
use super::writer::{ICC_REGISTRY, SRGB_CONDITION, srgb_profile_flate};
use super::xmp::{self, PdfText};
use super::{Conformance, DocumentInfo};
use crate::decode::Limits;
use crate::decode::render::render_page;

/// The most a single stream may decode to while the normaliser re-encodes or inspects it. Content
/// streams of real documents are far smaller; a larger one is a bomb, not correspondence.
const MAX_DECODED_STREAM: usize = 256 << 20;

/// Annotation types PDF/A-2 forbids (6.3.1).
const FORBIDDEN_ANNOTATIONS: [&[u8]; 5] = [b"Sound", b"Movie", b"Screen", b"3D", b"RichMedia"];

/// Annotation flags (ISO 32000-1, 12.5.3).
const FLAG_INVISIBLE: i64 = 1;
const FLAG_HIDDEN: i64 = 2;
const FLAG_PRINT: i64 = 4;
const FLAG_NO_VIEW: i64 = 32;
const FLAG_TOGGLE_NO_VIEW: i64 = 256;

/// Why a PDF could not be normalised. `NeedsHuman` is not a failure of the file: it says what a person
/// has to decide or re-export.
#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    #[error("the PDF is encrypted; PDF/A forbids encryption, so ask the sender for an unprotected copy")]
    Encrypted,
    #[error("the PDF is damaged or truncated ({0}); ask the sender for an intact copy")]
    Corrupt(String),
    #[error("the PDF cannot become PDF/A-2b automatically: {reason}")]
    NeedsHuman { reason: String },
}

/// A PDF/A-2b file made from a PDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// The new file.
    pub pdf: Vec<u8>,
    /// Its page count (equal to the source's).
    pub pages: u32,
    /// What was fixed, one sentence each, for the migration event in the journal.
    pub changes: Vec<String>,
}

/// Converts the PDF `bytes` to PDF/A-2b, writing the XMP packet and Info dictionary from `info` (the
/// record's metadata, not the source's, so that both agree). Deterministic: the same bytes and info
/// give the same output.
pub fn normalize_to_pdfa2b(bytes: &[u8], info: &DocumentInfo) -> Result<Normalized, NormalizeError> {
    let mut changes = Vec::new();
    let source = inspect_bytes(bytes, &mut changes)?;
    let mut document = load(bytes)?;
    let page_ids: Vec<ObjectId> = document.get_pages().into_values().collect();
    if page_ids.is_empty() {
        return Err(NormalizeError::Corrupt("the page tree holds no pages".into()));
    }
    let had_id = document.trailer.has(b"ID");
    let revisions = document.revision_count();
    if revisions > 1 {
        changes.push(format!("merged {revisions} revisions (incremental updates) into one"));
    }

    let mut problems = Problems::default();
    find_forbidden_content(&document, &mut problems);
    let annotation_fixes = inspect_annotations(&document, &page_ids, &mut problems);
    inspect_page_content(&document, &page_ids, &mut problems);
    if let Some(reason) = problems.reason() {
        return Err(NormalizeError::NeedsHuman { reason });
    }

    apply_annotation_fixes(&mut document, annotation_fixes, &mut changes);
    fix_streams(&mut document, &mut changes)?;
    let root = document
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| NormalizeError::Corrupt("the trailer names no document catalog".into()))?;
    let info_id = add_metadata(&mut document, root, info, &mut changes)?;
    if source.version != "1.7" {
        changes.push(format!("wrote the header %PDF-1.7 instead of %PDF-{}", source.version));
    }
    changes.push(if had_id {
        "replaced the trailer /ID with the document id".to_string()
    } else {
        "added a trailer /ID from the document id".to_string()
    });

    let (pdf, dropped) = serialize(&document, root, info_id, &info.document_id);
    if dropped > 0 {
        changes.push(format!("dropped {dropped} unreachable objects"));
    }
    changes.push("wrote the file anew with exact stream lengths and a cross-reference table".into());

    let report = check(&pdf);
    if !report.is_valid() {
        let broken: Vec<String> = report
            .violations
            .iter()
            .map(|violation| format!("{}: {}", violation.rule, violation.message))
            .collect();
        return Err(NormalizeError::NeedsHuman {
            reason: format!("the converted file still breaks PDF/A-2 rules ({})", broken.join("; ")),
        });
    }
    Ok(Normalized { pdf, pages: page_ids.len() as u32, changes })
}

/// What the raw bytes say before parsing.
struct SourceBytes {
    /// The header version, e.g. `1.4`.
    version: String,
}

/// Looks at the header and the end of the file, where lopdf would hide problems: a missing `%%EOF` is
/// a truncated file, bytes after it are dropped, and PDF 2.0 is refused.
fn inspect_bytes(bytes: &[u8], changes: &mut Vec<String>) -> Result<SourceBytes, NormalizeError> {
    let head = &bytes[..bytes.len().min(1024)];
    let Some(start) = find(head, b"%PDF-") else {
        return Err(NormalizeError::Corrupt("there is no %PDF- header; the file is not a PDF".into()));
    };
    let version: String = bytes[start + 5..]
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .map(|&b| char::from(b))
        .collect();
    if version.starts_with('2') {
        return Err(NormalizeError::NeedsHuman {
            reason: format!(
                "the file is PDF {version}, whose features PDF/A-2 (based on PDF 1.7) may not allow; \
                 re-export it as PDF 1.7 or PDF/A"
            ),
        });
    }
    if !(version.starts_with("1.") && version.len() == 3) {
        return Err(NormalizeError::Corrupt(format!("the header names no PDF 1.x version ({version:?})")));
    }
    let Some(eof) = rfind(bytes, b"%%EOF") else {
        return Err(NormalizeError::Corrupt("there is no %%EOF marker, so the file is cut short".into()));
    };
    // One end-of-line marker after `%%EOF` is allowed; anything beyond it is dropped.
    let tail = &bytes[eof + 5..];
    let line_end =
        if tail.starts_with(b"\r\n") { 2 } else { usize::from(matches!(tail.first(), Some(b'\n' | b'\r'))) };
    if tail.len() > line_end {
        changes.push(format!("dropped {} bytes after the last %%EOF", tail.len() - line_end));
    }
    let after_header = &bytes[start..];
    let binary = after_header
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|end| {
            let rest = &after_header[end..];
            let skip = rest.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
            &rest[skip..]
        })
        .is_some_and(|line| line.first() == Some(&b'%') && line.iter().skip(1).take(4).all(|&b| b > 127));
    if !binary {
        changes.push("added the binary comment line after the header".into());
    }
    Ok(SourceBytes { version })
}

/// Parses the file; encryption of any kind (even with an empty user password, which lopdf removes on
/// its own) is refused, because the archive must be able to open the file without a key.
fn load(bytes: &[u8]) -> Result<Document, NormalizeError> {
    let document = Document::load_mem(bytes).map_err(|error| match error {
        lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword | lopdf::Error::AlreadyEncrypted => {
            NormalizeError::Encrypted
        }
        other => NormalizeError::Corrupt(format!("it cannot be parsed: {other}")),
    })?;
    let raw_encrypt = rfind(bytes, b"trailer").is_some_and(|at| contains(&bytes[at..], b"/Encrypt"));
    if document.is_encrypted() || document.was_encrypted() || document.trailer.has(b"Encrypt") || raw_encrypt
    {
        return Err(NormalizeError::Encrypted);
    }
    Ok(document)
}

/// The reasons collected while inspecting; a few are enough for a person to act, so later ones are
/// counted, not listed.
#[derive(Default)]
struct Problems {
    reasons: BTreeSet<String>,
    order: Vec<String>,
}

impl Problems {
    fn add(&mut self, reason: String) {
        if self.reasons.insert(reason.clone()) {
            self.order.push(reason);
        }
    }

    fn reason(&self) -> Option<String> {
        const SHOWN: usize = 5;
        if self.order.is_empty() {
            return None;
        }
        let mut text = self.order.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("; ");
        if self.order.len() > SHOWN {
            text.push_str(&format!("; and {} more problems", self.order.len() - SHOWN));
        }
        Some(text)
    }
}

/// Document-wide content PDF/A-2 forbids: JavaScript and forbidden actions, additional actions, XFA,
/// `NeedAppearances`, embedded files that are not PDF/A, and stream data kept in external files.
fn find_forbidden_content(document: &Document, problems: &mut Problems) {
    for (&id, object) in &document.objects {
        let dict = match object {
            Object::Dictionary(dict) => dict,
            Object::Stream(stream) => &stream.dict,
            _ => continue,
        };
        inspect_dictionary(document, id, dict, problems, 0);
        let is_signature = dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"Sig".as_slice())
            || dict.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig".as_slice()) && dict.has(b"V");
        if is_signature {
            problems.add(
                "the document is digitally signed, and rewriting it would break the signature; keep \
                 the signed original and decide by hand whether a PDF/A copy is needed"
                    .into(),
            );
        }
        if let Object::Stream(stream) = object {
            if ["F", "FFilter", "FDecodeParms"].iter().any(|key| stream.dict.has(key.as_bytes())) {
                problems.add(format!(
                    "stream {} keeps its data in an external file, which PDF/A forbids; \
                     re-export the document with the data embedded",
                    id.0
                ));
            }
            if stream.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"EmbeddedFile".as_slice()) {
                let embedded_ok = stream
                    .decompressed_content_with_limit(MAX_DECODED_STREAM)
                    .is_ok_and(|data| check(&data).is_valid());
                if !embedded_ok {
                    problems.add(format!(
                        "object {} is an embedded file that is not PDF/A-2, which PDF/A-2 forbids; \
                         remove the attachment or store it as a document of its own",
                        id.0
                    ));
                }
            }
        }
    }
    if let Ok(catalog) = document.catalog()
        && let Some(form) = resolve(document, catalog.get(b"AcroForm").ok()).and_then(|o| o.as_dict().ok())
    {
        if form.has(b"XFA") {
            problems.add(
                "the document holds an XFA form, which PDF/A forbids; print it to PDF from the \
                     form application or ask the sender for a flat PDF"
                    .into(),
            );
        }
        if resolve(document, form.get(b"NeedAppearances").ok()).and_then(|o| o.as_bool().ok()) == Some(true) {
            problems.add(
                "the form asks viewers to draw its fields (NeedAppearances), so the stored file \
                     does not fix their look; flatten the form before archiving"
                    .into(),
            );
        }
    }
}

/// Checks one dictionary (and the dictionaries directly inside it) for actions and JavaScript.
fn inspect_dictionary(
    document: &Document,
    id: ObjectId,
    dict: &Dictionary,
    problems: &mut Problems,
    depth: u32,
) {
    if depth > 8 {
        return;
    }
    if dict.has(b"JS") {
        problems.add(format!("object {} holds JavaScript, which PDF/A forbids; remove the script", id.0));
    }
    if let Ok(kind) = dict.get(b"S").and_then(Object::as_name)
        && FORBIDDEN_ACTIONS.contains(&kind)
        && dict.get(b"Type").and_then(Object::as_name).map_or(true, |t| t == b"Action")
    {
        problems.add(format!(
            "object {} is a {} action, which PDF/A forbids; remove the action",
            id.0,
            String::from_utf8_lossy(kind)
        ));
    }
    if dict.has(b"AA") {
        problems
            .add(format!("object {} has additional actions (/AA), which PDF/A forbids; remove them", id.0));
    }
    if let Ok(names) = dict.get(b"Names").and_then(Object::as_dict).or_else(|_| {
        dict.get(b"Names").and_then(Object::as_reference).and_then(|r| document.get_dictionary(r))
    }) && names.has(b"JavaScript")
    {
        problems.add("the document has document-level JavaScript, which PDF/A forbids; remove it".into());
    }
    for (_, value) in dict.iter() {
        if let Object::Dictionary(inner) = value {
            inspect_dictionary(document, id, inner, problems, depth + 1);
        }
    }
}

/// A fix to make on an annotation after inspection: set its print flag, drop rollover appearances.
struct AnnotationFix {
    id: ObjectId,
    page: u32,
    set_print: bool,
    drop_states: Vec<Vec<u8>>,
}

/// 6.3: forbidden annotation types, hidden annotations and annotations without an appearance need a
/// person; a missing print flag and rollover/down appearances are fixed (neither changes what the
/// page shows).
fn inspect_annotations(
    document: &Document,
    page_ids: &[ObjectId],
    problems: &mut Problems,
) -> Vec<AnnotationFix> {
    let mut fixes = Vec::new();
    for (index, &page_id) in page_ids.iter().enumerate() {
        let page = index as u32 + 1;
        let Ok(page_dict) = document.get_dictionary(page_id) else { continue };
        let Some(annotations) =
            resolve(document, page_dict.get(b"Annots").ok()).and_then(|o| o.as_array().ok())
        else {
            continue;
        };
        for annotation in annotations {
            let Ok(annotation_id) = annotation.as_reference() else {
                if let Ok(dict) = annotation.as_dict() {
                    inspect_annotation(document, None, dict, page, problems, &mut fixes);
                }
                continue;
            };
            if let Ok(dict) = document.get_dictionary(annotation_id) {
                inspect_annotation(document, Some(annotation_id), dict, page, problems, &mut fixes);
            }
        }
    }
    fixes
}

fn inspect_annotation(
    document: &Document,
    id: Option<ObjectId>,
    dict: &Dictionary,
    page: u32,
    problems: &mut Problems,
    fixes: &mut Vec<AnnotationFix>,
) {
    let subtype = dict.get(b"Subtype").and_then(Object::as_name).unwrap_or_default();
    let label = String::from_utf8_lossy(subtype).into_owned();
    if FORBIDDEN_ANNOTATIONS.contains(&subtype) {
        problems.add(format!(
            "page {page} has a {label} annotation, which PDF/A-2 forbids; remove it or flatten the page"
        ));
        return;
    }
    if subtype == b"Popup" {
        return;
    }
    let flags = resolve(document, dict.get(b"F").ok()).and_then(|o| o.as_i64().ok()).unwrap_or(0);
    if flags & (FLAG_INVISIBLE | FLAG_HIDDEN | FLAG_NO_VIEW | FLAG_TOGGLE_NO_VIEW) != 0 {
        problems.add(format!(
            "page {page} has a hidden {label} annotation, which PDF/A forbids; show or remove it"
        ));
        return;
    }
    let appearance = resolve(document, dict.get(b"AP").ok()).and_then(|o| o.as_dict().ok());
    let zero_size = resolve(document, dict.get(b"Rect").ok())
        .and_then(|o| o.as_array().ok())
        .map(|rect| {
            rect.iter().filter_map(|v| resolve(document, Some(v)).and_then(number)).collect::<Vec<f64>>()
        })
        .is_some_and(|rect| rect.len() == 4 && (rect[0] == rect[2] || rect[1] == rect[3]));
    if subtype != b"Link" && !zero_size && appearance.is_none_or(|ap| !ap.has(b"N")) {
        problems.add(format!(
            "page {page} has a {label} annotation without an appearance stream, so its look is up to \
             the viewer; flatten the annotations before archiving"
        ));
        return;
    }
    let drop_states: Vec<Vec<u8>> = appearance
        .map(|ap| ap.iter().map(|(key, _)| key.clone()).filter(|key| key != b"N").collect())
        .unwrap_or_default();
    let set_print = flags & FLAG_PRINT == 0;
    if set_print || !drop_states.is_empty() {
        match id {
            Some(id) => fixes.push(AnnotationFix { id, page, set_print, drop_states }),
            None => problems.add(format!(
                "page {page} has a {label} annotation written inline that lacks the print flag; \
                 re-export the document"
            )),
        }
    }
}

fn apply_annotation_fixes(document: &mut Document, fixes: Vec<AnnotationFix>, changes: &mut Vec<String>) {
    // Documents with links have hundreds of them; the journal gets one line per kind of fix and
    // annotation type, with a count and the pages.
    let mut done: BTreeMap<(&'static str, String), (usize, BTreeSet<u32>)> = BTreeMap::new();
    for fix in fixes {
        // The appearance dictionary may be a separate object; resolve it before borrowing mutably.
        let appearance_id = document
            .get_dictionary(fix.id)
            .ok()
            .and_then(|dict| dict.get(b"AP").ok())
            .and_then(|ap| ap.as_reference().ok());
        let Ok(dict) = document.get_dictionary_mut(fix.id) else { continue };
        let subtype =
            String::from_utf8_lossy(dict.get(b"Subtype").and_then(Object::as_name).unwrap_or_default())
                .into_owned();
        let mut record = |kind: &'static str| {
            let entry = done.entry((kind, subtype.clone())).or_default();
            entry.0 += 1;
            entry.1.insert(fix.page);
        };
        if fix.set_print {
            let flags = dict.get(b"F").and_then(Object::as_i64).unwrap_or(0);
            dict.set("F", Object::Integer(flags | FLAG_PRINT));
            record("set the print flag of");
        }
        if !fix.drop_states.is_empty() {
            let appearance = match appearance_id {
                Some(ap_id) => document.get_dictionary_mut(ap_id).ok(),
                None => document
                    .get_dictionary_mut(fix.id)
                    .ok()
                    .and_then(|dict| dict.get_mut(b"AP").ok())
                    .and_then(|ap| ap.as_dict_mut().ok()),
            };
            if let Some(appearance) = appearance {
                for key in &fix.drop_states {
                    appearance.remove(key);
                }
                record("removed the rollover/down appearances (PDF/A allows only /N) of");
            }
        }
    }
    for ((kind, subtype), (count, pages)) in done {
        const LISTED: usize = 10;
        let mut listed: Vec<String> = pages.iter().take(LISTED).map(u32::to_string).collect();
        if pages.len() > LISTED {
            listed.push(format!("and {} more", pages.len() - LISTED));
        }
        let (noun, page_word) = (
            if count == 1 { "annotation" } else { "annotations" },
            if pages.len() == 1 { "page" } else { "pages" },
        );
        changes.push(format!("{kind} {count} {subtype} {noun} on {page_word} {}", listed.join(", ")));
    }
}

/// Walks what every page draws, including Form XObjects and annotation appearances (see
/// [`super::usage`]): fonts that show visible text must be embedded, and no DeviceCMYK colour may be
/// used, in content or in images (the OutputIntent is RGB).
fn inspect_page_content(document: &Document, page_ids: &[ObjectId], problems: &mut Problems) {
    for (index, &page_id) in page_ids.iter().enumerate() {
        let page = index + 1;
        let usage = page_usage(document, page_id);
        for unreadable in &usage.unreadable {
            problems.add(format!(
                "on page {page} {unreadable}, so its fonts and colours cannot be verified; re-export the document"
            ));
        }
        for font in usage.fonts.iter().filter(|font| font.visible && !font_is_embedded(document, font.font)) {
            problems.add(format!(
                "font {} on page {page} is not embedded; PDF/A needs embedded fonts: re-export the \
                 document with embedded fonts",
                font.name()
            ));
        }
        if usage.interpolated_inline_images > 0 {
            problems.add(format!(
                "page {page} has inline images with /Interpolate true, which PDF/A forbids and which \
                 cannot be changed without rewriting the page content; re-export the document"
            ));
        }
        if usage.device_colours.contains("DeviceCMYK") {
            problems.add(format!(
                "page {page} paints in DeviceCMYK, which PDF/A-2 allows only with a CMYK output intent; \
                 re-export the document in RGB or with ICC-based colour"
            ));
        }
    }
    for (&id, object) in &document.objects {
        let Object::Stream(stream) = object else { continue };
        let mut colours = BTreeSet::new();
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image".as_slice())
            && let Ok(colour_space) = stream.dict.get(b"ColorSpace")
        {
            collect_device_colours(document, colour_space, &mut colours, 0);
        }
        if colours.contains("DeviceCMYK") {
            problems.add(format!(
                "image {} is DeviceCMYK, which PDF/A-2 allows only with a CMYK output intent; \
                 re-export the document in RGB or with ICC-based colour",
                id.0
            ));
        }
    }
}

/// Fixes stream-level problems: `/Interpolate true` becomes false, LZW is re-encoded as Flate.
fn fix_streams(document: &mut Document, changes: &mut Vec<String>) -> Result<(), NormalizeError> {
    let ids: Vec<ObjectId> = document.objects.keys().copied().collect();
    for id in ids {
        let Some(Object::Stream(stream)) = document.objects.get_mut(&id) else { continue };
        if stream.dict.get(b"Interpolate").and_then(Object::as_bool).ok() == Some(true) {
            stream.dict.set("Interpolate", Object::Boolean(false));
            changes.push(format!("object {}: set /Interpolate to false", id.0));
        }
        if reencode_lzw(stream).map_err(|error| {
            NormalizeError::Corrupt(format!("stream {} cannot be decoded ({error})", id.0))
        })? {
            changes.push(format!("object {}: re-encoded the LZW stream with Flate (lossless)", id.0));
        }
    }
    Ok(())
}

/// Replaces the filters up to the last `LZWDecode` with one `FlateDecode` over the same decoded data,
/// keeping any later filters (e.g. `DCTDecode`) and their parameters. Returns whether it changed.
fn reencode_lzw(stream: &mut Stream) -> Result<bool, String> {
    let filters: Vec<Vec<u8>> = match stream.dict.get(b"Filter") {
        Ok(Object::Name(name)) => vec![name.clone()],
        Ok(Object::Array(names)) => {
            names.iter().filter_map(|n| n.as_name().ok().map(<[u8]>::to_vec)).collect()
        }
        _ => return Ok(false),
    };
    let Some(last_lzw) = filters.iter().rposition(|name| name == b"LZWDecode") else { return Ok(false) };
    let params: Vec<Object> = (0..filters.len())
        .map(|index| match stream.dict.get(b"DecodeParms") {
            Ok(Object::Array(params)) => params.get(index).cloned().unwrap_or(Object::Null),
            Ok(dict @ Object::Dictionary(_)) if filters.len() == 1 => dict.clone(),
            _ => Object::Null,
        })
        .collect();
    if params.iter().any(|param| matches!(param, Object::Reference(_))) {
        return Err("its /DecodeParms are indirect objects".into());
    }
    let mut head = Dictionary::new();
    head.set("Filter", Object::Array(filters[..=last_lzw].iter().map(|f| Object::Name(f.clone())).collect()));
    head.set("DecodeParms", Object::Array(params[..=last_lzw].to_vec()));
    let decoded = Stream::new(head, stream.content.clone())
        .decompressed_content_with_limit(MAX_DECODED_STREAM)
        .map_err(|error| error.to_string())?;
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(decoded.len() / 2 + 64), Compression::new(6));
    let encoded =
        encoder.write_all(&decoded).and_then(|()| encoder.finish()).map_err(|error| error.to_string())?;

    let rest_filters = &filters[last_lzw + 1..];
    let rest_params = &params[last_lzw + 1..];
    if rest_filters.is_empty() {
        stream.dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        stream.dict.remove(b"DecodeParms");
    } else {
        let mut names = vec![Object::Name(b"FlateDecode".to_vec())];
        names.extend(rest_filters.iter().map(|f| Object::Name(f.clone())));
        stream.dict.set("Filter", Object::Array(names));
        if rest_params.iter().all(|p| matches!(p, Object::Null)) {
            stream.dict.remove(b"DecodeParms");
        } else {
            let mut all = vec![Object::Null];
            all.extend(rest_params.iter().cloned());
            stream.dict.set("DecodeParms", Object::Array(all));
        }
    }
    stream.set_content(encoded);
    Ok(true)
}

/// Adds the XMP packet, the sRGB OutputIntent and a new Info dictionary; returns the Info's id.
fn add_metadata(
    document: &mut Document,
    root: ObjectId,
    info: &DocumentInfo,
    changes: &mut Vec<String>,
) -> Result<ObjectId, NormalizeError> {
    let mut metadata = Dictionary::new();
    metadata.set("Type", Object::Name(b"Metadata".to_vec()));
    metadata.set("Subtype", Object::Name(b"XML".to_vec()));
    let packet = xmp::packet(info, Conformance::B).into_bytes();
    let metadata_id = document.add_object(Stream::new(metadata, packet).with_compression(false));

    let mut profile = Dictionary::new();
    profile.set("N", Object::Integer(3));
    profile.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    let profile_id =
        document.add_object(Stream::new(profile, srgb_profile_flate().to_vec()).with_compression(false));
    let mut intent = Dictionary::new();
    intent.set("Type", Object::Name(b"OutputIntent".to_vec()));
    intent.set("S", Object::Name(b"GTS_PDFA1".to_vec()));
    intent.set("OutputConditionIdentifier", Object::string_literal(SRGB_CONDITION));
    intent.set("Info", Object::string_literal(SRGB_CONDITION));
    intent.set("RegistryName", Object::string_literal(ICC_REGISTRY));
    intent.set("DestOutputProfile", Object::Reference(profile_id));

    let mut info_dict = Dictionary::new();
    for (key, value) in xmp::info_entries(info) {
        let object = match xmp::pdf_text(&value) {
            PdfText::Ascii(text) => Object::String(text.into_bytes(), StringFormat::Literal),
            PdfText::Utf16(bytes) => Object::String(bytes, StringFormat::Hexadecimal),
        };
        info_dict.set(key, object);
    }
    let info_id = document.add_object(info_dict);

    let catalog = document
        .get_dictionary_mut(root)
        .map_err(|_| NormalizeError::Corrupt("the document catalog is missing".into()))?;
    let had_metadata = catalog.has(b"Metadata");
    catalog.set("Metadata", Object::Reference(metadata_id));
    let had_intents = catalog.remove(b"OutputIntents").is_some();
    catalog.set("OutputIntents", Object::Array(vec![Object::Dictionary(intent)]));
    if let Some(version) = catalog.remove(b"Version") {
        let version = version.as_name().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
        changes.push(format!("removed the catalog's /Version {version} (the file is PDF 1.7)"));
    }
    changes.push(format!(
        "{} the XMP metadata: pdfaid part 2, conformance B, title and dates from the record",
        if had_metadata { "replaced" } else { "added" }
    ));
    changes.push(if had_intents {
        "replaced the OutputIntents with the sRGB OutputIntent (GTS_PDFA1)".into()
    } else {
        "added an sRGB OutputIntent (GTS_PDFA1)".to_string()
    });
    changes.push("wrote the Info dictionary from the record, matching the XMP".into());
    Ok(info_id)
}

/// Writes the objects reachable from the catalog and the Info dictionary as a new file, numbered
/// 1.. in the order of their old numbers, every stream with a direct, exact `/Length`. Returns the
/// file and how many objects were left out as unreachable.
fn serialize(
    document: &Document,
    root: ObjectId,
    info: ObjectId,
    document_id: &[u8; 16],
) -> (Vec<u8>, usize) {
    let mut reachable = BTreeSet::new();
    let mut pending = vec![root, info];
    while let Some(id) = pending.pop() {
        if !document.objects.contains_key(&id) || !reachable.insert(id) {
            continue;
        }
        if let Some(object) = document.objects.get(&id) {
            collect_references(object, &mut pending);
        }
    }
    let numbers: BTreeMap<ObjectId, u32> =
        reachable.iter().enumerate().map(|(index, &id)| (id, index as u32 + 1)).collect();
    let dropped = document
        .objects
        .iter()
        .filter(|(id, object)| !reachable.contains(id) && !is_regenerated(object))
        .count();

    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(numbers.len());
    for (old, &new) in &numbers {
        let Some(object) = document.objects.get(old) else { continue };
        offsets.push(out.len());
        out.extend_from_slice(format!("{new} 0 obj\n").as_bytes());
        match renumber(object, &numbers) {
            Object::Stream(mut stream) => {
                stream.dict.set("Length", Object::Integer(stream.content.len() as i64));
                write_object(&mut out, &Object::Dictionary(stream.dict));
                out.extend_from_slice(b"\nstream\n");
                out.extend_from_slice(&stream.content);
                out.extend_from_slice(b"\nendstream\nendobj\n");
            }
            other => {
                write_object(&mut out, &other);
                out.extend_from_slice(b"\nendobj\n");
            }
        }
    }
    let size = numbers.len() + 1;
    let xref_offset = out.len();
    let mut xref = format!("xref\n0 {size}\n0000000000 65535 f \n");
    for offset in offsets {
        xref.push_str(&format!("{offset:010} 00000 n \n"));
    }
    let hex: String = document_id.iter().map(|b| format!("{b:02X}")).collect();
    xref.push_str(&format!(
        "trailer\n<< /Size {size} /Root {} 0 R /Info {} 0 R /ID [<{hex}> <{hex}>] >>\nstartxref\n{xref_offset}\n%%EOF\n",
        numbers[&root], numbers[&info]
    ));
    out.extend_from_slice(xref.as_bytes());
    (out, dropped)
}

/// Object and cross-reference streams are rebuilt by any writer, so leaving them out is no news.
fn is_regenerated(object: &Object) -> bool {
    matches!(object.type_name(), Ok(name) if name == b"ObjStm" || name == b"XRef")
}

fn write_object(out: &mut Vec<u8>, object: &Object) {
    // Writing into a Vec cannot fail.
    let _ = lopdf::Writer::write_object(out, object);
}

fn collect_references(object: &Object, out: &mut Vec<ObjectId>) {
    match object {
        Object::Reference(id) => out.push(*id),
        Object::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
        Object::Dictionary(dict) => dict.iter().for_each(|(_, value)| collect_references(value, out)),
        Object::Stream(stream) => stream.dict.iter().for_each(|(_, value)| collect_references(value, out)),
        _ => {}
    }
}

/// A copy of `object` with references renumbered; a reference to a missing object becomes `null`,
/// which is what a reader makes of it anyway.
fn renumber(object: &Object, numbers: &BTreeMap<ObjectId, u32>) -> Object {
    match object {
        Object::Reference(id) => numbers.get(id).map_or(Object::Null, |&new| Object::Reference((new, 0))),
        Object::Array(items) => Object::Array(items.iter().map(|item| renumber(item, numbers)).collect()),
        Object::Dictionary(dict) => Object::Dictionary(renumber_dict(dict, numbers)),
        Object::Stream(stream) => {
            let mut copy = Stream::new(renumber_dict(&stream.dict, numbers), stream.content.clone());
            copy.allows_compression = false;
            Object::Stream(copy)
        }
        other => other.clone(),
    }
}

fn renumber_dict(dict: &Dictionary, numbers: &BTreeMap<ObjectId, u32>) -> Dictionary {
    let mut copy = Dictionary::new();
    for (key, value) in dict.iter() {
        copy.set(key.clone(), renumber(value, numbers));
    }
    copy
}

/// Follows a reference (or returns a direct object), `None` for missing objects.
fn resolve<'a>(document: &'a Document, object: Option<&'a Object>) -> Option<&'a Object> {
    document.dereference(object?).ok().map(|(_, object)| object)
}

fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(value) => Some(*value as f64),
        Object::Real(value) => Some(f64::from(*value)),
        _ => None,
    }
}

/// The per-page result of [`compare_rendered`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageDifference {
    /// 1-based page number.
    pub page: u32,
    /// Rendered size in pixels (equal for source and output, or the comparison fails).
    pub width: u32,
    pub height: u32,
    /// The largest difference of any colour channel of any pixel, 0..=255.
    pub max_difference: u8,
    /// How many pixels differ at all.
    pub differing_pixels: u64,
}

/// How the output's pages compare with the source's, rendered by poppler at the same resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageComparison {
    pub dpi: u32,
    /// The largest per-channel difference the caller accepts.
    pub tolerance: u8,
    pub pages: Vec<PageDifference>,
}

impl PageComparison {
    /// The largest per-channel difference over all pages.
    pub fn max_difference(&self) -> u8 {
        self.pages.iter().map(|page| page.max_difference).max().unwrap_or(0)
    }

    /// Whether every page is within the tolerance.
    pub fn within_tolerance(&self) -> bool {
        self.max_difference() <= self.tolerance
    }
}

/// Why two files could not be compared page by page.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("the {which} PDF cannot be read ({message}); it cannot be compared")]
    Unreadable { which: &'static str, message: String },
    #[error(
        "the source has {source_pages} pages but the output {output_pages}; the conversion lost or added pages"
    )]
    PageCount { source_pages: u32, output_pages: u32 },
    #[error(
        "page {page} renders {source_width}x{source_height} px from the source but {output_width}x{output_height} px from the output; the page size changed"
    )]
    PageSize { page: u32, source_width: u32, source_height: u32, output_width: u32, output_height: u32 },
    #[error("rendering the {which} PDF failed: {message}")]
    Render { which: &'static str, message: String },
}

/// Renders every page of `source` and `output` with `pdftoppm` at `dpi` in RGB and compares them
/// pixel by pixel. The page counts and rendered sizes must match; the per-page maximum channel
/// difference is reported, and [`PageComparison::within_tolerance`] tells whether all pages are within
/// `tolerance`. Keep `dpi` modest (72 to 150): the comparison holds two pages in memory at a time.
pub fn compare_rendered(
    source: &[u8],
    output: &[u8],
    dpi: u32,
    tolerance: u8,
) -> Result<PageComparison, CompareError> {
    let source_pages = page_sizes(source, "source", dpi)?;
    let output_pages = page_sizes(output, "output", dpi)?;
    if source_pages.len() != output_pages.len() {
        return Err(CompareError::PageCount {
            source_pages: source_pages.len() as u32,
            output_pages: output_pages.len() as u32,
        });
    }
    let mut pages = Vec::with_capacity(source_pages.len());
    for (index, (source_size, output_size)) in source_pages.iter().zip(&output_pages).enumerate() {
        let page = index as u32 + 1;
        let source_raster = render("source", source, page, dpi, *source_size)?;
        let output_raster = render("output", output, page, dpi, *output_size)?;
        let (source_width, source_height) = (source_raster.width(), source_raster.height());
        let (output_width, output_height) = (output_raster.width(), output_raster.height());
        if (source_width, source_height) != (output_width, output_height) {
            return Err(CompareError::PageSize {
                page,
                source_width,
                source_height,
                output_width,
                output_height,
            });
        }
        let mut max_difference = 0u8;
        let mut differing_pixels = 0u64;
        for (a, b) in source_raster.as_raw().chunks_exact(3).zip(output_raster.as_raw().chunks_exact(3)) {
            let difference = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
            if difference > 0 {
                differing_pixels += 1;
                max_difference = max_difference.max(difference);
            }
        }
        pages.push(PageDifference {
            page,
            width: source_width,
            height: source_height,
            max_difference,
            differing_pixels,
        });
    }
    Ok(PageComparison { dpi, tolerance, pages })
}

/// The source as the validation gate should render it: every `/Interpolate true` written in plain
/// object syntax becomes `/Interpolate null` (same length, so every offset stays valid; null means
/// "absent", i.e. false). Interpolation is only a hint to the viewer, and poppler follows it when it
/// upscales an image, so an output without it cannot render pixel-equal to a source with it. Compared
/// against this reference, the output must still be pixel-identical, which proves that nothing but
/// the hint changed. A hint inside a compressed object stream is out of reach of the patch; the
/// comparison then shows the difference and the gate fails, which is the safe direction.
pub fn comparison_reference(source: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const KEY: &[u8] = b"/Interpolate";
    let mut patched: Option<Vec<u8>> = None;
    let mut from = 0;
    while let Some(at) = find(&source[from..], KEY).map(|at| from + at) {
        let mut value = at + KEY.len();
        while source.get(value).is_some_and(u8::is_ascii_whitespace) {
            value += 1;
        }
        let is_true = source.get(value..value + 4) == Some(b"true".as_slice())
            && source.get(value + 4).is_none_or(|b| b.is_ascii_whitespace() || b"/>]".contains(b));
        if is_true {
            patched.get_or_insert_with(|| source.to_vec())[value..value + 4].copy_from_slice(b"null");
        }
        from = value;
    }
    match patched {
        Some(bytes) => std::borrow::Cow::Owned(bytes),
        None => std::borrow::Cow::Borrowed(source),
    }
}

/// The rendered size bound of each page at `dpi`, from its crop or media box, turned by `/Rotate`.
fn page_sizes(pdf: &[u8], which: &'static str, dpi: u32) -> Result<Vec<(u32, u32)>, CompareError> {
    let unreadable = |message: String| CompareError::Unreadable { which, message };
    let document = Document::load_mem(pdf).map_err(|error| unreadable(error.to_string()))?;
    let limits = Limits::default();
    let mut sizes = Vec::new();
    for (page_number, page_id) in document.get_pages() {
        let page = document.get_dictionary(page_id).map_err(|error| unreadable(error.to_string()))?;
        let inherited = |key: &[u8]| {
            let mut node = page;
            for _ in 0..64 {
                if let Ok(value) = node.get(key) {
                    return resolve(&document, Some(value));
                }
                node = resolve(&document, node.get(b"Parent").ok())?.as_dict().ok()?;
            }
            None
        };
        let read_box = |key: &[u8]| -> Option<[f64; 4]> {
            let values: Vec<f64> = inherited(key)?
                .as_array()
                .ok()?
                .iter()
                .filter_map(|v| resolve(&document, Some(v)).and_then(number))
                .collect();
            values.try_into().ok()
        };
        let [x0, y0, x1, y1] =
            read_box(b"CropBox").or_else(|| read_box(b"MediaBox")).unwrap_or([0.0, 0.0, 612.0, 792.0]);
        let (mut width, mut height) = ((x1 - x0).abs(), (y1 - y0).abs());
        if inherited(b"Rotate").and_then(|o| o.as_i64().ok()).is_some_and(|r| r.rem_euclid(180) == 90) {
            std::mem::swap(&mut width, &mut height);
        }
        let scale = f64::from(dpi) / 72.0;
        // Two pixels of slack per side for poppler's rounding.
        let (w, h) = ((width * scale).ceil() as u64 + 2, (height * scale).ceil() as u64 + 2);
        if w > u64::from(limits.max_side)
            || h > u64::from(limits.max_side)
            || w * h > limits.max_pixels_per_page
        {
            return Err(CompareError::Render {
                which,
                message: format!(
                    "page {page_number} would render {w}x{h} px at {dpi} dpi, over the limit; compare at a lower dpi"
                ),
            });
        }
        sizes.push((w as u32, h as u32));
    }
    Ok(sizes)
}

fn render(
    which: &'static str,
    pdf: &[u8],
    page: u32,
    dpi: u32,
    (max_width, max_height): (u32, u32),
) -> Result<image::RgbImage, CompareError> {
    let raster = render_page(pdf, page, dpi, true, max_width, max_height)
        .map_err(|error| CompareError::Render { which, message: error.to_string() })?;
    match raster {
        crate::page::Raster::Rgb(image) => Ok(image),
        crate::page::Raster::Gray(image) | crate::page::Raster::Bilevel(image) => {
            Ok(image::DynamicImage::ImageLuma8(image).to_rgb8())
        }
    }
}

#[cfg(test)]
mod tests;
