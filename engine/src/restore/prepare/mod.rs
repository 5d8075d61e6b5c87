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

pub(crate) mod index;
pub mod mariadb;
pub mod mysql57;
mod page_store;
pub mod sys_tables;

pub use page_store::{PageIdHasher, PageMap, PageSet, PageStore};

use super::completeness::{self, LocalReader, Missing, TableWithoutIbd};
use super::store::FileStore;
use super::{io_err, read_checkpoints, with_backup_type, Checkpoints, RestoreError, Result};
use crate::format::mariadb::{self as log_format, Checkpoint, Record, Ring, SIZE_OF_FILE_CHECKPOINT, START_OFFSET};
use crate::format::page::{self, PageLayout};
use crate::format::Lsn;
use crate::io::{EntryKind, FileLock, LocalFs};
use crate::meta;
use mariadb as apply;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use sys_tables::sys_tables;

pub const LOG_FILE: &str = "ib_logfile0";
const MYSQL57_LOG: &str = "xtrabackup_logfile";

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
    let (report, backup_type) = match flavor {
        Flavor::MariaDb => {
            let (report, creator) = apply_pages(fs, dir, &cp, &without_ibd)?;
            write_prepared_log(fs, dir, report.end_lsn, &creator)?;
            (report, "log-applied")
        }
        Flavor::Mysql57 => {
            let (report, log) = super::prepare57::apply_pages(fs, dir, &cp, &without_ibd)?;
            super::prepare57::write_group(fs, dir, &log, report.end_lsn, false)?;
            (report, "full-prepared")
        }
    };
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

/// Each tablespace the redo changes that the backup does not hold must be one the
/// redo deletes (a table dropped, or rebuilt under a new id by ALTER or OPTIMIZE),
/// or, in a partial backup, a table's left out on purpose; any other is missing
/// from the backup, and prepare would lose its changes.
fn check_unheld_spaces(dir: &Path, a: &apply::ApplyReport, partial: bool) -> Result<()> {
    let missing: Vec<Missing> = a
        .spaces_not_in_backup
        .iter()
        .filter_map(|space| match a.file_names.get(space) {
            Some(None) => None,
            Some(Some(name)) if partial && name.trim_start_matches("./").contains('/') => None,
            // An ALTER's or TRUNCATE's table in the making: the backup never copies one
            // (the statement had not finished under the lock; the original table holds).
            Some(Some(name)) if is_statement_table(name) => None,
            Some(Some(name)) => Some(Missing {
                file: completeness::backup_path_of(name),
                why: format!(
                    "the copied redo changes its tablespace (id {space}) and does not delete it: prepare would lose \
                     those changes"
                ),
            }),
            None => Some(Missing {
                file: PathBuf::from(format!("the file of tablespace id {space}")),
                why: "the copied redo changes that tablespace and no FILE record names it: a system or undo \
                      tablespace"
                    .into(),
            }),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RestoreError::Missing { dir: dir.to_path_buf(), missing })
    }
}

/// Whether a redo file name ("./db/#sql-alter-1f-7.ibd") is one of a DDL
/// statement's own tables, which a backup never holds.
fn is_statement_table(name: &str) -> bool {
    Path::new(name).file_name().and_then(|f| f.to_str()).is_some_and(crate::copy::is_temporary_name)
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

/// Whose redo the backup holds: the flavor difference of one prepare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `ib_logfile0` (MariaDB 10.8+).
    MariaDb,
    /// `xtrabackup_logfile` (MySQL 5.7).
    Mysql57,
}

