//! `MetaStore`: metadata in RocksDB, changed only by journaled, atomic, group-committed transactions.
//!
//! Column families, each with one job:
//! - `records` — authoritative records of the layers above (Akten, Dokumente, batches, …), keyed by
//!   `<kind>/<id>`; values belong to the layer that wrote them.
//! - `index` — secondary lookups (for example Aktenzeichen → Akte id). Derived: rebuildable from the
//!   journal and `records`.
//! - `blobs` — one [`BlobRecord`] per stored blob: size, SHA-256 and reference count.
//! - `journal` — the hash-chained log (see [`crate::journal`]), keyed by big-endian sequence number.
//! - `queues` — persisted work items, so that a restart resumes queued work.
//! - `meta` — the store's own facts: schema version and the journal head.
//!
//! **Invariant**: every change goes through [`MetaStore::commit`] as one [`Txn`]: its record writes,
//! blob reference-count changes and its journal entry land in one RocksDB write batch, or none do.
//! A single committer thread applies transactions in order (so the journal chain and reference counts
//! need no locks); a syncer thread makes everything written during the previous fsync durable with one
//! fsync: group commit. A commit returns only once durable, but a concurrent reader may see its
//! changes shortly before that (see `committer`).

mod blob_record;
mod committer;

use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options};

pub use blob_record::BlobRecord;

use crate::hash::{BlobDigest, BlobHash};
use crate::journal::{self, JournalEntry, JournalHead, JournalReport};
use crate::table::MetaRead;

/// A key and its value, as scans return them.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The column families of the metadata store. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cf {
    Records,
    Index,
    Blobs,
    Journal,
    Queues,
    Meta,
}

impl Cf {
    pub const ALL: [Cf; 6] = [Cf::Records, Cf::Index, Cf::Blobs, Cf::Journal, Cf::Queues, Cf::Meta];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Records => "records",
            Cf::Index => "index",
            Cf::Blobs => "blobs",
            Cf::Journal => "journal",
            Cf::Queues => "queues",
            Cf::Meta => "meta",
        }
    }
}

/// Errors of the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("metadata store failed while {context}: {source}")]
    Rocks {
        context: String,
        #[source]
        source: rocksdb::Error,
    },
    /// A transaction's precondition did not hold; nothing of it was written. Re-read and retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A stored value could not be decoded.
    #[error("stored {cf} value at key {key:?} is undecodable: {reason}")]
    Undecodable { cf: &'static str, key: String, reason: String },
    /// A reference count would drop below zero or a reference was taken on an unknown blob.
    #[error("invalid blob reference change for {hash}: {reason}")]
    InvalidBlobRef { hash: BlobHash, reason: String },
    #[error("the metadata store is shut down; restart the service")]
    Closed,
}

impl MetaError {
    fn rocks(context: impl Into<String>) -> impl FnOnce(rocksdb::Error) -> MetaError {
        let context = context.into();
        move |source| MetaError::Rocks { context, source }
    }
}

/// How commits are made durable.
#[derive(Clone, Debug)]
pub struct MetaOptions {
    /// fsync the write-ahead log before a commit is acknowledged. Only benchmarks turn this off.
    pub sync: bool,
    /// The most transactions one group commit may carry. `1` means one fsync per commit.
    pub max_group: usize,
    /// Where journal entries get their time from; the layers above read it through `Store::clock`.
    pub clock: Arc<dyn crate::clock::Clock>,
}

impl Default for MetaOptions {
    fn default() -> Self {
        Self { sync: true, max_group: 512, clock: crate::clock::system() }
    }
}

/// A precondition checked by the committer right before a transaction is applied.
#[derive(Clone, Debug)]
enum Condition {
    /// The key holds exactly this value (`None`: the key is absent).
    Equals { cf: Cf, key: Vec<u8>, value: Option<Vec<u8>> },
}

