//! The search benchmark: a store of generated German documents (~2 KB of text each), a full rebuild of
//! the index from it, then query latencies.
//!
//! Reports: documents/s of the rebuild (records → text blobs → tantivy), p50/p99 of top-20 + total
//! count for a frequent term with a date filter (the target: p99 ≤ 25 ms at 1,000,000 documents) and
//! for other query shapes, index size on disk and peak RSS.
//!
//! `REGISTRATUR_SEARCH_DOCS` sets the corpus size (default 1,000,000); `REGISTRATUR_BENCH_DIR` where the
//! store is kept (default /var/tmp/registratur-bench-search). A complete store is reused by later runs,
//! because generating a million documents through the records takes minutes. Run by `scripts/bench-search`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use registratur::records::aktenplan::{Aktenplan, Unit};
use registratur::records::aktenzeichen::{AktenplanKey, AktenzeichenFormat};
use registratur::records::model::Channel;
use registratur::records::repo::{AkteRef, NewDokument, Records};
use registratur::search::{SearchFilters, SearchIndex, SearchRequest, SearchSettings, SortOrder};
use registratur_storage::Store;
use registratur_testkit::corpus::{self, CorpusChannel, GermanCorpus};

const SEED: u64 = 2026;
/// Akten the documents are spread over.
const AKTEN: u64 = 2_000;
const WRITER_THREADS: u64 = 8;
const COMPLETE_MARKER: &str = "corpus-complete";

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes --bench; test runners (cargo test --benches, nextest listing) do not, and a
    // benchmark that takes many minutes must not run as a test.
    if !std::env::args().any(|arg| arg == "--bench") {
        return Ok(());
    }
    let docs: u64 =
        std::env::var("REGISTRATUR_SEARCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let bench_dir = std::env::var_os("REGISTRATUR_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/registratur-bench-search"));
    let data_dir = bench_dir.join(format!("store-{docs}"));
    let corpus = GermanCorpus::new(SEED);
    if !data_dir.join(COMPLETE_MARKER).exists() {
        generate_store(&data_dir, &corpus, docs)?;
    } else {
        println!("reusing the store in {} ({docs} documents)", data_dir.display());
    }

    let store = Store::open(&data_dir)?;
    let records = Arc::new(Records::open(store, AktenzeichenFormat::default())?);
    let search_dir = data_dir.join("search");
    if search_dir.exists() {
        std::fs::remove_dir_all(&search_dir)?;
    }
    let index = SearchIndex::open(search_dir, records.clone(), SearchSettings::default())?;
    let started = Instant::now();
    let mut last_print = Instant::now();
    let report = index.rebuild(|progress| {
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            let rate = progress.done as f64 / started.elapsed().as_secs_f64();
            println!("  reindex: {}/{} ({rate:.0}/s)", progress.done, progress.total);
        }
    })?;
    let rate = report.documents as f64 / report.seconds;
    println!(
        "reindex: {} documents in {:.1} s = {rate:.0} documents/s (target >= 3000)",
        report.documents, report.seconds
    );

    let snapshot = index.snapshot()?;
    println!(
        "index: {} documents, {:.0} MiB on disk; peak RSS so far {} MiB",
        snapshot.document_count(),
        snapshot.size_on_disk() as f64 / (1 << 20) as f64,
        peak_rss_mib()
    );

    let year = |y: i32| (NaiveDate::from_ymd_opt(y, 1, 1), NaiveDate::from_ymd_opt(y, 12, 31));
    let (from, to) = year(2020);
    let dated = SearchFilters { from, to, ..Default::default() };
    let scoped_unit = corpus.aktenplan()[0].to_string();
    let cases: Vec<(&str, SearchRequest, Vec<String>)> = vec![
        (
            "frequent term + date filter, relevance (target)",
            request(corpus::FREQUENT_TERM, &dated, None),
            vec![],
        ),
        (
            "frequent term, no filter, relevance",
            request(corpus::FREQUENT_TERM, &SearchFilters::default(), None),
            vec![],
        ),
        (
            "frequent term + date filter, newest first",
            request(corpus::FREQUENT_TERM, &dated, Some(SortOrder::NewestFirst)),
            vec![],
        ),
        (
            "frequent term + date filter, scoped caller",
            request(corpus::FREQUENT_TERM, &dated, None),
            vec![scoped_unit],
        ),
        ("medium term", request(corpus::MEDIUM_TERM, &SearchFilters::default(), None), vec![]),
        ("rare term", request(corpus::RARE_TERM, &SearchFilters::default(), None), vec![]),
        (
            "two frequent terms OR'ed + date filter",
            request(&format!("{} OR {}", corpus::FREQUENT_TERM, corpus::MEDIUM_TERM), &dated, None),
            vec![],
        ),
    ];
    println!("\nquery latency, top-20 with snippets + total count, {docs} documents:");
    for (name, request, scopes) in &cases {
        let mut times = Vec::new();
        let mut total = 0;
        for round in 0..320 {
            let started = Instant::now();
            let results = index.search(request, scopes)?;
            if round >= 20 {
                times.push(started.elapsed());
            }
            total = results.total;
        }
        times.sort();
        let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e3;
        println!("  {name:<50} hits {total:>8}  p50 {:>7.2} ms  p99 {:>7.2} ms", p(0.50), p(0.99));
    }
    println!("\npeak RSS: {} MiB", peak_rss_mib());
    Ok(())
}

