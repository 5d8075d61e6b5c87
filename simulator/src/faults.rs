//! Planned faults: the file-system ones through the engine's wrappers
//! (`innohot::io::faulty`), the control plane's here. Each wrapper records
//! when its fault fires, so the oracle knows whether a failure was called for.

use innohot::format::Lsn;
use innohot::io::faulty::TargetFaults;
pub use innohot::io::faulty::{FaultySourceFs, FaultyTarget, FiredLog, SourceOps};
use innohot::server::{
    BinlogPos, GtidSource, LockStep, ServerControl, ServerError, ServerPlugin, ServerTablespace, ServerVars,
    TablespaceDictionary,
};
use std::fmt;
use std::str::FromStr;

/// The errno of the planned I/O faults.
pub const EIO: i32 = 5;
pub const ENOSPC: i32 = 28;

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
    Tablespaces,
    Plugins,
}

pub const SERVER_CALLS: [ServerCall; 11] = [
    ServerCall::Variables,
    ServerCall::CurrentLsn,
    ServerCall::Lock(LockStep::LongLockWait),
    ServerCall::Lock(LockStep::FlushTables),
    ServerCall::Lock(LockStep::ReadLock),
    ServerCall::BinlogPosition,
    ServerCall::FlushEngineLogs,
    ServerCall::Unlock,
    ServerCall::Uuid,
    ServerCall::Tablespaces,
    ServerCall::Plugins,
];

/// The calls a MariaDB backup makes (BACKUP STAGE instead of the read lock).
pub const SERVER_CALLS_MARIADB: [ServerCall; 11] = [
    ServerCall::Variables,
    ServerCall::CurrentLsn,
    ServerCall::Lock(LockStep::StageStart),
    ServerCall::Lock(LockStep::StageFlush),
    ServerCall::Lock(LockStep::StageBlockDdl),
    ServerCall::Lock(LockStep::StageBlockCommit),
    ServerCall::BinlogPosition,
    ServerCall::FlushEngineLogs,
    ServerCall::Unlock,
    ServerCall::Uuid,
    ServerCall::Tablespaces,
];

impl fmt::Display for ServerCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerCall::Lock(step) => write!(f, "lock:{step:?}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl FromStr for ServerCall {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SERVER_CALLS
            .iter()
            .chain(&SERVER_CALLS_MARIADB)
            .copied()
            .find(|c| c.to_string() == s)
            .ok_or_else(|| format!("unknown server call {s:?}"))
    }
}

/// What goes wrong in a run; `Faults::default()` is nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Creating this backup file fails with ENOSPC.
    pub target_create_enospc: Option<String>,
    /// The n-th write (1-based) to this backup file fails with EIO.
    pub target_write_eio: Option<(String, u32)>,
    /// fdatasync of this backup file fails with EIO.
    pub target_sync_eio: Option<String>,
    /// The n-th read (1-based) of a source file whose path ends with this fails with EIO.
    pub source_read_eio: Option<(String, u32)>,
    /// This server call fails as a lost connection.
    pub server_call: Option<ServerCall>,
    /// The backup process is killed before its n-th step (1-based).
    pub kill_before_step: Option<u64>,
}

impl Faults {
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }

    /// The target's part of the plan, for the engine's `FaultyTarget`.
    pub fn target_faults(&self) -> TargetFaults {
        TargetFaults {
            create_enospc: self.target_create_enospc.clone(),
            write_eio: self.target_write_eio.clone(),
            sync_eio: self.target_sync_eio.clone(),
        }
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = &self.target_create_enospc {
            parts.push(format!("target_create_enospc={n}"));
        }
        if let Some((n, k)) = &self.target_write_eio {
            parts.push(format!("target_write_eio={n}@{k}"));
        }
        if let Some(n) = &self.target_sync_eio {
            parts.push(format!("target_sync_eio={n}"));
        }
        if let Some((n, k)) = &self.source_read_eio {
            parts.push(format!("source_read_eio={n}@{k}"));
        }
        if let Some(c) = &self.server_call {
            parts.push(format!("server_call={c}"));
        }
        if let Some(k) = &self.kill_before_step {
            parts.push(format!("kill_before_step={k}"));
        }
        write!(f, "{}", parts.join(" "))
    }
}

