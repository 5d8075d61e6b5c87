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
/// holds the copy. Data files the redo grew after their copy are first extended
/// to the size it gives them (see [`super::prepare::mysql57_backup::extend_grown_files`]).
/// Nothing existing is replaced; the files appear whole (written
/// under temporary names, then renamed), and a run killed half way can simply be
/// run again.
pub fn write_log_group(fs: &dyn LocalFs, dir: &Path, files: u32, file_size: Option<u64>) -> Result<LogGroupReport> {
    let cp = read_checkpoints(fs, dir)?;
    let bad_meta = |detail: String| RestoreError::BadMetadata { path: dir.join(meta::CHECKPOINTS_FILE), detail };
    if cp.is_prepared() || cp.backup_type != "full-backuped" {
        return Err(bad_meta(format!(
            "backup_type '{}': only a full backup that was not prepared gets a log group",
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
    let data_len = copied_bytes(&header, cp.last_lsn, copy_len).map_err(|e| bad_log(e.to_string()))?;
    let size = file_size
        .unwrap_or_else(|| GroupLayout::smallest_file_size(files, data_len, FILE_SIZE_UNIT).max(DEFAULT_FILE_SIZE));
    let geometry = RingGeometry::new(files, size).map_err(|e| RestoreError::Refused(e.to_string()))?;
    let layout = GroupLayout::new(&header, data_len, geometry).map_err(|e| bad_log(e.to_string()))?;

    let log = fs.read_all(&copy_path).map_err(io_err(&copy_path, "reading"))?;
    super::prepare::mysql57_backup::extend_grown_files(fs, dir, &log, layout.checkpoint.lsn, cp.last_lsn)?;
    drop(log);
    let paths: Vec<PathBuf> = (0..files).map(|n| dir.join(format!("ib_logfile{n}"))).collect();
    let temps: Vec<PathBuf> = (0..files).map(|n| dir.join(format!(".ib_logfile{n}.innohot-new"))).collect();
    write_group_files(fs, &layout, size, data_len, copy.as_mut(), &copy_path, &temps)?;
    publish_group(fs, dir, &temps, &paths, false)?;
    Ok(LogGroupReport {
        files: paths,
        file_size: size,
        checkpoint_lsn: layout.checkpoint.lsn,
        last_lsn: cp.last_lsn,
        copied_bytes: data_len,
    })
}

/// The group a prepared backup starts from: empty, its checkpoint at `end_lsn`
/// (where the applied redo ends), holding only the copy's block of that LSN cut
/// there, in `files` files of `size` bytes (the server's own options). Written
/// like [`write_log_group`]'s, and equal on a re-run, so a re-run keeps it.
/// A different group already there is refused, or with `replace` replaced
/// file by file: an incremental applied to a prepared backup moves the
/// checkpoint of the group the backup's own prepare wrote. Returns the checkpoint.
pub fn write_prepared_group(
    fs: &dyn LocalFs,
    dir: &Path,
    log: &[u8],
    end_lsn: Lsn,
    files: u32,
    size: u64,
    replace: bool,
) -> Result<Lsn> {
    use crate::format::mysql57::{self as m57, BlockChecksum, BlockHeader, LogFileHeader};
    let copy_path = dir.join(COPY_FILE);
    let bad_log = |detail: String| RestoreError::BadLog { path: copy_path.clone(), detail };
    let hdr = LOG_FILE_HDR_SIZE as usize;
    let found = m57::newest_checkpoint(log.get(..hdr).unwrap_or(&[])).map_err(|e| bad_log(e.to_string()))?;
    let block = LOG_BLOCK_SIZE as u64;
    let (first, end_block) = (found.lsn - found.lsn % block, end_lsn - end_lsn % block);
    let at = hdr
        + end_block.checked_sub(first).ok_or_else(|| bad_log("the applied LSN is before the copy".into()))? as usize;
    let mut b = log.get(at..at + LOG_BLOCK_SIZE).ok_or_else(|| bad_log(format!("no block of LSN {end_lsn}")))?.to_vec();
    let mut h = BlockHeader::parse(&b).map_err(|e| bad_log(e.to_string()))?;
    h.data_len = (end_lsn % block) as u16;
    if h.first_rec_group > h.data_len {
        h.first_rec_group = 0;
    }
    h.flush_bit = false;
    h.write_into(&mut b);
    m57::stamp_block(&mut b, BlockChecksum::Crc32c);
    let mut mem = vec![0u8; hdr];
    let start = LogFileHeader {
        format: m57::LOG_HEADER_FORMAT_57,
        start_lsn: end_block,
        creator: GROUP_CREATOR_PREPARED.into(),
    };
    mem[..LOG_BLOCK_SIZE].copy_from_slice(&start.encode());
    let cp = m57::Checkpoint { lsn: end_lsn, offset: LOG_FILE_HDR_SIZE + end_lsn % block, ..found };
    mem[cp.slot_offset()..cp.slot_offset() + LOG_BLOCK_SIZE].copy_from_slice(&cp.encode());
    mem.extend_from_slice(&b);
    let geometry = RingGeometry::new(files, size).map_err(|e| RestoreError::Refused(e.to_string()))?;
    let layout = GroupLayout::new(&mem[..hdr], block, geometry).map_err(|e| bad_log(e.to_string()))?;
    let paths: Vec<PathBuf> = (0..files).map(|n| dir.join(format!("ib_logfile{n}"))).collect();
    let temps: Vec<PathBuf> = (0..files).map(|n| dir.join(format!(".ib_logfile{n}.innohot-new"))).collect();
    write_group_files(fs, &layout, size, block, &mut MemCopy(mem), &copy_path, &temps)?;
    publish_group(fs, dir, &temps, &paths, replace)?;
    Ok(cp.lsn)
}

const GROUP_CREATOR_PREPARED: &str = "innohot prepare";

/// A copy held in memory.
struct MemCopy(Vec<u8>);

impl crate::io::SourceFile for MemCopy {
    fn read_at(&mut self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let from = (offset as usize).min(self.0.len());
        let n = buf.len().min(self.0.len() - from);
        buf[..n].copy_from_slice(&self.0[from..from + n]);
        Ok(n)
    }
    fn size(&mut self) -> std::io::Result<u64> {
        Ok(self.0.len() as u64)
    }
}

/// Writes the group under temporary names (`temps`, replacing leftovers of an
/// interrupted run, which were never published), every file fdatasynced.
fn write_group_files(
    fs: &dyn LocalFs,
    layout: &GroupLayout,
    size: u64,
    data_len: u64,
    copy: &mut dyn crate::io::SourceFile,
    copy_path: &Path,
    temps: &[PathBuf],
) -> Result<()> {
    let bad_log = |detail: String| RestoreError::BadLog { path: copy_path.to_path_buf(), detail };
    let mut targets = Vec::new();
    for (n, path) in temps.iter().enumerate() {
        if fs.exists(path) {
            fs.remove_file(path).map_err(io_err(path, "removing the leftover"))?;
        }
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
        let got = copy.read_at(&mut buf[..len], LOG_FILE_HDR_SIZE + from).map_err(io_err(copy_path, "reading"))?;
        if got < len {
            return Err(bad_log(format!("ends at byte {} while reading", LOG_FILE_HDR_SIZE + from + got as u64)));
        }
        let mut at = 0usize;
        for (file, offset, piece) in layout.placement(from, len as u64) {
            let path = &temps[file as usize];
            targets[file as usize].write_at(&buf[at..at + piece as usize], offset).map_err(io_err(path, "writing"))?;
            at += piece as usize;
        }
        from += len as u64;
    }
    for (f, path) in targets.iter_mut().zip(temps) {
        f.sync().map_err(io_err(path, "fdatasync of"))?;
    }
    Ok(())
}

/// Renames each finished file into place. A file already there is the work of an
/// earlier run (interrupted, or complete): kept if it holds exactly these bytes,
/// else refused, so that a re-run finishes the job and never replaces anything;
/// with `replace`, removed and replaced instead.
fn publish_group(fs: &dyn LocalFs, dir: &Path, temps: &[PathBuf], paths: &[PathBuf], replace: bool) -> Result<()> {
    fs.sync_dir(dir).map_err(io_err(dir, "fsync of"))?;
    for (tmp, path) in temps.iter().zip(paths) {
        if replace && fs.exists(path) && !same_bytes(fs, tmp, path)? {
            fs.remove_file(path).map_err(io_err(path, "removing the group being replaced"))?;
        }
        if fs.exists(path) {
            if !same_bytes(fs, tmp, path)? {
                // Ours, never published: a refusal leaves the backup as it found it.
                for t in temps.iter().filter(|t| fs.exists(t)) {
                    fs.remove_file(t).map_err(io_err(t, "removing"))?;
                }
                fs.sync_dir(dir).map_err(io_err(dir, "fsync of"))?;
                return Err(RestoreError::Refused(format!(
                    "{}: a log file is already there and differs from the group this backup's redo makes (an \
                     earlier mysql57-log-group with other options?); nothing was changed: remove the backup's \
                     ib_logfile* and run the command again",
                    path.display()
                )));
            }
            fs.remove_file(tmp).map_err(io_err(tmp, "removing"))?;
        } else {
            fs.rename_no_replace(tmp, path).map_err(io_err(path, "renaming into place"))?;
        }
    }
    fs.sync_dir(dir).map_err(io_err(dir, "fsync of"))
}

fn same_bytes(fs: &dyn LocalFs, a: &Path, b: &Path) -> Result<bool> {
    let mut fa = fs.open_read(a).map_err(io_err(a, "opening"))?;
    let mut fb = fs.open_read(b).map_err(io_err(b, "opening"))?;
    let len = fa.size().map_err(io_err(a, "reading the size of"))?;
    if fb.size().map_err(io_err(b, "reading the size of"))? != len {
        return Ok(false);
    }
    let (mut ba, mut bb) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut at = 0u64;
    while at < len {
        let n = (len - at).min(CHUNK as u64) as usize;
        let ga = fa.read_at(&mut ba[..n], at).map_err(io_err(a, "reading"))?;
        let gb = fb.read_at(&mut bb[..n], at).map_err(io_err(b, "reading"))?;
        if ga != n || gb != n || ba[..n] != bb[..n] {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// Why the redo copy cannot make a log group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum CopyDefect {
    #[error(transparent)]
    Header(#[from] crate::format::FormatError),
    #[error("last_lsn {last_lsn} of xtrabackup_checkpoints is before its start checkpoint {checkpoint}")]
    LastBeforeCheckpoint { last_lsn: Lsn, checkpoint: Lsn },
    #[error("holds {have} log bytes after its header, but last_lsn {last_lsn} needs {need}: the copy is truncated")]
    Truncated { have: u64, last_lsn: Lsn, need: u64 },
}

/// Whole blocks from the copy's first block through the one holding
/// `last_lsn`; the copy must hold them all.
fn copied_bytes(header: &[u8], last_lsn: Lsn, copy_len: u64) -> std::result::Result<u64, CopyDefect> {
    let cp = crate::format::mysql57::newest_checkpoint(header)?;
    let block = LOG_BLOCK_SIZE as u64;
    let first = cp.lsn - cp.lsn % block;
    if last_lsn < cp.lsn {
        return Err(CopyDefect::LastBeforeCheckpoint { last_lsn, checkpoint: cp.lsn });
    }
    let need = (last_lsn - first).div_ceil(block) * block;
    let have = copy_len - LOG_FILE_HDR_SIZE;
    if have < need {
        return Err(CopyDefect::Truncated { have, last_lsn, need });
    }
    Ok(need)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mysql57::{self as m57, BlockChecksum, BlockHeader, Checkpoint, LogFileHeader};
    use crate::io::memfs::MemFs;

    const DIR: &str = "/backup";
    const SIZE: u64 = 64 * 1024;

    /// A redo copy: its header with a checkpoint at `start`, then four blocks
    /// of MLOG_DUMMY_RECORD from `start`'s block on.
    fn copy(start: Lsn) -> Vec<u8> {
        let mut log = vec![0u8; LOG_FILE_HDR_SIZE as usize];
        log[..512]
            .copy_from_slice(&LogFileHeader { format: 1, start_lsn: start, creator: "xtrabkup t".into() }.encode());
        log[512..1024].copy_from_slice(&Checkpoint { no: 1, lsn: start, offset: 2048, log_buf_size: 0 }.encode());
        let first = start - start % LOG_BLOCK_SIZE as u64;
        for i in 0..4u64 {
            let mut b = [32u8; LOG_BLOCK_SIZE];
            let lsn = first + i * LOG_BLOCK_SIZE as u64;
            let h = BlockHeader {
                block_no: m57::block_no_for_lsn(lsn),
                flush_bit: false,
                data_len: 512,
                first_rec_group: 12,
                checkpoint_no: 1,
            };
            h.write_into(&mut b);
            m57::stamp_block(&mut b, BlockChecksum::Crc32c);
            log.extend_from_slice(&b);
        }
        log
    }

    fn group(fs: &MemFs) -> Vec<Option<Vec<u8>>> {
        let tree = fs.tree();
        (0..2)
            .map(|n| tree.get(&Path::new(DIR).join(format!("ib_logfile{n}"))).cloned().flatten().map(|b| b.to_vec()))
            .collect()
    }

    #[test]
    fn an_incremental_replaces_the_prepared_group_which_a_prepare_keeps_or_refuses() {
        let fs = MemFs::new();
        fs.mount(Path::new(DIR), 1, u64::MAX);
        fs.put_dir(Path::new(DIR));
        let dir = Path::new(DIR);
        let start = 8192 + 12;
        let log = copy(start);
        // The base's prepare, and the same prepare run again: kept as it is.
        write_prepared_group(&fs, dir, &log, start + 100, 2, SIZE, false).unwrap();
        let base = group(&fs);
        assert!(base.iter().all(|f| f.as_ref().is_some_and(|b| b.len() as u64 == SIZE)));
        write_prepared_group(&fs, dir, &log, start + 100, 2, SIZE, false).unwrap();
        assert_eq!(group(&fs), base);
        // Another end without `replace` (mysql57-log-group's options, say): refused, nothing changed.
        let e = write_prepared_group(&fs, dir, &log, start + 700, 2, SIZE, false).unwrap_err();
        assert!(matches!(e, RestoreError::Refused(_)), "{e:?}");
        assert_eq!(group(&fs), base);
        // An incremental applied to the prepared base: its group now starts at the new end.
        write_prepared_group(&fs, dir, &log, start + 700, 2, SIZE, true).unwrap();
        let now = group(&fs);
        let head = now[0].as_ref().unwrap();
        assert_eq!(m57::newest_checkpoint(&head[..LOG_FILE_HDR_SIZE as usize]).unwrap().lsn, start + 700);
        assert!(now[1].as_ref().is_some_and(|b| b.len() as u64 == SIZE));
        assert!(fs.tree().keys().all(|p| !p.to_string_lossy().contains("innohot-new")), "a temporary file is left");
    }
}
