//! Simulated hot backups checked by the oracle: many seeds, determinism,
//! the phase trace, tampering the oracle must catch, and failures that must
//! never look complete.

use innohot::events::{EventKind, Phase};
use innohot::server::LockStep;
use innohot_simulator::config::{Flavor, Scenario};
use innohot_simulator::faults::{Faults, ServerCall};
use innohot_simulator::sweep::sweep;
use innohot_simulator::trace::render;
use innohot_simulator::{run, run_seed, Outcome, RunOptions, SimConfig, Verdict};
use std::fs;
use std::path::Path;

#[test]
fn oracle_verifies_128_seeds_and_the_adversary_showed_up() {
    let table = sweep(0, 128, &[Flavor::Mysql57], &[Scenario::Default], 2);
    println!("{table}");
    let t = table.total();
    assert_eq!(t.wrong, 0, "wrong results: {:#?}", table.wrong_runs);
    assert_eq!(t.verified, 128, "every default-scenario seed must produce a verified backup:\n{table}");
    // A sweep that never wrapped the ring or tore a page proves little: make sure they happen.
    assert!(t.ring_wrapped >= 20, "the redo ring wrapped in only {} runs", t.ring_wrapped);
    assert!(t.torn_reads >= 3, "a torn page was read in only {} runs", t.torn_reads);
    let configs: Vec<SimConfig> = (0..128).map(SimConfig::from_seed).collect();
    assert!(
        configs.iter().filter(|c| c.start_lsn > 1 << 38).count() >= 3,
        "too few runs near the 2^30 block-number wrap"
    );
    assert!(configs.iter().filter(|c| c.page_size < 16384).count() >= 10);
    assert!(configs.iter().filter(|c| c.undo_tablespaces > 0).count() >= 10);
}

/// Seed 689 (MySQL 5.7) was WRONG in three scenarios: a 5.7 mtr changed its pages
/// before the server made room in the ring, so the flush inside make_room wrote a
/// page holding that mtr's bytes ahead of its redo and the oracle's truth counted
/// the unflushed change as durable. A backup ending before that mtr then looked
/// short of a change it could never have had.
#[test]
fn seed_689_a_page_never_reaches_the_disk_ahead_of_its_redo() {
    for scenario in [Scenario::Default, Scenario::TargetEio, Scenario::Mixed] {
        let r = run(SimConfig::for_flavor(689, Flavor::Mysql57, scenario), RunOptions::default());
        assert!(!matches!(r.verdict, Verdict::Wrong(_)), "seed 689 {}: {:?}", scenario.name(), r.verdict);
    }
    let r = run(SimConfig::for_flavor(689, Flavor::Mysql57, Scenario::Default), RunOptions::default());
    assert!(matches!(r.verdict, Verdict::Verified), "seed 689 default: {:?}", r.verdict);
}

/// Seed 491 (ddl, MySQL 5.7) builds an index without redo after the start
/// checkpoint but before the backup reads the server's LSN: 5.7 flushed its
/// pages before it logged MLOG_INDEX_LOAD, so the backup must complete and the
/// prepare must take the record as the marker it is (the prepare once refused it).
#[test]
fn seed_491_an_index_built_before_the_copy_fails_nothing() {
    let r = run(SimConfig::for_flavor(491, Flavor::Mysql57, Scenario::Ddl), RunOptions::default());
    assert!(matches!(r.verdict, Verdict::Verified), "seed 491 ddl: {:?}", r.verdict);
}

fn redacted_trace(seed: u64) -> (u64, String, Outcome) {
    let r = run_seed(seed);
    let text = render(&r.trace, &r.root, false);
    let times: Vec<String> = r.trace.iter().map(|e| format!("{:?}", e.at)).collect();
    (r.target_hash, format!("{text}\n{}", times.join(",")), r.outcome)
}

