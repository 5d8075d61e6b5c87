//! After the backup: `prepare` (apply the copied redo to the backup's pages, in
//! place) and `copy-back` / `move-back` (put a prepared backup where a server
//! will look for it). Files are reached only through [`crate::io::LocalFs`].

pub mod binlog_pos;
pub mod completeness;
pub mod copyback;
pub mod ddl_markers;
pub mod incremental;
pub mod journal;
pub mod marker;
pub mod mysql57_group;
mod place;
pub mod prepare;
mod space;
pub mod store;

use crate::format::Lsn;
use crate::io::LocalFs;
use crate::meta;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Why prepare, copy-back or move-back refused or failed: one sentence, naming the
/// file, page or LSN and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{}: {op} failed: {source}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} has no xtrabackup_checkpoints: the backup did not complete{}; it cannot be prepared or restored, \
         take a new backup",
        dir.display(),
        failed.as_ref().map(|r| format!(" (innohot_backup_failed says: {r})")).unwrap_or_default()
    )]
    Incomplete { dir: PathBuf, failed: Option<String> },
    #[error("{}: {detail}", path.display())]
    BadMetadata { path: PathBuf, detail: String },
    #[error(
        "this is a MySQL 5.7 backup (xtrabackup_logfile): innohot prepares only MariaDB 10.8+ backups so far \
         ({detail}); prepare it with XtraBackup 2.4 (xtrabackup --prepare --target-dir={}), or through a MySQL \
         5.7 server: innohot mysql57-log-group --target-dir={} writes the log group its crash recovery reads",
        dir.display(),
        dir.display()
    )]
    Mysql57 { dir: PathBuf, detail: String },
    #[error("{}: the redo log copy is damaged or unusable: {detail}; the backup cannot be prepared, take a new one", path.display())]
    BadLog { path: PathBuf, detail: String },
    #[error(
        "{}: page {page} (page LSN {page_lsn}) is damaged: {detail}; the backup cannot be prepared, take a new one",
        path.display()
    )]
    BadPage { path: PathBuf, page: u32, page_lsn: Lsn, detail: String },
    #[error(
        "{}: the tablespace is encrypted; innohot does not prepare encrypted backups: use mariabackup --prepare \
         with the server's key management settings",
        path.display()
    )]
    Encrypted { path: PathBuf },
    #[error(
        "{}: page {page} cannot take the {what} record of the mini-transaction at LSN {lsn}: {detail}; the page \
         or the redo copy is damaged, or innohot applies the record wrongly; the backup is unchanged: prepare it \
         with mariabackup --prepare",
        path.display()
    )]
    BadRowRecord { path: PathBuf, page: u32, lsn: Lsn, what: &'static str, detail: String },
    #[error("tablespace id {space} is held by both {} and {}: the backup is inconsistent", a.display(), b.display())]
    DuplicateSpace { space: u32, a: PathBuf, b: PathBuf },
    #[error(
        "{} is not prepared (backup_type = {kind}): run innohot prepare --target-dir={} first",
        dir.display(),
        dir.display()
    )]
    NotPrepared { dir: PathBuf, kind: String },
    #[error("{}: {detail}; restore only into a missing or empty directory, nothing was written", path.display())]
    DestinationInUse { path: PathBuf, detail: String },
    #[error(
        "a server ({}) is running on {}: it holds a lock on {}; stop it first and restore into a missing or \
         empty datadir (nothing was written)",
        pid.map(|p| format!("pid {p}")).unwrap_or_else(|| "pid unknown".into()),
        datadir.display(),
        file.display()
    )]
    ServerRunning { datadir: PathBuf, file: PathBuf, pid: Option<u32> },
    #[error(
        "not enough free space for {command} in {}: its file system has {} free, and the {files} files going \
         there need {}, counted in {block}-byte blocks with {} MiB to spare; {} is the first that would not fit; \
         nothing was written: free space there or restore onto a larger file system",
        dir.display(),
        space::human(*available),
        space::human(*needed),
        space::MARGIN >> 20,
        first_over.display()
    )]
    NoSpace {
        command: &'static str,
        dir: PathBuf,
        needed: u64,
        available: u64,
        block: u64,
        files: u64,
        first_over: PathBuf,
    },
    /// A restore failed after it had begun: what went wrong, then what it did about it.
    #[error("{cause}; {then}")]
    Failed { cause: Box<RestoreError>, then: String },
    /// Files a server needs are not in the backup (issue 19): refused before anything is written.
    #[error(
        "{}: the backup is incomplete, a server could not start on it or open every table: {}. Nothing was \
         changed: put the missing files back into the backup if they were removed from it, else take a new backup",
        dir.display(),
        list_missing(missing)
    )]
    Missing { dir: PathBuf, missing: Vec<completeness::Missing> },
    /// Another prepare holds the backup's lock file.
    #[error(
        "{} is being prepared by another innohot prepare ({}), which holds the lock file {}: wait until it is \
         done, then run innohot prepare again if it failed; nothing was changed",
        dir.display(),
        pid.map(|p| format!("pid {p}")).unwrap_or_else(|| "pid unknown".into()),
        lock.display()
    )]
    Locked { dir: PathBuf, lock: PathBuf, pid: Option<u32> },
    #[error("{0}")]
    Refused(String),
}

