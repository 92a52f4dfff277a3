//! Round trips for every input format, with fixtures generated here: TIFFs from the `tiff` encoder
//! and a small directory writer (for G4, bilevel, palette and tiles), JPEG and PNG from their
//! encoders, PDFs built with lopdf. Damaged and hostile inputs must fail with a precise error, fast,
//! and never panic.

use std::io::Cursor;
use std::time::{Duration, Instant};

use image::{GrayImage, RgbImage};
use lopdf::{Document, Object, Stream, dictionary};

use super::*;
use crate::page::{EmbeddedImage, Raster};

const DEFAULT_DPI: Dpi = Dpi { x: 200.0, y: 200.0 };

fn open_default(bytes: &[u8]) -> Result<OpenedFile<'_>, DecodeError> {
    open(bytes, &Limits::default(), DEFAULT_DPI)
}

fn only_page(bytes: &[u8]) -> Page {
    let file = open_default(bytes).expect("file opens");
    assert_eq!(file.page_count(), 1);
    file.page(0).expect("page decodes")
}

/// A test pattern with black, white and greys, so inversions and shifts show.
fn gray_pattern(width: u32, height: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| image::Luma([((x * 7 + y * 13) % 256) as u8]))
}

fn rgb_pattern(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 5) as u8, (y * 3) as u8, ((x + y) * 11) as u8]))
}

/// Black and white samples (0/255): a diagonal band and a frame.
fn bilevel_pattern(width: u32, height: u32) -> Vec<u8> {
    (0..height)
        .flat_map(|y| {
            (0..width).map(move |x| {
                let frame = x == 0 || y == 0 || x == width - 1 || y == height - 1;
                if frame || (x + y) % 9 < 3 { 0 } else { 255 }
            })
        })
        .collect()
}

fn pack_bits(samples: &[u8], width: u32, one_is_black: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for row in samples.chunks_exact(width as usize) {
        for chunk in row.chunks(8) {
            let mut byte = 0u8;
            for (i, &v) in chunk.iter().enumerate() {
                if (v == 0) == one_is_black {
                    byte |= 0x80 >> i;
                }
            }
            out.push(byte);
        }
    }
    out
}

fn assert_gray(raster: &Raster, expected: &GrayImage) {
    match raster {
        Raster::Gray(image) => assert_eq!(image.as_raw(), expected.as_raw()),
        other => panic!("expected grey, got {other:?}"),
    }
}

