//! `innohot prepare`: applies a MariaDB 10.8+ backup's copied redo (`ib_logfile0`)
//! to its tablespaces in place, then leaves the backup as `mariabackup --prepare`
//! does: a fresh `ib_logfile0` whose checkpoint is the applied LSN and
//! `xtrabackup_checkpoints` saying `backup_type = log-applied`.
//!
//! Order, so that an interrupted prepare can simply be run again: (1) changed pages
//! written back and fdatasynced, through a journal that a re-run writes again if
//! it is whole, so that no crash leaves a torn page (a page takes a
//! mini-transaction only if its LSN is not past the mtr's start, so applying the
//! same log again changes nothing);
//! (2) the new `ib_logfile0`, replaced atomically (applying it again is a no-op too);
//! (3) `xtrabackup_checkpoints`, replaced atomically, last.
//!
//! The appliers are submodules, one per redo format: [`mysql57`]
//! (`xtrabackup_logfile`) and [`mariadb`] (`ib_logfile0`). They are pure: pages
//! come and go through [`PageStore`], so the simulator's oracle and the on-disk
//! prepare share the same code.

mod apply_report;
mod flavor;
pub(crate) mod index;
pub mod mariadb;
mod mariadb_backup;
pub mod mysql57;
pub(crate) mod mysql57_backup;
mod page_store;
pub mod sys_tables;

pub use apply_report::ApplyReport;
pub(crate) use flavor::{of_backup, redo_files, BackupFlavor, RedoCopy, FLAVORS};
pub use mariadb_backup::{apply_pages, is_prepared_log, prepared_log, write_prepared_log, LOG_FILE, PREPARED_LOG_LEN};
pub use page_store::{PageIdHasher, PageMap, PageSet, PageStore};

use super::completeness::{self, LocalReader, TableWithoutIbd};
use super::store::FileStore;
use super::{io_err, read_checkpoints, with_backup_type, Checkpoints, RestoreError, Result};
use crate::format::Lsn;
use crate::io::{EntryKind, FileLock, LocalFs};
use crate::meta;
use std::path::{Path, PathBuf};
use sys_tables::sys_tables;

/// What a prepare did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepareReport {
    /// The backup was prepared before: nothing was done.
    pub already_prepared: bool,
    pub tablespaces: usize,
    /// Tablespace files whose page 0 is not written yet (left as they are).
    pub skipped: Vec<PathBuf>,
    pub start_lsn: Lsn,
    pub end_lsn: Lsn,
    /// The checkpoint of the log prepare left, where a server's recovery starts:
    /// MariaDB's `ib_logfile0` ends with a FILE_CHECKPOINT record at it, so it is
    /// `end_lsn` less that record's size; 5.7's log group has it at `end_lsn`.
    pub checkpoint_lsn: Lsn,
    /// The `backup_type` the prepare left in xtrabackup_checkpoints (the flavor's:
    /// `log-applied` for MariaDB, `full-prepared` for MySQL 5.7).
    pub backup_type: &'static str,
    pub redo_bytes: u64,
    pub mtrs: u64,
    pub records_applied: u64,
    pub records_already_in_page: u64,
    /// Tablespaces the redo names that the backup does not hold (dropped during it).
    pub spaces_not_in_backup: Vec<u32>,
    /// Pages read because the redo named them (the most held in memory at once).
    pub pages_read: u64,
    pub pages_written: u64,
    /// Of those, PAGE_COMPRESSED pages stored compressed again.
    pub pages_compressed: u64,
    /// Pages whose last redo record freed them: (space, page). The server never
    /// writes such a page again; innohot writes it with the mtr's LSN.
    pub pages_freed: Vec<(u32, u32)>,
    /// InnoDB `.frm` files (relative) without an `.ibd` whose table InnoDB's
    /// dictionary does not list: orphans the server has too, left as they are.
    pub frm_unknown_to_innodb: Vec<PathBuf>,
    /// DDL during the backup applied from its marker files ([`super::ddl_markers`]).
    pub ddl_applied: Vec<String>,
}

/// What the on-disk side of a prepare counted, beside the applier's [`ApplyReport`].
pub(crate) struct WrittenBack {
    pub tablespaces: usize,
    pub skipped: Vec<PathBuf>,
    pub pages_read: u64,
    pub pages_written: u64,
    pub pages_compressed: u64,
    pub frm_unknown_to_innodb: Vec<PathBuf>,
}

