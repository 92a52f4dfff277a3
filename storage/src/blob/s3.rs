//! `S3BlobStore`: blobs as objects on S3-compatible object storage (Ceph RGW, MinIO, Garage, AWS S3),
//! through the `object_store` crate. Behind the cargo feature `s3`.
//!
//! Layout under the configured prefix (`<prefix>/` may be empty):
//! - `blobs/<blake3 hex>`: one object per blob. Lowercase hex sorts as the hash bytes do, so
//!   ListObjectsV2 (which lists in UTF-8 binary order) lists blobs in hash order, and
//!   [`BlobStore::list_page`] is one `start-after` request per page.
//! - `staging/<id>`: a large blob while it is uploaded in parts (its address is known only at the end);
//!   copied server-side to `blobs/` at commit and deleted. Objects left by a crash are deleted by
//!   [`S3BlobStore::sweep_staging`].
//! - `quarantine/<blake3 hex>.<unix nanos>`: a blob whose bytes no longer hash to their address, copied
//!   here (and deleted from `blobs/`) the moment a verified read finds it; never served again.
//!
//! Writes: a writer hashes (BLAKE3 and SHA-256) as bytes arrive and holds at most one part in memory
//! plus one in flight. A blob that fits in one part is a single PUT to its address; a larger one is a
//! multipart upload to `staging/`. Every request body carries `x-amz-checksum-sha256`
//! (`object_store`'s SHA-256 checksum option), so the server rejects bytes damaged on the way. Before it
//! uploads, commit asks the server for the address (HEAD): an object of the right size means the bytes
//! are stored already (content addressing; the contract in [`super`] forbids reading them back), one of
//! another size is damaged and is quarantined first. With `put_if_absent` the single PUT carries
//! `If-None-Match: *` (`PutMode::Create`); correctness never depends on it, because a duplicate PUT
//! writes identical bytes.
//!
//! Reads stream the GET response through a bounded channel and re-hash it as it passes; a mismatch at
//! the end is `InvalidData` for a reader and `Corrupted` plus quarantine for [`BlobStore::get`] and
//! [`BlobStore::verify`]. Timeouts, refused or dropped connections, HTTP 5xx and throttling (429, S3
//! `SlowDown`) are [`BlobError::Unavailable`] once `object_store`'s own request retries are spent; a
//! missing object is `NotFound`.
//!
//! The trait is synchronous and is called from tokio worker threads and from plain threads. The store
//! owns a small tokio runtime of its own: every request runs as a task there, and the caller waits for
//! the task with a plain (non-tokio) blocking wait, so it never calls `block_on` inside a runtime, and
//! dropping the store never blocks (the runtime is shut down in the background).
//!
//! Limits: the server-side copy out of `staging/` is one CopyObject request, which AWS S3 allows up to
//! 5 GiB (Garage, Ceph and MinIO copy larger objects); scanned records are far smaller.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum, S3ConditionalPut};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig,
};

use super::{BlobError, BlobStore, BlobWriter, PutOutcome};
use crate::hash::{BlobDigest, BlobHash, DualHasher};

/// The smallest part S3 accepts (every part but the last must be at least this large).
pub const MIN_PART_SIZE: usize = 5 << 20;

/// Environment variables read by [`S3Credentials::from_env`].
pub const ENV_ACCESS_KEY_ID: &str = "REGISTRATUR_S3_ACCESS_KEY_ID";
pub const ENV_SECRET_ACCESS_KEY: &str = "REGISTRATUR_S3_SECRET_ACCESS_KEY";

/// Chunks of a GET response buffered ahead of the reader: memory per open reader stays at a few
/// network chunks (typically 16 KiB each) whatever the blob's size.
const READ_AHEAD_CHUNKS: usize = 8;

