//! Measures separator-sheet detection on the Paperless-ngx barcode samples: per file the pages, the 1D
//! barcodes found on each page, the separator pages expected and found, pass or fail, and the time per
//! page for the barcode search and the blank-page measure.
//!
//! Run: `cargo run --release -p registratur-scan --example separator_corpus [CORPUS_DIR]`, by default on
//! `../shared/corpora/paperless-barcodes` beside the checkout. PDFs are rendered at 300 dpi in grey with
//! `pdftoppm` (poppler-utils) into a temporary folder; TIFFs are read page by page with the `tiff` crate.
//! When the corpus has `DECODED_zxingcpp_3.1.1_300dpi.txt`, every page's Code 39 / Code 128 texts are
//! also compared with what zxing-cpp read.
//!
//! With `--product-path` the pages come from the mailroom's own decoder (`decode::open`: embedded scan
//! images at their own resolution, other pages rendered) and separators are found with `analyse_page`
//! (QR codes and 1D barcodes, as the mailroom does), so the QR separator samples count too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::GrayImage;
use registratur_scan::Dpi;
use registratur_scan::analyse::{Symbology, barcode, blank};

/// The separator pages each sample should produce, with the separator text, from EXPECTED.md. Files not
/// listed expect no 1D separator; samples whose separator is a QR code are the `qr` module's.
const EXPECTED_SEPARATORS: &[(&str, &str, &[usize])] = &[
    ("patch-code-t.pdf", "PATCHT", &[0]),
    ("patch-code-t-middle.pdf", "PATCHT", &[1]),
    ("patch-code-t-middle.tiff", "PATCHT", &[1]),
    ("patch-code-t-middle-alpha.tiff", "PATCHT", &[1]),
    ("patch-code-t-middle-reverse.pdf", "PATCHT", &[1]),
    ("patch-code-t-middle-distorted.pdf", "PATCHT", &[1]),
    ("patch-code-t-middle-fuzzy.pdf", "PATCHT", &[1]),
    ("patch-code-t-middle-unreadable.pdf", "PATCHT", &[]),
    ("patch-code-t-double.pdf", "PATCHT", &[1, 2]),
    ("several-patcht-codes.pdf", "PATCHT", &[2, 5]),
    ("barcode-fax-image.pdf", "PATCHT", &[1]),
    ("barcode-39-custom.pdf", "CUSTOM BARCODE", &[0]),
    ("barcode-128-custom.pdf", "CUSTOM BARCODE", &[0]),
    ("many-qr-codes.pdf", "ADAR-NEXTDOC", &[1]),
    ("split-by-asn-2.pdf", "PATCHT", &[2]),
];

