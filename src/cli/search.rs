//! `registratur search` and `registratur reindex`: full-text search from the command line.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::grpc::client::Client;
use crate::search::{SearchFilters, SearchHit, SearchRequest, SearchResults, SortOrder};

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words (all must match), "exact phrases", OR, NOT or -word, (groups), prefix*, and the fields
    /// titel:, absender:, zeichen:, text:. Empty: every Dokument, newest first.
    #[arg(default_value = "")]
    query: String,
    /// Only this Aktenplan subtree (repeatable), e.g. 32.10.
    #[arg(long)]
    unit: Vec<String>,
    /// Only Dokumente of this Akte.
    #[arg(long)]
    az: Option<String>,
    /// Posteingangsdatum from (YYYY-MM-DD, inclusive).
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Posteingangsdatum to (YYYY-MM-DD, inclusive).
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Only this channel (repeatable): paper_scan, email, fachverfahren, other.
    #[arg(long)]
    channel: Vec<String>,
    /// Only originals of this media type (repeatable), e.g. application/pdf.
    #[arg(long = "type")]
    media_type: Vec<String>,
    /// Only Dokumente in open Akten.
    #[arg(long, conflicts_with = "closed")]
    open: bool,
    /// Only Dokumente in closed Akten (z.d.A.).
    #[arg(long)]
    closed: bool,
    /// relevance, newest or oldest (default: relevance with a query, newest without).
    #[arg(long)]
    sort: Option<String>,
    /// Hits per page (at most 100).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Continue after a previous page (its "next page" cursor).
    #[arg(long)]
    cursor: Option<String>,
}

pub(super) async fn search(client: &mut Client, args: SearchArgs, as_json: bool) -> anyhow::Result<ExitCode> {
    let order = match args.sort.as_deref() {
        None => None,
        Some("relevance") => Some(SortOrder::Relevance),
        Some("newest") => Some(SortOrder::NewestFirst),
        Some("oldest") => Some(SortOrder::OldestFirst),
        Some(other) => anyhow::bail!("unknown sort {other:?}; use relevance, newest or oldest"),
    };
    let akte_open = if args.open {
        Some(true)
    } else if args.closed {
        Some(false)
    } else {
        None
    };
    let query = SearchRequest {
        query: args.query,
        filters: SearchFilters {
            units: args.unit,
            aktenzeichen: args.az,
            from: args.from,
            to: args.to,
            channels: args.channel,
            media_types: args.media_type,
            akte_open,
        },
        order,
        limit: args.limit,
        cursor: args.cursor,
    };
    let results = client.search(&query).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json(&results))?);
    } else {
        print_results(&results, std::io::stdout().is_terminal());
    }
    Ok(ExitCode::SUCCESS)
}

fn json(results: &SearchResults) -> serde_json::Value {
    let hits: Vec<_> = results
        .hits
        .iter()
        .map(|hit| {
            let d = &hit.dokument;
            serde_json::json!({
                "dokument_id": d.dokument_id, "akte_id": d.akte_id, "aktenzeichen": d.aktenzeichen,
                "title": d.title, "sender": d.sender, "posteingangsdatum": d.posteingangsdatum,
                "channel": d.channel, "media_type": d.media_type,
                "akte_state": if d.akte_open { "open" } else { "closed" }, "version": d.version,
                "score": hit.score, "snippet": hit.snippet.text,
                "highlights": hit.snippet.highlights.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "total": results.total, "hits": hits, "next_cursor": results.next_cursor,
        "indexed_through": results.indexed_through,
    })
}

fn print_results(results: &SearchResults, colour: bool) {
    println!("{} hit{}", results.total, if results.total == 1 { "" } else { "s" });
    for hit in &results.hits {
        print_hit(hit, colour);
    }
    if let Some(cursor) = &results.next_cursor {
        println!("\nnext page: --cursor {cursor}");
    }
}

fn print_hit(hit: &SearchHit, colour: bool) {
    let d = &hit.dokument;
    let closed = if d.akte_open { "" } else { " (z.d.A.)" };
    println!(
        "\n{}  Dokument {}  {}{closed}  {}",
        d.posteingangsdatum, d.dokument_id, d.aktenzeichen, d.title
    );
    if !d.sender.is_empty() {
        println!("    von {}", d.sender);
    }
    if !hit.snippet.text.is_empty() {
        println!("    {}", mark(&hit.snippet.text, &hit.snippet.highlights, colour).replace('\n', " "));
    }
}

/// The snippet with its matched words in bold (terminal) or between »«.
fn mark(text: &str, highlights: &[std::ops::Range<usize>], colour: bool) -> String {
    let (open, close) = if colour { ("\x1b[1m", "\x1b[0m") } else { ("»", "«") };
    let mut out = String::with_capacity(text.len() + highlights.len() * 8);
    let mut at = 0;
    for range in highlights {
        let (Some(before), Some(word)) = (text.get(at..range.start), text.get(range.clone())) else {
            continue;
        };
        out.push_str(before);
        out.push_str(open);
        out.push_str(word);
        out.push_str(close);
        at = range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

pub(super) async fn reindex(client: &mut Client, as_json: bool) -> anyhow::Result<ExitCode> {
    let terminal = !as_json && std::io::stderr().is_terminal();
    let mut shown = 0u64;
    let report = client
        .reindex(|done, total| {
            if terminal {
                eprint!("\r{}", progress_bar(done, total));
                let _ = std::io::stderr().flush();
            } else if !as_json && total > 0 && done * 10 / total > shown {
                shown = done * 10 / total;
                eprintln!("{done} of about {total} Dokumente indexed");
            }
        })
        .await
        .context("reindex failed")?;
    if terminal {
        eprintln!();
    }
    let rate = report.documents as f64 / report.seconds.max(1e-9);
    if as_json {
        println!(
            "{}",
            serde_json::json!({ "documents": report.documents, "seconds": report.seconds, "per_second": rate })
        );
    } else {
        println!(
            "search index rebuilt: {} Dokumente in {:.1} s ({rate:.0}/s)",
            report.documents, report.seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 40;
    let total = total.max(done).max(1);
    let filled = (done * WIDTH / total) as usize;
    format!(
        "[{}{}] {done}/{total} Dokumente ({}%)",
        "#".repeat(filled),
        "-".repeat(WIDTH as usize - filled),
        done * 100 / total
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_highlighted_words() {
        let bescheid = vec![std::ops::Range { start: 4, end: 12 }];
        assert_eq!(mark("der Bescheid vom Amt", &bescheid, false), "der »Bescheid« vom Amt");
        let outside = vec![std::ops::Range { start: 5, end: 9 }];
        assert_eq!(mark("ab", &outside, false), "ab", "ranges outside the text are ignored");
    }

    #[test]
    fn the_progress_bar_fills_in_proportion() {
        assert_eq!(progress_bar(0, 10), format!("[{}] 0/10 Dokumente (0%)", "-".repeat(40)));
        assert!(progress_bar(5, 10).starts_with(&format!("[{}{}]", "#".repeat(20), "-".repeat(20))));
        assert!(progress_bar(12, 10).contains("12/12"), "an estimate below the count grows");
    }
}
