//! `innohot verify` on backup directories: the simulated 5.7 server's (made by
//! `innohot demo`) and a simulated MariaDB backup, clean and then with each
//! planted corruption alone; prepared by `innohot prepare`, then with a page
//! LSN planted past the applied LSN. Each report is an insta snapshot
//! (snapshots/verify_*.snap) with the temporary path and the LSNs redacted.

use innohot_testbeds::{innohot, Run};
use std::path::{Path, PathBuf};

/// `innohot verify`: its exit code and its report (stdout, then stderr).
fn verify(dir: &Path) -> (Option<i32>, String) {
    let r = innohot!().verify(dir);
    (r.code, r.stdout + &r.stderr)
}

/// The report with the backup's path and every LSN replaced: what a snapshot keeps.
fn redacted(report: &str, dir: &Path) -> String {
    let text = report.replace(&dir.display().to_string(), "<backup>");
    let mut out = String::new();
    let mut rest = text.as_str();
    let keys = ["last_lsn is ", "LSN ", "last_lsn ", "to_lsn ", "innodb_to_lsn ", "applied LSN ", "to "];
    'scan: while !rest.is_empty() {
        for k in keys {
            if let Some(after) = rest.strip_prefix(k) {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 {
                    out.push_str(k);
                    out.push_str("[lsn]");
                    rest = &after[digits..];
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn snapshot(name: &str, report: &str, dir: &Path) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    s.set_prepend_module_to_snapshot(false);
    let text = redacted(report, dir);
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// Verify must fail with exit 1; its report is the snapshot `name`.
fn caught(dir: &Path, name: &str, says: &str) {
    let (code, report) = verify(dir);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains(says) && report.contains("NOT A USABLE BACKUP"), "{says}: {report}");
    assert_eq!(innohot_testbeds::tree::rust_debug_text(&report), None, "Rust Debug text in: {report}");
    snapshot(name, &report, dir);
}

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = innohot_testbeds::tree::regular_files(dir);
    out.retain(|p| p.to_string_lossy().ends_with(suffix));
    out
}

/// The simulated MySQL 5.7 backup `innohot demo` takes under `root`; returns its directory.
fn demo_backup(root: &Path) -> PathBuf {
    let demo = root.join("demo");
    let out = innohot!().command().arg("demo").arg(&demo).output().unwrap();
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    demo.join("backup")
}

#[test]
fn verify_passes_a_clean_backup_and_names_each_planted_corruption() {
    let work = tempfile::tempdir().unwrap();
    let backup = demo_backup(work.path());
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains(": OK:") && report.contains("pages valid"), "{report}");
    snapshot("verify_57_clean", &report, &backup);

    // A flipped byte in the middle of a page of a table.
    let ibd = files_with(&backup, ".ibd").into_iter().find(|p| std::fs::metadata(p).unwrap().len() >= 4 * 16384);
    let ibd = ibd.expect("a table of at least 4 pages");
    let original = std::fs::read(&ibd).unwrap();
    let mut bytes = original.clone();
    bytes[3 * 16384 + 5000] ^= 0x55;
    std::fs::write(&ibd, &bytes).unwrap();
    let name = ibd.strip_prefix(&backup).unwrap().display().to_string();
    caught(&backup, "verify_57_flipped_page_byte", &format!("{name}: page 3 is corrupt"));
    // Truncated mid-page.
    std::fs::write(&ibd, &original[..original.len() - 100]).unwrap();
    caught(&backup, "verify_57_truncated_ibd", "not a whole number");
    std::fs::write(&ibd, &original).unwrap();
    assert_eq!(verify(&backup).0, Some(0));
    // A missing .ibd is not caught for 5.7 (its redo's file records are not read):
    // see the MariaDB test below.

    // An edited LSN in xtrabackup_checkpoints.
    let cp = backup.join("xtrabackup_checkpoints");
    let text = std::fs::read_to_string(&cp).unwrap();
    let last: u64 = text.lines().find_map(|l| l.strip_prefix("last_lsn = ")).unwrap().parse().unwrap();
    let to_line = text.lines().find(|l| l.starts_with("to_lsn = ")).unwrap().to_string();
    std::fs::write(&cp, text.replace(&to_line, &format!("to_lsn = {}", last + 512))).unwrap();
    let (_, report) = verify(&backup);
    assert!(report.contains("is beyond last_lsn") && report.contains("disagree"), "{report}");
    caught(&backup, "verify_57_edited_checkpoint_lsn", "is beyond last_lsn");
    // No checkpoints file at all: an incomplete backup.
    std::fs::remove_file(&cp).unwrap();
    caught(&backup, "verify_57_no_checkpoints", "no xtrabackup_checkpoints: the backup did not complete");
    std::fs::write(&cp, &text).unwrap();
    // Redo: a flipped byte in a block, then a truncated copy.
    let log = backup.join("xtrabackup_logfile");
    let redo = std::fs::read(&log).unwrap();
    assert!(redo.len() > 2048 + 2 * 512, "a redo copy of at least two blocks");
    let mut bad = redo.clone();
    bad[2048 + 512 + 100] ^= 0x01;
    std::fs::write(&log, &bad).unwrap();
    caught(&backup, "verify_57_flipped_redo_byte", "xtrabackup_logfile: the block at byte 2560 fails its checksum");
    std::fs::write(&log, &redo[..2048 + 512]).unwrap();
    caught(&backup, "verify_57_truncated_redo", "the redo copy is truncated");
    std::fs::write(&log, &redo).unwrap();
    assert_eq!(verify(&backup).0, Some(0));

    // A failure marker.
    std::fs::write(backup.join("innohot_backup_failed"), "interrupted by SIGINT\n").unwrap();
    caught(&backup, "verify_57_failure_marker", "the backup failed (interrupted by SIGINT)");
}

/// A prepared MySQL 5.7 backup holds the log group prepare wrote (`ib_logfile0`,
/// `ib_logfile1`) beside its redo copy: verify reads it as the 5.7 backup it is,
/// not as a MariaDB one whose log it cannot parse.
#[test]
fn a_prepared_mysql57_backup_verifies_clean() {
    let work = tempfile::tempdir().unwrap();
    let backup = demo_backup(work.path());
    let Run { code, stderr, .. } = innohot!().run(["prepare".into(), format!("--target-dir={}", backup.display())]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("backup_type = full-prepared"), "the prepare names the type it left: {stderr}");
    assert!(backup.join("ib_logfile0").exists() && backup.join("xtrabackup_logfile").exists());
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("note: full-prepared") && report.contains("redo log copy: xtrabackup_logfile"), "{report}");
    assert!(!report.contains("problem"), "{report}");
}

