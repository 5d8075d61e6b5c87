//! The engine's boundary with the outside world: files, directories and time.
//!
//! Engine logic only sees these traits. Production plugs in [`real`]; the
//! simulator plugs in its own clock and (optionally faulty) file wrappers, so
//! a simulated run never depends on the wall clock or OS scheduling.

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod faulty;
pub mod local;
#[cfg(any(test, feature = "test-support"))]
pub mod mem;
pub mod memfs;
pub mod real;
pub mod sparse;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Time, injected: real in production, simulated under the scheduler.
pub trait Clock: Send + Sync {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Seconds since the Unix epoch (UTC), for labels and metadata.
    fn unix_seconds(&self) -> u64;
    /// Blocks the calling thread (production) or advances simulated time.
    fn sleep(&self, d: Duration);
    /// Nanoseconds since the Unix epoch, in the time base the source file
    /// system stamps files with (see [`FileStamp`]). The default is
    /// `unix_seconds` (whole seconds); clocks that know better say so.
    fn unix_nanos(&self) -> i128 {
        self.unix_seconds() as i128 * 1_000_000_000
    }
}

/// Time that moves only when told (`sleep` advances it): tests and tools that
/// step the engine by hand, never waiting on the wall clock.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: std::sync::atomic::AtomicU64,
    /// What `unix_seconds` reports at time zero.
    pub unix_origin: u64,
}

impl ManualClock {
    /// A clock at time zero whose Unix time starts at `unix_origin`.
    pub fn starting_at(unix_origin: u64) -> Self {
        ManualClock { nanos: Default::default(), unix_origin }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(std::sync::atomic::Ordering::SeqCst))
    }
    fn unix_seconds(&self) -> u64 {
        self.unix_origin + self.now().as_secs()
    }
    fn sleep(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, std::sync::atomic::Ordering::SeqCst);
    }
    fn unix_nanos(&self) -> i128 {
        self.unix_origin as i128 * 1_000_000_000 + self.now().as_nanos() as i128
    }
}

/// A file being read from the server's data directory.
///
/// The handle reads the file it opened: renaming or removing its path later
/// changes nothing for the handle (POSIX semantics; the copier relies on it
/// to finish a file the server drops meanwhile).
pub trait SourceFile: Send {
    /// Reads up to `buf.len()` bytes at `offset`, filling `buf` unless the file
    /// ends first: a short count only at end of file, 0 at or past it (the
    /// copier reads a count below a page as the file's end, never as a retry).
    /// EINTR is retried inside; any other failure is an error.
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The opened file's size now: it may grow between calls while the server writes.
    fn size(&mut self) -> io::Result<u64>;
    /// Tells the kernel a range will not be read again (POSIX_FADV_DONTNEED).
    /// Advice only: nothing a caller sees may change.
    fn done_with(&mut self, _offset: u64, _len: u64) {}
    /// The identity of the file this handle reads (see `SourceFs::file_id`).
    fn file_id(&self) -> io::Result<Option<FileId>> {
        Ok(None)
    }
    /// A second handle on the very same file (not the same path: a file
    /// renamed or replaced since stays the one read), so several lanes can
    /// copy ranges of it. None where that is not possible.
    fn try_clone(&self) -> io::Result<Option<Box<dyn SourceFile>>> {
        Ok(None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
}

/// How data files are read: the knobs that trade speed against the server's page cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPolicy {
    /// O_DIRECT: bypass the page cache (falls back to buffered where unsupported).
    pub direct: bool,
    /// POSIX_FADV_SEQUENTIAL on open and POSIX_FADV_DONTNEED behind each chunk.
    pub fadvise: bool,
}

impl Default for ReadPolicy {
    /// Buffered reads with the kernel's read-ahead, each chunk dropped from the
    /// cache behind the copy: as little left in the server's page cache as
    /// with O_DIRECT (the copy bench's footprint table), and measured 1.3-1.8x
    /// faster on a cold cache at --parallel 2 (docs/PERFORMANCE.md), because
    /// O_DIRECT reads have no read-ahead keeping the disk busy between them.
    /// xtrabackup's reference run used O_DIRECT; `--direct` still does.
    fn default() -> Self {
        ReadPolicy { direct: false, fadvise: true }
    }
}

/// A file's identity: a renamed file keeps it, a re-created one (TRUNCATE,
/// DROP then CREATE, even reusing the inode number) does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub device: u64,
    pub inode: u64,
    /// Nanoseconds since the epoch of the inode's birth.
    pub born: i128,
}

