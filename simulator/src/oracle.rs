//! The checks after every simulated run. A completed backup must hold exactly
//! what the server wrote; a failed one must be a failure that was called for
//! and must not look complete.

use crate::config::SimConfig;
use crate::run::{Outcome, RunStats};
use crate::server::SimServer;
use innohot::format::page::{self, PageLayout};
use innohot::format::redo57::{self, LOG_BLOCK_SIZE};
use innohot::meta;
use innohot::prepare57::{self, PageStore};
use innohot::server::BinlogPos;
use std::collections::BTreeSet;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Completed, and every check passed.
    Verified,
    /// Failed, and the failure was the right answer (the reason says why).
    CorrectFailure(String),
    /// Anything else: a bug. Each line is one broken expectation.
    Wrong(Vec<String>),
}

impl Verdict {
    pub fn is_wrong(&self) -> bool {
        matches!(self, Verdict::Wrong(_))
    }
}

/// A stable hash of a directory tree: relative paths and contents, in name order.
pub fn hash_tree(root: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (rel, bytes) in read_tree(root) {
        rel.hash(&mut h);
        bytes.hash(&mut h);
    }
    h.finish()
}

fn read_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = fs::read_dir(root.join(&rel)) else { continue };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let r = rel.join(e.file_name());
            if e.path().is_dir() {
                stack.push(r);
            } else {
                out.push((r, fs::read(e.path()).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

pub fn check(srv: &SimServer, target: &Path, outcome: &Outcome, stats: &RunStats, cfg: &SimConfig) -> Verdict {
    let mut wrong = Vec::new();
    if srv.read_locked {
        wrong.push("the server was left under FLUSH TABLES WITH READ LOCK".to_string());
    }
    match outcome {
        Outcome::Failed(msg) => {
            if target.join(meta::CHECKPOINTS_FILE).exists() {
                wrong.push(format!("a failed backup left {} behind", meta::CHECKPOINTS_FILE));
            }
            let reason = failure_reason(msg, srv, stats, cfg, &mut wrong);
            match (wrong.is_empty(), reason) {
                (true, Some(r)) => Verdict::CorrectFailure(r),
                (_, None) => {
                    wrong.push(format!("the backup failed where it should have succeeded: {msg}"));
                    Verdict::Wrong(wrong)
                }
                (false, Some(_)) => Verdict::Wrong(wrong),
            }
        }
        Outcome::Completed(summary) => {
            if !stats.faults_fired.is_empty() {
                wrong.push(format!("completed although planned faults fired: {:?}", stats.faults_fired));
            }
            let start = srv.truth.checkpoint_at_start.unwrap_or(u64::MAX);
            if let Some(l) = srv.truth.index_loads.iter().find(|&&l| l >= start && l < summary.last_lsn) {
                wrong.push(format!("completed over an index build without redo at LSN {l}"));
            }
            if let Some((at, ahead)) = stats.lapped {
                wrong.push(format!(
                    "completed although the server lapped the copier by {ahead} bytes at {:.3} ms",
                    at as f64 / 1e6
                ));
            }
            check_redo(srv, target, summary.start_lsn, summary.last_lsn, &mut wrong);
            check_lsns_and_binlog(srv, summary, &mut wrong);
            check_pages(srv, target, &mut wrong);
            if wrong.is_empty() {
                check_restore(srv, target, summary, &mut wrong);
            }
            check_non_innodb(srv, target, &mut wrong);
            check_metadata(srv, target, summary, &mut wrong);
            check_file_set(srv, target, &mut wrong);
            if wrong.is_empty() {
                Verdict::Verified
            } else {
                Verdict::Wrong(wrong)
            }
        }
    }
}

/// Why this failure was the right answer, or None if nothing called for it.
/// A called-for failure must also say what happened in its message.
fn failure_reason(
    msg: &str,
    srv: &SimServer,
    stats: &RunStats,
    cfg: &SimConfig,
    wrong: &mut Vec<String>,
) -> Option<String> {
    if msg.contains("the redo log wrapped before it was copied") {
        let Some((at, ahead)) = stats.lapped else {
            wrong.push(format!("reported a lap that did not happen: {msg}"));
            return Some(String::new());
        };
        let found = stats.lap_detected_at.unwrap_or(at);
        if stats.polls_after_lap > 1 {
            wrong.push(format!("the lap was found only {} log copier passes after it happened", stats.polls_after_lap));
        }
        return Some(format!(
            "lapped: the server overwrote uncopied redo ({ahead} bytes ahead) at {:.3} ms, found {:.3} ms later",
            at as f64 / 1e6,
            found.saturating_sub(at) as f64 / 1e6
        ));
    }
    if let Some(step) = stats.killed_before_step {
        return Some(format!("killed before step {step}"));
    }
    if msg.contains("MLOG_INDEX_LOAD") {
        let start = srv.truth.checkpoint_at_start.unwrap_or(u64::MAX);
        if !srv.truth.index_loads.iter().any(|&l| l >= start) {
            wrong.push(format!("reported an index build the copied redo does not hold: {msg}"));
        }
        return Some(format!("an index was built without redo during the copy: {msg}"));
    }
    let fired = stats.faults_fired.first()?;
    let f = &cfg.faults;
    let names = [
        f.target_create_enospc.clone(),
        f.target_write_eio.as_ref().map(|(n, _)| n.clone()),
        f.target_sync_eio.clone(),
        f.source_read_eio.as_ref().map(|(n, _)| n.clone()),
    ];
    let file_named = names.iter().flatten().any(|n| msg.contains(n.as_str()));
    let os_named = msg.contains("os error") || msg.contains("No space left") || msg.contains("Input/output error");
    if f.server_call.is_some() && fired.starts_with("lost connection") {
        if !msg.contains("connection") {
            wrong.push(format!("a lost connection failed the backup without saying so: {msg}"));
        }
    } else if !(file_named && os_named) {
        wrong.push(format!("the error does not name the file and the OS error of {fired:?}: {msg}"));
    }
    Some(format!("{fired}: {msg}"))
}

fn check_redo(srv: &SimServer, target: &Path, start_lsn: u64, last_lsn: u64, wrong: &mut Vec<String>) {
    let Ok(copy) = fs::read(target.join("xtrabackup_logfile")) else {
        wrong.push("xtrabackup_logfile is missing".into());
        return;
    };
    let hdr_len = redo57::LOG_FILE_HDR_SIZE as usize;
    if copy.len() < hdr_len {
        wrong.push(format!("xtrabackup_logfile is only {} bytes", copy.len()));
        return;
    }
    match redo57::LogFileHeader::parse(&copy[..LOG_BLOCK_SIZE]) {
        Ok(h) if h.creator.starts_with("xtrabkup ") => {}
        Ok(h) => wrong.push(format!("xtrabackup_logfile creator is {:?}, not \"xtrabkup ...\"", h.creator)),
        Err(e) => wrong.push(format!("xtrabackup_logfile header: {e}")),
    }
    match redo57::newest_checkpoint(&copy[..hdr_len]) {
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
            // copied must be a prefix of it with a correct header and checksum.
            let len = (last_lsn - lsn) as usize;
            let hdr = redo57::BlockHeader::parse(got).expect("512 bytes");
            if hdr.data_len as usize != len
                || got[..4] != truth[..4]
                || got[redo57::LOG_BLOCK_HDR_SIZE..len] != truth[redo57::LOG_BLOCK_HDR_SIZE..len]
                || redo57::block_checksum_kind(got).is_none()
            {
                wrong.push(format!("the last, partial redo block at LSN {lsn} is not what the server wrote"));
            }
        }
        lsn += LOG_BLOCK_SIZE as u64;
    }
}

fn check_lsns_and_binlog(srv: &SimServer, s: &innohot::backup::Summary, wrong: &mut Vec<String>) {
    let t = &srv.truth;
    if Some(s.last_lsn) != t.flushed_at_final_pass {
        wrong.push(format!(
            "last_lsn {} but the server's log ended at {:?} at the final pass",
            s.last_lsn, t.flushed_at_final_pass
        ));
    }
    if Some(s.to_lsn) != t.checkpoint_at_last_read {
        wrong.push(format!("to_lsn {} but the server's checkpoint was {:?}", s.to_lsn, t.checkpoint_at_last_read));
    }
    let Some((file, pos, gtid)) = &t.binlog_at_lock else {
        wrong.push("the read lock was never taken".into());
        return;
    };
    let expected = BinlogPos { file: file.clone(), position: *pos, gtid: gtid.clone() };
    if s.binlog.as_ref() != Some(&expected) {
        wrong.push(format!("binlog position {:?}, but under the lock the server was at {expected:?}", s.binlog));
    }
    // Every transaction in the binlog up to the position must have its redo in the copy.
    if let Some(&(_, lsn)) = t.commits.iter().rev().find(|(p, _)| p <= pos) {
        if lsn > s.last_lsn {
            wrong.push(format!("a binlogged commit's redo ends at LSN {lsn}, after last_lsn {}", s.last_lsn));
        }
    }
}

fn check_pages(srv: &SimServer, target: &Path, wrong: &mut Vec<String>) {
    let psize = srv.cfg.page_size;
    let layout = PageLayout::legacy(psize);
    let (from, to) = srv.truth.copy_window;
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        let Ok(copy) = fs::read(target.join(rel)) else {
            wrong.push(format!("{} was not copied", rel.display()));
            continue;
        };
        let expected = srv.truth.pages_at_final_pass.iter().find(|(i, _)| i == id).map(|(_, p)| p.len()).unwrap_or(0);
        if copy.len() != expected * psize {
            wrong.push(format!("{} is {} bytes, expected {}", rel.display(), copy.len(), expected * psize));
            continue;
        }
        for (no, pg) in copy.chunks_exact(psize).enumerate() {
            if let Err(d) = page::validate_page(pg, *id, no as u32, layout) {
                wrong.push(format!("{} page {no}: copied page is invalid: {d}", rel.display()));
                return;
            }
            if !srv.truth.page_was_on_disk(*id, no as u32, pg, from, to) {
                wrong.push(format!(
                    "{} page {no}: the copy is no version the server had on disk during the copy",
                    rel.display()
                ));
                return;
            }
        }
    }
}

fn check_non_innodb(srv: &SimServer, target: &Path, wrong: &mut Vec<String>) {
    for (rel, bytes) in &srv.truth.non_innodb_at_lock {
        match fs::read(target.join(rel)) {
            Ok(copy) if &copy == bytes => {}
            Ok(_) => wrong.push(format!("{} differs from the server's file under the lock", rel.display())),
            Err(_) => wrong.push(format!("{} was not copied", rel.display())),
        }
    }
}

fn check_metadata(srv: &SimServer, target: &Path, s: &innohot::backup::Summary, wrong: &mut Vec<String>) {
    let read = |name: &str| fs::read_to_string(target.join(name)).unwrap_or_default();
    if read(meta::CHECKPOINTS_FILE) != meta::checkpoints(s.to_lsn, s.last_lsn) {
        wrong.push(format!("{} does not hold to_lsn {} / last_lsn {}", meta::CHECKPOINTS_FILE, s.to_lsn, s.last_lsn));
    }
    if let Some((file, pos, gtid)) = &srv.truth.binlog_at_lock {
        let expected = meta::binlog_info(&BinlogPos { file: file.clone(), position: *pos, gtid: gtid.clone() });
        if read(meta::BINLOG_INFO_FILE) != expected {
            wrong.push(format!("{} is not {expected:?}", meta::BINLOG_INFO_FILE));
        }
    }
    let info = read(meta::INFO_FILE);
    if !info.contains(&format!("innodb_to_lsn = {}\n", s.to_lsn)) || !info.contains("tool_name = innohot\n") {
        wrong.push(format!("{} lacks the right innodb_to_lsn / tool_name", meta::INFO_FILE));
    }
    let cnf = read(meta::BACKUP_MY_CNF);
    for line in [
        format!("innodb_log_file_size={}\n", srv.cfg.log_file_size),
        format!("innodb_log_files_in_group={}\n", srv.cfg.log_files),
        format!("innodb_page_size={}\n", srv.cfg.page_size),
        format!("innodb_undo_tablespaces={}\n", srv.cfg.undo_tablespaces),
    ] {
        if !cnf.contains(&line) {
            wrong.push(format!("{} lacks {line:?}", meta::BACKUP_MY_CNF));
        }
    }
}

fn check_file_set(srv: &SimServer, target: &Path, wrong: &mut Vec<String>) {
    let mut expected: BTreeSet<PathBuf> = srv.truth.spaces_at_final_pass.iter().map(|(_, rel)| rel.clone()).collect();
    expected.extend(srv.truth.non_innodb_at_lock.keys().cloned());
    for f in
        ["xtrabackup_logfile", meta::CHECKPOINTS_FILE, meta::BINLOG_INFO_FILE, meta::INFO_FILE, meta::BACKUP_MY_CNF]
    {
        expected.insert(PathBuf::from(f));
    }
    let actual: BTreeSet<PathBuf> = read_tree(target).into_iter().map(|(p, _)| p).collect();
    for extra in actual.difference(&expected) {
        wrong.push(format!("unexpected file in the backup: {}", extra.display()));
    }
    for missing in expected.difference(&actual) {
        wrong.push(format!("missing from the backup: {}", missing.display()));
    }
}

/// The copied pages held in memory by space id, for the engine's prepare.
struct CopiedPages {
    page_size: usize,
    spaces: std::collections::HashMap<u32, Vec<u8>>,
}

impl PageStore for CopiedPages {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        let ps = self.page_size;
        let file = self.spaces.get_mut(&space)?;
        file.get_mut(page as usize * ps..(page as usize + 1) * ps)
    }
}