/// Errors of setting up an [`S3BlobStore`] (its configuration and credentials).
#[derive(Debug, thiserror::Error)]
pub enum S3ConfigError {
    #[error(
        "S3 credentials: set {ENV_ACCESS_KEY_ID} and {ENV_SECRET_ACCESS_KEY}, or name a credentials file (mode 0600)"
    )]
    NoCredentials,
    #[error("cannot read the S3 credentials file {path}: {source}")]
    ReadCredentials {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the S3 credentials file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}` so that only its owner can read the secret"
    )]
    CredentialsFileOpen { path: PathBuf, mode: u32 },
    #[error(
        "the S3 credentials file {path} has no `{key}` line; it holds `access_key_id = …` and `secret_access_key = …`, one a line"
    )]
    CredentialsFileIncomplete { path: PathBuf, key: &'static str },
    #[error("S3 part size {0} bytes is below the 5 MiB S3 requires for every part but the last")]
    PartTooSmall(usize),
    #[error("S3 setting `{setting}` is invalid: {reason}")]
    Invalid { setting: &'static str, reason: String },
    #[error("cannot set up the S3 client: {0}")]
    Client(#[source] object_store::Error),
    #[error("cannot start the S3 client's runtime: {0}")]
    Runtime(#[source] io::Error),
}

/// An access key. `Debug` never shows the secret, and nothing in this module logs it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl S3Credentials {
    /// From [`ENV_ACCESS_KEY_ID`] and [`ENV_SECRET_ACCESS_KEY`] as `env` looks them up.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, S3ConfigError> {
        match (env(ENV_ACCESS_KEY_ID), env(ENV_SECRET_ACCESS_KEY)) {
            (Some(access_key_id), Some(secret_access_key))
                if !access_key_id.is_empty() && !secret_access_key.is_empty() =>
            {
                Ok(Self { access_key_id, secret_access_key })
            }
            _ => Err(S3ConfigError::NoCredentials),
        }
    }

    /// From a file readable by its owner only (mode 0600 or stricter; a file others can read is
    /// refused), holding `access_key_id = …` and `secret_access_key = …` lines (`#` starts a comment;
    /// values may be quoted).
    pub fn from_file(path: &FsPath) -> Result<Self, S3ConfigError> {
        use std::os::unix::fs::PermissionsExt;
        let read_error = |source| S3ConfigError::ReadCredentials { path: path.to_path_buf(), source };
        let mode = std::fs::metadata(path).map_err(read_error)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(S3ConfigError::CredentialsFileOpen { path: path.to_path_buf(), mode });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let mut access_key_id = None;
        let mut secret_access_key = None;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            let value = value.trim().trim_matches('"').to_owned();
            match key.trim() {
                "access_key_id" => access_key_id = Some(value),
                "secret_access_key" => secret_access_key = Some(value),
                _ => {}
            }
        }
        let incomplete = |key| S3ConfigError::CredentialsFileIncomplete { path: path.to_path_buf(), key };
        Ok(Self {
            access_key_id: access_key_id
                .filter(|v| !v.is_empty())
                .ok_or_else(|| incomplete("access_key_id"))?,
            secret_access_key: secret_access_key
                .filter(|v| !v.is_empty())
                .ok_or_else(|| incomplete("secret_access_key"))?,
        })
    }
}

/// Where and how to reach the bucket.
#[derive(Clone, Debug)]
pub struct S3Settings {
    /// `http(s)://host:port` of the S3 API; `None` for AWS itself (the region picks the endpoint).
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Key prefix of this store inside the bucket (`registratur/prod`), or empty.
    pub prefix: String,
    /// Path-style requests (`endpoint/bucket/key`), which Garage, MinIO, Ceph and rclone expect;
    /// virtual-hosted style (`bucket.endpoint/key`) otherwise.
    pub path_style: bool,
    pub credentials: S3Credentials,
    /// Send `If-None-Match: *` on single PUTs (servers that enforce it: AWS S3, MinIO, Ceph; Garage and
    /// rclone ignore it). Correctness does not depend on it.
    pub put_if_absent: bool,
    /// Size of a multipart upload's parts, and the largest blob stored with one PUT (at least 5 MiB).
    pub part_size: usize,
    /// Longest a single request may take, its body included (a GET streams the whole blob).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries of one request inside the client (with exponential backoff) before a transient failure
    /// reaches the caller as [`BlobError::Unavailable`]; and the time they may take in all.
    pub request_retries: usize,
    pub retry_timeout: Duration,
}