/// What a file looks like from outside, read without opening it (stat(2)):
/// two stamps of one path are equal only if nothing wrote, truncated,
/// renamed over or re-created the file in between, **provided** the file
/// system's clock moved between the writes (see `FileStamp::settled_before`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub size: u64,
    /// Last write, nanoseconds since the epoch (st_mtime).
    pub mtime_ns: i128,
    /// Last change of the inode, nanoseconds since the epoch (st_ctime): set by
    /// every write, truncate, rename and chmod, and not settable by utimes(2).
    pub ctime_ns: i128,
    pub device: u64,
    pub inode: u64,
    /// The inode's birth time when the file system tells it (statx): tells a
    /// re-created file from the old one even when the inode number is reused.
    pub born_ns: Option<i128>,
}

impl FileStamp {
    /// Whether the stamp can vouch for the file's contents after `since` (Unix
    /// ns, same clock as the stamps) when a later stamp equals it. A write in
    /// the same timestamp tick as the last one leaves mtime and ctime as they
    /// were (file systems stamp with a coarse clock: a jiffy on ext4, xfs and
    /// tmpfs, a whole second on ext3 and HFS+, two on FAT), and an in-place
    /// write leaves the size too. So a file changed within `window` before
    /// `since`, or stamped in the future (clock skew), proves nothing: only
    /// older stamps are trusted.
    pub fn settled_before(&self, since: i128, window: Duration) -> bool {
        self.mtime_ns.max(self.ctime_ns) < since - window.as_nanos() as i128
    }
}

/// The server's file system (or a finished backup, for verify), read-only.
///
/// Paths are absolute. Every method follows symlinks: what is listed, stamped
/// and sized is what `open` reads. The contract suite `io::contract` checks
/// these promises on every implementation.
pub trait SourceFs: Send + Sync {
    /// Opens a regular file for reading. Nothing at `path` (a dangling symlink
    /// included) fails with `ErrorKind::NotFound`: the copier and the backup take
    /// exactly that kind as "the server dropped the table since it was listed".
    /// A directory fails, at the open or at the first read. `policy` changes
    /// speed, never what is read.
    fn open(&self, path: &Path, policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>>;
    /// The entries of `dir`, sorted by name (bytewise), without `.` and `..`.
    /// A symlink is reported as the kind it points at; a dangling one, or an
    /// entry removed while the directory is read, is left out. A missing `dir`
    /// fails with NotFound; a name that is not UTF-8 with InvalidData.
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;
    /// The path, absolute, with every symlink resolved and no `.` or `..` (the
    /// reference run's datadir is a symlink). NotFound when nothing is there.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// Whether `path` leads to a file or directory, through symlinks (a dangling
    /// symlink does not exist). An error reads as false.
    fn exists(&self, path: &Path) -> bool;
    /// What makes a file this file and no other (device, inode, birth time),
    /// when the file system can say; None when it cannot. Two paths with equal
    /// ids are one file; a file re-created at a path gets a new id.
    fn file_id(&self, _path: &Path) -> io::Result<Option<FileId>> {
        Ok(None)
    }
    /// The file's stamp, following symlinks as `open` does (what is stamped is
    /// what a copy reads); None when nothing is at `path`. A file system that
    /// cannot stamp says Unsupported, and callers then treat every file as changed.
    fn stamp(&self, _path: &Path) -> io::Result<Option<FileStamp>> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "this file system does not stamp files"))
    }
    /// The file's size, by stat(2) where the file system can (no open: the
    /// work under the lock must not grow with the number of tables). NotFound
    /// when nothing is at `path`, as `open`.
    fn size(&self, path: &Path) -> io::Result<u64> {
        self.open(path, ReadPolicy::default())?.size()
    }
}

/// A file being written into the backup (or created by a restore).
pub trait TargetFile: Send {
    /// Writes all of `data` at `offset`, or fails; past the end the file grows
    /// and a gap reads as zeros. Not durable until `sync`: a crash may lose,
    /// keep or tear it.
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()>;
    /// fdatasync: every byte written through this handle is durable when this
    /// returns Ok; the file's name is durable only once its directory is synced.
    /// After a failed sync nothing may be assumed of the unsynced bytes.
    fn sync(&mut self) -> io::Result<()>;
}

