//! Test support: an in-process registratur server on a free loopback port, with its own data directory.

use std::path::PathBuf;

use registratur::grpc::client::AdminClient;
use registratur::service::{Engine, EngineLimits};
use tokio::sync::oneshot;

pub struct TestServer {
    pub url: String,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(EngineLimits {
            max_upload_bytes: 64 << 20,
        })
        .await
    }

    pub async fn start_with(limits: EngineLimits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let engine = Engine::open(&data_dir, limits).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            registratur::grpc::server::serve(engine, listener, async {
                let _ = signal.await;
            })
            .await
            .unwrap();
        });
        Self {
            url,
            data_dir,
            _dir: dir,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub async fn client(&self) -> AdminClient {
        AdminClient::connect(&self.url).await.unwrap()
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Stops the server and waits until it has released the store.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// Deterministic test bytes.
pub fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
        .collect()
}
