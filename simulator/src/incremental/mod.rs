//! The incremental scenario: one simulated server, three backups taken while
//! it runs (a full one, then two incrementals, each from the `to_lsn` of the
//! one before), with writes and DDL during and between them, and the chain
//! prepared with innohot as a user would: the base prepared
//! (`restore::prepare`), then each incremental applied to it
//! (`restore::incremental::prepare_incremental`).
//!
//! Each backup is judged by the oracle right after it (the full one as any
//! full backup, an incremental one with its deltas instead of its
//! tablespaces), then applied to the chain, which must then hold the server's
//! pages as of that backup's `last_lsn` (`oracle::check_chain`). A backup
//! that fails ends the run with its verdict (a correct failure when a fault,
//! a lap or an index build without redo called for it): the chain cannot go
//! on without it. The seed's fault, if any, is planted in one of the three
//! backups (`SimConfig::fault_backup`).
//!
//! Everything lives in the run's root under [`DIR`]: the backups' directories
//! ([`BACKUPS`]) and the chain ([`CHAIN`]); the run's hash covers them all,
//! and `RunOptions::tamper` gets [`DIR`] once the last backup has completed,
//! before it is judged and applied (the chain then holds the links before it).

mod chain;
mod plan;

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::oracle::{self, Verdict};
use crate::outcome::{Outcome, RunStats};
use crate::rng::Rng;
use crate::run::{new_backup, RunOptions, RunReport, Scheduler, Shared};
use crate::server::SimServer;
use innohot::backup::Summary;
use innohot::events::{EventKind, Recorder};
use innohot::format::Lsn;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// The directory under the run's root that holds the backups and the chain.
pub const DIR: &str = "incremental";
/// The backups' directories in [`DIR`], in the order they are taken.
pub const BACKUPS: [&str; 3] = ["base", "inc1", "inc2"];
/// The chain's directory in [`DIR`]: a copy of the base, prepared, then brought forward.
pub const CHAIN: &str = "chain";

/// One run of the scenario: the server, and what its backups share.
struct ChainRun<'a> {
    cfg: &'a SimConfig,
    root: &'a Path,
    dir: PathBuf,
    opts: &'a RunOptions,
    server: Rc<RefCell<SimServer>>,
    clock: crate::clock::SimClock,
    recorder: Arc<Recorder>,
    /// The three backups' statistics added up, and the scenario's own.
    stats: RunStats,
    /// The actions between the backups (their timing and where the DDL goes).
    rng: Rng,
}

pub(crate) fn run_in(cfg: SimConfig, root: &Path, opts: RunOptions) -> RunReport {
    let server = SimServer::start(cfg.clone(), root).expect("build the simulated datadir");
    let clock = server.files.clock().clone();
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).expect("the incremental scenario's directory");
    let mut run = ChainRun {
        cfg: &cfg,
        root,
        dir: dir.clone(),
        opts: &opts,
        server: Rc::new(RefCell::new(server)),
        clock,
        recorder: Arc::new(Recorder::default()),
        stats: RunStats::default(),
        rng: Rng::new(cfg.seed ^ 0x1AC7_E5A1),
    };
    let (outcome, verdict) = run.links();
    let trace = run.recorder.take();
    let mut stats = run.stats;
    stats.sim_nanos = run.clock.now_nanos();
    stats.page_rereads = trace.iter().filter(|e| matches!(e.kind, EventKind::PageRetry { .. })).count() as u64;
    RunReport {
        config: cfg,
        outcome,
        verdict,
        trace,
        target_hash: if opts.skip_hash { 0 } else { oracle::hash_tree(&dir) },
        stats,
        root: root.to_path_buf(),
        target: dir,
    }
}