impl RestoreError {
    /// What the user faces, for scripts and `--json`.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        use RestoreError as E;
        match self {
            E::Io { source, .. } => K::of_io(source),
            E::Incomplete { .. } | E::NotPrepared { .. } | E::Missing { .. } => K::IncompleteBackup,
            E::BadMetadata { .. } | E::BadLog { .. } | E::BadPage { .. } | E::DuplicateSpace { .. } => K::Corrupt,
            E::BadRowRecord { .. } => K::Corrupt,
            E::Mysql57 { .. } | E::Encrypted { .. } => K::Unsupported,
            E::DestinationInUse { .. } | E::NoSpace { .. } => K::TargetUnusable,
            E::ServerRunning { .. } | E::Locked { .. } => K::Busy,
            E::Failed { cause, .. } => cause.kind(),
            E::Refused(_) => K::Refused,
        }
    }
}

/// The missing files, one clause each (the first ten, then how many more).
fn list_missing(missing: &[completeness::Missing]) -> String {
    const SHOWN: usize = 10;
    let mut parts: Vec<String> = missing.iter().take(SHOWN).map(|m| m.to_string()).collect();
    if missing.len() > SHOWN {
        parts.push(format!("and {} more files", missing.len() - SHOWN));
    }
    parts.join("; ")
}

pub type Result<T> = std::result::Result<T, RestoreError>;

pub(crate) fn io_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> RestoreError {
    let path = path.to_path_buf();
    move |source| RestoreError::Io { path, op, source }
}

pub(crate) use crate::meta::key_values;

/// Whether the backup holds some tables only (`partial = Y` in xtrabackup_info):
/// the redo then changes tablespaces left out on purpose.
pub(crate) fn is_partial(fs: &dyn LocalFs, dir: &Path) -> Result<bool> {
    let info = dir.join(meta::INFO_FILE);
    if !fs.exists(&info) {
        return Ok(false);
    }
    let text = fs.read_all(&info).map_err(io_err(&info, "reading"))?;
    Ok(key_values(&String::from_utf8_lossy(&text)).get("partial").is_some_and(|v| v == "Y"))
}

/// backup-my.cnf's settings; none when the file is absent (the completeness
/// check has refused a backup without it where that matters).
pub(crate) fn backup_settings(fs: &dyn LocalFs, dir: &Path) -> Result<BTreeMap<String, String>> {
    let cnf = dir.join(meta::BACKUP_MY_CNF);
    if !fs.exists(&cnf) {
        return Ok(BTreeMap::new());
    }
    Ok(key_values(&String::from_utf8_lossy(&fs.read_all(&cnf).map_err(io_err(&cnf, "reading"))?)))
}

/// What `xtrabackup_checkpoints` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoints {
    pub backup_type: String,
    pub from_lsn: Lsn,
    pub to_lsn: Lsn,
    pub last_lsn: Lsn,
    /// The file as it is, for rewriting only its `backup_type`.
    pub text: String,
}

impl Checkpoints {
    pub fn is_prepared(&self) -> bool {
        matches!(self.backup_type.as_str(), "log-applied" | "full-prepared")
    }
}

/// A backup extracted from an innohot stream that ended without its manifest
/// (cut short: `mbstream -x` takes that silently), or that `innohot extract`
/// marked failed: its DDL markers may be missing, so it is never prepared.
fn refuse_cut_stream(fs: &dyn LocalFs, dir: &Path) -> Result<()> {
    let failed = dir.join(meta::FAILED_MARKER);
    if fs.exists(&failed) {
        let text = fs.read_all(&failed).unwrap_or_default();
        let why = String::from_utf8_lossy(&text).lines().next().unwrap_or("no reason recorded").to_string();
        return Err(RestoreError::Refused(format!(
            "{}: {why}; the backup is not usable: take it again",
            failed.display()
        )));
    }
    let compressed = ["ibdata1", "ib_logfile0", meta::INFO_FILE, meta::BACKUP_MY_CNF]
        .map(|name| format!("{name}{}", crate::stream::compress::ZST_SUFFIX))
        .into_iter()
        .find(|name| fs.exists(&dir.join(name)));
    if let Some(name) = compressed {
        return Err(RestoreError::Refused(format!(
            "{}: the backup's files are compressed ({name}): extract its stream with innohot extract --decompress, \
             or decompress each file with zstd -d --rm",
            dir.display()
        )));
    }
    if fs.exists(&dir.join(crate::stream::STREAM_HEAD)) && !fs.exists(&dir.join(crate::stream::MANIFEST)) {
        return Err(RestoreError::Refused(format!(
            "{} was extracted from an innohot stream that ended without {}: the backup did not complete or the \
             stream was cut short, so files may be missing; take the backup again",
            dir.display(),
            crate::stream::MANIFEST
        )));
    }
    Ok(())
}

