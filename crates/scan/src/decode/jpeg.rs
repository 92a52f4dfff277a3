//! JPEG pages. The marker segments are read here (frame size and components, JFIF and EXIF density,
//! the Adobe APP14 marker) so the size is checked before decoding and the original bytes can be
//! embedded in the PDF unchanged; the pixels are decoded by the `image` crate (zune-jpeg).
//!
//! The EXIF orientation tag is ignored: scanners do not set it, and the page analysis finds the
//! upright orientation from the content anyway.

use super::{DecodeError, Limits, plausible_dpi, raster};
use crate::page::{Dpi, EmbeddedImage, JpegOrigin, Page, Raster};

/// What the marker segments before the scan say.
#[derive(Clone, Debug)]
pub(super) struct JpegHeader {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    /// An Adobe APP14 marker is present; with four components this means inverted CMYK.
    pub adobe: bool,
    pub dpi: Option<Dpi>,
}

impl JpegHeader {
    pub fn parse(bytes: &[u8]) -> Result<JpegHeader, DecodeError> {
        let mut jfif_dpi = None;
        let mut exif_dpi = None;
        let mut adobe = false;
        let mut at = 2usize;
        loop {
            // Markers may be preceded by any number of 0xFF fill bytes.
            while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
                at += 1;
            }
            let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
                return Err(corrupt("the JPEG ends before its frame header"));
            };
            at += 2;
            if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
                continue;
            }
            if marker == 0xD9 || marker == 0xDA {
                return Err(corrupt("the JPEG has no frame header before its image data"));
            }
            let length =
                be16(bytes, at).ok_or_else(|| corrupt("the JPEG ends inside a marker segment"))? as usize;
            let segment = length
                .checked_sub(2)
                .and_then(|len| bytes.get(at + 2..at + 2 + len))
                .ok_or_else(|| corrupt("the JPEG ends inside a marker segment"))?;
            match marker {
                0xE0 if segment.starts_with(b"JFIF\0") && segment.len() >= 12 => {
                    let (x, y) =
                        (f64::from(be16(segment, 8).unwrap_or(0)), f64::from(be16(segment, 10).unwrap_or(0)));
                    jfif_dpi = match segment[7] {
                        1 => plausible_dpi(x, y),
                        2 => plausible_dpi(x * 2.54, y * 2.54),
                        _ => None,
                    };
                }
                0xE1 if segment.starts_with(b"Exif\0\0") => exif_dpi = exif_resolution(&segment[6..]),
                0xEE if segment.starts_with(b"Adobe") => adobe = true,
                // Start-of-frame markers: every SOFn except DHT (C4), JPG (C8) and DAC (CC).
                0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                    if segment.len() < 6 {
                        return Err(corrupt("the JPEG frame header is too short"));
                    }
                    let height = u32::from(be16(segment, 1).unwrap_or(0));
                    let width = u32::from(be16(segment, 3).unwrap_or(0));
                    let components = segment[5];
                    if height == 0 {
                        return Err(DecodeError::Unsupported(
                            "the JPEG declares its height after the image data (DNL marker); re-save it"
                                .into(),
                        ));
                    }
                    if !matches!(components, 1 | 3 | 4) {
                        return Err(corrupt(format!("the JPEG has {components} colour components")));
                    }
                    return Ok(JpegHeader { width, height, components, adobe, dpi: jfif_dpi.or(exif_dpi) });
                }
                _ => {}
            }
            at += length;
        }
    }
}

/// Checks a JPEG's structure without decoding it: marker segments whose lengths fit the file, a frame
/// header before the first scan, entropy-coded data after every scan header running to the next
/// marker, and an EOI marker at the end. This catches truncation and structural damage; it does not
/// catch flipped bits inside the entropy-coded data (decoders mostly tolerate those too).
pub(crate) fn check_structure(bytes: &[u8]) -> Result<(), DecodeError> {
    if !bytes.starts_with(b"\xFF\xD8") {
        return Err(corrupt("the JPEG has no start-of-image marker"));
    }
    let (mut at, mut frame, mut scans) = (2usize, false, 0u32);
    loop {
        if bytes.get(at) != Some(&0xFF) {
            return Err(corrupt(format!("the JPEG has no marker where one must be (byte {at})")));
        }
        while bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at + 1) else {
            return Err(corrupt("the JPEG ends before its end-of-image marker; it is truncated"));
        };
        at += 2;
        match marker {
            0xD9 if frame && scans > 0 => return Ok(()),
            0xD9 => return Err(corrupt("the JPEG ends before any image data")),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let length =
            be16(bytes, at).ok_or_else(|| corrupt("the JPEG ends inside a marker segment"))? as usize;
        if length < 2 || at + length > bytes.len() {
            return Err(corrupt("the JPEG ends inside a marker segment; it is truncated"));
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            frame = true;
        }
        at += length;
        if marker == 0xDA {
            if !frame {
                return Err(corrupt("the JPEG has image data before its frame header"));
            }
            scans += 1;
            // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a restart marker inside it;
            // any other byte after 0xFF starts the next marker.
            loop {
                let Some(offset) = bytes.get(at..).and_then(|rest| rest.iter().position(|&b| b == 0xFF))
                else {
                    return Err(corrupt("the JPEG ends inside its image data; it is truncated"));
                };
                at += offset;
                match bytes.get(at + 1) {
                    Some(0x00 | 0xD0..=0xD7) => at += 2,
                    Some(0xFF) => at += 1,
                    Some(_) => break,
                    None => return Err(corrupt("the JPEG ends inside its image data; it is truncated")),
                }
            }
        }
    }
}

