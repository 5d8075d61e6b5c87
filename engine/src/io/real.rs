//! Production implementations: pread, O_DIRECT, fadvise, fdatasync, the real clock.
#![allow(clippy::disallowed_methods)] // this module is where real time and real files live

use super::{Clock, DirEntry, EntryKind, ReadPolicy, SourceFile, SourceFs, TargetDir, TargetFile};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The wall clock.
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        SystemClock { origin: Instant::now() }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn unix_seconds(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
    /// The realtime clock, which is what the kernel stamps files with.
    fn unix_nanos(&self) -> i128 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        }
    }
}

/// O_DIRECT wants buffers, offsets and lengths aligned to the device's block.
const DIRECT_ALIGN: usize = 4096;

struct RealSource {
    file: File,
    direct: bool,
    fadvise: bool,
    bounce: Vec<u8>,
}

fn fadvise(file: &File, offset: u64, len: u64, advice: libc::c_int) {
    // Advice only: a failure changes speed, never correctness.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), offset as libc::off_t, len as libc::off_t, advice);
    }
}

impl SourceFile for RealSource {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let aligned = self.direct
            && offset.is_multiple_of(DIRECT_ALIGN as u64)
            && buf.len().is_multiple_of(DIRECT_ALIGN)
            && (buf.as_ptr() as usize).is_multiple_of(DIRECT_ALIGN);
        if self.direct && !aligned {
            return read_direct_via_bounce(&self.file, &mut self.bounce, buf, offset);
        }
        read_full_at(&self.file, buf, offset)
    }
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    fn done_with(&mut self, offset: u64, len: u64) {
        if self.fadvise {
            fadvise(&self.file, offset, len, libc::POSIX_FADV_DONTNEED);
        }
    }
    fn file_id(&self) -> io::Result<Option<super::FileId>> {
        Ok(identity(&self.file.metadata()?))
    }
    fn try_clone(&self) -> io::Result<Option<Box<dyn SourceFile>>> {
        // dup(2): the same open file, O_DIRECT included; reads are positional.
        let file = self.file.try_clone()?;
        Ok(Some(Box::new(RealSource { file, direct: self.direct, fadvise: self.fadvise, bounce: Vec::new() })))
    }
}

/// Reads until `buf` is full or end of file.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// O_DIRECT read of an unaligned request through an aligned bounce buffer.
fn read_direct_via_bounce(file: &File, bounce: &mut Vec<u8>, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let start = offset - offset % DIRECT_ALIGN as u64;
    let lead = (offset - start) as usize;
    let span = (lead + buf.len()).div_ceil(DIRECT_ALIGN) * DIRECT_ALIGN;
    // Over-allocate so an aligned window of `span` bytes exists inside.
    if bounce.len() < span + DIRECT_ALIGN {
        bounce.resize(span + DIRECT_ALIGN, 0);
    }
    let shift = bounce.as_ptr().align_offset(DIRECT_ALIGN);
    let window = &mut bounce[shift..shift + span];
    let got = read_full_at(file, window, start)?;
    let usable = got.saturating_sub(lead).min(buf.len());
    buf[..usable].copy_from_slice(&window[lead..lead + usable]);
    Ok(usable)
}

/// The server's real file system.
#[derive(Default)]
pub struct RealSourceFs;