/// Oracle v2: apply the copied redo to the copied pages with the engine's
/// prepare; every page must then equal the server's page as of `last_lsn`.
fn check_restore(srv: &SimServer, target: &Path, s: &innohot::backup::Summary, wrong: &mut Vec<String>) {
    let psize = srv.cfg.page_size;
    let mut store = CopiedPages { page_size: psize, spaces: Default::default() };
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        store.spaces.insert(*id, fs::read(target.join(rel)).unwrap_or_default());
    }
    let log = fs::read(target.join("xtrabackup_logfile")).unwrap_or_default();
    let cp = match redo57::newest_checkpoint(&log[..(redo57::LOG_FILE_HDR_SIZE as usize).min(log.len())]) {
        Ok(cp) => cp,
        Err(e) => return wrong.push(format!("prepare: {e}")),
    };
    let report = match prepare57::apply_log(&log, cp.lsn, s.last_lsn, &mut store) {
        Ok(r) => r,
        Err(e) => return wrong.push(format!("prepare failed: {e}")),
    };
    for id in &report.spaces_not_in_backup {
        if !srv.truth.dropped_spaces.contains(id) {
            wrong.push(format!(
                "prepare found redo for tablespace {id}, which is not in the backup but was never dropped"
            ));
        }
    }
    let layout = PageLayout::legacy(psize);
    let body = page::FIL_PAGE_DATA..psize - page::FIL_PAGE_END_LSN_OLD_CHKSUM;
    for (space_id, truth_pages) in &srv.truth.pages_at_final_pass {
        let file = &store.spaces[space_id];
        for (no, truth) in truth_pages.iter().enumerate() {
            if page::is_doublewrite_page(*space_id, no as u32, layout) {
                continue;
            }
            let got = &file[no * psize..(no + 1) * psize];
            let lsn = u64::from_be_bytes(got[16..24].try_into().expect("8 bytes"));
            if got[body.clone()] != truth[body.clone()] || lsn > s.last_lsn {
                wrong.push(format!(
                    "restore: space {space_id} page {no} after applying the redo (page LSN {lsn}) is not the server's page at LSN {} ({} mtrs applied)",
                    s.last_lsn, report.mtrs
                ));
                return;
            }
        }
    }
}
