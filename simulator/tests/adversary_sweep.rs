//! Issue 3's sweep: at least 2,000 seeds over every scenario, zero wrong
//! results, and every scenario must really have happened in some runs.

use innohot_simulator::config::{Flavor, SCENARIOS};
use innohot_simulator::sweep::sweep;

#[test]
fn two_thousand_seeds_across_all_scenarios_with_no_wrong_result() {
    let started = std::time::Instant::now();
    let table = sweep(0, 200, &[Flavor::Mysql57], &SCENARIOS, 2);
    let secs = started.elapsed().as_secs_f64();
    println!("{table}\nwall: {secs:.1} s");
    let total = table.total();
    assert!(total.runs >= 2000);
    assert_eq!(
        total.wrong, 0,
        "wrong results (replay each with `innohot sim --config LINE`):\n{:#?}",
        table.wrong_runs
    );
    for ((_, scenario), row) in &table.rows {
        assert!(row.reached > 0, "scenario {} was targeted but never happened in {} runs", scenario.name(), row.runs);
    }
    // Laps are the one scenario with a timing promise: the oracle already
    // refuses a lap found later than the first copy pass after it.
    assert!(total.lapped >= 50, "only {} runs lapped the log copier", total.lapped);
}
