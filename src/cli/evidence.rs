//! `registratur evidence`: export a Version's evidence records (`.ers`), verify one offline against a
//! data file and the TSA's CA certificates, and show the server's evidence queue.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use super::ClientArgs;
use registratur_evidence::{DataInput, TrustList, verify_der};

#[derive(Debug, clap::Subcommand)]
pub enum EvidenceCommand {
    /// Write a Version's evidence record to FILE.ers (renditions' records to FILE.<kind>.ers).
    Export {
        /// Dokument id.
        dokument: u64,
        /// Version number (default: the current one).
        #[arg(long)]
        version: Option<u32>,
        /// The original's evidence record file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Verify an evidence record against a data file, offline (no server): hash in tree, root = imprint,
    /// token signature and TSA certificate chain to the trusted CAs.
    Verify {
        /// The data (the Version's original or rendition bytes).
        file: PathBuf,
        /// The evidence record (`.ers`, DER).
        ers: PathBuf,
        /// PEM file with the CA certificates a TSA certificate must chain to.
        #[arg(long)]
        trust: PathBuf,
    },
    /// Show the evidence queue: pending trees, the last stamped tree and error, the anchored journal.
    Status,
}

pub(super) async fn run(args: &ClientArgs, command: EvidenceCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvidenceCommand::Export { dokument, version, output } => {
            let export = super::connect(args).await?.export_evidence(dokument, version).await?;
            let mut written = Vec::new();
            for file in &export.files {
                let path = if file.kind == "original" {
                    output.clone()
                } else {
                    rendition_path(&output, &file.kind)
                };
                std::fs::write(&path, &file.ers)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                written.push(json!({"kind": file.kind, "sha256": file.sha256, "file": path.display().to_string(), "bytes": file.ers.len()}));
            }
            if args.json {
                let out = json!({"dokument_id": export.dokument_id, "version": export.version, "tree": export.tree,
                    "timestamped_at": export.gen_time.to_rfc3339(), "files": written});
                println!("{out}");
            } else {
                println!(
                    "Dokument {} Version {}: tree {}, timestamped at {}",
                    export.dokument_id,
                    export.version,
                    export.tree,
                    export.gen_time.to_rfc3339()
                );
                for file in written {
                    println!(
                        "  {:<12} {}  {}",
                        file["kind"].as_str().unwrap_or(""),
                        file["sha256"].as_str().unwrap_or(""),
                        file["file"].as_str().unwrap_or("")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Verify { file, ers, trust } => verify(&file, &ers, &trust, args.json),
        EvidenceCommand::Status => {
            let status = super::connect(args).await?.evidence_status().await?;
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
            if args.json {
                let out = json!({
                    "enabled": status.enabled, "tsa_url": status.tsa_url, "pending_trees": status.pending_trees,
                    "oldest_pending": time(status.oldest_pending), "stamped_trees": status.stamped_trees,
                    "last_stamped_tree": status.last_stamped.map(|(id, _)| id),
                    "last_stamped_at": time(status.last_stamped.map(|(_, at)| at)),
                    "last_error": status.last_error.as_ref().map(|(_, e)| e),
                    "last_error_at": time(status.last_error.as_ref().map(|(at, _)| *at)),
                    "next_tree_at": time(status.next_tree_at), "stamp_failures": status.stamp_failures,
                    "anchored_journal_seq": status.anchored.as_ref().map(|a| a.seq),
                    "anchored_journal_hash": status.anchored.as_ref().map(|a| a.hash.clone()),
                    "anchor_intact": status.anchored.as_ref().map(|a| a.intact),
                });
                println!("{out}");
            } else {
                if !status.enabled {
                    println!("evidence records: off on this server (no [evidence] section)");
                } else {
                    println!("evidence records: on, TSA {}", status.tsa_url);
                }
                println!("pending trees:   {}", status.pending_trees);
                if let Some(oldest) = status.oldest_pending {
                    println!("oldest pending:  {}", oldest.to_rfc3339());
                }
                println!("stamped trees:   {}", status.stamped_trees);
                if let Some((id, at)) = status.last_stamped {
                    println!("last stamped:    tree {id} at {}", at.to_rfc3339());
                }
                if let Some(next) = status.next_tree_at {
                    println!("next tree at:    {}", next.to_rfc3339());
                }
                println!("stamp failures:  {}", status.stamp_failures);
                if let Some((at, error)) = &status.last_error {
                    println!("last error:      {} ({})", error, at.to_rfc3339());
                }
                if let Some(anchor) = &status.anchored {
                    println!(
                        "journal anchored through entry {} ({}), {}",
                        anchor.seq,
                        anchor.hash,
                        if anchor.intact {
                            "intact"
                        } else {
                            "THE JOURNAL NO LONGER HOLDS THIS ENTRY AS STAMPED"
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `out.ers` + `pdfa` → `out.pdfa.ers`.
fn rendition_path(output: &Path, kind: &str) -> PathBuf {
    let safe: String = kind
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    output.with_file_name(format!("{stem}.{safe}.ers"))
}

fn verify(file: &Path, ers: &Path, trust: &Path, as_json: bool) -> anyhow::Result<ExitCode> {
    let data =
        std::fs::read(file).with_context(|| format!("cannot read the data file {}", file.display()))?;
    let record =
        std::fs::read(ers).with_context(|| format!("cannot read the evidence record {}", ers.display()))?;
    let trust = TrustList::from_pem_file(trust)
        .with_context(|| format!("cannot read the trusted CA certificates {}", trust.display()))?;
    match verify_der(DataInput::Bytes(&data), &record, &trust) {
        Ok(report) => {
            if as_json {
                let out = json!({"valid": true, "existed_at": report.existed_at.to_rfc3339(),
                    "renew_before": report.renew_before.to_rfc3339(), "chains": report.chains.len()});
                println!("{out}");
            } else {
                println!(
                    "valid: {} existed at {} (renew the timestamp before {})",
                    file.display(),
                    report.existed_at.to_rfc3339(),
                    report.renew_before.to_rfc3339()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if as_json {
                println!("{}", json!({"valid": false, "error": error.to_string()}));
            } else {
                eprintln!("INVALID: {} is not proven by {}: {error}", file.display(), ers.display());
            }
            Ok(ExitCode::from(1))
        }
    }
}
