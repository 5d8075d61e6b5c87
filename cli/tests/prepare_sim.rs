//! `innohot prepare` and `copy-back` on simulated MariaDB backups (taken under
//! load by the simulator, verified by its oracle): the on-disk prepare must give
//! every page exactly what the pure applier (`prepare::mariadb::apply_log`, the
//! oracle's own prepare) gives on an in-memory copy; refusals exit 1 and leave
//! the backup byte-unchanged; a prepared backup is left alone (exit 0).

use innohot::format::page;
use innohot::restore::prepare::{mariadb, PageStore};
use innohot_simulator::config::Flavor;
use innohot_simulator::verified_backup;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use innohot_testbeds::tree::file_contents;
use innohot_testbeds::{innohot, Run};

/// `innohot copy-back` of `dir` into `datadir`, the remote tablespaces put inside it.
fn copy_back_inside(dir: &str, datadir: &str, extra: &[&str]) -> Run {
    let mut cmd = innohot!().command();
    cmd.args(["copy-back", "--target-dir", dir, "--datadir", datadir, "--remote-tablespaces-inside-datadir"]);
    Run::of(cmd.args(extra))
}

/// A verified simulated MariaDB backup in `root`; returns the backup directory.
fn sim_backup(seed: u64, root: &Path) -> PathBuf {
    verified_backup(seed, Flavor::MariaDb, root).unwrap().target
}

/// Whole tablespace files in memory by space id: the oracle's way.
struct InMemory {
    files: HashMap<u32, (PathBuf, usize, Vec<u8>)>,
}

impl PageStore for InMemory {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        let (_, ps, bytes) = self.files.get_mut(&space)?;
        let end = (page as usize + 1) * *ps;
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes.get_mut(end - *ps..end)
    }
}

fn in_memory(backup: &BTreeMap<PathBuf, Vec<u8>>) -> InMemory {
    let mut files = HashMap::new();
    for (rel, bytes) in backup {
        let name = rel.file_name().unwrap().to_string_lossy();
        let top = rel.components().count() == 1;
        let is_space = name.ends_with(".ibd") || (top && (name.starts_with("ibdata") || name.starts_with("undo")));
        if !is_space || bytes.len() < 64 || bytes[..1024].iter().all(|&b| b == 0) {
            continue;
        }
        let layout = page::layout_from_page0(bytes).unwrap();
        let id = page::fsp_header(bytes).unwrap().space_id;
        files.insert(id, (rel.clone(), layout.physical_size, bytes.clone()));
    }
    InMemory { files }
}

