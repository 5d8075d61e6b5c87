//! A planted stream bug (the ledger writes no `.ren` marker for a table
//! renamed after it was sent): a sweep of the stream scenario must catch it,
//! and without it the very same runs must pass. Its own test binary: the
//! switch is process-wide.

use innohot::planted::SKIP_REN_MARKER;
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::sweep::sweep;
use std::sync::atomic::Ordering;

#[test]
fn a_planted_missing_ren_marker_is_caught_by_a_stream_sweep() {
    SKIP_REN_MARKER.store(true, Ordering::SeqCst);
    let planted = sweep(0, 40, &[Flavor::MariaDb], &[Scenario::Stream], 2);
    SKIP_REN_MARKER.store(false, Ordering::SeqCst);
    println!("{planted}");
    let t = planted.total();
    assert!(t.wrong > 0, "a stream sweep missed a stream without its .ren markers:\n{planted}");
    let (line, lines) = &planted.wrong_runs[0];
    println!("caught: {lines:?}\n  replay: {line}");
    assert!(lines.iter().any(|l| l.contains("missing from the backup") || l.contains("unexpected file")), "{lines:?}");

    let fixed = sweep(0, 40, &[Flavor::MariaDb], &[Scenario::Stream], 2);
    assert_eq!(fixed.total().wrong, 0, "{:#?}", fixed.wrong_runs);
}
