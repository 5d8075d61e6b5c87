//! Everything the engine asks of the server, behind one trait, so the
//! simulator can answer too.

pub mod mysql;

pub use crate::flavor::{GtidSource, LockStep, TablespaceDictionary};
use crate::format::Lsn;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    #[error("cannot reach the server: {0}")]
    Connection(String),
    /// The server answered and refused the login (ERROR 1045).
    #[error(
        "access denied for user '{user}' at {at}: the server was reached but refused the login ({detail}). \
         Check the password (--password=..., INNOHOT_PASSWORD, or password= in the [client] group of \
         --defaults-file) and that this user may connect from this host"
    )]
    AccessDenied { user: String, at: String, detail: String },
    /// Nothing answered where the connection went (no socket file, connection refused, timeout).
    #[error(
        "nothing listens at {at} ({detail}): no server is running there. Start the server, or point innohot at \
         it with --socket=PATH (the server's `socket` variable) or --host=H --port=P"
    )]
    Unreachable { at: String, detail: String },
    #[error("the server refused `{statement}`: {message}")]
    Statement { statement: String, message: String },
    /// The connection broke, or the server shut down or killed it, during a statement.
    #[error(
        "the server went away (connection lost) while running `{statement}`: {message}; the backup cannot \
         continue: check why the server stopped or dropped the connection (its error log) and run the backup again"
    )]
    Lost { statement: String, message: String },
    /// The backup user lacks a privilege; the server's message names it.
    #[error(
        "the server refused `{statement}` for lack of a privilege ({message}): grant the backup user the \
         privilege named there (GRANT ... ON *.* TO the backup user) and run the backup again"
    )]
    MissingPrivilege { statement: String, message: String },
    #[error("the server's answer to `{statement}` is not what innohot understands: {detail}")]
    Unexpected { statement: String, detail: String },
    /// The TLS handshake failed: an untrusted certificate, a wrong host name, no TLS on the server.
    #[error("{0}")]
    Tls(String),
}

impl ServerError {
    /// What the user faces: no server, a refused login or privilege, a lost line, a refusal.
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            ServerError::Connection(_) | ServerError::Unreachable { .. } | ServerError::Tls(_) => K::ServerUnreachable,
            ServerError::AccessDenied { .. } | ServerError::MissingPrivilege { .. } => K::ServerAccess,
            ServerError::Lost { .. } => K::ServerLost,
            ServerError::Statement { .. } | ServerError::Unexpected { .. } => K::ServerRefused,
        }
    }
}

/// `SHOW VARIABLES`, with typed accessors for what the backup needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerVars(pub BTreeMap<String, String>);

impl ServerVars {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    pub fn require(&self, name: &str) -> Result<&str, ServerError> {
        self.get(name).ok_or_else(|| ServerError::Unexpected {
            statement: "SHOW VARIABLES".into(),
            detail: format!("variable {name} is missing"),
        })
    }
    pub fn require_u64(&self, name: &str) -> Result<u64, ServerError> {
        let raw = self.require(name)?;
        raw.parse().map_err(|_| ServerError::Unexpected {
            statement: "SHOW VARIABLES".into(),
            detail: format!("variable {name} = '{raw}' is not a number"),
        })
    }
    pub fn version(&self) -> &str {
        self.get("version").unwrap_or("")
    }
}

/// `SHOW MASTER STATUS`: where the binary log stood while writes were blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPos {
    pub file: String,
    pub position: u64,
    /// Executed_Gtid_Set (5.7) or @@gtid_current_pos (MariaDB); empty = none.
    pub gtid: String,
}

/// One replication connection of `SHOW ALL SLAVES STATUS` (what `--slave-info` needs of it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaConnection {
    /// Connection_name: empty for the default connection.
    pub name: String,
    /// Relay_Master_Log_File: the master's binlog holding the last executed event.
    pub master_file: String,
    /// Exec_Master_Log_Pos: where in it the replica has executed up to.
    pub master_position: String,
    /// Using_Gtid: `No`, `Slave_Pos` or `Current_Pos`.
    pub using_gtid: String,
}

/// What `--slave-info` reads under the lock: every replication connection and `@@gtid_slave_pos`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub connections: Vec<ReplicaConnection>,
    pub gtid_slave_pos: String,
}

/// One tablespace the server's data dictionary knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTablespace {
    pub space_id: u32,
    /// As the dictionary spells it: `schema/table`, `schema/table#P#p0`, `innodb_undo001`.
    pub name: String,
    /// The data file as the server reports it (`./d/t.ibd`, or an absolute path for DATA DIRECTORY).
    pub path: String,
}

/// A plugin the server has loaded (`information_schema.PLUGINS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPlugin {
    pub name: String,
    /// The shared library it came from (`provider_lz4.so`).
    pub library: String,
}

/// How far the server has written its redo log to disk. A reader of the log
/// file may find bytes past that point that parse as whole mini-transactions
/// yet are not the server's: a write still in flight can show a block's new
/// bytes up to some point and stale buffer contents after it (seen on MariaDB
/// 10.11 under a commit load, a few times a minute). The MariaDB follower
/// therefore copies nothing past what this reports. The follower names the
/// status variable (MariaDB's `Innodb_lsn_flushed`): the client knows no flavor.
pub trait LogWrittenProbe: Send {
    /// The LSN the global status variable `variable` holds now; an error of kind
    /// `Unexpected` when it is not a number.
    fn status_lsn(&mut self, variable: &str) -> Result<Lsn, ServerError>;
}

