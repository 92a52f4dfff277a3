//! Blank-page detection for duplex backsides with scanner noise and faint bleed-through.
//!
//! A blank backside is rarely white: the scanner adds speckles and dust, dark borders and shadows along
//! the edges, filing holes show as dark disks, and the front side's text shows through as light grey
//! mirrored writing. A page that holds only a page number, a header line, a handwritten digit or
//! initials must still count as content, because dropping a page with content loses part of the record
//! while keeping a blank page costs nothing but storage. So the page is not judged by how much ink it
//! has, but by whether anything on it looks like a mark:
//!
//! 1. The page is reduced to about 150 dpi by taking the darkest pixel of each block, so a thin pen
//!    stroke stays as dark as it was instead of fading into the paper as an average would make it.
//! 2. The paper's own white is the median of the page away from its edges (most of any page is
//!    paper), which follows grey recycled paper and scanner calibration. A pixel is ink when it is
//!    darker than [`INK_FRACTION_OF_PAPER`] of that white, and faint when it is only darker than
//!    [`FAINT_FRACTION_OF_PAPER`]: bleed-through (light grey, about 200-230 on white 255) is neither,
//!    printed text, pens and stamps are ink, and a faint stamp or pencil may be only faint.
//! 3. A band of [`EDGE_BAND_MM`] along every edge is not looked at: scanner borders and edge shadows.
//! 4. Whatever reaches into the edge band is followed up to [`EDGE_SHADOW_MM`] into the page and
//!    ignored: a wide border or the wedge of a skewed feed.
//! 5. The remaining connected groups of ink and faint pixels are judged one by one. Ignored are filing
//!    holes (a filled disk of 4-8 mm near an edge) and dust (no wider and no higher than
//!    [`DUST_MM`]). A dark group of at least [`MARK_MM`] is a mark: the page is content.
//! 6. What is left is weak evidence: only small dark marks (a dot, a tick, a crumb), only faint marks
//!    (a faint stamp, pencil, strong bleed-through), or a dark area reaching further in from an edge
//!    than a scanner shadow does. Such a page is kept, and [`BlankMeasure::doubt`] says why, so that the
//!    batch's quality control can name it; many small dark marks (more ink than the threshold) are tiny
//!    print, and content.
//!
//! Only a page on which nothing counts is blank.

use image::GrayImage;

use crate::page::Dpi;

/// The default largest ink fraction of small dark marks that still leaves a page in doubt rather than
/// content: 0.0001, that is 0.01 % of the analysed area, about 6 mm² on an A4 page.
///
/// Since marks are judged one by one, this no longer decides whether a page is blank: a page is blank
/// only when nothing on it counts, and its `ink_ratio` is then 0. Pages with only small dark marks
/// (0.6-1.5 mm: dots, ticks, crumbs) are kept either way; up to this much ink they are kept with a
/// doubt for a person to look at, above it (dozens of such marks) they are tiny print. A threshold
/// that is not a number keeps every page.
pub const DEFAULT_BLANK_THRESHOLD: f64 = 0.0001;

/// The band along every edge that is not looked at, in millimetres: scanner borders and shadows are a
/// few millimetres wide, while page numbers and headers start at about 8 mm from the edge.
pub const EDGE_BAND_MM: f32 = 3.0;

/// How far a dark area that reaches into the edge band may extend into the page and still be a scanner
/// border or shadow, in millimetres (a black backing showing beside a skewed sheet makes a wedge).
/// Print that touches such a border is rare; where the area continues further in, the page is kept in
/// doubt.
pub const EDGE_SHADOW_MM: f32 = 10.0;

/// A pixel is ink when it is darker than this fraction of the paper's white (0.7 × 255 = 178 on white
/// paper): bleed-through (200-230) is not, pen, print and stamps are.
pub const INK_FRACTION_OF_PAPER: f32 = 0.7;

/// A pixel is faint when it is darker than this fraction of the paper's white (0.75 × 255 = 191) but not
/// ink: a faint stamp or pencil, or bleed-through of heavy print. Faint marks alone keep a page in doubt.
pub const FAINT_FRACTION_OF_PAPER: f32 = 0.75;

/// Connected ink no wider and no higher than this, in millimetres, is a speck of dust or noise.
pub const DUST_MM: f32 = 0.6;

/// Dark connected ink at least this wide or high, in millimetres, is a mark: the capitals and digits
/// of 6 pt print are 1.5 mm high, a handwritten digit or initial is larger.
pub const MARK_MM: f32 = 1.5;

/// The measured value and the decision, kept in the scan protocol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlankMeasure {
    /// Fraction of the analysed page area (inside the edge band) covered by ink that counts: darker
    /// than `ink_level` and part of a mark, a small mark or a dark area at an edge. 0 on a blank page.
    pub ink_ratio: f64,
    /// The largest ink fraction of small marks that leaves a page in doubt (see
    /// [`DEFAULT_BLANK_THRESHOLD`]).
    pub threshold: f64,
    /// Whether nothing on the page counts. False when the threshold is not a number.
    pub blank: bool,
    /// The paper's white level that was measured (0-255), kept so an odd result can be explained.
    pub paper_level: u8,
    /// Grey levels below this counted as ink.
    pub ink_level: u8,
    /// How many marks (dark, at least [`MARK_MM`]) were found.
    pub marks: u32,
    /// Why a page that is not blank was kept although nothing on it is clearly a mark; `None` for a
    /// blank page and a page with marks.
    pub doubt: Option<Doubt>,
}

