//! What can go wrong in a backup; every message names the file, LSN or page,
//! the cause and what the user can do about it.

use crate::error_kind::ErrorKind;
use crate::format::{FormatError, Lsn};
use crate::server::ServerError;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{}: {op} failed: {source}{}", path.display(), io_hint(source))]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("{}: {source}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: FormatError,
    },
    /// The redo log overwrote bytes before they were copied: one condition for the user
    /// (raise the redo log size, or copy faster), seen differently by each flavor's follower.
    #[error("{}", lap_text(*lsn, *ring_bytes, evidence))]
    RedoLapped { lsn: Lsn, ring_bytes: u64, evidence: RedoLap },
    #[error(
        "{}: page {page} is corrupted after {attempts} reads: {defect}. Database page corruption detected \
         (a torn page persists, as mariabackup words it); check the server's error log and run CHECK TABLE, \
         or raise --page-retries if the server writes this page unusually slowly",
        path.display()
    )]
    CorruptPage { path: PathBuf, page: u64, attempts: u32, defect: String },
    #[error(
        "the redo log's latest checkpoint LSN {checkpoint} is beyond the last copied LSN {last_lsn}: \
         the copy missed redo the server already checkpointed; this is a bug or a server writing \
         a different redo log than the one innohot read (check innodb_log_group_home_dir)"
    )]
    CheckpointBeyondCopy { checkpoint: Lsn, last_lsn: Lsn },
    #[error("redo log at LSN {lsn}: {detail}")]
    RedoCorrupt { lsn: Lsn, detail: String },
    #[error(
        "an index of tablespace {space} was built without redo logging (MLOG_INDEX_LOAD at LSN {lsn}) while \
         the backup ran: the copy of that table cannot be made consistent. Rerun the backup when no \
         ALTER TABLE ... ADD INDEX or CREATE INDEX runs (or set old_alter_table=ON on the server meanwhile)"
    )]
    IndexBuiltWithoutRedo { lsn: Lsn, space: u32 },
    #[error(
        "{}: the tablespace is encrypted ({detail}); innohot does not back up encrypted tablespaces yet. \
         Back this server up with mariabackup started with the server's key management settings, \
         or decrypt the table first (ALTER TABLE ... ENCRYPTED=NO)",
        path.display()
    )]
    Encrypted { path: PathBuf, detail: String },
    #[error(
        "tablespace {name} (space id {space_id}, file {file}) is on the server but missing from the backup: \
         innohot did not copy it, and a backup without it would silently lose that table. \
         The backup was not completed; check that the backup user can read {file} and report this as a bug"
    )]
    TablespaceMissing { name: String, space_id: u32, file: String },
    #[error(
        "tablespace {name} (space id {space_id}) is on the server but its file {} is gone from the datadir: \
         it was removed behind the server's back (DROP TABLE would have removed the table from the server too), \
         so the server itself has lost that table's file. The backup was not completed; put the file back or \
         drop the table on the server, then run the backup again",
        path.display()
    )]
    TablespaceFileGone { name: String, space_id: u32, path: PathBuf },
    #[error(
        "{}: the redo log is {file_size} bytes but innodb_log_file_size is {setting}: the server is resizing \
         its redo log (SET GLOBAL innodb_log_file_size); wait for the resize to finish and run the backup again",
        path.display()
    )]
    RedoResizing { path: PathBuf, file_size: u64, setting: u64 },
    #[error(
        "--datadir {} is not the datadir of this server (the server reports {}): {reason}. Point --datadir at \
         the directory where this server's own files are seen on this host (for a container: its bind mount)",
        given.display(),
        server.display()
    )]
    NotServerDatadir { given: PathBuf, server: PathBuf, reason: String },
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    /// `--ftwrl-wait-timeout`: long queries still ran when the wait for them ran out.
    #[error(
        "{0}: Unable to obtain lock. Please try again later (nothing was locked; raise --ftwrl-wait-timeout, or \
         run the backup when that query is done)"
    )]
    LockWaitTimeout(String),
    #[error(
        "the backup was interrupted on request (SIGINT or SIGTERM) before it completed: the server's lock was \
         released and the copy is incomplete, not a backup; run the backup again into a new or empty directory"
    )]
    Interrupted,
    #[error("the redo log copier stopped: {0}")]
    FollowerGone(String),
    #[error("the backup is over ({}): nothing more to step", if *completed { "it completed" } else { "it failed" })]
    NotRunning { completed: bool },
    /// A phase ran before the one that makes what it needs: a bug in the orchestrator, not in the server.
    #[error(
        "phase {} ({}) ran without {needs}: the backup's phases ran out of order, a bug in innohot; the backup \
         was aborted, nothing it wrote is a backup; please report it",
        phase.number(),
        phase.name()
    )]
    PhaseOrder { phase: crate::events::Phase, needs: &'static str },
    #[error(
        "{}: the redo log was replaced while the backup copied it ({detail}); the server resized its redo log \
         online (SET GLOBAL innodb_log_file_size writes ib_logfile101 and renames it over ib_logfile0), so redo \
         from LSN {lsn} on is no longer in the file innohot follows. Do not resize the redo log while a backup \
         runs; run the backup again",
        path.display()
    )]
    RedoResized { path: PathBuf, lsn: Lsn, detail: String },
}

