//! Format migration for archivists (EGovG NRW §11): identify the format of every Dokument's newest
//! Version, and carry what the policy says into an archival format as a new Version with a derivation
//! link, validated before it counts. Originals are never touched.
//!
//! - `policy` — the versioned per-PUID rules (keep, migrate to a target, flag for a human).
//! - `tools` — the seam to identification and conversion (`registratur-scan` in the product).
//! - `model` — jobs, their progress and per-Dokument items; census rows.
//! - `repo` — where jobs, items and cached identifications live in the store.
//! - `runner` — a job's walk, window by window, exactly once across crashes; the census.
//! - `worker` — the background thread that runs queued jobs.

pub mod model;
pub mod policy;
pub mod repo;
pub mod runner;
pub mod tables;
pub mod tools;
pub mod worker;

pub use model::{
    CensusRow, Control, Counts, Item, Job, JobMode, JobState, Outcome, OutcomeKind, Progress, Scope,
};
pub use policy::{Action, Policy, PolicyError, PolicyId};
pub use repo::{MigrationError, MigrationRepo};
pub use runner::{MigrationSettings, Runner};
pub use tools::{Failure, Identification, ScanToolchain, Target, Toolchain};
pub use worker::MigrationWorker;

#[cfg(test)]
mod tests;
