//! The blob store contract as tests, run against every implementation (tantivy `directory/tests.rs`,
//! quickwit `storage_test_suite` style).
//!
//! Public behind the `test-suite` cargo feature, so that a backend in another crate proves the same
//! contract: it implements [`SuiteStore`] for its store (how to damage a blob behind the store's back,
//! how many blobs it quarantined) and, in a test module,
//!
//! ```ignore
//! registratur_storage::blob_store_test_suite!({
//!     let guard = start_a_server();          // whatever must live as long as the store
//!     (guard, MyBlobStore::connect(&guard))  // a fresh, empty store for every case
//! });
//! ```
//!
//! generates one `#[test]` per case. [`run_all`] runs every case in one test instead. A new backend is
//! done when the suite passes. [`FlakyBlobStore`] simulates an outage in front of any store, for tests
//! of code that must cope with transient failures.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::{BlobError, BlobStore, BlobWriter, LocalBlobStore, MemoryBlobStore, PutOutcome};
use super::{RetryPolicy, RetryingBlobStore};
use crate::hash::{BlobDigest, BlobHash};

/// What the suite needs beyond the contract: a way to damage a stored blob, as bit rot would, and to see
/// what the store quarantined.
pub trait SuiteStore: BlobStore {
    /// Rewrites the stored bytes of `hash` with `edit` behind the store's back (directly in the file,
    /// object or map), keeping the address: as bit rot would. The blob is stored when this is called.
    fn damage(&self, hash: &BlobHash, edit: &mut dyn FnMut(&mut Vec<u8>));

    /// How many blobs the store has moved to quarantine so far.
    fn quarantine_len(&self) -> usize;

    /// Stored bytes read so far by any operation, when the backend can count them (the memory store can;
    /// a remote backend can count the bytes of its GET responses). Lets the suite prove that a duplicate
    /// put reads nothing; `None` skips that check (the behavioural one still runs).
    fn stored_bytes_read(&self) -> Option<u64> {
        None
    }
}

/// One case of the suite: panics when the store breaks the contract.
pub type Case = fn(&dyn SuiteStore);

/// Every case with its name, in the order [`run_all`] runs them.
pub const CASES: &[(&str, Case)] = &[
    ("put_then_get", put_then_get_returns_the_same_bytes_and_both_digests),
    ("idempotent_put", identical_bytes_are_stored_once),
    ("duplicate_put_reads_nothing", duplicate_put_decides_by_size_and_reads_nothing),
    ("put_replaces_wrong_size_copy", put_over_a_copy_of_the_wrong_size_replaces_it),
    ("streamed_put", streamed_put_in_odd_chunks_equals_one_shot_put),
    ("dropped_writer", dropped_writer_leaves_nothing_visible),
    ("not_found", missing_blob_is_not_found),
    ("corruption_quarantines", corrupted_blob_is_reported_and_quarantined_never_returned),
    ("verify_corruption", verify_detects_corruption),
    ("reader_never_ends_cleanly_on_bad_bytes", a_reader_ends_cleanly_only_after_the_stored_bytes),
    ("listing_pages", listing_pages_are_ordered_bounded_and_complete),
    ("transient_failures", transient_failures_surface_as_transient_and_retried_puts_store_once),
    ("concurrent_puts", concurrent_puts_of_the_same_and_different_bytes),
];

/// Runs every case, each on a fresh store from `make` (whose first element, a guard such as a temporary
/// directory, is dropped after the case).
pub fn run_all<G, S: SuiteStore>(mut make: impl FnMut() -> (G, S)) {
    for (name, case) in CASES {
        let (guard, store) = make();
        eprintln!("blob store suite: {name}");
        case(&store);
        drop(store);
        drop(guard);
    }
}

/// Generates one `#[test]` per case of the suite; `$make` is an expression evaluated afresh for every
/// case, yielding `(guard, store)` with `store: impl SuiteStore`. See the module documentation.
#[macro_export]
macro_rules! blob_store_test_suite {
    (@cases $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let (_guard, store) = $make;
                $crate::blob::test_suite::case(stringify!($name))(&store);
            }
        )*
    };
    ($make:expr) => {
        // The names of `CASES`, in its order.
        $crate::blob_store_test_suite!(@cases $make;
            put_then_get, idempotent_put, duplicate_put_reads_nothing, put_replaces_wrong_size_copy,
            streamed_put, dropped_writer, not_found, corruption_quarantines, verify_corruption,
            reader_never_ends_cleanly_on_bad_bytes, listing_pages, transient_failures, concurrent_puts);
    };
}

