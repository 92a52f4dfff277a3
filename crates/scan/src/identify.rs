//! Format identification by content, recorded as a PRONOM PUID with the format's name and version, the
//! way an archivist's census and migration policy speak about formats (DROID, Archivematica). File
//! names are never looked at: a `.pdf` that is really a TIFF is a TIFF.
//!
//! Each format is recognised by its magic bytes plus enough structure to tell the versions apart:
//!
//! - TIFF (fmt/353) and BigTIFF (fmt/1917): byte order and version 42, or 43 with offset size 8, as
//!   DROID's signatures read them. A file whose first directory lies past its end is still a TIFF,
//!   one that is truncated: the decoder, not identification, names that damage. TIFF versions and
//!   Exif TIFF are not told apart; fmt/353 is what DROID reports for scanner output.
//! - JPEG: the first marker after SOI decides. APP0 `JFIF` gives JFIF 1.00/1.01/1.02 (fmt/42, 43, 44)
//!   from its version bytes; APP1 `Exif` gives Exif 2.0/2.1/2.2/2.21/2.3x (x-fmt/398, x-fmt/390,
//!   x-fmt/391, fmt/645, fmt/1507) from the ExifVersion tag; anything else is a raw JPEG stream (fmt/41).
//! - PNG 1.0/1.1/1.2 (fmt/11, 12, 13) share one signature. The chunks tell them apart: `iTXt` exists
//!   only since 1.2 and `sRGB`, `iCCP` and `sPLT` only since 1.1, so a file is given the oldest version
//!   whose chunk set covers it (DROID's approach). Most scanner PNGs therefore identify as 1.0, which is
//!   correct: nothing in them needs a newer reader.
//! - GIF 87a/89a (fmt/3, fmt/4) from the signature.
//! - BMP from the size of its info header: 12 bytes Windows 2.0 (fmt/115), 64 bytes OS/2 2.0
//!   (x-fmt/270), 40 bytes Windows 3.0 (fmt/116) or 3.0 NT when it uses bit fields (fmt/117), 108 bytes
//!   4.0 (fmt/118), 124 bytes 5.0 (fmt/119).
//! - PDF 1.0..=1.7 (fmt/14..=fmt/20, fmt/276) and 2.0 (fmt/1129): the later of the header version and
//!   the catalog's `/Version`. A PDF whose catalog `/Metadata` XMP claims `pdfaid:part` 1, 2 or 3 with a
//!   conformance level is identified as that PDF/A flavour (fmt/95, fmt/354, fmt/476..=fmt/481). That
//!   is a claim read from the file, not a validation: `pdfa::check` validates.
//! - Plain text (x-fmt/111): no format signature, no control characters other than whitespace, and
//!   UTF-8 or a single-byte encoding.
//!
//! Identification never fails: damaged or truncated input is identified as far as its bytes allow, and
//! anything unrecognised is [`Format::UNKNOWN`]. It never panics on any input.

use lopdf::Document;

/// The identification tool, as recorded in the journal's identification events.
pub const IDENTIFY_TOOL: &str = "registratur-identify";

/// The tool's version: the crate version plus the version of the signature table below. Bump the
/// table version whenever a signature or PUID changes, so that a census can tell old identifications
/// from new ones.
pub const IDENTIFY_TOOL_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+signatures.2");

/// A file format as PRONOM names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Format {
    /// The PRONOM persistent unique identifier, e.g. `fmt/353`; empty for [`Format::UNKNOWN`].
    pub puid: &'static str,
    /// PRONOM's format name, e.g. `Tagged Image File Format`.
    pub name: &'static str,
    /// PRONOM's version string, e.g. `1.01`; empty when the format has none.
    pub version: &'static str,
}

const fn format(puid: &'static str, name: &'static str, version: &'static str) -> Format {
    Format { puid, name, version }
}

impl Format {
    /// Nothing we recognise.
    pub const UNKNOWN: Format = format("", "Unknown", "");

    pub const TIFF: Format = format("fmt/353", "Tagged Image File Format", "");
    pub const BIGTIFF: Format = format("fmt/1917", "BigTIFF", "");

