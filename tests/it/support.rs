//! Test support: an in-process registratur server on a free loopback port, with its own data
//! directory and one token per role.

use std::path::PathBuf;

use registratur::auth::{Principal, Role, TokenRegistry};
use registratur::grpc::client::{Client, ConnectOptions};
use registratur::grpc::server::TlsPem;
use registratur::records::aktenzeichen::AktenplanKey;
use registratur::search::SearchSettings;
use registratur::service::{Engine, EngineLimits, EngineSettings};
use registratur_storage::Store;
use tokio::sync::oneshot;

/// Tokens the test server accepts.
pub const ADMIN: &str = "test-admin-token";
pub const FACHVERFAHREN: &str = "test-fachverfahren-token";
/// A fachverfahren token limited to the Aktenplan subtree 32.
pub const FACHVERFAHREN_32: &str = "test-fachverfahren-32-token";
pub const ARCHIVIST: &str = "test-archivist-token";
pub const MAILROOM: &str = "test-mailroom-token";

pub struct TestServer {
    pub url: String,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The engine, for what only it answers (the Prometheus text); let go before the server stops.
    engine: Option<Engine>,
}

fn principal(name: &str, role: Role, scopes: &[&str]) -> Principal {
    Principal {
        name: name.into(),
        role,
        scopes: scopes.iter().map(|s| AktenplanKey::parse(s).unwrap()).collect(),
    }
}