impl PrepareReport {
    /// The report of a redo applied from `start_lsn` (by either applier) and written back.
    pub(crate) fn applied(start_lsn: Lsn, a: &ApplyReport, disk: WrittenBack) -> Self {
        PrepareReport {
            already_prepared: false,
            tablespaces: disk.tablespaces,
            skipped: disk.skipped,
            start_lsn,
            end_lsn: a.end_lsn,
            // Set once the log is written, by the flavor that writes it.
            checkpoint_lsn: 0,
            backup_type: "",
            redo_bytes: a.end_lsn - start_lsn,
            mtrs: a.mtrs,
            records_applied: a.records_applied,
            records_already_in_page: a.records_already_in_page,
            spaces_not_in_backup: a.spaces_not_in_backup.clone(),
            pages_read: disk.pages_read,
            pages_written: disk.pages_written,
            pages_compressed: disk.pages_compressed,
            pages_freed: a.pages_freed.iter().copied().collect(),
            frm_unknown_to_innodb: disk.frm_unknown_to_innodb,
            ddl_applied: Vec::new(),
        }
    }
}

/// Prepares the backup in `dir`; a prepared backup is left alone (`already_prepared`).
/// Holds the backup's lock file ([`meta::PREPARE_LOCK`]) while it works, so two
/// prepares of one backup never interleave; every file a server needs is checked
/// before anything is written ([`completeness`]).
pub fn prepare(fs: &dyn LocalFs, dir: &Path) -> Result<PrepareReport> {
    let already = || PrepareReport { already_prepared: true, ..PrepareReport::default() };
    if read_checkpoints(fs, dir)?.is_prepared() {
        return Ok(already());
    }
    let _lock = lock_backup(fs, dir)?;
    // Again under the lock: another prepare may have finished meanwhile.
    let cp = read_checkpoints(fs, dir)?;
    if cp.is_prepared() {
        return Ok(already());
    }
    let flavor = check_flavor(fs, dir, &cp)?;
    // Before the files are checked: a table copied again is complete only under its name.
    let ddl_applied = super::ddl_markers::apply(fs, dir)?;
    let without_ibd = check_files(fs, dir)?;
    // An interrupted prepare's page writes first (see `journal`).
    super::journal::recover(fs, dir)?;
    let report = flavor.apply_redo(fs, dir, &RedoCopy { dir, cp: &cp, incremental: false }, &without_ibd)?;
    let backup_type = flavor.prepared_type();
    fs.replace_durably(&dir.join(meta::CHECKPOINTS_FILE), with_backup_type(&cp, backup_type).as_bytes())
        .map_err(io_err(&dir.join(meta::CHECKPOINTS_FILE), "replacing"))?;
    Ok(PrepareReport { ddl_applied, ..report })
}

/// The backup's lock file, held until the value is dropped; refused while another
/// prepare holds it.
pub(super) fn lock_backup(fs: &dyn LocalFs, dir: &Path) -> Result<Box<dyn FileLock>> {
    let lock = dir.join(meta::PREPARE_LOCK);
    fs.lock_file(&lock).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => {
            let pid = fs.lock_holder(&lock).ok().flatten();
            RestoreError::Locked { dir: dir.to_path_buf(), lock: lock.clone(), pid }
        }
        _ => RestoreError::Io { path: lock.clone(), op: "creating and locking the lock file", source: e },
    })
}

/// The files a server needs that [`completeness::check`] can name before the redo is
/// read: refused when missing. Returns the InnoDB tables without an `.ibd`, which
/// SYS_TABLES places once the redo is applied ([`place_tables_without_ibd`]).
pub(super) fn check_files(fs: &dyn LocalFs, dir: &Path) -> Result<Vec<TableWithoutIbd>> {
    let found = completeness::check(&LocalReader(fs), dir).map_err(io_err(dir, "reading the backup in"))?;
    if !found.missing.is_empty() {
        return Err(RestoreError::Missing { dir: dir.to_path_buf(), missing: found.missing });
    }
    if let Some(detail) = found.bad_settings {
        return Err(RestoreError::BadMetadata { path: dir.join(meta::BACKUP_MY_CNF), detail });
    }
    Ok(found.without_ibd)
}

