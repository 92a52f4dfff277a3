//! Handlers of `registratur.v1.AdminService`: store status, raw blobs, journal verification, fixity
//! scrubs and the quarantine, and history exports for audits.

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::auth::principal;
use super::convert;
use super::pb::{self, admin_service_server::AdminService};
use super::status::to_status;
use super::stream::{ResponseStream, UploadMessage, download_stream, feed_upload};
use registratur_service::{Engine, ScrubEvent, ServiceError};

pub(crate) struct AdminHandlers {
    pub(crate) engine: Engine,
}

#[tonic::async_trait]
impl AdminService for AdminHandlers {
    async fn get_status(
        &self,
        request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        let report = self.engine.status(&principal(&request)?).await.map_err(to_status)?;
        Ok(Response::new(pb::GetStatusResponse {
            version: report.version,
            data_dir: report.data_dir.display().to_string(),
            blob_count: report.blob_count,
            blob_bytes: report.blob_bytes,
            journal_length: report.journal_length,
            journal_head: report.journal_head.unwrap_or_default(),
        }))
    }

    async fn put_blob(
        &self,
        request: Request<Streaming<pb::PutBlobRequest>>,
    ) -> Result<Response<pb::PutBlobResponse>, Status> {
        let principal = principal(&request)?;
        let mut messages = request.into_inner();
        let first = messages.message().await?.ok_or_else(|| {
            to_status(ServiceError::InvalidArgument(
                "empty request stream: send at least one PutBlobRequest".into(),
            ))
        })?;
        let upload = self.engine.begin_blob_upload(&principal, &first.note).map_err(to_status)?;
        let stored = feed_upload(first, &mut messages, upload).await?;
        Ok(Response::new(pb::PutBlobResponse {
            digest: Some(convert::digest(&stored.digest)),
            newly_stored: stored.newly_stored,
            journal_seq: stored.journal_seq,
        }))
    }

    type GetBlobStream = ResponseStream<pb::GetBlobResponse>;

    async fn get_blob(
        &self,
        request: Request<pb::GetBlobRequest>,
    ) -> Result<Response<Self::GetBlobStream>, Status> {
        let principal = principal(&request)?;
        let download =
            self.engine.download_blob(&principal, &request.get_ref().blake3).await.map_err(to_status)?;
        let header = convert::digest(&download.digest);
        let stream = download_stream(download, header, |digest, chunk| pb::GetBlobResponse { digest, chunk });
        Ok(Response::new(stream))
    }

    async fn verify_journal(
        &self,
        request: Request<pb::VerifyJournalRequest>,
    ) -> Result<Response<pb::VerifyJournalResponse>, Status> {
        let check = self.engine.verify_journal(&principal(&request)?).await.map_err(to_status)?;
        let (broken_seq, problem) = check.first_break.clone().unwrap_or_default();
        Ok(Response::new(pb::VerifyJournalResponse {
            entries_checked: check.entries_checked,
            intact: check.first_break.is_none(),
            broken_seq,
            problem,
        }))
    }

    type CheckFixityStream = ResponseStream<pb::CheckFixityEvent>;

    async fn check_fixity(
        &self,
        request: Request<pb::CheckFixityRequest>,
    ) -> Result<Response<Self::CheckFixityStream>, Status> {
        let events = self.engine.run_scrub(&principal(&request)?).await.map_err(to_status)?;
        let stream = tokio_stream::wrappers::ReceiverStream::new(events).map(|event| {
            let event = match event.map_err(to_status)? {
                ScrubEvent::Progress(progress) => {
                    pb::check_fixity_event::Event::Progress(convert::scrub_progress(&progress))
                }
                ScrubEvent::Done(report) => {
                    pb::check_fixity_event::Event::Done(convert::scrub_report(&report))
                }
            };
            Ok(pb::CheckFixityEvent { event: Some(event) })
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_last_scrub(
        &self,
        request: Request<pb::GetLastScrubRequest>,
    ) -> Result<Response<pb::GetLastScrubResponse>, Status> {
        let report = self.engine.last_scrub(&principal(&request)?).await.map_err(to_status)?;
        Ok(Response::new(pb::GetLastScrubResponse { report: report.as_ref().map(convert::scrub_report) }))
    }

    async fn list_quarantine(
        &self,
        request: Request<pb::ListQuarantineRequest>,
    ) -> Result<Response<pb::ListQuarantineResponse>, Status> {
        let entries = self.engine.quarantine(&principal(&request)?).await.map_err(to_status)?;
        Ok(Response::new(pb::ListQuarantineResponse {
            blobs: entries.iter().map(convert::quarantined_blob).collect(),
        }))
    }

    async fn export_document_history(
        &self,
        request: Request<pb::ExportDocumentHistoryRequest>,
    ) -> Result<Response<pb::ExportDocumentHistoryResponse>, Status> {
        let principal = principal(&request)?;
        let export =
            self.engine.export_history(&principal, request.get_ref().document_id).await.map_err(to_status)?;
        Ok(Response::new(pb::ExportDocumentHistoryResponse { json: export.to_json() }))
    }
}

impl UploadMessage for pb::PutBlobRequest {
    fn into_chunk(self) -> (Vec<u8>, bool) {
        (self.chunk, self.last)
    }
}
