//! Handlers of `registratur.v1.LifecycleService`: decode → call the engine → encode → map the error.

use tonic::{Request, Response, Status};

use super::auth::principal;
use super::convert::{akte_ref, document};
use super::convert_lifecycle as convert;
use super::pb::{self, lifecycle_service_server::LifecycleService};
use super::status::to_status;
use super::stream::ResponseStream;
use registratur_service::{DokumentDetails, Engine, OfferRequest};

/// Default and largest number of due Akten one `ListDue` answers.
const DEFAULT_DUE_LIMIT: usize = 1000;
const MAX_DUE_LIMIT: usize = 100_000;
/// Bytes of the 0501 per stream message.
const OFFER_CHUNK: usize = 64 * 1024;

pub(crate) struct LifecycleHandlers {
    pub(crate) engine: Engine,
}

#[tonic::async_trait]
impl LifecycleService for LifecycleHandlers {
    async fn list_due(
        &self,
        request: Request<pb::ListDueRequest>,
    ) -> Result<Response<pb::ListDueResponse>, Status> {
        let principal = principal(&request)?.clone();
        let limit = match request.into_inner().limit as usize {
            0 => DEFAULT_DUE_LIMIT,
            n => n.min(MAX_DUE_LIMIT),
        };
        let due = self.engine.due_akten(principal, limit).await.map_err(to_status)?;
        Ok(Response::new(pb::ListDueResponse { akten: due.iter().map(convert::retention).collect() }))
    }

    async fn place_hold(&self, request: Request<pb::HoldRequest>) -> Result<Response<pb::Hold>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let akte = akte_ref(request.akte).map_err(to_status)?;
        let hold = self.engine.place_hold(principal, akte, request.reason).await.map_err(to_status)?;
        Ok(Response::new(convert::hold(&hold)))
    }

    async fn release_hold(&self, request: Request<pb::HoldRequest>) -> Result<Response<pb::Hold>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let akte = akte_ref(request.akte).map_err(to_status)?;
        let hold = self.engine.release_hold(principal, akte, request.reason).await.map_err(to_status)?;
        Ok(Response::new(convert::hold(&hold)))
    }

    async fn list_holds(
        &self,
        request: Request<pb::ListHoldsRequest>,
    ) -> Result<Response<pb::ListHoldsResponse>, Status> {
        let principal = principal(&request)?.clone();
        let holds = self.engine.holds(principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ListHoldsResponse { holds: holds.iter().map(convert::hold).collect() }))
    }

    async fn reopen_akte(
        &self,
        request: Request<pb::ReopenAkteRequest>,
    ) -> Result<Response<pb::Akte>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let akte = akte_ref(request.akte).map_err(to_status)?;
        let akte = self.engine.reopen_akte(principal, akte, request.reason).await.map_err(to_status)?;
        Ok(Response::new(super::convert::akte(&akte)))
    }

    async fn correct_akte(
        &self,
        request: Request<pb::CorrectAkteRequest>,
    ) -> Result<Response<pb::Akte>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let correction = convert::akte_correction(&request);
        let akte = akte_ref(request.akte).map_err(to_status)?;
        let akte =
            self.engine.correct_akte(principal, akte, correction, request.reason).await.map_err(to_status)?;
        Ok(Response::new(super::convert::akte(&akte)))
    }

    async fn correct_dokument(
        &self,
        request: Request<pb::CorrectDokumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let correction = convert::dokument_correction(&request);
        self.engine
            .correct_dokument(principal.clone(), request.document_id, correction, request.reason)
            .await
            .map_err(to_status)?;
        let details: DokumentDetails =
            self.engine.dokument_details(principal, request.document_id).await.map_err(to_status)?;
        Ok(Response::new(document(&details)))
    }

    async fn get_retention(
        &self,
        request: Request<pb::GetRetentionRequest>,
    ) -> Result<Response<pb::Retention>, Status> {
        let principal = principal(&request)?.clone();
        let akte = akte_ref(request.into_inner().akte).map_err(to_status)?;
        let view = self.engine.retention(principal, akte).await.map_err(to_status)?;
        Ok(Response::new(convert::retention(&view)))
    }

    type OfferStream = ResponseStream<pb::OfferResponse>;

    async fn offer(&self, request: Request<pb::OfferRequest>) -> Result<Response<Self::OfferStream>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let subtree = (!request.aktenplan_key.trim().is_empty()).then_some(request.aktenplan_key);
        let offer = self
            .engine
            .offer(
                principal,
                OfferRequest { subtree, authority: request.authority, archive: request.archive },
            )
            .await
            .map_err(to_status)?;
        let first = pb::OfferResponse { process: Some(convert::process(&offer.process)), chunk: Vec::new() };
        let chunks: Vec<pb::OfferResponse> = offer
            .xml
            .chunks(OFFER_CHUNK)
            .map(|chunk| pb::OfferResponse { process: None, chunk: chunk.to_vec() })
            .collect();
        let messages = std::iter::once(first).chain(chunks).map(Ok);
        Ok(Response::new(Box::pin(tokio_stream::iter(messages))))
    }

    async fn get_process(
        &self,
        request: Request<pb::GetProcessRequest>,
    ) -> Result<Response<pb::AussonderungProcess>, Status> {
        let principal = principal(&request)?.clone();
        let process = self
            .engine
            .aussonderung_process(principal, request.into_inner().prozess_id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(convert::process(&process)))
    }

    async fn import_appraisal(
        &self,
        request: Request<pb::ImportAppraisalRequest>,
    ) -> Result<Response<pb::ImportAppraisalResponse>, Status> {
        let principal = principal(&request)?.clone();
        let receipt =
            self.engine.import_appraisal(principal, request.into_inner().message).await.map_err(to_status)?;
        Ok(Response::new(pb::ImportAppraisalResponse {
            process: Some(convert::process(&receipt.process)),
            receipt: receipt.xml,
        }))
    }

    type HandoverStream = ResponseStream<pb::HandoverResponse>;

    async fn handover(
        &self,
        request: Request<pb::HandoverRequest>,
    ) -> Result<Response<Self::HandoverStream>, Status> {
        let principal = principal(&request)?.clone();
        let handover =
            self.engine.handover(principal, request.into_inner().prozess_id).await.map_err(to_status)?;
        let first = pb::HandoverResponse { file_name: handover.file_name, chunk: Vec::new() };
        let chunks = tokio_stream::StreamExt::map(
            tokio_stream::wrappers::ReceiverStream::new(handover.chunks),
            |chunk| {
                chunk.map(|chunk| pb::HandoverResponse { file_name: String::new(), chunk }).map_err(to_status)
            },
        );
        let stream = tokio_stream::StreamExt::chain(tokio_stream::once(Ok(first)), chunks);
        Ok(Response::new(Box::pin(stream)))
    }
}