    pub const JPEG_RAW: Format = format("fmt/41", "Raw JPEG Stream", "");
    pub const JFIF_1_00: Format = format("fmt/42", "JPEG File Interchange Format", "1.00");
    pub const JFIF_1_01: Format = format("fmt/43", "JPEG File Interchange Format", "1.01");
    pub const JFIF_1_02: Format = format("fmt/44", "JPEG File Interchange Format", "1.02");
    pub const EXIF_2_0: Format = format("x-fmt/398", "Exchangeable Image File Format (Compressed)", "2.0");
    pub const EXIF_2_1: Format = format("x-fmt/390", "Exchangeable Image File Format (Compressed)", "2.1");
    pub const EXIF_2_2: Format = format("x-fmt/391", "Exchangeable Image File Format (Compressed)", "2.2");
    pub const EXIF_2_21: Format = format("fmt/645", "Exchangeable Image File Format (Compressed)", "2.21");
    pub const EXIF_2_3: Format = format("fmt/1507", "Exchangeable Image File Format (Compressed)", "2.3.x");

    pub const PNG_1_0: Format = format("fmt/11", "Portable Network Graphics", "1.0");
    pub const PNG_1_1: Format = format("fmt/12", "Portable Network Graphics", "1.1");
    pub const PNG_1_2: Format = format("fmt/13", "Portable Network Graphics", "1.2");

    pub const GIF_87A: Format = format("fmt/3", "Graphics Interchange Format", "87a");
    pub const GIF_89A: Format = format("fmt/4", "Graphics Interchange Format", "89a");

    pub const BMP_2_0: Format = format("fmt/115", "Windows Bitmap", "2.0");
    pub const BMP_3_0: Format = format("fmt/116", "Windows Bitmap", "3.0");
    pub const BMP_3_0_NT: Format = format("fmt/117", "Windows Bitmap", "3.0 NT");
    pub const BMP_4_0: Format = format("fmt/118", "Windows Bitmap", "4.0");
    pub const BMP_5_0: Format = format("fmt/119", "Windows Bitmap", "5.0");
    pub const OS2_BMP_2_0: Format = format("x-fmt/270", "OS/2 Bitmap", "2.0");

    pub const PDF_1_0: Format = format("fmt/14", "Acrobat PDF 1.0 - Portable Document Format", "1.0");
    pub const PDF_1_1: Format = format("fmt/15", "Acrobat PDF 1.1 - Portable Document Format", "1.1");
    pub const PDF_1_2: Format = format("fmt/16", "Acrobat PDF 1.2 - Portable Document Format", "1.2");
    pub const PDF_1_3: Format = format("fmt/17", "Acrobat PDF 1.3 - Portable Document Format", "1.3");
    pub const PDF_1_4: Format = format("fmt/18", "Acrobat PDF 1.4 - Portable Document Format", "1.4");
    pub const PDF_1_5: Format = format("fmt/19", "Acrobat PDF 1.5 - Portable Document Format", "1.5");
    pub const PDF_1_6: Format = format("fmt/20", "Acrobat PDF 1.6 - Portable Document Format", "1.6");
    pub const PDF_1_7: Format = format("fmt/276", "Acrobat PDF 1.7 - Portable Document Format", "1.7");
    pub const PDF_2_0: Format = format("fmt/1129", "PDF 2.0 - Portable Document Format", "2.0");

    pub const PDFA_1A: Format = format("fmt/95", "Acrobat PDF/A - Portable Document Format", "1a");
    pub const PDFA_1B: Format = format("fmt/354", "Acrobat PDF/A - Portable Document Format", "1b");
    pub const PDFA_2A: Format = format("fmt/476", "Acrobat PDF/A - Portable Document Format", "2a");
    pub const PDFA_2B: Format = format("fmt/477", "Acrobat PDF/A - Portable Document Format", "2b");
    pub const PDFA_2U: Format = format("fmt/478", "Acrobat PDF/A - Portable Document Format", "2u");
    pub const PDFA_3A: Format = format("fmt/479", "Acrobat PDF/A - Portable Document Format", "3a");
    pub const PDFA_3B: Format = format("fmt/480", "Acrobat PDF/A - Portable Document Format", "3b");
    pub const PDFA_3U: Format = format("fmt/481", "Acrobat PDF/A - Portable Document Format", "3u");

    pub const PLAIN_TEXT: Format = format("x-fmt/111", "Plain Text File", "");

