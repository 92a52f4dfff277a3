//! BMP pages (Windows 2.0 to 5.0 and OS/2 2.0 headers). The size and resolution are read from the info
//! header and the size is checked against [`Limits`] before the `image` crate decodes. Pixels come out
//! as RGB, narrowed to grey or bilevel when that loses nothing (see [`raster::narrowest`]); an alpha
//! channel is composited over white, like paper.

use super::{DecodeError, Limits, plausible_dpi, raster};
use crate::page::{Dpi, Page};

/// What the file and info headers say.
#[derive(Clone, Debug)]
pub(crate) struct BmpHeader {
    pub width: u32,
    pub height: u32,
    pub dpi: Option<Dpi>,
}

impl BmpHeader {
    pub fn parse(bytes: &[u8]) -> Result<BmpHeader, DecodeError> {
        if !bytes.starts_with(b"BM") {
            return Err(corrupt("the BMP signature is missing"));
        }
        let header_size = le32(bytes, 14).ok_or_else(|| corrupt("the BMP ends inside its header"))?;
        let (width, height, dpi) = if header_size == 12 {
            // Windows 2.0 / OS/2 1.x core header: 16-bit sizes, no resolution.
            let width = le16(bytes, 18).ok_or_else(|| corrupt("the BMP ends inside its header"))?;
            let height = le16(bytes, 20).ok_or_else(|| corrupt("the BMP ends inside its header"))?;
            (u32::from(width), u32::from(height), None)
        } else if header_size >= 40 {
            let width = le32(bytes, 18).ok_or_else(|| corrupt("the BMP ends inside its header"))? as i32;
            let height = le32(bytes, 22).ok_or_else(|| corrupt("the BMP ends inside its header"))? as i32;
            // Pixels per metre; a negative height means the rows are stored top-down.
            let per_metre = |at: usize| f64::from(le32(bytes, at).unwrap_or(0) as i32) * 0.0254;
            (width.unsigned_abs(), height.unsigned_abs(), plausible_dpi(per_metre(38), per_metre(42)))
        } else {
            return Err(corrupt(format!("the BMP info header has an unknown size of {header_size} bytes")));
        };
        Ok(BmpHeader { width, height, dpi })
    }
}

pub(super) fn decode(
    bytes: &[u8],
    header: &BmpHeader,
    limits: &Limits,
    default_dpi: Dpi,
) -> Result<Page, DecodeError> {
    limits.check_page(0, header.width, header.height)?;
    let image = raster::decode_with_limits(bytes, image::ImageFormat::Bmp, limits)
        .map_err(|error| corrupt(format!("the BMP does not decode: {error}")))?;
    let embedded = raster::exact_samples_of(&image);
    let raster = raster::narrowest(image).map_err(corrupt)?;
    Ok(Page { raster, dpi: header.dpi.unwrap_or(default_dpi), embedded })
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn corrupt(message: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt(message.into())
}
