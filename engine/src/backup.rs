//! The orchestrator: the seed's 25 phases in order, one bounded step at a time.
//!
//! `Backup::step` does one piece of work (a statement, a chunk, a file) and
//! says what it needs next. Production drives it from `run` with a log
//! copier thread and the real clock; the simulator drives the very same
//! steps from its seeded scheduler.

use crate::copy::{self, CopySettings, CopyStep, FileCopier, InnodbLayout, Tablespace};
use crate::error::{BackupError, Result};
use crate::events::{emit, EventKind, Phase, Progress, Role};
use crate::flavor::{self, Flavor, RedoContext};
use crate::follow::RedoFollower;
use crate::format::Lsn;
use crate::io::{write_durable, Clock, SourceFs, TargetDir};
use crate::meta;
use crate::server::{BinlogPos, LockStep, ServerControl, ServerVars};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the backup runs: the user's knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOptions {
    pub copy: CopySettings,
    /// Bytes read from the redo ring per step.
    pub log_read_step: usize,
    /// How often the log copier looks for new redo (xtrabackup: 1 s).
    pub log_poll_interval: Duration,
    /// The command line as recorded in xtrabackup_info, secrets already masked.
    pub tool_command: String,
    /// Where the options came from, for phase 1's report.
    pub options_source: String,
    /// Test only: waits this long after the data copy, before the lock, so a
    /// test can make the server outrun the log copier on purpose.
    pub debug_pause_before_lock: Duration,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            copy: CopySettings::default(),
            log_read_step: crate::follow::DEFAULT_READ_STEP,
            log_poll_interval: Duration::from_secs(1),
            tool_command: String::new(),
            options_source: "command line".into(),
            debug_pause_before_lock: Duration::ZERO,
        }
    }
}

/// The outside world a backup talks to.
pub struct Services {
    pub server: Box<dyn ServerControl>,
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
    pub lock_held: Duration,
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

/// The log follower as shared between the orchestrator and whoever polls it.
pub struct SharedFollower {
    follower: Mutex<Box<dyn RedoFollower>>,
    error: Mutex<Option<BackupError>>,
    stop: AtomicBool,
}

/// What a background poll says about the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollAgain {
    Yes,
    No,
}

impl SharedFollower {
    fn new(f: Box<dyn RedoFollower>) -> Self {
        SharedFollower { follower: Mutex::new(f), error: Mutex::new(None), stop: AtomicBool::new(false) }
    }