/// Reads `dir/xtrabackup_checkpoints`; a backup without one is incomplete.
pub fn read_checkpoints(fs: &dyn LocalFs, dir: &Path) -> Result<Checkpoints> {
    let path = dir.join(meta::CHECKPOINTS_FILE);
    if !fs.exists(&path) {
        let marker = dir.join(meta::FAILED_MARKER);
        let failed = fs.exists(&marker).then(|| {
            let text = fs.read_all(&marker).unwrap_or_default();
            String::from_utf8_lossy(&text).lines().next().unwrap_or("no reason recorded").to_string()
        });
        if !fs.is_dir(dir) {
            return Err(RestoreError::Refused(format!("{} is not a directory: no backup there", dir.display())));
        }
        return Err(RestoreError::Incomplete { dir: dir.to_path_buf(), failed });
    }
    refuse_cut_stream(fs, dir)?;
    let text = String::from_utf8_lossy(&fs.read_all(&path).map_err(io_err(&path, "reading"))?).into_owned();
    Checkpoints::parse(&text).map_err(|e| RestoreError::BadMetadata { path, detail: e.to_string() })
}

/// Why an `xtrabackup_checkpoints` text is not one a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointsError {
    #[error("{key} is missing or not a number")]
    Missing { key: &'static str },
    #[error(
        "to_lsn {to_lsn} is beyond last_lsn {last_lsn}: the copied redo would end before the checkpoint the backup \
         starts from, so the file is damaged or was edited; nothing was changed: take a new backup"
    )]
    ToBeyondLast { to_lsn: Lsn, last_lsn: Lsn },
    #[error("from_lsn {from_lsn} is beyond to_lsn {to_lsn}: the file is damaged or was edited; take a new backup")]
    FromBeyondTo { from_lsn: Lsn, to_lsn: Lsn },
}

impl Checkpoints {
    /// Reads the text of an `xtrabackup_checkpoints` file (a full or an
    /// incremental backup's, prepared or not).
    pub fn parse(text: &str) -> std::result::Result<Checkpoints, CheckpointsError> {
        let kv = key_values(text);
        let num = |key: &'static str| -> std::result::Result<Lsn, CheckpointsError> {
            kv.get(key).and_then(|v| v.parse().ok()).ok_or(CheckpointsError::Missing { key })
        };
        let cp = Checkpoints {
            backup_type: kv.get("backup_type").cloned().unwrap_or_default(),
            from_lsn: num("from_lsn")?,
            to_lsn: num("to_lsn")?,
            last_lsn: num("last_lsn")?,
            text: text.to_string(),
        };
        if cp.to_lsn > cp.last_lsn {
            return Err(CheckpointsError::ToBeyondLast { to_lsn: cp.to_lsn, last_lsn: cp.last_lsn });
        }
        if cp.from_lsn > cp.to_lsn {
            return Err(CheckpointsError::FromBeyondTo { from_lsn: cp.from_lsn, to_lsn: cp.to_lsn });
        }
        Ok(cp)
    }

    /// An incremental backup (its pages are deltas over a base).
    pub fn is_incremental(&self) -> bool {
        self.backup_type == "incremental" || self.from_lsn != 0
    }
}

/// The checkpoints file with `backup_type` replaced.
pub fn with_backup_type(cp: &Checkpoints, kind: &str) -> String {
    let mut out = String::new();
    for line in cp.text.lines() {
        if line.split_once('=').is_some_and(|(k, _)| k.trim() == "backup_type") {
            out.push_str(&format!("backup_type = {kind}\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn kinds_of_restore_errors() {
        let incomplete = RestoreError::Incomplete { dir: "/b".into(), failed: None };
        assert_eq!(incomplete.kind(), ErrorKind::IncompleteBackup);
        let in_use = RestoreError::DestinationInUse { path: "/d".into(), detail: "not empty".into() };
        assert_eq!(in_use.kind(), ErrorKind::TargetUnusable);
        let page = RestoreError::BadPage { path: "/b/t.ibd".into(), page: 3, page_lsn: 9, detail: "x".into() };
        assert_eq!(page.kind(), ErrorKind::Corrupt);
        let running = RestoreError::ServerRunning { datadir: "/d".into(), file: "/d/ibdata1".into(), pid: None };
        assert_eq!(running.kind(), ErrorKind::Busy);
        // A failure after the restore began is the kind of its cause.
        let failed = RestoreError::Failed { cause: Box::new(page), then: "nothing was left behind".into() };
        assert_eq!(failed.kind(), ErrorKind::Corrupt);
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(
            RestoreError::Io { path: "/d/x".into(), op: "writing", source: full }.kind(),
            ErrorKind::TargetUnusable
        );
    }
}