impl S3Settings {
    /// Settings with the defaults for everything but the bucket's address and the key.
    pub fn new(endpoint: Option<String>, region: &str, bucket: &str, credentials: S3Credentials) -> Self {
        Self {
            endpoint,
            region: region.to_owned(),
            bucket: bucket.to_owned(),
            prefix: String::new(),
            path_style: true,
            credentials,
            put_if_absent: false,
            part_size: 16 << 20,
            request_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
            request_retries: 3,
            retry_timeout: Duration::from_secs(15),
        }
    }
}

/// A blob store in an S3 bucket. See the module documentation. Cheap to clone.
#[derive(Clone)]
pub struct S3BlobStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3BlobStore({}/{})", self.inner.bucket, self.inner.prefix_text)
    }
}

struct Inner {
    client: Arc<AmazonS3>,
    /// `Some` until drop, which shuts it down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    bucket: String,
    prefix_text: String,
    blobs_dir: Path,
    staging_dir: Path,
    quarantine_dir: Path,
    put_if_absent: bool,
    part_size: usize,
    /// Bytes received in GET responses (the suite proves duplicate puts read none).
    bytes_read: Arc<AtomicU64>,
    staging_counter: AtomicU64,
    instance: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime blocks until its tasks end, which panics on a runtime thread of the
            // caller; in-flight requests of a store being dropped are abandoned instead.
            runtime.shutdown_background();
        }
    }
}

