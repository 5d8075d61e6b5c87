//! `innohot mysql57-log-group` on simulated MySQL 5.7 backups (taken under load,
//! verified by the simulator's oracle): the group it writes is checked byte for
//! byte against the backup's redo copy and against the simulated server's own
//! ring, through the server's LSN -> offset rule (header CRCs, both checkpoint
//! slots, every block where recovery will look for it, an empty block after the
//! end). Refusals exit 1 and leave the backup unchanged.
#![allow(clippy::disallowed_methods)]

use innohot::format::mysql57::{
    newest_checkpoint, Checkpoint, LogFileHeader, RingGeometry, LOG_BLOCK_SIZE, LOG_FILE_HDR_SIZE,
};
use innohot_simulator::config::Flavor;
use innohot_simulator::verified_backup;

use std::path::{Path, PathBuf};

use innohot_testbeds::tree::file_contents;
use innohot_testbeds::{innohot, Run};

/// A verified simulated backup in `root`: (backup dir, simulated datadir).
fn sim_backup(seed: u64, flavor: Flavor, root: &Path) -> (PathBuf, PathBuf) {
    let report = verified_backup(seed, flavor, root).unwrap();
    (report.target, report.root.join("mysqldata1").join("mydata"))
}

/// The files of a log group as one byte string, file after file.
fn group_bytes(dir: &Path) -> (RingGeometry, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut files = 0;
    let mut size = 0;
    while let Ok(b) = std::fs::read(dir.join(format!("ib_logfile{files}"))) {
        assert!(size == 0 || b.len() as u64 == size, "log files of different sizes");
        size = b.len() as u64;
        bytes.extend_from_slice(&b);
        files += 1;
    }
    (RingGeometry::new(files, size).unwrap(), bytes)
}

fn last_lsn(backup: &Path) -> u64 {
    let text = std::fs::read_to_string(backup.join("xtrabackup_checkpoints")).unwrap();
    text.lines().find_map(|l| l.strip_prefix("last_lsn = ")).unwrap().trim().parse().unwrap()
}

fn block(bytes: &[u8], at: u64) -> &[u8] {
    &bytes[at as usize..at as usize + LOG_BLOCK_SIZE]
}

#[test]
fn the_group_holds_every_copied_block_where_5_7_recovery_looks_for_it() {
    let mut compared_with_ring = 0;
    for seed in [1u64, 2, 3, 4, 5] {
        let tmp = tempfile::tempdir().unwrap();
        let (backup, datadir) = sim_backup(seed, Flavor::Mysql57, tmp.path());
        let copy = std::fs::read(backup.join("xtrabackup_logfile")).unwrap();
        let start = newest_checkpoint(&copy[..2048]).unwrap();
        let Run { code, stdout: json, stderr: err } = innohot!().run([
            "mysql57-log-group",
            "--target-dir",
            backup.to_str().unwrap(),
            "--innodb-log-file-size",
            "4M",
            "--json",
        ]);
        assert_eq!(code, Some(0), "seed {seed}: {err}");
        assert!(json.contains("\"innodb_log_file_size\":4194304"), "{json}");
        assert!(err.contains("--innodb-log-files-in-group=2 --innodb-log-file-size=4M"), "{err}");

        let (geometry, group) = group_bytes(&backup);
        assert_eq!((geometry.files, geometry.file_size), (2, 4 << 20), "seed {seed}");
        // File headers: format 1, valid CRC, each file's first data LSN.
        let first_block = start.lsn - start.lsn % 512;
        for f in 0..2u64 {
            let h = LogFileHeader::parse(block(&group, f * geometry.file_size)).unwrap();
            assert_eq!(h.start_lsn, first_block + f * (geometry.file_size - LOG_FILE_HDR_SIZE));
        }
        // Both slots hold the start checkpoint, re-anchored at file 0.
        let slots: Vec<Checkpoint> =
            [512u64, 1536].iter().map(|&at| Checkpoint::parse(block(&group, at)).unwrap()).collect();
        assert_eq!(slots[0], slots[1]);
        let cp = newest_checkpoint(&group[..2048]).unwrap();
        assert_eq!((cp.no, cp.lsn, cp.offset), (start.no, start.lsn, 2048 + start.lsn % 512));
        // Every copied block, found by the server's rule from that checkpoint.
        let end = last_lsn(&backup).div_ceil(512) * 512;
        let mut lsn = first_block;
        while lsn < end {
            let copied = block(&copy, 2048 + lsn - first_block);
            assert_eq!(block(&group, geometry.lsn_offset(lsn, cp.lsn, cp.offset)), copied, "seed {seed} lsn {lsn}");
            lsn += 512;
        }
        assert!(block(&group, geometry.lsn_offset(end, cp.lsn, cp.offset)).iter().all(|&b| b == 0), "no end block");

        // The simulated server's ring: every block it still holds from the
        // copied range (from its own checkpoint on, which it never overwrites;
        // the last, partial block aside) is the group's block for the same LSN.
        let (ring_geometry, ring) = group_bytes(&datadir);
        let ring_cp = newest_checkpoint(&ring[..2048]).unwrap();
        let mut lsn = first_block.max(ring_cp.lsn - ring_cp.lsn % 512);
        while lsn < end - 512 {
            let theirs = block(&ring, ring_geometry.lsn_offset(lsn, ring_cp.lsn, ring_cp.offset));
            assert_eq!(block(&group, geometry.lsn_offset(lsn, cp.lsn, cp.offset)), theirs, "seed {seed} lsn {lsn}");
            compared_with_ring += 1;
            lsn += 512;
        }
    }
    assert!(compared_with_ring > 100, "too few blocks compared with the server's ring: {compared_with_ring}");
}