/// Samples whose separator is a QR code: checked only on the product path, where QR codes are read.
const EXPECTED_QR_SEPARATORS: &[(&str, &str, &[usize])] =
    &[("patch-code-t-qr.pdf", "PATCHT", &[0]), ("barcode-qr-custom.pdf", "CUSTOM BARCODE", &[0])];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let product_path = std::env::args().any(|arg| arg == "--product-path");
    let corpus = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/corpora/paperless-barcodes"));
    let reference = read_reference(&corpus.join("DECODED_zxingcpp_3.1.1_300dpi.txt"));
    let scratch = std::env::temp_dir().join(format!("separator-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| matches!(extension(path).as_str(), "pdf" | "tif" | "tiff"))
        .collect();
    files.sort();

    let (mut barcode_ms, mut blank_ms) = (Vec::new(), Vec::new());
    let (mut failures, mut reference_mismatches) = (Vec::new(), Vec::new());
    for path in &files {
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let loaded = if product_path { decode_pages(path) } else { load_pages(path, &scratch) };
        let pages = match loaded {
            Ok(pages) => pages,
            Err(error) => {
                println!("{name}: cannot load: {error}");
                failures.push(name);
                continue;
            }
        };
        let qr_expectations = if product_path { EXPECTED_QR_SEPARATORS } else { &[] };
        let (separator, expected) = EXPECTED_SEPARATORS
            .iter()
            .chain(qr_expectations)
            .find(|(file, _, _)| *file == name)
            .map(|(_, text, pages)| (*text, pages.iter().copied().collect::<BTreeSet<usize>>()))
            .unwrap_or(("PATCHT", BTreeSet::new()));

        println!("{name}: {} pages, separator {separator:?} expected on {expected:?}", pages.len());
        let mut found = BTreeSet::new();
        for (index, page) in pages.iter().enumerate() {
            let started = Instant::now();
            let symbols = barcode::find_barcodes(page);
            let barcode_time = started.elapsed().as_secs_f64() * 1000.0;
            let started = Instant::now();
            let measured = blank::measure(page, Dpi::uniform(300.0), blank::DEFAULT_BLANK_THRESHOLD);
            let blank_time = started.elapsed().as_secs_f64() * 1000.0;
            barcode_ms.push(barcode_time);
            blank_ms.push(blank_time);

            let separator_here = if product_path {
                let findings = registratur_scan::analyse::analyse_page(
                    page,
                    Dpi::uniform(300.0),
                    blank::DEFAULT_BLANK_THRESHOLD,
                );
                findings.symbols.iter().any(|symbol| symbol.text == separator)
            } else {
                symbols.iter().any(|symbol| symbol.text == separator)
            };
            if separator_here {
                found.insert(index);
            }
            let texts: BTreeSet<String> =
                symbols.iter().map(|symbol| format!("{:?}:{}", symbol.symbology, symbol.text)).collect();
            let reference_note = match reference.get(&(name.clone(), index)) {
                Some(expected_texts) if *expected_texts != texts => {
                    reference_mismatches.push(format!("{name} p{index}"));
                    format!("  MISMATCH zxing-cpp: {expected_texts:?}")
                }
                None if reference.contains_key(&(name.clone(), usize::MAX)) && !texts.is_empty() => {
                    reference_mismatches.push(format!("{name} p{index}"));
                    "  MISMATCH zxing-cpp: none".to_owned()
                }
                _ => String::new(),
            };
            println!(
                "  p{index} {}x{}: {texts:?}  barcodes {barcode_time:.1} ms, blank {blank_time:.1} ms (ink {:.5}{}){reference_note}",
                page.width(),
                page.height(),
                measured.ink_ratio,
                if measured.blank { ", blank" } else { "" },
            );
        }
        let pass = found == expected;
        println!("  separators found on {found:?}: {}", if pass { "PASS" } else { "FAIL" });
        if !pass {
            failures.push(name);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);

    println!();
    println!("pages: {}", barcode_ms.len());
    println!("barcodes ms/page: median {:.1}, max {:.1}", median(&mut barcode_ms), max(&barcode_ms));
    println!("blank ms/page: median {:.1}, max {:.1}", median(&mut blank_ms), max(&blank_ms));
    println!("separator failures: {failures:?}");
    if !reference.is_empty() {
        println!("pages whose 1D codes differ from zxing-cpp: {reference_mismatches:?}");
    }
    Ok(())
}

fn extension(path: &Path) -> String {
    path.extension().map(|extension| extension.to_string_lossy().to_lowercase()).unwrap_or_default()
}

/// The pages as the mailroom decodes them, in grey.
fn decode_pages(path: &Path) -> Result<Vec<GrayImage>, Box<dyn std::error::Error>> {
    use registratur_scan::decode::{Limits, open};
    let bytes = std::fs::read(path)?;
    let opened = open(&bytes, &Limits::default(), Dpi::uniform(300.0))?;
    (0..opened.page_count()).map(|page| Ok(opened.page(page)?.raster.to_gray().into_owned())).collect()
}

/// The pages of a PDF (rendered at 300 dpi by pdftoppm) or a TIFF, in grey.
fn load_pages(path: &Path, scratch: &Path) -> Result<Vec<GrayImage>, Box<dyn std::error::Error>> {
    if extension(path) == "pdf" {
        let folder = scratch.join(path.file_stem().unwrap_or_default());
        std::fs::create_dir_all(&folder)?;
        let status = Command::new("pdftoppm")
            .args(["-r", "300", "-gray", "-png"])
            .arg(path)
            .arg(folder.join("page"))
            .status()?;
        if !status.success() {
            return Err(format!("pdftoppm failed with {status}; install poppler-utils").into());
        }
        let mut rendered: Vec<PathBuf> =
            std::fs::read_dir(&folder)?.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
        // pdftoppm pads page numbers to a common width, so the names sort in page order.
        rendered.sort();
        return rendered.iter().map(|file| Ok(image::open(file)?.to_luma8())).collect();
    }
    read_tiff_pages(path)
}

/// Every page of a TIFF in grey; 8-bit grey, grey+alpha, RGB and RGBA are what the samples use.
fn read_tiff_pages(path: &Path) -> Result<Vec<GrayImage>, Box<dyn std::error::Error>> {
    use tiff::ColorType;
    use tiff::decoder::{Decoder, DecodingResult};

    let mut decoder = Decoder::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    let mut pages = Vec::new();
    loop {
        let (width, height) = decoder.dimensions()?;
        let color = decoder.colortype()?;
        let DecodingResult::U8(samples) = decoder.read_image()? else {
            return Err(format!("{color:?} samples are not 8-bit").into());
        };
        let channels = match color {
            ColorType::Gray(8) => 1,
            ColorType::GrayA(8) => 2,
            ColorType::RGB(8) => 3,
            ColorType::RGBA(8) => 4,
            ColorType::Multiband { bit_depth: 8, num_samples } if (1..=4).contains(&num_samples) => {
                usize::from(num_samples)
            }
            other => return Err(format!("colour type {other:?} is not handled here").into()),
        };
        let grey: Vec<u8> = samples
            .chunks_exact(channels)
            .map(|pixel| match channels {
                1 | 2 => pixel[0],
                _ => {
                    ((u32::from(pixel[0]) * 299 + u32::from(pixel[1]) * 587 + u32::from(pixel[2]) * 114)
                        / 1000) as u8
                }
            })
            .collect();
        pages.push(
            GrayImage::from_raw(width, height, grey)
                .ok_or("tiff page has fewer samples than its size says")?,
        );
        if !decoder.more_images() {
            break;
        }
        decoder.next_image()?;
    }
    Ok(pages)
}

/// zxing-cpp's Code 39 / Code 128 texts per (file, page); a file with no 1D code at all is recorded
/// under page `usize::MAX`, so pages where we find one can be flagged.
fn read_reference(path: &Path) -> BTreeMap<(String, usize), BTreeSet<String>> {
    let mut reference: BTreeMap<(String, usize), BTreeSet<String>> = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return reference;
    };
    for line in text.lines() {
        let Some((head, codes)) = line.split_once(" :: ") else {
            continue;
        };
        let Some(file) = head.split_whitespace().next() else {
            continue;
        };
        reference.insert((file.to_owned(), usize::MAX), BTreeSet::new());
        for code in codes.split("; ").filter(|code| !code.is_empty()) {
            let mut parts = code.splitn(3, ':');
            let (Some(page), Some(kind), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let symbology = match kind {
                "Code39" => Symbology::Code39,
                "Code128" => Symbology::Code128,
                _ => continue,
            };
            let Ok(page) = page.trim_start_matches('p').parse::<usize>() else {
                continue;
            };
            let value = value.trim_matches('\'');
            reference.entry((file.to_owned(), page)).or_default().insert(format!("{symbology:?}:{value}"));
        }
    }
    reference
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}
