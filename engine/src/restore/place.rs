//! Doing a restore's plan all or nothing, through failures and crashes.
//!
//! Order (each step durable before the next):
//! 1. the missing datadir (and parents) with the marker ([`super::marker`]) in
//!    it, all at once (built under a staging name, renamed into place);
//! 2. the other missing directories (their parents fsynced, so that nothing put in
//!    them can vanish with them);
//! 3. every file: renamed (move-back on one file system) or copied and fdatasynced,
//!    the source kept; then every directory written into fsynced;
//! 4. move-back: the marker says `removing-sources`; the sources of the copies are
//!    removed and their directories fsynced;
//! 5. the marker removed, the datadir fsynced.
//!
//! So at any crash every file has a complete copy somewhere, and the marker is
//! there until the restore is complete. A failure in steps 1-3 is undone at once:
//! renamed files go back, copies and created directories are removed (a copy
//! never has to go back across file systems: its source is still there). A re-run
//! finds the marker: before step 4 it undoes as a failure would and starts again;
//! from step 4 on it finishes.

use super::copyback::{Item, Mode, Ownership, RestoreOptions, RestoreReport};
use super::marker::{Marker, MARKER_NEW};
use super::{io_err, RestoreError, Result};
use crate::format::page_compressed;
use crate::io::{sparse, LocalFs};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bytes per read while copying.
const CHUNK: usize = 8 << 20;

/// What a re-run did about the interrupted run it found.
pub enum Resumed {
    /// A move-back that had placed every file: finished; nothing more to do.
    Finished(RestoreReport),
    /// Undone (this says how): the restore starts again.
    Undone(String),
}

/// One restore being done: the plan (as its marker records it) and the figures so far.
pub struct Restore<'a> {
    fs: &'a dyn LocalFs,
    opts: &'a RestoreOptions,
    marker: Marker,
    report: RestoreReport,
    /// The copy buffer, reused from file to file.
    buf: Vec<u8>,
}

impl<'a> Restore<'a> {
    pub fn new(fs: &'a dyn LocalFs, opts: &'a RestoreOptions, marker: Marker) -> Self {
        Restore { fs, opts, marker, report: RestoreReport::default(), buf: Vec::new() }
    }

    /// Steps 1-5; a failure before step 4 is undone and says so.
    pub fn run(mut self) -> Result<RestoreReport> {
        if let Err(cause) = self.place_all() {
            return Err(roll_back(self.fs, &self.marker, cause));
        }
        let (fs, path) = (self.fs, self.marker.path());
        if self.opts.mode == Mode::Move {
            self.marker.removing_sources = true;
            if let Err(e) = fs.replace_durably(&path, &self.marker.encode()) {
                return Err(roll_back(fs, &self.marker, io_err(&path, "replacing")(e)));
            }
            finish_move(fs, &self.marker, self.opts, &mut self.report, &mut self.buf)
                .map_err(|cause| RestoreError::Failed { cause: Box::new(cause), then: self.finish_later() })?;
        }
        remove_marker(fs, &self.marker).map_err(|cause| {
            let then = if fs.exists(&path) {
                format!(
                    "every file is in place and durable, but {} is still there: remove it before starting the \
                     server (or run the same command again, which starts over)",
                    path.display()
                )
            } else {
                format!(
                    "every file is in place and durable and {} is removed, but maybe not durably: should it be \
                     there again after a crash, run the same command again",
                    path.display()
                )
            };
            RestoreError::Failed { cause: Box::new(cause), then }
        })?;
        Ok(self.report)
    }

    fn finish_later(&self) -> String {
        format!(
            "every file is in place under {} and durable, but the backup still holds some of the files copied \
             across file systems: run the same move-back again to finish ({} says what is left)",
            self.marker.datadir.display(),
            self.marker.path().display()
        )
    }

