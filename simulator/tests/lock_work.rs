//! What the backup does while the server's commits wait must not grow with
//! the number of tables. The harness records every source open and directory
//! listing the engine makes during a step taken while commits are blocked
//! (`RunStats::source_ops_under_commit_lock`); a datadir with a hundred
//! times more tables must give the very same list. No clock is involved: the
//! work is counted, not timed.

use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::{run, RunOptions, SimConfig, Verdict};

/// The opens and listings under the commit lock for `tables` tables per schema,
/// with the run's directory taken out of the paths.
fn under_commit_lock(flavor: Flavor, seed: u64, tables: u32) -> Vec<String> {
    let mut cfg = SimConfig::for_flavor(seed, flavor, Scenario::Default);
    cfg.tables_per_schema = tables;
    cfg.table_pages_max = 8;
    // DDL during the copy would make the two datadirs differ in more than their size.
    cfg.ddl_per_mille = 0;
    let r = run(cfg, RunOptions { skip_hash: true, ..RunOptions::default() });
    assert!(matches!(r.verdict, Verdict::Verified), "{tables} tables: {:?}", r.verdict);
    let root = r.root.display().to_string();
    r.stats.source_ops_under_commit_lock.iter().map(|op| op.replace(&root, "<root>")).collect()
}

#[test]
fn mariadb_work_under_block_commit_does_not_grow_with_the_tables() {
    for seed in [3, 11] {
        let few = under_commit_lock(Flavor::MariaDb, seed, 2);
        let many = under_commit_lock(Flavor::MariaDb, seed, 200);
        println!("seed {seed}, under BLOCK_COMMIT: {many:?}");
        assert_eq!(few, many, "seed {seed}: the work under BLOCK_COMMIT changed with the number of tables");
        // Only the statistics and log tables, Aria's logs and the redo log's header.
        for op in &many {
            let allowed = op.contains("/mysql/table_stats.")
                || op.contains("/mysql/column_stats.")
                || op.contains("/mysql/index_stats.")
                || op.contains("/mysql/general_log.")
                || op.contains("/mysql/slow_log.")
                || op.contains("/aria_log")
                || op.ends_with("/ib_logfile0");
            assert!(allowed, "seed {seed}: {op} was done while commits were blocked\n{many:#?}");
        }
        assert!(many.iter().any(|op| op.contains("/mysql/table_stats.MAD")), "{many:#?}");
        assert!(!many.iter().any(|op| op.starts_with("list ")), "no listing under BLOCK_COMMIT: {many:#?}");
    }
}