pub fn test_tokens() -> TokenRegistry {
    let mut tokens = TokenRegistry::default();
    tokens.add(ADMIN, principal("admin", Role::Admin, &[]));
    tokens.add(FACHVERFAHREN, principal("fv", Role::Fachverfahren, &[]));
    tokens.add(FACHVERFAHREN_32, principal("fv-32", Role::Fachverfahren, &["32"]));
    tokens.add(ARCHIVIST, principal("archivist", Role::Archivist, &[]));
    tokens.add(MAILROOM, principal("mailroom", Role::Mailroom, &[]));
    tokens
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(EngineLimits { max_upload_bytes: 64 << 20, ..Default::default() }, None).await
    }

    pub async fn start_with(limits: EngineLimits, tls: Option<TlsPem>) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), limits, tls).await
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(self) -> Self {
        self.restart_after(|_| {}).await
    }

    /// Stops the server, lets `offline` work on the data directory (tamper tests), and starts a new
    /// server on it.
    pub async fn restart_after(mut self, offline: impl FnOnce(&std::path::Path)) -> Self {
        self.engine = None;
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        offline(&self.data_dir);
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        Self::start_in(dir, EngineLimits { max_upload_bytes: 64 << 20, ..Default::default() }, None).await
    }

    /// A server on a copy of the data directory `data` (an old build's data, say), left as it is.
    pub async fn start_on_copy_of(data: &std::path::Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        copy_dir(data, &dir.path().join("data"));
        // Git keeps no file modes but the executable bit: give the secrets the mode the engine demands
        // of them (it refuses a routing key others may read).
        for secret in ["keys", "bootstrap-admin.token"] {
            let path = dir.path().join("data").join(secret);
            let files: Vec<std::path::PathBuf> = if path.is_dir() {
                std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()).collect()
            } else {
                vec![path]
            };
            for file in files.into_iter().filter(|f| f.is_file()) {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        Self::start_in(dir, EngineLimits { max_upload_bytes: 64 << 20, ..Default::default() }, None).await
    }

    async fn start_in(dir: tempfile::TempDir, limits: EngineLimits, tls: Option<TlsPem>) -> Self {
        let data_dir = dir.path().join("data");
        let engine = Engine::open(&data_dir, test_settings(limits)).unwrap();
        Self::serve(dir, data_dir, engine, tls).await
    }

    /// A server whose engine reads the time from `clock`, so that a test can let retention run out.
    pub async fn start_with_clock(clock: std::sync::Arc<dyn registratur_storage::clock::Clock>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut settings = test_settings(EngineLimits { max_upload_bytes: 64 << 20, ..Default::default() });
        settings.clock = Some(clock);
        let engine = Engine::open(&data_dir, settings).unwrap();
        Self::serve(dir, data_dir, engine, None).await
    }

    /// A server over a store the test assembled (a blob store that fails on purpose, say); `make_store`
    /// gets the data directory to use.
    pub async fn start_over_store(make_store: impl FnOnce(&std::path::Path) -> Store) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let store = make_store(&data_dir);
        let limits = EngineLimits { max_upload_bytes: 64 << 20, ..Default::default() };
        let engine = Engine::new(store, test_settings(limits)).unwrap();
        Self::serve(dir, data_dir, engine, None).await
    }

    async fn serve(dir: tempfile::TempDir, data_dir: PathBuf, engine: Engine, tls: Option<TlsPem>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (shutdown, signal) = oneshot::channel::<()>();
        let kept = engine.clone();
        let task = tokio::spawn(async move {
            registratur::grpc::server::serve(engine, test_tokens(), tls, listener, async {
                let _ = signal.await;
            })
            .await
            .unwrap();
        });
        Self { url, data_dir, _dir: dir, shutdown: Some(shutdown), task: Some(task), engine: Some(kept) }
    }

    /// A server whose engine also makes evidence records, in `dir` (a fresh one, or the one a stopped
    /// server kept with [`TestServer::stop_keeping_dir`]).
    pub async fn start_with_evidence(
        dir: tempfile::TempDir,
        evidence: registratur::service::evidence::EvidenceSettings,
    ) -> Self {
        let data_dir = dir.path().join("data");
        let limits = EngineLimits { max_upload_bytes: 64 << 20, ..Default::default() };
        let settings = EngineSettings { evidence: Some(evidence), ..test_settings(limits) };
        let engine = Engine::open(&data_dir, settings).unwrap();
        Self::serve(dir, data_dir, engine, None).await
    }

    /// Stops the server, waits until it has released the store, and hands over its directory.
    pub async fn stop_keeping_dir(mut self) -> tempfile::TempDir {
        self.engine = None;
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap())
    }

    /// The engine's Prometheus text, as `GET /metrics` serves it.
    pub async fn metrics_text(&self) -> String {
        self.engine.as_ref().expect("the server runs").metrics_text().await
    }

    /// A client with the admin token.
    pub async fn client(&self) -> Client {
        self.client_as(ADMIN).await
    }

    pub async fn client_as(&self, token: &str) -> Client {
        let options =
            ConnectOptions { url: self.url.clone(), token: Some(token.into()), ca_certificate: None };
        Client::connect(options).await.unwrap()
    }

    /// A raw channel (no token), for tests of the wire protocol itself.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Channel::from_shared(self.url.clone()).unwrap().connect().await.unwrap()
    }

    /// Stops the server and waits until it has released the store.
    pub async fn stop(mut self) {
        self.engine = None;
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// Copies a directory tree (files writable, whatever they were).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn test_settings(limits: EngineLimits) -> EngineSettings {
    // Commit the search index often, so that tests do not wait a second for each change.
    let search = SearchSettings {
        commit_interval: std::time::Duration::from_millis(50),
        poll_interval: std::time::Duration::from_millis(10),
        ..SearchSettings::default()
    };
    EngineSettings { limits, search, ..EngineSettings::default() }
}

/// `TCP_NODELAY` of every connection this process has accepted on `port`: read with `getsockopt` from
/// the server side of each socket, since the option of the peer's end says nothing about ours.
pub fn accepted_sockets_nodelay(port: u16) -> Vec<bool> {
    use std::os::fd::AsRawFd;
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        if !std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        {
            continue;
        }
        // SAFETY: the descriptor is only borrowed for two queries; `ManuallyDrop` keeps it open.
        let socket = std::mem::ManuallyDrop::new(unsafe {
            <std::net::TcpStream as std::os::fd::FromRawFd>::from_raw_fd(fd)
        });
        // A listener has no peer; a client socket's local port is not the server's.
        let (Ok(local), Ok(_)) = (socket.local_addr(), socket.peer_addr()) else { continue };
        if local.port() != port {
            continue;
        }
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are valid for the option's size.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "getsockopt(TCP_NODELAY) failed");
        found.push(value != 0);
    }
    found
}

/// Adds the admin bearer token to raw requests.
pub fn with_admin_token<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
    request
}

/// Deterministic test bytes.
pub fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}
