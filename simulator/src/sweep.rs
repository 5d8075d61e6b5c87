//! Many seeds at once, per scenario: verdict counts, and how often each
//! scenario's adversarial event really happened, so that a green sweep is
//! known to have exercised it.

use crate::config::{Scenario, SimConfig};
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepTable {
    pub rows: BTreeMap<Scenario, ScenarioRow>,
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
        Scenario::Ddl => s.ddl_during_copy > 0,
        Scenario::Mixed => {
            s.lapped.is_some() || !s.faults_fired.is_empty() || s.killed_before_step.is_some() || s.ddl_during_copy > 0
        }
        _ => !s.faults_fired.is_empty(),
    }
}

impl SweepTable {
    pub fn add(&mut self, r: &RunReport) {
        let row = self.rows.entry(r.config.scenario).or_default();
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
    }

    pub fn total(&self) -> ScenarioRow {
        let mut t = ScenarioRow::default();
        for r in self.rows.values() {
            t.runs += r.runs;
            t.verified += r.verified;
            t.correct_failures += r.correct_failures;
            t.wrong += r.wrong;
            t.reached += r.reached;
            t.ring_wrapped += r.ring_wrapped;
            t.torn_reads += r.torn_reads;
            t.lapped += r.lapped;
            t.faults_fired += r.faults_fired;
            t.killed += r.killed;
            t.lap_detection_delay_ns += r.lap_detection_delay_ns;
            t.sim_nanos += r.sim_nanos;
        }
        t
    }
}

/// Runs seeds `from..to` of each scenario, on `threads` threads (each run is
/// self-contained; results are gathered in seed order, so tables are the same
/// whatever the thread count).
pub fn sweep(from: u64, to: u64, scenarios: &[Scenario], threads: usize) -> SweepTable {
    let jobs: Vec<SimConfig> =
        scenarios.iter().flat_map(|&sc| (from..to).map(move |seed| SimConfig::for_scenario(seed, sc))).collect();
    let threads = threads.max(1);
    let mut results: Vec<Option<RunReport>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let chunks: Vec<_> = jobs.chunks(jobs.len().div_ceil(threads).max(1)).enumerate().collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(i, chunk)| {
                let base = i * jobs.len().div_ceil(threads).max(1);
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(j, cfg)| (base + j, summarize(run(cfg.clone(), RunOptions::default()))))
                        .collect::<Vec<_>>()
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| scenario | runs | verified OK | correct failures | wrong | reached | ring wrapped | torn reads | laps | faults fired | killed | mean lap detection delay |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
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
        for (sc, r) in &self.rows {
            line(f, sc.name(), r)?;
        }
        line(f, "**all**", &self.total())?;
        write!(f, "simulated time: {:.1} s", self.total().sim_nanos as f64 / 1e9)
    }
}
