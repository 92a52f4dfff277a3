//! `LocalBlobStore`: blobs as read-only files under `blobs/ab/cd/<hex>`, written like Garage's block store.
//!
//! A put streams into `tmp/`, hashing as it goes (large chunks are written by a helper thread while
//! they are hashed); commit fsyncs the file, renames it to its address and fsyncs the directory, so a
//! crash leaves either the whole blob or nothing visible. Leftover temp files
//! are removed when the store is opened. Corrupted blobs are moved to `quarantine/`.
//!
//! Every file operation goes through the [`BlobFs`] seam (`fs.rs`): the real file system in the
//! product, a power-loss simulation in the crash tests (`crash_fs.rs`).

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use super::fs::{BlobFile, BlobFs, ReadFile, StdFs};
use super::{BlobError, BlobStore, BlobWriter, PutOutcome, VerifyingReader};
use crate::hash::{BlobDigest, BlobHash, DualHasher};

/// Whether puts are fsynced before they are acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync the file and its directory before a put returns. The only setting for real data.
    #[default]
    Fsync,
    /// Skip fsync. Acknowledged blobs can be lost on power failure: for benchmarks and tests only.
    NoSync,
}

/// A blob store on the local file system. See the module documentation. Cheap to clone.
#[derive(Clone)]
pub struct LocalBlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    durability: Durability,
    fs: Arc<dyn BlobFs>,
    /// Temp files are named `<pid>-<counter>.part`.
    pid: u32,
    temp_counter: AtomicU64,
    /// Directories being created whose entry in their parent may not be durable yet, with how many
    /// creators are at it. Another put can rename its blob into such a directory in that moment; it
    /// then syncs the parent itself before it answers (see [`Inner::sync_new_ancestors`]).
    unsynced_dirs: Mutex<HashMap<PathBuf, usize>>,
}

/// Size of the buffer a writer fills before hashing and writing; large enough that BLAKE3 and
/// SHA-256 run in parallel on it.
const WRITE_BUFFER: usize = 1 << 20;

impl LocalBlobStore {
    /// Opens (creating if needed) a store under `root` and removes temp files left by a crash.
    pub fn open(root: impl AsRef<Path>, durability: Durability) -> Result<Self, BlobError> {
        Self::open_on(Arc::new(StdFs), root.as_ref(), durability)
    }

