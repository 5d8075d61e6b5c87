//! [`LocalFs`] in memory, with what a crash keeps: the simulator's and the tests'
//! file system for prepare, copy-back and move-back.
//!
//! Every file and directory has a current and a durable side. A write becomes
//! durable when its file is fdatasynced; a create, rename or remove when the
//! directory it puts the name in (for a rename: the destination) is fsynced.
//! [`MemFs::crash`] keeps the durable state and, seeded, some of the rest: each
//! unsynced write lost, kept, or kept in part (512-byte sectors); each unsynced
//! name change kept or lost as a whole, the changes of one name or one node only
//! in order (a rename survives only with the create before it). Nodes no
//! durable name reaches are gone.
//!
//! Mounts put paths on devices of limited size (ENOSPC when full, EXDEV for a
//! rename between them). A [`FaultPlan`] fails one change with an errno or kills
//! the process before one: every later call fails and nothing more changes.
//! Changes (the kill points) are: creating a file or a directory, each write,
//! each fdatasync, each rename, each removal, each directory fsync.
//!
//! [`MemFs::source_view`] and [`MemFs::target_view`] make the same files a
//! backup's `SourceFs` and `TargetDir`, so every command can run over it.
//!
//! A new `LocalFs` method needs an arm here: mutating ones call `State::change`
//! (names) or `State::write` / `sync_file` (bytes) after `Shared::step`.

mod state;
mod views;
pub use views::{MemSource, MemTarget};

use super::{DirEntry, EditFile, FsSpace, LocalFs, Owner, SourceFile, TargetFile};
use state::{err, Body, Edit, Mount, State, BLOCK};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Every directory (None) and file (its bytes) of a [`MemFs`], by absolute path.
pub type Tree = BTreeMap<PathBuf, Option<Arc<Vec<u8>>>>;

/// What goes wrong, counted in changes (1-based) from when the plan is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// The process dies before this change: it does not happen, nor anything after.
    pub kill_before: Option<u64>,
    /// This change fails with the errno (ENOSPC, EIO ...) and does not happen.
    pub fail: Option<(u64, i32)>,
}

#[derive(Debug, Default)]
struct Shared {
    state: State,
    plan: FaultPlan,
    changes: u64,
    killed: bool,
}

/// The error every call of a killed process gets.
fn killed() -> io::Error {
    io::Error::other("the process was killed")
}

impl Shared {
    /// Counts one change and fires the plan's fault at it.
    fn step(&mut self) -> io::Result<()> {
        self.alive()?;
        self.changes += 1;
        if self.plan.kill_before == Some(self.changes) {
            self.killed = true;
            return Err(killed());
        }
        match self.plan.fail {
            Some((n, errno)) if n == self.changes => Err(err(errno)),
            _ => Ok(()),
        }
    }

    fn alive(&self) -> io::Result<()> {
        if self.killed {
            Err(killed())
        } else {
            Ok(())
        }
    }

    fn node(&self, path: &Path) -> io::Result<u64> {
        self.alive()?;
        self.state.lookup(path).ok_or_else(|| err(libc::ENOENT))
    }

    fn file_node(&self, path: &Path) -> io::Result<u64> {
        let n = self.node(path)?;
        match self.state.nodes[&n].body {
            Body::File { .. } => Ok(n),
            Body::Dir { .. } => Err(err(libc::EISDIR)),
        }
    }
}

/// The in-memory file system; clones share it.
#[derive(Debug, Clone)]
pub struct MemFs {
    shared: Arc<Mutex<Shared>>,
}

impl Default for MemFs {
    fn default() -> Self {
        MemFs::new()
    }
}

impl MemFs {
    /// An empty file system: `/` on device 0, unlimited.
    pub fn new() -> MemFs {
        Self::of(State::new())
    }

    fn of(state: State) -> MemFs {
        MemFs { shared: Arc::new(Mutex::new(Shared { state, ..Shared::default() })) }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().expect("the in-memory file system")
    }

    /// Puts `dir` (created durably) and everything below it on `device`, which holds
    /// `capacity` bytes in 4 KiB blocks.
    pub fn mount(&self, dir: &Path, device: u64, capacity: u64) {
        self.put_dir(dir);
        let mut s = self.lock();
        s.state.mounts.push(Mount { dir: dir.to_path_buf(), device, capacity });
        let n = s.state.lookup(dir).expect("just created");
        s.state.nodes.get_mut(&n).expect("a node").device = device;
    }

    /// Creates `dir` and its parents, durably, outside the fault plan.
    pub fn put_dir(&self, dir: &Path) {
        let mut s = self.lock();
        let mut at = PathBuf::from("/");
        for name in state::names(dir).expect("a plain absolute path") {
            at.push(name);
            if s.state.lookup(&at).is_none() {
                let body = Body::Dir { entries: BTreeMap::new(), durable: BTreeMap::new() };
                s.state.create(&at, body, Owner { uid: 0, gid: 0 }).expect("a directory");
            }
        }
        s.state.pending.clear();
        durable_names(&mut s.state);
    }

