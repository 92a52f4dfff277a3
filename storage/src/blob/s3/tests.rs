//! `S3BlobStore` against a real S3 server (`rclone serve s3`, see [`super::rclone`]): the shared blob
//! store suite, and what only a remote store has: multipart uploads, damage on the server's disk, a
//! server that dies and comes back, credentials files, calls from inside a tokio runtime.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::rclone::RcloneS3;
use super::{S3BlobStore, S3ConfigError, S3Credentials};
use crate::blob::test_suite::{SuiteStore, sample};
use crate::blob::{BlobError, BlobStore, BlobWriter, PutOutcome, RetryPolicy, RetryingBlobStore};
use crate::hash::{BlobDigest, BlobHash};

/// An `S3BlobStore` together with the server's directory, so that the suite can damage objects.
struct OnRclone {
    store: S3BlobStore,
    bucket_dir: PathBuf,
    scratch: PathBuf,
}

fn start(prefix: &str) -> (RcloneS3, OnRclone) {
    let server = RcloneS3::start().expect("starting rclone serve s3");
    let store = S3BlobStore::connect(&server.settings(prefix)).expect("connecting to rclone");
    let bucket_dir = server.object_file("");
    let scratch = server.root().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    (server, OnRclone { store, bucket_dir, scratch })
}

impl BlobStore for OnRclone {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        self.store.writer()
    }
    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        self.store.open(hash)
    }
    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        self.store.size_of(hash)
    }
    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        self.store.verify(hash)
    }
    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        self.store.list_page(after, limit)
    }
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        self.store.put_reader(reader)
    }
    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        self.store.put(bytes)
    }
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        self.store.get(hash)
    }
}

impl SuiteStore for OnRclone {
    /// Rewrites the object's file on the server's disk (a new file renamed over it, so that a GET
    /// already streaming the old file is not cut short).
    fn damage(&self, hash: &BlobHash, edit: &mut dyn FnMut(&mut Vec<u8>)) {
        let file = self.bucket_dir.join(self.store.key_of(hash));
        let mut bytes = std::fs::read(&file).unwrap();
        edit(&mut bytes);
        let scratch = self.scratch.join(hash.to_hex());
        std::fs::write(&scratch, bytes).unwrap();
        std::fs::rename(&scratch, &file).unwrap();
        std::thread::sleep(RcloneS3::DIR_CACHE);
    }
    fn quarantine_len(&self) -> usize {
        self.store.quarantined().unwrap().len()
    }
    fn stored_bytes_read(&self) -> Option<u64> {
        Some(self.store.bytes_read())
    }
}

mod suite {
    crate::blob_store_test_suite!(super::start("suite/run"));
}

#[test]
fn a_blob_larger_than_a_part_goes_up_in_parts_and_leaves_no_staged_object() {
    let (server, s3) = start("");
    let bytes = sample(12 * 1024 * 1024 + 3, 17);
    let mut writer = s3.writer().unwrap();
    for chunk in bytes.chunks(1 << 20) {
        writer.write_all(chunk).unwrap();
    }
    let outcome = writer.commit().unwrap();
    assert_eq!(outcome.digest, BlobDigest::of(&bytes));
    assert!(outcome.newly_stored);
    let file = server.object_file(&s3.store.key_of(&outcome.digest.blake3));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), bytes.len() as u64, "stored at its address");
    let staging = server.object_file("staging");
    let staged = std::fs::read_dir(&staging).map(|dir| dir.count()).unwrap_or(0);
    assert_eq!(staged, 0, "the staged upload is removed after the copy");

    let mut read = Vec::new();
    s3.open(&outcome.digest.blake3).unwrap().read_to_end(&mut read).unwrap();
    assert!(read == bytes, "the streamed read returns the bytes");
    assert_eq!(s3.verify(&outcome.digest.blake3).unwrap(), Some(outcome.digest));
    // The same bytes again, one shot: known by size, nothing uploaded.
    assert!(!s3.put_reader(&mut bytes.as_slice()).unwrap().newly_stored);
    // Exactly two parts, no remainder.
    let exact = sample(2 * super::MIN_PART_SIZE, 18);
    assert_eq!(s3.put(&exact).unwrap().digest, BlobDigest::of(&exact));
    assert!(s3.get(&BlobHash::of(&exact)).unwrap() == exact);
}