/// Why a page with little on it was kept: what a person should look at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Doubt {
    /// Only dark marks smaller than [`MARK_MM`]: a dot, a tick, or a crumb on the glass.
    SmallMarks { count: u32, largest_mm: f32 },
    /// Only marks lighter than ink: a faint stamp, pencil, or unusually dark bleed-through.
    FaintMarks { count: u32, largest_mm: f32 },
    /// Only a dark area that continues a scanner border or shadow further into the page than
    /// [`EDGE_SHADOW_MM`]: a skewed or folded sheet, or content at the edge.
    EdgeArea { size_mm: f32 },
}

impl std::fmt::Display for Doubt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Doubt::SmallMarks { count, largest_mm } => write!(
                f,
                "only {count} small dark mark(s) up to {largest_mm:.1} mm (a dot, a tick or a crumb on the glass)"
            ),
            Doubt::FaintMarks { count, largest_mm } => write!(
                f,
                "only {count} faint mark(s) up to {largest_mm:.1} mm (a faint stamp, pencil or dark bleed-through)"
            ),
            Doubt::EdgeArea { size_mm } => write!(
                f,
                "only a dark area of {size_mm:.0} mm joined to the scanner border (a skewed or folded sheet, or content at the edge)"
            ),
        }
    }
}

/// Measures a page. Never fails: a page too small to have an edge band is measured whole, and a
/// resolution that is missing or absurd is taken as 300 dpi.
pub fn measure(page: &GrayImage, dpi: Dpi, threshold: f64) -> BlankMeasure {
    let dpi_x = plausible_dpi(dpi.x);
    let dpi_y = plausible_dpi(dpi.y);
    let factor_x = reduction_factor(dpi_x);
    let factor_y = reduction_factor(dpi_y);
    let reduced = darkest_of_blocks(page, factor_x, factor_y);
    let scale = Scale { x: dpi_x / factor_x as f32 / 25.4, y: dpi_y / factor_y as f32 / 25.4 };

    let sample = inner_area(&reduced, scale.px_x(PAPER_SAMPLE_MARGIN_MM), scale.px_y(PAPER_SAMPLE_MARGIN_MM));
    let paper_level = median(&reduced, &sample).max(MIN_PAPER_LEVEL);
    // The products are at most 255 × 0.75, so the conversions cannot overflow.
    let ink_level = (f32::from(paper_level) * INK_FRACTION_OF_PAPER).round() as u8;
    let faint_level = (f32::from(paper_level) * FAINT_FRACTION_OF_PAPER).round() as u8;

    let area = inner_area(&reduced, scale.px_x(EDGE_BAND_MM), scale.px_y(EDGE_BAND_MM));
    let strip = inner_area(&reduced, scale.px_x(EDGE_SHADOW_MM), scale.px_y(EDGE_SHADOW_MM));
    let area_pixels = area.width * area.height;
    let mut tally = Tally::default();
    for group in groups(&reduced, &area, (faint_level, ink_level), (strip.left, strip.top)) {
        tally.add(judge(&group, &reduced, &area, scale), &group);
    }
    let ratio = |pixels: usize| if area_pixels == 0 { 0.0 } else { pixels as f64 / area_pixels as f64 };
    let ink_ratio = ratio(tally.counted_ink);

    let doubt = if tally.marks > 0 || (tally.small.count > 0 && ratio(tally.small.ink) > threshold) {
        None
    } else if tally.small.count > 0 {
        Some(Doubt::SmallMarks { count: tally.small.count, largest_mm: tally.small.largest_mm })
    } else if tally.faint.count > 0 {
        Some(Doubt::FaintMarks { count: tally.faint.count, largest_mm: tally.faint.largest_mm })
    } else if tally.edge_area_mm > 0.0 {
        Some(Doubt::EdgeArea { size_mm: tally.edge_area_mm })
    } else {
        None
    };
    let nothing_counts =
        tally.marks == 0 && tally.small.count == 0 && tally.faint.count == 0 && tally.edge_area_mm == 0.0;
    BlankMeasure {
        ink_ratio,
        threshold,
        blank: nothing_counts && ink_ratio <= threshold,
        paper_level,
        ink_level,
        marks: tally.marks,
        doubt,
    }
}

/// The resolution analysis works at: about 150 dpi keeps a 0.2 mm pen stroke at one pixel or more.
const ANALYSIS_DPI: f32 = 150.0;

/// The white level assumed at least. A page darker than this overall (a dark photo, an open scanner
/// lid) gets an ink level of 90, so its dark parts count as content instead of becoming the "paper".
const MIN_PAPER_LEVEL: u8 = 128;

/// The paper's white is measured this far in from the edges, away from borders, shadows and holes.
const PAPER_SAMPLE_MARGIN_MM: f32 = 15.0;

/// Filing holes (ISO 838: 6 mm across, centres 12 mm from the edge) show as filled disks of about this
/// size, in millimetres, with their centre at most [`HOLE_CENTRE_MM`] from an edge.
const HOLE_MM: std::ops::RangeInclusive<f32> = 4.0..=8.0;

/// See [`HOLE_MM`].
const HOLE_CENTRE_MM: f32 = 20.0;

