//! Input files to pages: multi-page TIFF (CCITT G4, deflate, LZW, packbits, uncompressed), PDF with
//! scanned page images, JPEG, PNG, GIF (first frame; see [`gif`]) and BMP. The format is recognised by content, never by file name, and
//! every file is checked against [`Limits`] before pixels are allocated.
//!
//! Opening a file reads only its structure (TIFF directories, the PDF object graph, image headers);
//! [`OpenedFile::page`] decodes one page at a time, so a 200-page batch never sits in memory decoded.
//! Where a page's compressed stream can go into a PDF unchanged (JPEG, single-strip CCITT G4 or
//! single-strip 8-bit deflate TIFF), the page
//! carries it in [`Page::embedded`] so the rendition is lossless and cheap; so does a JPEG-in-TIFF
//! page whose strips can be joined into one JPEG without re-encoding (see `tiff_jpeg`).
//!
//! PDF pages that are not a single scanned image (born-digital text, vector drawings, several images,
//! JBIG2 or JPEG 2000 images) are rendered by poppler's `pdftoppm` as a child process; see [`pdf`].

mod bmp;
mod g4;
mod gif;
mod jpeg;
mod pdf;
mod png;
mod raster;
pub(crate) mod render;
mod tiff;
mod tiff_jpeg;

use crate::page::{Dpi, EmbeddedImage, Page};

/// Resource caps that make decompression bombs and absurd files a clear error instead of an outage.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Pixels per page. The default admits A3 at 600 dpi (7016 × 9921) with a little margin.
    pub max_pixels_per_page: u64,
    /// Width or height of a page in pixels.
    pub max_side: u32,
    /// Pages per file.
    pub max_pages_per_file: u32,
    /// Bytes per input file.
    pub max_file_bytes: u64,
    /// Bytes of text extracted from one PDF (see [`crate::text`]). The default, 16 MiB, is several
    /// thousand pages of dense prose; more is a generated or hostile file, not correspondence.
    pub max_text_bytes: u64,
    /// Bytes one compressed stream of a PDF's structure (an object stream, a cross-reference stream,
    /// a page's content) may decompress to. Deflate alone inflates up to about 1000:1 and filters
    /// can be chained, so without this a few hundred kilobytes become gigabytes before any page is
    /// looked at. Image streams have a tighter cap of their own: the bytes their declared size needs,
    /// which [`Limits::max_pixels_per_page`] bounds. The default, 16 MiB, is far above what the
    /// structure of a scanned or office PDF needs.
    pub max_stream_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_pixels_per_page: 72_000_000,
            max_side: 20_000,
            max_pages_per_file: 2_000,
            max_file_bytes: 1 << 30,
            max_text_bytes: 16 << 20,
            max_stream_bytes: 16 << 20,
        }
    }
}

impl Limits {
    /// Fails with [`DecodeError::TooLarge`] when a `width` × `height` page would break the caps. Called
    /// with the dimensions a header declares, before any pixel buffer exists.
    pub(crate) fn check_page(&self, page: u32, width: u32, height: u32) -> Result<(), DecodeError> {
        let pixels = u64::from(width) * u64::from(height);
        if width > self.max_side || height > self.max_side || pixels > self.max_pixels_per_page {
            return Err(DecodeError::TooLarge(format!(
                "page {} is {width} × {height} pixels, over the limit of {} pixels and {} per side; \
                 scan at a lower resolution or split the page",
                page + 1,
                self.max_pixels_per_page,
                self.max_side
            )));
        }
        if width == 0 || height == 0 {
            return Err(DecodeError::Corrupt(format!(
                "page {} declares an empty image ({width} × {height} pixels); rescan the page",
                page + 1
            )));
        }
        Ok(())
    }

    pub(crate) fn check_page_count(&self, count: u64) -> Result<(), DecodeError> {
        if count > u64::from(self.max_pages_per_file) {
            return Err(DecodeError::TooLarge(format!(
                "the file has {count} pages, over the limit of {}; split the batch into smaller files",
                self.max_pages_per_file
            )));
        }
        Ok(())
    }
}

/// The input formats the mailroom accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Tiff,
    Pdf,
    Jpeg,
    Png,
    Gif,
    Bmp,
}

/// Why a file (or one of its pages) could not be decoded. Messages name the file's problem and what
/// the sender can do about it.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported file format ({0}); send TIFF, PDF, JPEG, PNG, GIF or BMP")]
    Unsupported(String),
    #[error("the file is damaged or truncated: {0}")]
    Corrupt(String),
    #[error("the PDF is password-protected; send it without encryption")]
    Encrypted,
    #[error("the file has no pages")]
    NoPages,
    #[error("{0}")]
    TooLarge(String),
    /// Rendering a PDF page with `pdftoppm` failed for a reason that is not the file's fault (the
    /// program is missing, or it took too long).
    #[error("rendering the PDF page failed: {0}")]
    Render(String),
}

