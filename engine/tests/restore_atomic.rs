//! copy-back and move-back are all or nothing, on the in-memory file system
//! (`io::memfs`): a restore that does not fit is refused before it writes; a
//! failure at any change is undone (the backup as it was, the datadir empty
//! again) or, once every file is in place, finished by a re-run; a kill at any
//! change followed by a crash (what was not durable lost, kept or torn) leaves
//! every file complete somewhere, and a re-run gives the uninterrupted result.

use innohot::io::memfs::{FaultPlan, MemFs, Tree};
use innohot::io::LocalFs;
use innohot::restore::copyback::{self, Mode, Ownership, RestoreOptions};
use innohot::restore::marker::MARKER;
use innohot::restore::RestoreError;
use std::path::{Path, PathBuf};

const BACKUP: &str = "/backup";

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

/// The backup's files (not a real InnoDB backup: copy-back only moves bytes).
fn backup_files() -> Vec<(&'static str, Vec<u8>)> {
    let bytes = |n: usize, seed: u8| (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
    vec![
        ("ibdata1", bytes(300_000, 1)),
        ("ib_logfile0", bytes(12_304, 2)),
        ("undo001", bytes(40_000, 3)),
        ("db/t.ibd", bytes(65_536, 4)),
        ("db/t.frm", b"frm".to_vec()),
        ("db/r.isl", b"/remote/db/r.ibd\n".to_vec()),
        ("db/r.ibd", bytes(32_768, 5)),
        ("xtrabackup_checkpoints", b"backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 9\nlast_lsn = 9\n".to_vec()),
        ("backup-my.cnf", b"[mysqld]\n".to_vec()),
    ]
}

/// Where things are: the backup, the datadir's file system (`data_device`, 0 is the
/// backup's), DATA DIRECTORY tables on a third, the undo directory on the datadir's.
fn layout(data_device: u64, data_capacity: u64) -> MemFs {
    let fs = MemFs::new();
    for (rel, bytes) in backup_files() {
        fs.put_file(&Path::new(BACKUP).join(rel), &bytes);
    }
    if data_device != 0 {
        fs.mount(&p("/data"), data_device, data_capacity);
    } else {
        fs.put_dir(&p("/data"));
    }
    fs.mount(&p("/remote"), 7, u64::MAX);
    fs
}

fn opts(mode: Mode) -> RestoreOptions {
    RestoreOptions {
        data_files: Vec::new(),
        datadir: p("/data/mysql"),
        data_home_dir: None,
        undo_dir: Some(p("/data/undo")),
        log_dir: None,
        aria_log_dir: None,
        remote_inside_datadir: false,
        ownership: Ownership::Keep,
        mode,
    }
}

fn restore(fs: &MemFs, mode: Mode) -> Result<copyback::RestoreReport, RestoreError> {
    copyback::restore(fs, Path::new(BACKUP), &opts(mode))
}

/// The tree after an uninterrupted restore of a fresh copy, and the changes it made.
fn uninterrupted(initial: &MemFs, mode: Mode) -> (Tree, u64) {
    let fs = initial.fork();
    fs.set_faults(FaultPlan::default());
    restore(&fs, mode).unwrap();
    (fs.tree(), fs.changes())
}

const LAYOUTS: [(u64, &str); 2] = [(0, "one file system"), (2, "datadir on another file system")];

#[test]
fn the_uninterrupted_restore_places_every_file_and_leaves_no_marker() {
    for (device, what) in LAYOUTS {
        for mode in [Mode::Copy, Mode::Move] {
            let initial = layout(device, u64::MAX);
            let (tree, _) = uninterrupted(&initial, mode);
            for (rel, bytes) in backup_files() {
                let dest = match rel {
                    "undo001" => p("/data/undo/undo001"),
                    "db/r.ibd" => p("/remote/db/r.ibd"),
                    "xtrabackup_checkpoints" | "backup-my.cnf" => continue,
                    _ => Path::new("/data/mysql").join(rel),
                };
                assert_eq!(bytes_at(&tree, &dest), Some(bytes.clone()), "{what} {mode:?}: {}", dest.display());
                let source = tree.get(&Path::new(BACKUP).join(rel));
                assert_eq!(source.is_some(), mode == Mode::Copy, "{what} {mode:?}: {rel} in the backup");
            }
            assert!(!tree.contains_key(&p("/data/mysql").join(MARKER)));
        }
    }
}

#[test]
fn a_restore_that_does_not_fit_is_refused_before_it_writes_anything() {
    let fs = layout(2, 256 * 1024);
    let before = fs.tree();
    let err = restore(&fs, Mode::Copy).unwrap_err().to_string();
    let want = "not enough free space for copy-back in /data/mysql: its file system has 0.2 MiB (262144 bytes) \
                free, and the 6 files going there need 1.5 MiB (1527808 bytes), counted in 4096-byte blocks with 1 \
                MiB to spare; /data/mysql/db/r.isl is the first that would not fit; nothing was written";
    assert!(err.starts_with(want), "{want:?} in {err}");
    assert_eq!(fs.tree(), before);
    // Move-back across file systems needs the room too; on one file system it needs none.
    assert!(restore(&fs, Mode::Move)
        .unwrap_err()
        .to_string()
        .contains("not enough free space for move-back in /data/mysql"));
    assert_eq!(fs.tree(), before);
    let same = layout(0, 0);
    restore(&same, Mode::Move).unwrap();
}

fn bytes_at(tree: &Tree, path: &Path) -> Option<Vec<u8>> {
    tree.get(path).cloned().flatten().map(|b| b.to_vec())
}

/// What a failure or a crash must never do: lose a file of the backup. Each is at
/// its source or its destination with all its bytes (copy-back: at its source).
fn every_file_is_whole_somewhere(tree: &Tree, finished: &Tree, mode: Mode, context: &str) {
    for (rel, bytes) in backup_files() {
        let src = Path::new(BACKUP).join(rel);
        let whole_at = |path: &Path| bytes_at(tree, path).as_ref() == Some(&bytes);
        let dest =
            finished.keys().find(|path| !path.starts_with(BACKUP) && bytes_at(finished, path) == Some(bytes.clone()));
        let ok = whole_at(&src) || (mode == Mode::Move && dest.is_some_and(|d| whole_at(d)));
        assert!(ok, "{context}: {rel} is whole nowhere");
        if mode == Mode::Copy {
            assert!(whole_at(&src), "{context}: copy-back changed {rel} in the backup");
        }
    }
}

#[test]
fn a_failure_at_any_change_is_undone_or_finished_by_a_rerun() {
    for (device, what) in LAYOUTS {
        for mode in [Mode::Copy, Mode::Move] {
            let initial = layout(device, u64::MAX);
            let (finished, changes) = uninterrupted(&initial, mode);
            let (mut undone, mut to_finish) = (0, 0);
            for k in 1..=changes {
                let ctx = format!("{what}, {mode:?}, EIO at change {k}");
                let fs = initial.fork();
                fs.set_faults(FaultPlan { fail: Some((k, libc::EIO)), ..FaultPlan::default() });
                let err = restore(&fs, mode).unwrap_err().to_string();
                assert!(err.contains("Input/output error"), "{ctx}: {err}");
                every_file_is_whole_somewhere(&fs.tree(), &finished, mode, &ctx);
                if err.contains("undid what it did") {
                    undone += 1;
                    assert!(
                        err.contains("/data/mysql is missing again, as it was, and the backup is as it was"),
                        "{ctx}: {err}"
                    );
                    assert_eq!(fs.tree(), initial.tree(), "{ctx}: {err}");
                } else {
                    to_finish += 1;
                    assert!(err.contains("again") && !err.contains("undoing it failed"), "{ctx}: {err}");
                    every_file_is_whole_somewhere(&fs.tree(), &finished, mode, &ctx);
                }
                fs.set_faults(FaultPlan::default());
                if fs.tree() == finished {
                    continue; // it failed after the last file was in place and the marker gone
                }
                restore(&fs, mode).unwrap_or_else(|e| panic!("{ctx}: the re-run failed: {e}"));
                assert!(fs.tree() == finished, "{ctx}: the re-run's result differs from the uninterrupted one");
            }
            assert!(
                undone > changes / 2 && to_finish >= 1,
                "{what} {mode:?}: {undone} undone, {to_finish} left to finish"
            );
        }
    }
}

#[test]
fn a_kill_at_any_change_then_a_crash_loses_nothing_and_a_rerun_finishes() {
    for (device, what) in LAYOUTS {
        for mode in [Mode::Copy, Mode::Move] {
            let initial = layout(device, u64::MAX);
            let (finished, changes) = uninterrupted(&initial, mode);
            for k in 1..=changes {
                for seed in 0..3 {
                    let ctx = format!("{what}, {mode:?}, killed before change {k}, crash seed {seed}");
                    let fs = initial.fork();
                    fs.set_faults(FaultPlan { kill_before: Some(k), ..FaultPlan::default() });
                    assert!(restore(&fs, mode).is_err() && fs.was_killed(), "{ctx}");
                    let after = fs.crash(k * 10 + seed);
                    let tree = after.tree();
                    every_file_is_whole_somewhere(&tree, &finished, mode, &ctx);
                    let marked = tree.contains_key(&p("/data/mysql").join(MARKER));
                    let placed =
                        tree.keys().any(|path| path.starts_with("/data/mysql/db") || path.starts_with("/remote/db"));
                    assert!(marked || !placed || tree == finished, "{ctx}: files placed, no marker, not complete");
                    if tree == finished {
                        continue; // the crash came after the restore was complete
                    }
                    restore(&after, mode).unwrap_or_else(|e| panic!("{ctx}: the re-run failed: {e}"));
                    assert!(after.tree() == finished, "{ctx}: the re-run's result differs from the uninterrupted one");
                }
            }
        }
    }
}

#[test]
fn an_empty_lost_found_is_an_empty_datadir_and_stays() {
    let fs = layout(2, u64::MAX);
    fs.put_dir(&p("/data/lost+found"));
    let mut o = opts(Mode::Copy);
    o.datadir = p("/data");
    o.undo_dir = None;
    copyback::restore(&fs, Path::new(BACKUP), &o).unwrap();
    assert!(fs.is_dir(&p("/data/lost+found")) && fs.exists(&p("/data/db/t.ibd")));
    // A failure leaves it too, and the datadir empty again.
    let fs = layout(2, u64::MAX);
    fs.put_dir(&p("/data/lost+found"));
    fs.set_faults(FaultPlan { fail: Some((12, libc::ENOSPC)), ..FaultPlan::default() });
    let err = copyback::restore(&fs, Path::new(BACKUP), &o).unwrap_err().to_string();
    assert!(
        err.contains("No space left on device (os error 28); copy-back undid what it did")
            && err.contains("/data is empty again"),
        "{err}"
    );
    assert_eq!(fs.list(&p("/data")).unwrap().iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["lost+found"]);
    // A lost+found with something in it is not empty.
    fs.put_file(&p("/data/lost+found/#123"), b"x");
    let err = copyback::restore(&fs, Path::new(BACKUP), &o).unwrap_err().to_string();
    assert!(err.contains("the datadir is not empty (it holds 1 entries, lost+found among them)"), "{err}");
}

#[test]
fn another_commands_unfinished_restore_is_refused_by_name() {
    let fs = layout(2, u64::MAX);
    fs.set_faults(FaultPlan { kill_before: Some(20), ..FaultPlan::default() });
    assert!(restore(&fs, Mode::Copy).is_err());
    let after = fs.crash(1);
    assert!(after.exists(&p("/data/mysql").join(MARKER)));
    let err = restore(&after, Mode::Move).unwrap_err().to_string();
    assert!(
        err.contains("/data/mysql holds an unfinished innohot copy-back of /backup (innohot_restore_in_progress lists"),
        "{err}"
    );
    let again = after.fork();
    let report = restore(&again, Mode::Copy).unwrap();
    assert!(report.resumed.unwrap().starts_with("found an interrupted copy-back and undid it first: copy-back undid"));
    // Someone's file beside the interrupted restore's: undone, then refused, the file kept.
    after.put_file(&p("/data/mysql/notes.txt"), b"mine");
    let err = restore(&after, Mode::Copy).unwrap_err().to_string();
    assert!(err.contains("the datadir is not empty (it holds 1 entries, notes.txt among them)"), "{err}");
    assert_eq!(after.read_all(&p("/data/mysql/notes.txt")).unwrap(), b"mine");
    after.remove_file(&p("/data/mysql/notes.txt")).unwrap();
    let report = restore(&after, Mode::Copy).unwrap();
    assert!(report.resumed.is_none(), "undone by the refused run already");
}