#[test]
fn same_seed_same_bytes_same_trace() {
    let (hash_a, trace_a, out_a) = redacted_trace(7);
    let (hash_b, trace_b, out_b) = redacted_trace(7);
    assert_eq!(hash_a, hash_b, "the backup's bytes differ between two runs of seed 7");
    assert_eq!(trace_a, trace_b, "the trace differs between two runs of seed 7");
    assert_eq!(out_a, out_b);
    let (hash_c, _, _) = redacted_trace(8);
    assert_ne!(hash_a, hash_c, "different seeds must give different backups (is the hash looking at anything?)");
}

#[test]
fn phases_run_in_the_reference_run_order() {
    let r = run_seed(1);
    assert!(matches!(r.verdict, Verdict::Verified), "{:?}", r.verdict);
    let started: Vec<Phase> = r.trace.iter().filter(|e| e.kind == EventKind::PhaseStarted).map(|e| e.phase).collect();
    let numbers: Vec<u8> = started.iter().map(|p| p.number()).collect();
    let expected: Vec<u8> = (1..=25).filter(|&n| n != 13).collect();
    assert_eq!(numbers, expected, "phases began out of order");
    // Phase 13 is the log copier's passes during the data copy (phase 12).
    let first_copy = r.trace.iter().position(|e| e.phase == Phase::DataCopy).unwrap();
    let lock = r.trace.iter().position(|e| e.phase == Phase::Lock).unwrap();
    let follows = r.trace.iter().position(|e| e.phase == Phase::LogFollows).unwrap();
    assert!(first_copy < follows && follows < lock, "log passes must run during the data copy");
    assert_eq!(r.trace.last().map(|e| &e.kind), Some(&EventKind::Completed));
}

fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

#[test]
fn phase_trace_snapshot() {
    let r = run_seed(1);
    let text = render(&r.trace, &r.root, true);
    snapshot_settings().bind(|| insta::assert_snapshot!("sim_seed1_phase_trace", text));
}