/// The case named `name` in [`CASES`]; panics for an unknown name (a macro out of step with the list).
pub fn case(name: &str) -> Case {
    match CASES.iter().find(|(n, _)| *n == name) {
        Some((_, case)) => *case,
        None => panic!("the blob store suite has no case {name:?}"),
    }
}

/// Deterministic sample bytes.
pub fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Every hash the store lists, through the paged listing.
fn all_hashes(store: &dyn BlobStore) -> Vec<BlobHash> {
    super::hashes(store, 3).collect::<Result<_, _>>().expect("listing the store")
}

fn put_then_get_returns_the_same_bytes_and_both_digests(store: &dyn SuiteStore) {
    for len in [0, 1, 4096, (1 << 20) + 17, 3 << 20] {
        let bytes = sample(len, 7);
        let outcome = store.put(&bytes).unwrap();
        assert_eq!(outcome.digest, BlobDigest::of(&bytes));
        assert!(outcome.newly_stored);
        assert_eq!(store.get(&outcome.digest.blake3).unwrap(), bytes);
        assert_eq!(store.size_of(&outcome.digest.blake3).unwrap(), Some(len as u64));
        assert_eq!(store.verify(&outcome.digest.blake3).unwrap(), Some(outcome.digest));
    }
}

fn identical_bytes_are_stored_once(store: &dyn SuiteStore) {
    let bytes = sample(10_000, 3);
    let first = store.put(&bytes).unwrap();
    let second = store.put_reader(&mut bytes.as_slice()).unwrap();
    let mut writer = store.writer().unwrap();
    writer.write_all(&bytes).unwrap();
    let third = writer.commit().unwrap();
    assert!(first.newly_stored);
    assert!(!second.newly_stored && !third.newly_stored);
    assert_eq!(first.digest, second.digest);
    assert_eq!(first.digest, third.digest);
    assert_eq!(all_hashes(store), vec![first.digest.blake3]);
}

/// A put of bytes already stored decides by the stored blob's existence and size and does not read it
/// (a remote store would download it): a damaged copy of the same size stays, unseen, until a verified
/// read quarantines it, after which a put stores the good bytes again.
fn duplicate_put_decides_by_size_and_reads_nothing(store: &dyn SuiteStore) {
    let bytes = sample(300_000, 12);
    let hash = store.put(&bytes).unwrap().digest.blake3;
    let read_before = store.stored_bytes_read();
    assert!(!store.put(&bytes).unwrap().newly_stored);
    assert!(!store.put_reader(&mut bytes.as_slice()).unwrap().newly_stored);
    if let (Some(before), Some(after)) = (read_before, store.stored_bytes_read()) {
        assert_eq!(after, before, "a duplicate put read stored bytes");
    }

    store.damage(&hash, &mut |stored| stored[1000] ^= 0x20);
    let again = store.put(&bytes).unwrap();
    assert!(!again.newly_stored, "a put must not read the stored copy, so it cannot see the damage");
    assert_eq!(store.quarantine_len(), 0);
    // A verified read finds the damage; then a put heals the store.
    assert!(matches!(store.get(&hash), Err(BlobError::Corrupted { .. })));
    assert_eq!(store.quarantine_len(), 1);
    assert!(store.put(&bytes).unwrap().newly_stored);
    assert_eq!(store.get(&hash).unwrap(), bytes);
}

/// A stored copy of another size than the bytes being put is damaged for certain (the address fixes the
/// bytes, hence their size): the put quarantines it and stores the good bytes.
fn put_over_a_copy_of_the_wrong_size_replaces_it(store: &dyn SuiteStore) {
    let bytes = sample(2000, 4);
    let hash = store.put(&bytes).unwrap().digest.blake3;
    store.damage(&hash, &mut |stored| stored.truncate(1500));
    assert!(store.put(&bytes).unwrap().newly_stored);
    assert_eq!(store.get(&hash).unwrap(), bytes);
    assert_eq!(store.quarantine_len(), 1);
}

