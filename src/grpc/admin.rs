//! Handlers of `registratur.v1.AdminService`: store status, raw blobs, journal and fixity checks.

use std::pin::Pin;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::pb::{self, admin_service_server::AdminService};
use super::status::to_status;
use crate::service::{Engine, ServiceError};

pub(crate) struct AdminHandlers {
    pub(crate) engine: Engine,
}

/// The principal recorded in the journal for admin calls until authentication names callers.
const ADMIN_ACTOR: &str = "admin";

fn digest_to_pb(digest: &registratur_storage::BlobDigest) -> pb::BlobDigest {
    pb::BlobDigest {
        blake3: digest.blake3.to_hex(),
        sha256: digest.sha256.to_hex(),
        size: digest.size,
    }
}

#[tonic::async_trait]
impl AdminService for AdminHandlers {
    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        let report = self.engine.status().await.map_err(to_status)?;
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
        let mut messages = request.into_inner();
        let first = messages.message().await?.ok_or_else(|| {
            Status::invalid_argument("empty request stream: send at least one PutBlobRequest")
        })?;
        let mut upload = self.engine.begin_upload(ADMIN_ACTOR, &first.note);
        let mut last = first.last;
        upload.write(first.chunk).await.map_err(to_status)?;
        while !last {
            // Dropping `upload` on any early return aborts it: nothing is stored.
            let message = messages
                .message()
                .await?
                .ok_or_else(|| to_status(ServiceError::UploadAborted))?;
            last = message.last;
            upload.write(message.chunk).await.map_err(to_status)?;
        }
        if messages.message().await?.is_some() {
            return Err(Status::invalid_argument(
                "message after the one with last=true; send `last` only on the final message",
            ));
        }
        let stored = upload.finish().await.map_err(to_status)?;
        Ok(Response::new(pb::PutBlobResponse {
            digest: Some(digest_to_pb(&stored.digest)),
            newly_stored: stored.newly_stored,
            journal_seq: stored.journal_seq,
        }))
    }

    type GetBlobStream = Pin<Box<dyn Stream<Item = Result<pb::GetBlobResponse, Status>> + Send>>;

    async fn get_blob(
        &self,
        request: Request<pb::GetBlobRequest>,
    ) -> Result<Response<Self::GetBlobStream>, Status> {
        let download = self
            .engine
            .download(&request.get_ref().blake3)
            .await
            .map_err(to_status)?;
        let mut digest = Some(digest_to_pb(&download.digest));
        let chunks = tokio_stream::wrappers::ReceiverStream::new(download.chunks);
        let stream = chunks.map(move |chunk| {
            chunk
                .map(|chunk| pb::GetBlobResponse {
                    digest: digest.take(),
                    chunk,
                })
                .map_err(to_status)
        });
        // An empty blob yields no chunk; still send its digest once.
        let empty_blob = download.digest.size == 0;
        let stream: Self::GetBlobStream = if empty_blob {
            Box::pin(tokio_stream::once(Ok(pb::GetBlobResponse {
                digest: Some(digest_to_pb(&download.digest)),
                chunk: Vec::new(),
            })))
        } else {
            Box::pin(stream)
        };
        Ok(Response::new(stream))
    }

    async fn verify_journal(
        &self,
        _request: Request<pb::VerifyJournalRequest>,
    ) -> Result<Response<pb::VerifyJournalResponse>, Status> {
        let check = self.engine.verify_journal().await.map_err(to_status)?;
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
        _request: Request<pb::CheckFixityRequest>,
    ) -> Result<Response<pb::CheckFixityResponse>, Status> {
        let report = self.engine.check_fixity().await.map_err(to_status)?;
        let hex =
            |hashes: &[registratur_storage::BlobHash]| hashes.iter().map(|h| h.to_hex()).collect();
        Ok(Response::new(pb::CheckFixityResponse {
            blobs_checked: report.blobs_checked,
            bytes_checked: report.bytes_checked,
            missing: hex(&report.missing),
            corrupted: hex(&report.corrupted),
            unreferenced: hex(&report.unreferenced),
        }))
    }
}
