//! The MariaDB 10.8+ side of `innohot prepare` ([`super::prepare`] runs the
//! shared steps: lock, completeness, journal, metadata): applies the backup's
//! `ib_logfile0` with [`super::mariadb`], writes the changed pages back, and
//! leaves the `ib_logfile0` `mariabackup --prepare` leaves, whose checkpoint is
//! the applied LSN.

use super::mariadb as apply;
use super::{place_tables_without_ibd, tablespace_files, PrepareReport, WrittenBack};
use crate::format::mariadb::{self as log_format, Checkpoint, Record, Ring, SIZE_OF_FILE_CHECKPOINT, START_OFFSET};
use crate::format::page::{self, PageLayout};
use crate::format::Lsn;
use crate::io::LocalFs;
use crate::restore::completeness::{self, Missing, TableWithoutIbd};
use crate::restore::store::FileStore;
use crate::restore::{backup_settings, io_err, is_partial, Checkpoints, RestoreError, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The redo copy of a MariaDB backup, and the log a prepared one starts from.
pub const LOG_FILE: &str = "ib_logfile0";

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
pub(crate) fn apply_log(
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
    let level = backup_settings(fs, dir)?.get("innodb_compression_level").and_then(|v| v.parse().ok());
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
    check_unheld_spaces(dir, &a, is_partial(fs, dir)?)?;
    let pages_read = store.pages_read() as u64;
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
    let disk = WrittenBack {
        tablespaces: store.spaces().len(),
        skipped: store.skipped.clone(),
        pages_read,
        pages_written,
        pages_compressed: store.pages_compressed,
        frm_unknown_to_innodb,
    };
    let report = PrepareReport::applied(log_cp.lsn, &a, disk);
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
    let settings = backup_settings(fs, dir)?;
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

/// The checkpoint of the `ib_logfile0` a prepare leaves, C = `end_lsn` - 16 (one
/// FILE_CHECKPOINT record), so that the log ends exactly at the applied LSN.
pub fn prepared_checkpoint(end_lsn: Lsn) -> Result<Lsn> {
    end_lsn
        .checked_sub(SIZE_OF_FILE_CHECKPOINT as u64)
        .filter(|&c| c >= log_format::FIRST_LSN)
        .ok_or_else(|| RestoreError::Refused(format!("applied LSN {end_lsn} is below the smallest possible LSN")))
}

/// The `ib_logfile0` `mariabackup --prepare` (10.11) leaves: the backup header with
/// checkpoint block 1 = {C, C} and one FILE_CHECKPOINT(C) mtr at C, where
/// C = [`prepared_checkpoint`]; 12304 bytes.
pub fn prepared_log(end_lsn: Lsn, creator: &str) -> Result<Vec<u8>> {
    let bad = |e: crate::format::FormatError| RestoreError::Refused(format!("building the prepared ib_logfile0: {e}"));
    let c = prepared_checkpoint(end_lsn)?;
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

/// Step (2): the new `ib_logfile0`, replaced atomically. Returns its checkpoint.
pub fn write_prepared_log(fs: &dyn LocalFs, dir: &Path, end_lsn: Lsn, creator: &str) -> Result<Lsn> {
    let path = dir.join(LOG_FILE);
    let bytes = prepared_log(end_lsn, creator)?;
    fs.replace_durably(&path, &bytes).map_err(io_err(&path, "replacing"))?;
    prepared_checkpoint(end_lsn)
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

    #[test]
    fn the_checkpoint_the_report_carries_is_the_prepared_logs() {
        let end = 4_095_532;
        let log = prepared_log(end, "Backup 10.11.19").unwrap();
        let (_, cp) = log_format::parse_log_header(&log[..START_OFFSET as usize]).unwrap();
        assert_eq!(prepared_checkpoint(end).unwrap(), cp.lsn);
        assert_eq!(cp.lsn, end - 16, "one FILE_CHECKPOINT record before the applied LSN");
    }
}
