//! Full-text search over all Akten: a tantivy index derived from the store.
//!
//! - `analysis` — the German analyser (lowercasing, umlaut and ß folding, Snowball stemming).
//! - `query` — the query language (terms, phrases, AND/OR/NOT, fields, prefixes) with positioned errors.
//! - `schema` — what is indexed per Dokument.
//! - `source` — reading a Dokument and its text from the records.
//! - `index` — generations on disk, the writer, searching with filters and cursors.
//! - `snippet` — the passage of a hit that shows why it matched, matched words marked.
//! - `indexer` — catch-up from the journal, batched commits, rebuilds.
//! - `collector` — top hits in relevance or date order after a cursor.
//!
//! The index is derived state: deleting `search/` loses nothing; it is rebuilt at the next start.

pub mod analysis;
pub mod collector;
pub mod index;
pub mod indexer;
pub mod query;
pub mod schema;
pub mod snippet;
pub mod source;

pub use collector::SortOrder;
pub use index::{CursorPins, SearchFilters, SearchHit, SearchRequest, SearchResults, Snapshot};
pub use indexer::{IndexerHandle, Progress, RebuildReport, SearchIndex, SearchSettings};
pub use snippet::Snippet;

use registratur_records::repo::RecordsError;

/// Errors of the search index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the query cannot be read {0}")]
    BadQuery(query::QueryError),
    #[error("{0}")]
    BadCursor(collector::CursorError),
    #[error(
        "the cursor has expired (a relevance cursor lasts {minutes} minutes after its last use, or less \
         when very many searches page at once); search again without a cursor"
    )]
    CursorExpired { minutes: u64 },
    #[error(
        "the search index is being built ({} of about {} Dokumente); try again shortly",
        .0.done,
        .0.total
    )]
    Building(Progress),
    #[error("a reindex is already running; wait for it to finish")]
    RebuildRunning,
    #[error("the search index is damaged: {0}; rebuild it with `registratur reindex`")]
    Corrupt(schema::IndexDocumentError),
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index: {context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    Meta(#[from] registratur_storage::meta::MetaError),
}

impl SearchError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> SearchError {
        let context = context.into();
        move |source| SearchError::Io { context, source }
    }
}
