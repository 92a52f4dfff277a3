//! Synthetic scanned mail for tests and benchmarks: German letters as a scanner would deliver them —
//! slightly skewed, with sensor noise, blank duplex backs with bleed-through, upside-down feeds,
//! separator sheets, routing QR codes and Aktenzeichen in the text — plus the ground truth of where
//! each piece should go and what it says.
//!
//! Pages are 8-bit grey A4 at a chosen resolution; `write_tiff` packs them into one multi-page TIFF
//! (deflate) with resolution tags, the way a document scanner hands over a batch; `write_g4_tiff`
//! packs bilevel pages as CCITT G4, the way black-and-white scanners and fax servers do;
//! `write_jpeg_tiff` writes JPEG-in-TIFF in strips of a few rows, as many document scanners do.
//!
//! [`corpus`] generates the text side: a million German administrative documents for search.

pub mod corpus;

use std::io::Cursor;
use std::sync::OnceLock;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{GrayImage, Luma};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Where the font for letters comes from (Debian package `fonts-dejavu-core`).
const FONT_PATHS: &[&str] =
    &["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"];

const A4_MM: (f32, f32) = (210.0, 297.0);

/// How a letter says where it belongs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Routing {
    /// A QR code with this payload (a routing code, `AZ:...`, or anything else).
    Qr(String),
    /// "Ihr Zeichen: <text>" in the letter head, no code.
    Text(String),
    /// A QR code with the first payload and "Ihr Zeichen: <second>" in the letter head: a reply whose
    /// code and quoted Aktenzeichen may disagree.
    QrAndText(String, String),
    /// A GiroCode payment QR and nothing else.
    GiroCode,
    /// Nothing at all.
    Nothing,
}

/// One letter of a batch.
#[derive(Clone, Debug, Serialize)]
pub struct LetterSpec {
    pub routing: Routing,
    /// 1 or more.
    pub pages: u32,
    /// The first page is fed upside down.
    pub upside_down: bool,
    /// What the mailroom should do with it: an Aktenzeichen, or `klaerfall:<reason>`.
    pub expect: String,
}

/// What a generated batch should produce.
#[derive(Clone, Debug, Serialize)]
pub struct BatchTruth {
    pub pieces: Vec<PieceTruth>,
    pub pages_fed: u32,
    pub blank_pages: u32,
    pub separator_sheets: u32,
    /// What each fed page is: `letter`, `blank` or `separator`, in scan order.
    pub page_kinds: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PieceTruth {
    pub expect: String,
    pub pages: u32,
    /// The text printed on the pages, line by line, for measuring OCR character error rate.
    pub text: String,
}

/// Batch layout options.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    pub dpi: f32,
    /// Put a separator sheet (QR `PATCHT`) between letters.
    pub separators: bool,
    /// Scan both sides: every page is followed by its blank back with bleed-through.
    pub duplex: bool,
    /// Maximum skew in degrees (each page gets a random skew up to this).
    pub max_skew_degrees: f32,
    /// Standard deviation of sensor noise in grey levels.
    pub noise: f32,
    pub seed: u64,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { dpi: 300.0, separators: true, duplex: true, max_skew_degrees: 0.8, noise: 6.0, seed: 1 }
    }
}

fn font() -> anyhow::Result<&'static FontVec> {
    static FONT: OnceLock<Option<FontVec>> = OnceLock::new();
    FONT.get_or_init(|| {
        FONT_PATHS
            .iter()
            .find_map(|path| std::fs::read(path).ok())
            .and_then(|bytes| FontVec::try_from_vec(bytes).ok())
    })
    .as_ref()
    .ok_or_else(|| anyhow::anyhow!("no DejaVuSans.ttf found; install the Debian package fonts-dejavu-core"))
}

/// A white A4 page at `dpi`.
pub fn blank_a4(dpi: f32) -> GrayImage {
    let width = (A4_MM.0 / 25.4 * dpi).round() as u32;
    let height = (A4_MM.1 / 25.4 * dpi).round() as u32;
    GrayImage::from_pixel(width, height, Luma([255]))
}

