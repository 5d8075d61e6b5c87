//! Many seeds at once, per scenario: verdict counts, and how often each
//! scenario's adversarial event really happened, so that a green sweep is
//! known to have exercised it.

use crate::config::{Flavor, Scenario, SimConfig};
use crate::oracle::Verdict;
use crate::run::{run, RunOptions, RunReport};
use std::collections::BTreeMap;
use std::fmt;

/// One scenario's row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioRow {
    pub runs: u64,
    pub verified: u64,
    pub correct_failures: u64,
    pub wrong: u64,
    /// Runs in which this scenario's event happened (lap, torn read, fault fired, kill).
    pub reached: u64,
    pub ring_wrapped: u64,
    pub torn_reads: u64,
    pub lapped: u64,
    pub faults_fired: u64,
    pub killed: u64,
    /// Sum over lapped runs of how late the lap was found (simulated ns).
    pub lap_detection_delay_ns: u64,
    pub sim_nanos: u64,
    /// Runs in which a data file grew while the copy ran (not a column of the table).
    pub grown_during_copy: u64,
    /// Runs whose incremental deltas held pages of LSN exactly `from_lsn`
    /// (the incremental scenario; not a column of the table).
    pub pages_at_from_lsn: u64,
}

impl ScenarioRow {
    /// Adds another row's counts to this one.
    pub fn absorb(&mut self, r: &ScenarioRow) {
        self.runs += r.runs;
        self.verified += r.verified;
        self.correct_failures += r.correct_failures;
        self.wrong += r.wrong;
        self.reached += r.reached;
        self.ring_wrapped += r.ring_wrapped;
        self.torn_reads += r.torn_reads;
        self.lapped += r.lapped;
        self.faults_fired += r.faults_fired;
        self.killed += r.killed;
        self.lap_detection_delay_ns += r.lap_detection_delay_ns;
        self.sim_nanos += r.sim_nanos;
        self.grown_during_copy += r.grown_during_copy;
        self.pages_at_from_lsn += r.pages_at_from_lsn;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepTable {
    /// One row per flavor and scenario.
    pub rows: BTreeMap<(Flavor, Scenario), ScenarioRow>,
    /// (config line, broken expectations) of every wrong result.
    pub wrong_runs: Vec<(String, Vec<String>)>,
}

/// Whether a run reached what its scenario aims at.
pub fn reached(r: &RunReport) -> bool {
    let s = &r.stats;
    match r.config.scenario {
        Scenario::Default => s.ring_wraps > 0,
        Scenario::Lap => s.lapped.is_some(),
        Scenario::Torn => s.page_rereads > 0,
        Scenario::Kill => s.killed_before_step.is_some(),
        Scenario::PrepareCrash | Scenario::RestoreCrash => s.killed_before_step.is_some() || !s.faults_fired.is_empty(),
        Scenario::Ddl => s.ddl_during_copy > 0,
        Scenario::Stream => s.stream_markers > 0,
        // Both incrementals applied to the prepared chain and judged there.
        Scenario::Incremental => s.incrementals_applied == 2,
        Scenario::Mixed => {
            s.lapped.is_some() || !s.faults_fired.is_empty() || s.killed_before_step.is_some() || s.ddl_during_copy > 0
        }
        _ => !s.faults_fired.is_empty(),
    }
}

impl SweepTable {
    pub fn add(&mut self, r: &RunReport) {
        let row = self.rows.entry((r.config.flavor, r.config.scenario)).or_default();
        row.runs += 1;
        match &r.verdict {
            Verdict::Verified => row.verified += 1,
            Verdict::CorrectFailure(_) => row.correct_failures += 1,
            Verdict::Wrong(lines) => {
                row.wrong += 1;
                self.wrong_runs.push((r.config.to_string(), lines.clone()));
            }
        }
        let s = &r.stats;
        row.reached += u64::from(reached(r));
        row.ring_wrapped += u64::from(s.ring_wraps > 0);
        row.torn_reads += u64::from(s.page_rereads > 0);
        row.lapped += u64::from(s.lapped.is_some());
        row.faults_fired += u64::from(!s.faults_fired.is_empty());
        row.killed += u64::from(s.killed_before_step.is_some());
        if let (Some((at, _)), Some(found)) = (s.lapped, s.lap_detected_at) {
            row.lap_detection_delay_ns += found.saturating_sub(at);
        }
        row.sim_nanos += s.sim_nanos;
        row.grown_during_copy += u64::from(s.grown_during_copy > 0);
        row.pages_at_from_lsn += u64::from(s.pages_at_from_lsn > 0);
    }

    /// Adds another table's rows and wrong runs (disjoint flavors or scenarios).
    pub fn merge(&mut self, other: SweepTable) {
        for (k, r) in other.rows {
            self.rows.entry(k).or_default().absorb(&r);
        }
        self.wrong_runs.extend(other.wrong_runs);
    }

    /// The sum over every row.
    pub fn total(&self) -> ScenarioRow {
        self.sum(|_| true)
    }

    /// The sum over one flavor's rows.
    pub fn flavor_total(&self, flavor: Flavor) -> ScenarioRow {
        self.sum(|f| f == flavor)
    }

    /// The flavors with at least one row, in order.
    pub fn flavors(&self) -> Vec<Flavor> {
        let mut v: Vec<Flavor> = self.rows.keys().map(|(f, _)| *f).collect();
        v.dedup();
        v
    }

    fn sum(&self, which: impl Fn(Flavor) -> bool) -> ScenarioRow {
        let mut t = ScenarioRow::default();
        for r in self.rows.iter().filter(|((f, _), _)| which(*f)).map(|(_, r)| r) {
            t.absorb(r);
        }
        t
    }
}

/// Runs seeds `from..to` of each flavor and scenario, on `threads` threads (each
/// run is self-contained; results are gathered in seed order, so tables are the
/// same whatever the thread count).
pub fn sweep(from: u64, to: u64, flavors: &[Flavor], scenarios: &[Scenario], threads: usize) -> SweepTable {
    let jobs: Vec<SimConfig> = flavors
        .iter()
        .flat_map(|&fl| {
            scenarios
                .iter()
                .filter(move |sc| sc.applies_to(fl))
                .flat_map(move |&sc| (from..to).map(move |seed| SimConfig::for_flavor(seed, fl, sc)))
        })
        .collect();
    // Each thread takes the next job as it gets free: runs differ a lot in cost.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<RunReport>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let (jobs, next) = (&jobs, &next);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(cfg) = jobs.get(i) else { break done };
                        let opts = RunOptions { skip_hash: true, ..RunOptions::default() };
                        done.push((i, summarize(run(cfg.clone(), opts))));
                    }
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("a sweep thread panicked") {
                results[i] = Some(r);
            }
        }
    });
    let mut t = SweepTable::default();
    for r in results.into_iter().flatten() {
        t.add(&r);
    }
    t
}

