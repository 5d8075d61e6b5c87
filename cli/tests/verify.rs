//! `innohot verify` on a real backup directory (the simulated 5.7 server's,
//! made by `innohot demo`): clean, then each planted corruption alone.

use std::path::{Path, PathBuf};
use std::process::Command;

fn innohot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_innohot"))
}

fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = innohot().arg("verify").arg(format!("--target-dir={}", dir.display())).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn verify_passes_a_clean_backup_and_names_each_planted_corruption() {
    let work = tempfile::tempdir().unwrap();
    let demo = work.path().join("demo");
    let out = innohot().arg("demo").arg(&demo).output().unwrap();
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    let backup = demo.join("backup");
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains(": OK:") && report.contains("pages valid"), "{report}");

    // A flipped byte in the middle of a page of a table.
    let ibd = files_with(&backup, ".ibd").into_iter().find(|p| std::fs::metadata(p).unwrap().len() >= 4 * 16384);
    let ibd = ibd.expect("a table of at least 4 pages");
    let original = std::fs::read(&ibd).unwrap();
    let mut bytes = original.clone();
    bytes[3 * 16384 + 5000] ^= 0x55;
    std::fs::write(&ibd, &bytes).unwrap();
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(1), "{report}");
    let name = ibd.strip_prefix(&backup).unwrap().display().to_string();
    assert!(report.contains(&format!("{name}: page 3 is corrupt")), "{report}");
    assert!(report.contains("NOT A USABLE BACKUP"), "{report}");
    // Truncated mid-page.
    std::fs::write(&ibd, &original[..original.len() - 100]).unwrap();
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("not a whole number") && report.contains("truncated"), "{report}");
    std::fs::write(&ibd, &original).unwrap();
    assert_eq!(verify(&backup).0, Some(0));

    // An edited LSN in xtrabackup_checkpoints.
    let cp = backup.join("xtrabackup_checkpoints");
    let text = std::fs::read_to_string(&cp).unwrap();
    let last: u64 = text.lines().find_map(|l| l.strip_prefix("last_lsn = ")).unwrap().parse().unwrap();
    let to_line = text.lines().find(|l| l.starts_with("to_lsn = ")).unwrap().to_string();
    std::fs::write(&cp, text.replace(&to_line, &format!("to_lsn = {}", last + 512))).unwrap();
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("is beyond last_lsn") && report.contains("disagree"), "{report}");
    // No checkpoints file at all: an incomplete backup.
    std::fs::remove_file(&cp).unwrap();
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("no xtrabackup_checkpoints: the backup did not complete"), "{report}");
    std::fs::write(&cp, &text).unwrap();
    // Redo: a flipped byte in a block, then a truncated copy.
    let log = backup.join("xtrabackup_logfile");
    let redo = std::fs::read(&log).unwrap();
    assert!(redo.len() > 2048 + 2 * 512, "a redo copy of at least two blocks");
    let mut bad = redo.clone();
    bad[2048 + 512 + 100] ^= 0x01;
    std::fs::write(&log, &bad).unwrap();
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("xtrabackup_logfile: the block at byte 2560 fails its checksum"), "{report}");
    std::fs::write(&log, &redo[..2048 + 512]).unwrap();
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("the redo copy is truncated"), "{report}");
    std::fs::write(&log, &redo).unwrap();
    assert_eq!(verify(&backup).0, Some(0));

    // A failure marker.
    std::fs::write(backup.join("innohot_backup_failed"), "interrupted by SIGINT\n").unwrap();
    let (code, report) = verify(&backup);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("the backup failed (interrupted by SIGINT)"), "{report}");
}