/// Draws `text` with its top-left corner at (`x`, `y`) pixels, `points` high at `dpi`.
pub fn draw_text(
    page: &mut GrayImage,
    x: f32,
    y: f32,
    points: f32,
    dpi: f32,
    text: &str,
) -> anyhow::Result<()> {
    let font = font()?;
    let scale = PxScale::from(points / 72.0 * dpi);
    let scaled = font.as_scaled(scale);
    let mut caret = x;
    let baseline = y + scaled.ascent();
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = previous {
            caret += scaled.kern(prev, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, baseline));
        caret += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                if px >= 0 && py >= 0 && (px as u32) < page.width() && (py as u32) < page.height() {
                    let pixel = page.get_pixel_mut(px as u32, py as u32);
                    let ink = (coverage.clamp(0.0, 1.0) * 255.0) as u8;
                    pixel.0[0] = pixel.0[0].min(255 - ink);
                }
            });
        }
    }
    Ok(())
}

/// A QR code for `payload` with modules of `module_px` pixels and a quiet zone.
pub fn qr_image(payload: &str, module_px: u32) -> anyhow::Result<GrayImage> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)?;
    Ok(code.render::<Luma<u8>>().module_dimensions(module_px, module_px).quiet_zone(true).build())
}

fn paste(page: &mut GrayImage, image: &GrayImage, x: u32, y: u32) {
    for (ix, iy, pixel) in image.enumerate_pixels() {
        if x + ix < page.width() && y + iy < page.height() {
            page.put_pixel(x + ix, y + iy, *pixel);
        }
    }
}

/// German sentences for letter bodies (with umlauts and ß, as real mail has).
const SENTENCES: &[&str] = &[
    "hiermit beantrage ich die Verlängerung der Frist bis zum Monatsende.",
    "Die Unterlagen zu meinem Antrag auf Wohngeld füge ich diesem Schreiben bei.",
    "Gegen den Bescheid vom 14. März lege ich fristgerecht Widerspruch ein.",
    "Bitte teilen Sie mir mit, welche Nachweise noch fehlen.",
    "Die Straße vor unserem Grundstück ist seit Wochen nicht geräumt worden.",
    "Für Rückfragen erreichen Sie mich werktags zwischen 9 und 12 Uhr.",
    "Ich bitte um eine schriftliche Bestätigung des Eingangs.",
    "Die Gebühr in Höhe von 45,00 Euro habe ich bereits überwiesen.",
    "Mein Sohn besucht ab dem neuen Schuljahr die Gesamtschule in Müllheim.",
    "Wir möchten das Gewerbe zum Ersten des kommenden Monats abmelden.",
    "Die Baugenehmigung für den Carport wurde uns noch nicht zugestellt.",
    "Beigefügt erhalten Sie die Kopie meines Personalausweises.",
];

const SUBJECTS: &[&str] = &[
    "Antrag auf Wohngeld",
    "Widerspruch gegen den Bescheid",
    "Bauantrag Carport",
    "Gewerbeabmeldung",
    "Anfrage Schülerbeförderung",
];

