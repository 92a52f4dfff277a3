//! Crash consistency of the storage engine under SIGKILL: acknowledged blobs survive, nothing partial
//! becomes visible, temp files are cleaned up and the journal chain stays unbroken.
//!
//! A child process puts random blobs through `Store::put_blob_with` and prints `ACK <blake3> <sha256>`
//! after each put has returned. The parent kills it with SIGKILL at a random moment, reopens the store
//! and checks everything acknowledged so far. The rounds share one data directory, so later rounds also
//! write into a store that has already crashed.
//!
//! The child is this test binary run again with a filter that selects only [`crash_child_process`] and
//! with `REGISTRATUR_CRASH_CHILD_DIR` naming the data directory. That works the same under `cargo test`
//! and `cargo nextest run`, which both run the libtest binary.
//!
//! A SIGKILL keeps the page cache: this test proves what a process crash leaves, not what a power cut
//! leaves, and would pass with every fsync removed. The power-loss tests sit in the storage crate:
//! `blob/crash_fs.rs` (a file system under the blob store that drops what was not fsynced) and
//! `meta/power_loss.rs` (RocksDB's log cut back to its last fsync); those fail when a sync is missing.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use rand::Rng;
use registratur_storage::{BlobDigest, BlobHash, Sha256Digest, Store, Txn};

/// Set in the child's environment to the data directory; without it `crash_child_process` does nothing.
const CHILD_DIR_VAR: &str = "REGISTRATUR_CRASH_CHILD_DIR";
const ROUNDS: usize = 3;
/// The child is killed only after this many acknowledgements, so that every round checks real data.
const MIN_ACKS_BEFORE_KILL: usize = 3;
/// How long the parent waits for those first acknowledgements before it gives up.
const CHILD_START_TIMEOUT: Duration = Duration::from_secs(60);
/// The child stops on its own after this long, so a parent that fails early leaves no writer behind.
const CHILD_LIFETIME: Duration = Duration::from_secs(120);

#[test]
fn acknowledged_blobs_survive_sigkill_and_no_partial_blob_is_visible() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut rng = rand::rng();
    let mut acks = Vec::new();
    for round in 1..=ROUNDS {
        let kill_after = Duration::from_millis(rng.random_range(200..=1500));
        let new_acks = run_child_until_killed(&data_dir, kill_after);
        eprintln!(
            "round {round}: killed the child after {} ms and {} acknowledged puts; {} temp files left",
            kill_after.as_millis(),
            new_acks.len(),
            temp_files(&data_dir).len()
        );
        acks.extend(new_acks);
        check_store_after_crash(&data_dir, &acks);
    }
}

