//! `innohot demo`: one simulated backup of a MySQL 5.7 server under concurrent writes, told as a
//! real backup tells it, with the simulator's oracle's verdict.

use crate::commands::common::FAILURE;
use crate::display::LogLines;
use crate::target;
use innohot::timefmt::log_label;
use innohot_simulator::{run as simulate, Outcome, RunOptions, SimConfig, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `innohot demo [DIR]`: the backup is kept in DIR when given.
pub fn run(dir: Option<PathBuf>) -> ExitCode {
    let cfg = SimConfig::from_seed(1);
    if let Some(d) = &dir {
        if let Err(e) = target::check_before(d) {
            eprintln!("innohot demo: {e}");
            return ExitCode::from(FAILURE);
        }
    }
    eprintln!("innohot demo: a simulated MySQL 5.7 server under concurrent writes ({})", cfg);
    let progress = Arc::new(LogLines { hide_root: dir.clone(), tally: Arc::default() });
    let report = simulate(cfg, RunOptions { dir: dir.clone(), progress: Some(progress), ..RunOptions::default() });
    finish_demo(&report, dir.is_some())
}

fn finish_demo(report: &innohot_simulator::RunReport, kept: bool) -> ExitCode {
    let s = &report.stats;
    eprintln!(
        "simulated {:.3} s: {} server actions, {} log copy passes, {} torn page writes, {} chunk re-reads, redo ring wrapped {} times",
        s.sim_nanos as f64 / 1e9,
        s.server_actions,
        s.log_polls,
        s.torn_writes,
        s.page_rereads,
        s.ring_wraps
    );
    let ok = match (&report.outcome, &report.verdict) {
        (Outcome::Completed(sum), Verdict::Verified) => {
            eprintln!(
                "oracle: VERIFIED: redo {}..{} ({} bytes) equals what the server wrote; every page is a version the server had on disk; binlog position {} matches",
                sum.start_lsn,
                sum.last_lsn,
                sum.redo_bytes,
                sum.binlog.as_ref().map(innohot::meta::binlog_pos_text).unwrap_or_default()
            );
            if kept {
                eprintln!("backup in {}", report.target.display());
            }
            true
        }
        (_, Verdict::CorrectFailure(why)) => {
            eprintln!("oracle: correct failure: {why}");
            false
        }
        (outcome, Verdict::Wrong(lines)) => {
            eprintln!("oracle: WRONG RESULT ({}):", outcome_words(outcome));
            for l in lines {
                eprintln!("  - {l}");
            }
            false
        }
        (outcome, Verdict::Verified) => {
            eprintln!("oracle: verified, but the outcome was: {}", outcome_words(outcome));
            false
        }
    };
    if let Some(msg) = report.outcome.failure_text() {
        eprintln!("innohot: backup failed: {msg}");
    }
    if ok {
        eprintln!(
            "{} completed OK!",
            log_label(innohot_simulator::clock::SIM_EPOCH_UNIX + s.sim_nanos / 1_000_000_000)
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILURE)
    }
}

/// How a simulated backup ended, in words.
pub(crate) fn outcome_words(outcome: &Outcome) -> String {
    outcome.failure_text().map(|t| format!("failed: {t}")).unwrap_or_else(|| "completed".to_string())
}
