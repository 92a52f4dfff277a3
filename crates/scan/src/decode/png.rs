//! PNG pages. The header and the pHYs chunk are read here, so the size is checked before any pixel
//! is allocated; the `image` crate decodes. One-bit grey becomes a bilevel raster, 16-bit samples are
//! reduced to 8, palettes are expanded, and transparency is composited over white (paper); where
//! that changed samples (16 bits, transparency) the page also keeps the exact ones
//! ([`crate::page::EmbeddedImage::Samples`]).

use super::{DecodeError, Limits, plausible_dpi, raster};
use crate::page::{Dpi, Page, Raster};

const SIGNATURE_LEN: usize = 8;

/// What the chunks before the image data say.
#[derive(Clone, Debug)]
pub(super) struct PngHeader {
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    dpi: Option<Dpi>,
}

impl PngHeader {
    pub fn parse(bytes: &[u8]) -> Result<PngHeader, DecodeError> {
        let mut header: Option<PngHeader> = None;
        let mut at = SIGNATURE_LEN;
        loop {
            let length =
                be32(bytes, at).ok_or_else(|| corrupt("the PNG ends before its image data"))? as usize;
            let kind =
                bytes.get(at + 4..at + 8).ok_or_else(|| corrupt("the PNG ends inside a chunk header"))?;
            let data = bytes
                .get(at + 8..(at + 8).saturating_add(length))
                .ok_or_else(|| corrupt("the PNG ends inside a chunk"))?;
            match kind {
                b"IHDR" if data.len() >= 13 => {
                    header = Some(PngHeader {
                        width: be32(data, 0).unwrap_or(0),
                        height: be32(data, 4).unwrap_or(0),
                        bit_depth: data[8],
                        color_type: data[9],
                        dpi: None,
                    });
                }
                b"pHYs" if data.len() >= 9 => {
                    if let Some(header) = header.as_mut() {
                        // Unit 1 is pixels per metre; unit 0 gives only the aspect ratio.
                        if data[8] == 1 {
                            let per_metre = |v: u32| f64::from(v) * 0.0254;
                            header.dpi = plausible_dpi(
                                per_metre(be32(data, 0).unwrap_or(0)),
                                per_metre(be32(data, 4).unwrap_or(0)),
                            );
                        }
                    }
                }
                b"IDAT" | b"IEND" => break,
                _ => {}
            }
            at = at.saturating_add(12).saturating_add(length);
        }
        header.ok_or_else(|| corrupt("the PNG has no header chunk"))
    }
}

pub(super) fn decode(
    bytes: &[u8],
    header: &PngHeader,
    limits: &Limits,
    default_dpi: Dpi,
) -> Result<Page, DecodeError> {
    limits.check_page(0, header.width, header.height)?;
    let image = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .map_err(|error| corrupt(format!("the PNG does not decode: {error}")))?;
    let (width, height) = (image.width(), image.height());
    let embedded = raster::exact_samples_of(&image);
    let grey_only = matches!(header.color_type, 0 | 4);
    let result = match image {
        image::DynamicImage::ImageLuma8(gray) if header.bit_depth == 1 && header.color_type == 0 => {
            // The decoder scales 1-bit samples to 0 and 255 already.
            raster::bilevel_raster(gray.into_raw(), width, height)
        }
        image::DynamicImage::ImageLuma8(gray) => Ok(Raster::Gray(gray)),
        image::DynamicImage::ImageRgb8(rgb) => Ok(Raster::Rgb(rgb)),
        other if grey_only => {
            let gray_alpha = other.to_luma_alpha8().into_raw();
            raster::gray_raster(raster::over_white(&gray_alpha, 1, false), width, height)
        }
        other if other.color().has_alpha() => {
            let rgba = other.to_rgba8().into_raw();
            raster::rgb_raster(raster::over_white(&rgba, 3, false), width, height)
        }
        other => Ok(Raster::Rgb(other.to_rgb8())),
    };
    let raster = result.map_err(corrupt)?;
    Ok(Page { raster, dpi: header.dpi.unwrap_or(default_dpi), embedded })
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn corrupt(message: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt(message.into())
}