/// Renders the pages of one letter, upright and clean; returns the pages and their text.
pub fn render_letter(
    spec: &LetterSpec,
    dpi: f32,
    rng: &mut StdRng,
) -> anyhow::Result<(Vec<GrayImage>, String)> {
    let mm = |v: f32| v / 25.4 * dpi;
    let mut pages = Vec::new();
    let mut text = Vec::new();
    for number in 0..spec.pages.max(1) {
        let mut page = blank_a4(dpi);
        let mut lines: Vec<(f32, String)> = Vec::new();
        if number == 0 {
            lines.push((10.0, "Erika Mustermann · Heidestraße 17 · 51147 Köln".into()));
            lines.push((11.0, "Kreisverwaltung Musterkreis".into()));
            lines.push((11.0, "Poststelle".into()));
            lines.push((11.0, "Am Markt 1, 12345 Musterstadt".into()));
            lines.push((11.0, String::new()));
            match &spec.routing {
                Routing::Text(aktenzeichen) | Routing::QrAndText(_, aktenzeichen) => {
                    lines.push((11.0, format!("Ihr Zeichen: {aktenzeichen}")))
                }
                _ => lines.push((11.0, format!("Kundennummer: {}", rng.random_range(10000..99999)))),
            }
            lines.push((
                11.0,
                format!("Datum: {:02}.{:02}.2026", rng.random_range(1..28), rng.random_range(1..12)),
            ));
            lines.push((11.0, String::new()));
            lines.push((12.0, format!("Betreff: {}", SUBJECTS[rng.random_range(0..SUBJECTS.len())])));
            lines.push((11.0, String::new()));
            lines.push((11.0, "Sehr geehrte Damen und Herren,".into()));
        }
        for _ in 0..8 {
            lines.push((11.0, SENTENCES[rng.random_range(0..SENTENCES.len())].to_string()));
        }
        if number + 1 == spec.pages.max(1) {
            lines.push((11.0, String::new()));
            lines.push((11.0, "Mit freundlichen Grüßen".into()));
            lines.push((11.0, "Erika Mustermann".into()));
        }
        let mut y = mm(25.0);
        for (points, line) in &lines {
            if !line.is_empty() {
                draw_text(&mut page, mm(25.0), y, *points, dpi, line)?;
                text.push(line.clone());
            }
            y += points / 72.0 * dpi * 1.5;
        }
        if number == 0 {
            let qr = match &spec.routing {
                Routing::Qr(payload) | Routing::QrAndText(payload, _) => Some(payload.clone()),
                Routing::GiroCode => Some(
                    "BCD\n002\n1\nSCT\nCOLSDE33\nKreiskasse Musterkreis\nDE89370400440532013000\nEUR45.00\n\n\nGebuehr".into(),
                ),
                _ => None,
            };
            if let Some(payload) = qr {
                // About 2 cm wide at the top right, as on a real letter.
                let module = ((mm(20.0) / 45.0).round() as u32).max(2);
                let image = qr_image(&payload, module)?;
                let x = page.width().saturating_sub(image.width() + mm(20.0) as u32);
                paste(&mut page, &image, x, mm(15.0) as u32);
            }
        }
        pages.push(page);
    }
    Ok((pages, text.join("\n")))
}

/// A separator sheet: a large QR code with `code` and a readable label.
pub fn separator_sheet(code: &str, dpi: f32) -> anyhow::Result<GrayImage> {
    let mut page = blank_a4(dpi);
    let module = ((dpi / 25.4) * 2.0).round() as u32;
    let qr = qr_image(code, module)?;
    let x = (page.width().saturating_sub(qr.width())) / 2;
    paste(&mut page, &qr, x, (dpi / 25.4 * 60.0) as u32);
    draw_text(&mut page, dpi / 25.4 * 70.0, dpi / 25.4 * 160.0, 28.0, dpi, &format!("TRENNBLATT {code}"))?;
    Ok(page)
}

/// The blank back of `front`: paper with faint mirrored bleed-through of the front's ink.
pub fn blank_back(front: &GrayImage) -> GrayImage {
    let (w, h) = front.dimensions();
    GrayImage::from_fn(w, h, |x, y| {
        let ink = 255 - front.get_pixel(w - 1 - x, y).0[0];
        // Bleed-through reaches at most ~8 % of the front's contrast.
        Luma([255 - (u32::from(ink) * 20 / 255) as u8])
    })
}

/// Turns a page by a small angle (bilinear, white fill).
pub fn skew(page: &GrayImage, degrees: f32) -> GrayImage {
    let (w, h) = page.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        let dx = x as f32 - cx;
        let dy = y as f32 - cy;
        let sx = cos * dx + sin * dy + cx;
        let sy = -sin * dx + cos * dy + cy;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let sample = |xx: f32, yy: f32| -> f32 {
            if xx < 0.0 || yy < 0.0 || xx >= w as f32 || yy >= h as f32 {
                255.0
            } else {
                f32::from(page.get_pixel(xx as u32, yy as u32).0[0])
            }
        };
        let top = sample(x0, y0) * (1.0 - fx) + sample(x0 + 1.0, y0) * fx;
        let bottom = sample(x0, y0 + 1.0) * (1.0 - fx) + sample(x0 + 1.0, y0 + 1.0) * fx;
        Luma([(top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8])
    })
}

