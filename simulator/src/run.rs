//! One simulated backup: the seeded scheduler interleaves server actions,
//! log copier passes and orchestrator steps on a simulated clock.

use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::control::{SimControl, SimLoadProbe, SimLogProbe};
use crate::faults::{FaultyControl, FaultySourceFs, FaultyTarget, FiredLog, SourceOps};
use crate::mount::MountedFs;
use crate::oracle::{self, Verdict};
pub use crate::outcome::{Outcome, RunStats};
use crate::rng::Rng;
use crate::server::SimServer;
use crate::stream::SimTarget;
use innohot::backup::{Backup, BackupOptions, Next, PollAgain, Services, SharedFollower};
use innohot::copy::{CopyLane, CopyPool, CopySettings, LaneStep, Pacing};
use innohot::events::{Event, EventKind, Phase, Progress, Recorder};
use innohot::io::real::{RealSourceFs, RealTargetDir};
use innohot::io::ReadPolicy;
use innohot::stream::StreamTarget;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Simulated seconds after which a run that has not finished counts as hung.
const SIM_TIME_LIMIT_NS: u64 = 600 * 1_000_000_000;

pub struct RunReport {
    pub config: SimConfig,
    pub outcome: Outcome,
    pub verdict: Verdict,
    pub trace: Vec<Event>,
    /// Hash over every file of the backup (relative path + bytes).
    pub target_hash: u64,
    pub stats: RunStats,
    /// Where the simulated server lived (redacted from traces).
    pub root: PathBuf,
    pub target: PathBuf,
}

/// Changes a finished backup in place (tests of the oracle).
pub type Tamper = Box<dyn Fn(&Path)>;

/// Where a run puts its files, who else watches its events, what goes wrong.
#[derive(Default)]
pub struct RunOptions {
    /// Keep everything here instead of a temporary directory.
    pub dir: Option<PathBuf>,
    pub progress: Option<Arc<dyn Progress>>,
    /// Changes the finished backup before the oracle looks: proves the oracle can fail.
    pub tamper: Option<Tamper>,
    /// The engine's test-only switch that leaves one table out of the copy.
    pub skip_tablespace: Option<String>,
    /// Leave `RunReport::target_hash` 0 (sweeps do not compare backups).
    pub skip_hash: bool,
}

struct Tee(Arc<Recorder>, Option<Arc<dyn Progress>>);

impl Progress for Tee {
    fn event(&self, e: &Event) {
        self.0.event(e);
        if let Some(p) = &self.1 {
            p.event(e);
        }
    }
}

/// A fast scratch directory: tmpfs when there is one (fsync is free there).
pub fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new().prefix("innohot-sim-").tempdir_in(shm) {
            return Ok(d);
        }
    }
    tempfile::Builder::new().prefix("innohot-sim-").tempdir()
}

pub fn run_seed(seed: u64) -> RunReport {
    run(SimConfig::from_seed(seed), RunOptions::default())
}

/// A default-scenario backup of `flavor` kept in `root` that completed and
/// that the oracle verified, for tests that go on with it (prepare, copy-back,
/// log groups); otherwise what happened instead.
pub fn verified_backup(seed: u64, flavor: crate::config::Flavor, root: &Path) -> Result<RunReport, String> {
    let cfg = SimConfig::for_flavor(seed, flavor, crate::config::Scenario::Default);
    let report = run(cfg, RunOptions { dir: Some(root.to_path_buf()), ..RunOptions::default() });
    match (&report.outcome, &report.verdict) {
        (Outcome::Completed(_), Verdict::Verified) => Ok(report),
        (outcome, verdict) => Err(format!("seed {seed} ({flavor:?}): {outcome:?}, {verdict:?}")),
    }
}

pub fn run(cfg: SimConfig, opts: RunOptions) -> RunReport {
    if cfg.scenario.is_crash() {
        return crate::crash::run(cfg);
    }
    let incremental = cfg.scenario == crate::config::Scenario::Incremental;
    let tmp;
    let root = match &opts.dir {
        Some(d) => d.clone(),
        None => {
            tmp = scratch_dir().expect("a scratch directory for the simulator");
            tmp.path().to_path_buf()
        }
    };
    if incremental {
        return crate::incremental::run_in(cfg, &root, opts);
    }
    run_in(cfg, &root, opts)
}