/// The resolution to use: the declared one when it is plausible for a scan, 300 dpi otherwise.
fn plausible_dpi(dpi: f32) -> f32 {
    if dpi.is_finite() && (50.0..=4800.0).contains(&dpi) { dpi } else { 300.0 }
}

/// The integer factor that brings `dpi` down to about [`ANALYSIS_DPI`], never below it.
fn reduction_factor(dpi: f32) -> u32 {
    // `plausible_dpi` bounds dpi to 4800, so the quotient fits easily.
    ((dpi / ANALYSIS_DPI).floor() as u32).max(1)
}

/// Pixels per millimetre of the reduced page.
#[derive(Clone, Copy)]
struct Scale {
    x: f32,
    y: f32,
}

impl Scale {
    /// Millimetres across to whole pixels, rounded.
    fn px_x(self, mm: f32) -> usize {
        (mm * self.x).round() as usize
    }

    /// Millimetres down to whole pixels, rounded.
    fn px_y(self, mm: f32) -> usize {
        (mm * self.y).round() as usize
    }
}

/// A grey image as plain rows, which is all the later steps need.
struct Reduced {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

/// The page reduced by taking the darkest pixel of each `factor_x` × `factor_y` block; a last partial
/// block at the right or bottom edge is taken as far as it goes.
///
/// Each band of `factor_y` rows is first folded into one row of column minima, a loop the compiler
/// turns into vector instructions, and only that row is then reduced across; this keeps a 300 dpi A4
/// page at a few milliseconds.
fn darkest_of_blocks(page: &GrayImage, factor_x: u32, factor_y: u32) -> Reduced {
    let source_width = page.width() as usize;
    let (factor_x, factor_y) = (factor_x as usize, factor_y as usize);
    let width = source_width.div_ceil(factor_x);
    let mut pixels = Vec::with_capacity(width * (page.height() as usize).div_ceil(factor_y));
    if source_width == 0 {
        return Reduced { width, height: 0, pixels };
    }
    let mut column_minima = vec![u8::MAX; source_width];
    for band in page.as_raw().chunks(source_width * factor_y) {
        column_minima.fill(u8::MAX);
        for line in band.chunks_exact(source_width) {
            for (minimum, &pixel) in column_minima.iter_mut().zip(line) {
                *minimum = (*minimum).min(pixel);
            }
        }
        pixels.extend(
            column_minima.chunks(factor_x).map(|block| block.iter().copied().min().unwrap_or(u8::MAX)),
        );
    }
    let height = pixels.len() / width;
    Reduced { width, height, pixels }
}

/// A part of the reduced page, in reduced pixels.
struct Area {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

/// The page without a band of `margin_x`/`margin_y` pixels along its edges. On a page too small for
/// that (the band would take more than half of a side) the band shrinks to an eighth of the side.
fn inner_area(page: &Reduced, margin_x: usize, margin_y: usize) -> Area {
    let fit = |margin: usize, side: usize| if margin * 4 > side { side / 8 } else { margin };
    let left = fit(margin_x, page.width);
    let top = fit(margin_y, page.height);
    Area { left, top, width: page.width - 2 * left, height: page.height - 2 * top }
}

/// The median grey level in the area, 255 for an empty area.
fn median(page: &Reduced, area: &Area) -> u8 {
    let mut histogram = [0usize; 256];
    for row in area_rows(page, area) {
        for &pixel in row {
            histogram[usize::from(pixel)] += 1;
        }
    }
    let half = (area.width * area.height).div_ceil(2);
    let mut seen = 0;
    for (level, &count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= half && seen > 0 {
            // The index of a 256-entry histogram always fits a byte.
            return level as u8;
        }
    }
    u8::MAX
}

/// The rows of the page inside the area.
fn area_rows<'a>(page: &'a Reduced, area: &'a Area) -> impl Iterator<Item = &'a [u8]> + 'a {
    (area.top..area.top + area.height)
        .map(move |row| &page.pixels[row * page.width + area.left..][..area.width])
}

/// One connected (8-neighbour) group of ink and faint pixels, in reduced page pixels.
struct Group {
    /// Inclusive bounds.
    left: usize,
    top: usize,
    right: usize,
    bottom: usize,
    pixels: usize,
    /// How many of `pixels` are ink rather than only faint.
    ink: usize,
    /// Whether the group touches a scanner border or shadow: it continues one further into the page.
    attached: bool,
}

impl Group {
    fn width_mm(&self, scale: Scale) -> f32 {
        (self.right - self.left + 1) as f32 / scale.x
    }

    fn height_mm(&self, scale: Scale) -> f32 {
        (self.bottom - self.top + 1) as f32 / scale.y
    }

