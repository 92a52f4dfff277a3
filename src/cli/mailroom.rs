//! `registratur ingest`, `registratur batch` and `registratur klaerfall`: the mailroom from the
//! command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use crate::grpc::client::{
    BatchEventReport, BatchFileSource, BatchSummaryReport, Client, KlaerfallReport, PieceReport,
};
use crate::records::repo::AkteRef;
use crate::service::NewBatch;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Scanned files of the batch, in scan order (TIFF, PDF, JPEG, PNG).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Wait until every piece is routed and print one line per piece.
    #[arg(long)]
    wait: bool,
    /// The scanner's batch id (default: derived from the first file name and the time).
    #[arg(long)]
    batch_id: Option<String>,
    /// Posteingangsdatum, YYYY-MM-DD (default: today).
    #[arg(long)]
    date: Option<String>,
    /// Who scanned (default: $USER).
    #[arg(long)]
    operator: Option<String>,
    /// Resolution of files that declare none.
    #[arg(long, default_value_t = 300)]
    dpi: u32,
    /// bw, gray or color.
    #[arg(long, default_value = "gray")]
    colour_mode: String,
    /// Both sides of each sheet were scanned.
    #[arg(long)]
    duplex: bool,
    /// Sheets counted by the operator; checked against the pages fed.
    #[arg(long)]
    sheets: Option<u32>,
    /// paper_scan, email, fachverfahren or other.
    #[arg(long, default_value = "paper_scan")]
    channel: String,
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Show a batch: state, pieces, summary.
    Show { id: u64 },
    /// Follow a batch until it is done, one line per piece.
    Watch { id: u64 },
}

