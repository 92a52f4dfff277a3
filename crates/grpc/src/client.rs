//! A typed client for the CLI and tests: wraps the generated gRPC clients, sends the bearer token, and
//! returns domain types.

use registratur_storage::{BlobDigest, BlobHash, Sha256Digest};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

pub mod lifecycle;

use super::convert;
use super::pb;
use super::pb::admin_service_client::AdminServiceClient;
use super::pb::evidence_service_client::EvidenceServiceClient;
use super::pb::lifecycle_service_client::LifecycleServiceClient;
use super::pb::mailroom_service_client::MailroomServiceClient;
use super::pb::migration_service_client::MigrationServiceClient;
use super::pb::records_service_client::RecordsServiceClient;
use super::pb::search_service_client::SearchServiceClient;
use registratur_records::model::{Akte, Content, Vorgang};
use registratur_records::repo::AkteRef;
use registratur_service::{
    AkteDetails, DocumentHeader, DokumentDetails, HistoryItem, IssuedRoutingCode, JournalCheck,
    QuarantineEntry, ScrubProgress, ScrubReport, StatusReport, StoredBlobInfo,
};

/// A file to put in a batch.
#[derive(Clone, Debug)]
pub struct BatchFileSource {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// What the server said when it received a batch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BatchReceipt {
    pub batch_id: u64,
    pub received_at: String,
    pub files: Vec<(String, String, u64)>,
}

/// One piece of a batch, as reported to clients. Piece, file and page numbers are 1-based, as people
/// count and as the CLI prints them in text and JSON alike (the wire's are 0-based).
#[derive(Clone, Debug, serde::Serialize)]
pub struct PieceReport {
    /// 1-based.
    pub piece: u32,
    pub outcome: String,
    pub akte_id: u64,
    pub aktenzeichen: String,
    pub dokument_id: u64,
    pub method: String,
    pub klaerfall_id: u64,
    pub reason: String,
    pub detail: String,
    pub evidence: Vec<String>,
    /// (file, page), both 1-based.
    pub pages: Vec<(u32, u32)>,
    pub blank_pages_removed: u32,
    pub qc: String,
}

/// A batch's counts once done.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BatchSummaryReport {
    /// (file name, format, pages, error).
    pub files: Vec<(String, String, u32, String)>,
    pub pieces: u32,
    pub pages_fed: u32,
    pub pages_stored: u32,
    pub blank_removed: u32,
    pub separator_sheets: u32,
    pub invariant_holds: bool,
    pub qc: Vec<String>,
}

/// A batch's state.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BatchReport {
    pub batch_id: u64,
    pub scanner_batch_id: String,
    pub state: String,
    pub pieces: Vec<PieceReport>,
    pub summary: Option<BatchSummaryReport>,
}

/// One message of a batch watch.
#[derive(Clone, Debug, serde::Serialize)]
pub enum BatchEventReport {
    Progress { stage: String, done: u32, total: u32 },
    Piece(PieceReport),
    Done(BatchSummaryReport),
}

/// A Klärfall page preview: the PNG, which page it is (1-based) and how many there are.
#[derive(Clone, Debug)]
pub struct PreviewReport {
    pub png: Vec<u8>,
    pub page: u32,
    pub pages: u32,
}

/// A batch as a listing reports it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BatchListReport {
    pub batch_id: u64,
    pub scanner_batch_id: String,
    pub state: String,
    pub posteingangsdatum: String,
    pub received_at: String,
    pub received_by: String,
    pub operator: String,
    pub files: u32,
    pub pieces_done: u32,
}

/// A Klärfall as reported to clients: every field the API returns.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KlaerfallReport {
    pub id: u64,
    pub batch_id: u64,
    /// 1-based, as in [`PieceReport`].
    pub piece: u32,
    pub reason: String,
    pub detail: String,
    pub evidence: Vec<String>,
    pub candidates: Vec<String>,
    pub posteingangsdatum: String,
    pub pages: u32,
    pub excerpt: String,
    pub created_at: String,
    pub rendition_sha256: String,
    /// `open` or `resolved`; the `resolved_` fields are empty or 0 while open.
    pub state: String,
    pub resolved_akte_id: u64,
    pub resolved_aktenzeichen: String,
    pub resolved_dokument_id: u64,
    pub resolved_by: String,
    pub resolved_at: String,
    pub resolved_note: String,
}

