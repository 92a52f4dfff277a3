//! The index on disk: generations, the live writer, and searching.
//!
//! `search/` in the data directory holds one tantivy index per generation (`gen-000001`, ...) and a
//! `current` file naming the live one. A rebuild writes the next generation beside the live one and
//! switches by replacing `current` (write, fsync, rename), so a crash during a rebuild leaves the old
//! generation live; leftover generations are removed at open.
//!
//! Every commit carries a payload `{"schema": N, "applied": S}`: journal entries below `S` are in the
//! index. At open, an index whose schema differs, or whose `applied` lies beyond the journal (a store
//! restored from an older copy), is not used: it is rebuilt.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tantivy::collector::Count;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, TantivyDocument, Term};

use super::collector::{Cursor, SortOrder, TopAfter};
use super::query;
use super::schema::{
    AKTE_CLOSED, AKTE_OPEN, Fields, IndexedDokument, SCHEMA_VERSION, day_number, media_essence,
};
use super::snippet::{SNIPPET_CHARS, Snippet, SnippetMatcher};
use super::{SearchError, analysis};

const CURRENT: &str = "current";
const GENERATION_PREFIX: &str = "gen-";

/// What each commit records about the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitPayload {
    pub schema: u32,
    /// The next journal entry to apply: everything below is in the index.
    pub applied: u64,
}

/// One generation: a tantivy index with its writer and reader.
pub struct Generation {
    pub number: u64,
    pub dir: PathBuf,
    pub writer: IndexWriter,
    pub reader: IndexReader,
    pub fields: Fields,
    /// The committed payload: the journal position searchers see.
    pub committed: CommitPayload,
}

/// How big a writer may grow before it flushes a segment, per thread.
pub const WRITER_MEMORY_PER_THREAD: usize = 64 << 20;

impl Generation {
    /// Creates an empty generation `number` under `root`.
    pub fn create(root: &Path, number: u64, threads: usize, applied: u64) -> Result<Self, SearchError> {
        let dir = generation_dir(root, number);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(SearchError::io(format!("removing {}", dir.display())))?;
        }
        fs::create_dir_all(&dir).map_err(SearchError::io(format!("creating {}", dir.display())))?;
        let (schema, fields) = Fields::schema();
        let index = Index::builder().schema(schema).create_in_dir(&dir)?;
        let empty = CommitPayload { schema: 0, applied: 0 };
        let mut generation = Self::assemble(number, dir, index, fields, threads, empty)?;
        generation.commit(applied)?;
        Ok(generation)
    }

    /// Opens the live generation named by `current`, if there is one this version can use.
    pub fn open_current(root: &Path, threads: usize) -> Result<Option<Self>, SearchError> {
        let Some(number) = read_current(root)? else { return Ok(None) };
        let dir = generation_dir(root, number);
        let index = match Index::open_in_dir(&dir) {
            Ok(index) => index,
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "the search index cannot be opened; rebuilding it");
                return Ok(None);
            }
        };
        let payload =
            index.load_metas()?.payload.and_then(|text| serde_json::from_str::<CommitPayload>(&text).ok());
        let Some(payload) = payload.filter(|p| p.schema == SCHEMA_VERSION) else {
            tracing::info!(dir = %dir.display(), "the search index has another schema version; rebuilding it");
            return Ok(None);
        };
        let (_, fields) = Fields::schema();
        Self::assemble(number, dir, index, fields, threads, payload).map(Some)
    }

    fn assemble(
        number: u64,
        dir: PathBuf,
        index: Index,
        fields: Fields,
        threads: usize,
        committed: CommitPayload,
    ) -> Result<Self, SearchError> {
        analysis::register(&index);
        let threads = threads.max(1);
        let writer = index.writer_with_num_threads(threads, threads * WRITER_MEMORY_PER_THREAD)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { number, dir, writer, reader, fields, committed })
    }

    /// Replaces the index document of `dokument` (or adds it).
    pub fn upsert(&self, dokument: &IndexedDokument) -> Result<(), SearchError> {
        self.writer.delete_term(Term::from_field_u64(self.fields.id, dokument.dokument_id));
        self.writer.add_document(self.fields.document(dokument))?;
        Ok(())
    }

    /// Removes Dokument `id` from the index (it no longer exists in the records).
    pub fn remove(&self, id: u64) {
        self.writer.delete_term(Term::from_field_u64(self.fields.id, id));
    }

    /// Commits everything written so far as covering the journal below `applied`, and shows it to
    /// searchers.
    pub fn commit(&mut self, applied: u64) -> Result<(), SearchError> {
        let payload = CommitPayload { schema: SCHEMA_VERSION, applied };
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(&payload).expect("payload serialises"));
        prepared.commit()?;
        self.reader.reload()?;
        self.committed = payload;
        Ok(())
    }

    pub fn searcher(&self) -> Snapshot {
        Snapshot {
            dir: self.dir.clone(),
            reader: self.reader.clone(),
            fields: self.fields,
            applied: self.committed.applied,
        }
    }
}

