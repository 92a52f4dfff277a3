//! Normaliser tests on PDFs built in code with lopdf: a text document with an embedded TrueType font
//! (DejaVu Sans, Debian package `fonts-dejavu-core`) must come out as valid PDF/A-2b that `qpdf --check`
//! accepts, with the same text and pixel-identical pages; files that cannot be converted must be refused
//! with the right reason. poppler-utils and qpdf are installed in CI.

use std::path::PathBuf;
use std::process::Command;

use ab_glyph::{Font, FontRef};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, dictionary};

use super::*;
use crate::decode::Limits;
use crate::pdf_text;

const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn info() -> DocumentInfo {
    DocumentInfo {
        title: "Bescheid über Grundsteuer".into(),
        author: Some("Kreis Müllheim".into()),
        creator_tool: "registratur test".into(),
        created_unix_seconds: 1_714_557_600,
        document_id: *b"0123456789abcdef",
    }
}

/// A temporary file path unique to this test.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("registratur-normalize-{}-{name}", std::process::id()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FontKind {
    /// DejaVu Sans as an embedded simple TrueType font with WinAnsiEncoding.
    EmbeddedDejaVu,
    /// The standard Helvetica, not embedded.
    Helvetica,
}

/// Builds source PDFs the way an office program would: lopdf's own writer, PDF 1.4, no PDF/A parts.
struct Builder {
    document: Document,
    pages_id: ObjectId,
    kids: Vec<Object>,
}

impl Builder {
    fn new() -> Builder {
        let mut document = Document::with_version("1.4");
        let pages_id = document.new_object_id();
        Builder { document, pages_id, kids: Vec::new() }
    }

    fn font(&mut self, kind: FontKind) -> ObjectId {
        match kind {
            FontKind::Helvetica => self.document.add_object(dictionary! {
                "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
            }),
            FontKind::EmbeddedDejaVu => {
                let bytes = std::fs::read(DEJAVU).expect("DejaVuSans.ttf is installed (fonts-dejavu-core)");
                let parsed = FontRef::try_from_slice(&bytes).expect("DejaVu Sans parses");
                let units = parsed.units_per_em().expect("units per em");
                let widths: Vec<Object> = (32u8..=126)
                    .map(|code| {
                        let glyph = parsed.glyph_id(char::from(code));
                        Object::Integer((parsed.h_advance_unscaled(glyph) / units * 1000.0).round() as i64)
                    })
                    .collect();
                let mut file = Stream::new(dictionary! { "Length1" => bytes.len() as i64 }, bytes);
                file.compress().expect("font program compresses");
                let file_id = self.document.add_object(file);
                let descriptor_id = self.document.add_object(dictionary! {
                    "Type" => "FontDescriptor", "FontName" => "DejaVuSans", "Flags" => 32,
                    "FontBBox" => vec![(-1021).into(), (-463).into(), 1793.into(), 1232.into()],
                    "ItalicAngle" => 0, "Ascent" => 928, "Descent" => -236, "CapHeight" => 729,
                    "StemV" => 80, "FontFile2" => file_id,
                });
                self.document.add_object(dictionary! {
                    "Type" => "Font", "Subtype" => "TrueType", "BaseFont" => "DejaVuSans",
                    "FirstChar" => 32, "LastChar" => 126, "Widths" => widths,
                    "Encoding" => "WinAnsiEncoding", "FontDescriptor" => descriptor_id,
                })
            }
        }
    }