#[test]
fn prepare_of_simulated_backups_equals_the_pure_applier_page_for_page() {
    let mut applied_somewhere = false;
    for seed in 1..=4 {
        let tmp = tempfile::tempdir().unwrap();
        let backup = sim_backup(seed, tmp.path());
        let raw = file_contents(&backup);
        let cp = String::from_utf8_lossy(&raw[Path::new("xtrabackup_checkpoints")]).into_owned();
        let last: u64 = cp.lines().find_map(|l| l.strip_prefix("last_lsn = ")).unwrap().parse().unwrap();
        let mut expect = in_memory(&raw);
        let pure = mariadb::apply_log(&raw[Path::new("ib_logfile0")], last, &mut expect).unwrap();
        applied_somewhere |= pure.records_applied > 0;

        let dir = backup.display().to_string();
        let Run { code, stdout: json, stderr: err } = innohot!().run(["prepare", "--target-dir", &dir, "--json"]);
        assert_eq!(code, Some(0), "seed {seed}: {err}");
        assert!(err.trim_end().ends_with("completed OK!"), "{err}");
        assert!(json.contains("\"result\":\"prepared\""), "{json}");
        let got = file_contents(&backup);
        for (rel, _, bytes) in expect.files.values() {
            assert!(got[rel] == *bytes, "seed {seed}: {} differs from the pure applier's result", rel.display());
        }
        for (rel, bytes) in &raw {
            let is_space = expect.files.values().any(|(r, _, _)| r == rel);
            if !is_space && !rel.starts_with("ib_logfile0") && !rel.starts_with("xtrabackup_checkpoints") {
                assert!(got[rel] == *bytes, "seed {seed}: prepare changed {}", rel.display());
            }
        }
        let log = &got[Path::new("ib_logfile0")];
        assert_eq!(log.len(), 12304, "seed {seed}");
        assert!(
            String::from_utf8_lossy(&got[Path::new("xtrabackup_checkpoints")]).starts_with("backup_type = log-applied")
        );

        // Prepared: run again, nothing changes, exit 0.
        let Run { code, stderr: err, .. } = innohot!().run(["--prepare", &format!("--target-dir={dir}")]);
        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("is already prepared"), "{err}");
        assert!(file_contents(&backup) == got);

        // Copy-back into a new datadir: every file but the backup-only ones; DATA
        // DIRECTORY tables kept inside it (their link then points there).
        let data = tmp.path().join("restored");
        let datadir = data.display().to_string();
        let Run { code, stdout: json, stderr: err } = copy_back_inside(&dir, &datadir, &["--json"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(json.contains("\"result\":\"copied\""), "{json}");
        let restored = file_contents(&data);
        for (rel, bytes) in &got {
            let name = rel.display().to_string();
            let backup_only = name.starts_with("xtrabackup_") || name == "backup-my.cnf";
            assert_eq!(restored.contains_key(rel), !backup_only, "{name}");
            if name.ends_with(".isl") {
                let link = String::from_utf8_lossy(&restored[rel]).trim().to_string();
                assert_eq!(link, data.join(rel).with_extension("ibd").display().to_string());
            } else if !backup_only {
                assert!(restored[rel] == *bytes, "{name} differs after copy-back");
            }
        }
        // Into a datadir that is no longer empty: refused, exit 1.
        let datadir = data.display().to_string();
        let Run { code, stderr: err, .. } = copy_back_inside(&dir, &datadir, &[]);
        assert_eq!(code, Some(1), "{err}");
        assert!(err.contains("the datadir is not empty"), "{err}");
    }
    assert!(applied_somewhere, "no seed had redo to apply: the test proves nothing");
}

#[test]
fn refusals_exit_1_and_leave_the_backup_byte_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = sim_backup(7, tmp.path());
    let dir = backup.display().to_string();
    // Not prepared: copy-back refuses.
    let before = file_contents(&backup);
    let data = tmp.path().join("d").display().to_string();
    let Run { code, stderr: err, .. } = innohot!().run(["copy-back", "--target-dir", &dir, "--datadir", &data]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is not prepared") && err.contains("innohot prepare"), "{err}");
    // A failed backup: no checkpoints file, the marker names why.
    std::fs::remove_file(backup.join("xtrabackup_checkpoints")).unwrap();
    std::fs::write(backup.join("innohot_backup_failed"), "the server went away\n").unwrap();
    let before_failed = file_contents(&backup);
    let Run { code, stdout: json, stderr: err } = innohot!().run(["prepare", "--target-dir", &dir, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no xtrabackup_checkpoints") && err.contains("the server went away"), "{err}");
    assert!(json.contains("\"result\":\"failed\"") && json.contains("\"exit_code\":1"), "{json}");
    assert!(file_contents(&backup) == before_failed);
    std::fs::remove_file(backup.join("innohot_backup_failed")).unwrap();
    std::fs::write(backup.join("xtrabackup_checkpoints"), &before[Path::new("xtrabackup_checkpoints")]).unwrap();
    // A damaged redo copy: a flipped byte in the middle of the copied log.
    let log = backup.join("ib_logfile0");
    let mut bytes = before[Path::new("ib_logfile0")].clone();
    let at = 12288 + (bytes.len() - 12288) / 2;
    bytes[at] ^= 0x5a;
    std::fs::write(&log, &bytes).unwrap();
    let spoiled = file_contents(&backup);
    let Run { code, stdout: json, stderr: err } = innohot!().run(["prepare", "--target-dir", &dir, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("ib_logfile0") && err.contains("LSN"), "{err}");
    for text in [&err, &json] {
        assert_eq!(innohot_testbeds::tree::rust_debug_text(text), None, "Rust Debug text in: {text}");
    }
    assert!(file_contents(&backup) == spoiled, "a refused prepare changed the backup");
}

/// Records which pages the applier asks for, over an in-memory copy.
struct Touched(InMemory, Vec<(u32, u32)>);

impl PageStore for Touched {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        self.1.push((space, page));
        self.0.page_mut(space, page)
    }
}

/// `innohot prepare` given a truncated or corrupt backup: exit 1, one sentence
/// naming the file and the cause and saying to take a new backup, and the
/// backup byte-unchanged (it can still go to mariabackup or be inspected).
#[test]
fn prepare_refuses_a_truncated_or_corrupt_backup_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = sim_backup(3, tmp.path());
    let dir = backup.display().to_string();
    let before = file_contents(&backup);
    let cp = String::from_utf8_lossy(&before[Path::new("xtrabackup_checkpoints")]).into_owned();
    let last: u64 = cp.lines().find_map(|l| l.strip_prefix("last_lsn = ")).unwrap().parse().unwrap();
    let log = before[Path::new("ib_logfile0")].clone();
    let first = u64::from_be_bytes(log[8..16].try_into().unwrap());
    let refused = |says: &[&str]| {
        let spoiled = file_contents(&backup);
        let Run { code, stdout: json, stderr: err } =
            innohot!().run(["--prepare", &format!("--target-dir={dir}"), "--json"]);
        assert_eq!(code, Some(1), "{err}");
        for s in says {
            assert!(err.contains(s), "the message must say {s:?}: {err}");
        }
        assert!(!err.contains("completed OK!"), "{err}");
        assert!(json.contains("\"result\":\"failed\""), "{json}");
        for text in [&err, &json] {
            assert_eq!(innohot_testbeds::tree::rust_debug_text(text), None, "Rust Debug text in: {text}");
        }
        assert!(file_contents(&backup) == spoiled, "a refused prepare changed the backup");
    };
    let restore = |rel: &str| std::fs::write(backup.join(rel), &before[Path::new(rel)]).unwrap();

    // The redo copy cut short of last_lsn.
    std::fs::write(backup.join("ib_logfile0"), &log[..(12288 + (last - first) / 2) as usize]).unwrap();
    refused(&["ib_logfile0", "the redo log copy is damaged or unusable", "take a new one"]);
    // Cut inside its header.
    std::fs::write(backup.join("ib_logfile0"), &log[..4000]).unwrap();
    refused(&["ib_logfile0", "shorter than its 12288-byte header", "take a new one"]);
    restore("ib_logfile0");
    // last_lsn edited past the end of the copied redo.
    std::fs::write(
        backup.join("xtrabackup_checkpoints"),
        cp.replace(&format!("last_lsn = {last}"), &format!("last_lsn = {}", last + (1 << 20))),
    )
    .unwrap();
    refused(&["ib_logfile0", "last_lsn", "take a new one"]);
    // to_lsn past last_lsn.
    std::fs::write(backup.join("xtrabackup_checkpoints"), cp.replace("to_lsn = ", "to_lsn = 9")).unwrap();
    refused(&["xtrabackup_checkpoints", "is beyond last_lsn"]);
    restore("xtrabackup_checkpoints");

    // A page the redo changes, damaged in the middle; then its file cut mid-page.
    let mut probe = Touched(in_memory(&before), Vec::new());
    mariadb::apply_log(&log, last, &mut probe).unwrap();
    let (rel, page_no, psize) = probe
        .1
        .iter()
        .find_map(|&(space, page_no)| {
            let (rel, psize, _) = probe.0.files.get(&space)?;
            let len = before[rel].len();
            (page_no > 0 && (page_no as usize + 1) * psize <= len).then(|| (rel.clone(), page_no as usize, *psize))
        })
        .expect("the redo changes a page that is in its file");
    let mut bytes = before[&rel].clone();
    bytes[page_no * psize + psize / 2] ^= 0x24;
    std::fs::write(backup.join(&rel), &bytes).unwrap();
    let name = rel.display().to_string();
    refused(&[&name, &format!("page {page_no} (page LSN"), "is damaged", "take a new one"]);
    std::fs::write(backup.join(&rel), &before[&rel][..page_no * psize + psize / 2]).unwrap();
    refused(&[&name, "not a whole number", "truncated", "take a new one"]);
    restore(rel.to_str().unwrap());

    // Whole again: it prepares.
    let Run { code, stderr: err, .. } = innohot!().run(["prepare", "--target-dir", &dir]);
    assert_eq!(code, Some(0), "{err}");
}

/// Holds an fcntl write lock on `path` (created) as another prepare would, until dropped
/// (closing the file releases it).
struct HeldLock {
    _file: std::fs::File,
}

impl HeldLock {
    fn take(path: &Path) -> HeldLock {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).unwrap();
        // SAFETY: `flock` is plain old data; all zeroes is a valid value.
        let mut lk: libc::flock = unsafe { std::mem::zeroed() };
        lk.l_type = libc::F_WRLCK as libc::c_short;
        lk.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: an open file descriptor and a valid `flock` for the call.
        assert_eq!(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lk) }, 0, "taking the lock");
        HeldLock { _file: file }
    }
}

