//! Uploads and downloads: bridging chunked, async transports to the blocking store.
//!
//! An upload feeds chunks over a bounded channel to a blocking task that reads them as one byte stream
//! (into a blob, or into a new Dokument); only an explicit [`Upload::finish`] lets that stream end
//! cleanly, so a client that disconnects mid-upload leaves nothing behind. A download streams the blob
//! from the store (`BlobStore::open`), never holding it whole: the local store verifies it before the first
//! byte is sent, a remote one while it streams; either way bytes that do not match end the stream with
//! DATA_LOSS instead of a clean end, so a client keeps only a download that ended cleanly.

use std::io::{self, Read};

use registratur_storage::meta::Txn;
use registratur_storage::{BlobDigest, BlobError, BlobHash};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Engine, ServiceError};
use crate::auth::{Principal, Role};
use registratur_ops::quarantine;

/// Size of the chunks a download yields.
const DOWNLOAD_CHUNK: usize = 256 * 1024;
/// Chunks buffered between the transport and the blocking task, each way.
const CHANNEL_DEPTH: usize = 8;

/// A stored blob and the journal entry that recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredBlobInfo {
    pub digest: BlobDigest,
    pub newly_stored: bool,
    pub journal_seq: u64,
}

/// An upload in progress, yielding a `T` once stored. Dropping it without [`finish`](Self::finish)
/// aborts it.
pub struct Upload<T> {
    sender: Option<mpsc::Sender<UploadMessage>>,
    task: JoinHandle<Result<T, ServiceError>>,
    received: u64,
    limit: u64,
}

enum UploadMessage {
    Chunk(Vec<u8>),
    Finish,
}

/// A verified blob being streamed out.
pub struct BlobDownload {
    pub digest: BlobDigest,
    /// The blob's bytes in order. An `Err` ends the stream (the bytes changed while being read).
    pub chunks: mpsc::Receiver<Result<Vec<u8>, ServiceError>>,
}

impl Engine {
    /// Starts an upload that `store` consumes on a blocking thread as one byte stream.
    pub(crate) fn begin_upload<T: Send + 'static>(
        &self,
        store: impl FnOnce(&mut dyn Read) -> Result<T, ServiceError> + Send + 'static,
    ) -> Upload<T> {
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let task = tokio::task::spawn_blocking(move || {
            let mut reader =
                ChannelReader { receiver, current: Vec::new(), at: 0, finished: false, aborted: false };
            store(&mut reader)
                .map_err(|error| if reader.aborted { ServiceError::UploadAborted } else { error })
        });
        Upload { sender: Some(sender), task, received: 0, limit: self.inner.limits.max_upload_bytes }
    }

    /// Starts a raw blob upload (admin only) whose journal entry names the principal and carries `note`.
    pub fn begin_blob_upload(
        &self,
        principal: &Principal,
        note: &str,
    ) -> Result<Upload<StoredBlobInfo>, ServiceError> {
        super::records::require_role(principal, &[Role::Admin], "store raw blobs")?;
        let store = self.inner.store.clone();
        let actor = principal.name.clone();
        let note = note.to_string();
        Ok(self.begin_upload(move |reader| {
            let stored = store.put_blob_with(reader, |digest| {
                let payload = serde_json::json!({
                    "blake3": digest.blake3.to_hex(),
                    "sha256": digest.sha256.to_hex(),
                    "size": digest.size,
                    "note": note,
                });
                Txn::new(actor, "blob.put", payload.to_string())
            })?;
            Ok(StoredBlobInfo {
                digest: stored.outcome.digest,
                newly_stored: stored.outcome.newly_stored,
                journal_seq: stored.receipt.seq,
            })
        }))
    }

    /// Verifies a raw blob and streams it (admin only). `hash_hex` is the BLAKE3 address in hex.
    pub async fn download_blob(
        &self,
        principal: &Principal,
        hash_hex: &str,
    ) -> Result<BlobDownload, ServiceError> {
        super::records::require_role(principal, &[Role::Admin], "read raw blobs")?;
        let hash = BlobHash::from_hex(hash_hex).map_err(|e| ServiceError::InvalidArgument(e.to_string()))?;
        self.download(hash, &principal.name, "the requested blob".into()).await
    }

    /// Verifies a recorded blob and streams it for `reader`. Damage (bytes that do not match, or a
    /// recorded blob the store lacks) is registered in the quarantine register and answered as
    /// [`ServiceError::Damaged`] naming `what` was read.
    pub(crate) async fn download(
        &self,
        hash: BlobHash,
        reader: &str,
        what: String,
    ) -> Result<BlobDownload, ServiceError> {
        let found_by = reader.to_string();
        let (digest, bytes, store) = self
            .blocking(move |engine| {
                let digest = engine.store().digest_of(&hash)?.ok_or_else(|| {
                    ServiceError::NotFound(format!("blob {hash} is not recorded in this store"))
                })?;
                let bytes = quarantine::open(engine.store(), &hash, &found_by, &what)
                    .map_err(|error| ServiceError::unreadable(error, &what))?;
                Ok((digest, bytes, (engine.store().clone(), found_by, what)))
            })
            .await?;
        let (sender, chunks) = mpsc::channel(CHANNEL_DEPTH);
        tokio::task::spawn_blocking(move || stream_out(bytes, hash, sender, store));
        Ok(BlobDownload { digest, chunks })
    }
}