#[test]
fn a_flipped_byte_on_the_servers_disk_is_corrupted_and_quarantined() {
    let (server, s3) = start("records");
    let bytes = sample(300_000, 5);
    let hash = s3.put(&bytes).unwrap().digest.blake3;
    let file = server.object_file(&s3.store.key_of(&hash));
    let mut stored = std::fs::read(&file).unwrap();
    stored[123_456] ^= 0x01;
    std::fs::write(&file, stored).unwrap();

    // A streamed read never ends cleanly; verify then quarantines.
    let mut read = Vec::new();
    let error = s3.open(&hash).unwrap().read_to_end(&mut read).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
    assert!(matches!(s3.verify(&hash), Err(BlobError::Corrupted { hash: h }) if h == hash));
    let quarantined = s3.store.quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].starts_with(&format!("records/quarantine/{hash}.")), "{quarantined:?}");
    assert!(server.object_file(&quarantined[0]).exists(), "the damaged bytes are kept for inspection");
    assert!(!file.exists(), "the damaged object left its address");
    assert!(matches!(s3.get(&hash), Err(BlobError::NotFound { .. })), "never served again");
    assert_eq!(s3.store.list_page(None, 10).unwrap(), vec![]);
}

#[test]
fn a_dead_server_is_unavailable_retried_and_a_restarted_one_serves_again() {
    let (mut server, s3) = start("");
    let kept = s3.put(&sample(40_000, 1)).unwrap().digest.blake3;
    server.kill();

    let failures = [
        s3.put(&sample(1000, 2)).unwrap_err(),
        s3.get(&kept).unwrap_err(),
        s3.open(&kept).err().expect("open fails while the server is down"),
        s3.size_of(&kept).unwrap_err(),
        s3.verify(&kept).unwrap_err(),
        s3.list_page(None, 10).unwrap_err(),
    ];
    for failure in &failures {
        assert!(failure.is_transient(), "a dead server is transient: {failure:?}");
        assert!(failure.to_string().contains("retry"), "{failure}");
    }
    let large = sample(super::MIN_PART_SIZE + 10, 3);
    let multipart = s3.put_reader(&mut large.as_slice()).unwrap_err();
    assert!(multipart.is_transient(), "a multipart upload to a dead server: {multipart:?}");
    let mut writer = s3.writer().unwrap();
    let streamed = match writer.write_all(&large) {
        Err(error) => BlobError::from_read(&kept, error),
        Ok(()) => writer.commit().unwrap_err(),
    };
    assert!(streamed.is_transient(), "a streamed multipart upload to a dead server: {streamed:?}");

    // The engine's retrying wrapper rides out a short outage: the server comes back during its pauses.
    let policy = RetryPolicy {
        attempts: 60, // about 30 s of pauses: room for a slow restart on a loaded machine
        first_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_millis(500),
    };
    let retrying = RetryingBlobStore::new(&s3, policy);
    std::thread::scope(|scope| {
        let restarter = scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            server.restart().unwrap();
        });
        let bytes = retrying.get(&kept).unwrap();
        assert_eq!(BlobHash::of(&bytes), kept);
        restarter.join().unwrap();
    });

    // The same store object works again without being set up anew.
    let outcome = s3.put(&large).unwrap();
    assert!(outcome.newly_stored);
    assert!(s3.get(&outcome.digest.blake3).unwrap() == large);
    let mut listed = s3.list_page(None, 10).unwrap();
    listed.sort();
    let mut expected = vec![kept, outcome.digest.blake3];
    expected.sort();
    assert_eq!(listed, expected, "nothing from the outage was stored");
}

