//! `gen-letters`: writes a synthetic scan batch twice — `batch.tiff` (multi-page, deflate) and
//! `batch.pdf` (one JPEG image per page, as "scan to PDF" delivers it) — and its ground truth (JSON).
//!
//! Usage: `gen-letters OUT_DIR [--letters N] [--dpi D] [--seed S] [--akte AZ=CODE]... [--png]`
//! (`--png` also writes every page as `page-NNN.png`; `--no-duplex`, `--no-separators`).
//! Letters cycle through: QR routing code (when `--akte` gives one), Aktenzeichen in the text,
//! plain `AZ:` code, GiroCode only, nothing; every fourth is fed upside down, every third has two pages.

use std::path::PathBuf;

use registratur_testkit::{BatchOptions, LetterSpec, Routing, render_batch, write_jpeg_pdf, write_tiff};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = None;
    let mut options = BatchOptions::default();
    let mut count = 6usize;
    let mut akten: Vec<(String, String)> = Vec::new();
    let mut png = false;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| anyhow::anyhow!("{name} needs a value"));
        match arg.as_str() {
            "--letters" => count = value("--letters")?.parse()?,
            "--dpi" => options.dpi = value("--dpi")?.parse()?,
            "--seed" => options.seed = value("--seed")?.parse()?,
            "--no-duplex" => options.duplex = false,
            "--no-separators" => options.separators = false,
            "--png" => png = true,
            "--akte" => {
                let spec = value("--akte")?;
                let (az, code) = spec.split_once('=').unwrap_or((spec.as_str(), ""));
                akten.push((az.to_string(), code.to_string()));
            }
            other if out.is_none() && !other.starts_with('-') => out = Some(PathBuf::from(other)),
            other => anyhow::bail!(
                "unknown argument {other:?}; usage: gen-letters OUT_DIR [--letters N] [--dpi D] [--seed S] [--akte AZ=ROUTINGCODE]..."
            ),
        }
    }
    let out = out.ok_or_else(|| anyhow::anyhow!("usage: gen-letters OUT_DIR [--letters N] ..."))?;
    let letters = plan(count, &akten);
    let (pages, truth) = render_batch(&letters, &options)?;
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("batch.tiff"), write_tiff(&pages, options.dpi)?)?;
    std::fs::write(out.join("batch.pdf"), write_jpeg_pdf(&pages, options.dpi, 85)?)?;
    std::fs::write(out.join("truth.json"), serde_json::to_vec_pretty(&truth)?)?;
    if png {
        for (number, page) in pages.iter().enumerate() {
            page.save(out.join(format!("page-{:03}.png", number + 1)))?;
        }
    }
    println!("{} pages, {} letters written to {}", pages.len(), letters.len(), out.display());
    Ok(())
}

/// A mix of routing situations, cycling through the known Akten.
fn plan(count: usize, akten: &[(String, String)]) -> Vec<LetterSpec> {
    (0..count)
        .map(|i| {
            let akte = akten.get(i % akten.len().max(1));
            let (routing, expect) = match (i % 5, akte) {
                (0, Some((az, code))) if !code.is_empty() => (Routing::Qr(code.clone()), az.clone()),
                (1, Some((az, _))) => (Routing::Text(az.clone()), az.clone()),
                (2, Some((az, _))) => (Routing::Qr(format!("AZ:{az}")), az.clone()),
                (3, _) => (Routing::GiroCode, "klaerfall:no_code".to_string()),
                _ => (Routing::Nothing, "klaerfall:no_code".to_string()),
            };
            LetterSpec { routing, pages: if i % 3 == 2 { 2 } else { 1 }, upside_down: i % 4 == 3, expect }
        })
        .collect()
}
