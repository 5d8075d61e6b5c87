//! The checks after every simulated run. A completed backup must hold exactly
//! what the server wrote; a failed one must be a failure that was called for
//! and must not look complete.

use crate::config::{Flavor, SimConfig};
use crate::faults::{EIO, ENOSPC};
use crate::outcome::{Outcome, RunStats};
use crate::server::SimServer;
use innohot::format::mariadb;
use innohot::format::mysql57::{self, LOG_BLOCK_SIZE};
use innohot::format::page::{self, PageLayout};
use innohot::meta;
use innohot::prepare::{self, PageStore};
use innohot::server::BinlogPos;
use innohot::BackupError;
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

/// A stable hash of a directory tree: relative paths and contents (by their
/// CRC-32C fingerprint), in name order.
pub fn hash_tree(root: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for rel in list_tree(root) {
        rel.hash(&mut h);
        crate::truth::fingerprint(&fs::read(root.join(&rel)).unwrap_or_default()).hash(&mut h);
    }
    h.finish()
}

/// Every file under `root`, relative to it, in name order.
fn list_tree(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = fs::read_dir(root.join(&rel)) else { continue };
        for e in rd.flatten() {
            let r = rel.join(e.file_name());
            if e.path().is_dir() {
                stack.push(r);
            } else {
                out.push(r);
            }
        }
    }
    out.sort();
    out
}

