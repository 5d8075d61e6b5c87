//! Planned faults around any [`SourceFs`] or [`TargetDir`]: a deterministic
//! plan names the file and the call that fails (ENOSPC on a create, EIO on the
//! n-th write or read, EIO on an fdatasync), and each fault records in words
//! when it fired, so a harness can tell a failure it called for from a bug.
//! `MemFs` has its own plan (`memfs::FaultPlan`), counted in changes.

use super::{DirEntry, FileId, FileStamp, ReadPolicy, SourceFile, SourceFs, TargetDir, TargetFile};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// Which planned faults fired, in order, in words.
pub type FiredLog = Arc<Mutex<Vec<String>>>;

/// The source file system calls that grow with the number of files (opens,
/// directory listings and stamps), as "open PATH" / "list DIR" / "stat PATH",
/// in order: a harness reads which of them happened while commits were blocked.
pub type SourceOps = Arc<Mutex<Vec<String>>>;

fn fire(log: &FiredLog, what: String) {
    log.lock().expect("fired log").push(what);
}

/// Which target calls fail; the default is none. Files are named by their
/// path relative to the target's root, as displayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetFaults {
    /// Creating this file fails with ENOSPC.
    pub create_enospc: Option<String>,
    /// The n-th write (1-based) through a handle of this file fails with EIO.
    pub write_eio: Option<(String, u32)>,
    /// fdatasync of this file (through its handle or `sync_file`) fails with EIO.
    pub sync_eio: Option<String>,
}

/// A target whose planned calls fail; the others pass through.
pub struct FaultyTarget<T: TargetDir> {
    pub inner: T,
    pub faults: TargetFaults,
    pub fired: FiredLog,
}

struct FaultyTargetFile {
    inner: Box<dyn TargetFile>,
    name: String,
    writes: u32,
    eio_on_write: Option<u32>,
    eio_on_sync: bool,
    fired: FiredLog,
}

impl TargetFile for FaultyTargetFile {
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.writes += 1;
        if self.eio_on_write == Some(self.writes) {
            fire(&self.fired, format!("EIO on write {} of {}", self.writes, self.name));
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.inner.write_at(data, offset)
    }
    fn sync(&mut self) -> io::Result<()> {
        if self.eio_on_sync {
            fire(&self.fired, format!("EIO on fdatasync of {}", self.name));
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.inner.sync()
    }
}

impl<T: TargetDir> TargetDir for FaultyTarget<T> {
    fn create_dir_all(&self, rel: &Path) -> io::Result<()> {
        self.inner.create_dir_all(rel)
    }
    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn TargetFile>> {
        let name = rel.display().to_string();
        if self.faults.create_enospc.as_deref() == Some(name.as_str()) {
            fire(&self.fired, format!("ENOSPC creating {name}"));
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        let inner = self.inner.create_file(rel)?;
        Ok(Box::new(FaultyTargetFile {
            inner,
            eio_on_write: self.faults.write_eio.as_ref().filter(|(n, _)| *n == name).map(|(_, k)| *k),
            eio_on_sync: self.faults.sync_eio.as_deref() == Some(name.as_str()),
            name,
            writes: 0,
            fired: self.fired.clone(),
        }))
    }
    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.inner.remove_file(rel)
    }
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.publish(from, to)
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.sync_dir(rel)
    }
    fn sync_file(&self, rel: &Path) -> io::Result<()> {
        let name = rel.display().to_string();
        if self.faults.sync_eio.as_deref() == Some(name.as_str()) {
            fire(&self.fired, format!("EIO on fdatasync of {name}"));
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.inner.sync_file(rel)
    }
    fn root(&self) -> &Path {
        self.inner.root()
    }
    fn streams(&self) -> bool {
        self.inner.streams()
    }
    fn compresses(&self) -> bool {
        self.inner.compresses()
    }
}

/// A source whose planned read fails, recording every open, listing and stat.
pub struct FaultySourceFs<F: SourceFs> {
    pub inner: F,
    /// The n-th read (1-based) of a file whose path ends with this fails with EIO.
    pub read_eio: Option<(String, u32)>,
    pub fired: FiredLog,
    /// Every open, listing and stat made through it, in order.
    pub ops: SourceOps,
}

struct FaultySourceFile {
    inner: Box<dyn SourceFile>,
    path: PathBuf,
    /// Shared by the handles of one open (ranges copied on several lanes):
    /// "the k-th read of the file" counts them all.
    reads: Arc<AtomicU32>,
    eio_on_read: Option<u32>,
    fired: FiredLog,
}

impl SourceFile for FaultySourceFile {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let reads = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        if self.eio_on_read == Some(reads) {
            fire(&self.fired, format!("EIO on read {reads} of {}", self.path.display()));
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.inner.read_at(buf, offset)
    }
    fn size(&mut self) -> io::Result<u64> {
        self.inner.size()
    }
    fn done_with(&mut self, offset: u64, len: u64) {
        self.inner.done_with(offset, len)
    }
    fn file_id(&self) -> io::Result<Option<FileId>> {
        self.inner.file_id()
    }
    fn try_clone(&self) -> io::Result<Option<Box<dyn SourceFile>>> {
        let Some(inner) = self.inner.try_clone()? else { return Ok(None) };
        Ok(Some(Box::new(FaultySourceFile {
            inner,
            path: self.path.clone(),
            reads: self.reads.clone(),
            eio_on_read: self.eio_on_read,
            fired: self.fired.clone(),
        })))
    }
}

impl<F: SourceFs> FaultySourceFs<F> {
    fn record(&self, op: &str, path: &Path) {
        self.ops.lock().expect("source ops").push(format!("{op} {}", path.display()));
    }
}

impl<F: SourceFs> SourceFs for FaultySourceFs<F> {
    fn open(&self, path: &Path, policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>> {
        self.record("open", path);
        let inner = self.inner.open(path, policy)?;
        let eio_on_read = self.read_eio.as_ref().filter(|(n, _)| path.ends_with(n)).map(|(_, k)| *k);
        if eio_on_read.is_none() {
            return Ok(inner);
        }
        Ok(Box::new(FaultySourceFile {
            inner,
            path: path.to_path_buf(),
            reads: Arc::new(AtomicU32::new(0)),
            eio_on_read,
            fired: self.fired.clone(),
        }))
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        self.record("list", dir);
        self.inner.list(dir)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn file_id(&self, path: &Path) -> io::Result<Option<FileId>> {
        self.inner.file_id(path)
    }
    fn stamp(&self, path: &Path) -> io::Result<Option<FileStamp>> {
        self.record("stat", path);
        self.inner.stamp(path)
    }
    fn size(&self, path: &Path) -> io::Result<u64> {
        self.record("stat", path);
        self.inner.size(path)
    }
}

#[cfg(test)]
mod tests;
