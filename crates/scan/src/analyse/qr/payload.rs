//! A second reading of grids whose payload `rqrr` cannot parse, from the grid's modules.
//!
//! `rqrr` locates a grid, samples it and corrects it with Reed-Solomon, but its payload parser
//! knows only the numeric, alphanumeric, byte, Kanji and ECI modes: a code that starts with a
//! structured-append header (mode 3), marks FNC1 (modes 5 and 9, GS1 and AIM codes) or carries
//! Chinese characters in the GB 2312 mode (mode 13) fails with "unknown data type" after its error
//! correction succeeded. Since the corrected codewords are not handed out, this module reads the
//! data modules through `rqrr`'s uncorrected bit stream, corrects every block itself and parses every
//! mode of ISO/IEC 18004 (plus the Chinese mode of GB/T 18284). Nothing is returned unless every
//! block passes its Reed-Solomon check.

use encoding_rs::{Encoding, GBK, SHIFT_JIS, UTF_8};
use rqrr::{BitGrid, Grid};

use super::text;

/// The text of a grid, read with every mode, or `None` when its format, error correction or
/// payload does not check out. Like `rqrr`, a grid that fails as it is gets a second try transposed
/// (mirrored codes).
pub(super) fn read<G: BitGrid>(grid: &G) -> Option<String> {
    codewords(grid).or_else(|| codewords(&Transposed(grid))).and_then(|(version, data)| parse(version, &data))
}

/// The grid with rows and columns swapped, as a mirrored print shows it.
struct Transposed<'a, G>(&'a G);

impl<G: BitGrid> BitGrid for Transposed<'_, G> {
    fn size(&self) -> usize {
        self.0.size()
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.0.bit(x, y)
    }
}

/// The grid with its data mask removed from every module outside the format information, so that
/// `rqrr`'s raw bit stream (which keeps the mask) comes out unmasked.
struct Unmasked<'a, G> {
    grid: &'a G,
    /// `None` leaves the grid as it is.
    mask: Option<u16>,
}

impl<G: BitGrid> BitGrid for Unmasked<'_, G> {
    fn size(&self) -> usize {
        self.grid.size()
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        let size = self.grid.size();
        let format = (y == 8 && (x <= 8 || x + 8 >= size)) || (x == 8 && (y <= 8 || y + 8 >= size));
        self.grid.bit(y, x) ^ (!format && self.mask.is_some_and(|mask| mask_bit(mask, y, x)))
    }
}

/// Whether the data mask `mask` inverts the module at (`y`, `x`), in `rqrr`'s coordinates.
fn mask_bit(mask: u16, y: usize, x: usize) -> bool {
    match mask {
        0 => (y + x).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (y + x).is_multiple_of(3),
        4 => (y / 2 + x / 3).is_multiple_of(2),
        5 => (y * x) % 2 + (y * x) % 3 == 0,
        6 => ((y * x) % 2 + (y * x) % 3).is_multiple_of(2),
        _ => ((y * x) % 3 + (y + x) % 2).is_multiple_of(2),
    }
}