fn assert_bilevel(raster: &Raster, width: u32, expected: &[u8]) {
    match raster {
        Raster::Bilevel(image) => {
            assert_eq!(image.width(), width);
            assert_eq!(image.as_raw().as_slice(), expected);
        }
        other => panic!("expected bilevel, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A small little-endian TIFF writer for what the `tiff` encoder cannot write.

enum Value {
    Short(Vec<u16>),
    Long(Vec<u32>),
    Rational(u32, u32),
}

struct TiffPage {
    tags: Vec<(u16, Value)>,
    chunks: Vec<Vec<u8>>,
    /// Tags for chunk offsets and byte counts: strips (273/279) or tiles (324/325).
    tiled: bool,
}

impl TiffPage {
    fn strips(width: u32, height: u32, tags: Vec<(u16, Value)>, strips: Vec<Vec<u8>>) -> TiffPage {
        let mut all = vec![(256, Value::Long(vec![width])), (257, Value::Long(vec![height]))];
        all.extend(tags);
        TiffPage { tags: all, chunks: strips, tiled: false }
    }
}

fn write_tiff(pages: Vec<TiffPage>) -> Vec<u8> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut link_at = 4usize;
    for mut page in pages {
        let mut offsets = Vec::new();
        for chunk in &page.chunks {
            offsets.push(out.len() as u32);
            out.extend_from_slice(chunk);
        }
        let counts = page.chunks.iter().map(|c| c.len() as u32).collect();
        let (offsets_tag, counts_tag) = if page.tiled { (324, 325) } else { (273, 279) };
        page.tags.push((offsets_tag, Value::Long(offsets)));
        page.tags.push((counts_tag, Value::Long(counts)));
        page.tags.sort_by_key(|(tag, _)| *tag);
        // Values that do not fit in the entry go before the directory.
        let mut fields = Vec::new();
        for (tag, value) in &page.tags {
            let (kind, count, bytes): (u16, u32, Vec<u8>) = match value {
                Value::Short(v) => (3, v.len() as u32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                Value::Long(v) => (4, v.len() as u32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                Value::Rational(n, d) => (5, 1, [n.to_le_bytes(), d.to_le_bytes()].concat()),
            };
            let field = if bytes.len() <= 4 {
                let mut field = bytes.clone();
                field.resize(4, 0);
                field
            } else {
                if out.len() % 2 == 1 {
                    out.push(0);
                }
                let at = out.len() as u32;
                out.extend_from_slice(&bytes);
                at.to_le_bytes().to_vec()
            };
            fields.push((*tag, kind, count, field));
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd = out.len() as u32;
        out[link_at..link_at + 4].copy_from_slice(&ifd.to_le_bytes());
        out.extend_from_slice(&(fields.len() as u16).to_le_bytes());
        for (tag, kind, count, field) in fields {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&field);
        }
        link_at = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    out
}

fn g4_tiff_page(
    width: u32,
    height: u32,
    samples: &[u8],
    rows_per_strip: u32,
    black_is_zero: bool,
) -> TiffPage {
    // Under BlackIsZero the stored runs are the inverse of what shows.
    let coded: Vec<u8> =
        if black_is_zero { samples.iter().map(|v| 255 - v).collect() } else { samples.to_vec() };
    let strips =
        coded.chunks((width * rows_per_strip) as usize).map(|strip| g4::encode(strip, width)).collect();
    TiffPage::strips(
        width,
        height,
        vec![
            (258, Value::Short(vec![1])),
            (259, Value::Short(vec![4])),
            (262, Value::Short(vec![u16::from(black_is_zero)])),
            (278, Value::Long(vec![rows_per_strip])),
            (282, Value::Rational(300, 1)),
            (283, Value::Rational(300, 1)),
            (296, Value::Short(vec![2])),
        ],
        strips,
    )
}

fn tiff_with<C: ::tiff::encoder::colortype::ColorType<Inner = u8>>(
    compression: ::tiff::encoder::Compression,
    width: u32,
    height: u32,
    data: &[u8],
    resolution: Option<(::tiff::tags::ResolutionUnit, u32)>,
) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    let mut encoder = ::tiff::encoder::TiffEncoder::new(&mut bytes).unwrap().with_compression(compression);
    let mut image = encoder.new_image::<C>(width, height).unwrap();
    if let Some((unit, value)) = resolution {
        image.resolution(unit, ::tiff::encoder::Rational { n: value, d: 1 });
    }
    image.write_data(data).unwrap();
    bytes.into_inner()
}

// ---------------------------------------------------------------------------------------------
// TIFF

#[test]
fn tiff_grey_deflate_round_trips_with_centimetre_resolution() {
    let expected = gray_pattern(61, 47);
    let bytes = tiff_with::<::tiff::encoder::colortype::Gray8>(
        ::tiff::encoder::Compression::Deflate(Default::default()),
        61,
        47,
        expected.as_raw(),
        Some((::tiff::tags::ResolutionUnit::Centimeter, 118)),
    );
    let page = only_page(&bytes);
    assert_gray(&page.raster, &expected);
    assert!((page.dpi.x - 299.72).abs() < 0.01, "dpi {:?}", page.dpi);
    // One strip: its zlib stream is the page's samples and goes into a PDF unchanged.
    let Some(EmbeddedImage::Flate { bytes: strip, width: 61, height: 47, components: 1, predictor: 1 }) =
        &page.embedded
    else {
        panic!("a single-strip deflate page carries its stream: {:?}", page.embedded.is_some())
    };
    assert!(bytes.windows(strip.len()).any(|window| window == strip.as_slice()));
}

#[test]
fn tiff_rgb_lzw_and_rgba_packbits_round_trip() {
    let expected = rgb_pattern(33, 20);
    let bytes = tiff_with::<::tiff::encoder::colortype::RGB8>(
        ::tiff::encoder::Compression::Lzw,
        33,
        20,
        expected.as_raw(),
        Some((::tiff::tags::ResolutionUnit::Inch, 150)),
    );
    let page = only_page(&bytes);
    let Raster::Rgb(image) = &page.raster else { panic!("rgb expected") };
    assert_eq!(image.as_raw(), expected.as_raw());
    assert_eq!(page.dpi, Dpi::uniform(150.0));

    // Opaque pixels keep their colour, transparent ones become white paper.
    let rgba: Vec<u8> = [[10u8, 20, 30, 255], [10, 20, 30, 0]].repeat(6).concat();
    let bytes = tiff_with::<::tiff::encoder::colortype::RGBA8>(
        ::tiff::encoder::Compression::Packbits,
        4,
        3,
        &rgba,
        None,
    );
    let page = only_page(&bytes);
    let Raster::Rgb(image) = &page.raster else { panic!("rgb expected") };
    assert_eq!(&image.as_raw()[..6], &[10, 20, 30, 255, 255, 255]);
    assert_eq!(page.dpi, DEFAULT_DPI);
}

#[test]
fn tiff_g4_single_strip_is_embedded_and_multi_strip_is_not() {
    let (width, height) = (83, 41);
    let samples = bilevel_pattern(width, height);
    let bytes = write_tiff(vec![
        g4_tiff_page(width, height, &samples, height, false),
        g4_tiff_page(width, height, &samples, 8, false),
        g4_tiff_page(width, height, &samples, height, true),
    ]);
    let file = open_default(&bytes).unwrap();
    assert_eq!(file.page_count(), 3);

    let first = file.page(0).unwrap();
    assert_bilevel(&first.raster, width, &samples);
    assert_eq!(first.dpi, Dpi::uniform(300.0));
    let Some(EmbeddedImage::CcittG4 { bytes: strip, width: w, height: h, black_is_1 }) = &first.embedded
    else {
        panic!("single-strip G4 is embedded")
    };
    assert_eq!((*w, *h, *black_is_1), (width, height, false));
    assert_eq!(strip, &g4::encode(&samples, width));

    let second = file.page(1).unwrap();
    assert_bilevel(&second.raster, width, &samples);
    assert!(second.embedded.is_none());

    let third = file.page(2).unwrap();
    assert_bilevel(&third.raster, width, &samples);
    assert!(matches!(third.embedded, Some(EmbeddedImage::CcittG4 { black_is_1: true, .. })));
}

#[test]
fn tiff_bilevel_palette_and_tiles_round_trip_in_one_file() {
    let (width, height) = (21, 9);
    let samples = bilevel_pattern(width, height);
    let bilevel = TiffPage::strips(
        width,
        height,
        vec![(258, Value::Short(vec![1])), (262, Value::Short(vec![0]))],
        vec![pack_bits(&samples, width, true)],
    );

    // A four-colour palette; indices cycle.
    let indices: Vec<u8> = (0..width * height).map(|i| (i % 4) as u8).collect();
    let mut map = vec![0u16; 3 * 256];
    let colours = [[0u8, 0, 0], [255, 0, 0], [0, 255, 0], [10, 20, 30]];
    for (i, colour) in colours.iter().enumerate() {
        for c in 0..3 {
            map[c * 256 + i] = u16::from(colour[c]) * 257;
        }
    }
    let palette = TiffPage::strips(
        width,
        height,
        vec![(258, Value::Short(vec![8])), (262, Value::Short(vec![3])), (320, Value::Short(map))],
        vec![indices.clone()],
    );

    // 8-bit grey in 16 × 16 tiles; edge tiles are padded.
    let gray = gray_pattern(width, height);
    let mut tiles = Vec::new();
    for tile_x in 0..2 {
        let mut tile = vec![0u8; 256];
        for y in 0..height {
            for x in 0..16 {
                let image_x = tile_x * 16 + x;
                if image_x < width {
                    tile[(y * 16 + x) as usize] = gray.get_pixel(image_x, y)[0];
                }
            }
        }
        tiles.push(tile);
    }
    let tiled = TiffPage {
        tags: vec![
            (256, Value::Long(vec![width])),
            (257, Value::Long(vec![height])),
            (258, Value::Short(vec![8])),
            (262, Value::Short(vec![1])),
            (322, Value::Long(vec![16])),
            (323, Value::Long(vec![16])),
        ],
        chunks: tiles,
        tiled: true,
    };

    let bytes = write_tiff(vec![bilevel, palette, tiled]);
    let file = open_default(&bytes).unwrap();
    assert_eq!(file.page_count(), 3);
    assert_bilevel(&file.page(0).unwrap().raster, width, &samples);
    let Raster::Rgb(image) = file.page(1).unwrap().raster else { panic!("palette page is colour") };
    let expected: Vec<u8> = indices.iter().flat_map(|&i| colours[usize::from(i)]).collect();
    assert_eq!(image.into_raw(), expected);
    assert_gray(&file.page(2).unwrap().raster, &gray);
}

#[test]
fn tiff_bomb_header_fails_fast_naming_size_and_cap() {
    let bytes = write_tiff(vec![TiffPage::strips(
        100_000,
        100_000,
        vec![(258, Value::Short(vec![8])), (262, Value::Short(vec![1]))],
        vec![vec![0u8; 16]],
    )]);
    let started = Instant::now();
    let file = open_default(&bytes).unwrap();
    let error = file.page(0).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(200));
    let DecodeError::TooLarge(message) = error else { panic!("expected TooLarge, got {error:?}") };
    assert!(message.contains("100000 × 100000") && message.contains("72000000"), "{message}");
}

#[test]
fn tiff_page_count_is_capped_and_g3_is_refused() {
    let page = || {
        TiffPage::strips(
            1,
            1,
            vec![(258, Value::Short(vec![8])), (262, Value::Short(vec![1]))],
            vec![vec![0]],
        )
    };
    let bytes = write_tiff(vec![page(), page(), page()]);
    let limits = Limits { max_pages_per_file: 2, ..Limits::default() };
    assert!(matches!(open(&bytes, &limits, DEFAULT_DPI), Err(DecodeError::TooLarge(_))));

    let g3 = TiffPage::strips(
        8,
        1,
        vec![(259, Value::Short(vec![3])), (262, Value::Short(vec![0]))],
        vec![vec![0]],
    );
    let bytes = write_tiff(vec![g3]);
    assert!(matches!(open_default(&bytes).unwrap().page(0), Err(DecodeError::Unsupported(_))));
}

// ---------------------------------------------------------------------------------------------
// JPEG and PNG

fn jpeg_bytes(image: image::DynamicImage, dpi: Option<u16>) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90);
    if let Some(dpi) = dpi {
        encoder.set_pixel_density(image::codecs::jpeg::PixelDensity::dpi(dpi));
    }
    let colour = if image.color().channel_count() == 1 {
        image::ExtendedColorType::L8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let samples = if colour == image::ExtendedColorType::L8 {
        image.to_luma8().into_raw()
    } else {
        image.to_rgb8().into_raw()
    };
    encoder.encode(&samples, image.width(), image.height(), colour).unwrap();
    bytes
}

#[test]
fn jpeg_passes_its_bytes_through_and_reads_density() {
    let bytes = jpeg_bytes(image::DynamicImage::ImageRgb8(rgb_pattern(64, 48)), Some(300));
    let page = only_page(&bytes);
    assert_eq!(page.dpi, Dpi::uniform(300.0));
    let Raster::Rgb(image) = &page.raster else { panic!("colour JPEG decodes to RGB") };
    assert_eq!((image.width(), image.height()), (64, 48));
    let Some(EmbeddedImage::Jpeg { bytes: embedded, width, height, components, adobe_inverted, origin }) =
        page.embedded
    else {
        panic!("JPEG is embedded")
    };
    assert_eq!(embedded, bytes);
    assert_eq!((width, height, components, adobe_inverted), (64, 48, 3, false));
    assert_eq!(origin, crate::page::JpegOrigin::Source);

    let bytes = jpeg_bytes(image::DynamicImage::ImageLuma8(gray_pattern(40, 30)), None);
    let page = only_page(&bytes);
    assert!(matches!(page.raster, Raster::Gray(_)));
    assert_eq!(page.dpi, DEFAULT_DPI);
    assert!(matches!(page.embedded, Some(EmbeddedImage::Jpeg { components: 1, .. })));
}

fn png_bytes(
    width: u32,
    height: u32,
    colour: ::png::ColorType,
    depth: ::png::BitDepth,
    data: &[u8],
    dpi: Option<u32>,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(colour);
    encoder.set_depth(depth);
    if colour == ::png::ColorType::Indexed {
        encoder.set_palette(vec![0u8, 0, 0, 255, 0, 0, 0, 0, 255]);
    }
    if let Some(dpi) = dpi {
        let per_metre = (f64::from(dpi) / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(::png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: ::png::Unit::Meter,
        }));
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
    writer.finish().unwrap();
    bytes
}

#[test]
fn png_colour_models_round_trip() {
    use ::png::{BitDepth, ColorType};
    let gray = gray_pattern(30, 20);
    let page = only_page(&png_bytes(30, 20, ColorType::Grayscale, BitDepth::Eight, gray.as_raw(), Some(300)));
    assert_gray(&page.raster, &gray);
    assert!((page.dpi.x - 300.0).abs() < 0.05);

    let rgb = rgb_pattern(30, 20);
    let page = only_page(&png_bytes(30, 20, ColorType::Rgb, BitDepth::Eight, rgb.as_raw(), None));
    let Raster::Rgb(image) = &page.raster else { panic!("rgb expected") };
    assert_eq!(image.as_raw(), rgb.as_raw());
    assert_eq!(page.dpi, DEFAULT_DPI);

    let rgba = [[1u8, 2, 3, 255], [1, 2, 3, 0]].concat();
    let page = only_page(&png_bytes(2, 1, ColorType::Rgba, BitDepth::Eight, &rgba, None));
    let Raster::Rgb(image) = &page.raster else { panic!("rgb expected") };
    assert_eq!(image.as_raw(), &vec![1, 2, 3, 255, 255, 255]);

    let page = only_page(&png_bytes(3, 1, ColorType::Indexed, BitDepth::Eight, &[0, 1, 2], None));
    let Raster::Rgb(image) = &page.raster else { panic!("rgb expected") };
    assert_eq!(image.as_raw(), &vec![0, 0, 0, 255, 0, 0, 0, 0, 255]);

    let sixteen: Vec<u8> = gray.as_raw().iter().flat_map(|&v| [v, 0x7F]).collect();
    let page = only_page(&png_bytes(30, 20, ColorType::Grayscale, BitDepth::Sixteen, &sixteen, None));
    assert_gray(&page.raster, &gray);

    let samples = bilevel_pattern(21, 9);
    let packed = pack_bits(&samples, 21, false);
    let page = only_page(&png_bytes(21, 9, ColorType::Grayscale, BitDepth::One, &packed, None));
    assert_bilevel(&page.raster, 21, &samples);
}

#[test]
fn png_bomb_header_fails_fast() {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend_from_slice(&100_000u32.to_be_bytes());
    bytes.extend_from_slice(&100_000u32.to_be_bytes());
    bytes.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(b"\0\0\0\x10IDAT");
    bytes.extend_from_slice(&[0x78, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let started = Instant::now();
    let error = open_default(&bytes).unwrap().page(0).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(matches!(&error, DecodeError::TooLarge(m) if m.contains("100000 × 100000")), "{error:?}");
}

// ---------------------------------------------------------------------------------------------
// PDF

/// A one-page PDF (A4) whose content is `content`, with `image` as XObject /Im0.
fn pdf_with(content: &str, image: Option<Stream>, encrypt: bool) -> Vec<u8> {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let font_id = document.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let mut resources = dictionary! { "Font" => dictionary! { "F1" => font_id } };
    if let Some(image) = image {
        let image_id = document.add_object(image);
        resources.set("XObject", dictionary! { "Im0" => image_id });
    }
    let content_id = document.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
    let page_id = document.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => resources,
    });
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    document.trailer.set("Root", catalog_id);
    if encrypt {
        let encrypt_id = document.add_object(dictionary! {
            "Filter" => "Standard", "V" => 1, "R" => 2, "Length" => 40, "P" => -4,
            "O" => Object::string_literal(vec![0u8; 32]), "U" => Object::string_literal(vec![0u8; 32]),
        });
        document.trailer.set("Encrypt", encrypt_id);
    }
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap();
    bytes
}

const FULL_PAGE: &str = "q 595 0 0 842 0 0 cm /Im0 Do Q";

#[test]
fn pdf_jpeg_page_is_embedded_unchanged_with_dpi_from_placement() {
    let jpeg = jpeg_bytes(image::DynamicImage::ImageRgb8(rgb_pattern(248, 351)), None);
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 248, "Height" => 351,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
        },
        jpeg.clone(),
    );
    let page = only_page(&pdf_with(FULL_PAGE, Some(image), false));
    assert!((page.dpi.x - 30.0).abs() < 0.1 && (page.dpi.y - 30.0).abs() < 0.1, "{:?}", page.dpi);
    let Some(EmbeddedImage::Jpeg { bytes, .. }) = page.embedded else { panic!("JPEG is embedded") };
    assert_eq!(bytes, jpeg);
    assert!(matches!(page.raster, Raster::Rgb(_)));
}

