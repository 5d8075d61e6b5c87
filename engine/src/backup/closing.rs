//! Phases 16-25, under the lock and after it: the binlog position, the last
//! redo pass and what it must reach, the metadata files, the release, and
//! last the publication that makes the backup complete.

use super::stage::Copying;
use super::{witness, Backup, Next, Summary};
use crate::error::{BackupError, Result};
use crate::events::{emit, EventKind, Phase, Role};
use crate::follow::RedoFollower;
use crate::meta;
use std::path::Path;
use std::time::Duration;

/// How long the last pass waits for the server to write the redo up to its LSN under the lock.
const REDO_WRITE_WAIT_LIMIT: Duration = Duration::from_secs(10);
/// Between two looks at the log while waiting for it.
const REDO_WRITE_POLL: Duration = Duration::from_millis(10);

impl Backup {
    pub(super) fn binlog_position(&mut self, copying: &Copying) -> Result<Next> {
        let phase = Phase::BinlogPosition;
        self.begin(phase);
        if std::mem::take(&mut self.lock_wait_set) {
            // Locked: what follows may take its time, as mariabackup lets it.
            self.statement(phase, "SET SESSION lock_wait_timeout=31536000");
            self.svc.server.set_lock_wait_timeout(31_536_000)?;
        }
        if self.opts.slave_info {
            self.slave_info(phase)?;
        }
        if self.opts.galera_info {
            self.galera_info(phase)?;
        }
        self.statement(phase, "SHOW MASTER STATUS");
        self.binlog = self.svc.server.binlog_position(copying.conn().flavor.gtid_source())?;
        if let Some(text) = self.binlog.as_ref().map(meta::binlog_info) {
            self.write_meta_under_lock(phase, meta::BINLOG_INFO_FILE, text)?;
        }
        self.advance(Phase::FlushRedo)
    }

