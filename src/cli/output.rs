//! How the CLI prints results: aligned text for people, one JSON object with `--json` for scripts.

use serde_json::json;

use crate::auth::Role;
use crate::records::model::{Akte, AkteState, Vorgang};
use crate::service::{
    AkteDetails, DokumentDetails, HistoryItem, IssuedRoutingCode, JournalCheck, StatusReport, StoredBlobInfo,
};

pub(super) fn status(report: &StatusReport, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({
                "version": report.version,
                "data_dir": report.data_dir,
                "blob_count": report.blob_count,
                "blob_bytes": report.blob_bytes,
                "journal_length": report.journal_length,
                "journal_head": report.journal_head,
            })
        );
        return;
    }
    println!("version         {}", report.version);
    println!("data dir        {}", report.data_dir.display());
    println!("blobs           {} ({} bytes)", report.blob_count, report.blob_bytes);
    println!("journal         {} entries", report.journal_length);
    println!("journal head    {}", report.journal_head.as_deref().unwrap_or("(empty)"));
}

pub(super) fn stored_blob(stored: &StoredBlobInfo, as_json: bool) {
    let digest = &stored.digest;
    if as_json {
        println!(
            "{}",
            json!({
                "blake3": digest.blake3.to_hex(),
                "sha256": digest.sha256.to_hex(),
                "size": digest.size,
                "newly_stored": stored.newly_stored,
                "journal_seq": stored.journal_seq,
            })
        );
        return;
    }
    let how = if stored.newly_stored { "stored" } else { "already stored (deduplicated)" };
    println!("{how}: {} bytes", digest.size);
    println!("blake3   {}", digest.blake3);
    println!("sha256   {}", digest.sha256);
    println!("journal  entry {}", stored.journal_seq);
}

pub(super) fn journal_check(check: &JournalCheck, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({
                "entries_checked": check.entries_checked,
                "intact": check.first_break.is_none(),
                "broken_seq": check.first_break.as_ref().map(|b| b.0),
                "problem": check.first_break.as_ref().map(|b| &b.1),
            })
        );
        return;
    }
    match &check.first_break {
        None => println!("journal intact: {} entries verified", check.entries_checked),
        Some((seq, problem)) => {
            println!("journal BROKEN at entry {seq}: {problem}");
            println!("({} entries before it verified)", check.entries_checked);
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).expect("output serialises to JSON"));
}

pub(super) fn new_token(name: &str, role: Role, scopes: &[String], token: &str, as_json: bool) {
    let sha256 = hex::encode(crate::auth::hash_token(token));
    if as_json {
        print_json(
            &json!({ "name": name, "role": role.as_str(), "scopes": scopes, "token": token, "token_sha256": sha256 }),
        );
        return;
    }
    println!("token (give it to {name}; it is shown only now):");
    println!("  {token}");
    println!();
    println!("add to the server's registratur.toml:");
    println!("[[auth.tokens]]");
    println!("name = {name:?}");
    println!("role = \"{role}\"");
    println!("token_sha256 = \"{sha256}\"");
    if !scopes.is_empty() {
        println!("scopes = {scopes:?}");
    }
}

pub(super) fn aktenplan_imported(version: u32, units: u32, as_json: bool) {
    if as_json {
        print_json(&json!({ "version": version, "units": units }));
    } else {
        println!("Aktenplan version {version} imported: {units} units");
    }
}

fn akte_line(akte: &Akte) -> String {
    let state = match &akte.state {
        AkteState::Open => "open".to_string(),
        AkteState::Closed { at, .. } => format!("closed {}", at.date_naive()),
    };
    format!("{:>6}  {:<24} {:<10} {}", akte.id, akte.aktenzeichen, state, akte.title)
}