fn name_at(v: &str) -> Result<(String, u32), String> {
    let (n, k) = v.rsplit_once('@').ok_or_else(|| format!("{v:?}: expected NAME@N"))?;
    Ok((n.to_string(), k.parse().map_err(|_| format!("{v:?}: N is not a number"))?))
}

impl Faults {
    /// Takes one `key=value` token; false if the key is not a fault.
    pub fn set(&mut self, key: &str, v: &str) -> Result<bool, String> {
        match key {
            "target_create_enospc" => self.target_create_enospc = Some(v.to_string()),
            "target_write_eio" => self.target_write_eio = Some(name_at(v)?),
            "target_sync_eio" => self.target_sync_eio = Some(v.to_string()),
            "source_read_eio" => self.source_read_eio = Some(name_at(v)?),
            "server_call" => self.server_call = Some(v.parse()?),
            "kill_before_step" => {
                self.kill_before_step = Some(v.parse().map_err(|_| format!("{v:?} is not a number"))?)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn fire(log: &FiredLog, what: String) {
    log.lock().expect("fired log").push(what);
}

pub struct FaultyControl<C: ServerControl> {
    pub inner: C,
    pub fail: Option<ServerCall>,
    pub fired: FiredLog,
    /// Once lost, the connection stays lost.
    pub lost: bool,
}

impl<C: ServerControl> FaultyControl<C> {
    fn check(&mut self, call: ServerCall) -> Result<(), ServerError> {
        if !self.lost && self.fail == Some(call) {
            fire(&self.fired, format!("lost connection at {call}"));
            self.lost = true;
            // The server drops a lost session's locks.
            let _ = self.inner.unlock();
        }
        if self.lost {
            return Err(ServerError::Connection(format!(
                "simulated: the connection went away (at {}); {call} cannot run",
                self.fail.map(|c| c.to_string()).unwrap_or_default()
            )));
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
        self.check(ServerCall::Unlock)?;
        self.inner.unlock()
    }
    fn binlog_position(&mut self, gtid: GtidSource) -> Result<Option<BinlogPos>, ServerError> {
        self.check(ServerCall::BinlogPosition)?;
        self.inner.binlog_position(gtid)
    }
    fn set_lock_wait_timeout(&mut self, seconds: u64) -> Result<(), ServerError> {
        self.inner.set_lock_wait_timeout(seconds)
    }
    fn long_query(&mut self, min_seconds: u64, all: bool) -> Result<Option<String>, ServerError> {
        self.inner.long_query(min_seconds, all)
    }
    fn replica_status(&mut self) -> Result<innohot::server::ReplicaStatus, ServerError> {
        self.check(ServerCall::BinlogPosition)?;
        self.inner.replica_status()
    }
    fn flush_engine_logs(&mut self) -> Result<(), ServerError> {
        self.check(ServerCall::FlushEngineLogs)?;
        self.inner.flush_engine_logs()
    }
    // No simulated backup asks for it (no fault drawn for it): passed through.
    fn checkpoint_now(&mut self) -> Result<(), ServerError> {
        self.inner.checkpoint_now()
    }
    fn record_history(
        &mut self,
        table: innohot::server::HistoryTable,
        name: &str,
        info: &innohot::meta::BackupInfo,
    ) -> Result<(), ServerError> {
        self.inner.record_history(table, name, info)
    }
    fn current_lsn(&mut self) -> Result<Lsn, ServerError> {
        self.check(ServerCall::CurrentLsn)?;
        self.inner.current_lsn()
    }
    fn last_checkpoint_lsn(&mut self) -> Result<Lsn, ServerError> {
        self.check(ServerCall::CurrentLsn)?;
        self.inner.last_checkpoint_lsn()
    }
    fn uuid(&mut self) -> Result<String, ServerError> {
        self.check(ServerCall::Uuid)?;
        self.inner.uuid()
    }
    fn tablespaces(&mut self, dictionary: TablespaceDictionary) -> Result<Option<Vec<ServerTablespace>>, ServerError> {
        self.check(ServerCall::Tablespaces)?;
        self.inner.tablespaces(dictionary)
    }
    fn loaded_plugins(&mut self) -> Result<Vec<ServerPlugin>, ServerError> {
        self.check(ServerCall::Plugins)?;
        self.inner.loaded_plugins()
    }
}
