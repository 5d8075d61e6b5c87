//! Issue 19 on a real MariaDB 10.11 (innodb_undo_tablespaces=2): a backup taken by
//! innohot, then one file a server needs removed from a copy of it (ibdata1, an
//! undo tablespace, the .ibd of an idle table, of a table the redo writes to, of an
//! idle partition) or its metadata broken (to_lsn beyond last_lsn, no
//! backup-my.cnf). `innohot verify` and `innohot prepare` must each refuse it: exit
//! 1, the file named, no Rust Debug text, and (prepare) every byte of the backup
//! unchanged. What `mariabackup --prepare` says on the same damaged backup is
//! printed beside (facts, not asserted). The whole backup, which holds tables in
//! the system tablespace (no .ibd; one created after the start checkpoint),
//! verifies, prepares, restores and starts.

use innohot_testbeds::roundtrip::flush_dirty_pages;
use innohot_testbeds::tree::{cp_a, fingerprint, rust_debug_text};
use innohot_testbeds::{
    binaries_or_skip, innohot, mariabackup, table_checksums, BackupKind, Binaries, ServerBuilder, Writers,
};
use mysql::prelude::Queryable;
use std::path::Path;
use std::time::Duration;

/// `innohot verify` and `innohot prepare --json` on the damaged backup in `dir`:
/// both refuse, saying every one of `says`; prepare changes no byte. Then
/// mariabackup --prepare on it; returns what it said.
fn refused_by_both(b: &Binaries, dir: &Path, says: &[&str]) -> String {
    let d = dir.display().to_string();
    let before = fingerprint(dir);
    let v = innohot!().run(["verify", "--target-dir", &d]);
    assert_eq!(v.code, Some(1), "verify must refuse:\n{}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("NOT A USABLE BACKUP"), "{}", v.stdout);
    let p = innohot!().run(["prepare", "--target-dir", &d, "--json"]);
    assert_eq!(p.code, Some(1), "prepare must refuse:\n{}", p.stderr);
    assert!(!p.stderr.contains("completed OK!"), "{}", p.stderr);
    assert!(p.stdout.contains("\"result\":\"failed\"") && p.stdout.contains("\"exit_code\":1"), "{}", p.stdout);
    for s in says {
        assert!(v.stdout.contains(s), "verify must say {s:?}:\n{}", v.stdout);
        assert!(p.stderr.contains(s), "prepare must say {s:?}:\n{}", p.stderr);
    }
    for text in [&v.stdout, &v.stderr, &p.stdout, &p.stderr] {
        assert_eq!(rust_debug_text(text), None, "Rust Debug text in:\n{text}");
    }
    assert_eq!(fingerprint(dir), before, "a refused prepare changed the backup");
    assert!(!dir.join("innohot_prepare.lock").exists(), "the lock file is left behind");
    let log = dir.with_extension("mariabackup.log");
    let verdict = match mariabackup::prepare(b, dir, &log) {
        Ok(_) => "exit 0",
        Err(_) => "refused",
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let said: Vec<&str> = text
        .lines()
        .filter(|l| {
            ["ERROR", "Warning", "FATAL", "do not exist", "not found", "completed OK"].iter().any(|k| l.contains(k))
        })
        .take(4)
        .collect();
    format!("mariabackup --prepare: {verdict}: {}", said.join(" | "))
}

#[test]
fn a_backup_missing_a_file_a_server_needs_is_refused_by_verify_and_prepare_unchanged() {
    let Some(b) = binaries_or_skip() else { return };
    let src = ServerBuilder::new(b.clone()).option("--innodb-undo-tablespaces=2").start().expect("start the source");
    let mut conn = src.conn().unwrap();
    for sql in [
        "CREATE DATABASE d",
        "CREATE TABLE d.idle (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB",
        "CREATE TABLE d.busy (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(100)) ENGINE=InnoDB",
        "CREATE TABLE d.p (id INT PRIMARY KEY) ENGINE=InnoDB PARTITION BY HASH(id) PARTITIONS 3",
        "CREATE TABLE d.m (id INT PRIMARY KEY) ENGINE=MyISAM",
        "CREATE TABLE d.a (id INT PRIMARY KEY) ENGINE=Aria",
        "CREATE VIEW d.v AS SELECT * FROM d.idle",
        // In the system tablespace: no .ibd, and no refusal for that.
        "SET GLOBAL innodb_file_per_table = 0",
        "CREATE TABLE d.sys (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB",
        "SET GLOBAL innodb_file_per_table = 1",
        "INSERT INTO d.idle SELECT seq, REPEAT('i', seq % 90) FROM d.seq_1_to_500",
        "INSERT INTO d.p SELECT seq FROM d.seq_1_to_300",
        "INSERT INTO d.sys SELECT seq, REPEAT('s', seq % 90) FROM d.seq_1_to_500",
        "INSERT INTO d.busy (v) VALUES ('first')",
    ] {
        conn.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // The idle tables' changes behind the checkpoint: the copied redo will not name them.
    flush_dirty_pages(&mut conn, Duration::from_secs(60)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // One more in the system tablespace, after the checkpoint: the dictionary as
    // copied may not list it yet, the one prepare reads (after the redo) does.
    for sql in [
        "SET GLOBAL innodb_file_per_table = 0",
        "CREATE TABLE d.sys_late (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB",
        "SET GLOBAL innodb_file_per_table = 1",
        "INSERT INTO d.sys_late SELECT seq, REPEAT('l', seq % 90) FROM d.seq_1_to_500",
    ] {
        conn.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let writer = Writers::start(src.opts(), 1, |_| {
        |conn: &mut mysql::Conn, _| conn.query_drop("INSERT INTO d.busy (v) VALUES (REPEAT('b', 80))").map(|()| true)
    });
    let work = tempfile::tempdir().unwrap();
    let pristine = work.path().join("backup");
    let p = pristine.display().to_string();
    let run = innohot!().backup(&src, &pristine, &[]);
    writer.stop();
    run.assert_backup_completed(&pristine, BackupKind::Full);
    assert!(!pristine.join("d/sys.ibd").exists() && pristine.join("d/sys.frm").exists());
    let v = innohot!().run(["verify", "--target-dir", &p]);
    assert_eq!(v.code, Some(0), "the whole backup verifies:\n{}", v.stdout);

    type Damage = Box<dyn Fn(&Path)>;
    let remove = |rel: &'static str| -> Damage { Box::new(move |d: &Path| std::fs::remove_file(d.join(rel)).unwrap()) };
    let cases: Vec<(&str, Damage, Vec<&str>)> = vec![
        ("ibdata1", remove("ibdata1"), vec!["ibdata1 is missing from the backup", "innodb_data_file_path"]),
        ("undo001", remove("undo001"), vec!["undo001 is missing from the backup", "innodb_undo_tablespaces"]),
        (
            "idle table",
            remove("d/idle.ibd"),
            vec!["d/idle.ibd is missing from the backup", "InnoDB keeps the table d/idle (its d/idle.frm"],
        ),
        ("written table", remove("d/busy.ibd"), vec!["d/busy.ibd is missing from the backup", "redo"]),
        (
            "idle partition",
            remove("d/p#P#p1.ibd"),
            vec!["d/p#P#p1.ibd is missing from the backup", "InnoDB keeps the table d/p#P#p1 (its d/p.frm"],
        ),
        ("no backup-my.cnf", remove("backup-my.cnf"), vec!["backup-my.cnf is missing from the backup"]),
        (
            "to_lsn > last_lsn",
            Box::new(|d: &Path| {
                let f = d.join("xtrabackup_checkpoints");
                let text = std::fs::read_to_string(&f).unwrap();
                let last: u64 = text.lines().find_map(|l| l.strip_prefix("last_lsn = ")).unwrap().parse().unwrap();
                let edited: String =
                    text.lines()
                        .map(|l| {
                            if l.starts_with("to_lsn = ") {
                                format!("to_lsn = {}\n", last + 1)
                            } else {
                                format!("{l}\n")
                            }
                        })
                        .collect();
                std::fs::write(&f, edited).unwrap();
            }),
            vec!["xtrabackup_checkpoints", "beyond last_lsn"],
        ),
    ];
    let mut facts = Vec::new();
    for (n, (name, damage, says)) in cases.iter().enumerate() {
        let dir = work.path().join(format!("case{n}"));
        cp_a(&pristine, &dir);
        damage(&dir);
        let said = refused_by_both(&b, &dir, says);
        facts.push(format!("{name}: innohot refuses; {said}"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!("the same damaged backups given to mariabackup --prepare:\n  {}", facts.join("\n  "));

    // The whole backup: prepared, copied back, started; the tables nobody wrote to
    // (the one in the system tablespace among them) equal the source's.
    let before = table_checksums(&mut src.conn().unwrap()).unwrap();
    innohot!().run(["prepare", "--target-dir", &p]).assert_completed("innohot prepare");
    let datadir = work.path().join("restored");
    innohot!()
        .run(["copy-back", "--target-dir", &p, "--datadir", &datadir.display().to_string()])
        .assert_ok("copy-back");
    let restored = ServerBuilder::new(b).start_on(&datadir).expect("start a server on the restored datadir");
    let after = table_checksums(&mut restored.conn().unwrap()).unwrap();
    for t in ["d.idle", "d.sys", "d.sys_late", "d.p"] {
        assert!(before.contains_key(t), "{t} checksummed");
        assert_eq!(after.get(t), before.get(t), "{t} restored as it was");
    }
}
