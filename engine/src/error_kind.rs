//! The kind of a failure: a small, stable name a script (and `--json`) can
//! branch on, where the message is for a person and may change wording.

use std::fmt;

/// What went wrong, as far as the user's next step differs. The names
/// (`as_str`) are part of the `--json` report: add kinds, never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The command line, an option file or a setting is wrong.
    Usage,
    /// No server answers where innohot was pointed (or TLS failed).
    ServerUnreachable,
    /// The server refused the login or a statement for lack of a privilege.
    ServerAccess,
    /// The connection broke while the backup ran.
    ServerLost,
    /// The server refused a statement or answered what innohot does not understand.
    ServerRefused,
    /// Long queries kept the backup lock from being taken in time.
    LockTimeout,
    /// The redo log overwrote bytes before they were copied (either flavor).
    RedoLapped,
    /// The server resized its redo log while the backup ran.
    RedoResized,
    /// DDL the backup cannot follow ran meanwhile (an index built without redo).
    ConcurrentDdl,
    /// A signal stopped the run.
    Interrupted,
    /// A source file went missing or changed behind the backup (or the datadir is not the server's).
    SourceChanged,
    /// The target (or restore destination) is not usable: not empty, inside the datadir, no space.
    TargetUnusable,
    /// A file operation failed (I/O error, permission, disk full).
    Io,
    /// A page, the redo or a metadata file is damaged.
    Corrupt,
    /// The backup did not complete, lacks files or is not prepared.
    IncompleteBackup,
    /// Something innohot does not handle (yet): encryption, a flavor, a setting.
    Unsupported,
    /// Another process holds what the command needs (a running server, another prepare).
    Busy,
    /// A restore step refused the backup or the destination for a reason its
    /// message names (not split into finer kinds yet).
    Refused,
    /// innohot's own invariant broke: a bug to report.
    Internal,
}

impl ErrorKind {
    /// Every kind, for tests and docs.
    pub const ALL: [ErrorKind; 19] = [
        ErrorKind::Usage,
        ErrorKind::ServerUnreachable,
        ErrorKind::ServerAccess,
        ErrorKind::ServerLost,
        ErrorKind::ServerRefused,
        ErrorKind::LockTimeout,
        ErrorKind::RedoLapped,
        ErrorKind::RedoResized,
        ErrorKind::ConcurrentDdl,
        ErrorKind::Interrupted,
        ErrorKind::SourceChanged,
        ErrorKind::TargetUnusable,
        ErrorKind::Io,
        ErrorKind::Corrupt,
        ErrorKind::IncompleteBackup,
        ErrorKind::Unsupported,
        ErrorKind::Busy,
        ErrorKind::Refused,
        ErrorKind::Internal,
    ];

    /// The stable snake_case name printed in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::ServerUnreachable => "server_unreachable",
            ErrorKind::ServerAccess => "server_access",
            ErrorKind::ServerLost => "server_lost",
            ErrorKind::ServerRefused => "server_refused",
            ErrorKind::LockTimeout => "lock_timeout",
            ErrorKind::RedoLapped => "redo_lapped",
            ErrorKind::RedoResized => "redo_resized",
            ErrorKind::ConcurrentDdl => "concurrent_ddl",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::SourceChanged => "source_changed",
            ErrorKind::TargetUnusable => "target_unusable",
            ErrorKind::Io => "io",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::IncompleteBackup => "incomplete_backup",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Busy => "busy",
            ErrorKind::Refused => "refused",
            ErrorKind::Internal => "internal",
        }
    }

    /// A failed file operation's kind by its OS error: a vanished file is a
    /// source that changed, a full disk a target that cannot take the copy.
    pub fn of_io(e: &std::io::Error) -> ErrorKind {
        match e.raw_os_error() {
            Some(libc::ENOENT) => ErrorKind::SourceChanged,
            Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EEXIST) => ErrorKind::TargetUnusable,
            _ => ErrorKind::Io,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_snake_case() {
        let names: std::collections::BTreeSet<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')), "{names:?}");
    }

    #[test]
    fn io_errors_by_cause() {
        let k = |code| ErrorKind::of_io(&std::io::Error::from_raw_os_error(code));
        assert_eq!(k(libc::ENOENT), ErrorKind::SourceChanged);
        assert_eq!(k(libc::ENOSPC), ErrorKind::TargetUnusable);
        assert_eq!(k(libc::EIO), ErrorKind::Io);
    }
}
