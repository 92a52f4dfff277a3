//! Handlers of `registratur.v1.AdminService`: store status, raw blobs, journal and fixity checks.

use tonic::{Request, Response, Status, Streaming};

use super::auth::principal;
use super::convert;
use super::pb::{self, admin_service_server::AdminService};
use super::status::to_status;
use super::stream::{ResponseStream, UploadMessage, download_stream, feed_upload};
use crate::service::Engine;

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
            Status::invalid_argument("empty request stream: send at least one PutBlobRequest")
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

    async fn check_fixity(
        &self,
        request: Request<pb::CheckFixityRequest>,
    ) -> Result<Response<pb::CheckFixityResponse>, Status> {
        let report = self.engine.check_fixity(&principal(&request)?).await.map_err(to_status)?;
        let hex = |hashes: &[registratur_storage::BlobHash]| hashes.iter().map(|h| h.to_hex()).collect();
        Ok(Response::new(pb::CheckFixityResponse {
            blobs_checked: report.blobs_checked,
            bytes_checked: report.bytes_checked,
            missing: hex(&report.missing),
            corrupted: hex(&report.corrupted),
            unreferenced: hex(&report.unreferenced),
        }))
    }
}

impl UploadMessage for pb::PutBlobRequest {
    fn into_chunk(self) -> (Vec<u8>, bool) {
        (self.chunk, self.last)
    }
}
