//! Handlers of `registratur.v1.MailroomService`: decode → call the engine → encode → map the error.

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::auth::principal;
use super::convert;
use super::pb::{self, mailroom_service_server::MailroomService};
use super::status::to_status;
use super::stream::ResponseStream;
use registratur_service::{BatchUpdate, Engine, ServiceError};

pub(crate) struct MailroomHandlers {
    pub(crate) engine: Engine,
}

/// A request the handler cannot decode, mapped like every other error.
fn invalid(message: &str) -> Status {
    to_status(ServiceError::InvalidArgument(message.to_string()))
}

/// Klärfälle per list call when the caller gives no limit, and the most it may ask for.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[tonic::async_trait]
impl MailroomService for MailroomHandlers {
    async fn ingest(
        &self,
        request: Request<Streaming<pb::IngestRequest>>,
    ) -> Result<Response<pb::IngestResponse>, Status> {
        let principal = principal(&request)?.clone();
        let mut messages = request.into_inner();
        let first = messages
            .message()
            .await?
            .ok_or_else(|| invalid("empty request stream: send the batch header first"))?;
        let header =
            first.header.clone().ok_or_else(|| invalid("the first message must carry the batch header"))?;
        let mut upload =
            self.engine.begin_ingest(&principal, convert::new_batch(header)).map_err(to_status)?;
        let mut message = first;
        loop {
            if let Some(file) = message.file.take() {
                upload.start_file(&file.filename, &file.media_type).await.map_err(to_status)?;
            }
            upload.write(std::mem::take(&mut message.chunk)).await.map_err(to_status)?;
            if message.last {
                break;
            }
            message = messages.message().await?.ok_or_else(|| to_status(ServiceError::UploadAborted))?;
            if message.header.is_some() {
                return Err(invalid("the batch header belongs in the first message only"));
            }
        }
        if messages.message().await?.is_some() {
            return Err(to_status(ServiceError::MessageAfterLast));
        }
        let batch = upload.finish().await.map_err(to_status)?;
        Ok(Response::new(pb::IngestResponse {
            batch_id: batch.id,
            files: batch.files.iter().map(|f| convert::stored_file(&f.content)).collect(),
            received_at: convert::time(&batch.received_at),
        }))
    }

    async fn get_batch(
        &self,
        request: Request<pb::GetBatchRequest>,
    ) -> Result<Response<pb::BatchStatus>, Status> {
        let principal = principal(&request)?;
        let view = self.engine.batch(&principal, request.get_ref().batch_id).await.map_err(to_status)?;
        Ok(Response::new(convert::batch_status(&view)))
    }

    async fn list_batches(
        &self,
        request: Request<pb::ListBatchesRequest>,
    ) -> Result<Response<pb::ListBatchesResponse>, Status> {
        let principal = principal(&request)?;
        let query = convert::batch_query(request.get_ref());
        let (batches, next) = self.engine.list_batches(&principal, query).await.map_err(to_status)?;
        Ok(Response::new(pb::ListBatchesResponse {
            batches: batches.iter().map(convert::batch_list_entry).collect(),
            next_after_batch_id: next.unwrap_or(0),
        }))
    }

    type WatchBatchStream = ResponseStream<pb::BatchEvent>;

    async fn watch_batch(
        &self,
        request: Request<pb::WatchBatchRequest>,
    ) -> Result<Response<Self::WatchBatchStream>, Status> {
        let principal = principal(&request)?;
        let batch_id = request.get_ref().batch_id;
        let updates = self.engine.watch_batch(&principal, batch_id).await.map_err(to_status)?;
        let stream = tokio_stream::wrappers::ReceiverStream::new(updates).map(move |update| {
            let update = update.map_err(to_status)?;
            let mut event = pb::BatchEvent { batch_id, ..Default::default() };
            match update {
                BatchUpdate::Progress { stage, done, total } => {
                    event.progress = Some(pb::Progress { stage, done, total })
                }
                BatchUpdate::Piece(piece) => event.piece = Some(convert::piece(&piece)),
                BatchUpdate::Done(summary) => event.done = Some(convert::batch_summary(&summary)),
            }
            Ok(event)
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_klaerfaelle(
        &self,
        request: Request<pb::ListKlaerfaelleRequest>,
    ) -> Result<Response<pb::ListKlaerfaelleResponse>, Status> {
        let principal = principal(&request)?;
        let request = request.get_ref();
        let limit = match request.limit as usize {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let list =
            self.engine.klaerfaelle(&principal, request.include_resolved, limit).await.map_err(to_status)?;
        Ok(Response::new(pb::ListKlaerfaelleResponse {
            klaerfaelle: list.iter().map(convert::klaerfall).collect(),
        }))
    }

    async fn get_klaerfall(
        &self,
        request: Request<pb::GetKlaerfallRequest>,
    ) -> Result<Response<pb::Klaerfall>, Status> {
        let principal = principal(&request)?;
        let klaerfall = self.engine.klaerfall(&principal, request.get_ref().id).await.map_err(to_status)?;
        Ok(Response::new(convert::klaerfall(&klaerfall)))
    }

    async fn get_klaerfall_preview(
        &self,
        request: Request<pb::GetKlaerfallPreviewRequest>,
    ) -> Result<Response<pb::PagePreview>, Status> {
        let principal = principal(&request)?;
        let request = request.get_ref();
        let preview =
            self.engine.klaerfall_preview(&principal, request.id, request.page).await.map_err(to_status)?;
        Ok(Response::new(pb::PagePreview { png: preview.png, page: preview.page, pages: preview.pages }))
    }

    async fn resolve_klaerfall(
        &self,
        request: Request<pb::ResolveKlaerfallRequest>,
    ) -> Result<Response<pb::ResolveKlaerfallResponse>, Status> {
        let principal = principal(&request)?.clone();
        let request = request.into_inner();
        let akte = convert::akte_ref(request.akte).map_err(to_status)?;
        let (klaerfall, dokument) = self
            .engine
            .resolve_klaerfall(&principal, request.id, akte, request.title, request.note)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ResolveKlaerfallResponse {
            klaerfall: Some(convert::klaerfall(&klaerfall)),
            dokument_id: dokument.id,
        }))
    }
}