#[test]
fn pdf_flate_grey_image_round_trips_with_and_without_predictor() {
    let gray = gray_pattern(124, 175);
    let mut plain = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 124, "Height" => 175,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        gray.as_raw().clone(),
    );
    plain.compress().unwrap();
    let page = only_page(&pdf_with(FULL_PAGE, Some(plain), false));
    assert_gray(&page.raster, &gray);
    assert!((page.dpi.x - 15.0).abs() < 0.1);

    // PNG predictors: every row starts with its filter type (0, none).
    let rows: Vec<u8> =
        gray.as_raw().chunks(124).flat_map(|row| std::iter::once(0).chain(row.iter().copied())).collect();
    let mut predicted = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 124, "Height" => 175,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        rows,
    );
    predicted.compress().unwrap();
    predicted.dict.set("DecodeParms", dictionary! { "Predictor" => 15, "Columns" => 124, "Colors" => 1 });
    let page = only_page(&pdf_with(FULL_PAGE, Some(predicted), false));
    assert_gray(&page.raster, &gray);
}

#[test]
fn pdf_ccitt_g4_image_decodes_and_embeds() {
    let (width, height) = (99, 140);
    let samples = bilevel_pattern(width, height);
    let coded = g4::encode(&samples, width);
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => width as i64, "Height" => height as i64,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 1, "Filter" => "CCITTFaxDecode",
            "DecodeParms" => dictionary! { "K" => -1, "Columns" => width as i64, "Rows" => height as i64 },
        },
        coded.clone(),
    );
    let page = only_page(&pdf_with(FULL_PAGE, Some(image), false));
    assert_bilevel(&page.raster, width, &samples);
    let Some(EmbeddedImage::CcittG4 { bytes, black_is_1, .. }) = page.embedded else {
        panic!("G4 is embedded")
    };
    assert_eq!(bytes, coded);
    assert!(!black_is_1);
}