impl ChainRun<'_> {
    /// The three backups in turn, each judged and applied to the chain; the
    /// outcome of the last one taken and the run's verdict.
    fn links(&mut self) -> (Outcome, Verdict) {
        let mut from_lsn = None;
        let mut last = None;
        for k in 0..BACKUPS.len() {
            if k > 0 {
                self.between();
            }
            let (outcome, verdict) = self.take(k, from_lsn);
            let summary = match (&outcome, &verdict) {
                (Outcome::Completed(s), Verdict::Verified) => s.clone(),
                _ => return (outcome, verdict),
            };
            let lines = self.extend_chain(k, &summary);
            if !lines.is_empty() {
                return (outcome, Verdict::Wrong(lines));
            }
            from_lsn = Some(summary.to_lsn);
            last = Some(outcome);
        }
        (last.expect("three backups taken"), Verdict::Verified)
    }

    /// Backup `k` (incremental from `from_lsn` when given) while the server
    /// runs, with the seed's fault if it is this one's; judged by the oracle.
    fn take(&mut self, k: usize, from_lsn: Option<Lsn>) -> (Outcome, Verdict) {
        let mut cfg = self.cfg.clone();
        if usize::from(cfg.fault_backup) != k {
            cfg.faults = Faults::default();
        }
        self.server.borrow_mut().truth.forget_backup();
        let shared = Shared {
            server: self.server.clone(),
            clock: self.clock.clone(),
            recorder: self.recorder.clone(),
            fired: Default::default(),
            source_ops: Default::default(),
        };
        let target = self.dir.join(BACKUPS[k]);
        let backup = new_backup(&cfg, self.root, self.opts, &shared, &target, None, from_lsn);
        let mut scheduler = Scheduler::new(&cfg, &shared.server, &shared.clock, backup);
        scheduler.source_ops = Some(shared.source_ops.clone());
        let outcome = scheduler.run();
        let stats = scheduler.finish(&shared.fired);
        if k + 1 == BACKUPS.len() {
            if let Some(tamper) = &self.opts.tamper {
                tamper(&self.dir);
            }
        }
        let srv = self.server.borrow();
        let verdict = match from_lsn {
            None => oracle::check(&srv, &target, &outcome, &stats, &cfg),
            Some(from) => {
                let (verdict, facts) = oracle::check_incremental(&srv, &target, &outcome, &stats, &cfg, from);
                self.stats.pages_at_from_lsn += facts.at_from_lsn;
                self.stats.whole_copies += facts.whole_copies;
                verdict
            }
        };
        absorb(&mut self.stats, stats);
        (outcome, verdict)
    }

    /// The server alone between two backups: the seed's number of actions,
    /// one to four of them DDL statements (on MySQL 5.7 a quarter of them
    /// index builds without redo, which no backup is running to fail over),
    /// on the simulated clock.
    fn between(&mut self) {
        let n = self.cfg.between_actions.max(1);
        let ddl: Vec<u64> = (0..self.rng.range(1, 4)).map(|_| self.rng.below(n)).collect();
        let gap = self.cfg.server_gap_us * 1000;
        let mut srv = self.server.borrow_mut();
        let statements = srv.truth.ddl.len();
        for i in 0..n {
            self.clock.advance_to(self.clock.now_nanos() + self.rng.range(gap / 2, gap * 3 / 2));
            if ddl.contains(&i) {
                srv.act_ddl(self.rng.chance(0.25));
            } else {
                srv.act();
            }
        }
        self.stats.server_actions += n;
        self.stats.ddl_between_backups += (srv.truth.ddl.len() - statements) as u64;
    }

    /// Backup `k`, verified, goes into the chain: the base's copy prepared, or
    /// the incremental applied; then the chain is judged. Returns what is wrong.
    fn extend_chain(&mut self, k: usize, s: &Summary) -> Vec<String> {
        let (chain, backup) = (self.dir.join(CHAIN), self.dir.join(BACKUPS[k]));
        let step = match k {
            0 => chain::start(&backup, &chain),
            _ => chain::apply(&chain, &backup),
        };
        let mtrs = match step {
            Ok(mtrs) => mtrs,
            Err(e) => return vec![e],
        };
        let lines = oracle::check_chain(&self.server.borrow(), &chain, s, mtrs);
        if lines.is_empty() && k > 0 {
            self.stats.incrementals_applied += 1;
        }
        lines.into_iter().map(|l| format!("the chain prepared up to {}: {l}", BACKUPS[k])).collect()
    }
}

/// Adds one backup's statistics to the run's: counts add up, the first lap,
/// kill and detection stay, the server's own counters are its latest.
fn absorb(total: &mut RunStats, s: RunStats) {
    total.server_actions += s.server_actions;
    total.engine_steps += s.engine_steps;
    total.log_polls += s.log_polls;
    total.torn_writes = s.torn_writes;
    total.phantom_tails = s.phantom_tails;
    total.ring_wraps += s.ring_wraps;
    total.redo_bytes_during_backup += s.redo_bytes_during_backup;
    total.lapped = total.lapped.or(s.lapped);
    total.lap_detected_at = total.lap_detected_at.or(s.lap_detected_at);
    total.polls_after_lap += s.polls_after_lap;
    total.faults_fired.extend(s.faults_fired);
    total.killed_before_step = total.killed_before_step.or(s.killed_before_step);
    total.ddl_during_copy += s.ddl_during_copy;
    total.grown_during_copy += s.grown_during_copy;
    total.source_ops_under_commit_lock.extend(s.source_ops_under_commit_lock);
}
