//! Handlers of `registratur.v1.SearchService`: decode → call the engine → encode → map the error.

use tonic::{Request, Response, Status};

use super::auth::principal;
use super::convert;
use super::pb::{self, search_service_server::SearchService};
use super::status::to_status;
use super::stream::ResponseStream;
use registratur_service::Engine;

pub(crate) struct SearchHandlers {
    pub(crate) engine: Engine,
}

#[tonic::async_trait]
impl SearchService for SearchHandlers {
    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let principal = principal(&request)?.clone();
        let query = convert::search_query(request.into_inner()).map_err(to_status)?;
        let results = self.engine.search(&principal, query).await.map_err(to_status)?;
        Ok(Response::new(convert::search_response(&results)))
    }

    type ReindexStream = ResponseStream<pb::ReindexProgress>;

    async fn reindex(
        &self,
        request: Request<pb::ReindexRequest>,
    ) -> Result<Response<Self::ReindexStream>, Status> {
        let principal = principal(&request)?.clone();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let engine = self.engine.clone();
        tokio::spawn(async move {
            let steps = sender.clone();
            let outcome = engine
                .reindex(&principal, move |step| {
                    let _ = steps.send(Ok(pb::ReindexProgress {
                        done: step.done,
                        total: step.total,
                        ..Default::default()
                    }));
                })
                .await;
            let _ = sender.send(outcome.map_err(to_status).map(|report| pb::ReindexProgress {
                done: report.documents,
                total: report.documents,
                finished: true,
                seconds: report.seconds,
            }));
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::UnboundedReceiverStream::new(receiver))))
    }
}