pub(super) fn akte(akte: &Akte, as_json: bool) {
    if as_json {
        print_json(akte);
        return;
    }
    println!("Akte {}  (id {})", akte.aktenzeichen, akte.id);
    println!("title      {}", akte.title);
    println!("unit       {}", akte.key);
    match &akte.state {
        AkteState::Open => println!("state      open"),
        AkteState::Closed { at, by } => println!("state      closed (z.d.A.) {at} by {by}"),
    }
    println!("created    {} by {}", akte.created_at, akte.created_by);
}

pub(super) fn akten(akten: &[Akte], as_json: bool) {
    if as_json {
        print_json(&akten);
        return;
    }
    println!("{:>6}  {:<24} {:<10} title", "id", "Aktenzeichen", "state");
    for akte in akten {
        println!("{}", akte_line(akte));
    }
    println!("({} Akten)", akten.len());
}

pub(super) fn akte_details(details: &AkteDetails, as_json: bool) {
    if as_json {
        print_json(
            &json!({ "akte": details.akte, "vorgaenge": details.vorgaenge, "dokumente": details.dokumente }),
        );
        return;
    }
    akte(&details.akte, false);
    println!("Vorgänge   {}", details.vorgaenge.len());
    for vorgang in &details.vorgaenge {
        println!("  {:>6}  {}", vorgang.id, vorgang.title);
    }
    println!("Dokumente  {}", details.dokumente.len());
    for dokument in &details.dokumente {
        println!(
            "  {:>6}  {}  v{}  {}",
            dokument.id, dokument.eingang.posteingangsdatum, dokument.current_version, dokument.title
        );
    }
}

pub(super) fn vorgang(vorgang: &Vorgang, as_json: bool) {
    if as_json {
        print_json(vorgang);
    } else {
        println!("Vorgang {} in Akte {}: {}", vorgang.id, vorgang.akte_id, vorgang.title);
    }
}

pub(super) fn document(details: &DokumentDetails, as_json: bool) {
    let dokument = &details.dokument;
    if as_json {
        print_json(
            &json!({ "dokument": dokument, "aktenzeichen": details.aktenzeichen, "versions": details.versions }),
        );
        return;
    }
    println!("Dokument {}  in Akte {}", dokument.id, details.aktenzeichen);
    println!("title         {}", dokument.title);
    if let Some(vorgang) = dokument.vorgang_id {
        println!("Vorgang       {vorgang}");
    }
    if !dokument.sender.is_empty() {
        println!("sender        {}", dokument.sender);
    }
    if !dokument.fremdes_geschaeftszeichen.is_empty() {
        println!("their ref     {}", dokument.fremdes_geschaeftszeichen);
    }
    let eingang = &dokument.eingang;
    println!(
        "Eingang       {} via {} ({}), received {}",
        eingang.posteingangsdatum,
        eingang.channel.as_str(),
        eingang.source,
        eingang.received_at
    );
    for version in &details.versions {
        let original = &version.original;
        println!(
            "version {:<4}  {}  {} bytes  {}  \"{}\"  {} by {}  sha256 {}",
            version.number,
            original.filename,
            original.size,
            original.media_type,
            version.reason,
            version.created_at.date_naive(),
            version.created_by,
            original.sha256,
        );
        if let Some(source) = version.derived_from {
            println!("  derived from version {source} (format migration; the source stays)");
        }
        for rendition in &version.renditions {
            println!("  rendition   {}  {} bytes", rendition.kind, rendition.content.size);
        }
    }
}

pub(super) fn history(items: &[HistoryItem], as_json: bool) {
    if as_json {
        print_json(&items);
        return;
    }
    for item in items {
        println!("{:>6}  {}  {:<16} {:<18} {}", item.seq, item.time, item.actor, item.action, item.details);
    }
}

pub(super) fn routing_code(code: &IssuedRoutingCode, as_json: bool) {
    if as_json {
        print_json(code);
    } else {
        println!("{}", code.payload);
    }
}

/// A point in time for people: RFC 3339 in UTC, to the second.
pub(super) fn time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