#[test]
fn calls_from_inside_a_tokio_runtime_neither_panic_nor_deadlock() {
    let (_server, s3) = start("");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let bytes = sample(100_000, 4);
    let read = runtime.block_on(async move {
        // On a worker thread, straight in async code (the engine uses spawn_blocking, but need not).
        let hash = s3.put(&bytes).unwrap().digest.blake3;
        let mut read = Vec::new();
        s3.open(&hash).unwrap().read_to_end(&mut read).unwrap();
        let other = tokio::spawn(async move {
            let listed = s3.list_page(None, 10).unwrap();
            drop(s3); // dropping the store (and its runtime) here must not panic
            listed
        });
        assert_eq!(other.await.unwrap(), vec![hash]);
        read
    });
    assert_eq!(read, sample(100_000, 4));
}

#[test]
fn a_staged_upload_left_by_a_crash_is_swept_once_old() {
    let (server, s3) = start("");
    let staging = server.object_file("staging");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("crashed-1"), b"half a blob").unwrap();
    std::fs::write(staging.join("recent-1"), b"in flight").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3 * 86_400);
    std::fs::File::options().write(true).open(staging.join("crashed-1")).unwrap().set_modified(old).unwrap();
    assert_eq!(s3.store.sweep_staging(Duration::from_secs(86_400)).unwrap(), 1);
    assert!(!staging.join("crashed-1").exists());
    assert!(staging.join("recent-1").exists(), "a recent upload may still be in progress");
    assert_eq!(s3.list_page(None, 10).unwrap(), vec![], "staged objects are not blobs");
    s3.store.check().unwrap();
}

#[test]
fn credentials_come_from_a_private_file_or_the_environment_and_are_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s3.key");
    std::fs::write(&path, "# Garage key\naccess_key_id = GK123\nsecret_access_key = \"s3cr3t\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = S3Credentials::from_file(&path).unwrap_err();
    assert!(matches!(error, S3ConfigError::CredentialsFileOpen { mode: 0o644, .. }), "{error}");
    assert!(error.to_string().contains("chmod 600"), "{error}");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let credentials = S3Credentials::from_file(&path).unwrap();
    assert_eq!(credentials.access_key_id, "GK123");
    assert_eq!(credentials.secret_access_key, "s3cr3t");
    assert!(!format!("{credentials:?}").contains("s3cr3t"), "Debug must not show the secret");

    std::fs::write(&path, "access_key_id = GK123\n").unwrap();
    let error = S3Credentials::from_file(&path).unwrap_err();
    assert!(error.to_string().contains("secret_access_key"), "{error}");

    let env = |name: &str| match name {
        super::ENV_ACCESS_KEY_ID => Some("GKenv".to_owned()),
        super::ENV_SECRET_ACCESS_KEY => Some("envsecret".to_owned()),
        _ => None,
    };
    assert_eq!(S3Credentials::from_env(env).unwrap().access_key_id, "GKenv");
    assert!(matches!(S3Credentials::from_env(|_| None), Err(S3ConfigError::NoCredentials)));
}

#[test]
fn wrong_credentials_are_a_permanent_error_not_an_outage() {
    let (server, _s3) = start("");
    let mut settings = server.settings("");
    settings.credentials.secret_access_key = "wrong".into();
    let store = S3BlobStore::connect(&settings).unwrap();
    let error = store.put(b"x").unwrap_err();
    assert!(!error.is_transient(), "a refused key is not retried: {error:?}");
}

#[test]
fn a_server_killed_mid_read_fails_the_reader_transiently_never_as_corruption() {
    let (mut server, s3) = start("");
    let bytes = sample(24 << 20, 9);
    let hash = s3.put(&bytes).unwrap().digest.blake3;
    let mut reader = s3.open(&hash).unwrap();
    let mut first = vec![0u8; 1 << 20];
    reader.read_exact(&mut first).unwrap();
    assert!(first[..] == bytes[..1 << 20]);
    server.kill();
    let mut rest = Vec::new();
    let error = reader.read_to_end(&mut rest).expect_err("24 MiB do not fit in the socket buffers");
    let error = BlobError::from_read(&hash, error);
    assert!(error.is_transient(), "a dropped download is an outage, not damage: {error:?}");
    let again = BlobError::from_read(&hash, reader.read(&mut first).unwrap_err());
    assert!(again.is_transient(), "later reads fail alike: {again:?}");
    server.restart().unwrap();
    assert_eq!(s3.verify(&hash).unwrap().map(|d| d.blake3), Some(hash), "nothing was quarantined");
}
