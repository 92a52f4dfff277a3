//! The page: what decoding produces and every later step consumes.

use image::{GrayImage, RgbImage};

/// Resolution in dots per inch, horizontally and vertically.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dpi {
    pub x: f32,
    pub y: f32,
}

impl Dpi {
    pub const fn uniform(dpi: f32) -> Dpi {
        Dpi { x: dpi, y: dpi }
    }
}

/// The decoded pixels of a page, in the colour model the source used.
#[derive(Clone, Debug)]
pub enum Raster {
    /// Black and white (1 bit per pixel in the source); samples are 0 (black) or 255 (white).
    Bilevel(GrayImage),
    /// 8-bit grey.
    Gray(GrayImage),
    /// 8-bit RGB.
    Rgb(RgbImage),
}

impl Raster {
    pub fn width(&self) -> u32 {
        match self {
            Raster::Bilevel(image) | Raster::Gray(image) => image.width(),
            Raster::Rgb(image) => image.width(),
        }
    }

    pub fn height(&self) -> u32 {
        match self {
            Raster::Bilevel(image) | Raster::Gray(image) => image.height(),
            Raster::Rgb(image) => image.height(),
        }
    }

    /// The page in grey, which is what analysis and OCR look at. Borrowed when it already is grey.
    pub fn to_gray(&self) -> std::borrow::Cow<'_, GrayImage> {
        match self {
            Raster::Bilevel(image) | Raster::Gray(image) => std::borrow::Cow::Borrowed(image),
            Raster::Rgb(image) => {
                std::borrow::Cow::Owned(image::DynamicImage::ImageRgb8(image.clone()).to_luma8())
            }
        }
    }
}

/// A compressed image stream that a PDF can embed as it is, without recompression.
#[derive(Clone, Debug)]
pub enum EmbeddedImage {
    /// A baseline or progressive JPEG (PDF `DCTDecode`). `components` is 1 (grey), 3 (YCbCr/RGB) or 4
    /// (CMYK; `adobe_inverted` when an Adobe APP14 marker says the samples are inverted). `origin` says
    /// whether the bytes are the source's own or were joined from a TIFF page's JPEG strips.
    Jpeg { bytes: Vec<u8>, width: u32, height: u32, components: u8, adobe_inverted: bool, origin: JpegOrigin },
    /// CCITT Group 4 (PDF `CCITTFaxDecode` with `K -1`). `black_is_1` as in the PDF parameter.
    CcittG4 { bytes: Vec<u8>, width: u32, height: u32, black_is_1: bool },
    /// A zlib stream of 8-bit samples (PDF `FlateDecode`) that inflates to exactly the page: `components`
    /// 1 (DeviceGray) or 3 (DeviceRGB), rows top to bottom, no padding. `predictor` is 1 (none) or 2
    /// (TIFF horizontal differencing, PDF `/Predictor 2`). A single-strip deflate TIFF page carries one.
    Flate { bytes: Vec<u8>, width: u32, height: u32, components: u8, predictor: u8 },
    /// The source's exact samples, present when [`Page::raster`] had to normalise them: 16-bit samples
    /// (the raster keeps the high byte), transparency (the raster shows the page over white paper),
    /// CMYK (the raster is an uncalibrated RGB conversion) or extra channels (the raster drops them).
    /// `colour` holds `components` interleaved samples per pixel of `bits` bits (8, or 16 big-endian),
    /// rows without padding; `alpha` one sample of the same depth per pixel, if any, associated with
    /// the colour (premultiplied, black matte) when `premultiplied`. The PDF writer compresses them
    /// (an image with a soft mask for alpha) when a PDF/A page can hold them, that is for grey and RGB;
    /// format migration keeps them exactly or refuses the page, never the normalised raster instead.
    Samples {
        colour: Vec<u8>,
        alpha: Option<Vec<u8>>,
        width: u32,
        height: u32,
        components: u8,
        bits: u8,
        premultiplied: bool,
    },
}

/// Where an embedded JPEG stream comes from, which decides how format migration proves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JpegOrigin {
    /// The source's own stream, byte for byte (a JPEG file, a PDF's full-page JPEG image).
    Source,
    /// One stream joined from the entropy-coded data of a JPEG-in-TIFF page's `strips` strips, not a
    /// bit of it re-encoded, with restart markers between the strips (see the TIFF decoder). Decoding
    /// it was checked to give exactly the strips' pixels; the migration gate checks that again on the
    /// output, since no source stream exists to compare its bytes with.
    JoinedStrips { strips: u32 },
}

/// One scanned page as decoded from an input file.
#[derive(Clone, Debug)]
pub struct Page {
    /// The pixels, as stored in the source (not yet turned upright).
    pub raster: Raster,
    /// The resolution the source declares, or the scanner profile's when it declares none.
    pub dpi: Dpi,
    /// The source's own compressed stream when it can go into a PDF unchanged.
    pub embedded: Option<EmbeddedImage>,
}

impl Page {
    /// SHA-256 over the decoded samples (row by row, no padding), in hex, so that the scan protocol
    /// names each page image as scanned independently of the file format that carried it.
    pub fn raw_sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        match &self.raster {
            Raster::Bilevel(image) | Raster::Gray(image) => hasher.update(image.as_raw()),
            Raster::Rgb(image) => hasher.update(image.as_raw()),
        }
        hex::encode(hasher.finalize())
    }
}

/// How many quarter turns clockwise make a page upright (0..=3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QuarterTurns(u8);

impl QuarterTurns {
    pub const NONE: QuarterTurns = QuarterTurns(0);
    pub const HALF: QuarterTurns = QuarterTurns(2);

    /// `turns` modulo 4.
    pub fn new(turns: u8) -> QuarterTurns {
        QuarterTurns(turns % 4)
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn degrees(self) -> u32 {
        u32::from(self.0) * 90
    }
}

/// A rectangle in pixel coordinates, origin top left, `x1`/`y1` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelRect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}
