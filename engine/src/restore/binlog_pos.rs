//! The binary log position of the last transaction InnoDB committed, as a prepared backup's
//! system and undo tablespaces hold it (`prepare --binlog-info`, mariabackup's
//! `xtrabackup_binlog_pos_innodb`): with `--no-lock` it is the one position consistent with
//! the InnoDB data, from which a replica built from the backup starts.
//!
//! Where InnoDB keeps it (MariaDB 10.3.5+): each rollback segment header page (the TRX_SYS
//! page, page 5 of the system tablespace, lists them) ends its undo slots with the
//! segment's last commit's binlog offset (8 bytes) and file name (512 bytes, NUL-ended);
//! the TRX_SYS page itself may still hold a position from before 10.3.5 (a magic number,
//! the offset, the name). As the server reads them at its start: a position of a rollback
//! segment always wins over the old TRX_SYS one; among the segments the greatest file name
//! wins, and within one file the greatest offset.

use super::completeness::SettingsError;
use crate::io::LocalFs;
use std::path::{Path, PathBuf};

/// Why the backup's pages do not give the position.
#[derive(Debug, thiserror::Error)]
pub enum BinlogPosError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Settings { path: PathBuf, source: SettingsError },
    #[error(
        "the TRX_SYS page of {} names a rollback segment in tablespace {space}, which no undo \
         tablespace of the backup (innodb_undo_tablespaces = {undo_tablespaces}) is",
        system.display()
    )]
    NoUndoTablespace { system: PathBuf, space: u32, undo_tablespaces: u32 },
    #[error("{}: page {page_no} is past the end of the file: the backup's tablespace is cut short", path.display())]
    PagePastEnd { path: PathBuf, page_no: u32 },
}

type Result<T> = std::result::Result<T, BinlogPosError>;

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BinlogPosError + '_ {
    move |source| BinlogPosError::Io { path: path.to_path_buf(), source }
}

/// Where the header of a page's data starts (FSEG_PAGE_DATA): TRX_SYS and TRX_RSEG.
const PAGE_DATA: usize = 38;
/// TRX_SYS_RSEGS: the rollback segment slots (space id, page number), 128 of 8 bytes.
const TRX_SYS_RSEGS: usize = 8 + 10;
const TRX_SYS_N_RSEGS: usize = 128;
/// TRX_SYS_MYSQL_LOG_INFO is `page size - 1000` after TRX_SYS: magic, offset, name.
const LEGACY_INFO_FROM_END: usize = 1000;
const LEGACY_MAGIC: u32 = 873_422_344;
const LEGACY_OFFSET: usize = 4;
const LEGACY_NAME: usize = 12;
/// TRX_RSEG_UNDO_SLOTS (after FORMAT, HISTORY_SIZE, the HISTORY list base and the FSEG header).
const RSEG_UNDO_SLOTS: usize = 8 + 16 + 10;
const BINLOG_NAME_LEN: usize = 512;
const FIL_NULL: u32 = 0xffff_ffff;
/// FIL_PAGE_SPACE_ID of a page's header.
const FIL_PAGE_SPACE_ID: usize = 34;

/// A binlog file and the offset in it after the last transaction InnoDB committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPos {
    pub file: String,
    pub position: u64,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A NUL-ended name of at most `len` bytes; None when empty.
fn c_name(b: &[u8], at: usize, len: usize) -> Option<String> {
    let field = &b[at..(at + len).min(b.len())];
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    (end > 0).then(|| String::from_utf8_lossy(&field[..end]).into_owned())
}

/// The TRX_SYS page: the position from before 10.3.5 if any, and each rollback segment's
/// (space id, page number).
pub fn parse_trx_sys(page: &[u8]) -> (Option<BinlogPos>, Vec<(u32, u32)>) {
    let info = PAGE_DATA + page.len() - LEGACY_INFO_FROM_END;
    let legacy = (be32(page, info) == LEGACY_MAGIC)
        .then(|| c_name(page, info + LEGACY_NAME, BINLOG_NAME_LEN))
        .flatten()
        .map(|file| BinlogPos { file, position: be64(page, info + LEGACY_OFFSET) });
    let slots = (0..TRX_SYS_N_RSEGS)
        .map(|i| PAGE_DATA + TRX_SYS_RSEGS + 8 * i)
        .map(|at| (be32(page, at), be32(page, at + 4)))
        .filter(|&(_, page_no)| page_no != FIL_NULL)
        .collect();
    (legacy, slots)
}

/// A rollback segment header page's binlog position (format 0, a name recorded).
pub fn parse_rseg(page: &[u8]) -> Option<BinlogPos> {
    if be32(page, PAGE_DATA) != 0 {
        return None; // the format before 10.3.5: no position here
    }
    let slots_end = PAGE_DATA + RSEG_UNDO_SLOTS + 4 * (page.len() / 16);
    let file = c_name(page, slots_end + 16, BINLOG_NAME_LEN)?;
    Some(BinlogPos { file, position: be64(page, slots_end + 8) })
}

/// The server's choice among the positions found (see the module's words).
pub fn pick(legacy: Option<BinlogPos>, rsegs: &[BinlogPos]) -> Option<BinlogPos> {
    let mut best: Option<BinlogPos> = None;
    for p in rsegs {
        match &mut best {
            Some(b) if p.file < b.file => {}
            Some(b) if p.file == b.file => b.position = b.position.max(p.position),
            _ => best = Some(p.clone()),
        }
    }
    best.or(legacy)
}