    /// Writes a whole file (and its parents), durably, outside the fault plan; a file
    /// already there is replaced.
    pub fn put_file(&self, path: &Path, bytes: &[u8]) {
        self.put_dir(path.parent().expect("a file in a directory"));
        let mut s = self.lock();
        if let Some(old) = s.state.lookup(path) {
            let (dir, name) = s.state.parent_of(path).expect("its parent");
            s.state.change(vec![Edit { dir, name, before: Some(old), after: None }]);
        }
        let body = Body::File { data: Default::default(), durable: None, unsynced: Vec::new() };
        let n = s.state.create(path, body, Owner { uid: 0, gid: 0 }).expect("a new file");
        s.state.write(n, 0, bytes).expect("room for the file");
        s.state.sync_file(n);
        s.state.pending.clear();
        durable_names(&mut s.state);
    }

    /// From now on, faults as planned; changes are counted from here.
    pub fn set_faults(&self, plan: FaultPlan) {
        let mut s = self.lock();
        s.plan = plan;
        s.changes = 0;
    }

    /// Changes made (or attempted) since the fault plan was set.
    pub fn changes(&self) -> u64 {
        self.lock().changes
    }

    pub fn was_killed(&self) -> bool {
        self.lock().killed
    }

    /// The file system after a crash now: what was durable and, by `seed`, some of
    /// the rest (see the module's doc). A new file system; no faults planned.
    pub fn crash(&self, seed: u64) -> MemFs {
        Self::of(self.lock().state.crashed(seed))
    }

    /// A copy of the whole state as it is now (durable and not), no faults planned.
    pub fn fork(&self) -> MemFs {
        Self::of(self.lock().state.clone())
    }

    /// Every directory (None) and file (its bytes) below `/`, as they are now. The
    /// bytes are shared, not copied: comparing two trees of one origin is cheap.
    pub fn tree(&self) -> Tree {
        let s = self.lock();
        let mut out = BTreeMap::new();
        let mut stack = vec![(PathBuf::from("/"), state::ROOT)];
        while let Some((path, n)) = stack.pop() {
            match &s.state.nodes[&n].body {
                Body::Dir { entries, .. } => {
                    for (name, &child) in entries {
                        let p = path.join(name);
                        if matches!(s.state.nodes[&child].body, Body::Dir { .. }) {
                            out.insert(p.clone(), None);
                        }
                        stack.push((p, child));
                    }
                }
                Body::File { data, .. } => {
                    out.insert(path, Some(data.clone()));
                }
            }
        }
        out
    }
}

/// Makes every current name durable (files put outside the plan).
fn durable_names(s: &mut State) {
    for node in s.nodes.values_mut() {
        if let Body::Dir { entries, durable } = &mut node.body {
            *durable = entries.clone();
        }
    }
}

/// An open file: reads and writes go to the shared state.
struct MemHandle {
    shared: Arc<Mutex<Shared>>,
    node: u64,
}

impl MemHandle {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().expect("the in-memory file system")
    }

    fn read(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let s = self.lock();
        s.alive()?;
        let Body::File { data, .. } = &s.state.nodes[&self.node].body else { return Err(err(libc::EISDIR)) };
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn len(&self) -> io::Result<u64> {
        let s = self.lock();
        s.alive()?;
        match &s.state.nodes[&self.node].body {
            Body::File { data, .. } => Ok(data.len() as u64),
            Body::Dir { .. } => Err(err(libc::EISDIR)),
        }
    }

    fn write(&self, data: &[u8], offset: u64) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        s.state.write(self.node, offset, data)
    }

    fn sync(&self) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        s.state.sync_file(self.node);
        Ok(())
    }
}

impl SourceFile for MemHandle {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.read(buf, offset)
    }
    fn size(&mut self) -> io::Result<u64> {
        self.len()
    }
}

impl TargetFile for MemHandle {
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.write(data, offset)
    }
    fn sync(&mut self) -> io::Result<()> {
        MemHandle::sync(self)
    }
}

impl EditFile for MemHandle {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.read(buf, offset)
    }
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        self.write(data, offset)
    }
    fn size(&mut self) -> io::Result<u64> {
        self.len()
    }
    fn sync(&mut self) -> io::Result<()> {
        MemHandle::sync(self)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        s.state.shorten(self.node, len)
    }
}

impl MemFs {
    fn handle(&self, node: u64) -> Box<MemHandle> {
        Box::new(MemHandle { shared: self.shared.clone(), node })
    }

    fn new_file(&self, path: &Path) -> io::Result<u64> {
        let mut s = self.lock();
        s.step()?;
        let body = Body::File { data: Default::default(), durable: Some(Default::default()), unsynced: Vec::new() };
        s.state.create(path, body, Owner { uid: 0, gid: 0 })
    }

