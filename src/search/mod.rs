//! Full-text search over all Akten: a tantivy index derived from the store.
//!
//! The index is derived state. It is rebuilt from the records and catches up from the journal; see
//! ARCHITECTURE.md.

pub mod analysis;
pub mod query;
