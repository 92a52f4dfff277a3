//! The committer thread: applies transactions one at a time, writes them in groups with one fsync.
//!
//! Callers queue a transaction and sleep until its receipt arrives. The thread takes everything that
//! queued up meanwhile (up to `max_group`), checks each
//! one's preconditions against the database plus the writes staged before it in the same group, chains
//! a journal entry to each, and writes the whole group as one RocksDB batch with one fsync. A rejected
//! transaction is answered with its error and leaves no trace; the others in its group go ahead.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocksdb::{DB, WriteBatch, WriteOptions};

use super::{
    BlobRecord, Cf, Condition, HEAD_KEY, MetaError, MetaOptions, Op, Receipt, Txn, encode_head, get,
};
use crate::journal::{GENESIS, JournalEntry, JournalHead};

pub(super) struct Committer {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
    head: Arc<Mutex<Option<JournalHead>>>,
}

/// Transactions waiting for the committer.
///
/// A mutex and condition variables rather than channels: channel receivers spin and yield before they
/// sleep, and with sixteen waiting writers on two cores that spinning starves the committer itself.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    arrived: Condvar,
}

#[derive(Default)]
struct QueueState {
    pending: VecDeque<Pending>,
    closed: bool,
}

struct Pending {
    txn: Txn,
    reply: Reply,
}

/// Where the committer leaves one transaction's outcome for its caller.
#[derive(Default)]
struct Slot {
    outcome: Mutex<Option<Result<Receipt, MetaError>>>,
    ready: Condvar,
}

/// The committer's end of a [`Slot`]. Dropping it unanswered (the committer died) answers `Closed`, so
/// no caller waits forever.
struct Reply(Arc<Slot>);