/// The version and the corrected data codewords of `grid`, or `None` when its format information or
/// any block fails.
fn codewords<G: BitGrid>(grid: &G) -> Option<(usize, Vec<u8>)> {
    let size = grid.size();
    let (meta, _) = Grid::new(Unmasked { grid, mask: None }).get_raw_data().ok()?;
    let unmasked = Unmasked { grid, mask: Some(meta.mask) };
    let (meta, raw) = Grid::new(unmasked).get_raw_data().ok()?;
    let version = meta.version.0;
    if size != version * 4 + 17 {
        return None;
    }
    let &(total, levels) = VERSIONS.get(version.checked_sub(1)?)?;
    let &(block_size, data_size, short_blocks) = levels.get(usize::from(meta.ecc_level))?;
    let raw = raw.data.get(..total)?;
    // Long blocks carry one data codeword more than short ones; the interleaving takes one codeword
    // of every block in turn, and the long blocks' extra data codeword after the common ones.
    let long_blocks = total.checked_sub(block_size * short_blocks)? / (block_size + 1);
    let blocks = short_blocks + long_blocks;
    let ecc_size = block_size - data_size;
    let ecc_offset = data_size * blocks + long_blocks;
    let mut data = Vec::with_capacity(total);
    for i in 0..blocks {
        let long = i >= short_blocks;
        let mut block = Vec::with_capacity(block_size + 1);
        for j in 0..data_size {
            block.push(*raw.get(j * blocks + i)?);
        }
        if long {
            block.push(*raw.get(data_size * blocks + (i - short_blocks))?);
        }
        for j in 0..ecc_size {
            block.push(*raw.get(ecc_offset + j * blocks + i)?);
        }
        correct(&mut block, ecc_size)?;
        data.extend_from_slice(&block[..block.len() - ecc_size]);
    }
    Some((version, data))
}

/// The size of a short block, its data codewords and the number of short blocks.
type Blocks = (usize, usize, usize);

/// Per version 1-40: the number of codewords, and per error-correction level (in the order of the
/// format bits: M, L, H, Q) the size of a short block, its data codewords and the number of short
/// blocks. The numbers are the tables of ISO/IEC 18004, as `rqrr` keeps them.
const VERSIONS: [(usize, [Blocks; 4]); 40] = [
    (26, [(26, 16, 1), (26, 19, 1), (26, 9, 1), (26, 13, 1)]),
    (44, [(44, 28, 1), (44, 34, 1), (44, 16, 1), (44, 22, 1)]),
    (70, [(70, 44, 1), (70, 55, 1), (35, 13, 2), (35, 17, 2)]),
    (100, [(50, 32, 2), (100, 80, 1), (25, 9, 4), (50, 24, 2)]),
    (134, [(67, 43, 2), (134, 108, 1), (33, 11, 2), (33, 15, 2)]),
    (172, [(43, 27, 4), (86, 68, 2), (43, 15, 4), (43, 19, 4)]),
    (196, [(49, 31, 4), (98, 78, 2), (39, 13, 4), (32, 14, 2)]),
    (242, [(60, 38, 2), (121, 97, 2), (40, 14, 4), (40, 18, 4)]),
    (292, [(58, 36, 3), (146, 116, 2), (36, 12, 4), (36, 16, 4)]),
    (346, [(69, 43, 4), (86, 68, 2), (43, 15, 6), (43, 19, 6)]),
    (404, [(80, 50, 1), (101, 81, 4), (36, 12, 3), (50, 22, 4)]),
    (466, [(58, 36, 6), (116, 92, 2), (42, 14, 7), (46, 20, 4)]),
    (532, [(59, 37, 8), (133, 107, 4), (33, 11, 12), (44, 20, 8)]),
    (581, [(64, 40, 4), (145, 115, 3), (36, 12, 11), (36, 16, 11)]),
    (655, [(65, 41, 5), (109, 87, 5), (36, 12, 11), (54, 24, 5)]),
    (733, [(73, 45, 7), (122, 98, 5), (45, 15, 3), (43, 19, 15)]),
    (815, [(74, 46, 10), (135, 107, 1), (42, 14, 2), (50, 22, 1)]),
    (901, [(69, 43, 9), (150, 120, 5), (42, 14, 2), (50, 22, 17)]),
    (991, [(70, 44, 3), (141, 113, 3), (39, 13, 9), (47, 21, 17)]),
    (1085, [(67, 41, 3), (135, 107, 3), (43, 15, 15), (54, 24, 15)]),
    (1156, [(68, 42, 17), (144, 116, 4), (46, 16, 19), (50, 22, 17)]),
    (1258, [(74, 46, 17), (139, 111, 2), (37, 13, 34), (54, 24, 7)]),
    (1364, [(75, 47, 4), (151, 121, 4), (45, 15, 16), (54, 24, 11)]),
    (1474, [(73, 45, 6), (147, 117, 6), (46, 16, 30), (54, 24, 11)]),
    (1588, [(75, 47, 8), (132, 106, 8), (45, 15, 22), (54, 24, 7)]),
    (1706, [(74, 46, 19), (142, 114, 10), (46, 16, 33), (50, 22, 28)]),
    (1828, [(73, 45, 22), (152, 122, 8), (45, 15, 12), (53, 23, 8)]),
    (1921, [(73, 45, 3), (147, 117, 3), (45, 15, 11), (54, 24, 4)]),
    (2051, [(73, 45, 21), (146, 116, 7), (45, 15, 19), (53, 23, 1)]),
    (2185, [(75, 47, 19), (145, 115, 5), (45, 15, 23), (54, 24, 15)]),
    (2323, [(74, 46, 2), (145, 115, 13), (45, 15, 23), (54, 24, 42)]),
    (2465, [(74, 46, 10), (145, 115, 17), (45, 15, 19), (54, 24, 10)]),
    (2611, [(74, 46, 14), (145, 115, 17), (45, 15, 11), (54, 24, 29)]),
    (2761, [(74, 46, 14), (145, 115, 13), (46, 16, 59), (54, 24, 44)]),
    (2876, [(75, 47, 12), (151, 121, 12), (45, 15, 22), (54, 24, 39)]),
    (3034, [(75, 47, 6), (151, 121, 6), (45, 15, 2), (54, 24, 46)]),
    (3196, [(74, 46, 29), (152, 122, 17), (45, 15, 24), (54, 24, 49)]),
    (3362, [(74, 46, 13), (152, 122, 4), (45, 15, 42), (54, 24, 48)]),
    (3532, [(75, 47, 40), (147, 117, 20), (45, 15, 10), (54, 24, 43)]),
    (3706, [(75, 47, 18), (148, 118, 19), (45, 15, 20), (54, 24, 34)]),
];

/// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1: powers of 2 and their logarithms.
const GF: ([u8; 512], [u8; 256]) = {
    let mut exp = [0u8; 512];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        exp[i + 255] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= 0x11d;
        }
        i += 1;
    }
    (exp, log)
};

fn gf_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    GF.0[usize::from(GF.1[usize::from(a)]) + usize::from(GF.1[usize::from(b)])]
}

/// `a / b`; `b` is never zero where it is called.
fn gf_div(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    GF.0[usize::from(GF.1[usize::from(a)]) + 255 - usize::from(GF.1[usize::from(b)])]
}

/// 2^`power` for any non-negative power.
fn gf_pow2(power: usize) -> u8 {
    GF.0[power % 255]
}

/// The syndromes of `block` (highest coefficient first) at 2^0 .. 2^(`ecc_size` - 1).
fn syndromes(block: &[u8], ecc_size: usize) -> Vec<u8> {
    (0..ecc_size)
        .map(|j| {
            let root = gf_pow2(j);
            block.iter().fold(0u8, |acc, &c| gf_mul(acc, root) ^ c)
        })
        .collect()
}

/// Corrects up to `ecc_size / 2` wrong codewords in `block` in place (Berlekamp-Massey, Chien
/// search, Forney); `None` when the block has more errors than that.
fn correct(block: &mut [u8], ecc_size: usize) -> Option<()> {
    let n = block.len();
    if ecc_size == 0 || ecc_size >= n || n > 255 {
        return None;
    }
    let s = syndromes(block, ecc_size);
    if s.iter().all(|&v| v == 0) {
        return Some(());
    }
    // Berlekamp-Massey: the error locator polynomial, lowest coefficient first.
    let mut locator = vec![1u8];
    let mut previous = vec![1u8];
    let mut errors = 0;
    let mut shift = 1;
    let mut last_discrepancy = 1u8;
    for k in 0..ecc_size {
        let mut discrepancy = s[k];
        for i in 1..=errors {
            discrepancy ^= gf_mul(*locator.get(i).unwrap_or(&0), s[k - i]);
        }
        if discrepancy == 0 {
            shift += 1;
            continue;
        }
        let factor = gf_div(discrepancy, last_discrepancy);
        let mut next = locator.clone();
        next.resize(next.len().max(previous.len() + shift), 0);
        for (i, &p) in previous.iter().enumerate() {
            next[i + shift] ^= gf_mul(factor, p);
        }
        if 2 * errors <= k {
            errors = k + 1 - errors;
            previous = locator;
            last_discrepancy = discrepancy;
            shift = 1;
        } else {
            shift += 1;
        }
        locator = next;
    }
    if 2 * errors > ecc_size {
        return None;
    }
    // The error evaluator: syndromes × locator, modulo x^ecc_size.
    let mut evaluator = vec![0u8; ecc_size];
    for (i, &l) in locator.iter().enumerate() {
        for (j, &sj) in s.iter().enumerate() {
            if i + j < ecc_size {
                evaluator[i + j] ^= gf_mul(l, sj);
            }
        }
    }
    let eval = |poly: &[u8], x: u8| poly.iter().rev().fold(0u8, |acc, &c| gf_mul(acc, x) ^ c);
    let mut found = 0;
    for (position, codeword) in block.iter_mut().enumerate() {
        // The codeword at `position` has degree n - 1 - position; its locator is 2^degree.
        let degree = n - 1 - position;
        let x_inverse = gf_pow2(255 - degree % 255);
        if eval(&locator, x_inverse) != 0 {
            continue;
        }
        // The formal derivative keeps the odd coefficients.
        let derivative: Vec<u8> =
            locator.iter().enumerate().skip(1).map(|(i, &c)| if i % 2 == 1 { c } else { 0 }).collect();
        let denominator = eval(&derivative, x_inverse);
        if denominator == 0 {
            return None;
        }
        // Forney with the first root 2^0: e = X · Ω(X⁻¹) / Λ'(X⁻¹).
        let magnitude = gf_mul(gf_pow2(degree), gf_div(eval(&evaluator, x_inverse), denominator));
        *codeword ^= magnitude;
        found += 1;
    }
    (found == errors && syndromes(block, ecc_size).iter().all(|&v| v == 0)).then_some(())
}

