//! The workload driver runs concurrent DML and DDL over InnoDB, MyISAM and
//! Aria and stops by itself.

use std::time::Duration;

use innohot_testbeds::{binaries_or_skip, table_checksums, ServerBuilder, Workload, WorkloadConfig};

#[test]
fn workload_with_ddl_stops_by_itself() {
    let Some(bins) = binaries_or_skip() else {
        return;
    };
    let server = ServerBuilder::new(bins).start().expect("start server");
    let cfg = WorkloadConfig {
        schema: "wl".into(),
        threads: 4,
        duration: Duration::from_secs(3),
        ddl: true,
        ..Default::default()
    };
    let wl = Workload::start(server.opts(), cfg.clone()).expect("start workload");
    let stats = wl.wait().expect("workload");
    eprintln!("workload: {stats:?}");
    assert!(stats.elapsed < Duration::from_secs(30), "did not stop by itself in time");
    assert!(stats.commits > 0, "{stats:?}");
    assert!(stats.nontx_statements > 0, "{stats:?}");
    assert!(stats.ddl_statements > 0, "{stats:?}");
    assert!(stats.rows_inserted > 0 && stats.rows_updated > 0, "{stats:?}");

    // Op-bounded, stopped early by stop().
    let wl = Workload::start(
        server.opts(),
        WorkloadConfig { duration: Duration::from_secs(60), max_ops_per_thread: Some(1_000_000), ..cfg.clone() },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let stats2 = wl.stop().expect("stop");
    assert!(stats2.elapsed < Duration::from_secs(30), "{stats2:?}");

    let sums = table_checksums(&mut server.conn().unwrap()).unwrap();
    for t in cfg.tables() {
        assert!(sums.contains_key(&t), "{t}");
    }
}
