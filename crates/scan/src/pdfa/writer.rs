//! The PDF/A-2 writer: serialises pages straight into bytes, object by object, with a classic xref
//! table. Written by hand rather than through lopdf so that every byte is under our control (PDF/A
//! cares about EOLs around `stream`, the header comment and what follows `%%EOF`) and so that JPEG and
//! CCITT streams are copied once, without an intermediate object model.
//!
//! Object layout (numbers fixed so that page objects can be numbered before they are written):
//! 1 catalog, 2 page tree, 3 XMP, 4 ICC profile, 5 Info, then for PDF/A-2u 6..=11 the glyphless font
//! (Type0, CIDFont, descriptor, font file, ToUnicode, CIDToGIDMap), then three objects per page
//! (page, content stream, image), then the soft masks of the images that have one, in page order.

use std::borrow::Cow;
use std::io::Write as _;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use image::GrayImage;

use super::font::{self, FONT_NAME, GLYPH_ADVANCE};
use super::xmp;
use super::{Conformance, DocumentInfo, PdfaError, RenditionPage};
use crate::ocr::OcrWord;
use crate::page::{EmbeddedImage, Page, Raster};

/// libdeflate level for grey and colour pages and content streams. On a noisy 300 dpi A4 grey page
/// (8.7 MB of samples) level 1 writes 3.76 MB in 58 ms, level 2 3.66 MB in 110 ms, level 6 3.53 MB in
/// 210 ms: scanner noise defeats the longer match search, so the small gain is not worth the time
/// (miniz_oxide's level 1, used before, wrote 4.02 MB in 84 ms). Measured with the migration bench's
/// test letter on the 2-core build machine.
const FLATE_LEVEL: i32 = 1;

/// libdeflate level for packed bilevel pages: on a 300 dpi A4 text page level 9 writes 27 KB in
/// 5.8 ms, level 6 31 KB in 3.0 ms, level 1 32 KB in 2.8 ms (level 12 26 KB in 440 ms). An archive
/// pays the 3 ms for a sixth less gladly; miniz_oxide's level 6, used before, wrote 33 KB in 5.8 ms.
const FLATE_LEVEL_BILEVEL: i32 = 9;

/// The sRGB profile of the OutputIntent (see `scan/assets/README.md`). ICC version 2.3, so it is
/// valid for PDF/A-2 (version < 5), and it makes DeviceRGB and DeviceGray legal.
const SRGB_ICC: &[u8] = include_bytes!("../../assets/sRGB.icc");

/// The output condition of the sRGB OutputIntent, for `/OutputConditionIdentifier` and `/Info`.
pub(super) const SRGB_CONDITION: &str = "sRGB IEC61966-2.1";

/// The registry that defines [`SRGB_CONDITION`], for `/RegistryName`.
pub(super) const ICC_REGISTRY: &str = "http://www.color.org";

/// PDF/A's implementation limit for page boundaries, in points (ISO 32000-1 Annex C).
const PAGE_SIZE_LIMIT_PT: std::ops::RangeInclusive<f64> = 3.0..=14_400.0;

/// Longest word we write, in characters. PDF/A limits strings to 32,767 bytes; no real word comes close.
const MAX_WORD_CHARS: usize = 4_000;

const CATALOG: u32 = 1;
const PAGES: u32 = 2;
const METADATA: u32 = 3;
const ICC_PROFILE: u32 = 4;
const INFO: u32 = 5;
const FONT_TYPE0: u32 = 6;
const FONT_CID: u32 = 7;
const FONT_DESCRIPTOR: u32 = 8;
const FONT_FILE: u32 = 9;
const FONT_TO_UNICODE: u32 = 10;
const FONT_CID_TO_GID: u32 = 11;

