//! `innohot copy-back` / `move-back`: a prepared backup into a missing or empty
//! datadir, every file where the server will look for it. The whole plan is
//! checked before the first byte is written: nothing is ever overwritten.
//!
//! - `ibdata*` go to `innodb_data_home_dir`, `undo*` to `innodb_undo_directory`,
//!   `ib_logfile*` to `innodb_log_group_home_dir` (each the datadir unless given);
//! - a DATA DIRECTORY table's `.ibd` (stored beside its `.isl` in the backup) goes
//!   to the path the `.isl` names, the `.isl` into the datadir; or, with
//!   `remote_inside_datadir`, the `.ibd` into the datadir and the `.isl` rewritten
//!   to point there;
//! - backup-only files stay behind: `xtrabackup_*`, `backup-my.cnf`, `innohot_*`;
//! - every file is fdatasynced, every directory written into fsynced.

use super::{io_err, read_checkpoints, RestoreError, Result};
use crate::io::{EntryKind, LocalFs, Owner};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Bytes per read while copying.
const CHUNK: usize = 8 << 20;

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
}

/// One file of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    from: PathBuf,
    to: PathBuf,
    /// Written instead of the file's bytes (a rewritten `.isl`).
    contents: Option<Vec<u8>>,
}

/// Files that describe the backup and never go to a datadir.
pub fn is_backup_only(name: &str) -> bool {
    name.starts_with("xtrabackup_")
        || name == crate::meta::BACKUP_MY_CNF
        || name.starts_with("innohot_")
        || name.ends_with(".innohot-new")
}

/// Copies (or moves) the prepared backup in `dir` to where `opts` says.
pub fn restore(fs: &dyn LocalFs, dir: &Path, opts: &RestoreOptions) -> Result<RestoreReport> {
    let cp = read_checkpoints(fs, dir)?;
    if !cp.is_prepared() {
        return Err(RestoreError::NotPrepared { dir: dir.to_path_buf(), kind: cp.backup_type });
    }
    check_no_server(fs, opts)?;
    if fs.exists(&opts.datadir) {
        let entries = fs.list(&opts.datadir).map_err(io_err(&opts.datadir, "listing"))?;
        if let Some(first) = entries.first() {
            return Err(RestoreError::DestinationInUse {
                path: opts.datadir.clone(),
                detail: format!(
                    "the datadir is not empty (it holds {} entries, {} among them)",
                    entries.len(),
                    first.name
                ),
            });
        }
    }
    let plan = plan(fs, dir, opts)?;
    let mut report = RestoreReport::default();
    let mut dirs = BTreeSet::new();
    for item in &plan {
        let parent = item.to.parent().unwrap_or(Path::new("/")).to_path_buf();
        if !fs.is_dir(&parent) {
            create_dirs(fs, &parent, opts, &mut dirs)?;
        }
        dirs.insert(parent);
        place(fs, item, opts, &mut report)?;
        if !item.to.starts_with(&opts.datadir) && item.to.extension().is_some_and(|e| e == "ibd") {
            report.remote.push(item.to.clone());
        }
    }
    for d in dirs.iter().rev() {
        fs.sync_dir(d).map_err(io_err(d, "fsync of"))?;
    }
    Ok(report)
}

