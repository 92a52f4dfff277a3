//! Measures the PDF/A writer on synthetic 300 dpi A4 pages (bilevel, grey with paper noise, and a JPEG
//! passed through) with ~300 OCR words each, and reports size and write time per page type, plus the
//! checker's time. Writes the PDFs to the directory given as the first argument, if any.
//!
//! `cargo run --release -p registratur-scan --example make_pdfa -- /tmp/pdfa-out`

use std::time::Instant;

use image::{GrayImage, Luma};
use registratur_scan::ocr::OcrWord;
use registratur_scan::pdfa::{DocumentInfo, RenditionPage, check, write_pdfa};
use registratur_scan::{Dpi, EmbeddedImage, Page, PixelRect, QuarterTurns, Raster};

const WIDTH: u32 = 2480;
const HEIGHT: u32 = 3508;
const RUNS: u32 = 5;

/// A small deterministic generator, so every run measures the same pages.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// A page of text-like ink: lines of words made of glyph-sized strokes, and the words' boxes.
fn text_page(noise: bool) -> (GrayImage, Vec<OcrWord>) {
    let mut random = Lcg(42);
    let mut image = GrayImage::from_fn(WIDTH, HEIGHT, |_, _| Luma([255]));
    if noise {
        for pixel in image.pixels_mut() {
            pixel[0] = 235 + (random.next() % 16) as u8;
        }
    }
    let mut words = Vec::new();
    for line in 0..30u32 {
        let y0 = 300 + line * 100;
        let mut x = 250;
        while x < WIDTH - 400 {
            let letters = 3 + random.next() % 8;
            let x0 = x;
            for _ in 0..letters {
                let glyph_width = 18 + random.next() % 10;
                for stroke in 0..3 {
                    let sx = x + stroke * glyph_width / 3;
                    let top = y0 + random.next() % 12;
                    for y in top..y0 + 42 {
                        for dx in 0..4 {
                            image.put_pixel(sx + dx, y, Luma([20 + (random.next() % 40) as u8]));
                        }
                    }
                }
                x += glyph_width + 4;
            }
            words.push(OcrWord {
                text: "Straßenverkehrsbehörde".chars().take(letters as usize).collect(),
                bounds: PixelRect { x0, y0, x1: x, y1: y0 + 42 },
                confidence: 90.0,
                line,
            });
            x += 30;
        }
    }
    (image, words)
}

fn measure(name: &str, page: &Page, words: &[OcrWord], out: Option<&std::path::Path>) {
    let info = DocumentInfo {
        title: format!("make_pdfa {name}"),
        author: None,
        creator_tool: "make_pdfa example".into(),
        created_unix_seconds: 1_714_557_600,
        document_id: [1; 16],
    };
    let pages = [RenditionPage { page, turns: QuarterTurns::NONE, words }];
    let mut pdf = Vec::new();
    let start = Instant::now();
    for _ in 0..RUNS {
        pdf = write_pdfa(&pages, &info).expect("write");
    }
    let write = start.elapsed() / RUNS;
    let start = Instant::now();
    let report = check(&pdf);
    let checked = start.elapsed();
    println!(
        "{name:<8} {:>9} bytes  write {:>8.2?}  check {:>8.2?}  valid {}  words {}",
        pdf.len(),
        write,
        checked,
        report.is_valid(),
        words.len()
    );
    if let Some(dir) = out {
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).expect("write output");
    }
}

fn main() {
    let out = std::env::args().nth(1).map(std::path::PathBuf::from);
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).expect("output directory");
    }
    let dpi = Dpi::uniform(300.0);
    let (clean, words) = text_page(false);
    let bilevel = GrayImage::from_fn(WIDTH, HEIGHT, |x, y| {
        Luma([if clean.get_pixel(x, y)[0] < 128 { 0 } else { 255 }])
    });
    let (noisy, _) = text_page(true);

    let bilevel_page = Page { raster: Raster::Bilevel(bilevel), dpi, embedded: None };
    measure("bilevel", &bilevel_page, &words, out.as_deref());

    let gray_page = Page { raster: Raster::Gray(noisy.clone()), dpi, embedded: None };
    measure("gray", &gray_page, &words, out.as_deref());

    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&noisy).expect("jpeg");
    let jpeg_page = Page {
        raster: Raster::Gray(noisy),
        dpi,
        embedded: Some(EmbeddedImage::Jpeg {
            bytes: jpeg,
            width: WIDTH,
            height: HEIGHT,
            components: 1,
            adobe_inverted: false,
            origin: registratur_scan::page::JpegOrigin::Source,
        }),
    };
    measure("jpeg", &jpeg_page, &words, out.as_deref());
}