/// Drops the trace (large) before a report crosses threads.
fn summarize(mut r: RunReport) -> RunReport {
    r.trace.clear();
    r
}

impl fmt::Display for SweepTable {
    /// A table per flavor, then the simulated time of everything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = |f: &mut fmt::Formatter<'_>, name: &str, r: &ScenarioRow| {
            let delay = if r.lapped > 0 {
                format!("{:.2} ms", r.lap_detection_delay_ns as f64 / r.lapped as f64 / 1e6)
            } else {
                "-".into()
            };
            writeln!(
                f,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {delay} |",
                r.runs,
                r.verified,
                r.correct_failures,
                r.wrong,
                r.reached,
                r.ring_wrapped,
                r.torn_reads,
                r.lapped,
                r.faults_fired,
                r.killed
            )
        };
        for flavor in self.flavors() {
            writeln!(f, "flavor {flavor}:")?;
            writeln!(
                f,
                "| scenario | runs | verified OK | correct failures | wrong | reached | ring wrapped | torn reads | laps | faults fired | killed | mean lap detection delay |"
            )?;
            writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
            for ((_, sc), r) in self.rows.iter().filter(|((fl, _), _)| *fl == flavor) {
                line(f, sc.name(), r)?;
            }
            line(f, "**all**", &self.flavor_total(flavor))?;
        }
        write!(f, "simulated time: {:.1} s", self.total().sim_nanos as f64 / 1e9)
    }
}
