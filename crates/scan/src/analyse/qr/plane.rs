//! A plain grey picture with the few resampling and filtering steps the QR search needs.
//!
//! The search touches every pixel several times, so it works on a flat `Vec<u8>` without the
//! per-pixel bounds checks and generic dispatch of `image`'s accessors.

use std::borrow::Cow;

use image::GrayImage;

/// An 8-bit grey picture, row by row, 0 black and 255 white.
#[derive(Clone, Debug)]
pub(super) struct Plane<'a> {
    pub width: usize,
    pub height: usize,
    /// Borrowed from the page (which is not copied), owned for derived pictures.
    pub pixels: Cow<'a, [u8]>,
}

impl<'a> Plane<'a> {
    /// The page as a plane, or `None` when it has no pixels or its buffer does not match its size.
    pub fn from_gray(page: &'a GrayImage) -> Option<Plane<'a>> {
        let width = usize::try_from(page.width()).ok()?;
        let height = usize::try_from(page.height()).ok()?;
        let pixels = page.as_raw();
        if width == 0 || height == 0 || pixels.len() < width.checked_mul(height)? {
            return None;
        }
        Some(Plane { width, height, pixels: Cow::Borrowed(&pixels[..width * height]) })
    }

    /// A rectangle of the plane, clamped to it; `None` when nothing of it lies inside.
    pub fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Option<Plane<'static>> {
        let x1 = x1.min(self.width);
        let y1 = y1.min(self.height);
        if x0 >= x1 || y0 >= y1 {
            return None;
        }
        let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            pixels.extend_from_slice(&self.pixels[y * self.width + x0..y * self.width + x1]);
        }
        Some(Plane { width: x1 - x0, height: y1 - y0, pixels: Cow::Owned(pixels) })
    }

    /// Averages `factor`×`factor` blocks; the last partial blocks are dropped.
    pub fn downscale_box(&self, factor: usize) -> Plane<'static> {
        let factor = factor.max(1);
        let width = (self.width / factor).max(1);
        let height = (self.height / factor).max(1);
        let factor_x = factor.min(self.width);
        let factor_y = factor.min(self.height);
        let area = (factor_x * factor_y) as u32;
        let mut sums = vec![0u32; width];
        let mut pixels = Vec::with_capacity(width * height);
        for out_y in 0..height {
            sums.fill(0);
            for y in out_y * factor_y..(out_y + 1) * factor_y {
                let row = &self.pixels[y * self.width..y * self.width + width * factor_x];
                for (sum, chunk) in sums.iter_mut().zip(row.chunks_exact(factor_x)) {
                    *sum += chunk.iter().map(|&v| u32::from(v)).sum::<u32>();
                }
            }
            pixels.extend(sums.iter().map(|&sum| ((sum + area / 2) / area) as u8));
        }
        Plane { width, height, pixels: Cow::Owned(pixels) }
    }

    /// Doubles the size with bilinear interpolation, so that small modules get enough pixels for the
    /// finder pattern search.
    pub fn upscale2(&self) -> Plane<'static> {
        self.resize(self.width * 2, self.height * 2)
    }

    /// Bilinear resampling to `width`×`height` (pixel centres aligned).
    pub fn resize(&self, width: usize, height: usize) -> Plane<'static> {
        let width = width.max(1);
        let height = height.max(1);
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let max_x = self.width - 1;
        let max_y = self.height - 1;
        let columns: Vec<(usize, usize, f32)> = (0..width)
            .map(|x| {
                let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
                let x0 = (fx as usize).min(max_x);
                (x0, (x0 + 1).min(max_x), fx - x0 as f32)
            })
            .collect();
        let mut pixels = Vec::with_capacity(width * height);
        for y in 0..height {
            let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
            let y0 = (fy as usize).min(max_y);
            let y1 = (y0 + 1).min(max_y);
            let wy = fy - y0 as f32;
            let row0 = &self.pixels[y0 * self.width..(y0 + 1) * self.width];
            let row1 = &self.pixels[y1 * self.width..(y1 + 1) * self.width];
            for &(x0, x1, wx) in &columns {
                let top = f32::from(row0[x0]) * (1.0 - wx) + f32::from(row0[x1]) * wx;
                let bottom = f32::from(row1[x0]) * (1.0 - wx) + f32::from(row1[x1]) * wx;
                pixels.push((top * (1.0 - wy) + bottom * wy + 0.5) as u8);
            }
        }
        Plane { width, height, pixels: Cow::Owned(pixels) }
    }

    /// A 3×3 box blur (edges repeat), which takes the edge off scanner noise and JPEG artefacts.
    pub fn blur3(&self) -> Plane<'static> {
        let (w, h) = (self.width, self.height);
        let mut horizontal = vec![0u16; w * h];
        for y in 0..h {
            let row = &self.pixels[y * w..(y + 1) * w];
            for x in 0..w {
                let left = row[x.saturating_sub(1)];
                let right = row[(x + 1).min(w - 1)];
                horizontal[y * w + x] = u16::from(left) + u16::from(row[x]) + u16::from(right);
            }
        }
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            let up = y.saturating_sub(1) * w;
            let here = y * w;
            let down = (y + 1).min(h - 1) * w;
            for x in 0..w {
                let sum = horizontal[up + x] + horizontal[here + x] + horizontal[down + x];
                pixels.push(((sum + 4) / 9) as u8);
            }
        }
        Plane { width: w, height: h, pixels: Cow::Owned(pixels) }
    }

    /// A 3×3 median filter (edges repeat), which removes salt-and-pepper noise but keeps edges.
    pub fn median3(&self) -> Plane<'static> {
        let (w, h) = (self.width, self.height);
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            let rows = [y.saturating_sub(1), y, (y + 1).min(h - 1)];
            for x in 0..w {
                let columns = [x.saturating_sub(1), x, (x + 1).min(w - 1)];
                let mut window = [0u8; 9];
                for (i, &row) in rows.iter().enumerate() {
                    for (j, &column) in columns.iter().enumerate() {
                        window[i * 3 + j] = self.pixels[row * w + column];
                    }
                }
                window.sort_unstable();
                pixels.push(window[4]);
            }
        }
        Plane { width: w, height: h, pixels: Cow::Owned(pixels) }
    }
}
