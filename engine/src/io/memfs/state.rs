//! The in-memory file system's state: nodes with a current and a durable side,
//! the name changes not yet durable, and what a crash keeps of them.

use crate::io::{EntryKind, Owner};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// A file's bytes, shared by copies of the state until one of them writes.
pub(super) type Bytes = Arc<Vec<u8>>;

/// The root directory's node.
pub(super) const ROOT: u64 = 1;
/// Every device allocates in blocks of this size.
pub(super) const BLOCK: u64 = 4096;
/// A write that is not made durable survives a crash in pieces of this size.
const SECTOR: u64 = 512;

#[derive(Debug, Clone)]
pub(super) struct Mount {
    pub dir: PathBuf,
    pub device: u64,
    pub capacity: u64,
}

#[derive(Debug, Clone)]
pub(super) enum Body {
    File {
        data: Bytes,
        /// What survives a crash when it differs from `data` (None: `data` is durable).
        durable: Option<Bytes>,
        /// Writes since the file was last durable, in order.
        unsynced: Vec<Unsynced>,
    },
    Dir {
        entries: BTreeMap<String, u64>,
        durable: BTreeMap<String, u64>,
    },
}

/// A write not yet durable: its range, and its bytes once a later write covers
/// part of them (until then they are the file's own).
#[derive(Debug, Clone)]
pub(super) struct Unsynced {
    offset: u64,
    len: usize,
    saved: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub device: u64,
    pub owner: Owner,
    /// Names the node has now (a node without one is gone).
    pub links: u32,
    pub body: Body,
}

/// One name in one directory set from `before` to `after` (None: no such name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Edit {
    pub dir: u64,
    pub name: String,
    pub before: Option<u64>,
    pub after: Option<u64>,
}

/// A create, rename or remove: its edits happen together or not at all. It is
/// durable once `dir_synced` (the directory it puts a name in) is fsynced.
#[derive(Debug, Clone)]
pub(super) struct NameChange {
    pub edits: Vec<Edit>,
    pub dir_synced: u64,
}

impl NameChange {
    /// Changes to one name or one node happen in order: a later one is durable
    /// only with the earlier ones.
    fn related(&self, other: &NameChange) -> bool {
        self.edits.iter().any(|a| {
            other.edits.iter().any(|b| {
                (a.dir == b.dir && a.name == b.name)
                    || [a.before, a.after].iter().flatten().any(|n| [b.before, b.after].contains(&Some(*n)))
            })
        })
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct State {
    pub nodes: BTreeMap<u64, Node>,
    pub next_id: u64,
    pub mounts: Vec<Mount>,
    /// Bytes in use per device (whole blocks).
    pub used: BTreeMap<u64, u64>,
    pub pending: Vec<NameChange>,
}

pub(super) fn err(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

fn blocks(len: usize) -> u64 {
    (len as u64).div_ceil(BLOCK) * BLOCK
}

/// The names along an absolute path (`.` skipped, `..` refused).
pub(super) fn names(path: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_string_lossy().into_owned()),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return Err(err(libc::EINVAL)),
        }
    }
    Ok(out)
}

impl State {
    pub fn new() -> State {
        let root = Node {
            device: 0,
            owner: Owner { uid: 0, gid: 0 },
            links: 1,
            body: Body::Dir { entries: BTreeMap::new(), durable: BTreeMap::new() },
        };
        State { nodes: BTreeMap::from([(ROOT, root)]), next_id: ROOT + 1, ..State::default() }
    }

    pub fn device_of(&self, path: &Path) -> u64 {
        self.mounts
            .iter()
            .filter(|m| path.starts_with(&m.dir))
            .max_by_key(|m| m.dir.as_os_str().len())
            .map_or(0, |m| m.device)
    }

    pub fn capacity(&self, device: u64) -> u64 {
        self.mounts.iter().find(|m| m.device == device).map_or(u64::MAX, |m| m.capacity)
    }

    pub fn lookup(&self, path: &Path) -> Option<u64> {
        let mut at = ROOT;
        for name in names(path).ok()? {
            match &self.nodes[&at].body {
                Body::Dir { entries, .. } => at = *entries.get(&name)?,
                Body::File { .. } => return None,
            }
        }
        Some(at)
    }

    pub fn kind(&self, node: u64) -> EntryKind {
        match self.nodes[&node].body {
            Body::File { .. } => EntryKind::File,
            Body::Dir { .. } => EntryKind::Dir,
        }
    }

