//! The archivists' use cases for format migration: census, jobs (dry run or migration) with
//! pause/resume/cancel, progress, reports, and the policy in force. Archivists and admins only.

use std::time::Duration;

use super::records::require_role;
use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};
use registratur_migrate::{
    CensusRow, Control, Item, Job, JobMode, JobState, MigrationError, PolicyId, Progress, Scope,
};
use registratur_records::aktenzeichen::AktenplanKey;
use registratur_records::repo::AkteRef;

const ARCHIVISTS: &[Role] = &[Role::Archivist, Role::Admin];

/// Report lines per page when the caller names no limit, and the most a page may have.
pub const DEFAULT_REPORT_PAGE: usize = 100;
pub const MAX_REPORT_PAGE: usize = 1000;
/// How often a watch looks at a job's progress.
const WATCH_POLL: Duration = Duration::from_millis(250);

/// Which Dokumente a census or job covers, as a caller names them.
#[derive(Clone, Debug, Default)]
pub struct ScopeRequest {
    /// An Aktenplan unit: its subtree.
    pub unit: Option<String>,
    /// One Akte by Aktenzeichen.
    pub aktenzeichen: Option<String>,
}

/// A job with its progress as a caller sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobView {
    pub job: Job,
    pub progress: Progress,
}

/// The policy jobs follow now.
#[derive(Clone, Debug)]
pub struct PolicyView {
    pub id: PolicyId,
    pub text: String,
}

impl From<MigrationError> for ServiceError {
    fn from(error: MigrationError) -> Self {
        match error {
            MigrationError::JobNotFound(_) => ServiceError::NotFound(error.to_string()),
            MigrationError::JobFinished { .. } | MigrationError::DryRun { .. } => {
                ServiceError::FailedPrecondition(error.to_string())
            }
            MigrationError::InvalidScope(_) => ServiceError::InvalidArgument(error.to_string()),
            MigrationError::Records(error) => ServiceError::Records(error),
        }
    }
}

impl Engine {
    fn scope(&self, request: ScopeRequest) -> Result<Scope, ServiceError> {
        let unit = request.unit.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
        let aktenzeichen = request.aktenzeichen.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        if unit.is_some() && aktenzeichen.is_some() {
            return Err(ServiceError::InvalidArgument(
                "name either an Aktenplan unit or an Aktenzeichen, not both".into(),
            ));
        }
        if let Some(unit) = &unit {
            let key = AktenplanKey::parse(unit)
                .map_err(|e| ServiceError::InvalidArgument(format!("Aktenplan unit {unit:?}: {e}")))?;
            let known = self.records().aktenplan()?.is_some_and(|(_, plan)| plan.unit(&key).is_some());
            if !known {
                return Err(ServiceError::Records(registratur_records::repo::RecordsError::UnknownUnit(
                    unit.clone(),
                )));
            }
        }
        let akte = aktenzeichen.map(|az| self.records().akte(&AkteRef::Aktenzeichen(az))).transpose()?;
        Ok(Scope { unit, akte_id: akte.as_ref().map(|a| a.id), aktenzeichen: akte.map(|a| a.aktenzeichen) })
    }

    fn view(&self, id: u64) -> Result<JobView, ServiceError> {
        let runner = &self.inner.migration;
        let job = runner.repo().job(id)?;
        let mut progress = runner.repo().progress(id)?;
        if progress.state == JobState::Running && runner.is_throttled() {
            progress.state = JobState::Throttled;
        }
        // Resumed but not yet taken up again: the job waits for the worker, it is no longer paused.
        if progress.state == JobState::Paused && job.control == Control::Run {
            progress.state = JobState::Queued;
        }
        Ok(JobView { job, progress })
    }

    /// Counts and bytes per format of every newest Version in scope, per Aktenplan subtree.
    pub async fn census(
        &self,
        principal: &Principal,
        scope: ScopeRequest,
    ) -> Result<Vec<CensusRow>, ServiceError> {
        require_role(principal, ARCHIVISTS, "take a format census")?;
        let actor = principal.name.clone();
        self.blocking(move |engine| {
            let scope = engine.scope(scope)?;
            Ok(engine.inner.migration.census(&actor, &scope)?)
        })
        .await
    }