/// How a follower saw the redo lap: the copy position `lsn` of `RedoLapped` was overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedoLap {
    /// MySQL 5.7: the log block at the copy position carries another block number.
    BlockNumber { expected_no: u32, found_no: u32 },
    /// MariaDB: the server had written more than the ring ahead of the copy; `detail`
    /// is the evidence (its checkpoint, or what the file holds at the copy position).
    ServerAhead { server_lsn: Lsn, detail: String },
}

/// The lap's sentence, in each flavor's words, ending in what to do about it.
fn lap_text(lsn: Lsn, ring_bytes: u64, evidence: &RedoLap) -> String {
    match evidence {
        RedoLap::BlockNumber { expected_no, found_no } => format!(
            "the redo log wrapped before it was copied: at LSN {lsn} innohot expected log block {expected_no} \
             but found block {found_no}; the server wrote more than the {ring_bytes}-byte redo ring holds \
             between two copy passes. Raise innodb_log_file_size (or innodb_log_files_in_group), \
             run the backup when the server writes less, or poll the log more often \
             (log block numbers mismatch: InnoDB log has wrapped around before innohot could process all records)"
        ),
        RedoLap::ServerAhead { server_lsn, detail } => format!(
            "the redo log wrapped before it was copied: innohot had copied ib_logfile0 up to LSN {lsn}, \
             but the server had already written at least up to LSN {server_lsn} ({detail}), so the redo at LSN \
             {lsn} was overwritten in the {ring_bytes}-byte ring before innohot read it. Raise \
             innodb_log_file_size (MariaDB 10.11 resizes it online: SET GLOBAL innodb_log_file_size=...), run the \
             backup when the server writes less, or poll the log more often"
        ),
    }
}

fn io_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
            " (the target file system is full: free space or choose another --target-dir)"
        }
        Some(libc::EIO) => " (the disk reported an I/O error: check the kernel log and the device)",
        Some(libc::EEXIST) => " (a backup never overwrites: use an empty --target-dir)",
        Some(libc::EACCES) | Some(libc::EPERM) => {
            " (permission denied: run as a user that can read the datadir and write the target)"
        }
        Some(libc::ENOENT) => " (no such file: it may have been dropped while the backup ran)",
        _ => "",
    }
}

impl BackupError {
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        BackupError::Io { path: path.into(), op, source }
    }

    /// What the user faces, for scripts and `--json`.
    pub fn kind(&self) -> ErrorKind {
        use BackupError as E;
        match self {
            E::Io { source, .. } => ErrorKind::of_io(source),
            E::Server(e) => e.kind(),
            E::Format { .. } | E::CorruptPage { .. } | E::RedoCorrupt { .. } => ErrorKind::Corrupt,
            E::RedoLapped { .. } => ErrorKind::RedoLapped,
            E::RedoResizing { .. } | E::RedoResized { .. } => ErrorKind::RedoResized,
            E::IndexBuiltWithoutRedo { .. } => ErrorKind::ConcurrentDdl,
            E::Encrypted { .. } | E::Unsupported(_) => ErrorKind::Unsupported,
            E::TablespaceMissing { .. }
            | E::CheckpointBeyondCopy { .. }
            | E::FollowerGone(_)
            | E::NotRunning { .. }
            | E::PhaseOrder { .. } => ErrorKind::Internal,
            E::TablespaceFileGone { .. } | E::NotServerDatadir { .. } => ErrorKind::SourceChanged,
            E::Config(_) => ErrorKind::Usage,
            E::LockWaitTimeout(_) => ErrorKind::LockTimeout,
            E::Interrupted => ErrorKind::Interrupted,
        }
    }

    /// The server overwrote redo before it was copied (either flavor's follower).
    pub fn is_lap(&self) -> bool {
        matches!(self, BackupError::RedoLapped { .. })
    }

    /// The file and the OS error of a failed file operation.
    pub fn io_failure(&self) -> Option<(&std::path::Path, &io::Error)> {
        match self {
            BackupError::Io { path, source, .. } => Some((path, source)),
            _ => None,
        }
    }

    /// The connection to the server went away.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, BackupError::Server(ServerError::Connection(_) | ServerError::Lost { .. }))
    }

    /// An index was built without redo while the backup ran (MySQL 5.7's MLOG_INDEX_LOAD).
    pub fn is_index_built_without_redo(&self) -> bool {
        matches!(self, BackupError::IndexBuiltWithoutRedo { .. })
    }
}

