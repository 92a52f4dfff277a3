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
use tokio::net::TcpListener;

use crate::service::Engine;

/// Serves `/metrics` for `engine` on an already bound listener until `shutdown` completes.
pub async fn serve_metrics(
    engine: Engine,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route("/metrics", get(metrics)).with_state(engine);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn metrics(State(engine): State<Engine>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], engine.metrics_text().await)
}
