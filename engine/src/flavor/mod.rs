//! What differs between the servers innohot backs up, behind one trait: the
//! redo log and its follower, the lock statements, the metadata details. The
//! orchestrator (`backup/`) runs the same phases for every flavor.

mod lock;
mod mariadb;
pub(crate) use mariadb::NON_INNODB_EXTENSIONS as MARIADB_NON_INNODB_EXTENSIONS;
mod mysql57;

pub use lock::{GtidSource, LockStep, TablespaceDictionary};
pub use mariadb::MariaDb;
pub use mysql57::Mysql57;

use crate::error::{BackupError, Result};
use crate::events::Progress;
use crate::follow::RedoFollower;
use crate::format::page::PageLayout;
use crate::format::Lsn;
use crate::io::{Clock, SourceFs, TargetDir};
use crate::server::{LogWrittenProbe, ServerPlugin, ServerVars};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a flavor needs to find and follow the redo log.
pub struct RedoContext<'a> {
    pub fs: Arc<dyn SourceFs>,
    pub target: &'a dyn TargetDir,
    pub vars: &'a ServerVars,
    pub datadir: &'a Path,
    pub read_step: usize,
    pub progress: Arc<dyn Progress>,
    pub clock: Arc<dyn Clock>,
    /// The server's LSN read before any data file was copied (0: unknown).
    /// A 5.7 index built without redo below it was flushed before the copy.
    pub server_lsn_before_copy: Lsn,
}

/// The newest checkpoint, as the trace reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInfo {
    pub lsn: Lsn,
    pub description: String,
}

/// The server's redo log as phase 6 found it: its files and geometry,
/// checked once, then read by phases 7, 8 and 18.
pub trait RedoLog: Send {
    /// Phase 6's line for the trace.
    fn describe(&self) -> String;
    /// Phases 7 and 18: the newest checkpoint in the server's log header.
    fn read_checkpoint(&self, ctx: &RedoContext) -> Result<CheckpointInfo>;
    /// Phase 8: creates the backup's copy of the log and the follower that fills it.
    /// `probe`: where the server says its log is written up to, for a follower
    /// that must not trust the file's tail (MariaDB's).
    fn start_follower(
        &self,
        ctx: &RedoContext,
        probe: Option<Box<dyn LogWrittenProbe>>,
    ) -> Result<Box<dyn RedoFollower>>;
}

/// Everything that differs between the servers innohot backs up. The
/// orchestrator asks these questions and runs the same phases for all.
pub trait Flavor: Send {
    fn name(&self) -> &'static str;
    /// Server variables phase 5 reports: what a reader of the log needs to
    /// judge the backup (this flavor's InnoDB file and log settings).
    fn reported_variables(&self) -> &'static [&'static str];
    /// Phase 6: finds the redo log and checks its files.
    fn open_redo_log(&self, ctx: &RedoContext) -> Result<Box<dyn RedoLog>>;
    /// The page layout of a tablespace whose page 0 is not written yet.
    fn new_file_layout(&self, vars: &ServerVars) -> Result<PageLayout> {
        let size = vars.require_u64("innodb_page_size")?;
        match size {
            4096 | 8192 | 16384 | 32768 | 65536 => {
                Ok(PageLayout::for_new_file(size as usize, vars.get("innodb_checksum_algorithm")))
            }
            _ => Err(BackupError::Unsupported(format!("innodb_page_size = {size} is not a size InnoDB writes"))),
        }
    }
    /// Where `--history` writes: the table this flavor's peer tool keeps.
    fn history_table(&self) -> crate::server::HistoryTable;
    /// `--slave-info` reads `SHOW ALL SLAVES STATUS` (MariaDB); MySQL 5.7 has none.
    fn has_all_slaves_status(&self) -> bool {
        true
    }
    /// Statements before InnoDB files are copied (MariaDB: BACKUP STAGE START).
    fn before_copy(&self) -> &'static [LockStep] {
        &[]
    }
    /// Phase 14: after these, DDL waits, so the set of tables is stable, and
    /// the non-InnoDB files are stable except those `written_until_commit_lock`.
    fn lock_steps(&self) -> &'static [LockStep];
    /// Phase 15, once every file that only needs DDL blocked is copied: the
    /// steps that block commits (MariaDB: BLOCK_COMMIT). None where phase 14's
    /// steps already block them (MySQL 5.7's FTWRL).
    fn commit_lock_steps(&self) -> &'static [LockStep] {
        &[]
    }
    /// Whether the non-InnoDB files are copied before the lock (phase 13), and
    /// under it only those that changed since (`backup/precopy.rs`): where the
    /// lock that blocks DDL blocks commits too (MySQL 5.7's FTWRL), so that
    /// commits do not wait for a copy of every `.frm`.
    /// Whether the server's crash recovery (and so a prepare that works like
    /// it) extends a tablespace file that a redo record reaches beyond. MySQL
    /// 5.7's does not ("page ... outside the tablespace bounds"), so a
    /// tablespace that grew after its copy must be copied again under the lock.
    fn recovery_extends_files(&self) -> bool {
        true
    }

    fn copies_non_innodb_before_lock(&self) -> bool {
        false
    }
    /// A non-InnoDB file (relative to the datadir) the server may still write
    /// after phase 14 and until `commit_lock_steps`: copied after them.
    fn written_until_commit_lock(&self, _rel: &Path) -> bool {
        false
    }
    /// Where the binlog position's GTID comes from.
    fn gtid_source(&self) -> GtidSource;
    /// Where the server lists its tablespaces, for the lock-time cross-check.
    fn tablespace_dictionary(&self) -> TablespaceDictionary;
    /// The statement that releases everything, for the trace (the server
    /// client runs the release of the step that took the lock).
    fn unlock_statement(&self) -> &'static str;
    /// Extensions of the files of non-InnoDB tables, copied under the lock.
    fn non_innodb_extensions(&self) -> &'static [&'static str] {
        crate::copy::NON_INNODB_EXTENSIONS
    }
    /// `xtrabackup_checkpoints` as this flavor's peer writes it.
    fn checkpoints_file(&self, from_lsn: Option<Lsn>, to_lsn: Lsn, last_lsn: Lsn) -> String {
        crate::meta::checkpoints_from(from_lsn, to_lsn, last_lsn)
    }
    /// `backup-my.cnf`: what prepare needs to read the copy (`plugins`: what
    /// the server has loaded).
    fn backup_my_cnf(&self, vars: &ServerVars, plugins: &[ServerPlugin]) -> String;
    /// Non-InnoDB files outside the schema directories (MariaDB's Aria logs), copied under the
    /// lock, each with the name the backup stores it under (at its top).
    fn top_level_files(
        &self,
        _fs: &dyn SourceFs,
        _datadir: &Path,
        _vars: &ServerVars,
    ) -> Result<Vec<(PathBuf, PathBuf)>> {
        Ok(Vec::new())
    }
}

