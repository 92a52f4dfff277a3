//! `fixity` (run a scrub now, the last scrub's report, the quarantine) and `audit export` (a
//! Dokument's verifiable history) for archivists.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;

use crate::grpc::client::Client;
use crate::service::{BlobReference, QuarantineEntry, ScrubReport};

#[derive(Debug, Subcommand)]
pub enum FixityCommand {
    /// Re-hash every blob now, with progress; exits with 1 when blobs are missing or corrupted
    /// (the default when no subcommand is given).
    Run,
    /// Show the report of the last completed scrub, scheduled or on demand.
    Last,
    /// List quarantined blobs: when and why, and which Dokumente and Versionen need them restored.
    Quarantine,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Export a Dokument's full history as verifiable JSON (format: docs/audit-export.md).
    Export {
        /// The Dokument's id.
        dokument_id: u64,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub(super) async fn fixity(
    client: &mut Client,
    command: Option<FixityCommand>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    match command.unwrap_or(FixityCommand::Run) {
        FixityCommand::Run => {
            let terminal = !as_json && std::io::stderr().is_terminal();
            let report = client
                .check_fixity(|p| {
                    if terminal {
                        let percent = (p.bytes_checked * 100).checked_div(p.bytes_total).unwrap_or(100);
                        eprint!(
                            "\rchecked {} of {} blobs, {} of {} bytes ({percent}%)",
                            p.blobs_checked, p.blobs_total, p.bytes_checked, p.bytes_total
                        );
                        let _ = std::io::stderr().flush();
                    }
                })
                .await
                .context("the fixity scrub failed")?;
            if terminal {
                eprintln!();
            }
            scrub_report(&report, as_json);
            Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        FixityCommand::Last => {
            match client.last_scrub().await? {
                Some(report) => scrub_report(&report, as_json),
                None if as_json => println!("null"),
                None => println!("no fixity scrub has completed yet; run one with `registratur fixity run`"),
            }
            Ok(ExitCode::SUCCESS)
        }
        FixityCommand::Quarantine => {
            let entries = client.quarantine().await?;
            quarantine(&entries, as_json);
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(super) async fn audit(client: &mut Client, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Export { dokument_id, output } => {
            let json = client.export_document_history(dokument_id).await?;
            match output {
                Some(path) => {
                    // Beside the target and renamed, so that a failed write leaves no partial export.
                    let temp = path.with_extension("part");
                    std::fs::write(&temp, format!("{json}\n"))
                        .with_context(|| format!("cannot write {}", temp.display()))?;
                    std::fs::rename(&temp, &path)
                        .with_context(|| format!("cannot rename {} to {}", temp.display(), path.display()))?;
                }
                None => println!("{json}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn scrub_report(report: &ScrubReport, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string(report).expect("reports serialise"));
        return;
    }
    println!(
        "scrub of {} by {}, {:.1} s",
        super::output::time(&report.started_at),
        report.started_by,
        report.seconds
    );
    println!("checked {} blobs ({} bytes)", report.blobs_checked, report.bytes_checked);
    for hash in &report.missing {
        println!("MISSING      {hash}");
    }
    for hash in &report.corrupted {
        println!("CORRUPTED    {hash}");
    }
    if report.unreferenced > 0 {
        println!("unreferenced {} blobs (left by interrupted writes; harmless)", report.unreferenced);
    }
    if report.quarantined > 0 {
        println!("quarantined  {} blobs; see `registratur fixity quarantine`", report.quarantined);
    }
    println!("{}", if report.is_clean() { "fixity OK" } else { "fixity FAILED" });
}

fn quarantine(entries: &[QuarantineEntry], as_json: bool) {
    if as_json {
        let blobs: Vec<_> = entries
            .iter()
            .map(|entry| {
                let record = &entry.record;
                json!({
                    "blake3": record.blake3, "sha256": record.sha256, "size": record.size,
                    "damage": record.damage.as_str(), "reason": record.damage.explanation(),
                    "found_at": super::output::time(&record.found_at), "found_by": record.found_by,
                    "references": entry.references.iter().map(reference_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", json!({ "blobs": blobs }));
        return;
    }
    if entries.is_empty() {
        println!("nothing is quarantined");
        return;
    }
    for entry in entries {
        let record = &entry.record;
        println!("{}  {} bytes", record.blake3, record.size);
        println!("  sha256     {}", record.sha256);
        println!("  {:<10} {}", record.damage.as_str(), record.damage.explanation());
        println!("  found      {} by {}", super::output::time(&record.found_at), record.found_by);
        if entry.references.is_empty() {
            println!("  no Dokument refers to it");
        }
        for reference in &entry.references {
            match reference {
                BlobReference::Version { dokument_id, aktenzeichen, version, part, filename, .. } => {
                    println!(
                        "  needed by  Dokument {dokument_id} Version {version} ({part}, {filename:?}) in {aktenzeichen}"
                    )
                }
                BlobReference::BatchFile { batch_id, scanner_batch_id, file, filename } => println!(
                    "  needed by  batch {batch_id} ({scanner_batch_id:?}) file {file} ({filename:?}), as scanned"
                ),
            }
        }
    }
}

fn reference_json(reference: &BlobReference) -> serde_json::Value {
    match reference {
        BlobReference::Version { dokument_id, akte_id, aktenzeichen, version, part, filename } => json!({
            "dokument_id": dokument_id, "akte_id": akte_id, "aktenzeichen": aktenzeichen,
            "version": version, "part": part, "filename": filename,
        }),
        BlobReference::BatchFile { batch_id, scanner_batch_id, file, filename } => json!({
            "batch_id": batch_id, "scanner_batch_id": scanner_batch_id, "file": file, "filename": filename,
        }),
    }
}
