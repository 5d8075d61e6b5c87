//! Restores onto a file system that cannot hold them (issue 19): a real MariaDB
//! 10.11 backup taken and prepared by innohot, then `copy-back` and `move-back`
//! onto a tmpfs mounted for the test (root only). Too small a tmpfs: each exits 1
//! naming the directory, the figures and the first file that would not fit,
//! before writing anything. A tmpfs with room for the bytes but few inodes:
//! creating a file fails half way, and the restore undoes what it did. Either
//! way the backup's checksum (every file's path and bytes) is unchanged and the
//! datadir is empty again (or missing again). And an empty `lost+found` (a
//! fresh file system) counts as an empty datadir and stays.

use innohot_testbeds::tree::{file_contents, fingerprint};
use innohot_testbeds::{
    binaries_or_skip, found_or_skip, innohot, Demand, Run, ServerBuilder, Workload, WorkloadConfig,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a directory of its own, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, options: &str) -> std::io::Result<Tmpfs> {
        std::fs::create_dir_all(dir)?;
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(dir).output()?;
        if !out.status.success() {
            let why = format!("mount -t tmpfs -o {options}: {}", String::from_utf8_lossy(&out.stderr).trim());
            return Err(std::io::Error::other(why));
        }
        Ok(Tmpfs { dir: dir.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn restore(cmd: &str, backup: &Path, datadir: &Path) -> Run {
    innohot!().run([
        cmd.into(),
        format!("--target-dir={}", backup.display()),
        format!("--datadir={}", datadir.display()),
    ])
}

#[test]
fn restores_onto_a_file_system_too_small_fail_whole_and_leave_the_backup_and_the_datadir_as_they_were() {
    let Some(b) = binaries_or_skip() else { return };
    let work = tempfile::tempdir().unwrap();
    let probe = Tmpfs::mount(&work.path().join("probe"), "size=1m")
        .map_err(|why| format!("this test mounts tmpfs file systems and cannot here ({why}); run it as root"));
    if found_or_skip(probe, Demand::Optional).is_none() {
        return;
    }
    let src = ServerBuilder::new(b).start().expect("start the source");
    let cfg = WorkloadConfig { schema: "fill".into(), initial_rows: 3000, ..WorkloadConfig::default() };
    Workload::setup(&mut src.conn().unwrap(), &cfg).unwrap();
    let backup = work.path().join("backup");
    let Run { code, stderr: log, .. } = innohot!().run([
        "backup".into(),
        format!("--target-dir={}", backup.display()),
        format!("--socket={}", src.socket().display()),
        "--user=root".into(),
    ]);
    assert_eq!(code, Some(0), "innohot backup failed:\n{log}");
    let Run { code, stderr: log, .. } =
        innohot!().run(["prepare".into(), format!("--target-dir={}", backup.display())]);
    assert_eq!(code, Some(0), "innohot prepare failed:\n{log}");
    let before = fingerprint(&backup);
    let files = file_contents(&backup).len();
    eprintln!("backup: {files} files, checksum {before:016x}");

    // Too small: refused before anything is written, with the figures.
    let small = Tmpfs::mount(&work.path().join("small"), "size=8m").unwrap();
    for cmd in ["copy-back", "move-back"] {
        let Run { code, stderr: err, .. } = restore(cmd, &backup, &small.dir);
        eprintln!("{cmd} onto a tmpfs of 8 MiB:\n{err}");
        assert_eq!(code, Some(1), "{cmd}: {err}");
        for needle in [
            format!(
                "not enough free space for {cmd} in {}: its file system has 8.0 MiB (8388608 bytes) free",
                small.dir.display()
            ),
            "counted in 4096-byte blocks with 1 MiB to spare;".into(),
            format!("{}/", small.dir.display()),
            "is the first that would not fit; nothing was written".into(),
        ] {
            assert!(err.contains(&needle), "{cmd}: {needle:?} in\n{err}");
        }
        assert_eq!(fingerprint(&backup), before, "{cmd} changed the backup");
        assert!(entries(&small.dir).is_empty(), "{cmd} left {:?}", entries(&small.dir));
    }

    // Room for the bytes, not for the files: creating one fails half way; undone.
    let few_inodes = Tmpfs::mount(&work.path().join("inodes"), "size=1g,nr_inodes=16").unwrap();
    for (cmd, datadir) in [("copy-back", few_inodes.dir.clone()), ("move-back", few_inodes.dir.join("data"))] {
        let Run { code, stderr: err, .. } = restore(cmd, &backup, &datadir);
        eprintln!("{cmd} onto a tmpfs of 16 inodes:\n{err}");
        assert_eq!(code, Some(1), "{cmd}: {err}");
        let again = if datadir == few_inodes.dir { "is empty again" } else { "is missing again, as it was" };
        for needle in [
            format!("{}/", datadir.display()),
            "failed: No space left on device (os error 28)".into(),
            format!("; {cmd} undid what it did: it "),
            format!("{} {again}, and the backup is as it was", datadir.display()),
        ] {
            assert!(err.contains(&needle), "{cmd}: {needle:?} in\n{err}");
        }
        assert!(err.contains("removed the") && err.contains("files it had written"), "{cmd}: {err}");
        assert_eq!(fingerprint(&backup), before, "{cmd} changed the backup");
        assert!(entries(&few_inodes.dir).is_empty(), "{cmd} left {:?}", entries(&few_inodes.dir));
    }

    // A fresh file system's empty lost+found: an empty datadir, left in place.
    let roomy = Tmpfs::mount(&work.path().join("roomy"), "size=1g").unwrap();
    std::fs::create_dir(roomy.dir.join("lost+found")).unwrap();
    let Run { code, stderr: err, .. } = restore("copy-back", &backup, &roomy.dir);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.trim_end().ends_with("completed OK!"), "{err}");
    let placed = entries(&roomy.dir);
    assert!(placed.contains(&"lost+found".into()) && placed.contains(&"ibdata1".into()), "{placed:?}");
    assert!(!placed.contains(&"innohot_restore_in_progress".into()), "{placed:?}");
    assert_eq!(fingerprint(&backup), before);
}
