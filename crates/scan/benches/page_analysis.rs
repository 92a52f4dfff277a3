//! The whole per-page analysis the mailroom runs before splitting (`analyse_page`: blank measure,
//! then QR codes and 1D barcodes on pages with content) on realistic 300 dpi A4 pages from the test-letter generator: a letter with a routing
//! QR code, a letter without any code, a blank duplex back with bleed-through, and a separator sheet.
//! Goal: at most 60 ms median per page.

use criterion::{Criterion, criterion_group, criterion_main};
use image::GrayImage;
use rand::SeedableRng;
use registratur_scan::Dpi;
use registratur_scan::analyse::{analyse_page, blank};
use registratur_testkit::{
    LetterSpec, Routing, blank_back, render_letter, scanner_noise, separator_sheet, skew,
};

const DPI: f32 = 300.0;

fn scanned(page: &GrayImage, seed: u64) -> GrayImage {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut page = skew(page, 0.4);
    scanner_noise(&mut page, 6.0, &mut rng);
    page
}

fn analyse(page: &GrayImage) -> usize {
    let findings = analyse_page(page, Dpi::uniform(DPI), blank::DEFAULT_BLANK_THRESHOLD);
    findings.symbols.len() + usize::from(findings.blank.blank)
}

fn bench(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let letter = |routing| LetterSpec { routing, pages: 1, upside_down: false, expect: String::new() };
    let code = "RG1:A:4711:32.10.05-123/2026:2WF5PG4SHGHFCPBM".to_string();
    let (with_qr, _) = render_letter(&letter(Routing::Qr(code)), DPI, &mut rng).expect("the letter renders");
    let (plain, _) = render_letter(&letter(Routing::Nothing), DPI, &mut rng).expect("the letter renders");
    let pages = [
        ("letter_with_qr", scanned(&with_qr[0], 1)),
        ("letter_without_code", scanned(&plain[0], 2)),
        ("blank_back", scanned(&blank_back(&plain[0]), 3)),
        ("separator_sheet", scanned(&separator_sheet("PATCHT", DPI).expect("the sheet renders"), 4)),
    ];
    assert_eq!(analyse(&pages[0].1), 1, "the routing code must be found");
    assert_eq!(analyse(&pages[2].1), 1, "the blank back must measure blank");
    let mut group = c.benchmark_group("page_analysis_300dpi");
    group.sample_size(20);
    for (name, page) in &pages {
        group.bench_function(*name, |b| b.iter(|| analyse(page)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