impl S3BlobStore {
    /// Sets up the client. Makes no request: an unreachable server shows in the first operation (or
    /// in [`S3BlobStore::check`]).
    pub fn connect(settings: &S3Settings) -> Result<Self, S3ConfigError> {
        if settings.part_size < MIN_PART_SIZE {
            return Err(S3ConfigError::PartTooSmall(settings.part_size));
        }
        if settings.bucket.is_empty() {
            return Err(S3ConfigError::Invalid { setting: "bucket", reason: "it is empty".into() });
        }
        let client_options = ClientOptions::new()
            .with_timeout(settings.request_timeout)
            .with_connect_timeout(settings.connect_timeout)
            .with_allow_http(true);
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: settings.request_retries,
            retry_timeout: settings.retry_timeout,
        };
        let mut builder = AmazonS3Builder::new()
            .with_region(&settings.region)
            .with_bucket_name(&settings.bucket)
            .with_access_key_id(&settings.credentials.access_key_id)
            .with_secret_access_key(&settings.credentials.secret_access_key)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_client_options(client_options)
            .with_retry(retry);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if settings.put_if_absent {
            builder = builder.with_conditional_put(S3ConditionalPut::ETagMatch);
        }
        // reqwest's rustls takes the process's default crypto provider: ring, as for the gRPC server's
        // TLS (a provider installed before stays; losing that race is fine).
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            drop(rustls::crypto::ring::default_provider().install_default());
        }
        let client = builder.build().map_err(S3ConfigError::Client)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("registratur-s3")
            .enable_all()
            .build()
            .map_err(S3ConfigError::Runtime)?;
        let prefix_text = settings.prefix.trim_matches('/').to_owned();
        let dir = |name: &str| -> Result<Path, S3ConfigError> {
            let text = if prefix_text.is_empty() { name.to_owned() } else { format!("{prefix_text}/{name}") };
            Path::parse(&text)
                .map_err(|e| S3ConfigError::Invalid { setting: "prefix", reason: e.to_string() })
        };
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let inner = Inner {
            client: Arc::new(client),
            runtime: Some(runtime),
            bucket: settings.bucket.clone(),
            blobs_dir: dir("blobs")?,
            staging_dir: dir("staging")?,
            quarantine_dir: dir("quarantine")?,
            prefix_text,
            put_if_absent: settings.put_if_absent,
            part_size: settings.part_size,
            bytes_read: Arc::new(AtomicU64::new(0)),
            staging_counter: AtomicU64::new(0),
            instance: format!("{}-{nanos}", std::process::id()),
        };
        tracing::info!(
            endpoint = settings.endpoint.as_deref().unwrap_or("aws"), bucket = %settings.bucket,
            prefix = %inner.prefix_text, access_key_id = %settings.credentials.access_key_id,
            "blob store on S3"
        );
        Ok(Self { inner: Arc::new(inner) })
    }

    /// One listing request: proves the endpoint, bucket and key work. For the engine's start.
    pub fn check(&self) -> Result<(), BlobError> {
        self.list_page(None, 1).map(drop)
    }

    /// Deletes objects under `staging/` last modified more than `older_than` ago: uploads that a crash
    /// interrupted between completing the parts and copying to the address. Returns how many. (An
    /// upload interrupted before its parts were completed is no object; a bucket lifecycle rule
    /// `AbortIncompleteMultipartUpload` removes those parts.)
    pub fn sweep_staging(&self, older_than: Duration) -> Result<usize, BlobError> {
        let client = Arc::clone(&self.inner.client);
        let dir = self.inner.staging_dir.clone();
        let cutoff =
            chrono::Utc::now() - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        self.inner.run(async move {
            let mut listing = client.list(Some(&dir));
            let mut removed = 0;
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(|e| s3_error("listing staged uploads", e))?;
                if meta.last_modified < cutoff {
                    tracing::info!(key = %meta.location, "removing an upload left by an interrupted put");
                    client
                        .delete(&meta.location)
                        .await
                        .map_err(|e| s3_error("removing a staged upload", e))?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
    }

    /// Keys of the objects moved to quarantine so far, sorted.
    pub fn quarantined(&self) -> Result<Vec<String>, BlobError> {
        let client = Arc::clone(&self.inner.client);
        let dir = self.inner.quarantine_dir.clone();
        let mut keys = self.inner.run(async move {
            let mut listing = client.list(Some(&dir));
            let mut keys = Vec::new();
            while let Some(meta) = listing.next().await {
                keys.push(meta.map_err(|e| s3_error("listing quarantined blobs", e))?.location.to_string());
            }
            Ok(keys)
        })?;
        keys.sort();
        Ok(keys)
    }

    /// The object key of a blob (`<prefix>/blobs/<hex>`).
    pub fn key_of(&self, hash: &BlobHash) -> String {
        self.inner.path_of(hash).to_string()
    }

    /// Bytes received in GET responses since the store was set up.
    pub fn bytes_read(&self) -> u64 {
        self.inner.bytes_read.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn path_of(&self, hash: &BlobHash) -> Path {
        self.blobs_dir.clone().join(hash.to_hex())
    }

    /// Runs `future` on the store's runtime and waits for it on this thread, without entering any
    /// runtime: safe from a tokio worker thread of the caller and from a plain thread alike.
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, BlobError>> + Send + 'static,
    ) -> Result<T, BlobError> {
        let handle = self.handle().spawn(future);
        match futures::executor::block_on(handle) {
            Ok(result) => result,
            Err(join) => Err(BlobError::Io {
                context: "waiting for an S3 request".into(),
                source: io::Error::other(join.to_string()),
            }),
        }
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        // `runtime` is `Some` from `connect` until `drop`, and no method runs during `drop`.
        self.runtime.as_ref().expect("the S3 runtime lives as long as the store").handle()
    }

    /// Size of the object at `hash`'s address, `None` when absent.
    fn head(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        let client = Arc::clone(&self.client);
        let path = self.path_of(hash);
        let context = format!("looking up blob {hash}");
        self.run(async move {
            match client.head(&path).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(s3_error(context, e)),
            }
        })
    }

    /// Starts a GET of `hash`, pumping its body into a bounded channel; `None` when absent.
    fn get_stream(&self, hash: &BlobHash) -> Result<Option<ChunkReceiver>, BlobError> {
        let client = Arc::clone(&self.client);
        let path = self.path_of(hash);
        let context = format!("reading blob {hash}");
        let stream: Option<BoxStream<'static, object_store::Result<Bytes>>> = self.run(async move {
            match client.get(&path).await {
                Ok(result) => Ok(Some(result.into_stream())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(s3_error(context, e)),
            }
        })?;
        let Some(mut stream) = stream else { return Ok(None) };
        let (sender, receiver) = tokio::sync::mpsc::channel(READ_AHEAD_CHUNKS);
        let counter = Arc::clone(&self.bytes_read);
        let context = format!("reading blob {hash}");
        self.handle().spawn(async move {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| s3_error(context.clone(), e));
                if let Ok(bytes) = &chunk {
                    counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                }
                let failed = chunk.is_err();
                // The reader was dropped: stop downloading.
                if sender.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Some(ChunkReceiver { receiver }))
    }

    /// Streams the blob through `hasher`; `None` when absent. Keeps none of it.
    fn hash_stored(&self, hash: &BlobHash, mut feed: impl FnMut(&[u8])) -> Result<Option<()>, BlobError> {
        let Some(mut chunks) = self.get_stream(hash)? else { return Ok(None) };
        while let Some(chunk) = chunks.next() {
            feed(&chunk?);
        }
        Ok(Some(()))
    }

    /// Copies the blob under `quarantine/` and deletes it from its address, so that it is never served
    /// again; logs the move (the quarantine key is the record). A blob already gone is no error.
    fn quarantine(&self, hash: &BlobHash) -> Result<(), BlobError> {
        let client = Arc::clone(&self.client);
        let from = self.path_of(hash);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let to = self.quarantine_dir.clone().join(format!("{hash}.{nanos}"));
        tracing::error!(%hash, quarantine = %to, "blob bytes do not match their hash; quarantined");
        let context = format!("quarantining blob {hash}");
        self.run(async move {
            match client.copy(&from, &to).await {
                Ok(()) => {}
                // Another reader quarantined it first.
                Err(object_store::Error::NotFound { .. }) => return Ok(()),
                Err(e) => return Err(s3_error(context, e)),
            }
            client.delete(&from).await.map_err(|e| s3_error(context, e))
        })
    }

    /// `Corrupted` (after quarantining) unless `actual` is `hash`.
    fn check_address(&self, hash: &BlobHash, actual: &BlobHash) -> Result<(), BlobError> {
        if actual == hash {
            return Ok(());
        }
        self.quarantine(hash)?;
        Err(BlobError::Corrupted { hash: *hash })
    }
}

