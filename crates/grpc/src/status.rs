//! `ServiceError` → `tonic::Status`, in exactly one place.

use tonic::{Code, Status};

use registratur_service::{ErrorCode, ServiceError};

/// Maps a service error to the gRPC status the client sees, counting it in the error metric. Internal
/// details are logged, and the message keeps what a caller can act on. Every error a handler returns
/// goes through here (or is a status tonic made itself, which `server::RewriteTransportStatus`
/// counts).
pub(crate) fn to_status(error: ServiceError) -> Status {
    let code = grpc_code(error.count_and_log());
    Status::new(code, error.to_string())
}

/// The gRPC code of each [`ErrorCode`]: the only such table.
pub(super) fn grpc_code(code: ErrorCode) -> Code {
    match code {
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
    }
}

/// The [`ErrorCode`] of a gRPC code, read backwards from [`grpc_code`], for the statuses tonic makes
/// itself; `None` for codes registratur never answers with (cancelled, deadline exceeded, ...).
pub(super) fn error_code(code: Code) -> Option<ErrorCode> {
    ErrorCode::ALL.into_iter().find(|candidate| grpc_code(*candidate) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_its_own_grpc_code_and_reads_back() {
        for code in ErrorCode::ALL {
            assert_eq!(error_code(grpc_code(code)), Some(code), "{code:?}");
            // The metric's label is the gRPC code's name, so both transports read the same word.
            let grpc_name = format!("{:?}", grpc_code(code));
            assert_eq!(code.name().replace('_', ""), grpc_name.to_lowercase(), "{code:?}");
        }
        assert_eq!(error_code(Code::Cancelled), None);
        assert_eq!(error_code(Code::DeadlineExceeded), None);
    }

    /// Every error a handler answers with is counted only if it goes through [`to_status`], so the
    /// handler modules build no `Status` of their own (tonic's own statuses, rewritten and counted in
    /// `server.rs`, are the only other kind).
    #[test]
    fn handlers_build_no_status_of_their_own() {
        let handlers = [
            ("admin.rs", include_str!("admin.rs")),
            ("auth.rs", include_str!("auth.rs")),
            ("convert.rs", include_str!("convert.rs")),
            ("mailroom.rs", include_str!("mailroom.rs")),
            ("migration.rs", include_str!("migration.rs")),
            ("records.rs", include_str!("records.rs")),
            ("search.rs", include_str!("search.rs")),
            ("stream.rs", include_str!("stream.rs")),
        ];
        for (file, source) in handlers {
            for (number, line) in source.lines().enumerate() {
                // `Status::…` as a path of its own (`tonic::Status::…` included), not `BatchStatus::…`.
                let builds_status = line
                    .match_indices("Status::")
                    .any(|(at, _)| !line[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
                assert!(
                    !builds_status,
                    "src/grpc/{file}:{}: build the error as a ServiceError and map it with to_status: {line}",
                    number + 1
                );
            }
        }
    }
}
