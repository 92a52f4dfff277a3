//! Format migration against Ghostscript (issue 6 target: pages/s at least 10× `gs -dPDFA=2` on the same
//! multi-page 300 dpi TIFF and JPEG inputs, with byte-identical JPEG streams and pixel-identical TIFF
//! pages). A printing main rather than criterion: each side runs seconds, and the numbers that matter
//! are pages/s, their ratio and the identity checks.
//!
//! Inputs, generated here from the test-letter generator (A4, 300 dpi, slightly skewed, scanner noise),
//! one multi-page TIFF per kind, as scanners and capture software write them:
//! - grey deflate, one strip per page, horizontal predictor (embedded unchanged, `flate-stream-identical`);
//! - grey deflate in libtiff's default strips of about 8 KB (3 rows of an A4 page), no predictor;
//! - RGB deflate in libtiff's default strips, horizontal predictor (a colour scan);
//! - grey LZW in libtiff's default strips;
//! - bilevel CCITT G4, one strip per page, as a black-and-white scanner or fax server writes;
//! - grey and RGB JPEG-in-TIFF (quality 85) in 16-row strips with shared tables, as many document
//!   scanners write (strips joined into one JPEG per page, `jpeg-strips-joined-pixel-identical`; the
//!   size the pages had as lossless Flate, before the joining, is printed beside);
//! - and a set of grey JPEG files (quality 85), one page each, as "scan to JPEG" delivers.
//!
//! Ghostscript reads neither TIFF nor (without a PostScript helper) JPEG files as documents, so it
//! gets the fairest input it can read:
//! - TIFF: a PDF holding exactly the images of our output for that TIFF, one page per TIFF page. It is
//!   our own output (generated untimed); gs interprets it as any PDF and rewrites it.
//! - JPEG, two ways: every JPEG file through `viewjpeg.ps` (one gs process per file, as a per-document
//!   migration would run it), and one multi-page PDF wrapping the same JPEG streams (one gs process for
//!   all pages, gs's best case).
//!
//! - TIFF, as an archivist would run it: `tiff2pdf -z` (libtiff-tools) and gs on its PDF, both timed.
//!
//! The gs command is `gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -dPDFA=2
//! -dPDFACompatibilityPolicy=1 -sColorConversionStrategy=RGB`, without a PDFA_def.ps (which only adds
//! the OutputIntent and costs nothing measurable). Ours is `migrate::migrate` including its validation
//! gate (every page checked, the PDF/A checker), single-threaded like gs. Our side runs `OUR_RUNS`
//! times, gs's once, alternating per input kind; the last lines are a summary table.
//!
//! Pages per input: `REGISTRATUR_MIGRATE_PAGES` (default 10). Run it with `scripts/bench-migrate`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::{GrayImage, RgbImage};
use rand::SeedableRng;
use registratur_scan::decode::{self, Limits};
use registratur_scan::identify::{Format, identify};
use registratur_scan::migrate::{self, CheckMethod, Target};
use registratur_scan::page::Raster;
use registratur_scan::pdfa::DocumentInfo;
use registratur_testkit::{
    JpegTiffOptions, LetterSpec, Routing, TiffCompression, TiffOptions, TiffPage, render_letter,
    scanner_noise, skew,
};

