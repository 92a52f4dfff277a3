//! The blob store contract as tests, run against every implementation (tantivy `directory/tests.rs` style).

use std::io::{Read, Write};

use super::{BlobError, BlobStore, LocalBlobStore, MemoryBlobStore};
use crate::blob::Durability;
use crate::hash::{BlobDigest, BlobHash};

/// What the suite needs beyond the contract: a way to damage a stored blob, as bit rot would.
trait Tamper: BlobStore {
    fn flip_a_byte(&self, hash: &BlobHash);
    fn quarantine_len(&self) -> usize;
}

impl Tamper for MemoryBlobStore {
    fn flip_a_byte(&self, hash: &BlobHash) {
        assert!(self.tamper(hash, |bytes| bytes[0] ^= 0x01));
    }
    fn quarantine_len(&self) -> usize {
        self.quarantined().len()
    }
}

impl Tamper for LocalBlobStore {
    fn flip_a_byte(&self, hash: &BlobHash) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path_of(hash);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
    }
    fn quarantine_len(&self) -> usize {
        self.quarantined().unwrap().len()
    }
}

fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn put_then_get_returns_the_same_bytes_and_both_digests(store: &dyn BlobStore) {
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

fn identical_bytes_are_stored_once(store: &dyn BlobStore) {
    let bytes = sample(10_000, 3);
    let first = store.put(&bytes).unwrap();
    let second = store.put_reader(&mut bytes.as_slice()).unwrap();
    assert!(first.newly_stored);
    assert!(!second.newly_stored);
    assert_eq!(first.digest, second.digest);
    assert_eq!(store.list().unwrap(), vec![first.digest.blake3]);
}

fn streamed_put_in_odd_chunks_equals_one_shot_put(store: &dyn BlobStore) {
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

fn dropped_writer_leaves_nothing_visible(store: &dyn BlobStore) {
    let mut writer = store.writer().unwrap();
    writer.write_all(&sample(5000, 1)).unwrap();
    drop(writer);
    assert!(store.list().unwrap().is_empty());
}

fn missing_blob_is_not_found(store: &dyn BlobStore) {
    let hash = BlobHash::of(b"never stored");
    assert!(matches!(store.get(&hash), Err(BlobError::NotFound { hash: h }) if h == hash));
    assert!(matches!(store.open(&hash), Err(BlobError::NotFound { .. })));
    assert_eq!(store.size_of(&hash).unwrap(), None);
    assert_eq!(store.verify(&hash).unwrap(), None);
}

fn corrupted_blob_is_reported_and_quarantined_never_returned<S: Tamper>(store: &S) {
    let bytes = sample(50_000, 9);
    let hash = store.put(&bytes).unwrap().digest.blake3;
    store.flip_a_byte(&hash);
    match store.get(&hash) {
        Err(BlobError::Corrupted { hash: h }) => assert_eq!(h, hash),
        other => panic!("expected Corrupted, got {:?}", other.map(|b| b.len())),
    }
    assert_eq!(store.quarantine_len(), 1);
    assert!(matches!(store.get(&hash), Err(BlobError::NotFound { .. })));
    // Putting the good bytes again heals the store.
    assert!(store.put(&bytes).unwrap().newly_stored);
    assert_eq!(store.get(&hash).unwrap(), bytes);
}

fn verify_detects_corruption<S: Tamper>(store: &S) {
    let hash = store.put(&sample(1000, 2)).unwrap().digest.blake3;
    store.flip_a_byte(&hash);
    assert!(matches!(store.verify(&hash), Err(BlobError::Corrupted { .. })));
    assert_eq!(store.verify(&hash).unwrap(), None);
}

fn put_over_a_corrupted_copy_replaces_it<S: Tamper>(store: &S) {
    let bytes = sample(2000, 4);
    let hash = store.put(&bytes).unwrap().digest.blake3;
    store.flip_a_byte(&hash);
    assert!(store.put(&bytes).unwrap().newly_stored);
    assert_eq!(store.get(&hash).unwrap(), bytes);
    assert_eq!(store.quarantine_len(), 1);
}

fn concurrent_puts_of_the_same_and_different_bytes<S: BlobStore>(store: &S) {
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
    assert_eq!(store.list().unwrap().len(), 9);
    for hash in store.list().unwrap() {
        assert!(store.verify(&hash).unwrap().is_some());
    }
}

macro_rules! blob_store_suite {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn put_then_get() {
                let (_guard, store) = $make;
                put_then_get_returns_the_same_bytes_and_both_digests(&store);
            }
            #[test]
            fn idempotent_put() {
                let (_guard, store) = $make;
                identical_bytes_are_stored_once(&store);
            }
            #[test]
            fn streamed_put() {
                let (_guard, store) = $make;
                streamed_put_in_odd_chunks_equals_one_shot_put(&store);
            }
            #[test]
            fn dropped_writer() {
                let (_guard, store) = $make;
                dropped_writer_leaves_nothing_visible(&store);
            }
            #[test]
            fn not_found() {
                let (_guard, store) = $make;
                missing_blob_is_not_found(&store);
            }
            #[test]
            fn corruption_quarantines() {
                let (_guard, store) = $make;
                corrupted_blob_is_reported_and_quarantined_never_returned(&store);
            }
            #[test]
            fn verify_corruption() {
                let (_guard, store) = $make;
                verify_detects_corruption(&store);
            }
            #[test]
            fn put_heals() {
                let (_guard, store) = $make;
                put_over_a_corrupted_copy_replaces_it(&store);
            }
            #[test]
            fn concurrent_puts() {
                let (_guard, store) = $make;
                concurrent_puts_of_the_same_and_different_bytes(&store);
            }
        }
    };
}

blob_store_suite!(memory, ((), MemoryBlobStore::new()));
blob_store_suite!(local, {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path(), Durability::Fsync).unwrap();
    (dir, store)
});
// The same store on the power-loss simulation of the crash tests, which must behave like the real file
// system while the power is on.
blob_store_suite!(local_on_crash_fs, {
    let dir = tempfile::tempdir().unwrap();
    let fs = std::sync::Arc::new(crate::blob::crash_fs::CrashFs::new(dir.path()));
    let store = LocalBlobStore::open_on(fs, dir.path(), Durability::Fsync).unwrap();
    (dir, store)
});

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
    assert_eq!(store.list().unwrap(), vec![hash]);
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
    assert_eq!(store.list().unwrap().len(), 4);
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
    assert!(store.list().unwrap().is_empty());
}