    /// Every format [`identify`] can return, [`Format::UNKNOWN`] last.
    pub const ALL: &'static [Format] = &[
        Format::TIFF,
        Format::BIGTIFF,
        Format::JPEG_RAW,
        Format::JFIF_1_00,
        Format::JFIF_1_01,
        Format::JFIF_1_02,
        Format::EXIF_2_0,
        Format::EXIF_2_1,
        Format::EXIF_2_2,
        Format::EXIF_2_21,
        Format::EXIF_2_3,
        Format::PNG_1_0,
        Format::PNG_1_1,
        Format::PNG_1_2,
        Format::GIF_87A,
        Format::GIF_89A,
        Format::BMP_2_0,
        Format::BMP_3_0,
        Format::BMP_3_0_NT,
        Format::BMP_4_0,
        Format::BMP_5_0,
        Format::OS2_BMP_2_0,
        Format::PDF_1_0,
        Format::PDF_1_1,
        Format::PDF_1_2,
        Format::PDF_1_3,
        Format::PDF_1_4,
        Format::PDF_1_5,
        Format::PDF_1_6,
        Format::PDF_1_7,
        Format::PDF_2_0,
        Format::PDFA_1A,
        Format::PDFA_1B,
        Format::PDFA_2A,
        Format::PDFA_2B,
        Format::PDFA_2U,
        Format::PDFA_3A,
        Format::PDFA_3B,
        Format::PDFA_3U,
        Format::PLAIN_TEXT,
        Format::UNKNOWN,
    ];

    pub fn is_unknown(&self) -> bool {
        self.puid.is_empty()
    }

    /// The format with this PUID, for reading identifications back from the journal or a policy file.
    /// `None` for a PUID this table does not know (and for the empty PUID of [`Format::UNKNOWN`]).
    pub fn by_puid(puid: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|format| !format.is_unknown() && format.puid == puid)
    }

    /// What kind of content this is, for choosing a decoder and a migration path.
    pub fn family(&self) -> Family {
        match self.puid {
            "fmt/353" | "fmt/1917" => Family::Tiff,
            "fmt/41" | "fmt/42" | "fmt/43" | "fmt/44" | "x-fmt/398" | "x-fmt/390" | "x-fmt/391"
            | "fmt/645" | "fmt/1507" => Family::Jpeg,
            "fmt/11" | "fmt/12" | "fmt/13" => Family::Png,
            "fmt/3" | "fmt/4" => Family::Gif,
            "fmt/115" | "fmt/116" | "fmt/117" | "fmt/118" | "fmt/119" | "x-fmt/270" => Family::Bmp,
            "fmt/14" | "fmt/15" | "fmt/16" | "fmt/17" | "fmt/18" | "fmt/19" | "fmt/20" | "fmt/276"
            | "fmt/1129" => Family::Pdf,
            "fmt/95" | "fmt/354" | "fmt/476" | "fmt/477" | "fmt/478" | "fmt/479" | "fmt/480" | "fmt/481" => {
                Family::PdfA
            }
            "x-fmt/111" => Family::Text,
            _ => Family::Unknown,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.is_unknown(), self.version.is_empty()) {
            (true, _) => f.write_str("unknown format"),
            (false, true) => write!(f, "{} ({})", self.name, self.puid),
            (false, false) => write!(f, "{} {} ({})", self.name, self.version, self.puid),
        }
    }
}

/// Groups of formats that share a decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Tiff,
    Jpeg,
    Png,
    Gif,
    Bmp,
    /// A PDF that does not claim PDF/A.
    Pdf,
    /// A PDF whose XMP claims PDF/A.
    PdfA,
    Text,
    Unknown,
}

/// Identifies `bytes` by content. Never fails and never panics; see the module documentation for the
/// signatures.
pub fn identify(bytes: &[u8]) -> Format {
    if let Some(format) = tiff(bytes) {
        return format;
    }
    if bytes.starts_with(b"\xFF\xD8\xFF") {
        return jpeg(bytes);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return png(bytes);
    }
    if bytes.starts_with(b"GIF87a") {
        return Format::GIF_87A;
    }
    if bytes.starts_with(b"GIF89a") {
        return Format::GIF_89A;
    }
    if let Some(format) = bmp(bytes) {
        return format;
    }
    if let Some(format) = pdf(bytes) {
        return format;
    }
    if is_plain_text(bytes) {
        return Format::PLAIN_TEXT;
    }
    Format::UNKNOWN
}

/// TIFF and BigTIFF by their headers (DROID's signatures): byte order, version, and for BigTIFF the
/// offset size 8. Where the first directory lies is not looked at, so a truncated TIFF is a TIFF.
fn tiff(bytes: &[u8]) -> Option<Format> {
    let big_endian = match bytes.get(..2)? {
        b"II" => false,
        b"MM" => true,
        _ => return None,
    };
    let u16_at = |at: usize| read_u16(bytes, at, big_endian);
    match u16_at(2)? {
        42 => Some(Format::TIFF),
        // BigTIFF: offset size 8, reserved 0, then an 8-byte first directory offset.
        43 => (u16_at(4)? == 8 && u16_at(6)? == 0).then_some(Format::BIGTIFF),
        _ => None,
    }
}

