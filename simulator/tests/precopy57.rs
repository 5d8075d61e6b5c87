//! MySQL 5.7 copies the non-InnoDB files before FTWRL and, under it, only
//! those that changed since. The server keeps writing MyISAM tables (appends
//! and same-size writes in place) and running DDL until FTWRL, so files
//! change, appear and vanish between their copy and the lock: every backup
//! must still hold the files as they were under the lock (the oracle checks
//! each byte and that no file is missing or left over).

use innohot::events::{EventKind, Phase};
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::{run, RunOptions, SimConfig, Verdict};

#[derive(Debug, Default)]
struct Seen {
    verified: u32,
    /// `.frm` files copied before the lock and gone under it (DROP, RENAME in between).
    frm_gone: u32,
    /// `.frm` files copied under the lock (created, or changed, after their copy).
    frm_copied_under_lock: u32,
    /// MyISAM files copied again under the lock.
    myisam_copied_under_lock: u32,
}

#[test]
fn files_that_change_between_the_copy_and_ftwrl_are_copied_again() {
    let mut seen = Seen::default();
    for seed in 0..40 {
        let r = run(SimConfig::for_flavor(seed, Flavor::Mysql57, Scenario::Ddl), RunOptions::default());
        assert!(!r.verdict.is_wrong(), "seed {seed}: {:?}\n  replay: {}", r.verdict, r.config);
        seen.verified += u32::from(r.verdict == Verdict::Verified);
        for e in r.trace.iter().filter(|e| e.phase == Phase::NonInnodbFiles) {
            match &e.kind {
                EventKind::Note(n) if n.contains(".frm is gone since its copy") => seen.frm_gone += 1,
                EventKind::CopyStarted { source, .. } if source.ends_with(".frm") => seen.frm_copied_under_lock += 1,
                EventKind::CopyStarted { source, .. } if source.contains(".MY") => seen.myisam_copied_under_lock += 1,
                _ => {}
            }
        }
    }
    println!("{seen:?}");
    assert!(seen.verified >= 30, "{seen:?}");
    assert!(seen.frm_gone > 0 && seen.frm_copied_under_lock > 0 && seen.myisam_copied_under_lock > 0, "{seen:?}");
}