    /// A Form XObject drawing `content` with `resources`.
    fn form(&mut self, content: &str, resources: Dictionary) -> ObjectId {
        let mut stream = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 595.into(), 842.into()], "Resources" => resources,
            },
            content.as_bytes().to_vec(),
        );
        stream.compress().expect("form compresses");
        self.document.add_object(stream)
    }

    /// An A4 page with a Flate-compressed content stream.
    fn page(&mut self, content: &[u8], resources: Dictionary, extra: Dictionary) -> ObjectId {
        let mut stream = Stream::new(Dictionary::new(), content.to_vec());
        stream.compress().expect("content compresses");
        self.page_with_stream(stream, resources, extra)
    }

    fn page_with_stream(&mut self, contents: Stream, resources: Dictionary, extra: Dictionary) -> ObjectId {
        let contents_id = self.document.add_object(contents);
        let mut page = dictionary! {
            "Type" => "Page", "Parent" => self.pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => resources, "Contents" => contents_id,
        };
        page.extend(&extra);
        let id = self.document.add_object(page);
        self.kids.push(id.into());
        id
    }

    fn finish(mut self, catalog_extra: Dictionary) -> Vec<u8> {
        let count = self.kids.len() as i64;
        self.document.objects.insert(
            self.pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => self.kids, "Count" => count }),
        );
        let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => self.pages_id };
        catalog.extend(&catalog_extra);
        let catalog_id = self.document.add_object(catalog);
        let info_id = self.document.add_object(dictionary! {
            "Title" => Object::String(b"Quelltitel".to_vec(), StringFormat::Literal),
            "Producer" => Object::String(b"Testbuero 1.0".to_vec(), StringFormat::Literal),
        });
        self.document.trailer.set("Root", catalog_id);
        self.document.trailer.set("Info", info_id);
        let mut bytes = Vec::new();
        self.document.save_to(&mut bytes).expect("source pdf is written");
        bytes
    }
}

fn font_resources(font: ObjectId) -> Dictionary {
    dictionary! { "Font" => dictionary! { "F1" => font } }
}

/// Two pages of German text in `kind`; page 2 draws part of its text through a Form XObject.
fn text_pdf(kind: FontKind) -> Vec<u8> {
    let mut builder = Builder::new();
    let font = builder.font(kind);
    builder.page(
        b"BT /F1 24 Tf 72 760 Td (Sehr geehrte Frau Mueller,) Tj 0 -40 Td (der Bescheid liegt bei.) Tj ET",
        font_resources(font),
        Dictionary::new(),
    );
    let form = builder.form("BT /F1 18 Tf 72 500 Td (Text in einem Formular) Tj ET", font_resources(font));
    let mut resources = font_resources(font);
    resources.set("XObject", dictionary! { "Fm1" => form });
    builder.page(
        b"BT /F1 24 Tf 72 760 Td (Seite zwei) Tj ET q 1 0 0 1 0 0 cm /Fm1 Do Q",
        resources,
        Dictionary::new(),
    );
    builder.finish(Dictionary::new())
}

fn write_temp(name: &str, pdf: &[u8]) -> PathBuf {
    let path = temp_path(name);
    std::fs::write(&path, pdf).expect("temp file is written");
    path
}

fn qpdf_check(name: &str, pdf: &[u8]) {
    let path = write_temp(name, pdf);
    let qpdf = Command::new("qpdf").arg("--check").arg(&path).output().expect("qpdf runs");
    assert!(
        qpdf.status.success(),
        "{name}: qpdf --check failed: {}{}",
        String::from_utf8_lossy(&qpdf.stdout),
        String::from_utf8_lossy(&qpdf.stderr)
    );
    let _ = std::fs::remove_file(path);
}

fn needs_human(pdf: &[u8]) -> String {
    match normalize_to_pdfa2b(pdf, &info()) {
        Err(NormalizeError::NeedsHuman { reason }) => reason,
        other => panic!("expected NeedsHuman, got {:?}", other.map(|n| n.changes)),
    }
}

