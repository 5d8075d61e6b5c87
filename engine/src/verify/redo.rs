//! verify's checks of the copied redo, one per redo format; which one a backup
//! gets is its [`crate::restore::prepare::BackupFlavor`]'s choice.

use super::{Lsns, VerifyReport, MISSING, READ};
use crate::io::SourceFs;
use crate::meta;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A 5.7 redo copy: after the 2048-byte header, 512-byte blocks whose
/// checksums hold and whose numbers follow each other, up to the block
/// holding `last_lsn`, which must hold data that far. `name` is the copy's file in `dir`.
pub(crate) fn check_mysql57_redo(fs: &dyn SourceFs, dir: &Path, name: &str, lsns: Lsns, r: &mut VerifyReport) {
    use crate::format::mysql57::{self, BlockHeader, LOG_BLOCK_SIZE, LOG_FILE_HDR_SIZE};
    let (path, last_lsn) = (dir.join(name), lsns.last);
    let mut f = match fs.open(&path, READ) {
        Ok(f) => f,
        Err(e) => return r.problems.push(format!("{name}: cannot open it: {e}")),
    };
    let size = f.size().unwrap_or(0);
    let want_no = mysql57::block_no_for_lsn(last_lsn);
    let want_len = (last_lsn % LOG_BLOCK_SIZE as u64) as u16;
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = LOG_FILE_HDR_SIZE;
    let mut prev: Option<u32> = None;
    while offset + LOG_BLOCK_SIZE as u64 <= size {
        let got = match f.read_at(&mut buf, offset) {
            Ok(n) => n - n % LOG_BLOCK_SIZE,
            Err(e) => return r.problems.push(format!("{name}: cannot read at byte {offset}: {e}")),
        };
        if got == 0 {
            break;
        }
        for block in buf[..got].chunks(LOG_BLOCK_SIZE) {
            let at = offset;
            offset += LOG_BLOCK_SIZE as u64;
            if mysql57::block_checksum_kind(block).is_none() {
                return r.problems.push(format!(
                    "{name}: the block at byte {at} fails its checksum: the redo copy is corrupt before last_lsn {last_lsn}"
                ));
            }
            let Ok(h) = BlockHeader::parse(block) else { return };
            if let Some(p) = prev {
                let next = if p + 1 == mysql57::BLOCK_NO_MODULUS { 1 } else { p + 1 };
                if h.block_no != next {
                    return r.problems.push(format!(
                        "{name}: the block at byte {at} is block {} but {next} should follow {p}: the redo copy \
                         is not contiguous",
                        h.block_no
                    ));
                }
            }
            prev = Some(h.block_no);
            if h.block_no == want_no {
                if want_len != 0 && h.data_len < want_len {
                    r.problems.push(format!(
                        "{name}: the block holding last_lsn {last_lsn} has data up to byte {} only: the redo copy \
                         ends before last_lsn",
                        h.data_len
                    ));
                }
                return;
            }
        }
    }
    r.problems.push(format!(
        "{name}: {size} bytes end before the block holding last_lsn {last_lsn}: the redo copy is truncated"
    ));
}

