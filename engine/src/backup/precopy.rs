//! The short lock (MySQL 5.7, where FTWRL blocks commits from the first
//! statement): before the lock, settle the DDL run so far and copy every
//! non-InnoDB file, stamping each; under it, list each directory once, stat
//! each file, and copy again only the files that are new, changed or whose
//! stamp cannot vouch for them, removing the copies of files that are gone.
//! The work under the lock then grows with what changed, not with the
//! number of tables (simulator/tests/lock_work.rs counts it).

use super::stage::{Connected, Copying};
use super::{Backup, Next};
use crate::copy;
use crate::error::{BackupError, Result};
use crate::events::Phase;
use crate::io::{DirEntry, FileId, FileStamp, ReadPolicy, SourceFile, SourceFs};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Phase 13's sub-steps once the test pause (sub 0 -> 1) is over.
const SETTLED: usize = 2;
const LISTED: usize = 3;

/// What the copy before the lock left: each copied file's stamp, when the
/// stamp can vouch for the copy (taken before the open and equal after the
/// copy); None when the file changed while it was copied, or could not be
/// stamped: such a file is copied again under the lock.
#[derive(Debug, Default)]
pub(super) struct Precopy {
    /// When the copy began (Unix ns, the file system's clock): stamps younger
    /// than this less the stamp granularity prove nothing.
    since: i128,
    /// By path relative to the backup.
    files: BTreeMap<PathBuf, Option<FileStamp>>,
}

/// A source file system whose listings are read once: under the lock the
/// tablespace rescan and the non-InnoDB listing read the same directories.
pub(super) struct OnceListed<'a> {
    fs: &'a dyn SourceFs,
    seen: Mutex<HashMap<PathBuf, Vec<DirEntry>>>,
}

impl<'a> OnceListed<'a> {
    pub(super) fn new(fs: &'a dyn SourceFs) -> Self {
        OnceListed { fs, seen: Mutex::default() }
    }
}

impl SourceFs for OnceListed<'_> {
    fn open(&self, path: &Path, policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>> {
        self.fs.open(path, policy)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entries) = seen.get(dir) {
            return Ok(entries.clone());
        }
        let entries = self.fs.list(dir)?;
        seen.insert(dir.to_path_buf(), entries.clone());
        Ok(entries)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.fs.canonicalize(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.fs.exists(path)
    }
    fn file_id(&self, path: &Path) -> io::Result<Option<FileId>> {
        self.fs.file_id(path)
    }
    fn stamp(&self, path: &Path) -> io::Result<Option<FileStamp>> {
        self.fs.stamp(path)
    }
    fn size(&self, path: &Path) -> io::Result<u64> {
        self.fs.size(path)
    }
}

impl Backup {
    /// Phase 13, for flavors that copy before the lock: the tablespace
    /// reconcile and the copies of tables created so far, then every
    /// non-InnoDB file, one per step; None when all is done.
    pub(super) fn before_lock_step(&mut self, copying: &Copying) -> Result<Option<Next>> {
        let phase = Phase::LogFollows;
        let fs = self.svc.fs.clone();
        if self.sub < SETTLED {
            self.note(phase, "before the lock: settling the DDL run so far, copying the non-InnoDB files");
            self.reconcile_tablespaces(phase, copying, &*fs)?;
            self.sub = SETTLED;
        }
        if let Some(next) = self.copy_tablespace_step(&copying.pool)? {
            return Ok(Some(next));
        }
        if self.sub == SETTLED {
            self.other_files = self.non_innodb_files(copying.conn(), &*fs)?.files.into();
            self.precopy = Some(Precopy { since: self.svc.clock.unix_nanos(), files: BTreeMap::new() });
            self.sub = LISTED;
        }
        match self.other_files.pop_front() {
            Some((source, rel)) => {
                if let Some(vouched) = self.precopy_file(phase, &source, &rel)? {
                    let Some(precopy) = self.precopy.as_mut() else {
                        return Err(BackupError::PhaseOrder {
                            phase,
                            needs: "the non-InnoDB files listed before the lock",
                        });
                    };
                    precopy.files.insert(rel, vouched);
                }
                Ok(Some(Next::Continue))
            }
            None => Ok(None),
        }
    }

