//! The incremental scenario: a full backup and two incrementals of one
//! simulated server during writes and DDL, the chain prepared by innohot and
//! judged against the server's pages at each link, for both flavors.

use innohot::format::page;
use innohot_simulator::config::{Flavor, Scenario, FLAVORS};
use innohot_simulator::incremental::{BACKUPS, CHAIN};
use innohot_simulator::sweep::sweep;
use innohot_simulator::{run, Outcome, RunOptions, SimConfig, Verdict};
use std::path::Path;

#[test]
fn incremental_chains_of_both_flavors_are_verified_through_ddl() {
    let table = sweep(0, 24, &FLAVORS, &[Scenario::Incremental], 2);
    println!("{table}");
    assert_eq!(table.total().wrong, 0, "wrong results: {:#?}", table.wrong_runs);
    for flavor in FLAVORS {
        let row = &table.rows[&(flavor, Scenario::Incremental)];
        assert_eq!(row.runs, 24);
        assert!(row.reached >= 12, "{flavor}: too few chains took both incrementals:\n{table}");
    }
}

/// A seed of `flavor` whose chain took both incrementals with DDL between them.
fn full_chain(flavor: Flavor) -> SimConfig {
    for seed in 0..40 {
        let cfg = SimConfig::for_flavor(seed, flavor, Scenario::Incremental);
        let r = run(cfg.clone(), RunOptions { skip_hash: true, ..RunOptions::default() });
        if r.verdict == Verdict::Verified && r.stats.incrementals_applied == 2 && r.stats.ddl_between_backups > 0 {
            return cfg;
        }
    }
    panic!("no {flavor} seed took both incrementals with DDL between the backups");
}

#[test]
fn the_same_seed_gives_the_same_backups_and_chain() {
    for flavor in FLAVORS {
        let cfg = full_chain(flavor);
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let again: SimConfig = cfg.to_string().parse().unwrap();
        let mut ra = run(cfg.clone(), RunOptions { dir: Some(a.path().into()), ..RunOptions::default() });
        let mut rb = run(again, RunOptions { dir: Some(b.path().into()), ..RunOptions::default() });
        // The source paths under the lock name each run's own directory.
        let (oa, ob) = (&mut ra.stats.source_ops_under_commit_lock, &mut rb.stats.source_ops_under_commit_lock);
        assert_eq!(oa.len(), ob.len(), "{cfg}");
        oa.clear();
        ob.clear();
        assert_eq!(ra.verdict, Verdict::Verified, "{cfg}");
        assert_eq!(ra.target_hash, rb.target_hash, "the same seed gave different backups or chains: {cfg}");
        assert_eq!(ra.outcome, rb.outcome, "{cfg}");
        assert_eq!(ra.stats, rb.stats, "{cfg}");
        let Outcome::Completed(s) = &ra.outcome else { panic!("{cfg}") };
        assert!(s.delta.is_some(), "the last backup is an incremental one: {cfg}");
        for dir in BACKUPS.iter().chain([&CHAIN]) {
            assert!(ra.target.join(dir).join("xtrabackup_checkpoints").exists(), "{dir}: {cfg}");
        }
    }
}

/// Flips a byte in the body of every page of `file` but page 0, each page
/// stamped again with a valid checksum: pages prepare takes as they are.
fn spoil_pages(file: &Path, flavor: Flavor, page_size: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    for pg in bytes.chunks_exact_mut(page_size).skip(1) {
        pg[page::FIL_PAGE_DATA + 100] ^= 0x5A;
        match flavor {
            Flavor::MariaDb => page::stamp_full_crc32(pg),
            Flavor::Mysql57 => page::stamp_legacy_crc32(pg),
        }
    }
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn the_oracle_catches_a_damaged_chain_and_a_damaged_delta() {
    for flavor in FLAVORS {
        let cfg = full_chain(flavor);
        // The chain prepared up to the first incremental, damaged before the second is applied.
        let page_size = cfg.page_size;
        let tamper = Box::new(move |dir: &Path| spoil_pages(&dir.join(CHAIN).join("ibdata1"), flavor, page_size));
        let v = run(cfg.clone(), RunOptions { tamper: Some(tamper), ..RunOptions::default() }).verdict;
        let Verdict::Wrong(lines) = &v else { panic!("{cfg}: a damaged chain passed: {v:?}") };
        assert!(
            lines.iter().any(|l| l.contains("the chain prepared up to inc2") && l.contains("space 0")),
            "{lines:?}"
        );
        // The second incremental's system tablespace delta, damaged before it is judged and applied.
        let tamper = Box::new(|dir: &Path| {
            let delta = dir.join(BACKUPS[2]).join("ibdata1.delta");
            let mut bytes = std::fs::read(&delta).unwrap();
            bytes[0] ^= 0x20; // "XTRA" becomes "xTRA"
            std::fs::write(&delta, bytes).unwrap();
        });
        let v = run(cfg.clone(), RunOptions { tamper: Some(tamper), ..RunOptions::default() }).verdict;
        let Verdict::Wrong(lines) = &v else { panic!("{cfg}: a damaged delta passed: {v:?}") };
        assert!(lines.iter().any(|l| l.contains("ibdata1.delta")), "{lines:?}");
    }
}
