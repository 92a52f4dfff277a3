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

/// How an item is reported and counted: the one classification behind both the job's counters and
/// the outcome each report line names, so that the two always agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    Kept,
    WouldMigrate,
    Migrated,
    /// For a human: the policy flags the format, or the content needs a decision (a CMYK image, an
    /// animation, a PDF with fonts that are not embedded).
    Flagged,
    /// Could not be migrated: damaged, encrypted, unsupported, failed validation.
    Failed,
}

impl OutcomeKind {
    /// The name reports use (`kept`, `would_migrate`, `migrated`, `flagged`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Kept => "kept",
            OutcomeKind::WouldMigrate => "would_migrate",
            OutcomeKind::Migrated => "migrated",
            OutcomeKind::Flagged => "flagged",
            OutcomeKind::Failed => "failed",
        }
    }
}

impl Outcome {
    /// How this outcome is reported and counted. Items stored as `failed` with a `needs_human`
    /// failure (every release so far writes them so) are flagged: a person must decide.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Kept => OutcomeKind::Kept,
            Outcome::WouldMigrate { .. } => OutcomeKind::WouldMigrate,
            Outcome::Migrated { .. } => OutcomeKind::Migrated,
            Outcome::Flagged { .. } | Outcome::Failed { failure: Failure::NeedsHuman(_) } => {
                OutcomeKind::Flagged
            }
            Outcome::Failed { .. } => OutcomeKind::Failed,
        }
    }

    /// Why the item was flagged or failed; empty for the other outcomes.
    pub fn reason(&self) -> String {
        match self {
            Outcome::Flagged { reason } => reason.clone(),
            Outcome::Failed { failure } => failure.to_string(),
            Outcome::Kept | Outcome::WouldMigrate { .. } | Outcome::Migrated { .. } => String::new(),
        }
    }
}

impl Counts {
    /// Counts `item` under its [`Outcome::kind`].
    pub fn count(&mut self, item: &Item) {
        self.examined += 1;
        match item.outcome.kind() {
            OutcomeKind::Kept => self.kept += 1,
            OutcomeKind::WouldMigrate | OutcomeKind::Migrated => {
                self.migrated += 1;
                self.source_bytes += item.source_size;
            }
            OutcomeKind::Flagged => self.flagged += 1,
            OutcomeKind::Failed => self.failed += 1,
        }
        if let Outcome::Migrated { size, .. } = &item.outcome {
            self.output_bytes += size;
        }
    }

    /// The counter an outcome of `kind` is counted in.
    pub fn of(&self, kind: OutcomeKind) -> u64 {
        match kind {
            OutcomeKind::Kept => self.kept,
            OutcomeKind::WouldMigrate | OutcomeKind::Migrated => self.migrated,
            OutcomeKind::Flagged => self.flagged,
            OutcomeKind::Failed => self.failed,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Target;

    fn item(outcome: Outcome) -> Item {
        Item {
            dokument_id: 1,
            version: 1,
            source_blake3: "00".repeat(32),
            source_size: 10,
            identification: Identification {
                puid: "fmt/4".into(),
                name: "Graphics Interchange Format".into(),
                version: "89a".into(),
                tool: String::new(),
                tool_version: String::new(),
            },
            outcome,
        }
    }

    /// Every outcome is counted in the counter its report name stands for: a Dokument that needs a
    /// human decision is flagged in both.
    #[test]
    fn counters_and_report_names_come_from_one_classification() {
        let outcomes = [
            (Outcome::Kept, "kept"),
            (Outcome::WouldMigrate { target: Target::PdfA2b, pages: 1 }, "would_migrate"),
            (
                Outcome::Migrated {
                    target: Target::PdfA2b,
                    new_version: 2,
                    blake3: String::new(),
                    sha256: String::new(),
                    size: 7,
                    pages: 1,
                },
                "migrated",
            ),
            (Outcome::Flagged { reason: "unknown format".into() }, "flagged"),
            (Outcome::Failed { failure: Failure::NeedsHuman("the GIF is an animation".into()) }, "flagged"),
            (Outcome::Failed { failure: Failure::Corrupt("truncated".into()) }, "failed"),
            (Outcome::Failed { failure: Failure::Encrypted }, "failed"),
        ];
        for (outcome, name) in outcomes {
            let kind = outcome.kind();
            assert_eq!(kind.as_str(), name, "{outcome:?}");
            let mut counts = Counts::default();
            counts.count(&item(outcome.clone()));
            assert_eq!((counts.examined, counts.of(kind)), (1, 1), "{outcome:?}");
            let counted = counts.kept + counts.migrated + counts.flagged + counts.failed;
            assert_eq!(counted, 1, "counted once: {outcome:?}");
        }
        let needs_human = Outcome::Failed { failure: Failure::NeedsHuman("CMYK".into()) };
        assert!(needs_human.reason().contains("needs a human decision: CMYK"), "{}", needs_human.reason());
    }

    /// Items written by earlier releases keep their spelling and decode unchanged.
    #[test]
    fn stored_needs_human_items_still_decode_and_count_as_flagged() {
        let stored = item(Outcome::Failed { failure: Failure::NeedsHuman("CMYK".into()) });
        let json = serde_json::to_string(&stored).unwrap();
        assert!(json.contains(r#""outcome":"failed""#) && json.contains(r#""kind":"needs_human""#), "{json}");
        let back: Item = serde_json::from_str(&json).unwrap();
        assert_eq!(back.outcome.kind(), OutcomeKind::Flagged);
    }
}