/// Writes `pages` as one PDF/A-2 document: PDF/A-2u when any page has a drawable OCR word, else PDF/A-2b.
/// Deterministic: the same pages and info give the same bytes.
pub fn write_pdfa(pages: &[RenditionPage<'_>], info: &DocumentInfo) -> Result<Vec<u8>, PdfaError> {
    if pages.is_empty() {
        return Err(PdfaError::NoPages);
    }
    let geometries = pages
        .iter()
        .enumerate()
        .map(|(index, page)| PageGeometry::new(index, page))
        .collect::<Result<Vec<_>, _>>()?;
    let conformance = if pages.iter().any(|page| page.words.iter().any(word_is_drawable)) {
        Conformance::U
    } else {
        Conformance::B
    };
    let first_page_object = if conformance == Conformance::U { FONT_CID_TO_GID + 1 } else { INFO + 1 };
    let page_object = |index: usize| first_page_object + 3 * index as u32;

    // Image data dominates the size; reserve for it so the buffer grows rarely.
    let estimate: usize = pages.iter().map(|page| estimated_image_bytes(page.page)).sum();
    let mut pdf = PdfBuffer::with_capacity(estimate + 64 * 1024);
    pdf.header();

    let kids: Vec<String> = (0..pages.len()).map(|index| format!("{} 0 R", page_object(index))).collect();
    pdf.object(
        CATALOG,
        &format!(
            "<< /Type /Catalog /Pages {PAGES} 0 R /Metadata {METADATA} 0 R /OutputIntents [<< /Type /OutputIntent \
             /S /GTS_PDFA1 /OutputConditionIdentifier ({SRGB_CONDITION}) /Info ({SRGB_CONDITION}) \
             /RegistryName ({ICC_REGISTRY}) /DestOutputProfile {ICC_PROFILE} 0 R >>] >>"
        ),
    );
    pdf.object(PAGES, &format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()));
    pdf.stream(METADATA, "/Type /Metadata /Subtype /XML", xmp::packet(info, conformance).as_bytes());
    pdf.stream(ICC_PROFILE, "/N 3 /Filter /FlateDecode", srgb_profile_flate());
    pdf.object(INFO, &info_dictionary(info));
    if conformance == Conformance::U {
        write_font(&mut pdf);
    }

    let mut next_extra_object = page_object(pages.len());
    for (index, (page, geometry)) in pages.iter().zip(&geometries).enumerate() {
        let object = page_object(index);
        let (contents, image) = (object + 1, object + 2);
        let font_resource = if conformance == Conformance::U {
            format!(" /Font << /F0 {FONT_TYPE0} 0 R >>")
        } else {
            String::new()
        };
        pdf.object(
            object,
            &format!(
                "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {} {}] /Resources << /XObject << /Im0 {image} 0 R >>{font_resource} >> /Contents {contents} 0 R >>",
                number(geometry.width_pt),
                number(geometry.height_pt),
            ),
        );
        let content = content_stream(page, geometry);
        pdf.stream(contents, "/Filter /FlateDecode", &deflate(index, content.as_bytes())?);
        let prepared = prepare_image(index, page.page)?;
        match &prepared.soft_mask {
            Some(mask) => {
                // Soft masks are numbered after the last page's objects, in page order.
                let mask_object = next_extra_object;
                next_extra_object += 1;
                pdf.stream(
                    image,
                    &format!("{} /SMask {mask_object} 0 R", prepared.dictionary),
                    &prepared.data,
                );
                pdf.stream(mask_object, &mask.dictionary, &mask.data);
            }
            None => pdf.stream(image, &prepared.dictionary, &prepared.data),
        }
    }
    Ok(pdf.finish(INFO, &info.document_id))
}

/// Where a page goes on paper: its size in points and the scale from upright pixels to points.
#[derive(Clone, Copy, Debug)]
struct PageGeometry {
    width_pt: f64,
    height_pt: f64,
    /// Points per upright pixel, horizontally and vertically.
    scale_x: f64,
    scale_y: f64,
    /// Upright size in pixels.
    width_px: u32,
    height_px: u32,
    turns: u8,
}

impl PageGeometry {
    fn new(index: usize, page: &RenditionPage<'_>) -> Result<PageGeometry, PdfaError> {
        let dpi = page.page.dpi;
        if !(dpi.x.is_finite() && dpi.y.is_finite() && dpi.x > 0.0 && dpi.y > 0.0) {
            return Err(PdfaError::InvalidDpi { page: index, x: dpi.x, y: dpi.y });
        }
        let turns = page.turns.get();
        let (width, height) = (page.page.raster.width(), page.page.raster.height());
        // A quarter turn swaps the axes, and with them the horizontal and vertical resolution.
        let (width_px, height_px, dpi_x, dpi_y) =
            if turns % 2 == 1 { (height, width, dpi.y, dpi.x) } else { (width, height, dpi.x, dpi.y) };
        let scale_x = 72.0 / f64::from(dpi_x);
        let scale_y = 72.0 / f64::from(dpi_y);
        let width_pt = f64::from(width_px) * scale_x;
        let height_pt = f64::from(height_px) * scale_y;
        if !PAGE_SIZE_LIMIT_PT.contains(&width_pt) || !PAGE_SIZE_LIMIT_PT.contains(&height_pt) {
            return Err(PdfaError::PageSize { page: index, width_pt, height_pt });
        }
        Ok(PageGeometry { width_pt, height_pt, scale_x, scale_y, width_px, height_px, turns })
    }