#[derive(Debug, Subcommand)]
pub enum KlaerfallCommand {
    /// List open Klärfälle (with --all, resolved ones too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Show one Klärfall with its evidence and text excerpt.
    Show { id: u64 },
    /// Write a page preview (PNG) to a file.
    Preview {
        id: u64,
        /// 1-based page number.
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// File the piece in an Akte (by Aktenzeichen, or by id with --akte-id).
    Resolve {
        id: u64,
        /// Aktenzeichen of the Akte.
        #[arg(long, conflicts_with = "akte_id", required_unless_present = "akte_id")]
        akte: Option<String>,
        #[arg(long)]
        akte_id: Option<u64>,
        /// Title of the new Dokument (default: "Posteingang vom ...").
        #[arg(long, default_value = "")]
        title: String,
        /// Why this Akte; recorded with the Klärfall and in the journal entry that files the Dokument
        /// (shown by `klaerfall show`, `doc history` and `audit export`).
        #[arg(long, default_value = "")]
        note: String,
    },
}

pub(super) async fn ingest(client: &mut Client, args: IngestArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.files {
        let bytes = tokio::fs::read(path).await.with_context(|| format!("cannot read {}", path.display()))?;
        let filename =
            path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        files.push(BatchFileSource { filename, bytes });
    }
    let now = chrono::Local::now();
    let batch_id =
        args.batch_id.unwrap_or_else(|| format!("{}-{}", files[0].filename, now.format("%Y%m%d%H%M%S")));
    let header = NewBatch {
        scanner_batch_id: batch_id,
        channel: args.channel,
        posteingangsdatum: args.date.unwrap_or_else(|| now.format("%Y-%m-%d").to_string()),
        operator: args.operator.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".to_string()),
        dpi: args.dpi,
        colour_mode: args.colour_mode,
        device: "registratur-cli".to_string(),
        duplex: args.duplex,
        expected_sheets: args.sheets,
        scanned_at: None,
    };
    let receipt = client.ingest(header, files).await?;
    if !args.wait {
        if json {
            println!("{}", serde_json::to_string_pretty(&receipt)?);
        } else {
            println!(
                "batch {} received ({} files stored); processing continues in the background",
                receipt.batch_id,
                receipt.files.len()
            );
            println!("follow it with: registratur batch watch {}", receipt.batch_id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !json {
        println!("batch {} received ({} files stored)", receipt.batch_id, receipt.files.len());
    }
    watch(client, receipt.batch_id, json).await
}

pub(super) async fn batch(
    client: &mut Client,
    command: BatchCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        BatchCommand::Show { id } => {
            let report = client.batch(id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("batch {} ({}): {}", report.batch_id, report.scanner_batch_id, report.state);
                for piece in &report.pieces {
                    println!("{}", piece_line(piece));
                }
                if let Some(summary) = &report.summary {
                    print_summary(summary);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BatchCommand::Watch { id } => watch(client, id, json).await,
    }
}

async fn watch(client: &mut Client, id: u64, json: bool) -> anyhow::Result<ExitCode> {
    let mut events = Vec::new();
    let mut failed = false;
    client
        .watch_batch(id, |event| {
            if let BatchEventReport::Done(summary) = &event {
                failed = !summary.invariant_holds || summary.files.iter().any(|f| !f.3.is_empty());
            }
            if json {
                events.push(event);
                return;
            }
            match &event {
                BatchEventReport::Progress { .. } => {}
                BatchEventReport::Piece(piece) => println!("{}", piece_line(piece)),
                BatchEventReport::Done(summary) => print_summary(summary),
            }
        })
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn piece_line(piece: &PieceReport) -> String {
    // Page numbers within their file; with several files, "file:page".
    let one_file = piece.pages.windows(2).all(|w| w[0].0 == w[1].0);
    let pages = piece
        .pages
        .iter()
        .map(|(f, p)| if one_file { format!("{}", p + 1) } else { format!("{}:{}", f + 1, p + 1) })
        .collect::<Vec<_>>()
        .join(",");
    let blanks = if piece.blank_pages_removed > 0 {
        format!(", {} blank removed", piece.blank_pages_removed)
    } else {
        String::new()
    };
    match piece.outcome.as_str() {
        "filed" => format!(
            "piece {:>3}  pages {pages}{blanks}  → Akte {} (Dokument {}) by {}",
            piece.index + 1,
            piece.aktenzeichen,
            piece.dokument_id,
            piece.method
        ),
        _ => format!(
            "piece {:>3}  pages {pages}{blanks}  → Klärfall {} ({}): {}",
            piece.index + 1,
            piece.klaerfall_id,
            piece.reason,
            piece.detail
        ),
    }
}

fn print_summary(summary: &BatchSummaryReport) {
    println!(
        "done: {} pieces; pages fed {} = stored {} + blank {} + separator sheets {} ({})",
        summary.pieces,
        summary.pages_fed,
        summary.pages_stored,
        summary.blank_removed,
        summary.separator_sheets,
        if summary.invariant_holds { "checked" } else { "DOES NOT ADD UP" }
    );
    for (name, format, pages, error) in &summary.files {
        if !error.is_empty() {
            println!("file {name} ({format}, {pages} pages) not processed: {error}");
        }
    }
    for note in &summary.qc {
        println!("qc: {note}");
    }
}

pub(super) async fn klaerfall(
    client: &mut Client,
    command: KlaerfallCommand,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match command {
        KlaerfallCommand::List { all } => {
            let list = client.klaerfaelle(all).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no open Klärfälle");
            } else {
                for k in &list {
                    println!(
                        "{:>5}  {}  batch {} piece {}  {} pages  {}: {}",
                        k.id,
                        k.state,
                        k.batch_id,
                        k.piece + 1,
                        k.pages,
                        k.reason,
                        k.detail
                    );
                }
            }
        }
        KlaerfallCommand::Show { id } => print_klaerfall(&client.klaerfall(id).await?, json)?,
        KlaerfallCommand::Preview { id, page, output } => {
            let (png, pages) = client.klaerfall_preview(id, page).await?;
            tokio::fs::write(&output, &png)
                .await
                .with_context(|| format!("cannot write {}", output.display()))?;
            if !json {
                println!("page {page} of {pages} written to {}", output.display());
            }
        }
        KlaerfallCommand::Resolve { id, akte, akte_id, title, note } => {
            let akte = match (akte, akte_id) {
                (Some(aktenzeichen), _) => AkteRef::Aktenzeichen(aktenzeichen),
                (None, Some(id)) => AkteRef::Id(id),
                (None, None) => anyhow::bail!("give --akte AKTENZEICHEN or --akte-id ID"),
            };
            let (klaerfall, dokument_id) = client.resolve_klaerfall(id, &akte, &title, &note).await?;
            if json {
                println!("{}", serde_json::json!({ "klaerfall": klaerfall, "dokument_id": dokument_id }));
            } else {
                println!(
                    "Klärfall {id} filed in Akte {} as Dokument {dokument_id}",
                    klaerfall.resolved_aktenzeichen
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_klaerfall(k: &KlaerfallReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(k)?);
        return Ok(());
    }
    println!(
        "Klärfall {} ({}), batch {} piece {}, {} pages, Posteingang {}",
        k.id,
        k.state,
        k.batch_id,
        k.piece + 1,
        k.pages,
        k.posteingangsdatum
    );
    println!("reason: {}: {}", k.reason, k.detail);
    for line in &k.evidence {
        println!("evidence: {line}");
    }
    if !k.candidates.is_empty() {
        println!("candidates: {}", k.candidates.join(", "));
    }
    if k.state == "resolved" {
        println!(
            "resolved by {}: Akte {} (Dokument {})",
            k.resolved_by, k.resolved_aktenzeichen, k.resolved_dokument_id
        );
    }
    println!("text excerpt:\n{}", k.excerpt);
    Ok(())
}
