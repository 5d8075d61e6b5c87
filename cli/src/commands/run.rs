//! The run of prepare, copy-back, move-back and mysql57-log-group: xtrabackup-style lines on stderr,
//! `completed OK!` last on success, one sentence on failure, and with `--json` a summary object on
//! stdout either way (the backup command's style).

use crate::args::CommonRestore;
use crate::commands::common::{now_unix, FAILURE};
use crate::export::ExportError;
use innohot::restore::binlog_pos::BinlogPosError;
use innohot::restore::RestoreError;
use innohot::timefmt::{iso, log_label};
use innohot::ErrorKind;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Why prepare, copy-back, move-back or mysql57-log-group failed, as it reaches
/// the report: the sentence, and the kind `--json` names.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CmdFailure {
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    BinlogPos(#[from] BinlogPosError),
    #[error("{}", export_text(.0))]
    Export(#[from] ExportError),
    #[error("{}: writing it failed: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// A step whose checks still speak in words (the options, --export): their kind given here.
    #[error("{why}")]
    Refused { kind: ErrorKind, why: String },
}

impl CmdFailure {
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            CmdFailure::Restore(e) => e.kind(),
            CmdFailure::BinlogPos(BinlogPosError::Io { source, .. }) => ErrorKind::of_io(source),
            CmdFailure::BinlogPos(_) => ErrorKind::Corrupt,
            CmdFailure::Write { source, .. } => ErrorKind::of_io(source),
            CmdFailure::Refused { kind, .. } => *kind,
            CmdFailure::Export(e) => e.kind(),
        }
    }

    pub(crate) fn refused(kind: ErrorKind, why: impl Into<String>) -> CmdFailure {
        CmdFailure::Refused { kind, why: why.into() }
    }
}

/// An export failure's sentence: the option it is about first, unless it names one itself.
fn export_text(e: &ExportError) -> String {
    match e {
        ExportError::NoSuchServer(_) | ExportError::NoServerFound => e.to_string(),
        _ => format!("--export: {e}"),
    }
}

/// One restore command's run: its output on stderr and, with --json, stdout.
pub(crate) struct Run {
    command: &'static str,
    common: CommonRestore,
    target_dir: PathBuf,
    started: u64,
    pub(crate) started_at: Instant,
}

impl Run {
    pub(crate) fn new(command: &'static str, common: &CommonRestore, target_dir: &Path) -> Run {
        Run {
            command,
            common: common.clone(),
            target_dir: target_dir.to_path_buf(),
            started: now_unix(),
            started_at: Instant::now(),
        }
    }

    pub(crate) fn say(&self, msg: &str) {
        if !self.common.quiet {
            eprintln!("{} {msg}", log_label(now_unix()));
        }
    }

    fn base(&self, result: &str, code: u8) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("result".into(), json!(result));
        m.insert("command".into(), json!(self.command));
        m.insert("target_dir".into(), json!(self.target_dir.display().to_string()));
        m.insert("started_at".into(), json!(iso(self.started)));
        m.insert("ended_at".into(), json!(iso(now_unix())));
        m.insert("duration_seconds".into(), json!(self.started_at.elapsed().as_secs_f64()));
        m.insert("exit_code".into(), json!(code));
        m
    }

    pub(crate) fn done(&self, result: &str, fields: Map<String, Value>) -> ExitCode {
        self.say("completed OK!");
        if self.common.json {
            let mut m = self.base(result, 0);
            m.insert("error".into(), Value::Null);
            m.insert("error_kind".into(), Value::Null);
            m.extend(fields);
            println!("{}", Value::Object(m));
        }
        ExitCode::SUCCESS
    }

    pub(crate) fn fail(&self, failure: &CmdFailure) -> ExitCode {
        eprintln!("{} innohot {}: {failure}", log_label(now_unix()), self.command);
        if self.common.json {
            let mut m = self.base("failed", FAILURE);
            m.insert("error".into(), json!(failure.to_string()));
            m.insert("error_kind".into(), json!(failure.kind().as_str()));
            println!("{}", Value::Object(m));
        }
        ExitCode::from(FAILURE)
    }
}

/// A value prepare or copy-back does not take (exit 1, as all bad input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadValue {
    #[error("innodb_force_recovery needs 0 or 1, not '{0}'")]
    ForceRecovery(String),
    #[error(
        "--binlog-info=LOCKLESS needs a server feature MariaDB does not have (as mariabackup says): use \
         --binlog-info=ON"
    )]
    BinlogInfoLockless,
    #[error("--binlog-info needs ON, OFF or AUTO, not '{0}'")]
    BinlogInfo(String),
    #[error("--chown '{0}': not a user name")]
    ChownUserName(String),
    #[error("--chown: no user '{0}' on this system")]
    ChownNoUser(String),
    #[error("--chown '{0}': give UID:GID with a numeric user")]
    ChownNoGroup(String),
    #[error("--chown '{0}': not a group name")]
    ChownGroupName(String),
    #[error("--chown: no group '{0}' on this system")]
    ChownNoSuchGroup(String),
}