impl SourceFs for RealSourceFs {
    fn open(&self, path: &Path, policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>> {
        let mut direct = false;
        let file = if policy.direct {
            match OpenOptions::new().read(true).custom_flags(libc::O_DIRECT).open(path) {
                Ok(f) => {
                    direct = true;
                    f
                }
                // tmpfs and some overlay setups refuse O_DIRECT: read buffered instead.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => File::open(path)?,
                Err(e) => return Err(e),
            }
        } else {
            File::open(path)?
        };
        if policy.fadvise {
            fadvise(&file, 0, 0, libc::POSIX_FADV_SEQUENTIAL);
        }
        Ok(Box::new(RealSource { file, direct, fadvise: policy.fadvise, bounce: Vec::new() }))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = match entry.file_name().into_string() {
                Ok(n) => n,
                Err(raw) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "file name '{}' in {} is not UTF-8",
                            raw.as_encoded_bytes().escape_ascii(),
                            dir.display()
                        ),
                    ))
                }
            };
            let kind = match fs::metadata(entry.path()) {
                Ok(m) if m.is_dir() => EntryKind::Dir,
                Ok(m) if m.is_file() => EntryKind::File,
                Ok(_) => EntryKind::Other,
                // A file that vanished between readdir and stat: skip it.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            out.push(DirEntry { name, kind });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        fs::canonicalize(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn file_id(&self, path: &Path) -> io::Result<Option<super::FileId>> {
        Ok(identity(&fs::metadata(path)?))
    }

    fn size(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }

    /// stat(2) through symlinks, like `open`: the stamp is the stamp of what a copy reads.
    fn stamp(&self, path: &Path) -> io::Result<Option<super::FileStamp>> {
        match fs::metadata(path) {
            Ok(m) => Ok(Some(stamp_of(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Size, times, device, inode and (statx) birth time.
pub fn stamp_of(meta: &fs::Metadata) -> super::FileStamp {
    use std::os::unix::fs::MetadataExt;
    let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
    super::FileStamp {
        size: meta.len(),
        mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
        ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        device: meta.dev(),
        inode: meta.ino(),
        born_ns: identity(meta).map(|id| id.born),
    }
}

struct RealTarget {
    file: File,
    fadvise: bool,
}

impl TargetFile for RealTarget {
    /// Starts writing the range back at once (sync_file_range WRITE, which
    /// does not wait): the disk writes while the next chunk is read, and the
    /// file's fdatasync at the end finds little left to do, instead of the
    /// whole file dirty in the cache.
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(data, offset)?;
        // Advice only, like fadvise: a failure changes speed, never correctness.
        unsafe {
            libc::sync_file_range(
                self.file.as_raw_fd(),
                offset as libc::off64_t,
                data.len() as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
        Ok(())
    }
    /// fdatasync, then (with fadvise) drop the file from the page cache: only
    /// clean pages can be dropped, so advice given right after a write is
    /// ignored and a backup's copy would stay cached (measured by the copy
    /// bench's footprint table).
    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        if self.fadvise {
            fadvise(&self.file, 0, 0, libc::POSIX_FADV_DONTNEED);
        }
        Ok(())
    }
}

/// Device, inode and birth time. Birth time (statx) tells a re-created file
/// from a renamed one; without it an inode number could be a reused one, so
/// there is no identity then.
fn identity(meta: &fs::Metadata) -> Option<super::FileId> {
    use std::os::unix::fs::MetadataExt;
    let born = meta.created().ok()?;
    let born = match born.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    Some(super::FileId { device: meta.dev(), inode: meta.ino(), born })
}

/// A backup directory on the real file system.
pub struct RealTargetDir {
    root: PathBuf,
    fadvise: bool,
}

impl RealTargetDir {
    /// Creates the directory (0750) if missing; refuses one that already holds files.
    pub fn create(root: &Path, fadvise: bool) -> io::Result<Self> {
        match fs::DirBuilder::new().recursive(true).mode(0o750).create(root) {
            Ok(()) => {}
            Err(e) => return Err(e),
        }
        if fs::read_dir(root)?.next().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "target directory {} is not empty: a backup never writes over files; choose an empty or new directory",
                    root.display()
                ),
            ));
        }
        Ok(RealTargetDir { root: root.to_path_buf(), fadvise })
    }
}

impl TargetDir for RealTargetDir {
    fn create_dir_all(&self, rel: &Path) -> io::Result<()> {
        fs::DirBuilder::new().recursive(true).mode(0o750).create(self.root.join(rel))
    }
    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn TargetFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o640)
            .open(self.root.join(rel))?;
        Ok(Box::new(RealTarget { file, fadvise: self.fadvise }))
    }
    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        fs::remove_file(self.root.join(rel))
    }
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        // link(2) fails with EEXIST instead of replacing, unlike rename(2).
        fs::hard_link(self.root.join(from), self.root.join(to))?;
        fs::remove_file(self.root.join(from))
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        File::open(self.root.join(rel))?.sync_all()
    }
    fn sync_file(&self, rel: &Path) -> io::Result<()> {
        // fdatasync flushes the file's dirty pages whatever the descriptor's mode.
        let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(self.root.join(rel))?;
        file.sync_data()?;
        if self.fadvise {
            fadvise(&file, 0, 0, libc::POSIX_FADV_DONTNEED);
        }
        Ok(())
    }
    fn root(&self) -> &Path {
        &self.root
    }
}
