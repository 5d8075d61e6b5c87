//! The checks after every simulated run. A completed backup must hold exactly
//! what the server wrote; a failed one must be a failure that was called for
//! and must not look complete.
//!
//! By concern: `failure` (whether a failure was the right answer), `pages` (the
//! copied tablespaces, page by page), `mysql57` and `mariadb` (each flavor's redo
//! copy and the restore from it); here, the verdict and the checks both flavors share.

mod failure;
mod incremental;
mod mariadb;
mod mysql57;
mod pages;

use crate::config::{Flavor, SimConfig};
use crate::outcome::{Outcome, RunStats};
use crate::server::SimServer;
use failure::failure_reason;
use innohot::backup::Summary;
use innohot::format::Lsn;
use innohot::meta;
use innohot::server::BinlogPos;
use std::collections::BTreeSet;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

pub use incremental::{check_chain, DeltaFacts};

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

/// The verdict on one run: whether its outcome, and the backup it left, are what
/// the server's truth calls for.
pub fn check(srv: &SimServer, target: &Path, outcome: &Outcome, stats: &RunStats, cfg: &SimConfig) -> Verdict {
    check_backup(srv, target, outcome, stats, cfg, None).0
}

/// The verdict on an incremental backup from `from_lsn`, judged as a full one
/// is but for its data files: each tablespace's `NAME.delta` must hold exactly
/// the pages the copy read with an LSN at or above `from_lsn`. Also returns
/// what its deltas showed.
pub fn check_incremental(
    srv: &SimServer,
    target: &Path,
    outcome: &Outcome,
    stats: &RunStats,
    cfg: &SimConfig,
    from_lsn: Lsn,
) -> (Verdict, DeltaFacts) {
    check_backup(srv, target, outcome, stats, cfg, Some(from_lsn))
}

fn check_backup(
    srv: &SimServer,
    target: &Path,
    outcome: &Outcome,
    stats: &RunStats,
    cfg: &SimConfig,
    from_lsn: Option<Lsn>,
) -> (Verdict, DeltaFacts) {
    let mut wrong = Vec::new();
    if srv.is_locked() {
        wrong.push(format!(
            "the server was left locked (DDL blocked {}, commits blocked {}, backup stage {})",
            srv.ddl_blocked, srv.commits_blocked, srv.backup_stage
        ));
    }
    // What says a backup is complete: a stream's manifest, a directory's checkpoints file.
    let complete = if cfg.streams() { innohot::stream::MANIFEST } else { meta::CHECKPOINTS_FILE };
    match outcome {
        Outcome::Failed(err) => {
            let reason = failure_reason(err, srv, stats, cfg, &mut wrong);
            (judge_failure(target, complete, reason, err.to_string(), wrong), DeltaFacts::default())
        }
        Outcome::Killed { before_step } => {
            let reason =
                (stats.killed_before_step == Some(*before_step)).then(|| format!("killed before step {before_step}"));
            (
                judge_failure(target, complete, reason, format!("killed before step {before_step}"), wrong),
                DeltaFacts::default(),
            )
        }
        Outcome::Hung { sim_seconds } => {
            wrong.push(format!("the backup did not finish within {sim_seconds} simulated seconds"));
            (Verdict::Wrong(wrong), DeltaFacts::default())
        }
        Outcome::Completed(summary) => {
            let facts = check_completed(srv, target, summary, stats, from_lsn, &mut wrong);
            (if wrong.is_empty() { Verdict::Verified } else { Verdict::Wrong(wrong) }, facts)
        }
    }
}

/// A failed run's verdict: a correct failure needs a reason (something called for
/// it), nothing else wrong, and no `complete` file (checkpoints, or a stream's
/// manifest) that would make it look complete.
fn judge_failure(
    target: &Path,
    complete: &str,
    reason: Option<String>,
    text: String,
    mut wrong: Vec<String>,
) -> Verdict {
    if target.join(complete).exists() {
        wrong.push(format!("a failed backup left {complete} behind"));
    }
    match (wrong.is_empty(), reason) {
        (true, Some(r)) => Verdict::CorrectFailure(r),
        (_, None) => {
            wrong.push(format!("the backup failed where it should have succeeded: {text}"));
            Verdict::Wrong(wrong)
        }
        (false, Some(_)) => Verdict::Wrong(wrong),
    }
}

