//! A second sampling of grids that `rqrr` located but could not read, on the grey picture.
//!
//! `rqrr` samples every module at one pixel of its black-and-white picture: on photos of codes a
//! single pixel often lands on the wrong side of a blurred edge, a smear of texture or a threshold
//! that was right for the neighbourhood but not for the module, and more modules come out wrong than
//! error correction can repair. This module takes the grid's corners (which `rqrr` reports) and
//! samples every module again on the grey picture: it averages a few points around the module's
//! centre, thresholds against the grey values of the module's neighbours instead of the pixels', and
//! tries small shifts of the grid, moves of single corners and the neighbouring versions, because
//! `rqrr`'s estimate of the code's size and position is often a little off on exactly these codes
//! (a code on a curved surface fits no perspective exactly; moving one corner fits it better in
//! that corner's half). Every reading goes through the Reed-Solomon check of every block in
//! `payload`, so a bad sampling yields nothing rather than a wrong text.

use rqrr::BitGrid;

use super::payload;
use super::plane::Plane;

/// A grid `rqrr` located: its size in modules, and where it mapped the module coordinates (0, 0),
/// (size + 1, 0), (size + 1, size + 1) and (0, size + 1), in pixels of the picture it looked at.
#[derive(Clone, Copy, Debug)]
pub(super) struct Located {
    pub size: usize,
    pub corners: [(f64, f64); 4],
}

impl Located {
    /// Whether `other` is (nearly) the same grid, so that sampling it again is wasted effort.
    pub fn same_as(&self, other: &Located) -> bool {
        let module = self.module_size();
        self.size == other.size
            && self
                .corners
                .iter()
                .zip(&other.corners)
                .all(|(a, b)| (a.0 - b.0).hypot(a.1 - b.1) < module * 0.5)
    }

    /// The mean length of a module, in pixels.
    fn module_size(&self) -> f64 {
        let [a, b, c, d] = self.corners;
        let side = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
        (side(a, b) + side(b, c) + side(c, d) + side(d, a)) / 4.0 / (self.size as f64 + 1.0)
    }
}

/// The text of the located grid, sampled again on `plane` (the picture the corners refer to), or
/// `None` when no sampling passes error correction.
pub(super) fn read(plane: &Plane<'_>, located: &Located) -> Option<String> {
    let size = located.size;
    let span = size as f64 + 1.0;
    let module = located.module_size();
    // `rqrr` found the finder patterns at the right place, so the code's outline is right even when
    // the number of modules between them is not: a neighbouring version stretches the same outline.
    let sizes = [size, size + 4, size.saturating_sub(4)];
    for candidate in sizes {
        if !(21..=177).contains(&candidate) {
            continue;
        }
        let stretch = size as f64 / candidate as f64;
        for corners in corner_variants(located.corners, module) {
            let Some(map) = Perspective::square_to_quad(span, corners) else {
                continue;
            };
            // Moving a corner and shifting the grid at once are rarely both needed, and every
            // combination costs a sampling.
            let offsets = if corners == located.corners { &OFFSETS[..] } else { &OFFSETS[..1] };
            for &(dx, dy) in offsets {
                let grey = sample(plane, candidate, |u, v| map.map((u + dx) * stretch, (v + dy) * stretch));
                if let Some(text) = threshold_and_read(&grey, candidate) {
                    return Some(text);
                }
            }
        }
    }
    None
}

/// The corners as located, then with one corner moved by half a module in each direction: on a
/// curved or unevenly stretched code, one corner of the perspective is often off more than the
/// others.
fn corner_variants(corners: [(f64, f64); 4], module: f64) -> Vec<[(f64, f64); 4]> {
    let step = module * 0.5;
    let mut variants = vec![corners];
    for i in 0..4 {
        for (dx, dy) in [(-step, 0.0), (step, 0.0), (0.0, -step), (0.0, step)] {
            let mut moved = corners;
            moved[i] = (moved[i].0 + dx, moved[i].1 + dy);
            variants.push(moved);
        }
    }
    variants
}

