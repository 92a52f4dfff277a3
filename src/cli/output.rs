//! How the CLI prints results: aligned text for people, one JSON object with `--json` for scripts.

use registratur_storage::fixity::FixityReport;
use serde_json::json;

use crate::service::{JournalCheck, StatusReport, StoredBlobInfo};

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
    println!(
        "blobs           {} ({} bytes)",
        report.blob_count, report.blob_bytes
    );
    println!("journal         {} entries", report.journal_length);
    println!(
        "journal head    {}",
        report.journal_head.as_deref().unwrap_or("(empty)")
    );
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
    let how = if stored.newly_stored {
        "stored"
    } else {
        "already stored (deduplicated)"
    };
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

pub(super) fn fixity(report: &FixityReport, as_json: bool) {
    let hex = |hashes: &[registratur_storage::BlobHash]| -> Vec<String> {
        hashes.iter().map(|h| h.to_hex()).collect()
    };
    if as_json {
        println!(
            "{}",
            json!({
                "blobs_checked": report.blobs_checked,
                "bytes_checked": report.bytes_checked,
                "missing": hex(&report.missing),
                "corrupted": hex(&report.corrupted),
                "unreferenced": hex(&report.unreferenced),
                "clean": report.is_clean(),
            })
        );
        return;
    }
    println!(
        "checked {} blobs ({} bytes)",
        report.blobs_checked, report.bytes_checked
    );
    for (label, hashes) in [
        ("MISSING", &report.missing),
        ("CORRUPTED", &report.corrupted),
        ("unreferenced", &report.unreferenced),
    ] {
        for hash in hashes.iter() {
            println!("{label:<13}{hash}");
        }
    }
    println!(
        "{}",
        if report.is_clean() {
            "fixity OK"
        } else {
            "fixity FAILED"
        }
    );
}
