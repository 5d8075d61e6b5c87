//! The orchestrator: the reference run's 25 phases in order, one bounded step
//! at a time (docs/BACKUP-PHASES.md).
//!
//! `Backup::step` does one piece of work (a statement, a chunk, a file) and
//! says what it needs next. Production drives it from `run` with a log
//! copier thread and the real clock; the simulator drives the very same
//! steps from its seeded scheduler. Every server difference is a question to
//! the `Flavor`.

mod closing;
mod copying;
mod datadir;
mod driver;
pub mod filter;
mod hooks;
mod locking;
mod options;
mod precopy;
mod reconcile;
mod shared;
mod stage;
mod witness;

pub use driver::{run, run_until_stopped, Pacer, MIN_POLL_WAIT, PLANNED_PEAK_REDO_RATE};
pub use hooks::TestHooks;
pub use locking::LockWait;
pub use options::BackupOptions;
pub use shared::{PollAgain, SharedFollower};

use crate::copy::delta::DeltaCount;
use crate::copy::CopyLane;
use crate::error::{BackupError, Result};
use crate::events::{emit, EventKind, Phase, Progress, Role};
use crate::flavor::{self, RedoContext, RedoLog};
use crate::format::Lsn;
use crate::io::{write_durable, Clock, SourceFs, TargetDir};
use crate::meta;
use crate::server::{BinlogPos, LoadProbe, LogWrittenProbe, ServerControl};
use stage::{Connected, Copying, Detected, Following, RedoOpened, Stage};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The outside world a backup talks to.
pub struct Services {
    pub server: Box<dyn ServerControl>,
    /// A second line to the server for the log copier (see `LogWrittenProbe`);
    /// None for a server that has none to offer (the MySQL 5.7 follower needs none).
    pub log_probe: Option<Box<dyn LogWrittenProbe>>,
    /// A third line, for `--throttle=auto` (see `LoadProbe`); None: the copy is not paced by the server's load.
    pub load_probe: Option<Box<dyn LoadProbe>>,
    pub fs: Arc<dyn SourceFs>,
    pub target: Arc<dyn TargetDir>,
    pub clock: Arc<dyn Clock>,
    pub progress: Arc<dyn Progress>,
}

/// What a finished backup reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub start_lsn: Lsn,
    /// Checkpoint LSN read after the lock (`to_lsn`).
    pub to_lsn: Lsn,
    /// End of the copied redo (`last_lsn`).
    pub last_lsn: Lsn,
    pub binlog: Option<BinlogPos>,
    pub data_files: u64,
    pub data_bytes: u64,
    pub other_files: u64,
    pub redo_bytes: u64,
    /// How long commits waited: FTWRL (MySQL 5.7) or BLOCK_COMMIT (MariaDB) to the release.
    pub lock_held: Duration,
    /// How long DDL waited: FTWRL or BLOCK_DDL to the release. MariaDB's
    /// writes to non-transactional tables wait about as long (from FLUSH).
    pub ddl_blocked: Duration,
    /// An incremental backup's pages scanned and taken (None: a full backup).
    pub delta: Option<DeltaCount>,
}

/// What the driver should do after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Call `step` again.
    Continue,
    /// Nothing to do before this clock time (a chunk waits for a torn page to settle).
    WaitUntil(Duration),
    Finished(Summary),
}

/// A file-per-table tablespace in the backup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CopiedTable {
    /// From page 0; None while the server has not written page 0 yet (MariaDB
    /// writes it lazily for a new table).
    space_id: Option<u32>,
    /// Where it was read from (outside the datadir for DATA DIRECTORY tables).
    source: PathBuf,
    /// Relative to the backup directory.
    target: PathBuf,
    /// The copied file's identity: under the lock, a file that still has it
    /// is this copy's table (renamed or not) without reading its page 0 again.
    file_id: Option<crate::io::FileId>,
    /// Bytes copied (the file's size when its copy ended).
    bytes: u64,
    /// Its files in the backup: the file, a delta and meta, or `db/t.new`.
    form: crate::copy::delta::CopyForm,
}

/// Where a backup stands: stepping, or over (either way nothing more to do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Failed,
    Completed,
}