    /// The `cm` matrix that maps the image's unit square onto the page so the scan appears upright.
    /// Image space has its first row at the top (unit y = 1); turning clockwise by k quarters moves the
    /// scan's top-left corner to the top-right (k = 1), bottom-right (k = 2) or bottom-left (k = 3).
    fn image_matrix(&self) -> [f64; 6] {
        let (w, h) = (self.width_pt, self.height_pt);
        match self.turns {
            1 => [0.0, -h, w, 0.0, 0.0, h],
            2 => [-w, 0.0, 0.0, -h, w, h],
            3 => [0.0, h, -w, 0.0, w, 0.0],
            _ => [w, 0.0, 0.0, h, 0.0, 0.0],
        }
    }
}

/// A word can be drawn when it has a box with area and at least one encodable character.
fn word_is_drawable(word: &OcrWord) -> bool {
    word.bounds.x1 > word.bounds.x0
        && word.bounds.y1 > word.bounds.y0
        && !font::encode_cids(&word.text).is_empty()
}

/// The page's content: the image, turned upright, then the invisible text layer.
fn content_stream(page: &RenditionPage<'_>, geometry: &PageGeometry) -> String {
    let matrix = geometry.image_matrix().map(number).join(" ");
    let mut content = format!("q\n{matrix} cm\n/Im0 Do\nQ\n");
    let words: Vec<&OcrWord> = page.words.iter().filter(|word| word_is_drawable(word)).collect();
    if words.is_empty() {
        return content;
    }
    content.push_str("BT\n3 Tr\n");
    let mut start = 0;
    while start < words.len() {
        let line = words[start].line;
        let end = words[start..].iter().position(|word| word.line != line).map_or(words.len(), |n| start + n);
        text_line(&mut content, &words[start..end], geometry);
        start = end;
    }
    content.push_str("ET\n");
    content
}

/// One text line. All words share the line's baseline (the lowest box bottom) and font size (the line's
/// height), so viewers and `pdftotext` see one line; each word is stretched with `Tz` to its box width,
/// and a space stretched over the gap separates it from the next word.
fn text_line(content: &mut String, words: &[&OcrWord], geometry: &PageGeometry) {
    let clamp_x = |x: u32| f64::from(x.min(geometry.width_px)) * geometry.scale_x;
    let top = words.iter().map(|word| word.bounds.y0).min().unwrap_or(0).min(geometry.height_px);
    let bottom = words.iter().map(|word| word.bounds.y1).max().unwrap_or(0).min(geometry.height_px);
    if bottom <= top {
        return;
    }
    let size = f64::from(bottom - top) * geometry.scale_y;
    let baseline = geometry.height_pt - f64::from(bottom) * geometry.scale_y;
    let advance = GLYPH_ADVANCE / 1000.0 * size;
    content.push_str(&format!("/F0 {} Tf\n", number(size)));
    for (position, word) in words.iter().enumerate() {
        let cids: Vec<u16> = font::encode_cids(&word.text).into_iter().take(MAX_WORD_CHARS).collect();
        let (x0, x1) = (clamp_x(word.bounds.x0), clamp_x(word.bounds.x1));
        let width = (x1 - x0).max(0.01);
        let scaling = 100.0 * width / (advance * cids.len() as f64);
        content.push_str(&format!(
            "{} Tz 1 0 0 1 {} {} Tm <{}> Tj\n",
            number(scaling),
            number(x0),
            number(baseline),
            hex_cids(&cids)
        ));
        if let Some(next) = words.get(position + 1) {
            // The space spans the gap to the next word; overlapping boxes get a hairline space, which
            // still tells text extraction that the words are separate.
            let gap = (clamp_x(next.bounds.x0) - x1).max(0.01);
            content.push_str(&format!("{} Tz <0020> Tj\n", number(100.0 * gap / advance)));
        }
    }
}