/// JPEG: the application marker right after SOI names the file format (JFIF or Exif require it there).
fn jpeg(bytes: &[u8]) -> Format {
    let marker = bytes.get(3).copied();
    let Some(length) = read_u16(bytes, 4, true).map(usize::from) else {
        return Format::JPEG_RAW;
    };
    let segment = bytes.get(6..(4 + length).min(bytes.len())).unwrap_or_default();
    match marker {
        Some(0xE0) if segment.starts_with(b"JFIF\0") => match (segment.get(5), segment.get(6)) {
            (Some(1), Some(0)) => Format::JFIF_1_00,
            (Some(1), Some(1)) => Format::JFIF_1_01,
            (Some(1), Some(2)) => Format::JFIF_1_02,
            // Versions PRONOM does not list (and truncated headers) are still JPEG data.
            _ => Format::JPEG_RAW,
        },
        Some(0xE1) if segment.starts_with(b"Exif\0\0") => match exif_version(&segment[6..]).as_ref() {
            Some(b"0200") => Format::EXIF_2_0,
            Some(b"0210" | b"0211") => Format::EXIF_2_1,
            Some(b"0220") => Format::EXIF_2_2,
            Some(b"0221") => Format::EXIF_2_21,
            Some([b'0', b'2', b'3', _]) => Format::EXIF_2_3,
            // An Exif block without a readable version: PRONOM's Exif records all need one.
            _ => Format::JPEG_RAW,
        },
        _ => Format::JPEG_RAW,
    }
}

/// The ExifVersion tag (0x9000, four ASCII digits) from the Exif sub-directory of an Exif block.
fn exif_version(tiff: &[u8]) -> Option<[u8; 4]> {
    const EXIF_IFD_POINTER: u16 = 0x8769;
    const EXIF_VERSION: u16 = 0x9000;
    let big_endian = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let entry_value = |ifd: usize, wanted: u16| -> Option<usize> {
        let count = usize::from(read_u16(tiff, ifd, big_endian)?);
        (0..count.min(1024))
            .map(|i| ifd + 2 + i * 12)
            .find(|&entry| read_u16(tiff, entry, big_endian) == Some(wanted))
    };
    let first = read_u32(tiff, 4, big_endian)? as usize;
    let pointer = entry_value(first, EXIF_IFD_POINTER)?;
    let exif_ifd = read_u32(tiff, pointer + 8, big_endian)? as usize;
    let version = entry_value(exif_ifd, EXIF_VERSION)?;
    // Type UNDEFINED, count 4: the value sits in the entry itself.
    tiff.get(version + 8..version + 12)?.try_into().ok()
}

/// PNG: the oldest version whose chunk types cover the file's chunks.
fn png(bytes: &[u8]) -> Format {
    let mut version = Format::PNG_1_0;
    let mut at = 8usize;
    while let (Some(length), Some(kind)) = (read_u32(bytes, at, true), bytes.get(at + 4..at + 8)) {
        match kind {
            b"iTXt" => return Format::PNG_1_2,
            b"sRGB" | b"iCCP" | b"sPLT" => version = Format::PNG_1_1,
            b"IEND" => break,
            _ => {}
        }
        at = match at.checked_add(12).and_then(|next| next.checked_add(length as usize)) {
            Some(next) => next,
            None => break,
        };
    }
    version
}

/// BMP: `BM`, then the size of the info header at offset 14 names the version.
fn bmp(bytes: &[u8]) -> Option<Format> {
    if !bytes.starts_with(b"BM") {
        return None;
    }
    // The reserved fields must be zero; plain text starting with "BM" fails here or on the header size.
    if bytes.get(6..10)? != [0, 0, 0, 0] {
        return None;
    }
    let header = read_u32(bytes, 14, false)?;
    Some(match header {
        12 => Format::BMP_2_0,
        40 => {
            let compression = read_u32(bytes, 30, false);
            // BI_BITFIELDS (3) with a 40-byte header is the Windows NT extension.
            if compression == Some(3) { Format::BMP_3_0_NT } else { Format::BMP_3_0 }
        }
        64 => Format::OS2_BMP_2_0,
        108 => Format::BMP_4_0,
        124 => Format::BMP_5_0,
        _ => return None,
    })
}