#[test]
fn pdf_image_bomb_is_refused_before_decompression() {
    let mut image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 50_000, "Height" => 50_000,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![0u8; 1 << 16],
    );
    image.compress().unwrap();
    let error = open_default(&pdf_with(FULL_PAGE, Some(image), false)).unwrap().page(0).unwrap_err();
    assert!(matches!(&error, DecodeError::TooLarge(m) if m.contains("50000 × 50000")), "{error:?}");

    // A stream that inflates far beyond what its declared size needs stops at that size.
    let mut image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 100, "Height" => 100,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![0u8; 50 << 20],
    );
    image.compress().unwrap();
    let error = open_default(&pdf_with(FULL_PAGE, Some(image), false)).unwrap().page(0).unwrap_err();
    assert!(matches!(error, DecodeError::Corrupt(_)), "{error:?}");
}

#[test]
fn pdf_text_page_is_rendered_by_pdftoppm() {
    let content = "BT /F1 48 Tf 72 700 Td (Posteingang) Tj ET";
    let page = only_page(&pdf_with(content, None, false));
    let Raster::Gray(image) = &page.raster else { panic!("text page renders grey") };
    assert_eq!(page.dpi, DEFAULT_DPI);
    // A4 at 200 dpi.
    assert_eq!((image.width(), image.height()), (1653, 2339));
    assert!(image.as_raw().iter().any(|&v| v < 64), "the text is drawn");
    assert!(page.embedded.is_none());
}