/// Makes generation `number` the live one, durably.
pub fn write_current(root: &Path, number: u64) -> Result<(), SearchError> {
    let temp = root.join(format!("{CURRENT}.tmp"));
    let context = || format!("writing {}", root.join(CURRENT).display());
    let mut file = fs::File::create(&temp).map_err(SearchError::io(context()))?;
    file.write_all(format!("{number}\n").as_bytes()).map_err(SearchError::io(context()))?;
    file.sync_all().map_err(SearchError::io(context()))?;
    fs::rename(&temp, root.join(CURRENT)).map_err(SearchError::io(context()))?;
    fs::File::open(root).and_then(|dir| dir.sync_all()).map_err(SearchError::io(context()))?;
    Ok(())
}

fn read_current(root: &Path) -> Result<Option<u64>, SearchError> {
    let path = root.join(CURRENT);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(SearchError::io(format!("reading {}", path.display()))(error)),
    }
}

/// The highest generation number present under `root`.
pub fn newest_generation(root: &Path) -> u64 {
    generations(root).into_iter().max().unwrap_or(0).max(read_current(root).ok().flatten().unwrap_or(0))
}

/// Removes every generation directory except `keep`.
pub fn remove_other_generations(root: &Path, keep: u64) {
    for number in generations(root) {
        if number != keep {
            let dir = generation_dir(root, number);
            if let Err(error) = fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), %error, "cannot remove an old search index generation");
            }
        }
    }
}

fn generations(root: &Path) -> Vec<u64> {
    let Ok(entries) = fs::read_dir(root) else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.strip_prefix(GENERATION_PREFIX)?.parse().ok())
        .collect()
}

fn generation_dir(root: &Path, number: u64) -> PathBuf {
    root.join(format!("{GENERATION_PREFIX}{number:06}"))
}

/// A point-in-time view for searching: cheap to clone, unaffected by later commits.
#[derive(Clone)]
pub struct Snapshot {
    dir: PathBuf,
    reader: IndexReader,
    fields: Fields,
    applied: u64,
}

/// Searchers pinned behind relevance cursors, so that every page of one search is scored against
/// the same index statistics. A pin lives `ttl` after its last use; at most `capacity` are kept (the
/// least recently used goes first). A cursor whose pin is gone has expired: the caller starts again.
pub struct CursorPins {
    ttl: Duration,
    capacity: usize,
    table: Mutex<PinTable>,
}

struct PinTable {
    next: u64,
    pins: HashMap<u64, Pin>,
}

struct Pin {
    searcher: Searcher,
    applied: u64,
    last_used: Instant,
}

impl CursorPins {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        // Pin numbers start at random, so that a cursor from before a restart finds no pin rather
        // than somebody else's.
        let first = rand::random::<u64>() >> 1 | 1;
        Self {
            ttl,
            capacity: capacity.max(1),
            table: Mutex::new(PinTable { next: first, pins: HashMap::new() }),
        }
    }

    /// Pins `searcher`; returns its number (never 0).
    fn pin(&self, searcher: Searcher, applied: u64) -> u64 {
        let mut table = self.table.lock().expect("cursor pins lock");
        let now = Instant::now();
        table.pins.retain(|_, pin| now.duration_since(pin.last_used) < self.ttl);
        if table.pins.len() >= self.capacity
            && let Some(oldest) = table.pins.iter().min_by_key(|(_, pin)| pin.last_used).map(|(id, _)| *id)
        {
            table.pins.remove(&oldest);
        }
        let id = table.next;
        table.next = table.next.checked_add(1).unwrap_or(1);
        table.pins.insert(id, Pin { searcher, applied, last_used: now });
        id
    }

    /// The searcher behind pin `id`, if it has not expired.
    fn get(&self, id: u64) -> Option<(Searcher, u64)> {
        let mut table = self.table.lock().expect("cursor pins lock");
        let now = Instant::now();
        let pin = table.pins.get_mut(&id)?;
        if now.duration_since(pin.last_used) >= self.ttl {
            table.pins.remove(&id);
            return None;
        }
        pin.last_used = now;
        Some((pin.searcher.clone(), pin.applied))
    }

    /// How long a relevance cursor stays valid after its last use.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// What a search asks for; see `service::search` for the limits.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    pub query: String,
    pub filters: SearchFilters,
    pub order: Option<SortOrder>,
    pub limit: usize,
    pub cursor: Option<String>,
}

