//! Multi-page TIFF. The directory chain is walked once at open time by a small reader of our own
//! (cheap, cycle-safe, and it skips reduced-resolution thumbnails); pixels are decoded per page.
//!
//! CCITT G4 pages are decoded here with the `fax` crate, strip by strip, and a single-strip G4 page
//! also hands its strip to the PDF writer unchanged. Deflate pages of 8-bit grey or RGB samples in
//! strips (the common scanner output) are inflated here too (by libdeflate, see [`crate::zlib`]),
//! straight into the page buffer, and a single-strip one hands its zlib stream to the PDF writer
//! unchanged (with the TIFF predictor as PDF `/DecodeParms`). JPEG pages (Compression 7) are decoded
//! by the `tiff` crate, and their strips are checked and, where they can be, joined into one JPEG for
//! the PDF writer by [`super::tiff_jpeg`]. Every other compression (LZW,
//! PackBits, none; tiles; other sample layouts) goes through the `tiff` crate. The `tiff` crate
//! refuses palette images, so for those we show it the directory with PhotometricInterpretation patched to
//! BlackIsZero, which makes it hand back the raw indices, and apply the ColorMap ourselves.
//! CCITT Group 3 is not supported: mailroom scanners write G4, and G3 in TIFF has too many variants
//! (T4Options, EOL alignment) to get right cheaply.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

use ::tiff::decoder::{Decoder, DecodingResult};
use ::tiff::{ColorType, TiffError};

use super::raster::{self, Palette};
use super::{DecodeError, Limits, g4, jpeg, plausible_dpi, tiff_jpeg};
use crate::page::{Dpi, EmbeddedImage, JpegOrigin, Page, Raster};
use crate::zlib::{self, Inflated};
use libdeflater::Decompressor;

const TAG_NEW_SUBFILE_TYPE: u16 = 254;
const TAG_WIDTH: u16 = 256;
const TAG_HEIGHT: u16 = 257;
const TAG_BITS_PER_SAMPLE: u16 = 258;
const TAG_COMPRESSION: u16 = 259;
const TAG_PHOTOMETRIC: u16 = 262;
const TAG_FILL_ORDER: u16 = 266;
const TAG_STRIP_OFFSETS: u16 = 273;
const TAG_SAMPLES_PER_PIXEL: u16 = 277;
const TAG_ROWS_PER_STRIP: u16 = 278;
const TAG_STRIP_BYTE_COUNTS: u16 = 279;
const TAG_X_RESOLUTION: u16 = 282;
const TAG_Y_RESOLUTION: u16 = 283;
const TAG_RESOLUTION_UNIT: u16 = 296;
const TAG_COLOR_MAP: u16 = 320;
const TAG_PLANAR_CONFIGURATION: u16 = 284;
const TAG_PREDICTOR: u16 = 317;
const TAG_TILE_WIDTH: u16 = 322;
const TAG_EXTRA_SAMPLES: u16 = 338;
const TAG_SAMPLE_FORMAT: u16 = 339;
const TAG_JPEG_TABLES: u16 = 347;

const COMPRESSION_NONE: u64 = 1;
const COMPRESSION_CCITT_RLE: u64 = 2;
const COMPRESSION_G3: u64 = 3;
const COMPRESSION_G4: u64 = 4;
const COMPRESSION_OLD_JPEG: u64 = 6;
/// New-style JPEG (TIFF Technote 2): each strip a JPEG stream, shared tables in JPEGTables.
const COMPRESSION_JPEG: u64 = 7;
/// Adobe deflate (TIFF 6 technote 2) and its older PKZIP-style code: both are zlib streams.
const COMPRESSION_DEFLATE: u64 = 8;
const COMPRESSION_DEFLATE_OLD: u64 = 32946;

const PHOTOMETRIC_BLACK_IS_ZERO: u64 = 1;
const PHOTOMETRIC_RGB: u64 = 2;
const PHOTOMETRIC_PALETTE: u64 = 3;

/// Most values a single tag may hold. Strip offsets of a 20,000-row page with one row per strip are
/// far below this; a larger count is a damaged or hostile directory.
const MAX_TAG_VALUES: u64 = 1 << 20;

/// A TIFF whose directory chain has been read.
pub(super) struct TiffFile<'a> {
    bytes: &'a [u8],
    big_endian: bool,
    bigtiff: bool,
    pages: Vec<PageRef>,
}

/// Where a page's directory is, and its position in the chain (what the `tiff` crate seeks by).
#[derive(Clone, Copy)]
struct PageRef {
    ifd_offset: u64,
    chain_index: usize,
}

/// One directory entry, with the file position of its value field.
#[derive(Clone, Copy)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u64,
    field_pos: u64,
}

