//! Blob store hot paths: put+get throughput of `LocalBlobStore` by blob size and durability, and what
//! a put costs next to hashing the same bytes with BLAKE3 and SHA-256.
//!
//! Goal of the issue: a put without fsync (`put_nosync` in the `hash_vs_put` groups) costs at most 1.3x
//! of hashing the same bytes with BLAKE3 and then SHA-256 (`blake3+sha256`). `scripts/bench` prints
//! that ratio, and the one against `dual_hasher` (both digests the way the store computes them, on two
//! threads for large inputs), which is what the store adds to its hashing.
//!
//! "Without fsync" means a store opened with `Durability::NoSync`: it skips exactly the fsync of the
//! file and of its directory; every other step of a put (temp file, write, the check for an existing
//! copy, rename) is timed. `put_reader_nosync` is the same put fed from a reader, the path uploads and
//! the mailroom take.
//!
//! Every timed put stores bytes the store has not seen (a counter in the first eight bytes changes), since
//! a put of known bytes only verifies the existing file. A get right after its put reads from the page
//! cache: these numbers measure the CPU and syscall cost of the store, plus the device's write speed when
//! fsyncing.
//!
//! Two things a store in service does not do on its hot path are kept out of the timed region:
//! - Deleting files. After each iteration the blob is truncated to nothing (its blocks are freed, its
//!   inode stays); the bench stores are deleted only when every group has run. Deleting each blob instead
//!   would make every later file creation slower: ext4 skips recently deleted inodes one by one when it
//!   allocates a new one, so a bench that deletes as it goes measures its own deletions. For the same
//!   reason, leave a minute between two runs.
//! - Creating fan-out directories in the `hash_vs_put` groups. There are 65,536 of them (`ab/cd`); a
//!   store holding a few hundred thousand blobs has them all, a bench store would create one for almost
//!   every put. The directory a blob will land in is created before its put is timed. The `put_get`
//!   groups leave that cost in: they show a young store.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use registratur_storage::hash::DualHasher;
use registratur_storage::{BlobHash, BlobStore, Durability, LocalBlobStore};
use sha2::Digest as _;

/// Blob sizes for put+get: a small form, a typical scanned page, a large scanned document.
const PUT_GET_SIZES: [(&str, usize); 3] = [("4KiB", 4 << 10), ("200KiB", 200 << 10), ("20MiB", 20 << 20)];

/// Runs both groups; the bench stores are deleted only at the end (see the module documentation).
fn blob_store(c: &mut Criterion) {
    let mut stores = Vec::new();
    put_get(c, &mut stores);
    hash_vs_put(c, &mut stores);
}

fn put_get(c: &mut Criterion, stores: &mut Vec<tempfile::TempDir>) {
    for (durability, name) in [(Durability::Fsync, "put_get_fsync"), (Durability::NoSync, "put_get_nosync")] {
        let dir = bench_dir();
        let store = LocalBlobStore::open(dir.path(), durability).expect("opening the blob store");
        let mut group = c.benchmark_group(name);
        configure(&mut group);
        for (label, size) in PUT_GET_SIZES {
            let mut bytes = FreshBytes::new(size);
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::from_parameter(label), |b| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        let bytes = bytes.next();
                        let start = Instant::now();
                        let outcome = store.put(bytes).expect("putting a blob");
                        let read = store.get(&outcome.digest.blake3).expect("getting a blob");
                        elapsed += start.elapsed();
                        assert!(outcome.newly_stored, "bench bytes must be new to the store");
                        assert_eq!(read.len(), size);
                        empty_blob(&store, &outcome.digest.blake3);
                    }
                    elapsed
                });
            });
        }
        group.finish();
        stores.push(dir);
    }
}

fn hash_vs_put(c: &mut Criterion, stores: &mut Vec<tempfile::TempDir>) {
    for (label, size) in PUT_GET_SIZES {
        let mut bytes = FreshBytes::new(size);
        let mut group = c.benchmark_group(format!("hash_vs_put_{label}"));
        configure(&mut group);
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_function("blake3", |b| {
            let bytes = bytes.next().to_vec();
            b.iter(|| blake3::hash(black_box(&bytes)));
        });
        group.bench_function("blake3+sha256", |b| {
            let bytes = bytes.next().to_vec();
            b.iter(|| {
                let blake3 = blake3::hash(black_box(&bytes));
                let sha256 = sha2::Sha256::digest(black_box(&bytes));
                (blake3, sha256)
            });
        });
        group.bench_function("dual_hasher", |b| {
            let bytes = bytes.next().to_vec();
            b.iter(|| {
                let mut hasher = DualHasher::new();
                hasher.update(black_box(&bytes));
                hasher.finalize()
            });
        });
        // The put the goal is about: stream into a temp file while hashing, rename into place, no fsync.
        for (name, from_reader) in [("put_nosync", false), ("put_reader_nosync", true)] {
            let dir = bench_dir();
            let store = LocalBlobStore::open(dir.path(), Durability::NoSync).expect("opening the blob store");
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        let bytes = bytes.next();
                        let target = store.path_of(&BlobHash::of(bytes));
                        std::fs::create_dir_all(target.parent().expect("blob paths have a parent"))
                            .expect("creating a fan-out directory");
                        let start = Instant::now();
                        let outcome = if from_reader {
                            store.put_reader(&mut black_box(bytes)).expect("putting a blob")
                        } else {
                            store.put(black_box(bytes)).expect("putting a blob")
                        };
                        elapsed += start.elapsed();
                        assert!(outcome.newly_stored, "bench bytes must be new to the store");
                        empty_blob(&store, &outcome.digest.blake3);
                    }
                    elapsed
                });
            });
            stores.push(dir);
        }
        group.finish();
    }
}

/// Few samples and a short measurement keep the whole bench under about two minutes.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// Random bytes of a fixed size whose first eight bytes count up, so each call yields a new blob.
struct FreshBytes {
    bytes: Vec<u8>,
    counter: u64,
}

impl FreshBytes {
    fn new(size: usize) -> Self {
        assert!(size >= 8, "fresh bytes need room for the counter");
        // BLAKE3's output stream under a random key: random-looking bytes, and fast even in test builds.
        let mut bytes = vec![0u8; size];
        blake3::Hasher::new_keyed(&rand::random()).finalize_xof().fill(&mut bytes);
        Self { bytes, counter: 0 }
    }

    fn next(&mut self) -> &[u8] {
        self.counter += 1;
        self.bytes[..8].copy_from_slice(&self.counter.to_le_bytes());
        &self.bytes
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

/// Truncates a blob to nothing behind the store's back, freeing its blocks but not its inode (see the
/// module documentation). Only a benchmark may do this: blobs are immutable.
fn empty_blob(store: &LocalBlobStore, hash: &BlobHash) {
    use std::os::unix::fs::PermissionsExt;
    let path = store.path_of(hash);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
        .expect("making a bench blob writable");
    let file = std::fs::OpenOptions::new().write(true).open(&path).expect("opening a bench blob");
    file.set_len(0).expect("truncating a bench blob");
}

criterion_group!(benches, blob_store);
criterion_main!(benches);