    /// Steps 1-3.
    fn place_all(&mut self) -> Result<()> {
        let (fs, datadir) = (self.fs, self.marker.datadir.clone());
        let (chain, others): (Vec<PathBuf>, Vec<PathBuf>) =
            self.marker.dirs.iter().cloned().partition(|d| datadir.starts_with(d));
        match chain.first() {
            None => {
                self.write_marker(&self.marker.path())?;
                fs.sync_dir(&datadir).map_err(io_err(&datadir, "fsync of"))?;
            }
            Some(top) => self.create_chain_with_marker(top, &chain)?,
        }
        self.create_dirs(&others)?;
        for item in &self.marker.items {
            place(fs, item, self.opts, &mut self.report, &mut self.buf)?;
        }
        sync_dirs(fs, self.marker.items.iter().filter_map(|i| i.to.parent()))
    }

    /// Writes the marker to `path`, durably (its directory entry is the caller's).
    fn write_marker(&self, path: &Path) -> Result<()> {
        let mut f = self.fs.create_file(path).map_err(io_err(path, "creating"))?;
        f.write_at(&self.marker.encode(), 0).map_err(io_err(path, "writing"))?;
        f.sync().map_err(io_err(path, "fdatasync of"))
    }

    /// Step 1 for a missing datadir: the directories down to it and the marker in it
    /// appear together or not at all. Otherwise a crash could leave an empty datadir
    /// that the restore created but no durable marker records, which a re-run takes
    /// for the user's own and never removes. They are made under a staging name
    /// beside `top` (the first missing one), made durable, then renamed into place;
    /// a crash before the rename leaves only the staging directory, which the next
    /// run removes ([`remove_staging_leftover`]).
    fn create_chain_with_marker(&self, top: &Path, chain: &[PathBuf]) -> Result<()> {
        let fs = self.fs;
        let staging = staging_dir(top)?;
        let staged: Vec<PathBuf> = chain
            .iter()
            .map(|d| staging.join(d.strip_prefix(top).expect("below the first missing directory")))
            .collect();
        for d in &staged {
            fs.create_dir_all(d).map_err(io_err(d, "creating the directory"))?;
            if let Ownership::Set(o) = self.opts.ownership {
                fs.set_owner(d, o).map_err(io_err(d, "chown of"))?;
            }
        }
        let datadir_staged = staged.last().expect("the chain ends at the datadir");
        self.write_marker(&datadir_staged.join(super::marker::MARKER))?;
        sync_dirs(fs, staged.iter().map(PathBuf::as_path))?;
        fs.rename_no_replace(&staging, top).map_err(io_err(top, "creating (by renaming its staging directory)"))?;
        let parent = top.parent().unwrap_or(Path::new("/"));
        fs.sync_dir(parent).map_err(io_err(parent, "fsync of"))
    }

    /// Creates `dirs` (parents first), owned as the files will be, and makes their names durable.
    fn create_dirs(&self, dirs: &[PathBuf]) -> Result<()> {
        for d in dirs {
            self.fs.create_dir_all(d).map_err(io_err(d, "creating the directory"))?;
            if let Ownership::Set(o) = self.opts.ownership {
                self.fs.set_owner(d, o).map_err(io_err(d, "chown of"))?;
            }
        }
        sync_dirs(self.fs, dirs.iter().filter_map(|d| d.parent()))
    }
}

/// Where [`Restore::create_chain_with_marker`] builds the directories down to the
/// datadir before renaming them to `top`: a hidden name beside it.
fn staging_dir(top: &Path) -> Result<PathBuf> {
    match (top.parent(), top.file_name()) {
        (Some(parent), Some(name)) => Ok(parent.join(format!(".{}.innohot-new", name.to_string_lossy()))),
        _ => Err(RestoreError::Refused(format!("{}: a datadir must be below an existing directory", top.display()))),
    }
}