impl<'a> TiffFile<'a> {
    pub fn open(bytes: &'a [u8], limits: &Limits) -> Result<TiffFile<'a>, DecodeError> {
        let big_endian = bytes.starts_with(b"MM");
        let mut file = TiffFile { bytes, big_endian, bigtiff: false, pages: Vec::new() };
        let magic = file.u16_at(2)?;
        let mut next = match magic {
            42 => u64::from(file.u32_at(4)?),
            43 => {
                file.bigtiff = true;
                file.u64_at(8)?
            }
            _ => return Err(corrupt(format!("TIFF header has version {magic}, expected 42 or 43"))),
        };
        let mut seen = HashSet::new();
        let mut chain_index = 0usize;
        while next != 0 {
            if !seen.insert(next) {
                return Err(corrupt("the TIFF directory chain loops back on itself"));
            }
            let (entries, following) = file.directory(next)?;
            // Reduced-resolution copies (thumbnails) are not pages of the document.
            let reduced = match entries.iter().find(|entry| entry.tag == TAG_NEW_SUBFILE_TYPE) {
                Some(entry) => file.first_value(entry)? & 1 == 1,
                None => false,
            };
            if !reduced {
                file.pages.push(PageRef { ifd_offset: next, chain_index });
                limits.check_page_count(file.pages.len() as u64)?;
            }
            chain_index += 1;
            next = following;
        }
        Ok(file)
    }

    pub fn page_count(&self) -> u32 {
        self.pages.len() as u32
    }

    /// Page `index` for a PDF that embeds its stream unchanged, without keeping pixels nobody looks
    /// at: a single-strip 8-bit deflate page's zlib stream is inflated once into a buffer of exactly
    /// the page's size, which proves it complete (it must end, checksum included, exactly at the
    /// page's last sample), and a single-strip CCITT G4 page's stream is decoded row by row without
    /// writing pixels, which proves it readable. Such a page comes back with its stream in
    /// [`Page::embedded`] and a placeholder raster of the right size that must not be looked at
    /// (zero-filled, so the allocator's lazily zeroed pages cost no memory). Every other page is
    /// decoded as by [`TiffFile::page`].
    pub fn page_for_embedding(
        &self,
        index: u32,
        limits: &Limits,
        default_dpi: Dpi,
    ) -> Result<Page, DecodeError> {
        match self.single_deflate_strip(index, limits, default_dpi)? {
            Some(page) => Ok(page),
            None => self.page_for(index, limits, default_dpi, Purpose::Embedding),
        }
    }

    /// See [`TiffFile::page_for_embedding`]; `None` for pages that need decoding.
    fn single_deflate_strip(
        &self,
        index: u32,
        limits: &Limits,
        default_dpi: Dpi,
    ) -> Result<Option<Page>, DecodeError> {
        let page = *self.pages.get(index as usize).ok_or(DecodeError::NoPages)?;
        let (entries, _) = self.directory(page.ifd_offset)?;
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        let value = |tag: u16| -> Result<Option<u64>, DecodeError> {
            find(tag).map(|entry| self.first_value(entry)).transpose()
        };
        let (Some(width), Some(height)) = (value(TAG_WIDTH)?, value(TAG_HEIGHT)?) else { return Ok(None) };
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        let height = u32::try_from(height).unwrap_or(u32::MAX);
        limits.check_page(index, width, height)?;
        let compression = value(TAG_COMPRESSION)?.unwrap_or(COMPRESSION_NONE);
        let samples = value(TAG_SAMPLES_PER_PIXEL)?.unwrap_or(1);
        if !matches!(compression, COMPRESSION_DEFLATE | COMPRESSION_DEFLATE_OLD) {
            return Ok(None);
        }
        let Some(layout) = self.plain_deflate_layout(&entries, value(TAG_PHOTOMETRIC)?, samples)? else {
            return Ok(None);
        };
        let strips = self.strips(index, &entries, height)?;
        if strips.count != 1 {
            return Ok(None);
        }
        let Some(data) = self.slice(strips.offsets[0], strips.counts[0]) else { return Ok(None) };
        let expected = width as u64 * height as u64 * u64::from(layout.components);
        // The usual case in one call: libdeflate inflates into a buffer of exactly the page's size and
        // succeeds only if the stream ends there, checksum included; the stream is the whole strip when
        // its trailer is the strip's last four bytes. The buffer is dropped: the proof is all we need.
        let Ok(expected_len) = usize::try_from(expected) else { return Ok(None) };
        let mut samples = vec![0u8; expected_len];
        let stream_len =
            if zlib::inflate_exact(&mut Decompressor::new(), data, &mut samples) == Inflated::Exact {
                Self::stream_end(data, &samples)
            } else {
                Self::stream_length(data, expected)
            };
        drop(samples);
        let Some(stream_len) = stream_len else { return Ok(None) };
        let bytes = data[..stream_len].to_vec();
        let raster = if layout.components == 1 {
            Raster::Gray(image::GrayImage::new(width, height))
        } else {
            Raster::Rgb(image::RgbImage::new(width, height))
        };
        let embedded = EmbeddedImage::Flate {
            bytes,
            width,
            height,
            components: layout.components,
            predictor: layout.predictor,
        };
        let dpi = self.dpi(&entries)?.unwrap_or(default_dpi);
        Ok(Some(Page { raster, dpi, embedded: Some(embedded) }))
    }

    /// Where the zlib stream at the start of `data` ends, given that it inflated to exactly `inflated`:
    /// at the end of `data` when its trailer is the last four bytes (the usual strip), else as found by
    /// [`Self::stream_length`] (trailing bytes after the stream).
    fn stream_end(data: &[u8], inflated: &[u8]) -> Option<usize> {
        if zlib::ends_at(data, inflated) {
            Some(data.len())
        } else {
            Self::stream_length(data, inflated.len() as u64)
        }
    }

    /// How long the zlib stream at the start of `data` is, if it inflates to exactly `expected`
    /// bytes and ends there (checksum included); `None` otherwise. Streamed through a small scratch
    /// buffer, for strips that [`zlib::inflate_exact`] could not settle (trailing bytes, damage).
    fn stream_length(data: &[u8], expected: u64) -> Option<usize> {
        let mut inflater = flate2::Decompress::new(true);
        let mut scratch = vec![0u8; 256 * 1024];
        loop {
            let (consumed, produced) = (inflater.total_in(), inflater.total_out());
            let status = inflater.decompress(
                &data[consumed as usize..],
                &mut scratch,
                flate2::FlushDecompress::Finish,
            );
            match status {
                Ok(flate2::Status::StreamEnd) => break,
                // More than the page holds: decoded in full, which reads only what the page needs.
                Ok(_) if inflater.total_out() > expected => return None,
                Ok(flate2::Status::Ok)
                    if (inflater.total_in(), inflater.total_out()) != (consumed, produced) => {}
                // Damaged or truncated: the full decoder names the problem.
                _ => return None,
            }
        }
        (inflater.total_out() == expected).then_some(inflater.total_in() as usize)
    }

    pub fn page(&self, index: u32, limits: &Limits, default_dpi: Dpi) -> Result<Page, DecodeError> {
        self.page_for(index, limits, default_dpi, Purpose::Pixels)
    }

    fn page_for(
        &self,
        index: u32,
        limits: &Limits,
        default_dpi: Dpi,
        purpose: Purpose,
    ) -> Result<Page, DecodeError> {
        let page = *self.pages.get(index as usize).ok_or(DecodeError::NoPages)?;
        let (entries, _) = self.directory(page.ifd_offset)?;
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        let value = |tag: u16| -> Result<Option<u64>, DecodeError> {
            find(tag).map(|entry| self.first_value(entry)).transpose()
        };
        let width =
            value(TAG_WIDTH)?.ok_or_else(|| corrupt(format!("TIFF page {} has no width", index + 1)))?;
        let height =
            value(TAG_HEIGHT)?.ok_or_else(|| corrupt(format!("TIFF page {} has no height", index + 1)))?;
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        let height = u32::try_from(height).unwrap_or(u32::MAX);
        limits.check_page(index, width, height)?;

        let dpi = self.dpi(&entries)?.unwrap_or(default_dpi);
        let compression = value(TAG_COMPRESSION)?.unwrap_or(COMPRESSION_NONE);
        let photometric = value(TAG_PHOTOMETRIC)?;
        let bits = value(TAG_BITS_PER_SAMPLE)?.unwrap_or(1);
        let samples = value(TAG_SAMPLES_PER_PIXEL)?.unwrap_or(1);

        if matches!(compression, COMPRESSION_DEFLATE | COMPRESSION_DEFLATE_OLD)
            && let Some(layout) = self.plain_deflate_layout(&entries, photometric, samples)?
        {
            return self.deflate_page(index, &entries, width, height, layout, dpi);
        }
        match compression {
            COMPRESSION_G4 if find(TAG_TILE_WIDTH).is_none() && bits == 1 && samples == 1 => {
                let black_is_zero = photometric == Some(PHOTOMETRIC_BLACK_IS_ZERO);
                let (raster, embedded) =
                    self.g4_page(index, &entries, width, height, black_is_zero, purpose)?;
                Ok(Page { raster, dpi, embedded })
            }
            COMPRESSION_G3 | COMPRESSION_CCITT_RLE => Err(DecodeError::Unsupported(format!(
                "TIFF page {} uses CCITT Group 3 compression; rescan with Group 4, LZW or deflate",
                index + 1
            ))),
            COMPRESSION_OLD_JPEG => Err(DecodeError::Unsupported(format!(
                "TIFF page {} uses the obsolete old-style JPEG compression; rescan with Group 4, LZW, deflate or as JPEG",
                index + 1
            ))),
            COMPRESSION_JPEG => {
                // The strips' structure is checked (and the strips joined, where they can be) before the
                // `tiff` crate decodes them, because its JPEG decoder fills what a truncated strip lacks.
                let joined = self.joined_jpeg(index, &entries, width, height, photometric, samples)?;
                let (raster, embedded) = self.generic_page(page, index, &entries, photometric, limits)?;
                let embedded = match (embedded, joined) {
                    (None, Some((bytes, strips))) => {
                        verified_joined_jpeg(index, bytes, strips, &raster, limits)
                    }
                    (embedded, _) => embedded,
                };
                Ok(Page { raster, dpi, embedded })
            }
            _ => {
                let (raster, embedded) = self.generic_page(page, index, &entries, photometric, limits)?;
                Ok(Page { raster, dpi, embedded })
            }
        }
    }

    /// A JPEG-in-TIFF page's strips joined into one JPEG stream, with the number of strips (see
    /// [`tiff_jpeg`]); `None`, with the reason logged, when the layout cannot be joined losslessly.
    /// Damaged strips are an error.
    fn joined_jpeg(
        &self,
        index: u32,
        entries: &[Entry],
        width: u32,
        height: u32,
        photometric: Option<u64>,
        samples: u64,
    ) -> Result<Option<(Vec<u8>, u32)>, DecodeError> {
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        if find(TAG_TILE_WIDTH).is_some() {
            return Ok(None);
        }
        let Strips { offsets, counts, rows_per_strip, count } = self.strips(index, entries, height)?;
        let strips = (0..count)
            .map(|strip| {
                self.slice(offsets[strip], counts[strip]).ok_or_else(|| {
                    corrupt(format!("strip {} of TIFF page {} lies outside the file", strip + 1, index + 1))
                })
            })
            .collect::<Result<Vec<&[u8]>, DecodeError>>()?;
        let tables = match find(TAG_JPEG_TABLES) {
            Some(entry) => {
                let start = self.value_start(entry, entry.count)?;
                Some(self.slice(start, entry.count).ok_or_else(|| {
                    corrupt(format!("the JPEGTables tag of TIFF page {} lies outside the file", index + 1))
                })?)
            }
            None => None,
        };
        let set = tiff_jpeg::StripSet {
            tables,
            strips,
            width,
            height,
            rows_per_strip,
            components: u8::try_from(samples).unwrap_or(0),
        };
        let joined = tiff_jpeg::join(&set)
            .map_err(|problem| corrupt(format!("TIFF page {}: {problem}", index + 1)))?;
        let all_equal = |tag: u16, expected: u64, default: u64| -> Result<bool, DecodeError> {
            Ok(match find(tag) {
                Some(entry) => self.values(entry)?.iter().all(|&value| value == expected),
                None => default == expected,
            })
        };
        // Grey and RGB as 8-bit chunky samples are what the `tiff` crate decodes without converting
        // colours (YCbCr it refuses), so the joined stream's pixels can be compared with its.
        let reason = match (photometric, samples) {
            (Some(PHOTOMETRIC_BLACK_IS_ZERO), 1) | (Some(PHOTOMETRIC_RGB), 3)
                if all_equal(TAG_BITS_PER_SAMPLE, 8, 1)? && all_equal(TAG_PLANAR_CONFIGURATION, 1, 1)? =>
            {
                match joined {
                    tiff_jpeg::Joined::Stream(bytes) => return Ok(Some((bytes, count as u32))),
                    tiff_jpeg::Joined::NotJoinable(reason) => reason,
                }
            }
            _ => format!("photometric {photometric:?} with {samples} samples is not 8-bit grey or RGB"),
        };
        tracing::debug!(page = index + 1, %reason, "JPEG strips of a TIFF page not joined; decoding instead");
        Ok(None)
    }

    /// Decodes a G4 page strip by strip. Each strip is an independent G4 stream.
    fn g4_page(
        &self,
        index: u32,
        entries: &[Entry],
        width: u32,
        height: u32,
        black_is_zero: bool,
        purpose: Purpose,
    ) -> Result<(Raster, Option<EmbeddedImage>), DecodeError> {
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        let Strips { offsets, counts, rows_per_strip, count: strip_count } =
            self.strips(index, entries, height)?;
        let lsb_first = match find(TAG_FILL_ORDER) {
            Some(entry) => self.first_value(entry)? == 2,
            None => false,
        };
        if purpose == Purpose::Embedding && strip_count == 1 && !lsb_first {
            // The strip goes into the PDF unchanged: decoding it in full, without keeping pixels,
            // proves it readable; the raster is a placeholder (zero-filled, so it costs no memory).
            let data = self.slice(offsets[0], counts[0]).ok_or_else(|| {
                corrupt(format!("strip 1 of TIFF page {} lies outside the file", index + 1))
            })?;
            g4::check(data, width, height)
                .map_err(|message| corrupt(format!("TIFF page {}: {message}", index + 1)))?;
            let embedded =
                EmbeddedImage::CcittG4 { bytes: data.to_vec(), width, height, black_is_1: black_is_zero };
            return Ok((Raster::Bilevel(image::GrayImage::new(width, height)), Some(embedded)));
        }
        // In TIFF the coded "black" runs are 1 bits; WhiteIsZero (the fax default) shows them black.
        let (black, white) = if black_is_zero { (255, 0) } else { (0, 255) };
        let mut pixels = vec![0u8; width as usize * height as usize];
        let mut single_strip = None;
        for strip in 0..strip_count {
            let data = self.slice(offsets[strip], counts[strip]).ok_or_else(|| {
                corrupt(format!("strip {} of TIFF page {} lies outside the file", strip + 1, index + 1))
            })?;
            let reversed;
            let data = if lsb_first {
                reversed = data.iter().map(|byte| byte.reverse_bits()).collect::<Vec<u8>>();
                &reversed[..]
            } else {
                data
            };
            let first_row = strip as u32 * rows_per_strip;
            let rows = rows_per_strip.min(height - first_row);
            let start = first_row as usize * width as usize;
            g4::decode_into(data, width, rows, &mut pixels[start..], black, white)
                .map_err(|message| corrupt(format!("TIFF page {}: {message}", index + 1)))?;
            if strip_count == 1 && !lsb_first {
                single_strip = Some(data.to_vec());
            }
        }
        let embedded = single_strip.map(|bytes| EmbeddedImage::CcittG4 {
            bytes,
            width,
            height,
            // The strip decodes black runs to 1 bits, so under BlackIsZero 1 bits must show white,
            // which in PDF terms is BlackIs1 true (1 bits black would otherwise be shown).
            black_is_1: black_is_zero,
        });
        let raster = raster::bilevel_raster(pixels, width, height).map_err(corrupt)?;
        Ok((raster, embedded))
    }

    /// Where a page's strips are, checked against the number its height and RowsPerStrip need.
    fn strips(&self, index: u32, entries: &[Entry], height: u32) -> Result<Strips, DecodeError> {
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        let offsets = match find(TAG_STRIP_OFFSETS) {
            Some(entry) => self.values(entry)?,
            None => return Err(corrupt(format!("TIFF page {} has no strip offsets", index + 1))),
        };
        let counts = match find(TAG_STRIP_BYTE_COUNTS) {
            Some(entry) => self.values(entry)?,
            None => return Err(corrupt(format!("TIFF page {} has no strip byte counts", index + 1))),
        };
        let rows_per_strip = match find(TAG_ROWS_PER_STRIP) {
            Some(entry) => self.first_value(entry)?.clamp(1, u64::from(height)) as u32,
            None => height,
        };
        let count = height.div_ceil(rows_per_strip) as usize;
        if offsets.len() < count || counts.len() < count {
            return Err(corrupt(format!(
                "TIFF page {} lists {} strips, {count} expected",
                index + 1,
                offsets.len().min(counts.len())
            )));
        }
        Ok(Strips { offsets, counts, rows_per_strip, count })
    }

    /// The layout of a deflate page this module inflates itself: 8-bit unsigned samples, grey
    /// (BlackIsZero) or RGB, chunky, in strips, no extra samples, predictor none or horizontal.
    /// `None` sends the page to the `tiff` crate.
    fn plain_deflate_layout(
        &self,
        entries: &[Entry],
        photometric: Option<u64>,
        samples: u64,
    ) -> Result<Option<FlateLayout>, DecodeError> {
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        let components = match (photometric, samples) {
            (Some(PHOTOMETRIC_BLACK_IS_ZERO), 1) => 1u8,
            (Some(PHOTOMETRIC_RGB), 3) => 3,
            _ => return Ok(None),
        };
        let all_equal = |tag: u16, expected: u64, default: u64| -> Result<bool, DecodeError> {
            Ok(match find(tag) {
                Some(entry) => self.values(entry)?.iter().all(|&value| value == expected),
                None => default == expected,
            })
        };
        if find(TAG_TILE_WIDTH).is_some()
            || find(TAG_EXTRA_SAMPLES).is_some()
            || !all_equal(TAG_BITS_PER_SAMPLE, 8, 1)?
            || !all_equal(TAG_SAMPLE_FORMAT, 1, 1)?
            || !all_equal(TAG_PLANAR_CONFIGURATION, 1, 1)?
        {
            return Ok(None);
        }
        let predictor = match find(TAG_PREDICTOR) {
            Some(entry) => self.first_value(entry)?,
            None => 1,
        };
        Ok(match predictor {
            1 | 2 => Some(FlateLayout { components, predictor: predictor as u8 }),
            _ => None,
        })
    }

    /// Inflates an 8-bit grey or RGB deflate page strip by strip straight into the page buffer and
    /// undoes the horizontal predictor. Each strip is a complete zlib stream holding exactly its rows;
    /// a single-strip page also hands its zlib stream to the PDF writer unchanged, with the predictor
    /// as PDF `/DecodeParms`, since the stream then is exactly the page's samples.
    fn deflate_page(
        &self,
        index: u32,
        entries: &[Entry],
        width: u32,
        height: u32,
        layout: FlateLayout,
        dpi: Dpi,
    ) -> Result<Page, DecodeError> {
        let Strips { offsets, counts, rows_per_strip, count: strip_count } =
            self.strips(index, entries, height)?;
        let components = usize::from(layout.components);
        let row_bytes = width as usize * components;
        let mut pixels = vec![0u8; row_bytes * height as usize];
        let mut decompressor = Decompressor::new();
        let mut inflater = flate2::Decompress::new(true);
        let mut single_strip = None;
        for strip in 0..strip_count {
            let damaged =
                |what: &str| corrupt(format!("strip {} of TIFF page {} {what}", strip + 1, index + 1));
            let data =
                self.slice(offsets[strip], counts[strip]).ok_or_else(|| damaged("lies outside the file"))?;
            let first_row = strip * rows_per_strip as usize;
            let rows = (rows_per_strip as usize).min(height as usize - first_row);
            let out = &mut pixels[first_row * row_bytes..(first_row + rows) * row_bytes];
            // libdeflate settles the usual strip, a complete stream of exactly its rows, in one call;
            // anything else (short, over-long, damaged) goes through the streaming inflater below,
            // which decodes what it can and names the problem.
            match zlib::inflate_exact(&mut decompressor, data, out) {
                Inflated::Exact => {
                    if strip_count == 1 {
                        single_strip = Self::stream_end(data, out).map(|end| data[..end].to_vec());
                    }
                    continue;
                }
                Inflated::Short(produced) => {
                    return Err(damaged(&format!(
                        "inflates to {produced} bytes, {} expected (truncated)",
                        out.len()
                    )));
                }
                Inflated::Undecided => {}
            }
            inflater.reset(true);
            let status = inflater
                .decompress(data, out, flate2::FlushDecompress::Finish)
                .map_err(|error| damaged(&format!("has damaged deflate data ({error})")))?;
            let produced = inflater.total_out() as usize;
            if produced < out.len() {
                return Err(damaged(&format!(
                    "inflates to {produced} bytes, {} expected (truncated)",
                    out.len()
                )));
            }
            // A stream that ended exactly at the strip's last row is the page's samples as a PDF
            // reader will inflate them; a longer or unterminated one is decoded but not embedded.
            if strip_count == 1 && status == flate2::Status::StreamEnd {
                single_strip = Some(data[..inflater.total_in() as usize].to_vec());
            }
        }
        if layout.predictor == 2 {
            for row in pixels.chunks_exact_mut(row_bytes) {
                for i in components..row.len() {
                    row[i] = row[i].wrapping_add(row[i - components]);
                }
            }
        }
        let embedded = single_strip.map(|bytes| EmbeddedImage::Flate {
            bytes,
            width,
            height,
            components: layout.components,
            predictor: layout.predictor,
        });
        let page_error = |message: String| corrupt(format!("TIFF page {}: {message}", index + 1));
        let raster = if components == 1 {
            raster::gray_raster(pixels, width, height)
        } else {
            raster::rgb_raster(pixels, width, height)
        }
        .map_err(page_error)?;
        Ok(Page { raster, dpi, embedded })
    }

    /// Decodes any other page with the `tiff` crate: the raster, and the exact samples when the
    /// raster had to normalise them (16 bits, alpha, CMYK, extra channels).
    fn generic_page(
        &self,
        page: PageRef,
        index: u32,
        entries: &[Entry],
        photometric: Option<u64>,
        limits: &Limits,
    ) -> Result<(Raster, Option<EmbeddedImage>), DecodeError> {
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        let palette = if photometric == Some(PHOTOMETRIC_PALETTE) {
            let entry =
                find(TAG_PHOTOMETRIC).ok_or_else(|| corrupt("palette TIFF without photometric tag"))?;
            let map = find(TAG_COLOR_MAP)
                .ok_or_else(|| corrupt(format!("palette TIFF page {} has no colour map", index + 1)))?;
            Some((entry.field_pos, self.palette(map)?))
        } else {
            None
        };
        let premultiplied = match find(TAG_EXTRA_SAMPLES) {
            Some(entry) => self.first_value(entry)? == 1,
            None => false,
        };
        let patch = palette.as_ref().map(|(pos, _)| {
            // SHORT value 1 (BlackIsZero) in the file's byte order, in the entry's value field.
            let field = if self.big_endian { [0, 1, 0, 0] } else { [1, 0, 0, 0] };
            (*pos, field)
        });
        let reader = PatchedReader { bytes: self.bytes, pos: 0, patch };
        let mut tiff_limits = ::tiff::decoder::Limits::default();
        // Room for the largest admitted page in 16-bit RGBA, so our own caps are the ones that bite.
        tiff_limits.decoding_buffer_size =
            usize::try_from(limits.max_pixels_per_page.saturating_mul(8)).unwrap_or(usize::MAX);
        tiff_limits.intermediate_buffer_size = tiff_limits.decoding_buffer_size;
        let mut decoder = Decoder::new(reader).map_err(|e| tiff_error(e, index))?.with_limits(tiff_limits);
        decoder.seek_to_image(page.chain_index).map_err(|e| tiff_error(e, index))?;
        let (width, height) = decoder.dimensions().map_err(|e| tiff_error(e, index))?;
        limits.check_page(index, width, height)?;
        let color = decoder.colortype().map_err(|e| tiff_error(e, index))?;
        let data = decoder.read_image().map_err(|e| tiff_error(e, index))?;
        let (w, h) = (width as usize, height as usize);
        let unsupported = || {
            DecodeError::Unsupported(format!(
                "TIFF page {} has colour model {color:?}; rescan as bilevel, grey or RGB",
                index + 1
            ))
        };
        let channels = match color {
            ColorType::Gray(_) => 1,
            ColorType::RGB(_) => 3,
            ColorType::RGBA(_) | ColorType::CMYK(_) => 4,
            ColorType::Multiband { num_samples, .. } => usize::from(num_samples),
            _ => 0,
        };
        // Alpha: RGBA, and grey with one extra sample (what the raster composites over white).
        let alpha = matches!(color, ColorType::RGBA(_) | ColorType::Multiband { num_samples: 2, .. });
        let exact = |data: raster::SampleData<'_>| {
            (palette.is_none() && channels > 0)
                .then(|| raster::exact_samples(data, width, height, channels, alpha, premultiplied))
                .flatten()
        };
        let (bytes8, embedded) = match data {
            DecodingResult::U8(bytes) => {
                let embedded = exact(raster::SampleData::Eight(&bytes));
                (bytes, embedded)
            }
            DecodingResult::U16(samples) => {
                (raster::reduce_16(&samples), exact(raster::SampleData::Sixteen(&samples)))
            }
            _ => return Err(unsupported()),
        };
        let page_error = |message: String| corrupt(format!("TIFF page {}: {message}", index + 1));
        let result = match (color, palette) {
            (ColorType::Gray(bits), Some((_, palette))) => {
                let indices = raster::unpack(&bytes8, w, h, bits.min(8)).map_err(page_error)?;
                palette.apply(&indices, width, height)
            }
            (ColorType::Gray(1), None) => {
                let mut values = raster::unpack(&bytes8, w, h, 1).map_err(page_error)?;
                raster::scale_to_8(&mut values, 1);
                raster::bilevel_raster(values, width, height)
            }
            (ColorType::Gray(bits @ (2 | 4)), None) => {
                let mut values = raster::unpack(&bytes8, w, h, bits).map_err(page_error)?;
                raster::scale_to_8(&mut values, bits);
                raster::gray_raster(values, width, height)
            }
            (ColorType::Gray(8 | 16), None) => raster::gray_raster(bytes8, width, height),
            (ColorType::RGB(8 | 16), None) => raster::rgb_raster(bytes8, width, height),
            (ColorType::RGBA(8 | 16), None) => {
                raster::rgb_raster(raster::over_white(&bytes8, 3, premultiplied), width, height)
            }
            (ColorType::Multiband { bit_depth: 8 | 16, num_samples: 2 }, None) => {
                raster::gray_raster(raster::over_white(&bytes8, 1, premultiplied), width, height)
            }
            (ColorType::Multiband { bit_depth: 8 | 16, num_samples }, None) if num_samples > 2 => {
                // Grey with extra samples that are not alpha: keep the grey.
                raster::gray_raster(raster::keep_first(&bytes8, usize::from(num_samples), 1), width, height)
            }
            (ColorType::CMYK(8 | 16), None) => {
                let rgb = bytes8
                    .chunks_exact(4)
                    .flat_map(|p| {
                        let k = 255 - u16::from(p[3]);
                        [0, 1, 2].map(|i| ((255 - u16::from(p[i])) * k / 255) as u8)
                    })
                    .collect();
                raster::rgb_raster(rgb, width, height)
            }
            _ => return Err(unsupported()),
        };
        Ok((result.map_err(page_error)?, embedded))
    }

