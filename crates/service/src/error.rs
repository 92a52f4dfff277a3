//! `ServiceError`: the one error type of the service layer, and the [`ErrorCode`] it maps to.
//!
//! [`ErrorCode`] (defined in `registratur_ops`, because the error metric counts by it) is the one table
//! every transport reads; `ServiceError::code` is the one place a service error chooses its code. The
//! gRPC adapter turns the code into a gRPC status code in exactly one function (`grpc::status`). Nothing
//! else in the service knows about gRPC or HTTP.

use registratur_storage::{BlobError, BlobHash, MetaError, StoreError};

use registratur_mailroom::ingest::error::MailroomError;
use registratur_mailroom::route::code::RoutingCodeError;
use registratur_ops::quarantine::{Damage, ReadError};
use registratur_records::lifecycle::LifecycleError;
use registratur_records::repo::RecordsError;
use registratur_search::SearchError;

pub use registratur_ops::ErrorCode;

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
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    Mailroom(#[from] MailroomError),
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
    /// A client stream went on after the message marked `last`.
    #[error("message after the one with last=true; send `last` only on the final message")]
    MessageAfterLast,
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
            ServiceError::Records(error) => records_code(error),
            ServiceError::Lifecycle(error) => match error {
                LifecycleError::NotClosed(_)
                | LifecycleError::AlreadyHeld { .. }
                | LifecycleError::NotHeld(_) => ErrorCode::FailedPrecondition,
                LifecycleError::NothingToCorrect => ErrorCode::InvalidArgument,
                LifecycleError::Records(error) => records_code(error),
            },
            ServiceError::Mailroom(error) => match error {
                MailroomError::BatchNotFound(_) | MailroomError::KlaerfallNotFound(_) => ErrorCode::NotFound,
                MailroomError::KlaerfallResolved { .. } => ErrorCode::FailedPrecondition,
                MailroomError::Records(error) => records_code(error),
            },
            ServiceError::NotFound(_) => ErrorCode::NotFound,
            ServiceError::TooLarge { .. } | ServiceError::Busy(_) => ErrorCode::ResourceExhausted,
            ServiceError::Corrupted { .. } | ServiceError::Damaged { .. } => ErrorCode::DataLoss,
            ServiceError::UploadAborted => ErrorCode::Aborted,
            ServiceError::MessageAfterLast => ErrorCode::InvalidArgument,
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
    /// Counts this error in the error metric under its code and logs what only an operator can fix
    /// (internal errors and data loss; the caller's own mistakes are not logged). Every transport
    /// calls it exactly once per failed request, just before it answers.
    pub fn count_and_log(&self) -> ErrorCode {
        let code = self.code();
        registratur_ops::metrics::global().request_error(Some(code));
        if matches!(code, ErrorCode::Internal | ErrorCode::DataLoss) {
            tracing::error!(error = %self, "request failed");
        }
        code
    }

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

fn records_code(error: &RecordsError) -> ErrorCode {
    match error {
        RecordsError::NoAktenplan | RecordsError::AkteClosed(_) => ErrorCode::FailedPrecondition,
        RecordsError::UnknownUnit(_)
        | RecordsError::InvalidAktenzeichen(_)
        | RecordsError::InvalidAktenplan(_)
        | RecordsError::Invalid(_) => ErrorCode::InvalidArgument,
        RecordsError::AkteNotFound(_)
        | RecordsError::VorgangNotFound { .. }
        | RecordsError::DokumentNotFound(_)
        | RecordsError::VersionNotFound { .. }
        | RecordsError::RenditionNotFound { .. } => ErrorCode::NotFound,
        RecordsError::AktenzeichenTaken { .. } => ErrorCode::AlreadyExists,
        RecordsError::Contention(_) | RecordsError::StaleVersion { .. } => ErrorCode::Aborted,
        RecordsError::Undecodable { .. } => ErrorCode::Internal,
        RecordsError::Store(error) => store_code(error),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_its_own_name_and_an_http_status_of_its_kind() {
        let names: std::collections::BTreeSet<&str> = ErrorCode::ALL.iter().map(|code| code.name()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "two codes share a name: {names:?}");
        for code in ErrorCode::ALL {
            let name = code.name();
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{name}");
            // What the server cannot help is 5xx (a client may retry or report it); the rest is the
            // caller's to fix, 4xx.
            let server_side =
                matches!(code, ErrorCode::Internal | ErrorCode::DataLoss | ErrorCode::Unavailable);
            let status = code.http_status();
            assert_eq!((500..600).contains(&status), server_side, "{name}: {status}");
            assert_eq!((400..500).contains(&status), !server_side, "{name}: {status}");
        }
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::Unauthenticated.http_status(), 401);
        assert_eq!(ErrorCode::PermissionDenied.http_status(), 403);
        assert_eq!(ErrorCode::Unavailable.http_status(), 503);
    }

    #[test]
    fn mailroom_errors_keep_their_codes_and_messages_outside_the_records_layer() {
        let cases = [
            (
                MailroomError::BatchNotFound(4),
                ErrorCode::NotFound,
                "batch 4 not found; list batches with `registratur batch list`",
            ),
            (
                MailroomError::KlaerfallNotFound(9),
                ErrorCode::NotFound,
                "Klärfall 9 not found; list open ones with `registratur klaerfall list`",
            ),
            (
                MailroomError::KlaerfallResolved { id: 9, aktenzeichen: "32-1/2026".into() },
                ErrorCode::FailedPrecondition,
                "Klärfall 9 is already resolved: filed in Akte 32-1/2026",
            ),
            (
                MailroomError::Records(RecordsError::AkteClosed("32-1/2026".into())),
                ErrorCode::FailedPrecondition,
                "Akte 32-1/2026 is closed (z.d.A.); nothing can be added to it or changed",
            ),
        ];
        for (error, code, message) in cases {
            let error = ServiceError::from(error);
            assert_eq!(error.code(), code, "{error}");
            assert_eq!(error.to_string(), message);
        }
    }
}
