//! One simulated backup: the seeded scheduler interleaves server actions,
//! log copier passes and orchestrator steps on a simulated clock.

use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::control::SimControl;
use crate::faults::{FaultyControl, FaultySourceFs, FaultyTarget, FiredLog};
use crate::mount::MountedFs;
use crate::oracle::{self, Verdict};
pub use crate::outcome::{Outcome, RunStats};
use crate::rng::Rng;
use crate::server::SimServer;
use innohot::backup::{Backup, BackupOptions, Next, PollAgain, Services, SharedFollower};
use innohot::copy::CopySettings;
use innohot::events::{Event, Phase, Progress, Recorder};
use innohot::io::real::{RealSourceFs, RealTargetDir};
use innohot::io::ReadPolicy;
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

pub fn run(cfg: SimConfig, opts: RunOptions) -> RunReport {
    let tmp;
    let root = match &opts.dir {
        Some(d) => d.clone(),
        None => {
            tmp = scratch_dir().expect("a scratch directory for the simulator");
            tmp.path().to_path_buf()
        }
    };
    run_in(cfg, &root, opts)
}

fn run_in(cfg: SimConfig, root: &Path, opts: RunOptions) -> RunReport {
    let server = Rc::new(RefCell::new(SimServer::start(cfg.clone(), root).expect("build the simulated datadir")));
    let clock = SimClock::default();
    let recorder = Arc::new(Recorder::default());
    let target_path = root.join("backup");
    let target = RealTargetDir::create(&target_path, false).expect("create the simulated backup directory");
    let options = BackupOptions {
        copy: CopySettings {
            chunk_size: cfg.chunk_size,
            read_policy: ReadPolicy { direct: false, fadvise: false },
            ..CopySettings::default()
        },
        log_poll_interval: Duration::from_micros(cfg.poll_interval_us),
        // The scheduler polls at this interval itself.
        log_poll_fixed: true,
        // Small rings and frequent passes: a pass reads what is new, not 64 KiB each time.
        log_read_step: 8 * 1024,
        tool_command: format!("innohot sim --config '{cfg}'"),
        options_source: "the simulator's seed".into(),
        debug_skip_tablespace: opts.skip_tablespace.clone(),
        ..BackupOptions::default()
    };
    let fired = FiredLog::default();
    let mut backup = Some(Backup::new(
        options,
        Services {
            server: Box::new(FaultyControl {
                inner: SimControl { server: server.clone() },
                fail: cfg.faults.server_call,
                fired: fired.clone(),
                lost: false,
            }),
            fs: Arc::new(FaultySourceFs {
                inner: MountedFs { inner: RealSourceFs, remote: crate::mount::remote_dir(root) },
                read_eio: cfg.faults.source_read_eio.clone(),
                fired: fired.clone(),
            }),
            target: Arc::new(FaultyTarget { inner: target, faults: cfg.faults.clone(), fired: fired.clone() }),
            clock: Arc::new(clock.clone()),
            progress: Arc::new(Tee(recorder.clone(), opts.progress.clone())),
        },
    ));

    let mut sched = Rng::new(cfg.seed ^ 0x5C4E_D01E);
    let mut stats = RunStats::default();
    let (mut t_server, mut t_engine) = (0u64, 0u64);
    let mut t_poll: Option<u64> = None;
    let mut follower: Option<Arc<SharedFollower>> = None;
    let lsn_at_start = server.borrow().flushed_lsn();
    let capacity = server.borrow().log_capacity();
    let chunk_ns = cfg.chunk_size as u64 * 1_000 / cfg.disk_mb_per_s.max(1); // bytes / (MB/s) in ns, 1 MB = 1e6 B

    let outcome = loop {
        let now = clock.now_nanos();
        if now > SIM_TIME_LIMIT_NS {
            break Outcome::Hung { sim_seconds: SIM_TIME_LIMIT_NS / 1_000_000_000 };
        }
        // The earliest actor goes next; ties go to the seed.
        let mut actors = vec![(t_server, 0u8), (t_engine, 1u8)];
        if let Some(t) = t_poll {
            actors.push((t, 2));
        }
        let earliest = actors.iter().map(|a| a.0).min().expect("actors");
        let ready: Vec<u8> = actors.iter().filter(|a| a.0 == earliest).map(|a| a.1).collect();
        let who = ready[sched.below(ready.len() as u64) as usize];
        clock.advance_to(earliest);
        match who {
            0 => {
                if stats.server_actions < cfg.server_actions_max {
                    server.borrow_mut().act();
                    stats.server_actions += 1;
                }
                let gap = cfg.server_gap_us * 1000;
                t_server = earliest + sched.range(gap / 2, gap * 3 / 2);
                if let Some(f) = follower.as_ref().filter(|f| !f.is_stopped()) {
                    let ahead = server.borrow().log_written_lsn().saturating_sub(f.copied_lsn());
                    if ahead > capacity && stats.lapped.is_none() {
                        stats.lapped = Some((earliest, ahead));
                        let lsn = f.copied_lsn();
                        server.borrow_mut().truth.lapped_at = Some((earliest, lsn));
                    }
                }
            }
            2 => {
                stats.log_polls += 1;
                let f = follower.as_ref().expect("polls only once started");
                if stats.lapped.is_some() && stats.lap_detected_at.is_none() {
                    stats.polls_after_lap += 1;
                }
                let again = f.background_poll();
                if again == PollAgain::No && f.failed_with_lap() && stats.lap_detected_at.is_none() {
                    stats.lap_detected_at = Some(earliest);
                }
                if again == PollAgain::Yes {
                    let iv = cfg.poll_interval_us * 1000;
                    t_poll = Some(earliest + sched.range(iv * 3 / 4, iv * 5 / 4));
                } else {
                    t_poll = None;
                }
            }
            _ => {
                if cfg.faults.kill_before_step == Some(stats.engine_steps + 1) {
                    // SIGKILL: no cleanup runs; the server notices the closed connection.
                    stats.killed_before_step = Some(stats.engine_steps + 1);
                    drop(backup.take());
                    break Outcome::Killed { before_step: stats.engine_steps + 1 };
                }
                let backup = backup.as_mut().expect("alive until killed");
                let phase = backup.phase();
                {
                    let mut s = server.borrow_mut();
                    match phase {
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
                stats.engine_steps += 1;
                let step = backup.step();
                if follower.is_none() {
                    if let Some(f) = backup.running_follower() {
                        follower = Some(f);
                        t_poll = Some(earliest + cfg.poll_interval_us * 1000);
                    }
                }
                let cost = match phase {
                    Phase::DataCopy => chunk_ns,
                    Phase::NonInnodbFiles => 500_000,
                    _ => 200_000,
                };
                match step {
                    Ok(Next::Continue) => t_engine = earliest + sched.range(cost / 2, cost * 3 / 2).max(1),
                    Ok(Next::WaitUntil(t)) => {
                        stats.page_rereads += 1;
                        t_engine = (t.as_nanos() as u64).max(earliest + 1);
                    }
                    Ok(Next::Finished(summary)) => break Outcome::Completed(summary),
                    Err(e) => {
                        if e.is_lap() && stats.lap_detected_at.is_none() {
                            stats.lap_detected_at = Some(earliest);
                        }
                        break Outcome::Failed(e);
                    }
                }
            }
        }
    };
    if let Some(f) = &follower {
        f.stop();
    }
    drop(backup);
    stats.faults_fired = fired.lock().expect("fired log").clone();
    stats.sim_nanos = clock.now_nanos();
    let srv = server.borrow();
    stats.torn_writes = srv.truth.torn_writes_started;
    stats.redo_bytes_during_backup = srv.flushed_lsn() - lsn_at_start;
    stats.ring_wraps = stats.redo_bytes_during_backup / capacity;
    let (from, _) = srv.truth.copy_window;
    let until = if srv.truth.lock_seq > 0 { srv.truth.lock_seq } else { srv.seq };
    stats.ddl_during_copy = srv.truth.ddl.iter().filter(|(seq, _)| *seq >= from && *seq <= until).count() as u64;
    if let Some(tamper) = &opts.tamper {
        tamper(&target_path);
    }
    let verdict = oracle::check(&srv, &target_path, &outcome, &stats, &cfg);
    let trace = recorder.take();
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
