//! What the backup does while the server's commits wait must not grow with
//! the number of tables. The harness records every source open, directory
//! listing and stamp (stat) the engine makes during a step taken while
//! commits are blocked (`RunStats::source_ops_under_commit_lock`); a datadir
//! with a hundred times more tables must not make the lock open more files.
//! No clock is involved: the work is counted, not timed.

use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::{run, RunOptions, SimConfig, Verdict};

/// The opens, listings and stamps under the commit lock for `tables` tables per
/// schema, with the run's directory taken out of the paths.
fn under_commit_lock(flavor: Flavor, seed: u64, tables: u32) -> Vec<String> {
    let mut cfg = SimConfig::for_flavor(seed, flavor, Scenario::Default);
    cfg.tables_per_schema = tables;
    cfg.table_pages_max = 8;
    // DDL during the copy would make the two datadirs differ in more than their size.
    cfg.ddl_per_mille = 0;
    // A 5.7 table that grew after its copy is copied again under FTWRL, by design
    // (see `take_grown_tables`): work that grows with the tables that grew, not
    // with the tables there are, and that would make the two datadirs differ.
    cfg.grow_per_mille = 0;
    // A paced copy of 200 tables lasts longer and changes the log copier's passes under the lock.
    (cfg.paced, cfg.shared_disk) = (false, false);
    if flavor == Flavor::Mysql57 {
        // One DATA DIRECTORY table in both datadirs: its link file is read under the lock.
        cfg.remote_tables = 1;
    }
    let r = run(cfg, RunOptions { skip_hash: true, ..RunOptions::default() });
    assert!(matches!(r.verdict, Verdict::Verified), "{tables} tables: {:?}", r.verdict);
    let root = r.root.display().to_string();
    r.stats.source_ops_under_commit_lock.iter().map(|op| op.replace(&root, "<root>")).collect()
}

fn of_kind(ops: &[String], kind: &str) -> Vec<String> {
    ops.iter().filter(|op| op.starts_with(kind)).cloned().collect()
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

/// MySQL 5.7's FTWRL blocks commits from its first statement to UNLOCK
/// TABLES. Under it: one listing of the datadir and of each schema directory,
/// one stamp per file, and opens only of what changed since the copy before
/// the lock (the MyISAM tables the workload writes), the DATA DIRECTORY link
/// file and the redo log. No `.frm`, no `.ibd` is opened, however many there are.
#[test]
fn mysql57_work_under_ftwrl_does_not_grow_with_the_tables() {
    let mut recopied = 0;
    for seed in [3, 11, 12] {
        let few = under_commit_lock(Flavor::Mysql57, seed, 2);
        let many = under_commit_lock(Flavor::Mysql57, seed, 200);
        let (opens, stats) = (of_kind(&many, "open "), of_kind(&many, "stat "));
        println!(
            "seed {seed}, under FTWRL: 2 tables per schema: {} listings, {} opens, {} stats; \
             200 tables per schema: {} listings, {} opens, {} stats\n  opens: {opens:?}",
            of_kind(&few, "list ").len(),
            of_kind(&few, "open ").len(),
            of_kind(&few, "stat ").len(),
            of_kind(&many, "list ").len(),
            opens.len(),
            stats.len(),
        );
        assert_eq!(of_kind(&few, "list "), of_kind(&many, "list "), "seed {seed}: one listing per directory");
        for op in &opens {
            let allowed = op.ends_with("/audit.MYD")
                || op.ends_with("/audit.MYI")
                || op.ends_with(".isl")
                || op.contains("/ib_logfile");
            assert!(allowed, "seed {seed}: {op} was opened while commits were blocked\n{many:#?}");
        }
        assert!(opens.len() <= 4 * 2 + 1 + 3, "seed {seed}: {opens:#?}");
        assert!(stats.len() > of_kind(&few, "stat ").len(), "the stamps are where the tables show: {stats:?}");
        recopied += opens.iter().filter(|op| op.contains("/audit.MY")).count();
    }
    assert!(recopied > 0, "no MyISAM file changed between the copy before the lock and FTWRL: the test proves little");
}