#[derive(Clone, Debug)]
enum Op {
    Put {
        cf: Cf,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        cf: Cf,
        key: Vec<u8>,
    },
    /// Take a reference on a blob, creating its record if this is the first.
    AddBlobRef {
        digest: BlobDigest,
    },
    /// Release a reference. The record stays at zero; collecting unreferenced blobs is a separate job.
    DropBlobRef {
        hash: BlobHash,
    },
    /// Write `prefix ++ seq` (big-endian sequence number of this transaction's journal entry) with an
    /// empty value: lets a record find its history without scanning the whole journal.
    IndexJournalEntry {
        cf: Cf,
        prefix: Vec<u8>,
    },
}

/// One atomic change: preconditions, writes, blob reference changes and exactly one journal entry.
#[derive(Clone, Debug)]
pub struct Txn {
    actor: String,
    action: String,
    payload: Vec<u8>,
    conditions: Vec<Condition>,
    ops: Vec<Op>,
}

/// What a successful commit returns: the journal entry that records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub seq: u64,
    pub entry_hash: [u8; 32],
    pub time_ms: i64,
}

impl Txn {
    /// Starts a transaction whose journal entry says that `actor` did `action`, with `payload` as detail.
    pub fn new(actor: impl Into<String>, action: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            payload: payload.into(),
            conditions: Vec::new(),
            ops: Vec::new(),
        }
    }

    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::Put { cf, key: key.into(), value: value.into() });
        self
    }

    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::Delete { cf, key: key.into() });
        self
    }

    /// Fails the transaction with [`MetaError::Conflict`] unless `key` is absent when it is applied.
    pub fn require_absent(&mut self, cf: Cf, key: impl Into<Vec<u8>>) -> &mut Self {
        self.conditions.push(Condition::Equals { cf, key: key.into(), value: None });
        self
    }

    /// Fails the transaction with [`MetaError::Conflict`] unless `key` holds `value` (absent for `None`)
    /// when it is applied: compare-and-set for read-modify-write callers.
    pub fn require_value(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: Option<Vec<u8>>) -> &mut Self {
        self.conditions.push(Condition::Equals { cf, key: key.into(), value });
        self
    }

    pub fn add_blob_ref(&mut self, digest: BlobDigest) -> &mut Self {
        self.ops.push(Op::AddBlobRef { digest });
        self
    }

    pub fn drop_blob_ref(&mut self, hash: BlobHash) -> &mut Self {
        self.ops.push(Op::DropBlobRef { hash });
        self
    }

    /// Records this transaction's journal entry under `prefix` (see [`MetaStore::journal_seqs_under`]),
    /// so that, for example, a Dokument's history is a prefix scan. Call once per record concerned.
    pub fn index_journal_entry(&mut self, cf: Cf, prefix: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::IndexJournalEntry { cf, prefix: prefix.into() });
        self
    }
}

/// The RocksDB-backed metadata store. Cheap to clone; clones share one database and one committer.
#[derive(Clone)]
pub struct MetaStore {
    db: Arc<DB>,
    committer: Arc<committer::Committer>,
    clock: Arc<dyn crate::clock::Clock>,
}

/// Key in `meta` holding the journal head (`seq: u64 BE | hash`), written with every entry.
const HEAD_KEY: &[u8] = b"journal_head";
const SCHEMA_KEY: &[u8] = b"schema_version";
/// The store's layout version. 2: record values carry a version header (`crate::table`); a store of
/// version 1 (bare JSON records) is read as it is and marked 2 when opened, so that a build older than
/// the headers refuses it with a clear message instead of failing on the first record.
const SCHEMA_VERSION: &[u8] = b"2";
const READABLE_SCHEMA_VERSIONS: [&[u8]; 2] = [b"1", b"2"];

