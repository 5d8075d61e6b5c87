//! `--throttle=auto` on a disk the simulated server shares with the copy
//! (`SimConfig::paced`: every chunk queued on the disk holds up the server's
//! next action). The same seed, paced and unpaced, with the server's actions
//! per simulated second during the copy as the measure: the pacer must give
//! the server most of its speed back, still finish, go to full speed when
//! the server stops, and leave a backup the oracle verifies.

use innohot::events::EventKind;
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::{run, Outcome, RunOptions, RunReport, SimConfig, Verdict};

/// A datadir big enough for the copy to last many windows, on a disk where
/// one queued chunk costs the server several of its actions.
fn config(flavor: Flavor, seed: u64, paced: bool) -> SimConfig {
    let mut cfg = SimConfig::for_flavor(seed, flavor, Scenario::Default);
    cfg.paced = paced;
    cfg.shared_disk = true;
    cfg.tables_per_schema = 3;
    cfg.table_pages_max = 400;
    cfg.server_gap_us = 40;
    cfg.disk_mb_per_s = 200;
    cfg.chunk_size = 64 * 1024;
    cfg.parallel = 1;
    cfg.copy_range = 0;
    cfg
}

fn backed_up(cfg: SimConfig) -> RunReport {
    let line = cfg.to_string();
    let r = run(cfg, RunOptions { skip_hash: true, ..RunOptions::default() });
    assert!(matches!(r.outcome, Outcome::Completed(_)), "{line}: {:?}", r.outcome);
    assert!(matches!(r.verdict, Verdict::Verified), "{line}: {:?}", r.verdict);
    r
}

/// The server's actions per simulated second while the data files were copied.
fn server_rate_during_copy(r: &RunReport) -> f64 {
    let (nanos, actions) = r.stats.copy_phase;
    assert!(nanos > 0, "the copy took no time: {:?}", r.stats.copy_phase);
    actions as f64 * 1e9 / nanos as f64
}

fn pace_notes(r: &RunReport) -> Vec<String> {
    r.trace
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Note(text) if text.starts_with("pace: ") => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_paced_copy_gives_the_server_its_speed_back_and_still_finishes() {
    for flavor in [Flavor::Mysql57, Flavor::MariaDb] {
        for seed in [1, 2] {
            let unpaced = backed_up(config(flavor, seed, false));
            let paced = backed_up(config(flavor, seed, true));
            let alone = 1e6 / 40.0;
            let (u, p) = (server_rate_during_copy(&unpaced), server_rate_during_copy(&paced));
            let notes = pace_notes(&paced);
            // The default --max-impact=40 keeps 60 % of the server's rate, less
            // what the windows before the limit settles cost.
            assert!(p >= 0.5 * alone, "{flavor:?} seed {seed}: paced {p:.0}/s of {alone:.0}/s alone: {notes:#?}");
            assert!(p >= 1.5 * u, "{flavor:?} seed {seed}: paced {p:.0}/s, unpaced {u:.0}/s");
            assert!(notes.iter().any(|n| n.contains("the copy is paced")), "{notes:#?}");
            assert!(pace_notes(&unpaced).is_empty());
        }
    }
}

#[test]
fn when_the_server_stops_the_copy_goes_full_speed() {
    for flavor in [Flavor::Mysql57, Flavor::MariaDb] {
        // The server stops a third of the way into the paced copy.
        let busy = backed_up(config(flavor, 3, true));
        let (_, copy_actions) = busy.stats.copy_phase;
        let before_copy = busy.stats.server_actions - copy_actions - tail(&busy);
        let mut cfg = config(flavor, 3, true);
        cfg.server_actions_max = before_copy + copy_actions / 3;
        let stops = backed_up(cfg);
        let notes = pace_notes(&stops);
        let idle = notes.iter().position(|n| n.contains("the server is idle"));
        let paced = notes.iter().position(|n| n.contains("the copy is paced"));
        assert!(matches!((paced, idle), (Some(p), Some(i)) if p < i), "{flavor:?}: {notes:#?}");
        let summary = notes.last().expect("a summary");
        let (paced_rate, full_rate) = rates(summary);
        assert!(full_rate > 2.0 * paced_rate, "{flavor:?}: {notes:#?}");
        assert!(stops.stats.copy_phase.0 < busy.stats.copy_phase.0, "{flavor:?}: stopping the load sped nothing up");
    }
}

/// Server actions after the copy (the lock phases), from a run's stats.
fn tail(r: &RunReport) -> u64 {
    // Only an estimate is needed: the lock phases are short next to the copy.
    let (nanos, actions) = r.stats.copy_phase;
    let rate = actions as f64 / nanos as f64;
    let after = r.stats.sim_nanos.saturating_sub(nanos);
    ((after as f64 * rate) / 2.0) as u64
}

/// "pace: P s paced at X MiB/s on average, F s at full speed at Y MiB/s" -> (X, Y).
fn rates(summary: &str) -> (f64, f64) {
    let numbers: Vec<f64> = summary
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_matches('.').parse().ok())
        .collect();
    assert_eq!(numbers.len(), 4, "{summary}");
    (numbers[1], numbers[3])
}

#[test]
fn a_paced_run_is_deterministic() {
    let a = backed_up(config(Flavor::MariaDb, 5, true));
    let b = backed_up(config(Flavor::MariaDb, 5, true));
    assert_eq!(pace_notes(&a), pace_notes(&b));
    assert_eq!(a.stats.copy_phase, b.stats.copy_phase);
}