/// Opens `bytes`, recognising the format by content. `default_dpi` is used for pages whose source
/// declares no resolution (the scanner profile's).
///
/// An encrypted PDF is refused with [`DecodeError::Encrypted`] even when its user password is empty:
/// the archive cannot keep a rendition it may not be able to open later, so the sender must remove
/// the protection.
pub fn open<'a>(bytes: &'a [u8], limits: &Limits, default_dpi: Dpi) -> Result<OpenedFile<'a>, DecodeError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(DecodeError::TooLarge(format!(
            "the file has {} bytes, over the limit of {}; split the batch into smaller files",
            bytes.len(),
            limits.max_file_bytes
        )));
    }
    let format = sniff(bytes)?;
    let inner = match format {
        InputFormat::Tiff => Inner::Tiff(tiff::TiffFile::open(bytes, limits)?),
        InputFormat::Pdf => Inner::Pdf(Box::new(pdf::PdfFile::open(bytes, limits)?)),
        InputFormat::Jpeg => Inner::Jpeg(jpeg::JpegHeader::parse(bytes)?),
        InputFormat::Png => Inner::Png(png::PngHeader::parse(bytes)?),
        InputFormat::Gif => Inner::Gif(gif::GifHeader::parse(bytes)?),
        InputFormat::Bmp => Inner::Bmp(bmp::BmpHeader::parse(bytes)?),
    };
    let opened = OpenedFile { format, bytes, inner, limits: limits.clone(), default_dpi };
    if opened.page_count() == 0 {
        return Err(DecodeError::NoPages);
    }
    Ok(opened)
}

/// How many frames (images) a GIF holds. [`open`] shows only the first as the page (see [`gif`]);
/// callers that must not lose content, such as format migration, refuse a GIF with more than one.
pub fn gif_frames(bytes: &[u8]) -> Result<u32, DecodeError> {
    Ok(gif::GifHeader::parse(bytes)?.frames)
}

/// A single JPEG file as a page whose stream will be embedded unchanged, without decoding its pixels:
/// the structure and size are checked, and the page's raster is a placeholder of the right size that
/// must not be looked at. For format migration, whose validation compares the JPEG bytes themselves.
pub(crate) fn jpeg_page_for_embedding(
    bytes: &[u8],
    limits: &Limits,
    default_dpi: Dpi,
) -> Result<Page, DecodeError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(DecodeError::TooLarge(format!(
            "the file has {} bytes, over the limit of {}; split the batch into smaller files",
            bytes.len(),
            limits.max_file_bytes
        )));
    }
    jpeg::page_for_embedding(bytes, limits, default_dpi)
}

/// A file whose structure has been read; pages are decoded one at a time to bound memory.
///
/// `OpenedFile` is `Send` and `Sync`: it holds only the borrowed bytes and parsed structure, and
/// [`OpenedFile::page`] takes `&self`, so worker threads may decode different pages at once.
pub struct OpenedFile<'a> {
    pub format: InputFormat,
    bytes: &'a [u8],
    inner: Inner<'a>,
    limits: Limits,
    default_dpi: Dpi,
}

enum Inner<'a> {
    Tiff(tiff::TiffFile<'a>),
    Pdf(Box<pdf::PdfFile<'a>>),
    Jpeg(jpeg::JpegHeader),
    Png(png::PngHeader),
    Gif(gif::GifHeader),
    Bmp(bmp::BmpHeader),
}

impl OpenedFile<'_> {
    pub fn page_count(&self) -> u32 {
        match &self.inner {
            Inner::Tiff(file) => file.page_count(),
            Inner::Pdf(file) => file.page_count(),
            Inner::Jpeg(_) | Inner::Png(_) | Inner::Gif(_) | Inner::Bmp(_) => 1,
        }
    }

    /// The JPEG stream of PDF page `index` when the page is one full-page JPEG image, undecoded; `None`
    /// for other pages and other formats. See [`OpenedFile::page`] for the page that would be decoded.
    pub fn page_jpeg_stream(&self, index: u32) -> Option<&[u8]> {
        match &self.inner {
            Inner::Pdf(file) => file.page_jpeg_stream(index),
            _ => None,
        }
    }

    /// The CCITT G4 stream of PDF page `index` when the page is one full-page G4 image, undecoded (see
    /// the PDF decoder's `page_g4_stream`); `None` for other pages and other formats.
    pub fn page_g4_stream(&self, index: u32) -> Option<EmbeddedImage> {
        match &self.inner {
            Inner::Pdf(file) => file.page_g4_stream(index),
            _ => None,
        }
    }

    /// The Flate stream of PDF page `index` when the page is one full-page 8-bit grey or RGB Flate
    /// image (see the PDF decoder's `page_flate_stream`), undecoded; `None` for other pages and formats.
    pub fn page_flate_stream(&self, index: u32) -> Option<EmbeddedImage> {
        match &self.inner {
            Inner::Pdf(file) => file.page_flate_stream(index),
            _ => None,
        }
    }

    /// The samples of PDF page `index` when the page is one full-page 8- or 16-bit grey or RGB image,
    /// with its soft mask's samples (see the PDF decoder's `page_samples`), inflated but not converted;
    /// `None` for other pages and formats.
    pub fn page_samples(&self, index: u32) -> Option<EmbeddedImage> {
        match &self.inner {
            Inner::Pdf(file) => file.page_samples(index),
            _ => None,
        }
    }

    /// Page `index` for format migration, which embeds a page's own stream unchanged and compares
    /// that stream rather than pixels: a single-strip 8-bit deflate or CCITT G4 TIFF page is checked
    /// complete (inflated, or decoded row by row) but no pixels are kept, and its raster is a
    /// placeholder of the right size that must not be looked at (see the TIFF decoder's
    /// `page_for_embedding`). Every other page is [`OpenedFile::page`].
    pub(crate) fn page_for_embedding(&self, index: u32) -> Result<Page, DecodeError> {
        match &self.inner {
            Inner::Tiff(file) if index < self.page_count() => {
                file.page_for_embedding(index, &self.limits, self.default_dpi)
            }
            _ => self.page(index),
        }
    }

    /// Decodes page `index` (0-based).
    pub fn page(&self, index: u32) -> Result<Page, DecodeError> {
        if index >= self.page_count() {
            return Err(DecodeError::NoPages);
        }
        match &self.inner {
            Inner::Tiff(file) => file.page(index, &self.limits, self.default_dpi),
            Inner::Pdf(file) => file.page(index, &self.limits, self.default_dpi),
            Inner::Jpeg(header) => jpeg::decode(self.bytes, header, &self.limits, self.default_dpi),
            Inner::Png(header) => png::decode(self.bytes, header, &self.limits, self.default_dpi),
            Inner::Gif(header) => gif::decode(self.bytes, header, &self.limits, self.default_dpi),
            Inner::Bmp(header) => bmp::decode(self.bytes, header, &self.limits, self.default_dpi),
        }
    }
}