fn streamed_put_in_odd_chunks_equals_one_shot_put(store: &dyn SuiteStore) {
    let bytes = sample(2_500_000, 11);
    let mut writer = store.writer().unwrap();
    for chunk in bytes.chunks(77_777) {
        writer.write_all(chunk).unwrap();
    }
    let outcome = writer.commit().unwrap();
    assert_eq!(outcome.digest, BlobDigest::of(&bytes));
    let mut read_back = Vec::new();
    store.open(&outcome.digest.blake3).unwrap().read_to_end(&mut read_back).unwrap();
    assert_eq!(read_back, bytes);
}

fn dropped_writer_leaves_nothing_visible(store: &dyn SuiteStore) {
    let mut writer = store.writer().unwrap();
    writer.write_all(&sample(5000, 1)).unwrap();
    drop(writer);
    assert!(store.list_page(None, 10).unwrap().is_empty());
}

fn missing_blob_is_not_found(store: &dyn SuiteStore) {
    let hash = BlobHash::of(b"never stored");
    assert!(matches!(store.get(&hash), Err(BlobError::NotFound { hash: h }) if h == hash));
    assert!(matches!(store.open(&hash), Err(BlobError::NotFound { .. })));
    assert_eq!(store.size_of(&hash).unwrap(), None);
    assert_eq!(store.verify(&hash).unwrap(), None);
}

fn corrupted_blob_is_reported_and_quarantined_never_returned(store: &dyn SuiteStore) {
    let bytes = sample(50_000, 9);
    let hash = store.put(&bytes).unwrap().digest.blake3;
    store.damage(&hash, &mut |stored| stored[0] ^= 0x01);
    match store.get(&hash) {
        Err(BlobError::Corrupted { hash: h }) => assert_eq!(h, hash),
        other => panic!("expected Corrupted, got {:?}", other.map(|b| b.len())),
    }
    assert_eq!(store.quarantine_len(), 1);
    assert!(matches!(store.get(&hash), Err(BlobError::NotFound { .. })));
    assert!(store.list_page(None, 10).unwrap().is_empty(), "a quarantined blob is not listed");
    // Putting the good bytes again heals the store.
    assert!(store.put(&bytes).unwrap().newly_stored);
    assert_eq!(store.get(&hash).unwrap(), bytes);
}

fn verify_detects_corruption(store: &dyn SuiteStore) {
    let hash = store.put(&sample(1000, 2)).unwrap().digest.blake3;
    store.damage(&hash, &mut |stored| stored[0] ^= 0x01);
    assert!(matches!(store.verify(&hash), Err(BlobError::Corrupted { .. })));
    assert_eq!(store.verify(&hash).unwrap(), None);
}

/// What `open`'s contract lets callers rely on: a reader reaches a clean end only after handing out
/// exactly the stored bytes. Damage done after `open` returned either goes unseen by this reader (it
/// still yields the bytes as stored) or fails its last read with `InvalidData`, never a clean end after
/// other bytes; and `verify` then finds the damage.
fn a_reader_ends_cleanly_only_after_the_stored_bytes(store: &dyn SuiteStore) {
    let bytes = sample(600_000, 21);
    let hash = store.put(&bytes).unwrap().digest.blake3;
    let mut reader = store.open(&hash).unwrap();
    store.damage(&hash, &mut |stored| stored[500_000] ^= 0x40);
    let mut read = Vec::new();
    match reader.read_to_end(&mut read) {
        Ok(_) => assert!(read == bytes, "a clean end after {} bytes other than the stored ones", read.len()),
        Err(error) => {
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
            assert!(matches!(BlobError::from_read(&hash, error), BlobError::Corrupted { .. }));
        }
    }
    assert!(matches!(store.verify(&hash), Err(BlobError::Corrupted { .. })));
}

