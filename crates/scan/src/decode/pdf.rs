//! PDF input. A page whose content draws exactly one image, upright and covering (nearly) the whole
//! page, is a scanned page: its image is decoded directly, and JPEG (`DCTDecode`) and CCITT G4 images
//! are handed to the PDF writer unchanged. The resolution follows from the image's pixel size and the
//! size it is drawn at.
//!
//! Every other page (born-digital text, vector drawings, several images, inline images, Form
//! XObjects, JBIG2 or JPEG 2000 images, soft masks, unusual colour spaces) is rendered by `pdftoppm`
//! at the scanner profile's resolution, capped at 300 dpi and lowered further when the page would
//! exceed the pixel limits. Rendered pages are grey unless the page's resources hold a colour image;
//! OCR and analysis look at grey anyway, and grey keeps renditions of office documents small.
//!
//! A page's `/Rotate` is not applied to extracted images: the raster is the image as stored, like a
//! TIFF page, and the orientation step turns it upright. Rendered pages come out as displayed.

use lopdf::content::Content;
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId, Stream};

use super::jpeg::{self, JpegHeader};
use super::raster::{self, Palette};
use super::{DecodeError, Limits, g4, render};
use crate::page::{Dpi, EmbeddedImage, Page, Raster};
use crate::zlib::{self, Inflated};

/// The highest resolution pages are rendered at; more only makes born-digital pages bigger.
const MAX_RENDER_DPI: f32 = 300.0;
/// The lowest resolution a page is rendered at to fit the pixel limits; below this text is unreadable.
const MIN_RENDER_DPI: f32 = 72.0;
/// How much of the page (and of the image) the overlap must cover for the page to count as a scan.
const MIN_COVERAGE: f64 = 0.9;

/// A PDF whose object graph has been read.
pub(super) struct PdfFile<'a> {
    bytes: &'a [u8],
    document: Document,
    pages: Vec<ObjectId>,
    /// Decoded content streams larger than this are not inspected; such a page is rendered.
    max_content_bytes: usize,
}

