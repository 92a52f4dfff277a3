//! The committer thread: applies transactions one at a time, writes them in groups, and a syncer thread
//! makes them durable with one fsync for everything written meanwhile.
//!
//! Callers queue a transaction and sleep until its receipt arrives. The committer takes everything that
//! queued up meanwhile (up to `max_group`), checks each
//! one's preconditions against the database plus the writes staged before it in the same group, chains
//! a journal entry to each, and writes the whole group as one RocksDB batch. A rejected transaction is
//! answered with its error and leaves no trace; the others in its group go ahead.
//!
//! Durability is pipelined (RocksDB's Write + SyncWAL): the batch is written without sync, and the
//! syncer thread takes every group written so far, syncs the write-ahead log once and only then answers
//! their callers. While one sync runs, the committer already writes the next groups, so a sync covers
//! everything that arrived during the previous one; before it starts, the syncer waits briefly for the
//! callers the previous sync answered (see [`sync_loop`]). The log is ordered, so a crash loses at most a
//! suffix of unanswered transactions. The price: a concurrent reader can see a change shortly before it
//! is acknowledged. With `max_group = 1` each batch is written with its own sync (the baseline the
//! benchmark compares against); without `sync` nothing is synced.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rocksdb::{DB, WriteBatch, WriteOptions};

use super::{
    BlobRecord, Cf, Condition, HEAD_KEY, MetaError, MetaOptions, Op, Receipt, Txn, encode_head, get,
};
use crate::journal::{GENESIS, JournalEntry, JournalHead};

pub(super) struct Committer {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
    head: Arc<Mutex<Option<JournalHead>>>,
    /// Syncs of the write-ahead log so far: with group commit, one per group of durable commits.
    log_syncs: Arc<AtomicU64>,
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
    /// The committer sleeps on `arrived`: the next arrival wakes it. While it works, arrivals only
    /// queue up (a wake-up is a system call even when nobody sleeps).
    committer_asleep: bool,
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
struct Reply(Option<Arc<Slot>>);

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
    fn send(mut self, outcome: Result<Receipt, MetaError>) {
        // Taken, so that `drop` does not lock the slot a second time while its caller wakes up.
        if let Some(slot) = self.0.take() {
            *lock(&slot.outcome) = Some(outcome);
            slot.ready.notify_one();
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        let Some(slot) = self.0.take() else {
            return;
        };
        let mut outcome = lock(&slot.outcome);
        if outcome.is_none() && Arc::strong_count(&slot) > 1 {
            *outcome = Some(Err(MetaError::Closed));
            slot.ready.notify_one();
        }
    }
}

impl Committer {
    pub(super) fn start(db: Arc<DB>, options: MetaOptions, head: Option<JournalHead>) -> Self {
        let queue = Arc::new(Queue::default());
        let head = Arc::new(Mutex::new(head));
        let log_syncs = Arc::new(AtomicU64::new(0));
        let worker = Worker { db, options, head: Arc::clone(&head), log_syncs: Arc::clone(&log_syncs) };
        let worker_queue = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name("meta-committer".into())
            .spawn(move || worker.run(&worker_queue))
            .expect("spawning the committer thread");
        Self { queue, thread: Some(thread), head, log_syncs }
    }

    pub(super) fn commit(&self, txn: Txn) -> Result<Receipt, MetaError> {
        let slot = Arc::new(Slot::default());
        let wake = {
            let mut state = lock(&self.queue.state);
            if state.closed {
                return Err(MetaError::Closed);
            }
            state.pending.push_back(Pending { txn, reply: Reply(Some(Arc::clone(&slot))) });
            std::mem::take(&mut state.committer_asleep)
        };
        if wake {
            self.queue.arrived.notify_one();
        }
        slot.wait()
    }

    pub(super) fn head(&self) -> Option<JournalHead> {
        *lock(&self.head)
    }

