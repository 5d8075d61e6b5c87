//! Backups that must fail, naming the table: a planted omission and an
//! encrypted tablespace; the server is left unlocked.

use super::harness::*;
use innohot_testbeds::{binaries_or_skip, roundtrip, work_dir, LocalServer};
use mysql::prelude::Queryable;
use std::time::{Duration, Instant};

/// A write goes through at once: the failed backup released every lock.
fn assert_not_locked(server: &LocalServer, table: &str) {
    let mut c = server.conn().unwrap();
    exec(&mut c, "SET SESSION lock_wait_timeout = 5, innodb_lock_wait_timeout = 5");
    let t0 = Instant::now();
    exec(&mut c, &format!("INSERT INTO {table} (k, v) VALUES (1, 'after the failed backup')"));
    exec(&mut c, &format!("CREATE TABLE {table}_after (id INT PRIMARY KEY) ENGINE=InnoDB"));
    assert!(t0.elapsed() < Duration::from_secs(2), "the server was still locked: {:?}", t0.elapsed());
}

#[test]
fn planted_omission_fails_the_backup_naming_the_table() {
    let Some(b) = binaries_or_skip() else { return };
    let src = start_source(&b, &[]);
    let mut c = src.conn().unwrap();
    rows_table(&mut c, "d", "t1", "", "", 1000);
    rows_table(&mut c, "d", "t2", "", "", 1000);
    let names: Vec<String> =
        c.query("SELECT NAME FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE 'd/%'").unwrap();
    assert!(names.contains(&"d/t1".to_string()), "{names:?}");
    let work = work_dir("innohot-rs-");
    let target = work.path().join("backup");
    let writers = writers(&src, vec![Target::Rows(q("d", "t2"))], vec![], 1);
    let run = backup(&src, &target, &["--log-poll-ms=200", "--debug-skip-tablespace=d/t1"]);
    writers.stop();
    eprintln!("the backup said: {}", run.stderr.lines().last().unwrap_or(""));
    run.assert_backup_failed(&target);
    assert!(
        run.stderr.contains("missing from the backup") && run.stderr.contains("d/t1"),
        "the error must say that d/t1 is missing from the backup:\n{}",
        run.tail(40)
    );
    assert_not_locked(&src, "d.t2");
}

#[test]
fn encrypted_tablespace_is_refused_by_name() {
    let Some(b) = binaries_or_skip() else { return };
    let keys_dir = work_dir("innohot-keys-");
    let keys = keys_dir.path().join("keys.txt");
    std::fs::write(&keys, "1;000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n").unwrap();
    let keys_opt = format!("--file-key-management-filename={}", keys.display());
    let src = start_source(&b, &["--plugin-load-add=file_key_management", &keys_opt]);
    let mut c = src.conn().unwrap();
    rows_table(&mut c, "enc", "plain", "", "", 1000);
    rows_table(&mut c, "enc", "secret", "", "ENCRYPTED=YES ENCRYPTION_KEY_ID=1", 1000);
    roundtrip::flush_dirty_pages(&mut c, Duration::from_secs(60)).unwrap();
    let raw = std::fs::read(src.datadir().join("enc/secret.ibd")).unwrap();
    assert!(!raw.windows(5).any(|w| w == b"alpha"), "enc/secret.ibd is not encrypted on disk");
    let work = work_dir("innohot-rs-");
    let target = work.path().join("backup");
    let writers = writers(&src, vec![Target::Rows(q("enc", "plain"))], vec![], 1);
    let run = backup(&src, &target, &["--log-poll-ms=200"]);
    writers.stop();
    eprintln!("the backup said: {}", run.stderr.lines().last().unwrap_or(""));
    run.assert_backup_failed(&target);
    assert!(
        run.stderr.to_lowercase().contains("encrypted") && run.stderr.contains("secret.ibd"),
        "the error must name the encrypted tablespace enc/secret.ibd:\n{}",
        run.tail(40)
    );
    assert_not_locked(&src, "enc.plain");
}
