//! MariaDB 10.8-10.11: one `ib_logfile0` in the "Phys" format, copied to the
//! backup's own `ib_logfile0` as mariabackup does; BACKUP STAGE locking; Aria.

use super::{CheckpointInfo, Flavor, GtidSource, LockStep, RedoContext, RedoLog, TablespaceDictionary};
use crate::copy;
use crate::error::{BackupError, Result};
use crate::follow::mariadb::{read_log_header, MariaDbFollower, MariaDbFollowerParts};
use crate::follow::RedoFollower;
use crate::format::Lsn;
use crate::io::{EntryKind, ReadPolicy, SourceFs};
use crate::meta;
use crate::server::{LogWrittenProbe, ServerPlugin, ServerVars};
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, Copy)]
pub struct MariaDb;

const PLAIN: ReadPolicy = ReadPolicy { direct: false, fadvise: false };

/// Non-InnoDB files: MySQL's list plus Aria's data and index files (also
/// what an incremental's prepare takes over, as mariabackup's does).
pub(crate) const NON_INNODB_EXTENSIONS: &[&str] =
    &["frm", "isl", "MYD", "MYI", "MAD", "MAI", "MRG", "TRG", "TRN", "ARM", "ARZ", "CSM", "CSV", "opt", "par"];

/// Tables of the `mysql` schema the server writes until BLOCK_COMMIT: the
/// engine-independent statistics and the log tables.
const WRITTEN_UNTIL_BLOCK_COMMIT: &[&str] = &["table_stats", "column_stats", "index_stats", "general_log", "slow_log"];

/// `ib_logfile0` as phase 6 found it.
struct MariaDbLog {
    path: PathBuf,
    file_size: u64,
}

impl RedoLog for MariaDbLog {
    fn describe(&self) -> String {
        format!("redo log {} of {} bytes", self.path.display(), self.file_size)
    }

    fn read_checkpoint(&self, ctx: &RedoContext) -> Result<CheckpointInfo> {
        let mut f =
            ctx.fs.open(&self.path, PLAIN).map_err(|e| BackupError::io(&self.path, "opening the redo log", e))?;
        let (_, cp) = read_log_header(&mut *f, &self.path)?;
        Ok(CheckpointInfo {
            lsn: cp.lsn,
            description: format!("checkpoint at LSN {} (end LSN {})", cp.lsn, cp.end_lsn),
        })
    }

    fn start_follower(
        &self,
        ctx: &RedoContext,
        probe: Option<Box<dyn LogWrittenProbe>>,
    ) -> Result<Box<dyn RedoFollower>> {
        let mut source =
            ctx.fs.open(&self.path, PLAIN).map_err(|e| BackupError::io(&self.path, "opening the redo log", e))?;
        let (_, checkpoint) = read_log_header(&mut *source, &self.path)?;
        let (out, out_path) = super::create_log_copy(ctx, "ib_logfile0")?;
        Ok(Box::new(MariaDbFollower::start(MariaDbFollowerParts {
            source,
            source_path: self.path.clone(),
            source_fs: Some(ctx.fs.clone()),
            probe,
            file_size: self.file_size,
            checkpoint,
            server_version: ctx.vars.version().to_string(),
            out,
            out_path,
            read_step: ctx.read_step,
            progress: ctx.progress.clone(),
            clock: ctx.clock.clone(),
        })?))
    }
}

