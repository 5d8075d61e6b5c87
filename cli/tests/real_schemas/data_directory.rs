//! DATA DIRECTORY tables and partitions (see the top of real_schemas.rs for
//! where mariabackup puts them).

use super::harness::*;
use innohot_testbeds::{binaries_or_skip, mariabackup, tree, work_dir, BackupKind};
use mysql::prelude::Queryable;
use mysql::Conn;
use std::path::{Path, PathBuf};

/// Creates `dd.remote` in `r1`, `dd.rpart` with partitions in `r2`, `r1`
/// and the datadir, and `dd.local`.
fn data_directory_schema(c: &mut Conn, r1: &Path, r2: &Path, rows: u32) {
    let (r1, r2) = (r1.display(), r2.display());
    rows_table(c, "dd", "remote", "", &format!("DATA DIRECTORY='{r1}'"), rows);
    rows_table(
        c,
        "dd",
        "rpart",
        "",
        &format!(
            "PARTITION BY HASH(id) (PARTITION p0 DATA DIRECTORY='{r2}', PARTITION p1 DATA DIRECTORY='{r2}', \
             PARTITION p2 DATA DIRECTORY='{r1}', PARTITION p3)"
        ),
        rows,
    );
    rows_table(c, "dd", "local", "", "", rows);
}

/// Two DATA DIRECTORY targets, `r1` and `r2`, in a directory of their own.
fn remote_dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let remote = work_dir("innohot-remote-");
    let (r1, r2) = (remote.path().join("r1"), remote.path().join("r2"));
    std::fs::create_dir_all(&r1).unwrap();
    std::fs::create_dir_all(&r2).unwrap();
    (remote, r1, r2)
}

#[test]
fn data_directory_tables_and_partitions_round_trip() {
    let Some(b) = binaries_or_skip() else { return };
    let mut src = start_source(&b, &[]);
    let (_remote, r1, r2) = remote_dirs();
    let mut c = src.conn().unwrap();
    data_directory_schema(&mut c, &r1, &r2, 3000);
    assert!(r1.join("dd/remote.ibd").exists() && r2.join("dd/rpart#P#p0.ibd").exists());
    let targets = ["remote", "rpart", "local"].iter().map(|t| Target::Rows(q("dd", t))).collect();
    let r = Restore {
        aside: vec![r1.clone(), r2.clone()],
        expect_tables: vec!["dd.remote".into(), "dd.rpart".into(), "dd.local".into()],
        probes: vec![],
    };
    let work = work_dir("innohot-rs-");
    let target = work.path().join("backup");
    backup_under(writers(&src, targets, vec![], 2), &src, &target, &["--log-poll-ms=200"]);
    let files = tree::relative_files(&target);
    let dd: Vec<&String> = files.iter().filter(|f| f.starts_with("dd/")).collect();
    for isl in ["dd/remote.isl", "dd/rpart#P#p0.isl", "dd/rpart#P#p1.isl", "dd/rpart#P#p2.isl"] {
        let ibd = isl.replace(".isl", ".ibd");
        let new = isl.replace(".isl", ".new");
        assert!(
            files.contains(&ibd) || files.contains(&new),
            "{ibd} (the data behind {isl}) is not in the backup, as mariabackup would have it: {dd:?}"
        );
    }
    let restored = restore_and_compare(&mut src, &target, work.path(), &r);
    // The restored server reads copies made from the backup, at the source's
    // remote paths (where copy-back put them), not the source's files.
    let names: Vec<(String, String)> = restored
        .conn()
        .unwrap()
        .query(
            "SELECT NAME, FILENAME FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE 'dd/%' ORDER BY NAME",
        )
        .unwrap();
    eprintln!("restored remote tablespaces: {names:?}");
    let remote_file = names.iter().find(|(n, _)| n == "dd/remote").map(|(_, f)| PathBuf::from(f));
    assert_eq!(remote_file, Some(r1.join("dd/remote.ibd")), "{names:?}");
    assert!(r1.join("dd/remote.ibd").exists() && r1.with_extension("aside").join("dd/remote.ibd").exists());
}

/// On an idle server, innohot's backup holds the same files as
/// mariabackup's, DATA DIRECTORY tablespaces included (see the top of this
/// file for mariabackup's layout).
#[test]
fn data_directory_backup_holds_the_same_files_as_mariabackups() {
    let Some(b) = binaries_or_skip() else { return };
    let mut src = start_source(&b, &[]);
    let (_remote, r1, r2) = remote_dirs();
    data_directory_schema(&mut src.conn().unwrap(), &r1, &r2, 200);
    // A clean restart checkpoints past the CREATEs, so mariabackup copies
    // `.ibd` files (not `.new`).
    src.restart().expect("restart the source");
    let work = work_dir("innohot-rs-");
    let (ours, theirs) = (work.path().join("innohot"), work.path().join("mariabackup"));
    mariabackup::backup(&src, &theirs, &work.path().join("mb.log")).expect("mariabackup --backup");
    let m = tree::relative_files(&theirs);
    for f in ["dd/remote.ibd", "dd/remote.isl", "dd/rpart#P#p0.ibd", "dd/rpart#P#p0.isl", "dd/rpart#P#p3.ibd"] {
        assert!(m.contains(&f.to_string()), "mariabackup's layout changed: no {f} in {m:?}");
    }
    let isl = std::fs::read_to_string(theirs.join("dd/remote.isl")).unwrap();
    assert_eq!(PathBuf::from(isl.trim_end()), r1.join("dd/remote.ibd"));
    backup(&src, &ours, &[]).assert_backup_completed(&ours, BackupKind::Full);
    let a = tree::relative_files(&ours);
    let only_ours: Vec<&String> = a.iter().filter(|f| !m.contains(f)).collect();
    let only_theirs: Vec<&String> = m.iter().filter(|f| !a.contains(f)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "file sets differ: only in innohot's {only_ours:?}, only in mariabackup's {only_theirs:?}"
    );
}
