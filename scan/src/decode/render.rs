//! Rendering one PDF page with poppler's `pdftoppm` (Debian package `poppler-utils`), for pages that
//! are not a single scanned image. The PDF goes in on stdin and a binary PGM/PPM comes back on
//! stdout, so nothing touches the file system. The child is killed when it overruns its time, and its
//! output is read up to the size the page may have, so a hostile file cannot make it flood memory.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{DecodeError, raster};
use crate::page::Raster;

/// How long one page may take. Scanned and office pages render in well under a second; a page that
/// takes a minute is a pathological drawing, and failing it is better than blocking a worker.
pub(super) const TIMEOUT: Duration = Duration::from_secs(60);

/// The program, overridable for tests and unusual installs with `REGISTRATUR_PDFTOPPM`.
fn program() -> String {
    std::env::var("REGISTRATUR_PDFTOPPM").unwrap_or_else(|_| "pdftoppm".to_string())
}

/// Renders page `number` (1-based) of `pdf` at `dpi`, in grey or colour. `max_width`/`max_height`
/// bound what the output may be (the caller has checked them against the limits).
pub(super) fn render_page(
    pdf: &[u8],
    number: u32,
    dpi: u32,
    colour: bool,
    max_width: u32,
    max_height: u32,
) -> Result<Raster, DecodeError> {
    let mut command = Command::new(program());
    command.args(["-r", &dpi.to_string(), "-f", &number.to_string(), "-l", &number.to_string(), "-cropbox"]);
    if !colour {
        command.arg("-gray");
    }
    command.arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|error| {
        DecodeError::Render(format!("cannot start {}: {error}; install poppler-utils", program()))
    })?;

    let channels: u64 = if colour { 3 } else { 1 };
    // Two pixels of slack per side for rounding, plus the header.
    let max_bytes = (u64::from(max_width) + 2) * (u64::from(max_height) + 2) * channels + 64;
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let output = std::thread::scope(|scope| {
        // Writing and reading happen at once, or a large PDF and a large image deadlock on the pipes.
        scope.spawn(move || {
            if let Some(stdin) = stdin.as_mut() {
                // A child that stops reading early (a broken file) closes the pipe; its exit status
                // and stderr report why, so the write error itself is not interesting.
                let _ = stdin.write_all(pdf);
            }
            drop(stdin);
        });
        let reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            if let Some(stdout) = stdout {
                let _ = stdout.take(max_bytes + 1).read_to_end(&mut bytes);
            }
            bytes
        });
        let errors = scope.spawn(move || {
            let mut text = String::new();
            if let Some(stderr) = stderr {
                let _ = stderr.take(16 * 1024).read_to_string(&mut text);
            }
            text
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if started.elapsed() > TIMEOUT => {
                    // Killing closes the pipes, which ends the reader threads.
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(DecodeError::Render(format!(
                        "page {number} took longer than {} s to render; simplify or rescan the page",
                        TIMEOUT.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(error) => {
                    break Err(DecodeError::Render(format!("waiting for pdftoppm failed: {error}")));
                }
            }
        };
        let bytes = reader.join().unwrap_or_default();
        let errors = errors.join().unwrap_or_default();
        status.map(|status| (status, bytes, errors))
    })?;
    let (status, bytes, errors) = output;
    if !status.success() {
        let detail = errors.lines().next().unwrap_or("no message").trim().to_string();
        return Err(DecodeError::Corrupt(format!("page {number} cannot be rendered ({detail})")));
    }
    if bytes.len() as u64 > max_bytes {
        return Err(DecodeError::TooLarge(format!("page {number} rendered larger than its declared size")));
    }
    parse_pnm(&bytes)
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
