//! Rendering one PDF page with poppler's `pdftoppm`, for pages that are not a single scanned image.
//! The PDF goes in on stdin and a binary PGM/PPM comes back on stdout (see [`crate::poppler`] for how
//! the child is bounded in time and output); the output is read up to the size the page may have.

use std::time::Duration;

use super::{DecodeError, raster};
use crate::page::Raster;
use crate::poppler::{self, PDFTOPPM, RunError};

/// How long one page may take. Scanned and office pages render in well under a second; a page that
/// takes a minute is a pathological drawing, and failing it is better than blocking a worker.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Renders page `number` (1-based) of `pdf` at `dpi`, in grey or colour. `max_width`/`max_height`
/// bound what the output may be (the caller has checked them against the limits).
pub(crate) fn render_page(
    pdf: &[u8],
    number: u32,
    dpi: u32,
    colour: bool,
    max_width: u32,
    max_height: u32,
) -> Result<Raster, DecodeError> {
    let (dpi, page) = (dpi.to_string(), number.to_string());
    let mut args = vec!["-r", &dpi, "-f", &page, "-l", &page, "-cropbox"];
    if !colour {
        args.push("-gray");
    }
    args.push("-");

    let channels: u64 = if colour { 3 } else { 1 };
    // Two pixels of slack per side for rounding, plus the header.
    let max_bytes = (u64::from(max_width) + 2) * (u64::from(max_height) + 2) * channels + 64;
    let finished =
        poppler::run(&PDFTOPPM.program(), &args, pdf, max_bytes, TIMEOUT).map_err(|error| match error {
            RunError::TimedOut { timeout, .. } => DecodeError::Render(format!(
                "page {number} took longer than {} s to render; simplify or rescan the page",
                timeout.as_secs()
            )),
            other => DecodeError::Render(other.to_string()),
        })?;
    if !finished.status.success() {
        return Err(DecodeError::Corrupt(format!(
            "page {number} cannot be rendered ({})",
            finished.error_summary()
        )));
    }
    if finished.stdout_overflowed(max_bytes) {
        return Err(DecodeError::TooLarge(format!("page {number} rendered larger than its declared size")));
    }
    parse_pnm(&finished.stdout)
        .map_err(|message| DecodeError::Corrupt(format!("page {number}: pdftoppm output: {message}")))
}

/// Parses a binary PGM (P5) or PPM (P6) with 8-bit samples.
fn parse_pnm(bytes: &[u8]) -> Result<Raster, String> {
    let mut fields = Vec::with_capacity(4);
    let mut at = 0usize;
    while fields.len() < 4 {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        if bytes.get(at) == Some(&b'#') {
            while bytes.get(at).is_some_and(|&b| b != b'\n') {
                at += 1;
            }
            continue;
        }
        let start = at;
        while bytes.get(at).is_some_and(|b| !b.is_ascii_whitespace()) {
            at += 1;
        }
        if start == at {
            return Err("the image header is incomplete".into());
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    // Exactly one whitespace byte separates the header from the samples.
    let data = bytes.get(at + 1..).ok_or("the image has no samples")?;
    let number = |i: usize| fields[i].parse::<u32>().map_err(|_| format!("bad header field {:?}", fields[i]));
    let (width, height, max) = (number(1)?, number(2)?, number(3)?);
    if max != 255 {
        return Err(format!("samples have maximum {max}, expected 255"));
    }
    let pixels = width as usize * height as usize;
    match fields[0].as_str() {
        "P5" => {
            raster::gray_raster(data.get(..pixels).ok_or("the image is truncated")?.to_vec(), width, height)
        }
        "P6" => raster::rgb_raster(
            data.get(..pixels * 3).ok_or("the image is truncated")?.to_vec(),
            width,
            height,
        ),
        other => Err(format!("unexpected image type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pgm_with_comment() {
        let mut bytes = b"P5\n# made by a test\n3 2\n255\n".to_vec();
        bytes.extend_from_slice(&[0, 1, 2, 3, 4, 5]);
        let Raster::Gray(image) = parse_pnm(&bytes).unwrap() else { panic!("grey expected") };
        assert_eq!((image.width(), image.height()), (3, 2));
        assert_eq!(image.into_raw(), vec![0, 1, 2, 3, 4, 5]);
        assert!(parse_pnm(&bytes[..bytes.len() - 1]).is_err());
        assert!(parse_pnm(b"P5 3").is_err());
    }
}