/// Sensor noise, a few dust specks and a grey scanner edge on the right.
pub fn scanner_noise(page: &mut GrayImage, sigma: f32, rng: &mut StdRng) {
    let (w, h) = page.dimensions();
    if sigma > 0.0 {
        for pixel in page.pixels_mut() {
            // Sum of uniforms approximates a Gaussian well enough for noise.
            let n: f32 = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).sum::<f32>() * sigma * 0.87;
            pixel.0[0] = (f32::from(pixel.0[0]) + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    for _ in 0..12 {
        let (x, y) = (rng.random_range(0..w), rng.random_range(0..h));
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            if x + dx < w && y + dy < h {
                page.put_pixel(x + dx, y + dy, Luma([40]));
            }
        }
    }
    let edge = (w / 400).max(2);
    for y in 0..h {
        for x in w - edge..w {
            page.put_pixel(x, y, Luma([120]));
        }
    }
}

/// Renders a batch: the pages in scan order and the ground truth.
pub fn render_batch(
    letters: &[LetterSpec],
    options: &BatchOptions,
) -> anyhow::Result<(Vec<GrayImage>, BatchTruth)> {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut pages = Vec::new();
    let mut truth = BatchTruth {
        pieces: Vec::new(),
        pages_fed: 0,
        blank_pages: 0,
        separator_sheets: 0,
        page_kinds: Vec::new(),
    };
    let feed = |page: GrayImage, rng: &mut StdRng, pages: &mut Vec<GrayImage>| {
        let angle = rng.random_range(-options.max_skew_degrees..=options.max_skew_degrees.max(0.001));
        let mut page = skew(&page, angle);
        scanner_noise(&mut page, options.noise, rng);
        pages.push(page);
    };
    for (index, letter) in letters.iter().enumerate() {
        if options.separators && index > 0 {
            let sheet = separator_sheet("PATCHT", options.dpi)?;
            feed(sheet, &mut rng, &mut pages);
            truth.separator_sheets += 1;
            truth.page_kinds.push("separator".into());
            if options.duplex {
                feed(blank_a4(options.dpi), &mut rng, &mut pages);
                truth.blank_pages += 1;
                truth.page_kinds.push("blank".into());
            }
        }
        let (letter_pages, text) = render_letter(letter, options.dpi, &mut rng)?;
        for (number, page) in letter_pages.iter().enumerate() {
            let fed = if number == 0 && letter.upside_down {
                image::imageops::rotate180(page)
            } else {
                page.clone()
            };
            let back = blank_back(&fed);
            feed(fed, &mut rng, &mut pages);
            truth.page_kinds.push("letter".into());
            if options.duplex {
                feed(back, &mut rng, &mut pages);
                truth.blank_pages += 1;
                truth.page_kinds.push("blank".into());
            }
        }
        truth.pieces.push(PieceTruth {
            expect: letter.expect.clone(),
            pages: letter_pages.len() as u32,
            text,
        });
    }
    truth.pages_fed = pages.len() as u32;
    Ok((pages, truth))
}

/// Packs grey pages into one multi-page TIFF (deflate, with resolution tags).
pub fn write_tiff(pages: &[GrayImage], dpi: f32) -> anyhow::Result<Vec<u8>> {
    let pages: Vec<TiffPage<'_>> = pages.iter().map(TiffPage::Gray).collect();
    write_tiff_with(&pages, dpi, TiffOptions::default())
}

/// One page for [`write_tiff_with`].
#[derive(Clone, Copy)]
pub enum TiffPage<'a> {
    Gray(&'a GrayImage),
    Rgb(&'a image::RgbImage),
}

/// How [`write_tiff_with`] stores pages. The default is what [`write_tiff`] writes: deflate at the
/// fast level, the `tiff` crate's strips of about 1 MB, no predictor.
#[derive(Clone, Copy, Debug, Default)]
pub struct TiffOptions {
    pub compression: TiffCompression,
    /// Rows per strip; `None` for the `tiff` crate's default.
    pub rows_per_strip: Option<u32>,
    /// TIFF Predictor 2 (horizontal differencing) instead of none.
    pub predictor: bool,
}

impl TiffOptions {
    /// libtiff's default strip size (`TIFFDefaultStripSize`): as many rows as fit in 8 KB.
    pub fn libtiff_rows_per_strip(row_bytes: u32) -> u32 {
        (8192 / row_bytes.max(1)).max(1)
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub enum TiffCompression {
    /// Deflate at the fast level (zlib 1).
    #[default]
    DeflateFast,
    /// Deflate at zlib's default level 6, which libtiff uses.
    Deflate,
    Lzw,
    PackBits,
    None,
}

/// Packs grey and RGB pages into one multi-page TIFF with resolution tags, stored as `options` says.
pub fn write_tiff_with(pages: &[TiffPage<'_>], dpi: f32, options: TiffOptions) -> anyhow::Result<Vec<u8>> {
    use tiff::encoder::{Compression, DeflateLevel, Predictor, Rational, TiffEncoder, colortype};
    let compression = match options.compression {
        TiffCompression::DeflateFast => Compression::Deflate(DeflateLevel::Fast),
        TiffCompression::Deflate => Compression::Deflate(DeflateLevel::Balanced),
        TiffCompression::Lzw => Compression::Lzw,
        TiffCompression::PackBits => Compression::Packbits,
        TiffCompression::None => Compression::Uncompressed,
    };
    let predictor = if options.predictor { Predictor::Horizontal } else { Predictor::None };
    let mut bytes = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut bytes)?.with_compression(compression).with_predictor(predictor);
    let resolution = Rational { n: dpi.round() as u32, d: 1 };
    for page in pages {
        match page {
            TiffPage::Gray(page) => {
                let mut image = encoder.new_image::<colortype::Gray8>(page.width(), page.height())?;
                if let Some(rows) = options.rows_per_strip {
                    image.rows_per_strip(rows)?;
                }
                image.resolution(tiff::tags::ResolutionUnit::Inch, resolution.clone());
                image.write_data(page.as_raw())?;
            }
            TiffPage::Rgb(page) => {
                let mut image = encoder.new_image::<colortype::RGB8>(page.width(), page.height())?;
                if let Some(rows) = options.rows_per_strip {
                    image.rows_per_strip(rows)?;
                }
                image.resolution(tiff::tags::ResolutionUnit::Inch, resolution.clone());
                image.write_data(page.as_raw())?;
            }
        }
    }
    // The encoder borrows `bytes` until here.
    let _ = encoder;
    Ok(bytes.into_inner())
}

/// Packs pages into one multi-page bilevel TIFF, CCITT Group 4, one strip per page, with resolution
/// tags. Samples below 128 are black. Written by hand because the `tiff` encoder has no G4.
pub fn write_g4_tiff(pages: &[GrayImage], dpi: f32) -> anyhow::Result<Vec<u8>> {
    use fax::{Color, VecWriter, encoder::Encoder};
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut link_at = 4usize;
    for page in pages {
        let (width, height) = page.dimensions();
        let columns = u16::try_from(width).map_err(|_| anyhow::anyhow!("page wider than 65535 pixels"))?;
        let mut encoder = Encoder::new(VecWriter::new());
        for row in page.as_raw().chunks_exact(width as usize) {
            let pels = row.iter().map(|&v| if v < 128 { Color::Black } else { Color::White });
            encoder.encode_line(pels, columns).map_err(|_| anyhow::anyhow!("G4 encoding failed"))?;
        }
        let strip = encoder.finish().map_err(|_| anyhow::anyhow!("G4 encoding failed"))?.finish();
        let strip_at = out.len() as u32;
        out.extend_from_slice(&strip);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let resolution_at = out.len() as u32;
        out.extend_from_slice(&(dpi.round() as u32).to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        let ifd_at = out.len() as u32;
        out[link_at..link_at + 4].copy_from_slice(&ifd_at.to_le_bytes());
        // (tag, type, value): type 3 SHORT, 4 LONG, 5 RATIONAL (value is an offset). WhiteIsZero, as G4
        // scanners write it.
        let entries: [(u16, u16, u32); 12] = [
            (256, 4, width),
            (257, 4, height),
            (258, 3, 1),
            (259, 3, 4),
            (262, 3, 0),
            (273, 4, strip_at),
            (277, 3, 1),
            (278, 4, height),
            (279, 4, strip.len() as u32),
            (282, 5, resolution_at),
            (283, 5, resolution_at),
            (296, 3, 2),
        ];
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            if kind == 3 {
                out.extend_from_slice(&(value as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        link_at = out.len();
        out.extend_from_slice(&[0; 4]);
    }
    Ok(out)
}

/// How [`write_jpeg_tiff`] stores pages: JPEG-in-TIFF (Compression 7, TIFF Technote 2) in strips, as
/// many document scanners write colour and grey scans.
#[derive(Clone, Copy, Debug)]
pub struct JpegTiffOptions {
    /// JPEG quality (1..=100) of every strip.
    pub quality: u8,
    /// Rows per strip; libtiff's JPEG codec writes 8 or 16 (one or two MCU rows) by default.
    pub rows_per_strip: u32,
    /// The tables once in the JPEGTables tag with abbreviated strips (what libtiff writes), or a full
    /// stream with its own tables in every strip.
    pub shared_tables: bool,
}

/// One strip of a JPEG-in-TIFF page, from [`jpeg_tiff_strips`]: its DQT and DHT segments, and the rest
/// of its stream without the start-of-image marker (frame header, scan header, image data, EOI). A
/// full strip is SOI + `tables` + `body`; an abbreviated one SOI + `body`, with JPEGTables SOI +
/// `tables` + EOI.
#[derive(Clone, Debug)]
pub struct JpegStrip {
    pub tables: Vec<u8>,
    pub body: Vec<u8>,
}

/// Encodes `page` as JPEG strips of `rows_per_strip` rows, strip `i` at quality `quality(i)`, each an
/// independent JPEG stream (the `image` crate's baseline encoder: standard Huffman tables, no chroma
/// subsampling). An RGB page is coded as TIFF Photometric RGB wants it, the components being R, G
/// and B themselves: the encoder always converts to YCbCr, so it is fed the inverse conversion of the
/// page (clamped, so saturated colours shift a little; what the strips hold is the truth either way).
pub fn jpeg_tiff_strips(
    page: TiffPage<'_>,
    rows_per_strip: u32,
    quality: impl Fn(usize) -> u8,
) -> anyhow::Result<Vec<JpegStrip>> {
    let (width, height) = match page {
        TiffPage::Gray(page) => page.dimensions(),
        TiffPage::Rgb(page) => page.dimensions(),
    };
    let prepared = match page {
        TiffPage::Gray(page) => image::DynamicImage::ImageLuma8(page.clone()),
        TiffPage::Rgb(page) => {
            image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
                let [r, g, b] = page.get_pixel(x, y).0.map(f32::from);
                // The JFIF YCbCr → RGB conversion, with (Y, Cb, Cr) = (R, G, B).
                let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
                image::Rgb([
                    clamp(r + 1.402 * (b - 128.0)),
                    clamp(r - 0.344_136 * (g - 128.0) - 0.714_136 * (b - 128.0)),
                    clamp(r + 1.772 * (g - 128.0)),
                ])
            }))
        }
    };
    let rows_per_strip = rows_per_strip.clamp(1, height.max(1));
    let mut strips = Vec::new();
    for (index, top) in (0..height).step_by(rows_per_strip as usize).enumerate() {
        let rows = rows_per_strip.min(height - top);
        let band = prepared.crop_imm(0, top, width, rows);
        let mut jpeg = Vec::new();
        band.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut jpeg,
            quality(index),
        ))?;
        strips.push(split_jpeg(&jpeg)?);
    }
    Ok(strips)
}

/// Splits an encoded JPEG into its table segments and the rest (dropping SOI and APPn segments).
fn split_jpeg(jpeg: &[u8]) -> anyhow::Result<JpegStrip> {
    let mut strip = JpegStrip { tables: Vec::new(), body: Vec::new() };
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            strip.body.extend_from_slice(&jpeg[at..]);
            return Ok(strip);
        }
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let segment = jpeg.get(at..at + 2 + length).ok_or_else(|| anyhow::anyhow!("short JPEG segment"))?;
        match marker {
            0xDB | 0xC4 => strip.tables.extend_from_slice(segment),
            0xE0..=0xEF => {}
            _ => strip.body.extend_from_slice(segment),
        }
        at += 2 + length;
    }
    anyhow::bail!("the encoded JPEG has no scan")
}

/// Packs grey and RGB pages into one multi-page JPEG-in-TIFF (Compression 7) with resolution tags,
/// stored as `options` says: grey as BlackIsZero, colour as Photometric RGB (see
/// [`jpeg_tiff_strips`]).
pub fn write_jpeg_tiff(
    pages: &[TiffPage<'_>],
    dpi: f32,
    options: JpegTiffOptions,
) -> anyhow::Result<Vec<u8>> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut link_at = 4usize;
    for page in pages {
        let (width, height, samples) = match page {
            TiffPage::Gray(page) => (page.width(), page.height(), 1u16),
            TiffPage::Rgb(page) => (page.width(), page.height(), 3u16),
        };
        let strips = jpeg_tiff_strips(*page, options.rows_per_strip, |_| options.quality)?;
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        for strip in &strips {
            let mut bytes = vec![0xFF, 0xD8];
            if !options.shared_tables {
                bytes.extend_from_slice(&strip.tables);
            }
            bytes.extend_from_slice(&strip.body);
            offsets.push(out.len() as u32);
            counts.push(bytes.len() as u32);
            out.extend_from_slice(&bytes);
        }
        let le16 = |values: &[u16]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
        let le32 = |values: &[u32]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
        let resolution = le32(&[dpi.round() as u32, 1]);
        let photometric = if samples == 1 { 1 } else { 2 };
        // (tag, type, count, value bytes): type 3 SHORT, 4 LONG, 5 RATIONAL, 7 UNDEFINED.
        let mut entries: Vec<(u16, u16, u32, Vec<u8>)> = vec![
            (256, 4, 1, le32(&[width])),
            (257, 4, 1, le32(&[height])),
            (258, 3, u32::from(samples), le16(&vec![8; usize::from(samples)])),
            (259, 3, 1, le16(&[7])),
            (262, 3, 1, le16(&[photometric])),
            (273, 4, offsets.len() as u32, le32(&offsets)),
            (277, 3, 1, le16(&[samples])),
            (278, 4, 1, le32(&[options.rows_per_strip])),
            (279, 4, counts.len() as u32, le32(&counts)),
            (282, 5, 1, resolution.clone()),
            (283, 5, 1, resolution),
            (284, 3, 1, le16(&[1])),
            (296, 3, 1, le16(&[2])),
        ];
        if options.shared_tables {
            let first = strips.first().ok_or_else(|| anyhow::anyhow!("a page without rows"))?;
            let tables = [&[0xFF, 0xD8][..], &first.tables, &[0xFF, 0xD9]].concat();
            entries.push((347, 7, tables.len() as u32, tables));
        }
        // Values longer than four bytes go before the directory, which points at them.
        let mut fields = Vec::new();
        for (tag, kind, count, value) in entries {
            let field = if value.len() <= 4 {
                let mut field = value;
                field.resize(4, 0);
                field
            } else {
                if out.len() % 2 == 1 {
                    out.push(0);
                }
                let at = out.len() as u32;
                out.extend_from_slice(&value);
                at.to_le_bytes().to_vec()
            };
            fields.push((tag, kind, count, field));
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd_at = out.len() as u32;
        out[link_at..link_at + 4].copy_from_slice(&ifd_at.to_le_bytes());
        out.extend_from_slice(&(fields.len() as u16).to_le_bytes());
        for (tag, kind, count, field) in fields {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&field);
        }
        link_at = out.len();
        out.extend_from_slice(&[0; 4]);
    }
    Ok(out)
}

/// Packs grey pages into one PDF of JPEG page images (DCTDecode, quality `quality`), the way a
/// scanner's "scan to PDF" delivers a batch: one full-page image per page, sized from `dpi`.
pub fn write_jpeg_pdf(pages: &[GrayImage], dpi: f32, quality: u8) -> anyhow::Result<Vec<u8>> {
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets: Vec<usize> = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    // Objects: 1 catalog, 2 page tree, then per page: page, image, content.
    let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", 3 + 3 * i)).collect();
    object(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    object(
        &mut out,
        format!("<< /Type /Pages /Count {} /Kids [{}] >>", pages.len(), kids.join(" ")).as_bytes(),
    );
    for (i, page) in pages.iter().enumerate() {
        let (w, h) = (page.width() as f32 * 72.0 / dpi, page.height() as f32 * 72.0 / dpi);
        let (page_id, image_id, content_id) = (3 + 3 * i, 4 + 3 * i, 5 + 3 * i);
        object(
            &mut out,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w:.2} {h:.2}] /Resources << /XObject << /Im0 {image_id} 0 R >> >> /Contents {content_id} 0 R >>"
            )
            .as_bytes(),
        );
        let _ = page_id;
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(page)?;
        let mut body = format!(
            "<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            page.width(),
            page.height(),
            jpeg.len()
        )
        .into_bytes();
        body.extend_from_slice(&jpeg);
        body.extend_from_slice(b"\nendstream");
        object(&mut out, &body);
        let content = format!("q {w:.2} 0 0 {h:.2} 0 0 cm /Im0 Do Q");
        let mut body = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        body.extend_from_slice(content.as_bytes());
        body.extend_from_slice(b"\nendstream");
        object(&mut out, &body);
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes());
    for offset in &offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", offsets.len() + 1)
            .as_bytes(),
    );
    Ok(out)
}