#[test]
fn an_embedded_text_pdf_becomes_valid_pdfa_2b_with_the_same_text_and_pixels() {
    let source = text_pdf(FontKind::EmbeddedDejaVu);
    assert!(!check(&source).is_valid(), "the source is not PDF/A yet");
    let normalized = normalize_to_pdfa2b(&source, &info()).expect("normalised");
    assert_eq!(normalized.pages, 2);

    let report = check(&normalized.pdf);
    assert!(report.is_valid(), "{:#?}", report.violations);
    assert_eq!(report.claimed_part.as_deref(), Some("2"));
    assert_eq!(report.claimed_conformance.as_deref(), Some("B"));
    qpdf_check("text", &normalized.pdf);

    let limits = Limits::default();
    let source_text = pdf_text(&source, &limits).expect("source text");
    assert!(source_text.contains("Text in einem Formular"), "{source_text}");
    assert_eq!(pdf_text(&normalized.pdf, &limits).expect("output text"), source_text);

    let comparison = compare_rendered(&source, &normalized.pdf, 72, 0).expect("rendered");
    assert_eq!(comparison.pages.len(), 2);
    assert!(comparison.pages.iter().all(|page| (page.width, page.height) == (595, 842)), "{comparison:?}");
    assert_eq!(comparison.max_difference(), 0, "{comparison:?}");
    assert!(comparison.within_tolerance());

    let changes = normalized.changes.join("\n");
    assert!(changes.contains("added the XMP metadata"), "{changes}");
    assert!(changes.contains("added an sRGB OutputIntent"), "{changes}");
    // lopdf writes its sources with a cross-reference stream, which makes them PDF 1.5.
    assert!(changes.contains("%PDF-1.7 instead of %PDF-1.5"), "{changes}");

    // The metadata comes from the record, and Info agrees with the XMP.
    let output = Document::load_mem(&normalized.pdf).expect("output loads");
    let info_id = output.trailer.get(b"Info").and_then(Object::as_reference).expect("info");
    let title = output.get_dictionary(info_id).and_then(|d| d.get(b"Title")).expect("title");
    let expected_title: Vec<u8> = std::iter::once([0xFE, 0xFF])
        .chain("Bescheid über Grundsteuer".encode_utf16().map(u16::to_be_bytes))
        .flatten()
        .collect();
    assert_eq!(title.as_str().expect("string"), expected_title.as_slice());
    assert!(contains(&normalized.pdf, "Bescheid über Grundsteuer".as_bytes()), "the XMP names the title");
    assert!(normalized.pdf.ends_with(b"%%EOF\n"));
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let source = text_pdf(FontKind::EmbeddedDejaVu);
    let first = normalize_to_pdfa2b(&source, &info()).expect("normalised");
    let second = normalize_to_pdfa2b(&source, &info()).expect("normalised");
    assert_eq!(first, second);
    let mut other = info();
    other.document_id = *b"fedcba9876543210";
    assert_ne!(normalize_to_pdfa2b(&source, &other).expect("normalised").pdf, first.pdf);
}

#[test]
fn a_font_that_is_not_embedded_needs_a_human_who_is_told_which() {
    let reason = needs_human(&text_pdf(FontKind::Helvetica));
    assert!(
        reason.contains("font Helvetica on page 1 is not embedded; PDF/A needs embedded fonts: re-export the document with embedded fonts"),
        "{reason}"
    );
}

#[test]
fn fonts_inside_forms_and_annotation_appearances_are_found() {
    // Page 1 is fine; page 2 uses Helvetica only inside a Form XObject.
    let mut builder = Builder::new();
    let embedded = builder.font(FontKind::EmbeddedDejaVu);
    let helvetica = builder.font(FontKind::Helvetica);
    builder.page(b"BT /F1 24 Tf 72 760 Td (Seite eins) Tj ET", font_resources(embedded), Dictionary::new());
    let form = builder.form("BT /F1 18 Tf 72 500 Td (Formular) Tj ET", font_resources(helvetica));
    builder.page(
        b"q /Fm1 Do Q",
        dictionary! { "XObject" => dictionary! { "Fm1" => form } },
        Dictionary::new(),
    );
    let reason = needs_human(&builder.finish(Dictionary::new()));
    assert!(reason.contains("font Helvetica on page 2 is not embedded"), "{reason}");

    // Helvetica only in a stamp annotation's appearance on page 1.
    let mut builder = Builder::new();
    let embedded = builder.font(FontKind::EmbeddedDejaVu);
    let helvetica = builder.font(FontKind::Helvetica);
    let appearance = builder.form("BT /F1 18 Tf 10 10 Td (Eingang) Tj ET", font_resources(helvetica));
    let annotation = builder.document.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Stamp", "F" => 4,
        "Rect" => vec![100.into(), 100.into(), 300.into(), 150.into()],
        "AP" => dictionary! { "N" => appearance },
    });
    builder.page(
        b"BT /F1 24 Tf 72 760 Td (Seite eins) Tj ET",
        font_resources(embedded),
        dictionary! { "Annots" => vec![annotation.into()] },
    );
    let reason = needs_human(&builder.finish(Dictionary::new()));
    assert!(reason.contains("font Helvetica on page 1 is not embedded"), "{reason}");
}

