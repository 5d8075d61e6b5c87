//! The simulated server's control plane: what `innohot` asks over SQL.

use crate::server::SimServer;
use innohot::format::Lsn;
use innohot::server::{
    BinlogPos, GtidSource, LockStep, ServerControl, ServerError, ServerPlugin, ServerTablespace, ServerVars,
    TablespaceDictionary,
};
use std::cell::RefCell;
use std::rc::Rc;

pub struct SimControl {
    pub server: Rc<RefCell<SimServer>>,
}

impl ServerControl for SimControl {
    fn variables(&mut self) -> Result<ServerVars, ServerError> {
        Ok(ServerVars(self.server.borrow().variables()))
    }
    fn lock(&mut self, step: LockStep) -> Result<(), ServerError> {
        let mut s = self.server.borrow_mut();
        if step == LockStep::ReadLock {
            s.read_locked = true;
            let snapshot = crate::datadir::snapshot_non_innodb(&s.paths.real_datadir);
            let gtid = s.gtid_set();
            let pos = (s.binlog.file.clone(), s.binlog.position, gtid);
            s.truth.non_innodb_at_lock = snapshot;
            s.truth.binlog_at_lock = Some(pos);
            let seq = s.seq;
            s.truth.lock_seq = seq;
        }
        Ok(())
    }
    fn unlock(&mut self) -> Result<(), ServerError> {
        self.server.borrow_mut().read_locked = false;
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
    fn current_lsn(&mut self) -> Result<Lsn, ServerError> {
        Ok(self.server.borrow().lsn())
    }
    fn uuid(&mut self) -> Result<String, ServerError> {
        Ok(self.server.borrow_mut().new_uuid())
    }
    fn tablespaces(&mut self, _dictionary: TablespaceDictionary) -> Result<Vec<ServerTablespace>, ServerError> {
        Ok(self.server.borrow().dictionary())
    }
    fn loaded_plugins(&mut self) -> Result<Vec<ServerPlugin>, ServerError> {
        Ok(Vec::new())
    }
}

/// A backup process that dies closes its connection: the server drops its locks.
impl Drop for SimControl {
    fn drop(&mut self) {
        if let Ok(mut s) = self.server.try_borrow_mut() {
            s.read_locked = false;
        }
    }
}