    /// Dark enough to be ink: a quarter of its pixels are. A faint stamp on a noisy scan has a few
    /// pixels that dip below the ink level; a pen stroke or print has a dark core.
    fn is_dark(&self) -> bool {
        self.ink * 4 >= self.pixels
    }
}

/// Every group of pixels darker than `faint_level` inside the area, once scanner borders and shadows
/// are taken out: everything connected to the edge band within `shadow_x`/`shadow_y` pixels of an edge.
/// Done pixel by pixel rather than group by group, because a border along one edge, a shadow along
/// another and a skewed sheet's wedge join into one frame around the whole page.
fn groups(page: &Reduced, area: &Area, levels: (u8, u8), shadow: (usize, usize)) -> Vec<Group> {
    const NONE: u8 = 0;
    const FAINT: u8 = 1;
    const INK: u8 = 2;
    const SEEN: u8 = 3;
    const SHADOW: u8 = 4;
    let (faint_level, ink_level) = levels;
    let (width, height) = (area.width, area.height);
    let mut mask: Vec<u8> = Vec::with_capacity(width * height);
    for row in area_rows(page, area) {
        mask.extend(row.iter().map(|&pixel| {
            if pixel < ink_level {
                INK
            } else if pixel < faint_level {
                FAINT
            } else {
                NONE
            }
        }));
    }
    let marked = |value: u8| value == INK || value == FAINT;
    // In area coordinates: whether a pixel lies within the shadow strip along the page's edges.
    let in_strip = |x: usize, y: usize| {
        let (x, y) = (x + area.left, y + area.top);
        x < shadow.0 || x + shadow.0 >= page.width || y < shadow.1 || y + shadow.1 >= page.height
    };

    let mut stack: Vec<usize> = Vec::new();
    let boundary = (0..width)
        .flat_map(|x| [x, (height.saturating_sub(1)) * width + x])
        .chain((0..height).flat_map(|y| [y * width, y * width + width.saturating_sub(1)]));
    for start in boundary {
        if start >= mask.len() || !marked(mask[start]) || !in_strip(start % width, start / width) {
            continue;
        }
        mask[start] = SHADOW;
        stack.push(start);
        while let Some(index) = stack.pop() {
            let (x, y) = (index % width, index / width);
            for ny in y.saturating_sub(1)..(y + 2).min(height) {
                for nx in x.saturating_sub(1)..(x + 2).min(width) {
                    let neighbour = ny * width + nx;
                    if marked(mask[neighbour]) && in_strip(nx, ny) {
                        mask[neighbour] = SHADOW;
                        stack.push(neighbour);
                    }
                }
            }
        }
    }

    let mut found = Vec::new();
    for start in 0..mask.len() {
        if !marked(mask[start]) {
            continue;
        }
        let mut group = Group {
            left: usize::MAX,
            top: usize::MAX,
            right: 0,
            bottom: 0,
            pixels: 0,
            ink: 0,
            attached: false,
        };
        group.ink += usize::from(mask[start] == INK);
        mask[start] = SEEN;
        stack.push(start);
        while let Some(index) = stack.pop() {
            let (x, y) = (index % width, index / width);
            group.pixels += 1;
            group.left = group.left.min(x);
            group.right = group.right.max(x);
            group.top = group.top.min(y);
            group.bottom = group.bottom.max(y);
            for ny in y.saturating_sub(1)..(y + 2).min(height) {
                for nx in x.saturating_sub(1)..(x + 2).min(width) {
                    let neighbour = ny * width + nx;
                    match mask[neighbour] {
                        INK | FAINT => {
                            group.ink += usize::from(mask[neighbour] == INK);
                            mask[neighbour] = SEEN;
                            stack.push(neighbour);
                        }
                        SHADOW => group.attached = true,
                        _ => {}
                    }
                }
            }
        }
        // From area to page coordinates, so that distances to the edges are plain.
        group.left += area.left;
        group.right += area.left;
        group.top += area.top;
        group.bottom += area.top;
        found.push(group);
    }
    found
}

/// What a group is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Verdict {
    /// A filing hole, dust, a faint speck, or a faint continuation of a scanner shadow.
    Ignored,
    /// Dark and at least [`MARK_MM`]: content.
    Mark,
    /// Dark, larger than dust, smaller than a mark.
    SmallMark { size_mm: f32 },
    /// Not dark, but of a mark's size.
    FaintMark { size_mm: f32 },
    /// Dark, continuing a scanner border or shadow further into the page.
    EdgeArea { size_mm: f32 },
}

/// Judges one group (see the module documentation for the rules and their order).
fn judge(group: &Group, page: &Reduced, area: &Area, scale: Scale) -> Verdict {
    // Half the page dark is content whatever its shape: a photo, a dark form, an open lid.
    if group.pixels * 2 >= area.width * area.height {
        return Verdict::Mark;
    }
    let (width_mm, height_mm) = (group.width_mm(scale), group.height_mm(scale));
    let size_mm = width_mm.max(height_mm);
    if group.attached {
        return if group.is_dark() && size_mm > DUST_MM {
            Verdict::EdgeArea { size_mm }
        } else {
            Verdict::Ignored
        };
    }

    let centre_x = (group.left + group.right + 1) as f32 / 2.0 / scale.x;
    let centre_y = (group.top + group.bottom + 1) as f32 / 2.0 / scale.y;
    let from_edge = centre_x
        .min(page.width as f32 / scale.x - centre_x)
        .min(centre_y)
        .min(page.height as f32 / scale.y - centre_y);
    let box_pixels = (group.right - group.left + 1) * (group.bottom - group.top + 1);
    let filled = group.pixels as f32 / box_pixels as f32;
    if HOLE_MM.contains(&width_mm)
        && HOLE_MM.contains(&height_mm)
        && filled >= 0.5
        && from_edge <= HOLE_CENTRE_MM
    {
        return Verdict::Ignored;
    }
    // At least one pixel either way, so that a coarse scan does not turn dust into marks.
    if width_mm <= DUST_MM.max(1.0 / scale.x) && height_mm <= DUST_MM.max(1.0 / scale.y) {
        return Verdict::Ignored;
    }
    match (group.is_dark(), size_mm >= MARK_MM) {
        (true, true) => Verdict::Mark,
        (true, false) => Verdict::SmallMark { size_mm },
        (false, true) => Verdict::FaintMark { size_mm },
        (false, false) => Verdict::Ignored,
    }
}

