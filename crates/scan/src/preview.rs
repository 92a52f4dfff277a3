//! Small pictures of pages for people: the upright grey PNG a clerk looks at to decide a Klärfall.
//! Not archival (the rendition is): downscaled, grey, and made again whenever needed.

use std::io::Cursor;

use crate::page::{Page, QuarterTurns};
use crate::read::turn;

/// A small upright grey PNG of `page`: scaled down to `dpi` (never up), turned by `turns` quarter
/// turns clockwise. Fails only when the PNG encoder does.
pub fn preview_png(page: &Page, turns: QuarterTurns, dpi: f32) -> Result<Vec<u8>, image::ImageError> {
    let gray = page.raster.to_gray();
    let scale = (dpi / page.dpi.x.max(1.0)).min(1.0);
    let width = ((gray.width() as f32 * scale).round() as u32).max(1);
    let height = ((gray.height() as f32 * scale).round() as u32).max(1);
    let small = image::imageops::resize(&*gray, width, height, image::imageops::FilterType::Triangle);
    let upright = turn(&small, turns);
    let mut png = Vec::new();
    upright.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use image::{GrayImage, Luma};

    use super::*;
    use crate::page::{Dpi, Raster};

    #[test]
    fn a_preview_is_scaled_down_to_its_resolution_and_turned_upright() {
        // 300 dpi, 600 × 300 pixels, with a black square in the top left corner as scanned.
        let mut gray = GrayImage::from_pixel(600, 300, Luma([255]));
        for y in 0..60 {
            for x in 0..60 {
                gray.put_pixel(x, y, Luma([0]));
            }
        }
        let page = Page { raster: Raster::Gray(gray), dpi: Dpi::uniform(300.0), embedded: None };

        let png = preview_png(&page, QuarterTurns::HALF, 60.0).expect("encodes");
        let preview = image::load_from_memory(&png).expect("a PNG").to_luma8();
        assert_eq!(preview.dimensions(), (120, 60), "scaled to a fifth");
        // Turned half way: the square is now bottom right.
        assert!(preview.get_pixel(117, 57).0[0] < 64);
        assert!(preview.get_pixel(2, 2).0[0] > 192);

        // Never scaled up; a quarter turn swaps the sides.
        let png = preview_png(&page, QuarterTurns::new(1), 600.0).expect("encodes");
        let preview = image::load_from_memory(&png).expect("a PNG").to_luma8();
        assert_eq!(preview.dimensions(), (300, 600));
    }
}