impl OpenedFile<'_> {
    /// Decodes page `index` like [`OpenedFile::page`], without starting a child process: a PDF page
    /// that `pdftoppm` would have to render is only planned (its render size checked against the
    /// limits) and comes back as `Ok(None)`. This is the entry of the fuzz targets, which must run
    /// a million inputs in one process; the renderer is poppler's code, not ours.
    #[doc(hidden)]
    pub fn page_without_rendering(&self, index: u32) -> Result<Option<Page>, DecodeError> {
        match &self.inner {
            Inner::Pdf(file) => match file.page_or_plan(index, &self.limits, self.default_dpi)? {
                pdf::Extracted::Page(page) => Ok(Some(page)),
                pdf::Extracted::Render(_) => Ok(None),
            },
            _ => self.page(index).map(Some),
        }
    }
}

/// Recognises the format from the first bytes, and names what it saw when it is none we accept.
pub(crate) fn sniff(bytes: &[u8]) -> Result<InputFormat, DecodeError> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(b"II*\0")
        || bytes.starts_with(b"MM\0*")
        || bytes.starts_with(b"II+\0")
        || bytes.starts_with(b"MM\0+")
    {
        return Ok(InputFormat::Tiff);
    }
    if bytes.starts_with(b"\xFF\xD8\xFF") {
        return Ok(InputFormat::Jpeg);
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        return Ok(InputFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok(InputFormat::Gif);
    }
    // "BM" alone is too weak (text can start so): the reserved header fields must be zero as well.
    if bytes.starts_with(b"BM") && bytes.get(6..10) == Some(&[0, 0, 0, 0]) {
        return Ok(InputFormat::Bmp);
    }
    // PDF readers accept a header anywhere in the first kilobyte (some mail gateways prepend junk).
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|window| window == b"%PDF-") {
        return Ok(InputFormat::Pdf);
    }
    let seen = if bytes.is_empty() {
        "the file is empty".to_string()
    } else if bytes.starts_with(b"PK\x03\x04") {
        "looks like a ZIP archive, perhaps an Office document".to_string()
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "looks like a WebP image".to_string()
    } else if bytes.starts_with(b"\0\0\0\x0cjP  ") || bytes.starts_with(b"\xFF\x4F\xFF\x51") {
        "looks like a JPEG 2000 image".to_string()
    } else if bytes.starts_with(b"%!PS") {
        "looks like PostScript".to_string()
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        "looks like a legacy Office document".to_string()
    } else {
        let hex: Vec<String> = bytes.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        format!("starts with bytes {}", hex.join(" "))
    };
    Err(DecodeError::Unsupported(seen))
}

/// A resolution read from a file, if it is plausible. Files written by careless software carry 1 or
/// 0 dpi, which would make every later size computation absurd, so those fall back to the default.
fn plausible_dpi(x: f64, y: f64) -> Option<Dpi> {
    let ok = |v: f64| v.is_finite() && (20.0..=10_000.0).contains(&v);
    match (ok(x), ok(y)) {
        (true, true) => Some(Dpi { x: x as f32, y: y as f32 }),
        (true, false) => Some(Dpi::uniform(x as f32)),
        (false, true) => Some(Dpi::uniform(y as f32)),
        (false, false) => None,
    }
}

#[cfg(test)]
mod tests;
