//! (b) Harness smoke test with the reference tool: fill an idle server,
//! `mariabackup --backup`, `mariabackup --prepare`, start a server on the
//! prepared directory and compare table checksums.

use std::time::{Duration, Instant};

use innohot_testbeds::{binaries_or_skip, mariabackup, table_checksums, ServerBuilder, Workload, WorkloadConfig};

#[test]
fn mariabackup_backup_prepare_restore_idle() {
    let Some(bins) = binaries_or_skip() else {
        return;
    };
    let server = ServerBuilder::new(bins.clone()).start().expect("start server");

    // Fill, then run a short bounded workload (DML + DDL) so the redo log,
    // MyISAM and Aria files all have history; then the server is idle.
    let cfg = WorkloadConfig {
        schema: "smoke".into(),
        threads: 3,
        initial_rows: 2000,
        duration: Duration::from_secs(2),
        ddl: true,
        ..Default::default()
    };
    let stats = Workload::start(server.opts(), cfg.clone()).unwrap().wait().expect("workload");
    eprintln!("workload before backup: {stats:?}");
    let before = table_checksums(&mut server.conn().unwrap()).expect("checksums of source");

    let work = tempfile::Builder::new().prefix("innohot-bk-").tempdir().unwrap();
    let target = work.path().join("backup");
    let t = mariabackup::backup(&server, &target, &work.path().join("backup.log")).expect("mariabackup --backup");
    eprintln!("TIMING mariabackup --backup: {:.3} s", t.as_secs_f64());
    let t = mariabackup::prepare(&bins, &target, &work.path().join("prepare.log")).expect("mariabackup --prepare");
    eprintln!("TIMING mariabackup --prepare: {:.3} s", t.as_secs_f64());

    let t0 = Instant::now();
    let restored = ServerBuilder::new(bins).start_on(&target).expect("start on the prepared backup");
    eprintln!("TIMING start on prepared backup: {:.3} s", t0.elapsed().as_secs_f64());
    let after = table_checksums(&mut restored.conn().unwrap()).expect("checksums of restore");

    for t in cfg.tables() {
        assert!(before.contains_key(&t), "{t}");
    }
    let diff: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: source {v}, restored {:?}", after.get(k)))
        .chain(after.keys().filter(|k| !before.contains_key(*k)).map(|k| format!("{k}: only in restore")))
        .collect();
    assert!(diff.is_empty(), "checksum differences:\n{}", diff.join("\n"));
    eprintln!("{} tables equal", before.len());
}
