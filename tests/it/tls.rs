//! TLS: a server with a configured certificate serves over TLS, and a client trusting it connects.

use registratur::grpc::client::{Client, ConnectOptions};
use registratur::grpc::server::TlsPem;
use registratur::service::EngineLimits;

use crate::support::{ADMIN, TestServer, accepted_sockets_nodelay};

#[tokio::test]
async fn tls_server_accepts_a_client_that_trusts_its_certificate_and_refuses_plaintext() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let certificate = certified.cert.pem();
    let tls = TlsPem {
        certificate: certificate.clone().into_bytes(),
        private_key: certified.signing_key.serialize_pem().into_bytes(),
    };
    let server =
        TestServer::start_with(EngineLimits { max_upload_bytes: 1 << 20, ..Default::default() }, Some(tls))
            .await;
    let url = server.url.replace("127.0.0.1", "localhost");
    assert!(url.starts_with("https://"));

    let options = ConnectOptions {
        url: url.clone(),
        token: Some(ADMIN.into()),
        ca_certificate: Some(certificate.into_bytes()),
    };
    let mut client = Client::connect(options).await.unwrap();
    assert_eq!(client.status().await.unwrap().blob_count, 0);
    // Without TCP_NODELAY every response written in pieces waits ~40 ms for the client's ACK.
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    let nodelay = accepted_sockets_nodelay(port);
    assert!(
        !nodelay.is_empty() && nodelay.iter().all(|&set| set),
        "TLS connections need TCP_NODELAY: {nodelay:?}"
    );

    // A client that does not trust the certificate cannot talk to the server.
    let untrusting = ConnectOptions { url: url.clone(), token: Some(ADMIN.into()), ca_certificate: None };
    let refused = match Client::connect(untrusting).await {
        Ok(mut client) => client.status().await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "a client without the certificate must not get through");
    // Plaintext gRPC against the TLS port fails too.
    let plaintext = ConnectOptions {
        url: url.replace("https://", "http://"),
        token: Some(ADMIN.into()),
        ca_certificate: None,
    };
    let refused = match Client::connect(plaintext).await {
        Ok(mut client) => client.status().await.is_err(),
        Err(_) => true,
    };
    assert!(refused, "plaintext must not get through");
    server.stop().await;
}