/// A MariaDB 10.8+ redo copy: from the header's first LSN (at byte 12288)
/// every mini-transaction is whole and CRC-valid up to `last_lsn`. The
/// termination byte carries the server ring's lap parity, which the copy
/// keeps, so either parity is accepted. `name` is the copy's file in `root`.
pub(crate) fn check_mariadb_redo(fs: &dyn SourceFs, root: &Path, name: &str, lsns: Lsns, r: &mut VerifyReport) {
    use crate::format::mariadb::{self, MtrScan, Ring, MAX_MTR_SPAN, START_OFFSET};
    let (path, last_lsn) = (root.join(name), lsns.last);
    let mut f = match fs.open(&path, READ) {
        Ok(f) => f,
        Err(e) => return r.problems.push(format!("{name}: cannot open it: {e}")),
    };
    let size = f.size().unwrap_or(0);
    let mut head = vec![0u8; START_OFFSET as usize];
    if f.read_at(&mut head, 0).map(|n| n < head.len()).unwrap_or(true) {
        return r.problems.push(format!("{name}: shorter than its 12288-byte header"));
    }
    let (header, cp) = match mariadb::parse_log_header(&head) {
        Ok(h) => h,
        Err(e) => return r.problems.push(format!("{name}: {e}")),
    };
    let first = header.first_lsn;
    let end_lsn = first + size.saturating_sub(START_OFFSET);
    if last_lsn > end_lsn {
        return r.problems.push(format!(
            "{name}: the copy holds the log up to LSN {end_lsn} but last_lsn is {last_lsn}: the redo copy is truncated"
        ));
    }
    // A prepared log is one FILE_CHECKPOINT after the header, written as a
    // fresh log (lap 0) of a ring longer than the file.
    if !lsns.applied && interrupted_prepare(f.as_mut(), name, size, cp.lsn, r) {
        return;
    }
    let ring_size = if lsns.applied { 1 << 30 } else { size };
    let capacity = ring_size - START_OFFSET;
    let (Ok(even), Ok(odd)) = (Ring::new(first, ring_size), Ring::new(first + capacity, ring_size)) else {
        return r.problems.push(format!("{name}: {size} bytes cannot hold a redo log"));
    };
    let mut lsn = cp.lsn.max(first);
    // Refilled only when less than one mtr's span is left in it (not per mtr).
    let mut buf = vec![0u8; 8 * MAX_MTR_SPAN];
    let mut have = 0usize;
    let mut buf_lsn = lsn;
    let mut mtrs = 0u64;
    let mut files = FileRecords::default();
    while lsn < last_lsn {
        let at = (lsn - buf_lsn) as usize;
        if at + MAX_MTR_SPAN.min((end_lsn - lsn) as usize) > have {
            let want = buf.len().min((end_lsn - lsn) as usize);
            buf_lsn = lsn;
            have = match f.read_at(&mut buf[..want], START_OFFSET + (lsn - first)) {
                Ok(n) if n == want => n,
                Ok(n) => return r.problems.push(format!("{name}: {n} bytes at LSN {lsn} where {want} should be")),
                Err(e) => return r.problems.push(format!("{name}: cannot read LSN {lsn}: {e}")),
            };
            continue;
        }
        let piece = &buf[at..have];
        let scan = match mariadb::scan_mtr(piece, lsn, &even) {
            MtrScan::End(mariadb::MtrEnd::SequenceBit { .. }) => mariadb::scan_mtr(piece, lsn, &odd),
            other => other,
        };
        match scan {
            MtrScan::Mtr { len, records_len } => {
                files.note(&piece[..records_len], lsn);
                lsn += len as u64;
                mtrs += 1;
            }
            MtrScan::End(why) => {
                return r
                    .problems
                    .push(format!("{name}: the redo copy is broken at LSN {lsn}, before last_lsn {last_lsn} ({why})"))
            }
            MtrScan::Incomplete => {
                return r.problems.push(format!(
                    "{name}: the copy ends inside the mini-transaction at LSN {lsn}: the redo copy is truncated"
                ))
            }
        }
    }
    r.notes.push(format!("{name}: {mtrs} mini-transactions from LSN {} to {lsn}, every one whole", cp.lsn.max(first)));
    files.check_present(fs, root, r);
}

/// An unprepared backup whose `ib_logfile0` is the log a prepare writes: the prepare
/// stopped between its last two steps. Says so (and what to do) in `r`.
fn interrupted_prepare(
    f: &mut dyn crate::io::SourceFile,
    name: &str,
    size: u64,
    checkpoint: u64,
    r: &mut VerifyReport,
) -> bool {
    use crate::restore::prepare::{is_prepared_log, PREPARED_LOG_LEN};
    let mut whole = vec![0u8; PREPARED_LOG_LEN as usize];
    if size != PREPARED_LOG_LEN || !f.read_at(&mut whole, 0).is_ok_and(|n| n == whole.len()) || !is_prepared_log(&whole)
    {
        return false;
    }
    r.problems.push(format!(
        "{name} is the log a finished prepare writes (checkpoint at LSN {checkpoint}), but {} still says \
         backup_type = full-backuped: a prepare stopped between replacing the two; run innohot prepare again to \
         finish it (repeating it is safe)",
        meta::CHECKPOINTS_FILE
    ));
    true
}

/// The last FILE record of each tablespace in the copied redo: (LSN, op, file).
#[derive(Default)]
struct FileRecords(BTreeMap<u32, (u64, crate::format::mariadb::FileOp, String)>);

impl FileRecords {
    /// The FILE records among one mtr's records (whose CRC held).
    fn note(&mut self, records: &[u8], lsn: u64) {
        use crate::format::mariadb::{records as decode, FileOp, Record};
        for rec in decode(records) {
            let Ok(Record::File { op, space, name, new_name }) = rec else { continue };
            let file = match (op, new_name) {
                (FileOp::Rename, Some(n)) => n,
                _ => name,
            };
            self.0.insert(space, (lsn, op, String::from_utf8_lossy(file).into_owned()));
        }
    }

    /// Each tablespace the redo changes and does not delete must be in the
    /// backup: at its datadir-relative path, or (DATA DIRECTORY) beside its `.isl`.
    fn check_present(&self, fs: &dyn SourceFs, root: &Path, r: &mut VerifyReport) {
        for (space, (lsn, op, file)) in &self.0 {
            let in_backup = crate::restore::completeness::backup_path_of(file);
            let base = in_backup.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let skip = *op == crate::format::mariadb::FileOp::Delete
                || !base.ends_with(".ibd")
                || crate::copy::is_temporary_name(&base);
            // An incremental's delta of it, or mariabackup's whole copy of a table created during the backup.
            let delta = format!("{}{}", in_backup.display(), crate::format::delta::DELTA_SUFFIX);
            let new = in_backup.with_extension("new");
            let held = [in_backup.clone(), PathBuf::from(delta), new].iter().any(|p| fs.exists(&root.join(p)));
            if !skip && !held {
                r.missing_named.insert(in_backup.clone());
                r.problems.push(format!(
                    "{}{MISSING} (the copied redo changes its tablespace, space id {space}, FILE record at LSN \
                     {lsn}): prepare would lose that table; take a new backup",
                    in_backup.display()
                ));
            }
        }
    }
}
