//! `innohot verify`: checks a backup directory without restoring it.
//!
//! - no failure marker, a complete `xtrabackup_checkpoints` (a full backup
//!   from 0, or an incremental from its base's LSN; `to_lsn <= last_lsn`)
//!   and no leftover `.pending` file;
//!   `xtrabackup_info`'s `innodb_to_lsn` agrees with it;
//! - the copied redo log is there (`ib_logfile0` or `xtrabackup_logfile`);
//!   a 5.7 `xtrabackup_logfile` is read block by block: every block's
//!   checksum holds and block numbers follow each other up to the block that
//!   holds `last_lsn`; a MariaDB `ib_logfile0` is walked mini-transaction
//!   by mini-transaction (each whole and CRC-valid) from its checkpoint to
//!   `last_lsn`;
//! - every page of every tablespace (`ibdata*`, `undo*`, `*.ibd`) passes the
//!   engine's own page validation (`format::page::validate_page`: every page
//!   size, crc32/innodb/full_crc32 checksums, ROW_FORMAT=COMPRESSED and
//!   PAGE_COMPRESSED pages), the page size taken from page 0 as the copy did;
//!   an incremental's every `NAME.delta` decodes, with its `NAME.meta`, and
//!   every page in it passes the same checks;
//! - every `.isl` link has its `.ibd` next to it (DATA DIRECTORY tables are
//!   stored beside their link, docs/FORMATS.md);
//! - MariaDB: every file-per-table tablespace the copied redo names in a FILE
//!   record (and does not delete later) is in the backup, under its last name;
//! - a prepared backup (`backup_type = log-applied`, innohot's or mariabackup's
//!   prepare): no page's LSN is beyond the applied LSN (`last_lsn`), since a
//!   prepare applies the redo exactly that far.
//!
//! Reads only through `io::SourceFs`; pure apart from that.

use crate::error::{BackupError, Result};
use crate::format::page::{self, PageLayout};
use crate::io::{EntryKind, ReadPolicy, SourceFs};
use crate::meta;
use crate::restore::completeness::{self, SourceReader};
use crate::restore::prepare::{self, sys_tables::sys_tables};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod pages;
pub(crate) mod redo;
use pages::{check_delta, check_tablespace};

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub tablespaces: u64,
    pub pages: u64,
    /// Facts worth a line (LSNs, the redo file).
    pub notes: Vec<String>,
    /// Each one sentence: what is wrong, where.
    pub problems: Vec<String>,
    /// The files (relative to the backup) a problem already names as missing: one
    /// sentence each, whichever check finds it first.
    missing_named: BTreeSet<PathBuf>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Problems listed per tablespace before the rest are counted only.
const PROBLEMS_PER_FILE: usize = 5;
const READ: ReadPolicy = ReadPolicy { direct: false, fadvise: false };