#[test]
fn invisible_text_needs_no_embedded_font() {
    let mut builder = Builder::new();
    let helvetica = builder.font(FontKind::Helvetica);
    builder.page(
        b"BT 3 Tr /F1 24 Tf 72 760 Td (unsichtbar) Tj ET",
        font_resources(helvetica),
        Dictionary::new(),
    );
    let normalized = normalize_to_pdfa2b(&builder.finish(Dictionary::new()), &info()).expect("normalised");
    assert!(check(&normalized.pdf).is_valid());
}

fn qpdf_encrypt(name: &str, source: &[u8], user_password: &str) -> Vec<u8> {
    let input = write_temp(&format!("{name}-plain.pdf"), source);
    let output = temp_path(&format!("{name}-encrypted.pdf"));
    let status = Command::new("qpdf")
        .args(["--encrypt", user_password, "owner-secret", "256", "--"])
        .arg(&input)
        .arg(&output)
        .status()
        .expect("qpdf runs");
    assert!(status.success(), "qpdf --encrypt failed");
    let encrypted = std::fs::read(&output).expect("encrypted file");
    let _ = std::fs::remove_file(input);
    let _ = std::fs::remove_file(output);
    encrypted
}

#[test]
fn encrypted_files_are_refused_even_with_an_empty_user_password() {
    let source = text_pdf(FontKind::EmbeddedDejaVu);
    for (name, password) in [("user", "geheim"), ("empty", "")] {
        let encrypted = qpdf_encrypt(name, &source, password);
        let result = normalize_to_pdfa2b(&encrypted, &info());
        assert!(matches!(result, Err(NormalizeError::Encrypted)), "{name}: {:?}", result.map(|n| n.changes));
    }
    assert!(NormalizeError::Encrypted.to_string().contains("ask the sender for an unprotected copy"));
}

#[test]
fn truncated_and_foreign_files_are_corrupt() {
    let source = text_pdf(FontKind::EmbeddedDejaVu);
    for cut in [source.len() / 2, source.len() - 40, 100] {
        let result = normalize_to_pdfa2b(&source[..cut], &info());
        assert!(
            matches!(result, Err(NormalizeError::Corrupt(_))),
            "cut at {cut}: {:?}",
            result.map(|n| n.changes)
        );
    }
    let result = normalize_to_pdfa2b(b"GIF89a not a pdf", &info());
    assert!(matches!(&result, Err(NormalizeError::Corrupt(message)) if message.contains("not a PDF")));
}

/// LZW with literal codes only and a clear code every 200 codes, so every code stays 9 bits wide: a
/// valid stream any decoder reads, which is all a test needs.
fn lzw_encode(data: &[u8]) -> Vec<u8> {
    let mut codes = Vec::new();
    for chunk in data.chunks(200) {
        codes.push(256u16);
        codes.extend(chunk.iter().map(|&byte| u16::from(byte)));
    }
    codes.push(257);
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for code in codes {
        buffer = (buffer << 9) | u32::from(code);
        bits += 9;
        while bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push((buffer << (8 - bits)) as u8);
    }
    out
}

/// A page whose content stream is LZW-encoded and draws an LZW-encoded, interpolated 4x4 RGB image.
fn lzw_pdf() -> (Vec<u8>, Vec<u8>) {
    let mut builder = Builder::new();
    let pixels: Vec<u8> = (0..16u8).flat_map(|i| [i * 16, 255 - i * 16, (i % 4) * 60]).collect();
    let image = builder.document.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 4, "Height" => 4,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Interpolate" => true,
            "Filter" => "LZWDecode",
        },
        lzw_encode(&pixels),
    ));
    let content = b"q 400 0 0 400 100 300 cm /Im1 Do Q 0 0 1 rg 50 50 100 100 re f";
    let contents = Stream::new(dictionary! { "Filter" => "LZWDecode" }, lzw_encode(content));
    builder.page_with_stream(
        contents,
        dictionary! { "XObject" => dictionary! { "Im1" => image } },
        Dictionary::new(),
    );
    (builder.finish(Dictionary::new()), pixels)
}