/// Before a restore into a missing `datadir`: removes the staging directory a run
/// interrupted before its rename left beside the first missing directory. It holds
/// only directories and the marker; anything else in it is not ours and is refused.
pub fn remove_staging_leftover(fs: &dyn LocalFs, datadir: &Path) -> Result<()> {
    let mut top = datadir;
    while let Some(parent) = top.parent().filter(|p| !p.as_os_str().is_empty() && !fs.exists(p)) {
        top = parent;
    }
    let Ok(staging) = staging_dir(top) else { return Ok(()) };
    if !fs.is_dir(&staging) {
        return Ok(());
    }
    let mut dirs = vec![staging.clone()];
    let mut files = Vec::new();
    let mut i = 0;
    while i < dirs.len() {
        let d = dirs[i].clone();
        for e in fs.list(&d).map_err(io_err(&d, "listing"))? {
            let path = d.join(&e.name);
            match e.kind {
                crate::io::EntryKind::Dir => dirs.push(path),
                _ if e.name == super::marker::MARKER || e.name == MARKER_NEW => files.push(path),
                _ => {
                    return Err(RestoreError::DestinationInUse {
                        path: staging.clone(),
                        detail: format!(
                            "it should hold only what an interrupted restore left (directories and its marker), but \
                             holds {}: remove it yourself if it is not needed",
                            path.display()
                        ),
                    })
                }
            }
        }
        i += 1;
    }
    for f in &files {
        fs.remove_file(f).map_err(io_err(f, "removing"))?;
    }
    for d in dirs.iter().rev() {
        fs.remove_dir(d).map_err(io_err(d, "removing the directory"))?;
    }
    let parent = staging.parent().unwrap_or(Path::new("/"));
    fs.sync_dir(parent).map_err(io_err(parent, "fsync of"))
}

/// fsync of each directory once (deepest first; those gone are skipped).
fn sync_dirs<'p>(fs: &dyn LocalFs, dirs: impl Iterator<Item = &'p Path>) -> Result<()> {
    let dirs: BTreeSet<&Path> = dirs.collect();
    for d in dirs.into_iter().rev().filter(|d| fs.is_dir(d)) {
        fs.sync_dir(d).map_err(io_err(d, "fsync of"))?;
    }
    Ok(())
}

/// Puts one file in place, durably, with its owner: renamed (move-back, same file
/// system) or copied; the source stays.
fn place(
    fs: &dyn LocalFs,
    item: &Item,
    opts: &RestoreOptions,
    report: &mut RestoreReport,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let mut renamed = false;
    if opts.mode == Mode::Move && !item.link_rewritten {
        match fs.rename_no_replace(&item.from, &item.to) {
            Ok(()) => renamed = true,
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
            Err(e) => return Err(io_err(&item.to, "moving to")(e)),
        }
    }
    if renamed {
        report.renamed += 1;
    } else {
        report.bytes += copy_file(fs, item, buf)?;
        if opts.ownership == Ownership::Keep {
            let owner = fs.owner(&item.from).map_err(io_err(&item.from, "stat of"))?;
            // Only root may give a file away; anyone else keeps their own files.
            match fs.set_owner(&item.to, owner) {
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                r => r.map_err(io_err(&item.to, "chown of"))?,
            }
        }
    }
    if let Ownership::Set(o) = opts.ownership {
        fs.set_owner(&item.to, o).map_err(io_err(&item.to, "chown of"))?;
    }
    report.files += 1;
    if !item.to.starts_with(&opts.datadir) && item.to.extension().is_some_and(|e| e == "ibd") {
        report.remote.push(item.to.clone());
    }
    Ok(())
}

/// Copies with large sequential reads (through `buf`, grown as needed up to
/// `CHUNK`); fdatasync before returning.
fn copy_file(fs: &dyn LocalFs, item: &Item, buf: &mut Vec<u8>) -> Result<u64> {
    match item.contents() {
        Some(bytes) => {
            let mut out = fs.create_file(&item.to).map_err(io_err(&item.to, "creating"))?;
            out.write_at(&bytes, 0).map_err(io_err(&item.to, "writing"))?;
            out.sync().map_err(io_err(&item.to, "fdatasync of"))?;
            Ok(bytes.len() as u64)
        }
        None => copy_whole(fs, &item.from, &item.to, buf),
    }
}

