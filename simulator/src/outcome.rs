//! What one simulated run ended with and what happened along the way: the
//! harness fills these in, the oracle judges them.

use innohot::backup::Summary;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    pub sim_nanos: u64,
    pub server_actions: u64,
    pub engine_steps: u64,
    pub log_polls: u64,
    pub torn_writes: u64,
    /// MariaDB log writes caught in flight (`phantom_tail_percent`).
    pub phantom_tails: u64,
    /// Chunks re-read because a page failed validation.
    pub page_rereads: u64,
    pub ring_wraps: u64,
    pub redo_bytes_during_backup: u64,
    /// A lap really happened: (sim ns, bytes the server was ahead by).
    pub lapped: Option<(u64, u64)>,
    /// When the log copier found the lap (sim ns).
    pub lap_detected_at: Option<u64>,
    /// Log copier passes that ran after the lap, up to and including the one that found it.
    pub polls_after_lap: u64,
    /// Planned faults that fired, in order.
    pub faults_fired: Vec<String>,
    /// The process was killed before this step.
    pub killed_before_step: Option<u64>,
    /// DDL statements the server ran while data files were being copied.
    pub ddl_during_copy: u64,
    /// Data-file extensions while data files were being copied.
    pub grown_during_copy: u64,
    /// The data-file copy before the lock: (sim ns it took, server actions in it).
    pub copy_phase: (u64, u64),
    /// The source opens and listings the backup made while commits were
    /// blocked ("open PATH" / "list DIR"): the work the lock waits for.
    pub source_ops_under_commit_lock: Vec<String>,
    /// A streamed backup's DDL marker files (`.del`, `.ren`, `.new`): what the
    /// stream had sent and the DDL then took back.
    pub stream_markers: u64,
    /// The incremental scenario: incremental backups applied to the prepared
    /// chain and judged there (0 to 2).
    pub incrementals_applied: u64,
    /// The incremental scenario: delta pages whose LSN is exactly the
    /// backup's `from_lsn` (the base's `to_lsn`).
    pub pages_at_from_lsn: u64,
    /// The incremental scenario: tables held whole as `db/t.new` (MariaDB
    /// tables whose page 0 was not written yet when copied).
    pub whole_copies: u64,
    /// The incremental scenario: DDL statements between its backups.
    pub ddl_between_backups: u64,
}

#[derive(Debug)]
pub enum Outcome {
    Completed(Summary),
    /// The backup stopped with this error (the oracle judges its kind and its message).
    Failed(innohot::BackupError),
    /// The process was killed (SIGKILL) before this step: no cleanup ran.
    Killed {
        before_step: u64,
    },
    /// The backup did not finish within the simulated time limit.
    Hung {
        sim_seconds: u64,
    },
}

impl Outcome {
    /// The error text a user would see, if the backup did not complete.
    pub fn failure_text(&self) -> Option<String> {
        match self {
            Outcome::Completed(_) => None,
            Outcome::Failed(e) => Some(e.to_string()),
            Outcome::Killed { before_step } => Some(format!("killed before step {before_step}")),
            Outcome::Hung { sim_seconds } => {
                Some(format!("the simulated backup did not finish within {sim_seconds} simulated seconds"))
            }
        }
    }
}

/// Two outcomes are the same when they are of one kind and say the same (errors have no `Eq`).
impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Outcome::Completed(a), Outcome::Completed(b)) => a == b,
            (Outcome::Failed(a), Outcome::Failed(b)) => {
                std::mem::discriminant(a) == std::mem::discriminant(b) && a.to_string() == b.to_string()
            }
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b) && a.failure_text() == b.failure_text(),
        }
    }
}
