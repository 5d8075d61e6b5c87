//! Phase events: the trace that snapshots hold and progress displays read.

use crate::format::Lsn;
use std::fmt;
use std::time::Duration;

/// The phases of a full hot backup, in the reference run's order (docs/BACKUP-PHASES.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    ReadOptions = 1,
    CheckTarget,
    Connect,
    LocateDatadir,
    ServerFacts,
    SizeRedoLog,
    FindCheckpoint,
    StartLogFile,
    FirstLogCopy,
    Threads,
    TablespaceScan,
    DataCopy,
    LogFollows,
    Lock,
    NonInnodbFiles,
    BinlogPosition,
    FlushRedo,
    LastCheckpoint,
    StopLogCopy,
    CheckpointsFile,
    Unlock,
    Report,
    BackupMyCnf,
    XtrabackupInfo,
    Finish,
}

impl Phase {
    pub fn number(self) -> u8 {
        self as u8
    }
    pub fn name(self) -> &'static str {
        match self {
            Phase::ReadOptions => "read options",
            Phase::CheckTarget => "check target",
            Phase::Connect => "connect",
            Phase::LocateDatadir => "locate datadir",
            Phase::ServerFacts => "server facts",
            Phase::SizeRedoLog => "size the redo log",
            Phase::FindCheckpoint => "find the checkpoint",
            Phase::StartLogFile => "start the log file",
            Phase::FirstLogCopy => "first log copy",
            Phase::Threads => "threads",
            Phase::TablespaceScan => "tablespace scan",
            Phase::DataCopy => "data copy",
            Phase::LogFollows => "log follows",
            Phase::Lock => "lock",
            Phase::NonInnodbFiles => "non-InnoDB files",
            Phase::BinlogPosition => "binlog position",
            Phase::FlushRedo => "flush redo",
            Phase::LastCheckpoint => "last checkpoint",
            Phase::StopLogCopy => "stop log copy",
            Phase::CheckpointsFile => "checkpoints file",
            Phase::Unlock => "unlock",
            Phase::Report => "report",
            Phase::BackupMyCnf => "backup-my.cnf",
            Phase::XtrabackupInfo => "xtrabackup_info",
            Phase::Finish => "finish",
        }
    }
}

/// Who did it: the main thread, the log copier thread or a data copier thread (as in the reference run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Main,
    LogCopier,
    DataCopier(u32),
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Main => write!(f, "main"),
            Role::LogCopier => write!(f, "log"),
            Role::DataCopier(n) => write!(f, "data{n:02}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    PhaseStarted,
    /// A fact worth a line in the log ("innodb_log_file_size = 1048576").
    Note(String),
    /// A line mariabackup prints in its own format (`[00] YYYY-MM-DD hh:mm:ss TEXT`), which scripts
    /// and mariabackup's test suite look for word for word.
    ToolLine(String),
    /// A server statement was executed (never carries a secret).
    Statement(String),
    CopyStarted {
        source: String,
        target: String,
    },
    CopyDone {
        target: String,
        bytes: u64,
    },
    /// A chunk held a page that failed validation and will be read again.
    PageRetry {
        file: String,
        page: u64,
        attempt: u32,
        defect: String,
    },
    LogScanned {
        lsn: Lsn,
        bytes: u64,
    },
    Written {
        file: String,
        bytes: u64,
    },
    Completed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub phase: Phase,
    pub role: Role,
    /// Clock time (simulated under the simulator).
    pub at: Duration,
    /// Seconds since the Unix epoch by the same clock, for log line labels.
    pub unix: u64,
    pub kind: EventKind,
}

/// Receives events from every thread of a backup. indicatif and friends live in the CLI.
pub trait Progress: Send + Sync {
    fn event(&self, e: &Event);
    /// The data files the copy will read, known after the tablespace scan
    /// (a display sizes its bar from them). Does nothing unless overridden.
    fn copy_planned(&self, _sources: &[&std::path::Path]) {}
    /// A chunk of `bytes` was written to the backup by `role` (between a
    /// file's CopyStarted and CopyDone). Does nothing unless overridden.
    fn chunk_copied(&self, _role: Role, _bytes: u64) {}
}

/// Drops everything.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event) {}
}

/// Keeps every event, for tests and the simulator's trace.
#[derive(Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Recorder {
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().expect("recorder lock"))
    }
}

impl Progress for Recorder {
    fn event(&self, e: &Event) {
        self.0.lock().expect("recorder lock").push(e.clone());
    }
}

/// Sends one event stamped with the clock's time.
pub fn emit(progress: &dyn Progress, clock: &dyn crate::io::Clock, phase: Phase, role: Role, kind: EventKind) {
    progress.event(&Event { phase, role, at: clock.now(), unix: clock.unix_seconds(), kind });
}
