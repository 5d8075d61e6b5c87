//! The user's knobs for one backup.

use super::{filter, LockWait, TestHooks};
use crate::copy::CopySettings;
use std::path::PathBuf;
use std::time::Duration;

/// How the backup runs: the user's knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOptions {
    pub copy: CopySettings,
    /// Bytes read from the redo ring per step.
    pub log_read_step: usize,
    /// The longest the log copier waits between passes (xtrabackup: always 1 s).
    pub log_poll_interval: Duration,
    /// Poll exactly every `log_poll_interval` instead of pacing (see
    /// `driver::Pacer`): for tests that must make the server outrun the copier.
    pub log_poll_fixed: bool,
    /// The command line as recorded in xtrabackup_info, secrets already masked.
    pub tool_command: String,
    /// xtrabackup_info's and the history row's `tool_name`: innohot, or the
    /// name it runs under as a drop-in (`mariabackup`), as mariabackup records its own.
    pub tool_name: String,
    /// Where the options came from, for phase 1's report.
    pub options_source: String,
    /// Tests' hooks into the backup; production never sets them (the default is none).
    pub test_hooks: TestHooks,
    /// How coarse the source file system's timestamps may be: a non-InnoDB
    /// file changed less than this before its copy ahead of the lock is
    /// copied again under the lock, whatever its stamp says
    /// (`FileStamp::settled_before`). Two seconds covers every file system a
    /// datadir lives on (ext3 and HFS+ stamp whole seconds, FAT two).
    pub stamp_granularity: Duration,
    /// Where the server's datadir is read on this host when it is not at the
    /// path the server reports (`@@datadir`), e.g. a container's bind mount.
    /// Phase 4 checks it holds this server's files and refuses otherwise.
    pub datadir: Option<PathBuf>,
    /// A partial backup's tables (None: every table).
    pub filter: filter::Filter,
    /// `--innodb-log-checkpoint-now`: have the server checkpoint before the
    /// backup reads its checkpoint, so less redo is copied and applied.
    pub checkpoint_first: bool,
    /// `--history[=NAME]`: a row for the backup in the server's history table
    /// (NAME empty for a bare `--history`).
    pub history: Option<String>,
    /// `--slave-info`: under the lock, write `xtrabackup_slave_info` from the
    /// replica's connections (MariaDB only).
    pub slave_info: bool,
    /// `--galera-info`: `xtrabackup_galera_info` under the lock (or mariabackup's warning).
    pub galera_info: bool,
    /// `--no-lock`: no lock statement at all (no BACKUP STAGE, no FTWRL): only
    /// for servers whose every table is InnoDB and that see no DDL during the
    /// backup; the binlog position is then not consistent with the data.
    pub no_lock: bool,
    /// `--ftwrl-wait-timeout`: seconds to wait for long queries before the lock
    /// (see `lock_wait`); the lock statements then wait at most this long.
    pub lock_wait: Option<LockWait>,
    /// `--incremental-history-name` / `-uuid`: an incremental backup from the
    /// `to_lsn` of that backup's row in the history table (read in phase 5).
    pub incremental_history: Option<crate::server::HistoryRow>,
    /// `innodb_undo_tablespaces` of the incremental's base (its backup-my.cnf):
    /// an incremental over a base with other undo tablespaces cannot be
    /// applied, so the backup is refused at once.
    pub incremental_base_undo: Option<u32>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            copy: CopySettings::default(),
            log_read_step: crate::follow::DEFAULT_READ_STEP,
            log_poll_interval: Duration::from_secs(1),
            log_poll_fixed: false,
            tool_command: String::new(),
            tool_name: "innohot".into(),
            options_source: "command line".into(),
            test_hooks: TestHooks::default(),
            stamp_granularity: Duration::from_secs(2),
            datadir: None,
            filter: filter::Filter::default(),
            checkpoint_first: false,
            history: None,
            slave_info: false,
            galera_info: false,
            no_lock: false,
            lock_wait: None,
            incremental_history: None,
            incremental_base_undo: None,
        }
    }
}