fn hex_cids(cids: &[u16]) -> String {
    cids.iter().map(|cid| format!("{cid:04X}")).collect()
}

/// An image XObject ready to write: its dictionary entries (without `/Length`) and its stream data,
/// and its soft mask (an image XObject of its own) if it has one.
struct PreparedImage<'a> {
    dictionary: String,
    data: Cow<'a, [u8]>,
    soft_mask: Option<Box<PreparedImage<'a>>>,
}

/// Chooses how the page image goes into the PDF: the scanner's own JPEG, CCITT G4 or single-strip
/// deflate stream as it is (no recompression, no loss); a grey or RGB source's exact samples (16 bits,
/// alpha as a soft mask, which PDF/A-2 allows) with Flate when decoding had to normalise them; otherwise the raster losslessly with Flate. CMYK JPEGs are the
/// exception: DeviceCMYK needs a CMYK OutputIntent, and ours is sRGB, so they take the lossless path
/// from the decoded (RGB) raster instead.
fn prepare_image(index: usize, page: &Page) -> Result<PreparedImage<'_>, PdfaError> {
    let (raster_width, raster_height) = (page.raster.width(), page.raster.height());
    let check_size = |width: u32, height: u32| {
        if (width, height) == (raster_width, raster_height) {
            Ok(())
        } else {
            Err(PdfaError::EmbeddedSizeMismatch {
                page: index,
                embedded_width: width,
                embedded_height: height,
                raster_width,
                raster_height,
            })
        }
    };
    let common = |colour_space: &str, bits: u8| {
        format!(
            "/Type /XObject /Subtype /Image /Width {raster_width} /Height {raster_height} /ColorSpace /{colour_space} \
             /BitsPerComponent {bits} /Interpolate false"
        )
    };
    match &page.embedded {
        Some(EmbeddedImage::Jpeg { bytes, width, height, components: components @ (1 | 3), .. }) => {
            check_size(*width, *height)?;
            let colour_space = if *components == 1 { "DeviceGray" } else { "DeviceRGB" };
            return Ok(PreparedImage {
                dictionary: format!("{} /Filter /DCTDecode", common(colour_space, 8)),
                data: Cow::Borrowed(bytes),
                soft_mask: None,
            });
        }
        Some(EmbeddedImage::CcittG4 { bytes, width, height, black_is_1 }) => {
            check_size(*width, *height)?;
            return Ok(PreparedImage {
                dictionary: format!(
                    "{} /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {raster_width} /Rows {raster_height} /BlackIs1 {black_is_1} >>",
                    common("DeviceGray", 1)
                ),
                data: Cow::Borrowed(bytes),
                soft_mask: None,
            });
        }
        Some(EmbeddedImage::Flate { bytes, width, height, components: components @ (1 | 3), predictor }) => {
            check_size(*width, *height)?;
            let colour_space = if *components == 1 { "DeviceGray" } else { "DeviceRGB" };
            let parameters = match predictor {
                2 => format!(
                    " /DecodeParms << /Predictor 2 /Colors {components} /BitsPerComponent 8 /Columns {raster_width} >>"
                ),
                _ => String::new(),
            };
            return Ok(PreparedImage {
                dictionary: format!("{} /Filter /FlateDecode{parameters}", common(colour_space, 8)),
                data: Cow::Borrowed(bytes),
                soft_mask: None,
            });
        }
        Some(EmbeddedImage::Samples {
            colour,
            alpha,
            width,
            height,
            components: components @ (1 | 3),
            bits: bits @ (8 | 16),
            premultiplied,
        }) => {
            check_size(*width, *height)?;
            let colour_space = if *components == 1 { "DeviceGray" } else { "DeviceRGB" };
            let soft_mask = match alpha {
                Some(alpha) => {
                    // Associated alpha: the colour was multiplied into black, which /Matte states.
                    let matte = if *premultiplied {
                        format!(" /Matte [{}]", vec!["0"; usize::from(*components)].join(" "))
                    } else {
                        String::new()
                    };
                    Some(Box::new(PreparedImage {
                        dictionary: format!("{} /Filter /FlateDecode{matte}", common("DeviceGray", *bits)),
                        data: Cow::Owned(deflate(index, alpha)?),
                        soft_mask: None,
                    }))
                }
                None => None,
            };
            return Ok(PreparedImage {
                dictionary: format!("{} /Filter /FlateDecode", common(colour_space, *bits)),
                data: Cow::Owned(deflate(index, colour)?),
                soft_mask,
            });
        }
        _ => {}
    }
    let (colour_space, bits, data) = match &page.raster {
        Raster::Bilevel(image) => {
            ("DeviceGray", 1, deflate_at(index, &pack_bits(image), FLATE_LEVEL_BILEVEL)?)
        }
        Raster::Gray(image) => ("DeviceGray", 8, deflate(index, image.as_raw())?),
        Raster::Rgb(image) => ("DeviceRGB", 8, deflate(index, image.as_raw())?),
    };
    Ok(PreparedImage {
        dictionary: format!("{} /Filter /FlateDecode", common(colour_space, bits)),
        data: Cow::Owned(data),
        soft_mask: None,
    })
}

