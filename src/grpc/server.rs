//! Assembles the gRPC server: registratur's services behind bearer-token authentication, the standard
//! health service and reflection (both open), and optional TLS.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, ServerTlsConfig};

use super::admin::AdminHandlers;
use super::auth::Authenticator;
use super::mailroom::MailroomHandlers;
use super::migration::MigrationHandlers;
use super::pb;
use super::pb::admin_service_server::AdminServiceServer;
use super::pb::mailroom_service_server::MailroomServiceServer;
use super::pb::migration_service_server::MigrationServiceServer;
use super::pb::records_service_server::RecordsServiceServer;
use super::pb::search_service_server::SearchServiceServer;
use super::records::RecordsHandlers;
use super::search::SearchHandlers;
use crate::auth::TokenRegistry;
use crate::service::Engine;

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
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the embedded descriptor sets are valid");
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
    let records = RecordsServiceServer::new(RecordsHandlers { engine })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);

    let mut builder = tonic::transport::Server::builder()
        .layer(tower_layer::layer_fn(|inner| OversizeIsResourceExhausted { inner }));
    if let Some(tls) = tls {
        let identity = Identity::from_pem(tls.certificate, tls.private_key);
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(tonic::service::interceptor::InterceptedService::new(admin, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(records, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(mailroom, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(search, authenticator.clone()))
        .add_service(tonic::service::interceptor::InterceptedService::new(migration, authenticator))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}

/// tonic refuses a message above the size limit with OUT_OF_RANGE; the gRPC status code
/// specification asks for RESOURCE_EXHAUSTED ("sent or received message was larger than configured
/// limit"), which is also what clients retry differently. This layer rewrites exactly that status in
/// a response's headers (where a refused request's status travels) and keeps tonic's message, which
/// names the size found and the limit.
#[derive(Clone)]
struct OversizeIsResourceExhausted<S> {
    inner: S,
}

const TONIC_OVERSIZE_MESSAGE: &str = "decoded message length too large";

impl<S, RequestBody, ResponseBody> tower_service::Service<http::Request<RequestBody>>
    for OversizeIsResourceExhausted<S>
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
            // A refused request's status travels in the headers of a trailers-only response, and
            // tonic keeps the `Status` it made them from in the extensions.
            let oversize = response.extensions().get::<tonic::Status>().is_some_and(|status| {
                status.code() == tonic::Code::OutOfRange && status.message().contains(TONIC_OVERSIZE_MESSAGE)
            });
            if oversize {
                let original = response.extensions_mut().remove::<tonic::Status>().expect("checked above");
                let status = tonic::Status::resource_exhausted(format!(
                    "request message too large ({}); send big content as a stream of smaller chunks",
                    original.message()
                ));
                let replacement: http::Response<()> = status.into_http();
                for name in ["grpc-status", "grpc-message"] {
                    if let Some(value) = replacement.headers().get(name) {
                        response.headers_mut().insert(name, value.clone());
                    }
                }
                crate::metrics::global().rpc_error("resource_exhausted");
            }
            Ok(response)
        })
    }
}