impl MetaStore {
    /// Opens (creating if needed) the database in `path`.
    pub fn open(path: impl AsRef<Path>, options: MetaOptions) -> Result<Self, MetaError> {
        let path = path.as_ref();
        let mut db_options = Options::default();
        db_options.create_if_missing(true);
        db_options.create_missing_column_families(true);
        db_options.set_keep_log_file_num(5);
        // Compression stays at RocksDB's default (Snappy where the linked library has it, else none):
        // naming a codec the library lacks would make the store unopenable.
        let cf_options = |cf: Cf| ColumnFamilyDescriptor::new(cf.name(), Options::default());
        let db = DB::open_cf_descriptors(&db_options, path, Cf::ALL.map(cf_options))
            .map_err(MetaError::rocks(format!("opening {}", path.display())))?;
        let db = Arc::new(db);
        let store_check = db.cf_handle(Cf::Meta.name()).expect("opened with all column families");
        match db.get_cf(&store_check, SCHEMA_KEY).map_err(MetaError::rocks("reading the schema version"))? {
            Some(v) if v == SCHEMA_VERSION => {}
            None => db
                .put_cf(&store_check, SCHEMA_KEY, SCHEMA_VERSION)
                .map_err(MetaError::rocks("writing the schema version"))?,
            Some(v) if READABLE_SCHEMA_VERSIONS.contains(&&v[..]) => db
                .put_cf(&store_check, SCHEMA_KEY, SCHEMA_VERSION)
                .map_err(MetaError::rocks("upgrading the schema version"))?,
            Some(v) => {
                return Err(MetaError::Undecodable {
                    cf: "meta",
                    key: "schema_version".into(),
                    reason: format!(
                        "schema version {:?} is not supported by this build (reads up to {:?}): \
                         the store was written by a newer registratur; upgrade registratur",
                        String::from_utf8_lossy(&v),
                        String::from_utf8_lossy(SCHEMA_VERSION)
                    ),
                });
            }
        }
        let head = read_head(&db)?;
        let clock = Arc::clone(&options.clock);
        let committer = committer::Committer::start(Arc::clone(&db), options, head);
        Ok(Self { db, committer: Arc::new(committer), clock })
    }

    /// Applies a transaction atomically and durably, sharing the fsync with concurrent commits.
    /// Blocks until the write is durable; call it from a blocking context.
    pub fn commit(&self, txn: Txn) -> Result<Receipt, MetaError> {
        self.committer.commit(txn)
    }