/// PDF: a `%PDF-` header in the first kilobyte (some gateways prepend junk, and readers accept it).
fn pdf(bytes: &[u8]) -> Option<Format> {
    let head = &bytes[..bytes.len().min(1024)];
    let start = head.windows(5).position(|window| window == b"%PDF-")? + 5;
    let header = version_digits(&bytes[start..]);
    let document = Document::load_mem(bytes).ok();
    let catalog = document.as_ref().and_then(|document| document.catalog().ok());
    let catalog_version = catalog
        .and_then(|catalog| catalog.get(b"Version").ok())
        .and_then(|version| version.as_name().ok())
        .and_then(version_digits);
    if let (Some(document), Some(catalog)) = (&document, catalog)
        && let Some(format) = pdfa_claim(document, catalog)
    {
        return Some(format);
    }
    // The catalog's /Version overrides the header when it is later (ISO 32000-1, 7.2.2).
    let version = match (header, catalog_version) {
        (Some(header), Some(catalog)) => Some(header.max(catalog)),
        (header, catalog) => header.or(catalog),
    };
    Some(match version {
        Some((1, 0)) => Format::PDF_1_0,
        Some((1, 1)) => Format::PDF_1_1,
        Some((1, 2)) => Format::PDF_1_2,
        Some((1, 3)) => Format::PDF_1_3,
        Some((1, 4)) => Format::PDF_1_4,
        Some((1, 5)) => Format::PDF_1_5,
        Some((1, 6)) => Format::PDF_1_6,
        Some((1, 7)) => Format::PDF_1_7,
        Some((2, 0)) => Format::PDF_2_0,
        // A PDF header with a version no standard defines is not something we can name.
        _ => return Some(Format::UNKNOWN),
    })
}

/// `1.7` at the start of `bytes` as (1, 7).
fn version_digits(bytes: &[u8]) -> Option<(u8, u8)> {
    match bytes {
        [major @ b'0'..=b'9', b'.', minor @ b'0'..=b'9', ..] => Some((major - b'0', minor - b'0')),
        _ => None,
    }
}

/// The PDF/A flavour the catalog's XMP claims, if it claims one PRONOM names.
fn pdfa_claim(document: &Document, catalog: &lopdf::Dictionary) -> Option<Format> {
    let metadata = catalog.get(b"Metadata").ok()?;
    let stream = document.dereference(metadata).ok()?.1.as_stream().ok()?;
    let content =
        if stream.dict.has(b"Filter") { stream.decompressed_content().ok()? } else { stream.content.clone() };
    let xmp = String::from_utf8_lossy(&content);
    let part = crate::pdfa::xmp_property(&xmp, "pdfaid:part")?;
    let conformance = crate::pdfa::xmp_property(&xmp, "pdfaid:conformance")?.to_ascii_uppercase();
    Some(match (part.as_str(), conformance.as_str()) {
        ("1", "A") => Format::PDFA_1A,
        ("1", "B") => Format::PDFA_1B,
        ("2", "A") => Format::PDFA_2A,
        ("2", "B") => Format::PDFA_2B,
        ("2", "U") => Format::PDFA_2U,
        ("3", "A") => Format::PDFA_3A,
        ("3", "B") => Format::PDFA_3B,
        ("3", "U") => Format::PDFA_3U,
        // PDF/A-4 and malformed claims: the file is identified by its PDF version instead.
        _ => return None,
    })
}

/// Plain text: non-empty, and no NUL or other control characters except tab, line feed, form feed,
/// carriage return and ESC (old printer-formatted text uses it). That admits UTF-8 and the single-byte
/// encodings (Latin-1, Windows-1252) alike, and rejects binary formats, which all contain control
/// bytes early on, and UTF-16, whose ASCII characters come with NUL bytes. Only the first 64 KiB are
/// looked at.
fn is_plain_text(bytes: &[u8]) -> bool {
    const SAMPLE: usize = 64 * 1024;
    if bytes.is_empty() {
        return false;
    }
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    sample
        .iter()
        .all(|&byte| (byte >= 0x20 && byte != 0x7F) || matches!(byte, b'\t' | b'\n' | 0x0C | b'\r' | 0x1B))
}

fn read_u16(bytes: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let raw: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian { u16::from_be_bytes(raw) } else { u16::from_le_bytes(raw) })
}

fn read_u32(bytes: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian { u32::from_be_bytes(raw) } else { u32::from_le_bytes(raw) })
}

#[cfg(test)]
mod tests;