#[test]
fn encrypted_pdf_is_refused() {
    let bytes = pdf_with("BT /F1 12 Tf (x) Tj ET", None, true);
    assert!(matches!(open_default(&bytes), Err(DecodeError::Encrypted)));
}

#[test]
fn jpeg_structure_check_accepts_whole_files_and_refuses_every_truncation() {
    let jpeg = jpeg_bytes(image::DynamicImage::ImageRgb8(rgb_pattern(64, 48)), Some(300));
    jpeg::check_structure(&jpeg).unwrap();
    for cut in 0..jpeg.len() - 1 {
        assert!(jpeg::check_structure(&jpeg[..cut]).is_err(), "a cut at {cut} of {} passes", jpeg.len());
    }
    // Trailing bytes after EOI (some cameras append data) are not an error.
    let mut trailing = jpeg.clone();
    trailing.extend_from_slice(b"trailer");
    jpeg::check_structure(&trailing).unwrap();
    let page = jpeg_page_for_embedding(&jpeg, &Limits::default(), DEFAULT_DPI).unwrap();
    assert_eq!((page.raster.width(), page.raster.height()), (64, 48));
    assert!(matches!(page.embedded, Some(EmbeddedImage::Jpeg { ref bytes, .. }) if *bytes == jpeg));
    assert!((page.dpi.x - 300.0).abs() < 0.1);
    let tiny = Limits { max_pixels_per_page: 100, ..Limits::default() };
    assert!(matches!(jpeg_page_for_embedding(&jpeg, &tiny, DEFAULT_DPI), Err(DecodeError::TooLarge(_))));
}

// ---------------------------------------------------------------------------------------------
// GIF and BMP

fn encoded(image: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

#[test]
fn gif_first_frame_round_trips_and_frames_are_counted() {
    let gray = gray_pattern(40, 30);
    // A GIF palette holds 256 entries, so a grey ramp survives exactly.
    let rgba = image::DynamicImage::ImageLuma8(gray.clone()).to_rgba8();
    let bytes = encoded(image::DynamicImage::ImageRgba8(rgba), image::ImageFormat::Gif);
    let file = open_default(&bytes).unwrap();
    assert_eq!(file.format, InputFormat::Gif);
    assert_eq!(gif_frames(&bytes).unwrap(), 1);
    let page = file.page(0).unwrap();
    assert_gray(&page.raster, &gray);
    assert_eq!(page.dpi, DEFAULT_DPI);

    let mut animation = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut animation);
        for shade in [0u8, 255, 0] {
            let frame = image::RgbaImage::from_pixel(8, 8, image::Rgba([shade, shade, shade, 255]));
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    assert_eq!(gif_frames(&animation).unwrap(), 3);
    let Raster::Bilevel(first) = open_default(&animation).unwrap().page(0).unwrap().raster else {
        panic!("black frame narrows to bilevel")
    };
    assert!(first.as_raw().iter().all(|&sample| sample == 0));
}

#[test]
fn bmp_colour_grey_and_bilevel_round_trip_with_resolution() {
    let rgb = rgb_pattern(33, 17);
    let bytes = encoded(image::DynamicImage::ImageRgb8(rgb.clone()), image::ImageFormat::Bmp);
    let file = open_default(&bytes).unwrap();
    assert_eq!(file.format, InputFormat::Bmp);
    let Raster::Rgb(decoded) = file.page(0).unwrap().raster else { panic!("colour BMP stays RGB") };
    assert_eq!(decoded.as_raw(), rgb.as_raw());

    let gray = gray_pattern(33, 17);
    let mut bytes = encoded(image::DynamicImage::ImageLuma8(gray.clone()), image::ImageFormat::Bmp);
    // 300 dpi is 11811 pixels per metre.
    bytes[38..42].copy_from_slice(&11811u32.to_le_bytes());
    bytes[42..46].copy_from_slice(&11811u32.to_le_bytes());
    let page = only_page(&bytes);
    assert_gray(&page.raster, &gray);
    assert!((page.dpi.x - 300.0).abs() < 0.1, "dpi {:?}", page.dpi);

    let samples = bilevel_pattern(33, 17);
    let bilevel = GrayImage::from_raw(33, 17, samples.clone()).unwrap();
    let bytes = encoded(image::DynamicImage::ImageLuma8(bilevel), image::ImageFormat::Bmp);
    assert_bilevel(&only_page(&bytes).raster, 33, &samples);
}

#[test]
fn gif_and_bmp_bomb_headers_fail_fast() {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0]);
    gif.extend_from_slice(&[0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 2, 0, 0x3B]);
    let limits = Limits { max_pixels_per_page: 1_000_000, ..Limits::default() };
    let file = open(&gif, &limits, DEFAULT_DPI).unwrap();
    assert!(matches!(file.page(0), Err(DecodeError::TooLarge(_))));
    let mut bmp = encoded(image::DynamicImage::ImageLuma8(gray_pattern(4, 4)), image::ImageFormat::Bmp);
    bmp[18..22].copy_from_slice(&50_000i32.to_le_bytes());
    bmp[22..26].copy_from_slice(&(-50_000i32).to_le_bytes());
    let file = open(&bmp, &limits, DEFAULT_DPI).unwrap();
    assert!(matches!(file.page(0), Err(DecodeError::TooLarge(_))));
}

// ---------------------------------------------------------------------------------------------
// Everything else

#[test]
fn unknown_formats_are_named() {
    let message = |bytes: &[u8]| match open_default(bytes) {
        Err(DecodeError::Unsupported(message)) => message,
        other => panic!("expected Unsupported, got {:?}", other.map(|f| f.format)),
    };
    assert!(message(b"PK\x03\x04rest").contains("ZIP"));
    assert!(message(b"RIFF\0\0\0\0WEBPVP8 ").contains("WebP"));
    assert!(message(b"").contains("empty"));
    assert!(message(b"\x01\x02\x03hello").contains("01 02 03"));
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let limits = Limits { max_file_bytes: 10, ..Limits::default() };
    assert!(matches!(open(b"%PDF-1.7 and more", &limits, DEFAULT_DPI), Err(DecodeError::TooLarge(_))));
}

