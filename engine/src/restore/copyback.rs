//! `innohot copy-back` / `move-back`: a prepared backup into a missing or empty
//! datadir, every file where the server will look for it. The whole plan is
//! checked before the first byte is written, the free space too: nothing is ever
//! overwritten, and a restore that fails undoes what it did (`place`).
//!
//! - `ibdata*` go to `innodb_data_home_dir`, `undo*` to `innodb_undo_directory`,
//!   `ib_logfile*` to `innodb_log_group_home_dir` (each the datadir unless given);
//! - a DATA DIRECTORY table's `.ibd` (stored beside its `.isl` in the backup) goes
//!   to the path the `.isl` names, the `.isl` into the datadir; or, with
//!   `remote_inside_datadir`, the `.ibd` into the datadir and the `.isl` rewritten
//!   to point there;
//! - backup-only files stay behind: `xtrabackup_*`, `backup-my.cnf`, `innohot_*`;
//! - every file is fdatasynced, every directory written into fsynced.
//!
//! A datadir holding only an empty `lost+found` (a fresh file system) is empty;
//! `lost+found` is left as it is.

use super::marker::{Marker, MARKER, MARKER_NEW};
use super::{io_err, read_checkpoints, RestoreError, Result};
use crate::io::{EntryKind, LocalFs, Owner};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Copy,
    /// rename(2) where the file system allows, else copy then remove.
    Move,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Copies get the backup file's owner when the process may give it (root).
    Keep,
    Set(Owner),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOptions {
    pub datadir: PathBuf,
    pub data_home_dir: Option<PathBuf>,
    pub undo_dir: Option<PathBuf>,
    pub log_dir: Option<PathBuf>,
    /// Where `aria_log_control` and `aria_log.*` go (MariaDB's aria_log_dir_path).
    pub aria_log_dir: Option<PathBuf>,
    /// The system tablespace files of the server's `innodb_data_file_path`, as
    /// it names them (absolute, or under `data_home_dir`): the backup's file of
    /// each one's name goes there. Empty: every top-level `ibdata*` goes to
    /// `data_home_dir`.
    pub data_files: Vec<PathBuf>,
    pub remote_inside_datadir: bool,
    pub ownership: Ownership,
    pub mode: Mode,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub files: u64,
    pub bytes: u64,
    /// Files moved by rename (move-back on one file system).
    pub renamed: u64,
    /// DATA DIRECTORY files placed outside the datadir.
    pub remote: Vec<PathBuf>,
    /// What this run found of an interrupted one and did about it first.
    pub resumed: Option<String>,
}

/// One file of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub from: PathBuf,
    pub to: PathBuf,
    /// A `.isl` rewritten to point at the `.ibd` beside it (`remote_inside_datadir`).
    pub link_rewritten: bool,
    /// Bytes the destination takes.
    pub size: u64,
}

impl Item {
    /// What to write instead of the source's bytes, if anything.
    pub fn contents(&self) -> Option<Vec<u8>> {
        self.link_rewritten.then(|| format!("{}\n", self.to.with_extension("ibd").display()).into_bytes())
    }
}

/// Files that describe the backup and never go to a datadir.
pub fn is_backup_only(name: &str) -> bool {
    name.starts_with("xtrabackup_")
        || name == crate::meta::BACKUP_MY_CNF
        || name.starts_with("innohot_")
        || name.ends_with(".innohot-new")
}

/// Copies (or moves) the prepared backup in `dir` to where `opts` says. A datadir
/// holding an interrupted run of the same command is first undone (or, for a
/// move-back that had placed everything, finished).
pub fn restore(fs: &dyn LocalFs, dir: &Path, opts: &RestoreOptions) -> Result<RestoreReport> {
    let cp = read_checkpoints(fs, dir)?;
    if !cp.is_prepared() {
        return Err(RestoreError::NotPrepared { dir: dir.to_path_buf(), kind: cp.backup_type });
    }
    check_no_server(fs, opts)?;
    let mut resumed = None;
    if let Some(previous) = unfinished(fs, dir, opts)? {
        match super::place::resume(fs, &previous, opts)? {
            super::place::Resumed::Finished(report) => return Ok(report),
            super::place::Resumed::Undone(note) => resumed = Some(note),
        }
        // Undone, the datadir must be empty again: anything else in it is not ours.
        unfinished(fs, dir, opts)?;
    }
    let items = plan(fs, dir, opts)?;
    let marker = Marker {
        mode: opts.mode,
        backup: dir.to_path_buf(),
        datadir: opts.datadir.clone(),
        removing_sources: false,
        dirs: dirs_to_create(fs, &items, opts),
        items,
    };
    super::space::check(fs, &marker, opts)?;
    let mut report = super::place::Restore::new(fs, opts, marker).run()?;
    report.resumed = resumed;
    Ok(report)
}

