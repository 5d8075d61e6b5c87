//! A planted MariaDB follower bug: it copies every whole mtr it reads, past what
//! the server reported as written, so a log write caught in flight (stale mtrs
//! with valid CRCs after the real end, `phantom_tail_percent`) ends up in the
//! copy. The oracle must catch it on some torn-scenario seed, and with the
//! follower as built the same seeds must be right. Its own test binary: the
//! switch is process-wide.

use innohot::planted::TRUST_LOG_TAIL;
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::{run, RunOptions, SimConfig, Verdict};
use std::sync::atomic::Ordering;

#[test]
fn a_follower_that_trusts_the_logs_tail_is_caught_and_the_real_one_is_not() {
    let seeds: Vec<SimConfig> =
        (0..40).map(|seed| SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Torn)).collect();
    TRUST_LOG_TAIL.store(true, Ordering::SeqCst);
    let caught: Vec<(SimConfig, Verdict)> = seeds
        .iter()
        .map(|cfg| (cfg.clone(), run(cfg.clone(), RunOptions::default())))
        .filter(|(_, r)| r.stats.phantom_tails > 0)
        .map(|(cfg, r)| (cfg, r.verdict))
        .filter(|(_, v)| v.is_wrong())
        .collect();
    TRUST_LOG_TAIL.store(false, Ordering::SeqCst);
    let (first, why) = caught.first().expect("trusting the log's tail must give a wrong result on some seed");
    println!("caught on {} of {} seeds, first: {first}\n  {why:?}", caught.len(), seeds.len());
    for (cfg, _) in &caught {
        let r = run(cfg.clone(), RunOptions::default());
        assert!(!r.verdict.is_wrong(), "{cfg}\n{:?}", r.verdict);
        assert!(r.stats.phantom_tails > 0, "{cfg}: the run must have seen phantom tails");
    }
}
