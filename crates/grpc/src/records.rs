//! Handlers of `registratur.v1.RecordsService`: decode → call the engine → encode → map the error.

use tonic::{Request, Response, Status, Streaming};

use super::auth::principal;
use super::convert;
use super::pb::{self, records_service_server::RecordsService};
use super::status::to_status;
use super::stream::{ResponseStream, UploadMessage, download_stream, feed_upload};
use registratur_records::repo::NewVersion;
use registratur_service::{DocumentHeader, DokumentDetails, Engine, HistoryOf, ServiceError};

pub(crate) struct RecordsHandlers {
    pub(crate) engine: Engine,
}

/// Page size of `ListAkten` when the caller gives none, and the most it may ask for.
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

fn non_empty(text: String) -> Option<String> {
    Some(text).filter(|t| !t.trim().is_empty())
}

/// A request the handler cannot decode, mapped like every other error.
fn invalid(message: impl Into<String>) -> Status {
    to_status(ServiceError::InvalidArgument(message.into()))
}

fn first_message<M>(message: Option<M>, what: &str) -> Result<M, Status> {
    message.ok_or_else(|| invalid(format!("empty request stream: send a {what} header first")))
}

impl UploadMessage for pb::AddDocumentRequest {
    fn into_chunk(self) -> (Vec<u8>, bool) {
        (self.chunk, self.last)
    }
}

impl UploadMessage for pb::AddVersionRequest {
    fn into_chunk(self) -> (Vec<u8>, bool) {
        (self.chunk, self.last)
    }
}

#[tonic::async_trait]
impl RecordsService for RecordsHandlers {
    async fn create_akte(
        &self,
        request: Request<pb::CreateAkteRequest>,
    ) -> Result<Response<pb::Akte>, Status> {
        let principal = principal(&request)?;
        let request = request.into_inner();
        let year = match request.year {
            0 => None,
            year => Some(u16::try_from(year).map_err(|_| invalid("year must be a four-digit year"))?),
        };
        let akte = self
            .engine
            .create_akte(
                principal,
                request.aktenplan_key,
                request.title,
                non_empty(request.aktenzeichen),
                year,
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(convert::akte(&akte)))
    }

    async fn get_akte(
        &self,
        request: Request<pb::GetAkteRequest>,
    ) -> Result<Response<pb::AkteDetails>, Status> {
        let principal = principal(&request)?;
        let akte = convert::akte_ref(request.into_inner().akte).map_err(to_status)?;
        let details = self.engine.akte_details(principal, akte).await.map_err(to_status)?;
        Ok(Response::new(pb::AkteDetails {
            akte: Some(convert::akte(&details.akte)),
            vorgaenge: details.vorgaenge.iter().map(convert::vorgang).collect(),
            documents: details
                .dokumente
                .iter()
                .map(|dokument| {
                    convert::document(&DokumentDetails {
                        dokument: dokument.clone(),
                        aktenzeichen: details.akte.aktenzeichen.clone(),
                        versions: Vec::new(),
                    })
                })
                .collect(),
        }))
    }

