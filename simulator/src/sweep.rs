//! Many seeds at once: verdict counts, and how often each adversarial event
//! really happened, so that a green sweep is known to have exercised them.

use crate::oracle::Verdict;
use crate::run::{run_seed, RunReport};
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepTable {
    pub runs: u64,
    pub verified: u64,
    pub correct_failures: u64,
    pub wrong: u64,
    /// Runs in which the redo ring wrapped at least once during the backup.
    pub ring_wrapped: u64,
    /// Runs with at least one torn page write.
    pub torn_writes: u64,
    /// Runs where the copier read a torn page and re-read its chunk.
    pub torn_reads: u64,
    /// Runs where the server really lapped the log copier.
    pub lapped: u64,
    /// Runs that started near the 2^30 log block number wrap.
    pub near_block_no_wrap: u64,
    pub with_undo_tablespaces: u64,
    pub small_pages: u64,
    pub sim_nanos: u64,
    /// (seed, broken expectations) of every wrong result.
    pub wrong_runs: Vec<(u64, Vec<String>)>,
}

impl SweepTable {
    pub fn add(&mut self, r: &RunReport) {
        self.runs += 1;
        match &r.verdict {
            Verdict::Verified => self.verified += 1,
            Verdict::CorrectFailure(_) => self.correct_failures += 1,
            Verdict::Wrong(lines) => {
                self.wrong += 1;
                self.wrong_runs.push((r.config.seed, lines.clone()));
            }
        }
        let s = &r.stats;
        self.ring_wrapped += u64::from(s.ring_wraps > 0);
        self.torn_writes += u64::from(s.torn_writes > 0);
        self.torn_reads += u64::from(s.page_rereads > 0);
        self.lapped += u64::from(s.lapped.is_some());
        self.near_block_no_wrap += u64::from(r.config.start_lsn > 1 << 38);
        self.with_undo_tablespaces += u64::from(r.config.undo_tablespaces > 0);
        self.small_pages += u64::from(r.config.page_size < 16384);
        self.sim_nanos += s.sim_nanos;
    }
}

/// Runs seeds `from..to` in order.
pub fn sweep(from: u64, to: u64) -> SweepTable {
    let mut t = SweepTable::default();
    for seed in from..to {
        t.add(&run_seed(seed));
    }
    t
}

impl fmt::Display for SweepTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| runs | verified OK | correct failures | wrong results |")?;
        writeln!(f, "|-----:|------------:|-----------------:|--------------:|")?;
        writeln!(f, "| {} | {} | {} | {} |", self.runs, self.verified, self.correct_failures, self.wrong)?;
        writeln!(f)?;
        writeln!(f, "| happened in runs | count |")?;
        writeln!(f, "|---|---:|")?;
        for (what, n) in [
            ("redo ring wrapped during the backup", self.ring_wrapped),
            ("torn page writes", self.torn_writes),
            ("torn page read, chunk re-read", self.torn_reads),
            ("server lapped the log copier", self.lapped),
            ("start near the 2^30 block-number wrap", self.near_block_no_wrap),
            ("separate undo tablespaces", self.with_undo_tablespaces),
            ("4 KiB / 8 KiB pages", self.small_pages),
        ] {
            writeln!(f, "| {what} | {n} |")?;
        }
        write!(f, "simulated time: {:.1} s", self.sim_nanos as f64 / 1e9)
    }
}