/// The receiving end of a GET's body; waits without entering a runtime.
struct ChunkReceiver {
    receiver: tokio::sync::mpsc::Receiver<Result<Bytes, BlobError>>,
}

impl ChunkReceiver {
    fn next(&mut self) -> Option<Result<Bytes, BlobError>> {
        futures::executor::block_on(self.receiver.recv())
    }
}

/// A streamed, verified read (see [`BlobStore::open`]).
struct S3Reader {
    chunks: ChunkReceiver,
    current: Bytes,
    hasher: blake3::Hasher,
    expected: BlobHash,
    finished: bool,
    /// Set by a failed read, with whether the failure was transient: the download has stopped, so
    /// every later read fails alike (never a false "corrupted" from a hash of half the bytes).
    failed: Option<bool>,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(transient) = self.failed {
            let context = format!("reading blob {} after an earlier failure; open it again", self.expected);
            let error = if transient {
                BlobError::unavailable(context, "the download was interrupted")
            } else {
                BlobError::Io { context, source: io::Error::other("the download failed") }
            };
            return Err(io::Error::other(error));
        }
        while self.current.is_empty() {
            if self.finished {
                return Ok(0);
            }
            match self.chunks.next() {
                Some(Ok(chunk)) => {
                    self.hasher.update(&chunk);
                    self.current = chunk;
                }
                Some(Err(error)) => {
                    self.failed = Some(error.is_transient());
                    return Err(io::Error::other(error));
                }
                None => {
                    if self.hasher.finalize().as_bytes() != self.expected.as_bytes() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("blob {} does not match its hash", self.expected),
                        ));
                    }
                    self.finished = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

impl BlobStore for S3BlobStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        Ok(Box::new(S3BlobWriter::new(&self.inner)))
    }

    /// Reads straight into the part buffer; a failed part upload stays the `BlobError` it is (an
    /// outage is `Unavailable`), where the trait's default would see only an `io::Error`.
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        let mut writer = S3BlobWriter::new(&self.inner);
        writer.fill_from(reader)?;
        writer.finish()
    }

    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        self.put_reader(&mut &*bytes)
    }

    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        let chunks = self.inner.get_stream(hash)?.ok_or(BlobError::NotFound { hash: *hash })?;
        Ok(Box::new(S3Reader {
            chunks,
            current: Bytes::new(),
            hasher: blake3::Hasher::new(),
            expected: *hash,
            finished: false,
            failed: None,
        }))
    }

    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        self.inner.head(hash)
    }

    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        let mut hasher = DualHasher::new();
        if self.inner.hash_stored(hash, |bytes| hasher.update(bytes))?.is_none() {
            return Ok(None);
        }
        let digest = hasher.finalize();
        self.inner.check_address(hash, &digest.blake3)?;
        Ok(Some(digest))
    }

    /// Downloads once, checks the bytes in memory, quarantines a mismatch.
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let mut bytes = Vec::new();
        let found = self.inner.hash_stored(hash, |chunk| bytes.extend_from_slice(chunk))?;
        if found.is_none() {
            return Err(BlobError::NotFound { hash: *hash });
        }
        self.inner.check_address(hash, &BlobHash::of(&bytes))?;
        Ok(bytes)
    }

    /// ListObjectsV2 under `blobs/` with `start-after` set to `after`'s key.
    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let client = Arc::clone(&self.inner.client);
        let dir = self.inner.blobs_dir.clone();
        let offset = after.map(|hash| self.inner.path_of(hash));
        let after = after.copied();
        self.inner.run(async move {
            let mut listing = match &offset {
                Some(offset) => client.list_with_offset(Some(&dir), offset),
                None => client.list(Some(&dir)),
            };
            let mut hashes = Vec::with_capacity(limit.min(super::LIST_PAGE));
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(|e| s3_error("listing blobs", e))?;
                let hash = meta.location.filename().and_then(|name| BlobHash::from_hex(name).ok());
                let Some(hash) = hash.filter(|hash| after.is_none_or(|after| *hash > after)) else {
                    tracing::warn!(key = %meta.location, "ignoring an object under blobs/ that is not a blob");
                    continue;
                };
                hashes.push(hash);
                if hashes.len() == limit {
                    break;
                }
            }
            Ok(hashes)
        })
    }
}