/// Replaces values that depend on the simulator's tuning (LSNs, positions, times, ids).
fn redact_values(text: &str) -> String {
    text.lines()
        .map(|line| {
            let volatile = [
                "uuid",
                "start_time",
                "end_time",
                "to_lsn",
                "last_lsn",
                "innodb_to_lsn",
                "binlog_pos",
                "lock_time",
                "tool_version",
                "ibbackup_version",
            ];
            match line.split_once(" = ") {
                Some((k, _)) if volatile.contains(&k) => format!("{k} = [redacted]"),
                // The config line is the replay test's business; a new key must not churn this snapshot.
                Some(("tool_command", v)) => match v.split_once("--config '") {
                    Some((head, _)) => format!("tool_command = {head}--config '[config line]'"),
                    None => line.to_string(),
                },
                // The binlog line's shape: how many fields, not their values.
                _ if line.contains('\t') => {
                    let names = ["[binlog file]", "[position]", "[gtid set]", "[unexpected field]"];
                    let fields = line.split('\t').count().min(names.len());
                    names[..fields].join("\t")
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn metadata_files_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(SimConfig::from_seed(1), RunOptions { dir: Some(dir.path().to_path_buf()), ..RunOptions::default() });
    assert!(matches!(r.verdict, Verdict::Verified), "{:?}", r.verdict);
    let mut all = String::new();
    for name in ["xtrabackup_checkpoints", "xtrabackup_binlog_info", "backup-my.cnf", "xtrabackup_info"] {
        let text = fs::read_to_string(r.target.join(name)).unwrap();
        all.push_str(&format!("==> {name} <==\n{}\n", redact_values(&text)));
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("sim_seed1_metadata", all));
}

fn tampered(seed: u64, tamper: impl Fn(&Path) + 'static) -> Verdict {
    run(SimConfig::from_seed(seed), RunOptions { tamper: Some(Box::new(tamper)), ..RunOptions::default() }).verdict
}

fn flip(path: &Path, at: usize) {
    let mut b = fs::read(path).unwrap();
    b[at] ^= 0x01;
    fs::write(path, b).unwrap();
}

#[test]
fn oracle_catches_a_tampered_backup() {
    use innohot::format::page;
    let cases: Vec<(&str, innohot_simulator::run::Tamper)> = vec![
        ("a flipped redo byte", Box::new(|t: &Path| flip(&t.join("xtrabackup_logfile"), 2048 + 100))),
        (
            "a missing last redo block",
            Box::new(|t: &Path| {
                let p = t.join("xtrabackup_logfile");
                let len = fs::metadata(&p).unwrap().len();
                fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 512).unwrap();
            }),
        ),
        (
            "a data page changed and re-checksummed (valid, but never written by the server)",
            Box::new(|t: &Path| {
                let p = t.join("ibdata1");
                let mut b = fs::read(&p).unwrap();
                let psize = 16384.min(b.len());
                let pg = &mut b[3 * psize..4 * psize];
                pg[200] ^= 0xFF;
                page::stamp_legacy_crc32(pg);
                fs::write(&p, b).unwrap();
            }),
        ),
        ("a missing .frm", Box::new(|t: &Path| fs::remove_file(t.join("shop/t0.frm")).unwrap())),
        (
            "a wrong to_lsn",
            Box::new(|t: &Path| {
                let p = t.join("xtrabackup_checkpoints");
                let s = fs::read_to_string(&p).unwrap().replace("to_lsn = ", "to_lsn = 1");
                fs::write(p, s).unwrap();
            }),
        ),
        ("an extra file", Box::new(|t: &Path| fs::write(t.join("shop/stray.MYD"), b"x").unwrap())),
    ];
    for (what, tamper) in cases {
        let v = tampered(1, tamper);
        assert!(v.is_wrong(), "the oracle missed {what}: {v:?}");
    }
}

#[test]
fn oracle_catches_a_tampered_mariadb_backup() {
    use innohot::format::page;
    let mariadb = || SimConfig::for_flavor(1, Flavor::MariaDb, Scenario::Default);
    let clean = run(mariadb(), RunOptions::default());
    assert!(matches!(clean.verdict, Verdict::Verified), "{:?}", clean.verdict);
    let cases: Vec<(&str, innohot_simulator::run::Tamper)> = vec![
        ("a flipped redo byte", Box::new(|t: &Path| flip(&t.join("ib_logfile0"), 12288 + 100))),
        ("a flipped byte in the log header", Box::new(|t: &Path| flip(&t.join("ib_logfile0"), 20))),
        (
            "a missing last mtr byte",
            Box::new(|t: &Path| {
                let p = t.join("ib_logfile0");
                let len = fs::metadata(&p).unwrap().len();
                fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 1).unwrap();
            }),
        ),
        (
            "a data page changed and re-checksummed (valid, but never written by the server)",
            Box::new(|t: &Path| {
                let p = t.join("shop/t0.ibd");
                let mut b = fs::read(&p).unwrap();
                let psize = 16384;
                let pg = &mut b[3 * psize..4 * psize];
                pg[200] ^= 0xFF;
                page::stamp_full_crc32(pg);
                fs::write(&p, b).unwrap();
            }),
        ),
        ("a missing Aria control file", Box::new(|t: &Path| fs::remove_file(t.join("aria_log_control")).unwrap())),
        ("a changed Aria table", Box::new(|t: &Path| flip(&t.join("shop/notes.MAI"), 0))),
        (
            "a wrong last_lsn",
            Box::new(|t: &Path| {
                let p = t.join("xtrabackup_checkpoints");
                let s = fs::read_to_string(&p).unwrap().replace("last_lsn = ", "last_lsn = 1");
                fs::write(p, s).unwrap();
            }),
        ),
    ];
    assert_eq!(mariadb().page_size, 16384, "the page tamper assumes 16 KiB pages");
    for (what, tamper) in cases {
        let v = run(mariadb(), RunOptions { tamper: Some(tamper), ..RunOptions::default() }).verdict;
        assert!(v.is_wrong(), "the oracle missed {what}: {v:?}");
    }
}

#[test]
fn mariadb_runs_are_verified_and_deterministic() {
    let table = sweep(0, 40, &[Flavor::MariaDb], &[Scenario::Default, Scenario::Ddl], 2);
    println!("{table}");
    let t = table.total();
    assert_eq!(t.wrong, 0, "wrong results: {:#?}", table.wrong_runs);
    assert_eq!(t.verified, 80, "every default and ddl MariaDB seed must produce a verified backup:\n{table}");
    assert!(t.ring_wrapped >= 10 && t.torn_reads >= 3, "the adversary did not show up:\n{table}");
    let cfg = SimConfig::for_flavor(7, Flavor::MariaDb, Scenario::Ddl);
    let (a, b) = (run(cfg.clone(), RunOptions::default()), run(cfg, RunOptions::default()));
    assert_eq!(a.target_hash, b.target_hash, "the same MariaDB seed gave different backups");
    assert_eq!(render(&a.trace, &a.root, false), render(&b.trace, &b.root, false));
    assert!(a.trace.iter().any(|e| e.kind == EventKind::Statement("BACKUP STAGE BLOCK_COMMIT".into())));
}

/// The MariaDB backups' redo holds every record kind the simulated server writes,
/// so the oracle's prepare really applies each (and the engine's follower copies each).
#[test]
fn mariadb_backups_hold_every_record_kind() {
    use innohot::format::mariadb::{parse_log_header, records, scan_mtr, FileOp, MtrScan, Record, Ring};
    use std::collections::BTreeSet;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for seed in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Ddl);
        let r = run(cfg, RunOptions { dir: Some(dir.path().to_path_buf()), ..RunOptions::default() });
        let Outcome::Completed(sum) = &r.outcome else { continue };
        assert!(matches!(r.verdict, Verdict::Verified), "{:?}", r.verdict);
        let log = fs::read(r.target.join("ib_logfile0")).unwrap();
        let (header, _) = parse_log_header(&log[..12288]).unwrap();
        let ring = Ring::new(header.first_lsn, log.len() as u64).unwrap();
        let mut at = 12288;
        while at < log.len() {
            let lsn = header.first_lsn + (at - 12288) as u64;
            let MtrScan::Mtr { len, records_len } = scan_mtr(&log[at..], lsn, &ring) else { panic!("at {lsn}") };
            for rec in records(&log[at..at + records_len]) {
                seen.insert(match rec.unwrap() {
                    Record::Page { op, page: None, .. } => format!("same-page {op:?}"),
                    Record::Page { op, .. } => format!("{op:?}"),
                    Record::File { op: FileOp::Modify, .. } => "FILE_MODIFY".into(),
                    Record::File { op, .. } => format!("FILE_{op:?}"),
                    Record::FileCheckpoint { .. } => "FILE_CHECKPOINT".into(),
                    Record::Padding { .. } => "padding".into(),
                });
            }
            at += len;
        }
        assert_eq!(header.first_lsn + (log.len() - 12288) as u64, sum.last_lsn);
    }
    for kind in [
        "Write",
        "Memset",
        "Memmove",
        "InitPage",
        "FreePage",
        "same-page Write",
        "same-page Memset",
        "same-page Memmove",
        "FILE_MODIFY",
        "FILE_Create",
        "FILE_Delete",
        "FILE_Rename",
        "FILE_CHECKPOINT",
    ] {
        assert!(seen.contains(kind), "no {kind} record in 12 MariaDB ddl backups; seen: {seen:?}");
    }
}