impl Flavor for MariaDb {
    fn history_table(&self) -> crate::server::HistoryTable {
        crate::server::HistoryTable::MariaDb
    }
    fn name(&self) -> &'static str {
        "MariaDB 10.8+"
    }

    fn reported_variables(&self) -> &'static [&'static str] {
        &[
            "innodb_data_home_dir",
            "innodb_data_file_path",
            "innodb_log_group_home_dir",
            "innodb_log_file_size",
            "innodb_page_size",
            "innodb_checksum_algorithm",
            "innodb_undo_tablespaces",
        ]
    }

    fn open_redo_log(&self, ctx: &RedoContext) -> Result<Box<dyn RedoLog>> {
        let path = copy::server_dir(ctx.datadir, ctx.vars.get("innodb_log_group_home_dir")).join("ib_logfile0");
        let expected = ctx.vars.require_u64("innodb_log_file_size")?;
        let mut f = ctx.fs.open(&path, PLAIN).map_err(|e| BackupError::io(&path, "opening the redo log", e))?;
        let file_size = f.size().map_err(|e| BackupError::io(&path, "sizing the redo log", e))?;
        if file_size != expected {
            return Err(BackupError::RedoResizing { path, file_size, setting: expected });
        }
        read_log_header(&mut *f, &path)?;
        Ok(Box::new(MariaDbLog { path, file_size }))
    }

    fn before_copy(&self) -> &'static [LockStep] {
        &[LockStep::StageStart]
    }

    /// FLUSH stops new writes to non-transactional tables (MyISAM, Aria,
    /// CSV, ...) and BLOCK_DDL waits for the running ones and blocks DDL
    /// (server sql/backup.cc; docs "BACKUP STAGE"). From here on only the
    /// statistics and log tables and InnoDB commits still change, so the
    /// rescan, the reconcile and the non-InnoDB copy run here, while commits
    /// go on.
    fn lock_steps(&self) -> &'static [LockStep] {
        &[LockStep::StageFlush, LockStep::StageBlockDdl]
    }

    /// BLOCK_COMMIT: commits, the binary log and the statistics and log
    /// tables stop; what is copied after it matches the binlog position.
    fn commit_lock_steps(&self) -> &'static [LockStep] {
        &[LockStep::StageBlockCommit]
    }

    /// The system tables the server keeps writing until BLOCK_COMMIT (the
    /// docs' "statistics and log tables"), and Aria's control file and log,
    /// which Aria writes for them and for its own checkpoints.
    fn written_until_commit_lock(&self, rel: &Path) -> bool {
        let top = rel.parent().is_none_or(|p| p.as_os_str().is_empty());
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if top {
            return name == "aria_log_control" || name.starts_with("aria_log.");
        }
        let stem = rel.file_stem().and_then(|n| n.to_str()).unwrap_or("");
        let ext = rel.extension().and_then(|n| n.to_str()).unwrap_or("");
        rel.parent() == Some(Path::new("mysql"))
            && WRITTEN_UNTIL_BLOCK_COMMIT.contains(&stem)
            && !matches!(ext, "frm" | "par" | "opt" | "TRG" | "TRN" | "isl")
    }

    fn gtid_source(&self) -> GtidSource {
        GtidSource::Query("SELECT @@gtid_current_pos")
    }

    fn tablespace_dictionary(&self) -> TablespaceDictionary {
        TablespaceDictionary::MariaDb
    }

    fn unlock_statement(&self) -> &'static str {
        "BACKUP STAGE END"
    }

    fn non_innodb_extensions(&self) -> &'static [&'static str] {
        NON_INNODB_EXTENSIONS
    }

    /// mariabackup 10.11 writes no `compact` line.
    fn checkpoints_file(&self, from_lsn: Option<Lsn>, to_lsn: Lsn, last_lsn: Lsn) -> String {
        let head = crate::meta::checkpoints_head(from_lsn);
        format!("{head}to_lsn = {to_lsn}\nlast_lsn = {last_lsn}\nrecover_binlog_info = 0\n")
    }

    /// Prepare must load the compression providers the server had, or it
    /// cannot read PAGE_COMPRESSED pages written with lz4, lzo, lzma, bzip2
    /// or snappy.
    fn backup_my_cnf(&self, vars: &ServerVars, plugins: &[ServerPlugin]) -> String {
        let mut cnf = meta::backup_my_cnf_mariadb(vars);
        let providers: Vec<&ServerPlugin> = plugins.iter().filter(|p| p.name.starts_with("provider_")).collect();
        if !providers.is_empty() {
            cnf.push_str(&meta::plugin_lines(vars.get("plugin_dir").unwrap_or(""), &providers));
        }
        cnf
    }

    /// Aria's control file and logs live at the top of the datadir.
    /// The Aria logs, in `aria_log_dir_path` (the datadir unless set; relative to
    /// it), stored at the backup's top as mariabackup stores them.
    fn top_level_files(&self, fs: &dyn SourceFs, datadir: &Path, vars: &ServerVars) -> Result<Vec<(PathBuf, PathBuf)>> {
        let dir = crate::copy::server_dir(datadir, vars.get("aria_log_dir_path"));
        let entries = fs.list(&dir).map_err(|e| BackupError::io(&dir, "listing the Aria log directory", e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::File && (e.name == "aria_log_control" || e.name.starts_with("aria_log.")))
            .map(|e| (dir.join(&e.name), PathBuf::from(e.name)))
            .collect())
    }
}