/// The backup directory. Files are created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW,
/// 0640) and directories with 0750, so a backup never overwrites anything.
///
/// Paths are relative to `root()` and never hold `..`. A name (created,
/// published, removed) is durable once its directory is synced (`sync_dir`), a
/// file's bytes once it is synced (`TargetFile::sync`, `sync_file`). A stream
/// (`streams()`) sends each file once and cannot take it back: see
/// `stream::StreamTarget` for what it refuses. `io::contract` checks the rest.
pub trait TargetDir: Send + Sync {
    /// Creates `rel` and its parents (0750); existing directories are fine.
    fn create_dir_all(&self, rel: &Path) -> io::Result<()>;
    /// A new empty file. AlreadyExists when anything (a dangling symlink
    /// included) is at `rel`, which is left as it was; NotFound when its
    /// directory does not exist.
    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn TargetFile>>;
    /// Removes a file this backup wrote (used to withdraw a success marker).
    /// NotFound when nothing is at `rel`.
    fn remove_file(&self, rel: &Path) -> io::Result<()>;
    /// Gives a finished file its final name: afterwards `to` has the bytes and
    /// `from` is gone. Never replaces: AlreadyExists when `to` exists, and then
    /// both files are as they were. NotFound when `from` does not exist.
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes directory entries durable (fsync of `rel`, "" = the root): every
    /// name created, published or removed in it so far survives a crash.
    fn sync_dir(&self, rel: &Path) -> io::Result<()>;
    /// fdatasync of a file this backup wrote earlier and closed unsynced
    /// (files copied under the lock are made durable after it). NotFound when
    /// nothing is at `rel`.
    fn sync_file(&self, rel: &Path) -> io::Result<()>;
    /// The directory `rel` paths start from (absolute).
    fn root(&self) -> &Path;
    /// Whether this target is a stream (`stream::StreamTarget`): each file is
    /// written once, front to back, by one writer, and what is sent cannot be
    /// taken back. The backup then copies each file in one range and copies
    /// the non-InnoDB files under the lock only.
    fn streams(&self) -> bool {
        false
    }
    /// Whether the files are compressed on their way (`--compress=zstd`).
    fn compresses(&self) -> bool {
        false
    }
}

/// Writes a whole small file and makes it durable before returning.
pub fn write_durable(target: &dyn TargetDir, rel: &Path, contents: &[u8]) -> io::Result<()> {
    let mut f = target.create_file(rel)?;
    f.write_at(contents, 0)?;
    f.sync()
}

/// A file opened in place for reading and writing (prepare changes a backup's pages).
/// Reads see every write made before them through any handle of the file.
pub trait EditFile: Send {
    /// Reads up to `buf.len()` bytes at `offset`, filling `buf` unless the file
    /// ends first: a short count only at end of file, 0 at or past it.
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `data` at `offset`, or fails; past the end the file grows
    /// and a gap reads as zeros. Not durable until `sync`.
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()>;
    /// The file's size now, writes and cuts through this handle included.
    fn size(&mut self) -> io::Result<u64>;
    /// fdatasync: the file's bytes (and length) are durable when this returns Ok.
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the file to `len` bytes (prepare shrinks an undo tablespace the redo
    /// truncated, as the server's recovery does). Durable after `sync`.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes `len` bytes from `offset` read as zeros without changing the
    /// file's size; where the file system can, they stop taking blocks (a hole,
    /// as the server leaves after a compressed page's frame). The default
    /// writes the zeros.
    fn punch_hole(&mut self, offset: u64, len: u64) -> io::Result<()> {
        self.write_at(&vec![0u8; len as usize], offset)
    }
}

/// Held while a lock taken by [`LocalFs::lock_file`] lasts: dropping it removes the
/// lock file and releases the lock.
pub trait FileLock: Send {}

/// The lock of a file system no other process shares.
struct NoLock;
impl FileLock for NoLock {}

/// The bytes of a whole file ([`LocalFs::read_mapped`]).
pub enum FileBytes {
    Owned(Vec<u8>),
    /// Read-only, private: nobody else changes a backup's file while it is prepared.
    Mapped(local::Mapping),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Owned(v) => v,
            FileBytes::Mapped(m) => m.bytes(),
        }
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if matches!(self, FileBytes::Owned(_)) { "owned" } else { "mapped" };
        write!(f, "FileBytes({how}, {} bytes)", self.len())
    }
}

/// Room left on the file system holding a path (statvfs), and which file system
/// that is: restores check they fit before writing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsSpace {
    /// st_dev: two paths on one device can be renamed into each other.
    pub device: u64,
    /// Bytes an unprivileged writer may still use (f_bavail * f_frsize).
    pub available: u64,
    /// The allocation unit (f_frsize): a file takes whole blocks.
    pub block_size: u64,
}

/// Who owns a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

