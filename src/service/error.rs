//! `ServiceError`: the one error type of the service layer, and the small `ErrorCode` it maps to.
//!
//! The gRPC adapter turns an [`ErrorCode`] into a gRPC status code in exactly one function
//! (`grpc::status`); nothing else in the service knows about gRPC.

use registratur_storage::{BlobError, BlobHash, MetaError, StoreError};

use crate::quarantine::{Damage, ReadError};
use crate::records::repo::RecordsError;
use crate::route::code::RoutingCodeError;
use crate::search::SearchError;

/// What kind of failure a [`ServiceError`] is, independent of transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    PermissionDenied,
    InvalidArgument,
    AlreadyExists,
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
    #[error(transparent)]
    Unauthenticated(#[from] crate::auth::AuthError),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    RoutingCode(#[from] RoutingCodeError),
    #[error("{0}")]
    NotFound(String),
    #[error("upload exceeds the limit of {limit} bytes; split the content or raise server.max_upload_bytes")]
    TooLarge { limit: u64 },
    #[error("blob {hash} is corrupted and was quarantined; restore it from a backup and run a fixity check")]
    Corrupted { hash: BlobHash },
    /// Bytes the records refer to are damaged or gone (and now in the quarantine register): data loss,
    /// named by where the bytes belong, never "not found".
    #[error(
        "{what} cannot be read: its bytes (blob {hash}) {}; restore them from a backup \
         (`registratur fixity quarantine` lists what needs restoring)",
        lost(*damage)
    )]
    Damaged { what: String, hash: BlobHash, damage: Damage },
    #[error("the upload ended before its final message (last=true); nothing was stored, send it again")]
    UploadAborted,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    FailedPrecondition(String),
    /// The engine is full for now (e.g. the mailroom queue); the client should retry later.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            ServiceError::PermissionDenied(_) => ErrorCode::PermissionDenied,
            ServiceError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            ServiceError::Records(error) => match error {
                RecordsError::NoAktenplan
                | RecordsError::AkteClosed(_)
                | RecordsError::KlaerfallResolved { .. } => ErrorCode::FailedPrecondition,
                RecordsError::UnknownUnit(_)
                | RecordsError::InvalidAktenzeichen(_)
                | RecordsError::InvalidAktenplan(_)
                | RecordsError::Invalid(_) => ErrorCode::InvalidArgument,
                RecordsError::AkteNotFound(_)
                | RecordsError::VorgangNotFound { .. }
                | RecordsError::DokumentNotFound(_)
                | RecordsError::VersionNotFound { .. }
                | RecordsError::RenditionNotFound { .. }
                | RecordsError::BatchNotFound(_)
                | RecordsError::KlaerfallNotFound(_) => ErrorCode::NotFound,
                RecordsError::AktenzeichenTaken { .. } => ErrorCode::AlreadyExists,
                RecordsError::Contention(_) | RecordsError::StaleVersion { .. } => ErrorCode::Aborted,
                RecordsError::Undecodable { .. } => ErrorCode::Internal,
                RecordsError::Store(error) => store_code(error),
            },
            ServiceError::NotFound(_) => ErrorCode::NotFound,
            ServiceError::TooLarge { .. } | ServiceError::Busy(_) => ErrorCode::ResourceExhausted,
            ServiceError::Corrupted { .. } | ServiceError::Damaged { .. } => ErrorCode::DataLoss,
            ServiceError::UploadAborted => ErrorCode::Aborted,
            ServiceError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            ServiceError::Unavailable(_) => ErrorCode::Unavailable,
            ServiceError::Internal(_) => ErrorCode::Internal,
            ServiceError::RoutingCode(error) => match error {
                RoutingCodeError::AktenzeichenNotEncodable { .. } => ErrorCode::FailedPrecondition,
                RoutingCodeError::KeyFile { .. } | RoutingCodeError::InvalidKeyId { .. } => {
                    ErrorCode::Internal
                }
                RoutingCodeError::NotARoutingCode
                | RoutingCodeError::UnsupportedVersion { .. }
                | RoutingCodeError::Malformed { .. }
                | RoutingCodeError::UnknownKey { .. }
                | RoutingCodeError::BadSignature => ErrorCode::InvalidArgument,
            },
            ServiceError::Store(error) => store_code(error),
        }
    }
}

impl ServiceError {
    /// The error of a failed read of recorded bytes; `what` names where they belong
    /// ("Dokument 5 Version 1 (original antrag.pdf)").
    pub(crate) fn unreadable(error: ReadError, what: &str) -> Self {
        match error {
            ReadError::Damaged { hash, damage } => {
                ServiceError::Damaged { what: what.to_string(), hash, damage }
            }
            ReadError::Store(error) => ServiceError::Store(error),
        }
    }
}

/// What happened to damaged bytes, for [`ServiceError::Damaged`].
fn lost(damage: Damage) -> &'static str {
    match damage {
        Damage::Corrupted => "were found corrupted and are quarantined",
        Damage::Missing => "are missing from the blob store",
    }
}

fn store_code(error: &StoreError) -> ErrorCode {
    match error {
        StoreError::Blob(BlobError::NotFound { .. }) => ErrorCode::NotFound,
        StoreError::Blob(BlobError::Corrupted { .. }) => ErrorCode::DataLoss,
        StoreError::Blob(BlobError::Io { .. }) => ErrorCode::Internal,
        // Its message says the failure is temporary and to retry.
        StoreError::Blob(BlobError::Unavailable { .. }) => ErrorCode::Unavailable,
        StoreError::Meta(MetaError::Conflict(_)) => ErrorCode::Aborted,
        StoreError::Meta(MetaError::Closed) => ErrorCode::Unavailable,
        StoreError::Meta(
            MetaError::Rocks { .. } | MetaError::Undecodable { .. } | MetaError::InvalidBlobRef { .. },
        ) => ErrorCode::Internal,
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

impl From<SearchError> for ServiceError {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::BadQuery(_) | SearchError::BadCursor(_) => {
                ServiceError::InvalidArgument(error.to_string())
            }
            SearchError::Building(_) => ServiceError::Unavailable(error.to_string()),
            SearchError::RebuildRunning | SearchError::CursorExpired { .. } => {
                ServiceError::FailedPrecondition(error.to_string())
            }
            SearchError::Records(error) => ServiceError::Records(error),
            SearchError::Meta(error) => error.into(),
            SearchError::Corrupt(_) | SearchError::Tantivy(_) | SearchError::Io { .. } => {
                ServiceError::Internal(error.to_string())
            }
        }
    }
}