/// Every prefix of every fixture either opens and decodes or fails with an error; none panics.
#[test]
fn truncated_files_fail_without_panicking() {
    let samples = bilevel_pattern(40, 30);
    let gray = gray_pattern(40, 30);
    let jpeg = jpeg_bytes(image::DynamicImage::ImageLuma8(gray.clone()), Some(300));
    let g4_image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 40, "Height" => 30,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 1, "Filter" => "CCITTFaxDecode",
            "DecodeParms" => dictionary! { "K" => -1, "Columns" => 40 },
        },
        g4::encode(&samples, 40),
    );
    let fixtures = vec![
        write_tiff(vec![g4_tiff_page(40, 30, &samples, 30, false), g4_tiff_page(40, 30, &samples, 7, false)]),
        tiff_with::<::tiff::encoder::colortype::Gray8>(
            ::tiff::encoder::Compression::Lzw,
            40,
            30,
            gray.as_raw(),
            None,
        ),
        jpeg.clone(),
        png_bytes(40, 30, ::png::ColorType::Grayscale, ::png::BitDepth::Eight, gray.as_raw(), None),
        pdf_with(FULL_PAGE, Some(g4_image), false),
        encoded(
            image::DynamicImage::ImageRgba8(image::DynamicImage::ImageLuma8(gray.clone()).to_rgba8()),
            image::ImageFormat::Gif,
        ),
        encoded(image::DynamicImage::ImageLuma8(gray.clone()), image::ImageFormat::Bmp),
    ];
    let mut failures = 0;
    for fixture in &fixtures {
        let step = (fixture.len() / 60).max(1);
        for cut in (0..fixture.len()).step_by(step) {
            let prefix = &fixture[..cut];
            match open_default(prefix) {
                Ok(file) => {
                    for index in 0..file.page_count() {
                        failures += usize::from(file.page(index).is_err());
                    }
                }
                Err(_) => failures += 1,
            }
        }
    }
    assert!(failures > fixtures.len(), "truncation must be noticed");
}

#[test]
fn opened_files_can_move_between_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<OpenedFile<'static>>();
}

// ---------------------------------------------------------------------------------------------
// Resource limits not covered above

#[test]
fn jpeg_bomb_header_fails_fast() {
    let mut bytes = jpeg_bytes(image::DynamicImage::ImageLuma8(gray_pattern(16, 16)), None);
    // Declare 60000 × 60000 pixels in the frame header (SOF0: length, precision, height, width).
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline frame header");
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let started = Instant::now();
    let error = open_default(&bytes).unwrap().page(0).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(matches!(&error, DecodeError::TooLarge(m) if m.contains("60000 × 60000")), "{error:?}");
}

#[test]
fn pdf_page_count_is_capped() {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let kids: Vec<Object> = (0..3)
        .map(|_| document.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id }).into())
        .collect();
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => 3,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = document.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    document.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap();

    assert_eq!(open_default(&bytes).unwrap().page_count(), 3);
    let limits = Limits { max_pages_per_file: 2, ..Limits::default() };
    let error = open(&bytes, &limits, DEFAULT_DPI).err().expect("three pages are over the limit");
    assert!(matches!(&error, DecodeError::TooLarge(m) if m.contains("3 pages")), "{error:?}");
}

/// A PDF whose page tree lives in an object stream that inflates to more than 2 MiB (padding after
/// the objects), found through a cross-reference stream.
fn pdf_with_padded_object_stream() -> Vec<u8> {
    let page_tree = "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>";
    let page = "<< /Type /Page /Parent 2 0 R >>";
    let header = format!("2 0 3 {} ", page_tree.len() + 1);
    let mut objects = format!("{header}{page_tree} {page}").into_bytes();
    objects.resize(objects.len() + (2 << 20), b' ');
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &objects).unwrap();
    let compressed = encoder.finish().unwrap();

    let mut pdf = b"%PDF-1.5\n".to_vec();
    let catalog_at = pdf.len();
    pdf.extend_from_slice(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    let stream_at = pdf.len();
    pdf.extend_from_slice(
        format!(
            "4 0 obj\n<< /Type /ObjStm /N 2 /First {} /Filter /FlateDecode /Length {} >>\nstream\n",
            header.len(),
            compressed.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&compressed);
    pdf.extend_from_slice(b"\nendstream\nendobj\n");
    // Cross-reference stream entries: type (1 byte), offset or object stream (4), generation or index (2).
    let entry = |kind: u8, field: u32, index: u16| {
        let mut entry = vec![kind];
        entry.extend_from_slice(&field.to_be_bytes());
        entry.extend_from_slice(&index.to_be_bytes());
        entry
    };
    let xref_at = pdf.len();
    let entries: Vec<u8> = [
        entry(0, 0, 0xFFFF),
        entry(1, catalog_at as u32, 0),
        entry(2, 4, 0),
        entry(2, 4, 1),
        entry(1, stream_at as u32, 0),
        entry(1, xref_at as u32, 0),
    ]
    .concat();
    pdf.extend_from_slice(
        format!(
            "5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length {} >>\nstream\n",
            entries.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&entries);
    pdf.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
    pdf
}

#[test]
fn pdf_structure_streams_are_capped() {
    // The object stream decodes within the default cap; under a 1 MiB cap it is not decoded, and
    // the page tree inside it is missing.
    let bytes = pdf_with_padded_object_stream();
    assert!(bytes.len() < 64 << 10, "the fixture is a compact bomb");
    assert_eq!(open_default(&bytes).unwrap().page_count(), 1);
    let tight = Limits { max_stream_bytes: 1 << 20, ..Limits::default() };
    assert!(open(&bytes, &tight, DEFAULT_DPI).is_err());

    // A page content stream over the cap is not inspected: the page is rendered instead of having
    // its image taken as the scan.
    let mut content = FULL_PAGE.to_string();
    content.push_str(&" ".repeat(2 << 20));
    let mut content_stream = Stream::new(dictionary! {}, content.into_bytes());
    content_stream.compress().unwrap();
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 8,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![128u8; 64],
    );
    let mut document = Document::load_mem(&pdf_with(FULL_PAGE, Some(image), false)).unwrap();
    let page_id = *document.get_pages().values().next().unwrap();
    let content_id = document.add_object(content_stream);
    document.get_dictionary_mut(page_id).unwrap().set("Contents", content_id);
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).unwrap();
    let page = open_default(&bytes).unwrap().page_without_rendering(0).unwrap();
    assert!(matches!(page.map(|p| p.raster), Some(Raster::Gray(_))), "the image is the scan");
    let file = open(&bytes, &tight, DEFAULT_DPI).unwrap();
    assert!(file.page_without_rendering(0).unwrap().is_none(), "the page goes to the renderer");
}

