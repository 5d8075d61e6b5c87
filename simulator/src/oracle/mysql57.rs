//! MySQL 5.7's side of the oracle: the backup's `xtrabackup_logfile` is the
//! server's redo blocks from the start checkpoint on, and the engine's 5.7
//! prepare turns the copied pages into the server's pages at `last_lsn`.

use super::pages::{check_missing_spaces_were_dropped, restored_page, CopiedPages};
use crate::server::SimServer;
use innohot::backup::Summary;
use innohot::format::mysql57::{self, LOG_BLOCK_SIZE};
use innohot::format::page::{self, PageLayout};
use innohot::restore::prepare;
use std::fs;
use std::path::Path;

/// The backup's `xtrabackup_logfile`: an xtrabackup header holding a checkpoint the
/// server wrote, then every redo block from that checkpoint's block to `last_lsn`
/// as the server wrote it (the last, partial one a prefix of it).
pub(super) fn check_mysql57_redo(
    srv: &SimServer,
    target: &Path,
    start_lsn: u64,
    last_lsn: u64,
    wrong: &mut Vec<String>,
) {
    let Ok(copy) = fs::read(target.join("xtrabackup_logfile")) else {
        wrong.push("xtrabackup_logfile is missing".into());
        return;
    };
    let hdr_len = mysql57::LOG_FILE_HDR_SIZE as usize;
    if copy.len() < hdr_len {
        wrong.push(format!("xtrabackup_logfile is only {} bytes", copy.len()));
        return;
    }
    match mysql57::LogFileHeader::parse(&copy[..LOG_BLOCK_SIZE]) {
        Ok(h) if h.creator.starts_with("xtrabkup ") => {}
        Ok(h) => wrong.push(format!("xtrabackup_logfile creator is {:?}, not \"xtrabkup ...\"", h.creator)),
        Err(e) => wrong.push(format!("xtrabackup_logfile header: {e}")),
    }
    match mysql57::newest_checkpoint(&copy[..hdr_len]) {
        Ok(cp) => {
            if !srv.truth.checkpoints.contains(&cp) {
                wrong.push(format!("the copied header holds checkpoint {cp:?}, which the server never wrote"));
            }
            if start_lsn != cp.lsn - cp.lsn % LOG_BLOCK_SIZE as u64 {
                wrong.push(format!("start LSN {start_lsn} is not the copied checkpoint's block ({})", cp.lsn));
            }
        }
        Err(e) => wrong.push(format!("xtrabackup_logfile checkpoints: {e}")),
    }
    let end_block = last_lsn.div_ceil(LOG_BLOCK_SIZE as u64) * LOG_BLOCK_SIZE as u64;
    let expected_len = hdr_len as u64 + (end_block - start_lsn);
    if copy.len() as u64 != expected_len {
        wrong.push(format!(
            "xtrabackup_logfile is {} bytes; {} expected for LSN {start_lsn}..{last_lsn}",
            copy.len(),
            expected_len
        ));
        return;
    }
    let mut lsn = start_lsn;
    while lsn < end_block {
        let at = hdr_len + (lsn - start_lsn) as usize;
        let got = &copy[at..at + LOG_BLOCK_SIZE];
        let Some(truth) = srv.truth.blocks.get(&lsn) else {
            wrong.push(format!("copied a block at LSN {lsn} that the server never wrote"));
            return;
        };
        if lsn + LOG_BLOCK_SIZE as u64 <= last_lsn {
            if got != truth.as_slice() {
                wrong.push(format!("redo block at LSN {lsn} differs from what the server wrote"));
                return;
            }
        } else {
            // The partial last block: the server may have grown it since; what was
            // copied must be a prefix of it with a correct header and checksum. Its
            // flush bit (and checkpoint number) may differ: a later write that began
            // at this block set it.
            let len = (last_lsn - lsn) as usize;
            let hdr = mysql57::BlockHeader::parse(got).expect("512 bytes");
            let truth_hdr = mysql57::BlockHeader::parse(truth).expect("512 bytes");
            if hdr.data_len as usize != len
                || hdr.block_no != truth_hdr.block_no
                || got[mysql57::LOG_BLOCK_HDR_SIZE..len] != truth[mysql57::LOG_BLOCK_HDR_SIZE..len]
                || mysql57::block_checksum_kind(got).is_none()
            {
                wrong.push(format!("the last, partial redo block at LSN {lsn} is not what the server wrote"));
            }
        }
        lsn += LOG_BLOCK_SIZE as u64;
    }
}

/// Oracle v2: apply the copied redo to the copied pages with the engine's
/// prepare; every page must then equal the server's page as of `last_lsn`.
pub(super) fn check_mysql57_restore(
    srv: &SimServer,
    target: &Path,
    s: &Summary,
    mut store: CopiedPages,
    wrong: &mut Vec<String>,
) {
    let log = fs::read(target.join("xtrabackup_logfile")).unwrap_or_default();
    let cp = match mysql57::newest_checkpoint(&log[..(mysql57::LOG_FILE_HDR_SIZE as usize).min(log.len())]) {
        Ok(cp) => cp,
        Err(e) => return wrong.push(format!("prepare: {e}")),
    };
    // As prepare does: files copied before an extension first get the size its redo gives.
    match prepare::mysql57::fsp_sizes(&log, cp.lsn, s.last_lsn) {
        Ok(sizes) => store.extend_to(&sizes),
        Err(e) => return wrong.push(format!("prepare failed: {e}")),
    }
    let report = match prepare::mysql57::apply_log(&log, cp.lsn, s.last_lsn, &mut store) {
        Ok(r) => r,
        Err(e) => return wrong.push(format!("prepare failed: {e}")),
    };
    check_missing_spaces_were_dropped(srv, &report.spaces_not_in_backup, wrong);
    check_restored_pages(srv, &store, s.last_lsn, report.mtrs, wrong);
}

/// After prepare, every page the server had at `last_lsn` is its page then
/// (its body: FIL_PAGE_DATA to the trailer) and no newer; reports the first
/// page that is not. Every tablespace at the final pass must be in `store`.
pub(super) fn check_restored_pages(
    srv: &SimServer,
    store: &CopiedPages,
    last_lsn: u64,
    mtrs: u64,
    wrong: &mut Vec<String>,
) {
    let psize = srv.cfg.page_size;
    let layout = PageLayout::legacy(psize);
    let body = page::FIL_PAGE_DATA..psize - page::FIL_PAGE_END_LSN_OLD_CHKSUM;
    for (space_id, truth_pages) in &srv.truth.pages_at_final_pass {
        let file = &store.spaces[space_id];
        for (no, truth) in truth_pages.iter().enumerate() {
            if page::is_doublewrite_page(*space_id, no as u32, layout) {
                continue;
            }
            let Some(got) = restored_page(file, no, psize) else {
                if truth.iter().any(|&b| b != 0) {
                    wrong.push(format!("restore: space {space_id} page {no} is missing after prepare"));
                    return;
                }
                continue;
            };
            let lsn = u64::from_be_bytes(got[16..24].try_into().expect("8 bytes"));
            if got[body.clone()] != truth[body.clone()] || lsn > last_lsn {
                wrong.push(format!(
                    "restore: space {space_id} page {no} after applying the redo (page LSN {lsn}) is not the server's page at LSN {last_lsn} ({mtrs} mtrs applied)"
                ));
                return;
            }
        }
    }
}