/// Two prepares of one backup never interleave: while another process holds
/// innohot_prepare.lock, prepare refuses (exit 1, the holder's pid named, the backup
/// byte-unchanged); a lock file whose holder is gone (a killed prepare) blocks
/// nothing, and a finished prepare leaves no lock file, nor does copy-back copy one.
#[test]
fn a_prepare_refuses_while_another_holds_the_lock_and_a_stale_lock_file_blocks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = sim_backup(2, tmp.path());
    let dir = backup.display().to_string();
    let lock_path = backup.join("innohot_prepare.lock");
    // Read before the lock is taken: closing any descriptor of the file drops a
    // process's fcntl locks on it (POSIX).
    std::fs::write(&lock_path, "").unwrap();
    let before = file_contents(&backup);
    let held = HeldLock::take(&lock_path);
    let Run { code, stdout: json, stderr: err } = innohot!().run(["prepare", "--target-dir", &dir, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    let holder = format!("is being prepared by another innohot prepare (pid {})", std::process::id());
    for says in [holder.as_str(), "innohot_prepare.lock", "nothing was changed"] {
        assert!(err.contains(says), "must say {says:?}: {err}");
    }
    assert!(json.contains("\"result\":\"failed\""), "{json}");
    assert_eq!(innohot_testbeds::tree::rust_debug_text(&err), None, "{err}");
    // verify notes the lock file; the backup itself is fine.
    let Run { code, stdout: report, .. } = innohot!().run(["verify", "--target-dir", &dir]);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("note: innohot_prepare.lock is there"), "{report}");

    // The holder is gone (as a killed prepare's lock dies with it); its file stays.
    drop(held);
    assert!(file_contents(&backup) == before, "a refused prepare changed the backup");
    assert!(lock_path.exists());
    let Run { code, stderr: err, .. } = innohot!().run(["prepare", "--target-dir", &dir]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.trim_end().ends_with("completed OK!"), "{err}");
    assert!(!lock_path.exists(), "prepare leaves no lock file");

    // A lock file left in a prepared backup never reaches the datadir.
    std::fs::write(&lock_path, "").unwrap();
    let data = tmp.path().join("restored");
    let datadir = data.display().to_string();
    let Run { code, stderr: err, .. } = copy_back_inside(&dir, &datadir, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(data.join("ibdata1").exists() && !data.join("innohot_prepare.lock").exists());
}

/// A prepare stopped after it replaced ib_logfile0 and before xtrabackup_checkpoints:
/// verify says to run prepare again, and doing so gives the bytes a prepare that
/// was never stopped gives.
#[test]
fn a_prepare_stopped_between_its_renames_is_finished_by_running_it_again() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = sim_backup(5, tmp.path());
    let original = file_contents(&backup);
    let dir = backup.display().to_string();
    let Run { code, stderr: err, .. } = innohot!().run(["prepare", "--target-dir", &dir]);
    assert_eq!(code, Some(0), "{err}");
    let prepared = file_contents(&backup);
    // Back to the moment between the two renames.
    std::fs::write(backup.join("xtrabackup_checkpoints"), &original[Path::new("xtrabackup_checkpoints")]).unwrap();
    let Run { code, stdout: report, .. } = innohot!().run(["verify", "--target-dir", &dir]);
    assert_eq!(code, Some(1), "{report}");
    for says in ["ib_logfile0 is the log a finished prepare writes", "run innohot prepare again"] {
        assert!(report.contains(says), "must say {says:?}: {report}");
    }
    assert!(!report.contains("cannot hold a redo log"), "{report}");
    let Run { code, stderr: err, .. } = innohot!().run(["prepare", "--target-dir", &dir]);
    assert_eq!(code, Some(0), "{err}");
    assert!(file_contents(&backup) == prepared, "the finished prepare differs from one never stopped");
    let Run { code, stdout: report, .. } = innohot!().run(["verify", "--target-dir", &dir]);
    assert_eq!(code, Some(0), "{report}");
}

