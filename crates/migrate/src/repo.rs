//! Migration jobs, their progress and items, and the identification cache, in the tables of `tables`.

use std::ops::ControlFlow;

use registratur_storage::meta::{Cf, MetaError, Txn};
use registratur_storage::{Store, StoreError};

use super::model::{Control, Item, Job, JobMode, JobState, Progress, Scope};
use super::policy::PolicyId;
use super::tables::{IDENTIFICATIONS, ITEMS, JOBS, PROGRESS};
use super::tools::Identification;
use registratur_records::repo::RecordsError;

/// Why a migration request failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("migration job {0} not found; list jobs with `registratur migrate list`")]
    JobNotFound(u64),
    #[error("migration job {id} is {state}; nothing can be changed any more (start a new job instead)")]
    JobFinished { id: u64, state: &'static str },
    #[error("migration job {id} is a dry run; start a migration job to change anything")]
    DryRun { id: u64 },
    #[error("Aktenplan unit {0:?} is not a valid key; use the form of the Aktenplan, e.g. 32.10")]
    InvalidScope(String),
    #[error(transparent)]
    Records(#[from] RecordsError),
}

impl From<MetaError> for MigrationError {
    fn from(error: MetaError) -> Self {
        MigrationError::Records(error.into())
    }
}

impl From<StoreError> for MigrationError {
    fn from(error: StoreError) -> Self {
        MigrationError::Records(error.into())
    }
}

/// The migration tables of one store.
#[derive(Clone)]
pub struct MigrationRepo {
    store: Store,
}

impl MigrationRepo {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records a new job, queued for the worker.
    pub fn create_job(
        &self,
        actor: &str,
        mode: JobMode,
        scope: Scope,
        policy: PolicyId,
    ) -> Result<Job, MigrationError> {
        loop {
            let last = self.store.meta().last_key_with_prefix(Cf::Records, JOBS.prefix())?;
            let id = last.and_then(|key| JOBS.decode_key(&key)).map_or(1, |last| last + 1);
            let now = self.store.clock().now();
            let job = Job {
                id,
                mode,
                scope: scope.clone(),
                policy: policy.clone(),
                control: Control::Run,
                created_by: actor.to_string(),
                created_at: now,
            };
            // The journal payload is the job as JSON, as it always was (no version header: the journal is
            // read by outsiders and never rewritten).
            let payload = serde_json::to_vec(&job).map_err(|e| RecordsError::Invalid(e.to_string()))?;
            let mut txn = Txn::new(actor, "migration.job.create", payload);
            JOBS.require_absent(&mut txn, &id);
            JOBS.put(&mut txn, &id, &job);
            PROGRESS.put(&mut txn, &id, &Progress::queued(now));
            match self.store.meta().commit(txn) {
                Ok(_) => return Ok(job),
                // Another job took the id meanwhile: take the next.
                Err(MetaError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    pub fn job(&self, id: u64) -> Result<Job, MigrationError> {
        JOBS.get(self.store.meta(), &id)?.ok_or(MigrationError::JobNotFound(id))
    }

    pub fn progress(&self, id: u64) -> Result<Progress, MigrationError> {
        Ok(self.progress_with_bytes(id)?.0)
    }

    pub(super) fn progress_with_bytes(&self, id: u64) -> Result<(Progress, Vec<u8>), MigrationError> {
        PROGRESS.get_with_bytes(self.store.meta(), &id)?.ok_or(MigrationError::JobNotFound(id))
    }

    /// Every job with its progress, oldest first.
    pub fn jobs(&self) -> Result<Vec<(Job, Progress)>, MigrationError> {
        let mut out = Vec::new();
        for (_, job) in JOBS.scan(self.store.meta(), b"")? {
            let progress = self.progress(job.id)?;
            out.push((job, progress));
        }
        Ok(out)
    }

    /// Sets what the archivist wants of a job (pause, resume, cancel), as a journaled change.
    pub fn set_control(&self, actor: &str, id: u64, control: Control) -> Result<Job, MigrationError> {
        for _ in 0..16 {
            let (mut job, bytes) =
                JOBS.get_with_bytes(self.store.meta(), &id)?.ok_or(MigrationError::JobNotFound(id))?;
            let progress = self.progress(id)?;
            if progress.state.is_finished() {
                return Err(MigrationError::JobFinished { id, state: progress.state.as_str() });
            }
            if job.control == control {
                return Ok(job);
            }
            job.control = control;
            let action = match control {
                Control::Run => "migration.job.resume",
                Control::Pause => "migration.job.pause",
                Control::Cancel => "migration.job.cancel",
            };
            let mut txn = Txn::new(actor, action, serde_json::json!({ "job": id }).to_string());
            JOBS.require(&mut txn, &id, Some(bytes));
            JOBS.put(&mut txn, &id, &job);
            match self.store.meta().commit(txn) {
                Ok(_) => return Ok(job),
                Err(MetaError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(RecordsError::Contention(format!("migration job {id}")).into())
    }

    /// Whether the job already has an item for the Dokument (it was done before a restart).
    pub fn has_item(&self, job: u64, dokument: u64) -> Result<bool, MigrationError> {
        Ok(ITEMS.contains(self.store.meta(), &(job, dokument))?)
    }

    /// The job's items for Dokumente above `after`, in Dokument order, at most `limit`.
    pub fn items(&self, job: u64, after: u64, limit: usize) -> Result<Vec<Item>, MigrationError> {
        let mut out = Vec::new();
        let within = [job.to_be_bytes().as_slice(), b"/"].concat();
        ITEMS.visit(self.store.meta(), &within, Some(&ITEMS.key(&(job, after))), |_, _, item| {
            out.push(item);
            if out.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        Ok(out)
    }

    /// The cached identification of a blob's bytes, if made by `tool_version`.
    pub fn identification(
        &self,
        blake3: &str,
        tool_version: &str,
    ) -> Result<Option<Identification>, MigrationError> {
        // A cache entry that does not decode is as good as none: it is made again and replaced.
        let cached = IDENTIFICATIONS.get(self.store.meta(), &blake3.to_string()).ok().flatten();
        Ok(cached.filter(|ident| ident.tool_version == tool_version))
    }

    /// Adds the cache entry for an identification to `txn`.
    pub fn cache_identification(txn: &mut Txn, blake3: &str, identification: &Identification) {
        IDENTIFICATIONS.put(txn, &blake3.to_string(), identification);
    }

    /// Commits a change of the worker's: `progress` replaces the stored one it was computed from.
    pub(super) fn write_progress(&self, txn: &mut Txn, job: u64, progress: &Progress) {
        let mut progress = progress.clone();
        progress.updated_at = self.store.clock().now();
        PROGRESS.put(txn, &job, &progress);
    }

    pub(super) fn put_item(txn: &mut Txn, job: u64, item: &Item) {
        ITEMS.put(txn, &(job, item.dokument_id), item);
    }

    /// Moves a job to `state` (a journaled change of the worker's).
    pub(super) fn set_state(
        &self,
        id: u64,
        state: JobState,
        actor: &str,
    ) -> Result<Progress, MigrationError> {
        let (mut progress, _) = self.progress_with_bytes(id)?;
        if progress.state == state {
            return Ok(progress);
        }
        let now = self.store.clock().now();
        progress.state = state;
        if state == JobState::Running && progress.started_at.is_none() {
            progress.started_at = Some(now);
        }
        if state.is_finished() {
            progress.finished_at = Some(now);
        }
        let payload = serde_json::json!({ "job": id, "state": state.as_str(), "counts": progress.counts });
        let mut txn = Txn::new(actor, format!("migration.job.{}", state.as_str()), payload.to_string());
        self.write_progress(&mut txn, id, &progress);
        self.store.meta().commit(txn)?;
        Ok(progress)
    }
}
