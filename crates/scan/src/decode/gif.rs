//! GIF pages. The logical screen size is read from the header and checked against [`Limits`] before
//! the `image` crate decodes; the block structure is walked by hand to count the frames.
//!
//! A GIF holds one picture or an animation. Only the first frame is a page: that is what viewers and
//! printers show for a still image, and an animation is not a multi-page document (its frames are
//! moments, not pages). Callers that must not lose anything (format migration) look at
//! [`super::gif_frames`] and refuse animations instead of silently dropping frames.
//!
//! Pixels come out as RGB, narrowed to grey or bilevel when that loses nothing (see
//! [`raster::narrowest`]); transparent pixels become white, like paper.

use super::{DecodeError, Limits, raster};
use crate::page::{Dpi, Page};

/// What the header and the block structure say.
#[derive(Clone, Debug)]
pub(crate) struct GifHeader {
    pub width: u32,
    pub height: u32,
    /// Image descriptors in the file (1 for a still image).
    pub frames: u32,
}

impl GifHeader {
    pub fn parse(bytes: &[u8]) -> Result<GifHeader, DecodeError> {
        if !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) {
            return Err(corrupt("the GIF signature is missing"));
        }
        let flags = *bytes.get(10).ok_or_else(|| corrupt("the GIF ends inside its header"))?;
        let width = u32::from(le16(bytes, 6).unwrap_or(0));
        let height = u32::from(le16(bytes, 8).unwrap_or(0));
        let mut at = 13usize;
        if flags & 0x80 != 0 {
            at += 3 << ((flags & 0x07) + 1);
        }
        let mut frames = 0u32;
        loop {
            match bytes.get(at) {
                // Image descriptor: 9 bytes, an optional local colour table, the LZW code size, data.
                Some(0x2C) => {
                    let local = *bytes.get(at + 9).ok_or_else(|| corrupt("the GIF ends inside a frame"))?;
                    at += 10;
                    if local & 0x80 != 0 {
                        at += 3 << ((local & 0x07) + 1);
                    }
                    at = skip_sub_blocks(bytes, at + 1)?;
                    frames += 1;
                }
                // Extension: label, then sub-blocks.
                Some(0x21) => at = skip_sub_blocks(bytes, at + 2)?,
                Some(0x3B) => break,
                // Many writers end without a trailer, or with padding; what came before still counts.
                None if frames > 0 => break,
                None => return Err(corrupt("the GIF ends before its first frame")),
                Some(other) => {
                    if frames > 0 {
                        break;
                    }
                    return Err(corrupt(format!("the GIF has an unknown block type {other:#04x}")));
                }
            }
        }
        if frames == 0 {
            return Err(DecodeError::NoPages);
        }
        Ok(GifHeader { width, height, frames })
    }
}

/// Decodes the first frame as the page. GIF has no resolution field, so the page takes `default_dpi`.
pub(super) fn decode(
    bytes: &[u8],
    header: &GifHeader,
    limits: &Limits,
    default_dpi: Dpi,
) -> Result<Page, DecodeError> {
    limits.check_page(0, header.width, header.height)?;
    let image = raster::decode_with_limits(bytes, image::ImageFormat::Gif, limits)
        .map_err(|error| corrupt(format!("the GIF does not decode: {error}")))?;
    let embedded = raster::exact_samples_of(&image);
    let raster = raster::narrowest(image).map_err(corrupt)?;
    Ok(Page { raster, dpi: default_dpi, embedded })
}

/// Skips data sub-blocks (length byte, data) up to and including the zero-length terminator.
fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> Result<usize, DecodeError> {
    loop {
        let length = *bytes.get(at).ok_or_else(|| corrupt("the GIF ends inside a data block"))?;
        at += 1 + usize::from(length);
        if length == 0 {
            return Ok(at);
        }
    }
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn corrupt(message: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt(message.into())
}