pub fn check(srv: &SimServer, target: &Path, outcome: &Outcome, stats: &RunStats, cfg: &SimConfig) -> Verdict {
    let mut wrong = Vec::new();
    if srv.is_locked() {
        wrong.push(format!(
            "the server was left locked (DDL blocked {}, commits blocked {}, backup stage {})",
            srv.ddl_blocked, srv.commits_blocked, srv.backup_stage
        ));
    }
    let failed = |reason: Option<String>, text: String, mut wrong: Vec<String>| {
        if target.join(meta::CHECKPOINTS_FILE).exists() {
            wrong.push(format!("a failed backup left {} behind", meta::CHECKPOINTS_FILE));
        }
        match (wrong.is_empty(), reason) {
            (true, Some(r)) => Verdict::CorrectFailure(r),
            (_, None) => {
                wrong.push(format!("the backup failed where it should have succeeded: {text}"));
                Verdict::Wrong(wrong)
            }
            (false, Some(_)) => Verdict::Wrong(wrong),
        }
    };
    match outcome {
        Outcome::Failed(err) => {
            let reason = failure_reason(err, srv, stats, cfg, &mut wrong);
            failed(reason, err.to_string(), wrong)
        }
        Outcome::Killed { before_step } => {
            let reason =
                (stats.killed_before_step == Some(*before_step)).then(|| format!("killed before step {before_step}"));
            failed(reason, format!("killed before step {before_step}"), wrong)
        }
        Outcome::Hung { sim_seconds } => {
            wrong.push(format!("the backup did not finish within {sim_seconds} simulated seconds"));
            Verdict::Wrong(wrong)
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
            match srv.cfg.flavor {
                Flavor::Mysql57 => check_redo(srv, target, summary.start_lsn, summary.last_lsn, &mut wrong),
                Flavor::MariaDb => check_mariadb_redo(srv, target, summary.start_lsn, summary.last_lsn, &mut wrong),
            }
            check_lsns_and_binlog(srv, summary, &mut wrong);
            let copied = copied_pages(srv, target);
            check_pages(srv, &copied, &mut wrong);
            if wrong.is_empty() {
                match srv.cfg.flavor {
                    Flavor::Mysql57 => check_restore(srv, target, summary, copied, &mut wrong),
                    Flavor::MariaDb => check_restore108(srv, target, summary, copied, &mut wrong),
                }
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

/// Why this failure was the right answer, or None if nothing called for it. The
/// error's kind must match what happened (a lap, the fault that fired); its
/// message must then say so, which is checked separately.
fn failure_reason(
    err: &BackupError,
    srv: &SimServer,
    stats: &RunStats,
    cfg: &SimConfig,
    wrong: &mut Vec<String>,
) -> Option<String> {
    let msg = err.to_string();
    if err.is_lap() {
        let Some((at, ahead)) = stats.lapped else {
            wrong.push(format!("reported a lap that did not happen: {msg}"));
            return Some(String::new());
        };
        if !msg.contains("the redo log wrapped before it was copied") || !msg.contains("innodb_log_file_size") {
            wrong.push(format!("a lap failed the backup without saying what to do: {msg}"));
        }
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
    if let BackupError::IndexBuiltWithoutRedo { lsn, .. } = err {
        let start = srv.truth.checkpoint_at_start.unwrap_or(u64::MAX);
        if !srv.truth.index_loads.iter().any(|l| l == lsn && *l >= start) {
            wrong.push(format!("reported an index build the copied redo does not hold: {msg}"));
        }
        if !msg.contains("MLOG_INDEX_LOAD") {
            wrong.push(format!("an index build without redo failed the backup without naming it: {msg}"));
        }
        return Some(format!("an index was built without redo during the copy: {msg}"));
    }
    let Some(fired) = stats.faults_fired.first() else {
        if stats.lapped.is_some() {
            wrong.push(format!("the server lapped the copier, but the backup failed with another error: {msg}"));
        }
        return None;
    };
    let f = &cfg.faults;
    if f.server_call.is_some() && fired.starts_with("lost connection") {
        if !err.is_connection_lost() {
            wrong.push(format!("a lost connection failed the backup with another kind of error: {err:?}"));
        } else if !msg.contains("connection") {
            wrong.push(format!("a lost connection failed the backup without saying so: {msg}"));
        }
        return Some(format!("{fired}: {msg}"));
    }
    let (file, errno) = match (&f.target_create_enospc, &f.target_write_eio, &f.target_sync_eio, &f.source_read_eio) {
        (Some(n), ..) => (n.clone(), ENOSPC),
        (_, Some((n, _)), ..) | (_, _, _, Some((n, _))) => (n.clone(), EIO),
        (_, _, Some(n), _) => (n.clone(), EIO),
        _ => return None,
    };
    match err.io_failure() {
        Some((path, e)) if path.ends_with(&file) && e.raw_os_error() == Some(errno) => {
            let os_named =
                msg.contains("os error") || msg.contains("No space left") || msg.contains("Input/output error");
            if !(msg.contains(file.as_str()) && os_named) {
                wrong.push(format!("the error does not name the file and the OS error of {fired:?}: {msg}"));
            }
        }
        _ => wrong.push(format!("{fired:?} fired, but the backup failed with {err:?}")),
    }
    Some(format!("{fired}: {msg}"))
}

fn check_redo(srv: &SimServer, target: &Path, start_lsn: u64, last_lsn: u64, wrong: &mut Vec<String>) {
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
            // copied must be a prefix of it with a correct header and checksum.
            let len = (last_lsn - lsn) as usize;
            let hdr = mysql57::BlockHeader::parse(got).expect("512 bytes");
            if hdr.data_len as usize != len
                || got[..4] != truth[..4]
                || got[mysql57::LOG_BLOCK_HDR_SIZE..len] != truth[mysql57::LOG_BLOCK_HDR_SIZE..len]
                || mysql57::block_checksum_kind(got).is_none()
            {
                wrong.push(format!("the last, partial redo block at LSN {lsn} is not what the server wrote"));
            }
        }
        lsn += LOG_BLOCK_SIZE as u64;
    }
}

/// The backup's `ib_logfile0`: the header mariabackup writes for the start checkpoint,
/// then exactly the mtrs the server wrote from that checkpoint to `last_lsn`, each
/// termination byte set to 1 (the copy never wraps).
fn check_mariadb_redo(srv: &SimServer, target: &Path, start_lsn: u64, last_lsn: u64, wrong: &mut Vec<String>) {
    let Ok(copy) = fs::read(target.join("ib_logfile0")) else {
        wrong.push("ib_logfile0 is missing".into());
        return;
    };
    let hdr_len = mariadb::START_OFFSET as usize;
    if copy.len() < hdr_len {
        wrong.push(format!("ib_logfile0 is only {} bytes", copy.len()));
        return;
    }
    let (header, cp) = match mariadb::parse_log_header(&copy[..hdr_len]) {
        Ok(h) => h,
        Err(e) => return wrong.push(format!("ib_logfile0 header: {e}")),
    };
    if !srv.truth.mariadb_checkpoints.contains(&cp) {
        wrong.push(format!("the copied header holds checkpoint {cp:?}, which the server never wrote"));
    }
    if start_lsn != cp.lsn || header.first_lsn != cp.lsn {
        wrong.push(format!(
            "start LSN {start_lsn} and the copy's first LSN {} are not the copied checkpoint's LSN {}",
            header.first_lsn, cp.lsn
        ));
    }
    let creator = mariadb::backup_creator(&srv.variables()["version"]);
    if copy[..hdr_len] != mariadb::backup_log_header(cp, &creator)[..] {
        wrong.push(format!("the ib_logfile0 header is not the one mariabackup writes for {cp:?} ({creator:?})"));
    }
    let Some(expected) = srv.truth.mariadb_log.as_copied(cp.lsn, last_lsn) else {
        return wrong.push(format!("LSN {}..{last_lsn} does not start and end at mtrs the server wrote", cp.lsn));
    };
    let got = &copy[hdr_len..];
    if got != &expected[..] {
        let at = got.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(got.len().min(expected.len()));
        wrong.push(format!(
            "ib_logfile0 holds {} bytes of redo, {} expected for LSN {}..{last_lsn}; they differ from LSN {}",
            got.len(),
            expected.len(),
            cp.lsn,
            cp.lsn + at as u64
        ));
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

fn check_pages(srv: &SimServer, copied: &CopiedPages, wrong: &mut Vec<String>) {
    let psize = srv.cfg.page_size;
    let layout = page_layout(srv);
    let (from, to) = srv.truth.copy_window;
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        let Some(copy) = copied.spaces.get(id) else {
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

/// The page layout every tablespace of the simulated server has.
fn page_layout(srv: &SimServer) -> PageLayout {
    PageLayout { full_crc32: srv.cfg.flavor == Flavor::MariaDb, ..PageLayout::legacy(srv.cfg.page_size) }
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
    let checkpoints = match srv.cfg.flavor {
        Flavor::Mysql57 => meta::checkpoints(s.to_lsn, s.last_lsn),
        // mariabackup 10.11's file: no `compact` line.
        Flavor::MariaDb => format!(
            "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = {}\nlast_lsn = {}\nrecover_binlog_info = 0\n",
            s.to_lsn, s.last_lsn
        ),
    };
    if read(meta::CHECKPOINTS_FILE) != checkpoints {
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
    let mut lines = vec![
        format!("innodb_log_file_size={}\n", srv.cfg.log_file_size),
        format!("innodb_page_size={}\n", srv.cfg.page_size),
        format!("innodb_undo_tablespaces={}\n", srv.cfg.undo_tablespaces),
    ];
    match srv.cfg.flavor {
        Flavor::Mysql57 => lines.push(format!("innodb_log_files_in_group={}\n", srv.cfg.log_files)),
        Flavor::MariaDb => {
            lines.push("innodb_checksum_algorithm=full_crc32\n".into());
            if cnf.contains("innodb_log_files_in_group") {
                wrong.push(format!(
                    "{} names innodb_log_files_in_group, which MariaDB does not have",
                    meta::BACKUP_MY_CNF
                ));
            }
        }
    }
    for line in lines {
        if !cnf.contains(&line) {
            wrong.push(format!("{} lacks {line:?}", meta::BACKUP_MY_CNF));
        }
    }
}

fn check_file_set(srv: &SimServer, target: &Path, wrong: &mut Vec<String>) {
    let mut expected: BTreeSet<PathBuf> = srv.truth.spaces_at_final_pass.iter().map(|(_, rel)| rel.clone()).collect();
    expected.extend(srv.truth.non_innodb_at_lock.keys().cloned());
    let log = if srv.cfg.flavor == Flavor::MariaDb { "ib_logfile0" } else { "xtrabackup_logfile" };
    for f in [log, meta::CHECKPOINTS_FILE, meta::BINLOG_INFO_FILE, meta::INFO_FILE, meta::BACKUP_MY_CNF] {
        expected.insert(PathBuf::from(f));
    }
    let actual: BTreeSet<PathBuf> = list_tree(target).into_iter().collect();
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
fn check_restore(
    srv: &SimServer,
    target: &Path,
    s: &innohot::backup::Summary,
    mut store: CopiedPages,
    wrong: &mut Vec<String>,
) {
    let psize = srv.cfg.page_size;
    let log = fs::read(target.join("xtrabackup_logfile")).unwrap_or_default();
    let cp = match mysql57::newest_checkpoint(&log[..(mysql57::LOG_FILE_HDR_SIZE as usize).min(log.len())]) {
        Ok(cp) => cp,
        Err(e) => return wrong.push(format!("prepare: {e}")),
    };
    let report = match prepare::mysql57::apply_log(&log, cp.lsn, s.last_lsn, &mut store) {
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

/// The copied pages by space id, as the backup holds them (a space whose file is
/// missing has no entry).
fn copied_pages(srv: &SimServer, target: &Path) -> CopiedPages {
    let mut store = CopiedPages { page_size: srv.cfg.page_size, spaces: Default::default() };
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        if let Ok(bytes) = fs::read(target.join(rel)) {
            store.spaces.insert(*id, bytes);
        }
    }
    store
}

/// MariaDB's oracle v2: apply the backup's `ib_logfile0` to the copied pages with
/// the engine's MariaDB prepare; every page that is not free must then equal the
/// server's page as of `last_lsn` (all but its checksum and LSN fields) and be
/// valid, and the file records must name the backup's tablespaces as it does.
fn check_restore108(
    srv: &SimServer,
    target: &Path,
    s: &innohot::backup::Summary,
    mut store: CopiedPages,
    wrong: &mut Vec<String>,
) {
    let psize = srv.cfg.page_size;
    let log = fs::read(target.join("ib_logfile0")).unwrap_or_default();
    let report = match prepare::mariadb::apply_log(&log, s.last_lsn, &mut store) {
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
    for (id, name) in &report.file_names {
        let held =
            srv.truth.spaces_at_final_pass.iter().find(|(i, _)| i == id).map(|(_, rel)| format!("./{}", rel.display()));
        // A DATA DIRECTORY table is named by its absolute path in redo and held
        // beside its `.isl` in the backup (mariabackup's layout): same table.
        let name = name.as_ref().map(|n| match n.strip_prefix(crate::mount::REMOTE_MOUNT) {
            Some(rest) => format!(".{rest}"),
            None => n.clone(),
        });
        match (name, held) {
            (Some(n), Some(h)) if *n != h => {
                wrong.push(format!("the redo names tablespace {id} {n:?} at the end, the backup holds it as {h:?}"))
            }
            (None, Some(h)) => wrong.push(format!("the redo deletes tablespace {id}, the backup holds it as {h:?}")),
            (Some(n), None) => wrong.push(format!("the redo leaves tablespace {id} as {n:?}, the backup lacks it")),
            _ => {}
        }
    }
    let freed = &srv.truth.freed_at_final_pass;
    if let Some(p) = report.pages_freed.iter().find(|p| !freed.contains(p)) {
        wrong.push(format!("prepare left page {p:?} freed, the server had it in use at LSN {}", s.last_lsn));
    }
    let layout = page_layout(srv);
    // All but the checksum (or key version), the LSN, the flush LSN and the trailer.
    let compared = [4..16, 24..26, 34..psize - 8];
    for (space_id, truth_pages) in &srv.truth.pages_at_final_pass {
        let file = &store.spaces[space_id];
        for (no, truth) in truth_pages.iter().enumerate() {
            if page::is_doublewrite_page(*space_id, no as u32, layout) || freed.contains(&(*space_id, no as u32)) {
                continue;
            }
            let got = &file[no * psize..(no + 1) * psize];
            let lsn = u64::from_be_bytes(got[16..24].try_into().expect("8 bytes"));
            let differs = compared.iter().any(|r| got[r.clone()] != truth[r.clone()]);
            if differs || lsn > s.last_lsn {
                wrong.push(format!(
                    "restore: space {space_id} page {no} after applying the redo (page LSN {lsn}) is not the server's page at LSN {} ({} mtrs applied)",
                    s.last_lsn, report.mtrs
                ));
                return;
            }
            if let Err(d) = page::validate_page(got, *space_id, no as u32, layout) {
                wrong.push(format!("restore: space {space_id} page {no} is invalid after prepare: {d}"));
                return;
            }
        }
    }
}