#[test]
fn lzw_streams_and_interpolation_are_fixed_and_listed() {
    let (source, pixels) = lzw_pdf();
    assert!(check(&source).violates("6.1.7.2"));
    assert!(check(&source).violates("6.2.8"));
    let normalized = normalize_to_pdfa2b(&source, &info()).expect("normalised");
    let report = check(&normalized.pdf);
    assert!(report.is_valid(), "{:#?}", report.violations);
    qpdf_check("lzw", &normalized.pdf);
    assert!(!contains(&normalized.pdf, b"LZWDecode"));
    let changes = normalized.changes.join("\n");
    assert_eq!(changes.matches("re-encoded the LZW stream with Flate").count(), 2, "{changes}");
    assert!(changes.contains("set /Interpolate to false"), "{changes}");

    // The image's samples are unchanged.
    let output = Document::load_mem(&normalized.pdf).expect("output loads");
    let image = output
        .objects
        .values()
        .filter_map(|object| object.as_stream().ok())
        .find(|stream| {
            stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image".as_slice())
        })
        .expect("image present");
    assert_eq!(image.decompressed_content().expect("flate decodes"), pixels);

    // Against the source as written, poppler's smoothing of the upscaled image makes a difference;
    // against the reference with the hint switched off, the pages are pixel-identical.
    let comparison = compare_rendered(&source, &normalized.pdf, 50, 0).expect("rendered");
    assert_eq!(comparison.pages.len(), 1);
    assert!(!comparison.within_tolerance(), "interpolation shows: {comparison:?}");
    eprintln!("lzw + interpolate, against the source: {comparison:?}");
    let reference = comparison_reference(&source);
    assert_eq!(reference.len(), source.len());
    assert!(!contains(&reference, b"/Interpolate true"));
    let comparison = compare_rendered(&reference, &normalized.pdf, 50, 0).expect("rendered");
    assert_eq!(comparison.max_difference(), 0, "{comparison:?}");
    let untouched = text_pdf(FontKind::EmbeddedDejaVu);
    assert!(matches!(comparison_reference(&untouched), std::borrow::Cow::Borrowed(_)));
}

#[test]
fn lzw_content_alone_renders_pixel_identical() {
    let mut builder = Builder::new();
    let font = builder.font(FontKind::EmbeddedDejaVu);
    let content = b"BT /F1 30 Tf 72 700 Td (LZW-Inhalt) Tj ET 1 0 0 rg 72 72 200 100 re f";
    let contents = Stream::new(dictionary! { "Filter" => "LZWDecode" }, lzw_encode(content));
    builder.page_with_stream(contents, font_resources(font), Dictionary::new());
    let source = builder.finish(Dictionary::new());
    let normalized = normalize_to_pdfa2b(&source, &info()).expect("normalised");
    let comparison = compare_rendered(&source, &normalized.pdf, 72, 0).expect("rendered");
    assert_eq!(comparison.max_difference(), 0, "{comparison:?}");
    assert_eq!(pdf_text(&normalized.pdf, &Limits::default()).expect("text").trim(), "LZW-Inhalt");
}

#[test]
fn javascript_cmyk_and_xfa_need_a_human() {
    let mut builder = Builder::new();
    let font = builder.font(FontKind::EmbeddedDejaVu);
    builder.page(b"BT /F1 24 Tf 72 760 Td (Hallo) Tj ET", font_resources(font), Dictionary::new());
    let script = builder.document.add_object(dictionary! {
        "Type" => "Action", "S" => "JavaScript",
        "JS" => Object::String(b"app.alert('x')".to_vec(), StringFormat::Literal),
    });
    let reason = needs_human(&builder.finish(dictionary! { "OpenAction" => script }));
    assert!(reason.contains("JavaScript"), "{reason}");

    let mut builder = Builder::new();
    builder.page(b"0 0 0 1 k 10 10 100 100 re f", Dictionary::new(), Dictionary::new());
    let reason = needs_human(&builder.finish(Dictionary::new()));
    assert!(reason.contains("page 1 paints in DeviceCMYK"), "{reason}");

    let mut builder = Builder::new();
    builder.page(
        b"q 100 0 0 100 0 0 cm BI /W 1 /H 1 /CS /CMYK /BPC 8 ID ABCD EI Q",
        Dictionary::new(),
        Dictionary::new(),
    );
    let reason = needs_human(&builder.finish(Dictionary::new()));
    assert!(reason.contains("page 1 paints in DeviceCMYK"), "inline CMYK image: {reason}");

    let mut builder = Builder::new();
    builder.page(
        b"q 100 0 0 100 0 0 cm BI /W 1 /H 1 /CS /G /BPC 8 /I true ID A EI Q",
        Dictionary::new(),
        Dictionary::new(),
    );
    let reason = needs_human(&builder.finish(Dictionary::new()));
    assert!(reason.contains("inline images with /Interpolate true"), "{reason}");

    let mut builder = Builder::new();
    builder.page(b"0 0 1 rg 10 10 100 100 re f", Dictionary::new(), Dictionary::new());
    let xfa = dictionary! { "Fields" => Vec::<Object>::new(), "XFA" => Object::String(b"<xdp/>".to_vec(), StringFormat::Literal) };
    let reason = needs_human(&builder.finish(dictionary! { "AcroForm" => xfa }));
    assert!(reason.contains("XFA"), "{reason}");
}