    /// rename(2); `replace` allows an existing file at `to` (it is then gone).
    fn rename(&self, from: &Path, to: &Path, replace: bool) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        let st = &mut s.state;
        let (fdir, fname) = st.parent_of(from)?;
        let node = st.entry(fdir, &fname).ok_or_else(|| err(libc::ENOENT))?;
        let (tdir, tname) = st.parent_of(to)?;
        let replaced = st.entry(tdir, &tname);
        if replaced.is_some() && !replace {
            return Err(err(libc::EEXIST));
        }
        if st.device_of(from) != st.device_of(to) {
            return Err(err(libc::EXDEV));
        }
        st.change(vec![
            Edit { dir: fdir, name: fname, before: Some(node), after: None },
            Edit { dir: tdir, name: tname, before: replaced, after: Some(node) },
        ]);
        Ok(())
    }

    fn unlink(&self, path: &Path, dir_wanted: bool) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        let st = &mut s.state;
        let (dir, name) = st.parent_of(path)?;
        let node = st.entry(dir, &name).ok_or_else(|| err(libc::ENOENT))?;
        match (&st.nodes[&node].body, dir_wanted) {
            (Body::Dir { entries, .. }, true) if !entries.is_empty() => return Err(err(libc::ENOTEMPTY)),
            (Body::Dir { .. }, false) => return Err(err(libc::EISDIR)),
            (Body::File { .. }, true) => return Err(err(libc::ENOTDIR)),
            _ => {}
        }
        st.change(vec![Edit { dir, name, before: Some(node), after: None }]);
        Ok(())
    }
}

impl LocalFs for MemFs {
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let s = self.lock();
        let n = s.node(dir)?;
        let Body::Dir { entries, .. } = &s.state.nodes[&n].body else { return Err(err(libc::ENOTDIR)) };
        Ok(entries.iter().map(|(name, &c)| DirEntry { name: name.clone(), kind: s.state.kind(c) }).collect())
    }
    fn exists(&self, path: &Path) -> bool {
        self.lock().state.lookup(path).is_some()
    }
    fn is_dir(&self, path: &Path) -> bool {
        let s = self.lock();
        s.state.lookup(path).is_some_and(|n| s.state.kind(n) == super::EntryKind::Dir)
    }
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        let n = self.lock().file_node(path)?;
        let h = self.handle(n);
        let mut buf = vec![0u8; h.len()? as usize];
        h.read(&mut buf, 0)?;
        Ok(buf)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn SourceFile>> {
        let n = self.lock().file_node(path)?;
        Ok(self.handle(n))
    }
    fn open_edit(&self, path: &Path) -> io::Result<Box<dyn EditFile>> {
        let n = self.lock().file_node(path)?;
        Ok(self.handle(n))
    }
    /// The real one's steps, each a change of its own: remove a leftover temporary
    /// file, create, write, fdatasync, rename over `path`, fsync the directory.
    fn replace_durably(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        let name = path.file_name().ok_or_else(|| err(libc::EINVAL))?;
        let tmp = path.with_file_name(format!(".{}.innohot-new", name.to_string_lossy()));
        if self.exists(&tmp) {
            self.unlink(&tmp, false)?;
        }
        let n = self.new_file(&tmp)?;
        let h = self.handle(n);
        h.write(contents, 0)?;
        h.sync()?;
        self.rename(&tmp, path, true)?;
        self.sync_dir(path.parent().unwrap_or(Path::new("/")))
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut at = PathBuf::from("/");
        for name in state::names(dir)? {
            at.push(name);
            if self.is_dir(&at) {
                continue;
            }
            let mut s = self.lock();
            s.step()?;
            let body = Body::Dir { entries: BTreeMap::new(), durable: BTreeMap::new() };
            s.state.create(&at, body, Owner { uid: 0, gid: 0 })?;
        }
        Ok(())
    }
    fn create_file(&self, path: &Path) -> io::Result<Box<dyn TargetFile>> {
        let n = self.new_file(path)?;
        Ok(self.handle(n))
    }
    fn rename_no_replace(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.rename(from, to, false)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.unlink(path, false)
    }
    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        self.unlink(dir, true)
    }
    fn space(&self, path: &Path) -> io::Result<FsSpace> {
        let s = self.lock();
        s.node(path)?;
        let device = s.state.device_of(path);
        let used = s.state.used.get(&device).copied().unwrap_or(0);
        Ok(FsSpace { device, available: s.state.capacity(device).saturating_sub(used), block_size: BLOCK })
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        let n = s.node(dir)?;
        s.state.sync_dir(n);
        Ok(())
    }
    fn owner(&self, path: &Path) -> io::Result<Owner> {
        let s = self.lock();
        let n = s.node(path)?;
        Ok(s.state.nodes[&n].owner)
    }
    fn set_owner(&self, path: &Path, owner: Owner) -> io::Result<()> {
        let mut s = self.lock();
        let n = s.node(path)?;
        s.state.nodes.get_mut(&n).expect("a node").owner = owner;
        Ok(())
    }
    fn lock_holder(&self, path: &Path) -> io::Result<Option<u32>> {
        self.lock().node(path).map(|_| None)
    }
}

#[cfg(test)]
mod tests;
