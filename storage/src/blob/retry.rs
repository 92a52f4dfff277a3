//! Retrying transient blob store failures: one helper ([`retry`]) and the wrapper the engine's `Store`
//! puts around its blob store ([`RetryingBlobStore`]).
//!
//! Only [`BlobError::Unavailable`] is retried, and only for operations that are safe to repeat: every
//! read (open, get, size, verify, listing) and the creation of a writer change nothing, and a put of a
//! byte slice is idempotent because the store is content-addressed (a repeated put stores nothing new).
//! A streamed put (`put_reader`, a writer's commit) is not retried here: its bytes are consumed, so the
//! backend retries its own parts (a multipart upload retries a part) and a failure that remains reaches
//! the client, who sends the bytes again. Attempts are bounded and spaced by exponential backoff with
//! jitter, so that many callers hitting one struggling server do not retry in lockstep.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::time::Duration;

use super::{BlobError, BlobStore, BlobWriter, PutOutcome};
use crate::hash::{BlobDigest, BlobHash};

/// How often and how patiently [`retry`] repeats an operation that failed transiently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub attempts: u32,
    /// The pause before the second attempt; each later pause doubles, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts over about 1.5 s at most (0.1 s, 0.2 s, 0.4 s pauses, each between half and all of
    /// that): long enough to ride out a dropped connection or a node restarting behind a load balancer,
    /// short enough that a caller waiting on a gRPC call hears UNAVAILABLE promptly when the outage lasts.
    fn default() -> Self {
        Self { attempts: 4, first_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(2) }
    }
}

impl RetryPolicy {
    /// One attempt: no retries.
    pub fn never() -> Self {
        Self { attempts: 1, first_backoff: Duration::ZERO, max_backoff: Duration::ZERO }
    }

    /// The nominal pause after failed attempt `attempt` (1-based), before jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self.first_backoff.saturating_mul(1u32 << (attempt - 1).min(20));
        doubled.min(self.max_backoff)
    }
}

/// Runs `operation` until it succeeds, fails permanently, or `policy.attempts` attempts failed
/// transiently; returns the last result. Between attempts it sleeps (this is for blocking callers, as
/// every blob store call is). `what` names the operation in the log.
pub fn retry<T>(
    policy: &RetryPolicy,
    what: &dyn Fn() -> String,
    mut operation: impl FnMut() -> Result<T, BlobError>,
) -> Result<T, BlobError> {
    let attempts = policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        match operation() {
            Err(error) if error.is_transient() && attempt < attempts => {
                let pause = jittered(policy.backoff(attempt));
                tracing::warn!(
                    operation = %what(), %error, attempt, attempts, pause_ms = pause.as_millis() as u64,
                    "blob store temporarily unavailable; retrying"
                );
                std::thread::sleep(pause);
                attempt += 1;
            }
            Err(error) if error.is_transient() => {
                tracing::error!(operation = %what(), %error, attempts, "blob store still unavailable; giving up");
                return Err(error);
            }
            other => return other,
        }
    }
}

/// Between half and all of `pause`, picked at random.
fn jittered(pause: Duration) -> Duration {
    // A fresh `RandomState` is randomly keyed: enough randomness for spreading retries, without a
    // dependency on a random number generator.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(pause.as_nanos() as u64);
    let fraction = (hasher.finish() % 1024) as u32;
    pause / 2 + (pause / 2) * fraction / 1023
}