/// The verdicts of a page, summed up.
#[derive(Default)]
struct Tally {
    marks: u32,
    small: Weak,
    faint: Weak,
    /// The largest dark area continuing a scanner border, 0 when there is none.
    edge_area_mm: f32,
    /// Ink pixels of marks, small marks and edge areas.
    counted_ink: usize,
}

/// Marks of one kind of weak evidence.
#[derive(Default)]
struct Weak {
    count: u32,
    largest_mm: f32,
    ink: usize,
}

impl Weak {
    fn add(&mut self, size_mm: f32, ink: usize) {
        self.count += 1;
        self.largest_mm = self.largest_mm.max(size_mm);
        self.ink += ink;
    }
}

impl Tally {
    fn add(&mut self, verdict: Verdict, group: &Group) {
        match verdict {
            Verdict::Ignored => return,
            Verdict::Mark => self.marks += 1,
            Verdict::SmallMark { size_mm } => self.small.add(size_mm, group.ink),
            Verdict::FaintMark { size_mm } => {
                // Faint pixels are not ink: they keep the page in doubt but add nothing to the ratio.
                self.faint.add(size_mm, 0);
                return;
            }
            Verdict::EdgeArea { size_mm } => self.edge_area_mm = self.edge_area_mm.max(size_mm),
        }
        self.counted_ink += group.ink;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    const A4_300: (u32, u32) = (2480, 3508);
    const DPI_300: Dpi = Dpi::uniform(300.0);

    /// Millimetres to pixels at 300 dpi.
    fn mm(value: f32) -> u32 {
        (value * 300.0 / 25.4).round() as u32
    }

    fn white_page() -> GrayImage {
        GrayImage::from_pixel(A4_300.0, A4_300.1, Luma([255]))
    }

    /// A small deterministic pseudo-random generator (xorshift), so noise is the same on every run.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn unit(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 24) as f32
        }