/// What the harness shares with the backup it runs: the server behind the control
/// connection, the simulated clock, the event recorder and the log of faults that fired.
pub(crate) struct Shared {
    pub(crate) server: Rc<RefCell<SimServer>>,
    pub(crate) clock: SimClock,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) fired: FiredLog,
    pub(crate) source_ops: SourceOps,
}

fn run_in(cfg: SimConfig, root: &Path, opts: RunOptions) -> RunReport {
    let server = SimServer::start(cfg.clone(), root).expect("build the simulated datadir");
    // The server stamps its files with the run's clock.
    let clock = server.files.clock().clone();
    let shared = Shared {
        server: Rc::new(RefCell::new(server)),
        clock,
        recorder: Arc::new(Recorder::default()),
        fired: FiredLog::default(),
        source_ops: SourceOps::default(),
    };
    let target_path = root.join("backup");
    let stream = cfg.streams().then(|| crate::stream::open(root, &cfg));
    let backup = new_backup(&cfg, root, &opts, &shared, &target_path, stream.clone(), None);
    let mut scheduler = Scheduler::new(&cfg, &shared.server, &shared.clock, backup);
    scheduler.source_ops = Some(shared.source_ops.clone());
    let outcome = scheduler.run();
    let mut stats = scheduler.finish(&shared.fired);
    let stream_wrong = match stream {
        Some(s) => crate::stream::settle(s, root, &target_path, &outcome, &mut stats),
        None => Vec::new(),
    };
    if let Some(tamper) = &opts.tamper {
        tamper(&target_path);
    }
    let verdict = oracle::check(&shared.server.borrow(), &target_path, &outcome, &stats, &cfg);
    let verdict = crate::stream::with_stream_lines(verdict, stream_wrong);
    let trace = shared.recorder.take();
    stats.page_rereads = trace.iter().filter(|e| matches!(e.kind, EventKind::PageRetry { .. })).count() as u64;
    RunReport {
        config: cfg,
        outcome,
        verdict,
        trace,
        target_hash: if opts.skip_hash { 0 } else { oracle::hash_tree(&target_path) },
        stats,
        root: root.to_path_buf(),
        target: target_path,
    }
}

/// The engine's backup of the simulated server into `target_path` (or into
/// `stream`), with the seed's faults planted in its connection, its source
/// file system and its target; incremental from `from_lsn` when there is one.
pub(crate) fn new_backup(
    cfg: &SimConfig,
    root: &Path,
    opts: &RunOptions,
    shared: &Shared,
    target_path: &Path,
    stream: Option<Arc<StreamTarget>>,
    from_lsn: Option<innohot::format::Lsn>,
) -> Backup {
    let target = match stream {
        Some(s) => SimTarget::Stream(s),
        None => {
            SimTarget::Dir(RealTargetDir::create(target_path, false).expect("create the simulated backup directory"))
        }
    };
    let fired = &shared.fired;
    let mut options = backup_options(cfg, opts);
    options.copy.incremental_from = from_lsn;
    Backup::new(
        options,
        Services {
            server: Box::new(FaultyControl {
                inner: SimControl { server: shared.server.clone() },
                fail: cfg.faults.server_call,
                fired: fired.clone(),
                lost: false,
            }),
            log_probe: Some(Box::new(SimLogProbe { flushed: shared.server.borrow().flushed_for_probe.clone() })),
            load_probe: cfg.paced.then(|| {
                let load = shared.server.borrow().load_for_probe.clone();
                Box::new(SimLoadProbe { load }) as Box<dyn innohot::server::LoadProbe>
            }),
            fs: Arc::new(FaultySourceFs {
                inner: MountedFs {
                    inner: RealSourceFs,
                    remote: crate::mount::remote_dir(root),
                    times: shared.server.borrow().files.clone(),
                },
                read_eio: cfg.faults.source_read_eio.clone(),
                fired: fired.clone(),
                ops: shared.source_ops.clone(),
            }),
            target: Arc::new(FaultyTarget { inner: target, faults: cfg.faults.target_faults(), fired: fired.clone() }),
            clock: Arc::new(shared.clock.clone()),
            progress: Arc::new(Tee(shared.recorder.clone(), opts.progress.clone())),
        },
    )
}

