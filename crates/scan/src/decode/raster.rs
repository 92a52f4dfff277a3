//! Sample-level conversions shared by the decoders: unpacking 1/2/4-bit rows, palettes, alpha over
//! white, 16 to 8 bits, and the exact samples a page keeps when its raster normalised them. Inputs are
//! untrusted, so every function checks lengths and reports a short
//! buffer as an error instead of slicing past it.

use image::{GrayImage, RgbImage};

use crate::page::{EmbeddedImage, Raster};

/// Unpacks rows of `bits`-bit samples (1, 2, 4 or 8), each row starting on a byte boundary, into one
/// byte per sample holding the raw value (not scaled). `samples_per_row` is width × samples per pixel.
pub(super) fn unpack(data: &[u8], samples_per_row: usize, rows: usize, bits: u8) -> Result<Vec<u8>, String> {
    if !matches!(bits, 1 | 2 | 4 | 8) {
        return Err(format!("{bits} bits per sample are not supported"));
    }
    let bits = usize::from(bits);
    let stride = (samples_per_row * bits).div_ceil(8);
    let needed = stride.checked_mul(rows).ok_or("image is too large")?;
    if data.len() < needed {
        return Err(format!("image data has {} bytes, {needed} expected", data.len()));
    }
    if bits == 8 {
        let mut out = Vec::with_capacity(samples_per_row * rows);
        for row in data[..needed].chunks_exact(stride) {
            out.extend_from_slice(&row[..samples_per_row]);
        }
        return Ok(out);
    }
    let per_byte = 8 / bits;
    let mask = ((1u16 << bits) - 1) as u8;
    let mut out = Vec::with_capacity(samples_per_row * rows);
    for row in data[..needed].chunks_exact(stride) {
        for i in 0..samples_per_row {
            let byte = row[i / per_byte];
            let shift = 8 - bits * (i % per_byte + 1);
            out.push((byte >> shift) & mask);
        }
    }
    Ok(out)
}

/// Scales raw `bits`-bit values to 0..=255 in place.
pub(super) fn scale_to_8(values: &mut [u8], bits: u8) {
    let max = match bits {
        1 => 1u16,
        2 => 3,
        4 => 15,
        _ => return,
    };
    for value in values {
        *value = (u16::from(*value).min(max) * 255 / max) as u8;
    }
}

/// Keeps the high byte of native-endian 16-bit samples.
pub(super) fn reduce_16(samples: &[u16]) -> Vec<u8> {
    samples.iter().map(|&v| (v >> 8) as u8).collect()
}

/// Composites `channels` colour samples plus one alpha sample per pixel over white. `premultiplied`
/// when the colour is already multiplied by alpha (TIFF associated alpha).
pub(super) fn over_white(data: &[u8], channels: usize, premultiplied: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / (channels + 1) * channels);
    for pixel in data.chunks_exact(channels + 1) {
        let alpha = u16::from(pixel[channels]);
        for &colour in &pixel[..channels] {
            let colour = u16::from(colour);
            let value = if premultiplied {
                (colour + (255 - alpha)).min(255)
            } else {
                (colour * alpha + 255 * (255 - alpha) + 127) / 255
            };
            out.push(value as u8);
        }
    }
    out
}

/// Drops every sample after the first `keep` of each pixel of `channels` samples.
pub(super) fn keep_first(data: &[u8], channels: usize, keep: usize) -> Vec<u8> {
    data.chunks_exact(channels).flat_map(|pixel| pixel[..keep].iter().copied()).collect()
}

/// A colour table: RGB triples, looked up by sample value.
pub(super) struct Palette {
    pub rgb: Vec<[u8; 3]>,
}

impl Palette {
    /// Whether every entry is a shade of grey, so the page can stay a grey raster.
    fn is_gray(&self) -> bool {
        self.rgb.iter().all(|[r, g, b]| r == g && g == b)
    }

    /// Maps indices to a raster. Indices past the table's end take its last entry, as PDF readers do.
    pub fn apply(&self, indices: &[u8], width: u32, height: u32) -> Result<Raster, String> {
        let last = self.rgb.len().checked_sub(1).ok_or("the colour table is empty")?;
        let entry = |index: u8| self.rgb[usize::from(index).min(last)];
        if self.is_gray() {
            let gray: Vec<u8> = indices.iter().map(|&i| entry(i)[0]).collect();
            gray_raster(gray, width, height)
        } else {
            let rgb: Vec<u8> = indices.iter().flat_map(|&i| entry(i)).collect();
            rgb_raster(rgb, width, height)
        }
    }
}

