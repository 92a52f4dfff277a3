//! Reads one page with the tesseract engine and prints its words and how long each step took: the
//! measuring stick for seconds per page and memory per OCR worker.
//!
//! ```text
//! cargo run --release -p registratur-scan --example ocr_page -- [IMAGE] [--dpi N] [--save PNG] [--osd-dpi N] [--quiet]
//! ```
//!
//! IMAGE is a PNG, TIFF or JPEG (its first page); without one, the example draws a full A4 letter in
//! DejaVu Sans 11 pt at `--dpi` (default 300), which `--save` writes out so that the tesseract command
//! line can read the same pixels. `--dpi` also overrides the resolution for IMAGE (default 300);
//! `--osd-dpi` sets the resolution orientation detection scales the page down to (default 150).

use std::time::Instant;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use anyhow::{Context, bail};
use image::{GrayImage, Luma};
use registratur_scan::Dpi;
use registratur_scan::ocr::{OcrEngine, TesseractConfig, TesseractEngine};

const PARAGRAPH: &str = "Sehr geehrte Frau Müller, Ihr Zeichen: 32-1-12/2026. Wir bestätigen den Eingang Ihres \
    Antrags auf Baugenehmigung für das Grundstück Flurstück 1234/5 der Gemarkung Musterdorf. Die Unterlagen \
    werden derzeit von der unteren Bauaufsichtsbehörde geprüft. Sollten Rückfragen bestehen, wenden Sie sich \
    bitte an Herrn Weiß, Zimmer 204, Telefon 0821 12345. Bitte beachten Sie, dass die Bearbeitungszeit \
    erfahrungsgemäß etwa drei Monate beträgt und fehlende Nachweise das Verfahren verzögern.";

fn main() -> anyhow::Result<()> {
    let mut image_path = None;
    let mut dpi = 300.0_f32;
    let mut save = None;
    let mut quiet = false;
    let mut config = TesseractConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dpi" => dpi = args.next().context("--dpi needs a number")?.parse().context("--dpi")?,
            "--save" => save = Some(args.next().context("--save needs a path")?),
            "--quiet" => quiet = true,
            "--osd-dpi" => {
                config.orientation_dpi =
                    args.next().context("--osd-dpi needs a number")?.parse().context("--osd-dpi")?;
            }
            _ if arg.starts_with("--") => bail!("unknown option {arg}"),
            _ => image_path = Some(arg),
        }
    }

    let page = match &image_path {
        Some(path) => image::open(path).with_context(|| format!("reading {path}"))?.to_luma8(),
        None => draw_letter(dpi)?,
    };
    if let Some(path) = &save {
        page.save(path).with_context(|| format!("writing {path}"))?;
    }
    let dpi = Dpi::uniform(dpi);

    let started = Instant::now();
    let engine = TesseractEngine::new(config)?;
    println!("{} ready in {:.2} s", engine.describe(), started.elapsed().as_secs_f64());

    // The first call loads the OSD model into a new instance; the second shows the per-page cost.
    for call in ["first", "warm"] {
        let started = Instant::now();
        let orientation = engine.detect_orientation(&page, dpi)?;
        println!(
            "orientation ({call}): {} quarter turns, confidence {:.1}, in {:.2} s",
            orientation.turns.get(),
            orientation.confidence,
            started.elapsed().as_secs_f64()
        );
    }

    let started = Instant::now();
    let read = engine.recognize(&page, dpi)?;
    let seconds = started.elapsed().as_secs_f64();
    if !quiet {
        for word in &read.words {
            let b = word.bounds;
            println!(
                "{:>3} {:>5},{:<5} {:>5},{:<5} {:>5.1} {}",
                word.line, b.x0, b.y0, b.x1, b.y1, word.confidence, word.text
            );
        }
    }
    println!(
        "{}x{} px: {} words, mean confidence {:.1}, recognised in {:.2} s",
        page.width(),
        page.height(),
        read.words.len(),
        read.mean_confidence,
        seconds
    );
    Ok(())
}

/// A full A4 page of letter text, 25 mm margins, 1.5 line spacing.
fn draw_letter(dpi: f32) -> anyhow::Result<GrayImage> {
    const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    let bytes = std::fs::read(FONT).with_context(|| format!("{FONT}: install fonts-dejavu-core"))?;
    let font = FontRef::try_from_slice(&bytes)?;
    let mm = |millimetres: f32| millimetres / 25.4 * dpi;
    let (width, height) = (mm(210.0).round() as u32, mm(297.0).round() as u32);
    let mut image = GrayImage::from_pixel(width, height, Luma([255]));
    let em = 11.0 / 72.0 * dpi;
    let scale = PxScale::from(em * font.height_unscaled() / font.units_per_em().context("units per em")?);
    let scaled = font.as_scaled(scale);

    let mut baseline = mm(25.0) + scaled.ascent();
    let mut caret = mm(25.0);
    while baseline < mm(297.0 - 25.0) {
        for word in PARAGRAPH.split(' ') {
            let word_width: f32 = word.chars().map(|c| scaled.h_advance(font.glyph_id(c))).sum();
            if caret + word_width > mm(210.0 - 25.0) {
                caret = mm(25.0);
                baseline += 1.5 * em;
                if baseline >= mm(297.0 - 25.0) {
                    break;
                }
            }
            for c in word.chars().chain([' ']) {
                let glyph_id = font.glyph_id(c);
                let glyph = glyph_id.with_scale_and_position(scale, point(caret, baseline));
                caret += scaled.h_advance(glyph_id);
                if let Some(outlined) = font.outline_glyph(glyph) {
                    let bounds = outlined.px_bounds();
                    outlined.draw(|x, y, coverage| {
                        let (x, y) = (bounds.min.x as u32 + x, bounds.min.y as u32 + y);
                        if x < width && y < height {
                            let value = (255.0 * (1.0 - coverage.min(1.0))).round() as u8;
                            let pixel = image.get_pixel_mut(x, y);
                            pixel.0[0] = pixel.0[0].min(value);
                        }
                    });
                }
            }
        }
        caret = mm(25.0);
        baseline += 3.0 * em;
    }
    Ok(image)
}
