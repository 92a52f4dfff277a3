//! Durable metadata commits per second: one writer, sixteen writers with one fsync per commit
//! (`max_group = 1`, the baseline), and sixteen writers sharing fsyncs through group commit.
//!
//! Goal of the issue: group commit at sixteen writers reaches at least 10x the commits per second of one
//! fsync per commit. Each commit is what storing a document costs the metadata: a record of about 300
//! bytes, a blob reference and the journal entry. Every case prints a `summary:` line with its commits/s
//! and how many commits each sync of the write-ahead log carried (group commit's sharing, which on a
//! disk whose fsync dominates is the factor the throughput gains),
//! which `scripts/bench` turns into ratios.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use registratur_storage::meta::{Cf, MetaOptions};
use registratur_storage::{BlobDigest, BlobHash, MetaStore, Sha256Digest, Txn};

/// One bench case: how many threads commit and how large a group may grow.
struct Case {
    name: &'static str,
    writers: u64,
    max_group: usize,
}

const CASES: [Case; 3] = [
    Case { name: "1_writer", writers: 1, max_group: 512 },
    Case { name: "16_writers_max_group_1", writers: 16, max_group: 1 },
    Case { name: "16_writers_group_commit", writers: 16, max_group: 512 },
];

fn metadata_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("metadata_commit");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for case in CASES {
        let dir = bench_dir();
        let options = MetaOptions { sync: true, max_group: case.max_group, ..MetaOptions::default() };
        let meta = MetaStore::open(dir.path(), options).expect("opening the metadata store");
        let tally = Tally::default();
        group.bench_function(case.name, |b| {
            b.iter_custom(|commits| {
                let elapsed = commit_concurrently(&meta, case.writers, commits);
                tally.add(commits, elapsed);
                elapsed
            });
        });
        tally.print(case.name, meta.log_syncs());
    }
    group.finish();
}

/// Commits `commits` transactions spread over `writers` threads and returns the wall time taken.
fn commit_concurrently(meta: &MetaStore, writers: u64, commits: u64) -> Duration {
    // Per-run key prefix: criterion calls this many times on the same store.
    static RUN: AtomicU64 = AtomicU64::new(0);
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let share = commits / writers + u64::from(writer < commits % writers);
            scope.spawn(move || {
                let mut rng = rand::rng();
                for n in 0..share {
                    let id = format!("{run:06}-{writer:02}-{n:08}");
                    meta.commit(document_txn(&mut rng, &id)).expect("committing a bench transaction");
                }
            });
        }
    });
    start.elapsed()
}

/// The metadata of storing one document: its record, a reference to its blob and the journal entry.
fn document_txn(rng: &mut impl rand::Rng, id: &str) -> Txn {
    let digest = BlobDigest {
        blake3: BlobHash::from_bytes(rng.random()),
        sha256: Sha256Digest::from_bytes(rng.random()),
        size: rng.random_range(10_000..5_000_000),
    };
    let record = format!(
        r#"{{"id":"dok-{id}","akte":"AZ 31-4721/2025","titel":"Bescheid über die Gewährung von Wohngeld","eingang":"2025-04-01T09:15:00Z","blob":"{}","seiten":3,"status":"erfasst","bearbeiter":"sb-0815"}}"#,
        digest.blake3,
    );
    let key = format!("dokument/{id}");
    let mut txn = Txn::new("bench", "dokument.create", key.clone());
    txn.put(Cf::Records, key, record).add_blob_ref(digest);
    txn
}

/// Commits and time over every call criterion made for one case, warm-up included.
#[derive(Default)]
struct Tally {
    commits: AtomicU64,
    nanos: AtomicU64,
}

impl Tally {
    fn add(&self, commits: u64, elapsed: Duration) {
        self.commits.fetch_add(commits, Ordering::Relaxed);
        self.nanos.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Prints the case's commits/s and how many commits each sync of the log made durable.
    fn print(&self, case: &str, log_syncs: u64) {
        let commits = self.commits.load(Ordering::Relaxed);
        let seconds = self.nanos.load(Ordering::Relaxed) as f64 / 1e9;
        // A filtered-out case never ran.
        if commits > 0 && seconds > 0.0 {
            println!(
                "summary: metadata_commit/{case}: {:.0} commits/s ({commits} commits in {seconds:.2} s; \
                 {log_syncs} log syncs, {:.1} commits per sync)",
                commits as f64 / seconds,
                commits as f64 / log_syncs.max(1) as f64
            );
        }
    }
}

/// A fresh directory under `$REGISTRATUR_BENCH_DIR` (set it to measure the file system you deploy on) or
/// else under the target directory, which unlike a possibly memory-backed /tmp makes fsync cost what it
/// costs on disk.
fn bench_dir() -> tempfile::TempDir {
    let parent = std::env::var_os("REGISTRATUR_BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from);
    std::fs::create_dir_all(&parent).expect("creating the bench parent directory");
    tempfile::tempdir_in(&parent).expect("creating a bench directory")
}

criterion_group!(benches, metadata_commit);
criterion_main!(benches);