    /// Queues a job: a dry run (`Plan`) or a migration.
    pub async fn start_job(
        &self,
        principal: &Principal,
        mode: JobMode,
        scope: ScopeRequest,
    ) -> Result<JobView, ServiceError> {
        require_role(principal, ARCHIVISTS, "start a migration job")?;
        let actor = principal.name.clone();
        self.blocking(move |engine| {
            let scope = engine.scope(scope)?;
            let runner = &engine.inner.migration;
            let job = runner.repo().create_job(&actor, mode, scope, runner.policy().id.clone())?;
            tracing::info!(job = job.id, by = %actor, mode = ?mode, scope = %job.scope.describe(), "migration job queued");
            engine.view(job.id)
        })
        .await
    }

    pub async fn job(&self, principal: &Principal, id: u64) -> Result<JobView, ServiceError> {
        require_role(principal, ARCHIVISTS, "read migration jobs")?;
        self.blocking(move |engine| engine.view(id)).await
    }

    /// Every job, newest first.
    pub async fn jobs(&self, principal: &Principal) -> Result<Vec<JobView>, ServiceError> {
        require_role(principal, ARCHIVISTS, "read migration jobs")?;
        self.blocking(move |engine| {
            let mut views = Vec::new();
            for (job, _) in engine.inner.migration.repo().jobs()?.into_iter().rev() {
                views.push(engine.view(job.id)?);
            }
            Ok(views)
        })
        .await
    }

    /// Pauses, resumes or cancels a job; the worker follows before its next few Dokumente.
    pub async fn control_job(
        &self,
        principal: &Principal,
        id: u64,
        control: Control,
    ) -> Result<JobView, ServiceError> {
        require_role(principal, ARCHIVISTS, "pause, resume or cancel migration jobs")?;
        let actor = principal.name.clone();
        self.blocking(move |engine| {
            engine.inner.migration.repo().set_control(&actor, id, control)?;
            engine.view(id)
        })
        .await
    }

    /// The job's items for Dokumente above `after`; `limit` 0 means the default page.
    pub async fn job_items(
        &self,
        principal: &Principal,
        id: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Item>, ServiceError> {
        require_role(principal, ARCHIVISTS, "read migration reports")?;
        if limit > MAX_REPORT_PAGE {
            return Err(ServiceError::InvalidArgument(format!(
                "limit {limit} is above {MAX_REPORT_PAGE}; page with `after` instead"
            )));
        }
        let limit = if limit == 0 { DEFAULT_REPORT_PAGE } else { limit };
        self.blocking(move |engine| {
            engine.inner.migration.repo().job(id)?;
            Ok(engine.inner.migration.repo().items(id, after, limit)?)
        })
        .await
    }

    /// The job's state now and at every change until it finishes (or the receiver is dropped).
    pub async fn watch_job(
        &self,
        principal: &Principal,
        id: u64,
    ) -> Result<tokio::sync::mpsc::Receiver<Result<JobView, ServiceError>>, ServiceError> {
        let first = self.job(principal, id).await?;
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let engine = self.clone();
        tokio::spawn(async move {
            let mut last = first;
            if sender.send(Ok(last.clone())).await.is_err() {
                return;
            }
            while !last.progress.state.is_finished() {
                tokio::time::sleep(WATCH_POLL).await;
                let now = match engine.blocking(move |engine| engine.view(id)).await {
                    Ok(view) => view,
                    Err(error) => {
                        let _ = sender.send(Err(error)).await;
                        return;
                    }
                };
                if now != last {
                    last = now;
                    if sender.send(Ok(last.clone())).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(receiver)
    }

    pub async fn migration_policy(&self, principal: &Principal) -> Result<PolicyView, ServiceError> {
        require_role(principal, ARCHIVISTS, "read the format policy")?;
        let policy = self.inner.migration.policy();
        Ok(PolicyView { id: policy.id.clone(), text: policy.text.clone() })
    }
}