/// Packs a bilevel page into 1 bit per pixel, rows padded to whole bytes, 1 = white (DeviceGray).
fn pack_bits(image: &GrayImage) -> Vec<u8> {
    let width = image.width() as usize;
    let row_bytes = width.div_ceil(8);
    let mut packed = Vec::with_capacity(row_bytes * image.height() as usize);
    if width == 0 {
        return packed;
    }
    for row in image.as_raw().chunks_exact(width) {
        for pixels in row.chunks(8) {
            let mut byte = 0u8;
            for (bit, &sample) in pixels.iter().enumerate() {
                if sample >= 128 {
                    byte |= 0x80 >> bit;
                }
            }
            packed.push(byte);
        }
    }
    packed
}

fn estimated_image_bytes(page: &Page) -> usize {
    match &page.embedded {
        Some(
            EmbeddedImage::Jpeg { bytes, .. }
            | EmbeddedImage::CcittG4 { bytes, .. }
            | EmbeddedImage::Flate { bytes, .. },
        ) => bytes.len(),
        Some(EmbeddedImage::Samples { colour, .. }) => colour.len() / 4,
        None => (page.raster.width() as usize).saturating_mul(page.raster.height() as usize) / 8,
    }
}

fn deflate(page: usize, data: &[u8]) -> Result<Vec<u8>, PdfaError> {
    deflate_at(page, data, FLATE_LEVEL)
}

/// One zlib stream of `data` through libdeflate (see [`crate::zlib`]).
fn deflate_at(page: usize, data: &[u8], level: i32) -> Result<Vec<u8>, PdfaError> {
    crate::zlib::compress(data, level).map_err(|message| PdfaError::Compression { page, message })
}

/// The sRGB ICC profile of the OutputIntent, Flate-compressed (once per process). The normaliser
/// adds the same profile to the documents it converts.
pub(super) fn srgb_profile_flate() -> &'static [u8] {
    compressed_once(&SRGB_PROFILE_FLATE, SRGB_ICC)
}

static SRGB_PROFILE_FLATE: OnceLock<Vec<u8>> = OnceLock::new();
static CID_TO_GID_FLATE: OnceLock<Vec<u8>> = OnceLock::new();

/// Compresses a constant once per process. Compressing into a `Vec` cannot fail, so a failure (which
/// would be a bug in flate2) falls back to an empty stream that the checker would flag.
fn compressed_once(cell: &'static OnceLock<Vec<u8>>, data: &[u8]) -> &'static [u8] {
    cell.get_or_init(|| {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(data).and_then(|()| encoder.finish()).unwrap_or_default()
    })
}

/// The glyphless font objects (6..=11).
fn write_font(pdf: &mut PdfBuffer) {
    pdf.object(
        FONT_TYPE0,
        &format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{FONT_NAME} /Encoding /Identity-H \
             /DescendantFonts [{FONT_CID} 0 R] /ToUnicode {FONT_TO_UNICODE} 0 R >>"
        ),
    );
    pdf.object(
        FONT_CID,
        &format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{FONT_NAME} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {FONT_DESCRIPTOR} 0 R /DW {} /CIDToGIDMap {FONT_CID_TO_GID} 0 R >>",
            GLYPH_ADVANCE as u32
        ),
    );
    pdf.object(
        FONT_DESCRIPTOR,
        &format!(
            "<< /Type /FontDescriptor /FontName /{FONT_NAME} /Flags 5 /FontBBox [0 0 {} 1000] /ItalicAngle 0 \
             /Ascent 1000 /Descent -1 /CapHeight 1000 /StemV 80 /FontFile2 {FONT_FILE} 0 R >>",
            GLYPH_ADVANCE as u32
        ),
    );
    pdf.stream(FONT_FILE, &format!("/Length1 {}", font::GLYPHLESS_TTF.len()), font::GLYPHLESS_TTF);
    pdf.stream(FONT_TO_UNICODE, "", font::to_unicode_cmap());
    pdf.stream(
        FONT_CID_TO_GID,
        "/Filter /FlateDecode",
        compressed_once(&CID_TO_GID_FLATE, font::cid_to_gid_map()),
    );
}