    /// `--slave-info`, under the lock (commits blocked, so the replica's
    /// executed position stands still): `xtrabackup_slave_info` and the line
    /// mariabackup logs, or its notice that the server is no replica.
    fn slave_info(&mut self, phase: Phase) -> Result<()> {
        self.statement(phase, "SHOW ALL SLAVES STATUS");
        let status = self.svc.server.replica_status()?;
        let line = match meta::slave_info(&status) {
            Some((text, line)) => {
                self.write_meta_under_lock(phase, meta::SLAVE_INFO_FILE, text)?;
                line
            }
            None => meta::NOT_A_REPLICA.to_string(),
        };
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::ToolLine(line));
        Ok(())
    }

    /// `--galera-info`, under the lock (commits blocked, so the node's last
    /// committed seqno stands still).
    fn galera_info(&mut self, phase: Phase) -> Result<()> {
        self.statement(phase, "SHOW STATUS LIKE 'wsrep%'");
        match self.svc.server.wsrep_state()? {
            Some((uuid, seqno)) => {
                self.write_meta_under_lock(phase, meta::GALERA_INFO_FILE, format!("{uuid}:{seqno}\n"))
            }
            None => {
                let line = EventKind::ToolLine(meta::NOT_A_GALERA_NODE.to_string());
                emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, line);
                Ok(())
            }
        }
    }

    pub(super) fn flush_redo(&mut self) -> Result<Next> {
        let phase = Phase::FlushRedo;
        self.begin(phase);
        self.statement(phase, "SHOW ENGINE INNODB STATUS");
        self.lsn_under_lock = self.svc.server.current_lsn()?;
        self.statement(phase, "FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS");
        match self.svc.server.flush_engine_logs() {
            // Without a lock the flush only hurries the log write that stop_log_copy waits for
            // anyway; a user without RELOAD may back up with --no-lock, as with mariabackup.
            Err(crate::server::ServerError::MissingPrivilege { .. }) if self.opts.no_lock => {
                let text = format!(
                    "FLUSH ENGINE LOGS refused (the backup user has no RELOAD privilege): waiting for the server \
                     to write its log up to LSN {} on its own",
                    self.lsn_under_lock
                );
                self.note(phase, text);
            }
            other => other?,
        }
        self.advance(Phase::LastCheckpoint)
    }

    pub(super) fn last_checkpoint(&mut self, copying: &Copying) -> Result<Next> {
        self.begin(Phase::LastCheckpoint);
        let cp = copying.run.redo_log.read_checkpoint(&self.redo_context(copying.conn()))?;
        self.to_lsn = cp.lsn;
        self.note(Phase::LastCheckpoint, format!("The latest check point (for incremental): '{}'", cp.lsn));
        self.advance(Phase::StopLogCopy)
    }

    /// The last copy pass, under the lock; then what the copy must reach.
    pub(super) fn stop_log_copy(&mut self, copying: &mut Copying) -> Result<Next> {
        self.begin(Phase::StopLogCopy);
        self.note(Phase::StopLogCopy, "Stopping log copying thread");
        let shared = copying.run.follower.clone();
        shared.stop();
        self.redo_file_ops = {
            let mut follower = shared.lock();
            self.wait_for_redo_written(&mut **follower)?;
            follower.poll(true)?;
            self.last_lsn = follower.last_lsn();
            copying.run.start_lsn = follower.start_lsn();
            follower.take_file_ops()
        };
        if self.last_lsn < self.lsn_under_lock {
            return Err(BackupError::RedoCorrupt {
                lsn: self.last_lsn,
                detail: format!(
                    "the redo copy ends at LSN {} but the server was at LSN {} under the lock, and {} s after \
                     FLUSH ENGINE LOGS the file innohot follows still did not hold it: committed transactions \
                     would be missing. Check that innodb_log_group_home_dir names the log the server writes",
                    self.last_lsn,
                    self.lsn_under_lock,
                    REDO_WRITE_WAIT_LIMIT.as_secs()
                ),
            });
        }
        if self.to_lsn > self.last_lsn {
            return Err(BackupError::CheckpointBeyondCopy { checkpoint: self.to_lsn, last_lsn: self.last_lsn });
        }
        debug_assert!(
            copying.run.start_lsn <= self.to_lsn,
            "the checkpoint under the lock (LSN {}) is before the redo copy's start (LSN {})",
            self.to_lsn,
            copying.run.start_lsn
        );
        self.advance(Phase::CheckpointsFile)
    }

    /// FLUSH ENGINE LOGS writes the log on most servers, but not with
    /// innodb_flush_log_at_trx_commit=0, and a loaded machine may delay the
    /// write: follow the log (bounded, on the engine's clock) until it holds
    /// the server's LSN under the lock, as mariabackup waits for its copier.
    fn wait_for_redo_written(&mut self, follower: &mut dyn RedoFollower) -> Result<()> {
        let clock = self.svc.clock.clone();
        let deadline = clock.now() + REDO_WRITE_WAIT_LIMIT;
        let mut said = false;
        loop {
            let report = follower.poll(false)?;
            if report.scanned_lsn >= self.lsn_under_lock || clock.now() >= deadline {
                return Ok(());
            }
            if !said {
                said = true;
                let text = format!("Waiting for log copy thread to read lsn {}", self.lsn_under_lock);
                self.note(Phase::StopLogCopy, text);
            }
            clock.sleep(REDO_WRITE_POLL);
        }
    }

    pub(super) fn checkpoints_file(&mut self, copying: &Copying) -> Result<Next> {
        self.begin(Phase::CheckpointsFile);
        self.checkpoints_written = true;
        let text = copying.conn().flavor.checkpoints_file(self.opts.copy.incremental_from, self.to_lsn, self.last_lsn);
        self.write_meta_under_lock(Phase::CheckpointsFile, meta::CHECKPOINTS_PENDING, text)?;
        self.advance(Phase::Unlock)
    }

    pub(super) fn unlock(&mut self, copying: &Copying) -> Result<Next> {
        self.begin(Phase::Unlock);
        if !self.opts.no_lock {
            self.statement(Phase::Unlock, copying.conn().flavor.unlock_statement());
            self.svc.server.unlock()?;
        }
        self.lock_attempted = false;
        let now = self.svc.clock.now();
        if let Some(t) = self.lock_started.take() {
            self.lock_held = now.saturating_sub(t);
        }
        if let Some(t) = self.ddl_started.take() {
            self.ddl_blocked = now.saturating_sub(t);
        }
        self.note(
            Phase::Unlock,
            format!(
                "commits blocked {:.3} s, DDL blocked {:.3} s",
                self.lock_held.as_secs_f64(),
                self.ddl_blocked.as_secs_f64()
            ),
        );
        self.advance(Phase::Report)
    }

    /// fdatasync of every file written since the last call; returns how many.
    pub(super) fn sync_unsynced(&mut self) -> Result<usize> {
        let unsynced = std::mem::take(&mut self.unsynced);
        for rel in &unsynced {
            let path = self.svc.target.root().join(rel);
            self.svc.target.sync_file(rel).map_err(|e| BackupError::io(path, "fdatasync", e))?;
        }
        Ok(unsynced.len())
    }

    pub(super) fn report(&mut self, copying: &Copying) -> Result<Next> {
        let phase = Phase::Report;
        self.begin(phase);
        let synced = self.sync_unsynced()?;
        self.note(phase, format!("{synced} files written under the lock are durable"));
        // The redo copy and the tables held were final at phase 19: the check
        // needs no lock, so commits do not wait for it.
        let mut ops = std::mem::take(&mut self.redo_file_ops);
        ops.retain(|op| self.opts.filter.holds_tablespace(op.new_name.as_deref().unwrap_or(&op.name)));
        witness::missing_from_redo(&ops, &self.held(&copying.conn().datadir))?;
        if let Some(from) = self.opts.copy.incremental_from {
            let d = self.delta;
            self.note(
                phase,
                format!(
                    "incremental from LSN {from}: {} of {} pages scanned were changed and copied",
                    d.pages_written, d.pages_scanned
                ),
            );
        }
        match &self.binlog {
            Some(pos) => self.note(phase, format!("MySQL binlog position: {}", meta::binlog_pos_text(pos))),
            None => self.note(phase, "binary logging is off: no binlog position recorded"),
        }
        self.advance(Phase::BackupMyCnf)
    }

    pub(super) fn backup_my_cnf(&mut self, copying: &Copying) -> Result<Next> {
        self.begin(Phase::BackupMyCnf);
        let plugins = self.svc.server.loaded_plugins()?;
        let conn = copying.conn();
        let cnf = conn.flavor.backup_my_cnf(&conn.vars, &plugins);
        self.write_meta(Phase::BackupMyCnf, meta::BACKUP_MY_CNF, cnf)?;
        self.advance(Phase::XtrabackupInfo)
    }

    pub(super) fn xtrabackup_info(&mut self, copying: &Copying) -> Result<Next> {
        let phase = Phase::XtrabackupInfo;
        self.begin(phase);
        self.statement(phase, "SELECT UUID()");
        let uuid = self.svc.server.uuid()?;
        let info = meta::BackupInfo {
            uuid,
            name: self.opts.history.clone().unwrap_or_default(),
            tool_command: self.opts.tool_command.clone(),
            tool_name: self.opts.tool_name.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            server_version: copying.conn().vars.version().to_string(),
            start_unix: self.start_unix,
            end_unix: self.svc.clock.unix_seconds(),
            lock_seconds: self.lock_held.as_secs(),
            binlog: self.binlog.clone(),
            from_lsn: self.opts.copy.incremental_from.unwrap_or(0),
            to_lsn: self.to_lsn,
            partial: self.opts.filter.is_partial(),
            streamed: self.svc.target.streams(),
            compressed: self.svc.target.compresses(),
        };
        self.write_meta(phase, meta::INFO_FILE, meta::info(&info))?;
        if let Some(name) = self.opts.history.clone() {
            let table = copying.conn().flavor.history_table();
            self.statement(phase, "INSERT INTO the history table (--history)");
            self.svc.server.record_history(table, &name, &info)?;
        }
        self.advance(Phase::Finish)
    }

    /// Publishes `xtrabackup_checkpoints`: from here on the backup is complete.
    pub(super) fn finish(&mut self, copying: &Copying) -> Result<Next> {
        let start_lsn = copying.run.start_lsn;
        let phase = Phase::Finish;
        self.begin(phase);
        let root = self.svc.target.root().to_path_buf();
        self.svc
            .target
            .publish(Path::new(meta::CHECKPOINTS_PENDING), Path::new(meta::CHECKPOINTS_FILE))
            .map_err(|e| BackupError::io(root.join(meta::CHECKPOINTS_FILE), "publishing", e))?;
        self.note(phase, format!("{} published: the backup is complete", meta::CHECKPOINTS_FILE));
        self.svc
            .target
            .sync_dir(Path::new(""))
            .map_err(|e| BackupError::io(&root, "fsync of the target directory", e))?;
        self.note(phase, format!("Transaction log of lsn ({start_lsn}) to ({}) was copied.", self.last_lsn));
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::Completed);
        Ok(Next::Finished(Summary {
            start_lsn,
            to_lsn: self.to_lsn,
            last_lsn: self.last_lsn,
            binlog: self.binlog.clone(),
            data_files: self.data_files,
            data_bytes: self.data_bytes,
            other_files: self.other_count,
            redo_bytes: self.last_lsn - start_lsn,
            lock_held: self.lock_held,
            ddl_blocked: self.ddl_blocked,
            delta: self.opts.copy.incremental_from.map(|_| self.delta),
        }))
    }
}
