//! Keeping the index in step with the store: catch-up from the journal, and rebuilds.
//!
//! The indexer thread reads the journal from the index's `applied` position onward. `dokument.add`
//! and `version.add` (re)index that Dokument; `akte.close` re-indexes the Dokumente of the Akte (their
//! Akte state changed). Changes are committed together, at most once per `commit_interval`, so a
//! Dokument acknowledged as stored is searchable after at most `commit_interval + poll_interval` plus
//! the time to index what arrived with it (1.1 s by default). After a crash the index simply
//! continues from the `applied` of its last commit: re-applying an entry replaces the same index
//! document, so catching up twice does no harm.
//!
//! A rebuild walks every Dokument into a fresh generation while the live one keeps serving and
//! catching up, then switches; the new generation catches up from the journal position at which the
//! walk began.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use registratur_storage::journal::JournalEntry;

use super::SearchError;
use super::index::{
    CursorPins, Generation, SearchRequest, SearchResults, Snapshot, newest_generation,
    remove_other_generations, write_current,
};
use super::schema::IndexedDokument;
use super::source::Loader;
use registratur_ops::background::{BackgroundThread, StopSignal};
use registratur_records::repo::Records;

/// How the index keeps up.
#[derive(Clone, Debug)]
pub struct SearchSettings {
    /// Changes are committed (made searchable) at most this often.
    pub commit_interval: Duration,
    /// How often the indexer looks at the journal when it has nothing to do.
    pub poll_interval: Duration,
    /// Indexing threads of the writer.
    pub threads: usize,
    /// How long a relevance cursor stays valid after its last use (its pinned index state is kept
    /// that long).
    pub cursor_ttl: Duration,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            commit_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(100),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            cursor_ttl: Duration::from_secs(10 * 60),
        }
    }
}

/// How far a rebuild has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    /// An upper bound: the highest Dokument id handed out.
    pub total: u64,
}

/// What a finished rebuild did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RebuildReport {
    pub documents: u64,
    pub seconds: f64,
}

/// Journal entries read per step.
const JOURNAL_BATCH: usize = 4096;
/// Dokumente loaded per step of a rebuild.
const REBUILD_BATCH: usize = 1024;
/// Commit even without Dokument changes once the journal position moved this far, so that a restart
/// does not re-read a long stretch of unrelated entries.
const COMMIT_AFTER_ENTRIES: u64 = 10_000;

struct Live {
    generation: Generation,
    /// The next journal entry to apply (ahead of `generation.committed.applied` until a commit).
    next: u64,
    /// When the first change not yet committed was applied.
    dirty_since: Option<Instant>,
}

/// The search index of one store: the live generation, its indexer state and rebuilds.
pub struct SearchIndex {
    root: PathBuf,
    records: Arc<Records>,
    settings: SearchSettings,
    live: Mutex<Option<Live>>,
    snapshot: RwLock<Option<Snapshot>>,
    rebuilding: Mutex<Option<Progress>>,
    /// Index states behind relevance cursors.
    pins: CursorPins,
}

/// Relevance cursors pinned at once, at most: each holds its index state's segments open.
const MAX_PINNED_CURSORS: usize = 1024;

impl SearchIndex {
    /// Opens the index under `root`. Without a usable generation, searches fail with
    /// [`SearchError::Building`] until the indexer thread has built one.
    pub fn open(root: PathBuf, records: Arc<Records>, settings: SearchSettings) -> Result<Self, SearchError> {
        std::fs::create_dir_all(&root).map_err(SearchError::io(format!("creating {}", root.display())))?;
        let next_in_journal = records.store().meta().journal_head().map_or(1, |head| head.seq + 1);
        let generation = Generation::open_current(&root, settings.threads)?.filter(|generation| {
            let ahead = generation.committed.applied > next_in_journal;
            if ahead {
                tracing::warn!(
                    applied = generation.committed.applied,
                    next_in_journal,
                    "the search index is ahead of the journal (was the store restored?); rebuilding it"
                );
            }
            !ahead
        });
        if let Some(generation) = &generation {
            remove_other_generations(&root, generation.number);
        }
        let snapshot = generation.as_ref().map(Generation::searcher);
        let live = generation.map(|generation| Live {
            next: generation.committed.applied,
            generation,
            dirty_since: None,
        });
        Ok(Self {
            root,
            records,
            live: Mutex::new(live),
            snapshot: RwLock::new(snapshot),
            rebuilding: Mutex::new(None),
            pins: CursorPins::new(settings.cursor_ttl, MAX_PINNED_CURSORS),
            settings,
        })
    }

