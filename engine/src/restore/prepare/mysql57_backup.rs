//! The MySQL 5.7 side of `innohot prepare` ([`super::prepare`] runs the shared
//! steps: lock, completeness, journal, write-back, metadata): applies the
//! backup's `xtrabackup_logfile` with [`super::mysql57`] and leaves the
//! empty log group (`ib_logfile0..`) with its checkpoint at the applied LSN that
//! a 5.7 server starts from, in the backup's own `innodb_log_files_in_group` and
//! `innodb_log_file_size` (backup-my.cnf; 5.7's defaults 2 and 48 MiB).

use super::mysql57::{apply_log, fsp_sizes, PrepareError};
use super::{tablespace_files, PageStore, PrepareReport, WrittenBack};
use crate::format::mysql57::{newest_checkpoint, LOG_FILE_HDR_SIZE};
use crate::format::Lsn;
use crate::io::LocalFs;
use crate::meta;
use crate::restore::completeness::TableWithoutIbd;
use crate::restore::mysql57_group::{write_prepared_group, COPY_FILE, DEFAULT_FILE_SIZE};
use crate::restore::store::FileStore;
use crate::restore::{backup_settings, io_err, journal, Checkpoints, RestoreError, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Applies the redo copy at `log_path` (the backup's own, or an incremental's
/// applied to its base; `cp` the checkpoints of the backup it belongs to) to the
/// tablespaces in `dir` and writes the changed pages back. Returns the report
/// and the redo copy's bytes (for the log group).
pub(crate) fn apply_copy(
    fs: &dyn LocalFs,
    dir: &Path,
    log_path: &Path,
    cp: &Checkpoints,
    without_ibd: &[TableWithoutIbd],
) -> Result<(PrepareReport, Vec<u8>)> {
    let log_path = log_path.to_path_buf();
    let log = fs.read_all(&log_path).map_err(io_err(&log_path, "reading"))?;
    let bad_log = |detail: String| RestoreError::BadLog { path: log_path.clone(), detail };
    let head =
        log.get(..LOG_FILE_HDR_SIZE as usize).ok_or_else(|| bad_log("shorter than its 2048-byte header".into()))?;
    let start = newest_checkpoint(head).map_err(|e| bad_log(e.to_string()))?;
    let mut store = FileStore::new(fs);
    for path in tablespace_files(fs, dir)? {
        store.add(&path)?;
    }
    let applied = apply_log(&log, start.lsn, cp.last_lsn, &mut store);
    if let Some(problem) = store.take_problem() {
        return Err(problem);
    }
    let a = applied.map_err(|e| match e {
        PrepareError::Compressed { space, .. } => {
            let file = store.spaces().get(&space).map_or_else(|| log_path.clone(), |s| s.path.clone());
            RestoreError::Refused(format!("{}: {e}", file.display()))
        }
        e => bad_log(e.to_string()),
    })?;
    let pages_read = store.pages_read() as u64;
    let frm_unknown_to_innodb = super::place_tables_without_ibd(dir, &mut store, without_ibd)?;
    let touched: BTreeSet<(u32, u32)> = a.pages_touched.iter().copied().collect();
    stamp_touched(fs, dir, &mut store, &touched)?;
    let sizes = sizes_to_extend(fs, dir, a.sizes.clone())?;
    let pages_written = store.write_back(dir, &touched, &sizes, &BTreeMap::new())?;
    let disk = WrittenBack {
        tablespaces: store.spaces().len(),
        skipped: store.skipped.clone(),
        pages_read,
        pages_written,
        // 5.7 has no PAGE_COMPRESSED pages to store compressed again.
        pages_compressed: 0,
        frm_unknown_to_innodb,
    };
    let report = PrepareReport::applied(start.lsn, &a, disk);
    Ok((report, log))
}

/// Extends each data file the redo grew past its copied size (FSP_SIZE writes
/// after the copy) with zero pages, as the server extends a file, through
/// prepare's journal: what `innohot mysql57-log-group` does before a 5.7
/// server's own recovery, which otherwise refuses a system tablespace shorter
/// than its header. A journal an interrupted run left is finished first.
pub fn extend_grown_files(fs: &dyn LocalFs, dir: &Path, log: &[u8], checkpoint_lsn: Lsn, last_lsn: Lsn) -> Result<()> {
    journal::recover(fs, dir)?;
    let log_path = dir.join(COPY_FILE);
    let sizes = fsp_sizes(log, checkpoint_lsn, last_lsn)
        .map_err(|e| RestoreError::BadLog { path: log_path, detail: e.to_string() })?;
    let sizes = sizes_to_extend(fs, dir, sizes)?;
    let mut store = FileStore::new(fs);
    for path in tablespace_files(fs, dir)? {
        store.add(&path)?;
    }
    store.write_back(dir, &BTreeSet::new(), &sizes, &BTreeMap::new()).map(|_| ())
}

/// The sizes to extend files to, from the last FSP_SIZE the redo gives each
/// tablespace. A system tablespace in several files (`ibdata1;ibdata2`) is left
/// to the server: its size spans them.
fn sizes_to_extend(fs: &dyn LocalFs, dir: &Path, mut sizes: BTreeMap<u32, u32>) -> Result<BTreeMap<u32, u32>> {
    let ibdata = fs.list(dir).map_err(io_err(dir, "listing"))?.iter().filter(|e| e.name.starts_with("ibdata")).count();
    if ibdata > 1 {
        sizes.remove(&0);
    }
    Ok(sizes)
}

/// Restamps every page the redo changed with a checksum the server accepts under
/// the backup's `innodb_checksum_algorithm` (backup-my.cnf; 5.7's default crc32):
/// a page keeping its old checksum fails the server's read ("corrupted page").
fn stamp_touched(fs: &dyn LocalFs, dir: &Path, store: &mut FileStore, touched: &BTreeSet<(u32, u32)>) -> Result<()> {
    let algorithm =
        backup_settings(fs, dir)?.remove("innodb_checksum_algorithm").unwrap_or_else(|| "crc32".to_string());
    for &(space, page_no) in touched {
        let Some(sp) = store.spaces().get(&space) else { continue };
        let layout = sp.layout;
        let Some(pg) = PageStore::page_mut(store, space, page_no) else { continue };
        if crate::format::page::stamp_for_mysql57(pg, layout, &algorithm).is_none() {
            return Err(RestoreError::Refused(format!(
                "{}: innodb_checksum_algorithm={algorithm} is not a MySQL 5.7 setting this prepare can stamp pages \
                 for (crc32, strict_crc32, innodb, strict_innodb, none, strict_none); nothing was changed",
                dir.join(meta::BACKUP_MY_CNF).display()
            )));
        }
    }
    store.take_problem().map_or(Ok(()), Err)
}

/// The log group a 5.7 server starts the prepared backup from; `replace`
/// (an incremental applied) replaces the group the backup has. Returns its checkpoint.
pub fn write_group(fs: &dyn LocalFs, dir: &Path, log: &[u8], end_lsn: Lsn, replace: bool) -> Result<Lsn> {
    let settings = backup_settings(fs, dir)?;
    let files = settings.get("innodb_log_files_in_group").and_then(|v| v.parse().ok()).unwrap_or(2);
    let size = settings.get("innodb_log_file_size").and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_FILE_SIZE);
    write_prepared_group(fs, dir, log, end_lsn, files, size, replace)
}
