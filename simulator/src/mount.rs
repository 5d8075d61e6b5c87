//! Where the simulated server keeps DATA DIRECTORY tables: outside the
//! datadir, under a fixed absolute name that a link file and the redo log
//! can hold. The name must not depend on the run's temporary directory, or
//! two runs of one seed would write different bytes (`.isl` files, redo
//! file names): the engine reaches it through this mount instead.

use crate::stamps::FileTimes;
use innohot::io::{DirEntry, FileStamp, ReadPolicy, SourceFile, SourceFs};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The absolute name DATA DIRECTORY tables have, on every run.
pub const REMOTE_MOUNT: &str = "/innohot-sim-remote";

/// The directory a run keeps its DATA DIRECTORY tables in.
pub fn remote_dir(root: &Path) -> PathBuf {
    root.join("remote")
}

/// What a file under the run's remote directory is called on the server.
pub fn remote_name(root: &Path, real: &Path) -> Option<String> {
    let rel = real.strip_prefix(remote_dir(root)).ok()?;
    Some(format!("{REMOTE_MOUNT}/{}", rel.display()))
}

/// A source file system in which `REMOTE_MOUNT` is the run's remote directory,
/// and files carry the simulated times the server wrote them at (`stamps`).
pub struct MountedFs<F: SourceFs> {
    pub inner: F,
    pub remote: PathBuf,
    pub times: Arc<FileTimes>,
}

/// InnoDB's own files: the server writes them through open handles, not
/// through `FileTimes`, so the simulator cannot stamp them.
fn is_innodb_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".ibd") || name.starts_with("ibdata") || name.starts_with("ib_logfile") || name.starts_with("undo")
}

impl<F: SourceFs> MountedFs<F> {
    fn real(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(REMOTE_MOUNT) {
            Ok(rest) => self.remote.join(rest),
            Err(_) => path.to_path_buf(),
        }
    }
}

impl<F: SourceFs> SourceFs for MountedFs<F> {
    fn open(&self, path: &Path, policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>> {
        self.inner.open(&self.real(path), policy)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        self.inner.list(&self.real(dir))
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        if path.starts_with(REMOTE_MOUNT) {
            return Ok(path.to_path_buf());
        }
        self.inner.canonicalize(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(&self.real(path))
    }
    fn file_id(&self, path: &Path) -> io::Result<Option<innohot::io::FileId>> {
        self.inner.file_id(&self.real(path))
    }
    fn size(&self, path: &Path) -> io::Result<u64> {
        self.inner.size(&self.real(path))
    }
    /// The real file's size and identity, with the simulated times.
    fn stamp(&self, path: &Path) -> io::Result<Option<FileStamp>> {
        let real = self.real(path);
        if is_innodb_file(&real) {
            let why = format!("the simulator keeps no write times for InnoDB files ({})", real.display());
            return Err(io::Error::new(io::ErrorKind::Unsupported, why));
        }
        let Some(mut stamp) = self.inner.stamp(&real)? else { return Ok(None) };
        (stamp.mtime_ns, stamp.ctime_ns) = self.times.times(&real);
        Ok(Some(stamp))
    }
}
