//! (a) Checksums of a server's tables survive a clean restart, and a crash
//! (SIGKILL) followed by recovery, on the same datadir.

use std::time::Duration;

use innohot_testbeds::{binaries_or_skip, table_checksums, ServerBuilder, Workload, WorkloadConfig};

#[test]
fn checksums_stable_across_restart() {
    let Some(bins) = binaries_or_skip() else {
        return;
    };
    let mut server = ServerBuilder::new(bins).start().expect("start server");
    eprintln!(
        "mariadb-install-db {:?}, first start {:?}, socket {}, port {}",
        server.install_time().unwrap_or_default(),
        server.start_time(),
        server.socket().display(),
        server.port()
    );

    let cfg =
        WorkloadConfig { schema: "restart".into(), tables_per_engine: 2, initial_rows: 300, ..Default::default() };
    let mut conn = server.conn().expect("connect");
    Workload::setup(&mut conn, &cfg).expect("create and fill tables");
    let before = table_checksums(&mut conn).expect("checksums before");
    drop(conn);
    for t in cfg.tables() {
        assert!(before.contains_key(&t), "{t} missing from {:?}", before.keys());
    }
    assert!(before.contains_key("mysql.user") || before.contains_key("mysql.global_priv"));
    assert!(!before.keys().any(|k| k.starts_with("sys.") || k.starts_with("performance_schema.")));

    server.restart().expect("clean restart");
    eprintln!("clean restart: start took {:?}", server.start_time());
    let after = table_checksums(&mut server.conn().unwrap()).expect("checksums after restart");
    assert_eq!(before, after, "checksums changed across a clean restart");

    server.kill();
    server.restart().expect("start after SIGKILL (crash recovery)");
    eprintln!("restart after SIGKILL: start took {:?}", server.start_time());
    let recovered = table_checksums(&mut server.conn().unwrap()).expect("checksums after recovery");
    assert_eq!(before, recovered, "checksums changed across crash recovery");

    server.stop().expect("stop");
    assert!(!server.is_running());
}

#[test]
fn start_on_existing_datadir() {
    let Some(bins) = binaries_or_skip() else {
        return;
    };
    let mut first = ServerBuilder::new(bins.clone()).innodb_log_file_size("32M").start().expect("start server");
    let mut conn = first.conn().unwrap();
    use mysql::prelude::Queryable;
    conn.query_drop(
        "CREATE DATABASE d; CREATE TABLE d.t (a INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO d.t VALUES (1),(2),(3)",
    )
    .unwrap();
    let before = table_checksums(&mut conn).unwrap();
    drop(conn);
    first.stop().expect("stop");

    // A second server, on the first one's (stopped) datadir.
    let second = ServerBuilder::new(bins)
        .innodb_log_file_size("32M")
        .startup_timeout(Duration::from_secs(60))
        .start_on(first.datadir())
        .expect("start on existing datadir");
    assert_ne!(second.socket(), first.socket());
    let after = table_checksums(&mut second.conn().unwrap()).unwrap();
    assert_eq!(before, after);
}