/// The engine's options for a simulated run: the seed's chunk size and poll
/// interval, buffered reads, and log reads sized for small rings.
fn backup_options(cfg: &SimConfig, opts: &RunOptions) -> BackupOptions {
    BackupOptions {
        copy: CopySettings {
            chunk_size: cfg.chunk_size,
            parallel: cfg.parallel,
            range_size: if cfg.copy_range > 0 { cfg.copy_range } else { CopySettings::default().range_size },
            read_policy: ReadPolicy { direct: false, fadvise: false },
            pacing: if cfg.paced {
                let window = Duration::from_micros(40 * cfg.server_gap_us);
                Pacing::Auto { max_impact_percent: innohot::copy::DEFAULT_MAX_IMPACT_PERCENT, window }
            } else {
                Pacing::Unpaced
            },
            ..CopySettings::default()
        },
        log_poll_interval: Duration::from_micros(cfg.poll_interval_us),
        // The scheduler polls at this interval itself.
        log_poll_fixed: true,
        // Small rings and frequent passes: a pass reads what is new, not 64 KiB each time.
        log_read_step: 8 * 1024,
        tool_command: format!("innohot sim --config '{cfg}'"),
        options_source: "the simulator's seed".into(),
        test_hooks: innohot::backup::TestHooks { skip_tablespace: opts.skip_tablespace.clone(), ..Default::default() },
        // Exactly the simulated file system's tick: the least that is correct.
        stamp_granularity: Duration::from_nanos(crate::stamps::tick_ns(cfg.seed)),
        ..BackupOptions::default()
    }
}

/// Who acts next: the server, the engine's orchestrator (one step), or the log
/// copier (one background pass). The order is the tie-break order the seed picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Server,
    Engine,
    LogCopier,
    /// A copy lane other than the orchestrator's (index into `lanes`).
    CopyLane(usize),
}

/// One run's scheduler: the earliest actor goes next on the simulated clock (ties
/// go to the seed), until the backup finishes, fails, is killed or runs out of time.
pub(crate) struct Scheduler<'a> {
    cfg: &'a SimConfig,
    server: &'a RefCell<SimServer>,
    clock: &'a SimClock,
    /// None once killed.
    backup: Option<Backup>,
    /// The log copier, once the backup has started it.
    follower: Option<Arc<SharedFollower>>,
    rng: Rng,
    stats: RunStats,
    next_server: u64,
    next_engine: u64,
    /// None until the log copier starts, and again once it has stopped.
    next_poll: Option<u64>,
    /// The copy pool's other lanes (`--parallel` above 1) while they have work.
    pool: Option<Arc<CopyPool>>,
    lanes: Vec<(CopyLane, Option<u64>)>,
    lsn_at_start: u64,
    /// Redo bytes the server's ring holds: ahead of the copier by more, it has lapped it.
    capacity: u64,
    /// Simulated time to copy one chunk at the seed's disk speed.
    chunk_ns: u64,
    /// The backup's source opens and listings (see `RunStats::source_ops_under_commit_lock`).
    pub(crate) source_ops: Option<SourceOps>,
    /// The incremental scenario's idle server under the lock (`SimConfig::clean_checkpoint`) came.
    settled: bool,
    /// `SimConfig::shared_disk`: when the shared disk has written every chunk queued so far.
    disk_free_at: u64,
    /// When the data-file copy started and the server's actions by then.
    copy_started: Option<(u64, u64)>,
}