const DPI: f32 = 300.0;
const JPEG_QUALITY: u8 = 85;
/// Our side runs this many times and reports the fastest, which is what a warmed-up worker sees; gs runs
/// once per input (each run is seconds long, so start-up noise is small relative to it).
const OUR_RUNS: usize = 3;

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let pages: u32 =
        std::env::var("REGISTRATUR_MIGRATE_PAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let work = std::env::temp_dir().join(format!("registratur-bench-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("temporary directory");
    let gs = Command::new("gs").arg("--version").output().is_ok_and(|out| out.status.success());
    if !gs {
        println!("gs (ghostscript) is not installed; scripts/bench-migrate installs it. Only our side runs.");
    }

    println!("generating {pages} A4 pages at {DPI} dpi ...");
    let (grey, bilevel, colour) = generate(pages);
    let grey_pages: Vec<TiffPage<'_>> = grey.iter().map(TiffPage::Gray).collect();
    let colour_pages: Vec<TiffPage<'_>> = colour.iter().map(TiffPage::Rgb).collect();
    let libtiff_grey = TiffOptions::libtiff_rows_per_strip(grey[0].width());
    let libtiff_rgb = TiffOptions::libtiff_rows_per_strip(colour[0].width() * 3);
    let tiff = |pages: &[TiffPage<'_>], compression, rows_per_strip, predictor| {
        let options = TiffOptions { compression, rows_per_strip, predictor };
        registratur_testkit::write_tiff_with(pages, DPI, options).expect("TIFF")
    };
    let jpeg_strips = JpegTiffOptions { quality: JPEG_QUALITY, rows_per_strip: 16, shared_tables: true };
    let tiffs: Vec<(&str, Vec<u8>, CheckMethod)> = vec![
        (
            "grey deflate, 1 strip/page, predictor 2",
            tiff(&grey_pages, TiffCompression::Deflate, Some(grey[0].height()), true),
            CheckMethod::FlateStreamIdentical,
        ),
        (
            "grey deflate, libtiff 8 KB strips",
            tiff(&grey_pages, TiffCompression::Deflate, Some(libtiff_grey), false),
            CheckMethod::PixelIdentical,
        ),
        (
            "RGB deflate, libtiff 8 KB strips, predictor 2",
            tiff(&colour_pages, TiffCompression::Deflate, Some(libtiff_rgb), true),
            CheckMethod::PixelIdentical,
        ),
        (
            "grey LZW, libtiff 8 KB strips",
            tiff(&grey_pages, TiffCompression::Lzw, Some(libtiff_grey), false),
            CheckMethod::PixelIdentical,
        ),
        (
            "bilevel CCITT G4, 1 strip/page",
            registratur_testkit::write_g4_tiff(&bilevel, DPI).expect("G4 TIFF"),
            CheckMethod::CcittStreamIdentical,
        ),
        (
            "grey JPEG q85, 16-row strips, shared tables",
            registratur_testkit::write_jpeg_tiff(&grey_pages, DPI, jpeg_strips).expect("JPEG TIFF"),
            CheckMethod::JoinedJpegPixelIdentical,
        ),
        (
            "RGB JPEG q85, 16-row strips, shared tables",
            registratur_testkit::write_jpeg_tiff(&colour_pages, DPI, jpeg_strips).expect("JPEG TIFF"),
            CheckMethod::JoinedJpegPixelIdentical,
        ),
    ];
    let jpegs: Vec<Vec<u8>> = grey.iter().map(jpeg).collect();
    let mut summary = Vec::new();

    for (label, input, expected_method) in &tiffs {
        println!("\n== multi-page TIFF: {label} ({:.1} MB) -> PDF/A-2b ==", mb(input.len()));
        let ours = time_ours(std::slice::from_ref(input));
        breakdown(input);
        let gate = ours.methods.iter().filter(|method| *method == expected_method).count();
        println!("ours: validation gate: {gate}/{pages} pages {}", expected_method.as_str());
        report_pixels(&ours.outputs[0], input);
        if *expected_method == CheckMethod::JoinedJpegPixelIdentical {
            println!(
                "before the strips were joined (decoded, lossless Flate): output {:.1} MB",
                mb(lossless_size(input))
            );
        }
        if gs {
            let path = work.join("tiff-as.pdf");
            std::fs::write(&path, &ours.outputs[0]).expect("write gs input");
            let (seconds, _) = time_gs_pdf(&work, &path);
            summary.push(compare(
                &format!("{label}: gs on a PDF of the same images"),
                pages,
                ours.seconds,
                seconds,
            ));
            if let Some(seconds) = time_tiff2pdf_gs(&work, input) {
                summary.push(compare(
                    &format!("{label}: tiff2pdf -z | gs on the TIFF"),
                    pages,
                    ours.seconds,
                    seconds,
                ));
            }
        }
    }

    println!("\n== {pages} JPEG files (grey, quality {JPEG_QUALITY}) -> one PDF/A-2b each ==");
    let ours = time_ours(&jpegs);
    let identical = ours.outputs.iter().zip(&jpegs).filter(|(pdf, jpeg)| contains(pdf, jpeg)).count();
    let gate = ours.methods.iter().filter(|method| **method == CheckMethod::JpegStreamIdentical).count();
    println!(
        "ours: JPEG streams byte-identical in the output: {identical}/{pages} (validation gate: {gate}/{pages} pages jpeg-stream-identical)"
    );
    if gs {
        let files: Vec<PathBuf> = jpegs
            .iter()
            .enumerate()
            .map(|(index, jpeg)| {
                let path = work.join(format!("page-{index:03}.jpg"));
                std::fs::write(&path, jpeg).expect("write JPEG");
                path
            })
            .collect();
        match viewjpeg() {
            Some(viewjpeg) => {
                let (seconds, outputs) = time_gs_jpegs(&work, &viewjpeg, &files);
                let kept = outputs.iter().zip(&jpegs).filter(|(pdf, jpeg)| contains(pdf, jpeg)).count();
                summary.push(compare(
                    "JPEG files: gs viewjpeg.ps, one process per JPEG file",
                    pages,
                    ours.seconds,
                    seconds,
                ));
                println!("gs: JPEG streams byte-identical in its outputs: {kept}/{pages}");
            }
            None => println!("viewjpeg.ps not found; skipped gs on JPEG files"),
        }
        let wrapper = work.join("jpegs.pdf");
        let pdf = registratur_testkit::write_jpeg_pdf(&grey, DPI, JPEG_QUALITY).expect("JPEG PDF");
        let same = jpegs.iter().filter(|jpeg| contains(&pdf, jpeg)).count();
        std::fs::write(&wrapper, &pdf).expect("write gs input");
        let (seconds, outputs) = time_gs_pdf(&work, &wrapper);
        let kept = jpegs.iter().filter(|jpeg| outputs.first().is_some_and(|out| contains(out, jpeg))).count();
        summary.push(compare(
            &format!("JPEG files: gs on one {pages}-page PDF wrapping the same JPEG streams ({same}/{pages} identical)"),
            pages,
            ours.seconds,
            seconds,
        ));
        println!("gs: JPEG streams byte-identical in its output: {kept}/{pages}");
    }
    if !summary.is_empty() {
        println!("\n== summary: pages/s, ours vs gs (goal >= 10x) ==");
        for line in &summary {
            println!("{line}");
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// Letter pages as scanned: grey with skew and noise, the same letters thresholded to bilevel, and
/// colour scans of them (slightly yellowish paper, independent noise per channel).
fn generate(pages: u32) -> (Vec<GrayImage>, Vec<GrayImage>, Vec<RgbImage>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let spec = LetterSpec { routing: Routing::Nothing, pages, upside_down: false, expect: String::new() };
    let (clean, _) =
        render_letter(&spec, DPI, &mut rng).expect("the letter renders (needs fonts-dejavu-core)");
    let grey: Vec<GrayImage> = clean
        .iter()
        .map(|page| {
            let mut page = skew(page, 0.3);
            scanner_noise(&mut page, 5.0, &mut rng);
            page
        })
        .collect();
    let bilevel = clean
        .iter()
        .map(|page| {
            let mut page = skew(page, 0.3);
            page.pixels_mut().for_each(|pixel| pixel.0[0] = if pixel.0[0] < 160 { 0 } else { 255 });
            page
        })
        .collect();
    let colour = clean
        .iter()
        .map(|page| {
            let skewed = skew(page, 0.3);
            let channels: Vec<GrayImage> = [1.0, 0.97, 0.88]
                .iter()
                .map(|&tint| {
                    let mut channel = skewed.clone();
                    channel.pixels_mut().for_each(|pixel| pixel.0[0] = (f32::from(pixel.0[0]) * tint) as u8);
                    scanner_noise(&mut channel, 5.0, &mut rng);
                    channel
                })
                .collect();
            RgbImage::from_fn(skewed.width(), skewed.height(), |x, y| {
                image::Rgb([0, 1, 2].map(|c| channels[c].get_pixel(x, y).0[0]))
            })
        })
        .collect();
    (grey, bilevel, colour)
}

fn jpeg(page: &GrayImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode_image(page)
        .expect("JPEG");
    bytes
}

struct Ours {
    seconds: f64,
    outputs: Vec<Vec<u8>>,
    methods: Vec<CheckMethod>,
}

/// The document metadata every output of this bench carries.
fn bench_info() -> DocumentInfo {
    DocumentInfo {
        title: "Benchmark".into(),
        author: None,
        creator_tool: "registratur bench".into(),
        created_unix_seconds: 1_763_900_000,
        document_id: [9; 16],
    }
}

/// Migrates every input (one document each), `OUR_RUNS` times; the fastest run counts.
fn time_ours(inputs: &[Vec<u8>]) -> Ours {
    let limits = Limits::default();
    let info = bench_info();
    let mut best = f64::INFINITY;
    let mut outputs = Vec::new();
    let mut methods = Vec::new();
    for _ in 0..OUR_RUNS {
        outputs.clear();
        methods.clear();
        let start = Instant::now();
        for input in inputs {
            let migrated = migrate::migrate(input, identify(input), Target::PdfA2b, &limits, &info)
                .unwrap_or_else(|error| panic!("migration fails: {error}"));
            methods.extend(migrated.validation.pages.iter().map(|page| page.method));
            outputs.push(migrated.pdf);
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    let pages = methods.len();
    println!(
        "ours: {pages} pages in {best:.3} s = {:.1} pages/s (validation gate included; output {:.1} MB)",
        pages as f64 / best,
        mb(outputs.iter().map(Vec::len).sum())
    );
    Ours { seconds: best, outputs, methods }
}

/// Where our time goes for one input: decoding the source, writing, and the gate's parts.
fn breakdown(input: &[u8]) {
    let limits = Limits::default();
    let dpi = registratur_scan::Dpi::uniform(DPI);
    let start = Instant::now();
    let opened = decode::open(input, &limits, dpi).expect("opens");
    let pages: Vec<_> = (0..opened.page_count()).map(|index| opened.page(index).expect("decodes")).collect();
    let decoded = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let rendition: Vec<_> = pages
        .iter()
        .map(|page| registratur_scan::pdfa::RenditionPage {
            page,
            turns: registratur_scan::QuarterTurns::NONE,
            words: &[],
        })
        .collect();
    let info = bench_info();
    let pdf = registratur_scan::pdfa::write_pdfa(&rendition, &info).expect("writes");
    let written = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let report = registratur_scan::pdfa::check(&pdf);
    let checked = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let validation = migrate::validate(&pages, &pdf, &limits);
    let validated = start.elapsed().as_secs_f64();
    assert!(report.is_valid() && validation.passed());
    let per_page = |seconds: f64| seconds * 1000.0 / pages.len() as f64;
    println!(
        "ours per page: decode source {:.1} ms, write PDF/A {:.1} ms, gate {:.1} ms (of which pdfa::check {:.1} ms)",
        per_page(decoded),
        per_page(written),
        per_page(validated),
        per_page(checked)
    );
}

/// The size of a PDF/A of `input`'s pages decoded and stored losslessly, without embedding any stream.
fn lossless_size(input: &[u8]) -> usize {
    let opened = decode::open(input, &Limits::default(), registratur_scan::Dpi::uniform(DPI)).expect("opens");
    let pages: Vec<_> = (0..opened.page_count())
        .map(|index| registratur_scan::Page { embedded: None, ..opened.page(index).expect("decodes") })
        .collect();
    let rendition: Vec<_> = pages
        .iter()
        .map(|page| registratur_scan::pdfa::RenditionPage {
            page,
            turns: registratur_scan::QuarterTurns::NONE,
            words: &[],
        })
        .collect();
    registratur_scan::pdfa::write_pdfa(&rendition, &bench_info()).expect("writes").len()
}

/// Re-reads our output independently of the gate (whatever check the gate chose) and compares every
/// page, fully decoded, with the source TIFF's page decoded.
fn report_pixels(pdf: &[u8], source: &[u8]) {
    assert_eq!(identify(pdf), Format::PDFA_2B);
    let dpi = registratur_scan::Dpi::uniform(DPI);
    let limits = Limits::default();
    let output = decode::open(pdf, &limits, dpi).expect("output opens");
    let source = decode::open(source, &limits, dpi).expect("source opens");
    let samples = |raster: Raster| match raster {
        Raster::Gray(image) | Raster::Bilevel(image) => image.into_raw(),
        Raster::Rgb(image) => image.into_raw(),
    };
    let identical = (0..source.page_count())
        .filter(|&index| {
            let out = output.page(index).expect("output page decodes").raster;
            let src = source.page(index).expect("source page decodes").raster;
            std::mem::discriminant(&out) == std::mem::discriminant(&src) && samples(out) == samples(src)
        })
        .count();
    println!(
        "ours: pages pixel-identical to the TIFF's pages (decoded independently): {identical}/{}",
        source.page_count()
    );
}

/// `gs -dPDFA=2` on one PDF; returns the seconds and the output.
fn time_gs_pdf(work: &Path, input: &Path) -> (f64, Vec<Vec<u8>>) {
    let output = work.join("gs-out.pdf");
    let start = Instant::now();
    let status = gs_command(&output).arg(input).status().expect("gs runs");
    let seconds = start.elapsed().as_secs_f64();
    assert!(status.success(), "gs failed on {}", input.display());
    (seconds, vec![std::fs::read(&output).expect("gs output")])
}

/// The tool chain an archivist runs on a TIFF with Ghostscript: libtiff's `tiff2pdf -z` (page streams
/// passed through where PDF can hold them, Zip otherwise), then `gs -dPDFA=2` on its PDF; the seconds of
/// both. `None` when tiff2pdf (Debian libtiff-tools) is missing or fails.
fn time_tiff2pdf_gs(work: &Path, tiff: &[u8]) -> Option<f64> {
    let input = work.join("input.tif");
    let converted = work.join("tiff2pdf.pdf");
    std::fs::write(&input, tiff).expect("write the TIFF");
    let start = Instant::now();
    let status = Command::new("tiff2pdf").arg("-z").arg("-o").arg(&converted).arg(&input).status().ok()?;
    if !status.success() {
        println!("tiff2pdf failed on the TIFF; skipped that peer");
        return None;
    }
    let (gs_seconds, _) = time_gs_pdf(work, &converted);
    Some(start.elapsed().as_secs_f64().max(gs_seconds))
}

/// `gs -dPDFA=2` with viewjpeg.ps, one process per JPEG file.
fn time_gs_jpegs(work: &Path, viewjpeg: &Path, files: &[PathBuf]) -> (f64, Vec<Vec<u8>>) {
    let mut outputs = Vec::new();
    let start = Instant::now();
    for (index, file) in files.iter().enumerate() {
        let output = work.join(format!("gs-jpeg-{index:03}.pdf"));
        let status = gs_command(&output)
            .arg(format!("--permit-file-read={}", file.display()))
            .arg(viewjpeg)
            .arg("-c")
            .arg(format!("({}) viewJPEG", file.display()))
            .status()
            .expect("gs runs");
        assert!(status.success(), "gs failed on {}", file.display());
        outputs.push(output);
    }
    let seconds = start.elapsed().as_secs_f64();
    (seconds, outputs.iter().map(|path| std::fs::read(path).expect("gs output")).collect())
}

fn gs_command(output: &Path) -> Command {
    let mut command = Command::new("gs");
    command.args([
        "-q",
        "-dSAFER",
        "-dBATCH",
        "-dNOPAUSE",
        "-sDEVICE=pdfwrite",
        "-dPDFA=2",
        "-dPDFACompatibilityPolicy=1",
        "-sColorConversionStrategy=RGB",
    ]);
    command.arg(format!("-sOutputFile={}", output.display()));
    command
}

fn viewjpeg() -> Option<PathBuf> {
    let root = Path::new("/usr/share/ghostscript");
    std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("lib/viewjpeg.ps"))
        .find(|path| path.exists())
}

/// Prints and returns one comparison line.
fn compare(label: &str, pages: u32, ours: f64, gs: f64) -> String {
    let (ours_rate, gs_rate) = (f64::from(pages) / ours, f64::from(pages) / gs);
    let line = format!(
        "{label}: ours {ours_rate:.2} pages/s, gs {gs_rate:.2} pages/s ({pages} pages in {gs:.3} s) -> ours/gs = {:.1}x (goal >= 10x)",
        ours_rate / gs_rate
    );
    println!("{line}");
    line
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}