/// Files by absolute path, for the commands that work on an existing backup and a
/// server's datadir (prepare, copy-back, move-back). New files are created
/// exclusively (O_CREAT|O_EXCL|O_NOFOLLOW, 0640), directories with 0750; nothing
/// is ever replaced except through [`LocalFs::replace_durably`].
///
/// Paths are absolute. Nothing at a path the method reads, edits, renames or
/// removes fails with NotFound; a create whose name is taken fails with
/// AlreadyExists and changes nothing. Names (created, renamed, removed) are
/// durable once their directory is synced (`sync_dir`); bytes once their file
/// is synced. `io::contract::check_local_fs` checks these promises.
pub trait LocalFs: Send + Sync {
    /// The entries of `dir` as [`SourceFs::list`] gives them: sorted by name,
    /// symlinks by what they point at, dangling ones left out; NotFound when
    /// `dir` is missing.
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;
    /// Whether anything (even a dangling symlink) is at `path`: unlike
    /// [`SourceFs::exists`], which follows symlinks, this asks whether the name is taken.
    fn exists(&self, path: &Path) -> bool;
    /// Whether `path` leads to a directory, through symlinks; false when nothing is there.
    fn is_dir(&self, path: &Path) -> bool;
    /// A whole (small) file, through symlinks.
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// A whole file read once, possibly large (the redo log prepare applies): mapped
    /// where the file system allows, so that its bytes are the page cache's and are
    /// neither copied into the process nor held by it. The default reads it.
    fn read_mapped(&self, path: &Path) -> io::Result<FileBytes> {
        self.read_all(path).map(FileBytes::Owned)
    }
    /// Drops a file's clean pages from the page cache (POSIX_FADV_DONTNEED): a large
    /// file about to be replaced, so that the rename replacing it has little to free.
    /// Advice only; the default does nothing.
    fn drop_cached(&self, _path: &Path) -> io::Result<()> {
        Ok(())
    }
    /// Opens for large sequential reads (page cache, POSIX_FADV_SEQUENTIAL), with
    /// [`SourceFs::open`]'s contract.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn SourceFile>>;
    /// Opens an existing regular file for reading and writing (never follows a
    /// symlink: one at `path` fails). NotFound when nothing is there.
    fn open_edit(&self, path: &Path) -> io::Result<Box<dyn EditFile>>;
    /// Writes `contents` to a temporary file beside `path`, fdatasyncs it, renames it
    /// over `path` and fsyncs the directory: readers see the old file or the new one,
    /// before and after a crash, and on Ok the new one is durable. A missing
    /// `path` is created the same way.
    fn replace_durably(&self, path: &Path, contents: &[u8]) -> io::Result<()>;
    /// Creates `dir` and its missing parents (0750); existing directories are fine.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// A new empty file (0640, never through a symlink). AlreadyExists when
    /// anything is at `path`; NotFound when its directory does not exist.
    fn create_file(&self, path: &Path) -> io::Result<Box<dyn TargetFile>>;
    /// rename(2) that never replaces (RENAME_NOREPLACE): AlreadyExists when `to`
    /// exists, and nothing changes; NotFound when `from` does not exist; the raw
    /// errno EXDEV across file systems (devices), where callers copy instead.
    fn rename_no_replace(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// unlink(2) of a file (a directory fails); NotFound when nothing is there.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// rmdir(2): removes an empty directory (restores undo the ones they created).
    /// One that is not empty fails and stays; NotFound when nothing is there.
    fn remove_dir(&self, dir: &Path) -> io::Result<()>;
    /// The free space and device of the file system holding `path`, which must exist.
    fn space(&self, path: &Path) -> io::Result<FsSpace>;
    /// fsync of a directory: every name created, renamed into or removed from it
    /// so far is durable on Ok.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Who owns what is at `path` (lstat: a symlink's own owner); NotFound when nothing is there.
    fn owner(&self, path: &Path) -> io::Result<Owner>;
    /// lchown(2).
    fn set_owner(&self, path: &Path, owner: Owner) -> io::Result<()>;
    /// Whether another process holds a POSIX write lock (fcntl) on `path`, as a
    /// running server does on its system tablespace and redo log: `Some(pid)`,
    /// with pid 0 when the holder cannot be named (another pid namespace);
    /// None when nobody holds one.
    fn lock_holder(&self, path: &Path) -> io::Result<Option<u32>>;
    /// Takes an exclusive POSIX write lock (fcntl) on the lock file `path`, created
    /// (0640, never through a symlink) when missing, until the returned value is
    /// dropped, which removes the file. The kernel releases the lock when the process
    /// dies, so a file left by a killed run blocks nobody. Another holder: an error of
    /// kind `WouldBlock` ([`LocalFs::lock_holder`] names it). The default takes no
    /// lock, for file systems no other process shares.
    fn lock_file(&self, _path: &Path) -> io::Result<Box<dyn FileLock>> {
        Ok(Box::new(NoLock))
    }
}