#[test]
fn refusals_exit_1_name_the_fix_and_leave_the_backup_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, _) = sim_backup(2, Flavor::Mysql57, &tmp.path().join("a"));
    let dir = backup.to_str().unwrap();
    let before = file_contents(&backup);
    for (args, says) in [
        (&["--innodb-log-files-in-group", "1"][..], "at least 2"),
        (&["--innodb-log-file-size", "4M", "--innodb-log-files-in-group", "2"][..], ""),
    ] {
        let mut all = vec!["mysql57-log-group", "--target-dir", dir];
        all.extend_from_slice(args);
        let Run { code, stderr: err, .. } = innohot!().run(&all);
        if says.is_empty() {
            assert_eq!(code, Some(0), "{err}");
        } else {
            assert_eq!(code, Some(1), "{err}");
            assert!(err.contains(says), "{err}");
            assert_eq!(file_contents(&backup), before);
        }
    }
    // A second run never replaces the group it wrote: the same options keep it, others are refused.
    let with_group = file_contents(&backup);
    let same =
        ["mysql57-log-group", "--target-dir", dir, "--innodb-log-file-size", "4M", "--innodb-log-files-in-group", "2"];
    let Run { code, stderr: err, .. } = innohot!().run(same);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(file_contents(&backup), with_group);
    let Run { code, stderr: err, .. } = innohot!().run(["mysql57-log-group", "--target-dir", dir]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("ib_logfile0") && err.contains("differs") && err.contains("nothing was changed"), "{err}");
    assert_eq!(file_contents(&backup), with_group);
    // A size that is not whole MiB is a usage error.
    let Run { code, stderr: err, .. } =
        innohot!().run(["mysql57-log-group", "--target-dir", dir, "--innodb-log-file-size", "5000000"]);
    assert_eq!(code, Some(1), "{err}");
    // A MariaDB backup has no xtrabackup_logfile.
    let (maria, _) = sim_backup(2, Flavor::MariaDb, &tmp.path().join("b"));
    let before = file_contents(&maria);
    let Run { code, stderr: err, .. } = innohot!().run(["mysql57-log-group", "--target-dir", maria.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a MySQL 5.7 backup"), "{err}");
    assert_eq!(file_contents(&maria), before);
}

#[test]
fn a_group_too_small_for_the_copy_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, _) = sim_backup(3, Flavor::Mysql57, tmp.path());
    let copied = std::fs::metadata(backup.join("xtrabackup_logfile")).unwrap().len() - LOG_FILE_HDR_SIZE;
    if copied + 512 <= 2 * ((4 << 20) - LOG_FILE_HDR_SIZE) {
        // Make the copy look bigger than two 4 MiB files hold.
        let f = std::fs::OpenOptions::new().append(true).open(backup.join("xtrabackup_logfile")).unwrap();
        f.set_len(LOG_FILE_HDR_SIZE + (9 << 20)).unwrap();
        let cp = std::fs::read_to_string(backup.join("xtrabackup_checkpoints")).unwrap();
        let last = last_lsn(&backup);
        let start = newest_checkpoint(&std::fs::read(backup.join("xtrabackup_logfile")).unwrap()[..2048]).unwrap().lsn;
        let bigger = cp.replace(&format!("last_lsn = {last}"), &format!("last_lsn = {}", start + (9 << 20) - 1024));
        std::fs::write(backup.join("xtrabackup_checkpoints"), bigger).unwrap();
    }
    let before = file_contents(&backup);
    let Run { code, stderr: err, .. } =
        innohot!().run(["mysql57-log-group", "--target-dir", backup.to_str().unwrap(), "--innodb-log-file-size", "4M"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("use larger or more log files"), "{err}");
    assert_eq!(file_contents(&backup), before, "a refused run wrote something");
}

/// `innohot prepare` on a 5.7 backup: the redo applied, an empty group with its
/// checkpoint at the applied LSN, backup_type full-prepared; a second run does nothing.
#[test]
fn native_prepare_of_a_simulated_57_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, _) = sim_backup(4, Flavor::Mysql57, tmp.path());
    let b = backup.to_str().unwrap();
    let Run { code, stdout: out, stderr: err } = innohot!().run(["prepare", "--target-dir", b]);
    assert_eq!(code, Some(0), "{out}{err}");
    let cps = std::fs::read_to_string(backup.join("xtrabackup_checkpoints")).unwrap();
    assert!(cps.contains("backup_type = full-prepared"), "{cps}");
    let log0 = std::fs::read(backup.join("ib_logfile0")).unwrap();
    assert!(backup.join("ib_logfile1").exists());
    let cp = innohot::format::mysql57::newest_checkpoint(&log0[..2048]).unwrap();
    assert!(cp.lsn >= innohot::format::mysql57::LOG_START_LSN && cp.lsn <= last_lsn(&backup), "{cp:?}");
    let Run { code, stdout: out, stderr: err } = innohot!().run(["prepare", "--target-dir", b]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(std::fs::read(backup.join("ib_logfile0")).unwrap(), log0, "a second prepare changes nothing");
}