/// A migration job as reported to clients.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MigrationJobReport {
    pub job_id: u64,
    /// `plan` (a dry run) or `migrate`.
    pub mode: String,
    pub unit: String,
    pub aktenzeichen: String,
    pub policy: String,
    pub policy_sha256: String,
    pub created_by: String,
    pub created_at: String,
    pub state: String,
    pub control: String,
    pub total: u64,
    pub examined: u64,
    pub kept: u64,
    pub migrated: u64,
    pub flagged: u64,
    pub failed: u64,
    pub source_bytes: u64,
    pub output_bytes: u64,
    pub started_at: String,
    pub finished_at: String,
}

impl MigrationJobReport {
    pub fn is_finished(&self) -> bool {
        matches!(self.state.as_str(), "done" | "cancelled")
    }
}

/// One Dokument of a migration job's report.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MigrationItemReport {
    pub dokument_id: u64,
    pub version: u32,
    pub format: String,
    pub puid: String,
    pub source_size: u64,
    pub outcome: String,
    pub reason: String,
    pub target: String,
    pub new_version: u32,
    pub output_sha256: String,
    pub output_size: u64,
    pub pages: u32,
}

/// Size of the chunks an upload sends.
const UPLOAD_CHUNK: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {url}: {message}; is `registratur serve` running there?")]
    Connect { url: String, message: String },
    /// The server answered with an error status.
    #[error("{code:?}: {message}")]
    Rpc { code: tonic::Code, message: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server's stream did not keep its protocol (it ended early, or a message was empty).
    #[error("the server sent an invalid response: {0}")]
    InvalidResponse(String),
    /// A message that does not decode into domain types.
    #[error("the server sent an invalid response: {0}")]
    Undecodable(ResponseError),
    #[error("invalid token: {0}")]
    InvalidToken(String),
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        ClientError::Rpc { code: status.code(), message: status.message().to_string() }
    }
}