/// What the server is doing, read while the data files are copied so
/// `--throttle=auto` can pace the copy by what the server feels (`copy::pace`).
/// A line of its own: the copy lanes read it between chunks.
pub trait LoadProbe: Send {
    /// The rows the server's engines have read by key and written for clients
    /// so far, and its commits (the `Handler_*` counters a status read leaves
    /// alone), and the sessions running a statement now (`Threads_running`,
    /// the probe's own left out).
    fn load(&mut self) -> Result<crate::copy::Load, ServerError>;
}

/// Where `--history` rows go: each peer's own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryTable {
    /// mariabackup's `mysql.mariadb_backup_history`.
    MariaDb,
    /// XtraBackup's `PERCONA_SCHEMA.xtrabackup_history`.
    Percona,
}

/// A backup in the history table, by the `--history` name it was given or its uuid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryRow {
    Name(String),
    Uuid(String),
}

impl HistoryTable {
    pub fn name(self) -> &'static str {
        match self {
            HistoryTable::MariaDb => "mysql.mariadb_backup_history",
            HistoryTable::Percona => "PERCONA_SCHEMA.xtrabackup_history",
        }
    }
}

pub trait ServerControl {
    fn variables(&mut self) -> Result<ServerVars, ServerError>;
    fn lock(&mut self, step: LockStep) -> Result<(), ServerError>;
    /// Releases what the lock steps took (each step says how); safe to call
    /// when nothing is held.
    fn unlock(&mut self) -> Result<(), ServerError>;
    /// `SHOW MASTER STATUS`, with the GTID position from where the flavor
    /// keeps it; None when binary logging is off.
    fn binlog_position(&mut self, gtid: GtidSource) -> Result<Option<BinlogPos>, ServerError>;
    /// `--ftwrl-wait-timeout`: `SET SESSION lock_wait_timeout=N`, so a lock statement that waits
    /// longer fails (ERROR 1205) instead of waiting for a year.
    fn set_lock_wait_timeout(&mut self, seconds: u64) -> Result<(), ServerError> {
        let _ = seconds;
        Ok(())
    }
    /// `--ftwrl-wait-timeout`: the first query of `SHOW FULL PROCESSLIST` running for at least
    /// `min_seconds` that would hold up the lock (`all`: any statement mariabackup counts as a
    /// query, else only writes), as "ID (duration D sec): TEXT"; None when there is none.
    fn long_query(&mut self, min_seconds: u64, all: bool) -> Result<Option<String>, ServerError> {
        let _ = (min_seconds, all);
        Ok(None)
    }
    /// `--slave-info`: `SHOW ALL SLAVES STATUS` and `SELECT @@GLOBAL.gtid_slave_pos` (MariaDB). A server
    /// that answers nothing (the simulator) is no replica.
    fn replica_status(&mut self) -> Result<ReplicaStatus, ServerError> {
        Ok(ReplicaStatus::default())
    }
    /// `--galera-info`: the node's `wsrep_local_state_uuid` and
    /// `wsrep_last_committed` from `SHOW STATUS`; `None` on a server that is
    /// no Galera node (the simulator).
    fn wsrep_state(&mut self) -> Result<Option<(String, String)>, ServerError> {
        Ok(None)
    }
    /// `SHOW ENGINE ARIA LOGS`: the Aria log files the server marks `free` (no recovery needs
    /// them any more: with aria_log_purge_type=external it never deletes them). None when the
    /// server cannot say (no Aria, or the user lacks the FILE privilege): every log is copied.
    fn aria_free_logs(&mut self) -> Result<Option<Vec<String>>, ServerError> {
        Ok(None)
    }
    /// `FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS`: redo up to the binlog position is on disk.
    fn flush_engine_logs(&mut self) -> Result<(), ServerError>;
    /// `SET GLOBAL innodb_log_checkpoint_now=ON`: the server writes every dirty
    /// page and checkpoints, so the copied redo starts near the current LSN.
    fn checkpoint_now(&mut self) -> Result<(), ServerError>;
    /// `--history`: a row for this backup in `table` (created if missing, with
    /// mariabackup's columns): what xtrabackup_info says, under `name`.
    fn record_history(
        &mut self,
        table: HistoryTable,
        name: &str,
        info: &crate::meta::BackupInfo,
    ) -> Result<(), ServerError>;
    /// `--incremental-history-name` / `-uuid`: the newest `innodb_to_lsn` of
    /// the history rows `by` names (None: no such row).
    fn history_to_lsn(&mut self, _table: HistoryTable, by: &HistoryRow) -> Result<Option<Lsn>, ServerError> {
        Err(ServerError::Unexpected {
            statement: "SELECT innodb_to_lsn FROM the history table".into(),
            detail: format!("this server keeps no backup history ({by:?})"),
        })
    }
    /// "Log sequence number" of `SHOW ENGINE INNODB STATUS`.
    fn current_lsn(&mut self) -> Result<Lsn, ServerError>;
    /// "Last checkpoint at" of `SHOW ENGINE INNODB STATUS`: the newest
    /// checkpoint the server has written to its redo log header.
    fn last_checkpoint_lsn(&mut self) -> Result<Lsn, ServerError>;
    /// `SELECT UUID()`
    fn uuid(&mut self) -> Result<String, ServerError>;
    /// Every tablespace the server knows, read under the lock (DDL blocked) so
    /// the backup can prove it holds each one.
    /// `None`: the server does not offer the dictionary table (its information_schema
    /// plugin is disabled, as MariaDB's test suite does).
    fn tablespaces(&mut self, dictionary: TablespaceDictionary) -> Result<Option<Vec<ServerTablespace>>, ServerError>;
    /// Active plugins with a shared library (prepare must load the same
    /// compression providers).
    fn loaded_plugins(&mut self) -> Result<Vec<ServerPlugin>, ServerError>;
}
