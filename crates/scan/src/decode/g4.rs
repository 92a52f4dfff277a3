//! CCITT Group 4 (T.6) decoding into 8-bit samples, shared by TIFF strips and PDF `CCITTFaxDecode`
//! images. The `fax` crate finds the colour changes of each row; this module fills the runs directly,
//! which is much faster than the per-pixel iterator the `tiff` crate uses.

use std::convert::Infallible;

use fax::decoder::{DecodeStatus, Group4Decoder};

/// Decodes `rows` rows of `width` pixels from `data` into `out` (row-major, `width` bytes per row).
/// Runs the code calls black become `black`, the others `white`. A stream that ends early with an
/// end-of-block marker leaves the remaining rows white, as some encoders omit trailing white rows.
pub(super) fn decode_into(
    data: &[u8],
    width: u32,
    rows: u32,
    out: &mut [u8],
    black: u8,
    white: u8,
) -> Result<(), String> {
    let needed = (width as usize).checked_mul(rows as usize).ok_or("CCITT G4 image is too large")?;
    let out = out.get_mut(..needed).ok_or("CCITT G4 output buffer is too small")?;
    if width == 0 {
        return walk(data, width, rows, |_| {});
    }
    let mut row_chunks = out.chunks_exact_mut(width as usize);
    walk(data, width, rows, |transitions| {
        if let Some(row) = row_chunks.next() {
            fill_row(row, transitions, black, white);
        }
    })?;
    for row in row_chunks {
        row.fill(white);
    }
    Ok(())
}

/// Decodes `rows` rows of `width` pixels from `data` as [`decode_into`] does, with the same errors,
/// but keeps no pixels: the proof that a stream which goes into a PDF unchanged is readable, without
/// writing a page of samples nobody looks at.
pub(super) fn check(data: &[u8], width: u32, rows: u32) -> Result<(), String> {
    walk(data, width, rows, |_| {})
}

/// Runs the decoder over up to `rows` rows, handing each decoded row's colour changes to `row`; stops
/// early at an end-of-block marker (the remaining rows are white).
fn walk(data: &[u8], width: u32, rows: u32, mut row: impl FnMut(&[u16])) -> Result<(), String> {
    let width16 =
        u16::try_from(width).map_err(|_| format!("CCITT G4 image is {width} pixels wide, too wide"))?;
    let reader = data.iter().copied().map(Ok::<u8, Infallible>);
    let mut decoder = match Group4Decoder::new(reader, width16) {
        Ok(decoder) => decoder,
        Err(never) => match never {},
    };
    for y in 0..rows {
        match decoder.advance() {
            Ok(DecodeStatus::Incomplete) => row(decoder.transition()),
            Ok(DecodeStatus::End) => break,
            Err(_) => return Err(format!("CCITT G4 data is invalid or truncated at row {y} of {rows}")),
        }
    }
    Ok(())
}

/// Fills one row from its colour-change positions, which start with a white run.
fn fill_row(row: &mut [u8], transitions: &[u16], black: u8, white: u8) {
    let width = row.len();
    let mut start = 0usize;
    let mut is_white = true;
    for &position in transitions {
        let end = usize::from(position).clamp(start, width);
        row[start..end].fill(if is_white { white } else { black });
        start = end;
        is_white = !is_white;
    }
    row[start..].fill(if is_white { white } else { black });
}

/// Encodes 0/255 samples (0 = black) as CCITT G4, for test fixtures.
#[cfg(test)]
pub(super) fn encode(samples: &[u8], width: u32) -> Vec<u8> {
    use fax::{Color, VecWriter, encoder::Encoder};
    let mut encoder = Encoder::new(VecWriter::new());
    for row in samples.chunks_exact(width as usize) {
        let pels = row.iter().map(|&v| if v < 128 { Color::Black } else { Color::White });
        encoder.encode_line(pels, width as u16).expect("vec writer never fails");
    }
    encoder.finish().expect("vec writer never fails").finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_pattern_and_pads_missing_rows_white() {
        let (width, height) = (37u32, 11u32);
        let samples: Vec<u8> =
            (0..width * height).map(|i| if (i % width + i / width) % 5 < 2 { 0 } else { 255 }).collect();
        let coded = encode(&samples, width);
        let mut out = vec![7u8; samples.len()];
        decode_into(&coded, width, height, &mut out, 0, 255).unwrap();
        assert_eq!(out, samples);

        // Asking for more rows than coded: the end-of-block marker ends the image, the rest is white.
        let mut taller = vec![7u8; (width * (height + 3)) as usize];
        decode_into(&coded, width, height + 3, &mut taller, 0, 255).unwrap();
        assert!(taller[samples.len()..].iter().all(|&v| v == 255));
    }

    #[test]
    fn truncated_data_is_an_error_not_a_panic() {
        let (width, height) = (64u32, 64u32);
        let samples: Vec<u8> =
            (0..width * height).map(|i| if (i * 7919) % 11 < 4 { 0 } else { 255 }).collect();
        let coded = encode(&samples, width);
        let mut out = vec![0u8; samples.len()];
        assert!(decode_into(&coded[..coded.len() / 2], width, height, &mut out, 0, 255).is_err());
        // The check without pixels fails exactly where decoding does.
        assert_eq!(
            check(&coded[..coded.len() / 2], width, height),
            decode_into(&coded[..coded.len() / 2], width, height, &mut out, 0, 255)
        );
        assert_eq!(check(&coded, width, height), Ok(()));
    }
}
