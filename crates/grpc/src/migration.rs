//! Handlers of `registratur.v1.MigrationService`: decode → call the engine → encode → map the error.

use tonic::{Request, Response, Status};

use super::auth::principal;
use super::convert;
use super::pb::{self, migration_service_server::MigrationService};
use super::status::to_status;
use super::stream::ResponseStream;
use registratur_migrate::Control;
use registratur_service::Engine;

pub(crate) struct MigrationHandlers {
    pub(crate) engine: Engine,
}

impl MigrationHandlers {
    async fn control(
        &self,
        request: Request<pb::GetJobRequest>,
        control: Control,
    ) -> Result<Response<pb::MigrationJob>, Status> {
        let principal = principal(&request)?.clone();
        let id = request.into_inner().job_id;
        let view = self.engine.control_job(&principal, id, control).await.map_err(to_status)?;
        Ok(Response::new(convert::migration_job(&view)))
    }
}

#[tonic::async_trait]
impl MigrationService for MigrationHandlers {
    async fn census(
        &self,
        request: Request<pb::CensusRequest>,
    ) -> Result<Response<pb::CensusResponse>, Status> {
        let principal = principal(&request)?.clone();
        let scope = convert::migration_scope(request.into_inner().scope);
        let rows = self.engine.census(&principal, scope).await.map_err(to_status)?;
        Ok(Response::new(pb::CensusResponse { rows: rows.iter().map(convert::census_row).collect() }))
    }

    async fn start_job(
        &self,
        request: Request<pb::StartJobRequest>,
    ) -> Result<Response<pb::MigrationJob>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let mode = convert::job_mode(request.mode).map_err(to_status)?;
        let scope = convert::migration_scope(request.scope);
        let view = self.engine.start_job(&principal, mode, scope).await.map_err(to_status)?;
        Ok(Response::new(convert::migration_job(&view)))
    }

    async fn get_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::MigrationJob>, Status> {
        let principal = principal(&request)?.clone();
        let view = self.engine.job(&principal, request.into_inner().job_id).await.map_err(to_status)?;
        Ok(Response::new(convert::migration_job(&view)))
    }

    async fn list_jobs(
        &self,
        request: Request<pb::ListJobsRequest>,
    ) -> Result<Response<pb::ListJobsResponse>, Status> {
        let principal = principal(&request)?.clone();
        let views = self.engine.jobs(&principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ListJobsResponse { jobs: views.iter().map(convert::migration_job).collect() }))
    }

    type WatchJobStream = ResponseStream<pb::MigrationJob>;

    async fn watch_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        let principal = principal(&request)?.clone();
        let receiver =
            self.engine.watch_job(&principal, request.into_inner().job_id).await.map_err(to_status)?;
        let stream =
            tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(receiver), |view| {
                view.map(|view| convert::migration_job(&view)).map_err(to_status)
            });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn pause_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::MigrationJob>, Status> {
        self.control(request, Control::Pause).await
    }

    async fn resume_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::MigrationJob>, Status> {
        self.control(request, Control::Run).await
    }

    async fn cancel_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::MigrationJob>, Status> {
        self.control(request, Control::Cancel).await
    }

    async fn get_job_report(
        &self,
        request: Request<pb::GetJobReportRequest>,
    ) -> Result<Response<pb::GetJobReportResponse>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let limit = request.limit as usize;
        let items = self
            .engine
            .job_items(&principal, request.job_id, request.after_dokument_id, limit)
            .await
            .map_err(to_status)?;
        let full = items.len() == if limit == 0 { registratur_service::DEFAULT_REPORT_PAGE } else { limit };
        let next_after = if full { items.last().map_or(0, |item| item.dokument_id) } else { 0 };
        Ok(Response::new(pb::GetJobReportResponse {
            items: items.iter().map(convert::migration_item).collect(),
            next_after,
        }))
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::MigrationPolicy>, Status> {
        let principal = principal(&request)?.clone();
        let policy = self.engine.migration_policy(&principal).await.map_err(to_status)?;
        Ok(Response::new(pb::MigrationPolicy {
            name: policy.id.name,
            version: policy.id.version,
            sha256: policy.id.sha256,
            toml: policy.text,
        }))
    }
}