impl<'a> Scheduler<'a> {
    pub(crate) fn new(cfg: &'a SimConfig, server: &'a RefCell<SimServer>, clock: &'a SimClock, backup: Backup) -> Self {
        let lsn_at_start = server.borrow().flushed_lsn();
        let capacity = server.borrow().log_capacity();
        Scheduler {
            cfg,
            server,
            clock,
            backup: Some(backup),
            follower: None,
            rng: Rng::new(cfg.seed ^ 0x5C4E_D01E),
            stats: RunStats::default(),
            next_server: 0,
            next_engine: 0,
            next_poll: None,
            pool: None,
            lanes: Vec::new(),
            lsn_at_start,
            capacity,
            chunk_ns: cfg.chunk_size as u64 * 1_000 / cfg.disk_mb_per_s.max(1), // bytes / (MB/s) in ns, 1 MB = 1e6 B
            source_ops: None,
            settled: false,
            disk_free_at: 0,
            copy_started: None,
        }
    }

    /// Runs the actors until the backup's outcome is known.
    pub(crate) fn run(&mut self) -> Outcome {
        loop {
            if self.clock.now_nanos() > SIM_TIME_LIMIT_NS {
                return Outcome::Hung { sim_seconds: SIM_TIME_LIMIT_NS / 1_000_000_000 };
            }
            let (actor, now) = self.next_actor();
            self.clock.advance_to(now);
            match actor {
                Actor::Server => self.server_turn(now),
                Actor::LogCopier => self.log_copier_turn(now),
                Actor::CopyLane(i) => self.copy_lane_turn(i, now),
                Actor::Engine => {
                    if let Some(outcome) = self.engine_turn(now) {
                        return outcome;
                    }
                }
            }
        }
    }

    /// The earliest actor and its time; ties go to the seed.
    fn next_actor(&mut self) -> (Actor, u64) {
        let mut actors = vec![(self.next_server, Actor::Server), (self.next_engine, Actor::Engine)];
        if let Some(t) = self.next_poll {
            actors.push((t, Actor::LogCopier));
        }
        for (i, (_, next)) in self.lanes.iter().enumerate() {
            if let Some(t) = next {
                actors.push((*t, Actor::CopyLane(i)));
            }
        }
        let earliest = actors.iter().map(|a| a.0).min().expect("actors");
        let ready: Vec<Actor> = actors.iter().filter(|a| a.0 == earliest).map(|a| a.1).collect();
        (ready[self.rng.below(ready.len() as u64) as usize], earliest)
    }

    /// One server action (none once its budget is spent), then a check whether the
    /// server has overwritten redo the copier has not copied yet.
    fn server_turn(&mut self, now: u64) {
        let cfg = self.cfg;
        if self.stats.server_actions < cfg.server_actions_max {
            self.server.borrow_mut().act();
            self.stats.server_actions += 1;
        }
        let gap = cfg.server_gap_us * 1000;
        // On a shared disk the server's next write waits behind the queued chunks.
        let queued = self.disk_free_at.saturating_sub(now);
        self.next_server = now + self.rng.range(gap / 2, gap * 3 / 2) + queued;
        if self.stats.server_actions >= cfg.server_actions_max {
            self.server.borrow().load_for_probe.running.store(0, std::sync::atomic::Ordering::SeqCst);
        }
        if let Some(f) = self.follower.as_ref().filter(|f| !f.is_stopped()) {
            let ahead = self.server.borrow().log_written_lsn().saturating_sub(f.copied_lsn());
            if ahead > self.capacity && self.stats.lapped.is_none() {
                self.stats.lapped = Some((now, ahead));
                let lsn = f.copied_lsn();
                self.server.borrow_mut().truth.lapped_at = Some((now, lsn));
            }
        }
    }

    /// One background pass of the log copier; notes when it finds a lap.
    fn log_copier_turn(&mut self, now: u64) {
        let stats = &mut self.stats;
        stats.log_polls += 1;
        let f = self.follower.as_ref().expect("polls only once started");
        if stats.lapped.is_some() && stats.lap_detected_at.is_none() {
            stats.polls_after_lap += 1;
        }
        let again = f.background_poll();
        if again == PollAgain::No && f.failed_with_lap() && stats.lap_detected_at.is_none() {
            stats.lap_detected_at = Some(now);
        }
        self.next_poll = if again == PollAgain::Yes {
            let iv = self.cfg.poll_interval_us * 1000;
            Some(now + self.rng.range(iv * 3 / 4, iv * 5 / 4))
        } else {
            None
        };
    }

