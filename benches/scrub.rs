//! How fast the scheduled fixity scrub re-hashes blobs at several `[fixity] scrub_mib_per_second`
//! settings, against the unthrottled rate. A plain timing harness, run by `scripts/bench`.
//!
//! It fills a fresh store with blobs of mixed sizes (200 KiB scan pages and 4 MiB PDFs), then for each
//! rate opens the engine with a scrub interval of a few milliseconds, waits for the scheduled scrub's
//! `fixity.scrub` journal entry and reads the bytes and seconds it reports. The blobs were just
//! written, so they come from the page cache: the unthrottled rate is the cost of hashing.
//!
//! `REGISTRATUR_SCRUB_MIB` sets the amount of blob data (default 256), `REGISTRATUR_SCRUB_RATES` the
//! limits in MiB/s to try (default `25,50,100,0`; 0 means unthrottled), `REGISTRATUR_BENCH_DIR` where
//! the store lives (default: the system's temporary directory).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use registratur::service::{Engine, EngineSettings, SCRUB_ACTOR, ScrubSettings};
use registratur_storage::Txn;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes --bench; test runners (cargo test --benches, nextest listing) do not, and a
    // benchmark that takes a minute must not run as a test.
    if !std::env::args().any(|arg| arg == "--bench") {
        return Ok(());
    }
    let mib: u64 = match std::env::var("REGISTRATUR_SCRUB_MIB") {
        Ok(value) => value.parse().context("REGISTRATUR_SCRUB_MIB must be a number of MiB")?,
        Err(_) => 256,
    };
    let rates: Vec<u64> = std::env::var("REGISTRATUR_SCRUB_RATES")
        .unwrap_or_else(|_| "25,50,100,0".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("REGISTRATUR_SCRUB_RATES must be a list like 25,50,0")?;
    let dir = match std::env::var_os("REGISTRATUR_BENCH_DIR") {
        Some(parent) => tempfile::tempdir_in(parent)?,
        None => tempfile::tempdir()?,
    };
    let data_dir = dir.path().join("data");
    let settings = |scrub| EngineSettings { scrub, ..EngineSettings::default() };

    let engine = Engine::open(&data_dir, settings(ScrubSettings { interval: None, bytes_per_second: 1 }))?;
    let mut stored = 0u64;
    let mut blobs = 0u64;
    while stored < mib << 20 {
        let size: usize = if blobs % 8 == 7 { 4 << 20 } else { 200 << 10 };
        // Distinct contents (identical bytes would be stored once): a generator seeded by the blob's number.
        let mut state = blobs.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        engine.store().put_blob_with(&mut bytes.as_slice(), |_| Txn::new("bench", "blob.put", "{}"))?;
        stored += size as u64;
        blobs += 1;
    }
    drop(engine);
    println!("{blobs} blobs, {:.0} MiB", stored as f64 / f64::from(1 << 20));
    println!("{:>12} {:>10} {:>10} {:>12}", "limit MiB/s", "seconds", "MiB/s", "of limit");

    for rate in rates {
        let bytes_per_second = if rate == 0 { u64::MAX >> 1 } else { rate << 20 };
        let scrub = ScrubSettings { interval: Some(Duration::from_millis(5)), bytes_per_second };
        let engine = Engine::open(&data_dir, settings(scrub))?;
        let after = engine.store().meta().journal_head().map_or(0, |head| head.seq);
        let deadline = Instant::now() + Duration::from_secs(stored / (1 << 20) + 600);
        let payload: serde_json::Value = loop {
            let entries = engine.store().meta().journal_entries(after + 1, 1_000)?;
            if let Some(entry) = entries.iter().find(|e| e.action == "fixity.scrub" && e.actor == SCRUB_ACTOR)
            {
                break serde_json::from_slice(&entry.payload)?;
            }
            if Instant::now() > deadline {
                bail!("no scheduled scrub finished within the deadline");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let bytes = payload["bytes_checked"].as_u64().context("bytes_checked in the scrub entry")?;
        let seconds = payload["seconds"].as_f64().context("seconds in the scrub entry")?;
        let achieved = bytes as f64 / f64::from(1 << 20) / seconds;
        let limit = if rate == 0 { "none".to_string() } else { rate.to_string() };
        let share = if rate == 0 { "-".to_string() } else { format!("{:.2}", achieved / rate as f64) };
        println!("{limit:>12} {seconds:>10.2} {achieved:>10.1} {share:>12}");
        drop(engine);
    }
    Ok(())
}
