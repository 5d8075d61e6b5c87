//! `innohot mysql57-log-group`: prepares a MySQL 5.7 backup through the server
//! itself. innohot applies only physical 5.7 records; a 5.7 server's crash
//! recovery applies all of them. This writes the backup's redo copy
//! (`xtrabackup_logfile`) as the `ib_logfile0..N-1` group such a server
//! recovers from (layout: [`crate::format::mysql57::group`]); a MySQL 5.7
//! server started on the backup directory with the same
//! `innodb_log_files_in_group` and `innodb_log_file_size` then rolls the
//! backup forward, and a clean shutdown leaves it consistent.

use super::{io_err, read_checkpoints, RestoreError, Result};
use crate::format::mysql57::group::GroupLayout;
use crate::format::mysql57::{RingGeometry, LOG_BLOCK_SIZE, LOG_FILE_HDR_SIZE};
use crate::format::Lsn;
use crate::io::LocalFs;
use crate::meta;
use std::path::{Path, PathBuf};

/// The redo copy of a MySQL 5.7 backup.
pub const COPY_FILE: &str = "xtrabackup_logfile";
/// MySQL 5.7's default `innodb_log_file_size`: the group uses at least this.
pub const DEFAULT_FILE_SIZE: u64 = 48 << 20;
/// The server takes file sizes in whole megabytes.
const FILE_SIZE_UNIT: u64 = 1 << 20;
/// Bytes copied per read and write.
const CHUNK: usize = 1 << 20;

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupReport {
    pub files: Vec<PathBuf>,
    pub file_size: u64,
    /// The start checkpoint, where the server's recovery begins.
    pub checkpoint_lsn: Lsn,
    /// Where the copied redo ends (`last_lsn` of xtrabackup_checkpoints).
    pub last_lsn: Lsn,
    pub copied_bytes: u64,
}

/// Writes `ib_logfile0..files-1` into the backup `dir`. `file_size` None
/// picks the 5.7 default (48 MiB) or the smallest whole number of MiB that
/// holds the copy. Nothing existing is replaced.
pub fn write_log_group(fs: &dyn LocalFs, dir: &Path, files: u32, file_size: Option<u64>) -> Result<LogGroupReport> {
    let cp = read_checkpoints(fs, dir)?;
    let bad_meta = |detail: String| RestoreError::BadMetadata { path: dir.join(meta::CHECKPOINTS_FILE), detail };
    if cp.is_prepared() || cp.backup_type != "full-backuped" {
        return Err(bad_meta(format!(
            "backup_type {:?}: only a full backup that was not prepared gets a log group",
            cp.backup_type
        )));
    }
    if files < 2 {
        return Err(RestoreError::Refused(format!(
            "{files} log file(s): MySQL 5.7 needs innodb_log_files_in_group of at least 2"
        )));
    }
    let copy_path = dir.join(COPY_FILE);
    let bad_log = |detail: String| RestoreError::BadLog { path: copy_path.clone(), detail };
    if !fs.exists(&copy_path) {
        return Err(bad_log("the file is missing: this is not a MySQL 5.7 backup".into()));
    }
    let mut copy = fs.open_read(&copy_path).map_err(io_err(&copy_path, "opening"))?;
    let copy_len = copy.size().map_err(io_err(&copy_path, "reading the size of"))?;
    let mut header = vec![0u8; LOG_FILE_HDR_SIZE as usize];
    if copy_len < LOG_FILE_HDR_SIZE
        || copy.read_at(&mut header, 0).map_err(io_err(&copy_path, "reading"))? < header.len()
    {
        return Err(bad_log(format!("{copy_len} bytes, shorter than its 2048-byte header")));
    }
    let data_len = copied_bytes(&header, cp.last_lsn, copy_len).map_err(bad_log)?;
    let size = file_size
        .unwrap_or_else(|| GroupLayout::smallest_file_size(files, data_len, FILE_SIZE_UNIT).max(DEFAULT_FILE_SIZE));
    let geometry = RingGeometry::new(files, size).map_err(|e| RestoreError::Refused(e.to_string()))?;
    let layout = GroupLayout::new(&header, data_len, geometry).map_err(|e| bad_log(e.to_string()))?;

    let paths: Vec<PathBuf> = (0..files).map(|n| dir.join(format!("ib_logfile{n}"))).collect();
    let mut targets = Vec::new();
    for (n, path) in paths.iter().enumerate() {
        let mut f = fs.create_file(path).map_err(io_err(path, "creating"))?;
        f.write_at(&layout.file_header(n as u32), 0).map_err(io_err(path, "writing"))?;
        // The last block written makes the file exactly `size` bytes long.
        f.write_at(&[0u8; LOG_BLOCK_SIZE], size - LOG_BLOCK_SIZE as u64).map_err(io_err(path, "writing"))?;
        targets.push(f);
    }
    let mut buf = vec![0u8; CHUNK];
    let mut from = 0u64;
    while from < data_len {
        let len = (data_len - from).min(CHUNK as u64) as usize;
        let got = copy.read_at(&mut buf[..len], LOG_FILE_HDR_SIZE + from).map_err(io_err(&copy_path, "reading"))?;
        if got < len {
            return Err(bad_log(format!("ends at byte {} while reading", LOG_FILE_HDR_SIZE + from + got as u64)));
        }
        let mut at = 0usize;
        for (file, offset, piece) in layout.placement(from, len as u64) {
            let path = &paths[file as usize];
            targets[file as usize].write_at(&buf[at..at + piece as usize], offset).map_err(io_err(path, "writing"))?;
            at += piece as usize;
        }
        from += len as u64;
    }
    for (f, path) in targets.iter_mut().zip(&paths) {
        f.sync().map_err(io_err(path, "fdatasync of"))?;
    }
    fs.sync_dir(dir).map_err(io_err(dir, "fsync of"))?;
    Ok(LogGroupReport {
        files: paths,
        file_size: size,
        checkpoint_lsn: layout.checkpoint.lsn,
        last_lsn: cp.last_lsn,
        copied_bytes: data_len,
    })
}

/// Whole blocks from the copy's first block through the one holding
/// `last_lsn`; the copy must hold them all.
fn copied_bytes(header: &[u8], last_lsn: Lsn, copy_len: u64) -> std::result::Result<u64, String> {
    let cp = crate::format::mysql57::newest_checkpoint(header).map_err(|e| e.to_string())?;
    let block = LOG_BLOCK_SIZE as u64;
    let first = cp.lsn - cp.lsn % block;
    if last_lsn < cp.lsn {
        return Err(format!("last_lsn {last_lsn} of xtrabackup_checkpoints is before its start checkpoint {}", cp.lsn));
    }
    let need = (last_lsn - first).div_ceil(block) * block;
    let have = copy_len - LOG_FILE_HDR_SIZE;
    if have < need {
        return Err(format!(
            "holds {have} log bytes after its header, but last_lsn {last_lsn} needs {need}: the copy is truncated"
        ));
    }
    Ok(need)
}
