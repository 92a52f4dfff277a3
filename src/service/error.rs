//! `ServiceError`: the one error type of the service layer, and the small `ErrorCode` it maps to.
//!
//! The gRPC adapter turns an [`ErrorCode`] into a gRPC status code in exactly one function
//! (`grpc::status`); nothing else in the service knows about gRPC.

use registratur_storage::{BlobError, BlobHash, MetaError, StoreError};

/// What kind of failure a [`ServiceError`] is, independent of transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    FailedPrecondition,
    /// A concurrent change won; retrying may succeed.
    Aborted,
    ResourceExhausted,
    /// Stored bytes are damaged.
    DataLoss,
    Unavailable,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error(
        "upload exceeds the limit of {limit} bytes; split the content or raise server.max_upload_bytes"
    )]
    TooLarge { limit: u64 },
    #[error(
        "blob {hash} is corrupted and was quarantined; restore it from a backup and run a fixity check"
    )]
    Corrupted { hash: BlobHash },
    #[error(
        "the upload ended before its final message (last=true); nothing was stored, send it again"
    )]
    UploadAborted,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            ServiceError::NotFound(_) => ErrorCode::NotFound,
            ServiceError::TooLarge { .. } => ErrorCode::ResourceExhausted,
            ServiceError::Corrupted { .. } => ErrorCode::DataLoss,
            ServiceError::UploadAborted => ErrorCode::Aborted,
            ServiceError::Internal(_) => ErrorCode::Internal,
            ServiceError::Store(StoreError::Blob(error)) => match error {
                BlobError::NotFound { .. } => ErrorCode::NotFound,
                BlobError::Corrupted { .. } => ErrorCode::DataLoss,
                BlobError::Io { .. } => ErrorCode::Internal,
            },
            ServiceError::Store(StoreError::Meta(error)) => match error {
                MetaError::Conflict(_) => ErrorCode::Aborted,
                MetaError::Closed => ErrorCode::Unavailable,
                MetaError::Rocks { .. }
                | MetaError::Undecodable { .. }
                | MetaError::InvalidBlobRef { .. } => ErrorCode::Internal,
            },
        }
    }
}

impl From<BlobError> for ServiceError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::Corrupted { hash } => ServiceError::Corrupted { hash },
            BlobError::NotFound { hash } => ServiceError::NotFound(format!(
                "blob {hash} not found; check the hash (64 lowercase hex digits of BLAKE3)"
            )),
            other => ServiceError::Store(StoreError::Blob(other)),
        }
    }
}

impl From<MetaError> for ServiceError {
    fn from(error: MetaError) -> Self {
        ServiceError::Store(StoreError::Meta(error))
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(error: tokio::task::JoinError) -> Self {
        ServiceError::Internal(format!("a background task failed: {error}"))
    }
}