/// One full hot backup, phase by phase.
pub struct Backup {
    opts: BackupOptions,
    svc: Services,
    phase: Phase,
    /// Sub-step within a multi-statement phase.
    sub: usize,
    state: State,
    /// What the phases so far learned of the server, its redo log and the copy.
    stage: Stage,
    /// The copy's pace from the connection on (its first sample of the server's
    /// load is taken then), until the pool takes it.
    pace: Option<crate::copy::PaceState>,
    /// The orchestrator's own copy lane.
    lane: CopyLane,
    /// Every file-per-table tablespace copied so far.
    copied_tables: Vec<CopiedTable>,
    /// The FILE_* records of the final redo copy, checked after the release.
    redo_file_ops: Vec<crate::follow::FileOpRecord>,
    /// Space ids of the copied system and undo tablespaces.
    copied_system_spaces: Vec<u32>,
    /// The copy before the lock (flavors that make one), until the lock checks it.
    precopy: Option<precopy::Precopy>,
    /// Non-InnoDB files to copy once DDL is blocked (or before the lock).
    other_files: VecDeque<(PathBuf, PathBuf)>,
    /// Non-InnoDB files the server writes until commits are blocked: copied after that.
    commit_files: VecDeque<(PathBuf, PathBuf)>,
    /// Files copied under the lock and not yet fdatasynced: made durable
    /// after the lock (MariaDB: those copied under BLOCK_DDL, before
    /// BLOCK_COMMIT), so the lock does not grow with the number of tables.
    unsynced: Vec<PathBuf>,
    /// Reused by every non-InnoDB file copy.
    plain_buf: Vec<u8>,
    binlog: Option<BinlogPos>,
    /// The server's LSN at phase 5, before any data file was read.
    server_lsn_before_copy: Lsn,
    to_lsn: Lsn,
    last_lsn: Lsn,
    /// The server's LSN under the lock, before the log flush: every committed
    /// transaction's redo lies below it, so the copy must reach it.
    lsn_under_lock: Lsn,
    start_unix: u64,
    /// When commits began to wait (FTWRL, BLOCK_COMMIT), and for how long they did.
    lock_started: Option<Duration>,
    lock_held: Duration,
    /// When DDL began to wait (FTWRL, BLOCK_DDL), and for how long it did.
    ddl_started: Option<Duration>,
    ddl_blocked: Duration,
    lock_attempted: bool,
    /// `--ftwrl-wait-timeout`'s `lock_wait_timeout` is set on the connection.
    lock_wait_set: bool,
    checkpoints_written: bool,
    /// Aria logs the server says no recovery needs (`SHOW ENGINE ARIA LOGS`): not copied.
    aria_free_logs: Vec<String>,
    data_files: u64,
    data_bytes: u64,
    delta: DeltaCount,
    other_count: u64,
}

impl Backup {
    pub fn new(opts: BackupOptions, svc: Services) -> Self {
        let start_unix = svc.clock.unix_seconds();
        Backup {
            opts,
            svc,
            phase: Phase::ReadOptions,
            sub: 0,
            state: State::Running,
            stage: Stage::Starting,
            pace: None,
            lane: CopyLane::new(1),
            copied_tables: Vec::new(),
            redo_file_ops: Vec::new(),
            copied_system_spaces: Vec::new(),
            precopy: None,
            other_files: VecDeque::new(),
            commit_files: VecDeque::new(),
            unsynced: Vec::new(),
            plain_buf: Vec::new(),
            binlog: None,
            server_lsn_before_copy: 0,
            to_lsn: 0,
            last_lsn: 0,
            lsn_under_lock: 0,
            start_unix,
            lock_started: None,
            lock_held: Duration::ZERO,
            ddl_started: None,
            ddl_blocked: Duration::ZERO,
            lock_attempted: false,
            lock_wait_set: false,
            checkpoints_written: false,
            aria_free_logs: Vec::new(),
            data_files: 0,
            data_bytes: 0,
            delta: DeltaCount::default(),
            other_count: 0,
        }
    }

    /// The phase the next step works on.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The log follower once phase 10 has started it: drivers poll it from then on.
    pub fn running_follower(&self) -> Option<Arc<SharedFollower>> {
        if self.phase > Phase::Threads {
            self.stage.follower().cloned()
        } else {
            None
        }
    }

    /// Runs one step. After an error the backup is aborted: the lock is
    /// released, the log copier stopped and no success marker remains.
    pub fn step(&mut self) -> Result<Next> {
        if self.state != State::Running {
            return Err(BackupError::NotRunning { completed: self.state == State::Completed });
        }
        let outcome = self.check_follower().and_then(|()| self.step_phase());
        match outcome {
            Ok(Next::Finished(summary)) => {
                self.state = State::Completed;
                Ok(Next::Finished(summary))
            }
            Ok(next) => Ok(next),
            Err(e) => {
                self.abort();
                Err(e)
            }
        }
    }

