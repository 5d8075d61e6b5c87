//! A planted bug (the 5.7 follower skips its lap check): the sweep must catch
//! it, the failing run must replay byte for byte, and the shrinker must make
//! it smaller. Its own test binary, because the switch is process-wide.

use innohot::planted::SKIP_LAP_CHECK;
use innohot_simulator::config::Scenario;
use innohot_simulator::shrink::shrink;
use innohot_simulator::trace::render;
use innohot_simulator::{run, RunOptions, SimConfig};
use std::sync::atomic::Ordering;

fn wrong_actions(cfg: &SimConfig) -> Option<u64> {
    let r = run(cfg.clone(), RunOptions::default());
    r.verdict.is_wrong().then_some(r.stats.server_actions)
}

#[test]
fn a_planted_lap_bug_is_caught_replays_exactly_and_shrinks() {
    SKIP_LAP_CHECK.store(true, Ordering::SeqCst);
    let failing = (0..60)
        .map(|seed| SimConfig::for_scenario(seed, Scenario::Lap))
        .find(|cfg| wrong_actions(cfg).is_some())
        .expect("with the lap check skipped, some lap-scenario seed must give a wrong result");

    // Replay from the printed line: same bytes, same trace, same verdict.
    let line = failing.to_string();
    let again: SimConfig = line.parse().unwrap();
    let (a, b) = (run(failing.clone(), RunOptions::default()), run(again, RunOptions::default()));
    assert!(a.verdict.is_wrong() && a.verdict == b.verdict, "{:?} vs {:?}", a.verdict, b.verdict);
    assert_eq!(a.target_hash, b.target_hash, "the replay's backup differs");
    assert_eq!(render(&a.trace, &a.root, false), render(&b.trace, &b.root, false), "the replay's trace differs");

    let shrunk = shrink(failing.clone(), &wrong_actions);
    println!(
        "shrunk in {} runs: {} -> {}\n  from: {line}\n  to:   {}",
        shrunk.attempts, shrunk.size_before, shrunk.size_after, shrunk.config
    );
    assert!(shrunk.size_after < shrunk.size_before, "the shrinker did not make the reproducer smaller");
    assert!(wrong_actions(&shrunk.config).is_some(), "the shrunk run no longer fails");

    // And with the check in place, the very same run is a correct failure.
    SKIP_LAP_CHECK.store(false, Ordering::SeqCst);
    assert!(!run(failing, RunOptions::default()).verdict.is_wrong());
}