/// Reads the data codewords bit by bit, most significant first.
struct Bits<'a> {
    data: &'a [u8],
    position: usize,
}

impl Bits<'_> {
    fn remaining(&self) -> usize {
        (self.data.len() * 8).saturating_sub(self.position)
    }

    /// The next `count` bits (at most 24) as a number, or `None` past the end.
    fn take(&mut self, count: usize) -> Option<u32> {
        if count > self.remaining() || count > 24 {
            return None;
        }
        let mut value = 0u32;
        for _ in 0..count {
            let byte = self.data.get(self.position / 8)?;
            value = (value << 1) | u32::from((byte >> (7 - self.position % 8)) & 1);
            self.position += 1;
        }
        Some(value)
    }
}

/// The text being assembled: runs of bytes in one character set, each decoded when the set changes.
struct Text {
    text: String,
    bytes: Vec<u8>,
    /// The character set an ECI designator declared, or `None` to guess as for `rqrr`'s payloads.
    charset: Option<&'static Encoding>,
    /// Latin-1, which `encoding_rs` does not offer (it maps ISO-8859-1 to windows-1252).
    latin1: bool,
}

impl Text {
    fn flush(&mut self) {
        let bytes = std::mem::take(&mut self.bytes);
        if bytes.is_empty() {
            return;
        }
        if self.latin1 {
            self.text.extend(bytes.iter().map(|&b| char::from(b)));
            return;
        }
        if let Some(charset) = self.charset {
            let (decoded, _, had_errors) = charset.decode(&bytes);
            if !had_errors {
                self.text.push_str(&decoded);
                return;
            }
        }
        self.text.push_str(&text::from_payload(&bytes));
    }