impl<T> Upload<T> {
    /// Adds a chunk. Fails when the upload exceeds the size limit or the store failed.
    pub async fn write(&mut self, chunk: Vec<u8>) -> Result<(), ServiceError> {
        self.received += chunk.len() as u64;
        if self.received > self.limit {
            return Err(ServiceError::TooLarge { limit: self.limit });
        }
        let sender = self.sender.as_ref().expect("senders live until finish");
        if sender.send(UploadMessage::Chunk(chunk)).await.is_err() {
            // The blocking task stopped early: its result says why.
            self.sender.take();
            return Err(match (&mut self.task).await? {
                Err(error) => error,
                Ok(_) => ServiceError::Internal("upload task ended before the upload finished".into()),
            });
        }
        Ok(())
    }

    /// Commits the upload and waits until it is durable.
    pub async fn finish(mut self) -> Result<T, ServiceError> {
        if let Some(sender) = self.sender.take() {
            // A send error means the task already ended; its result below says why.
            let _ = sender.send(UploadMessage::Finish).await;
        }
        (&mut self.task).await?
    }
}

/// Reads the chunks of an upload as one byte stream; ends cleanly only on `Finish`.
struct ChannelReader {
    receiver: mpsc::Receiver<UploadMessage>,
    current: Vec<u8>,
    at: usize,
    finished: bool,
    /// The sender went away without `Finish`: whatever failed, the cause is the aborted upload.
    aborted: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.finished {
                return Ok(0);
            }
            match self.receiver.blocking_recv() {
                Some(UploadMessage::Chunk(chunk)) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Some(UploadMessage::Finish) => self.finished = true,
                None => {
                    self.aborted = true;
                    return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "upload aborted"));
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Sends a verified blob's bytes. Bytes that change while they are read end the stream with the
/// damage, registered like any other finding; `(store, found_by, what)` say who read what.
fn stream_out(
    mut reader: Box<dyn Read + Send>,
    hash: BlobHash,
    sender: mpsc::Sender<Result<Vec<u8>, ServiceError>>,
    (store, found_by, what): (registratur_storage::Store, String, String),
) {
    loop {
        let mut chunk = vec![0u8; DOWNLOAD_CHUNK];
        let result = match reader.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                chunk.truncate(n);
                Ok(chunk)
            }
            Err(error) if error.kind() == io::ErrorKind::InvalidData => Err(ServiceError::unreadable(
                quarantine::found_changed_while_read(&store, &hash, &found_by, &what),
                &what,
            )),
            // A remote store's transient failure mid-stream is UNAVAILABLE (the client reads again).
            Err(error) => Err(BlobError::from_read(&hash, error).into()),
        };
        let failed = result.is_err();
        if sender.blocking_send(result).is_err() || failed {
            return;
        }
    }
}