        /// Roughly normal with mean 0 and deviation 1 (sum of twelve uniforms).
        fn normal(&mut self) -> f32 {
            (0..12).map(|_| self.unit()).sum::<f32>() - 6.0
        }
    }

    fn fill(page: &mut GrayImage, x: u32, y: u32, width: u32, height: u32, level: u8) {
        for py in y..(y + height).min(page.height()) {
            for px in x..(x + width).min(page.width()) {
                page.put_pixel(px, py, Luma([level]));
            }
        }
    }

    /// Letter-like shapes (two stems and a bar) in a line: `letters` letters of `cap_mm` height with
    /// strokes of `stroke_mm`, starting at (`x`, `y`).
    fn draw_text_line(
        page: &mut GrayImage,
        x: u32,
        y: u32,
        letters: u32,
        cap_mm: f32,
        stroke_mm: f32,
        level: u8,
    ) {
        let (height, stroke) = (mm(cap_mm), mm(stroke_mm).max(1));
        let letter_width = height * 7 / 10;
        for letter in 0..letters {
            let left = x + letter * (letter_width + height / 4);
            fill(page, left, y, stroke, height, level);
            fill(page, left + letter_width - stroke, y + height / 3, stroke, height * 2 / 3, level);
            fill(page, left, y + height / 2, letter_width, stroke, level);
        }
    }

    fn assert_blank(page: &GrayImage) -> BlankMeasure {
        let measured = measure(page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(measured.blank, "{measured:?}");
        measured
    }

    fn assert_not_blank(page: &GrayImage) -> BlankMeasure {
        let measured = measure(page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!measured.blank, "{measured:?}");
        measured
    }

    /// Kept as content without doubt: something on the page is clearly a mark.
    fn assert_content(page: &GrayImage, what: &str) -> BlankMeasure {
        let measured = measure(page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!measured.blank && measured.marks > 0 && measured.doubt.is_none(), "{what}: {measured:?}");
        measured
    }

    /// A scanned sheet: sensor noise, a few dust specks and a grey scanner edge (testkit's scanner).
    fn scanned(mut page: GrayImage, seed: u64) -> GrayImage {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        registratur_testkit::scanner_noise(&mut page, 6.0, &mut rng);
        page
    }

    /// `text` in DejaVu Sans at `points`, its baseline `baseline_mm` from the top, starting at `x_mm`.
    fn print(page: &mut GrayImage, x_mm: f32, baseline_mm: f32, points: f32, text: &str) {
        // DejaVu Sans rises 0.93 em above its baseline; `draw_text` takes the top of that.
        let top = mm(baseline_mm) as f32 - 0.93 * points / 72.0 * 300.0;
        registratur_testkit::draw_text(page, mm(x_mm) as f32, top, points, 300.0, text)
            .expect("DejaVu Sans is installed (fonts-dejavu-core)");
    }

    /// A pen stroke through `points` (millimetres from `origin`), `width_mm` wide, with soft edges as
    /// a scanner sees them.
    fn pen(page: &mut GrayImage, origin: (f32, f32), points: &[(f32, f32)], width_mm: f32, level: u8) {
        let to_px = |(x, y): (f32, f32)| ((origin.0 + x) * 300.0 / 25.4, (origin.1 + y) * 300.0 / 25.4);
        let half = width_mm * 300.0 / 25.4 / 2.0;
        for pair in points.windows(2) {
            let ((ax, ay), (bx, by)) = (to_px(pair[0]), to_px(pair[1]));
            let (x0, x1) = ((ax.min(bx) - half - 2.0) as u32, (ax.max(bx) + half + 2.0) as u32);
            let (y0, y1) = ((ay.min(by) - half - 2.0) as u32, (ay.max(by) + half + 2.0) as u32);
            let length2 = ((bx - ax).powi(2) + (by - ay).powi(2)).max(1e-6);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                    let t = (((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length2).clamp(0.0, 1.0);
                    let distance =
                        ((px - ax - t * (bx - ax)).powi(2) + (py - ay - t * (by - ay)).powi(2)).sqrt();
                    let coverage = (half + 0.5 - distance).clamp(0.0, 1.0);
                    let value = 255.0 - coverage * f32::from(255 - level);
                    let pixel = page.get_pixel_mut(x, y);
                    pixel.0[0] = pixel.0[0].min(value.round() as u8);
                }
            }
        }
    }

    const SEVEN: &[(f32, f32)] = &[(0.0, 0.0), (3.0, 0.0), (1.0, 5.0)];
    const ONE: &[(f32, f32)] = &[(0.3, 1.2), (1.3, 0.0), (1.3, 5.0)];

    #[test]
    fn a_white_page_is_blank() {
        let measured = assert_blank(&white_page());
        assert_eq!(measured.ink_ratio, 0.0);
        assert_eq!((measured.paper_level, measured.ink_level), (255, 179));
    }

    #[test]
    fn scanner_noise_and_dust_do_not_count() {
        let mut page = white_page();
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
        for pixel in page.pixels_mut() {
            pixel.0[0] = (238.0 + 8.0 * noise.normal()).clamp(0.0, 255.0) as u8;
        }
        // Salt-and-pepper: one pixel in a thousand black.
        for _ in 0..(A4_300.0 * A4_300.1 / 1000) {
            let (x, y) = (noise.next() as u32 % A4_300.0, noise.next() as u32 % A4_300.1);
            page.put_pixel(x, y, Luma([0]));
        }
        // Dust: a few hundred specks of 0.1-0.2 mm.
        for _ in 0..300 {
            let (x, y) = (noise.next() as u32 % A4_300.0, noise.next() as u32 % A4_300.1);
            let size = 1 + (noise.next() % 2) as u32;
            fill(&mut page, x, y, size, size, 30);
        }
        let measured = assert_blank(&page);
        assert!(measured.paper_level >= 220, "{measured:?}");
    }

    #[test]
    fn dark_scanner_borders_and_shadows_do_not_count() {
        let mut page = white_page();
        fill(&mut page, 0, 0, mm(4.0), A4_300.1, 10);
        fill(&mut page, 0, A4_300.1 - mm(6.0), A4_300.0, mm(6.0), 10);
        // A shadow fading from grey to white along the top edge, and filing holes on the left.
        for row in 0..mm(8.0) {
            let level = (120 + row * 135 / mm(8.0)) as u8;
            fill(&mut page, 0, row, A4_300.0, 1, level);
        }
        for centre_y in [A4_300.1 / 2 - mm(40.0), A4_300.1 / 2 + mm(40.0)] {
            fill(&mut page, mm(9.0), centre_y - mm(3.0), mm(6.0), mm(6.0), 25);
        }
        assert_blank(&page);
    }

    #[test]
    fn faint_mirrored_bleed_through_does_not_count() {
        let mut page = white_page();
        for line in 0..40 {
            let level = 200 + (line % 4) as u8 * 10;
            draw_text_line(&mut page, mm(25.0), mm(30.0) + line * mm(6.0), 60, 2.5, 0.35, level);
        }
        assert_blank(&page);
    }

    #[test]
    fn grey_recycled_paper_with_bleed_through_is_blank() {
        let mut page = GrayImage::from_pixel(A4_300.0, A4_300.1, Luma([225]));
        for line in 0..40 {
            draw_text_line(&mut page, mm(25.0), mm(30.0) + line * mm(6.0), 60, 2.5, 0.35, 180);
        }
        let measured = assert_blank(&page);
        assert_eq!(measured.paper_level, 225);
    }

    #[test]
    fn one_short_line_of_text_is_content() {
        // "Mit freundlichen Grüßen": 23 letters, 11 pt (cap height 2.7 mm), strokes 0.3 mm.
        let mut page = white_page();
        draw_text_line(&mut page, mm(25.0), mm(200.0), 23, 2.7, 0.3, 40);
        let measured = assert_not_blank(&page);
        assert!(measured.ink_ratio > 4.0 * DEFAULT_BLANK_THRESHOLD, "{measured:?}");
    }

    #[test]
    fn a_small_stamp_is_content() {
        // A 30 × 15 mm stamp outline in stamp-blue grey with two lines of small text inside.
        let mut page = white_page();
        let (x, y, width, height, stroke) = (mm(140.0), mm(40.0), mm(30.0), mm(15.0), mm(0.6));
        for (fx, fy, fw, fh) in [
            (x, y, width, stroke),
            (x, y + height, width, stroke),
            (x, y, stroke, height),
            (x + width, y, stroke, height),
        ] {
            fill(&mut page, fx, fy, fw, fh, 110);
        }
        draw_text_line(&mut page, x + mm(3.0), y + mm(3.0), 8, 2.0, 0.3, 110);
        draw_text_line(&mut page, x + mm(3.0), y + mm(9.0), 6, 2.0, 0.3, 110);
        assert_not_blank(&page);
    }

    #[test]
    fn a_signature_scribble_is_content() {
        // A 40 mm wide wavy stroke of 0.4 mm, as a quick signature with a ballpoint pen.
        let mut page = white_page();
        let (left, middle) = (mm(100.0), mm(220.0) as f32);
        let mut previous_y = middle as u32;
        for step in 0..mm(40.0) {
            let phase = step as f32 / mm(4.0) as f32 * std::f32::consts::TAU;
            let y = (middle + phase.sin() * mm(5.0) as f32 * (1.0 + (phase / 7.0).cos()) / 2.0) as u32;
            let (top, bottom) = (y.min(previous_y), y.max(previous_y));
            fill(&mut page, left + step, top, 1, bottom - top + mm(0.4), 60);
            previous_y = y;
        }
        assert_not_blank(&page);
    }

    #[test]
    fn a_full_text_page_is_content() {
        let mut page = white_page();
        for line in 0..45 {
            draw_text_line(&mut page, mm(25.0), mm(25.0) + line * mm(5.5), 70, 2.5, 0.35, 20);
        }
        let measured = assert_not_blank(&page);
        assert!(measured.ink_ratio > 0.02, "{measured:?}");
    }

    #[test]
    fn a_dark_page_is_content() {
        let page = GrayImage::from_pixel(A4_300.0, A4_300.1, Luma([40]));
        let measured = assert_not_blank(&page);
        // The strip along the edges where scanner borders live does not count, the rest does.
        assert!(measured.ink_ratio > 0.85, "{measured:?}");
        assert_eq!(measured.doubt, None);
    }

    #[test]
    fn a_page_footer_alone_is_content() {
        // "Seite 2 von 2" centred, 9-10 pt, baseline 8-13 mm above the bottom edge.
        for points in [9.0, 10.0] {
            for baseline_above_bottom in [8.0, 10.0, 13.0] {
                let mut page = white_page();
                print(&mut page, 95.0, 297.0 - baseline_above_bottom, points, "Seite 2 von 2");
                let what = format!("{points} pt footer {baseline_above_bottom} mm above the bottom");
                assert_content(&scanned(page, 1), &what);
            }
        }
        // Only a page number, at the bottom right.
        let mut page = white_page();
        print(&mut page, 185.0, 297.0 - 10.0, 9.0, "2");
        assert_content(&scanned(page, 2), "page number alone");
    }

    #[test]
    fn a_page_header_alone_is_content() {
        for top in [6.0, 8.0, 12.0, 14.0, 20.0] {
            let mut page = white_page();
            // The baseline of 9 pt text sits about 2.4 mm below the top of its capitals.
            print(&mut page, 25.0, top + 2.4, 9.0, "Az. 32.10.05-123/2026");
            assert_content(&scanned(page, 3), &format!("header {top} mm from the top"));
        }
    }

    #[test]
    fn print_near_the_left_and_right_edges_is_content() {
        for x in [5.0, 8.0, 190.0, 200.0] {
            let mut page = white_page();
            print(&mut page, x, 150.0, 9.0, "12");
            assert_content(&scanned(page, 4), &format!("digits {x} mm from the left"));
        }
    }

    #[test]
    fn a_single_handwritten_digit_in_a_fine_pen_is_content() {
        for (name, digit) in [("7", SEVEN), ("1", ONE)] {
            for width in [0.25, 0.35, 0.45] {
                for origin in [(100.0, 150.0), (20.0, 8.0), (180.0, 283.0)] {
                    let mut page = white_page();
                    pen(&mut page, origin, digit, width, 80);
                    let what = format!("a {width} mm \"{name}\" at {origin:?} mm");
                    let measured = assert_content(&scanned(page, 5), &what);
                    // The old measure saw about 0.0001 here, the threshold: too little ink to judge by.
                    assert!(measured.ink_ratio < 0.0002, "{what}: {measured:?}");
                }
            }
        }
    }

    #[test]
    fn handwritten_initials_are_content() {
        let initials: [&[(f32, f32)]; 3] = [
            &[(0.0, 4.0), (0.0, 0.0), (1.5, 2.5), (3.0, 0.0), (3.0, 4.0)],
            &[(4.5, 0.0), (4.5, 4.0)],
            &[(7.0, 0.0), (4.6, 2.2), (7.0, 4.0)],
        ];
        let mut page = white_page();
        for stroke in initials {
            pen(&mut page, (150.0, 260.0), stroke, 0.3, 90);
        }
        assert_content(&scanned(page, 6), "initials");
    }

    #[test]
    fn a_faint_stamp_keeps_the_page_in_doubt() {
        // A received stamp almost out of ink: lighter than any pen, darker than bleed-through.
        let mut page = white_page();
        let (x, y, width, height, stroke) = (mm(120.0), mm(60.0), mm(40.0), mm(20.0), mm(0.6));
        for (fx, fy, fw, fh) in [
            (x, y, width, stroke),
            (x, y + height, width, stroke),
            (x, y, stroke, height),
            (x + width, y, stroke, height),
        ] {
            fill(&mut page, fx, fy, fw, fh, 186);
        }
        draw_text_line(&mut page, x + mm(4.0), y + mm(7.0), 9, 3.0, 0.4, 186);
        let measured = measure(&page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!measured.blank, "{measured:?}");
        assert!(matches!(measured.doubt, Some(Doubt::FaintMarks { .. })), "{measured:?}");
        assert!(measured.doubt.is_some_and(|doubt| doubt.to_string().contains("faint stamp")));
    }

    #[test]
    fn a_lone_dot_keeps_the_page_in_doubt() {
        let mut page = white_page();
        pen(&mut page, (105.0, 150.0), &[(0.0, 0.0), (0.6, 0.3)], 0.5, 40);
        let measured = measure(&scanned(page, 7), DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!measured.blank, "{measured:?}");
        assert!(matches!(measured.doubt, Some(Doubt::SmallMarks { count: 1, .. })), "{measured:?}");
    }

    #[test]
    fn many_small_dots_are_tiny_print_not_doubt() {
        // Forty 1 mm dots (a dotted line to sign on): more small-mark ink than the threshold.
        let mut page = white_page();
        for dot in 0..40 {
            pen(&mut page, (40.0 + dot as f32 * 3.0, 200.0), &[(0.0, 0.0), (0.4, 0.0)], 0.6, 40);
        }
        let measured = measure(&page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!measured.blank && measured.doubt.is_none(), "{measured:?}");
        assert!(measured.ink_ratio > DEFAULT_BLANK_THRESHOLD, "{measured:?}");
    }

    #[test]
    fn a_generated_blank_back_with_bleed_through_and_scanner_noise_is_blank() {
        let spec = registratur_testkit::LetterSpec {
            routing: registratur_testkit::Routing::Qr("AZ:32.10.05-123/2026".into()),
            pages: 1,
            upside_down: false,
            expect: String::new(),
        };
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(8);
        let (pages, _) = registratur_testkit::render_letter(&spec, 300.0, &mut rng).expect("renders");
        let back = registratur_testkit::blank_back(&pages[0]);
        let measured = assert_blank(&scanned(back, 8));
        assert_eq!((measured.marks, measured.doubt), (0, None));
        assert_content(&scanned(pages[0].clone(), 9), "the letter's front");
    }

    #[test]
    fn the_wedge_of_a_skewed_feed_and_a_frame_of_shadows_are_blank() {
        let mut page = scanned(white_page(), 10);
        // Black backing beside a sheet fed at a slant: 2 mm wide at the top, 9 mm at the bottom.
        for y in 0..A4_300.1 {
            let width = mm(2.0) + (mm(7.0) * y) / A4_300.1;
            fill(&mut page, 0, y, width, 1, 15);
        }
        // A grey shadow along the bottom and the right, joined to the wedge in the corner.
        fill(&mut page, 0, A4_300.1 - mm(5.0), A4_300.0, mm(5.0), 90);
        fill(&mut page, A4_300.0 - mm(3.5), 0, mm(3.5), A4_300.1, 110);
        let measured = assert_blank(&page);
        assert_eq!(measured.doubt, None);
    }

    #[test]
    fn a_dark_area_reaching_in_from_the_edge_keeps_the_page_in_doubt() {
        // A dog-ear folded over: a dark triangle from the corner, 25 mm along both edges.
        let mut page = white_page();
        for y in 0..mm(25.0) {
            fill(&mut page, 0, y, mm(25.0) - y, 1, 30);
        }
        let measured = measure(&page, DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!measured.blank, "{measured:?}");
        assert!(matches!(measured.doubt, Some(Doubt::EdgeArea { .. })), "{measured:?}");
    }

    #[test]
    fn a_threshold_that_is_not_a_number_keeps_the_page() {
        let measured = measure(&white_page(), DPI_300, f64::NAN);
        assert!(!measured.blank);
    }

    #[test]
    fn other_resolutions_measure_alike() {
        for dpi in [150.0, 200.0, 600.0] {
            let scale = dpi / 300.0;
            let (width, height) = ((A4_300.0 as f32 * scale) as u32, (A4_300.1 as f32 * scale) as u32);
            let mut page = GrayImage::from_pixel(width, height, Luma([250]));
            let blank = measure(&page, Dpi::uniform(dpi), DEFAULT_BLANK_THRESHOLD);
            assert!(blank.blank, "{dpi} dpi: {blank:?}");
            let line = |value: f32| (value * scale) as u32;
            fill(&mut page, line(800.0), line(2000.0), line(600.0), line(30.0), 30);
            let content = measure(&page, Dpi::uniform(dpi), DEFAULT_BLANK_THRESHOLD);
            assert!(!content.blank, "{dpi} dpi: {content:?}");
        }
    }

    #[test]
    fn survives_degenerate_pages_and_resolutions() {
        for (width, height) in [(0, 0), (1, 1), (0, 100), (100, 0), (3, 7000)] {
            for dpi in [Dpi::uniform(0.0), Dpi::uniform(f32::NAN), Dpi { x: -3.0, y: f32::INFINITY }, DPI_300]
            {
                let measured =
                    measure(&GrayImage::from_pixel(width, height, Luma([255])), dpi, DEFAULT_BLANK_THRESHOLD);
                assert!(measured.blank, "{width}x{height} at {dpi:?}: {measured:?}");
            }
        }
        let black = measure(&GrayImage::new(5, 5), DPI_300, DEFAULT_BLANK_THRESHOLD);
        assert!(!black.blank, "{black:?}");
    }
}