    async fn list_akten(
        &self,
        request: Request<pb::ListAktenRequest>,
    ) -> Result<Response<pb::ListAktenResponse>, Status> {
        let principal = principal(&request)?;
        let request = request.into_inner();
        let limit = match request.page_size as usize {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(hex::decode(token).map_err(|_| {
                invalid("invalid page_token: pass next_page_token of the previous response unchanged")
            })?),
        };
        let page = self
            .engine
            .list_akten(principal, non_empty(request.aktenplan_key), request.include_closed, after, limit)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListAktenResponse {
            akten: page.akten.iter().map(convert::akte).collect(),
            next_page_token: page.next.map(hex::encode).unwrap_or_default(),
        }))
    }

    async fn close_akte(&self, request: Request<pb::CloseAkteRequest>) -> Result<Response<pb::Akte>, Status> {
        let principal = principal(&request)?;
        let request = request.into_inner();
        let akte = convert::akte_ref(request.akte).map_err(to_status)?;
        let akte = self.engine.close_akte(principal, akte, request.note).await.map_err(to_status)?;
        Ok(Response::new(convert::akte(&akte)))
    }

    async fn create_vorgang(
        &self,
        request: Request<pb::CreateVorgangRequest>,
    ) -> Result<Response<pb::Vorgang>, Status> {
        let principal = principal(&request)?;
        let request = request.into_inner();
        let akte = convert::akte_ref(request.akte).map_err(to_status)?;
        let vorgang = self.engine.create_vorgang(principal, akte, request.title).await.map_err(to_status)?;
        Ok(Response::new(convert::vorgang(&vorgang)))
    }

    async fn add_document(
        &self,
        request: Request<Streaming<pb::AddDocumentRequest>>,
    ) -> Result<Response<pb::Document>, Status> {
        let principal = principal(&request)?;
        let mut messages = request.into_inner();
        let mut first = first_message(messages.message().await?, "DocumentHeader")?;
        let header = first
            .header
            .take()
            .ok_or_else(|| invalid("the first AddDocumentRequest must carry the DocumentHeader"))?;
        let eingang = header.eingang.unwrap_or_default();
        let header = DocumentHeader {
            akte: convert::akte_ref(header.akte).map_err(to_status)?,
            vorgang_id: Some(header.vorgang_id).filter(|&id| id != 0),
            title: header.title,
            sender: header.sender,
            fremdes_geschaeftszeichen: header.fremdes_geschaeftszeichen,
            posteingangsdatum: eingang.posteingangsdatum,
            channel: eingang.channel,
            source: eingang.source,
            filename: header.filename,
            media_type: header.media_type,
        };
        let upload = self.engine.begin_document_upload(principal, header).await.map_err(to_status)?;
        let details = feed_upload(first, &mut messages, upload).await?;
        Ok(Response::new(convert::document(&details)))
    }

    async fn add_version(
        &self,
        request: Request<Streaming<pb::AddVersionRequest>>,
    ) -> Result<Response<pb::Document>, Status> {
        let principal = principal(&request)?;
        let mut messages = request.into_inner();
        let mut first = first_message(messages.message().await?, "VersionHeader")?;
        let header = first
            .header
            .take()
            .ok_or_else(|| invalid("the first AddVersionRequest must carry the VersionHeader"))?;
        let new = NewVersion {
            dokument_id: header.document_id,
            reason: header.reason,
            filename: header.filename,
            media_type: header.media_type,
        };
        let upload = self.engine.begin_version_upload(principal, new).await.map_err(to_status)?;
        let details = feed_upload(first, &mut messages, upload).await?;
        Ok(Response::new(convert::document(&details)))
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let principal = principal(&request)?;
        let id = request.into_inner().document_id;
        let details = self.engine.dokument_details(principal, id).await.map_err(to_status)?;
        Ok(Response::new(convert::document(&details)))
    }

    type ReadContentStream = ResponseStream<pb::ReadContentResponse>;

    async fn read_content(
        &self,
        request: Request<pb::ReadContentRequest>,
    ) -> Result<Response<Self::ReadContentStream>, Status> {
        let principal = principal(&request)?;
        let request = request.into_inner();
        let version = Some(request.version).filter(|&v| v != 0);
        let (content, download) = self
            .engine
            .read_content(principal, request.document_id, version, non_empty(request.rendition))
            .await
            .map_err(to_status)?;
        let header = convert::content(&content);
        let stream =
            download_stream(download, header, |content, chunk| pb::ReadContentResponse { content, chunk });
        Ok(Response::new(stream))
    }

    async fn get_history(
        &self,
        request: Request<pb::GetHistoryRequest>,
    ) -> Result<Response<pb::GetHistoryResponse>, Status> {
        let principal = principal(&request)?;
        let of = match request.into_inner().of {
            Some(pb::get_history_request::Of::Akte(akte)) => {
                HistoryOf::Akte(convert::akte_ref(Some(akte)).map_err(to_status)?)
            }
            Some(pb::get_history_request::Of::DocumentId(id)) => HistoryOf::Dokument(id),
            None => return Err(invalid("say whose history: an akte or a document_id")),
        };
        let entries = self.engine.history(principal, of).await.map_err(to_status)?;
        Ok(Response::new(pb::GetHistoryResponse {
            entries: entries.iter().map(convert::history_entry).collect(),
        }))
    }

    async fn issue_routing_code(
        &self,
        request: Request<pb::IssueRoutingCodeRequest>,
    ) -> Result<Response<pb::RoutingCode>, Status> {
        let principal = principal(&request)?;
        let akte = convert::akte_ref(request.into_inner().akte).map_err(to_status)?;
        let issued = self.engine.issue_routing_code(principal, akte).await.map_err(to_status)?;
        Ok(Response::new(pb::RoutingCode {
            payload: issued.payload,
            akte_id: issued.akte_id,
            aktenzeichen: issued.aktenzeichen,
        }))
    }

    async fn import_aktenplan(
        &self,
        request: Request<pb::ImportAktenplanRequest>,
    ) -> Result<Response<pb::AktenplanInfo>, Status> {
        let principal = principal(&request)?;
        let csv = request.into_inner().csv;
        let (version, units) = self.engine.import_aktenplan(principal, csv).await.map_err(to_status)?;
        Ok(Response::new(pb::AktenplanInfo { version, units: units as u32 }))
    }

    async fn export_aktenplan(
        &self,
        request: Request<pb::ExportAktenplanRequest>,
    ) -> Result<Response<pb::ExportAktenplanResponse>, Status> {
        let principal = principal(&request)?;
        let (version, csv) = self.engine.export_aktenplan(principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ExportAktenplanResponse { version, csv }))
    }
}