    /// Opens the store on the given file system: the crash tests pass their power-loss simulation.
    pub(crate) fn open_on(
        fs: Arc<dyn BlobFs>,
        root: &Path,
        durability: Durability,
    ) -> Result<Self, BlobError> {
        let root = root.to_path_buf();
        let inner = Inner {
            root,
            durability,
            fs,
            pid: std::process::id(),
            temp_counter: AtomicU64::new(0),
            unsynced_dirs: Mutex::new(HashMap::new()),
        };
        // Each directory created is made durable in its parent, so that a power cut cannot take the
        // whole tree (and every blob in it) away after puts were acknowledged.
        for dir in ["blobs", "tmp", "quarantine"] {
            inner.ensure_dir(&inner.root.join(dir))?;
        }
        inner.remove_leftover_temp_files()?;
        Ok(Self { inner: Arc::new(inner) })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Where a blob lives: `blobs/ab/cd/abcd…`.
    pub fn path_of(&self, hash: &BlobHash) -> PathBuf {
        self.inner.path_of(hash)
    }

    /// Files moved aside because their bytes no longer matched their hash.
    pub fn quarantined(&self) -> Result<Vec<PathBuf>, BlobError> {
        let dir = self.inner.root.join("quarantine");
        let mut paths = self.inner.read_dir_paths(&dir)?;
        paths.sort();
        Ok(paths)
    }
}

impl Inner {
    fn path_of(&self, hash: &BlobHash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join("blobs").join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    fn read_dir_paths(&self, dir: &Path) -> Result<Vec<PathBuf>, BlobError> {
        self.fs.read_dir(dir).map_err(BlobError::io(format!("listing {}", dir.display())))
    }

    fn read_dir_names(&self, dir: &Path) -> Result<Vec<String>, BlobError> {
        let names = self.read_dir_paths(dir)?.into_iter();
        Ok(names.filter_map(|path| path.file_name().and_then(|n| n.to_str()).map(str::to_owned)).collect())
    }

    /// The fan-out directories (two lowercase hex digits) in `dir`, sorted; anything else is logged and
    /// skipped, so that a stray file cannot break the hash order of a listing.
    fn sorted_fanout_names(&self, dir: &Path) -> Result<Vec<String>, BlobError> {
        let mut names = Vec::new();
        for name in self.read_dir_names(dir)? {
            let fanout = name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if fanout && self.fs.is_dir(&dir.join(&name)) {
                names.push(name);
            } else {
                tracing::warn!(path = %dir.join(&name).display(), "ignoring a stray entry in the blob tree");
            }
        }
        names.sort_unstable();
        Ok(names)
    }

    fn remove_leftover_temp_files(&self) -> Result<(), BlobError> {
        for path in self.read_dir_paths(&self.root.join("tmp"))? {
            tracing::info!(path = %path.display(), "removing blob temp file left by an interrupted put");
            self.fs.remove_file(&path).map_err(BlobError::io(format!("removing {}", path.display())))?;
        }
        Ok(())
    }

    fn quarantine(&self, hash: &BlobHash) -> Result<(), BlobError> {
        let from = self.path_of(hash);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let to = self.root.join("quarantine").join(format!("{hash}.{nanos}"));
        tracing::error!(%hash, quarantine = %to.display(), "blob bytes do not match their hash; quarantined");
        match self.fs.rename(&from, &to) {
            Ok(()) => {}
            // Another reader quarantined it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(BlobError::io(format!("quarantining {hash}"))(e)),
        }
        self.sync_dir(from.parent().expect("blob paths have a parent"))?;
        self.sync_dir(&self.root.join("quarantine"))
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), BlobError> {
        if self.durability == Durability::NoSync {
            return Ok(());
        }
        self.fs.sync_dir(dir).map_err(BlobError::io(format!("syncing directory {}", dir.display())))
    }

    /// Creates `dir` (the store's own directories, `blobs/ab/cd`) and its missing parents, fsyncing each
    /// parent whose entries changed.
    fn ensure_dir(&self, dir: &Path) -> Result<(), BlobError> {
        if self.fs.is_dir(dir) {
            return Ok(());
        }
        // Only the file system root has no parent, and it always exists.
        let Some(parent) = parent_dir(dir) else { return Ok(()) };
        self.ensure_dir(parent)?;
        // Registered before it exists, so that a put that finds it before its parent is synced knows.
        *self.unsynced_dirs().entry(dir.to_path_buf()).or_default() += 1;
        match self.fs.create_dir(dir) {
            // Created here, or by another put that may not have synced the parent yet: sync it.
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                self.settle_dir(dir);
                return Err(BlobError::io(format!("creating {}", dir.display()))(e));
            }
        }
        // Left registered when the sync fails: later puts into it then sync the parent themselves.
        self.sync_dir(parent)?;
        self.settle_dir(dir);
        Ok(())
    }

    /// One creator of `dir` is done with it (see `unsynced_dirs`).
    fn settle_dir(&self, dir: &Path) {
        let mut unsynced = self.unsynced_dirs();
        if let Some(creators) = unsynced.get_mut(dir) {
            *creators -= 1;
            if *creators == 0 {
                unsynced.remove(dir);
            }
        }
    }

    /// Makes the entries that lead to `dir` durable where a concurrent put created them and may not
    /// have synced their parent yet; without this, a blob renamed into a fan-out directory that another
    /// put just made could be acknowledged while the directory itself can still vanish.
    fn sync_new_ancestors(&self, dir: &Path) -> Result<(), BlobError> {
        let mut to_sync = Vec::new();
        {
            let unsynced = self.unsynced_dirs();
            // The usual case: no directory is being created.
            if unsynced.is_empty() {
                return Ok(());
            }
            let mut level = dir;
            while level.starts_with(&self.root) && level != self.root {
                let Some(parent) = parent_dir(level) else { break };
                if unsynced.contains_key(level) {
                    to_sync.push(parent.to_path_buf());
                }
                level = parent;
            }
        }
        to_sync.iter().try_for_each(|parent| self.sync_dir(parent))
    }