    /// One step of a copy lane, costing what a chunk costs the orchestrator.
    fn copy_lane_turn(&mut self, i: usize, now: u64) {
        let pool = self.pool.as_ref().expect("lanes run only with a pool");
        let cost = self.chunk_ns;
        let (lane, next) = &mut self.lanes[i];
        let before = pool.bytes_copied();
        *next = match pool.worker_step(lane) {
            LaneStep::Worked => {
                let took = self.rng.range(cost / 2, cost * 3 / 2).max(1);
                Some(Self::on_disk(self.cfg.shared_disk, &mut self.disk_free_at, now, took))
            }
            LaneStep::WaitUntil(t) => {
                let t = (t.as_nanos() as u64).max(now + 1);
                // A chunk the pace then held back still took its time on the disk.
                if self.cfg.shared_disk && pool.bytes_copied() > before {
                    let took = self.rng.range(cost / 2, cost * 3 / 2).max(1);
                    Some(t.max(Self::on_disk(true, &mut self.disk_free_at, now, took)))
                } else {
                    Some(t)
                }
            }
            LaneStep::Idle => None,
        };
    }

    /// One step of the backup's orchestrator (or the kill planned before it); the
    /// outcome once the backup has finished, failed or been killed.
    fn engine_turn(&mut self, now: u64) -> Option<Outcome> {
        let stats = &mut self.stats;
        if self.cfg.faults.kill_before_step == Some(stats.engine_steps + 1) {
            // SIGKILL: no cleanup runs; the server notices the closed connection.
            stats.killed_before_step = Some(stats.engine_steps + 1);
            drop(self.backup.take());
            return Some(Outcome::Killed { before_step: stats.engine_steps + 1 });
        }
        let phase = self.backup.as_ref().expect("alive until killed").phase();
        if phase == Phase::LastCheckpoint && self.cfg.clean_checkpoint && !self.settled {
            self.settled = true;
            self.server.borrow_mut().settle_to_clean_checkpoint();
        }
        note_truth_at(&mut self.server.borrow_mut(), phase);
        self.time_copy_phase(phase, now);
        let backup = self.backup.as_mut().expect("alive until killed");
        let stats = &mut self.stats;
        stats.engine_steps += 1;
        let blocked_before = self.server.borrow().commits_blocked;
        let ops_before = self.source_ops.as_ref().map_or(0, |o| o.lock().expect("source ops").len());
        let read_before = backup.data_bytes_read();
        let step = backup.step();
        let chunk_read = backup.data_bytes_read() > read_before;
        if blocked_before || self.server.borrow().commits_blocked {
            if let Some(ops) = &self.source_ops {
                stats.source_ops_under_commit_lock.extend_from_slice(&ops.lock().expect("source ops")[ops_before..]);
            }
        }
        if self.pool.is_none() {
            if let Some(pool) = backup.copy_pool() {
                let first = now + self.chunk_ns / 2;
                self.lanes = (2..=pool.lanes() as u32).map(|n| (CopyLane::new(n), Some(first))).collect();
                self.pool = Some(pool);
            }
        }
        if self.follower.is_none() {
            if let Some(f) = backup.running_follower() {
                self.follower = Some(f);
                self.next_poll = Some(now + self.cfg.poll_interval_us * 1000);
            }
        }
        let cost = match phase {
            Phase::DataCopy => self.chunk_ns,
            Phase::NonInnodbFiles => 500_000,
            _ => 200_000,
        };
        match step {
            Ok(Next::Continue) => {
                let took = self.rng.range(cost / 2, cost * 3 / 2).max(1);
                self.next_engine = if phase == Phase::DataCopy {
                    Self::on_disk(self.cfg.shared_disk, &mut self.disk_free_at, now, took)
                } else {
                    now + took
                };
            }
            Ok(Next::WaitUntil(t)) => {
                self.next_engine = (t.as_nanos() as u64).max(now + 1);
                // A chunk the pace then held back still took its time on the disk.
                if self.cfg.shared_disk && chunk_read {
                    let took = self.rng.range(cost / 2, cost * 3 / 2).max(1);
                    let done = Self::on_disk(true, &mut self.disk_free_at, now, took);
                    self.next_engine = self.next_engine.max(done);
                }
            }
            Ok(Next::Finished(summary)) => return Some(Outcome::Completed(summary)),
            Err(e) => {
                if e.is_lap() && stats.lap_detected_at.is_none() {
                    stats.lap_detected_at = Some(now);
                }
                return Some(Outcome::Failed(e));
            }
        }
        None
    }

