//! Input files to pages: multi-page TIFF (CCITT G4, deflate, LZW, packbits, uncompressed), PDF with
//! scanned page images, JPEG and PNG. The format is recognised by content, never by file name, and
//! every file is checked against [`Limits`] before pixels are allocated.

use crate::page::{Dpi, Page};

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
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_pixels_per_page: 72_000_000,
            max_side: 20_000,
            max_pages_per_file: 2_000,
            max_file_bytes: 1 << 30,
        }
    }
}

/// The input formats the mailroom accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Tiff,
    Pdf,
    Jpeg,
    Png,
}

/// Why a file (or one of its pages) could not be decoded. Messages name the file's problem and what
/// the sender can do about it.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported file format ({0}); send TIFF, PDF, JPEG or PNG")]
    Unsupported(String),
    #[error("the file is damaged or truncated: {0}")]
    Corrupt(String),
    #[error("the PDF is password-protected; send it without encryption")]
    Encrypted,
    #[error("the file has no pages")]
    NoPages,
    #[error("{0}")]
    TooLarge(String),
}

/// Opens `bytes`, recognising the format by content. `default_dpi` is used for pages whose source
/// declares no resolution (the scanner profile's).
pub fn open<'a>(bytes: &'a [u8], limits: &Limits, default_dpi: Dpi) -> Result<OpenedFile<'a>, DecodeError> {
    let _ = (bytes, limits, default_dpi);
    Err(DecodeError::Unsupported("not implemented yet".into()))
}

/// A file whose structure has been read; pages are decoded one at a time to bound memory.
pub struct OpenedFile<'a> {
    pub format: InputFormat,
    bytes: &'a [u8],
}

impl OpenedFile<'_> {
    pub fn page_count(&self) -> u32 {
        let _ = self.bytes;
        0
    }

    /// Decodes page `index` (0-based).
    pub fn page(&self, index: u32) -> Result<Page, DecodeError> {
        let _ = index;
        Err(DecodeError::NoPages)
    }
}
