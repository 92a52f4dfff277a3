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

/// Largest gRPC message the server accepts; uploads are streamed in far smaller chunks.
const MAX_MESSAGE_BYTES: usize = 16 << 20;

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
    let admin = AdminServiceServer::new(AdminHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let mailroom = MailroomServiceServer::new(MailroomHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let search = SearchServiceServer::new(SearchHandlers { engine: engine.clone() });
    let migration = MigrationServiceServer::new(MigrationHandlers { engine: engine.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let records =
        RecordsServiceServer::new(RecordsHandlers { engine }).max_decoding_message_size(MAX_MESSAGE_BYTES);

    let mut builder = tonic::transport::Server::builder();
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