fn request(query: &str, filters: &SearchFilters, order: Option<SortOrder>) -> SearchRequest {
    SearchRequest { query: query.to_string(), filters: filters.clone(), order, limit: 20, cursor: None }
}

/// Fills a fresh store through the records: an Aktenplan of the corpus units, Akten, then documents
/// whose original is their text (as a Fachverfahren's born-digital letter would be).
fn generate_store(data_dir: &Path, corpus: &GermanCorpus, docs: u64) -> anyhow::Result<()> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)?;
    }
    println!("generating a store of {docs} documents in {} (once; later runs reuse it)", data_dir.display());
    let store = Store::open(data_dir)?;
    let records = Records::open(store, AktenzeichenFormat::default())?;
    let units: Vec<Unit> = corpus
        .aktenplan()
        .iter()
        .map(|key| Unit {
            key: AktenplanKey::parse(key).expect("corpus keys are valid"),
            title: format!("Einheit {key}"),
            retention: None,
            aussonderung: None,
        })
        .collect();
    records.import_aktenplan("bench", &Aktenplan::new(units)?)?;
    let leaves: Vec<&str> = corpus
        .aktenplan()
        .iter()
        .copied()
        .filter(|key| !corpus.aktenplan().iter().any(|other| other.starts_with(&format!("{key}."))))
        .collect();
    let mut akten = Vec::new();
    for n in 0..AKTEN {
        let unit = AktenplanKey::parse(leaves[n as usize % leaves.len()])?;
        akten.push(records.create_akte("bench", &unit, &format!("Akte {n}"), None, Some(2025))?.id);
    }
    let started = Instant::now();
    let done = AtomicU64::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..WRITER_THREADS)
            .map(|thread| {
                let (records, akten, done) = (&records, &akten, &done);
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut i = thread;
                    while i < docs {
                        let doc = corpus.document(i);
                        let new = NewDokument {
                            akte: AkteRef::Id(akten[(i % AKTEN) as usize]),
                            vorgang_id: None,
                            title: doc.title,
                            sender: doc.sender,
                            fremdes_geschaeftszeichen: String::new(),
                            posteingangsdatum: doc.posteingangsdatum,
                            channel: match doc.channel {
                                CorpusChannel::PaperScan => Channel::PaperScan,
                                CorpusChannel::Email => Channel::Email,
                                CorpusChannel::Fachverfahren => Channel::Fachverfahren,
                                CorpusChannel::Other => Channel::Other,
                            },
                            source: "bench".into(),
                            filename: format!("dokument-{i}.txt"),
                            media_type: "text/plain; charset=utf-8".into(),
                        };
                        records.add_dokument("bench", &new, &mut doc.body.as_bytes())?;
                        let count = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if count % (docs / 20).max(1) == 0 {
                            let rate = count as f64 / started.elapsed().as_secs_f64();
                            println!("  stored {count}/{docs} ({rate:.0}/s)");
                        }
                        i += WRITER_THREADS;
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("a writer thread panicked")?;
        }
        Ok(())
    })?;
    println!("stored {docs} documents in {:.0} s", started.elapsed().as_secs_f64());
    std::fs::write(data_dir.join(COMPLETE_MARKER), format!("{docs}\n"))?;
    Ok(())
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib / 1024)
}