/// InnoDB tables whose `.frm` is in the backup and whose `.ibd` is not are fine in
/// the system tablespace, or when InnoDB does not know them (an orphan `.frm`, as on
/// the server): SYS_TABLES, as the redo leaves it, says. Returns the latter.
pub(super) fn place_tables_without_ibd(
    dir: &Path,
    store: &mut FileStore,
    without: &[TableWithoutIbd],
) -> Result<Vec<PathBuf>> {
    if without.is_empty() {
        return Ok(Vec::new());
    }
    let dictionary = sys_tables(&mut |page_no| store.page_mut(0, page_no).map(|p| p.to_vec())).ok();
    // A page that cannot be read leaves the dictionary unknown: every such table is missing.
    let _ = store.take_problem();
    let held = store.spaces().keys().copied().collect();
    let placed = completeness::place(without, dictionary.as_ref(), &held);
    if !placed.missing.is_empty() {
        return Err(RestoreError::Missing { dir: dir.to_path_buf(), missing: placed.missing });
    }
    Ok(placed.unlisted.into_iter().map(|t| t.frm).collect())
}

/// Refuses what this prepare cannot do, before anything is read at length; else
/// whose redo the backup holds.
fn check_flavor(fs: &dyn LocalFs, dir: &Path, cp: &Checkpoints) -> Result<&'static dyn BackupFlavor> {
    if cp.is_incremental() {
        return Err(RestoreError::Refused(format!(
            "{} is an incremental backup (from LSN {}): it is prepared onto its base: innohot prepare \
             --target-dir=BASE first, then innohot prepare --target-dir=BASE --incremental-dir={}",
            dir.display(),
            cp.from_lsn,
            dir.display()
        )));
    }
    if cp.backup_type != "full-backuped" {
        return Err(RestoreError::BadMetadata {
            path: dir.join(meta::CHECKPOINTS_FILE),
            detail: format!("backup_type '{}' is not a full backup innohot can prepare", cp.backup_type),
        });
    }
    if fs.exists(&dir.join(meta::CHECKPOINTS_PENDING)) {
        return Err(RestoreError::Incomplete { dir: dir.to_path_buf(), failed: None });
    }
    let info = dir.join(meta::INFO_FILE);
    if fs.exists(&info) {
        let text = fs.read_all(&info).map_err(io_err(&info, "reading"))?;
        let info_to = super::key_values(&String::from_utf8_lossy(&text)).get("innodb_to_lsn").cloned();
        if let Some(v) = info_to.filter(|v| v.parse::<Lsn>().ok() != Some(cp.to_lsn)) {
            return Err(RestoreError::BadMetadata {
                path: info,
                detail: format!(
                    "innodb_to_lsn {v} but {} says to_lsn {}: the metadata files disagree, one is damaged or \
                     from another backup; nothing was changed: take a new backup",
                    meta::CHECKPOINTS_FILE,
                    cp.to_lsn
                ),
            });
        }
    }
    let Some(flavor) = of_backup(&|name| fs.exists(&dir.join(name))) else {
        let names = redo_files();
        return Err(RestoreError::BadLog {
            path: dir.join(names[0]),
            detail: format!("the file is missing (no {})", names.join(" nor ")),
        });
    };
    let data_files: Vec<_> = fs
        .list(dir)
        .map_err(io_err(dir, "listing"))?
        .into_iter()
        .filter(|e| e.name.starts_with("ibdata") && e.kind == EntryKind::File)
        .collect();
    if data_files.len() > 1 {
        return Err(RestoreError::Refused(format!(
            "{}: the system tablespace spans {} files; innohot prepares only a one-file system tablespace so far: \
             use mariabackup --prepare or xtrabackup --prepare",
            dir.display(),
            data_files.len()
        )));
    }
    Ok(flavor)
}

/// Every tablespace file of the backup: `ibdata*` and `undo*` at the top, every
/// `.ibd` below (DATA DIRECTORY tables are stored beside their `.isl`).
pub fn tablespace_files(fs: &dyn LocalFs, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs.list(&d).map_err(io_err(&d, "listing"))? {
            let path = d.join(&e.name);
            match e.kind {
                EntryKind::Dir => stack.push(path),
                EntryKind::File => {
                    let system = d == dir && (e.name.starts_with("ibdata") || e.name.starts_with("undo"));
                    if system || e.name.ends_with(".ibd") {
                        out.push(path);
                    }
                }
                EntryKind::Other => {}
            }
        }
    }
    out.sort();
    Ok(out)
}