/// The completeness checks never refuse a backup the simulator's oracle verified:
/// MariaDB backups taken while tables are created, dropped and renamed all prepare
/// and verify (and a refusal here would name the file it wrongly wants).
#[test]
fn backups_under_ddl_that_the_oracle_verified_prepare_and_verify() {
    use innohot_simulator::config::Scenario;
    use innohot_simulator::{run, Outcome, RunOptions, SimConfig, Verdict};
    let mut prepared = 0;
    for seed in 0..40 {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Ddl);
        let report = run(cfg, RunOptions { dir: Some(tmp.path().to_path_buf()), ..RunOptions::default() });
        if !matches!((&report.outcome, &report.verdict), (Outcome::Completed(_), Verdict::Verified)) {
            continue;
        }
        let dir = report.target.display().to_string();
        let Run { code, stdout: report_text, .. } = innohot!().run(["verify", "--target-dir", &dir]);
        assert_eq!(code, Some(0), "seed {seed}: {report_text}");
        let Run { code, stderr: err, .. } = innohot!().run(["prepare", "--target-dir", &dir]);
        assert_eq!(code, Some(0), "seed {seed}: {err}");
        let Run { code, stdout: report_text, .. } = innohot!().run(["verify", "--target-dir", &dir]);
        assert_eq!(code, Some(0), "seed {seed}, prepared: {report_text}");
        prepared += 1;
    }
    assert!(prepared >= 20, "only {prepared} of 40 DDL runs completed: the test proves little");
}