    /// One background copy pass; a failure is kept for the orchestrator to raise.
    pub fn background_poll(&self) -> PollAgain {
        if self.stop.load(Ordering::SeqCst) {
            return PollAgain::No;
        }
        let mut f = self.follower.lock().expect("follower lock");
        if f.is_finished() {
            return PollAgain::No;
        }
        match f.poll(false) {
            Ok(_) => PollAgain::Yes,
            Err(e) => {
                *self.error.lock().expect("follower error lock") = Some(e);
                self.stop.store(true, Ordering::SeqCst);
                PollAgain::No
            }
        }
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// See `RedoFollower::copied_lsn`.
    pub fn copied_lsn(&self) -> Lsn {
        self.follower.lock().expect("follower lock").copied_lsn()
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether the copier stopped because the server overwrote redo it had not copied.
    pub fn failed_with_lap(&self) -> bool {
        matches!(
            &*self.error.lock().expect("follower error lock"),
            Some(BackupError::RedoLapped { .. } | BackupError::RedoWrapped { .. })
        )
    }

    fn take_error(&self) -> Option<BackupError> {
        self.error.lock().expect("follower error lock").take()
    }
}

/// One full hot backup of a MySQL 5.7 server, phase by phase.
pub struct Backup {
    opts: BackupOptions,
    svc: Services,
    phase: Phase,
    /// Sub-step within a multi-statement phase.
    sub: usize,
    vars: ServerVars,
    datadir: PathBuf,
    flavor: Option<Box<dyn Flavor>>,
    follower: Option<Arc<SharedFollower>>,
    tablespaces: VecDeque<Tablespace>,
    copier: Option<FileCopier>,
    innodb_layout: Option<InnodbLayout>,
    /// Space id (None: page 0 not written yet) and backup path of every copied
    /// file-per-table tablespace.
    copied_tables: Vec<(Option<u32>, PathBuf)>,
    other_files: VecDeque<(PathBuf, PathBuf)>,
    /// Reused by every non-InnoDB file copy.
    plain_buf: Vec<u8>,
    binlog: Option<BinlogPos>,
    start_lsn: Lsn,
    to_lsn: Lsn,
    last_lsn: Lsn,
    /// The server's LSN under the lock, before the log flush: every committed
    /// transaction's redo lies below it, so the copy must reach it.
    lsn_under_lock: Lsn,
    start_unix: u64,
    lock_started: Option<Duration>,
    lock_held: Duration,
    lock_attempted: bool,
    checkpoints_written: bool,
    data_files: u64,
    data_bytes: u64,
    other_count: u64,
    failed: bool,
}

impl Backup {
    pub fn new(opts: BackupOptions, svc: Services) -> Self {
        let start_unix = svc.clock.unix_seconds();
        Backup {
            opts,
            svc,
            phase: Phase::ReadOptions,
            sub: 0,
            vars: ServerVars::default(),
            datadir: PathBuf::new(),
            flavor: None,
            follower: None,
            tablespaces: VecDeque::new(),
            copier: None,
            innodb_layout: None,
            copied_tables: Vec::new(),
            other_files: VecDeque::new(),
            plain_buf: Vec::new(),
            binlog: None,
            start_lsn: 0,
            to_lsn: 0,
            last_lsn: 0,
            lsn_under_lock: 0,
            start_unix,
            lock_started: None,
            lock_held: Duration::ZERO,
            lock_attempted: false,
            checkpoints_written: false,
            data_files: 0,
            data_bytes: 0,
            other_count: 0,
            failed: false,
        }
    }

    /// The phase the next step works on.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The log follower once phase 10 has started it: drivers poll it from then on.
    pub fn running_follower(&self) -> Option<Arc<SharedFollower>> {
        if self.phase > Phase::Threads {
            self.follower.clone()
        } else {
            None
        }
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

    /// Runs one step. After an error the backup is aborted: the lock is
    /// released, the log copier stopped and no success marker remains.
    pub fn step(&mut self) -> Result<Next> {
        if self.failed {
            return Err(BackupError::FollowerGone("the backup already failed".into()));
        }
        let outcome = self.check_follower().and_then(|()| self.step_inner());
        match outcome {
            Ok(next) => Ok(next),
            Err(e) => {
                self.abort();
                Err(e)
            }
        }
    }

    fn check_follower(&self) -> Result<()> {
        if let Some(f) = &self.follower {
            if let Some(e) = f.take_error() {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Leaves nothing that looks like success and never leaves the server locked.
    fn abort(&mut self) {
        self.failed = true;
        if let Some(f) = &self.follower {
            f.stop();
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

    fn step_inner(&mut self) -> Result<Next> {
        let phase = self.phase;
        match phase {
            Phase::ReadOptions => {
                self.begin(phase);
                let c = &self.opts.copy;
                self.note(
                    phase,
                    format!(
                        "options from {}: chunk {} bytes, {} page re-reads {} ms apart, O_DIRECT {}, fadvise {}, log poll every {} ms",
                        self.opts.options_source,
                        c.chunk_size,
                        c.page_retries,
                        c.retry_delay.as_millis(),
                        on_off(c.read_policy.direct),
                        on_off(c.read_policy.fadvise),
                        self.opts.log_poll_interval.as_millis()
                    ),
                );
                self.advance(Phase::CheckTarget)
            }
            Phase::CheckTarget => {
                self.begin(phase);
                let root = self.svc.target.root().to_path_buf();
                self.svc
                    .target
                    .create_dir_all(Path::new(""))
                    .map_err(|e| BackupError::io(&root, "creating the target directory", e))?;
                self.note(phase, "Starting the backup operation");
                self.advance(Phase::Connect)
            }
            Phase::Connect => {
                self.begin(phase);
                self.vars = self.svc.server.variables()?;
                let flavor = flavor::detect(&self.vars)?;
                self.note(phase, format!("Using server version {} ({})", self.vars.version(), flavor.name()));
                self.flavor = Some(flavor);
                self.advance(Phase::LocateDatadir)
            }
            Phase::LocateDatadir => {
                self.begin(phase);
                let configured = PathBuf::from(self.vars.require("datadir")?);
                self.datadir = self
                    .svc
                    .fs
                    .canonicalize(&configured)
                    .map_err(|e| BackupError::io(&configured, "resolving the datadir", e))?;
                if self.datadir != configured {
                    self.note(phase, format!("datadir {} -> {}", configured.display(), self.datadir.display()));
                }
                self.advance(Phase::ServerFacts)
            }
            Phase::ServerFacts => {
                self.begin(phase);
                let lsn = self.svc.server.current_lsn()?;
                self.note(phase, format!("server log sequence number {lsn}"));
                for name in [
                    "innodb_data_home_dir",
                    "innodb_data_file_path",
                    "innodb_log_group_home_dir",
                    "innodb_log_files_in_group",
                    "innodb_log_file_size",
                    "innodb_page_size",
                    "innodb_undo_tablespaces",
                ] {
                    self.note(phase, format!("{name} = {}", self.vars.get(name).unwrap_or("")));
                }
                self.advance(Phase::SizeRedoLog)
            }
            Phase::SizeRedoLog => {
                self.begin(phase);
                let mut flavor = self.flavor.take().expect("detected in phase 3");
                let said = flavor.size_redo_log(&self.redo_context());
                self.flavor = Some(flavor);
                self.note(phase, said?);
                self.advance(Phase::FindCheckpoint)
            }
            Phase::FindCheckpoint => {
                self.begin(phase);
                // Phase 8 reads it again; this one reports what the copy will start from.
                let cp = self.flavor().read_checkpoint(&self.redo_context())?;
                self.note(phase, cp.description);
                self.advance(Phase::StartLogFile)
            }
            Phase::StartLogFile => {
                self.begin(phase);
                let follower = self.flavor().start_follower(&self.redo_context())?;
                self.start_lsn = follower.start_lsn();
                let file = format!("{} header", follower.target_name());
                emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::Written { file, bytes: 0 });
                self.follower = Some(Arc::new(SharedFollower::new(follower)));
                self.advance(Phase::FirstLogCopy)
            }
            Phase::FirstLogCopy => {
                self.begin(phase);
                let f = self.follower.as_ref().expect("follower started in phase 8");
                f.follower.lock().expect("follower lock").poll(false)?;
                self.advance(Phase::Threads)
            }
            Phase::Threads => {
                self.begin(phase);
                self.note(phase, "log copier running");
                self.advance(Phase::TablespaceScan)
            }
            Phase::TablespaceScan => {
                self.begin(phase);
                for &step in self.flavor().before_copy() {
                    self.lock_statement(phase, step)?;
                }
                self.scan_tablespaces()?;
                self.advance(Phase::DataCopy)
            }
            Phase::DataCopy => self.copy_data_step(),
            Phase::LogFollows => {
                let pause = self.opts.debug_pause_before_lock;
                if !pause.is_zero() && self.sub == 0 {
                    self.sub = 1;
                    self.note(phase, format!("test setting: pausing {} ms before the lock", pause.as_millis()));
                    return Ok(Next::WaitUntil(self.svc.clock.now() + pause));
                }
                self.advance(Phase::Lock)
            }
            Phase::Lock => self.lock_step(),
            Phase::NonInnodbFiles => self.non_innodb_step(),
            Phase::BinlogPosition => {
                self.begin(phase);
                for &step in self.flavor().before_binlog() {
                    self.lock_statement(phase, step)?;
                }
                self.statement(phase, "SHOW MASTER STATUS");
                self.binlog = self.svc.server.binlog_position()?;
                if let Some(pos) = &self.binlog {
                    self.write_meta(phase, meta::BINLOG_INFO_FILE, meta::binlog_info(pos))?;
                }
                self.advance(Phase::FlushRedo)
            }
            Phase::FlushRedo => {
                self.begin(phase);
                self.statement(phase, "SHOW ENGINE INNODB STATUS");
                self.lsn_under_lock = self.svc.server.current_lsn()?;
                self.statement(phase, "FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS");
                self.svc.server.flush_engine_logs()?;
                self.advance(Phase::LastCheckpoint)
            }
            Phase::LastCheckpoint => {
                self.begin(phase);
                let cp = self.flavor().read_checkpoint(&self.redo_context())?;
                self.to_lsn = cp.lsn;
                self.note(phase, format!("The latest check point (for incremental): '{}'", cp.lsn));
                self.advance(Phase::StopLogCopy)
            }
            Phase::StopLogCopy => {
                self.begin(phase);
                self.note(phase, "Stopping log copying thread");
                let f = self.follower.clone().expect("follower started in phase 8");
                f.stop();
                let mut follower = f.follower.lock().expect("follower lock");
                follower.poll(true)?;
                self.last_lsn = follower.last_lsn();
                self.start_lsn = follower.start_lsn();
                drop(follower);
                if self.last_lsn < self.lsn_under_lock {
                    return Err(BackupError::RedoCorrupt {
                        lsn: self.last_lsn,
                        detail: format!(
                            "the redo copy ends at LSN {} but the server was at LSN {} under the lock: \
                             committed transactions would be missing; the server did not write its log \
                             to disk on FLUSH ENGINE LOGS (check innodb_log_group_home_dir)",
                            self.last_lsn, self.lsn_under_lock
                        ),
                    });
                }
                if self.to_lsn > self.last_lsn {
                    return Err(BackupError::CheckpointBeyondCopy { checkpoint: self.to_lsn, last_lsn: self.last_lsn });
                }
                self.advance(Phase::CheckpointsFile)
            }
            Phase::CheckpointsFile => {
                self.begin(phase);
                self.checkpoints_written = true;
                let text = self.flavor().checkpoints_file(self.to_lsn, self.last_lsn);
                self.write_meta(phase, meta::CHECKPOINTS_PENDING, text)?;
                self.advance(Phase::Unlock)
            }
            Phase::Unlock => {
                self.begin(phase);
                self.statement(phase, self.flavor().unlock_statement());
                self.svc.server.unlock()?;
                self.lock_attempted = false;
                if let Some(t) = self.lock_started.take() {
                    self.lock_held = self.svc.clock.now().saturating_sub(t);
                }
                self.advance(Phase::Report)
            }
            Phase::Report => {
                self.begin(phase);
                match &self.binlog {
                    Some(pos) => self.note(phase, format!("MySQL binlog position: {}", meta::binlog_pos_text(pos))),
                    None => self.note(phase, "binary logging is off: no binlog position recorded"),
                }
                self.advance(Phase::BackupMyCnf)
            }
            Phase::BackupMyCnf => {
                self.begin(phase);
                let cnf = self.flavor().backup_my_cnf(&self.vars);
                self.write_meta(phase, meta::BACKUP_MY_CNF, cnf)?;
                self.advance(Phase::XtrabackupInfo)
            }
            Phase::XtrabackupInfo => {
                self.begin(phase);
                self.statement(phase, "SELECT UUID()");
                let uuid = self.svc.server.uuid()?;
                let info = meta::BackupInfo {
                    uuid,
                    tool_command: self.opts.tool_command.clone(),
                    tool_version: env!("CARGO_PKG_VERSION").to_string(),
                    server_version: self.vars.version().to_string(),
                    start_unix: self.start_unix,
                    end_unix: self.svc.clock.unix_seconds(),
                    lock_seconds: self.lock_held.as_secs(),
                    binlog: self.binlog.clone(),
                    from_lsn: 0,
                    to_lsn: self.to_lsn,
                };
                self.write_meta(phase, meta::INFO_FILE, meta::info(&info))?;
                self.advance(Phase::Finish)
            }
            Phase::Finish => {
                self.begin(phase);
                let root = self.svc.target.root().to_path_buf();
                self.svc
                    .target
                    .publish(Path::new(meta::CHECKPOINTS_PENDING), Path::new(meta::CHECKPOINTS_FILE))
                    .map_err(|e| BackupError::io(root.join(meta::CHECKPOINTS_FILE), "publishing", e))?;
                self.note(phase, format!("{} published: the backup is complete", meta::CHECKPOINTS_FILE));
                self.svc
                    .target
                    .sync_dir(Path::new(""))
                    .map_err(|e| BackupError::io(&root, "fsync of the target directory", e))?;
                self.note(
                    phase,
                    format!("Transaction log of lsn ({}) to ({}) was copied.", self.start_lsn, self.last_lsn),
                );
                emit(&*self.svc.progress, &*self.svc.clock, phase, Role::Main, EventKind::Completed);
                self.failed = true; // nothing more to step
                Ok(Next::Finished(Summary {
                    start_lsn: self.start_lsn,
                    to_lsn: self.to_lsn,
                    last_lsn: self.last_lsn,
                    binlog: self.binlog.clone(),
                    data_files: self.data_files,
                    data_bytes: self.data_bytes,
                    other_files: self.other_count,
                    redo_bytes: self.last_lsn - self.start_lsn,
                    lock_held: self.lock_held,
                }))
            }
        }
    }

    fn flavor(&self) -> &dyn Flavor {
        self.flavor.as_deref().expect("detected in phase 3")
    }

    fn redo_context(&self) -> RedoContext<'_> {
        RedoContext {
            fs: self.svc.fs.clone(),
            target: &*self.svc.target,
            vars: &self.vars,
            datadir: &self.datadir,
            read_step: self.opts.log_read_step,
            progress: self.svc.progress.clone(),
            clock: self.svc.clock.clone(),
        }
    }

    /// Runs one lock statement; from the first one on, the abort path releases.
    fn lock_statement(&mut self, phase: Phase, step: LockStep) -> Result<()> {
        self.statement(phase, step.statement());
        self.lock_attempted = true;
        if matches!(step, LockStep::ReadLock | LockStep::StageBlockDdl) && self.lock_started.is_none() {
            self.lock_started = Some(self.svc.clock.now());
        }
        self.svc.server.lock(step)?;
        Ok(())
    }

    fn scan_tablespaces(&mut self) -> Result<()> {
        let vars = &self.vars;
        let layout = InnodbLayout {
            datadir: self.datadir.clone(),
            data_home_dir: copy::server_dir(&self.datadir, vars.get("innodb_data_home_dir")),
            data_files: copy::parse_data_file_path(vars.require("innodb_data_file_path")?)?,
            undo_dir: copy::server_dir(&self.datadir, vars.get("innodb_undo_directory")),
            undo_tablespaces: vars.get("innodb_undo_tablespaces").and_then(|v| v.parse().ok()).unwrap_or(0),
        };
        let found = copy::discover_tablespaces(&*self.svc.fs, &layout)?;
        self.note(Phase::TablespaceScan, format!("{} InnoDB data files to copy", found.len()));
        self.tablespaces = found.into();
        self.innodb_layout = Some(layout);
        Ok(())
    }

    fn copy_data_step(&mut self) -> Result<Next> {
        if self.data_files == 0 && self.copier.is_none() {
            self.begin(Phase::DataCopy);
        }
        match self.copy_tablespace_step(Phase::DataCopy)? {
            Some(next) => Ok(next),
            None => self.advance(Phase::LogFollows),
        }
    }

    /// One step of copying the queued tablespaces; None once the queue is empty.
    fn copy_tablespace_step(&mut self, phase: Phase) -> Result<Option<Next>> {
        if self.copier.is_none() {
            let Some(ts) = self.tablespaces.pop_front() else { return Ok(None) };
            let page_size = self.vars.get("innodb_page_size").and_then(|v| v.parse().ok()).unwrap_or(16384);
            let opened = FileCopier::open(
                ts.clone(),
                &*self.svc.fs,
                &*self.svc.target,
                &self.opts.copy,
                page_size,
                (phase, Role::DataCopier(1)),
                self.svc.progress.clone(),
                self.svc.clock.clone(),
            );
            match opened {
                Ok(c) => self.copier = Some(c),
                // Dropped between the scan and now: the lock-time rescan settles it.
                Err(BackupError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && ts.kind == copy::TablespaceKind::Table =>
                {
                    self.note(phase, format!("{} vanished (dropped during the backup)", ts.source.display()));
                }
                Err(e) => return Err(e),
            }
            return Ok(Some(Next::Continue));
        }
        let copier = self.copier.as_mut().expect("checked above");
        Ok(Some(match copier.step()? {
            CopyStep::Copied { .. } => Next::Continue,
            CopyStep::RetryAt(t) => Next::WaitUntil(t),
            CopyStep::Done { bytes } => {
                if copier.tablespace().kind == copy::TablespaceKind::Table {
                    self.copied_tables.push((copier.space_id(), copier.tablespace().target.clone()));
                }
                self.data_files += 1;
                self.data_bytes += bytes;
                self.copier = None;
                Next::Continue
            }
        }))
    }

    /// Under the lock no DDL runs: make the backup's tablespaces the server's.
    /// Tables created during the copy are copied now (their redo starts after
    /// the start checkpoint), dropped ones leave the backup, renamed ones
    /// follow their new name; all matched by space id.
    fn reconcile_tablespaces(&mut self) -> Result<()> {
        let phase = Phase::NonInnodbFiles;
        let layout = self.innodb_layout.clone().expect("scanned in phase 11");
        let mut live = Vec::new();
        for ts in copy::discover_tablespaces(&*self.svc.fs, &layout)? {
            if ts.kind == copy::TablespaceKind::Table {
                live.push((copy::read_space_id(&*self.svc.fs, &ts.source)?, ts));
            }
        }
        let target = self.svc.target.clone();
        let io = |path: &Path, op: &'static str| {
            let full = target.root().join(path);
            move |e| BackupError::io(full, op, e)
        };
        // A file whose page 0 is not written yet (MariaDB writes it lazily) has no
        // id to match by, and its path proves nothing (TRUNCATE, or DROP and CREATE,
        // reuse the name for a new table): such a copy counts as dropped and the live
        // file as created, so it is copied again now. It was created after the start
        // checkpoint (its pages were still unwritten), so the copied redo rebuilds it.
        let same = |copied: &(Option<u32>, PathBuf), live: &(Option<u32>, copy::Tablespace)| match (copied.0, live.0) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        // Dropped: copied, but no live file matches.
        let mut kept = Vec::new();
        for c in std::mem::take(&mut self.copied_tables) {
            if live.iter().any(|l| same(&c, l)) {
                kept.push(c);
            } else {
                let rel = &c.1;
                target.remove_file(rel).map_err(io(rel, "removing a dropped table's copy"))?;
                self.note(phase, format!("{} was dropped during the backup: removed from it", rel.display()));
            }
        }
        // Renamed: two moves through temporary names, so swaps and chains work.
        let mut moves = Vec::new();
        for c in &mut kept {
            if let Some(l) = live.iter().find(|l| same(c, l)) {
                if l.1.target != c.1 {
                    let tmp = PathBuf::from(format!("{}.innohot-rename", c.1.display()));
                    target.publish(&c.1, &tmp).map_err(io(&c.1, "renaming a renamed table's copy"))?;
                    moves.push((tmp, l.1.target.clone(), c.1.clone()));
                    c.1 = l.1.target.clone();
                }
            }
        }
        for (tmp, to, from) in moves {
            if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
                target.create_dir_all(parent).map_err(io(parent, "creating a directory"))?;
            }
            target.publish(&tmp, &to).map_err(io(&to, "renaming a renamed table's copy"))?;
            self.note(phase, format!("{} was renamed to {} during the backup", from.display(), to.display()));
        }
        // Created: live files no copy matches.
        for l in live {
            if !kept.iter().any(|c| same(c, &l)) {
                self.note(phase, format!("{} was created during the backup: copying it now", l.1.source.display()));
                self.tablespaces.push_back(l.1);
            }
        }
        self.copied_tables = kept;
        Ok(())
    }

    fn lock_step(&mut self) -> Result<Next> {
        if self.sub == 0 {
            self.begin(Phase::Lock);
        }
        let steps = self.flavor().lock_steps();
        let step = steps[self.sub];
        if step != LockStep::LongLockWait && step != LockStep::FlushTables {
            self.lock_statement(Phase::Lock, step)?;
        } else {
            // Session settings and a flush: nothing held yet.
            self.statement(Phase::Lock, step.statement());
            self.svc.server.lock(step)?;
        }
        self.sub += 1;
        if self.sub == steps.len() {
            let mut files = self.flavor().top_level_files(&*self.svc.fs, &self.datadir)?;
            files.extend(copy::discover_non_innodb(&*self.svc.fs, &self.datadir)?);
            self.other_files = files.into();
            return self.advance(Phase::NonInnodbFiles);
        }
        Ok(Next::Continue)
    }

    fn non_innodb_step(&mut self) -> Result<Next> {
        if self.sub == 0 {
            self.begin(Phase::NonInnodbFiles);
            self.reconcile_tablespaces()?;
            self.sub = 1;
        }
        if let Some(next) = self.copy_tablespace_step(Phase::NonInnodbFiles)? {
            return Ok(next);
        }
        let Some((source, rel)) = self.other_files.pop_front() else {
            self.note(Phase::NonInnodbFiles, "Finished backing up non-InnoDB tables and files");
            return self.advance(Phase::BinlogPosition);
        };
        let target = self.svc.target.root().join(&rel);
        let (progress, clock) = (&*self.svc.progress, &*self.svc.clock);
        emit(
            progress,
            clock,
            Phase::NonInnodbFiles,
            Role::Main,
            EventKind::CopyStarted { source: source.display().to_string(), target: target.display().to_string() },
        );
        let bytes = copy::copy_plain_file(
            &*self.svc.fs,
            &*self.svc.target,
            &source,
            &rel,
            self.opts.copy.chunk_size,
            &mut self.plain_buf,
        )?;
        emit(
            progress,
            clock,
            Phase::NonInnodbFiles,
            Role::Main,
            EventKind::CopyDone { target: target.display().to_string(), bytes },
        );
        self.other_count += 1;
        Ok(Next::Continue)
    }

    fn write_meta(&self, phase: Phase, name: &str, text: String) -> Result<()> {
        let path = self.svc.target.root().join(name);
        write_durable(&*self.svc.target, Path::new(name), text.as_bytes())
            .map_err(|e| BackupError::io(&path, "writing", e))?;
        emit(
            &*self.svc.progress,
            &*self.svc.clock,
            phase,
            Role::Main,
            EventKind::Written { file: name.to_string(), bytes: text.len() as u64 },
        );
        Ok(())
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// Production driver: the orchestrator on this thread, the log copier on another,
/// real time in between. The server is never left locked, whatever fails.
pub fn run(mut backup: Backup, clock: Arc<dyn Clock>) -> Result<Summary> {
    let interval = backup.opts.log_poll_interval;
    std::thread::scope(|scope| {
        let mut copier_thread = None;
        let result = loop {
            let next = backup.step();
            if copier_thread.is_none() {
                if let Some(shared) = backup.running_follower() {
                    let clock = clock.clone();
                    copier_thread = Some(scope.spawn(move || poll_until_stopped(&shared, &*clock, interval)));
                }
            }
            match next {
                Ok(Next::Continue) => {}
                Ok(Next::WaitUntil(t)) => clock.sleep(t.saturating_sub(clock.now())),
                Ok(Next::Finished(summary)) => break Ok(summary),
                Err(e) => break Err(e),
            }
        };
        if let Some(shared) = &backup.follower {
            shared.stop();
        }
        result
    })
}

/// The log copier thread's loop: a pass, then wait, in slices so a stop is seen soon.
fn poll_until_stopped(shared: &SharedFollower, clock: &dyn Clock, interval: Duration) {
    let slice = Duration::from_millis(50).min(interval);
    while shared.background_poll() == PollAgain::Yes {
        let mut waited = Duration::ZERO;
        while waited < interval && !shared.is_stopped() {
            clock.sleep(slice);
            waited += slice;
        }
    }
}