    pub(super) fn log_syncs(&self) -> u64 {
        self.log_syncs.load(Ordering::Relaxed)
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

/// Groups written but not yet synced, handed from the committer to the syncer.
#[derive(Default)]
struct SyncQueue {
    state: Mutex<SyncState>,
    written: Condvar,
}

#[derive(Default)]
struct SyncState {
    /// Answers owed once the log is synced, in write order.
    owed: Vec<(Reply, Receipt)>,
    /// The journal head after the last written group.
    head: Option<JournalHead>,
    /// How many owed answers the syncer waits for before its next sync (see [`sync_loop`]); the
    /// committer wakes it only when they are there, or when it owed nothing before.
    expected: usize,
    closed: bool,
}

struct Worker {
    db: Arc<DB>,
    options: MetaOptions,
    head: Arc<Mutex<Option<JournalHead>>>,
    log_syncs: Arc<AtomicU64>,
}

impl Worker {
    fn run(self, queue: &Queue) {
        let max_group = self.options.max_group.max(1);
        let pipelined = self.options.sync && max_group > 1;
        let syncs = Arc::new(SyncQueue::default());
        let syncer = pipelined.then(|| {
            let (db, head, syncs) = (Arc::clone(&self.db), Arc::clone(&self.head), Arc::clone(&syncs));
            let log_syncs = Arc::clone(&self.log_syncs);
            std::thread::Builder::new()
                .name("meta-syncer".into())
                .spawn(move || sync_loop(&db, &head, &syncs, &log_syncs))
                .expect("spawning the syncer thread")
        });
        // The head the next entry chains to: written, not necessarily synced yet.
        let mut chain = *lock(&self.head);
        loop {
            let mut state = lock(&queue.state);
            while state.pending.is_empty() && !state.closed {
                state.committer_asleep = true;
                state = queue.arrived.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.committer_asleep = false;
            if state.pending.is_empty() {
                break;
            }
            let take = state.pending.len().min(max_group);
            let group: Vec<Pending> = state.pending.drain(..take).collect();
            drop(state);
            self.commit_group(group, &mut chain, pipelined.then_some(&*syncs));
        }
        // Queued work is done: let the syncer answer what it still owes, then stop.
        lock(&syncs.state).closed = true;
        syncs.written.notify_one();
        if let Some(syncer) = syncer {
            let _ = syncer.join();
        }
    }

    /// Writes one group. With `syncs`, the answers go to the syncer; otherwise they are sent here.
    fn commit_group(&self, group: Vec<Pending>, chain: &mut Option<JournalHead>, syncs: Option<&SyncQueue>) {
        let mut head = *chain;
        let mut batch = WriteBatch::default();
        let mut overlay = Overlay::new();
        let mut accepted = Vec::with_capacity(group.len());

        for Pending { txn, reply } in group {
            let time_ms = self.options.clock.now_ms();
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
        let synced_here = self.options.sync && syncs.is_none();
        write_options.set_sync(synced_here);
        match self.db.write_opt(batch, &write_options) {
            Ok(()) => {
                if synced_here {
                    self.log_syncs.fetch_add(1, Ordering::Relaxed);
                }
                *chain = head;
                match syncs {
                    Some(syncs) => {
                        let mut state = lock(&syncs.state);
                        let wake =
                            state.owed.is_empty() || state.owed.len() + accepted.len() >= state.expected;
                        state.owed.extend(accepted);
                        state.head = head;
                        drop(state);
                        if wake {
                            syncs.written.notify_one();
                        }
                    }
                    None => {
                        *lock(&self.head) = head;
                        for (reply, receipt) in accepted {
                            reply.send(Ok(receipt));
                        }
                    }
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

/// The syncer thread: syncs the write-ahead log once for every group written since the last sync, then
/// answers their callers and publishes the durable journal head.
///
/// Before a sync it waits, briefly, for the callers the previous sync answered: they are usually back
/// with their next transaction within microseconds, while a sync takes hundreds. Without the wait, writers
/// split into two cohorts that take turns (one written while the other's sync runs), and each sync
/// carries only half of them. The wait ends as soon as as many transactions are written as were in
/// flight when the previous sync ended, and lasts at most half as long as that sync took; a lone writer
/// never waits, since its one transaction is all there was.
fn sync_loop(db: &DB, published_head: &Mutex<Option<JournalHead>>, syncs: &SyncQueue, log_syncs: &AtomicU64) {
    // How long the previous sync took.
    let mut last_sync = Duration::ZERO;
    loop {
        let mut state = lock(&syncs.state);
        while state.owed.is_empty() && !state.closed {
            state = syncs.written.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.owed.is_empty() {
            return;
        }
        let deadline = Instant::now() + last_sync / 2;
        while state.owed.len() < state.expected && !state.closed {
            let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else {
                break;
            };
            state = syncs.written.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        // Everything taken here was written before this sync starts, so the sync covers it.
        let owed = std::mem::take(&mut state.owed);
        let head = state.head;
        drop(state);
        let started = Instant::now();
        let synced = db.flush_wal(true);
        last_sync = started.elapsed();
        {
            // In flight now: the transactions about to be answered and those written meanwhile.
            let mut state = lock(&syncs.state);
            state.expected = owed.len() + state.owed.len();
        }
        match synced {
            Ok(()) => {
                log_syncs.fetch_add(1, Ordering::Relaxed);
                *lock(published_head) = head;
                for (reply, receipt) in owed {
                    reply.send(Ok(receipt));
                }
            }
            Err(source) => {
                // The changes may be visible but are not known to be durable. RocksDB refuses further
                // writes after a failed sync, so the store must be restarted and recovers from its log.
                tracing::error!(error = %source, "syncing the metadata log failed; restart the service");
                for (reply, _) in owed {
                    reply.send(Err(MetaError::Rocks {
                        context: "syncing the metadata log".into(),
                        source: source.clone(),
                    }));
                }
            }
        }
    }
}
