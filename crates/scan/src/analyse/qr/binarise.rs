//! Black and white from grey, several ways, and a quick look for finder patterns.
//!
//! No single threshold suits every scan: a global one fails on uneven light, a local one with a small
//! window hollows out large dark areas, and `rqrr`'s own running row average smears along rows. The
//! search tries them in turn.

use super::plane::Plane;

/// A black-and-white picture, row by row, `true` for black.
#[derive(Clone, Debug)]
pub(super) struct Bits {
    pub width: usize,
    pub height: usize,
    pub black: Vec<bool>,
}

impl Bits {
    #[inline]
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.black[y * self.width + x]
    }

    /// A rectangle of the picture, clamped to it (possibly empty).
    pub fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Bits {
        let x1 = x1.min(self.width);
        let y1 = y1.min(self.height);
        let x0 = x0.min(x1);
        let y0 = y0.min(y1);
        let mut black = Vec::with_capacity((x1 - x0) * (y1 - y0));
        for y in y0..y1 {
            black.extend_from_slice(&self.black[y * self.width + x0..y * self.width + x1]);
        }
        Bits { width: x1 - x0, height: y1 - y0, black }
    }

    /// Light on dark becomes dark on light.
    pub fn inverted(mut self) -> Bits {
        self.black.iter_mut().for_each(|b| *b = !*b);
        self
    }
}

/// One global threshold that best separates the two peaks of the histogram (Otsu's method).
pub(super) fn otsu(plane: &Plane<'_>) -> Bits {
    let threshold = otsu_threshold(&plane.pixels);
    Bits {
        width: plane.width,
        height: plane.height,
        black: plane.pixels.iter().map(|&v| v <= threshold).collect(),
    }
}

fn otsu_threshold(pixels: &[u8]) -> u8 {
    let mut histogram = [0u64; 256];
    for &v in pixels {
        histogram[usize::from(v)] += 1;
    }
    let total = pixels.len() as f64;
    let sum_all: f64 = histogram.iter().enumerate().map(|(v, &n)| v as f64 * n as f64).sum();
    let (mut weight_dark, mut sum_dark) = (0.0, 0.0);
    let (mut best, mut best_variance) = (127u8, -1.0);
    for (v, &n) in histogram.iter().enumerate() {
        weight_dark += n as f64;
        if weight_dark == 0.0 {
            continue;
        }
        let weight_light = total - weight_dark;
        if weight_light == 0.0 {
            break;
        }
        sum_dark += v as f64 * n as f64;
        let mean_dark = sum_dark / weight_dark;
        let mean_light = (sum_all - sum_dark) / weight_light;
        let variance = weight_dark * weight_light * (mean_dark - mean_light).powi(2);
        if variance > best_variance {
            best_variance = variance;
            best = v as u8;
        }
    }
    best
}

/// The thresholding `rqrr` does itself: a running average along each row, in both directions.
pub(super) fn rqrr_native(plane: &Plane<'_>) -> Bits {
    let (w, h) = (plane.width, plane.height);
    let window = (w / 8).max(1);
    let mut row_average = vec![0usize; w];
    let mut black = vec![false; w * h];
    let (mut avg_v, mut avg_u) = (0usize, 0usize);
    for y in 0..h {
        row_average.fill(0);
        let row = &plane.pixels[y * w..(y + 1) * w];
        for x in 0..w {
            let (v, u) = if y % 2 == 0 { (w - 1 - x, x) } else { (x, w - 1 - x) };
            avg_v = avg_v * (window - 1) / window + usize::from(row[v]);
            avg_u = avg_u * (window - 1) / window + usize::from(row[u]);
            row_average[v] += avg_v;
            row_average[u] += avg_u;
        }
        for x in 0..w {
            black[y * w + x] = usize::from(row[x]) < row_average[x] * 95 / (200 * window);
        }
    }
    Bits { width: w, height: h, black }
}

/// ZXing's hybrid binariser with `block`-pixel blocks: each block gets a black point from its own
/// contrast (or its neighbours' when it is flat, so the inside of a large dark area stays dark), and
/// each pixel is compared with the average black point of the 5×5 blocks around its block.
pub(super) fn hybrid(plane: &Plane<'_>) -> Bits {
    hybrid_blocks(plane, 8)
}