#[test]
fn tiff_deflate_strip_inflates_only_what_the_page_needs() {
    // A 16 × 16 grey page whose deflate strip would inflate to 64 MiB: the decoder stops at the
    // 256 bytes the page needs, so the bomb costs neither the memory nor the time.
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &vec![0x80u8; 64 << 20]).unwrap();
    let strip = encoder.finish().unwrap();
    let bytes = write_tiff(vec![TiffPage::strips(
        16,
        16,
        vec![
            (258, Value::Short(vec![8])),
            (259, Value::Short(vec![8])),
            (262, Value::Short(vec![1])),
            (278, Value::Long(vec![16])),
        ],
        vec![strip],
    )]);
    let started = Instant::now();
    let page = only_page(&bytes);
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    assert_gray(&page.raster, &GrayImage::from_pixel(16, 16, image::Luma([0x80])));
}

// ---------------------------------------------------------------------------------------------
// JPEG-in-TIFF: strips joined into one JPEG

/// A JPEG-in-TIFF page from `strips` (full streams, each with its own tables), `rows` rows per strip.
fn jpeg_tiff_page(width: u32, height: u32, components: u16, rows: u32, strips: Vec<Vec<u8>>) -> TiffPage {
    TiffPage::strips(
        width,
        height,
        vec![
            (258, Value::Short(vec![8; usize::from(components)])),
            (259, Value::Short(vec![7])),
            (262, Value::Short(vec![if components == 1 { 1 } else { 2 }])),
            (277, Value::Short(vec![components])),
            (278, Value::Long(vec![rows])),
        ],
        strips,
    )
}

/// Full JPEG streams (SOI, tables, frame, scan, EOI) for `page` in strips of `rows` rows.
fn full_jpeg_strips(
    page: registratur_testkit::TiffPage<'_>,
    rows: u32,
    quality: impl Fn(usize) -> u8,
) -> Vec<Vec<u8>> {
    registratur_testkit::jpeg_tiff_strips(page, rows, quality)
        .unwrap()
        .into_iter()
        .map(|strip| [&[0xFF, 0xD8][..], &strip.tables, &strip.body].concat())
        .collect()
}

/// The entropy-coded data of a JPEG stream with one scan: from after the scan header to EOI.
fn entropy_coded(jpeg: &[u8]) -> &[u8] {
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).expect("a scan header");
    let length = usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    &jpeg[sos + 2 + length..jpeg.len() - 2]
}

#[test]
fn tiff_jpeg_strips_are_joined_without_changing_their_entropy_coded_data() {
    use registratur_testkit::{JpegTiffOptions, TiffPage as Kit, write_jpeg_tiff};
    let grey = gray_pattern(250, 100);
    let colour = rgb_pattern(97, 43);
    // Grey with shared tables in 16-row strips (libtiff's way), RGB with full streams in 8-row strips;
    // neither width is a multiple of 8 and both last strips are short.
    for (page, rows, shared_tables) in [(Kit::Gray(&grey), 16, true), (Kit::Rgb(&colour), 8, false)] {
        let options = JpegTiffOptions { quality: 80, rows_per_strip: rows, shared_tables };
        let tiff = write_jpeg_tiff(&[page], 300.0, options).unwrap();
        let page_of_tiff = only_page(&tiff);
        let height = page_of_tiff.raster.height();
        let Some(EmbeddedImage::Jpeg { bytes, width, height: h, components, adobe_inverted, origin }) =
            &page_of_tiff.embedded
        else {
            panic!("the strips are joined into one JPEG")
        };
        let strips = height.div_ceil(rows);
        assert_eq!(*origin, crate::page::JpegOrigin::JoinedStrips { strips });
        assert_eq!((*width, *h, *adobe_inverted), (page_of_tiff.raster.width(), height, false));
        assert_eq!(*components, if matches!(page, Kit::Gray(_)) { 1 } else { 3 });
        // The joined stream decodes, by itself, to the page's pixels.
        let joined = only_page(bytes);
        assert_eq!(max_difference(&joined.raster, &page_of_tiff.raster), 0);
        // Every strip's entropy-coded data is in it unchanged, in order, a restart marker between.
        let coded = registratur_testkit::jpeg_tiff_strips(page, rows, |_| 80).unwrap();
        let mut expected = Vec::new();
        for (index, strip) in coded.iter().enumerate() {
            if index > 0 {
                expected.extend_from_slice(&[0xFF, 0xD0 + ((index - 1) % 8) as u8]);
            }
            expected.extend_from_slice(entropy_coded(&strip.body));
        }
        assert_eq!(entropy_coded(bytes), expected.as_slice());
        // The joined stream is no larger than the strips: one set of tables, two bytes per strip.
        let strip_bytes: usize = coded.iter().map(|strip| strip.body.len()).sum();
        assert!(bytes.len() <= strip_bytes + coded[0].tables.len() + 64, "{} > {strip_bytes}", bytes.len());
    }
}

fn max_difference(a: &Raster, b: &Raster) -> u8 {
    match (a, b) {
        (Raster::Gray(a), Raster::Gray(b)) if a.dimensions() == b.dimensions() => {
            a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
        }
        (Raster::Rgb(a), Raster::Rgb(b)) if a.dimensions() == b.dimensions() => {
            a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
        }
        _ => u8::MAX,
    }
}