/// Refuses what this prepare cannot do, before anything is read at length.
fn check_flavor(fs: &dyn LocalFs, dir: &Path, cp: &Checkpoints) -> Result<Flavor> {
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
    let flavor = if fs.exists(&dir.join(LOG_FILE)) { Flavor::MariaDb } else { Flavor::Mysql57 };
    if flavor == Flavor::Mysql57 && !fs.exists(&dir.join(MYSQL57_LOG)) {
        return Err(RestoreError::BadLog {
            path: dir.join(LOG_FILE),
            detail: "the file is missing (no ib_logfile0 nor xtrabackup_logfile)".into(),
        });
    }
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

/// Steps (1): applies the log to the pages it names and writes the changed pages
/// back, durably. Returns the report and the log's creator label.
pub fn apply_pages(
    fs: &dyn LocalFs,
    dir: &Path,
    cp: &Checkpoints,
    without_ibd: &[TableWithoutIbd],
) -> Result<(PrepareReport, String)> {
    apply_log(fs, dir, &dir.join(LOG_FILE), cp, without_ibd)
}

/// [`apply_pages`] with the redo read from `log_path` (an incremental's,
/// applied to its base) and `cp` the checkpoints of the backup it belongs to.
pub(super) fn apply_log(
    fs: &dyn LocalFs,
    dir: &Path,
    log_path: &Path,
    cp: &Checkpoints,
    without_ibd: &[TableWithoutIbd],
) -> Result<(PrepareReport, String)> {
    let log_path = log_path.to_path_buf();
    let log = fs.read_mapped(&log_path).map_err(io_err(&log_path, "reading"))?;
    let bad_log = |detail: String| RestoreError::BadLog { path: log_path.clone(), detail };
    if log.len() < START_OFFSET as usize {
        return Err(bad_log(format!("{} bytes, shorter than its 12288-byte header", log.len())));
    }
    let (header, log_cp) =
        log_format::parse_log_header(&log[..START_OFFSET as usize]).map_err(|e| bad_log(e.to_string()))?;
    let mut store = FileStore::new(fs);
    let level = super::backup_settings(fs, dir)?.get("innodb_compression_level").and_then(|v| v.parse().ok());
    store.compression_level = level.unwrap_or(6);
    let files = tablespace_files(fs, dir)?;
    for path in &files {
        store.add(path)?;
    }
    let refused = |e: apply::PrepareError, store: &FileStore| match e {
        apply::PrepareError::BadExtended { lsn, page, error } => RestoreError::BadRowRecord {
            path: store.spaces().get(&page.space).map_or_else(|| log_path.clone(), |s| s.path.clone()),
            page: page.page,
            lsn,
            what: error.what,
            detail: error.detail.to_string(),
        },
        e => bad_log(e.to_string()),
    };
    let parsed = apply::parse_log(&log, cp.last_lsn).map_err(|e| refused(e, &store))?;
    if !store.skipped.is_empty() {
        adopt_unwritten(fs, dir, &log, &parsed, &mut store)?;
    }
    let applied = apply::apply_parsed(&log, &parsed, &mut store);
    if let Some(problem) = store.take_problem() {
        return Err(problem);
    }
    let a = applied.map_err(|e| refused(e, &store))?;
    store.check_unwritten_layouts()?;
    check_unheld_spaces(dir, &a, super::is_partial(fs, dir)?)?;
    let pages_read = store.pages_held() as u64;
    let frm_unknown_to_innodb = place_tables_without_ibd(dir, &mut store, without_ibd)?;
    let mut touched: BTreeSet<(u32, u32)> = a.pages_touched.iter().copied().collect();
    touched.extend(store.zero_freed_page_compressed(a.pages_freed.iter().copied())?);
    drop(log);
    let pages_written = std::thread::scope(|scope| {
        // The log's page cache freed while the pages are written (mostly waits on the
        // disk): the rename that replaces it then has little left to free.
        scope.spawn(|| fs.drop_cached(&log_path));
        store.write_back(dir, &touched, &a.sizes, &a.trimmed)
    })?;
    let report = PrepareReport {
        already_prepared: false,
        tablespaces: store.spaces().len(),
        skipped: store.skipped.clone(),
        start_lsn: log_cp.lsn,
        end_lsn: a.end_lsn,
        redo_bytes: a.end_lsn - log_cp.lsn,
        mtrs: a.mtrs,
        records_applied: a.records_applied,
        records_already_in_page: a.records_already_in_page,
        spaces_not_in_backup: a.spaces_not_in_backup.clone(),
        pages_read,
        pages_written,
        pages_compressed: store.pages_compressed,
        pages_freed: a.pages_freed.iter().copied().collect(),
        frm_unknown_to_innodb,
        ddl_applied: Vec::new(),
    };
    Ok((report, header.creator))
}

/// A store that holds only page 0 of the given tablespaces, all zero at first:
/// applying the log to it reads its file records and rebuilds those pages 0.
struct Pages0(std::collections::BTreeMap<u32, Vec<u8>>);

impl apply::PageStore for Pages0 {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        if page != 0 {
            return None;
        }
        self.0.get_mut(&space).map(|p| p.as_mut_slice())
    }
}

/// Files whose page 0 was still all zero when copied (the server writes a new
/// tablespace's pages lazily): the redo's FILE_CREATE / FILE_MODIFY records name
/// them, which gives their space id, as mariabackup finds them; a second pass
/// rebuilds their page 0 alone, whose flags give the page layout (else the
/// server's for a new file, from backup-my.cnf).
fn adopt_unwritten(
    fs: &dyn LocalFs,
    dir: &Path,
    log: &[u8],
    parsed: &apply::ParsedLog,
    store: &mut FileStore,
) -> Result<()> {
    let names = &parsed.report.file_names;
    let settings = super::backup_settings(fs, dir)?;
    let size = settings.get("innodb_page_size").and_then(|v| v.parse().ok()).unwrap_or(16384);
    let layout = PageLayout::for_new_file(size, settings.get("innodb_checksum_algorithm").map(|s| s.as_str()));
    let mut found = Vec::new();
    for path in std::mem::take(&mut store.skipped) {
        match names.iter().find(|(_, name)| name.as_deref().is_some_and(|n| names_file(dir, &path, n))) {
            Some((&space, _)) => found.push((path, space)),
            None => store.skipped.push(path),
        }
    }
    let mut pages0 = Pages0(found.iter().map(|(_, space)| (*space, vec![0u8; 65536])).collect());
    let rebuilt = apply::apply_parsed(log, parsed, &mut pages0).is_ok();
    for (path, space) in found {
        // Trusted only when the redo did rebuild it (its FSP header names the space).
        let header = rebuilt.then(|| page::fsp_header(&pages0.0[&space]).ok()).flatten();
        let flags = header.filter(|h| h.space_id == space).map(|h| h.flags);
        let real = flags.and_then(|f| page::layout_from_flags(f).ok().map(|l| (l, f)));
        let (layout, flags) = real.unwrap_or((layout, 0));
        store.add_unwritten(&path, space, layout, flags)?;
    }
    Ok(())
}

