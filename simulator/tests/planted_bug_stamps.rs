//! A planted bug in the short lock (MySQL 5.7): the lock-time re-check trusts
//! a file's stamp however young it is. A same-size MyISAM write in the same
//! timestamp tick as the file's copy before the lock then leaves the stamp as
//! it was and the stale copy in the backup: the oracle must catch it. Its own
//! test binary, because the switch is process-wide.

use innohot::planted::TRUST_YOUNG_STAMPS;
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::{run, RunOptions, SimConfig, Verdict};
use std::sync::atomic::Ordering;

#[test]
fn trusting_young_stamps_is_caught() {
    TRUST_YOUNG_STAMPS.store(true, Ordering::SeqCst);
    let caught =
        (0..200).map(|seed| SimConfig::for_flavor(seed, Flavor::Mysql57, Scenario::Default)).find_map(|cfg| match run(
            cfg.clone(),
            RunOptions { skip_hash: true, ..RunOptions::default() },
        )
        .verdict
        {
            Verdict::Wrong(lines) => Some((cfg, lines)),
            _ => None,
        });
    let (cfg, lines) = caught.expect("with young stamps trusted, some seed must leave a stale MyISAM copy");
    println!("caught: {lines:?}\n  replay: {cfg}");
    assert!(lines.iter().any(|l| l.contains("differs from the server's file under the lock")), "{lines:?}");
    TRUST_YOUNG_STAMPS.store(false, Ordering::SeqCst);
    let fixed = run(cfg, RunOptions { skip_hash: true, ..RunOptions::default() });
    assert_eq!(fixed.verdict, Verdict::Verified);
}
