//! The CI sweep: every scenario for both flavors (MySQL 5.7 and MariaDB 10.11),
//! zero wrong results, and every scenario must really have happened in some runs
//! of each flavor. Seeds per flavor are kept low enough for the test profile;
//! `innohot sim --seeds 0..1000 --scenario all --flavor all` sweeps wider.

use innohot_simulator::config::{FLAVORS, SCENARIOS};
use innohot_simulator::sweep::sweep;

const SEEDS: u64 = 40;

#[test]
fn both_flavors_across_all_scenarios_with_no_wrong_result() {
    // scripts/test-all.sh sweeps the same matrix over many more seeds on a
    // release build beside this run: this debug-profile copy would only repeat
    // its first seeds.
    let release_seeds: u64 =
        std::env::var("INNOHOT_RELEASE_SWEEP_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    if release_seeds >= SEEDS {
        eprintln!(
            "skipped: scripts/test-all.sh sweeps seeds 0..{release_seeds} of every scenario and flavor on a release build"
        );
        return;
    }
    let started = std::time::Instant::now();
    let table = sweep(0, SEEDS, &FLAVORS, &SCENARIOS, 2);
    let secs = started.elapsed().as_secs_f64();
    println!("{table}\nwall: {secs:.1} s");
    let total = table.total();
    assert_eq!(
        total.wrong, 0,
        "wrong results (replay each with `innohot sim --config LINE`):\n{:#?}",
        table.wrong_runs
    );
    for flavor in FLAVORS {
        let t = table.flavor_total(flavor);
        let scenarios: Vec<_> = SCENARIOS.into_iter().filter(|sc| sc.applies_to(flavor)).collect();
        assert_eq!(t.runs, SEEDS * scenarios.len() as u64, "{flavor}");
        for sc in scenarios {
            let row = &table.rows[&(flavor, sc)];
            assert!(
                row.reached > 0,
                "{flavor}: scenario {} was targeted but never happened in {} runs",
                sc.name(),
                row.runs
            );
        }
        // Laps are the one scenario with a timing promise: the oracle already
        // refuses a lap found later than the first copy pass after it.
        assert!(t.lapped >= 10, "{flavor}: only {} runs lapped the log copier", t.lapped);
        assert!(t.verified >= SEEDS * 3, "{flavor}: only {} verified backups", t.verified);
    }
}
