//! Normalises each PDF given on the command line to PDF/A-2b and prints, per file, the outcome, the
//! time `normalize_to_pdfa2b` took, the checker's verdict, the pixel comparison against the source
//! (rendered at 72 dpi against `comparison_reference`) and the changes or the reason for refusal.
//! With `--out DIR` the outputs are written there for inspection with other validators (veraPDF).
//!
//! `cargo run --release -p registratur-scan --example normalize_pdf -- [--out DIR] FILE...`

use std::path::{Path, PathBuf};
use std::time::Instant;

use registratur_scan::pdfa::{
    DocumentInfo, check, compare_rendered, comparison_reference, normalize_to_pdfa2b,
};

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut out_dir: Option<PathBuf> = None;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--out" {
            out_dir = args.next().map(PathBuf::from);
        } else {
            files.push(arg);
        }
    }
    let mut refused = 0;
    for path in &files {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                println!("{path}: cannot read: {error}");
                refused += 1;
                continue;
            }
        };
        let name =
            Path::new(path).file_name().map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
        let info = DocumentInfo {
            title: name.clone(),
            author: None,
            creator_tool: "normalize_pdf example".into(),
            created_unix_seconds: 0,
            document_id: file_id(&bytes),
        };
        let started = Instant::now();
        let result = normalize_to_pdfa2b(&bytes, &info);
        let elapsed = started.elapsed();
        match result {
            Ok(normalized) => {
                let valid = check(&normalized.pdf).is_valid();
                let comparison = compare_rendered(&comparison_reference(&bytes), &normalized.pdf, 72, 0);
                let pixels = match &comparison {
                    Ok(comparison) => format!(
                        "max pixel difference {} over {} pages",
                        comparison.max_difference(),
                        comparison.pages.len()
                    ),
                    Err(error) => format!("comparison failed: {error}"),
                };
                println!(
                    "{path}: converted, {} pages, {} -> {} bytes in {:.1} ms, checker {}, {pixels}",
                    normalized.pages,
                    bytes.len(),
                    normalized.pdf.len(),
                    elapsed.as_secs_f64() * 1000.0,
                    if valid { "passes" } else { "FAILS" },
                );
                for change in &normalized.changes {
                    println!("    {change}");
                }
                if let Some(dir) = &out_dir {
                    let target = dir.join(&name);
                    if let Err(error) = std::fs::write(&target, &normalized.pdf) {
                        println!("    cannot write {}: {error}", target.display());
                    }
                }
            }
            Err(error) => {
                refused += 1;
                println!("{path}: refused in {:.1} ms: {error}", elapsed.as_secs_f64() * 1000.0);
            }
        }
    }
    println!("{} files, {refused} refused", files.len());
}

/// A stable 16-byte id from the file's bytes (FNV-1a, twice with different seeds); the example needs
/// determinism, not a cryptographic hash.
fn file_id(bytes: &[u8]) -> [u8; 16] {
    let hash = |seed: u64| bytes.iter().fold(seed, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_be_bytes());
    id[8..].copy_from_slice(&hash(0x8422_2325_cbf2_9ce4).to_be_bytes());
    id
}