/// A JPEG page for format migration, which embeds the stream unchanged: the structure is checked
/// ([`check_structure`]) and the size against the limits, but the pixels are not decoded. The raster
/// is an untouched, zero-filled buffer of the right size (the allocator hands out zeroed pages
/// lazily, so it costs no memory until written); only its dimensions are ever read. CMYK JPEGs, which
/// the PDF writer must convert from pixels, are decoded as usual.
pub(crate) fn page_for_embedding(
    bytes: &[u8],
    limits: &Limits,
    default_dpi: Dpi,
) -> Result<Page, DecodeError> {
    let header = JpegHeader::parse(bytes)?;
    if header.components == 4 {
        return decode(bytes, &header, limits, default_dpi);
    }
    limits.check_page(0, header.width, header.height)?;
    check_structure(bytes)?;
    let raster = Raster::Gray(image::GrayImage::new(header.width, header.height));
    Ok(Page { raster, dpi: header.dpi.unwrap_or(default_dpi), embedded: Some(embedded(bytes, &header)) })
}

/// Decodes a JPEG file's single page, embedding its bytes for the PDF writer.
pub(super) fn decode(
    bytes: &[u8],
    header: &JpegHeader,
    limits: &Limits,
    default_dpi: Dpi,
) -> Result<Page, DecodeError> {
    let raster = decode_raster(bytes, header, limits, 0)?;
    Ok(Page { raster, dpi: header.dpi.unwrap_or(default_dpi), embedded: Some(embedded(bytes, header)) })
}

/// The embeddable form of a JPEG stream.
pub(super) fn embedded(bytes: &[u8], header: &JpegHeader) -> EmbeddedImage {
    EmbeddedImage::Jpeg {
        bytes: bytes.to_vec(),
        width: header.width,
        height: header.height,
        components: header.components,
        adobe_inverted: header.adobe && header.components == 4,
        origin: JpegOrigin::Source,
    }
}

/// Decodes the pixels: grey stays grey, everything else becomes RGB. `page` is for messages.
pub(super) fn decode_raster(
    bytes: &[u8],
    header: &JpegHeader,
    limits: &Limits,
    page: u32,
) -> Result<Raster, DecodeError> {
    limits.check_page(page, header.width, header.height)?;
    let image = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .map_err(|error| corrupt(format!("the JPEG on page {} does not decode: {error}", page + 1)))?;
    let (width, height) = (image.width(), image.height());
    let result = match image {
        image::DynamicImage::ImageLuma8(gray) => Ok(Raster::Gray(gray)),
        other if header.components == 1 => raster::gray_raster(other.to_luma8().into_raw(), width, height),
        other => Ok(Raster::Rgb(other.to_rgb8())),
    };
    result.map_err(corrupt)
}

/// XResolution/YResolution/ResolutionUnit from the first directory of an EXIF block (a TIFF).
fn exif_resolution(tiff: &[u8]) -> Option<Dpi> {
    let big_endian = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b = tiff.get(at..at + 2)?;
        Some(if big_endian { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    };
    let ifd = u32_at(4)? as usize;
    let count = usize::from(u16_at(ifd)?);
    let (mut x, mut y, mut unit) = (None, None, 2u16);
    for i in 0..count.min(512) {
        let entry = ifd + 2 + i * 12;
        let rational = || -> Option<f64> {
            let at = u32_at(entry + 8)? as usize;
            let (numerator, denominator) = (u32_at(at)?, u32_at(at + 4)?);
            (denominator != 0).then(|| f64::from(numerator) / f64::from(denominator))
        };
        match u16_at(entry)? {
            282 => x = rational(),
            283 => y = rational(),
            296 => unit = u16_at(entry + 8)?,
            _ => {}
        }
    }
    let factor = match unit {
        2 => 1.0,
        3 => 2.54,
        _ => return None,
    };
    plausible_dpi(x.unwrap_or(0.0) * factor, y.unwrap_or(0.0) * factor)
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn corrupt(message: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt(message.into())
}