/// A multipart upload to `staging/` in progress.
struct Staging {
    path: Path,
    upload: Box<dyn MultipartUpload>,
    /// The part being uploaded while the next one fills.
    in_flight: Option<tokio::task::JoinHandle<object_store::Result<()>>>,
}

/// A put in progress. See the module documentation.
struct S3BlobWriter {
    inner: Arc<Inner>,
    hasher: DualHasher,
    /// The current part; at most `part_size` bytes.
    buffer: Vec<u8>,
    staging: Option<Staging>,
}

impl S3BlobWriter {
    fn new(inner: &Arc<Inner>) -> Self {
        Self { inner: Arc::clone(inner), hasher: DualHasher::new(), buffer: Vec::new(), staging: None }
    }

    /// Sends the full buffer as the next part, after the previous part has arrived; the new part then
    /// travels while the caller fills the next.
    fn send_part(&mut self) -> Result<(), BlobError> {
        let part =
            PutPayload::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(self.inner.part_size)));
        if self.staging.is_none() {
            let n = self.inner.staging_counter.fetch_add(1, Ordering::Relaxed);
            let path = self.inner.staging_dir.clone().join(format!("{}-{n}", self.inner.instance));
            let client = Arc::clone(&self.inner.client);
            let key = path.clone();
            let upload = self.inner.run(async move {
                client.put_multipart(&key).await.map_err(|e| s3_error("starting a multipart upload", e))
            })?;
            self.staging = Some(Staging { path, upload, in_flight: None });
        }
        self.wait_for_part()?;
        let inner = Arc::clone(&self.inner);
        // Set just above.
        let Some(staging) = self.staging.as_mut() else { unreachable!("the upload was started above") };
        staging.in_flight = Some(inner.handle().spawn(staging.upload.put_part(part)));
        Ok(())
    }

    /// Reads `reader` to its end, a part at a time.
    fn fill_from(&mut self, reader: &mut dyn Read) -> Result<(), BlobError> {
        let part_size = self.inner.part_size;
        loop {
            if self.buffer.capacity() < part_size {
                self.buffer.reserve_exact(part_size - self.buffer.len());
            }
            let start = self.buffer.len();
            let room = (part_size - start) as u64;
            Read::take(&mut *reader, room)
                .read_to_end(&mut self.buffer)
                .map_err(BlobError::io("reading the bytes of a new blob"))?;
            self.hasher.update(&self.buffer[start..]);
            if self.buffer.len() < part_size {
                return Ok(());
            }
            self.send_part()?;
        }
    }

    fn wait_for_part(&mut self) -> Result<(), BlobError> {
        let Some(in_flight) = self.staging.as_mut().and_then(|staging| staging.in_flight.take()) else {
            return Ok(());
        };
        match futures::executor::block_on(in_flight) {
            Ok(result) => result.map_err(|e| s3_error("uploading a part", e)),
            Err(join) => Err(BlobError::Io {
                context: "uploading a part".into(),
                source: io::Error::other(join.to_string()),
            }),
        }
    }

    fn finish(mut self) -> Result<PutOutcome, BlobError> {
        let digest = std::mem::take(&mut self.hasher).finalize();
        let hash = digest.blake3;
        let inner = Arc::clone(&self.inner);
        // Identical bytes stored already? Decided by the object's size alone (see the contract).
        match inner.head(&hash)? {
            Some(size) if size == digest.size => {
                self.abort();
                return Ok(PutOutcome { digest, newly_stored: false });
            }
            Some(_) => inner.quarantine(&hash)?,
            None => {}
        }
        let target = inner.path_of(&hash);
        let client = Arc::clone(&inner.client);
        let context = format!("storing blob {hash}");
        let Some(staging) = self.staging.is_some().then(|| self.finish_staging()).transpose()? else {
            let body = PutPayload::from(std::mem::take(&mut self.buffer));
            let mode = if inner.put_if_absent { PutMode::Create } else { PutMode::Overwrite };
            let options = PutOptions { mode, ..PutOptions::default() };
            let newly_stored = inner.run(async move {
                match client.put_opts(&target, body, options).await {
                    Ok(_) => Ok(true),
                    // Another put of the same bytes got there first.
                    Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                    Err(e) => Err(s3_error(context, e)),
                }
            })?;
            return Ok(PutOutcome { digest, newly_stored });
        };
        inner.run(async move {
            client.copy(&staging, &target).await.map_err(|e| s3_error(context, e))?;
            if let Err(error) = client.delete(&staging).await {
                tracing::warn!(key = %staging, %error, "could not remove a staged upload; sweep_staging will");
            }
            Ok(())
        })?;
        Ok(PutOutcome { digest, newly_stored: true })
    }

    /// Sends the last part and completes the multipart upload; returns the staged object's key.
    fn finish_staging(&mut self) -> Result<Path, BlobError> {
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        self.wait_for_part()?;
        // Only called when `staging` is set.
        let Some(mut staging) = self.staging.take() else { unreachable!("finish_staging needs an upload") };
        let path = staging.path.clone();
        self.inner.run(async move {
            match staging.upload.complete().await {
                Ok(_) => Ok(()),
                Err(e) => {
                    if let Err(error) = staging.upload.abort().await {
                        tracing::warn!(%error, "could not abort a failed multipart upload");
                    }
                    Err(s3_error("completing a multipart upload", e))
                }
            }
        })?;
        Ok(path)
    }

    /// Abandons the multipart upload, if any, in the background.
    fn abort(&mut self) {
        if let Some(mut staging) = self.staging.take() {
            let in_flight = staging.in_flight.take();
            self.inner.handle().spawn(async move {
                if let Some(in_flight) = in_flight {
                    drop(in_flight.await);
                }
                if let Err(error) = staging.upload.abort().await {
                    tracing::warn!(key = %staging.path, %error, "could not abort a multipart upload");
                }
            });
        }
    }
}