/// A message from the server that the client cannot turn into domain types: a required field is
/// missing, a time, date or hash does not parse, or a value is one the client does not know. The
/// server broke the protocol's promise; most likely client and server are of different versions.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("missing {0}")]
    Missing(&'static str),
    // The parse errors are part of the message and deliberately not a `source`, so that a caller
    // printing the error chain (`{:#}`) does not repeat them.
    #[error("{field}: {error}")]
    Time { field: &'static str, error: chrono::ParseError },
    #[error("{field} {text:?}: {error}")]
    Date { field: &'static str, text: String, error: chrono::ParseError },
    #[error("unknown {what} {value:?}")]
    Unknown { what: &'static str, value: String },
    #[error(transparent)]
    AktenplanKey(#[from] registratur_records::aktenzeichen::AktenzeichenError),
    #[error(transparent)]
    Hash(#[from] registratur_storage::hash::ParseHashError),
}

// By hand rather than `#[from]`, which would also make the `ResponseError` the `source` and print
// it twice in an error chain.
impl From<ResponseError> for ClientError {
    fn from(error: ResponseError) -> Self {
        ClientError::Undecodable(error)
    }
}

/// Where and how to connect.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// `http://host:port`, or `https://…` for TLS.
    pub url: String,
    pub token: Option<String>,
    /// PEM certificate of the CA (or the self-signed server certificate) to trust for TLS.
    pub ca_certificate: Option<Vec<u8>>,
}

/// Never shows the token, so that logging the options cannot leak it.
impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("ca_certificate", &self.ca_certificate.as_ref().map(|pem| pem.len()))
            .finish()
    }
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type AuthChannel = InterceptedService<Channel, BearerToken>;

/// A connection to a registratur server.
#[derive(Clone)]
pub struct Client {
    admin: AdminServiceClient<AuthChannel>,
    records: RecordsServiceClient<AuthChannel>,
    mailroom: MailroomServiceClient<AuthChannel>,
    search: SearchServiceClient<AuthChannel>,
    migration: MigrationServiceClient<AuthChannel>,
    lifecycle: LifecycleServiceClient<AuthChannel>,
    pub(crate) evidence: EvidenceServiceClient<AuthChannel>,
}

/// Messages of a client-streamed upload: header in the first, `last` on the final one.
trait UploadRequest: Send + 'static {
    fn chunk(header: Option<Self>, chunk: Vec<u8>, last: bool) -> Self
    where
        Self: Sized;
}

impl UploadRequest for pb::PutBlobRequest {
    fn chunk(header: Option<Self>, chunk: Vec<u8>, last: bool) -> Self {
        Self { note: header.map(|h| h.note).unwrap_or_default(), chunk, last }
    }
}

impl UploadRequest for pb::AddDocumentRequest {
    fn chunk(header: Option<Self>, chunk: Vec<u8>, last: bool) -> Self {
        Self { header: header.and_then(|h| h.header), chunk, last }
    }
}

impl UploadRequest for pb::AddVersionRequest {
    fn chunk(header: Option<Self>, chunk: Vec<u8>, last: bool) -> Self {
        Self { header: header.and_then(|h| h.header), chunk, last }
    }
}

/// Streams `source` as upload messages: the header's fields in the first, `last` on the final one.
fn upload_stream<M: UploadRequest>(
    mut source: impl AsyncRead + Unpin + Send + 'static,
    header: M,
) -> (tokio_stream::wrappers::ReceiverStream<M>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let reading = tokio::spawn(async move {
        // Read one chunk ahead so that the final message can carry `last`.
        let mut pending = read_chunk(&mut source).await?;
        let mut header = Some(header);
        loop {
            let next = if pending.is_empty() { Vec::new() } else { read_chunk(&mut source).await? };
            let last = next.is_empty();
            if sender.send(M::chunk(header.take(), pending, last)).await.is_err() || last {
                return Ok(());
            }
            pending = next;
        }
    });
    (tokio_stream::wrappers::ReceiverStream::new(receiver), reading)
}

fn akte_ref(akte: &AkteRef) -> Option<pb::AkteRef> {
    let by = match akte {
        AkteRef::Id(id) => pb::akte_ref::By::Id(*id),
        AkteRef::Aktenzeichen(text) => pb::akte_ref::By::Aktenzeichen(text.clone()),
    };
    Some(pb::AkteRef { by: Some(by) })
}

impl Client {
    /// Connects to a server.
    pub async fn connect(options: ConnectOptions) -> Result<Self, ClientError> {
        let url = options.url.clone();
        let connect_error = |message: String| ClientError::Connect { url: url.clone(), message };
        let mut endpoint =
            Channel::from_shared(options.url.clone()).map_err(|e| connect_error(e.to_string()))?;
        if options.url.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_enabled_roots();
            if let Some(ca) = &options.ca_certificate {
                tls = tls.ca_certificate(Certificate::from_pem(ca));
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| connect_error(e.to_string()))?;
        }
        let channel = endpoint.connect().await.map_err(|e| connect_error(error_chain(&e)))?;
        let token = options
            .token
            .map(|token| {
                let mut value: MetadataValue<Ascii> =
                    format!("Bearer {}", token.trim()).parse().map_err(|_| {
                        ClientError::InvalidToken("a token may contain only visible ASCII characters".into())
                    })?;
                // Sensitive values are never put in HPACK's table and print as `Sensitive` in debug output.
                value.set_sensitive(true);
                Ok::<_, ClientError>(value)
            })
            .transpose()?;
        let authed = InterceptedService::new(channel, BearerToken(token));
        // The same message size limits as the server's, both ways.
        let max = super::MAX_MESSAGE_BYTES;
        Ok(Self {
            admin: AdminServiceClient::new(authed.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            records: RecordsServiceClient::new(authed.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            mailroom: MailroomServiceClient::new(authed.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            search: SearchServiceClient::new(authed.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            evidence: EvidenceServiceClient::new(authed.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            migration: MigrationServiceClient::new(authed.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            lifecycle: LifecycleServiceClient::new(authed)
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        })
    }

    // ----- admin -----

    pub async fn status(&mut self) -> Result<StatusReport, ClientError> {
        let response = self.admin.get_status(pb::GetStatusRequest {}).await?.into_inner();
        Ok(StatusReport {
            version: response.version,
            data_dir: response.data_dir.into(),
            blob_count: response.blob_count,
            blob_bytes: response.blob_bytes,
            journal_length: response.journal_length,
            journal_head: Some(response.journal_head).filter(|h| !h.is_empty()),
        })
    }

    /// Streams everything `source` yields to the server as one blob.
    pub async fn put_blob(
        &mut self,
        source: impl AsyncRead + Unpin + Send + 'static,
        note: &str,
    ) -> Result<StoredBlobInfo, ClientError> {
        let header = pb::PutBlobRequest { note: note.to_string(), ..Default::default() };
        let (stream, reading) = upload_stream(source, header);
        let response = self.admin.put_blob(stream).await;
        reading.await.map_err(|e| std::io::Error::other(e.to_string()))??;
        let response = response?.into_inner();
        let digest = digest_from_pb(response.digest)?;
        Ok(StoredBlobInfo { digest, newly_stored: response.newly_stored, journal_seq: response.journal_seq })
    }

    /// Writes a blob's verified bytes to `sink` and returns its digest.
    pub async fn get_blob(
        &mut self,
        hash: &str,
        mut sink: impl AsyncWrite + Unpin,
    ) -> Result<BlobDigest, ClientError> {
        let mut stream =
            self.admin.get_blob(pb::GetBlobRequest { blake3: hash.to_string() }).await?.into_inner();
        let mut digest = None;
        let mut written = 0u64;
        while let Some(message) = stream.message().await? {
            if message.digest.is_some() {
                digest = Some(digest_from_pb(message.digest)?);
            }
            written += message.chunk.len() as u64;
            sink.write_all(&message.chunk).await?;
        }
        sink.flush().await?;
        let digest =
            digest.ok_or_else(|| ClientError::InvalidResponse("no digest in the blob stream".into()))?;
        check_length(written, digest.size)?;
        Ok(digest)
    }

    pub async fn verify_journal(&mut self) -> Result<JournalCheck, ClientError> {
        let response = self.admin.verify_journal(pb::VerifyJournalRequest {}).await?.into_inner();
        Ok(JournalCheck {
            entries_checked: response.entries_checked,
            first_break: (!response.intact).then_some((response.broken_seq, response.problem)),
        })
    }

    /// Runs a fixity scrub now; `progress` sees each progress message, the report is returned.
    pub async fn check_fixity(
        &mut self,
        mut progress: impl FnMut(&ScrubProgress),
    ) -> Result<ScrubReport, ClientError> {
        let mut stream = self.admin.check_fixity(pb::CheckFixityRequest {}).await?.into_inner();
        while let Some(message) = stream.message().await? {
            match message.event {
                Some(pb::check_fixity_event::Event::Progress(p)) => progress(&ScrubProgress {
                    blobs_checked: p.blobs_checked,
                    blobs_total: p.blobs_total,
                    bytes_checked: p.bytes_checked,
                    bytes_total: p.bytes_total,
                }),
                Some(pb::check_fixity_event::Event::Done(report)) => {
                    return Ok(convert::scrub_report_from_pb(report)?);
                }
                None => return Err(ClientError::InvalidResponse("an empty fixity event".into())),
            }
        }
        Err(ClientError::InvalidResponse("the fixity stream ended without a report".into()))
    }

    /// The last completed scrub's report; `None` before the first.
    pub async fn last_scrub(&mut self) -> Result<Option<ScrubReport>, ClientError> {
        let response = self.admin.get_last_scrub(pb::GetLastScrubRequest {}).await?.into_inner();
        Ok(response.report.map(convert::scrub_report_from_pb).transpose()?)
    }

    pub async fn quarantine(&mut self) -> Result<Vec<QuarantineEntry>, ClientError> {
        let response = self.admin.list_quarantine(pb::ListQuarantineRequest {}).await?.into_inner();
        Ok(response.blobs.into_iter().map(convert::quarantined_blob_from_pb).collect::<Result<_, _>>()?)
    }

    /// A Dokument's history export, as the JSON text the server made (docs/audit-export.md).
    pub async fn export_document_history(&mut self, document_id: u64) -> Result<String, ClientError> {
        let request = pb::ExportDocumentHistoryRequest { document_id };
        Ok(self.admin.export_document_history(request).await?.into_inner().json)
    }

    // ----- records -----

    pub async fn create_akte(
        &mut self,
        aktenplan_key: &str,
        title: &str,
        aktenzeichen: Option<&str>,
        year: Option<u32>,
    ) -> Result<Akte, ClientError> {
        let request = pb::CreateAkteRequest {
            aktenplan_key: aktenplan_key.to_string(),
            title: title.to_string(),
            aktenzeichen: aktenzeichen.unwrap_or_default().to_string(),
            year: year.unwrap_or(0),
        };
        Ok(convert::akte_from_pb(self.records.create_akte(request).await?.into_inner())?)
    }

    pub async fn akte(&mut self, akte: &AkteRef) -> Result<AkteDetails, ClientError> {
        let details = self.records.get_akte(pb::GetAkteRequest { akte: akte_ref(akte) }).await?.into_inner();
        let akte = convert::akte_from_pb(details.akte.ok_or(ResponseError::Missing("akte"))?)?;
        let vorgaenge =
            details.vorgaenge.into_iter().map(convert::vorgang_from_pb).collect::<Result<_, _>>()?;
        let dokumente = details
            .documents
            .into_iter()
            .map(|document| convert::document_from_pb(document).map(|d| d.dokument))
            .collect::<Result<_, _>>()?;
        Ok(AkteDetails { akte, vorgaenge, dokumente })
    }

    /// One page of Akten under `subtree`; returns the Akten and the next page's token.
    pub async fn list_akten(
        &mut self,
        subtree: Option<&str>,
        include_closed: bool,
        page_size: u32,
        page_token: &str,
    ) -> Result<(Vec<Akte>, Option<String>), ClientError> {
        let request = pb::ListAktenRequest {
            aktenplan_key: subtree.unwrap_or_default().to_string(),
            include_closed,
            page_size,
            page_token: page_token.to_string(),
        };
        let response = self.records.list_akten(request).await?.into_inner();
        let akten = response.akten.into_iter().map(convert::akte_from_pb).collect::<Result<_, _>>()?;
        Ok((akten, Some(response.next_page_token).filter(|t| !t.is_empty())))
    }

    pub async fn close_akte(&mut self, akte: &AkteRef, note: &str) -> Result<Akte, ClientError> {
        let request = pb::CloseAkteRequest { akte: akte_ref(akte), note: note.to_string() };
        Ok(convert::akte_from_pb(self.records.close_akte(request).await?.into_inner())?)
    }

    pub async fn create_vorgang(&mut self, akte: &AkteRef, title: &str) -> Result<Vorgang, ClientError> {
        let request = pb::CreateVorgangRequest { akte: akte_ref(akte), title: title.to_string() };
        Ok(convert::vorgang_from_pb(self.records.create_vorgang(request).await?.into_inner())?)
    }

    pub async fn add_document(
        &mut self,
        new: DocumentHeader,
        source: impl AsyncRead + Unpin + Send + 'static,
    ) -> Result<DokumentDetails, ClientError> {
        let header = pb::DocumentHeader {
            akte: akte_ref(&new.akte),
            vorgang_id: new.vorgang_id.unwrap_or(0),
            title: new.title,
            sender: new.sender,
            fremdes_geschaeftszeichen: new.fremdes_geschaeftszeichen,
            eingang: Some(pb::Eingang {
                posteingangsdatum: new.posteingangsdatum,
                channel: new.channel,
                source: new.source,
                received_at: String::new(),
            }),
            filename: new.filename,
            media_type: new.media_type,
        };
        let first = pb::AddDocumentRequest { header: Some(header), ..Default::default() };
        let (stream, reading) = upload_stream(source, first);
        let response = self.records.add_document(stream).await;
        reading.await.map_err(|e| std::io::Error::other(e.to_string()))??;
        Ok(convert::document_from_pb(response?.into_inner())?)
    }

    pub async fn add_version(
        &mut self,
        document_id: u64,
        reason: &str,
        filename: &str,
        media_type: &str,
        source: impl AsyncRead + Unpin + Send + 'static,
    ) -> Result<DokumentDetails, ClientError> {
        let header = pb::VersionHeader {
            document_id,
            reason: reason.to_string(),
            filename: filename.to_string(),
            media_type: media_type.to_string(),
        };
        let first = pb::AddVersionRequest { header: Some(header), ..Default::default() };
        let (stream, reading) = upload_stream(source, first);
        let response = self.records.add_version(stream).await;
        reading.await.map_err(|e| std::io::Error::other(e.to_string()))??;
        Ok(convert::document_from_pb(response?.into_inner())?)
    }

    pub async fn document(&mut self, document_id: u64) -> Result<DokumentDetails, ClientError> {
        let response = self.records.get_document(pb::GetDocumentRequest { document_id }).await?.into_inner();
        Ok(convert::document_from_pb(response)?)
    }

    /// Writes a Version's original (or a rendition) to `sink`; returns what was read.
    pub async fn read_content(
        &mut self,
        document_id: u64,
        version: Option<u32>,
        rendition: Option<&str>,
        mut sink: impl AsyncWrite + Unpin,
    ) -> Result<Content, ClientError> {
        let request = pb::ReadContentRequest {
            document_id,
            version: version.unwrap_or(0),
            rendition: rendition.unwrap_or_default().to_string(),
        };
        let mut stream = self.records.read_content(request).await?.into_inner();
        let mut content = None;
        let mut written = 0u64;
        while let Some(message) = stream.message().await? {
            if message.content.is_some() {
                content = Some(convert::content_from_pb(message.content)?);
            }
            written += message.chunk.len() as u64;
            sink.write_all(&message.chunk).await?;
        }
        sink.flush().await?;
        let content = content.ok_or_else(|| ClientError::InvalidResponse("no content header".into()))?;
        check_length(written, content.size)?;
        Ok(content)
    }

    pub async fn akte_history(&mut self, akte: &AkteRef) -> Result<Vec<HistoryItem>, ClientError> {
        self.history(pb::get_history_request::Of::Akte(akte_ref(akte).expect("always set"))).await
    }

    pub async fn document_history(&mut self, document_id: u64) -> Result<Vec<HistoryItem>, ClientError> {
        self.history(pb::get_history_request::Of::DocumentId(document_id)).await
    }

    async fn history(&mut self, of: pb::get_history_request::Of) -> Result<Vec<HistoryItem>, ClientError> {
        let response = self.records.get_history(pb::GetHistoryRequest { of: Some(of) }).await?.into_inner();
        Ok(response.entries.into_iter().map(convert::history_from_pb).collect::<Result<_, _>>()?)
    }

    pub async fn issue_routing_code(&mut self, akte: &AkteRef) -> Result<IssuedRoutingCode, ClientError> {
        let request = pb::IssueRoutingCodeRequest { akte: akte_ref(akte) };
        let response = self.records.issue_routing_code(request).await?.into_inner();
        Ok(IssuedRoutingCode {
            payload: response.payload,
            akte_id: response.akte_id,
            aktenzeichen: response.aktenzeichen,
        })
    }

    /// Imports an Aktenplan file; returns its new version and number of units.
    pub async fn import_aktenplan(&mut self, csv: String) -> Result<(u32, u32), ClientError> {
        let response = self.records.import_aktenplan(pb::ImportAktenplanRequest { csv }).await?.into_inner();
        Ok((response.version, response.units))
    }

    pub async fn export_aktenplan(&mut self) -> Result<(u32, String), ClientError> {
        let response = self.records.export_aktenplan(pb::ExportAktenplanRequest {}).await?.into_inner();
        Ok((response.version, response.csv))
    }
}

/// An error and its sources, joined: "transport error: tcp connect error: Connection refused".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn check_length(written: u64, expected: u64) -> Result<(), ClientError> {
    if written != expected {
        return Err(ClientError::InvalidResponse(format!(
            "received {written} bytes but the content has {expected}"
        )));
    }
    Ok(())
}

/// Reads up to one upload chunk; empty only at the end of the source.
async fn read_chunk(source: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut chunk = vec![0u8; UPLOAD_CHUNK];
    let mut filled = 0;
    while filled < chunk.len() {
        let n = source.read(&mut chunk[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    chunk.truncate(filled);
    Ok(chunk)
}

fn digest_from_pb(digest: Option<pb::BlobDigest>) -> Result<BlobDigest, ClientError> {
    let digest = digest.ok_or(ResponseError::Missing("digest"))?;
    Ok(BlobDigest {
        blake3: BlobHash::from_hex(&digest.blake3).map_err(ResponseError::from)?,
        sha256: Sha256Digest::from_hex(&digest.sha256).map_err(ResponseError::from)?,
        size: digest.size,
    })
}

impl Client {
    // ----- mailroom -----

    /// Sends a batch; returns once the server holds it durably.
    pub async fn ingest(
        &mut self,
        header: registratur_service::NewBatch,
        files: Vec<BatchFileSource>,
    ) -> Result<BatchReceipt, ClientError> {
        let mut messages =
            vec![pb::IngestRequest { header: Some(convert::batch_header(header)), ..Default::default() }];
        for file in files {
            messages.push(pb::IngestRequest {
                file: Some(pb::FileStart { filename: file.filename, media_type: String::new() }),
                ..Default::default()
            });
            for chunk in file.bytes.chunks(UPLOAD_CHUNK) {
                messages.push(pb::IngestRequest { chunk: chunk.to_vec(), ..Default::default() });
            }
        }
        if let Some(last) = messages.last_mut() {
            last.last = true;
        }
        let response = self.mailroom.ingest(tokio_stream::iter(messages)).await?.into_inner();
        Ok(BatchReceipt {
            batch_id: response.batch_id,
            received_at: response.received_at,
            files: response.files.into_iter().map(|f| (f.filename, f.blake3, f.size)).collect(),
        })
    }

    pub async fn batch(&mut self, batch_id: u64) -> Result<BatchReport, ClientError> {
        let status = self.mailroom.get_batch(pb::GetBatchRequest { batch_id }).await?.into_inner();
        Ok(BatchReport {
            batch_id: status.batch_id,
            scanner_batch_id: status.scanner_batch_id,
            state: status.state,
            pieces: status.pieces.into_iter().map(convert::piece_report).collect(),
            summary: status.summary.map(convert::summary_report),
        })
    }

    /// One page of batches in id order after `after`; the second value is the id to continue after
    /// (0 on the last page).
    pub async fn list_batches(
        &mut self,
        query: registratur_service::BatchQuery,
    ) -> Result<(Vec<BatchListReport>, u64), ClientError> {
        let request = pb::ListBatchesRequest {
            state: query.state,
            from: query.from,
            to: query.to,
            after_batch_id: query.after,
            limit: query.limit,
        };
        let response = self.mailroom.list_batches(request).await?.into_inner();
        Ok((
            response.batches.into_iter().map(convert::batch_list_report).collect(),
            response.next_after_batch_id,
        ))
    }

    /// Watches a batch; `on_event` sees every event until the summary.
    pub async fn watch_batch(
        &mut self,
        batch_id: u64,
        mut on_event: impl FnMut(BatchEventReport),
    ) -> Result<(), ClientError> {
        let mut stream = self.mailroom.watch_batch(pb::WatchBatchRequest { batch_id }).await?.into_inner();
        while let Some(event) = stream.message().await? {
            if let Some(p) = event.progress {
                on_event(BatchEventReport::Progress { stage: p.stage, done: p.done, total: p.total });
            }
            if let Some(piece) = event.piece {
                on_event(BatchEventReport::Piece(convert::piece_report(piece)));
            }
            if let Some(done) = event.done {
                on_event(BatchEventReport::Done(convert::summary_report(done)));
                return Ok(());
            }
        }
        Err(ClientError::InvalidResponse("the watch ended before the batch was done".into()))
    }

    pub async fn klaerfaelle(&mut self, include_resolved: bool) -> Result<Vec<KlaerfallReport>, ClientError> {
        let list = self
            .mailroom
            .list_klaerfaelle(pb::ListKlaerfaelleRequest { include_resolved, limit: 0 })
            .await?
            .into_inner();
        Ok(list.klaerfaelle.into_iter().map(convert::klaerfall_report).collect())
    }

    pub async fn klaerfall(&mut self, id: u64) -> Result<KlaerfallReport, ClientError> {
        Ok(convert::klaerfall_report(
            self.mailroom.get_klaerfall(pb::GetKlaerfallRequest { id }).await?.into_inner(),
        ))
    }

    /// The PNG of one page (1-based; 0 means 1), the page the server returned and the number of pages.
    pub async fn klaerfall_preview(&mut self, id: u64, page: u32) -> Result<PreviewReport, ClientError> {
        let preview = self
            .mailroom
            .get_klaerfall_preview(pb::GetKlaerfallPreviewRequest { id, page })
            .await?
            .into_inner();
        Ok(PreviewReport { png: preview.png, page: preview.page, pages: preview.pages })
    }

    /// Files a Klärfall in an Akte; returns the new Dokument's id.
    pub async fn resolve_klaerfall(
        &mut self,
        id: u64,
        akte: &AkteRef,
        title: &str,
        note: &str,
    ) -> Result<(KlaerfallReport, u64), ClientError> {
        let response = self
            .mailroom
            .resolve_klaerfall(pb::ResolveKlaerfallRequest {
                id,
                akte: akte_ref(akte),
                title: title.to_string(),
                note: note.to_string(),
            })
            .await?
            .into_inner();
        let klaerfall = response.klaerfall.ok_or(ResponseError::Missing("klaerfall in the answer"))?;
        Ok((convert::klaerfall_report(klaerfall), response.dokument_id))
    }

    // ----- search -----

    pub async fn search(
        &mut self,
        query: &registratur_search::SearchRequest,
    ) -> Result<registratur_search::SearchResults, ClientError> {
        let response = self.search.search(convert::search_request(query)).await?.into_inner();
        Ok(convert::search_results(response)?)
    }

    /// Rebuilds the search index; `on_progress` sees (done, total) after every step.
    pub async fn reindex(
        &mut self,
        mut on_progress: impl FnMut(u64, u64),
    ) -> Result<registratur_search::RebuildReport, ClientError> {
        let mut stream = self.search.reindex(pb::ReindexRequest {}).await?.into_inner();
        while let Some(step) = stream.message().await? {
            on_progress(step.done, step.total);
            if step.finished {
                return Ok(registratur_search::RebuildReport { documents: step.done, seconds: step.seconds });
            }
        }
        Err(ClientError::InvalidResponse("the reindex stream ended before it finished".into()))
    }

    // ----- migration -----

    pub async fn census(
        &mut self,
        unit: Option<String>,
        aktenzeichen: Option<String>,
    ) -> Result<Vec<registratur_migrate::CensusRow>, ClientError> {
        let scope = Some(pb::MigrationScope {
            unit: unit.unwrap_or_default(),
            aktenzeichen: aktenzeichen.unwrap_or_default(),
        });
        let response = self.migration.census(pb::CensusRequest { scope }).await?.into_inner();
        Ok(response.rows.into_iter().map(convert::census_row_from_pb).collect())
    }

    /// Queues a dry run (`dry_run`) or a migration job.
    pub async fn start_migration(
        &mut self,
        dry_run: bool,
        unit: Option<String>,
        aktenzeichen: Option<String>,
    ) -> Result<MigrationJobReport, ClientError> {
        let mode = if dry_run { pb::JobMode::Plan } else { pb::JobMode::Migrate };
        let scope = Some(pb::MigrationScope {
            unit: unit.unwrap_or_default(),
            aktenzeichen: aktenzeichen.unwrap_or_default(),
        });
        let job =
            self.migration.start_job(pb::StartJobRequest { mode: mode as i32, scope }).await?.into_inner();
        Ok(job_report(job))
    }

    pub async fn migration_job(&mut self, job_id: u64) -> Result<MigrationJobReport, ClientError> {
        Ok(job_report(self.migration.get_job(pb::GetJobRequest { job_id }).await?.into_inner()))
    }

    pub async fn migration_jobs(&mut self) -> Result<Vec<MigrationJobReport>, ClientError> {
        let response = self.migration.list_jobs(pb::ListJobsRequest {}).await?.into_inner();
        Ok(response.jobs.into_iter().map(job_report).collect())
    }

    /// `pause`, `resume` or `cancel` a job.
    pub async fn control_migration(
        &mut self,
        job_id: u64,
        what: &str,
    ) -> Result<MigrationJobReport, ClientError> {
        let request = pb::GetJobRequest { job_id };
        let job = match what {
            "pause" => self.migration.pause_job(request).await?,
            "resume" => self.migration.resume_job(request).await?,
            "cancel" => self.migration.cancel_job(request).await?,
            other => return Err(ClientError::InvalidResponse(format!("unknown job control {other:?}"))),
        };
        Ok(job_report(job.into_inner()))
    }

    /// Follows a job until it finishes, calling `on_update` with every change; returns the last state.
    pub async fn watch_migration(
        &mut self,
        job_id: u64,
        mut on_update: impl FnMut(&MigrationJobReport),
    ) -> Result<MigrationJobReport, ClientError> {
        let mut stream = self.migration.watch_job(pb::GetJobRequest { job_id }).await?.into_inner();
        let mut last = None;
        while let Some(job) = stream.message().await? {
            let report = job_report(job);
            on_update(&report);
            last = Some(report);
        }
        last.ok_or_else(|| ClientError::InvalidResponse("the watch ended without a state".into()))
    }

    /// One page of a job's report and the `after` value of the next page (0: none).
    pub async fn migration_report(
        &mut self,
        job_id: u64,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<MigrationItemReport>, u64), ClientError> {
        let request = pb::GetJobReportRequest { job_id, after_dokument_id: after, limit };
        let response = self.migration.get_job_report(request).await?.into_inner();
        let items = response
            .items
            .into_iter()
            .map(|item| MigrationItemReport {
                dokument_id: item.dokument_id,
                version: item.version,
                format: if item.format_version.is_empty() || item.format_name.contains(&item.format_version) {
                    item.format_name
                } else {
                    format!("{} {}", item.format_name, item.format_version)
                },
                puid: item.puid,
                source_size: item.source_size,
                outcome: item.outcome,
                reason: item.reason,
                target: item.target,
                new_version: item.new_version,
                output_sha256: item.output_sha256,
                output_size: item.output_size,
                pages: item.pages,
            })
            .collect();
        Ok((items, response.next_after))
    }

    /// The policy in force: name, version, SHA-256 and its TOML text.
    pub async fn migration_policy(&mut self) -> Result<(String, u32, String, String), ClientError> {
        let policy = self.migration.get_policy(pb::GetPolicyRequest {}).await?.into_inner();
        Ok((policy.name, policy.version, policy.sha256, policy.toml))
    }
}

fn job_report(job: pb::MigrationJob) -> MigrationJobReport {
    let scope = job.scope.unwrap_or_default();
    MigrationJobReport {
        job_id: job.job_id,
        mode: if job.mode == pb::JobMode::Plan as i32 { "plan" } else { "migrate" }.into(),
        unit: scope.unit,
        aktenzeichen: scope.aktenzeichen,
        policy: format!("{} v{}", job.policy_name, job.policy_version),
        policy_sha256: job.policy_sha256,
        created_by: job.created_by,
        created_at: job.created_at,
        state: job.state,
        control: job.control,
        total: job.total,
        examined: job.examined,
        kept: job.kept,
        migrated: job.migrated,
        flagged: job.flagged,
        failed: job.failed,
        source_bytes: job.source_bytes,
        output_bytes: job.output_bytes,
        started_at: job.started_at,
        finished_at: job.finished_at,
    }
}