/// Copies `from` to the new file `to` with large sequential reads (through
/// `buf`, grown as needed up to `CHUNK`); fdatasync before returning. A
/// PAGE_COMPRESSED tablespace is written sparse, as the server holds it
/// ([`crate::io::sparse`]).
pub(super) fn copy_whole(fs: &dyn LocalFs, from: &Path, to: &Path, buf: &mut Vec<u8>) -> Result<u64> {
    let mut out = fs.create_file(to).map_err(io_err(to, "creating"))?;
    let mut src = fs.open_read(from).map_err(io_err(from, "opening"))?;
    let size = src.size().map_err(io_err(from, "reading the size of"))?;
    let want = size.clamp(1, CHUNK as u64) as usize;
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut total = 0u64;
    let (mut sparse_pages, mut tail_hole) = (None, false);
    loop {
        let n = src.read_at(buf, total).map_err(io_err(from, "reading"))?;
        if n == 0 {
            break;
        }
        if total == 0 && from.extension().is_some_and(|e| e == "ibd") {
            sparse_pages = page_compressed::sparse_page_size(&buf[..n]);
        }
        tail_hole = match sparse_pages {
            Some(ps) => sparse::write_sparse(&mut *out, &buf[..n], total, ps),
            None => out.write_at(&buf[..n], total).map(|()| false),
        }
        .map_err(io_err(to, "writing"))?;
        total += n as u64;
        src.done_with(total - n as u64, n as u64);
    }
    if tail_hole {
        sparse::close_hole(&mut *out, total).map_err(io_err(to, "writing"))?;
    }
    out.sync().map_err(io_err(to, "fdatasync of"))?;
    Ok(total)
}

/// Step 4 (every copy is durable): removes the sources still in the backup; a file
/// whose rename a crash undid is moved again. Returns the sources removed.
fn finish_move(
    fs: &dyn LocalFs,
    m: &Marker,
    opts: &RestoreOptions,
    report: &mut RestoreReport,
    buf: &mut Vec<u8>,
) -> Result<u64> {
    let mut removed = 0;
    for item in &m.items {
        match (fs.exists(&item.to), fs.exists(&item.from)) {
            (true, false) => {}
            (false, false) => {
                return Err(RestoreError::Refused(format!(
                    "{} is neither in the backup nor at {}: the interrupted move-back lost it, or someone removed it",
                    item.from.display(),
                    item.to.display()
                )))
            }
            (to_there, true) => {
                if !to_there {
                    place(fs, item, opts, report, buf)?;
                    sync_dirs(fs, item.to.parent().into_iter())?;
                }
                if fs.exists(&item.from) {
                    fs.remove_file(&item.from).map_err(io_err(&item.from, "removing"))?;
                    removed += 1;
                }
            }
        }
    }
    sync_dirs(fs, m.items.iter().filter_map(|i| i.from.parent()))?;
    Ok(removed)
}

fn remove_marker(fs: &dyn LocalFs, m: &Marker) -> Result<()> {
    for p in [m.path(), m.datadir.join(MARKER_NEW)] {
        if fs.exists(&p) {
            fs.remove_file(&p).map_err(io_err(&p, "removing"))?;
        }
    }
    fs.sync_dir(&m.datadir).map_err(io_err(&m.datadir, "fsync of"))
}

/// What undoing a restore did.
#[derive(Debug, Default)]
struct Undone {
    removed: u64,
    moved_back: u64,
    dirs: u64,
    /// Left where they are: a copy-back's files whose source is gone, directories not empty.
    left: Vec<PathBuf>,
    datadir_removed: bool,
}

impl Undone {
    fn sentence(&self, m: &Marker) -> String {
        let mut done = vec![];
        if self.moved_back > 0 {
            done.push(format!("moved {} back into the backup", count(self.moved_back, "file")));
        }
        if self.removed > 0 {
            done.push(format!("removed the {} it had written", count(self.removed, "file")));
        }
        if self.dirs > 0 {
            done.push(format!("removed the {} it had created", count(self.dirs, "directory")));
        }
        let what = if done.is_empty() { "had changed nothing yet".to_string() } else { done.join(", ") };
        let datadir = if self.datadir_removed { "is missing again, as it was" } else { "is empty again" };
        let mut out = format!("{} undid what it did: it {what}; {} {datadir}", m.command(), m.datadir.display());
        if self.left.is_empty() {
            out.push_str(", and the backup is as it was");
        } else {
            let left: Vec<String> = self.left.iter().map(|p| p.display().to_string()).collect();
            out.push_str(&format!(", except for what it could not take back: {}", left.join(", ")));
        }
        out
    }
}

/// "1 file", "2 files"; "1 directory", "3 directories".
fn count(n: u64, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {what}s"),
    }
}

