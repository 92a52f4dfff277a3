//! The file-system seam under [`super::LocalBlobStore`]: exactly the operations it performs, so that a
//! test can put a power-loss simulation underneath it.
//!
//! [`StdFs`] is the real file system and the only implementation the product uses. The tests'
//! implementation (`crash_fs::CrashFs`) performs the same operations on the real file system while it
//! tracks which of their effects are durable, and at a simulated crash turns the directory into what a
//! power cut would leave: file bytes only up to their last fsync, directory entries (creations, renames,
//! removals) only as of their directory's last fsync.
//!
//! The durability contract both implementations keep is POSIX's: [`BlobFile::sync_all`] makes a file's
//! bytes durable but not its name; [`BlobFs::sync_dir`] makes a directory's entries durable (names
//! created, renamed in or out, removed) but not the bytes of the files they name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The file operations of the local blob store. Paths are absolute or relative to the working directory,
/// as the store builds them; errors are the file system's own.
pub(crate) trait BlobFs: Send + Sync + 'static {
    /// Creates one directory; fails with `AlreadyExists` when it exists.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;

    fn is_dir(&self, path: &Path) -> bool;

    /// Creates a new file, failing with `AlreadyExists` when the name is taken. The file is read-only for
    /// everyone from birth (mode 0444); only the returned handle can write it.
    fn create_new_read_only(&self, path: &Path) -> io::Result<Box<dyn BlobFile>>;

    /// Opens a file for reading.
    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadFile>>;

    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// A file's length in bytes.
    fn len(&self, path: &Path) -> io::Result<u64>;

    /// Renames a file, replacing `to` if it exists. Durable only once both directories are synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file's name. Durable only once its directory is synced.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Makes the entries of `dir` durable (fsync of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// The paths of the entries of `dir`, in no particular order.
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
}

/// A file being written: appends only.
pub(crate) trait BlobFile: Write + Send {
    /// Makes the bytes written so far durable (fsync of the file), not the file's name.
    fn sync_all(&mut self) -> io::Result<()>;
}

/// A file being read.
pub(crate) trait ReadFile: Read + Seek + Send {}

impl<T: Read + Seek + Send> ReadFile for T {}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StdFs;

impl BlobFile for File {
    fn sync_all(&mut self) -> io::Result<()> {
        File::sync_all(self)
    }
}

impl BlobFs for StdFs {
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir(dir)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn create_new_read_only(&self, path: &Path) -> io::Result<Box<dyn BlobFile>> {
        let file = OpenOptions::new().write(true).create_new(true).mode(0o444).open(path)?;
        Ok(Box::new(file))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        Ok(Box::new(File::open(path)?))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        fs::metadata(path).map(|meta| meta.len())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect()
    }
}