pub(super) fn hybrid_blocks(plane: &Plane<'_>, block: usize) -> Bits {
    const MIN_DYNAMIC_RANGE: u32 = 24;
    let (w, h) = (plane.width, plane.height);
    if w < block * 5 || h < block * 5 {
        return otsu(plane);
    }
    let sub_w = w.div_ceil(block);
    let sub_h = h.div_ceil(block);
    let area = (block * block) as u32;
    let mut black_points = vec![0u32; sub_w * sub_h];
    for by in 0..sub_h {
        let y0 = (by * block).min(h - block);
        for bx in 0..sub_w {
            let x0 = (bx * block).min(w - block);
            let (mut sum, mut min, mut max) = (0u32, 255u32, 0u32);
            for y in y0..y0 + block {
                for &v in &plane.pixels[y * w + x0..y * w + x0 + block] {
                    let v = u32::from(v);
                    sum += v;
                    min = min.min(v);
                    max = max.max(v);
                }
            }
            let mut average = sum / area;
            if max - min <= MIN_DYNAMIC_RANGE {
                // A flat block is assumed light, unless its neighbours say the area is dark.
                average = min / 2;
                if by > 0 && bx > 0 {
                    let neighbours = (black_points[(by - 1) * sub_w + bx]
                        + 2 * black_points[by * sub_w + bx - 1]
                        + black_points[(by - 1) * sub_w + bx - 1])
                        / 4;
                    if min < neighbours {
                        average = neighbours;
                    }
                }
            }
            black_points[by * sub_w + bx] = average;
        }
    }
    let mut black = vec![false; w * h];
    for by in 0..sub_h {
        let y0 = (by * block).min(h - block);
        let top = by.clamp(2, sub_h - 3);
        for bx in 0..sub_w {
            let x0 = (bx * block).min(w - block);
            let left = bx.clamp(2, sub_w - 3);
            let mut sum = 0;
            for ny in top - 2..=top + 2 {
                sum += black_points[ny * sub_w + left - 2..=ny * sub_w + left + 2].iter().sum::<u32>();
            }
            let threshold = sum / 25;
            for y in y0..y0 + block {
                for x in x0..x0 + block {
                    black[y * w + x] = u32::from(plane.pixels[y * w + x]) <= threshold;
                }
            }
        }
    }
    Bits { width: w, height: h, black }
}

/// Sauvola's local threshold over a `window`-pixel square: mean × (1 + k (deviation / 128 − 1)),
/// which keeps faint modules on light paper and ignores texture in flat areas.
pub(super) fn sauvola(plane: &Plane<'_>, window: usize, k: f64) -> Bits {
    let (w, h) = (plane.width, plane.height);
    let stride = w + 1;
    let mut sum = vec![0u64; stride * (h + 1)];
    let mut sum_sq = vec![0u64; stride * (h + 1)];
    for y in 0..h {
        let (mut row_sum, mut row_sq) = (0u64, 0u64);
        for x in 0..w {
            let v = u64::from(plane.pixels[y * w + x]);
            row_sum += v;
            row_sq += v * v;
            sum[(y + 1) * stride + x + 1] = sum[y * stride + x + 1] + row_sum;
            sum_sq[(y + 1) * stride + x + 1] = sum_sq[y * stride + x + 1] + row_sq;
        }
    }
    let radius = (window / 2).max(1);
    let mut black = vec![false; w * h];
    for y in 0..h {
        let y0 = y.saturating_sub(radius);
        let y1 = (y + radius + 1).min(h);
        for x in 0..w {
            let x0 = x.saturating_sub(radius);
            let x1 = (x + radius + 1).min(w);
            let n = ((x1 - x0) * (y1 - y0)) as f64;
            let s = (sum[y1 * stride + x1] + sum[y0 * stride + x0]
                - sum[y0 * stride + x1]
                - sum[y1 * stride + x0]) as f64;
            let sq = (sum_sq[y1 * stride + x1] + sum_sq[y0 * stride + x0]
                - sum_sq[y0 * stride + x1]
                - sum_sq[y1 * stride + x0]) as f64;
            let mean = s / n;
            let deviation = (sq / n - mean * mean).max(0.0).sqrt();
            let threshold = mean * (1.0 + k * (deviation / 128.0 - 1.0));
            black[y * w + x] = f64::from(plane.pixels[y * w + x]) <= threshold;
        }
    }
    Bits { width: w, height: h, black }
}

/// The centre of a likely finder pattern and the size of one of its modules, in picture pixels.
#[derive(Clone, Copy, Debug)]
pub(super) struct FinderCandidate {
    pub x: f64,
    pub y: f64,
    pub module: f64,
    /// How many rows crossed the pattern's centre; a real finder pattern's 3-module centre is crossed
    /// by about three modules' worth of rows, a chance match in print by one or two.
    pub rows: usize,
}