/// The character error rate of `read` against `truth`: edit distance over the length of `truth`, on
/// text with whitespace runs collapsed.
pub fn character_error_rate(truth: &str, read: &str) -> f64 {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").chars().collect::<Vec<char>>();
    let (a, b) = (norm(truth), norm(read));
    if a.is_empty() {
        return if b.is_empty() { 0.0 } else { 1.0 };
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current[j + 1] = (previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()] as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn character_error_rate_counts_edits() {
        assert_eq!(character_error_rate("abc", "abc"), 0.0);
        assert!((character_error_rate("abcd", "abXd") - 0.25).abs() < 1e-9);
        assert_eq!(character_error_rate("a  b", "a b"), 0.0);
    }

    #[test]
    fn a_batch_accounts_for_every_page() {
        let letters = vec![
            LetterSpec {
                routing: Routing::Nothing,
                pages: 2,
                upside_down: false,
                expect: "klaerfall:no_code".into(),
            },
            LetterSpec {
                routing: Routing::Text("1-1/2026".into()),
                pages: 1,
                upside_down: true,
                expect: "1-1/2026".into(),
            },
        ];
        let options = BatchOptions { dpi: 50.0, ..BatchOptions::default() };
        let (pages, truth) = render_batch(&letters, &options).unwrap();
        // 3 letter pages + 1 separator, each with a blank back.
        assert_eq!(pages.len(), 8);
        assert_eq!((truth.pages_fed, truth.blank_pages, truth.separator_sheets), (8, 4, 1));
        let tiff = write_tiff(&pages, 50.0).unwrap();
        assert!(tiff.starts_with(b"II*\0") || tiff.starts_with(b"MM\0*"));
        let pdf = write_jpeg_pdf(&pages, 50.0, 85).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    }
}
