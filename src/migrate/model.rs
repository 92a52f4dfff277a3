//! Migration jobs as they are stored: the job an archivist started (with the control state they set),
//! its progress (written only by the worker), and one item per Dokument the job looked at.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::policy::PolicyId;
use super::tools::{Failure, Identification, Target};

/// A dry run (plan) or a real migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobMode {
    /// Identify and look, change nothing: what would be migrated, how many bytes, which failures.
    Plan,
    Migrate,
}

/// Which Dokumente a job covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// An Aktenplan subtree (the unit and everything below it); `None` with no Akte means everything.
    pub unit: Option<String>,
    /// One Akte by id, and its Aktenzeichen for reports.
    pub akte_id: Option<u64>,
    pub aktenzeichen: Option<String>,
}

impl Scope {
    pub fn describe(&self) -> String {
        match (&self.unit, self.akte_id) {
            (_, Some(akte)) => {
                format!("Akte {}", self.aktenzeichen.clone().unwrap_or_else(|| akte.to_string()))
            }
            (Some(unit), None) => format!("Aktenplan subtree {unit}"),
            (None, None) => "all Akten".into(),
        }
    }
}

/// What the archivist asked for last; the worker follows between Dokumente.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    Run,
    Pause,
    Cancel,
}

/// A job as started. Written at creation and by pause/resume/cancel (each a journaled change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub mode: JobMode,
    pub scope: Scope,
    pub policy: PolicyId,
    pub control: Control,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for the worker (another job runs, or the server has not got to it yet).
    Queued,
    Running,
    /// Running slowly because the mailroom is busy: migration never holds up ingest.
    Throttled,
    Paused,
    Cancelled,
    Done,
}

impl JobState {
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Cancelled | JobState::Done)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Throttled => "throttled",
            JobState::Paused => "paused",
            JobState::Cancelled => "cancelled",
            JobState::Done => "done",
        }
    }
}

/// Counts per outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Dokumente looked at.
    pub examined: u64,
    /// Kept by the policy (already archival, or a format that stays).
    pub kept: u64,
    /// Migrated (Migrate) or would be migrated (Plan).
    pub migrated: u64,
    /// Reported for a human: flagged by the policy or needing a decision.
    pub flagged: u64,
    /// Could not be migrated (corrupt, encrypted, unsupported, failed validation).
    pub failed: u64,
    /// Bytes of the sources migrated (or to migrate).
    pub source_bytes: u64,
    /// Bytes of the outputs written (Migrate only).
    pub output_bytes: u64,
}

/// A job's progress. Only the worker writes it, in the same transaction as the items it counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub state: JobState,
    /// Every Dokument with an id up to here has its item.
    pub cursor: u64,
    /// Dokumente in scope when the job started (for the progress bar; new arrivals may add a few).
    pub total: Option<u64>,
    pub counts: Counts,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Progress {
    pub fn queued(now: DateTime<Utc>) -> Self {
        Self {
            state: JobState::Queued,
            cursor: 0,
            total: None,
            counts: Counts::default(),
            started_at: None,
            updated_at: now,
            finished_at: None,
        }
    }
}

/// What a job did with one Dokument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The policy keeps this format.
    Kept,
    /// A dry run found it would be migrated.
    WouldMigrate {
        target: Target,
        pages: u32,
    },
    /// Migrated: the new Version and its bytes.
    Migrated {
        target: Target,
        new_version: u32,
        blake3: String,
        sha256: String,
        size: u64,
        pages: u32,
    },
    /// The policy flags the format for a human.
    Flagged {
        reason: String,
    },
    Failed {
        failure: Failure,
    },
}

/// One Dokument in a job's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub dokument_id: u64,
    /// The Version the job looked at.
    pub version: u32,
    pub source_blake3: String,
    pub source_size: u64,
    pub identification: Identification,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Counts {
    pub fn count(&mut self, item: &Item) {
        self.examined += 1;
        match &item.outcome {
            Outcome::Kept => self.kept += 1,
            Outcome::WouldMigrate { .. } => {
                self.migrated += 1;
                self.source_bytes += item.source_size;
            }
            Outcome::Migrated { size, .. } => {
                self.migrated += 1;
                self.source_bytes += item.source_size;
                self.output_bytes += size;
            }
            Outcome::Flagged { .. } | Outcome::Failed { failure: Failure::NeedsHuman(_) } => {
                self.flagged += 1
            }
            Outcome::Failed { .. } => self.failed += 1,
        }
    }
}

/// Counts and bytes of one format inside one Aktenplan subtree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CensusRow {
    /// The Aktenplan unit whose subtree is counted; empty for the grand total.
    pub unit: String,
    pub puid: String,
    pub name: String,
    pub version: String,
    pub dokumente: u64,
    pub bytes: u64,
}
