//! Randomness for the corpus: a seed mixer, a small fast generator and alias tables for weighted
//! sampling in constant time. Nothing here depends on the platform, so a seed gives the same corpus
//! everywhere.

/// SplitMix64's finaliser: a good 64-bit mix for seeding.
pub(super) fn mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// wyrand: small, fast and good enough for text.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let product = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        (product >> 64) as u64 ^ product as u64
    }

    /// Uniform in `0..bound` (`bound` > 0), by multiplication rather than a slow modulo.
    pub(super) fn below(&mut self, bound: u32) -> u32 {
        (((self.next() >> 32) * u64::from(bound)) >> 32) as u32
    }
}

/// Walker's alias method: samples an index with given weights in constant time.
pub(super) struct AliasTable {
    /// Per cell: the probability (scaled to `u32`) of keeping the cell, and the index to take
    /// otherwise.
    cells: Vec<(u32, u32)>,
}

impl AliasTable {
    /// Weights `1 / rank^exponent` for ranks 1..=`n`.
    pub(super) fn zipf(n: usize, exponent: f64) -> AliasTable {
        let weights: Vec<f64> = (1..=n).map(|rank| (rank as f64).powf(-exponent)).collect();
        AliasTable::new(&weights)
    }

    /// Vose's construction.
    pub(super) fn new(weights: &[f64]) -> AliasTable {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|weight| weight * n as f64 / total).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        let mut cells: Vec<(u32, u32)> = (0..n).map(|i| (u32::MAX, i as u32)).collect();
        while let (Some(&less), Some(&more)) = (small.last(), large.last()) {
            small.pop();
            cells[less] = ((scaled[less] * f64::from(u32::MAX)) as u32, more as u32);
            scaled[more] -= 1.0 - scaled[less];
            if scaled[more] < 1.0 {
                large.pop();
                small.push(more);
            }
        }
        // What is left holds (up to rounding) probability 1 and keeps the default full cell.
        AliasTable { cells }
    }

    pub(super) fn sample(&self, rng: &mut Rng) -> usize {
        let random = rng.next();
        let cell = (((random >> 32) * self.cells.len() as u64) >> 32) as usize;
        let (keep, alias) = self.cells[cell];
        if (random as u32) < keep { cell } else { alias as usize }
    }
}