fn listing_pages_are_ordered_bounded_and_complete(store: &dyn SuiteStore) {
    let mut stored: Vec<BlobHash> =
        (0..25u8).map(|i| store.put(&sample(100 + i as usize, i)).unwrap().digest.blake3).collect();
    stored.sort();

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_page(after.as_ref(), 10).unwrap();
        assert!(page.len() <= 10, "a page holds at most its limit");
        assert!(page.windows(2).all(|pair| pair[0] < pair[1]), "a page is in ascending order");
        if let (Some(after), Some(first)) = (after, page.first()) {
            assert!(*first > after, "a page starts after `after`");
        }
        let last_page = page.len() < 10;
        after = page.last().copied().or(after);
        pages.push(page.len());
        if last_page {
            break;
        }
    }
    assert_eq!(pages, [10, 10, 5]);
    assert_eq!(all_hashes(store), stored, "the pages together are every blob once, in order");
    assert_eq!(store.list_page(None, 1000).unwrap(), stored, "a limit beyond the count lists everything");
    assert!(store.list_page(None, 0).unwrap().is_empty());
    assert!(store.list_page(stored.last(), 10).unwrap().is_empty());
    // `after` need not be a stored hash: the page starts at the next stored one.
    let mut between = *stored[12].as_bytes();
    between[31] = between[31].wrapping_add(1);
    let between = BlobHash::from_bytes(between);
    let expected: Vec<BlobHash> = stored.iter().copied().filter(|hash| *hash > between).take(4).collect();
    assert_eq!(store.list_page(Some(&between), 4).unwrap(), expected);
    assert_eq!(store.list_page(Some(&stored[0]), 2).unwrap(), stored[1..3]);
}

/// Transient failures of the backend reach callers as transient (`is_transient`), after the bounded
/// retries of [`RetryingBlobStore`]; an outage that took nothing in leaves the store as it was, and a put
/// that took effect although its answer was lost is repeated without storing the bytes twice.
fn transient_failures_surface_as_transient_and_retried_puts_store_once(store: &dyn SuiteStore) {
    let policy = RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    };
    let kept = store.put(&sample(4000, 30)).unwrap().digest;

    let down = FlakyBlobStore::new(store, u32::MAX, FailureMode::Before);
    let retrying = RetryingBlobStore::new(&down, policy);
    let failures: Vec<BlobError> = vec![
        retrying.put(&sample(5000, 31)).unwrap_err(),
        retrying.put_reader(&mut sample(5000, 32).as_slice()).unwrap_err(),
        retrying.get(&kept.blake3).unwrap_err(),
        retrying.open(&kept.blake3).err().expect("open during an outage fails"),
        retrying.verify(&kept.blake3).unwrap_err(),
        retrying.size_of(&kept.blake3).unwrap_err(),
        retrying.list_page(None, 10).unwrap_err(),
    ];
    for failure in &failures {
        assert!(failure.is_transient(), "{failure:?}");
        assert!(failure.to_string().contains("retry"), "the message says to retry: {failure}");
    }
    // put_reader once, everything else three times.
    assert_eq!(down.calls(), 6 * 3 + 1);
    assert_eq!(store.list_page(None, 10).unwrap(), vec![kept.blake3], "the outage stored nothing");

    let lossy = FlakyBlobStore::new(store, 1, FailureMode::AfterTakingEffect);
    let retrying = RetryingBlobStore::new(&lossy, policy);
    let bytes = sample(70_000, 33);
    let outcome = retrying.put(&bytes).unwrap();
    assert_eq!(outcome.digest, BlobDigest::of(&bytes));
    assert_eq!(lossy.calls(), 2);
    lossy.fail_next(2);
    assert_eq!(retrying.get(&outcome.digest.blake3).unwrap(), bytes);
    let mut listed = store.list_page(None, 10).unwrap();
    listed.sort();
    let mut expected = vec![kept.blake3, outcome.digest.blake3];
    expected.sort();
    assert_eq!(listed, expected, "the repeated put stored the bytes once");
    assert_eq!(store.verify(&outcome.digest.blake3).unwrap(), Some(outcome.digest));
}

fn concurrent_puts_of_the_same_and_different_bytes(store: &dyn SuiteStore) {
    std::thread::scope(|scope| {
        for t in 0..8u8 {
            scope.spawn(move || {
                let shared = sample(300_000, 42);
                let own = sample(100_000 + t as usize, t);
                store.put(&shared).unwrap();
                store.put(&own).unwrap();
            });
        }
    });
    let listed = all_hashes(store);
    assert_eq!(listed.len(), 9);
    for hash in listed {
        assert!(store.verify(&hash).unwrap().is_some());
    }
}

/// How a [`FlakyBlobStore`] fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMode {
    /// The failing call never reaches the inner store: a refused connection, throttling.
    Before,
    /// The failing call reaches the inner store and takes effect, but its answer is lost: a timeout
    /// after the server acted.
    AfterTakingEffect,
}