    fn step_phase(&mut self) -> Result<Next> {
        // The stage is handed to the phase apart from `self`, so a phase can
        // borrow its group and change the rest of the backup at once.
        let mut stage = std::mem::take(&mut self.stage);
        let next = self.dispatch(&mut stage);
        self.stage = stage;
        next
    }

    /// Runs the current phase with the group it needs; the phases that learn
    /// a group hand it back and the stage grows by it.
    fn dispatch(&mut self, stage: &mut Stage) -> Result<Next> {
        let phase = self.phase;
        match phase {
            Phase::ReadOptions => self.read_options(),
            Phase::CheckTarget => self.check_target(),
            Phase::Connect => {
                stage.detected(phase, self.connect()?)?;
                self.advance(Phase::LocateDatadir)
            }
            Phase::LocateDatadir => {
                let conn = self.locate_datadir(stage.take_detected(phase)?)?;
                stage.connected(phase, conn)?;
                self.advance(Phase::ServerFacts)
            }
            Phase::ServerFacts => self.server_facts(stage.conn(phase)?),
            Phase::SizeRedoLog => {
                let log = self.open_redo_log(stage.conn(phase)?)?;
                stage.redo_opened(phase, log)?;
                self.advance(Phase::FindCheckpoint)
            }
            Phase::FindCheckpoint => self.find_checkpoint(stage.redo(phase)?),
            Phase::StartLogFile => {
                let (follower, start_lsn) = self.start_log_file(stage.redo(phase)?)?;
                stage.following(phase, follower, start_lsn)?;
                self.advance(Phase::FirstLogCopy)
            }
            Phase::FirstLogCopy => self.first_log_copy(stage.followed(phase)?),
            Phase::Threads => self.threads(),
            Phase::TablespaceScan => {
                let (pool, layout) = self.tablespace_scan(stage.conn(phase)?)?;
                stage.copying(phase, pool, layout)?;
                self.advance(Phase::DataCopy)
            }
            Phase::DataCopy => self.copy_data_step(stage.copy(phase)?),
            Phase::LogFollows => self.log_follows(stage.copy(phase)?),
            Phase::Lock => self.lock_step(stage.copy(phase)?),
            Phase::NonInnodbFiles => self.non_innodb_step(stage.copy(phase)?),
            Phase::BinlogPosition => self.binlog_position(stage.copy(phase)?),
            Phase::FlushRedo => self.flush_redo(),
            Phase::LastCheckpoint => self.last_checkpoint(stage.copy(phase)?),
            Phase::StopLogCopy => self.stop_log_copy(stage.copy(phase)?),
            Phase::CheckpointsFile => self.checkpoints_file(stage.copy(phase)?),
            Phase::Unlock => self.unlock(stage.copy(phase)?),
            Phase::Report => self.report(stage.copy(phase)?),
            Phase::BackupMyCnf => self.backup_my_cnf(stage.copy(phase)?),
            Phase::XtrabackupInfo => self.xtrabackup_info(stage.copy(phase)?),
            Phase::Finish => self.finish(stage.copy(phase)?),
        }
    }

    fn check_follower(&self) -> Result<()> {
        match self.stage.follower().and_then(|f| f.take_error()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Leaves nothing that looks like success and never leaves the server locked.
    fn abort(&mut self) {
        self.state = State::Failed;
        if let Some(f) = self.stage.follower() {
            f.stop();
        }
        if let Some(pool) = self.stage.pool() {
            pool.stop();
        }
        if self.lock_attempted {
            // Best effort: the connection may be the thing that failed; the
            // server drops the lock with the connection in that case.
            let _ = self.svc.server.unlock();
            self.lock_attempted = false;
        }
        if self.checkpoints_written {
            let _ = self.svc.target.remove_file(Path::new(meta::CHECKPOINTS_PENDING));
            let _ = self.svc.target.remove_file(Path::new(meta::CHECKPOINTS_FILE));
            self.checkpoints_written = false;
        }
    }

    fn advance(&mut self, to: Phase) -> Result<Next> {
        self.phase = to;
        self.sub = 0;
        Ok(Next::Continue)
    }

    fn note(&self, phase: Phase, text: impl Into<String>) {
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::Note(text.into()));
    }

    fn begin(&self, phase: Phase) {
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::PhaseStarted);
    }