fn faulted(faults: Faults) -> (innohot_simulator::RunReport, String) {
    let mut cfg = SimConfig::from_seed(3);
    cfg.faults = faults;
    let r = run(cfg, RunOptions::default());
    let msg = match &r.outcome {
        Outcome::Failed(e) => e.to_string(),
        other => panic!("the backup did not fail with an error despite a planned fault: {other:?}"),
    };
    (r, msg)
}

#[test]
fn failed_backups_never_look_complete_and_never_leave_the_server_locked() {
    let cases = [
        (Faults { server_call: Some(ServerCall::Lock(LockStep::ReadLock)), ..Faults::default() }, "ReadLock"),
        (Faults { server_call: Some(ServerCall::BinlogPosition), ..Faults::default() }, "BinlogPosition"),
        (Faults { server_call: Some(ServerCall::Unlock), ..Faults::default() }, "Unlock"),
        (
            // After xtrabackup_checkpoints is written: it must be withdrawn.
            Faults { target_create_enospc: Some("backup-my.cnf".into()), ..Faults::default() },
            "backup-my.cnf",
        ),
        (Faults { target_create_enospc: Some("shop/t0.ibd".into()), ..Faults::default() }, "t0.ibd"),
    ];
    for (faults, named) in cases {
        let (r, msg) = faulted(faults.clone());
        let Outcome::Failed(err) = &r.outcome else { unreachable!("faulted() checked") };
        if faults.server_call.is_some() {
            assert!(err.is_connection_lost(), "{faults:?}: {err:?}");
        } else {
            let (path, e) = err.io_failure().unwrap_or_else(|| panic!("{faults:?}: not an I/O error: {err:?}"));
            assert!(path.ends_with(named) && e.raw_os_error() == Some(28), "{faults:?}: {err:?}");
        }
        assert!(matches!(r.verdict, Verdict::CorrectFailure(_)), "{faults:?}: {:?}", r.verdict);
        assert!(msg.contains(named), "{faults:?}: the error does not name {named}: {msg}");
        assert!(!r.target.join("xtrabackup_checkpoints").exists(), "{faults:?} left a success marker");
        assert!(!r.trace.iter().any(|e| e.kind == EventKind::Completed), "{faults:?} said completed");
    }
    let (_, msg) = faulted(Faults { target_create_enospc: Some("backup-my.cnf".into()), ..Faults::default() });
    assert!(msg.contains("the target file system is full"), "ENOSPC needs its fix in the message: {msg}");
}