/// A store in front of another that fails its next calls with [`BlobError::Unavailable`], then recovers:
/// an outage, for tests of retries and of the way transient failures reach callers. `u32::MAX` failures
/// never recover. Every method call counts as one call, whether it fails or not; a writer's own
/// writes and commit do not fail.
pub struct FlakyBlobStore<S> {
    inner: S,
    failures_left: AtomicU32,
    mode: FailureMode,
    calls: AtomicU32,
}

impl<S: BlobStore> FlakyBlobStore<S> {
    /// In front of `inner` (owned, or borrowed: `&S` is a store too), failing the first `failures` calls.
    pub fn new(inner: S, failures: u32, mode: FailureMode) -> Self {
        Self { inner, failures_left: AtomicU32::new(failures), mode, calls: AtomicU32::new(0) }
    }

    /// Fails the next `failures` calls (`u32::MAX`: every call from now on).
    pub fn fail_next(&self, failures: u32) {
        self.failures_left.store(failures, Ordering::SeqCst);
    }

    /// Calls so far, failed ones included.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    fn call<T>(&self, what: &str, operation: impl FnOnce() -> Result<T, BlobError>) -> Result<T, BlobError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| match left {
                0 => None,
                u32::MAX => Some(u32::MAX),
                n => Some(n - 1),
            })
            .is_ok();
        if !fail {
            return operation();
        }
        if self.mode == FailureMode::AfterTakingEffect {
            // The answer is lost; only its effect remains.
            drop(operation());
        }
        Err(BlobError::unavailable(
            what,
            io::Error::new(io::ErrorKind::TimedOut, "simulated outage of the blob store"),
        ))
    }
}

impl<S: BlobStore> BlobStore for FlakyBlobStore<S> {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        self.call("starting a blob write", || self.inner.writer())
    }
    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        self.call("opening a blob", || self.inner.open(hash))
    }
    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        self.call("reading a blob's size", || self.inner.size_of(hash))
    }
    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        self.call("verifying a blob", || self.inner.verify(hash))
    }
    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        self.call("listing blobs", || self.inner.list_page(after, limit))
    }
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        self.call("storing a blob", || self.inner.put_reader(reader))
    }
    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        self.call("storing a blob", || self.inner.put(bytes))
    }
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        self.call("reading a blob", || self.inner.get(hash))
    }
}

impl SuiteStore for MemoryBlobStore {
    fn damage(&self, hash: &BlobHash, edit: &mut dyn FnMut(&mut Vec<u8>)) {
        assert!(self.tamper(hash, edit), "blob {hash} is not stored");
    }
    fn quarantine_len(&self) -> usize {
        self.quarantined().len()
    }
    fn stored_bytes_read(&self) -> Option<u64> {
        Some(self.bytes_read())
    }
}

impl SuiteStore for LocalBlobStore {
    fn damage(&self, hash: &BlobHash, edit: &mut dyn FnMut(&mut Vec<u8>)) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path_of(hash);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        edit(&mut bytes);
        // Rewritten in place (same inode), as rot on the disk would be: open readers see it.
        std::fs::write(&path, bytes).unwrap();
    }
    fn quarantine_len(&self) -> usize {
        self.quarantined().unwrap().len()
    }
}

#[cfg(test)]
mod memory {
    crate::blob_store_test_suite!(((), super::MemoryBlobStore::new()));
}

#[cfg(test)]
mod local {
    crate::blob_store_test_suite!({
        let dir = tempfile::tempdir().unwrap();
        let store = super::LocalBlobStore::open(dir.path(), crate::blob::Durability::Fsync).unwrap();
        (dir, store)
    });
}

/// The same store on the power-loss simulation of the crash tests, which must behave like the real file
/// system while the power is on.
#[cfg(test)]
mod local_on_crash_fs {
    crate::blob_store_test_suite!({
        let dir = tempfile::tempdir().unwrap();
        let fs = std::sync::Arc::new(crate::blob::crash_fs::CrashFs::new(dir.path()));
        let store = super::LocalBlobStore::open_on(fs, dir.path(), crate::blob::Durability::Fsync).unwrap();
        (dir, store)
    });
}

#[cfg(test)]
mod local_only {
    use std::io::Write;

    use super::sample;
    use crate::blob::{BlobError, BlobStore, Durability, LocalBlobStore, MemoryBlobStore};
    use crate::hash::BlobDigest;