/// Creates the backup's copy of the redo log (`name` at the target's top).
fn create_log_copy(ctx: &RedoContext, name: &str) -> Result<(Box<dyn crate::io::TargetFile>, PathBuf)> {
    let out_path = ctx.target.root().join(name);
    let out = ctx.target.create_file(Path::new(name)).map_err(|e| BackupError::io(&out_path, "creating", e))?;
    Ok((out, out_path))
}

/// (major, minor) from a version string such as "10.11.14-MariaDB-0+deb12u2-log".
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut it = version.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Picks the flavor from `SHOW VARIABLES`; anything innohot cannot back up
/// correctly is refused here, naming what was found.
pub fn detect(vars: &ServerVars) -> Result<Box<dyn Flavor>> {
    let version = vars.version();
    let is_mariadb = version.contains("MariaDB");
    match (is_mariadb, major_minor(version)) {
        (false, Some((5, 7))) => Ok(Box::new(Mysql57)),
        (true, Some((major, minor))) if (major, minor) >= (10, 8) && major < 11 => Ok(Box::new(MariaDb)),
        (true, Some((major, minor))) if (major, minor) < (10, 8) => Err(BackupError::Unsupported(format!(
            "MariaDB {version}: before 10.8 the redo log has another format; innohot backs up MariaDB 10.8 to 10.11 \
             (use mariabackup of the same version for this server)"
        ))),
        (true, _) => Err(BackupError::Unsupported(format!(
            "MariaDB {version}: innohot is tested against 10.11; newer releases may change the redo log \
             (use mariabackup of the same version for this server)"
        ))),
        (false, Some((8, _))) | (false, Some((9, _))) => Err(BackupError::Unsupported(format!(
            "MySQL {version}: MySQL 8.0+ writes another redo format; innohot backs up MySQL 5.7 and MariaDB 10.8-10.11 \
             (use Percona XtraBackup 8.0 for this server)"
        ))),
        _ => Err(BackupError::Unsupported(format!(
            "server version '{version}': innohot backs up MySQL 5.7 and MariaDB 10.8-10.11"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(version: &str) -> ServerVars {
        ServerVars([("version".to_string(), version.to_string())].into_iter().collect())
    }

    #[test]
    fn detects_what_it_can_back_up_and_names_what_it_cannot() {
        assert_eq!(detect(&vars("5.7.17-log")).unwrap().name(), "MySQL 5.7");
        assert_eq!(detect(&vars("10.11.14-MariaDB-0+deb12u2-log")).unwrap().name(), "MariaDB 10.8+");
        for (v, says) in [
            ("8.0.36", "MySQL 8.0+"),
            ("10.6.16-MariaDB", "before 10.8"),
            ("11.4.2-MariaDB", "tested against 10.11"),
            ("5.6.51", "innohot backs up MySQL 5.7"),
        ] {
            let e = detect(&vars(v)).err().expect(v).to_string();
            assert!(e.contains(says) && e.contains(v), "{v}: {e}");
        }
    }
}