pub(super) fn gray_raster(samples: Vec<u8>, width: u32, height: u32) -> Result<Raster, String> {
    GrayImage::from_raw(width, height, samples).map(Raster::Gray).ok_or_else(|| short(width, height))
}

/// Builds a bilevel raster from samples that are already 0 or 255.
pub(super) fn bilevel_raster(samples: Vec<u8>, width: u32, height: u32) -> Result<Raster, String> {
    GrayImage::from_raw(width, height, samples).map(Raster::Bilevel).ok_or_else(|| short(width, height))
}

pub(super) fn rgb_raster(samples: Vec<u8>, width: u32, height: u32) -> Result<Raster, String> {
    RgbImage::from_raw(width, height, samples).map(Raster::Rgb).ok_or_else(|| short(width, height))
}

/// Samples of one depth, interleaved, for [`exact_samples`].
#[derive(Clone, Copy)]
pub(super) enum SampleData<'a> {
    Eight(&'a [u8]),
    Sixteen(&'a [u16]),
}

/// The exact samples of an image whose raster normalised them ([`EmbeddedImage::Samples`]): `channels`
/// interleaved samples per pixel, the last of which is alpha when `alpha`. An alpha channel that is
/// opaque everywhere is dropped (the raster shows those pixels exactly); `None` when what remains is
/// 8-bit grey or RGB, which the raster holds exactly.
pub(super) fn exact_samples(
    data: SampleData<'_>,
    width: u32,
    height: u32,
    channels: usize,
    alpha: bool,
    premultiplied: bool,
) -> Option<EmbeddedImage> {
    let colour_channels = channels.saturating_sub(usize::from(alpha));
    if channels == 0 || (!alpha && matches!(data, SampleData::Eight(_)) && matches!(colour_channels, 1 | 3)) {
        return None;
    }
    let (bits, max, len) = match data {
        SampleData::Eight(data) => (8u8, 255u16, data.len()),
        SampleData::Sixteen(data) => (16, u16::MAX, data.len()),
    };
    let sample = |at: usize| match data {
        SampleData::Eight(data) => u16::from(data[at]),
        SampleData::Sixteen(data) => data[at],
    };
    let pixels = len / channels;
    let alpha = alpha && (0..pixels).any(|pixel| sample(pixel * channels + channels - 1) != max);
    if bits == 8 && !alpha && matches!(colour_channels, 1 | 3) {
        return None;
    }
    let bytes = usize::from(bits / 8);
    let push = |out: &mut Vec<u8>, value: u16| {
        if bits == 8 {
            out.push(value as u8);
        } else {
            out.extend_from_slice(&value.to_be_bytes());
        }
    };
    let mut colour = Vec::with_capacity(pixels * colour_channels * bytes);
    let mut mask = Vec::with_capacity(if alpha { pixels * bytes } else { 0 });
    for pixel in 0..pixels {
        let at = pixel * channels;
        (at..at + colour_channels).for_each(|i| push(&mut colour, sample(i)));
        if alpha {
            push(&mut mask, sample(at + channels - 1));
        }
    }
    Some(EmbeddedImage::Samples {
        colour,
        alpha: alpha.then_some(mask),
        width,
        height,
        components: colour_channels as u8,
        bits,
        premultiplied: alpha && premultiplied,
    })
}

/// The exact samples of an image the `image` crate decoded, when its raster ([`narrowest`] or the
/// PNG decoder) normalises them: 16-bit samples or transparency. See [`exact_samples`].
pub(super) fn exact_samples_of(image: &image::DynamicImage) -> Option<EmbeddedImage> {
    use image::DynamicImage as D;
    let (width, height) = (image.width(), image.height());
    let eight = |data: &[u8], channels, alpha| {
        exact_samples(SampleData::Eight(data), width, height, channels, alpha, false)
    };
    let sixteen = |data: &[u16], channels, alpha| {
        exact_samples(SampleData::Sixteen(data), width, height, channels, alpha, false)
    };
    match image {
        D::ImageLumaA8(image) => eight(image.as_raw(), 2, true),
        D::ImageRgba8(image) => eight(image.as_raw(), 4, true),
        D::ImageLuma16(image) => sixteen(image.as_raw(), 1, false),
        D::ImageLumaA16(image) => sixteen(image.as_raw(), 2, true),
        D::ImageRgb16(image) => sixteen(image.as_raw(), 3, false),
        D::ImageRgba16(image) => sixteen(image.as_raw(), 4, true),
        _ => None,
    }
}

/// Decodes with the `image` crate under our caps: the decoder refuses frames wider or taller than
/// `max_side` and allocations beyond what the largest admitted page needs, so a frame bigger than its
/// header claims cannot allocate past the limits either.
pub(super) fn decode_with_limits(
    bytes: &[u8],
    format: image::ImageFormat,
    limits: &super::Limits,
) -> image::ImageResult<image::DynamicImage> {
    let mut caps = image::Limits::default();
    caps.max_image_width = Some(limits.max_side);
    caps.max_image_height = Some(limits.max_side);
    // RGBA at 8 bits is the widest output these decoders produce, plus room for one more frame.
    caps.max_alloc = Some(limits.max_pixels_per_page.saturating_mul(8));
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(caps);
    reader.decode()
}

/// The narrowest raster that holds `image` without loss: bilevel when every pixel is black or white,
/// grey when every pixel is grey, else RGB. Alpha is composited over white first (paper has no
/// transparency), 16-bit samples keep their high byte.
pub(super) fn narrowest(image: image::DynamicImage) -> Result<Raster, String> {
    let (width, height) = (image.width(), image.height());
    let rgb = if image.color().has_alpha() {
        over_white(image.to_rgba8().as_raw(), 3, false)
    } else {
        image.into_rgb8().into_raw()
    };
    let is_gray = rgb.chunks_exact(3).all(|pixel| pixel[0] == pixel[1] && pixel[1] == pixel[2]);
    if !is_gray {
        return rgb_raster(rgb, width, height);
    }
    let gray: Vec<u8> = rgb.chunks_exact(3).map(|pixel| pixel[0]).collect();
    if gray.iter().all(|&sample| sample == 0 || sample == 255) {
        bilevel_raster(gray, width, height)
    } else {
        gray_raster(gray, width, height)
    }
}

fn short(width: u32, height: u32) -> String {
    format!("image data is shorter than {width} × {height} pixels")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_padded_rows() {
        // Two rows of 3 one-bit samples, each row padded to a byte.
        let values = unpack(&[0b1010_0000, 0b0110_0000], 3, 2, 1).unwrap();
        assert_eq!(values, vec![1, 0, 1, 0, 1, 1]);
        let values = unpack(&[0x1F, 0xE0], 2, 2, 4).unwrap();
        assert_eq!(values, vec![1, 15, 14, 0]);
        assert!(unpack(&[0], 9, 1, 1).is_err());
    }

    #[test]
    fn transparent_pixels_become_white() {
        assert_eq!(over_white(&[10, 20, 30, 0, 10, 20, 30, 255], 3, false), vec![255, 255, 255, 10, 20, 30]);
        assert_eq!(over_white(&[0, 0], 1, true), vec![255]);
    }

    #[test]
    fn narrowest_keeps_every_pixel() {
        let bilevel = image::RgbImage::from_fn(3, 1, |x, _| image::Rgb([if x == 1 { 0 } else { 255 }; 3]));
        let Raster::Bilevel(image) = narrowest(image::DynamicImage::ImageRgb8(bilevel)).unwrap() else {
            panic!("black and white narrows to bilevel")
        };
        assert_eq!(image.into_raw(), vec![255, 0, 255]);
        let gray = image::RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8 * 7 + 1; 3]));
        assert!(matches!(narrowest(image::DynamicImage::ImageRgb8(gray)).unwrap(), Raster::Gray(_)));
        let transparent = image::RgbaImage::from_pixel(1, 1, image::Rgba([10, 20, 30, 0]));
        assert!(matches!(
            narrowest(image::DynamicImage::ImageRgba8(transparent)).unwrap(),
            Raster::Bilevel(_)
        ));
        let colour = image::RgbImage::from_pixel(1, 1, image::Rgb([10, 20, 30]));
        let Raster::Rgb(image) = narrowest(image::DynamicImage::ImageRgb8(colour)).unwrap() else {
            panic!("colour stays RGB")
        };
        assert_eq!(image.into_raw(), vec![10, 20, 30]);
    }

    #[test]
    fn palette_out_of_range_takes_the_last_entry() {
        let palette = Palette { rgb: vec![[0, 0, 0], [255, 0, 0]] };
        let Raster::Rgb(image) = palette.apply(&[0, 1, 9], 3, 1).unwrap() else { panic!("colour palette") };
        assert_eq!(image.into_raw(), vec![0, 0, 0, 255, 0, 0, 255, 0, 0]);
    }
}
