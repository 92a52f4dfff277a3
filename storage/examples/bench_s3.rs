//! Blob store throughput on S3 (a local `rclone serve s3`) against the local file system: put and get
//! MiB/s and objects/s for 4 KiB, 200 KiB and 20 MiB blobs, and the peak RSS of a streamed 1 GiB upload
//! to S3 (measured in a child process, so that nothing else inflates it). Run by `scripts/bench-s3`:
//!
//! ```text
//! cargo run --release -p registratur-storage --features s3,test-suite --example bench_s3 -- [SECONDS]
//! ```
//!
//! SECONDS (default 3) is the time spent per size, backend and direction.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use registratur_storage::blob::s3::rclone::RcloneS3;
use registratur_storage::blob::{BlobStore, Durability, LocalBlobStore, S3BlobStore};
use registratur_storage::hash::BlobHash;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--upload-child") {
        return upload_child(&args[2..]);
    }
    let seconds: f64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(3.0);
    let budget = Duration::from_secs_f64(seconds);

    let server = RcloneS3::start()?;
    let s3: Arc<dyn BlobStore> = Arc::new(S3BlobStore::connect(&server.settings("bench"))?);
    let dir = tempfile::tempdir()?;
    let fsync: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(dir.path().join("fsync"), Durability::Fsync)?);
    let nosync: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(dir.path().join("nosync"), Durability::NoSync)?);

    println!(
        "{:<28} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "backend", "size", "put MiB/s", "put obj/s", "get MiB/s", "get obj/s"
    );
    for (size, label) in [(4 << 10, "4 KiB"), (200 << 10, "200 KiB"), (20 << 20, "20 MiB")] {
        for (name, store) in
            [("s3 (rclone, loopback)", &s3), ("local fs, fsync", &fsync), ("local fs, no fsync", &nosync)]
        {
            let (put_rate, hashes) = measure_puts(store.as_ref(), size, budget)?;
            let get_rate = measure_gets(store.as_ref(), &hashes, budget)?;
            let mib = |objects: f64| objects * size as f64 / (1 << 20) as f64;
            println!(
                "{name:<28} {label:>8} {:>10.1} {:>10.0} {:>10.1} {:>10.0}",
                mib(put_rate),
                put_rate,
                mib(get_rate),
                get_rate
            );
        }
    }

    // Peak RSS of a streamed 1 GiB upload, in a child that does nothing else.
    let exe = std::env::current_exe()?;
    let settings = server.settings("bench-rss");
    let output = std::process::Command::new(exe)
        .args(["--upload-child", &settings.endpoint.clone().unwrap_or_default(), &settings.bucket])
        .args([&settings.credentials.access_key_id, &settings.credentials.secret_access_key])
        .output()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

/// Puts distinct blobs of `size` bytes for `budget`; objects per second and what was stored.
fn measure_puts(store: &dyn BlobStore, size: usize, budget: Duration) -> io::Result<(f64, Vec<BlobHash>)> {
    let mut bytes = vec![0u8; size];
    let start = Instant::now();
    let mut hashes = Vec::new();
    let mut n: u64 = 0;
    while start.elapsed() < budget || hashes.is_empty() {
        n += 1;
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        bytes[size - 8..].copy_from_slice(&(n ^ 0x5a5a).to_le_bytes());
        hashes.push(store.put(&bytes).map_err(io::Error::other)?.digest.blake3);
    }
    Ok((hashes.len() as f64 / start.elapsed().as_secs_f64(), hashes))
}

/// Streams stored blobs back (verified) for `budget`; objects per second.
fn measure_gets(store: &dyn BlobStore, hashes: &[BlobHash], budget: Duration) -> io::Result<f64> {
    let start = Instant::now();
    let mut done = 0usize;
    let mut buffer = vec![0u8; 1 << 20];
    while start.elapsed() < budget || done == 0 {
        let mut reader = store.open(&hashes[done % hashes.len()]).map_err(io::Error::other)?;
        while reader.read(&mut buffer)? > 0 {}
        done += 1;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// A reader of `len` pseudo-random bytes that never holds more than the caller's buffer.
struct Generated {
    left: u64,
    state: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left as usize) & !7;
        let n = if n == 0 { buf.len().min(self.left as usize) } else { n };
        for chunk in buf[..n].chunks_mut(8) {
            self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let word = self.state.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn upload_child(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [endpoint, bucket, key, secret] = args else {
        return Err("usage: --upload-child ENDPOINT BUCKET KEY SECRET".into());
    };
    let credentials = registratur_storage::blob::S3Credentials {
        access_key_id: key.clone(),
        secret_access_key: secret.clone(),
    };
    let settings =
        registratur_storage::blob::S3Settings::new(Some(endpoint.clone()), "us-east-1", bucket, credentials);
    let part_mib = settings.part_size >> 20;
    let store = S3BlobStore::connect(&settings)?;
    let before = peak_rss_kib();
    let start = Instant::now();
    let outcome = store.put_reader(&mut Generated { left: 1 << 30, state: 7 })?;
    let seconds = start.elapsed().as_secs_f64();
    let after = peak_rss_kib();
    println!(
        "1 GiB streamed upload to S3 ({part_mib} MiB parts): {:.1} MiB/s, peak RSS {} MiB (before the upload {} MiB), blob {}",
        1024.0 / seconds,
        after / 1024,
        before / 1024,
        outcome.digest.blake3
    );
    Ok(())
}
