//! Regions of a page that may hold a QR code, from the finder-pattern candidates found on it.
//!
//! A code has three finder patterns with modules of the same size, at most 170 modules apart. Groups
//! of such candidates become one region, grown by a margin for the quiet zone and for finder patterns
//! the scan missed; the biggest groups come first, as those are most likely real codes.

use super::binarise::FinderCandidate;

/// A rectangle of the picture, `x1`/`y1` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Region {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
    /// Whether the candidates look like a real code rather than a chance match in print: one of them
    /// was crossed by about as many rows as a finder pattern's centre is high.
    pub convincing: bool,
}

impl Region {
    pub fn centre_x(&self) -> f64 {
        (self.x0 + self.x1) as f64 / 2.0
    }

    pub fn centre_y(&self) -> f64 {
        (self.y0 + self.y1) as f64 / 2.0
    }
}

/// The farthest two finder patterns of one code can be apart, in modules (version 40 is 177 wide).
const MAX_FINDER_DISTANCE_MODULES: f64 = 175.0;

/// Whether a candidate was crossed by about as many rows as a finder pattern's centre is high.
fn is_convincing(candidate: &FinderCandidate) -> bool {
    candidate.rows as f64 >= (1.5 * candidate.module).max(3.0)
}

/// The regions around groups of candidates, most candidates first, within a `width`×`height` picture.
pub(super) fn group(candidates: &[FinderCandidate], width: usize, height: usize) -> Vec<Region> {
    let mut parent: Vec<usize> = (0..candidates.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..candidates.len() {
        for j in i + 1..candidates.len() {
            let (a, b) = (&candidates[i], &candidates[j]);
            let ratio = a.module.max(b.module) / a.module.min(b.module).max(0.5);
            let distance = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
            // Only convincing candidates link up: chance matches in text between two codes would
            // otherwise chain them (and everything in between) into one region.
            let linkable = is_convincing(a) && is_convincing(b);
            if linkable && ratio < 1.8 && distance < MAX_FINDER_DISTANCE_MODULES * a.module.max(b.module) {
                let (ra, rb) = (root(&mut parent, i), root(&mut parent, j));
                parent[ra] = rb;
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root = vec![usize::MAX; candidates.len()];
    for i in 0..candidates.len() {
        let r = root(&mut parent, i);
        if group_of_root[r] == usize::MAX {
            group_of_root[r] = groups.len();
            groups.push(Vec::new());
        }
        groups[group_of_root[r]].push(i);
    }
    groups.sort_by_key(|members| std::cmp::Reverse(members.len()));
    groups
        .iter()
        .map(|members| {
            let module = members.iter().map(|&i| candidates[i].module).fold(0.0, f64::max);
            // Three finder patterns span the code; fewer leave its extent open, so grow more.
            let margin = if members.len() >= 3 { 12.0 } else { 40.0 } * module;
            let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for &i in members {
                x0 = x0.min(candidates[i].x);
                y0 = y0.min(candidates[i].y);
                x1 = x1.max(candidates[i].x);
                y1 = y1.max(candidates[i].y);
            }
            let clamp = |v: f64, max: usize| (v.max(0.0) as usize).min(max);
            let convincing = members.iter().any(|&i| is_convincing(&candidates[i]));
            Region {
                x0: clamp(x0 - margin, width),
                y0: clamp(y0 - margin, height),
                x1: clamp(x1 + margin + 1.0, width),
                y1: clamp(y1 + margin + 1.0, height),
                convincing,
            }
        })
        .filter(|r| r.x0 < r.x1 && r.y0 < r.y1)
        .collect()
}