#[test]
fn tiff_jpeg_strips_that_cannot_be_joined_are_decoded_instead() {
    use registratur_testkit::TiffPage as Kit;
    let grey = gray_pattern(64, 60);
    let whole = |rows: u32, quality: &dyn Fn(usize) -> u8| {
        write_tiff(vec![jpeg_tiff_page(64, 60, 1, rows, full_jpeg_strips(Kit::Gray(&grey), rows, quality))])
    };
    let joined = only_page(&whole(16, &|_| 80));
    assert!(matches!(joined.embedded, Some(EmbeddedImage::Jpeg { .. })), "the control case joins");
    // 12-row strips end inside an MCU row; strips coded at alternating qualities use different tables.
    for (tiff, why) in [
        (whole(12, &|_| 80), "12-row strips"),
        (whole(16, &|strip| if strip % 2 == 0 { 80 } else { 60 }), "tables"),
    ] {
        let page = only_page(&tiff);
        assert!(page.embedded.is_none(), "{why}: not joined");
        let Raster::Gray(image) = &page.raster else { panic!("{why}: grey") };
        assert_eq!(image.dimensions(), (64, 60));
        // Still the strips' pixels: close to the pattern (JPEG is lossy), not blank.
        let error =
            image.as_raw().iter().zip(grey.as_raw()).map(|(a, b)| u32::from(a.abs_diff(*b))).sum::<u32>()
                / (64 * 60);
        assert!(error < 40, "{why}: mean error {error}");
    }
}

#[test]
fn tiff_jpeg_strips_with_restart_markers_are_renumbered_across_strips() {
    use registratur_testkit::TiffPage as Kit;
    let grey = gray_pattern(40, 64);
    // 16-row strips that are themselves two 8-row strips joined (so each holds one restart marker, its
    // restart interval is 5 MCUs), joined again: the markers must run on 0, 1, 2, … over the page.
    let eight = full_jpeg_strips(Kit::Gray(&grey), 8, |_| 75);
    let sixteen: Vec<Vec<u8>> = eight
        .chunks(2)
        .map(|pair| {
            let set = tiff_jpeg::StripSet {
                tables: None,
                strips: pair.iter().map(Vec::as_slice).collect(),
                width: 40,
                height: 16,
                rows_per_strip: 8,
                components: 1,
            };
            match tiff_jpeg::join(&set).unwrap() {
                tiff_jpeg::Joined::Stream(bytes) => bytes,
                tiff_jpeg::Joined::NotJoinable(reason) => panic!("{reason}"),
            }
        })
        .collect();
    let tiff = write_tiff(vec![jpeg_tiff_page(40, 64, 1, 16, sixteen)]);
    let page = only_page(&tiff);
    let Some(EmbeddedImage::Jpeg { bytes, .. }) = &page.embedded else { panic!("joined") };
    let markers: Vec<u8> = entropy_coded(bytes)
        .windows(2)
        .filter(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1]))
        .map(|w| w[1])
        .collect();
    assert_eq!(markers, (0..7).map(|n| 0xD0 + n).collect::<Vec<u8>>());
    assert!(bytes.windows(6).any(|w| w == [0xFF, 0xDD, 0, 4, 0, 5]), "restart interval 5 MCUs");
    // And the page from the 8-row strips joins to the same stream.
    let direct = only_page(&write_tiff(vec![jpeg_tiff_page(40, 64, 1, 8, eight)]));
    let Some(EmbeddedImage::Jpeg { bytes: direct, .. }) = &direct.embedded else { panic!("joined") };
    assert_eq!(direct, bytes);
}

#[test]
fn tiff_jpeg_truncated_strips_are_an_error_naming_the_strip() {
    use registratur_testkit::TiffPage as Kit;
    let grey = gray_pattern(48, 32);
    let strips = full_jpeg_strips(Kit::Gray(&grey), 8, |_| 80);
    // Every cut of strip 2 (after its start-of-image marker) is damage, never a panic or a page.
    for cut in 2..strips[1].len() - 1 {
        let mut damaged = strips.clone();
        damaged[1].truncate(cut);
        let tiff = write_tiff(vec![jpeg_tiff_page(48, 32, 1, 8, damaged)]);
        match open_default(&tiff).unwrap().page(0) {
            Err(DecodeError::Corrupt(message)) => {
                assert!(message.contains("strip 2") && message.contains("truncated"), "cut {cut}: {message}")
            }
            other => panic!("cut {cut}: {:?}", other.map(|page| page.embedded.is_some())),
        }
    }
}

#[test]
fn tiff_jpeg_strips_with_damaged_bytes_never_panic_and_never_embed_other_pixels() {
    use registratur_testkit::{JpegTiffOptions, TiffPage as Kit, write_jpeg_tiff};
    let colour = rgb_pattern(40, 32);
    let options = JpegTiffOptions { quality: 80, rows_per_strip: 8, shared_tables: true };
    let tiff = write_jpeg_tiff(&[Kit::Rgb(&colour)], 300.0, options).unwrap();
    let mut outcomes = [0usize; 3];
    // Every byte of the strips and tables (the directory is at the end), set to 0xFF and to 0x00: the
    // joined stream may be embedded only when it still decodes to the page as decoded.
    let directory = u32::from_le_bytes(tiff[4..8].try_into().unwrap()) as usize;
    for at in 8..directory {
        for value in [0xFF, 0x00] {
            let mut damaged = tiff.clone();
            damaged[at] = value;
            match open_default(&damaged).and_then(|file| file.page(0)) {
                Ok(page) => match &page.embedded {
                    Some(EmbeddedImage::Jpeg { bytes, .. }) => {
                        let joined = only_page(bytes);
                        assert_eq!(max_difference(&joined.raster, &page.raster), 0, "byte {at} = {value}");
                        outcomes[0] += 1;
                    }
                    _ => outcomes[1] += 1,
                },
                Err(DecodeError::Corrupt(_) | DecodeError::Unsupported(_)) => outcomes[2] += 1,
                Err(other) => panic!("byte {at} = {value}: {other}"),
            }
        }
    }
    assert!(outcomes.iter().all(|&count| count > 0), "joined, decoded, refused: {outcomes:?}");
}