    /// The resolution tags, in dots per inch. ResolutionUnit 1 ("no absolute unit") counts as none.
    fn dpi(&self, entries: &[Entry]) -> Result<Option<Dpi>, DecodeError> {
        let find = |tag: u16| entries.iter().find(|entry| entry.tag == tag);
        let unit = match find(TAG_RESOLUTION_UNIT) {
            Some(entry) => self.first_value(entry)?,
            None => 2,
        };
        let factor = match unit {
            2 => 1.0,
            3 => 2.54,
            _ => return Ok(None),
        };
        let x = find(TAG_X_RESOLUTION).map(|e| self.rational(e)).transpose()?.unwrap_or(0.0);
        let y = find(TAG_Y_RESOLUTION).map(|e| self.rational(e)).transpose()?.unwrap_or(0.0);
        Ok(plausible_dpi(x * factor, y * factor))
    }

    fn palette(&self, entry: &Entry) -> Result<Palette, DecodeError> {
        let values = self.values(entry)?;
        let n = values.len() / 3;
        if n == 0 || n > 256 {
            return Err(corrupt(format!("TIFF colour map has {} entries", values.len())));
        }
        let rgb = (0..n).map(|i| [0, 1, 2].map(|c| (values[c * n + i] >> 8) as u8)).collect();
        Ok(Palette { rgb })
    }