/// A failure's error, after undoing what the restore did.
fn roll_back(fs: &dyn LocalFs, m: &Marker, cause: RestoreError) -> RestoreError {
    let then = match undo(fs, m) {
        Ok(u) => u.sentence(m),
        Err(e) => format!(
            "undoing it failed too ({e}); {} lists what it did: run the same {} again to undo it",
            m.path().display(),
            m.command()
        ),
    };
    RestoreError::Failed { cause: Box::new(cause), then }
}

/// Takes back a restore that did not reach step 4, in reverse: renamed files go
/// back, copies are removed (never a file whose source is gone), then the created
/// directories, the marker, and the datadir if the restore created it.
fn undo(fs: &dyn LocalFs, m: &Marker) -> Result<Undone> {
    let mut u = Undone::default();
    let mut touched: Vec<&Path> = Vec::new();
    for item in m.items.iter().rev().filter(|i| fs.exists(&i.to)) {
        if fs.exists(&item.from) {
            fs.remove_file(&item.to).map_err(io_err(&item.to, "removing"))?;
            u.removed += 1;
        } else if m.mode == Mode::Move {
            fs.rename_no_replace(&item.to, &item.from).map_err(io_err(&item.from, "moving back to"))?;
            u.moved_back += 1;
            touched.extend(item.from.parent());
        } else {
            u.left.push(item.to.clone());
            continue;
        }
        touched.extend(item.to.parent());
    }
    sync_dirs(fs, touched.into_iter())?;
    let (chain, others): (Vec<&PathBuf>, Vec<&PathBuf>) = m.dirs.iter().partition(|d| m.datadir.starts_with(d));
    remove_dirs(fs, &others, &mut u)?;
    if fs.is_dir(&m.datadir) {
        remove_marker(fs, m)?;
    }
    remove_dirs(fs, &chain, &mut u)?;
    if !fs.exists(&m.datadir) {
        // A failure before the staged directories were renamed into place.
        remove_staging_leftover(fs, &m.datadir)?;
    }
    u.datadir_removed = chain.contains(&&m.datadir) && !fs.exists(&m.datadir);
    Ok(u)
}

/// Removes the directories the restore created, deepest first, if empty; fsyncs their parents.
fn remove_dirs(fs: &dyn LocalFs, dirs: &[&PathBuf], u: &mut Undone) -> Result<()> {
    let mut parents = Vec::new();
    for d in dirs.iter().rev().filter(|d| fs.is_dir(d)) {
        if !fs.list(d).map_err(io_err(d, "listing"))?.is_empty() {
            u.left.push(d.to_path_buf());
            continue;
        }
        fs.remove_dir(d).map_err(io_err(d, "removing the directory"))?;
        u.dirs += 1;
        parents.extend(d.parent());
    }
    sync_dirs(fs, parents.into_iter())
}

/// A re-run found the marker of an interrupted run of the same command: finishes it
/// (move-back past step 4) or undoes it.
pub fn resume(fs: &dyn LocalFs, m: &Marker, opts: &RestoreOptions) -> Result<Resumed> {
    let failed = |cause| RestoreError::Failed {
        cause: Box::new(cause),
        then: format!(
            "{} holds an interrupted {} ({} lists what it did): run the same command again",
            m.datadir.display(),
            m.command(),
            m.path().display()
        ),
    };
    if !m.removing_sources {
        let u = undo(fs, m).map_err(failed)?;
        return Ok(Resumed::Undone(format!(
            "found an interrupted {} and undid it first: {}",
            m.command(),
            u.sentence(m)
        )));
    }
    let mut report = RestoreReport::default();
    let removed = finish_move(fs, m, opts, &mut report, &mut Vec::new()).map_err(failed)?;
    remove_marker(fs, m).map_err(failed)?;
    report.files = m.items.len() as u64;
    report.remote = m
        .items
        .iter()
        .filter(|i| !i.to.starts_with(&m.datadir) && i.to.extension().is_some_and(|e| e == "ibd"))
        .map(|i| i.to.clone())
        .collect();
    report.resumed = Some(format!(
        "found an interrupted move-back that had placed every file, and finished it: removed the {removed} files it \
         had left in the backup"
    ));
    Ok(Resumed::Finished(report))
}
