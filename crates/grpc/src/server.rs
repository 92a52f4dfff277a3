//! Assembles the gRPC server: registratur's services behind bearer-token authentication, the standard
//! health service and reflection (both open), and optional TLS.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};

use super::admin::AdminHandlers;
use super::auth::Authenticator;
use super::evidence::EvidenceHandlers;
use super::lifecycle::LifecycleHandlers;
use super::mailroom::MailroomHandlers;
use super::migration::MigrationHandlers;
use super::pb;
use super::pb::admin_service_server::AdminServiceServer;
use super::pb::evidence_service_server::EvidenceServiceServer;
use super::pb::lifecycle_service_server::LifecycleServiceServer;
use super::pb::mailroom_service_server::MailroomServiceServer;
use super::pb::migration_service_server::MigrationServiceServer;
use super::pb::records_service_server::RecordsServiceServer;
use super::pb::search_service_server::SearchServiceServer;
use super::records::RecordsHandlers;
use super::search::SearchHandlers;
use registratur_service::Engine;
use registratur_service::auth::TokenRegistry;

/// A PEM certificate chain and private key for TLS.
#[derive(Clone, Debug)]
pub struct TlsPem {
    pub certificate: Vec<u8>,
    pub private_key: Vec<u8>,
}

use super::MAX_MESSAGE_BYTES;

/// Serves the engine on an already bound listener until `shutdown` completes.
pub async fn serve(
    engine: Engine,
    tokens: TokenRegistry,
    tls: Option<TlsPem>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<AdminServiceServer<AdminHandlers>>().await;
    health_reporter.set_serving::<RecordsServiceServer<RecordsHandlers>>().await;
    health_reporter.set_serving::<MailroomServiceServer<MailroomHandlers>>().await;
    health_reporter.set_serving::<SearchServiceServer<SearchHandlers>>().await;
    health_reporter.set_serving::<MigrationServiceServer<MigrationHandlers>>().await;
    health_reporter.set_serving::<LifecycleServiceServer<LifecycleHandlers>>().await;
    health_reporter.set_serving::<EvidenceServiceServer<EvidenceHandlers>>().await;
    // Reflection in both versions: grpcurl and current tools ask `grpc.reflection.v1`, while many
    // clients (Python's grpcio-reflection, older grpcurl, Postman, Kreya) only speak `v1alpha`.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1().expect("the embedded descriptor sets are valid");
    let reflection_v1alpha = reflection().build_v1alpha().expect("the embedded descriptor sets are valid");
    let authenticator = Authenticator { tokens: Arc::new(tokens) };
    // Every service states its limits, both ways, rather than relying on tonic's defaults.
    let admin = AdminServiceServer::new(AdminHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let mailroom = MailroomServiceServer::new(MailroomHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let search = SearchServiceServer::new(SearchHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let migration = MigrationServiceServer::new(MigrationHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let lifecycle = LifecycleServiceServer::new(LifecycleHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let evidence = EvidenceServiceServer::new(EvidenceHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let records = RecordsServiceServer::new(RecordsHandlers { engine })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);

    let mut builder = tonic::transport::Server::builder()
        .layer(tower_layer::layer_fn(|inner| RewriteTransportStatus { inner }));
    if let Some(tls) = tls {
        let identity = Identity::from_pem(tls.certificate, tls.private_key);
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    builder
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(tonic::service::interceptor::InterceptedService::new(admin, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(records, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(mailroom, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(search, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(lifecycle, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(evidence, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(migration, authenticator))
        .serve_with_incoming_shutdown(accepted_connections(listener), shutdown)
        .await
}

/// How long an idle connection waits before the kernel probes whether the peer is still there.
const TCP_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(60);

/// The connections `listener` accepts, each with `TCP_NODELAY` set (TLS or not).
///
/// tonic sets `TCP_NODELAY` only on listeners it binds itself; on a listener handed in, Nagle's
/// algorithm would hold back every response written in more than one piece (headers, message,
/// trailers) until the client's delayed ACK, about 40 ms per call.
pub(crate) fn accepted_connections(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true)).with_keepalive(Some(TCP_KEEPALIVE))
}

/// Statuses that tonic makes itself, before a handler runs, rewritten to what the gRPC status code
/// specification and clients expect, and counted in the RPC error metrics like every other error:
///
/// - a message above the size limit: tonic says OUT_OF_RANGE; the specification asks for
///   RESOURCE_EXHAUSTED ("sent or received message was larger than configured limit"), which is also
///   what clients retry differently. tonic's message, which names the size found and the limit, stays.
/// - a message that does not decode (invalid UTF-8 in a string field, a truncated message): tonic
///   says INTERNAL, as if the server had failed; it is the request that is wrong, so INVALID_ARGUMENT,
///   with prost's description, which names the message and field.
///
/// A refused request's status travels in the headers of a trailers-only response, and tonic keeps
/// the `Status` it made them from in the extensions; exactly those are rewritten.
#[derive(Clone)]
struct RewriteTransportStatus<S> {
    inner: S,
}

const TONIC_OVERSIZE_MESSAGE: &str = "decoded message length too large";
const PROST_DECODE_MESSAGE: &str = "failed to decode Protobuf message";

/// The status a client should see instead of `status`, if tonic made it for a refused request.
fn rewritten(status: &tonic::Status) -> Option<tonic::Status> {
    let message = status.message();
    if status.code() == tonic::Code::OutOfRange && message.contains(TONIC_OVERSIZE_MESSAGE) {
        return Some(tonic::Status::resource_exhausted(format!(
            "request message too large ({message}); send big content as a stream of smaller chunks"
        )));
    }
    if status.code() == tonic::Code::Internal
        && let Some(detail) = message.strip_prefix(PROST_DECODE_MESSAGE)
    {
        let detail = detail.trim_start_matches(':').trim();
        let advice = if detail.contains("UTF-8") {
            "string fields must be valid UTF-8; fix the client's encoding"
        } else {
            "check that the client is built from registratur's protos (proto/registratur/v1)"
        };
        return Some(tonic::Status::invalid_argument(format!(
            "the request message cannot be decoded ({detail}); {advice}"
        )));
    }
    None
}

impl<S, RequestBody, ResponseBody> tower_service::Service<http::Request<RequestBody>>
    for RewriteTransportStatus<S>
where
    S: tower_service::Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResponseBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            let Some(status) = response.extensions().get::<tonic::Status>().and_then(rewritten) else {
                return Ok(response);
            };
            let replacement: http::Response<()> = status.clone().into_http();
            for name in ["grpc-status", "grpc-message"] {
                if let Some(value) = replacement.headers().get(name) {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            registratur_ops::metrics::global().request_error(super::status::error_code(status.code()));
            response.extensions_mut().insert(status);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    use super::*;

    #[tokio::test]
    async fn accepted_grpc_connections_have_nodelay_set() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut incoming = accepted_connections(listener);
        let client = tokio::spawn(tokio::net::TcpStream::connect(address));
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(accepted.nodelay().unwrap(), "an accepted connection must have TCP_NODELAY set");
        client.await.unwrap().unwrap();
    }
}
