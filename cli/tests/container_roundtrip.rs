//! innohot against MariaDB servers in Docker containers (testcontainers):
//! backed up from the host through the mapped port and from inside the
//! server's container, prepared with the host's `mariabackup --prepare`,
//! restored into a second container, rolled forward with the source's
//! binlog and compared table by table (CHECKSUM TABLE).
//!
//! The image is `INNOHOT_TEST_IMAGE` (default: the one
//! `scripts/build-test-image.sh` builds). Without a Docker daemon, or without
//! the image, every test prints one line `skipped: <why>` and returns (fails
//! instead with `INNOHOT_REQUIRE_DOCKER=1`: the testbeds' skip policy).
//! Every test name contains `container`: `cargo test --workspace container`.
//!
//! With `INNOHOT_TEST_IMAGE=mysql:5.7` (pulled by the user; never pulled
//! here) the MariaDB tests skip and `container_mysql57_*` runs instead: the
//! backup is prepared through a MySQL 5.7 server's own crash recovery on the
//! log group `innohot mysql57-log-group` writes.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use innohot_testbeds::{
    binaries_or_skip, checksums_of, docker_or_skip, innohot, is_mysql_image, mariabackup, mysql57_test_image,
    roundtrip, skip, test_image, BackupKind, Binaries, ContainerBuilder, ContainerServer, Run, TestServer, Workload,
    WorkloadConfig,
};

const INNOHOT_IN_CONTAINER: &str = "/usr/local/bin/innohot";

/// Docker, a MariaDB image and the host's MariaDB tools (prepare, binlog
/// replay), or `None` after printing why the test skips.
fn setup() -> Option<Binaries> {
    if !docker_or_skip() {
        return None;
    }
    if is_mysql_image(&test_image()) {
        skip::skip(format!(
            "{} is a MySQL image; this test prepares with mariabackup and writes Aria tables \
             (container_mysql57_* runs on it)",
            test_image()
        ));
        return None;
    }
    binaries_or_skip()
}

fn source() -> ContainerServer {
    let s = ContainerBuilder::new().start().expect("start the source container");
    eprintln!("source container {} answered after {:.2} s", s.image(), s.start_time().as_secs_f64());
    s
}

fn workload(server: &ContainerServer, schema: &str) -> Workload {
    let cfg = WorkloadConfig {
        schema: schema.into(),
        threads: 3,
        initial_rows: 1000,
        duration: Duration::from_secs(6),
        ..WorkloadConfig::default()
    };
    Workload::setup(&mut server.conn().expect("connect"), &cfg).expect("workload tables");
    let load = Workload::start(server.opts(), cfg).expect("start the workload");
    std::thread::sleep(Duration::from_millis(1000));
    load
}

/// `innohot backup` on the host through the container's mapped port.
fn backup_from_host(server: &ContainerServer, target: &Path, extra: &[&str], uid: Option<u32>) -> Run {
    let mut cmd = innohot!().backup_command(server, target, &["--log-poll-ms=200"]);
    cmd.args(extra);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let t0 = Instant::now();
    let run = Run::of(&mut cmd);
    eprintln!("innohot backup from the host: {:.2} s", t0.elapsed().as_secs_f64());
    run
}