#[test]
fn a_lapped_log_copier_fails_with_the_wrap_error() {
    let mut cfg = SimConfig::from_seed(11);
    cfg.log_files = 2;
    cfg.log_file_size = 48 * 1024;
    cfg.server_gap_us = 10;
    cfg.poll_interval_us = 2_000_000; // the copier sleeps while the ring turns over many times
    let r = run(cfg, RunOptions::default());
    let Outcome::Failed(err) = &r.outcome else { panic!("completed over a lapped log: {:?}", r.outcome) };
    assert!(err.is_lap(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("the redo log wrapped before it was copied") && msg.contains("innodb_log_file_size"), "{msg}");
    assert!(matches!(r.verdict, Verdict::CorrectFailure(_)), "{:?}", r.verdict);
    assert!(!r.target.join("xtrabackup_checkpoints").exists());
}

/// A backup that silently lacked a table would be the worst bug a backup tool
/// can have: with one table left out on purpose (a remote one and a local
/// one), the lock-time cross-check fails the backup, naming it, and nothing
/// claims success.
#[test]
fn a_planted_omission_fails_the_backup_naming_the_table() {
    let cfg = SimConfig::from_seed(1);
    assert!(cfg.remote_tables > 0 && cfg.tables_per_schema >= 2, "seed 1 must hold a DATA DIRECTORY table: {cfg}");
    for table in ["shop/t0", "shop/t2"] {
        let dir = tempfile::tempdir().unwrap();
        let opts = RunOptions {
            dir: Some(dir.path().to_path_buf()),
            skip_tablespace: Some(table.into()),
            ..RunOptions::default()
        };
        let report = run(cfg.clone(), opts);
        let Outcome::Failed(e) = &report.outcome else { panic!("{table}: the backup completed without it") };
        assert!(matches!(e, innohot::BackupError::TablespaceMissing { .. }), "{table}: {e:?}");
        let why = e.to_string();
        assert!(why.contains("missing from the backup") && why.contains(table), "{table}: {why}");
        assert!(!dir.path().join("backup/xtrabackup_checkpoints").exists(), "{table}: looks complete");
    }
    // Without the switch the same seed completes.
    assert!(matches!(run_seed(1).outcome, Outcome::Completed(_)));
}
