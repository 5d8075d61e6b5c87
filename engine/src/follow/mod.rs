//! The redo follower: copies every redo byte the server writes while the
//! backup runs. A state machine: each `poll` is one bounded copy pass;
//! production calls it from a thread once a second, the simulator whenever
//! its seeded scheduler says so.
//!
//! One follower per redo format: [`mysql57`] (512-byte blocks over a group
//! of files) and [`mariadb`] (mtrs in one `ib_logfile0` ring). Both answer the
//! orchestrator through [`RedoFollower`].

pub mod mariadb;
pub mod mysql57;

use crate::error::Result;
use crate::events::{emit, EventKind, Phase, Progress, Role};
use crate::format::Lsn;
use crate::io::Clock;

/// Reads per step, as xtrabackup does (64 KiB); a longer MariaDB mtr makes the window grow.
pub const DEFAULT_READ_STEP: usize = 64 * 1024;

/// How one pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassEnd {
    /// Reached the block the server is still filling.
    PartialBlock,
    /// Reached a block from the previous lap.
    CaughtUp,
    /// Reached a block whose checksum fails (being written); next pass retries it.
    Unreadable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// LSN distance this pass added to the copy (the partial last block counts its data length).
    pub copied: u64,
    /// The end of the redo seen (inside the partial block).
    pub scanned_lsn: Lsn,
    pub end: PassEnd,
}

/// What a file-level redo record says happened to a tablespace, whatever the
/// log format that said it (MariaDB's FILE_* records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    Create,
    Delete,
    /// `new_name` is set.
    Rename,
    /// The first change to the tablespace since the last checkpoint.
    Modify,
}

/// A file-level redo record seen in the copied redo: which tablespaces the
/// copied redo touches, created, renamed or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOpRecord {
    /// Start LSN of the mtr holding the record.
    pub lsn: Lsn,
    pub op: FileChange,
    pub space: u32,
    /// Path relative to the datadir ("./db/t.ibd"), or absolute (DATA DIRECTORY).
    pub name: String,
    /// The new name of a rename.
    pub new_name: Option<String>,
}

/// What every flavor's follower offers the orchestrator and the drivers.
pub trait RedoFollower: Send {
    /// The file records copied since the last call (none for a log format
    /// whose follower does not collect them).
    fn take_file_ops(&mut self) -> Vec<FileOpRecord> {
        Vec::new()
    }
    /// One copy pass. The final pass also copies the partial last block and
    /// makes the copy durable; the follower is finished after it.
    fn poll(&mut self, final_pass: bool) -> Result<PassReport>;
    /// First LSN held by the copy (block-aligned start checkpoint LSN for 5.7).
    fn start_lsn(&self) -> Lsn;
    /// End of the copied redo; meaningful after the final pass.
    fn last_lsn(&self) -> Lsn;
    fn is_finished(&self) -> bool;
    /// Every LSN below this is in the copy (block-aligned for 5.7). The simulator
    /// compares it with the server's write position to know when a lap really happened.
    fn copied_lsn(&self) -> Lsn;
    /// Name of the copy in the backup (`xtrabackup_logfile`, `ib_logfile0`).
    fn target_name(&self) -> &str;
    /// Bytes of redo the server's ring holds before it overwrites what is
    /// not yet copied: how far behind the copier may fall.
    fn ring_capacity(&self) -> u64;
}

/// Says ">> log scanned up to (N)" after a pass that moved or was the last; the
/// first pass belongs to phase 9, later ones to phase 13, the final one to 19.
pub(crate) fn report_pass(
    progress: &dyn Progress,
    clock: &dyn Clock,
    event_phase: &mut Phase,
    final_pass: bool,
    scanned_before: Lsn,
    report: &PassReport,
) {
    if final_pass || report.scanned_lsn != scanned_before {
        let phase = if final_pass { Phase::StopLogCopy } else { *event_phase };
        let kind = EventKind::LogScanned { lsn: report.scanned_lsn, bytes: report.copied };
        emit(progress, clock, phase, Role::LogCopier, kind);
    }
    *event_phase = Phase::LogFollows;
}