fn read_text(fs: &dyn SourceFs, path: &Path) -> Result<String> {
    let mut f = fs.open(path, READ).map_err(|e| BackupError::io(path, "opening", e))?;
    let size = f.size().map_err(|e| BackupError::io(path, "reading", e))?;
    let mut buf = vec![0u8; size.min(1 << 20) as usize];
    let got = f.read_at(&mut buf, 0).map_err(|e| BackupError::io(path, "reading", e))?;
    buf.truncate(got);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

use crate::meta::key_values;

/// Checks the backup in `dir`. Err only when the directory cannot be read at all.
pub fn verify(fs: &dyn SourceFs, dir: &Path) -> Result<VerifyReport> {
    let mut r = VerifyReport::default();
    let top = fs.list(dir).map_err(|e| BackupError::io(dir, "listing", e))?;
    let has = |name: &str| top.iter().any(|e| e.name == name);
    if has(meta::FAILED_MARKER) {
        let text = read_text(fs, &dir.join(meta::FAILED_MARKER)).unwrap_or_default();
        r.problems.push(format!(
            "{}: the backup failed ({}); it is not usable",
            meta::FAILED_MARKER,
            text.lines().next().unwrap_or("no reason recorded")
        ));
    }
    if has(meta::CHECKPOINTS_PENDING) {
        r.problems
            .push(format!("{} is still there: the backup stopped before it was published", meta::CHECKPOINTS_PENDING));
    }
    let lsns = check_checkpoints(fs, dir, has(meta::CHECKPOINTS_FILE), has(meta::INFO_FILE), &mut r);
    let applied = lsns.filter(|l| l.applied).map(|l| l.last);
    let incremental = lsns.is_some_and(|l| l.incremental);
    match prepare::of_backup(&has) {
        Some(flavor) => {
            r.notes.push(format!("redo log copy: {}", flavor.redo_file()));
            if let Some(lsns) = lsns {
                flavor.check_redo(fs, dir, lsns, &mut r);
            }
        }
        None => r.problems.push(format!(
            "no copied redo log ({}): the backup cannot be prepared",
            prepare::redo_files().join(" or ")
        )),
    }
    if has(meta::PREPARE_LOCK) {
        r.notes.push(prepare_lock_note());
    }
    crate::stream::check::verify_extracted(fs, dir, applied.is_some(), &mut r.notes, &mut r.problems);
    let new_file_layout = new_file_layout(fs, dir, has(meta::BACKUP_MY_CNF))?;
    let held = check_files(fs, dir, top, (new_file_layout, applied, incremental), &mut r)?;
    if r.tablespaces == 0 {
        r.problems.push("no InnoDB tablespace (ibdata*, *.ibd) in the directory: this is not a backup".into());
    }
    if incremental {
        r.notes.push(
            "an incremental backup: whether every table is held is checked when it is prepared onto its base".into(),
        );
    } else {
        check_complete(fs, dir, applied.is_some(), &held, &mut r)?;
    }
    Ok(r)
}

/// Every file of the backup: each tablespace's (or delta's) pages, each
/// `.isl`'s data file. Returns the space ids held.
fn check_files(
    fs: &dyn SourceFs,
    dir: &Path,
    top: Vec<crate::io::DirEntry>,
    (new_file_layout, applied, incremental): (PageLayout, Option<u64>, bool),
    r: &mut VerifyReport,
) -> Result<BTreeSet<u32>> {
    let mut held = BTreeSet::new();
    let mut stack = vec![(dir.to_path_buf(), top)];
    while let Some((d, entries)) = stack.pop() {
        for e in entries {
            let path = d.join(&e.name);
            match e.kind {
                EntryKind::Dir => {
                    let inner = fs.list(&path).map_err(|err| BackupError::io(&path, "listing", err))?;
                    stack.push((path, inner));
                }
                EntryKind::File => {
                    let at_root = d == dir;
                    let is_system = at_root
                        && (e.name.starts_with("ibdata") || e.name.starts_with("undo"))
                        && !e.name.contains('.');
                    if incremental && e.name.ends_with(crate::format::delta::DELTA_SUFFIX) {
                        r.tablespaces += 1;
                        check_delta(fs, &path, dir, new_file_layout, &mut held, r);
                    } else if is_system || e.name.ends_with(".ibd") {
                        r.tablespaces += 1;
                        check_tablespace(fs, &path, dir, (new_file_layout, applied), &mut held, r);
                    } else if let Some(stem) = e.name.strip_suffix(".isl") {
                        let ibd = d.join(format!("{stem}.ibd"));
                        if !fs.exists(&ibd) {
                            r.problems.push(format!(
                                "{}: the DATA DIRECTORY table's data file {} is missing from the backup",
                                rel(&path, dir),
                                rel(&ibd, dir)
                            ));
                        }
                    }
                }
                EntryKind::Other => {}
            }
        }
    }
    Ok(held)
}

/// What a prepare's lock file left in the backup means.
fn prepare_lock_note() -> String {
    format!(
        "{} is there: a prepare of this backup is running, or one was stopped; if none runs, run innohot prepare \
         again",
        meta::PREPARE_LOCK
    )
}

/// The page layout the server gives a new file (whose page 0 is not written yet).
fn new_file_layout(fs: &dyn SourceFs, dir: &Path, cnf: bool) -> Result<PageLayout> {
    if !cnf {
        return Ok(PageLayout::legacy(16384));
    }
    let settings = key_values(&read_text(fs, &dir.join(meta::BACKUP_MY_CNF))?);
    let size = settings.get("innodb_page_size").and_then(|v| v.parse().ok()).unwrap_or(16384);
    Ok(PageLayout::for_new_file(size, settings.get("innodb_checksum_algorithm").map(|s| s.as_str())))
}

/// How a problem about a missing file goes on after its name (as [`completeness::Missing`] says it).
const MISSING: &str = " is missing from the backup";

/// The files a server needs ([`completeness`]): each one missing is a problem. In a
/// backup not yet prepared the dictionary is as copied (a table created after the
/// start checkpoint may not be in it, and a page split may be half copied): what it
/// cannot tell is a note, which prepare, reading it after the redo, decides.
fn check_complete(
    fs: &dyn SourceFs,
    dir: &Path,
    prepared: bool,
    held: &BTreeSet<u32>,
    r: &mut VerifyReport,
) -> Result<()> {
    let found = completeness::check(&SourceReader(fs), dir).map_err(|e| BackupError::io(dir, "reading", e))?;
    let system = found.settings.as_ref().and_then(|s| s.data_files.first()).map_or("ibdata1", |f| f.as_str());
    let dictionary = (!found.without_ibd.is_empty()).then(|| copied_dictionary(fs, &dir.join(system))).flatten();
    let placed = completeness::place(&found.without_ibd, dictionary.as_ref(), held);
    let sure = dictionary.is_some() || (prepared && found.missing.is_empty());
    let tables = if sure { placed.missing } else { Vec::new() };
    for m in found.missing.iter().chain(&tables) {
        // The redo's FILE records may have named it already.
        if !r.missing_named.insert(m.file.clone()) {
            continue;
        }
        r.problems.push(format!(
            "{m}: a server could not start on this backup or open every table; put the file back if it was \
             removed from the backup, else take a new backup"
        ));
    }
    let unsure = if sure { placed.unlisted } else { found.without_ibd.clone() };
    for t in unsure.iter().filter(|t| !r.missing_named.contains(&t.ibd)) {
        r.notes.push(format!(
            "{}: the InnoDB table {} has no .ibd and {}; prepare tells once the redo is applied",
            t.frm.display(),
            t.innodb_name,
            if dictionary.is_some() {
                "is not in the dictionary as copied (created after the start checkpoint, or an orphan .frm)"
            } else {
                "the dictionary as copied cannot be read"
            }
        ));
    }
    if let Some(bad) = found.bad_settings {
        r.problems.push(format!("{}: {bad}", meta::BACKUP_MY_CNF));
    }
    Ok(())
}

/// SYS_TABLES as the system tablespace file `path` holds it (as copied: a table
/// created during the backup may not be in it yet); None when it cannot be read.
fn copied_dictionary(fs: &dyn SourceFs, path: &Path) -> Option<BTreeMap<String, u32>> {
    let mut f = fs.open(path, READ).ok()?;
    let mut head = vec![0u8; page::MIN_PAGE_SIZE];
    f.read_at(&mut head, 0).ok()?;
    let psize = page::layout_from_page0(&head).ok()?.physical_size;
    let mut read_page = |page_no: u32| {
        let mut buf = vec![0u8; psize];
        let got = f.read_at(&mut buf, u64::from(page_no) * psize as u64).ok()?;
        (got == psize).then_some(buf)
    };
    sys_tables(&mut read_page).ok()
}

fn rel(p: &Path, root: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// What a whole `xtrabackup_checkpoints` says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lsns {
    pub last: u64,
    /// Prepared by innohot or mariabackup: the redo is applied up to `last`.
    pub applied: bool,
    /// Its tablespaces are deltas (`backup_type = incremental`).
    incremental: bool,
}

/// The checkpoints file's checks; its LSNs when it has them.
fn check_checkpoints(fs: &dyn SourceFs, dir: &Path, present: bool, info: bool, r: &mut VerifyReport) -> Option<Lsns> {
    if !present {
        r.problems.push(format!(
            "no {}: the backup did not complete (only a complete backup has one)",
            meta::CHECKPOINTS_FILE
        ));
        return None;
    }
    let kv = match read_text(fs, &dir.join(meta::CHECKPOINTS_FILE)) {
        Ok(t) => key_values(&t),
        Err(e) => {
            r.problems.push(e.to_string());
            return None;
        }
    };
    let num = |k: &str| kv.get(k).and_then(|v| v.parse::<u64>().ok());
    let (Some(from), Some(to), Some(last)) = (num("from_lsn"), num("to_lsn"), num("last_lsn")) else {
        r.problems.push(format!("{}: from_lsn, to_lsn or last_lsn is missing or not a number", meta::CHECKPOINTS_FILE));
        return None;
    };
    let kind = kv.get("backup_type").map(String::as_str).unwrap_or("");
    let incremental = kind == "incremental";
    if !matches!(kind, "full-backuped" | "full-prepared" | "log-applied" | "incremental") {
        r.problems.push(format!("{}: backup_type '{kind}' is no backup's", meta::CHECKPOINTS_FILE));
    }
    if (from != 0) != incremental {
        r.problems.push(format!(
            "{}: from_lsn is {from} but backup_type is {kind}: only an incremental backup starts past 0",
            meta::CHECKPOINTS_FILE
        ));
    }
    if incremental && from > to {
        r.problems.push(format!("{}: from_lsn {from} is beyond to_lsn {to}", meta::CHECKPOINTS_FILE));
    }
    if to > last {
        r.problems.push(format!(
            "{}: to_lsn {to} is beyond last_lsn {last}: the copied redo ends before the checkpoint",
            meta::CHECKPOINTS_FILE
        ));
    }
    r.notes.push(format!("{kind}: to_lsn {to}, last_lsn {last}"));
    if info {
        if let Ok(t) = read_text(fs, &dir.join(meta::INFO_FILE)) {
            let info_to = key_values(&t).get("innodb_to_lsn").and_then(|v| v.parse::<u64>().ok());
            if info_to.is_some_and(|v| v != to) {
                r.problems.push(format!(
                    "{} says innodb_to_lsn {} but {} says to_lsn {to}: the metadata files disagree",
                    meta::INFO_FILE,
                    info_to.unwrap_or_default(),
                    meta::CHECKPOINTS_FILE
                ));
            }
        }
    }
    Some(Lsns { last, applied: kind == "log-applied", incremental })
}

/// The report's last line: OK, or how many problems.
pub fn summary(r: &VerifyReport, dir: &Path) -> String {
    if r.is_ok() {
        format!("{}: OK: {} tablespaces, {} pages valid, metadata consistent", dir.display(), r.tablespaces, r.pages)
    } else {
        format!(
            "{}: NOT A USABLE BACKUP: {} problem(s) in {} tablespaces, {} pages checked",
            dir.display(),
            r.problems.len(),
            r.tablespaces,
            r.pages
        )
    }
}
