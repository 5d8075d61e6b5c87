//! [`LocalFs`] on the real file system: what prepare, copy-back and move-back use.
#![allow(clippy::disallowed_methods)] // this module is where real files live

use super::real::RealSourceFs;
use super::{DirEntry, EditFile, FileBytes, FsSpace, LocalFs, Owner, ReadPolicy, SourceFile, SourceFs, TargetFile};
use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The real file system, by absolute (or working-directory relative) path.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealLocalFs;

struct RealEdit {
    file: File,
}

impl EditFile for RealEdit {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn punch_hole(&mut self, offset: u64, len: u64) -> io::Result<()> {
        let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        // SAFETY: fallocate on an open descriptor we own; no memory is passed.
        let rc = unsafe {
            libc::fallocate(
                std::os::fd::AsRawFd::as_raw_fd(&self.file),
                mode,
                offset as libc::off_t,
                len as libc::off_t,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        match io::Error::last_os_error() {
            // A file system without holes: the zeros are written instead.
            e if e.raw_os_error() == Some(libc::EOPNOTSUPP) => self.write_at(&vec![0u8; len as usize], offset),
            e => Err(e),
        }
    }
}

/// A lock file held with an fcntl write lock; dropped: removed, then closed (which
/// releases the lock). POSIX drops a process's fcntl locks on a file when it closes
/// any descriptor of it: nothing else in the process may open the lock file.
struct HeldLock {
    path: PathBuf,
    _file: File,
}

impl super::FileLock for HeldLock {}

impl Drop for HeldLock {
    fn drop(&mut self) {
        // Removed while still locked: whoever opened it meanwhile finds, once it gets
        // the lock, that the name no longer leads to its file, and starts again.
        let _ = fs::remove_file(&self.path);
    }
}

/// fcntl(F_SETLK) of a write lock on the whole file; Ok(false) when another process holds one.
fn try_write_lock(file: &File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: `flock` is plain old data; all zeroes is a valid value.
    let mut lk: libc::flock = unsafe { std::mem::zeroed() };
    lk.l_type = libc::F_WRLCK as libc::c_short;
    lk.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: a file descriptor open for the call's duration and a valid `flock`.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lk) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(e),
    }
}

struct NewFile {
    file: File,
}

impl TargetFile for NewFile {
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// A whole file mapped read-only (`mmap`, MAP_PRIVATE), unmapped when dropped.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone; the pointer is
// only dereferenced through `bytes`, as a shared slice.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access is read-only.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps all of `file` (`len` bytes, not 0), advising the kernel it is read in order.
    fn of(file: &File, len: usize) -> io::Result<Mapping> {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh read-only private mapping of an open file descriptor; the
        // kernel picks the address; nothing aliases it yet.
        let ptr =
            unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the range was just mapped; advice changes no contents.
        // (Two calls: the advice values are numbers, not flags to be or-ed.)
        unsafe {
            libc::madvise(ptr, len, libc::MADV_SEQUENTIAL);
            libc::madvise(ptr, len, libc::MADV_WILLNEED);
        }
        Ok(Mapping { ptr, len })
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes are mapped at `ptr` for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `of` mapped; no slice of it outlives `self`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

fn new_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_NOFOLLOW).mode(0o640).open(path)
}

impl LocalFs for RealLocalFs {
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        RealSourceFs.list(dir)
    }
    fn exists(&self, path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok()
    }
    fn is_dir(&self, path: &Path) -> bool {
        fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
    }
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }
    fn drop_cached(&self, path: &Path) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let file = File::open(path)?;
        // SAFETY: a valid fd of an open file; advice only.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(())
    }
    fn read_mapped(&self, path: &Path) -> io::Result<FileBytes> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        match usize::try_from(len) {
            Ok(len) if len > 0 => Mapping::of(&file, len).map(FileBytes::Mapped),
            _ => fs::read(path).map(FileBytes::Owned),
        }
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn SourceFile>> {
        RealSourceFs.open(path, ReadPolicy { direct: false, fadvise: true })
    }
    fn open_edit(&self, path: &Path) -> io::Result<Box<dyn EditFile>> {
        let file = OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOFOLLOW).open(path)?;
        Ok(Box::new(RealEdit { file }))
    }
    fn replace_durably(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let tmp = path.with_file_name(format!(".{}.innohot-new", name.to_string_lossy()));
        // A leftover of an interrupted run is ours: it was never renamed into place.
        let _ = fs::remove_file(&tmp);
        let file = new_file(&tmp)?;
        file.write_all_at(contents, 0)?;
        file.sync_data()?;
        fs::rename(&tmp, path)?;
        self.sync_dir(path.parent().unwrap_or(Path::new(".")))
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::DirBuilder::new().recursive(true).mode(0o750).create(dir)
    }
    fn create_file(&self, path: &Path) -> io::Result<Box<dyn TargetFile>> {
        Ok(Box::new(NewFile { file: new_file(path)? }))
    }
    fn rename_no_replace(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (f, t) = (c_path(from)?, c_path(to)?);
        // SAFETY: both are NUL-terminated paths that live across the call.
        let rc =
            unsafe { libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), libc::RENAME_NOREPLACE) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        fs::remove_dir(dir)
    }
    fn space(&self, path: &Path) -> io::Result<FsSpace> {
        let device = fs::metadata(path)?.dev();
        let p = c_path(path)?;
        // SAFETY: `statvfs` is plain old data; all zeroes is a valid value.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path and a valid `statvfs` that live across the call.
        if unsafe { libc::statvfs(p.as_ptr(), &mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let block_size = (st.f_frsize as u64).max(1);
        Ok(FsSpace { device, available: (st.f_bavail as u64).saturating_mul(block_size), block_size })
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
    fn owner(&self, path: &Path) -> io::Result<Owner> {
        let m = fs::symlink_metadata(path)?;
        Ok(Owner { uid: m.uid(), gid: m.gid() })
    }
    fn set_owner(&self, path: &Path, owner: Owner) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(owner.uid), Some(owner.gid))
    }
    fn lock_holder(&self, path: &Path) -> io::Result<Option<u32>> {
        use std::os::fd::AsRawFd;
        // Read-only is enough to ask; this process holds no lock on the file, so
        // closing it again releases nothing.
        let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)?;
        // SAFETY: `flock` is plain old data; all zeroes is a valid value.
        let mut lk: libc::flock = unsafe { std::mem::zeroed() };
        lk.l_type = libc::F_WRLCK as libc::c_short;
        lk.l_whence = libc::SEEK_SET as libc::c_short;
        // The whole file: l_start = l_len = 0.
        // SAFETY: a file descriptor open for the call's duration and a valid `flock`.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut lk) };
        if rc == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok((lk.l_type != libc::F_UNLCK as libc::c_short).then_some(lk.l_pid.max(0) as u32))
    }
    fn lock_file(&self, path: &Path) -> io::Result<Box<dyn super::FileLock>> {
        // A few rounds: each one lost means a holder removed the file as we opened it.
        for _ in 0..16 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(0o640)
                .open(path)?;
            if !try_write_lock(&file)? {
                return Err(io::Error::new(io::ErrorKind::WouldBlock, "another process holds the lock"));
            }
            let same = match fs::symlink_metadata(path) {
                Ok(now) => {
                    let mine = file.metadata()?;
                    (now.dev(), now.ino()) == (mine.dev(), mine.ino())
                }
                Err(_) => false,
            };
            if same {
                return Ok(Box::new(HeldLock { path: path.to_path_buf(), _file: file }));
            }
        }
        Err(io::Error::other("the lock file keeps being replaced by another process"))
    }
}