    /// `RunStats::copy_phase`: started when the copy starts, ended when the engine leaves it.
    fn time_copy_phase(&mut self, phase: Phase, now: u64) {
        let (actions, copy) = (self.stats.server_actions, &mut self.copy_started);
        match (phase, *copy) {
            (Phase::DataCopy, None) => *copy = Some((now, actions)),
            (p, Some((t, a))) if p > Phase::DataCopy && self.stats.copy_phase == (0, 0) => {
                self.stats.copy_phase = (now - t, actions - a);
            }
            _ => {}
        }
    }

    /// When a chunk copied at `now` taking `took` is done: on a shared disk
    /// (`SimConfig::shared_disk`) it queues behind the chunks before it.
    fn on_disk(shared: bool, disk_free_at: &mut u64, now: u64, took: u64) -> u64 {
        if !shared {
            return now + took;
        }
        *disk_free_at = (*disk_free_at).max(now) + took;
        *disk_free_at
    }

    /// Ends the run as the process's exit would (the log copier stops, the backup
    /// goes away) and completes the statistics from the fault log and the server.
    pub(crate) fn finish(mut self, fired: &FiredLog) -> RunStats {
        if let Some(f) = &self.follower {
            f.stop();
        }
        if let Some(pool) = &self.pool {
            pool.stop();
        }
        drop(self.backup.take());
        let mut stats = self.stats;
        stats.faults_fired = fired.lock().expect("fired log").clone();
        stats.sim_nanos = self.clock.now_nanos();
        let srv = self.server.borrow();
        stats.torn_writes = srv.truth.torn_writes_started;
        stats.phantom_tails = srv.truth.phantom_tails;
        stats.redo_bytes_during_backup = srv.flushed_lsn() - self.lsn_at_start;
        stats.ring_wraps = stats.redo_bytes_during_backup / self.capacity;
        let (from, _) = srv.truth.copy_window;
        let until = if srv.truth.lock_seq > 0 { srv.truth.lock_seq } else { srv.seq };
        stats.ddl_during_copy = srv.truth.ddl.iter().filter(|(seq, _)| *seq >= from && *seq <= until).count() as u64;
        stats.grown_during_copy = srv.truth.grown.iter().filter(|g| g.1 >= from && g.1 <= until).count() as u64;
        stats
    }
}

/// What the server's truth must remember at the moment the backup enters `phase`:
/// the copy window, the checkpoints the log copy starts from and ends at, and the
/// pages, freed pages and tablespaces as of the final log pass.
fn note_truth_at(s: &mut SimServer, phase: Phase) {
    match phase {
        Phase::SizeRedoLog => s.truth.lsn_read_before_copy = Some(s.truth.last_lsn_answered),
        Phase::TablespaceScan => s.truth.copy_window.0 = s.seq,
        Phase::StartLogFile => s.truth.checkpoint_at_start = Some(s.checkpoint_lsn()),
        Phase::LastCheckpoint => s.truth.checkpoint_at_last_read = Some(s.checkpoint_lsn()),
        Phase::StopLogCopy => {
            s.truth.copy_window.1 = s.seq;
            s.truth.flushed_at_final_pass = Some(s.flushed_lsn());
            s.truth.pages_at_final_pass = s.pages_at_flushed_lsn();
            s.truth.freed_at_final_pass = s.freed_at_flushed_lsn();
            s.truth.spaces_at_final_pass = s.spaces.iter().map(|sp| (sp.id, sp.rel.clone())).collect();
        }
        _ => {}
    }
}