/// Whether the redo's file name (`./db/t.ibd`, or an absolute DATA DIRECTORY path
/// whose `.ibd` the backup keeps in its schema directory) is `path` in the backup.
fn names_file(dir: &Path, path: &Path, name: &str) -> bool {
    let Ok(rel) = path.strip_prefix(dir) else { return false };
    match name.strip_prefix("./") {
        Some(r) => Path::new(r) == rel,
        None => {
            let tail: Vec<_> = Path::new(name).components().rev().take(2).collect();
            let mine: Vec<_> = rel.components().rev().take(2).collect();
            tail.len() == 2 && tail == mine
        }
    }
}

/// The `ib_logfile0` `mariabackup --prepare` (10.11) leaves: the backup header with
/// checkpoint block 1 = {C, C} and one FILE_CHECKPOINT(C) mtr at C, where
/// C = `end_lsn` - 16, so that the log ends exactly at the applied LSN; 12304 bytes.
pub fn prepared_log(end_lsn: Lsn, creator: &str) -> Result<Vec<u8>> {
    let bad = |e: crate::format::FormatError| RestoreError::Refused(format!("building the prepared ib_logfile0: {e}"));
    let c = end_lsn
        .checked_sub(SIZE_OF_FILE_CHECKPOINT as u64)
        .filter(|&c| c >= log_format::FIRST_LSN)
        .ok_or_else(|| RestoreError::Refused(format!("applied LSN {end_lsn} is below the smallest possible LSN")))?;
    let mut out = log_format::backup_log_header(Checkpoint { lsn: c, end_lsn: c }, creator);
    // Any ring longer than the file: lap 0, termination byte 1, as a fresh log.
    let ring = Ring::new(c, 1 << 30).map_err(bad)?;
    out.extend(log_format::encode_mtr(&[Record::FileCheckpoint { lsn: c }], c, &ring).map_err(bad)?);
    Ok(out)
}

/// The length of the `ib_logfile0` a prepare writes: the header and one FILE_CHECKPOINT mtr.
pub const PREPARED_LOG_LEN: u64 = START_OFFSET + SIZE_OF_FILE_CHECKPOINT as u64;

/// Whether `log` is exactly the `ib_logfile0` [`prepared_log`] writes (so a prepare
/// got as far as replacing it).
pub fn is_prepared_log(log: &[u8]) -> bool {
    let Some(head) = log.get(..START_OFFSET as usize) else { return false };
    let Ok((header, cp)) = log_format::parse_log_header(head) else { return false };
    log.len() as u64 == PREPARED_LOG_LEN
        && prepared_log(cp.lsn + SIZE_OF_FILE_CHECKPOINT as u64, &header.creator).is_ok_and(|p| p == log)
}

/// Step (2): the new `ib_logfile0`, replaced atomically.
pub fn write_prepared_log(fs: &dyn LocalFs, dir: &Path, end_lsn: Lsn, creator: &str) -> Result<()> {
    let path = dir.join(LOG_FILE);
    let bytes = prepared_log(end_lsn, creator)?;
    fs.replace_durably(&path, &bytes).map_err(io_err(&path, "replacing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redo_for_a_ddl_statements_own_table_is_no_missing_tablespace_and_any_other_is() {
        let mut a = apply::ApplyReport { spaces_not_in_backup: vec![13, 14, 15], ..Default::default() };
        a.file_names.insert(13, Some("./k/#sql-alter-21fc-7.ibd".into()));
        a.file_names.insert(14, None); // deleted by the redo
        a.file_names.insert(15, Some("./k/t.ibd".into()));
        let err = check_unheld_spaces(Path::new("/b"), &a, false).unwrap_err();
        let RestoreError::Missing { missing, .. } = err else { panic!("{err:?}") };
        let files: Vec<_> = missing.iter().map(|m| m.file.display().to_string()).collect();
        assert_eq!(files, vec!["k/t.ibd"]);
        a.spaces_not_in_backup = vec![13, 14];
        check_unheld_spaces(Path::new("/b"), &a, false).unwrap();
        // A table whose name merely contains "#sql" elsewhere is a real table.
        a.file_names.insert(13, Some("./k/t#sql-alter.ibd".into()));
        assert!(check_unheld_spaces(Path::new("/b"), &a, false).is_err());
    }
}
