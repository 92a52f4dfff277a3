//! Measures `find_qr_codes` on the ZXing QR blackbox corpus and on synthetic A4 pages.
//!
//! ```text
//! cargo run --release -p registratur-scan --example qr_corpus -- [CORPUS_DIR] [--baseline] [--verbose]
//! ```
//!
//! `CORPUS_DIR` defaults to `../shared/corpora/zxing-qr` (beside the checkout) or
//! `/work/shared/corpora/zxing-qr`. Each image `N.png`/`.jpg`/`.gif` has `N.txt` with the expected text;
//! line endings are normalised on both sides. `--baseline` measures plain `rqrr` the same way.
//! Prints the decode rate per folder and in total, every wrong text (there must be none) and the
//! median time on a 300 dpi A4 text page without a code and with one 2 cm code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::{GrayImage, Luma};
use registratur_scan::analyse::qr::find_qr_codes;

fn main() {
    // rqrr panics on some degenerate geometry; `find_qr_codes` catches that, so the messages are noise.
    std::panic::set_hook(Box::new(|_| {}));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let baseline = args.iter().any(|a| a == "--baseline");
    let verbose = args.iter().any(|a| a == "--verbose");
    let corpus = args.iter().find(|a| !a.starts_with("--")).map(PathBuf::from).unwrap_or_else(|| {
        let beside = PathBuf::from("../shared/corpora/zxing-qr");
        if beside.is_dir() { beside } else { PathBuf::from("/work/shared/corpora/zxing-qr") }
    });
    let decoder: fn(&GrayImage) -> Vec<String> = if baseline { plain_rqrr } else { ours };
    println!("decoder: {}", if baseline { "plain rqrr" } else { "find_qr_codes" });
    run_corpus(&corpus, decoder, verbose);
    if !baseline {
        run_synthetic_pages();
    }
}

fn ours(image: &GrayImage) -> Vec<String> {
    find_qr_codes(image).into_iter().map(|symbol| symbol.text).collect()
}

fn plain_rqrr(image: &GrayImage) -> Vec<String> {
    std::panic::catch_unwind(|| {
        let mut prepared = rqrr::PreparedImage::prepare(image.clone());
        prepared
            .detect_grids()
            .into_iter()
            .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
            .collect()
    })
    .unwrap_or_default()
}

fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn run_corpus(corpus: &Path, decoder: fn(&GrayImage) -> Vec<String>, verbose: bool) {
    let mut folders: Vec<PathBuf> = match std::fs::read_dir(corpus) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect(),
        Err(error) => {
            eprintln!(
                "cannot read corpus {}: {error}; pass the corpus directory as argument",
                corpus.display()
            );
            return;
        }
    };
    folders.sort();
    let (mut total, mut total_read, mut total_wrong) = (0, 0, 0);
    let mut times = Vec::new();
    for folder in folders {
        let mut images: Vec<PathBuf> = std::fs::read_dir(&folder)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "jpg" | "gif")))
            .collect();
        images.sort_by_key(|p| {
            p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u32>().ok()).unwrap_or(u32::MAX)
        });
        let (mut count, mut read, mut wrong) = (0, 0, 0);
        let mut failed = Vec::new();
        for image_path in images {
            let Ok(expected) = std::fs::read_to_string(image_path.with_extension("txt")) else {
                continue;
            };
            let expected = normalise(&expected);
            let image = match image::open(&image_path) {
                Ok(image) => image.to_luma8(),
                Err(error) => {
                    eprintln!("{}: {error}", image_path.display());
                    continue;
                }
            };
            let start = Instant::now();
            let texts = decoder(&image);
            let elapsed = start.elapsed();
            times.push(elapsed);
            count += 1;
            let name = image_path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned();
            let mut hit = false;
            for text in &texts {
                if normalise(text) == expected {
                    hit = true;
                } else {
                    wrong += 1;
                    println!("  WRONG {}/{name}: {:?} (expected {:?})", folder.display(), text, expected);
                }
            }
            if hit {
                read += 1;
            } else {
                failed.push(name.clone());
            }
            if verbose {
                println!("  {name}: {} {:.1} ms", if hit { "ok" } else { "MISS" }, ms(elapsed));
            }
        }
        let label = folder.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        println!(
            "{label}: {read}/{count} ({:.0} %), wrong {wrong}, missed: {}",
            percent(read, count),
            failed.join(" ")
        );
        total += count;
        total_read += read;
        total_wrong += wrong;
    }
    times.sort();
    let sum: Duration = times.iter().sum();
    println!(
        "total: {total_read}/{total} ({:.1} %), wrong texts {total_wrong}; per image median {:.1} ms, mean {:.1} ms, max {:.1} ms",
        percent(total_read, total),
        times.get(times.len() / 2).map_or(0.0, |d| ms(*d)),
        if times.is_empty() { 0.0 } else { ms(sum) / times.len() as f64 },
        times.last().map_or(0.0, |d| ms(*d)),
    );
}

fn run_synthetic_pages() {
    let blank = text_page(1);
    let with_code = page_with_code(&blank, "https://example.org/akte/2024-000123", 236, (1900, 300));
    for (label, page) in
        [("A4 300 dpi text page, no QR", &blank), ("A4 300 dpi text page, one 2 cm QR", &with_code)]
    {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..15 {
            let start = Instant::now();
            found = find_qr_codes(page).len();
            times.push(start.elapsed());
        }
        times.sort();
        println!(
            "{label}: found {found}, median {:.1} ms, min {:.1} ms, max {:.1} ms",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

/// A 2480×3508 grey page with lines of glyph-like strokes and a little scanner noise.
fn text_page(seed: u64) -> GrayImage {
    let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng >> 33) as u32
    };
    let (width, height) = (2480u32, 3508u32);
    let mut page = GrayImage::from_fn(width, height, |_, _| Luma([0]));
    for pixel in page.pixels_mut() {
        pixel.0[0] = 236 + (next() % 12) as u8;
    }
    let mut y = 300;
    while y + 40 < height - 300 {
        let mut x = 250;
        while x + 30 < width - 250 {
            let word = 2 + next() % 9;
            for _ in 0..word {
                draw_glyph(&mut page, x, y, &mut next);
                x += 22;
            }
            x += 22;
        }
        y += 50;
    }
    page
}

fn draw_glyph(page: &mut GrayImage, x: u32, y: u32, next: &mut impl FnMut() -> u32) {
    let strokes = 1 + next() % 3;
    for _ in 0..strokes {
        let ink = 20 + (next() % 40) as u8;
        if next().is_multiple_of(2) {
            let column = x + 2 + next() % 14;
            for dy in 4..30 {
                for dx in 0..3 {
                    page.put_pixel(column + dx, y + dy, Luma([ink]));
                }
            }
        } else {
            let row = y + 6 + next() % 20;
            for dx in 2..18 {
                for dy in 0..3 {
                    page.put_pixel(x + dx, row + dy, Luma([ink]));
                }
            }
        }
    }
}

fn page_with_code(page: &GrayImage, text: &str, size: u32, (left, top): (u32, u32)) -> GrayImage {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("the text fits a qr code");
    let rendered = code.render::<Luma<u8>>().quiet_zone(true).min_dimensions(size, size).build();
    let scaled = image::imageops::resize(&rendered, size, size, image::imageops::FilterType::Triangle);
    let mut page = page.clone();
    for (x, y, pixel) in scaled.enumerate_pixels() {
        page.put_pixel(left + x, top + y, Luma([pixel.0[0].clamp(20, 240)]));
    }
    page
}
