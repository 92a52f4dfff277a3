//! registratur: an e-Akte engine for German public administration.
//!
//! The binary's crate: the command line (`cli`), the configuration file (`config`) and the HTTP listener
//! for metrics and health (`http`), the mailroom clerk's web page (`web`). The engine itself lives in the crates under `crates/`, one per layer
//! of ARCHITECTURE.md, so that the compiler keeps the arrows between them:
//! `grpc` → `service` → (`mailroom`, `search`, `migrate`) → `records` → `registratur_storage`, with `ops`
//! and `scan` beside them. They are re-exported here under their layer names (`registratur::records`,
//! `registratur::service`, …), the one set of paths the integration tests, benches and examples use.

pub mod cli;
pub mod config;
pub mod http;
pub mod web;

pub use registratur_grpc as grpc;
pub use registratur_mailroom::{ingest, route};
pub use registratur_migrate as migrate;
pub use registratur_ops::{background, metrics, quarantine};
pub use registratur_records as records;
pub use registratur_search as search;
pub use registratur_service as service;
pub use registratur_service::auth;