    /// Appends characters in a double-byte set of their own (Kanji or GB 2312).
    fn push_double_byte(&mut self, bytes: &[u8], charset: &'static Encoding) -> Option<()> {
        self.flush();
        let (decoded, _, had_errors) = charset.decode(bytes);
        if had_errors {
            return None;
        }
        self.text.push_str(&decoded);
        Some(())
    }

    fn set_eci(&mut self, designator: u32) {
        self.flush();
        self.latin1 = matches!(designator, 1 | 3);
        self.charset = match designator {
            20 => Some(SHIFT_JIS),
            26 => Some(UTF_8),
            29 | 31 => Some(GBK),
            _ => None,
        };
    }
}

const ALPHANUMERIC: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// The text of the corrected data codewords of a code of `version`.
fn parse(version: usize, data: &[u8]) -> Option<String> {
    let mut bits = Bits { data, position: 0 };
    let mut text = Text { text: String::new(), bytes: Vec::new(), charset: None, latin1: false };
    // The width of a character count depends on the mode and on the version's size class.
    let class = match version {
        1..=9 => 0,
        10..=26 => 1,
        _ => 2,
    };
    let mut gs1 = false;
    while bits.remaining() >= 4 {
        match bits.take(4)? {
            0 => break,
            1 => {
                let mut count = bits.take([10, 12, 14][class])?;
                while count > 0 {
                    let digits = count.min(3);
                    let value = bits.take([0, 4, 7, 10][digits as usize])?;
                    if value >= 10u32.pow(digits) {
                        return None;
                    }
                    text.bytes.extend(format!("{value:0width$}", width = digits as usize).bytes());
                    count -= digits;
                }
            }
            2 => {
                let mut count = bits.take([9, 11, 13][class])?;
                let mut chars = Vec::new();
                while count > 0 {
                    if count >= 2 {
                        let value = bits.take(11)? as usize;
                        chars.push(*ALPHANUMERIC.get(value / 45)?);
                        chars.push(*ALPHANUMERIC.get(value % 45)?);
                        count -= 2;
                    } else {
                        chars.push(*ALPHANUMERIC.get(bits.take(6)? as usize)?);
                        count -= 1;
                    }
                }
                if gs1 {
                    // In GS1 codes "%" stands for the group separator and "%%" for a percent sign.
                    chars = String::from_utf8_lossy(&chars)
                        .replace("%%", "\u{0}")
                        .replace('%', "\u{1d}")
                        .replace('\u{0}', "%")
                        .into_bytes();
                }
                text.bytes.extend(chars);
            }
            4 => {
                let count = bits.take([8, 16, 16][class])?;
                for _ in 0..count {
                    text.bytes.push(bits.take(8)? as u8);
                }
            }
            8 => {
                let count = bits.take([8, 10, 12][class])?;
                let mut bytes = Vec::new();
                for _ in 0..count {
                    let value = bits.take(13)?;
                    let word = (value / 0xc0) << 8 | (value % 0xc0);
                    let word = if word < 0x1f00 { word + 0x8140 } else { word + 0xc140 };
                    bytes.extend([(word >> 8) as u8, word as u8]);
                }
                text.push_double_byte(&bytes, SHIFT_JIS)?;
            }
            13 => {
                // Chinese characters (GB/T 18284): a subset indicator, then GB 2312 in 13 bits each.
                if bits.take(4)? != 1 {
                    return None;
                }
                let count = bits.take([8, 10, 12][class])?;
                let mut bytes = Vec::new();
                for _ in 0..count {
                    let value = bits.take(13)?;
                    let word = (value / 0x60) << 8 | (value % 0x60);
                    let word = if word < 0x0a00 { word + 0xa1a1 } else { word + 0xa6a1 };
                    bytes.extend([(word >> 8) as u8, word as u8]);
                }
                text.push_double_byte(&bytes, GBK)?;
            }
            7 => {
                let first = bits.take(8)?;
                let designator = if first & 0x80 == 0 {
                    first
                } else if first & 0xc0 == 0x80 {
                    (first & 0x3f) << 8 | bits.take(8)?
                } else if first & 0xe0 == 0xc0 {
                    (first & 0x1f) << 16 | bits.take(16)?
                } else {
                    return None;
                };
                text.set_eci(designator);
            }
            // Structured append: the symbol's place in the sequence, their number and the parity of
            // the whole message. Each symbol is read on its own; its text is its part.
            3 => {
                bits.take(16)?;
            }
            5 => gs1 = true,
            // FNC1 in second position: an application indicator.
            9 => {
                bits.take(8)?;
            }
            _ => return None,
        }
    }
    text.flush();
    Some(text.text)
}