    /// The newest committed state, for searching.
    pub fn snapshot(&self) -> Result<Snapshot, SearchError> {
        if let Some(snapshot) = self.snapshot.read().expect("snapshot lock").clone() {
            return Ok(snapshot);
        }
        let progress = *self.rebuilding.lock().expect("rebuild lock");
        Err(SearchError::Building(
            progress.unwrap_or(Progress { done: 0, total: self.records.highest_dokument_id() }),
        ))
    }

    /// Runs `request` on the newest committed state (or the state a relevance cursor pinned),
    /// restricted to the Aktenplan subtrees in `scopes` when there are any.
    pub fn search(&self, request: &SearchRequest, scopes: &[String]) -> Result<SearchResults, SearchError> {
        self.snapshot()?.search(request, scopes, &self.pins)
    }

    /// The journal position below which every change is searchable: past the last commit when the
    /// entries read since changed nothing in the index. `None` while there is no index yet.
    pub fn searchable_through(&self) -> Option<u64> {
        let guard = self.live.lock().expect("live index lock");
        let live = guard.as_ref()?;
        Some(if live.dirty_since.is_none() { live.next } else { live.generation.committed.applied })
    }

    pub fn has_generation(&self) -> bool {
        self.live.lock().expect("live index lock").is_some()
    }

    /// Applies the next journal entries and commits when due. Returns how many entries it read.
    pub fn catch_up(&self) -> Result<usize, SearchError> {
        let mut guard = self.live.lock().expect("live index lock");
        let Some(live) = guard.as_mut() else { return Ok(0) };
        let entries = self.records.store().meta().journal_entries(live.next, JOURNAL_BATCH)?;
        if let Some(last) = entries.last() {
            let changed = self.apply(&live.generation, &entries)?;
            live.next = last.seq + 1;
            if changed > 0 || live.next - live.generation.committed.applied >= COMMIT_AFTER_ENTRIES {
                live.dirty_since.get_or_insert_with(Instant::now);
            }
        }
        if live.dirty_since.is_some_and(|since| since.elapsed() >= self.settings.commit_interval) {
            self.commit(live)?;
        }
        Ok(entries.len())
    }

    /// Commits whatever is pending, now (at shutdown, and in tests).
    pub fn flush(&self) -> Result<(), SearchError> {
        let mut guard = self.live.lock().expect("live index lock");
        match guard.as_mut() {
            Some(live) if live.next != live.generation.committed.applied || live.dirty_since.is_some() => {
                self.commit(live)
            }
            _ => Ok(()),
        }
    }

    fn commit(&self, live: &mut Live) -> Result<(), SearchError> {
        live.generation.commit(live.next)?;
        live.dirty_since = None;
        *self.snapshot.write().expect("snapshot lock") = Some(live.generation.searcher());
        Ok(())
    }

    /// Indexes what `entries` changed; returns the number of Dokumente (re)indexed or removed.
    fn apply(&self, generation: &Generation, entries: &[JournalEntry]) -> Result<usize, SearchError> {
        let mut ids = BTreeSet::new();
        let mut closed = Vec::new();
        for entry in entries {
            match entry.action.as_str() {
                "dokument.add" | "version.add" => ids.extend(payload_id(entry, "dokument_id")),
                "akte.close" => closed.extend(payload_id(entry, "akte_id")),
                _ => {}
            }
        }
        for akte_id in closed {
            ids.extend(self.records.dokumente(akte_id)?.into_iter().map(|d| d.id));
        }
        let ids: Vec<u64> = ids.into_iter().collect();
        let loaded: Vec<(u64, Option<IndexedDokument>)> = ids
            .par_iter()
            .map_init(|| Loader::new(&self.records), |loader, &id| loader.by_id(id).map(|d| (id, d)))
            .collect::<Result<_, _>>()?;
        for (id, dokument) in &loaded {
            match dokument {
                Some(dokument) => generation.upsert(dokument)?,
                None => generation.remove(*id),
            }
        }
        Ok(loaded.len())
    }