/// A verified simulated MariaDB backup under `root`; returns its directory.
fn mariadb_sim_backup(seed: u64, root: &Path) -> PathBuf {
    use innohot_simulator::config::{Flavor, Scenario};
    use innohot_simulator::{run, Outcome, RunOptions, SimConfig, Verdict};
    let cfg = SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Default);
    let report = run(cfg, RunOptions { dir: Some(root.to_path_buf()), ..RunOptions::default() });
    assert!(
        matches!((&report.outcome, &report.verdict), (Outcome::Completed(_), Verdict::Verified)),
        "seed {seed}: {:?} {:?}",
        report.outcome,
        report.verdict
    );
    report.target
}

/// MariaDB: a missing .ibd the redo names, a damaged and a truncated redo copy;
/// then prepared: clean, and a page whose LSN is past the applied LSN.
#[test]
fn verify_of_a_mariadb_backup_before_and_after_prepare() {
    let work = tempfile::tempdir().unwrap();
    let backup = mariadb_sim_backup(1, work.path());
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(0), "{report}");
    snapshot("verify_mariadb_clean", &report, &backup);

    // Each .ibd removed in turn: those the copied redo changes are named missing; of
    // the others (the simulator's system tablespace holds no dictionary to place them
    // by) a note says that prepare decides.
    let ibds = files_with(&backup, ".ibd");
    let mut named = Vec::new();
    for ibd in &ibds {
        let keep = std::fs::read(ibd).unwrap();
        std::fs::remove_file(ibd).unwrap();
        let rel = ibd.strip_prefix(&backup).unwrap().display().to_string();
        let (code, report) = verify(&backup);
        if code == Some(1) {
            let problem = format!("problem: {rel} is missing from the backup (the copied redo changes its tablespace");
            assert_eq!(report.matches(&problem).count(), 1, "{rel} named once: {report}");
            if named.is_empty() {
                snapshot("verify_mariadb_missing_ibd", &report, &backup);
            }
            named.push(rel);
        } else {
            assert_eq!(code, Some(0), "{report}");
            let frm = rel.replace(".ibd", ".frm");
            assert!(report.contains(&format!("note: {frm}: the InnoDB table")), "{rel}: {report}");
        }
        std::fs::write(ibd, keep).unwrap();
    }
    eprintln!("{} of {} .ibd files are named by the copied redo: {}", named.len(), ibds.len(), named.join(", "));
    assert!(!named.is_empty(), "no table changed during the backup: the missing-.ibd check proves nothing");

    // The redo copy: a flipped byte in its last mini-transaction, then cut short.
    let log = backup.join("ib_logfile0");
    let redo = std::fs::read(&log).unwrap();
    let cp = std::fs::read_to_string(backup.join("xtrabackup_checkpoints")).unwrap();
    let last: u64 = cp.lines().find_map(|l| l.strip_prefix("last_lsn = ")).unwrap().parse().unwrap();
    let first = u64::from_be_bytes(redo[8..16].try_into().unwrap());
    let mut bad = redo.clone();
    bad[(12288 + last - first - 2) as usize] ^= 0x40;
    std::fs::write(&log, &bad).unwrap();
    caught(&backup, "verify_mariadb_flipped_redo_byte", "ib_logfile0: the redo copy is broken at LSN");
    std::fs::write(&log, &redo[..(12288 + (last - first) / 2) as usize]).unwrap();
    caught(&backup, "verify_mariadb_truncated_redo", "the redo copy is truncated");
    std::fs::write(&log, &redo).unwrap();
    assert_eq!(verify(&backup).0, Some(0));

    // Prepared by innohot: clean; then a page stamped with an LSN past the applied one.
    let out = innohot!().command().arg("prepare").arg(format!("--target-dir={}", backup.display())).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(0), "a prepared backup verifies: {report}");
    snapshot("verify_mariadb_prepared_clean", &report, &backup);
    let ibd = ibds.iter().find(|p| std::fs::metadata(p).unwrap().len() >= 4 * 16384).expect("a table of 4 pages");
    let original = std::fs::read(ibd).unwrap();
    let layout = innohot::format::page::layout_from_page0(&original).unwrap();
    assert!(!layout.is_compressed(), "a plain table");
    let psize = layout.physical_size;
    let mut bytes = original.clone();
    let page = &mut bytes[2 * psize..3 * psize];
    innohot::format::page::set_page_lsn(page, last + 1000);
    if layout.full_crc32 {
        innohot::format::page::stamp_full_crc32(page);
    } else {
        innohot::format::page::stamp_legacy_crc32(page);
    }
    std::fs::write(ibd, &bytes).unwrap();
    let rel = ibd.strip_prefix(&backup).unwrap().display().to_string();
    caught(&backup, "verify_mariadb_prepared_future_page_lsn", &format!("{rel}: page 2 has LSN {}", last + 1000));
    std::fs::write(ibd, &original).unwrap();
    assert_eq!(verify(&backup).0, Some(0));
}