/// The fuzz target's view of this module. The first byte picks what the rest of `input` is and the
/// version (1-40) it belongs to: data codewords for [`parse`], a block for [`correct`] (after a byte
/// giving its ECC size), or the modules of a grid for [`read`]. Everything here sees bytes a sender
/// controls: the grid comes straight off the page, and the codewords through one Reed-Solomon check.
pub(super) fn fuzz(input: &[u8]) -> Option<String> {
    let (&selector, rest) = input.split_first()?;
    let version = usize::from(selector / 3) % 40 + 1;
    match selector % 3 {
        0 => parse(version, rest),
        1 => {
            let (&ecc_size, block) = rest.split_first()?;
            let mut block = block.to_vec();
            correct(&mut block, usize::from(ecc_size))?;
            // A corrected block must be a codeword: its syndromes vanish.
            assert!(syndromes(&block, usize::from(ecc_size)).iter().all(|&s| s == 0));
            Some(String::new())
        }
        _ => read(&FuzzGrid { size: version * 4 + 17, modules: rest }),
    }
}

/// A grid whose modules are the bits of a byte string, row by row (missing bits are light).
struct FuzzGrid<'a> {
    size: usize,
    modules: &'a [u8],
}

impl BitGrid for FuzzGrid<'_> {
    fn size(&self) -> usize {
        self.size
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        let i = y * self.size + x;
        self.modules.get(i / 8).is_some_and(|byte| byte >> (i % 8) & 1 == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrects_up_to_half_the_ecc_codewords() {
        // Version 1-M: one block of 26 codewords, 16 of them data.
        let data: Vec<u8> = (0..16u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        let ecc = encode(&data, 10);
        let mut block: Vec<u8> = data.iter().chain(&ecc).copied().collect();
        assert!(correct(&mut block.clone(), 10).is_some());
        for (position, error) in [(0, 0x55), (7, 0x01), (15, 0xff), (20, 0x80), (25, 0x3c)] {
            block[position] ^= error;
        }
        let mut corrected = block.clone();
        assert!(correct(&mut corrected, 10).is_some());
        assert_eq!(&corrected[..16], &data[..]);
        // Six errors are one too many for ten ECC codewords.
        block[3] ^= 0x42;
        assert!(correct(&mut block, 10).is_none_or(|()| block[..16] != data[..]));
    }

    /// Codewords from a string of '0' and '1' (other characters are for legibility), padded with zeros.
    fn codewords(bits: &str) -> Vec<u8> {
        let bits: Vec<u8> = bits.bytes().filter(|b| matches!(b, b'0' | b'1')).map(|b| b - b'0').collect();
        bits.chunks(8)
            .map(|chunk| chunk.iter().enumerate().fold(0u8, |acc, (i, &b)| acc | b << (7 - i)))
            .collect()
    }

    #[test]
    fn parses_structured_append_chinese_and_alphanumeric_segments() {
        // Structured append (symbol 2 of 4, parity 0x5a), "AD" alphanumeric, "阿" (GB 2312 B0A2) in
        // the Chinese mode, a terminator.
        let data = codewords(
            "0011 0001 0011 01011010 \
             0010 000000010 00111001111 \
             1101 0001 00000001 0001111000001 \
             0000",
        );
        assert_eq!(parse(1, &data).as_deref(), Some("AD阿"));
        // A mode the standard does not define is no text at all.
        assert_eq!(parse(1, &codewords("1111 00000000")), None);
        // A count that runs past the data is no text either.
        assert_eq!(parse(1, &codewords("0100 11111111 01000001")), None);
    }

    #[test]
    fn reads_a_gs1_code_that_rqrr_cannot_parse() {
        let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(2));
        bits.push_fnc1_first_position().expect("fnc1 fits");
        bits.push_numeric_data(b"0104012345012345").expect("digits fit");
        bits.push_terminator(qrcode::EcLevel::M).expect("terminator fits");
        let code = qrcode::QrCode::with_bits(bits, qrcode::EcLevel::M).expect("a valid code");
        let width = code.width();
        let grid = rqrr::SimpleGrid::from_func(width, |x, y| code[(x, y)] == qrcode::Color::Dark);
        assert!(matches!(Grid::new(grid.clone()).decode(), Err(rqrr::DeQRError::UnknownDataType)));
        assert_eq!(read(&grid).as_deref(), Some("0104012345012345"));
        // A transposed (mirrored) print reads the same.
        let mirrored = rqrr::SimpleGrid::from_func(width, |x, y| code[(y, x)] == qrcode::Color::Dark);
        assert_eq!(read(&mirrored).as_deref(), Some("0104012345012345"));
    }

    #[test]
    fn reads_every_block_layout_like_rqrr() {
        // Versions with one block, several equal blocks and short and long blocks, at every level.
        let text = "Registratur Eingangsstempel 2024-03-01, Aktenzeichen 12-34/2024 ".repeat(4);
        for (version, level) in [
            (1, qrcode::EcLevel::L),
            (5, qrcode::EcLevel::Q),
            (7, qrcode::EcLevel::H),
            (15, qrcode::EcLevel::M),
            (22, qrcode::EcLevel::L),
        ] {
            let code = qrcode::QrCode::with_version(
                &text.as_bytes()[..text.len().min(version * 7)],
                qrcode::Version::Normal(version as i16),
                level,
            )
            .expect("the text fits");
            let grid = rqrr::SimpleGrid::from_func(code.width(), |x, y| code[(x, y)] == qrcode::Color::Dark);
            let mut expected = Vec::new();
            Grid::new(grid.clone()).decode_to(&mut expected).expect("rqrr reads the code");
            assert_eq!(
                read(&grid),
                Some(text::from_payload(&expected)),
                "version {version}, level {level:?}"
            );
        }
    }

    /// The ECC codewords of `data` (systematic Reed-Solomon with roots 2^0 .. 2^(ecc - 1)).
    fn encode(data: &[u8], ecc: usize) -> Vec<u8> {
        let mut generator = vec![1u8];
        for i in 0..ecc {
            let mut next = vec![0u8; generator.len() + 1];
            for (j, &g) in generator.iter().enumerate() {
                next[j] ^= g;
                next[j + 1] ^= gf_mul(g, gf_pow2(i));
            }
            generator = next;
        }
        let mut remainder = vec![0u8; ecc];
        for &d in data {
            let factor = d ^ remainder[0];
            remainder.rotate_left(1);
            remainder[ecc - 1] = 0;
            for (r, &g) in remainder.iter_mut().zip(&generator[1..]) {
                *r ^= gf_mul(g, factor);
            }
        }
        remainder
    }
}