/// Whether `path` is an empty `lost+found` directory: what mkfs leaves in a new
/// file system, which a restore may use as its datadir.
fn is_empty_lost_found(fs: &dyn LocalFs, dir: &Path, name: &str, kind: EntryKind) -> bool {
    name == "lost+found" && kind == EntryKind::Dir && fs.list(&dir.join(name)).is_ok_and(|e| e.is_empty())
}

/// The datadir must be missing, empty (but for an empty `lost+found`), or hold the
/// marker of an interrupted run of this same command: returned, to be undone or finished.
fn unfinished(fs: &dyn LocalFs, dir: &Path, opts: &RestoreOptions) -> Result<Option<Marker>> {
    let datadir = &opts.datadir;
    if !fs.exists(datadir) {
        super::place::remove_staging_leftover(fs, datadir)?;
        return Ok(None);
    }
    let entries = fs.list(datadir).map_err(io_err(datadir, "listing"))?;
    let others: Vec<_> = entries
        .iter()
        .filter(|e| e.name != MARKER && e.name != MARKER_NEW && !is_empty_lost_found(fs, datadir, &e.name, e.kind))
        .collect();
    let marker_path = datadir.join(MARKER);
    let marker = if fs.exists(&marker_path) {
        Marker::decode(&fs.read_all(&marker_path).map_err(io_err(&marker_path, "reading"))?)
    } else {
        None
    };
    let Some(marker) = marker else {
        if let Some(first) = others.first() {
            return Err(RestoreError::DestinationInUse {
                path: datadir.clone(),
                detail: format!(
                    "the datadir is not empty (it holds {} entries, {} among them)",
                    others.len(),
                    first.name
                ),
            });
        }
        // A marker torn by a crash before it was durable: nothing was placed yet.
        for leftover in [MARKER, MARKER_NEW].map(|n| datadir.join(n)).iter().filter(|p| fs.exists(p)) {
            fs.remove_file(leftover).map_err(io_err(leftover, "removing"))?;
            fs.sync_dir(datadir).map_err(io_err(datadir, "fsync of"))?;
        }
        return Ok(None);
    };
    if marker.mode != opts.mode || marker.backup != dir || marker.datadir != *datadir {
        return Err(RestoreError::Refused(format!(
            "{} holds an unfinished innohot {} of {} ({} lists what it did): run that command again to undo or \
             finish it; nothing was written",
            datadir.display(),
            marker.command(),
            marker.backup.display(),
            MARKER
        )));
    }
    Ok(Some(marker))
}

/// A running server holds an fcntl write lock on its system tablespace and its
/// redo log (Aria on aria_log_control): restoring under it would corrupt both.
/// Checked first, so that the message names the real cause, not "not empty".
fn check_no_server(fs: &dyn LocalFs, opts: &RestoreOptions) -> Result<()> {
    let home = |o: &Option<PathBuf>| o.clone().unwrap_or_else(|| opts.datadir.clone());
    let locked_by_a_server = [
        home(&opts.data_home_dir).join("ibdata1"),
        home(&opts.log_dir).join("ib_logfile0"),
        home(&opts.aria_log_dir).join("aria_log_control"),
    ];
    for file in locked_by_a_server {
        if !fs.exists(&file) {
            continue;
        }
        // A file that cannot even be opened to ask is left to the checks below.
        if let Ok(Some(pid)) = fs.lock_holder(&file) {
            return Err(RestoreError::ServerRunning {
                datadir: opts.datadir.clone(),
                file,
                pid: (pid != 0).then_some(pid),
            });
        }
    }
    Ok(())
}