pub type Result<T, E = BackupError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_name_the_kind() {
        let ahead = RedoLap::ServerAhead { server_lsn: 2, detail: String::new() };
        let lap = BackupError::RedoLapped { lsn: 1, ring_bytes: 3, evidence: ahead };
        assert!(lap.is_lap() && !lap.is_connection_lost() && lap.io_failure().is_none());
        let block = RedoLap::BlockNumber { expected_no: 2, found_no: 3 };
        let lap57 = BackupError::RedoLapped { lsn: 1, ring_bytes: 4, evidence: block };
        assert!(lap57.is_lap());
        let eio = BackupError::io("/x/t.ibd", "reading", io::Error::from_raw_os_error(libc::EIO));
        let (path, e) = eio.io_failure().unwrap();
        assert_eq!((path, e.raw_os_error()), (std::path::Path::new("/x/t.ibd"), Some(libc::EIO)));
        assert!(!eio.is_lap());
        let gone = BackupError::Server(ServerError::Connection("gone".into()));
        assert!(gone.is_connection_lost());
        let refused = BackupError::Server(ServerError::Statement { statement: "X".into(), message: "no".into() });
        assert!(!refused.is_connection_lost());
        assert!(BackupError::IndexBuiltWithoutRedo { lsn: 1, space: 2 }.is_index_built_without_redo());
    }

    /// Both flavors' laps are one kind, and each message still says how to avoid it.
    #[test]
    fn laps_are_one_kind_and_name_the_fix() {
        let evidence = [
            RedoLap::BlockNumber { expected_no: 9, found_no: 13 },
            RedoLap::ServerAhead { server_lsn: 9000, detail: "its checkpoint".into() },
        ];
        for evidence in evidence {
            let e = BackupError::RedoLapped { lsn: 100, ring_bytes: 4096, evidence };
            assert_eq!(e.kind(), ErrorKind::RedoLapped);
            let text = e.to_string();
            assert!(text.contains("Raise innodb_log_file_size") && text.contains("LSN 100"), "{text}");
            assert!(text.contains("4096-byte"), "{text}");
        }
    }

    #[test]
    fn kinds_of_backup_errors() {
        let kind = |e: BackupError| e.kind();
        assert_eq!(kind(BackupError::Interrupted), ErrorKind::Interrupted);
        assert_eq!(
            kind(BackupError::io("/t/x", "creating", io::Error::from_raw_os_error(libc::EEXIST))),
            ErrorKind::TargetUnusable
        );
        assert_eq!(
            kind(BackupError::io("/d/x.ibd", "opening", io::Error::from_raw_os_error(libc::ENOENT))),
            ErrorKind::SourceChanged
        );
        let corrupt =
            BackupError::CorruptPage { path: "/d/t.ibd".into(), page: 3, attempts: 5, defect: "checksum".into() };
        assert_eq!(kind(corrupt), ErrorKind::Corrupt);
        assert_eq!(
            kind(BackupError::Server(ServerError::Lost { statement: "X".into(), message: "gone".into() })),
            ErrorKind::ServerLost
        );
        assert_eq!(kind(BackupError::LockWaitTimeout("q".into())), ErrorKind::LockTimeout);
        assert_eq!(kind(BackupError::IndexBuiltWithoutRedo { lsn: 1, space: 2 }), ErrorKind::ConcurrentDdl);
        assert_eq!(kind(BackupError::Config("x".into())), ErrorKind::Usage);
    }
}