    /// Reads the directory at `offset`: its entries and the offset of the next one (0 at the end).
    fn directory(&self, offset: u64) -> Result<(Vec<Entry>, u64), DecodeError> {
        let (count, entries_at, entry_size) = if self.bigtiff {
            (self.u64_at(offset)?, offset.saturating_add(8), 20u64)
        } else {
            (u64::from(self.u16_at(offset)?), offset.saturating_add(2), 12u64)
        };
        if count > 4096 {
            return Err(corrupt(format!("a TIFF directory claims {count} entries")));
        }
        let mut entries = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = entries_at + i * entry_size;
            let (kind_count, field_pos) = if self.bigtiff {
                (self.u64_at(at + 4)?, at + 12)
            } else {
                (u64::from(self.u32_at(at + 4)?), at + 8)
            };
            entries.push(Entry {
                tag: self.u16_at(at)?,
                kind: self.u16_at(at + 2)?,
                count: kind_count,
                field_pos,
            });
        }
        let next_at = entries_at + count * entry_size;
        let next = if self.bigtiff { self.u64_at(next_at)? } else { u64::from(self.u32_at(next_at)?) };
        Ok((entries, next))
    }

    /// The integer values of an entry (BYTE, SHORT, LONG, LONG8 and their signed kin).
    fn values(&self, entry: &Entry) -> Result<Vec<u64>, DecodeError> {
        let size = match entry.kind {
            1 | 6 | 7 => 1u64,
            3 | 8 => 2,
            4 | 9 | 13 => 4,
            16..=18 => 8,
            kind => {
                return Err(corrupt(format!("TIFF tag {} has type {kind}, expected an integer", entry.tag)));
            }
        };
        if entry.count > MAX_TAG_VALUES {
            return Err(corrupt(format!("TIFF tag {} claims {} values", entry.tag, entry.count)));
        }
        let start = self.value_start(entry, size * entry.count)?;
        (0..entry.count)
            .map(|i| {
                let at = start + i * size;
                match size {
                    1 => self.slice(at, 1).map(|b| u64::from(b[0])).ok_or_else(|| truncated_tag(entry)),
                    2 => self.u16_at(at).map(u64::from),
                    4 => self.u32_at(at).map(u64::from),
                    _ => self.u64_at(at),
                }
            })
            .collect()
    }

    fn first_value(&self, entry: &Entry) -> Result<u64, DecodeError> {
        let single = Entry { count: entry.count.min(1), ..*entry };
        self.values(&single)?.first().copied().ok_or_else(|| truncated_tag(entry))
    }

    /// The first value of a RATIONAL (or, leniently, integer or floating-point) entry.
    fn rational(&self, entry: &Entry) -> Result<f64, DecodeError> {
        match entry.kind {
            5 | 10 => {
                let start = self.value_start(entry, 8)?;
                let numerator = f64::from(self.u32_at(start)?);
                let denominator = f64::from(self.u32_at(start + 4)?);
                Ok(if denominator == 0.0 { 0.0 } else { numerator / denominator })
            }
            11 => Ok(f64::from(f32::from_bits(self.u32_at(self.value_start(entry, 4)?)?))),
            12 => Ok(f64::from_bits(self.u64_at(self.value_start(entry, 8)?)?)),
            _ => self.first_value(entry).map(|v| v as f64),
        }
    }

    /// Where an entry's values start: in the value field itself when they fit, else at its offset.
    fn value_start(&self, entry: &Entry, total: u64) -> Result<u64, DecodeError> {
        let field = if self.bigtiff { 8 } else { 4 };
        if total <= field {
            Ok(entry.field_pos)
        } else if self.bigtiff {
            self.u64_at(entry.field_pos)
        } else {
            self.u32_at(entry.field_pos).map(u64::from)
        }
    }

    fn slice(&self, offset: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.bytes.get(start..end)
    }

    fn array<const N: usize>(&self, offset: u64) -> Result<[u8; N], DecodeError> {
        let bytes = self.slice(offset, N as u64).ok_or_else(|| {
            corrupt(format!("TIFF structure points past the end of the file (offset {offset})"))
        })?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        if !self.big_endian {
            array.reverse();
        }
        Ok(array)
    }

    fn u16_at(&self, offset: u64) -> Result<u16, DecodeError> {
        self.array::<2>(offset).map(u16::from_be_bytes)
    }

    fn u32_at(&self, offset: u64) -> Result<u32, DecodeError> {
        self.array::<4>(offset).map(u32::from_be_bytes)
    }

    fn u64_at(&self, offset: u64) -> Result<u64, DecodeError> {
        self.array::<8>(offset).map(u64::from_be_bytes)
    }
}