/// Everything a completed backup must be: nothing that should have failed it, the
/// redo and pages the server wrote, a restore that gives the server's pages back
/// (checked only when all else held so far; an incremental backup's deltas
/// instead, its restore being its chain's), the non-InnoDB files, the metadata,
/// and no file more or less.
fn check_completed(
    srv: &SimServer,
    target: &Path,
    summary: &Summary,
    stats: &RunStats,
    from_lsn: Option<Lsn>,
    wrong: &mut Vec<String>,
) -> DeltaFacts {
    check_nothing_ignored(srv, summary, stats, wrong);
    match srv.cfg.flavor {
        Flavor::Mysql57 => mysql57::check_mysql57_redo(srv, target, summary.start_lsn, summary.last_lsn, wrong),
        Flavor::MariaDb => mariadb::check_mariadb_redo(srv, target, summary.start_lsn, summary.last_lsn, wrong),
    }
    check_lsns_and_binlog(srv, summary, wrong);
    let mut facts = DeltaFacts::default();
    match from_lsn {
        Some(from) => facts = incremental::check_deltas(srv, target, from, wrong),
        None => {
            let copied = pages::copied_pages(srv, target);
            pages::check_pages(srv, &copied, wrong);
            if wrong.is_empty() {
                match srv.cfg.flavor {
                    Flavor::Mysql57 => mysql57::check_mysql57_restore(srv, target, summary, copied, wrong),
                    Flavor::MariaDb => mariadb::check_mariadb_restore(srv, target, summary, copied, wrong),
                }
            }
        }
    }
    check_non_innodb(srv, target, wrong);
    check_metadata(srv, target, summary, from_lsn, wrong);
    check_file_set(srv, target, from_lsn.is_some(), wrong);
    facts
}

/// What must have failed the backup instead: a planned fault that fired, an index
/// built without redo inside the copied log, a lap of the log copier.
fn check_nothing_ignored(srv: &SimServer, summary: &Summary, stats: &RunStats, wrong: &mut Vec<String>) {
    if !stats.faults_fired.is_empty() {
        wrong.push(format!("completed although planned faults fired: {:?}", stats.faults_fired));
    }
    if let Some(l) =
        srv.truth.index_loads.iter().find(|&&l| srv.truth.index_load_unflushed_at_copy(l) && l < summary.last_lsn)
    {
        wrong.push(format!("completed over an index build without redo at LSN {l}"));
    }
    if let Some((at, ahead)) = stats.lapped {
        wrong.push(format!(
            "completed although the server lapped the copier by {ahead} bytes at {:.3} ms",
            at as f64 / 1e6
        ));
    }
}

/// The summary's LSNs are the server's at the final log pass and at the last
/// checkpoint read, its binlog position the server's under the lock, and every
/// commit up to that position has its redo in the copy.
fn check_lsns_and_binlog(srv: &SimServer, s: &Summary, wrong: &mut Vec<String>) {
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

/// Every non-InnoDB file is copied as it was under the lock.
fn check_non_innodb(srv: &SimServer, target: &Path, wrong: &mut Vec<String>) {
    for (rel, bytes) in &srv.truth.non_innodb_at_lock {
        match fs::read(target.join(rel)) {
            Ok(copy) if &copy == bytes => {}
            Ok(_) => wrong.push(format!("{} differs from the server's file under the lock", rel.display())),
            Err(_) => wrong.push(format!("{} was not copied", rel.display())),
        }
    }
}

/// The metadata files say what the backup holds (a full one, or an incremental
/// one from `from_lsn`), as xtrabackup (MySQL 5.7) or mariabackup writes them.
fn check_metadata(srv: &SimServer, target: &Path, s: &Summary, from_lsn: Option<Lsn>, wrong: &mut Vec<String>) {
    let read = |name: &str| fs::read_to_string(target.join(name)).unwrap_or_default();
    let head = match from_lsn {
        None => "backup_type = full-backuped\nfrom_lsn = 0\n".to_string(),
        Some(from) => format!("backup_type = incremental\nfrom_lsn = {from}\n"),
    };
    let (to, last) = (s.to_lsn, s.last_lsn);
    let checkpoints = match srv.cfg.flavor {
        Flavor::Mysql57 => format!("{head}to_lsn = {to}\nlast_lsn = {last}\ncompact = 0\nrecover_binlog_info = 0\n"),
        // mariabackup 10.11's file: no `compact` line.
        Flavor::MariaDb => format!("{head}to_lsn = {to}\nlast_lsn = {last}\nrecover_binlog_info = 0\n"),
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
    let (from, incremental) = from_lsn.map_or((0, "N"), |f| (f, "Y"));
    if !info.contains(&format!("innodb_from_lsn = {from}\n"))
        || !info.contains(&format!("incremental = {incremental}\n"))
    {
        wrong.push(format!("{} does not say innodb_from_lsn = {from}, incremental = {incremental}", meta::INFO_FILE));
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

/// The backup holds exactly the server's tablespaces (an incremental one: each
/// as `NAME.delta` and `NAME.meta`) and non-InnoDB files, the redo copy and
/// the metadata files.
fn check_file_set(srv: &SimServer, target: &Path, incremental: bool, wrong: &mut Vec<String>) {
    let spaces = srv.truth.spaces_at_final_pass.iter();
    let mut expected: BTreeSet<PathBuf> = match incremental {
        false => spaces.map(|(_, rel)| rel.clone()).collect(),
        true => spaces
            .flat_map(|(id, rel)| match incremental::is_whole_copy(srv, target, *id, rel) {
                true => vec![incremental::whole_copy_name(rel)],
                false => incremental::delta_files(rel).to_vec(),
            })
            .collect(),
    };
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