impl<'a> PdfFile<'a> {
    pub fn open(bytes: &'a [u8], limits: &Limits) -> Result<PdfFile<'a>, DecodeError> {
        // The trailer of an encrypted file names its /Encrypt dictionary; lopdf may decrypt files
        // with an empty user password on its own, so look before and after loading.
        let options = LoadOptions {
            max_decompressed_size: Some(usize::try_from(limits.max_stream_bytes).unwrap_or(usize::MAX)),
            ..LoadOptions::default()
        };
        let document = Document::load_mem_with_options(bytes, options).map_err(|error| match error {
            lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => DecodeError::Encrypted,
            other => DecodeError::Corrupt(format!("the PDF cannot be read ({other})")),
        })?;
        if document.is_encrypted() || document.was_encrypted() || document.trailer.has(b"Encrypt") {
            return Err(DecodeError::Encrypted);
        }
        let pages: Vec<ObjectId> = document.get_pages().into_values().collect();
        limits.check_page_count(pages.len() as u64)?;
        let max_content_bytes = usize::try_from(limits.max_stream_bytes).unwrap_or(usize::MAX);
        Ok(PdfFile { bytes, document, pages, max_content_bytes })
    }

    pub fn page_count(&self) -> u32 {
        self.pages.len() as u32
    }

    pub fn page(&self, index: u32, limits: &Limits, default_dpi: Dpi) -> Result<Page, DecodeError> {
        match self.page_or_plan(index, limits, default_dpi)? {
            Extracted::Page(page) => Ok(page),
            Extracted::Render(plan) => {
                let raster = render::render_page(
                    self.bytes,
                    index + 1,
                    plan.dpi as u32,
                    plan.colour,
                    plan.width + 2,
                    plan.height + 2,
                )?;
                Ok(Page { raster, dpi: Dpi::uniform(plan.dpi), embedded: None })
            }
        }
    }

    /// Everything [`PdfFile::page`] does in this process: the page's scanned image when it has one,
    /// else how `pdftoppm` would render it (checked against the limits). The fuzz target stops here,
    /// since the child process is poppler's own code and far too slow to run a million times.
    pub fn page_or_plan(
        &self,
        index: u32,
        limits: &Limits,
        default_dpi: Dpi,
    ) -> Result<Extracted, DecodeError> {
        let page_id = *self.pages.get(index as usize).ok_or(DecodeError::NoPages)?;
        let page = self
            .document
            .get_dictionary(page_id)
            .map_err(|error| DecodeError::Corrupt(format!("page {} is missing ({error})", index + 1)))?;
        let page_box = self.page_box(page);
        if let Some(scan) = self.single_image(page_id, page, page_box) {
            match self.decode_image(&scan, index, limits)? {
                Some(page) => return Ok(Extracted::Page(page)),
                None => tracing::debug!(page = index + 1, "page image needs rendering"),
            }
        }
        self.render_plan(index, page, page_box, limits, default_dpi).map(Extracted::Render)
    }

    /// The JPEG stream of a scanned page (one full-page `DCTDecode` image), without decoding it. Format
    /// migration's validation compares such streams byte for byte, which proves more than pixels would
    /// and costs no JPEG decode.
    pub fn page_jpeg_stream(&self, index: u32) -> Option<&[u8]> {
        let page_id = *self.pages.get(index as usize)?;
        let page = self.document.get_dictionary(page_id).ok()?;
        let placed = self.single_image(page_id, page, self.page_box(page))?;
        let is_dct = match placed.stream.dict.get(b"Filter").ok().and_then(|o| self.resolve(o))? {
            Object::Name(name) => name == b"DCTDecode",
            Object::Array(names) => {
                names.len() == 1 && names[0].as_name().ok() == Some(b"DCTDecode".as_slice())
            }
            _ => false,
        };
        is_dct.then_some(placed.stream.content.as_slice())
    }

    /// The CCITT G4 stream of a scanned page (one full-page grey `CCITTFaxDecode` image, K < 0, no byte
    /// alignment), undecoded, as the writer would embed it: `black_is_1` is the polarity with any
    /// `/Decode` inversion folded in, so two such streams with equal bytes, size and `black_is_1` show
    /// the same pixels. Format migration's validation compares these instead of decoding twice.
    pub fn page_g4_stream(&self, index: u32) -> Option<EmbeddedImage> {
        let page_id = *self.pages.get(index as usize)?;
        let page = self.document.get_dictionary(page_id).ok()?;
        let placed = self.single_image(page_id, page, self.page_box(page))?;
        let dict = &placed.stream.dict;
        let resolved = |key: &[u8]| dict.get(key).ok().and_then(|o| self.resolve(o));
        if resolved(b"Filter")?.as_name().ok()? != b"CCITTFaxDecode"
            || dict.has(b"SMask")
            || dict.has(b"Mask")
            || resolved(b"ImageMask").and_then(|o| o.as_bool().ok()) == Some(true)
            || !matches!(self.colour_space(dict), Some(ColourSpace::Gray))
        {
            return None;
        }
        let width = u32::try_from(resolved(b"Width")?.as_i64().ok()?).ok()?;
        let height = u32::try_from(resolved(b"Height")?.as_i64().ok()?).ok()?;
        let params = resolved(b"DecodeParms").and_then(|o| self.dict(o))?;
        let param = |key: &[u8]| params.get(key).ok().and_then(|o| self.resolve(o));
        let k = param(b"K").and_then(|o| o.as_i64().ok()).unwrap_or(0);
        let columns = param(b"Columns").and_then(|o| o.as_i64().ok()).unwrap_or(1728);
        let black_is_1 = param(b"BlackIs1").and_then(|o| o.as_bool().ok()).unwrap_or(false);
        let byte_align = param(b"EncodedByteAlign").and_then(|o| o.as_bool().ok()).unwrap_or(false);
        if k >= 0 || byte_align || columns != i64::from(width) {
            return None;
        }
        let inverted = self.decode_inverted(dict).ok()??;
        Some(EmbeddedImage::CcittG4 {
            bytes: placed.stream.content.clone(),
            width,
            height,
            black_is_1: black_is_1 ^ inverted,
        })
    }

    /// The Flate stream of a scanned page (one full-page 8-bit `DeviceGray` or `DeviceRGB` `FlateDecode`
    /// image, no mask, no `/Decode`, no predictor or TIFF predictor 2 whose parameters match the
    /// image), undecoded, as the writer embeds a single-strip deflate TIFF page. Two such streams with
    /// equal bytes, size, components and predictor show the same pixels; format migration's validation
    /// compares these instead of inflating the same bytes twice.
    pub fn page_flate_stream(&self, index: u32) -> Option<EmbeddedImage> {
        let page_id = *self.pages.get(index as usize)?;
        let page = self.document.get_dictionary(page_id).ok()?;
        let placed = self.single_image(page_id, page, self.page_box(page))?;
        let dict = &placed.stream.dict;
        let resolved = |key: &[u8]| dict.get(key).ok().and_then(|o| self.resolve(o));
        let integer = |key: &[u8]| resolved(key).and_then(|o| o.as_i64().ok());
        if resolved(b"Filter")?.as_name().ok()? != b"FlateDecode"
            || dict.has(b"SMask")
            || dict.has(b"Mask")
            || dict.has(b"Decode")
            || resolved(b"ImageMask").and_then(|o| o.as_bool().ok()) == Some(true)
            || integer(b"BitsPerComponent") != Some(8)
        {
            return None;
        }
        // Device spaces only: the sRGB OutputIntent gives them their meaning, as the writer intends.
        let components: u8 = match resolved(b"ColorSpace")?.as_name().ok()? {
            b"DeviceGray" => 1,
            b"DeviceRGB" => 3,
            _ => return None,
        };
        let width = u32::try_from(integer(b"Width")?).ok()?;
        let height = u32::try_from(integer(b"Height")?).ok()?;
        let predictor = match resolved(b"DecodeParms") {
            None => 1,
            Some(params) => {
                let params = self.dict(params)?;
                let param = |key: &[u8]| params.get(key).ok().and_then(|o| self.resolve(o))?.as_i64().ok();
                match param(b"Predictor").unwrap_or(1) {
                    1 => 1,
                    2 if param(b"Colors").unwrap_or(1) == i64::from(components)
                        && param(b"BitsPerComponent").unwrap_or(8) == 8
                        && param(b"Columns").unwrap_or(1) == i64::from(width) =>
                    {
                        2
                    }
                    _ => return None,
                }
            }
        };
        Some(EmbeddedImage::Flate {
            bytes: placed.stream.content.clone(),
            width,
            height,
            components,
            predictor,
        })
    }

    /// The samples of a scanned page's image (one full-page `DeviceGray` or `DeviceRGB` image of 8 or
    /// 16 bits, Flate or uncompressed, no `/Decode`) and of its soft mask if it has one (a grey image
    /// of the same size and depth; `/Matte` of zeros means premultiplied), inflated by the PDF reader,
    /// in the form of [`EmbeddedImage::Samples`]. Format migration's validation compares them with a
    /// source's exact samples. Inflation is capped at what the declared size needs.
    pub fn page_samples(&self, index: u32) -> Option<EmbeddedImage> {
        let page_id = *self.pages.get(index as usize)?;
        let page = self.document.get_dictionary(page_id).ok()?;
        let placed = self.single_image(page_id, page, self.page_box(page))?;
        let image = placed.stream;
        let components: u8 = match self.resolve(image.dict.get(b"ColorSpace").ok()?)?.as_name().ok()? {
            b"DeviceGray" => 1,
            b"DeviceRGB" => 3,
            _ => return None,
        };
        let (width, height, bits, colour) = self.plain_samples(image, usize::from(components))?;
        if image.dict.has(b"Mask")
            || colour.len()
                != width as usize * height as usize * usize::from(components) * usize::from(bits / 8)
        {
            return None;
        }
        let (alpha, premultiplied) = match image.dict.get(b"SMask").ok() {
            None => (None, false),
            Some(mask) => {
                let mask = self.stream(mask)?;
                let (w, h, b, alpha) = self.plain_samples(mask, 1)?;
                let grey = self.resolve(mask.dict.get(b"ColorSpace").ok()?)?.as_name().ok()? == b"DeviceGray";
                let matte = match mask.dict.get(b"Matte").ok().and_then(|o| self.resolve(o)) {
                    None => Some(false),
                    Some(Object::Array(values)) => (values.len() == usize::from(components)
                        && values.iter().all(|v| number(v) == Some(0.0)))
                    .then_some(true),
                    Some(_) => None,
                }?;
                if !grey
                    || (w, h, b) != (width, height, bits)
                    || alpha.len() != width as usize * height as usize * usize::from(bits / 8)
                {
                    return None;
                }
                (Some(alpha), matte)
            }
        };
        Some(EmbeddedImage::Samples { colour, alpha, width, height, components, bits, premultiplied })
    }

    /// Width, height, bits per component (8 or 16) and the inflated samples of an image stream that is
    /// Flate-compressed or uncompressed and has no `/Decode` array, or `None` for any other image.
    fn plain_samples(&self, stream: &Stream, components: usize) -> Option<(u32, u32, u8, Vec<u8>)> {
        let integer = |key: &[u8]| stream.dict.get(key).ok().and_then(|o| self.resolve(o))?.as_i64().ok();
        let width = u32::try_from(integer(b"Width")?).ok()?;
        let height = u32::try_from(integer(b"Height")?).ok()?;
        let bits = match integer(b"BitsPerComponent")? {
            8 => 8u8,
            16 => 16,
            _ => return None,
        };
        if stream.dict.has(b"Decode")
            || stream.dict.get(b"ImageMask").and_then(Object::as_bool).unwrap_or(false)
        {
            return None;
        }
        let filtered = match stream.dict.get(b"Filter").ok().and_then(|o| self.resolve(o)) {
            None => false,
            Some(filter) => match filter {
                Object::Name(name) if name == b"FlateDecode" => true,
                Object::Array(names)
                    if names.len() == 1 && names[0].as_name().ok() == Some(b"FlateDecode".as_slice()) =>
                {
                    true
                }
                _ => return None,
            },
        };
        // Three colour components of 16 bits is the most a page image here holds, plus predictor bytes.
        let limit = (width as usize).checked_mul(height as usize)?.checked_mul(6)? + height as usize + 64;
        let expected = (width as usize * height as usize).checked_mul(components * usize::from(bits / 8))?;
        match self.inflate_exact(stream, expected) {
            Some(Ok(samples)) => return Some((width, height, bits, samples)),
            // Fewer samples than the image needs: not the plain image this is about.
            Some(Err(_)) => return None,
            None => {}
        }
        let data = if filtered {
            stream.decompressed_content_with_limit(limit).ok()?
        } else {
            stream.content.clone()
        };
        Some((width, height, bits, data))
    }

    /// The samples of an image stream whose one filter is `FlateDecode` without parameters, when
    /// libdeflate settles it in one call: `Ok` with exactly `expected` bytes, `Err` with the number
    /// of bytes of a stream that ends early. `None` for every other stream, and for a stream that
    /// runs past `expected` or is damaged: lopdf's decoder looks at those (it decodes what the image
    /// needs of an over-long stream, and names the damage).
    fn inflate_exact(&self, stream: &Stream, expected: usize) -> Option<Result<Vec<u8>, usize>> {
        let flate_only = match stream.dict.get(b"Filter").ok().and_then(|o| self.resolve(o))? {
            Object::Name(name) => name == b"FlateDecode",
            Object::Array(names) => {
                names.len() == 1 && names[0].as_name().ok() == Some(b"FlateDecode".as_slice())
            }
            _ => false,
        };
        if !flate_only || stream.dict.has(b"DecodeParms") {
            return None;
        }
        let mut samples = vec![0u8; expected];
        match zlib::inflate_exact(&mut libdeflater::Decompressor::new(), &stream.content, &mut samples) {
            Inflated::Exact => Some(Ok(samples)),
            Inflated::Short(produced) => Some(Err(produced)),
            Inflated::Undecided => None,
        }
    }

    /// The resolution and size to render the page at with pdftoppm, keeping it within the limits.
    fn render_plan(
        &self,
        index: u32,
        page: &Dictionary,
        page_box: [f64; 4],
        limits: &Limits,
        default_dpi: Dpi,
    ) -> Result<RenderPlan, DecodeError> {
        let (mut width_pt, mut height_pt) =
            ((page_box[2] - page_box[0]).abs(), (page_box[3] - page_box[1]).abs());
        if self
            .inherited(page, b"Rotate")
            .and_then(|o| o.as_i64().ok())
            .is_some_and(|r| r.rem_euclid(180) == 90)
        {
            std::mem::swap(&mut width_pt, &mut height_pt);
        }
        let size_at = |dpi: f32| {
            let scale = f64::from(dpi) / 72.0;
            ((width_pt * scale).ceil() as u64, (height_pt * scale).ceil() as u64)
        };
        let fits = |(w, h): (u64, u64)| {
            w <= u64::from(limits.max_side)
                && h <= u64::from(limits.max_side)
                && w.saturating_mul(h) <= limits.max_pixels_per_page
        };
        let mut dpi = default_dpi.x.max(default_dpi.y).clamp(MIN_RENDER_DPI, MAX_RENDER_DPI).round();
        while !fits(size_at(dpi)) && dpi > MIN_RENDER_DPI {
            dpi = (dpi * 0.8).max(MIN_RENDER_DPI).floor();
        }
        let (width, height) = size_at(dpi);
        if !fits((width, height)) || width == 0 || height == 0 {
            return Err(DecodeError::TooLarge(format!(
                "page {} measures {:.0} × {:.0} mm, too large to render within the limit of {} pixels \
                 even at {MIN_RENDER_DPI} dpi; split or shrink the page",
                index + 1,
                width_pt / 72.0 * 25.4,
                height_pt / 72.0 * 25.4,
                limits.max_pixels_per_page
            )));
        }
        let colour = self.has_colour_image(page);
        // `fits` bounded both sides by `max_side`, a u32.
        Ok(RenderPlan { dpi, width: width as u32, height: height as u32, colour })
    }

    /// The one image the page's content draws, if the page is a scan: nothing else visible is
    /// painted, and the image is placed upright over (nearly) the whole page.
    fn single_image<'d>(
        &'d self,
        page_id: ObjectId,
        page: &'d Dictionary,
        page_box: [f64; 4],
    ) -> Option<PlacedImage<'d>> {
        let content = self.document.get_page_content_with_limit(page_id, self.max_content_bytes).ok()?;
        let operations = Content::decode(&content).ok()?.operations;
        let xobjects = self
            .inherited(page, b"Resources")
            .and_then(|r| self.dict(r))
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|x| self.dict(x));

        let mut ctm = IDENTITY;
        let mut stack: Vec<([f64; 6], i64)> = Vec::new();
        let mut text_mode = 0i64;
        let mut found: Option<PlacedImage<'d>> = None;
        for operation in &operations {
            let operands = &operation.operands;
            match operation.operator.as_str() {
                "q" => stack.push((ctm, text_mode)),
                "Q" => (ctm, text_mode) = stack.pop().unwrap_or((IDENTITY, 0)),
                "cm" => {
                    let m: Vec<f64> = operands.iter().filter_map(number).collect();
                    let m: [f64; 6] = m.try_into().ok()?;
                    ctm = multiply(&m, &ctm);
                }
                "Tr" => text_mode = operands.first().and_then(|o| o.as_i64().ok()).unwrap_or(0),
                // Invisible text (an OCR layer, render mode 3) does not change what the page shows.
                "Tj" | "TJ" | "'" | "\"" if text_mode != 3 => return None,
                "S" | "s" | "f" | "F" | "f*" | "B" | "B*" | "b" | "b*" | "sh" | "BI" | "ID" | "EI" => {
                    return None;
                }
                "Do" => {
                    if found.is_some() {
                        return None;
                    }
                    let name = operands.first()?.as_name().ok()?;
                    let stream = xobjects?.get(name).ok().and_then(|o| self.stream(o))?;
                    if stream.dict.get(b"Subtype").and_then(Object::as_name).ok()? != b"Image" {
                        return None;
                    }
                    found = Some(PlacedImage { stream, ctm });
                }
                _ => {}
            }
        }
        let found = found?;
        let [a, b, c, d, e, f] = found.ctm;
        if b.abs() > 1e-6 * a.abs() || c.abs() > 1e-6 * d.abs() || a <= 0.0 || d <= 0.0 {
            return None;
        }
        let (page_w, page_h) = (page_box[2] - page_box[0], page_box[3] - page_box[1]);
        let overlap_w = (e + a).min(page_box[2]) - e.max(page_box[0]);
        let overlap_h = (f + d).min(page_box[3]) - f.max(page_box[1]);
        if overlap_w <= 0.0 || overlap_h <= 0.0 {
            return None;
        }
        let overlap = overlap_w * overlap_h;
        (overlap >= MIN_COVERAGE * page_w * page_h && overlap >= MIN_COVERAGE * a * d).then_some(found)
    }

    /// Decodes the scanned page image. `None` means the image is of a kind we leave to the renderer.
    fn decode_image(
        &self,
        placed: &PlacedImage<'_>,
        index: u32,
        limits: &Limits,
    ) -> Result<Option<Page>, DecodeError> {
        let dict = &placed.stream.dict;
        let integer =
            |key: &[u8]| dict.get(key).ok().and_then(|o| self.resolve(o)).and_then(|o| o.as_i64().ok());
        let (Some(width), Some(height)) = (integer(b"Width"), integer(b"Height")) else {
            return Err(DecodeError::Corrupt(format!("the image on page {} has no size", index + 1)));
        };
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        let height = u32::try_from(height).unwrap_or(u32::MAX);
        limits.check_page(index, width, height)?;
        let dpi = Dpi {
            x: (f64::from(width) * 72.0 / placed.ctm[0]) as f32,
            y: (f64::from(height) * 72.0 / placed.ctm[3]) as f32,
        };
        if dict.has(b"SMask") || dict.has(b"Mask") {
            return Ok(None);
        }
        let filters = match dict.get(b"Filter").ok().and_then(|o| self.resolve(o)) {
            None => Vec::new(),
            Some(Object::Name(name)) => vec![name.as_slice()],
            Some(Object::Array(names)) => names.iter().filter_map(|n| n.as_name().ok()).collect(),
            Some(_) => return Ok(None),
        };
        let image_mask = dict.get(b"ImageMask").and_then(Object::as_bool).unwrap_or(false);
        let decode_inverted = self.decode_inverted(dict)?;
        let Some(decode_inverted) = decode_inverted else { return Ok(None) };
        let colour_space = if image_mask { Some(ColourSpace::Gray) } else { self.colour_space(dict) };
        let page = match filters.as_slice() {
            [b"DCTDecode"] => {
                let bytes = &placed.stream.content;
                let header = JpegHeader::parse(bytes)?;
                if decode_inverted
                    || !matches!(colour_space, Some(ColourSpace::Gray | ColourSpace::Rgb | ColourSpace::Cmyk))
                {
                    return Ok(None);
                }
                let raster = jpeg::decode_raster(bytes, &header, limits, index)?;
                Page { raster, dpi, embedded: Some(jpeg::embedded(bytes, &header)) }
            }
            [b"CCITTFaxDecode"] => {
                if colour_space != Some(ColourSpace::Gray) {
                    return Ok(None);
                }
                match self.ccitt(placed.stream, width, height, decode_inverted, index)? {
                    Some((raster, embedded)) => Page { raster, dpi, embedded: Some(embedded) },
                    None => return Ok(None),
                }
            }
            [] | [b"FlateDecode"] | [b"LZWDecode"] | [b"RunLengthDecode"] => {
                let Some(colour_space) = colour_space else { return Ok(None) };
                let bits = if image_mask { 1 } else { integer(b"BitsPerComponent").unwrap_or(8) };
                let bits = match bits {
                    1 | 2 | 4 | 8 => bits as u8,
                    _ => return Ok(None),
                };
                match self.sampled(
                    placed.stream,
                    width,
                    height,
                    bits,
                    colour_space,
                    decode_inverted,
                    index,
                )? {
                    Some(raster) => Page { raster, dpi, embedded: None },
                    None => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(page))
    }

    /// A CCITT G4 image: decoded to bilevel, and its stream kept for embedding.
    fn ccitt(
        &self,
        stream: &Stream,
        width: u32,
        height: u32,
        decode_inverted: bool,
        index: u32,
    ) -> Result<Option<(Raster, EmbeddedImage)>, DecodeError> {
        let params =
            stream.dict.get(b"DecodeParms").ok().and_then(|o| self.resolve(o)).and_then(|o| match o {
                Object::Array(array) => array.first().and_then(|o| self.dict(o)),
                other => self.dict(other),
            });
        let param = |key: &[u8]| params.and_then(|p| p.get(key).ok()).and_then(|o| self.resolve(o));
        let k = param(b"K").and_then(|o| o.as_i64().ok()).unwrap_or(0);
        let columns = param(b"Columns").and_then(|o| o.as_i64().ok()).unwrap_or(1728);
        let black_is_1 = param(b"BlackIs1").and_then(|o| o.as_bool().ok()).unwrap_or(false);
        let byte_align = param(b"EncodedByteAlign").and_then(|o| o.as_bool().ok()).unwrap_or(false);
        // Group 3 and byte-aligned rows are left to the renderer, which handles every variant.
        if k >= 0 || byte_align || columns != i64::from(width) {
            return Ok(None);
        }
        // A coded black run becomes 1 under BlackIs1, and a 1 sample shows white in DeviceGray (and is
        // left unpainted by an image mask) unless /Decode inverts it.
        let shows_black = !black_is_1 ^ decode_inverted;
        let (black, white) = if shows_black { (0, 255) } else { (255, 0) };
        let mut pixels = vec![0u8; width as usize * height as usize];
        g4::decode_into(&stream.content, width, height, &mut pixels, black, white)
            .map_err(|message| DecodeError::Corrupt(format!("the image on page {}: {message}", index + 1)))?;
        let raster = raster::bilevel_raster(pixels, width, height).map_err(DecodeError::Corrupt)?;
        let embedded =
            EmbeddedImage::CcittG4 { bytes: stream.content.clone(), width, height, black_is_1: !shows_black };
        Ok(Some((raster, embedded)))
    }

    /// An image of samples (uncompressed, Flate with or without a predictor, LZW, RunLength).
    #[allow(clippy::too_many_arguments)]
    fn sampled(
        &self,
        stream: &Stream,
        width: u32,
        height: u32,
        bits: u8,
        colour_space: ColourSpace,
        decode_inverted: bool,
        index: u32,
    ) -> Result<Option<Raster>, DecodeError> {
        let components = match colour_space {
            ColourSpace::Gray | ColourSpace::Indexed(_) => 1usize,
            ColourSpace::Rgb => 3,
            ColourSpace::Cmyk => return Ok(None),
        };
        let (w, h) = (width as usize, height as usize);
        let row_bytes = (w * components * usize::from(bits)).div_ceil(8);
        let expected = row_bytes * h;
        // Decode at most what the image needs (plus a predictor byte per row): a bomb stops here.
        let limit = expected + h + 64;
        let data = match self.inflate_exact(stream, expected) {
            Some(Ok(samples)) => samples,
            Some(Err(produced)) => {
                return Err(DecodeError::Corrupt(format!(
                    "the image on page {} has {produced} bytes of samples, {expected} expected",
                    index + 1
                )));
            }
            None if stream.dict.has(b"Filter") => {
                stream.decompressed_content_with_limit(limit).map_err(|error| {
                    DecodeError::Corrupt(format!(
                        "the image on page {} does not decompress ({error})",
                        index + 1
                    ))
                })?
            }
            None => stream.content.clone(),
        };
        if data.len() < expected {
            return Err(DecodeError::Corrupt(format!(
                "the image on page {} has {} bytes of samples, {expected} expected",
                index + 1,
                data.len()
            )));
        }
        let page_error =
            |message: String| DecodeError::Corrupt(format!("the image on page {}: {message}", index + 1));
        let mut values = if bits == 8 {
            // One byte per sample and no row padding: the samples are the data, as far as needed.
            let mut data = data;
            data.truncate(expected);
            data
        } else {
            raster::unpack(&data, w * components, h, bits).map_err(page_error)?
        };
        if decode_inverted {
            let max = ((1u16 << bits) - 1) as u8;
            values.iter_mut().for_each(|v| *v = max - *v);
        }
        let result = match colour_space {
            ColourSpace::Indexed(palette) => palette.apply(&values, width, height),
            ColourSpace::Gray if bits == 1 => {
                raster::scale_to_8(&mut values, 1);
                raster::bilevel_raster(values, width, height)
            }
            ColourSpace::Gray => {
                raster::scale_to_8(&mut values, bits);
                raster::gray_raster(values, width, height)
            }
            ColourSpace::Rgb => {
                raster::scale_to_8(&mut values, bits);
                raster::rgb_raster(values, width, height)
            }
            ColourSpace::Cmyk => return Ok(None),
        };
        result.map(Some).map_err(page_error)
    }

    /// Whether /Decode inverts the samples: `Some(false)` for none or the default, `Some(true)` for
    /// a full inversion, `None` for anything else (left to the renderer).
    fn decode_inverted(&self, dict: &Dictionary) -> Result<Option<bool>, DecodeError> {
        let Some(array) = dict.get(b"Decode").ok().and_then(|o| self.resolve(o)) else {
            return Ok(Some(false));
        };
        let Ok(array) = array.as_array() else { return Ok(Some(false)) };
        let values: Vec<f64> = array.iter().filter_map(number).collect();
        if values.len() < 2 {
            return Ok(Some(false));
        }
        let pairs: Vec<(f64, f64)> = values.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        let is_indexed = matches!(self.colour_space(dict), Some(ColourSpace::Indexed(_)));
        if is_indexed {
            // The default for Indexed is [0 hival]; anything else is rare enough to render.
            return Ok(if pairs.len() == 1 && pairs[0].0 == 0.0 { Some(false) } else { None });
        }
        if pairs.iter().all(|&(low, high)| low == 0.0 && high == 1.0) {
            Ok(Some(false))
        } else if pairs.iter().all(|&(low, high)| low == 1.0 && high == 0.0) {
            Ok(Some(true))
        } else {
            Ok(None)
        }
    }

    /// The image's colour space, if it is one decoded here.
    fn colour_space(&self, dict: &Dictionary) -> Option<ColourSpace> {
        let space = self.resolve(dict.get(b"ColorSpace").ok()?)?;
        self.parse_colour_space(space, 0)
    }

    fn parse_colour_space(&self, space: &Object, depth: u8) -> Option<ColourSpace> {
        if depth > 4 {
            return None;
        }
        let space = self.resolve(space)?;
        if let Ok(name) = space.as_name() {
            return match name {
                b"DeviceGray" | b"CalGray" | b"G" => Some(ColourSpace::Gray),
                b"DeviceRGB" | b"CalRGB" | b"RGB" => Some(ColourSpace::Rgb),
                b"DeviceCMYK" | b"CMYK" => Some(ColourSpace::Cmyk),
                _ => None,
            };
        }
        let array = space.as_array().ok()?;
        let family = array.first()?.as_name().ok()?;
        match family {
            b"CalGray" => Some(ColourSpace::Gray),
            b"CalRGB" => Some(ColourSpace::Rgb),
            b"ICCBased" => {
                let stream = self.stream(array.get(1)?)?;
                match stream.dict.get(b"N").ok().and_then(|o| self.resolve(o))?.as_i64().ok()? {
                    1 => Some(ColourSpace::Gray),
                    3 => Some(ColourSpace::Rgb),
                    4 => Some(ColourSpace::Cmyk),
                    _ => None,
                }
            }
            b"Indexed" | b"I" => {
                let base = self.parse_colour_space(array.get(1)?, depth + 1)?;
                let hival = usize::try_from(self.resolve(array.get(2)?)?.as_i64().ok()?).ok()?.min(255);
                let lookup = match self.resolve(array.get(3)?)? {
                    Object::String(bytes, _) => bytes.clone(),
                    Object::Stream(stream) => stream.decompressed_content_with_limit(4096).ok()?,
                    _ => return None,
                };
                let rgb = match base {
                    ColourSpace::Gray => lookup.iter().take(hival + 1).map(|&v| [v, v, v]).collect(),
                    ColourSpace::Rgb => {
                        lookup.chunks_exact(3).take(hival + 1).map(|c| [c[0], c[1], c[2]]).collect()
                    }
                    _ => return None,
                };
                Some(ColourSpace::Indexed(Palette { rgb }))
            }
            _ => None,
        }
    }

    /// Whether any image among the page's XObjects has colour, which makes a rendering in colour.
    fn has_colour_image(&self, page: &Dictionary) -> bool {
        let Some(xobjects) = self
            .inherited(page, b"Resources")
            .and_then(|r| self.dict(r))
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|x| self.dict(x))
        else {
            return false;
        };
        xobjects.iter().filter_map(|(_, object)| self.stream(object)).any(|stream| {
            let colour = stream.dict.get(b"ColorSpace").ok().and_then(|space| self.resolve(space));
            match colour {
                Some(Object::Name(name)) => name != b"DeviceGray" && name != b"CalGray",
                Some(Object::Array(array)) => match array.first().and_then(|f| f.as_name().ok()) {
                    Some(b"ICCBased") => array
                        .get(1)
                        .and_then(|s| self.stream(s))
                        .and_then(|s| s.dict.get(b"N").ok()?.as_i64().ok())
                        .is_some_and(|n| n != 1),
                    Some(b"CalGray") => false,
                    _ => true,
                },
                _ => false,
            }
        })
    }

    /// The crop box (else the media box, else US Letter), normalised so x0 < x1 and y0 < y1.
    fn page_box(&self, page: &Dictionary) -> [f64; 4] {
        let read = |key: &[u8]| -> Option<[f64; 4]> {
            let array = self.resolve(self.inherited(page, key)?)?.as_array().ok()?;
            let values: Vec<f64> = array.iter().filter_map(|o| self.resolve(o).and_then(number)).collect();
            let [x0, y0, x1, y1]: [f64; 4] = values.try_into().ok()?;
            Some([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)])
        };
        read(b"CropBox").or_else(|| read(b"MediaBox")).unwrap_or([0.0, 0.0, 612.0, 792.0])
    }

    /// A page attribute, looked up through the page tree (Resources, MediaBox, CropBox and Rotate
    /// are inheritable).
    fn inherited<'d>(&'d self, page: &'d Dictionary, key: &[u8]) -> Option<&'d Object> {
        let mut node = page;
        for _ in 0..64 {
            if let Ok(value) = node.get(key) {
                return Some(value);
            }
            node = self.dict(node.get(b"Parent").ok()?)?;
        }
        None
    }

    fn resolve<'d>(&'d self, object: &'d Object) -> Option<&'d Object> {
        self.document.dereference(object).ok().map(|(_, object)| object)
    }

    fn dict<'d>(&'d self, object: &'d Object) -> Option<&'d Dictionary> {
        match self.resolve(object)? {
            Object::Dictionary(dict) => Some(dict),
            Object::Stream(stream) => Some(&stream.dict),
            _ => None,
        }
    }

    fn stream<'d>(&'d self, object: &'d Object) -> Option<&'d Stream> {
        self.resolve(object)?.as_stream().ok()
    }
}

