//! A typed client for the CLI and tests: wraps the generated gRPC client and returns domain types.

use registratur_storage::fixity::FixityReport;
use registratur_storage::{BlobDigest, BlobHash, Sha256Digest};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tonic::transport::Channel;

use super::pb;
use super::pb::admin_service_client::AdminServiceClient;
use crate::service::{JournalCheck, StatusReport, StoredBlobInfo};

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
    #[error("the server sent an invalid response: {0}")]
    InvalidResponse(String),
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        ClientError::Rpc {
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

/// A connection to a registratur server's admin service.
#[derive(Clone)]
pub struct AdminClient {
    inner: AdminServiceClient<Channel>,
}

impl AdminClient {
    /// Connects to `url`, e.g. `http://127.0.0.1:50051`.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let connect_error = |message: String| ClientError::Connect {
            url: url.to_string(),
            message,
        };
        let endpoint =
            Channel::from_shared(url.to_string()).map_err(|e| connect_error(e.to_string()))?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        Ok(Self {
            inner: AdminServiceClient::new(channel),
        })
    }

    pub async fn status(&mut self) -> Result<StatusReport, ClientError> {
        let response = self
            .inner
            .get_status(pb::GetStatusRequest {})
            .await?
            .into_inner();
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
        mut source: impl AsyncRead + Unpin + Send + 'static,
        note: &str,
    ) -> Result<StoredBlobInfo, ClientError> {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let note = note.to_string();
        let reading = tokio::spawn(async move {
            // Read one chunk ahead so that the final message can carry `last`.
            let mut pending = read_chunk(&mut source).await?;
            let mut note = Some(note);
            loop {
                let next = if pending.is_empty() {
                    Vec::new()
                } else {
                    read_chunk(&mut source).await?
                };
                let last = next.is_empty();
                let message = pb::PutBlobRequest {
                    note: note.take().unwrap_or_default(),
                    chunk: pending,
                    last,
                };
                if sender.send(message).await.is_err() || last {
                    return Ok::<(), std::io::Error>(());
                }
                pending = next;
            }
        });
        let response = self
            .inner
            .put_blob(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await;
        reading
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        let response = response?.into_inner();
        let digest = digest_from_pb(response.digest)?;
        Ok(StoredBlobInfo {
            digest,
            newly_stored: response.newly_stored,
            journal_seq: response.journal_seq,
        })
    }

    /// Writes a blob's verified bytes to `sink` and returns its digest.
    pub async fn get_blob(
        &mut self,
        hash: &str,
        mut sink: impl AsyncWrite + Unpin,
    ) -> Result<BlobDigest, ClientError> {
        let mut stream = self
            .inner
            .get_blob(pb::GetBlobRequest {
                blake3: hash.to_string(),
            })
            .await?
            .into_inner();
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
        let digest = digest
            .ok_or_else(|| ClientError::InvalidResponse("no digest in the blob stream".into()))?;
        if written != digest.size {
            return Err(ClientError::InvalidResponse(format!(
                "received {written} bytes but the blob has {}",
                digest.size
            )));
        }
        Ok(digest)
    }

    pub async fn verify_journal(&mut self) -> Result<JournalCheck, ClientError> {
        let response = self
            .inner
            .verify_journal(pb::VerifyJournalRequest {})
            .await?
            .into_inner();
        Ok(JournalCheck {
            entries_checked: response.entries_checked,
            first_break: (!response.intact).then_some((response.broken_seq, response.problem)),
        })
    }

    pub async fn check_fixity(&mut self) -> Result<FixityReport, ClientError> {
        let response = self
            .inner
            .check_fixity(pb::CheckFixityRequest {})
            .await?
            .into_inner();
        Ok(FixityReport {
            blobs_checked: response.blobs_checked,
            bytes_checked: response.bytes_checked,
            missing: parse_hashes(&response.missing)?,
            corrupted: parse_hashes(&response.corrupted)?,
            unreferenced: parse_hashes(&response.unreferenced)?,
        })
    }
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
    let digest = digest.ok_or_else(|| ClientError::InvalidResponse("missing digest".into()))?;
    let invalid =
        |e: registratur_storage::hash::ParseHashError| ClientError::InvalidResponse(e.to_string());
    Ok(BlobDigest {
        blake3: BlobHash::from_hex(&digest.blake3).map_err(invalid)?,
        sha256: Sha256Digest::from_hex(&digest.sha256).map_err(invalid)?,
        size: digest.size,
    })
}

fn parse_hashes(hexes: &[String]) -> Result<Vec<BlobHash>, ClientError> {
    hexes
        .iter()
        .map(|hex| BlobHash::from_hex(hex).map_err(|e| ClientError::InvalidResponse(e.to_string())))
        .collect()
}