/// Prepare on the host, copy back into a fresh directory, start a second
/// container on it, replay the source's binlog from the backup's position
/// and compare every user table with the source.
fn restore_and_compare(b: &Binaries, src: &ContainerServer, target: &Path) {
    let log = target.with_extension("prepare.log");
    let took = mariabackup::prepare(b, target, &log).unwrap_or_else(|e| {
        panic!("mariabackup --prepare refused the backup: {e}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
    });
    eprintln!("mariabackup --prepare: {:.2} s", took.as_secs_f64());
    let restored_dir = target.with_extension("restored");
    mariabackup::copy_back(b, target, &restored_dir, &target.with_extension("copy-back.log")).expect("copy-back");
    let restored = ContainerBuilder::new().start_on(&restored_dir).expect("start a container on the restored datadir");
    eprintln!("restored container answered after {:.2} s", restored.start_time().as_secs_f64());
    let from = roundtrip::binlog_info(target).expect("xtrabackup_binlog_info");
    roundtrip::replay_binlog(src, &from, &restored).expect("binlog replay through the mapped port");
    let want = checksums_of(src);
    assert!(!want.is_empty(), "no user tables on the source");
    roundtrip::assert_same_checksums(&want, &checksums_of(&restored), "restored + binlog replay");
}

#[test]
fn container_backup_from_host_under_load_restores_in_a_second_container() {
    let Some(b) = setup() else { return };
    let src = source();
    let load = workload(&src, "ctrhost");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let run = backup_from_host(&src, &target, &[], None);
    let stats = load.wait().expect("the workload ran without errors");
    run.assert_backup_completed(&target, BackupKind::Full);
    assert!(stats.commits > 50, "the load was too light to prove anything: {stats:?}");
    restore_and_compare(&b, &src, &target);
}

#[test]
fn container_backup_from_inside_the_server_container_restores() {
    let Some(b) = setup() else { return };
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().to_path_buf();
    let src = ContainerBuilder::new()
        .mount(env!("CARGO_BIN_EXE_innohot"), INNOHOT_IN_CONTAINER, true)
        .mount(&backups, &backups, false)
        .start()
        .expect("start the source container");
    let load = workload(&src, "ctrinside");
    let target = backups.join("backup");
    let t0 = Instant::now();
    let (code, stdout, stderr) = src
        .exec(&[
            INNOHOT_IN_CONTAINER,
            "backup",
            &format!("--target-dir={}", target.display()),
            "--socket=/run/mysqld/mysqld.sock",
            "--user=root",
            "--log-poll-ms=200",
        ])
        .expect("docker exec innohot");
    eprintln!("innohot backup inside the container: {:.2} s", t0.elapsed().as_secs_f64());
    let stats = load.wait().expect("the workload ran without errors");
    let run = Run { code: i32::try_from(code).ok(), stdout, stderr };
    run.assert_backup_completed(&target, BackupKind::Full);
    assert!(stats.commits > 50, "the load was too light to prove anything: {stats:?}");
    restore_and_compare(&b, &src, &target);
}

#[test]
fn container_datadir_override_is_checked_against_the_server() {
    let Some(_b) = setup() else { return };
    // Another server's datadir, checkpointed far ahead by a clean shutdown.
    let other = source();
    let cfg = WorkloadConfig { schema: "other".into(), initial_rows: 5000, ..WorkloadConfig::default() };
    Workload::setup(&mut other.conn().unwrap(), &cfg).unwrap();
    other.stop().expect("stop the other server");
    // The server under backup reports /var/lib/mysql, which is not its files on this host.
    let src = ContainerBuilder::new().datadir_at_default_path().start().expect("start the source container");
    let dir = tempfile::tempdir().unwrap();

    let wrong = other.datadir().display().to_string();
    let run = backup_from_host(&src, &dir.path().join("wrong"), &[&format!("--datadir={wrong}")], None);
    let log = &run.stderr;
    assert!(!run.ok(), "a backup reading another server's datadir must fail:\n{log}");
    assert!(!log.contains("completed OK!"), "{log}");
    assert!(log.contains("is not the datadir of this server"), "no clear reason:\n{log}");
    assert!(log.contains(&wrong) && log.contains("/var/lib/mysql"), "the message must name both paths:\n{log}");
    eprintln!("refused as it must be: {}", log.lines().last().unwrap_or(""));

    let right = src.datadir().display().to_string();
    let run = backup_from_host(&src, &dir.path().join("right"), &[&format!("--datadir={right}")], None);
    run.assert_backup_completed(&dir.path().join("right"), BackupKind::Full);
    let log = &run.stderr;
    assert!(log.contains("(--datadir)"), "phase 4 must say where it read the datadir:\n{log}");
}

#[test]
fn container_as_non_root_uid_backed_up_by_that_uid_on_the_host() {
    let Some(b) = setup() else { return };
    const UID: u32 = 999;
    let src = ContainerBuilder::new().user(UID, UID).start().expect("start the container as uid 999");
    let load = workload(&src, "ctruid");
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("as-uid");
    std::fs::create_dir(&parent).unwrap();
    let st = Command::new("chown").arg(format!("{UID}:{UID}")).arg(&parent).status().unwrap();
    assert!(st.success());
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let target = parent.join("backup");
    let run = backup_from_host(&src, &target, &[], Some(UID));
    let stats = load.wait().expect("the workload ran without errors");
    run.assert_backup_completed(&target, BackupKind::Full);
    assert!(stats.commits > 50, "the load was too light to prove anything: {stats:?}");
    restore_and_compare(&b, &src, &target);
}

/// "Log sequence number" of `SHOW ENGINE INNODB STATUS`.
fn server_lsn(server: &ContainerServer) -> u64 {
    use mysql::prelude::Queryable;
    let mut conn = server.conn().expect("connect");
    let (_, _, status): (String, String, String) =
        conn.query_first("SHOW ENGINE INNODB STATUS").expect("SHOW ENGINE INNODB STATUS").expect("a row");
    let line = status.lines().find_map(|l| l.trim().strip_prefix("Log sequence number")).expect("an LSN line");
    line.split_whitespace().next().unwrap().parse().unwrap()
}

fn checkpoints_value(target: &Path, key: &str) -> u64 {
    let text = std::fs::read_to_string(target.join("xtrabackup_checkpoints")).expect("xtrabackup_checkpoints");
    let line = text.lines().find_map(|l| l.strip_prefix(&format!("{key} = "))).expect(key);
    line.trim().parse().unwrap()
}

#[test]
fn container_mysql57_backup_prepared_through_the_servers_own_recovery() {
    // The image built from INNOHOT_MYSQL57_TARBALL, or the user's
    // (INNOHOT_TEST_IMAGE_MYSQL57, or a MySQL INNOHOT_TEST_IMAGE).
    let image = mysql57_test_image();
    if !innohot_testbeds::container::image_or_skip(&image) {
        return;
    }
    let src = ContainerBuilder::new().image(&image).start().expect("start the MySQL 5.7 source container");
    // InnoDB and MyISAM writes; the backup runs after them, before the server
    // has checkpointed them all, so the copied redo holds every kind of
    // record 5.7 writes and only the server's recovery can apply it.
    let cfg = WorkloadConfig {
        schema: "ctr57".into(),
        threads: 3,
        initial_rows: 1000,
        duration: Duration::from_secs(5),
        aria: false,
        ..WorkloadConfig::default()
    };
    Workload::setup(&mut src.conn().expect("connect"), &cfg).expect("workload tables");
    Workload::start(src.opts(), cfg).expect("start the workload").wait().expect("the workload ran");
    let want = checksums_of(&src);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    backup_from_host(&src, &target, &[], None).assert_backup_completed(&target, BackupKind::Full);
    assert_eq!(checksums_of(&src), want, "the source changed during an idle backup");

    let mut cmd = innohot!().command();
    cmd.args(["mysql57-log-group", "--target-dir"]).arg(&target);
    cmd.args(["--innodb-log-files-in-group", "2", "--innodb-log-file-size", "96M"]);
    Run::of(&mut cmd).assert_ok("innohot mysql57-log-group");
    let restored = ContainerBuilder::new()
        .image(&image)
        .option("--innodb-log-files-in-group=2")
        .option("--skip-log-bin")
        .start_on(&target)
        .expect("a MySQL 5.7 server starting on the backup with the written log group");
    let recovered = server_lsn(&restored);
    let to_lsn = checkpoints_value(&target, "to_lsn");
    assert!(recovered >= to_lsn, "the server's recovery stopped at LSN {recovered}, before to_lsn {to_lsn}");
    roundtrip::assert_same_checksums(&want, &checksums_of(&restored), "the recovered backup");
    {
        use mysql::prelude::Queryable;
        restored.conn().unwrap().query_drop("SET GLOBAL innodb_fast_shutdown = 0").unwrap();
    }
    restored.stop().expect("a clean shutdown after recovery");
}