    /// Rebuilds the index from the records into a new generation and switches to it. The live
    /// generation keeps serving meanwhile. `progress` is called after every step.
    pub fn rebuild(&self, mut progress: impl FnMut(Progress)) -> Result<RebuildReport, SearchError> {
        let started = Instant::now();
        {
            let mut rebuilding = self.rebuilding.lock().expect("rebuild lock");
            if rebuilding.is_some() {
                return Err(SearchError::RebuildRunning);
            }
            *rebuilding = Some(Progress { done: 0, total: self.records.highest_dokument_id() });
        }
        let result = self.rebuild_inner(&mut progress, started);
        *self.rebuilding.lock().expect("rebuild lock") = None;
        result
    }

    fn rebuild_inner(
        &self,
        progress: &mut dyn FnMut(Progress),
        started: Instant,
    ) -> Result<RebuildReport, SearchError> {
        // Entries from here on are applied again after the switch; the walk may or may not see them.
        let applied = self.records.store().meta().journal_head().map_or(1, |head| head.seq + 1);
        let number = newest_generation(&self.root) + 1;
        let mut generation = Generation::create(&self.root, number, self.settings.threads, applied)?;
        let mut done = 0u64;
        let mut after = 0u64;
        loop {
            let batch = self.records.dokumente_after(after, REBUILD_BATCH)?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            let loaded: Vec<IndexedDokument> = batch
                .par_iter()
                .map_init(|| Loader::new(&self.records), |loader, dokument| loader.load(dokument))
                .collect::<Result<_, _>>()?;
            for dokument in &loaded {
                generation.writer.add_document(generation.fields.document(dokument))?;
            }
            done += loaded.len() as u64;
            let now = Progress { done, total: self.records.highest_dokument_id().max(done) };
            *self.rebuilding.lock().expect("rebuild lock") = Some(now);
            progress(now);
        }
        generation.commit(applied)?;
        let mut guard = self.live.lock().expect("live index lock");
        write_current(&self.root, number)?;
        *self.snapshot.write().expect("snapshot lock") = Some(generation.searcher());
        let old = guard.replace(Live { next: applied, generation, dirty_since: None });
        drop(guard);
        drop(old);
        remove_other_generations(&self.root, number);
        Ok(RebuildReport { documents: done, seconds: started.elapsed().as_secs_f64() })
    }
}

fn payload_id(entry: &JournalEntry, field: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(&entry.payload).ok()?;
    let id = value.get(field)?.as_u64();
    if id.is_none() {
        tracing::warn!(seq = entry.seq, action = %entry.action, "journal entry without {field}; not indexed");
    }
    id
}

/// Owns the indexer thread; dropping it commits what is pending and stops the thread.
pub struct IndexerHandle {
    _thread: BackgroundThread,
}

impl IndexerHandle {
    pub fn start(index: &Arc<SearchIndex>) -> std::io::Result<Self> {
        let weak = Arc::downgrade(index);
        let poll = index.settings.poll_interval;
        let thread = BackgroundThread::spawn("search-indexer", move |signal| run(signal, &weak, poll))?;
        Ok(Self { _thread: thread })
    }
}

fn run(signal: &StopSignal, index: &Weak<SearchIndex>, poll: Duration) {
    let mut failures: u32 = 0;
    while !signal.is_stopped() {
        let Some(index) = index.upgrade() else { return };
        let step = if index.has_generation() {
            index.catch_up()
        } else {
            tracing::info!("building the search index");
            index.rebuild(|_| {}).map(|report| {
                tracing::info!(documents = report.documents, seconds = report.seconds, "search index built");
                1
            })
        };
        let pause = match step {
            Ok(read) => {
                failures = 0;
                if read > 0 { Duration::ZERO } else { poll }
            }
            Err(SearchError::RebuildRunning) => poll,
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::error!(%error, "the search indexer failed; retrying");
                (poll * failures.min(100)).min(Duration::from_secs(30))
            }
        };
        drop(index);
        if !pause.is_zero() {
            signal.sleep(pause);
        }
    }
    if let Some(index) = index.upgrade()
        && let Err(error) = index.flush()
    {
        tracing::error!(%error, "cannot commit the search index at shutdown");
    }
}