/// A page decoded here, or what it takes to have `pdftoppm` render it.
pub(super) enum Extracted {
    Page(Page),
    Render(RenderPlan),
}

/// How a page that is not a single scanned image is rendered: at `dpi`, to at most `width` × `height`
/// pixels, in colour or grey.
pub(super) struct RenderPlan {
    pub dpi: f32,
    pub width: u32,
    pub height: u32,
    pub colour: bool,
}

/// The image a scanned page draws, with the transformation it is drawn with.
struct PlacedImage<'d> {
    stream: &'d Stream,
    ctm: [f64; 6],
}

enum ColourSpace {
    Gray,
    Rgb,
    Cmyk,
    Indexed(Palette),
}

impl PartialEq for ColourSpace {
    fn eq(&self, other: &ColourSpace) -> bool {
        matches!(
            (self, other),
            (ColourSpace::Gray, ColourSpace::Gray)
                | (ColourSpace::Rgb, ColourSpace::Rgb)
                | (ColourSpace::Cmyk, ColourSpace::Cmyk)
        )
    }
}

const IDENTITY: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m × n` for PDF matrices [a b c d e f] (row vectors, so `cm` computes `m × ctm`).
fn multiply(m: &[f64; 6], n: &[f64; 6]) -> [f64; 6] {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(value) => Some(*value as f64),
        Object::Real(value) => Some(f64::from(*value)),
        _ => None,
    }
}
