//! The stream scenario: MariaDB backups sent as an xbstream during DDL, then
//! extracted, checked against their manifest, their markers applied, and
//! judged as directory backups.

use innohot::format::xbstream::{decode, Chunk};
use innohot::stream::MANIFEST;
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::faults::Faults;
use innohot_simulator::stream::{STREAM_FILE, STREAM_FILES_DIR};
use innohot_simulator::sweep::sweep;
use innohot_simulator::{run, Outcome, RunOptions, SimConfig, Verdict};
use std::collections::BTreeSet;

fn stream_cfg(seed: u64) -> SimConfig {
    SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Stream)
}

/// Whether some file's chunks are interleaved with another file's in the stream.
fn interleaved(stream: &[u8]) -> bool {
    let (mut at, mut open, mut last) = (0, BTreeSet::new(), None::<String>);
    while let Some((chunk, len)) = decode(&stream[at..]).unwrap() {
        at += len;
        match chunk {
            Chunk::Payload { path, offset, .. } => {
                if offset > 0 && last.as_deref() != Some(path) && open.contains(path) {
                    return true;
                }
                open.insert(path.to_string());
                last = Some(path.to_string());
            }
            Chunk::Eof { path } => {
                open.remove(path);
            }
            Chunk::Skipped { .. } => {}
        }
    }
    false
}

#[test]
fn stream_runs_are_verified_and_reach_ddl_markers() {
    let table = sweep(0, 24, &[Flavor::Mysql57, Flavor::MariaDb], &[Scenario::Stream], 2);
    println!("{table}");
    let t = table.total();
    assert_eq!(t.wrong, 0, "wrong results: {:#?}", table.wrong_runs);
    assert_eq!(t.runs, 24, "the stream scenario runs for MariaDB only:\n{table}");
    assert_eq!(t.verified, 24, "every stream seed must give a verified backup:\n{table}");
    assert!(t.reached >= 6, "too few runs wrote DDL markers:\n{table}");
}

#[test]
fn a_stream_on_several_lanes_interleaves_and_replays_byte_for_byte() {
    let cfg = (0..200)
        .map(stream_cfg)
        .find(|c| c.parallel > 1 && c.stream_chunk <= 64 << 10 && c.ddl_per_mille >= 3)
        .expect("a seed streaming on several lanes in small chunks");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ra = run(cfg.clone(), RunOptions { dir: Some(a.path().into()), ..RunOptions::default() });
    let rb = run(cfg.clone(), RunOptions { dir: Some(b.path().into()), ..RunOptions::default() });
    assert_eq!(ra.verdict, Verdict::Verified, "{cfg}");
    let (sa, sb) =
        (std::fs::read(a.path().join(STREAM_FILE)).unwrap(), std::fs::read(b.path().join(STREAM_FILE)).unwrap());
    assert!(sa == sb, "the same seed gave different streams: {cfg}");
    assert_eq!(ra.target_hash, rb.target_hash);
    assert!(interleaved(&sa), "no file's chunks interleave with another's: {cfg}");
    // The manifest was checked and set aside: the backup holds what a directory backup holds.
    assert!(a.path().join(STREAM_FILES_DIR).join(MANIFEST).exists());
    assert!(!ra.target.join(MANIFEST).exists());
}

#[test]
fn a_failed_stream_ends_without_its_manifest() {
    for faults in [
        Faults { kill_before_step: Some(60), ..Faults::default() },
        Faults { target_write_eio: Some(("shop/t0.ibd".into(), 1)), ..Faults::default() },
        Faults { target_create_enospc: Some("backup-my.cnf".into()), ..Faults::default() },
    ] {
        let mut cfg = stream_cfg(5);
        cfg.faults = faults;
        let dir = tempfile::tempdir().unwrap();
        let r = run(cfg.clone(), RunOptions { dir: Some(dir.path().into()), ..RunOptions::default() });
        assert!(!matches!(r.outcome, Outcome::Completed(_)), "{cfg}");
        assert!(matches!(r.verdict, Verdict::CorrectFailure(_)), "{cfg}: {:?}", r.verdict);
        assert!(std::fs::metadata(dir.path().join(STREAM_FILE)).unwrap().len() > 0, "{cfg}");
        assert!(!r.target.join(MANIFEST).exists(), "{cfg}");
    }
    // A failed stream that did end with a manifest would pass for a complete backup.
    let mut cfg = stream_cfg(5);
    cfg.faults.kill_before_step = Some(60);
    let tamper = Box::new(|target: &std::path::Path| std::fs::write(target.join(MANIFEST), "format = 1\n").unwrap());
    let v = run(cfg, RunOptions { tamper: Some(tamper), ..RunOptions::default() }).verdict;
    assert!(matches!(&v, Verdict::Wrong(l) if l.iter().any(|l| l.contains("left innohot_manifest behind"))), "{v:?}");
}