    fn statement(&self, phase: Phase, text: &str) {
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::Statement(text.to_string()));
    }

    fn redo_context<'a>(&'a self, conn: &'a Connected) -> RedoContext<'a> {
        RedoContext {
            fs: self.svc.fs.clone(),
            target: &*self.svc.target,
            vars: &conn.vars,
            datadir: &conn.datadir,
            read_step: self.opts.log_read_step,
            progress: self.svc.progress.clone(),
            clock: self.svc.clock.clone(),
            server_lsn_before_copy: self.server_lsn_before_copy,
        }
    }

    fn write_meta(&self, phase: Phase, name: &str, text: String) -> Result<()> {
        let path = self.svc.target.root().join(name);
        write_durable(&*self.svc.target, Path::new(name), text.as_bytes())
            .map_err(|e| BackupError::io(&path, "writing", e))?;
        let kind = EventKind::Written { file: name.to_string(), bytes: text.len() as u64 };
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, kind);
        Ok(())
    }

    /// `write_meta` for a file written while commits wait: its fdatasync is
    /// left to phase 22, after the release (phase 25 publishes nothing before).
    fn write_meta_under_lock(&mut self, phase: Phase, name: &str, text: String) -> Result<()> {
        let path = self.svc.target.root().join(name);
        let mut f = self.svc.target.create_file(Path::new(name)).map_err(|e| BackupError::io(&path, "creating", e))?;
        f.write_at(text.as_bytes(), 0).map_err(|e| BackupError::io(&path, "writing", e))?;
        self.unsynced.push(PathBuf::from(name));
        let kind = EventKind::Written { file: name.to_string(), bytes: text.len() as u64 };
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, kind);
        Ok(())
    }

    // ---- phases 1-10: options, server, redo log ------------------------------

    fn read_options(&mut self) -> Result<Next> {
        let phase = Phase::ReadOptions;
        self.begin(phase);
        let c = &self.opts.copy;
        self.note(
            phase,
            format!(
                "options from {}: chunk {} bytes, {} page re-reads {} ms apart, O_DIRECT {}, fadvise {}, log poll {} {} ms{}",
                self.opts.options_source,
                c.chunk_size,
                c.page_retries,
                c.retry_delay.as_millis(),
                on_off(c.read_policy.direct),
                on_off(c.read_policy.fadvise),
                if self.opts.log_poll_fixed { "every" } else { "at most every" },
                self.opts.log_poll_interval.as_millis(),
                if self.opts.log_poll_fixed { "" } else { " (sooner while the server writes)" }
            ),
        );
        self.advance(Phase::CheckTarget)
    }

    fn check_target(&mut self) -> Result<Next> {
        let phase = Phase::CheckTarget;
        self.begin(phase);
        let root = self.svc.target.root().to_path_buf();
        self.svc
            .target
            .create_dir_all(Path::new(""))
            .map_err(|e| BackupError::io(&root, "creating the target directory", e))?;
        self.note(phase, "Starting the backup operation");
        self.advance(Phase::Connect)
    }

    fn connect(&mut self) -> Result<Detected> {
        let phase = Phase::Connect;
        self.begin(phase);
        let vars = self.svc.server.variables()?;
        let flavor = flavor::detect(&vars)?;
        copying::check_streamable(&*flavor, &*self.svc.target)?;
        self.note(phase, format!("Using server version {} ({})", vars.version(), flavor.name()));
        self.start_pacing(phase);
        Ok(Detected { vars, flavor })
    }

    fn locate_datadir(&mut self, detected: Detected) -> Result<Connected> {
        let phase = Phase::LocateDatadir;
        self.begin(phase);
        let configured = PathBuf::from(detected.vars.require("datadir")?);
        if let Some(given) = self.opts.datadir.clone() {
            return self.locate_given_datadir(phase, detected, configured, given);
        }
        let datadir = self
            .svc
            .fs
            .canonicalize(&configured)
            .map_err(|e| BackupError::io(&configured, "resolving the datadir", e))?;
        if datadir != configured {
            self.note(phase, format!("datadir {} -> {}", configured.display(), datadir.display()));
        }
        Ok(Connected { vars: detected.vars, flavor: detected.flavor, datadir })
    }

    fn server_facts(&mut self, conn: &Connected) -> Result<Next> {
        let phase = Phase::ServerFacts;
        self.begin(phase);
        if self.opts.slave_info && !conn.flavor.has_all_slaves_status() {
            return Err(BackupError::Unsupported(format!(
                "--slave-info: innohot reads the replica's position from SHOW ALL SLAVES STATUS, which {} does not \
                 have; back up without --slave-info and take the position from SHOW SLAVE STATUS, or use xtrabackup",
                conn.flavor.name()
            )));
        }
        if self.opts.checkpoint_first {
            self.statement(phase, "SET GLOBAL innodb_log_checkpoint_now=ON");
            self.svc.server.checkpoint_now()?;
        }
        self.read_aria_free_logs(phase)?;
        let lsn = self.svc.server.current_lsn()?;
        self.server_lsn_before_copy = lsn;
        self.note(phase, format!("server log sequence number {lsn}"));
        self.incremental_from_history(phase, conn)?;
        if let Some(from) = self.opts.copy.incremental_from {
            if from > lsn {
                return Err(BackupError::Config(format!(
                    "the incremental backup starts at LSN {from}, beyond this server's LSN {lsn}: its base is not a \
                     backup of this server (or the server was restored from an older backup since); take a full \
                     backup"
                )));
            }
            self.note(phase, format!("incremental backup from LSN {from}: only pages changed since are copied"));
        }
        for name in conn.flavor.reported_variables() {
            self.note(phase, format!("{name} = {}", conn.vars.get(name).unwrap_or("")));
        }
        self.advance(Phase::SizeRedoLog)
    }

    /// `--incremental-history-name` / `-uuid`: the base is the newest backup
    /// of that name (or uuid) in the server's history table.
    fn incremental_from_history(&mut self, phase: Phase, conn: &Connected) -> Result<()> {
        let Some(by) = self.opts.incremental_history.clone() else { return Ok(()) };
        let table = conn.flavor.history_table();
        self.statement(phase, &format!("SELECT innodb_to_lsn FROM {} (--incremental-history)", table.name()));
        let (what, key) = match &by {
            crate::server::HistoryRow::Name(n) => ("name", n),
            crate::server::HistoryRow::Uuid(u) => ("uuid", u),
        };
        match self.svc.server.history_to_lsn(table, &by)? {
            Some(lsn) => {
                self.note(phase, format!("the base is the newest backup with {what} '{key}' in {}", table.name()));
                self.opts.copy.incremental_from = Some(lsn);
                Ok(())
            }
            None => Err(BackupError::Config(format!(
                "Error while attempting to find history record for {what} {key}: {} has no completed backup with \
                 that {what}; give the base with --incremental-basedir instead",
                table.name()
            ))),
        }
    }

    fn open_redo_log(&mut self, conn: &Connected) -> Result<Box<dyn RedoLog>> {
        self.begin(Phase::SizeRedoLog);
        let log = conn.flavor.open_redo_log(&self.redo_context(conn))?;
        self.note(Phase::SizeRedoLog, log.describe());
        Ok(log)
    }

    fn find_checkpoint(&mut self, redo: &RedoOpened) -> Result<Next> {
        self.begin(Phase::FindCheckpoint);
        // Phase 8 reads it again; this one reports what the copy will start from.
        let cp = redo.redo_log.read_checkpoint(&self.redo_context(&redo.conn))?;
        self.note(Phase::FindCheckpoint, cp.description);
        self.advance(Phase::StartLogFile)
    }

    /// Starts the redo copy; returns the follower and where its copy starts.
    fn start_log_file(&mut self, redo: &RedoOpened) -> Result<(Arc<SharedFollower>, Lsn)> {
        let phase = Phase::StartLogFile;
        self.begin(phase);
        let probe = self.svc.log_probe.take();
        let follower = redo.redo_log.start_follower(&self.redo_context(&redo.conn), probe)?;
        let start_lsn = follower.start_lsn();
        let file = format!("{} header", follower.target_name());
        emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::Written { file, bytes: 0 });
        Ok((Arc::new(SharedFollower::new(follower)), start_lsn))
    }

    fn first_log_copy(&mut self, run: &Following) -> Result<Next> {
        self.begin(Phase::FirstLogCopy);
        run.follower.lock().poll(false)?;
        self.advance(Phase::Threads)
    }

    fn threads(&mut self) -> Result<Next> {
        self.begin(Phase::Threads);
        self.note(Phase::Threads, "log copier running");
        self.advance(Phase::TablespaceScan)
    }

    fn log_follows(&mut self, copying: &Copying) -> Result<Next> {
        let pause = self.opts.test_hooks.pause_before_lock;
        if !pause.is_zero() && self.sub == 0 {
            self.sub = 1;
            self.note(Phase::LogFollows, format!("test setting: pausing {} ms before the lock", pause.as_millis()));
            return Ok(Next::WaitUntil(self.svc.clock.now() + pause));
        }
        // A stream cannot take back a copy that changed before the lock: it copies under the lock only.
        if copying.conn().flavor.copies_non_innodb_before_lock() && !self.svc.target.streams() {
            if let Some(next) = self.before_lock_step(copying)? {
                return Ok(next);
            }
        }
        self.advance(Phase::Lock)
    }
}

fn on_off(b: bool) -> &'static str {
    ["off", "on"][b as usize]
}