/// A blob store whose safe operations are retried by [`retry`] when the inner store reports a transient
/// failure. See the module documentation for what is and is not retried.
pub struct RetryingBlobStore<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S: BlobStore> RetryingBlobStore<S> {
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl<S: BlobStore> BlobStore for RetryingBlobStore<S> {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        retry(&self.policy, &|| "starting a blob write".into(), || self.inner.writer())
    }

    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        retry(&self.policy, &|| format!("opening blob {hash}"), || self.inner.open(hash))
    }

    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        retry(&self.policy, &|| format!("reading the size of blob {hash}"), || self.inner.size_of(hash))
    }

    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        retry(&self.policy, &|| format!("verifying blob {hash}"), || self.inner.verify(hash))
    }

    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        retry(&self.policy, &|| "listing blobs".into(), || self.inner.list_page(after, limit))
    }

    /// Not retried: the reader's bytes are consumed by the first attempt.
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        self.inner.put_reader(reader)
    }

    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        retry(&self.policy, &|| format!("storing a blob of {} bytes", bytes.len()), || self.inner.put(bytes))
    }

    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        retry(&self.policy, &|| format!("reading blob {hash}"), || self.inner.get(hash))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::blob::MemoryBlobStore;
    use crate::blob::test_suite::{FailureMode, FlakyBlobStore};

    fn quick(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
        }
    }

    #[test]
    fn a_store_that_fails_twice_then_recovers_is_retried_to_success() {
        let memory = MemoryBlobStore::new();
        let stored = memory.put(b"Widerspruchsbescheid").unwrap().digest;
        for mode in [FailureMode::Before, FailureMode::AfterTakingEffect] {
            let flaky = FlakyBlobStore::new(&memory, 2, mode);
            let store = RetryingBlobStore::new(&flaky, quick(4));
            assert_eq!(store.get(&stored.blake3).unwrap(), b"Widerspruchsbescheid");
            assert_eq!(flaky.calls(), 3, "two failures, then the answer ({mode:?})");
            flaky.fail_next(2);
            assert_eq!(store.verify(&stored.blake3).unwrap(), Some(stored));
            flaky.fail_next(2);
            assert_eq!(store.size_of(&stored.blake3).unwrap(), Some(20));
            flaky.fail_next(2);
            assert_eq!(store.list_page(None, 10).unwrap(), vec![stored.blake3]);
            flaky.fail_next(2);
            let mut read = Vec::new();
            store.open(&stored.blake3).unwrap().read_to_end(&mut read).unwrap();
            assert_eq!(read, b"Widerspruchsbescheid");
            assert_eq!(flaky.calls(), 15);
        }
    }

    #[test]
    fn a_put_whose_answer_was_lost_is_repeated_and_stores_the_bytes_once() {
        let memory = MemoryBlobStore::new();
        let flaky = FlakyBlobStore::new(&memory, 1, FailureMode::AfterTakingEffect);
        let store = RetryingBlobStore::new(&flaky, quick(3));
        let outcome = store.put(b"Bescheid").unwrap();
        assert_eq!(outcome.digest, BlobDigest::of(b"Bescheid"));
        // The first attempt stored the bytes; the repeat found them there.
        assert!(!outcome.newly_stored);
        assert_eq!(flaky.calls(), 2);
        assert_eq!(memory.list_page(None, 10).unwrap(), vec![outcome.digest.blake3]);
    }

    #[test]
    fn a_store_that_never_recovers_fails_transiently_after_the_bounded_attempts() {
        let memory = MemoryBlobStore::new();
        let hash = memory.put(b"Akte").unwrap().digest.blake3;
        let flaky = FlakyBlobStore::new(&memory, u32::MAX, FailureMode::Before);
        let policy = RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(30),
        };
        let store = RetryingBlobStore::new(&flaky, policy);
        let started = Instant::now();
        let error = store.get(&hash).unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        assert!(error.to_string().contains("retry"), "the message says what to do: {error}");
        assert_eq!(flaky.calls(), 3, "exactly the policy's attempts");
        // Two pauses, each at least half of 20 ms and 30 ms.
        assert!(started.elapsed() >= Duration::from_millis(25), "{:?}", started.elapsed());
        let error = store.put(b"neu").unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        assert_eq!(memory.list_page(None, 10).unwrap(), vec![hash], "a failed put stored nothing");
    }

    #[test]
    fn permanent_failures_and_streamed_puts_are_not_retried() {
        let memory = MemoryBlobStore::new();
        let flaky = FlakyBlobStore::new(&memory, 0, FailureMode::Before);
        let store = RetryingBlobStore::new(&flaky, quick(5));
        let missing = BlobHash::of(b"nie gespeichert");
        assert!(matches!(store.get(&missing), Err(BlobError::NotFound { .. })));
        assert_eq!(flaky.calls(), 1, "not found is permanent");
        flaky.fail_next(1);
        // A streamed put consumes its reader: its failure goes to the caller, who has the bytes.
        let error = store.put_reader(&mut &b"gestreamt"[..]).unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        assert_eq!(flaky.calls(), 2, "one attempt");
        let outcome = store.put_reader(&mut &b"gestreamt"[..]).unwrap();
        assert_eq!(outcome.digest, BlobDigest::of(b"gestreamt"));
        // A writer's creation is retried.
        flaky.fail_next(2);
        let writer = store.writer().unwrap();
        drop(writer);
        assert_eq!(flaky.calls(), 6);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_keeps_at_least_half() {
        let policy = RetryPolicy {
            attempts: 10,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        let pauses: Vec<u128> = (1..=4).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 350, 350]);
        for _ in 0..100 {
            let pause = jittered(Duration::from_millis(100));
            assert!(pause >= Duration::from_millis(50) && pause <= Duration::from_millis(100), "{pause:?}");
        }
        assert_eq!(RetryPolicy::never().attempts, 1);
    }
}