/// The writer the crash test kills. Does nothing unless started by that test.
#[test]
#[ignore = "the child process of the crash test, which runs it with REGISTRATUR_CRASH_CHILD_DIR set"]
fn crash_child_process() {
    let Some(data_dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let store = Store::open(&data_dir).expect("the crash child could not open the store");
    let mut rng = rand::rng();
    let mut stdout = std::io::stdout().lock();
    // libtest may have printed "test crash::crash_child_process ... " without a line break.
    writeln!(stdout).expect("writing to the parent");
    let started = Instant::now();
    while started.elapsed() < CHILD_LIFETIME {
        let bytes = random_bytes(&mut rng);
        let stored = store
            .put_blob_with(&mut bytes.as_slice(), |digest| {
                Txn::new("crash-test", "blob.put", digest.blake3.to_hex())
            })
            .expect("a put in the crash child failed");
        let digest = stored.outcome.digest;
        let acked = writeln!(stdout, "ACK {} {}", digest.blake3, digest.sha256).and_then(|()| stdout.flush());
        if acked.is_err() {
            // The parent is gone.
            return;
        }
    }
}

/// A blob the child acknowledged: it promised that these bytes are durable.
#[derive(Debug)]
struct Ack {
    blake3: BlobHash,
    sha256: Sha256Digest,
}

/// Kills the child process on drop if it is still running, so a failing test leaves no writer behind.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts the child, waits `kill_after` (and for at least a few acknowledgements), kills it with
/// SIGKILL and returns every acknowledgement it printed, including those still in the pipe.
fn run_child_until_killed(data_dir: &Path, kill_after: Duration) -> Vec<Ack> {
    let mut child = ChildGuard(
        Command::new(std::env::current_exe().expect("locating the test binary"))
            .args(["--exact", "crash::crash_child_process", "--include-ignored", "--nocapture"])
            .env(CHILD_DIR_VAR, data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the crash child"),
    );
    let stdout = child.0.stdout.take().expect("the child's stdout is piped");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let started = Instant::now();
    let mut acks = Vec::new();
    while acks.len() < MIN_ACKS_BEFORE_KILL || started.elapsed() < kill_after {
        assert!(
            started.elapsed() < CHILD_START_TIMEOUT,
            "the crash child acknowledged only {} puts in {CHILD_START_TIMEOUT:?}",
            acks.len()
        );
        match received.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => acks.extend(parse_ack(&line)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => panic!(
                "the crash child exited by itself after {} acknowledgements: {:?} (its stderr is above)",
                acks.len(),
                child.0.wait()
            ),
        }
    }

    let pid = libc::pid_t::try_from(child.0.id()).expect("process ids fit pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our unreaped child, so it cannot
    // have been reused by another process.
    let killed = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(killed, 0, "kill failed: {}", std::io::Error::last_os_error());
    let status = child.0.wait().expect("waiting for the killed child");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "the child ended otherwise: {status:?}");

    // Lines still in the pipe were printed after their puts returned: they are acknowledgements too.
    reader.join().expect("the reader thread panicked");
    acks.extend(received.try_iter().filter_map(|line| parse_ack(&line)));
    acks
}

/// Parses `ACK <blake3 hex> <sha256 hex>`; other lines (libtest's own output) yield `None`.
fn parse_ack(line: &str) -> Option<Ack> {
    let rest = line.strip_prefix("ACK ")?;
    let (blake3, sha256) = rest.split_once(' ').unwrap_or_else(|| panic!("malformed ACK line {line:?}"));
    Some(Ack {
        blake3: blake3.parse().unwrap_or_else(|e| panic!("malformed ACK line {line:?}: {e}")),
        sha256: Sha256Digest::from_hex(sha256).unwrap_or_else(|e| panic!("malformed ACK line {line:?}: {e}")),
    })
}

/// Reopens the store as a restarted service would and checks every promise the store made.
fn check_store_after_crash(data_dir: &Path, acks: &[Ack]) {
    let store = Store::open(data_dir).expect("reopening the store after SIGKILL");

    let leftovers = temp_files(data_dir);
    assert!(leftovers.is_empty(), "temp files survived reopening the store: {leftovers:?}");

    for ack in acks {
        let bytes = store
            .blobs()
            .get(&ack.blake3)
            .unwrap_or_else(|e| panic!("acknowledged blob {} is not readable: {e}", ack.blake3));
        let digest = BlobDigest::of(&bytes);
        assert_eq!(digest.blake3, ack.blake3, "blob read back under the wrong hash");
        assert_eq!(
            digest.sha256, ack.sha256,
            "SHA-256 of blob {} differs from the acknowledged one",
            ack.blake3
        );
        let record = store
            .meta()
            .blob_record(&ack.blake3)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged blob {} has no metadata record", ack.blake3));
        assert!(record.refcount >= 1, "acknowledged blob {} is unreferenced: {record:?}", ack.blake3);
        assert_eq!((record.sha256, record.size), (ack.sha256, digest.size));
    }

    // A blob visible under its address is complete: no crash may expose a partially written file.
    for hash in registratur_storage::blob::hashes(store.blobs(), 1000) {
        let hash = hash.unwrap();
        let digest = store.blobs().verify(&hash).unwrap_or_else(|e| panic!("listed blob {hash}: {e}"));
        assert_eq!(digest.map(|d| d.blake3), Some(hash), "listed blob {hash} is not intact");
    }

    // Every blob the metadata references is on disk and intact; unreferenced blobs (put, then killed
    // before the metadata commit) are allowed.
    let fixity = store.check_fixity(|_| std::ops::ControlFlow::Continue(())).unwrap();
    assert!(fixity.missing.is_empty() && fixity.corrupted.is_empty(), "{fixity:?}");

    let journal = store.verify_journal().unwrap();
    assert_eq!(journal.first_break, None, "the journal chain is broken after a crash");
    assert!(
        journal.entries_checked >= acks.len() as u64,
        "the journal has {} entries for {} acknowledged puts",
        journal.entries_checked,
        acks.len()
    );
}

/// Files in the blob store's temp directory.
fn temp_files(data_dir: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(data_dir.join("blobs").join("tmp")) {
        Ok(entries) => entries.map(|entry| entry.unwrap().path()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("listing the blob temp directory: {e}"),
    }
}

/// Random content of a random size: a third each tiny (empty included), small, and large (up to 3 MiB;
/// these take most of the time, so kills often land mid-put). The bytes come from BLAKE3's output stream with a random key, which
/// is optimised even in test builds, so the child spends its time in puts rather than in making data.
fn random_bytes(rng: &mut impl Rng) -> Vec<u8> {
    let size = match rng.random_range(0..3) {
        0 => rng.random_range(0..=64),
        1 => rng.random_range(0..=64 << 10),
        _ => rng.random_range(0..=3 << 20),
    };
    let mut bytes = vec![0u8; size];
    blake3::Hasher::new_keyed(&rng.random()).finalize_xof().fill(&mut bytes);
    bytes
}