    fn unsynced_dirs(&self) -> MutexGuard<'_, HashMap<PathBuf, usize>> {
        // The map stays consistent under a panic elsewhere: every update is a single call.
        self.unsynced_dirs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Feeds the whole file at `path` to `hash`. `None` when it does not exist.
    fn read_through(
        &self,
        path: &Path,
        mut hash: impl FnMut(&[u8]),
    ) -> io::Result<Option<Box<dyn ReadFile>>> {
        let mut file = match self.fs.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut buf = vec![0u8; WRITE_BUFFER];
        loop {
            let n = read_full(&mut file, &mut buf)?;
            if n == 0 {
                break;
            }
            hash(&buf[..n]);
        }
        Ok(Some(file))
    }

    /// Re-hashes the blob with both functions, quarantining it when its BLAKE3 does not match.
    fn verified_digest(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        let mut hasher = DualHasher::new();
        let read = self.read_through(&self.path_of(hash), |bytes| hasher.update(bytes));
        let Some(file) = read.map_err(BlobError::io(format!("reading blob {hash}")))? else {
            return Ok(None);
        };
        drop(file);
        let digest = hasher.finalize();
        self.check_address(hash, &digest.blake3)?;
        Ok(Some(digest))
    }

    /// Checks the blob's address only (BLAKE3, no SHA-256: reads need no more) and returns the open
    /// file; quarantines a mismatch.
    fn verified_file(&self, hash: &BlobHash) -> Result<Option<Box<dyn ReadFile>>, BlobError> {
        let mut hasher = blake3::Hasher::new();
        let read = self.read_through(&self.path_of(hash), |bytes| {
            hasher.update(bytes);
        });
        let Some(file) = read.map_err(BlobError::io(format!("reading blob {hash}")))? else {
            return Ok(None);
        };
        self.check_address(hash, &BlobHash::from_bytes(*hasher.finalize().as_bytes()))?;
        Ok(Some(file))
    }

    /// Quarantines the blob and fails with `Corrupted` unless its bytes hashed to its address.
    fn check_address(&self, hash: &BlobHash, actual: &BlobHash) -> Result<(), BlobError> {
        if actual == hash {
            return Ok(());
        }
        self.quarantine(hash)?;
        Err(BlobError::Corrupted { hash: *hash })
    }
}

impl BlobStore for LocalBlobStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, BlobError> {
        let mut writer = LocalBlobWriter::new(&self.inner);
        // A streamed put owns its temp file from the start, so a crash mid-stream leaves it behind
        // for `open` to remove rather than bytes only in memory.
        let context = format!("creating {}", writer.temp.path.display());
        writer.temp.file().map_err(BlobError::io(context))?;
        Ok(Box::new(writer))
    }

    /// Hashes and writes straight from `bytes`: no copy into the writer's buffer, and the temp file is
    /// created by the helper that writes it, while the caller hashes.
    fn put(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        let mut writer = LocalBlobWriter::new(&self.inner);
        writer.hash_and_write(bytes).map_err(BlobError::io("writing a new blob"))?;
        writer.finish()
    }

    /// Reads straight into the writer's buffer: one copy, and hashing and writing as for [`Self::put`].
    fn put_reader(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        let mut writer = LocalBlobWriter::new(&self.inner);
        writer.fill_from(reader).map_err(BlobError::io("copying into a new blob"))?;
        writer.finish()
    }