    /// Copies one file before the lock; returns the stamp that vouches for
    /// the copy (None inside: none does), or None when the file vanished first.
    fn precopy_file(&mut self, phase: Phase, source: &Path, rel: &Path) -> Result<Option<Option<FileStamp>>> {
        let before = self.stamp(source);
        match self.copy_other_file(phase, source.to_path_buf(), rel.to_path_buf()) {
            Ok(_) => {}
            // Gone before it could be opened (DROP, RENAME): the lock-time listing settles it.
            Err(BackupError::Io { path, source: e, .. }) if e.kind() == io::ErrorKind::NotFound && path == source => {
                self.note(phase, format!("{} vanished before its copy (DDL): settled under the lock", rel.display()));
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        let after = self.stamp(source);
        Ok(Some(before.filter(|b| after == Some(*b))))
    }

    /// The file's stamp; None when it is gone or cannot be stamped (either way
    /// the stamp vouches for nothing and the file is copied under the lock).
    fn stamp(&self, path: &Path) -> Option<FileStamp> {
        self.svc.fs.stamp(path).ok().flatten()
    }

    /// Under the lock: of the non-InnoDB files on disk now, those to copy
    /// (new since the copy before the lock, changed, or not vouched for by
    /// their stamp); the copies of changed and vanished files are removed.
    /// Without a copy before the lock (a flavor that does not make one), all.
    pub(super) fn changed_since_precopy(
        &mut self,
        phase: Phase,
        files: Vec<(PathBuf, PathBuf)>,
    ) -> Result<Vec<(PathBuf, PathBuf)>> {
        let Some(Precopy { since, files: mut copied }) = self.precopy.take() else { return Ok(files) };
        let granularity = self.opts.stamp_granularity;
        let (mut again, mut kept) = (Vec::new(), 0usize);
        for (source, rel) in files {
            match copied.remove(&rel) {
                // Created (or renamed to this name) since: copied now.
                None => again.push((source, rel)),
                Some(Some(then)) if vouches(&then, since, granularity) && self.stamp(&source) == Some(then) => {
                    kept += 1
                }
                Some(_) => {
                    self.withdraw_copy(&rel)?;
                    again.push((source, rel));
                }
            }
        }
        let gone = copied.len();
        for rel in copied.into_keys() {
            self.withdraw_copy(&rel)?;
            self.note(phase, format!("{} is gone since its copy (dropped or renamed): removed", rel.display()));
        }
        self.note(
            phase,
            format!(
                "non-InnoDB files: {kept} unchanged since their copy before the lock, {} to copy now, {gone} gone",
                again.len()
            ),
        );
        Ok(again)
    }

    /// Removes a copy made before the lock (the file changed or went away).
    fn withdraw_copy(&mut self, rel: &Path) -> Result<()> {
        let target = self.svc.target.clone();
        target
            .remove_file(rel)
            .map_err(|e| BackupError::io(target.root().join(rel), "removing an outdated copy", e))?;
        self.unsynced.retain(|r| r != rel);
        self.other_count -= 1;
        Ok(())
    }

    /// The Aria logs the server has marked free (`SHOW ENGINE ARIA LOGS`), which the backup leaves out.
    pub(super) fn read_aria_free_logs(&mut self, phase: Phase) -> Result<()> {
        self.aria_free_logs = self.svc.server.aria_free_logs()?.unwrap_or_default();
        if !self.aria_free_logs.is_empty() {
            let names = self.aria_free_logs.join(", ");
            self.note(phase, format!("Aria logs no recovery needs (the server marks them free), not copied: {names}"));
        }
        Ok(())
    }

    /// Every non-InnoDB file: the flavor's at the datadir's top, then each
    /// schema directory's (not those of `ignore_db_dirs`); and the empty schema
    /// directories the backup holds.
    pub(super) fn non_innodb_files(&self, conn: &Connected, fs: &dyn SourceFs) -> Result<copy::SchemaFiles> {
        let flavor = &conn.flavor;
        let ignored = copy::ignored_db_dirs(conn.vars.get("ignore_db_dirs"));
        let schemas = copy::discover_non_innodb(fs, &conn.datadir, flavor.non_innodb_extensions(), &ignored)?;
        let mut files = flavor.top_level_files(fs, &conn.datadir, &conn.vars)?;
        // As a restored mariabackup backup (whose prepare's Aria recovery purges them): no log
        // the server has marked free, which no recovery reads.
        files.retain(|(_, rel)| !self.aria_free_logs.iter().any(|free| rel == Path::new(free)));
        files.extend(schemas.files);
        files.retain(|(_, rel)| self.opts.filter.holds_file(rel));
        let mut empty_schemas = schemas.empty_schemas;
        empty_schemas.retain(|db| self.opts.filter.holds_database(db));
        Ok(copy::SchemaFiles { files, empty_schemas })
    }
}

/// Whether a stamp taken before the lock can vouch for its copy (`FileStamp::settled_before`).
fn vouches(stamp: &FileStamp, since: i128, granularity: std::time::Duration) -> bool {
    #[cfg(feature = "planted-bugs")]
    if crate::planted::TRUST_YOUNG_STAMPS.load(std::sync::atomic::Ordering::SeqCst) {
        return true;
    }
    stamp.settled_before(since, granularity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stamp(mtime_ns: i128, ctime_ns: i128) -> FileStamp {
        FileStamp { size: 10, mtime_ns, ctime_ns, device: 1, inode: 2, born_ns: None }
    }

    #[test]
    fn only_a_stamp_older_than_the_copy_by_the_granularity_vouches() {
        let g = Duration::from_secs(2);
        let since = 100_000_000_000;
        assert!(stamp(97_000_000_000, 97_000_000_000).settled_before(since, g));
        // Exactly the granularity before: a write in that tick could still follow.
        assert!(!stamp(98_000_000_000, 90_000_000_000).settled_before(since, g));
        // An old mtime (utimes can set it) with a young ctime: the ctime counts.
        assert!(!stamp(1, 99_999_999_999).settled_before(since, g));
        // Stamped in the future (clock skew): vouches for nothing.
        assert!(!stamp(200_000_000_000, 200_000_000_000).settled_before(since, g));
    }
}