/// Shifts of the whole grid, in modules, tried in turn: `rqrr` places its grid by the corners of the
/// finder patterns, which blur and curvature move by a fraction of a module.
const OFFSETS: [(f64, f64); 9] = [
    (0.0, 0.0),
    (-0.3, 0.0),
    (0.3, 0.0),
    (0.0, -0.3),
    (0.0, 0.3),
    (-0.3, -0.3),
    (0.3, 0.3),
    (-0.3, 0.3),
    (0.3, -0.3),
];

/// The grey value of every module (row by row), averaged over a few points around its centre;
/// `position` maps module coordinates to pixels.
fn sample(plane: &Plane<'_>, size: usize, position: impl Fn(f64, f64) -> (f64, f64)) -> Vec<f64> {
    const POINTS: [f64; 3] = [-0.2, 0.0, 0.2];
    let mut grey = Vec::with_capacity(size * size);
    for y in 0..size {
        for x in 0..size {
            let mut sum = 0.0;
            for dv in POINTS {
                for du in POINTS {
                    let (px, py) = position(x as f64 + 0.5 + du, y as f64 + 0.5 + dv);
                    sum += bilinear(plane, px, py);
                }
            }
            grey.push(sum / 9.0);
        }
    }
    grey
}

/// The grey value at (`x`, `y`), interpolated; outside the picture it is white, as a quiet zone is.
fn bilinear(plane: &Plane<'_>, x: f64, y: f64) -> f64 {
    if !(x.is_finite() && y.is_finite()) || x < 0.0 || y < 0.0 {
        return 255.0;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (ix, iy) = (x0 as usize, y0 as usize);
    if ix + 1 >= plane.width || iy + 1 >= plane.height {
        return 255.0;
    }
    let (fx, fy) = (x - x0, y - y0);
    let at = |x: usize, y: usize| f64::from(plane.pixels[y * plane.width + x]);
    let top = at(ix, iy) * (1.0 - fx) + at(ix + 1, iy) * fx;
    let bottom = at(ix, iy + 1) * (1.0 - fx) + at(ix + 1, iy + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Tries a global and two local thresholds on the modules' grey values.
fn threshold_and_read(grey: &[f64], size: usize) -> Option<String> {
    let global = otsu(grey);
    let grid = Modules { size, dark: grey.iter().map(|&g| g < global).collect() };
    if let Some(text) = payload::read(&grid) {
        return Some(text);
    }
    for radius in [2, 4] {
        let local = local_means(grey, size, radius);
        let dark = grey.iter().zip(&local).map(|(&g, &mean)| g < (mean + global) / 2.0).collect();
        if let Some(text) = payload::read(&Modules { size, dark }) {
            return Some(text);
        }
    }
    None
}

/// The threshold that best splits `values` into two classes (Otsu's method).
fn otsu(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let total: f64 = sorted.iter().sum();
    let count = sorted.len() as f64;
    let (mut best, mut best_variance) = (total / count.max(1.0), -1.0);
    let mut below = 0.0;
    for (i, &value) in sorted.iter().enumerate().take(sorted.len().saturating_sub(1)) {
        below += value;
        let n0 = (i + 1) as f64;
        let n1 = count - n0;
        let mean0 = below / n0;
        let mean1 = (total - below) / n1;
        let variance = n0 * n1 * (mean0 - mean1) * (mean0 - mean1);
        if variance > best_variance {
            best_variance = variance;
            best = (value + sorted[i + 1]) / 2.0;
        }
    }
    best
}

/// The mean grey value of the modules within `radius` modules of every module.
fn local_means(grey: &[f64], size: usize, radius: usize) -> Vec<f64> {
    let mut means = Vec::with_capacity(grey.len());
    for y in 0..size {
        for x in 0..size {
            let (mut sum, mut count) = (0.0, 0.0);
            for yy in y.saturating_sub(radius)..(y + radius + 1).min(size) {
                for xx in x.saturating_sub(radius)..(x + radius + 1).min(size) {
                    sum += grey[yy * size + xx];
                    count += 1.0;
                }
            }
            means.push(sum / count);
        }
    }
    means
}

/// Sampled modules, row by row.
struct Modules {
    size: usize,
    dark: Vec<bool>,
}

impl BitGrid for Modules {
    fn size(&self) -> usize {
        self.size
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.dark.get(y * self.size + x).copied().unwrap_or(false)
    }
}

/// A projective map from a square of side `span` to a quadrilateral.
struct Perspective {
    span: f64,
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    e: f64,
    f: f64,
    g: f64,
    h: f64,
}

impl Perspective {
    /// The map taking (0, 0), (span, 0), (span, span), (0, span) to the four `corners` in order, or
    /// `None` when the corners are degenerate.
    fn square_to_quad(span: f64, corners: [(f64, f64); 4]) -> Option<Perspective> {
        let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = corners;
        let (dx1, dx2, dx3) = (x1 - x2, x3 - x2, x0 - x1 + x2 - x3);
        let (dy1, dy2, dy3) = (y1 - y2, y3 - y2, y0 - y1 + y2 - y3);
        let det = dx1 * dy2 - dx2 * dy1;
        if det.abs() < 1e-9 || span <= 0.0 {
            return None;
        }
        let g = (dx3 * dy2 - dx2 * dy3) / det;
        let h = (dx1 * dy3 - dx3 * dy1) / det;
        Some(Perspective {
            span,
            a: x1 - x0 + g * x1,
            b: x3 - x0 + h * x3,
            c: x0,
            d: y1 - y0 + g * y1,
            e: y3 - y0 + h * y3,
            f: y0,
            g,
            h,
        })
    }

    fn map(&self, u: f64, v: f64) -> (f64, f64) {
        let (u, v) = (u / self.span, v / self.span);
        let w = self.g * u + self.h * v + 1.0;
        ((self.a * u + self.b * v + self.c) / w, (self.d * u + self.e * v + self.f) / w)
    }
}

#[cfg(test)]
mod tests {
    use image::{GrayImage, Luma};

    use super::*;

    /// A code for `text` with `module` pixels per module and a 4-module quiet zone, and its width in
    /// modules.
    fn code(text: &str, module: u32) -> (GrayImage, usize) {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("the text fits a qr code");
        let image = code.render::<Luma<u8>>().quiet_zone(true).module_dimensions(module, module).build();
        (image, code.width())
    }

    fn plane(image: &GrayImage) -> Plane<'_> {
        Plane::from_gray(image).expect("the picture has pixels")
    }

    #[test]
    fn reads_a_clean_code_like_rqrr_where_rqrr_located_it() {
        let (image, _) = code("Registratur 2024/0815", 6);
        let mut prepared = rqrr::PreparedImage::prepare(image.clone());
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, expected) = grids[0].decode().expect("rqrr reads a clean code");
        let located = Located {
            size: grids[0].grid.size(),
            corners: grids[0].bounds.map(|p| (f64::from(p.x), f64::from(p.y))),
        };
        assert_eq!(read(&plane(&image), &located).as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn reads_a_blurred_shaded_code_whose_size_was_misjudged() {
        let text = "https://example.org/akte/2024-000123";
        let (image, width) = code(text, 5);
        // Blur, a shadow across the code and noise: the dark modules on the light side are lighter
        // than the light modules on the shadowed side.
        let blurred = image::imageops::blur(&image, 1.6);
        let mut state = 0x9e37_79b9_u32;
        let shaded = GrayImage::from_fn(image.width(), image.height(), |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let shade = 0.35 + 0.65 * f64::from(x) / f64::from(image.width());
            let noise = f64::from(state % 41) - 20.0;
            Luma([(f64::from(blurred.get_pixel(x, y).0[0]) * shade + noise).clamp(0.0, 255.0) as u8])
        });
        // The code proper starts after the 4-module quiet zone; a grid one version too large spans
        // the same outline with smaller modules, and its corners sit a little off.
        let size = width + 4;
        let module = 5.0 * width as f64 / size as f64;
        let (start, end) = (20.0, 20.0 + module * (size as f64 + 1.0));
        let located = Located {
            size,
            corners: [(start + 1.0, start), (end, start + 1.0), (end - 1.0, end), (start, end)],
        };
        assert_eq!(read(&plane(&shaded), &located).as_deref(), Some(text));
        // A grid somewhere else reads nothing rather than something wrong.
        let elsewhere =
            Located { size: width, corners: [(3.0, 40.0), (60.0, 40.0), (60.0, 97.0), (3.0, 97.0)] };
        assert_eq!(read(&plane(&shaded), &elsewhere), None);
    }
}
