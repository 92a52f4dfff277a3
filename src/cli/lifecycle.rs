//! The lifecycle commands: `akte hold | release | holds | reopen | correct | retention`, `doc correct`,
//! and `aussonderung due | offer | status | import | handover` (xdomea 3.0.0 offer, appraisal, handover).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::records::akte_ref;
use super::write_output;
use crate::grpc::client::Client;
use crate::grpc::client::lifecycle::{HoldReport, ProcessReport, RetentionReport};
use crate::records::lifecycle::DokumentCorrection;

#[derive(Debug, Subcommand)]
pub enum AkteLifecycleCommand {
    /// Place a legal hold (Löschsperre) on an Akte: it is never offered, handed over or deleted while
    /// the hold stands (archivist or admin).
    Hold {
        akte: String,
        #[arg(long)]
        reason: String,
    },
    /// Release an Akte's legal hold (archivist or admin).
    Release {
        akte: String,
        #[arg(long)]
        reason: String,
    },
    /// List every legal hold.
    Holds,
    /// Reopen a closed Akte (Wiederaufnahme); its retention restarts at the next close.
    Reopen {
        akte: String,
        #[arg(long)]
        reason: String,
    },
    /// Correct an Akte's title; the history keeps the earlier value and the reason.
    Correct {
        akte: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        reason: String,
    },
    /// Show an Akte's retention, due date, hold and Aussonderung state.
    Retention { akte: String },
}

#[derive(Debug, Subcommand)]
pub enum DocLifecycleCommand {
    /// Correct a Dokument's title, sender or their reference; the history keeps the earlier values.
    Correct {
        document: u64,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        sender: Option<String>,
        #[arg(long)]
        their_reference: Option<String>,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AussonderungCommand {
    /// List the Akten whose retention has run out (closed, no hold).
    Due {
        /// At most this many (default: 1000).
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// Offer the due Akten to the archive: starts a process and writes its 0501 Anbieteverzeichnis.
    Offer {
        /// Only the due Akten within this Aktenplan subtree.
        #[arg(long)]
        subtree: Option<String>,
        /// The authority handing over (xdomea Absender).
        #[arg(long)]
        authority: String,
        /// The archive (xdomea Empfaenger).
        #[arg(long)]
        archive: String,
        /// Where to write the 0501 XML.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Show an Aussonderung process with its objects and the archive's decisions.
    Status { prozess_id: String },
    /// Stream the 0503 handover package (zip) of an appraised process: every object appraised A with its
    /// files, with progress.
    Handover {
        prozess_id: String,
        /// Where to write the zip (conventionally `<ProzessID>_Aussonderung.Aussonderung.0503.zip`).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Import the archive's 0502 Bewertungsverzeichnis (XML or zip) and write the 0505 receipt.
    Import {
        file: PathBuf,
        /// Where to write the 0505 XML.
        #[arg(short, long)]
        output: PathBuf,
    },
}

pub(super) async fn akte(
    mut client: Client,
    command: AkteLifecycleCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        AkteLifecycleCommand::Hold { akte, reason } => {
            hold(&client.place_hold(&akte_ref(&akte), &reason).await?, "hold placed on", json)
        }
        AkteLifecycleCommand::Release { akte, reason } => {
            let released = client.release_hold(&akte_ref(&akte), &reason).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&released)?);
            } else {
                // The report is the hold that was in force; the release's own reason is in the journal.
                println!(
                    "hold released from {}: {reason} (the hold was placed by {} at {}: {})",
                    released.aktenzeichen, released.placed_by, released.placed_at, released.reason
                );
            }
        }
        AkteLifecycleCommand::Holds => {
            let holds = client.holds().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&holds)?);
            } else if holds.is_empty() {
                println!("no legal holds");
            } else {
                for h in &holds {
                    println!("{:<24} {}  by {} at {}", h.aktenzeichen, h.reason, h.placed_by, h.placed_at);
                }
            }
        }
        AkteLifecycleCommand::Reopen { akte, reason } => {
            super::output::akte(&client.reopen_akte(&akte_ref(&akte), &reason).await?, json)
        }
        AkteLifecycleCommand::Correct { akte, title, reason } => {
            super::output::akte(&client.correct_akte(&akte_ref(&akte), Some(title), &reason).await?, json)
        }
        AkteLifecycleCommand::Retention { akte } => {
            let report = client.retention(&akte_ref(&akte)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                retention(&report, true);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn doc(
    mut client: Client,
    command: DocLifecycleCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let DocLifecycleCommand::Correct { document, title, sender, their_reference, reason } = command;
    let correction = DokumentCorrection { title, sender, fremdes_geschaeftszeichen: their_reference };
    if correction.title.is_none()
        && correction.sender.is_none()
        && correction.fremdes_geschaeftszeichen.is_none()
    {
        anyhow::bail!("nothing to correct: give --title, --sender or --their-reference");
    }
    super::output::document(&client.correct_dokument(document, correction, &reason).await?, json);
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn aussonderung(
    mut client: Client,
    command: AussonderungCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        AussonderungCommand::Due { limit } => {
            let due = client.due_akten(limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&due)?);
            } else if due.is_empty() {
                println!("no Akte is due for the Aussonderung");
            } else {
                for report in &due {
                    retention(report, false);
                }
            }
        }
        AussonderungCommand::Offer { subtree, authority, archive, output } => {
            let process = write_output(Some(&output), async |mut sink| {
                client.offer(subtree.as_deref(), &authority, &archive, &mut sink).await
            })
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&process)?);
            } else {
                let akten = process.objects.iter().filter(|o| o.kind == "akte").count();
                println!(
                    "offered {akten} Akten ({} objects) to {} in process {}; 0501 written to {}",
                    process.objects.len(),
                    process.archive,
                    process.prozess_id,
                    output.display()
                );
            }
        }
        AussonderungCommand::Status { prozess_id } => {
            let process = client.aussonderung_process(&prozess_id).await?;
            process_status(&process, json)?;
        }
        AussonderungCommand::Handover { prozess_id, output } => {
            let terminal = !json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let written = write_output(Some(&output), async |mut sink| {
                client
                    .handover(&prozess_id, &mut sink, |bytes| {
                        if terminal {
                            eprint!("\rwritten {} MB", bytes >> 20);
                        }
                    })
                    .await
            })
            .await;
            if terminal {
                eprintln!();
            }
            let (name, bytes) = written?;
            if json {
                println!("{}", serde_json::json!({ "file_name": name, "bytes": bytes, "output": output }));
            } else {
                println!("handover {name} ({bytes} bytes) written to {}", output.display());
            }
        }
        AussonderungCommand::Import { file, output } => {
            let message = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let (process, receipt) = client.import_appraisal(message).await?;
            std::fs::write(&output, receipt).with_context(|| format!("cannot write {}", output.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&process)?);
            } else {
                let count = |code: &str| process.objects.iter().filter(|o| o.appraisal == code).count();
                println!(
                    "appraisal of process {} imported: {} objects A, {} V; 0505 written to {}",
                    process.prozess_id,
                    count("A"),
                    count("V"),
                    output.display()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn hold(report: &HoldReport, what: &str, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).unwrap_or_default());
    } else {
        println!(
            "{what} {}: {} (by {} at {})",
            report.aktenzeichen, report.reason, report.placed_by, report.placed_at
        );
    }
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

