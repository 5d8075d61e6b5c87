//! MySQL 5.7 (XtraBackup 2.4's reference run): a ring of ib_logfileN,
//! `xtrabackup_logfile`, FTWRL.

use super::{CheckpointInfo, Flavor, GtidSource, LockStep, RedoContext, RedoLog, TablespaceDictionary};
use crate::copy;
use crate::error::{BackupError, Result};
use crate::follow::mysql57::{read_stable_header, Mysql57Follower, Mysql57FollowerParts};
use crate::follow::RedoFollower;
use crate::format::mysql57::{self, RingGeometry};
use crate::io::{EntryKind, ReadPolicy, SourceFs};
use crate::meta;
use crate::server::{LogWrittenProbe, ServerPlugin, ServerVars};
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, Copy)]
pub struct Mysql57;

const PLAIN: ReadPolicy = ReadPolicy { direct: false, fadvise: false };

/// The ring as phase 6 found it.
struct Ring57 {
    geometry: RingGeometry,
    paths: Vec<PathBuf>,
}

impl Ring57 {
    fn read_header(&self, ctx: &RedoContext) -> Result<(Vec<u8>, mysql57::Checkpoint)> {
        let path = &self.paths[0];
        let mut f = ctx.fs.open(path, PLAIN).map_err(|e| BackupError::io(path, "opening the redo log", e))?;
        read_stable_header(&mut *f, path)
    }
}

impl RedoLog for Ring57 {
    fn describe(&self) -> String {
        format!("{} redo log files of {} bytes", self.geometry.files, self.geometry.file_size)
    }

    fn read_checkpoint(&self, ctx: &RedoContext) -> Result<CheckpointInfo> {
        let (_, cp) = self.read_header(ctx)?;
        Ok(CheckpointInfo {
            lsn: cp.lsn,
            description: format!("checkpoint no {} at LSN {} (group offset {})", cp.no, cp.lsn, cp.offset),
        })
    }

    /// 5.7's 512-byte blocks carry their own checksum, number and data length,
    /// so a block caught mid-write fails its checksum and is read again: no probe needed.
    fn start_follower(
        &self,
        ctx: &RedoContext,
        _probe: Option<Box<dyn LogWrittenProbe>>,
    ) -> Result<Box<dyn RedoFollower>> {
        let (header, checkpoint) = self.read_header(ctx)?;
        let mut files = Vec::new();
        for path in &self.paths {
            files.push(ctx.fs.open(path, PLAIN).map_err(|e| BackupError::io(path, "opening the redo log", e))?);
        }
        let (out, out_path) = super::create_log_copy(ctx, "xtrabackup_logfile")?;
        let (y, mo, d, h, mi, s) = crate::timefmt::civil(ctx.clock.unix_seconds());
        Ok(Box::new(Mysql57Follower::start(Mysql57FollowerParts {
            files,
            file_paths: self.paths.clone(),
            geometry: self.geometry,
            checkpoint,
            header,
            creator: mysql57::xtrabackup_creator(y, mo, d, h, mi, s),
            out,
            out_path,
            read_step: ctx.read_step,
            progress: ctx.progress.clone(),
            clock: ctx.clock.clone(),
            index_loads_flushed_below: ctx.server_lsn_before_copy,
        })?))
    }
}

impl Flavor for Mysql57 {
    fn history_table(&self) -> crate::server::HistoryTable {
        crate::server::HistoryTable::Percona
    }
    fn name(&self) -> &'static str {
        "MySQL 5.7"
    }

    fn has_all_slaves_status(&self) -> bool {
        false
    }

    fn reported_variables(&self) -> &'static [&'static str] {
        &[
            "innodb_data_home_dir",
            "innodb_data_file_path",
            "innodb_log_group_home_dir",
            "innodb_log_files_in_group",
            "innodb_log_file_size",
            "innodb_page_size",
            "innodb_undo_tablespaces",
        ]
    }

    fn open_redo_log(&self, ctx: &RedoContext) -> Result<Box<dyn RedoLog>> {
        let files = ctx.vars.require_u64("innodb_log_files_in_group")? as u32;
        let size = ctx.vars.require_u64("innodb_log_file_size")?;
        let log_dir = copy::server_dir(ctx.datadir, ctx.vars.get("innodb_log_group_home_dir"));
        let geometry = RingGeometry::new(files, size)
            .map_err(|source| BackupError::Format { path: log_dir.join("ib_logfile0"), source })?;
        let paths: Vec<PathBuf> = (0..files).map(|i| log_dir.join(format!("ib_logfile{i}"))).collect();
        for path in &paths {
            let mut f = ctx.fs.open(path, PLAIN).map_err(|e| BackupError::io(path, "opening the redo log", e))?;
            let actual = f.size().map_err(|e| BackupError::io(path, "sizing the redo log", e))?;
            if actual != size {
                return Err(BackupError::Config(format!(
                    "{} is {actual} bytes but innodb_log_file_size is {size}: the server's settings and files disagree",
                    path.display()
                )));
            }
        }
        Ok(Box::new(Ring57 { geometry, paths }))
    }

    fn lock_steps(&self) -> &'static [LockStep] {
        &[LockStep::LongLockWait, LockStep::FlushTables, LockStep::ReadLock]
    }

    fn recovery_extends_files(&self) -> bool {
        false
    }

    /// FTWRL blocks commits at once: copy the non-InnoDB files before it.
    fn copies_non_innodb_before_lock(&self) -> bool {
        true
    }

    fn gtid_source(&self) -> GtidSource {
        GtidSource::MasterStatusColumn("Executed_Gtid_Set")
    }

    fn tablespace_dictionary(&self) -> TablespaceDictionary {
        TablespaceDictionary::Mysql57
    }

    fn unlock_statement(&self) -> &'static str {
        "UNLOCK TABLES"
    }

    fn backup_my_cnf(&self, vars: &ServerVars, _plugins: &[ServerPlugin]) -> String {
        meta::backup_my_cnf_57(vars)
    }

    /// The links of general tablespaces outside the datadir (`ts.isl`, beside
    /// which the tablespace is stored in the backup, so a restore can put it
    /// back), and `ib_buffer_pool` (the buffer pool dump a restored server
    /// warms up from), both at the top of the datadir.
    fn top_level_files(
        &self,
        fs: &dyn SourceFs,
        datadir: &Path,
        _vars: &ServerVars,
    ) -> Result<Vec<(PathBuf, PathBuf)>> {
        let entries = fs.list(datadir).map_err(|e| BackupError::io(datadir, "listing the data directory", e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::File && (e.name == "ib_buffer_pool" || e.name.ends_with(".isl")))
            .map(|e| (datadir.join(&e.name), PathBuf::from(e.name)))
            .collect())
    }
}
