//! `ErrorCode`: the one table of error kinds every transport reads — its stable name (the `code` of an
//! HTTP error body and the label of the error metric) and its HTTP status, as plain values. The gRPC
//! adapter turns it into a gRPC status code in exactly one function (`registratur_grpc::status`).

/// What kind of failure an error is, independent of transport (the service's `ServiceError::code`
/// chooses it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    PermissionDenied,
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    /// A concurrent change won; retrying may succeed.
    Aborted,
    ResourceExhausted,
    Unavailable,
    /// Stored bytes are damaged.
    DataLoss,
    Internal,
}

impl ErrorCode {
    /// Every code, in the order the error metric lists them.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::InvalidArgument,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::FailedPrecondition,
        ErrorCode::Aborted,
        ErrorCode::ResourceExhausted,
        ErrorCode::Unavailable,
        ErrorCode::DataLoss,
        ErrorCode::Internal,
    ];

    /// The stable lowercase name: the `code` field of an HTTP error body and the `code` label of
    /// `registratur_rpc_errors_total`. It is the gRPC code's name in snake case, so a client reads the
    /// same word whichever transport it uses. Clients and dashboards match on it: never rename one.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::FailedPrecondition => "failed_precondition",
            ErrorCode::Aborted => "aborted",
            ErrorCode::ResourceExhausted => "resource_exhausted",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::DataLoss => "data_loss",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status number of an error with this code, as `google.rpc.Code` documents the mapping
    /// (and grpc-gateway applies it): a precondition that does not hold is 400 like a bad argument,
    /// a lost race is 409, "too much for now" is 429. The `name` in the body tells those apart.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument | ErrorCode::FailedPrecondition => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::AlreadyExists | ErrorCode::Aborted => 409,
            ErrorCode::ResourceExhausted => 429,
            ErrorCode::DataLoss | ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}
