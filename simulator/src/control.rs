//! The simulated server's control plane: what `innohot` asks over SQL.
//!
//! Locks as the servers have them: MySQL 5.7's FLUSH TABLES WITH READ LOCK
//! blocks DDL, commits and non-InnoDB writes at once; MariaDB's BACKUP STAGE
//! blocks DDL and writes to non-transactional user tables from BLOCK_DDL on
//! (FLUSH stops new ones, BLOCK_DDL drains the running ones: the model takes
//! the later, guaranteed point), and commits and the statistics and log
//! tables from BLOCK_COMMIT on; BACKUP STAGE END (and a closed connection)
//! releases all.

use crate::server::SimServer;
use innohot::format::Lsn;
use innohot::server::{
    BinlogPos, GtidSource, LoadProbe, LockStep, LogWrittenProbe, ServerControl, ServerError, ServerPlugin,
    ServerTablespace, ServerVars, TablespaceDictionary,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The log copier's own line to the simulated server: `Innodb_lsn_flushed`,
/// as the server last published it.
pub struct SimLogProbe {
    pub flushed: Arc<AtomicU64>,
}

impl LogWrittenProbe for SimLogProbe {
    fn status_lsn(&mut self, variable: &str) -> Result<Lsn, ServerError> {
        assert_eq!(variable, innohot::follow::mariadb::LOG_WRITTEN_STATUS, "the only LSN the server publishes");
        Ok(self.flushed.load(Ordering::SeqCst))
    }
}

/// What the simulated server has done: one row operation per action, and
/// sessions running while it still has actions to make.
#[derive(Debug)]
pub struct SimLoad {
    pub rows: AtomicU64,
    pub running: AtomicU64,
}

impl Default for SimLoad {
    fn default() -> Self {
        SimLoad { rows: AtomicU64::new(0), running: AtomicU64::new(4) }
    }
}

/// `--throttle=auto`'s line to the simulated server.
pub struct SimLoadProbe {
    pub load: Arc<SimLoad>,
}

impl LoadProbe for SimLoadProbe {
    fn load(&mut self) -> Result<innohot::copy::Load, ServerError> {
        let (rows, running) = (self.load.rows.load(Ordering::SeqCst), self.load.running.load(Ordering::SeqCst));
        Ok(innohot::copy::Load { rows, running })
    }
}

pub struct SimControl {
    pub server: Rc<RefCell<SimServer>>,
}

impl ServerControl for SimControl {
    fn variables(&mut self) -> Result<ServerVars, ServerError> {
        Ok(ServerVars(self.server.borrow().variables()))
    }
    fn lock(&mut self, step: LockStep) -> Result<(), ServerError> {
        let mut s = self.server.borrow_mut();
        match step {
            LockStep::LongLockWait | LockStep::FlushTables | LockStep::StageFlush => {}
            LockStep::StageStart => s.backup_stage = true,
            LockStep::StageBlockDdl => {
                s.ddl_blocked = true;
                s.non_trans_blocked = true;
            }
            LockStep::ReadLock | LockStep::StageBlockCommit => {
                s.ddl_blocked = true;
                s.non_trans_blocked = true;
                s.commits_blocked = true;
                // From here on the non-InnoDB files and the binlog stand still:
                // what the backup copies next must be exactly this.
                let snapshot = crate::datadir::snapshot_non_innodb(&s.paths.real_datadir, s.cfg.flavor);
                let gtid = s.gtid_set();
                let pos = (s.binlog.file.clone(), s.binlog.position, gtid);
                s.truth.non_innodb_at_lock = snapshot;
                s.truth.binlog_at_lock = Some(pos);
                let seq = s.seq;
                s.truth.lock_seq = seq;
            }
        }
        Ok(())
    }
    fn unlock(&mut self) -> Result<(), ServerError> {
        self.server.borrow_mut().release_locks();
        Ok(())
    }
    fn binlog_position(&mut self, _gtid: GtidSource) -> Result<Option<BinlogPos>, ServerError> {
        let s = self.server.borrow();
        Ok(Some(BinlogPos { file: s.binlog.file.clone(), position: s.binlog.position, gtid: s.gtid_set() }))
    }
    fn flush_engine_logs(&mut self) -> Result<(), ServerError> {
        self.server.borrow_mut().flush_log();
        Ok(())
    }
    fn checkpoint_now(&mut self) -> Result<(), ServerError> {
        self.server.borrow_mut().checkpoint_now();
        Ok(())
    }
    /// The simulated server keeps no SQL tables; no simulated backup asks for this.
    fn record_history(
        &mut self,
        _table: innohot::server::HistoryTable,
        _name: &str,
        _info: &innohot::meta::BackupInfo,
    ) -> Result<(), ServerError> {
        Err(ServerError::Unexpected {
            statement: "INSERT INTO mysql.mariadb_backup_history".into(),
            detail: "the simulated server has no history table".into(),
        })
    }
    fn current_lsn(&mut self) -> Result<Lsn, ServerError> {
        let mut s = self.server.borrow_mut();
        let lsn = s.lsn();
        s.truth.last_lsn_answered = lsn;
        Ok(lsn)
    }
    fn last_checkpoint_lsn(&mut self) -> Result<Lsn, ServerError> {
        Ok(self.server.borrow().checkpoint_lsn())
    }
    fn uuid(&mut self) -> Result<String, ServerError> {
        Ok(self.server.borrow_mut().new_uuid())
    }
    fn tablespaces(&mut self, _dictionary: TablespaceDictionary) -> Result<Option<Vec<ServerTablespace>>, ServerError> {
        Ok(Some(self.server.borrow().dictionary()))
    }
    fn loaded_plugins(&mut self) -> Result<Vec<ServerPlugin>, ServerError> {
        Ok(Vec::new())
    }
}

/// A backup process that dies closes its connection: the server drops its locks.
impl Drop for SimControl {
    fn drop(&mut self) {
        if let Ok(mut s) = self.server.try_borrow_mut() {
            s.release_locks();
        }
    }
}
