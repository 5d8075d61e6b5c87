//! The restore side's flavor seam: a MariaDB 10.8+ backup's redo copy is
//! `ib_logfile0`, a MySQL 5.7 one's `xtrabackup_logfile`, and that decides how
//! verify checks the copy and how prepare applies it and which log it leaves.
//! [`of_backup`] picks the [`BackupFlavor`] once, from the files the backup
//! holds; verify and prepare ask it instead of matching on file names (the
//! backup side asks [`crate::flavor::Flavor`]).

use super::{mariadb_backup, mysql57_backup, PrepareReport};
use crate::io::{LocalFs, SourceFs};
use crate::restore::completeness::TableWithoutIbd;
use crate::restore::mysql57_group::COPY_FILE;
use crate::restore::{io_err, Checkpoints, RestoreError, Result};
use crate::verify::{redo, Lsns, VerifyReport};
use std::path::Path;

/// How a backup of one server flavor is verified and prepared.
pub(crate) trait BackupFlavor: Sync {
    /// The redo copy's file name in the backup.
    fn redo_file(&self) -> &'static str;
    /// The `backup_type` prepare leaves in `xtrabackup_checkpoints`.
    fn prepared_type(&self) -> &'static str;
    /// verify: checks the redo copy in `dir` up to `lsns.last`; what is wrong goes into `r`.
    fn check_redo(&self, fs: &dyn SourceFs, dir: &Path, lsns: Lsns, r: &mut VerifyReport);
    /// prepare: applies `redo` to the pages of the backup in `dir`, writes them back,
    /// then the log a server starts from (its checkpoint in the report).
    fn apply_redo(
        &self,
        fs: &dyn LocalFs,
        dir: &Path,
        redo: &RedoCopy,
        without_ibd: &[TableWithoutIbd],
    ) -> Result<PrepareReport>;
}

/// The redo a prepare applies: the backup's own, or an incremental's to its base.
pub(crate) struct RedoCopy<'a> {
    /// The backup the redo copy is in.
    pub dir: &'a Path,
    /// That backup's checkpoints.
    pub cp: &'a Checkpoints,
    /// An incremental's, applied to a prepared base: it must reach its `to_lsn`, and
    /// the log the base's own prepare left is replaced.
    pub incremental: bool,
}

impl RedoCopy<'_> {
    /// An incremental's redo must reach its `to_lsn`: else it was cut short.
    fn check_reached(&self, log: &Path, redo: &PrepareReport) -> Result<()> {
        if self.incremental && redo.end_lsn < self.cp.to_lsn {
            return Err(RestoreError::BadLog {
                path: log.to_path_buf(),
                detail: format!("it ends at LSN {}, before the backup's to_lsn {}", redo.end_lsn, self.cp.to_lsn),
            });
        }
        Ok(())
    }
}

/// Every flavor, in the order a backup's files are matched.
/// 5.7's first: a prepared 5.7 backup holds an `ib_logfile0` too (the log group
/// prepare writes for the server), and its redo copy stays beside it.
pub(crate) const FLAVORS: [&dyn BackupFlavor; 2] = [&Mysql57Backup, &MariaDbBackup];

/// The flavor of the backup whose top-level files `holds` answers for: the first
/// whose redo copy is there; None when there is none.
pub(crate) fn of_backup(holds: &dyn Fn(&str) -> bool) -> Option<&'static dyn BackupFlavor> {
    FLAVORS.into_iter().find(|f| holds(f.redo_file()))
}

/// The redo copies a backup may hold, for the message that finds none.
pub(crate) fn redo_files() -> Vec<&'static str> {
    FLAVORS.iter().map(|f| f.redo_file()).collect()
}

/// MariaDB 10.8+: `ib_logfile0`.
struct MariaDbBackup;

impl BackupFlavor for MariaDbBackup {
    fn redo_file(&self) -> &'static str {
        mariadb_backup::LOG_FILE
    }

    fn prepared_type(&self) -> &'static str {
        "log-applied"
    }

    fn check_redo(&self, fs: &dyn SourceFs, dir: &Path, lsns: Lsns, r: &mut VerifyReport) {
        redo::check_mariadb_redo(fs, dir, self.redo_file(), lsns, r);
    }

    fn apply_redo(
        &self,
        fs: &dyn LocalFs,
        dir: &Path,
        redo: &RedoCopy,
        without_ibd: &[TableWithoutIbd],
    ) -> Result<PrepareReport> {
        let log = redo.dir.join(self.redo_file());
        let (report, creator) = mariadb_backup::apply_log(fs, dir, &log, redo.cp, without_ibd)?;
        redo.check_reached(&log, &report)?;
        let checkpoint_lsn = mariadb_backup::write_prepared_log(fs, dir, report.end_lsn, &creator)?;
        Ok(PrepareReport { checkpoint_lsn, backup_type: self.prepared_type(), ..report })
    }
}

/// MySQL 5.7: `xtrabackup_logfile`.
struct Mysql57Backup;

impl BackupFlavor for Mysql57Backup {
    fn redo_file(&self) -> &'static str {
        COPY_FILE
    }

    fn prepared_type(&self) -> &'static str {
        "full-prepared"
    }

    fn check_redo(&self, fs: &dyn SourceFs, dir: &Path, lsns: Lsns, r: &mut VerifyReport) {
        redo::check_mysql57_redo(fs, dir, self.redo_file(), lsns, r);
    }

    fn apply_redo(
        &self,
        fs: &dyn LocalFs,
        dir: &Path,
        redo: &RedoCopy,
        without_ibd: &[TableWithoutIbd],
    ) -> Result<PrepareReport> {
        let copy = redo.dir.join(self.redo_file());
        let (report, log) = mysql57_backup::apply_copy(fs, dir, &copy, redo.cp, without_ibd)?;
        redo.check_reached(&copy, &report)?;
        // An incremental's replaces the group the base's own prepare wrote.
        let checkpoint_lsn = mysql57_backup::write_group(fs, dir, &log, report.end_lsn, redo.incremental)?;
        if redo.incremental {
            // The base's copy of the redo becomes the last one applied.
            let own = dir.join(self.redo_file());
            fs.replace_durably(&own, &log).map_err(io_err(&own, "replacing"))?;
        }
        Ok(PrepareReport { checkpoint_lsn, backup_type: self.prepared_type(), ..report })
    }
}
