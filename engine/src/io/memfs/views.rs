//! [`MemFs`] as the backup's source and target, so backup, verify, prepare and
//! restore can all run over one in-memory file system: a backup written
//! through [`MemTarget`] is read by verify through [`MemSource`] and prepared
//! in place through `LocalFs`, every change under the one fault plan.

use super::{MemFs, MemHandle};
use crate::io::{DirEntry, FileId, LocalFs, ReadPolicy, SourceFile, SourceFs, TargetDir, TargetFile};
use std::io;
use std::path::{Path, PathBuf};

/// `MemFs` read as a [`SourceFs`]: reads count no change; files have no
/// stamps (callers then treat every file as changed), ids are node numbers.
#[derive(Debug, Clone)]
pub struct MemSource {
    fs: MemFs,
}

/// `MemFs` written as a [`TargetDir`] below `root`: every create, write,
/// sync, publish and removal is a change of the fault plan, as through `LocalFs`.
#[derive(Debug, Clone)]
pub struct MemTarget {
    fs: MemFs,
    root: PathBuf,
}

impl MemFs {
    /// This file system as a backup's source (or a backup read by verify).
    pub fn source_view(&self) -> MemSource {
        MemSource { fs: self.clone() }
    }

    /// This file system as a backup's target directory `root`, which must exist.
    pub fn target_view(&self, root: &Path) -> MemTarget {
        MemTarget { fs: self.clone(), root: root.to_path_buf() }
    }

    /// The identity of what is at `path`: its device and node (nodes are never reused).
    fn id_of(&self, path: &Path) -> io::Result<FileId> {
        let s = self.lock();
        let n = s.node(path)?;
        Ok(FileId { device: s.state.nodes[&n].device, inode: n, born: n as i128 })
    }
}

/// A file opened through [`MemSource`]: a handle that knows its identity and clones.
struct SourceHandle {
    handle: MemHandle,
    id: FileId,
}

impl SourceFile for SourceHandle {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.handle.read(buf, offset)
    }
    fn size(&mut self) -> io::Result<u64> {
        self.handle.len()
    }
    fn file_id(&self) -> io::Result<Option<FileId>> {
        Ok(Some(self.id))
    }
    fn try_clone(&self) -> io::Result<Option<Box<dyn SourceFile>>> {
        let handle = MemHandle { shared: self.handle.shared.clone(), node: self.handle.node };
        Ok(Some(Box::new(SourceHandle { handle, id: self.id })))
    }
}

impl SourceFs for MemSource {
    fn open(&self, path: &Path, _policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>> {
        let node = self.fs.lock().file_node(path)?;
        let id = self.fs.id_of(path)?;
        Ok(Box::new(SourceHandle { handle: *self.fs.handle(node), id }))
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        LocalFs::list(&self.fs, dir)
    }
    /// No symlinks here: the path itself, absolute and without `.`.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.fs.lock().node(path)?;
        Ok(Path::new("/").join(super::state::names(path)?.iter().collect::<PathBuf>()))
    }
    fn exists(&self, path: &Path) -> bool {
        LocalFs::exists(&self.fs, path)
    }
    fn file_id(&self, path: &Path) -> io::Result<Option<FileId>> {
        self.fs.id_of(path).map(Some)
    }
    fn size(&self, path: &Path) -> io::Result<u64> {
        let node = self.fs.lock().file_node(path)?;
        self.fs.handle(node).len()
    }
}

impl TargetDir for MemTarget {
    fn create_dir_all(&self, rel: &Path) -> io::Result<()> {
        self.fs.create_dir_all(&self.root.join(rel))
    }
    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn TargetFile>> {
        LocalFs::create_file(&self.fs, &self.root.join(rel))
    }
    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.fs.remove_file(&self.root.join(rel))
    }
    /// One rename that never replaces (the real target links, then unlinks).
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.fs.rename_no_replace(&self.root.join(from), &self.root.join(to))
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        LocalFs::sync_dir(&self.fs, &self.root.join(rel))
    }
    fn sync_file(&self, rel: &Path) -> io::Result<()> {
        let node = self.fs.lock().file_node(&self.root.join(rel))?;
        self.fs.handle(node).sync()
    }
    fn root(&self) -> &Path {
        &self.root
    }
}
