//! MariaDB 10.8-10.11: one `ib_logfile0` in the "Phys" format, copied to the
//! backup's own `ib_logfile0` as mariabackup does; BACKUP STAGE locking; Aria.

use super::{CheckpointInfo, Flavor, RedoContext};
use crate::copy;
use crate::error::{BackupError, Result};
use crate::follow::RedoFollower;
use crate::follow108::{read_header108, Follower108, Follower108Parts};
use crate::io::{EntryKind, ReadPolicy, SourceFs};
use crate::meta;
use crate::server::{LockStep, ServerVars, TablespaceDictionary};
use std::path::{Path, PathBuf};

#[derive(Default)]
pub struct MariaDb {
    log_path: PathBuf,
    file_size: u64,
}

const PLAIN: ReadPolicy = ReadPolicy { direct: false, fadvise: false };

impl Flavor for MariaDb {
    fn name(&self) -> &'static str {
        "MariaDB 10.8+"
    }

    fn size_redo_log(&mut self, ctx: &RedoContext) -> Result<String> {
        let log_dir = copy::server_dir(ctx.datadir, ctx.vars.get("innodb_log_group_home_dir"));
        self.log_path = log_dir.join("ib_logfile0");
        let expected = ctx.vars.require_u64("innodb_log_file_size")?;
        let mut f = ctx
            .fs
            .open(&self.log_path, PLAIN)
            .map_err(|e| BackupError::io(&self.log_path, "opening the redo log", e))?;
        self.file_size = f.size().map_err(|e| BackupError::io(&self.log_path, "sizing the redo log", e))?;
        if self.file_size != expected {
            return Err(BackupError::Config(format!(
                "{} is {} bytes but innodb_log_file_size is {expected}: the log is being resized (SET GLOBAL \
                 innodb_log_file_size); wait for the resize to finish and run the backup again",
                self.log_path.display(),
                self.file_size
            )));
        }
        read_header108(&mut *f, &self.log_path)?;
        Ok(format!("redo log {} of {} bytes", self.log_path.display(), self.file_size))
    }

    fn read_checkpoint(&self, ctx: &RedoContext) -> Result<CheckpointInfo> {
        let mut f = ctx
            .fs
            .open(&self.log_path, PLAIN)
            .map_err(|e| BackupError::io(&self.log_path, "opening the redo log", e))?;
        let (_, cp) = read_header108(&mut *f, &self.log_path)?;
        Ok(CheckpointInfo {
            lsn: cp.lsn,
            description: format!("checkpoint at LSN {} (end LSN {})", cp.lsn, cp.end_lsn),
        })
    }

    fn start_follower(&self, ctx: &RedoContext) -> Result<Box<dyn RedoFollower>> {
        let mut source = ctx
            .fs
            .open(&self.log_path, PLAIN)
            .map_err(|e| BackupError::io(&self.log_path, "opening the redo log", e))?;
        let (_, checkpoint) = read_header108(&mut *source, &self.log_path)?;
        let (out, out_path) = super::create_log_copy(ctx, "ib_logfile0")?;
        Ok(Box::new(Follower108::start(Follower108Parts {
            source,
            source_path: self.log_path.clone(),
            source_fs: Some(ctx.fs.clone()),
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

    fn before_copy(&self) -> &'static [LockStep] {
        &[LockStep::StageStart]
    }

    /// Non-InnoDB files are copied under BLOCK_COMMIT, where MyISAM and Aria
    /// writes wait too, so they match the binlog position exactly (mariabackup
    /// copies them under BLOCK_DDL; the MariaDB docs promise DDL blocked there,
    /// not non-transactional writes).
    fn lock_steps(&self) -> &'static [LockStep] {
        &[LockStep::StageFlush, LockStep::StageBlockDdl, LockStep::StageBlockCommit]
    }

    /// mariabackup 10.11 writes no `compact` line.
    fn checkpoints_file(&self, to_lsn: crate::format::Lsn, last_lsn: crate::format::Lsn) -> String {
        format!(
            "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = {to_lsn}\nlast_lsn = {last_lsn}\nrecover_binlog_info = 0\n"
        )
    }

    fn tablespace_dictionary(&self) -> TablespaceDictionary {
        TablespaceDictionary::MariaDb
    }

    fn unlock_statement(&self) -> &'static str {
        "BACKUP STAGE END"
    }

    fn backup_my_cnf(&self, vars: &ServerVars) -> String {
        meta::backup_my_cnf_mariadb(vars)
    }

    /// Aria's control file and logs live at the top of the datadir.
    fn top_level_files(&self, fs: &dyn SourceFs, datadir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
        let entries = fs.list(datadir).map_err(|e| BackupError::io(datadir, "listing the data directory", e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::File && (e.name == "aria_log_control" || e.name.starts_with("aria_log.")))
            .map(|e| (datadir.join(&e.name), PathBuf::from(e.name)))
            .collect())
    }
}