    /// The clock journal entries are stamped with.
    pub fn clock(&self) -> &Arc<dyn crate::clock::Clock> {
        &self.clock
    }

    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        get(&self.db, cf, key)
    }

    /// A consistent view of the store as it is now: reads from it never see later commits. For
    /// exports and checks that must see one state.
    pub fn snapshot(&self) -> MetaSnapshot<'_> {
        MetaSnapshot { db: &self.db, snapshot: self.db.snapshot() }
    }

    /// All `(key, value)` pairs whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, cf: Cf, prefix: &[u8]) -> Result<Vec<KeyValue>, MetaError> {
        let handle = self.db.cf_handle(cf.name()).expect("opened with all column families");
        let mut out = Vec::new();
        for item in self.db.iterator_cf(&handle, IteratorMode::From(prefix, Direction::Forward)) {
            let (key, value) = item.map_err(MetaError::rocks(format!("scanning {}", cf.name())))?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.into_vec(), value.into_vec()));
        }
        Ok(out)
    }

    /// Visits `(key, value)` pairs whose key starts with `prefix`, in key order, beginning after
    /// `start_after` (or at the prefix), until `visit` returns `ControlFlow::Break`. Paged listings use it.
    pub fn visit_prefix(
        &self,
        cf: Cf,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        mut visit: impl FnMut(&[u8], &[u8]) -> std::ops::ControlFlow<()>,
    ) -> Result<(), MetaError> {
        let handle = self.db.cf_handle(cf.name()).expect("opened with all column families");
        let start = start_after.unwrap_or(prefix);
        let items = self.db.iterator_cf(&handle, IteratorMode::From(start, Direction::Forward));
        visit_items(cf, items, prefix, start_after, &mut visit)
    }

    /// The greatest key starting with `prefix`, if any (for example to continue an id sequence).
    pub fn last_key_with_prefix(&self, cf: Cf, prefix: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        let handle = self.db.cf_handle(cf.name()).expect("opened with all column families");
        // Seek to the first key past every key with the prefix, then step back.
        let mut upper = prefix.to_vec();
        while let Some(last) = upper.pop() {
            if last < u8::MAX {
                upper.push(last + 1);
                break;
            }
        }
        let mode =
            if upper.is_empty() { IteratorMode::End } else { IteratorMode::From(&upper, Direction::Reverse) };
        for item in self.db.iterator_cf(&handle, mode) {
            let (key, _) = item.map_err(MetaError::rocks(format!("scanning {}", cf.name())))?;
            if key.starts_with(prefix) {
                return Ok(Some(key.into_vec()));
            }
            if key[..] < *prefix {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The reference record of a blob, if the metadata knows it.
    pub fn blob_record(&self, hash: &BlobHash) -> Result<Option<BlobRecord>, MetaError> {
        self.get(Cf::Blobs, hash.as_bytes())?
            .map(|bytes| {
                BlobRecord::decode(&bytes).map_err(|reason| undecodable(Cf::Blobs, hash.as_bytes(), reason))
            })
            .transpose()
    }

    /// Every blob record, in hash order.
    pub fn blob_records(&self) -> Result<Vec<(BlobHash, BlobRecord)>, MetaError> {
        self.blob_records_page(None, usize::MAX)
    }

    /// At most `limit` blob records whose hash is greater than `after` (from the first when `None`), in
    /// hash order: fixity walks a large store a page at a time with it.
    pub fn blob_records_page(
        &self,
        after: Option<&BlobHash>,
        limit: usize,
    ) -> Result<Vec<(BlobHash, BlobRecord)>, MetaError> {
        let handle = self.db.cf_handle(Cf::Blobs.name()).expect("opened with all column families");
        let mode = match after {
            Some(after) => IteratorMode::From(after.as_bytes(), Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut out = Vec::new();
        for item in self.db.iterator_cf(&handle, mode) {
            if out.len() >= limit {
                break;
            }
            let (key, value) = item.map_err(MetaError::rocks("scanning blob records"))?;
            if after.is_some_and(|after| key[..] == after.as_bytes()[..]) {
                continue;
            }
            let hash: [u8; 32] =
                key[..].try_into().map_err(|_| undecodable(Cf::Blobs, &key, "key is not 32 bytes".into()))?;
            let record = BlobRecord::decode(&value).map_err(|reason| undecodable(Cf::Blobs, &key, reason))?;
            out.push((BlobHash::from_bytes(hash), record));
        }
        Ok(out)
    }

    /// The newest journal entry's position, or `None` for an empty journal.
    pub fn journal_head(&self) -> Option<JournalHead> {
        self.committer.head()
    }

    /// How many times the write-ahead log was synced since this store was opened. With group commit
    /// one sync makes a whole group of commits durable, so commits per sync shows how well writers
    /// share them.
    pub fn log_syncs(&self) -> u64 {
        self.committer.log_syncs()
    }

    /// Journal entries with `seq >= from`, in order, at most `limit`.
    pub fn journal_entries(&self, from: u64, limit: usize) -> Result<Vec<JournalEntry>, MetaError> {
        let handle = self.db.cf_handle(Cf::Journal.name()).expect("opened with all column families");
        let start = from.to_be_bytes();
        let mut out = Vec::new();
        for item in self.db.iterator_cf(&handle, IteratorMode::From(&start, Direction::Forward)).take(limit) {
            let (key, value) = item.map_err(MetaError::rocks("reading the journal"))?;
            let entry =
                JournalEntry::decode(&value).map_err(|reason| undecodable(Cf::Journal, &key, reason))?;
            out.push(entry);
        }
        Ok(out)
    }

    /// The journal entries indexed under `prefix` by [`Txn::index_journal_entry`], in order.
    pub fn journal_seqs_under(&self, cf: Cf, prefix: &[u8]) -> Result<Vec<u64>, MetaError> {
        journal_seqs_in(self, cf, prefix)
    }

    /// One journal entry by sequence number.
    pub fn journal_entry(&self, seq: u64) -> Result<Option<JournalEntry>, MetaError> {
        journal_entry_in(self, seq)
    }

    /// Walks the whole journal and reports the first broken link, if any.
    pub fn verify_journal(&self) -> Result<JournalReport, MetaError> {
        let handle = self.db.cf_handle(Cf::Journal.name()).expect("opened with all column families");
        let mut rows = Vec::new();
        let mut bad_key = None;
        for item in self.db.iterator_cf(&handle, IteratorMode::Start) {
            let (key, value) = item.map_err(MetaError::rocks("reading the journal"))?;
            match <[u8; 8]>::try_from(&key[..]) {
                Ok(seq) => rows.push((u64::from_be_bytes(seq), value.into_vec())),
                Err(_) => {
                    bad_key = Some(key);
                    break;
                }
            }
        }
        if let Some(key) = bad_key {
            return Err(undecodable(
                Cf::Journal,
                &key,
                "journal key is not an 8-byte sequence number".into(),
            ));
        }
        Ok(journal::verify_chain(rows, read_head(&self.db)?))
    }

    /// Direct access to the database for tests that must damage it (tamper tests). Never for product code.
    #[doc(hidden)]
    pub fn raw_put_for_tests(&self, cf: Cf, key: &[u8], value: &[u8]) -> Result<(), MetaError> {
        let handle = self.db.cf_handle(cf.name()).expect("opened with all column families");
        self.db.put_cf(&handle, key, value).map_err(MetaError::rocks("raw test write"))
    }
}

/// The store's own keyspaces, for the registry: blob records, the journal, and its facts in `meta`.
pub fn keyspaces() -> Vec<crate::table::Keyspace> {
    use crate::table::Keyspace;
    vec![
        Keyspace::foreign(
            "blob-records",
            Cf::Blobs,
            b"",
            "BLAKE3 (32 bytes)",
            "BlobRecord v1",
            |key, value| {
                if key.len() != 32 {
                    return Err(format!("expected a 32-byte hash, found {} bytes", key.len()));
                }
                BlobRecord::decode(value).map(|_| ())
            },
        ),
        Keyspace::foreign(
            "journal",
            Cf::Journal,
            b"",
            "u64 BE",
            "JournalEntry (journal.rs layout)",
            |key, value| {
                let seq = <[u8; 8]>::try_from(key)
                    .map_err(|_| "the key is not a u64 sequence number".to_string())?;
                let entry = JournalEntry::decode(value)?;
                if entry.seq != u64::from_be_bytes(seq) {
                    return Err(format!(
                        "entry {} is stored under sequence number {}",
                        entry.seq,
                        u64::from_be_bytes(seq)
                    ));
                }
                Ok(())
            },
        ),
        Keyspace::foreign("journal-head", Cf::Meta, HEAD_KEY, "none", "u64 BE + hash", |key, value| {
            if !key.is_empty() || value.len() != 40 {
                return Err(format!("expected 40 bytes, found {}", value.len()));
            }
            Ok(())
        }),
        Keyspace::foreign("schema-version", Cf::Meta, SCHEMA_KEY, "none", "ASCII number", |key, value| {
            if !key.is_empty() || !READABLE_SCHEMA_VERSIONS.contains(&value) {
                return Err(format!("unknown schema version {:?}", String::from_utf8_lossy(value)));
            }
            Ok(())
        }),
    ]
}

/// A point-in-time view of the metadata store ([`MetaStore::snapshot`]).
pub struct MetaSnapshot<'a> {
    db: &'a DB,
    snapshot: rocksdb::Snapshot<'a>,
}

impl MetaSnapshot<'_> {
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        let handle = self.db.cf_handle(cf.name()).expect("opened with all column families");
        self.snapshot.get_cf(&handle, key).map_err(MetaError::rocks(format!("reading {}", cf.name())))
    }
}

impl crate::table::MetaRead for MetaSnapshot<'_> {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        MetaSnapshot::get(self, cf, key)
    }

    fn visit_prefix(
        &self,
        cf: Cf,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut crate::table::Visitor<'_>,
    ) -> Result<(), MetaError> {
        let handle = self.db.cf_handle(cf.name()).expect("opened with all column families");
        let start = start_after.unwrap_or(prefix);
        let items = self.snapshot.iterator_cf(&handle, IteratorMode::From(start, Direction::Forward));
        visit_items(cf, items, prefix, start_after, visit)
    }
}