fn retention(report: &RetentionReport, long: bool) {
    let process = if report.prozess_id.is_empty() {
        String::new()
    } else {
        format!("  {} in {} {}", report.process_state, report.prozess_id, report.appraisal)
    };
    if !long {
        println!(
            "{:<24} closed {}  due {}  {} {}{process}",
            report.akte.aktenzeichen,
            or_dash(&report.closed_on),
            or_dash(&report.due_on),
            or_dash(&report.retention),
            or_dash(&report.aussonderungsart),
        );
        return;
    }
    println!("Akte:             {} ({})", report.akte.aktenzeichen, report.akte.title);
    println!("retention:        {} years", or_dash(&report.retention));
    println!("Aussonderungsart: {}", or_dash(&report.aussonderungsart));
    println!("closed (z.d.A.):  {}", or_dash(&report.closed_on));
    println!("due on:           {}{}", or_dash(&report.due_on), if report.due { " (due now)" } else { "" });
    match &report.hold {
        Some(h) => println!("legal hold:       {} (by {} at {})", h.reason, h.placed_by, h.placed_at),
        None => println!("legal hold:       none"),
    }
    if !report.prozess_id.is_empty() {
        println!(
            "Aussonderung:     {} in process {}{}",
            report.process_state,
            report.prozess_id,
            if report.appraisal.is_empty() {
                String::new()
            } else {
                format!(", appraised {}", report.appraisal)
            }
        );
    }
}

fn process_status(process: &ProcessReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(process)?);
        return Ok(());
    }
    println!("process:  {}", process.prozess_id);
    println!("state:    {}", process.state);
    println!("from:     {} to {}", process.authority, process.archive);
    println!("offered:  {} by {}", process.offered_at, process.offered_by);
    if !process.appraised_at.is_empty() {
        println!("appraised: {} by {}", process.appraised_at, process.appraised_by);
    }
    for object in &process.objects {
        println!("  {:<8} {} {:<3} {}", object.kind, object.uuid, or_dash(&object.appraisal), object.label);
    }
    Ok(())
}