/// The Info dictionary, carrying the same values as the XMP packet (veraPDF compares them).
fn info_dictionary(info: &DocumentInfo) -> String {
    let entries: Vec<String> = xmp::info_entries(info)
        .into_iter()
        .map(|(key, value)| format!("/{key} {}", text_string(&value)))
        .collect();
    format!("<< {} >>", entries.join(" "))
}

/// A PDF text string in PDF syntax: a literal for printable ASCII, else UTF-16BE with a byte order
/// mark, written in hex (see [`xmp::pdf_text`] for the encoding).
fn text_string(text: &str) -> String {
    match xmp::pdf_text(text) {
        xmp::PdfText::Ascii(ascii) => {
            let mut literal = String::from("(");
            for c in ascii.chars() {
                if matches!(c, '(' | ')' | '\\') {
                    literal.push('\\');
                }
                literal.push(c);
            }
            literal.push(')');
            literal
        }
        xmp::PdfText::Utf16(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
            format!("<{hex}>")
        }
    }
}

/// A PDF number: at most three decimals, no exponent, no negative zero.
fn number(value: f64) -> String {
    if !value.is_finite() {
        return "0".into();
    }
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() { "0".into() } else { text.to_string() }
}

/// The output buffer and the byte offset of each object, for the xref table.
struct PdfBuffer {
    out: Vec<u8>,
    offsets: Vec<(u32, usize)>,
}

impl PdfBuffer {
    fn with_capacity(capacity: usize) -> PdfBuffer {
        PdfBuffer { out: Vec::with_capacity(capacity), offsets: Vec::new() }
    }

    /// `%PDF-1.7` and a comment of four bytes above 127, which PDF/A requires so that transfer tools
    /// treat the file as binary.
    fn header(&mut self) {
        self.out.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    }

    fn object(&mut self, id: u32, body: &str) {
        self.offsets.push((id, self.out.len()));
        self.out.extend_from_slice(format!("{id} 0 obj\n{body}\nendobj\n").as_bytes());
    }

    /// A stream object with an exact `/Length`, `stream` followed by LF and `endstream` preceded by LF.
    fn stream(&mut self, id: u32, entries: &str, data: &[u8]) {
        self.offsets.push((id, self.out.len()));
        let separator = if entries.is_empty() { "" } else { " " };
        self.out.extend_from_slice(
            format!("{id} 0 obj\n<< {entries}{separator}/Length {} >>\nstream\n", data.len()).as_bytes(),
        );
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    /// The xref table, the trailer with `/ID` (twice the document id, as for a new file) and `%%EOF`
    /// followed by one LF and nothing else.
    fn finish(mut self, info: u32, document_id: &[u8; 16]) -> Vec<u8> {
        self.offsets.sort_unstable();
        let size = self.offsets.last().map_or(1, |(id, _)| id + 1);
        let xref_offset = self.out.len();
        let mut xref = format!("xref\n0 {size}\n0000000000 65535 f \n");
        let mut next = 1;
        for &(id, offset) in &self.offsets {
            // Object numbers are contiguous by construction; a gap would be listed as free.
            while next < id {
                xref.push_str("0000000000 00000 f \n");
                next += 1;
            }
            xref.push_str(&format!("{offset:010} 00000 n \n"));
            next = id + 1;
        }
        let id: String = document_id.iter().map(|b| format!("{b:02X}")).collect();
        xref.push_str(&format!(
            "trailer\n<< /Size {size} /Root {CATALOG} 0 R /Info {info} 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref_offset}\n%%EOF\n"
        ));
        self.out.extend_from_slice(xref.as_bytes());
        self.out
    }
}