/// The position in the prepared backup in `dir` (None: no transaction recorded one, the
/// server ran without a binary log). Reads `backup-my.cnf` for the page size and the files.
pub fn read(fs: &dyn LocalFs, dir: &Path) -> Result<Option<BinlogPos>> {
    let cnf = dir.join(crate::meta::BACKUP_MY_CNF);
    let text = read_all(fs, &cnf)?;
    let settings = super::completeness::parse_settings(&String::from_utf8_lossy(&text))
        .map_err(|source| BinlogPosError::Settings { path: cnf.clone(), source })?;
    let page_size = settings.page_size.unwrap_or(16384) as usize;
    let system = dir.join(settings.data_files.first().map(String::as_str).unwrap_or("ibdata1"));
    let trx_sys = read_page(fs, &system, 5, page_size)?;
    let (legacy, slots) = parse_trx_sys(&trx_sys);
    let mut undo = Vec::new();
    for n in 1..=settings.undo_tablespaces {
        let path = dir.join(format!("undo{n:03}"));
        let page0 = read_page(fs, &path, 0, page_size)?;
        undo.push((be32(&page0, FIL_PAGE_SPACE_ID), path));
    }
    let mut found = Vec::new();
    for (space, page_no) in slots {
        let file = if space == 0 {
            &system
        } else {
            let Some((_, path)) = undo.iter().find(|(id, _)| *id == space) else {
                return Err(BinlogPosError::NoUndoTablespace {
                    system: system.clone(),
                    space,
                    undo_tablespaces: settings.undo_tablespaces,
                });
            };
            path
        };
        found.extend(parse_rseg(&read_page(fs, file, page_no, page_size)?));
    }
    Ok(pick(legacy, &found))
}

fn read_all(fs: &dyn LocalFs, path: &Path) -> Result<Vec<u8>> {
    let mut f = fs.open_read(path).map_err(io_err(path))?;
    let size = f.size().map_err(io_err(path))?;
    let mut buf = vec![0; size as usize];
    let got = f.read_at(&mut buf, 0).map_err(io_err(path))?;
    buf.truncate(got);
    Ok(buf)
}

fn read_page(fs: &dyn LocalFs, path: &Path, page_no: u32, page_size: usize) -> Result<Vec<u8>> {
    let mut f = fs.open_read(path).map_err(io_err(path))?;
    let mut page = vec![0; page_size];
    let got = f.read_at(&mut page, page_no as u64 * page_size as u64).map_err(io_err(path))?;
    if got < page_size {
        return Err(BinlogPosError::PagePastEnd { path: path.to_path_buf(), page_no });
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(file: &str, position: u64) -> BinlogPos {
        BinlogPos { file: file.into(), position }
    }

    #[test]
    fn a_rollback_segment_wins_over_the_old_position_and_the_newest_file_wins() {
        let legacy = Some(pos("~~~-bin.999999", 0xffff_0000));
        assert_eq!(pick(legacy.clone(), &[]), legacy, "alone, the old position stands");
        let rsegs = [pos("./master-bin.000001", 900), pos("./master-bin.000002", 300), pos("./master-bin.000002", 500)];
        assert_eq!(pick(legacy, &rsegs), Some(pos("./master-bin.000002", 500)));
        assert_eq!(pick(None, &[]), None);
    }

    #[test]
    fn trx_sys_and_rseg_pages_as_the_server_writes_them() {
        let ps = 4096;
        let mut sys = vec![0u8; ps];
        for i in 0..TRX_SYS_N_RSEGS {
            let at = PAGE_DATA + TRX_SYS_RSEGS + 8 * i;
            sys[at + 4..at + 8].copy_from_slice(&FIL_NULL.to_be_bytes());
        }
        let slot = PAGE_DATA + TRX_SYS_RSEGS + 8;
        sys[slot..slot + 4].copy_from_slice(&2u32.to_be_bytes());
        sys[slot + 4..slot + 8].copy_from_slice(&3u32.to_be_bytes());
        // As slave_provision_nolock plants it: magic, offset, name at page size - 1000 + 38.
        let info = ps - 1000 + 38;
        sys[info..info + 4].copy_from_slice(&LEGACY_MAGIC.to_be_bytes());
        sys[info + 4..info + 12].copy_from_slice(&0xffff_0000u64.to_be_bytes());
        sys[info + 12..info + 26].copy_from_slice(b"~~~-bin.999999");
        let (legacy, slots) = parse_trx_sys(&sys);
        assert_eq!(legacy, Some(pos("~~~-bin.999999", 0xffff_0000)));
        assert_eq!(slots, [(2, 3)]);

        let mut rseg = vec![0u8; ps];
        let end = PAGE_DATA + RSEG_UNDO_SLOTS + 4 * (ps / 16);
        rseg[end + 8..end + 16].copy_from_slice(&1234u64.to_be_bytes());
        rseg[end + 16..end + 35].copy_from_slice(b"./master-bin.000001");
        assert_eq!(parse_rseg(&rseg), Some(pos("./master-bin.000001", 1234)));
        rseg[PAGE_DATA..PAGE_DATA + 4].copy_from_slice(&0xffff_fffeu32.to_be_bytes());
        assert_eq!(parse_rseg(&rseg), None, "the format before 10.3.5 holds no position");
    }
}