/// Writes staged so far: `None` marks a deletion.
type Overlay = HashMap<(Cf, Vec<u8>), Option<Vec<u8>>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Slot {
    fn wait(&self) -> Result<Receipt, MetaError> {
        let mut outcome = lock(&self.outcome);
        loop {
            if let Some(outcome) = outcome.take() {
                return outcome;
            }
            outcome = self.ready.wait(outcome).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Reply {
    fn send(self, outcome: Result<Receipt, MetaError>) {
        *lock(&self.0.outcome) = Some(outcome);
        self.0.ready.notify_one();
        // Drop sees the slot filled and leaves it alone.
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        let mut outcome = lock(&self.0.outcome);
        if outcome.is_none() && Arc::strong_count(&self.0) > 1 {
            *outcome = Some(Err(MetaError::Closed));
            self.0.ready.notify_one();
        }
    }
}

impl Committer {
    pub(super) fn start(db: Arc<DB>, options: MetaOptions, head: Option<JournalHead>) -> Self {
        let queue = Arc::new(Queue::default());
        let head = Arc::new(Mutex::new(head));
        let worker = Worker { db, options, head: Arc::clone(&head) };
        let worker_queue = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name("meta-committer".into())
            .spawn(move || worker.run(&worker_queue))
            .expect("spawning the committer thread");
        Self { queue, thread: Some(thread), head }
    }

    pub(super) fn commit(&self, txn: Txn) -> Result<Receipt, MetaError> {
        let slot = Arc::new(Slot::default());
        {
            let mut state = lock(&self.queue.state);
            if state.closed {
                return Err(MetaError::Closed);
            }
            state.pending.push_back(Pending { txn, reply: Reply(Arc::clone(&slot)) });
        }
        self.queue.arrived.notify_one();
        slot.wait()
    }

    pub(super) fn head(&self) -> Option<JournalHead> {
        *lock(&self.head)
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // The thread answers everything already queued, then ends.
        lock(&self.queue.state).closed = true;
        self.queue.arrived.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The longest a group waits for writers expected to join it.
const MAX_COMMIT_DELAY: Duration = Duration::from_millis(1);

struct Worker {
    db: Arc<DB>,
    options: MetaOptions,
    head: Arc<Mutex<Option<JournalHead>>>,
}

impl Worker {
    fn run(self, queue: &Queue) {
        let max_group = self.options.max_group.max(1);
        // The largest recent group, decaying by one per group: how many writers are likely active.
        let mut expected = 1;
        let mut last_write = Duration::ZERO;
        loop {
            let mut state = lock(&queue.state);
            while state.pending.is_empty() {
                if state.closed {
                    return;
                }
                state = queue.arrived.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            // Writers answered by the previous group are about to send their next transaction. Waiting
            // for them a fraction of an fsync lets them share this fsync instead of alternating with
            // the other writers in two half-sized groups.
            let target = expected.min(max_group);
            if self.options.sync && state.pending.len() < target {
                let deadline = Instant::now() + (last_write / 2).min(MAX_COMMIT_DELAY);
                while state.pending.len() < target && !state.closed {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
                    state = queue.arrived.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
            let take = state.pending.len().min(max_group);
            let group: Vec<Pending> = state.pending.drain(..take).collect();
            drop(state);
            expected = group.len().max(expected.saturating_sub(1));
            let started = Instant::now();
            self.commit_group(group);
            last_write = started.elapsed();
        }
    }

    fn commit_group(&self, group: Vec<Pending>) {
        let mut head = *lock(&self.head);
        let mut batch = WriteBatch::default();
        let mut overlay = Overlay::new();
        let mut accepted = Vec::with_capacity(group.len());

        for Pending { txn, reply } in group {
            let time_ms = now_ms();
            let (seq, prev) = head.map_or((1, GENESIS), |h| (h.seq + 1, h.hash));
            let staged = match self.stage(&overlay, &txn, time_ms, seq) {
                Ok(staged) => staged,
                Err(error) => {
                    reply.send(Err(error));
                    continue;
                }
            };
            for ((cf, key), value) in staged {
                let handle = self.db.cf_handle(cf.name()).expect("opened with all column families");
                match &value {
                    Some(value) => batch.put_cf(&handle, &key, value),
                    None => batch.delete_cf(&handle, &key),
                }
                overlay.insert((cf, key), value);
            }
            let entry = JournalEntry::new(seq, prev, time_ms, txn.actor, txn.action, txn.payload);
            let journal = self.db.cf_handle(Cf::Journal.name()).expect("opened with all column families");
            batch.put_cf(&journal, seq.to_be_bytes(), entry.encode());
            head = Some(JournalHead { seq, hash: entry.hash });
            accepted.push((reply, Receipt { seq, entry_hash: entry.hash, time_ms }));
        }

        if accepted.is_empty() {
            return;
        }
        let meta = self.db.cf_handle(Cf::Meta.name()).expect("opened with all column families");
        batch.put_cf(&meta, HEAD_KEY, encode_head(&head.expect("at least one entry was staged")));
        let mut write_options = WriteOptions::default();
        write_options.set_sync(self.options.sync);
        match self.db.write_opt(batch, &write_options) {
            Ok(()) => {
                *lock(&self.head) = head;
                for (reply, receipt) in accepted {
                    reply.send(Ok(receipt));
                }
            }
            Err(source) => {
                tracing::error!(error = %source, "group commit failed; no transaction of the group was written");
                for (reply, _) in accepted {
                    reply.send(Err(MetaError::Rocks {
                        context: "writing a group commit".into(),
                        source: source.clone(),
                    }));
                }
            }
        }
    }

    /// Checks a transaction's preconditions and turns its operations into plain writes, reading
    /// through the group's staged writes to the database.
    fn stage(&self, overlay: &Overlay, txn: &Txn, time_ms: i64, seq: u64) -> Result<Overlay, MetaError> {
        let mut own = Overlay::new();
        let read = |own: &Overlay, cf: Cf, key: &[u8]| -> Result<Option<Vec<u8>>, MetaError> {
            let slot = (cf, key.to_vec());
            if let Some(value) = own.get(&slot).or_else(|| overlay.get(&slot)) {
                return Ok(value.clone());
            }
            get(&self.db, cf, key)
        };
        for condition in &txn.conditions {
            let Condition::Equals { cf, key, value } = condition;
            let actual = read(&own, *cf, key)?;
            if &actual != value {
                return Err(MetaError::Conflict(format!(
                    "{} key {:?} changed since it was read",
                    cf.name(),
                    String::from_utf8_lossy(key)
                )));
            }
        }
        for op in &txn.ops {
            match op {
                Op::Put { cf, key, value } => {
                    own.insert((*cf, key.clone()), Some(value.clone()));
                }
                Op::Delete { cf, key } => {
                    own.insert((*cf, key.clone()), None);
                }
                Op::AddBlobRef { digest } => {
                    let key = digest.blake3.as_bytes().to_vec();
                    let mut record = match read(&own, Cf::Blobs, &key)? {
                        Some(bytes) => decode_record(&key, &bytes)?,
                        None => BlobRecord::new(digest, time_ms),
                    };
                    if record.size != digest.size || record.sha256 != digest.sha256 {
                        return Err(MetaError::InvalidBlobRef {
                            hash: digest.blake3,
                            reason: "size or SHA-256 differ from the recorded ones".into(),
                        });
                    }
                    record.refcount += 1;
                    own.insert((Cf::Blobs, key), Some(record.encode()));
                }
                Op::DropBlobRef { hash } => {
                    let key = hash.as_bytes().to_vec();
                    let Some(bytes) = read(&own, Cf::Blobs, &key)? else {
                        return Err(MetaError::InvalidBlobRef {
                            hash: *hash,
                            reason: "no record for this blob".into(),
                        });
                    };
                    let mut record = decode_record(&key, &bytes)?;
                    record.refcount = record.refcount.checked_sub(1).ok_or(MetaError::InvalidBlobRef {
                        hash: *hash,
                        reason: "reference count is already zero".into(),
                    })?;
                    own.insert((Cf::Blobs, key), Some(record.encode()));
                }
                Op::IndexJournalEntry { cf, prefix } => {
                    let mut key = prefix.clone();
                    key.extend_from_slice(&seq.to_be_bytes());
                    own.insert((*cf, key), Some(Vec::new()));
                }
            }
        }
        Ok(own)
    }
}

fn decode_record(key: &[u8], bytes: &[u8]) -> Result<BlobRecord, MetaError> {
    BlobRecord::decode(bytes).map_err(|reason| super::undecodable(Cf::Blobs, key, reason))
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
