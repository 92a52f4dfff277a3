//! Migration jobs, their progress and items, and the identification cache, in the store.
//!
//! Keys in the `records` column family: `mig/job/<id>` (the job and its control state, written when
//! it is created, paused, resumed or cancelled), `mig/progress/<id>` (written only by the worker, in
//! the same transaction as the items it counts) and `mig/item/<id>/<dokument>`. In `index`:
//! `ident/<blake3>`, the identification of a blob's bytes by the current tool version (bytes never
//! change, so neither does their format). Ids are big-endian so keys sort in id order.

use std::ops::ControlFlow;

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;

use registratur_storage::meta::{Cf, MetaError, Txn};
use registratur_storage::{Store, StoreError};

use super::model::{Control, Item, Job, JobMode, JobState, Progress, Scope};
use super::policy::PolicyId;
use super::tools::Identification;
use crate::records::repo::{RecordsError, load_json, visit_json};

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

fn job_key(id: u64) -> Vec<u8> {
    [b"mig/job/".as_slice(), &id.to_be_bytes()].concat()
}

pub(super) fn progress_key(id: u64) -> Vec<u8> {
    [b"mig/progress/".as_slice(), &id.to_be_bytes()].concat()
}

fn items_prefix(job: u64) -> Vec<u8> {
    [b"mig/item/".as_slice(), &job.to_be_bytes(), b"/"].concat()
}

pub(super) fn item_key(job: u64, dokument: u64) -> Vec<u8> {
    [items_prefix(job), dokument.to_be_bytes().to_vec()].concat()
}

fn ident_key(blake3: &str) -> Vec<u8> {
    format!("ident/{blake3}").into_bytes()
}

pub(super) fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("migration records serialise to JSON")
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

    fn load<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<(T, Vec<u8>)>, MigrationError> {
        Ok(load_json(&self.store, key)?)
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
            let last = self.store.meta().last_key_with_prefix(Cf::Records, b"mig/job/")?;
            let id = last
                .and_then(|key| key.get(8..16).and_then(|b| <[u8; 8]>::try_from(b).ok()))
                .map_or(1, |b| u64::from_be_bytes(b) + 1);
            let now = Utc::now();
            let job = Job {
                id,
                mode,
                scope: scope.clone(),
                policy: policy.clone(),
                control: Control::Run,
                created_by: actor.to_string(),
                created_at: now,
            };
            let mut txn = Txn::new(actor, "migration.job.create", json(&job));
            txn.require_absent(Cf::Records, job_key(id)).put(Cf::Records, job_key(id), json(&job)).put(
                Cf::Records,
                progress_key(id),
                json(&Progress::queued(now)),
            );
            match self.store.meta().commit(txn) {
                Ok(_) => return Ok(job),
                // Another job took the id meanwhile: take the next.
                Err(MetaError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    pub fn job(&self, id: u64) -> Result<Job, MigrationError> {
        Ok(self.load::<Job>(&job_key(id))?.ok_or(MigrationError::JobNotFound(id))?.0)
    }

    pub fn progress(&self, id: u64) -> Result<Progress, MigrationError> {
        Ok(self.progress_with_bytes(id)?.0)
    }

    pub(super) fn progress_with_bytes(&self, id: u64) -> Result<(Progress, Vec<u8>), MigrationError> {
        self.load::<Progress>(&progress_key(id))?.ok_or(MigrationError::JobNotFound(id))
    }

    /// Every job with its progress, oldest first.
    pub fn jobs(&self) -> Result<Vec<(Job, Progress)>, MigrationError> {
        let mut out = Vec::new();
        for (_, value) in self.store.meta().scan_prefix(Cf::Records, b"mig/job/")? {
            let job: Job = serde_json::from_slice(&value)
                .map_err(|e| RecordsError::Undecodable {
                    key: "mig/job/…".into(), reason: e.to_string()
                })?;
            let progress = self.progress(job.id)?;
            out.push((job, progress));
        }
        Ok(out)
    }

    /// Sets what the archivist wants of a job (pause, resume, cancel), as a journaled change.
    pub fn set_control(&self, actor: &str, id: u64, control: Control) -> Result<Job, MigrationError> {
        for _ in 0..16 {
            let (mut job, bytes) = self.load::<Job>(&job_key(id))?.ok_or(MigrationError::JobNotFound(id))?;
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
            txn.require_value(Cf::Records, job_key(id), Some(bytes)).put(
                Cf::Records,
                job_key(id),
                json(&job),
            );
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
        Ok(self.store.meta().get(Cf::Records, &item_key(job, dokument))?.is_some())
    }

    /// The job's items for Dokumente above `after`, in Dokument order, at most `limit`.
    pub fn items(&self, job: u64, after: u64, limit: usize) -> Result<Vec<Item>, MigrationError> {
        let mut out = Vec::new();
        visit_json(&self.store, &items_prefix(job), Some(&item_key(job, after)), |item| {
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
        let Some(bytes) = self.store.meta().get(Cf::Index, &ident_key(blake3))? else { return Ok(None) };
        let cached: Option<Identification> = serde_json::from_slice(&bytes).ok();
        Ok(cached.filter(|ident| ident.tool_version == tool_version))
    }

    /// Adds the cache entry for an identification to `txn`.
    pub fn cache_identification(txn: &mut Txn, blake3: &str, identification: &Identification) {
        txn.put(Cf::Index, ident_key(blake3), json(identification));
    }

    /// Commits a change of the worker's: `progress` replaces the stored one it was computed from.
    pub(super) fn write_progress(txn: &mut Txn, job: u64, progress: &Progress) {
        let mut progress = progress.clone();
        progress.updated_at = Utc::now();
        txn.put(Cf::Records, progress_key(job), json(&progress));
    }

    pub(super) fn put_item(txn: &mut Txn, job: u64, item: &Item) {
        txn.put(Cf::Records, item_key(job, item.dokument_id), json(item));
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
        let now = Utc::now();
        progress.state = state;
        if state == JobState::Running && progress.started_at.is_none() {
            progress.started_at = Some(now);
        }
        if state.is_finished() {
            progress.finished_at = Some(now);
        }
        let payload = serde_json::json!({ "job": id, "state": state.as_str(), "counts": progress.counts });
        let mut txn = Txn::new(actor, format!("migration.job.{}", state.as_str()), payload.to_string());
        Self::write_progress(&mut txn, id, &progress);
        self.store.meta().commit(txn)?;
        Ok(progress)
    }
}
