//! Why a backup run failed, as it reaches the edge: the sentence for a person
//! (stderr, the failure marker, `--json`'s `error`) and the kind for a script
//! (`--json`'s `error_kind`, and the report's `result`).

use crate::replica::ReplicaError;
use crate::streaming::StreamError;
use crate::target::TargetError;
use innohot::server::ServerError;
use innohot::{BackupError, ErrorKind};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("the server does not report its datadir")]
    NoDatadir,
    #[error("--target-dir {}: {source}", dir.display())]
    CreateTarget { dir: PathBuf, source: std::io::Error },
    /// The backup user lacks a privilege the backup needs (grants::check's sentence).
    #[error("{0}")]
    Privilege(String),
    #[error(transparent)]
    Stream(#[from] StreamError),
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// A signal stopped the run; the engine's `Interrupted` with the signal's name.
    #[error(
        "interrupted by {signal}: the backup stopped before it completed, the server's lock was released and the \
         copy is incomplete, not a backup; run the backup again into a new or empty directory"
    )]
    Interrupted { signal: &'static str },
    #[error(transparent)]
    Backup(#[from] BackupError),
}

impl RunFailure {
    /// The kind `--json` reports; the run's `result` is `interrupted` for `Interrupted`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RunFailure::Target(_) => ErrorKind::TargetUnusable,
            RunFailure::Server(e) => e.kind(),
            RunFailure::NoDatadir => ErrorKind::ServerRefused,
            RunFailure::CreateTarget { source, .. } => match ErrorKind::of_io(source) {
                ErrorKind::Io => ErrorKind::Io,
                _ => ErrorKind::TargetUnusable,
            },
            RunFailure::Privilege(_) => ErrorKind::ServerAccess,
            RunFailure::Stream(e) => e.kind(),
            RunFailure::Replica(e) => e.kind(),
            RunFailure::Interrupted { .. } => ErrorKind::Interrupted,
            RunFailure::Backup(e) => e.kind(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_its_kind() {
        let down = ServerError::Unreachable { at: "socket /x".into(), detail: "no such file".into() };
        assert_eq!(RunFailure::from(down.clone()).kind(), ErrorKind::ServerUnreachable);
        assert_eq!(RunFailure::from(BackupError::Server(down)).kind(), ErrorKind::ServerUnreachable);
        let full = TargetError::NotEmpty { dir: "/b".into(), first: "x".into(), more: String::new() };
        assert_eq!(RunFailure::from(full).kind(), ErrorKind::TargetUnusable);
        let interrupted = RunFailure::Interrupted { signal: "SIGTERM" };
        assert_eq!(interrupted.kind(), ErrorKind::Interrupted);
        assert!(interrupted.to_string().contains("interrupted by SIGTERM: the backup stopped"), "{interrupted}");
        assert_eq!(RunFailure::from(StreamError::Terminal).kind(), ErrorKind::Usage);
        let stuck = ReplicaError::TempTablesOpen { open: 1, seconds: 6, sql_thread_ran: true };
        assert_eq!(RunFailure::from(stuck).kind(), ErrorKind::Busy);
        let lost = ServerError::Lost { statement: "STOP SLAVE".into(), message: "gone".into() };
        assert_eq!(RunFailure::from(ReplicaError::Server(lost)).kind(), ErrorKind::ServerLost);
        assert_eq!(RunFailure::Privilege("Error: missing required privilege".into()).kind(), ErrorKind::ServerAccess);
        let exists = std::io::Error::from_raw_os_error(libc::EEXIST);
        assert_eq!(RunFailure::CreateTarget { dir: "/b".into(), source: exists }.kind(), ErrorKind::TargetUnusable);
    }
}
