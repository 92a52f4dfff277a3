//! The plain-HTTP endpoint beside gRPC: `GET /metrics` in the Prometheus text format, for scrapers.
//!
//! It carries no records and needs no token; bind it to an address only monitoring can reach
//! (`[server] metrics_listen`, default loopback).

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

use crate::service::Engine;

/// Serves `/metrics` for `engine` on an already bound listener until `shutdown` completes.
pub async fn serve_metrics(
    engine: Engine,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics)).with_state(engine);
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
}
