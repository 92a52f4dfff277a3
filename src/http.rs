//! The plain-HTTP endpoint beside gRPC: `GET /metrics` in the Prometheus text format, for scrapers.
//!
//! It carries no records and needs no token; bind it to an address only monitoring can reach
//! (`[server] metrics_listen`, default loopback).
//!
//! Errors answered over HTTP are [`HttpError`]s: the status number of the error's [`ErrorCode`] and a
//! JSON body `{"code": "...", "message": "..."}`, counted in the same error metric as gRPC errors.

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

use crate::service::{Engine, ErrorCode, ServiceError};

/// A failed HTTP request: answered with the HTTP status of the error's [`ErrorCode`]
/// (`ErrorCode::http_status`) and the JSON body `{"code": <ErrorCode::name>, "message": <the
/// error's message>}`, the same code name and message a gRPC client gets. Building the response
/// counts the error in `registratur_rpc_errors_total` and logs internal errors, exactly as
/// `grpc::status::to_status` does.
#[derive(Debug)]
pub(crate) struct HttpError(pub(crate) ServiceError);

impl From<ServiceError> for HttpError {
    fn from(error: ServiceError) -> Self {
        HttpError(error)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let code = self.0.count_and_log();
        (http_status(code), [(header::CONTENT_TYPE, "application/json")], error_body(code, &self.0))
            .into_response()
    }
}

/// The HTTP status of `code`. Every number `ErrorCode::http_status` returns is a valid status; the
/// fallback only keeps this total without a panic.
fn http_status(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The JSON body of an error response.
fn error_body(code: ErrorCode, error: &ServiceError) -> String {
    serde_json::json!({ "code": code.name(), "message": error.to_string() }).to_string()
}

/// Serves `/metrics` for `engine` on an already bound listener until `shutdown` completes.
pub async fn serve_metrics(
    engine: Engine,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics)).fallback(unknown_path).with_state(engine);
    axum::serve(with_nodelay(listener), app).with_graceful_shutdown(shutdown).await
}

/// `listener` with `TCP_NODELAY` set on every accepted connection, so that a response written in
/// pieces does not wait for the client's delayed ACK (about 40 ms).
pub(crate) fn with_nodelay(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(set_nodelay)
}

fn set_nodelay(stream: &mut TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::warn!(%error, "cannot set TCP_NODELAY on a metrics connection");
    }
}

async fn metrics(State(engine): State<Engine>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], engine.metrics_text().await)
}

/// Any path but `/metrics`: NOT_FOUND, in the JSON error format.
async fn unknown_path(uri: Uri) -> HttpError {
    HttpError(ServiceError::NotFound(format!(
        "nothing is served at {}; this endpoint serves only GET /metrics",
        uri.path()
    )))
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    use super::*;

    #[tokio::test]
    async fn accepted_metrics_connections_have_nodelay_set() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut listener = with_nodelay(listener);
        let client = tokio::spawn(tokio::net::TcpStream::connect(address));
        let (accepted, _) = listener.accept().await;
        assert!(accepted.nodelay().unwrap(), "an accepted connection must have TCP_NODELAY set");
        client.await.unwrap().unwrap();
    }

    /// The body a client reads back from an error response.
    async fn status_and_body(error: ServiceError) -> (u16, serde_json::Value) {
        let response = HttpError(error).into_response();
        let status = response.status().as_u16();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn errors_answer_with_their_codes_http_status_name_and_message() {
        let closed = crate::records::repo::RecordsError::AkteClosed("32-1/2026".into());
        let message = closed.to_string();
        let (status, body) = status_and_body(ServiceError::Records(closed)).await;
        assert_eq!(status, 400);
        assert_eq!(body, serde_json::json!({ "code": "failed_precondition", "message": message }));

        let (status, body) = status_and_body(ServiceError::PermissionDenied("archivists only".into())).await;
        assert_eq!(status, 403);
        assert_eq!(body["code"], "permission_denied");
        assert_eq!(body["message"], "permission denied: archivists only");

        let (status, body) = status_and_body(ServiceError::Busy("the mailroom queue is full".into())).await;
        assert_eq!(status, 429);
        assert_eq!(body["code"], "resource_exhausted");

        let (status, body) = status_and_body(ServiceError::Internal("disk on fire".into())).await;
        assert_eq!(status, 500);
        assert_eq!(body["code"], "internal");
        assert_eq!(body["message"], "internal error: disk on fire");
    }
}