/// What a page is decoded for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Its pixels: analysis, OCR, renditions, comparisons.
    Pixels,
    /// A PDF that embeds a stream that goes in unchanged as it is (a single-strip CCITT G4 page):
    /// that stream is checked readable in full, and the raster is a placeholder that must not be
    /// looked at. Pages without such a stream are decoded as for [`Purpose::Pixels`].
    Embedding,
}

/// A page's strip offsets and byte counts (at least `count` of each) and its rows per strip.
struct Strips {
    offsets: Vec<u64>,
    counts: Vec<u64>,
    rows_per_strip: u32,
    count: usize,
}

/// The sample layout of a deflate page decoded by [`TiffFile::deflate_page`].
#[derive(Clone, Copy)]
struct FlateLayout {
    /// 1 (grey) or 3 (RGB), 8 bits each.
    components: u8,
    /// TIFF Predictor: 1 (none) or 2 (horizontal differencing).
    predictor: u8,
}

/// A reader over the file's bytes that shows `patch` in place of the 4 bytes at its position, so the
/// `tiff` crate can read a directory we changed without copying the file.
struct PatchedReader<'a> {
    bytes: &'a [u8],
    pos: u64,
    patch: Option<(u64, [u8; 4])>,
}

impl Read for PatchedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let start = usize::try_from(self.pos).unwrap_or(usize::MAX).min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        if let Some((at, patch)) = self.patch {
            for (i, &byte) in patch.iter().enumerate() {
                let file_pos = at + i as u64;
                if file_pos >= self.pos && file_pos < self.pos + n as u64 {
                    buf[(file_pos - self.pos) as usize] = byte;
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PatchedReader<'_> {
    fn seek(&mut self, target: SeekFrom) -> io::Result<u64> {
        let new = match target {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => (self.bytes.len() as u64).checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        self.pos = new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// The joined stream of a JPEG-in-TIFF page as the page's embedded image, if decoding it gives
/// exactly `raster`, the strips as the `tiff` crate decoded them; `None` (logged) otherwise. The
/// joining is lossless by construction, but a decoder that upsamples across restart boundaries or
/// treats the colour transform differently would make the joined page look different, and only a
/// comparison shows that.
fn verified_joined_jpeg(
    index: u32,
    bytes: Vec<u8>,
    strips: u32,
    raster: &Raster,
    limits: &Limits,
) -> Option<EmbeddedImage> {
    let decoded = jpeg::JpegHeader::parse(&bytes).and_then(|header| {
        jpeg::decode_raster(&bytes, &header, limits, index).map(|raster| (header, raster))
    });
    let (header, joined) = match decoded {
        Ok(decoded) => decoded,
        Err(error) => {
            tracing::debug!(page = index + 1, %error, "joined JPEG strips do not decode; decoding instead");
            return None;
        }
    };
    let identical = match (&joined, raster) {
        (Raster::Gray(a), Raster::Gray(b)) => a == b,
        (Raster::Rgb(a), Raster::Rgb(b)) => a == b,
        _ => false,
    };
    if !identical {
        tracing::debug!(
            page = index + 1,
            "joined JPEG strips decode to other pixels than the strips; decoding instead"
        );
        return None;
    }
    Some(EmbeddedImage::Jpeg {
        bytes,
        width: header.width,
        height: header.height,
        components: header.components,
        adobe_inverted: false,
        origin: JpegOrigin::JoinedStrips { strips },
    })
}

fn tiff_error(error: TiffError, index: u32) -> DecodeError {
    let page = index + 1;
    match error {
        TiffError::UnsupportedError(what) => {
            DecodeError::Unsupported(format!("TIFF page {page}: {what}; rescan as G4, LZW or deflate TIFF"))
        }
        TiffError::LimitsExceeded => DecodeError::TooLarge(format!(
            "TIFF page {page} needs more memory than allowed; scan at a lower resolution"
        )),
        other => corrupt(format!("TIFF page {page}: {other}")),
    }
}

fn truncated_tag(entry: &Entry) -> DecodeError {
    corrupt(format!("TIFF tag {} has no value", entry.tag))
}

fn corrupt(message: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt(message.into())
}
