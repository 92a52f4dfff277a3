//! `find_qr_codes` on a synthetic 300 dpi A4 page, with and without a code: the hot path of page
//! analysis, which must stay within its share of the per-page budget.

use criterion::{Criterion, criterion_group, criterion_main};
use image::{GrayImage, Luma};
use registratur_scan::analyse::qr::find_qr_codes;

/// A 2480×3508 page of grey noise with rows of dark strokes, like a typed letter.
fn text_page() -> GrayImage {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 32) as u32
    };
    let mut page = GrayImage::from_fn(2480, 3508, |_, _| Luma([240]));
    for pixel in page.pixels_mut() {
        pixel.0[0] = 234 + (next() % 14) as u8;
    }
    for line in 0..60 {
        let y = 300 + line * 50;
        let mut x = 250;
        while x < 2200 {
            if !next().is_multiple_of(6) {
                let column = x + next() % 12;
                for dy in 0..28 {
                    for dx in 0..3 {
                        page.put_pixel(column + dx, y + dy, Luma([40]));
                    }
                }
            }
            x += 22;
        }
    }
    page
}

fn with_code(page: &GrayImage) -> GrayImage {
    let code = qrcode::QrCode::new(b"https://example.org/akte/2024-000123").expect("the text fits");
    let rendered = code.render::<Luma<u8>>().min_dimensions(236, 236).build();
    let mut page = page.clone();
    image::imageops::overlay(&mut page, &rendered, 1900, 300);
    page
}

fn bench(c: &mut Criterion) {
    let blank = text_page();
    let coded = with_code(&blank);
    assert_eq!(find_qr_codes(&coded).len(), 1, "the bench page must hold a readable code");
    c.bench_function("find_qr_codes/a4_300dpi_text_no_code", |b| b.iter(|| find_qr_codes(&blank)));
    c.bench_function("find_qr_codes/a4_300dpi_text_one_code", |b| b.iter(|| find_qr_codes(&coded)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
