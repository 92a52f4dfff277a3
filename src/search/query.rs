//! The query language (placeholder).