    #[test]
    fn run_all_runs_every_case_on_a_fresh_store() {
        let mut made = 0;
        super::run_all(|| {
            made += 1;
            ((), MemoryBlobStore::new())
        });
        assert_eq!(made, super::CASES.len());
    }

    #[test]
    fn local_store_removes_temp_files_left_by_a_crash_and_keeps_blobs_read_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path(), Durability::Fsync).unwrap();
        let hash = store.put(b"kept").unwrap().digest.blake3;
        let mode = std::fs::metadata(store.path_of(&hash)).unwrap().permissions().mode();
        assert_eq!(mode & 0o222, 0, "blob files must not be writable");
        let hex = hash.to_hex();
        assert!(store.path_of(&hash).ends_with(format!("blobs/{}/{}/{hex}", &hex[..2], &hex[2..4])));

        let mut writer = store.writer().unwrap();
        writer.write_all(b"half a blob").unwrap();
        std::mem::forget(writer); // as if the process died mid-put
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 1);
        drop(store);

        let store = LocalBlobStore::open(dir.path(), Durability::Fsync).unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(store.list_page(None, 10).unwrap(), vec![hash]);
    }

    #[test]
    fn local_one_shot_and_reader_puts_leave_no_temp_files_and_create_fan_out_directories() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path(), Durability::Fsync).unwrap();
        let tmp_entries = || std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        // Several buffers' worth through the reader path, a parallel-hashed and a small one-shot put, and the
        // empty blob (whose temp file is created at commit); every fan-out directory is new.
        let large = sample(3 * 1024 * 1024 + 17, 5);
        let medium = sample(200 * 1024, 6);
        let outcomes = [
            store.put_reader(&mut large.as_slice()).unwrap(),
            store.put(&medium).unwrap(),
            store.put(b"small").unwrap(),
            store.put(b"").unwrap(),
        ];
        assert!(outcomes.iter().all(|o| o.newly_stored));
        for (outcome, bytes) in outcomes.iter().zip([&large[..], &medium[..], b"small", b""]) {
            assert_eq!(outcome.digest, BlobDigest::of(bytes));
            assert_eq!(store.get(&outcome.digest.blake3).unwrap(), bytes);
        }
        // Known bytes again, by both paths: stored once, temp files gone.
        assert!(!store.put(&large).unwrap().newly_stored);
        assert!(!store.put_reader(&mut medium.as_slice()).unwrap().newly_stored);
        assert_eq!(tmp_entries(), 0);
        assert_eq!(store.list_page(None, 10).unwrap().len(), 4);
    }

    #[test]
    fn local_listing_skips_stray_entries_and_keeps_hash_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path(), Durability::Fsync).unwrap();
        let mut stored: Vec<_> = (0..40u8).map(|i| store.put(&[i; 3]).unwrap().digest.blake3).collect();
        stored.sort();
        let blobs = dir.path().join("blobs");
        // A stray file beside the fan-out directories, a directory that is not one, a misnamed file and a
        // blob file in the wrong fan-out directory: none of them is listed, and none breaks the order.
        std::fs::write(blobs.join("README"), b"stray").unwrap();
        std::fs::create_dir_all(blobs.join("zz").join("00")).unwrap();
        let first = stored[0].to_hex();
        let first_dir = blobs.join(&first[..2]).join(&first[2..4]);
        std::fs::write(first_dir.join("not-a-hash"), b"stray").unwrap();
        let other = BlobDigest::of(b"elsewhere").blake3.to_hex();
        std::fs::write(first_dir.join(&other), b"elsewhere").unwrap();
        let listed: Vec<_> = crate::blob::hashes(&store, 7).collect::<Result<_, _>>().unwrap();
        assert_eq!(listed, stored);
    }

    #[test]
    fn local_put_whose_reader_fails_midway_leaves_nothing_behind() {
        struct FailsAfter(usize);
        impl std::io::Read for FailsAfter {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("the upload broke off"));
                }
                let n = buf.len().min(self.0).min(64 * 1024);
                buf[..n].fill(7);
                self.0 -= n;
                Ok(n)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::open(dir.path(), Durability::Fsync).unwrap();
        // Past one full buffer, so the temp file exists and holds bytes when the reader fails.
        let error = store.put_reader(&mut FailsAfter(1536 * 1024)).unwrap_err();
        assert!(matches!(error, BlobError::Io { .. }), "{error:?}");
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        assert!(store.list_page(None, 10).unwrap().is_empty());
    }
}
