//! The glyphless font of the invisible text layer and the CMaps that make its text extractable.
//!
//! The font is tesseract's `pdf.ttf`: a TrueType program with one empty glyph (glyph 1) of advance 500/1000.
//! Text is written as 2-byte CIDs equal to Unicode code points (BMP); the CIDToGIDMap sends every CID to
//! glyph 1, and the ToUnicode CMap maps every CID back to its code point. Nothing is ever painted
//! (text rendering mode 3), so one glyph is all the layer needs.

use std::sync::OnceLock;

/// Tesseract's glyphless TrueType font (see `scan/assets/README.md` for its source and licence).
pub(crate) const GLYPHLESS_TTF: &[u8] = include_bytes!("../../assets/glyphless.ttf");

/// Advance width of the font's only glyph in text-space thousandths, matching its `hmtx` (1024/2048).
pub(crate) const GLYPH_ADVANCE: f64 = 500.0;

/// PostScript name used for `/BaseFont` and `/FontName`.
pub(crate) const FONT_NAME: &str = "GlyphLessFont";

/// The CIDToGIDMap stream content: 65,536 big-endian glyph ids, all 1. Built once; it compresses to a
/// few hundred bytes.
pub(crate) fn cid_to_gid_map() -> &'static [u8] {
    static MAP: OnceLock<Vec<u8>> = OnceLock::new();
    MAP.get_or_init(|| [0u8, 1].repeat(65_536))
}

/// The ToUnicode CMap: identity from 2-byte codes to UTF-16BE code units, written as one `bfrange`
/// per high byte (a range must not cross a high byte) and at most 100 entries per block, leaving out
/// the surrogate block that no code point of ours uses.
pub(crate) fn to_unicode_cmap() -> &'static [u8] {
    static CMAP: OnceLock<Vec<u8>> = OnceLock::new();
    CMAP.get_or_init(|| {
        let ranges: Vec<u32> = (0u32..=0xFF).filter(|high| !(0xD8..=0xDF).contains(high)).collect();
        let mut text = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        for block in ranges.chunks(100) {
            text.push_str(&format!("{} beginbfrange\n", block.len()));
            for high in block {
                text.push_str(&format!("<{high:02X}00> <{high:02X}FF> <{high:02X}00>\n"));
            }
            text.push_str("endbfrange\n");
        }
        text.push_str("endcmap\nCMapName currentdict /defineresource pop\nend\nend\n");
        text.into_bytes()
    })
}

/// The characters of `text` as CIDs: BMP code points except controls and surrogates; code points
/// outside the BMP become U+FFFD, because a single 2-byte CID cannot carry them.
pub(crate) fn encode_cids(text: &str) -> Vec<u16> {
    text.chars().filter(|c| !c.is_control()).map(|c| u16::try_from(u32::from(c)).unwrap_or(0xFFFD)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cids_are_code_points_and_astral_characters_become_replacement() {
        assert_eq!(encode_cids("äß\u{1F600}\tx"), vec![0xE4, 0xDF, 0xFFFD, 0x78]);
    }

    #[test]
    fn to_unicode_cmap_blocks_hold_at_most_100_ranges_and_skip_surrogates() {
        let cmap = String::from_utf8(to_unicode_cmap().to_vec()).expect("ascii cmap");
        assert!(cmap.contains("100 beginbfrange"));
        assert!(cmap.contains("<0000> <00FF> <0000>"));
        assert!(cmap.contains("<FF00> <FFFF> <FF00>"));
        assert!(!cmap.contains("<D800>"));
        assert_eq!(cmap.matches("<").count(), (256 - 8) * 3 + 4);
    }

    #[test]
    fn glyphless_font_is_a_truetype_with_two_glyphs() {
        assert_eq!(&GLYPHLESS_TTF[..4], &[0, 1, 0, 0]);
        assert_eq!(cid_to_gid_map().len(), 131_072);
    }
}
