//! Decodes every page of the files given on the command line and prints each page's size, colour
//! model, resolution, embedded stream and decode time; with `--bench` it also writes a 300 dpi A4
//! G4 TIFF and a 300 dpi A4 JPEG to memory and times their decoding.
//!
//! `cargo run --release -p registratur-scan --example decode_file -- [--bench] FILE...`

use std::time::Instant;

use registratur_scan::decode::{Limits, open};
use registratur_scan::{Dpi, EmbeddedImage, Raster};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut failures = 0;
    for path in args.iter().filter(|a| *a != "--bench") {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                println!("{path}: cannot read: {error}");
                failures += 1;
                continue;
            }
        };
        failures += report(path, &bytes);
    }
    if args.iter().any(|a| a == "--bench") {
        bench();
    }
    if failures > 0 {
        println!("{failures} failures");
        std::process::exit(1);
    }
}

/// Prints one line per page; returns the number of failures.
fn report(name: &str, bytes: &[u8]) -> usize {
    let started = Instant::now();
    let file = match open(bytes, &Limits::default(), Dpi::uniform(300.0)) {
        Ok(file) => file,
        Err(error) => {
            println!("{name}: {error}");
            return 1;
        }
    };
    println!("{name}: {:?}, {} pages, opened in {:?}", file.format, file.page_count(), started.elapsed());
    let mut failures = 0;
    for index in 0..file.page_count() {
        let started = Instant::now();
        match file.page(index) {
            Ok(page) => {
                let model = match page.raster {
                    Raster::Bilevel(_) => "bilevel",
                    Raster::Gray(_) => "grey",
                    Raster::Rgb(_) => "rgb",
                };
                let embedded = match page.embedded {
                    Some(EmbeddedImage::Jpeg { .. }) => "jpeg",
                    Some(EmbeddedImage::CcittG4 { .. }) => "g4",
                    Some(EmbeddedImage::Flate { .. }) => "flate",
                    Some(EmbeddedImage::Samples { .. }) => "exact samples",
                    None => "-",
                };
                println!(
                    "  page {}: {} × {} {model}, {:.0} × {:.0} dpi, embedded {embedded}, {:?}",
                    index + 1,
                    page.raster.width(),
                    page.raster.height(),
                    page.dpi.x,
                    page.dpi.y,
                    started.elapsed()
                );
            }
            Err(error) => {
                println!("  page {}: {error}", index + 1);
                failures += 1;
            }
        }
    }
    failures
}

/// Times a synthetic 300 dpi A4 page (2480 × 3508) as G4 TIFF and as JPEG.
fn bench() {
    let (width, height) = (2480u32, 3508u32);
    // Text-like content: short black dashes on lines, like a typed letter.
    let page = image::GrayImage::from_fn(width, height, |x, y| {
        let on_line = (y / 40) % 2 == 0 && y % 40 < 24 && (300..2200).contains(&x);
        let in_word = (x / 17) % 5 != 0 && (x * 31 + y / 40 * 7) % 97 > 20;
        image::Luma([if on_line && in_word && (x + y) % 3 != 0 { 0 } else { 255 }])
    });

    let mut encoder = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in page.as_raw().chunks_exact(width as usize) {
        let pels = row.iter().map(|&v| if v < 128 { fax::Color::Black } else { fax::Color::White });
        encoder.encode_line(pels, width as u16).expect("vec writer");
    }
    let g4 = encoder.finish().expect("vec writer").finish();
    let tiff = fax::tiff::wrap(&g4, width, height);
    time("G4 TIFF", &tiff);

    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode(page.as_raw(), width, height, image::ExtendedColorType::L8)
        .expect("jpeg encodes");
    time("grey JPEG", &jpeg);
    let colour = image::DynamicImage::ImageLuma8(page).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode(colour.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .expect("jpeg encodes");
    time("colour JPEG", &jpeg);
}

fn time(what: &str, bytes: &[u8]) {
    let file = open(bytes, &Limits::default(), Dpi::uniform(300.0)).expect("fixture opens");
    let runs = 10;
    let started = Instant::now();
    for _ in 0..runs {
        file.page(0).expect("fixture decodes");
    }
    println!("{what} ({} bytes): {:?} per A4 page at 300 dpi", bytes.len(), started.elapsed() / runs);
}