/// One flipped byte in the middle of one page of each page type the simulated
/// 5.7 backup holds (FSP header, insert buffer bitmap, inode, index, undo,
/// system, transaction system, ...): each is named; the reports are one snapshot.
#[test]
fn a_flipped_byte_in_each_page_type_is_named() {
    use innohot::format::page;
    let work = tempfile::tempdir().unwrap();
    let backup = demo_backup(work.path());
    let mut spaces = vec![backup.join("ibdata1")];
    spaces.extend(files_with(&backup, ".ibd"));
    // The first page of each type: (type, file, page number).
    let mut first: std::collections::BTreeMap<u16, (PathBuf, usize)> = Default::default();
    for path in &spaces {
        let bytes = std::fs::read(path).unwrap();
        let layout = page::layout_from_page0(&bytes).unwrap();
        let space_id = page::fsp_header(&bytes).unwrap().space_id;
        for (no, p) in bytes.chunks(layout.physical_size).enumerate() {
            let zero = p.iter().all(|&b| b == 0);
            if zero || page::is_doublewrite_page(space_id, no as u32, layout) {
                continue;
            }
            let kind = u16::from_be_bytes([p[page::FIL_PAGE_TYPE], p[page::FIL_PAGE_TYPE + 1]]);
            first.entry(kind).or_insert_with(|| (path.clone(), no));
        }
    }
    assert!(first.len() >= 5, "page types found: {:?}", first.keys().collect::<Vec<_>>());
    let mut reports = String::new();
    for (kind, (path, no)) in &first {
        let original = std::fs::read(path).unwrap();
        let psize = page::layout_from_page0(&original).unwrap().physical_size;
        let mut bytes = original.clone();
        bytes[no * psize + psize / 2] ^= 0x10;
        std::fs::write(path, &bytes).unwrap();
        let (code, report) = verify(&backup);
        let rel = path.strip_prefix(&backup).unwrap().display().to_string();
        let line = report.lines().find(|l| l.starts_with("problem: ")).unwrap_or("no problem reported");
        assert_eq!(code, Some(1), "page type {kind}: {report}");
        assert!(line.starts_with(&format!("problem: {rel}: page {no} is corrupt")), "page type {kind}: {report}");
        reports.push_str(&format!("page type {kind}: {line}\n"));
        std::fs::write(path, &original).unwrap();
    }
    assert_eq!(verify(&backup).0, Some(0));
    snapshot("verify_57_flipped_byte_each_page_type", &reports, &backup);
}