/// `prepare --export` is refused before anything is applied when it cannot
/// work: a MySQL 5.7 backup, no server binary, a server of another series.
/// And a copy-back refuses a backup whose DATA DIRECTORY links an interrupted
/// export left aside. Each leaves the backup byte-unchanged.
#[test]
fn export_refusals_come_before_the_prepare_and_leave_the_backup_unchanged() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let maria = sim_backup(5, &tmp.path().join("m"));
    let mysql57 = verified_backup(5, Flavor::Mysql57, &tmp.path().join("p")).unwrap().target;
    let newer = tmp.path().join("mariadbd-11.4");
    std::fs::write(&newer, "#!/bin/sh\necho \"$0  Ver 11.4.2-MariaDB for Linux on x86_64\"\n").unwrap();
    std::fs::set_permissions(&newer, std::fs::Permissions::from_mode(0o755)).unwrap();
    let missing = tmp.path().join("no-such-mariadbd");
    let cases: [(&Path, &Path, &[&str]); 3] = [
        (&mysql57, &newer, &["exports MariaDB backups only", "xtrabackup 2.4 --prepare --export"]),
        (&maria, &missing, &["no-such-mariadbd: no such file"]),
        (&maria, &newer, &["is 11.4.2-MariaDB", "needs the same series (10.11)", "--mariadbd=PATH"]),
    ];
    for (backup, server, says) in cases {
        let before = file_contents(backup);
        let Run { code, stderr: err, .. } = innohot!().run([
            "prepare",
            "--export",
            &format!("--mariadbd={}", server.display()),
            &format!("--target-dir={}", backup.display()),
        ]);
        assert_eq!(code, Some(1), "{err}");
        for s in says {
            assert!(err.contains(s), "must say {s:?}:\n{err}");
        }
        assert!(!err.contains("completed OK!"), "{err}");
        assert_eq!(file_contents(backup), before, "a refused export changed the backup");
    }
    let Run { code, stderr: err, .. } = innohot!().run(["prepare", &format!("--target-dir={}", maria.display())]);
    assert_eq!(code, Some(0), "{err}");
    let aside = maria.join("test/t.isl.innohot-export-hidden");
    std::fs::create_dir_all(aside.parent().unwrap()).unwrap();
    std::fs::write(&aside, "/elsewhere/test/t.ibd").unwrap();
    let datadir = tmp.path().join("restored");
    let Run { code, stderr: err, .. } = innohot!().run([
        "copy-back",
        &format!("--target-dir={}", maria.display()),
        &format!("--datadir={}", datadir.display()),
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("an interrupted prepare --export moved aside") && err.contains("t.isl.innohot-export-hidden"),
        "{err}"
    );
    assert!(!datadir.exists(), "a refused copy-back created the datadir");
}
