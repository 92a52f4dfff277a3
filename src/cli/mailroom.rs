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
use crate::service::{BatchQuery, NewBatch};

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
    /// List batches, oldest first, a page at a time.
    List {
        /// Only batches in this state: queued, processing or done.
        #[arg(long)]
        state: Option<String>,
        /// Only batches with a Posteingangsdatum on or after this day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Only batches with a Posteingangsdatum on or before this day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// Only batches with a larger id: the `--after` printed under the previous page.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Batches per page (default 100, at most 1000).
        #[arg(long, default_value_t = 0)]
        limit: u32,
    },
    /// Show a batch: state, pieces, summary. Pieces, files and pages are numbered from 1, in text
    /// and in --json alike.
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
        /// 1-based page number (0 also means the first page).
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
        BatchCommand::List { state, from, to, after, limit } => {
            let query = BatchQuery {
                state: state.unwrap_or_default(),
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
                after,
                limit,
            };
            let (batches, next) = client.list_batches(query).await?;
            if json {
                let next = (next != 0).then_some(next);
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "batches": batches, "next_after": next })
                    )?
                );
            } else if batches.is_empty() {
                println!("no batches");
            } else {
                for b in &batches {
                    println!(
                        "{:>5}  {:<10}  Posteingang {}  {}  ({}, {}, {} done)  received {} by {}",
                        b.batch_id,
                        b.state,
                        b.posteingangsdatum,
                        b.scanner_batch_id,
                        b.operator,
                        counted(b.files, "file", "files"),
                        counted(b.pieces_done, "piece", "pieces"),
                        b.received_at,
                        b.received_by
                    );
                }
                if next != 0 {
                    println!("more: registratur batch list --after {next} (with the same filters)");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
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

/// "1 page", "2 pages": a count with the noun in the right number.
fn counted(n: u32, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

fn piece_line(piece: &PieceReport) -> String {
    // Page numbers within their file; with several files, "file:page". All 1-based.
    let one_file = piece.pages.windows(2).all(|w| w[0].0 == w[1].0);
    let numbers = piece
        .pages
        .iter()
        .map(|(f, p)| if one_file { format!("{p}") } else { format!("{f}:{p}") })
        .collect::<Vec<_>>()
        .join(",");
    let stored = piece.pages.len() as u32;
    let mut counts = counted(stored, "page", "pages");
    if piece.blank_pages_removed > 0 {
        counts.push_str(&format!(
            ", {} removed",
            counted(piece.blank_pages_removed, "blank page", "blank pages")
        ));
    }
    let pages = format!("{} {numbers} ({counts})", if stored == 1 { "page" } else { "pages" });
    match piece.outcome.as_str() {
        "filed" => format!(
            "piece {:>3}  {pages}  → Akte {} (Dokument {}) by {}",
            piece.piece, piece.aktenzeichen, piece.dokument_id, piece.method
        ),
        _ => format!(
            "piece {:>3}  {pages}  → Klärfall {} ({}): {}",
            piece.piece, piece.klaerfall_id, piece.reason, piece.detail
        ),
    }
}

/// How a file that could not be processed is named: its format and pages when they are known.
fn failed_file_line(name: &str, format: &str, pages: u32, error: &str) -> String {
    let known = match (format.is_empty(), pages) {
        (true, 0) => String::new(),
        (true, pages) => format!(" ({})", counted(pages, "page", "pages")),
        (false, 0) => format!(" ({format})"),
        (false, pages) => format!(" ({format}, {})", counted(pages, "page", "pages")),
    };
    format!("file {name}{known} not processed: {error}")
}

fn print_summary(summary: &BatchSummaryReport) {
    println!(
        "done: {}; pages fed {} = stored {} + blank {} + separator sheets {} ({})",
        counted(summary.pieces, "piece", "pieces"),
        summary.pages_fed,
        summary.pages_stored,
        summary.blank_removed,
        summary.separator_sheets,
        if summary.invariant_holds { "checked" } else { "DOES NOT ADD UP" }
    );
    for (name, format, pages, error) in &summary.files {
        if !error.is_empty() {
            println!("{}", failed_file_line(name, format, *pages, error));
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
                        "{:>5}  {}  batch {} piece {}  {}  {}: {}",
                        k.id,
                        k.state,
                        k.batch_id,
                        k.piece,
                        counted(k.pages, "page", "pages"),
                        k.reason,
                        k.detail
                    );
                }
            }
        }
        KlaerfallCommand::Show { id } => print_klaerfall(&client.klaerfall(id).await?, json)?,
        KlaerfallCommand::Preview { id, page, output } => {
            let preview = client.klaerfall_preview(id, page).await?;
            tokio::fs::write(&output, &preview.png)
                .await
                .with_context(|| format!("cannot write {}", output.display()))?;
            // The page the server returned (page 0 asks for the first), not the one asked for.
            if json {
                let written = serde_json::json!({
                    "klaerfall_id": id, "page": preview.page, "pages": preview.pages,
                    "output": output.display().to_string(), "bytes": preview.png.len(),
                });
                println!("{}", serde_json::to_string_pretty(&written)?);
            } else {
                println!("page {} of {} written to {}", preview.page, preview.pages, output.display());
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
    } else {
        print!("{}", klaerfall_text(k));
    }
    Ok(())
}

/// `klaerfall show` in text: the case, its evidence, and for a resolved one who filed it where,
/// when and why.
fn klaerfall_text(k: &KlaerfallReport) -> String {
    let mut out = format!(
        "Klärfall {} ({}), batch {} piece {}, {}, Posteingang {}, opened {}\n",
        k.id,
        k.state,
        k.batch_id,
        k.piece,
        counted(k.pages, "page", "pages"),
        k.posteingangsdatum,
        k.created_at
    );
    out.push_str(&format!("reason: {}: {}\n", k.reason, k.detail));
    for line in &k.evidence {
        out.push_str(&format!("evidence: {line}\n"));
    }
    if !k.candidates.is_empty() {
        out.push_str(&format!("candidates: {}\n", k.candidates.join(", ")));
    }
    if k.state == "resolved" {
        out.push_str(&format!(
            "resolved by {} at {}: filed in Akte {} (id {}) as Dokument {}\n",
            k.resolved_by, k.resolved_at, k.resolved_aktenzeichen, k.resolved_akte_id, k.resolved_dokument_id
        ));
        if k.resolved_note.is_empty() {
            out.push_str("note: (none given)\n");
        } else {
            out.push_str(&format!("note: {}\n", k.resolved_note));
        }
    }
    out.push_str(&format!("text excerpt:\n{}\n", k.excerpt));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(pages: Vec<(u32, u32)>, blanks: u32) -> PieceReport {
        PieceReport {
            piece: 2,
            outcome: "filed".into(),
            akte_id: 1,
            aktenzeichen: "32.10.05-1/2026".into(),
            dokument_id: 7,
            method: "routing_code".into(),
            klaerfall_id: 0,
            reason: String::new(),
            detail: String::new(),
            evidence: Vec::new(),
            pages,
            blank_pages_removed: blanks,
            qc: "ok".into(),
        }
    }

    #[test]
    fn a_piece_line_names_page_numbers_and_counts_apart_in_the_right_number() {
        assert_eq!(
            piece_line(&piece(vec![(1, 5)], 2)),
            "piece   2  page 5 (1 page, 2 blank pages removed)  → Akte 32.10.05-1/2026 (Dokument 7) by routing_code"
        );
        assert_eq!(
            piece_line(&piece(vec![(1, 5), (1, 7)], 1)),
            "piece   2  pages 5,7 (2 pages, 1 blank page removed)  → Akte 32.10.05-1/2026 (Dokument 7) by routing_code"
        );
        assert!(piece_line(&piece(vec![(1, 9), (2, 1)], 0)).contains("pages 1:9,2:1 (2 pages)  →"));
    }

    #[test]
    fn an_unreadable_file_is_named_without_empty_parentheses() {
        assert_eq!(
            failed_file_line("note.txt", "", 0, "unsupported format"),
            "file note.txt not processed: unsupported format"
        );
        assert_eq!(failed_file_line("a.tiff", "tiff", 1, "x"), "file a.tiff (tiff, 1 page) not processed: x");
        assert_eq!(failed_file_line("b.pdf", "pdf", 0, "x"), "file b.pdf (pdf) not processed: x");
    }

    fn klaerfall(state: &str) -> KlaerfallReport {
        KlaerfallReport {
            id: 4,
            batch_id: 2,
            piece: 1,
            reason: "no_code".into(),
            detail: "no routing code".into(),
            evidence: Vec::new(),
            candidates: Vec::new(),
            posteingangsdatum: "2026-11-20".into(),
            pages: 1,
            excerpt: "Sehr geehrte".into(),
            created_at: "2026-11-20T08:00:00Z".into(),
            rendition_sha256: "ab".into(),
            state: state.into(),
            resolved_akte_id: 3,
            resolved_aktenzeichen: "32.10.05-3/2026".into(),
            resolved_dokument_id: 9,
            resolved_by: "poststelle".into(),
            resolved_at: "2026-11-21T09:30:00Z".into(),
            resolved_note: "Absender erkannt".into(),
        }
    }

    #[test]
    fn a_resolved_klaerfall_shows_who_when_where_and_why() {
        let text = klaerfall_text(&klaerfall("resolved"));
        assert!(
            text.starts_with("Klärfall 4 (resolved), batch 2 piece 1, 1 page, Posteingang 2026-11-20"),
            "{text}"
        );
        assert!(
            text.contains(
                "resolved by poststelle at 2026-11-21T09:30:00Z: filed in Akte 32.10.05-3/2026 (id 3) as Dokument 9\n"
            ),
            "{text}"
        );
        assert!(text.contains("note: Absender erkannt\n"), "{text}");
        let open = klaerfall_text(&klaerfall("open"));
        assert!(!open.contains("resolved by") && !open.contains("note:"), "{open}");
    }
}