#[test]
fn signed_documents_need_a_human() {
    let mut builder = Builder::new();
    builder.page(b"0 0 1 rg 10 10 100 100 re f", Dictionary::new(), Dictionary::new());
    let signature = builder.document.add_object(dictionary! {
        "Type" => "Sig", "Filter" => "Adobe.PPKLite", "SubFilter" => "adbe.pkcs7.detached",
        "Contents" => Object::String(vec![0; 16], StringFormat::Hexadecimal),
    });
    let field = builder.document.add_object(dictionary! {
        "FT" => "Sig", "T" => Object::string_literal("Unterschrift"), "V" => signature,
    });
    let form = dictionary! { "Fields" => vec![field.into()], "SigFlags" => 3 };
    let reason = needs_human(&builder.finish(dictionary! { "AcroForm" => form }));
    assert!(reason.contains("digitally signed"), "{reason}");
}

#[test]
fn damaged_files_give_errors_not_panics() {
    // Every single-byte change at a spread of positions, and every truncation on a coarse grid, of a
    // small source with LZW streams and an image: the normaliser must answer, whatever the answer is.
    let (source, _) = lzw_pdf();
    let step = (source.len() / 300).max(1);
    for position in (0..source.len()).step_by(step) {
        for value in [0u8, b' ', b'9', 0xFF] {
            let mut damaged = source.clone();
            damaged[position] = value;
            if let Ok(normalized) = normalize_to_pdfa2b(&damaged, &info()) {
                assert!(check(&normalized.pdf).is_valid(), "byte {position} = {value}: output must be valid");
            }
        }
        let _ = normalize_to_pdfa2b(&source[..position], &info());
    }
}

#[test]
fn incremental_updates_and_trailing_bytes_are_dropped() {
    let mut source = text_pdf(FontKind::EmbeddedDejaVu);
    // An incremental update that replaces the Info dictionary, then junk after the last %%EOF.
    let document = Document::load_mem(&source).expect("source loads");
    let size = document.max_id + 1;
    let root = document.trailer.get(b"Root").and_then(Object::as_reference).expect("root");
    let previous = rfind(&source, b"startxref").expect("startxref");
    let previous_xref: usize = String::from_utf8_lossy(&source[previous + 9..])
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("xref offset");
    let offset = source.len();
    source.extend_from_slice(format!("{size} 0 obj\n<< /Title (Nachtrag) >>\nendobj\n").as_bytes());
    let xref = source.len();
    source.extend_from_slice(
        format!(
            "xref\n{size} 1\n{offset:010} 00000 n \ntrailer\n<< /Size {} /Root {} 0 R /Info {size} 0 R /Prev {previous_xref} >>\nstartxref\n{xref}\n%%EOF\nJUNK",
            size + 1,
            root.0
        )
        .as_bytes(),
    );
    let normalized = normalize_to_pdfa2b(&source, &info()).expect("normalised");
    assert!(check(&normalized.pdf).is_valid());
    assert_eq!(normalized.pdf.windows(5).filter(|w| w == b"%%EOF").count(), 1);
    assert_eq!(normalized.pdf.windows(5).filter(|w| w == b"\nxref").count(), 1);
    let changes = normalized.changes.join("\n");
    assert!(changes.contains("merged 2 revisions"), "{changes}");
    assert!(changes.contains("dropped 4 bytes after the last %%EOF"), "{changes}");
    assert!(!contains(&normalized.pdf, b"Nachtrag"), "the old Info is replaced by the record's");
}