impl Drop for S3BlobWriter {
    fn drop(&mut self) {
        self.abort();
    }
}

impl Write for S3BlobWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(self.inner.part_size.min(bytes.len().max(64 << 10)));
        }
        let take = (self.inner.part_size - self.buffer.len()).min(bytes.len());
        self.hasher.update(&bytes[..take]);
        self.buffer.extend_from_slice(&bytes[..take]);
        if self.buffer.len() == self.inner.part_size {
            self.send_part().map_err(io::Error::other)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobWriter for S3BlobWriter {
    fn commit(self: Box<Self>) -> Result<PutOutcome, BlobError> {
        self.finish()
    }
}

/// Whether an `object_store` error may go away if the request is repeated later: a transport failure
/// (connect, timeout, interrupted), HTTP 5xx, 429, or S3's `SlowDown` / `InternalError` in a body.
pub fn is_transient(error: &object_store::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(http) = error.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Request
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Interrupted
            );
        }
        if let Some(io) = error.downcast_ref::<io::Error>()
            && matches!(
                io.kind(),
                io::ErrorKind::TimedOut
                    | io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        let text = error.to_string();
        if text.contains("SlowDown") || text.contains("InternalError") {
            return true;
        }
        // `object_store` keeps the status in a private type; its message says
        // "Server returned non-2xx status code: 503 Service Unavailable".
        if let Some(at) = text.find("status code: ") {
            let code: String = text[at + 13..].chars().take(3).collect();
            if let Ok(code) = code.parse::<u16>() {
                return code >= 500 || code == 429;
            }
        }
        current = error.source();
    }
    false
}

/// An `object_store` failure while `context` as a [`BlobError`]: transient ones as `Unavailable`,
/// everything else as `Io`. (Callers map `NotFound` themselves, since they know the hash.)
fn s3_error(context: impl Into<String>, error: object_store::Error) -> BlobError {
    if is_transient(&error) {
        BlobError::unavailable(context, error)
    } else {
        BlobError::Io { context: context.into(), source: io::Error::other(error) }
    }
}

#[cfg(any(test, feature = "test-suite"))]
pub mod rclone;
#[cfg(test)]
mod tests;