/// A running server holds an fcntl write lock on its system tablespace and its
/// redo log (Aria on aria_log_control): restoring under it would corrupt both.
/// Checked first, so that the message names the real cause, not "not empty".
fn check_no_server(fs: &dyn LocalFs, opts: &RestoreOptions) -> Result<()> {
    let home = |o: &Option<PathBuf>| o.clone().unwrap_or_else(|| opts.datadir.clone());
    let locked_by_a_server = [
        home(&opts.data_home_dir).join("ibdata1"),
        home(&opts.log_dir).join("ib_logfile0"),
        opts.datadir.join("aria_log_control"),
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

/// Creates `dir` and its missing parents, owned as the files will be; remembers
/// each new one and the directory above it for the final fsync.
fn create_dirs(fs: &dyn LocalFs, dir: &Path, opts: &RestoreOptions, dirs: &mut BTreeSet<PathBuf>) -> Result<()> {
    let mut missing = vec![];
    let mut d = dir;
    while !fs.is_dir(d) {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    dirs.insert(d.to_path_buf());
    fs.create_dir_all(dir).map_err(io_err(dir, "creating the directory"))?;
    for m in missing {
        if let Ownership::Set(o) = opts.ownership {
            fs.set_owner(&m, o).map_err(io_err(&m, "chown of"))?;
        }
        dirs.insert(m);
    }
    Ok(())
}

/// Every file of the backup with its destination; refuses the first one that exists.
fn plan(fs: &dyn LocalFs, dir: &Path, opts: &RestoreOptions) -> Result<Vec<Item>> {
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
                    let to = match e.name.as_str() {
                        n if d == dir && n.starts_with("ibdata") => home(&opts.data_home_dir).join(n),
                        n if d == dir && n.starts_with("undo") => home(&opts.undo_dir).join(n),
                        n if d == dir && n.starts_with("ib_logfile") => home(&opts.log_dir).join(n),
                        _ => opts.datadir.join(rel),
                    };
                    out.push(Item { from, to, contents: None });
                }
                EntryKind::Other => {}
            }
        }
    }
    out.sort_by(|a, b| a.from.cmp(&b.from));
    let mut seen = BTreeSet::new();
    for item in &out {
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
    let (ibd_to, isl_contents) = if opts.remote_inside_datadir {
        let inside = opts.datadir.join(rel_isl).with_extension("ibd");
        let text = format!("{}\n", inside.display()).into_bytes();
        (inside, Some(text))
    } else {
        if !link.starts_with('/') || !link.ends_with(".ibd") {
            return Err(RestoreError::Refused(format!(
                "{}: the link {link:?} is not an absolute path to an .ibd file; use --remote-tablespaces-inside-datadir",
                isl.display()
            )));
        }
        (PathBuf::from(&link), None)
    };
    Ok(vec![
        Item { from: ibd, to: ibd_to, contents: None },
        Item { from: isl.to_path_buf(), to: opts.datadir.join(rel_isl), contents: isl_contents },
    ])
}

/// Puts one file in place, durably, with its owner.
fn place(fs: &dyn LocalFs, item: &Item, opts: &RestoreOptions, report: &mut RestoreReport) -> Result<()> {
    let mut renamed = false;
    if opts.mode == Mode::Move && item.contents.is_none() {
        match fs.rename_no_replace(&item.from, &item.to) {
            Ok(()) => renamed = true,
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
            Err(e) => return Err(io_err(&item.to, "moving to")(e)),
        }
    }
    if renamed {
        report.renamed += 1;
    } else {
        report.bytes += copy_file(fs, item)?;
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
    if opts.mode == Mode::Move && !renamed {
        fs.remove_file(&item.from).map_err(io_err(&item.from, "removing"))?;
    }
    report.files += 1;
    Ok(())
}

/// Copies with large sequential reads; fdatasync before returning.
fn copy_file(fs: &dyn LocalFs, item: &Item) -> Result<u64> {
    let mut out = fs.create_file(&item.to).map_err(io_err(&item.to, "creating"))?;
    let mut total = 0u64;
    if let Some(bytes) = &item.contents {
        out.write_at(bytes, 0).map_err(io_err(&item.to, "writing"))?;
        total = bytes.len() as u64;
    } else {
        let mut src = fs.open_read(&item.from).map_err(io_err(&item.from, "opening"))?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = src.read_at(&mut buf, total).map_err(io_err(&item.from, "reading"))?;
            if n == 0 {
                break;
            }
            out.write_at(&buf[..n], total).map_err(io_err(&item.to, "writing"))?;
            total += n as u64;
            src.done_with(total - n as u64, n as u64);
        }
    }
    out.sync().map_err(io_err(&item.to, "fdatasync of"))?;
    Ok(total)
}
