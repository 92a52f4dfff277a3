//! `ServiceError` → `tonic::Status`, in exactly one place.

use tonic::{Code, Status};

use crate::service::{ErrorCode, ServiceError};

/// Maps a service error to the gRPC status the client sees. Internal details are logged, and the
/// message keeps what a caller can act on.
pub(crate) fn to_status(error: ServiceError) -> Status {
    let code = match error.code() {
        ErrorCode::Unauthenticated => Code::Unauthenticated,
        ErrorCode::PermissionDenied => Code::PermissionDenied,
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::FailedPrecondition => Code::FailedPrecondition,
        ErrorCode::Aborted => Code::Aborted,
        ErrorCode::ResourceExhausted => Code::ResourceExhausted,
        ErrorCode::DataLoss => Code::DataLoss,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Internal => Code::Internal,
    };
    crate::metrics::global().rpc_error(code_name(code));
    if code == Code::Internal || code == Code::DataLoss {
        tracing::error!(error = %error, "request failed");
    }
    Status::new(code, error.to_string())
}

pub(super) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated => "unauthenticated",
        Code::PermissionDenied => "permission_denied",
        Code::InvalidArgument => "invalid_argument",
        Code::AlreadyExists => "already_exists",
        Code::NotFound => "not_found",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::ResourceExhausted => "resource_exhausted",
        Code::DataLoss => "data_loss",
        Code::Unavailable => "unavailable",
        Code::Internal => "internal",
        _ => "other",
    }
}