    /// The directory that would hold `path`, and the name in it.
    pub fn parent_of(&self, path: &Path) -> io::Result<(u64, String)> {
        let mut parts = names(path)?;
        let name = parts.pop().ok_or_else(|| err(libc::EINVAL))?;
        let dir = self.lookup(&parts.iter().collect::<PathBuf>()).ok_or_else(|| err(libc::ENOENT))?;
        if self.kind(dir) != EntryKind::Dir {
            return Err(err(libc::ENOTDIR));
        }
        Ok((dir, name))
    }

    pub fn entry(&self, dir: u64, name: &str) -> Option<u64> {
        match &self.nodes[&dir].body {
            Body::Dir { entries, .. } => entries.get(name).copied(),
            Body::File { .. } => None,
        }
    }

    /// A new node named `path` (its parent must exist, the name must be free).
    pub fn create(&mut self, path: &Path, body: Body, owner: Owner) -> io::Result<u64> {
        let (dir, name) = self.parent_of(path)?;
        if self.entry(dir, &name).is_some() {
            return Err(err(libc::EEXIST));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.insert(id, Node { device: self.device_of(path), owner, links: 0, body });
        self.change(vec![Edit { dir, name, before: None, after: Some(id) }]);
        Ok(id)
    }

    /// Applies a name change now and remembers it until a directory fsync makes it durable.
    pub fn change(&mut self, edits: Vec<Edit>) {
        for e in &edits {
            if let Body::Dir { entries, .. } = &mut self.nodes.get_mut(&e.dir).expect("a directory").body {
                match e.after {
                    Some(n) => entries.insert(e.name.clone(), n),
                    None => entries.remove(&e.name),
                };
            }
        }
        // Names gained before names lost: a renamed node never looks gone.
        for n in edits.iter().filter_map(|e| e.after) {
            self.nodes.get_mut(&n).expect("a node").links += 1;
        }
        for n in edits.iter().filter_map(|e| e.before) {
            self.unlink_node(n);
        }
        let dir_synced = edits.last().expect("an edit").dir;
        self.pending.push(NameChange { edits, dir_synced });
    }

    fn unlink_node(&mut self, n: u64) {
        let node = self.nodes.get_mut(&n).expect("a node");
        node.links -= 1;
        if node.links == 0 {
            if let Body::File { data, .. } = &node.body {
                let freed = blocks(data.len());
                *self.used.entry(node.device).or_default() -= freed;
            }
        }
    }

    /// Writes into a file; ENOSPC when its device cannot hold the growth.
    pub fn write(&mut self, node: u64, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let end = offset as usize + bytes.len();
        let device = self.nodes[&node].device;
        let (cap, used) = (self.capacity(device), self.used.get(&device).copied().unwrap_or(0));
        let Body::File { data, durable, unsynced } = &mut self.nodes.get_mut(&node).expect("a node").body else {
            return Err(err(libc::EISDIR));
        };
        let grow = blocks(end.max(data.len())) - blocks(data.len());
        if used.saturating_add(grow) > cap {
            return Err(err(libc::ENOSPC));
        }
        if durable.is_none() {
            *durable = Some(data.clone());
        }
        let data = Arc::make_mut(data);
        let start = offset as usize;
        for w in unsynced.iter_mut().filter(|w| w.saved.is_none()) {
            let (a, b) = (w.offset as usize, w.offset as usize + w.len);
            if a < end && start < b {
                w.saved = Some(data[a..b].to_vec());
            }
        }
        if start == data.len() {
            data.extend_from_slice(bytes);
        } else {
            if data.len() < end {
                data.resize(end, 0);
            }
            data[start..end].copy_from_slice(bytes);
        }
        unsynced.push(Unsynced { offset, len: bytes.len(), saved: None });
        *self.used.entry(device).or_default() += grow;
        Ok(())
    }

    /// ftruncate to a shorter length. Until the file is synced a crash keeps the
    /// old length and bytes (this model never keeps an unsynced cut).
    pub fn shorten(&mut self, node: u64, len: u64) -> io::Result<()> {
        let device = self.nodes[&node].device;
        let Body::File { data, durable, unsynced } = &mut self.nodes.get_mut(&node).expect("a node").body else {
            return Err(err(libc::EISDIR));
        };
        let len = usize::try_from(len).map_err(|_| err(libc::EFBIG))?;
        if len >= data.len() {
            return Ok(());
        }
        if durable.is_none() {
            *durable = Some(data.clone());
        }
        // Writes still read from the file's bytes keep the part the cut removes.
        for w in unsynced.iter_mut().filter(|w| w.saved.is_none() && w.offset as usize + w.len > len) {
            let (a, b) = (w.offset as usize, w.offset as usize + w.len);
            w.saved = Some(data[a..b].to_vec());
        }
        let freed = blocks(data.len()) - blocks(len);
        Arc::make_mut(data).truncate(len);
        *self.used.entry(device).or_default() -= freed;
        Ok(())
    }

    /// fdatasync: the file's bytes are durable (not its name).
    pub fn sync_file(&mut self, node: u64) {
        if let Body::File { durable, unsynced, .. } = &mut self.nodes.get_mut(&node).expect("a node").body {
            *durable = None;
            unsynced.clear();
        }
    }

    /// fsync of a directory: the name changes it waits for become durable, with the
    /// earlier changes of the same names and nodes.
    pub fn sync_dir(&mut self, dir: u64) {
        let mut chosen: Vec<bool> = self.pending.iter().map(|c| c.dir_synced == dir).collect();
        for j in (0..self.pending.len()).rev() {
            if chosen[j] {
                let later = &self.pending[j];
                for (c, earlier) in chosen.iter_mut().zip(&self.pending[..j]) {
                    *c |= earlier.related(later);
                }
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for (c, durable) in pending.into_iter().zip(chosen) {
            if durable {
                self.make_durable(&c);
            } else {
                self.pending.push(c);
            }
        }
    }

    fn make_durable(&mut self, c: &NameChange) {
        for e in &c.edits {
            if let Body::Dir { durable, .. } = &mut self.nodes.get_mut(&e.dir).expect("a directory").body {
                match e.after {
                    Some(n) => durable.insert(e.name.clone(), n),
                    None => durable.remove(&e.name),
                };
            }
        }
    }

    /// What a crash leaves: the durable state plus, by the seed, some of the rest.
    pub fn crashed(&self, seed: u64) -> State {
        let mut rng = SplitMix(seed);
        let mut s = self.clone();
        let mut lost: Vec<&NameChange> = Vec::new();
        for c in &self.pending {
            if !lost.iter().any(|l| l.related(c)) && rng.below(2) == 0 {
                s.make_durable(c);
            } else {
                lost.push(c);
            }
        }
        for node in s.nodes.values_mut() {
            if let Body::File { data, durable, unsynced } = &mut node.body {
                let Some(mut kept) = durable.take() else { continue };
                for w in unsynced.drain(..) {
                    let a = w.offset as usize;
                    let bytes = w.saved.as_deref().unwrap_or(&data[a..a + w.len]);
                    survive_write(Arc::make_mut(&mut kept), w.offset, bytes, &mut rng);
                }
                *data = kept;
            }
        }
        s.pending.clear();
        s.keep_reachable();
        s
    }

    /// After a crash: the durable names are the names; nodes no name reaches are gone.
    fn keep_reachable(&mut self) {
        let mut seen = BTreeSet::from([ROOT]);
        let mut stack = vec![ROOT];
        while let Some(n) = stack.pop() {
            if let Body::Dir { entries, durable } = &mut self.nodes.get_mut(&n).expect("a node").body {
                *entries = durable.clone();
                for &child in entries.values() {
                    if seen.insert(child) {
                        stack.push(child);
                    }
                }
            }
        }
        self.nodes.retain(|id, _| seen.contains(id));
        self.used.clear();
        for node in self.nodes.values_mut() {
            node.links = 1;
            if let Body::File { data, .. } = &node.body {
                *self.used.entry(node.device).or_default() += blocks(data.len());
            }
        }
    }
}

/// A write that was not made durable: lost, kept, or kept sector by sector.
fn survive_write(file: &mut Vec<u8>, offset: u64, bytes: &[u8], rng: &mut SplitMix) {
    let how = rng.below(3);
    let mut at = offset;
    let end = offset + bytes.len() as u64;
    while at < end {
        let piece_end = ((at / SECTOR + 1) * SECTOR).min(end);
        if how == 1 || (how == 2 && rng.below(2) == 0) {
            let (a, b) = (at as usize, piece_end as usize);
            if file.len() < b {
                file.resize(b, 0);
            }
            file[a..b].copy_from_slice(&bytes[a - offset as usize..b - offset as usize]);
        }
        at = piece_end;
    }
}

/// SplitMix64: the crash's own seeded choices.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (((z ^ (z >> 31)) as u128 * n as u128) >> 64) as u64
    }
}