impl crate::table::MetaRead for MetaStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
        MetaStore::get(self, cf, key)
    }

    fn visit_prefix(
        &self,
        cf: Cf,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        visit: &mut crate::table::Visitor<'_>,
    ) -> Result<(), MetaError> {
        MetaStore::visit_prefix(self, cf, prefix, start_after, visit)
    }
}

fn visit_items(
    cf: Cf,
    items: impl Iterator<Item = Result<(Box<[u8]>, Box<[u8]>), rocksdb::Error>>,
    prefix: &[u8],
    start_after: Option<&[u8]>,
    visit: &mut crate::table::Visitor<'_>,
) -> Result<(), MetaError> {
    for item in items {
        let (key, value) = item.map_err(MetaError::rocks(format!("scanning {}", cf.name())))?;
        if start_after == Some(&key[..]) {
            continue;
        }
        if !key.starts_with(prefix) || visit(&key, &value).is_break() {
            break;
        }
    }
    Ok(())
}

fn get(db: &DB, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, MetaError> {
    let handle = db.cf_handle(cf.name()).expect("opened with all column families");
    db.get_cf(&handle, key).map_err(MetaError::rocks(format!("reading {}", cf.name())))
}

fn undecodable(cf: Cf, key: &[u8], reason: String) -> MetaError {
    MetaError::Undecodable { cf: cf.name(), key: hex::encode(key), reason }
}

/// The journal entries indexed under `prefix` by [`Txn::index_journal_entry`], in order, as `meta` (the
/// store or a snapshot of it) holds them.
pub fn journal_seqs_in(meta: &dyn MetaRead, cf: Cf, prefix: &[u8]) -> Result<Vec<u64>, MetaError> {
    let mut seqs = Vec::new();
    let mut failure = None;
    meta.visit_prefix(cf, prefix, None, &mut |key, _| {
        let tail = key.len().checked_sub(8).filter(|&at| at == prefix.len());
        match tail.and_then(|at| <[u8; 8]>::try_from(&key[at..]).ok()) {
            Some(seq) => {
                seqs.push(u64::from_be_bytes(seq));
                std::ops::ControlFlow::Continue(())
            }
            None => {
                failure =
                    Some(undecodable(cf, key, "journal index key does not end in a sequence number".into()));
                std::ops::ControlFlow::Break(())
            }
        }
    })?;
    failure.map_or(Ok(seqs), Err)
}

/// One journal entry by sequence number, as `meta` (the store or a snapshot of it) holds it.
pub fn journal_entry_in(meta: &dyn MetaRead, seq: u64) -> Result<Option<JournalEntry>, MetaError> {
    let key = seq.to_be_bytes();
    meta.get(Cf::Journal, &key)?
        .map(|bytes| JournalEntry::decode(&bytes).map_err(|reason| undecodable(Cf::Journal, &key, reason)))
        .transpose()
}

/// The newest journal entry's position as `meta` (the store or a snapshot of it) records it.
pub fn journal_head_in(meta: &dyn MetaRead) -> Result<Option<JournalHead>, MetaError> {
    meta.get(Cf::Meta, HEAD_KEY)?.map(|bytes| decode_head(&bytes)).transpose()
}

fn read_head(db: &DB) -> Result<Option<JournalHead>, MetaError> {
    get(db, Cf::Meta, HEAD_KEY)?.map(|bytes| decode_head(&bytes)).transpose()
}

fn decode_head(bytes: &[u8]) -> Result<JournalHead, MetaError> {
    if bytes.len() != 40 {
        return Err(undecodable(Cf::Meta, HEAD_KEY, format!("head is {} bytes, expected 40", bytes.len())));
    }
    Ok(JournalHead {
        seq: u64::from_be_bytes(bytes[..8].try_into().expect("checked length")),
        hash: bytes[8..].try_into().expect("checked length"),
    })
}

fn encode_head(head: &JournalHead) -> Vec<u8> {
    let mut out = head.seq.to_be_bytes().to_vec();
    out.extend_from_slice(&head.hash);
    out
}

#[cfg(test)]
mod power_loss;
#[cfg(test)]
mod tests;
