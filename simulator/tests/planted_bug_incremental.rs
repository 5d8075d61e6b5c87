//! A planted incremental bug (a delta leaves out the pages whose LSN is
//! exactly its `from_lsn`: mariabackup's `>` where innohot takes `>=`): the
//! incremental scenario must make such pages on a fair share of seeds, a sweep
//! must catch the bug on both flavors, and without it the very same runs must
//! pass. Its own test binary: the switch is process-wide.
//!
//! What catches it is the oracle's check of the deltas themselves (a page the
//! copy read with LSN `from_lsn` must be in the delta). The prepared chain
//! stays right even with the bug: the base, prepared to its `last_lsn`, already
//! holds the change that ends at its `to_lsn` (innohot's `to_lsn` is never past
//! `last_lsn`), so leaving such a page out loses nothing in innohot's chains.

use innohot::planted::SKIP_PAGE_AT_FROM_LSN;
use innohot_simulator::config::{Flavor, Scenario, FLAVORS};
use innohot_simulator::sweep::sweep;
use std::sync::atomic::Ordering;

const SEEDS: u64 = 24;

#[test]
fn a_planted_skip_of_pages_at_from_lsn_is_caught_by_an_incremental_sweep() {
    let fixed = sweep(0, SEEDS, &FLAVORS, &[Scenario::Incremental], 2);
    println!("{fixed}");
    assert_eq!(fixed.total().wrong, 0, "{:#?}", fixed.wrong_runs);
    for flavor in FLAVORS {
        let row = &fixed.rows[&(flavor, Scenario::Incremental)];
        assert!(
            row.pages_at_from_lsn * 4 >= row.reached,
            "{flavor}: only {} of {} runs that applied both incrementals had delta pages of LSN from_lsn:\n{fixed}",
            row.pages_at_from_lsn,
            row.reached
        );
    }

    SKIP_PAGE_AT_FROM_LSN.store(true, Ordering::SeqCst);
    let planted = sweep(0, SEEDS, &FLAVORS, &[Scenario::Incremental], 2);
    SKIP_PAGE_AT_FROM_LSN.store(false, Ordering::SeqCst);
    println!("{planted}");
    for flavor in FLAVORS {
        let row = &planted.rows[&(flavor, Scenario::Incremental)];
        assert!(row.wrong > 0, "{flavor}: the sweep missed deltas without their pages at from_lsn:\n{planted}");
        let (line, lines) = planted.wrong_runs.iter().find(|(l, _)| l.contains(&format!(" flavor={flavor} "))).unwrap();
        println!("caught ({flavor}): {lines:?}\n  replay: {line}");
        assert!(lines.iter().all(|l| l.contains("is not in the delta") && !l.contains("chain")), "{lines:?}");
    }
    // Only the runs whose deltas had such pages go wrong.
    assert!(planted.total().wrong <= fixed.total().pages_at_from_lsn, "{planted}");
    assert_eq!(planted.rows.keys().map(|(f, _)| *f).collect::<Vec<Flavor>>(), FLAVORS.to_vec());
}