/// Likely finder patterns: rows with dark-light-dark-light-dark runs in the ratio 1:1:3:1:1 whose
/// centre column shows the same ratio (light-dark-light… when `dark` is false, for inverted codes).
/// Cheap evidence that a code is on the page, nothing more.
pub(super) fn finder_candidates(bits: &Bits, dark: bool) -> Vec<FinderCandidate> {
    let mut found: Vec<FinderCandidate> = Vec::new();
    let mut runs = Vec::with_capacity(64);
    for y in 0..bits.height {
        let row = &bits.black[y * bits.width..(y + 1) * bits.width];
        runs.clear();
        let mut start = 0;
        for x in 1..=row.len() {
            if x == row.len() || row[x] != row[start] {
                runs.push((start, x - start, row[start]));
                start = x;
            }
        }
        for window in runs.windows(5) {
            if window[0].2 != dark {
                continue;
            }
            let lengths = [window[0].1, window[1].1, window[2].1, window[3].1, window[4].1];
            if !is_finder_ratio(&lengths) {
                continue;
            }
            let centre_x = window[2].0 + window[2].1 / 2;
            let Some(vertical) = vertical_runs(bits, centre_x, y, dark) else {
                continue;
            };
            if !is_finder_ratio(&vertical) {
                continue;
            }
            let module = lengths.iter().sum::<usize>() as f64 / 7.0;
            // Rows through the same finder pattern repeat it; keep one and count the rows.
            // Only recent candidates can be the same pattern, so the search stops at the first one
            // more than a large finder pattern's height above.
            if let Some(known) =
                found.iter_mut().rev().take_while(|f| y as f64 - f.y < 4.0 * MAX_MODULE).find(|f| {
                    (f.x - centre_x as f64).abs() < 2.0 * f.module && (y as f64 - f.y) < 4.0 * f.module
                })
            {
                known.rows += 1;
            } else {
                found.push(FinderCandidate { x: centre_x as f64, y: y as f64, module, rows: 1 });
            }
        }
    }
    // The first row to cross a pattern is its top edge; move the centre down to the middle row.
    for candidate in &mut found {
        candidate.y += (candidate.rows / 2) as f64;
    }
    found.retain(|candidate| candidate.rows >= 2);
    // Print can hold thousands of chance matches; the grouping after this is quadratic, so only the
    // most convincing candidates go on.
    if found.len() > MAX_CANDIDATES {
        found.sort_by_key(|candidate| std::cmp::Reverse(candidate.rows));
        found.truncate(MAX_CANDIDATES);
    }
    found
}

/// The largest module size the candidate search expects, in picture pixels; larger ones are still
/// found, but rows through them may count as separate candidates.
const MAX_MODULE: f64 = 40.0;

/// At most this many candidates are kept per picture.
const MAX_CANDIDATES: usize = 200;

fn is_finder_ratio(lengths: &[usize; 5]) -> bool {
    let total: usize = lengths.iter().sum();
    if total < 7 {
        return false;
    }
    let module = total as f64 / 7.0;
    let tolerance = module * 0.7;
    let expected = [1.0, 1.0, 3.0, 1.0, 1.0];
    lengths
        .iter()
        .zip(expected)
        .all(|(&length, e)| (length as f64 - e * module).abs() <= tolerance * e.max(1.5) / 1.5)
}

/// The five runs above and below (`x`, `y`) in the column, centred on the dark run at `y`.
fn vertical_runs(bits: &Bits, x: usize, y: usize, dark: bool) -> Option<[usize; 5]> {
    let column = |y: usize| bits.get(x, y) == dark;
    if !column(y) {
        return None;
    }
    let mut lengths = [0usize; 5];
    // Upwards: the centre run's upper part, then light, then dark.
    let mut cursor = y as isize;
    for (slot, colour) in [(2usize, true), (1, false), (0, true)] {
        while cursor >= 0 && column(cursor as usize) == colour {
            lengths[slot] += 1;
            cursor -= 1;
        }
        if lengths[slot] == 0 {
            return None;
        }
    }
    let mut cursor = y + 1;
    for (slot, colour) in [(2usize, true), (3, false), (4, true)] {
        let before = lengths[slot];
        while cursor < bits.height && column(cursor) == colour {
            lengths[slot] += 1;
            cursor += 1;
        }
        if slot != 2 && lengths[slot] == before {
            return None;
        }
    }
    Some(lengths)
}
