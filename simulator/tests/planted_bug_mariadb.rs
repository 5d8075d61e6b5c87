//! A planted MariaDB follower bug (it never compares the server's checkpoint with
//! its copy position, so a lapped ring goes unnoticed): the oracle must catch it,
//! the failing run must replay byte for byte from its config line, and the
//! shrinker must make it smaller. Its own test binary: the switch is process-wide.

use innohot::planted::SKIP_WRAP_CHECK_MARIADB;
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::shrink::shrink;
use innohot_simulator::trace::render;
use innohot_simulator::{run, RunOptions, SimConfig, Verdict};
use std::sync::atomic::Ordering;

fn wrong_actions(cfg: &SimConfig) -> Option<u64> {
    let r = run(cfg.clone(), RunOptions::default());
    r.verdict.is_wrong().then_some(r.stats.server_actions)
}

#[test]
fn a_planted_mariadb_wrap_bug_is_caught_replays_exactly_and_shrinks() {
    SKIP_WRAP_CHECK_MARIADB.store(true, Ordering::SeqCst);
    let failing = (0..60)
        .map(|seed| SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Lap))
        .find(|cfg| wrong_actions(cfg).is_some())
        .expect("with the wrap checks skipped, some MariaDB lap-scenario seed must give a wrong result");

    // Replay from the printed line: same bytes, same trace, same verdict.
    let line = failing.to_string();
    assert!(line.contains(" flavor=mariadb "), "{line}");
    let again: SimConfig = line.parse().unwrap();
    let (a, b) = (run(failing.clone(), RunOptions::default()), run(again, RunOptions::default()));
    let Verdict::Wrong(lines) = &a.verdict else { panic!("{:?}", a.verdict) };
    println!("caught: {lines:?}\n  replay: {line}");
    assert_eq!(a.verdict, b.verdict);
    assert_eq!(a.target_hash, b.target_hash, "the replay's backup differs");
    assert_eq!(render(&a.trace, &a.root, false), render(&b.trace, &b.root, false), "the replay's trace differs");

    let shrunk = shrink(failing.clone(), &wrong_actions);
    println!(
        "shrunk in {} runs: {} -> {}\n  from: {line}\n  to:   {}",
        shrunk.attempts, shrunk.size_before, shrunk.size_after, shrunk.config
    );
    assert!(shrunk.size_after < shrunk.size_before, "the shrinker did not make the reproducer smaller");
    assert!(wrong_actions(&shrunk.config).is_some(), "the shrunk run no longer fails");

    // With the checks in place, the very same run is a correct failure: the lap, found.
    SKIP_WRAP_CHECK_MARIADB.store(false, Ordering::SeqCst);
    let fixed = run(failing, RunOptions::default());
    assert!(
        matches!(fixed.verdict, Verdict::CorrectFailure(ref why) if why.starts_with("lapped")),
        "{:?}",
        fixed.verdict
    );
}