/// Filters; all given ones must hold.
#[derive(Clone, Debug, Default)]
pub struct SearchFilters {
    /// Aktenplan units: hits lie in one of these subtrees.
    pub units: Vec<String>,
    pub aktenzeichen: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub channels: Vec<String>,
    pub media_types: Vec<String>,
    /// `Some(true)`: only open Akten; `Some(false)`: only closed ones.
    pub akte_open: Option<bool>,
}

/// One page of results.
#[derive(Clone, Debug)]
pub struct SearchResults {
    /// All hits the caller may see, across pages.
    pub total: u64,
    pub hits: Vec<SearchHit>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The index covers the journal below this entry.
    pub indexed_through: u64,
}

#[derive(Clone, Debug)]
pub struct SearchHit {
    pub dokument: IndexedDokument,
    pub score: f32,
    pub snippet: Snippet,
}

impl Snapshot {
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Runs `request`, restricted to the Aktenplan subtrees in `scopes` when there are any.
    ///
    /// Relevance pages after the first are scored by the searcher pinned in `pins` for the first
    /// page, so they neither repeat nor skip hits while documents arrive; Dokumente that arrive
    /// meanwhile are not among them. Scoped callers get no scores (0): BM25 statistics span the whole
    /// index, so a score would tell how often other subtrees use a word.
    pub fn search(
        &self,
        request: &SearchRequest,
        scopes: &[String],
        pins: &CursorPins,
    ) -> Result<SearchResults, SearchError> {
        let order = request.order.unwrap_or(if request.query.trim().is_empty() {
            SortOrder::NewestFirst
        } else {
            SortOrder::Relevance
        });
        let cursor = match &request.cursor {
            Some(text) => Some(Cursor::decode(text, order).map_err(SearchError::BadCursor)?),
            None => None,
        };
        let (searcher, applied, pin) = match cursor {
            Some(cursor) if order == SortOrder::Relevance => match pins.get(cursor.pin) {
                Some((searcher, applied)) => (searcher, applied, cursor.pin),
                None => {
                    return Err(SearchError::CursorExpired {
                        minutes: pins.ttl().as_secs().div_ceil(60).max(1),
                    });
                }
            },
            _ => (self.reader.searcher(), self.applied, 0),
        };
        let text_query = self.text_query(&request.query)?;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query.query.box_clone())];
        for filter in self.filters(&request.filters, scopes) {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
        }
        let query = BooleanQuery::new(clauses);
        let top = TopAfter { order, limit: request.limit, after: cursor.map(|c| c.after) };
        let (total, ranked) = searcher.search(&query, &(Count, top))?;
        let mut snippets = if request.query.trim().is_empty() {
            None
        } else {
            Some(self.snippet_matcher(&searcher, &text_query)?)
        };
        let mut hits = Vec::with_capacity(ranked.len());
        for hit in &ranked {
            let doc: TantivyDocument = searcher.doc(hit.address)?;
            let dokument = self.fields.read(&doc).map_err(SearchError::Corrupt)?;
            // Without matches in the text (the words matched the title or sender only, or there were
            // no words), the snippet is the beginning of the text.
            let snippet = snippets
                .as_mut()
                .and_then(|matcher| matcher.snippet(&dokument.body))
                .unwrap_or_else(|| lead(&dokument.body));
            let score = if scopes.is_empty() { hit.score } else { 0.0 };
            hits.push(SearchHit { dokument, score, snippet });
        }
        let next_cursor = match ranked.last() {
            Some(last) if ranked.len() == request.limit => {
                let pin = match (order, pin) {
                    (SortOrder::Relevance, 0) => pins.pin(searcher.clone(), applied),
                    (_, pin) => pin,
                };
                Some(Cursor { order, after: last.key, pin }.encode())
            }
            _ => None,
        };
        Ok(SearchResults { total: total as u64, hits, next_cursor, indexed_through: applied })
    }

    /// What snippets mark: the body's terms of the query, weighted like tantivy's own generator
    /// (rarer terms count more), and the prefixes the query expands in the body.
    fn snippet_matcher(
        &self,
        searcher: &Searcher,
        text_query: &TextQuery,
    ) -> Result<SnippetMatcher, SearchError> {
        let body = self.fields.body;
        let mut query_terms = Vec::new();
        text_query.query.query_terms(&mut |term, _| {
            if term.field() == body {
                query_terms.push(term.clone());
            }
        });
        let mut terms = BTreeMap::new();
        for term in query_terms {
            let Some(text) = term.value().as_str().map(str::to_string) else { continue };
            let frequency = searcher.doc_freq(&term)?;
            if frequency > 0 {
                terms.insert(text, 1.0 / (1.0 + frequency as Score));
            }
        }
        let prefixes = text_query
            .prefixes
            .iter()
            .filter(|term| term.field() == body)
            .filter_map(|term| Some(term.value().as_str()?.to_string()))
            .collect();
        Ok(SnippetMatcher::new(terms, prefixes))
    }

    fn text_query(&self, text: &str) -> Result<TextQuery, SearchError> {
        let fields = query::QueryFields::new(
            vec![
                (self.fields.title, 2.0),
                (self.fields.sender, 1.5),
                (self.fields.zeichen, 1.0),
                (self.fields.aktenzeichen_words, 1.0),
                (self.fields.body, 1.0),
            ],
            vec![
                ("titel", self.fields.title),
                ("absender", self.fields.sender),
                ("zeichen", self.fields.zeichen),
                ("text", self.fields.body),
            ],
        );
        let ast = query::parse(text, &fields.names()).map_err(SearchError::BadQuery)?;
        let query = query::build(&ast, &fields, &mut analysis::german()).map_err(SearchError::BadQuery)?;
        let prefixes = query::prefix_terms(&ast, &fields);
        Ok(TextQuery { query, prefixes })
    }

    fn filters(&self, filters: &SearchFilters, scopes: &[String]) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let any_of = |field, values: &[String]| -> Box<dyn Query> {
            Box::new(TermSetQuery::new(values.iter().map(|value| Term::from_field_text(field, value))))
        };
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        if !scopes.is_empty() {
            out.push(any_of(f.units, scopes));
        }
        if !filters.units.is_empty() {
            out.push(any_of(f.units, &filters.units));
        }
        if let Some(aktenzeichen) = &filters.aktenzeichen {
            out.push(Box::new(TermQuery::new(
                Term::from_field_text(f.aktenzeichen, aktenzeichen),
                IndexRecordOption::Basic,
            )));
        }
        if filters.from.is_some() || filters.to.is_some() {
            let bound = |date: Option<NaiveDate>| match date {
                Some(date) => Bound::Included(Term::from_field_i64(f.date, day_number(date))),
                None => Bound::Unbounded,
            };
            out.push(Box::new(RangeQuery::new(bound(filters.from), bound(filters.to))));
        }
        if !filters.channels.is_empty() {
            out.push(any_of(f.channel, &filters.channels));
        }
        if !filters.media_types.is_empty() {
            let essences: Vec<String> = filters.media_types.iter().map(|m| media_essence(m)).collect();
            out.push(any_of(f.media_essence, &essences));
        }
        if let Some(open) = filters.akte_open {
            let state = if open { AKTE_OPEN } else { AKTE_CLOSED };
            out.push(Box::new(TermQuery::new(
                Term::from_field_text(f.akte_state, state),
                IndexRecordOption::Basic,
            )));
        }
        out
    }

    /// Every index document, by Dokument id: for comparing a rebuilt index with an incremental one.
    pub fn all_documents(&self) -> Result<Vec<IndexedDokument>, SearchError> {
        let searcher = self.reader.searcher();
        let top = TopAfter { order: SortOrder::OldestFirst, limit: usize::MAX, after: None };
        let mut out = Vec::new();
        for hit in searcher.search(&AllQuery, &top)? {
            let doc: TantivyDocument = searcher.doc(hit.address)?;
            out.push(self.fields.read(&doc).map_err(SearchError::Corrupt)?);
        }
        out.sort_by_key(|d| d.dokument_id);
        Ok(out)
    }

    /// The number of documents searchers see.
    pub fn document_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes the generation takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }
}

/// The user's query as tantivy runs it, and the prefixes it expands (for highlighting).
struct TextQuery {
    query: Box<dyn Query>,
    prefixes: Vec<Term>,
}

/// The beginning of a text, cut at a word boundary: the snippet when no words were searched for.
fn lead(text: &str) -> Snippet {
    let mut end = 0;
    for (count, (at, ch)) in text.char_indices().enumerate() {
        if count >= SNIPPET_CHARS {
            break;
        }
        end = at + ch.len_utf8();
    }
    let cut = if end < text.len() { text[..end].rfind(char::is_whitespace).unwrap_or(end) } else { end };
    Snippet { text: text[..cut].trim().to_string(), highlights: Vec::new() }
}