    /// Reads the blob once and checks the bytes in memory: what is returned is what was hashed.
    fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let bytes = match self.inner.fs.read(&self.inner.path_of(hash)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound { hash: *hash }),
            Err(e) => return Err(BlobError::io(format!("reading blob {hash}"))(e)),
        };
        self.inner.check_address(hash, &BlobHash::of(&bytes))?;
        Ok(bytes)
    }

    fn open(&self, hash: &BlobHash) -> Result<Box<dyn Read + Send>, BlobError> {
        let mut file = self.inner.verified_file(hash)?.ok_or(BlobError::NotFound { hash: *hash })?;
        file.seek(SeekFrom::Start(0)).map_err(BlobError::io(format!("rewinding blob {hash}")))?;
        Ok(Box::new(VerifyingReader::new(BufReader::with_capacity(WRITE_BUFFER, file), *hash)))
    }

    fn size_of(&self, hash: &BlobHash) -> Result<Option<u64>, BlobError> {
        match self.inner.fs.len(&self.inner.path_of(hash)) {
            Ok(len) => Ok(Some(len)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::io(format!("reading the size of blob {hash}"))(e)),
        }
    }

    fn verify(&self, hash: &BlobHash) -> Result<Option<BlobDigest>, BlobError> {
        self.inner.verified_digest(hash)
    }

    /// Walks the fan-out directories in name order (which is hash order), skipping those wholly at or
    /// before `after`: a page reads the directories it lists from, not the whole tree.
    fn list_page(&self, after: Option<&BlobHash>, limit: usize) -> Result<Vec<BlobHash>, BlobError> {
        let mut hashes = Vec::new();
        if limit == 0 {
            return Ok(hashes);
        }
        let after_hex = after.map(BlobHash::to_hex).unwrap_or_default();
        let blobs = self.inner.root.join("blobs");
        for level1 in self.inner.sorted_fanout_names(&blobs)? {
            if level1.as_str() < after_hex.get(..2).unwrap_or("") {
                continue;
            }
            let level1_dir = blobs.join(&level1);
            for level2 in self.inner.sorted_fanout_names(&level1_dir)? {
                let prefix = format!("{level1}{level2}");
                if prefix.as_str() < after_hex.get(..4).unwrap_or("") {
                    continue;
                }
                let level2_dir = level1_dir.join(&level2);
                let mut names = self.inner.read_dir_names(&level2_dir)?;
                names.sort_unstable();
                for name in names {
                    let hash = match BlobHash::from_hex(&name) {
                        Ok(hash) if name.starts_with(&prefix) => hash,
                        _ => {
                            let path = level2_dir.join(&name);
                            tracing::warn!(path = %path.display(), "ignoring a stray file in the blob tree");
                            continue;
                        }
                    };
                    if after.is_some_and(|after| hash <= *after) {
                        continue;
                    }
                    hashes.push(hash);
                    if hashes.len() == limit {
                        return Ok(hashes);
                    }
                }
            }
        }
        Ok(hashes)
    }
}

/// A put in progress: bytes are buffered, hashed and appended to a temp file in `tmp/`.
struct LocalBlobWriter {
    store: Arc<Inner>,
    temp: TempFile,
    /// Collects small writes; allocated on the first one, so one-shot puts never allocate it.
    buffer: Vec<u8>,
    hasher: DualHasher,
}

/// A temp file in `tmp/`, created on first use, read-only from birth (the open handle may still write,
/// nobody else ever can). Removed on drop unless it was moved into place.
struct TempFile {
    fs: Arc<dyn BlobFs>,
    path: PathBuf,
    file: Option<Box<dyn BlobFile>>,
    /// False once the file has been renamed to its address or removed.
    present: bool,
}

impl TempFile {
    fn file(&mut self) -> io::Result<&mut dyn BlobFile> {
        if self.file.is_none() {
            let file = self.fs.create_new_read_only(&self.path)?;
            self.present = true;
            self.file = Some(file);
        }
        Ok(self.file.as_deref_mut().expect("the temp file was just created"))
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file()?.write_all(bytes)
    }

    fn remove(&mut self) {
        if std::mem::take(&mut self.present)
            && let Err(e) = self.fs.remove_file(&self.path)
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove a blob temp file");
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.remove();
    }
}

impl LocalBlobWriter {
    fn new(store: &Arc<Inner>) -> Self {
        let n = store.temp_counter.fetch_add(1, Ordering::Relaxed);
        let path = store.root.join("tmp").join(format!("{}-{n}.part", store.pid));
        Self {
            store: Arc::clone(store),
            temp: TempFile { fs: Arc::clone(&store.fs), path, file: None, present: false },
            buffer: Vec::new(),
            hasher: DualHasher::new(),
        }
    }