#[test]
fn annotations_get_the_print_flag_and_lose_rollover_appearances() {
    let mut builder = Builder::new();
    let font = builder.font(FontKind::EmbeddedDejaVu);
    let normal = builder.form("0 0 1 rg 0 0 200 50 re f", Dictionary::new());
    let rollover = builder.form("1 0 0 rg 0 0 200 50 re f", Dictionary::new());
    let annotation = builder.document.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Square",
        "Rect" => vec![100.into(), 100.into(), 300.into(), 150.into()],
        "AP" => dictionary! { "N" => normal, "R" => rollover },
    });
    builder.page(
        b"BT /F1 24 Tf 72 760 Td (Anmerkung) Tj ET",
        font_resources(font),
        dictionary! { "Annots" => vec![annotation.into()] },
    );
    let normalized = normalize_to_pdfa2b(&builder.finish(Dictionary::new()), &info()).expect("normalised");
    let changes = normalized.changes.join("\n");
    assert!(changes.contains("set the print flag of 1 Square annotation on page 1"), "{changes}");
    assert!(
        changes.contains("removed the rollover/down appearances (PDF/A allows only /N) of 1 Square"),
        "{changes}"
    );
    let output = Document::load_mem(&normalized.pdf).expect("output loads");
    let (_, page_id) = output.get_pages().into_iter().next().expect("page");
    let annotations = output.get_page_annotations(page_id).expect("annotations");
    assert_eq!(annotations[0].get(b"F").and_then(Object::as_i64).ok(), Some(4));
    let appearance = annotations[0].get(b"AP").and_then(Object::as_dict).expect("appearance");
    assert!(appearance.has(b"N") && !appearance.has(b"R"));

    // An annotation without an appearance stream cannot be kept as it looks.
    let mut builder = Builder::new();
    let annotation = builder.document.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Text", "F" => 4,
        "Rect" => vec![100.into(), 100.into(), 120.into(), 120.into()],
        "Contents" => Object::String(b"Notiz".to_vec(), StringFormat::Literal),
    });
    builder.page(b"", Dictionary::new(), dictionary! { "Annots" => vec![annotation.into()] });
    let reason = needs_human(&builder.finish(Dictionary::new()));
    assert!(reason.contains("Text annotation without an appearance stream"), "{reason}");
}

#[test]
fn comparison_sees_changed_pixels_and_missing_pages() {
    let source = text_pdf(FontKind::EmbeddedDejaVu);
    let normalized = normalize_to_pdfa2b(&source, &info()).expect("normalised").pdf;
    let mut builder = Builder::new();
    let font = builder.font(FontKind::EmbeddedDejaVu);
    builder.page(
        b"BT /F1 24 Tf 72 760 Td (Sehr geehrter Herr) Tj ET",
        font_resources(font),
        Dictionary::new(),
    );
    let one_page = builder.finish(Dictionary::new());
    let error = compare_rendered(&source, &one_page, 50, 0).expect_err("page counts differ");
    assert!(matches!(error, CompareError::PageCount { source_pages: 2, output_pages: 1 }), "{error}");

    let changed = normalize_to_pdfa2b(&one_page, &info()).expect("normalised").pdf;
    let first_page_only = compare_rendered(&one_page, &changed, 50, 0).expect("rendered");
    assert_eq!(first_page_only.max_difference(), 0);
    // The same page with different text: differences are found and counted.
    let differing = compare_rendered(&normalized, &source, 50, 0).expect("rendered");
    assert_eq!(differing.max_difference(), 0);
    let mut builder = Builder::new();
    let font = builder.font(FontKind::EmbeddedDejaVu);
    builder.page(
        b"BT /F1 24 Tf 72 760 Td (Sehr geehrte Frau Maier,) Tj ET",
        font_resources(font),
        Dictionary::new(),
    );
    builder.page(b"BT /F1 24 Tf 72 760 Td (Seite zwei) Tj ET", font_resources(font), Dictionary::new());
    let other = builder.finish(Dictionary::new());
    let comparison = compare_rendered(&source, &other, 50, 3).expect("rendered");
    assert!(comparison.pages[0].max_difference > 100, "{comparison:?}");
    assert!(comparison.pages[0].differing_pixels > 10, "{comparison:?}");
    assert!(comparison.pages[1].max_difference > 0, "the form's text is missing on page 2");
    assert!(!comparison.within_tolerance());
}