/// The directories the restore creates, parents first: the missing ones above
/// every destination, and the datadir itself when it is missing.
fn dirs_to_create(fs: &dyn LocalFs, items: &[Item], opts: &RestoreOptions) -> Vec<PathBuf> {
    let mut out = BTreeSet::new();
    let parents = items.iter().filter_map(|i| i.to.parent());
    for dir in std::iter::once(opts.datadir.as_path()).chain(parents) {
        let mut d = dir;
        while !fs.is_dir(d) && out.insert(d.to_path_buf()) {
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
    }
    // Sorted paths put every directory after its parents.
    out.into_iter().collect()
}

/// Every file of the backup with its destination, in the order they are placed;
/// refuses the first destination that exists.
pub fn plan(fs: &dyn LocalFs, dir: &Path, opts: &RestoreOptions) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs.list(&d).map_err(io_err(&d, "listing"))? {
            let from = d.join(&e.name);
            match e.kind {
                EntryKind::Dir => stack.push(from),
                EntryKind::File if d == dir && is_backup_only(&e.name) => {}
                EntryKind::File if e.name.ends_with(".ibd") && fs.exists(&from.with_extension("isl")) => {}
                EntryKind::File if e.name.ends_with(".isl") => out.extend(remote_table(fs, dir, &from, opts)?),
                EntryKind::File => {
                    let rel = from.strip_prefix(dir).expect("under the backup");
                    let home = |o: &Option<PathBuf>| o.clone().unwrap_or_else(|| opts.datadir.clone());
                    let system = opts.data_files.iter().find(|p| p.file_name() == Some(e.name.as_ref()));
                    let to = match e.name.as_str() {
                        _ if d == dir && system.is_some() => home(&opts.data_home_dir).join(system.expect("found")),
                        n if d == dir && n.starts_with("ibdata") => home(&opts.data_home_dir).join(n),
                        n if d == dir && n.starts_with("undo") => home(&opts.undo_dir).join(n),
                        n if d == dir && n.starts_with("ib_logfile") => home(&opts.log_dir).join(n),
                        n if d == dir && (n == "aria_log_control" || n.starts_with("aria_log.")) => {
                            home(&opts.aria_log_dir).join(n)
                        }
                        _ => opts.datadir.join(rel),
                    };
                    out.push(Item { from, to, link_rewritten: false, size: 0 });
                }
                EntryKind::Other => {}
            }
        }
    }
    out.sort_by(|a, b| a.from.cmp(&b.from));
    let mut seen = BTreeSet::new();
    for item in &mut out {
        item.size = match item.contents() {
            Some(bytes) => bytes.len() as u64,
            None => fs
                .open_read(&item.from)
                .and_then(|mut f| f.size())
                .map_err(io_err(&item.from, "reading the size of"))?,
        };
        if fs.exists(&item.to) || !seen.insert(item.to.clone()) {
            return Err(RestoreError::DestinationInUse {
                path: item.to.clone(),
                detail: format!("{} would go there, but a file is already there", item.from.display()),
            });
        }
    }
    Ok(out)
}

/// A `.isl` and the `.ibd` beside it.
fn remote_table(fs: &dyn LocalFs, dir: &Path, isl: &Path, opts: &RestoreOptions) -> Result<Vec<Item>> {
    let ibd = isl.with_extension("ibd");
    let rel_isl = isl.strip_prefix(dir).expect("under the backup");
    let link = String::from_utf8_lossy(&fs.read_all(isl).map_err(io_err(isl, "reading"))?).trim().to_string();
    if !fs.exists(&ibd) {
        return Err(RestoreError::Refused(format!(
            "{}: the DATA DIRECTORY table's data file {} is missing from the backup",
            isl.display(),
            ibd.display()
        )));
    }
    let ibd_to = if opts.remote_inside_datadir {
        opts.datadir.join(rel_isl).with_extension("ibd")
    } else {
        if !link.starts_with('/') || !link.ends_with(".ibd") {
            return Err(RestoreError::Refused(format!(
                "{}: the link {link:?} is not an absolute path to an .ibd file; use --remote-tablespaces-inside-datadir",
                isl.display()
            )));
        }
        PathBuf::from(&link)
    };
    let rewritten = opts.remote_inside_datadir;
    Ok(vec![
        Item { from: ibd, to: ibd_to, link_rewritten: false, size: 0 },
        Item { from: isl.to_path_buf(), to: opts.datadir.join(rel_isl), link_rewritten: rewritten, size: 0 },
    ])
}