    /// Hashes `bytes` and appends them to the temp file; large chunks are written by a helper thread
    /// while this one hashes (see [`DualHasher::update_while`]).
    fn hash_and_write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Self { hasher, temp, .. } = self;
        hasher.update_while(bytes, || temp.write_all(bytes))
    }

    /// Reads `reader` to its end into the buffer, hashing and writing it whenever it is full.
    fn fill_from(&mut self, reader: &mut dyn Read) -> io::Result<()> {
        self.buffer.reserve_exact(WRITE_BUFFER);
        loop {
            let room = (WRITE_BUFFER - self.buffer.len()) as u64;
            Read::take(&mut *reader, room).read_to_end(&mut self.buffer)?;
            if self.buffer.len() < WRITE_BUFFER {
                return Ok(());
            }
            self.flush_buffer()?;
        }
    }

    fn flush_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let Self { hasher, temp, buffer, .. } = self;
        hasher.update_while(buffer, || temp.write_all(buffer))?;
        self.buffer.clear();
        Ok(())
    }

    /// Makes the blob durable and visible: see [`BlobWriter::commit`].
    fn finish(mut self) -> Result<PutOutcome, BlobError> {
        self.flush_buffer().map_err(BlobError::io("writing a new blob"))?;
        let store = Arc::clone(&self.store);
        let digest = std::mem::take(&mut self.hasher).finalize();
        let hash = digest.blake3;

        // Identical bytes already stored? Decided by the file's size alone, never by reading it (see the
        // contract in `blob`): a same-size damaged copy is left for verified reads and the scrub to find.
        // A file of another size is damaged for certain: it is quarantined and replaced below.
        let target = store.path_of(&hash);
        match store.fs.len(&target) {
            Ok(len) if len == digest.size => return Ok(PutOutcome { digest, newly_stored: false }),
            Ok(_) => store.quarantine(&hash)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(BlobError::io(format!("looking for stored blob {hash}"))(e)),
        }

        // An empty blob has written nothing yet: its file is created here.
        let context = format!("creating {}", self.temp.path.display());
        let file = self.temp.file().map_err(BlobError::io(context))?;
        if store.durability == Durability::Fsync {
            file.sync_all().map_err(BlobError::io(format!("syncing new blob {hash}")))?;
        }
        let dir = target.parent().expect("blob paths have a parent");
        // Most fan-out directories exist already: try the rename first and create them only when it
        // fails for want of them.
        let renamed = match store.fs.rename(&self.temp.path, &target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                store.ensure_dir(dir)?;
                store.fs.rename(&self.temp.path, &target)
            }
            other => other,
        };
        renamed.map_err(BlobError::io(format!("moving blob {hash} into place")))?;
        self.temp.present = false;
        store.sync_dir(dir)?;
        store.sync_new_ancestors(dir)?;
        Ok(PutOutcome { digest, newly_stored: true })
    }
}

impl Write for LocalBlobWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buffer.is_empty() && bytes.len() >= WRITE_BUFFER {
            // Large writes skip the copy into the buffer.
            self.hash_and_write(bytes)?;
            return Ok(bytes.len());
        }
        if self.buffer.capacity() < WRITE_BUFFER {
            self.buffer.reserve_exact(WRITE_BUFFER);
        }
        let room = WRITE_BUFFER - self.buffer.len();
        let take = room.min(bytes.len());
        self.buffer.extend_from_slice(&bytes[..take]);
        if self.buffer.len() == WRITE_BUFFER {
            self.flush_buffer()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Buffered bytes are written at commit; flushing early would only split hash updates.
        Ok(())
    }
}

impl BlobWriter for LocalBlobWriter {
    fn commit(self: Box<Self>) -> Result<PutOutcome, BlobError> {
        self.finish()
    }
}

/// The directory `dir` is in: `.` for a relative path's first component, `None` for the root.
fn parent_dir(dir: &Path) -> Option<&Path> {
    match dir.parent() {
        Some(parent) if parent.as_os_str().is_empty() => Some(Path::new(".")),
        other => other,
    }
}

/// Reads until `buf` is full or the reader is exhausted.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
