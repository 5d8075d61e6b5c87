//! Planned faults: a target file that cannot be created (ENOSPC), a server
//! call that fails. Issue-3 scenarios build on these wrappers.

use innohot::format::Lsn;
use innohot::io::{TargetDir, TargetFile};
use innohot::server::{BinlogPos, LockStep, ServerControl, ServerError, ServerVars};
use std::io;
use std::path::Path;

/// Which server call fails (the connection "goes away" at that point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerCall {
    Variables,
    Lock(LockStep),
    Unlock,
    BinlogPosition,
    FlushEngineLogs,
    CurrentLsn,
    Uuid,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Creating this file in the backup fails with ENOSPC.
    pub target_create_enospc: Option<String>,
    /// This server call fails as a lost connection.
    pub server_call: Option<ServerCall>,
}

pub struct FaultyTarget<T: TargetDir> {
    pub inner: T,
    pub enospc_on: Option<String>,
}

impl<T: TargetDir> TargetDir for FaultyTarget<T> {
    fn create_dir_all(&self, rel: &Path) -> io::Result<()> {
        self.inner.create_dir_all(rel)
    }
    fn create_file(&self, rel: &Path) -> io::Result<Box<dyn TargetFile>> {
        if self.enospc_on.as_deref().is_some_and(|n| Path::new(n) == rel) {
            return Err(io::Error::from_raw_os_error(libc_enospc()));
        }
        self.inner.create_file(rel)
    }
    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        self.inner.remove_file(rel)
    }
    fn publish(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.publish(from, to)
    }
    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        self.inner.sync_dir(rel)
    }
    fn root(&self) -> &Path {
        self.inner.root()
    }
}

/// ENOSPC on Linux.
fn libc_enospc() -> i32 {
    28
}

pub struct FaultyControl<C: ServerControl> {
    pub inner: C,
    pub fail: Option<ServerCall>,
}

impl<C: ServerControl> FaultyControl<C> {
    fn check(&self, call: ServerCall) -> Result<(), ServerError> {
        if self.fail == Some(call) {
            return Err(ServerError::Connection(format!("simulated: the connection went away during {call:?}")));
        }
        Ok(())
    }
}

impl<C: ServerControl> ServerControl for FaultyControl<C> {
    fn variables(&mut self) -> Result<ServerVars, ServerError> {
        self.check(ServerCall::Variables)?;
        self.inner.variables()
    }
    fn lock(&mut self, step: LockStep) -> Result<(), ServerError> {
        self.check(ServerCall::Lock(step))?;
        self.inner.lock(step)
    }
    fn unlock(&mut self) -> Result<(), ServerError> {
        // A lost connection releases the server's lock: model that, then fail.
        if self.fail == Some(ServerCall::Unlock) {
            let _ = self.inner.unlock();
        }
        self.check(ServerCall::Unlock)?;
        self.inner.unlock()
    }
    fn binlog_position(&mut self) -> Result<Option<BinlogPos>, ServerError> {
        self.check(ServerCall::BinlogPosition)?;
        self.inner.binlog_position()
    }
    fn flush_engine_logs(&mut self) -> Result<(), ServerError> {
        self.check(ServerCall::FlushEngineLogs)?;
        self.inner.flush_engine_logs()
    }
    fn current_lsn(&mut self) -> Result<Lsn, ServerError> {
        self.check(ServerCall::CurrentLsn)?;
        self.inner.current_lsn()
    }
    fn uuid(&mut self) -> Result<String, ServerError> {
        self.check(ServerCall::Uuid)?;
        self.inner.uuid()
    }
}
