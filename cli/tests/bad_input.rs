//! The bad-input matrix (issue 10), end to end through the `innohot` binary:
//! each case asserts the message (cause and fix), the exit code, that nothing
//! of the user's was removed or changed, and (where a server is involved)
//! that the server is not left locked. Also: SIGTERM during a backup, and
//! the password never appearing anywhere.

use innohot_testbeds::{binaries_or_skip, innohot, skip, tree, Binaries, LocalServer, Run, ServerBuilder};
use mysql::prelude::Queryable;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` to its end.
fn run(mut cmd: impl std::borrow::BorrowMut<Command>) -> Run {
    Run::of(cmd.borrow_mut())
}

fn backup_cmd(server: Option<&LocalServer>, target: &Path, extra: &[&str]) -> Command {
    let mut c = innohot!().command();
    c.arg("backup").arg(format!("--target-dir={}", target.display()));
    if let Some(s) = server {
        c.arg(format!("--socket={}", s.socket().display())).arg("--user=root");
    }
    c.args(extra);
    c
}

/// Exit 1 or 2 as given, one `innohot` line with every expected fragment, no
/// success, and no Rust error wrapper or Debug text.
fn assert_refused(r: &Run, code: i32, says: &[&str]) {
    r.assert_refused(code, says);
    for leak in ["MySqlError", "DriverError", "IoError", "os error 17"] {
        assert!(!r.stderr.contains(leak), "a Rust error wrapper leaked ({leak}):\n{}", r.stderr);
    }
    assert_no_debug_text(r);
}

/// No Rust Debug formatting (`Some(`, `Err(`, `{ field: ..}`) in what a command printed.
fn assert_no_debug_text(r: &Run) {
    for text in [&r.stderr, &r.stdout] {
        if let Some(found) = innohot_testbeds::tree::rust_debug_text(text) {
            panic!("Rust Debug text ({found:?}) in the output:\n{text}");
        }
    }
}

/// A write on a fresh connection goes through at once: no lock was left behind.
fn assert_not_locked(server: &LocalServer) {
    let mut conn = server.conn().expect("connect");
    conn.query_drop("CREATE DATABASE IF NOT EXISTS unlocked").unwrap();
    conn.query_drop("CREATE TABLE IF NOT EXISTS unlocked.t (id INT PRIMARY KEY AUTO_INCREMENT) ENGINE=InnoDB").unwrap();
    conn.query_drop("SET SESSION lock_wait_timeout=5").unwrap();
    let t = Instant::now();
    conn.query_drop("INSERT INTO unlocked.t VALUES ()").expect("a write must go through: the server is locked");
    conn.query_drop("FLUSH TABLES").expect("FLUSH TABLES must not wait on a backup lock");
    assert!(t.elapsed() < Duration::from_secs(4), "the write waited {:?}", t.elapsed());
}

fn server(b: &Binaries) -> LocalServer {
    ServerBuilder::new(b.clone()).innodb_log_file_size("16M").start().expect("start a server")
}

/// An unknown option exits 1 as innohot, and with my_getopt's codes when innohot
/// runs as `mariabackup` (a drop-in: mariabackup's test suite checks them): 7 for
/// `--name=value` (on the command line or in an option file), 2 for a bare `--name`.
/// Other bad input stays 1 under either name; the message is the same.
#[test]
fn unknown_options_exit_with_mariabackups_codes_when_run_as_mariabackup() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let drop_in = dir.path().join("mariabackup");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_innohot"), &drop_in).unwrap();
    let cnf = dir.path().join("my.cnf");
    std::fs::write(&cnf, "[mariabackup]\nunknown-option=XXX\n").unwrap();
    let target_arg = format!("--target-dir={}", target.display());
    let cnf_arg = format!("--defaults-file={}", cnf.display());
    for (args, as_mariabackup) in [
        (vec!["--backup", "--unknown-option=xxx", &target_arg], 7),
        (vec!["--backup", "--unknown-option", &target_arg], 2),
        (vec!["--backup", &cnf_arg, &target_arg], 7),
        (vec!["--backup", "--parallel=0", &target_arg], 1),
    ] {
        let r = run(Command::new(&drop_in).args(&args));
        assert_eq!(r.code, Some(as_mariabackup), "as mariabackup {args:?}:\n{}", r.stderr);
        assert!(r.stderr.contains("unknown option") || r.stderr.contains("--parallel=0"), "{}", r.stderr);
        let r = run(innohot!().command().args(&args));
        assert_eq!(r.code, Some(1), "as innohot {args:?}:\n{}", r.stderr);
    }
    // A value mariabackup's option parser refuses: its EXIT_ARGUMENT_INVALID (13) as mariabackup.
    let bad_value = dir.path().join("bad-value.cnf");
    std::fs::write(
        &bad_value,
        "[mariadbd]\ninnodb-flush-method=O_DIRECT\n[mariabackup]\ninnodb-flush-method=blablabla\n",
    )
    .unwrap();
    let bad_value_arg = format!("--defaults-file={}", bad_value.display());
    for (args, as_mariabackup, says) in [
        (vec!["--backup", &bad_value_arg, &target_arg], 13, "innodb-flush-method=blablabla: give one of"),
        (vec!["--decompress", &target_arg], 1, "does not decompress"),
    ] {
        let r = run(Command::new(&drop_in).args(&args));
        assert_eq!(r.code, Some(as_mariabackup), "as mariabackup {args:?}:\n{}", r.stderr);
        assert!(r.stderr.contains(says), "{}", r.stderr);
        assert_eq!(run(innohot!().command().args(&args)).code, Some(1), "as innohot {args:?}");
    }
    let r = run(Command::new(&drop_in).arg("-?"));
    assert_eq!(r.code, Some(0), "-? is --help:\n{}", r.stderr);
    assert!(!target.exists());
}

#[test]
fn option_problems_exit_2_and_name_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    // Missing defaults file.
    let r = run(backup_cmd(None, &target, &["--defaults-file=/nonexistent/my.cnf"]).arg("--socket=/x"));
    assert_refused(&r, 1, &["cannot read the option file /nonexistent/my.cnf: no such file"]);
    // Unreadable: a directory given as the file.
    let r = run(backup_cmd(None, &target, &[&format!("--defaults-file={}", dir.path().display())]));
    assert_refused(&r, 1, &["cannot read the option file", "directory"]);
    // Unreadable: a file its user may not read (innohot run as nobody, when setpriv can).
    let secret = dir.path().join("secret.cnf");
    std::fs::write(&secret, "[client]\nuser=root\n").unwrap();
    let _ = Command::new("chmod").arg("0600").arg(&secret).status();
    let _ = Command::new("chmod").arg("0755").arg(dir.path()).status();
    let r = run(Command::new("setpriv").args(["--reuid=65534", "--regid=65534", "--clear-groups"]).args([
        env!("CARGO_BIN_EXE_innohot"),
        "backup",
        &format!("--defaults-file={}", secret.display()),
        &format!("--target-dir={}", target.display()),
    ]));
    if r.code == Some(127) || r.stderr.contains("setpriv:") {
        skip::skip(format!("the unreadable option file case: setpriv cannot switch users here: {}", r.stderr.trim()));
    } else {
        assert_refused(&r, 1, &["cannot read the option file", "secret.cnf", "permission denied"]);
    }
    // Unknown option in it: named with file, line, group and the loose- fix.
    let cnf = dir.path().join("my.cnf");
    std::fs::write(&cnf, "[client]\nuser=root\n[mariabackup]\nfrobnicate=yes\n").unwrap();
    let r = run(backup_cmd(None, &target, &[&format!("--defaults-file={}", cnf.display())]));
    assert_refused(&r, 1, &["my.cnf, line 4 ([mariabackup]): unknown option frobnicate", "loose-frobnicate"]);
    // Unknown option on the command line; lanes and ranges out of bounds.
    let r = run(backup_cmd(None, &target, &["--frobnicate"]));
    assert_refused(&r, 1, &["unknown option --frobnicate", "innohot backup --help"]);
    // Compression: zstd only, and only of a stream.
    let r = run(backup_cmd(None, &target, &["--compress"]));
    assert_refused(&r, 1, &["--compress: innohot compresses with zstd only", "--compress=zstd"]);
    let r = run(backup_cmd(None, &target, &["--compress=zstd"]));
    assert_refused(&r, 1, &["--compress=zstd compresses a stream", "--stream=xbstream"]);
    let r = run(backup_cmd(None, &target, &["--stream=xbstream", "--compress=zstd", "--compress-zstd-level=30"]));
    assert_refused(&r, 1, &["--compress-zstd-level=30", "1 (fastest) to 19"]);
    let r = run(backup_cmd(None, &target, &["--parallel=0"]));
    assert_refused(&r, 1, &["--parallel=0", "give 1 to 64 copy lanes"]);
    let r = run(backup_cmd(None, &target, &["--range-size=4096"]));
    assert_refused(&r, 1, &["--range-size must be at least 1048576"]);
    let r = run(backup_cmd(None, &target, &["--throttle=lots"]));
    assert_refused(&r, 1, &["--throttle"]);
    // Streams: xbstream only, and stdout is the stream's, not --json's.
    let r = run(backup_cmd(None, &target, &["--stream=tar"]));
    assert_refused(&r, 1, &["--stream=tar", "xbstream only", "mbstream -x"]);
    let r = run(backup_cmd(None, &target, &["--stream=xbstream", "--json"]));
    assert_refused(&r, 1, &["--json prints to stdout", "--stream=xbstream"]);
    // No target.
    let r = run(innohot!().command().args(["--backup", "--socket=/x"]));
    assert_refused(&r, 1, &["--target-dir is required"]);
    assert!(!target.exists(), "nothing may be created for a refused command line");
    // Help is help.
    let r = run(innohot!().command().args(["backup", "--help"]));
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.contains("--target-dir") && r.stdout.contains("--defaults-file"), "{}", r.stdout);
    // An option innohot cannot honour says how to get the effect.
    let r = run(innohot!().command().args(["--prepare", "--rollback-xa", "--target-dir=/nonexistent-backup"]));
    assert_refused(&r, 1, &["--rollback-xa", "XA RECOVER", "XA ROLLBACK"]);
    // The xtrabackup spelling runs innohot's own prepare and copy-back: no backup there.
    let r = run(innohot!().command().args(["--prepare", "--target-dir=/nonexistent-backup"]));
    assert_refused(&r, 1, &["innohot prepare", "/nonexistent-backup is not a directory"]);
    let r = run(innohot!().command().args(["--copy-back", "--target-dir=/nonexistent-backup", "--datadir=/d"]));
    assert_refused(&r, 1, &["innohot copy-back", "/nonexistent-backup is not a directory"]);
    let r = run(innohot!().command().args(["prepare"]));
    assert_refused(&r, 1, &["innohot prepare", "--target-dir <DIR> is missing"]);
}

/// The test-only options (the engine's `TestHooks`) are usage errors naming
/// `INNOHOT_TEST_HOOKS` unless that variable is 1, on the command line and in
/// an option file alike, and `--help` does not list them. With it, as the
/// test suites run innohot, they are taken (here the backup then fails for
/// want of a server, not for the option).
#[test]
fn test_hooks_are_refused_without_their_environment_variable() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let cnf = dir.path().join("my.cnf");
    std::fs::write(&cnf, "[mariabackup]\ndebug-skip-tablespace=d/t1\n").unwrap();
    let from_file = format!("--defaults-file={}", cnf.display());
    for (option, name) in [
        ("--debug-pause-before-lock-ms=10", "debug-pause-before-lock-ms"),
        ("--debug-skip-tablespace=d/t1", "debug-skip-tablespace"),
        (from_file.as_str(), "debug-skip-tablespace"),
    ] {
        let mut cmd = backup_cmd(None, &target, &[option, "--socket=/nonexistent/mysqld.sock"]);
        let r = run(cmd.env_remove(innohot_testbeds::cli::TEST_HOOKS_VAR));
        assert_refused(&r, 1, &[name, "is a test hook", "INNOHOT_TEST_HOOKS=1"]);
        let r = run(cmd.env(innohot_testbeds::cli::TEST_HOOKS_VAR, "yes"));
        assert_refused(&r, 1, &[name, "INNOHOT_TEST_HOOKS=1"]);
        assert!(!target.exists(), "nothing may be created for a refused command line");
        let r = run(backup_cmd(None, &dir.path().join("hooked"), &[option, "--socket=/nonexistent/mysqld.sock"]));
        assert!(r.code != Some(0) && !r.stderr.contains("test hook"), "with the variable set: {}", r.stderr);
    }
    let r = run(innohot!().command().args(["backup", "--help"]));
    assert_eq!(r.code, Some(0));
    assert!(!r.stdout.contains("debug-"), "--help lists a test-only option:\n{}", r.stdout);
}

/// A missing required argument is a usage error (exit 1) that names it, for every
/// command that takes a backup directory or a destination.
#[test]
fn usage_errors_name_the_missing_argument() {
    let dir = tempfile::tempdir().unwrap();
    let backup = format!("--target-dir={}", dir.path().display());
    let cases: [(&[&str], &[&str]); 8] = [
        (&["prepare"], &["innohot prepare:", "--target-dir <DIR> is missing"]),
        (&["prepare", "--json"], &["innohot prepare:", "--target-dir <DIR> is missing"]),
        (&["verify"], &["innohot verify:", "--target-dir <DIR> is missing"]),
        (&["--prepare"], &["innohot prepare:", "--target-dir <DIR> is missing"]),
        (&["copy-back", &backup], &["innohot copy-back:", "--datadir is missing", "--datadir=DIR"]),
        (&["move-back", &backup], &["innohot move-back:", "--datadir is missing", "--datadir=DIR"]),
        (&["--copy-back", &backup], &["innohot copy-back:", "--datadir is missing"]),
        (&["copy-back", "--datadir=/nowhere"], &["innohot copy-back:", "--target-dir <DIR> is missing"]),
    ];
    for (args, says) in cases {
        let r = run(innohot!().command().args(args));
        assert_refused(&r, 1, says);
    }
    // An option file that names no datadir: said so, exit 1.
    let cnf = dir.path().join("my.cnf");
    std::fs::write(&cnf, "[mysqld]\nport=3306\n").unwrap();
    let r = run(innohot!().command().args(["copy-back", &backup, &format!("--defaults-file={}", cnf.display())]));
    assert_refused(&r, 1, &["--datadir is missing", "my.cnf names no datadir"]);
}

#[test]
fn targets_that_cannot_hold_a_backup_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "keep me").unwrap();
    let r = run(backup_cmd(None, &file, &["--socket=/nonexistent.sock"]));
    assert_refused(&r, 1, &["is a file, not a directory", "new or empty directory"]);
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("old.ibd"), "old backup").unwrap();
    let before = tree::file_contents(&full);
    let r = run(backup_cmd(None, &full, &["--socket=/nonexistent.sock"]));
    assert_refused(&r, 1, &["is not empty (it holds old.ibd)", "new or empty directory"]);
    assert_eq!(tree::file_contents(&full), before);
    assert!(!full.join("innohot_backup_failed").exists(), "a refused target is not marked");
}

#[test]
fn unsupported_servers_are_named_with_what_to_use() {
    let Some(b) = binaries_or_skip() else { return };
    // A MariaDB 10.11 server started with --version=... reports another
    // server's version: the backup must stop at detection (or, for a "5.7"
    // that lacks 5.7's redo variables, at the variables) before anything is
    // copied, exit 1, naming the version and what to use instead.
    for (version, says) in [
        ("8.0.36", &["MySQL 8.0.36", "Percona XtraBackup 8.0"][..]),
        ("10.6.16-MariaDB", &["MariaDB 10.6.16-MariaDB", "mariabackup of the same version"][..]),
        ("11.4.2-MariaDB", &["MariaDB 11.4.2-MariaDB", "tested against 10.11"][..]),
        ("5.7.44-log", &["SHOW VARIABLES", "innodb_log_files_in_group is missing"][..]),
    ] {
        let src = ServerBuilder::new(b.clone())
            .option(format!("--version={version}"))
            .start()
            .unwrap_or_else(|e| panic!("start a server reporting {version}: {e}"));
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("backup");
        let r = run(backup_cmd(Some(&src), &target, &[]));
        assert_refused(&r, 1, says);
        assert!(!target.join("xtrabackup_checkpoints").exists(), "{version}: a refused backup looks complete");
        assert!(!r.stderr.contains("completed OK!"), "{version}: {}", r.stderr);
        assert_not_locked(&src);
    }
}

/// "Last checkpoint at" of `SHOW ENGINE INNODB STATUS`.
fn last_checkpoint(conn: &mut mysql::Conn) -> u64 {
    let (_, _, status): (String, String, String) = conn.query_first("SHOW ENGINE INNODB STATUS").unwrap().unwrap();
    let line = status.lines().find_map(|l| l.trim().strip_prefix("Last checkpoint at")).expect("a checkpoint line");
    line.trim().parse().unwrap()
}

#[test]
fn real_server_bad_inputs() {
    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");

    // Wrong password: the server was reached and refused the login.
    let mut conn = src.conn().unwrap();
    conn.query_drop("CREATE USER 'bk'@'localhost' IDENTIFIED BY 'right-pw'").unwrap();
    conn.query_drop("GRANT ALL ON *.* TO 'bk'@'localhost'").unwrap();
    let r = run(innohot!().command().args([
        "backup",
        &format!("--target-dir={}", target.display()),
        &format!("--socket={}", src.socket().display()),
        "--user=bk",
        "--password=wrong-pw",
    ]));
    assert_refused(&r, 1, &["access denied for user 'bk' at socket", "Check the password"]);
    assert!(!r.stderr.contains("wrong-pw") && !r.stderr.contains("right-pw"), "{}", r.stderr);
    assert!(!target.exists(), "a refused login creates no target");

    // Wrong socket path: nothing listens there.
    let nowhere = dir.path().join("no.sock");
    let r = run(innohot!().command().args([
        "backup",
        &format!("--target-dir={}", target.display()),
        &format!("--socket={}", nowhere.display()),
        "--user=root",
    ]));
    assert_refused(&r, 1, &[&format!("nothing listens at socket {}", nowhere.display()), "--socket=PATH"]);
    assert!(!target.exists());

    // A TCP port where nothing listens.
    let r = run(innohot!().command().args([
        "backup",
        &format!("--target-dir={}", target.display()),
        "--host=127.0.0.1",
        "--port=1",
        "--user=root",
    ]));
    assert_refused(&r, 1, &["nothing listens at 127.0.0.1:1", "--host=H --port=P"]);

    // Target inside the datadir: refused before anything is created there.
    let before = tree::regular_files(src.datadir());
    let inside = src.datadir().join("backup-here");
    let r = run(backup_cmd(Some(&src), &inside, &[]));
    assert_refused(&r, 1, &["inside the server's datadir", "outside"]);
    assert!(!inside.exists(), "nothing may be created in the datadir");
    assert_eq!(tree::regular_files(src.datadir()).len(), before.len());

    // Target exists and is not empty: the user's file stays as it was.
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "mine").unwrap();
    let r = run(backup_cmd(Some(&src), &target, &[]));
    assert_refused(&r, 1, &["is not empty (it holds notes.txt)"]);
    assert_eq!(std::fs::read(target.join("notes.txt")).unwrap(), b"mine");

    // A user without the privileges a backup needs: refused before anything is copied, in
    // mariabackup's words, the target left empty (as mariabackup leaves it).
    conn.query_drop("CREATE USER 'weak'@'localhost' IDENTIFIED BY 'weak-pw'").unwrap();
    conn.query_drop("GRANT SELECT ON *.* TO 'weak'@'localhost'").unwrap();
    let weak = dir.path().join("weak");
    let r = run(innohot!()
        .command()
        .args(["backup", &format!("--target-dir={}", weak.display()), &format!("--socket={}", src.socket().display())])
        .args(["--user=weak", "--password=weak-pw"]));
    assert_refused(&r, 1, &["missing required privilege RELOAD on *.*", "GRANT RELOAD", "GRANT SELECT ON *.*"]);
    assert!(!r.stderr.contains("weak-pw"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&weak).unwrap().count(), 0, "nothing copied, no marker: the target is empty");
    assert_not_locked(&src);

    // --datadir naming another directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    let r = run(backup_cmd(Some(&src), &fresh, &[&format!("--datadir={}", elsewhere.path().display())]));
    assert_refused(&r, 1, &["is not the datadir of this server", "Point --datadir at"]);
    assert_not_locked(&src);
    // --datadir naming a stale copy of this server's own files: the same space
    // ids, but a checkpoint older than the one the server has written since.
    let stale = dir.path().join("stale-copy");
    std::fs::create_dir(&stale).unwrap();
    for f in ["ibdata1", "ib_logfile0"] {
        std::fs::copy(src.datadir().join(f), stale.join(f)).unwrap();
    }
    let copied = last_checkpoint(&mut conn);
    conn.query_drop("CREATE DATABASE advance_ckpt").unwrap();
    conn.query_drop("CREATE TABLE advance_ckpt.t (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while last_checkpoint(&mut conn) <= copied {
        assert!(Instant::now() < deadline, "the server wrote no checkpoint past {copied} in 60 s");
        conn.query_drop(
            "INSERT INTO advance_ckpt.t VALUES (1, REPEAT('x', 4000)) ON DUPLICATE KEY UPDATE v = REVERSE(v)",
        )
        .unwrap();
        innohot_testbeds::roundtrip::flush_dirty_pages(&mut conn, Duration::from_secs(30)).unwrap();
    }
    let fresh = dir.path().join("fresh-stale");
    let r = run(backup_cmd(Some(&src), &fresh, &[&format!("--datadir={}", stale.display())]));
    assert_refused(&r, 1, &["is not the datadir of this server", "is behind the checkpoint the server reports"]);
    assert_not_locked(&src);

    // The xtrabackup spelling, with the options in a defaults file, completes.
    let cnf = dir.path().join("backup.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\nuser=bk\npassword=right-pw\ndefault-character-set=utf8mb4\n[mysqld]\nsocket={}\n\
             innodb_buffer_pool_size=64M\n[mariabackup]\nloose-compress-threads=2\n",
            src.socket().display()
        ),
    )
    .unwrap();
    let ok = dir.path().join("ok");
    let r = run(innohot!().command().args([
        "--backup",
        &format!("--defaults-file={}", cnf.display()),
        &format!("--target_dir={}", ok.display()),
        "--parallel=4",
        "--json",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.trim_end().ends_with("completed OK!"), "{}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("--json prints one JSON object");
    assert_eq!(summary["result"], "completed");
    assert!(summary["last_lsn"].as_u64().unwrap() >= summary["to_lsn"].as_u64().unwrap());
    assert!(summary["data_bytes"].as_u64().unwrap() > 0 && summary["binlog"]["file"].is_string(), "{summary}");
    assert!(ok.join("xtrabackup_checkpoints").exists());
    // ... and verify finds every page of the real MariaDB backup valid.
    let v = run(innohot!().command().args(["verify", &format!("--target-dir={}", ok.display())]));
    assert_eq!(v.code, Some(0), "{}{}", v.stdout, v.stderr);
    assert!(v.stdout.contains(": OK:") && v.stdout.contains("mini-transactions"), "{}", v.stdout);
    // A flipped byte in the last mini-transaction of the redo copy, then a truncated copy.
    let log = ok.join("ib_logfile0");
    let redo = std::fs::read(&log).unwrap();
    let first_lsn = u64::from_be_bytes(redo[8..16].try_into().unwrap());
    let last_lsn = summary["last_lsn"].as_u64().unwrap();
    let mut bad = redo.clone();
    bad[(12288 + last_lsn - first_lsn - 2) as usize] ^= 0x40;
    std::fs::write(&log, &bad).unwrap();
    let v = run(innohot!().command().args(["verify", &format!("--target-dir={}", ok.display())]));
    assert_eq!(v.code, Some(1), "{}", v.stdout);
    assert!(v.stdout.contains("ib_logfile0: the redo copy is broken at LSN"), "{}", v.stdout);
    std::fs::write(&log, &redo[..12288 + 100]).unwrap();
    let v = run(innohot!().command().args(["verify", &format!("--target-dir={}", ok.display())]));
    assert_eq!(v.code, Some(1), "{}", v.stdout);
    assert!(v.stdout.contains("the redo copy is truncated"), "{}", v.stdout);
    std::fs::write(&log, &redo).unwrap();

    // --quiet: nothing on stderr, the JSON on stdout.
    let quiet = dir.path().join("quiet");
    let r = run(backup_cmd(Some(&src), &quiet, &["--quiet", "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.is_empty(), "--quiet printed: {}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("--json");
    assert_eq!(summary["result"], "completed");

    // The server is down.
    let mut src = src;
    src.stop().expect("stop the server");
    let down = dir.path().join("down");
    let r = run(backup_cmd(Some(&src), &down, &["--json"]));
    assert_refused(&r, 1, &["nothing listens at socket", "Start the server"]);
    let summary: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("--json on failure too");
    assert_eq!(summary["result"], "failed");
    assert!(summary["error"].as_str().unwrap().contains("nothing listens"), "{summary}");
    assert!(!down.exists());
}

/// SIGTERM while the backup runs: exit 1, the lock released at once, the
/// target marked failed with the reason, no checkpoints file; a second run
/// into it is refused naming the reason and the fix.
#[test]
fn sigterm_stops_the_backup_cleanly() {
    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let mut cmd = backup_cmd(Some(&src), &target, &["--debug-pause-before-lock-ms=60000", "--json"]);
    let mut killed = Instant::now();
    let r = Run::pausing(cmd.stdout(Stdio::piped()), |pid| {
        killed = Instant::now();
        unsafe_free_kill(pid, "TERM");
    });
    assert!(killed.elapsed() < Duration::from_secs(10), "the backup took {:?} to stop", killed.elapsed());
    let (log, stdout) = (&r.stderr, &r.stdout);
    assert_eq!(r.code, Some(1), "{log}");
    assert!(log.contains("interrupted by SIGTERM") && log.contains("run the backup again"), "{log}");
    assert!(!log.contains("completed OK!"), "{log}");
    let marker = std::fs::read_to_string(target.join("innohot_backup_failed")).expect("the failure marker");
    assert!(marker.starts_with("interrupted by SIGTERM"), "{marker}");
    assert!(!target.join("xtrabackup_checkpoints").exists() && !target.join("xtrabackup_checkpoints.pending").exists());
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("--json");
    assert_eq!(summary["result"], "interrupted");
    assert_not_locked(&src);
    // A second run into the failed target.
    let r = run(backup_cmd(Some(&src), &target, &[]));
    assert_refused(&r, 1, &["holds a backup that failed (interrupted by SIGTERM", "rm -r"]);
    assert!(target.join("innohot_backup_failed").exists());
}

/// `kill -SIG PID` through the kill(1) command (no unsafe in tests).
fn unsafe_free_kill(pid: u32, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap().success();
    assert!(ok, "kill -{sig} {pid}");
}

/// The password appears in no file of the backup, no log line, not in --json
/// and not in /proc/PID/cmdline of the running backup.
#[test]
fn the_password_is_nowhere() {
    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    const PW: &str = "Pw-7f3a91c2e-very-secret";
    let mut conn = src.conn().unwrap();
    conn.query_drop(format!("CREATE USER 'bk'@'localhost' IDENTIFIED BY '{PW}'")).unwrap();
    conn.query_drop("GRANT ALL ON *.* TO 'bk'@'localhost'").unwrap();
    conn.query_drop("CREATE DATABASE s").unwrap();
    conn.query_drop("CREATE TABLE s.t (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB").unwrap();
    conn.query_drop("INSERT INTO s.t VALUES (1, 'x')").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let mut cmd = innohot!().command();
    cmd.args([
        "--backup".to_string(),
        format!("--target-dir={}", target.display()),
        format!("--socket={}", src.socket().display()),
        "--user=bk".to_string(),
        format!("--password={PW}"),
        "--json".to_string(),
        "--debug-pause-before-lock-ms=1500".to_string(),
    ]);
    let r = Run::pausing(cmd.stdout(Stdio::piped()), |pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("/proc/PID/cmdline");
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(cmdline.contains("--password="), "the option stays visible, its value not: {cmdline}");
        assert!(!cmdline.contains(PW), "the password is in the process list: {cmdline}");
    });
    let (log, stdout) = (&r.stderr, &r.stdout);
    assert!(r.ok(), "{log}");
    assert!(!log.contains(PW), "the password is in the log");
    assert!(!stdout.contains(PW), "the password is in --json");
    let files = tree::file_contents(&target);
    assert!(files.len() > 5, "the backup wrote files: {files:?}");
    for (path, bytes) in &files {
        let hit = bytes.windows(PW.len()).any(|w| w == PW.as_bytes());
        assert!(!hit, "the password is in {}", path.display());
    }
    let info = std::fs::read_to_string(target.join("xtrabackup_info")).unwrap();
    assert!(info.contains("--password=xxxxxxxx"), "tool_command is masked: {info}");
}

/// A tmpfs mounted for one test, unmounted on drop (also when the test fails).
struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs with `options` at `at` (created); None, saying why, without root.
    fn tmpfs(at: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(at).output().ok()?;
        if !out.status.success() {
            skip::skip(format!(
                "part of this test: cannot mount a tmpfs here (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        Some(Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Where the backup's own writes fail (a full or a read-only filesystem), where
/// the datadir cannot be read, and where the redo log is encrypted: exit 1, one
/// sentence naming the file and the fix, never `completed OK!`, never a
/// checkpoints file, and the server not locked.
#[test]
fn target_filesystem_full_or_read_only_unreadable_datadir_and_encrypted_redo() {
    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    let mut conn = src.conn().unwrap();
    conn.query_drop("CREATE DATABASE d").unwrap();
    conn.query_drop("CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB").unwrap();
    conn.query_drop("USE d").unwrap(); // seq_1_to_N needs a current database
    conn.query_drop("INSERT INTO d.t SELECT seq, REPEAT('x', 200) FROM seq_1_to_5000").unwrap();
    let dir = tempfile::tempdir().unwrap();

    if let Some(_full) = Mount::tmpfs(&dir.path().join("full"), "size=512k") {
        let target = dir.path().join("full/backup");
        let r = run(backup_cmd(Some(&src), &target, &[]));
        assert_refused(&r, 1, &["No space left on device", "free space"]);
        assert!(!target.join("xtrabackup_checkpoints").exists());
        assert_not_locked(&src);
    }
    if let Some(_ro) = Mount::tmpfs(&dir.path().join("ro"), "ro,size=1m") {
        let target = dir.path().join("ro/backup");
        let r = run(backup_cmd(Some(&src), &target, &[]));
        assert_refused(&r, 1, &["Read-only file system", &target.display().to_string()]);
        assert!(!target.exists());
        assert_not_locked(&src);
    }

    // innohot run as an unprivileged user cannot read the server's files.
    let nobody_target = dir.path().join("nobody");
    std::fs::create_dir(&nobody_target).unwrap();
    let _ = Command::new("chmod").args(["0777"]).arg(&nobody_target).status();
    let _ = Command::new("chmod").args(["0755"]).arg(dir.path()).status();
    let datadir_mode = Command::new("stat").args(["-c", "%a"]).arg(src.datadir()).output().unwrap();
    let datadir_mode = String::from_utf8_lossy(&datadir_mode.stdout).trim().to_string();
    let _ = Command::new("chmod").args(["0700"]).arg(src.datadir()).status();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_innohot")]);
    cmd.arg("backup").arg(format!("--target-dir={}", nobody_target.join("b").display()));
    cmd.arg(format!("--socket={}", src.socket().display())).arg("--user=root");
    let r = run(cmd);
    let _ = Command::new("chmod").arg(&datadir_mode).arg(src.datadir()).status();
    if r.stderr.contains("setpriv") || r.code == Some(127) {
        skip::skip(format!("the unreadable-datadir case: setpriv cannot switch users here: {}", r.stderr.trim()));
    } else {
        assert_refused(
            &r,
            1,
            &["Permission denied", &src.datadir().display().to_string(), "run as a user that can read the datadir"],
        );
        assert!(!nobody_target.join("b/xtrabackup_checkpoints").exists());
        assert_not_locked(&src);
    }
    drop(conn);
    drop(src);

    // An encrypted redo log (innodb_encrypt_log=ON) is refused by name.
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "1;000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n").unwrap();
    let enc = ServerBuilder::new(b.clone())
        .innodb_log_file_size("16M")
        .option("--plugin-load-add=file_key_management")
        .option(format!("--file-key-management-filename={}", keys.display()))
        .option("--innodb-encrypt-log=ON")
        .start()
        .expect("start a server with an encrypted redo log");
    let target = dir.path().join("enc");
    let r = run(backup_cmd(Some(&enc), &target, &[]));
    assert_refused(&r, 1, &["encrypted", "innodb_encrypt_log", "mariabackup"]);
    assert!(!target.join("xtrabackup_checkpoints").exists());
    assert_not_locked(&enc);
}

/// A backup of `src` paused 4 s before its lock (every data file copied),
/// `meanwhile` run during the pause.
fn paused_backup(src: &LocalServer, target: &Path, meanwhile: impl FnOnce()) -> Run {
    innohot!().backup_pausing(src, target, 4000, &[], meanwhile)
}

/// The server shut down while the backup ran: the backup fails saying the server
/// went away (connection lost), never that it "refused" a statement.
#[test]
fn a_server_shut_down_mid_backup_is_said_to_have_gone_away() {
    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let r = paused_backup(&src, &target, || {
        let _ = src.conn().unwrap().query_drop("SHUTDOWN");
    });
    assert_refused(&r, 1, &["the server went away (connection lost) while running `"]);
    assert!(!r.stderr.contains("refused"), "{}", r.stderr);
    eprintln!("{}", r.stderr.lines().find(|l| l.contains("went away")).unwrap_or_default());
    assert!(target.join("innohot_backup_failed").exists() && !target.join("xtrabackup_checkpoints").exists());
}

/// A source file vanishing during the backup: a table the server DROPs after its
/// copy leaves the backup (which completes and verifies); a file removed behind
/// the server's back fails the backup naming the file, the cause and the fix.
/// Then copy-back into the running server's datadir and into a non-empty one.
#[test]
fn vanishing_source_files_and_copy_back_onto_a_running_server() {
    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    let mut conn = src.conn().unwrap();
    conn.query_drop("CREATE DATABASE d").unwrap();
    for t in ["keep", "dropme", "removed"] {
        conn.query_drop(format!("CREATE TABLE d.{t} (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB")).unwrap();
        conn.query_drop(format!("INSERT INTO d.{t} VALUES (1, 'one'), (2, 'two')")).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();

    // DROP TABLE by the server after the table was copied, before the lock.
    let target = dir.path().join("dropped");
    let dropped = paused_backup(&src, &target, || conn.query_drop("DROP TABLE d.dropme").unwrap());
    let log = &dropped.assert_completed("the backup of a table dropped during it").stderr;
    assert!(log.contains("d/dropme.ibd was dropped during the backup"), "{log}");
    assert!(!target.join("d/dropme.ibd").exists() && !target.join("d/dropme.frm").exists());
    assert!(target.join("d/keep.ibd").exists() && target.join("d/removed.ibd").exists());
    let v = run(innohot!().command().args(["verify", &format!("--target-dir={}", target.display())]));
    assert_eq!(v.code, Some(0), "{}", v.stdout);
    assert_not_locked(&src);

    // The file removed behind the server's back (the server still has the table).
    let gone = src.datadir().join("d/removed.ibd");
    let target2 = dir.path().join("removed");
    let removed = paused_backup(&src, &target2, || std::fs::remove_file(&gone).unwrap());
    let log = &removed.stderr;
    assert_eq!(removed.code, Some(1), "{log}");
    for says in [&gone.display().to_string(), "removed behind the server's back", "put the file back"] {
        assert!(log.contains(says), "the message must say {says:?}:\n{log}");
    }
    assert!(!log.contains("completed OK!"), "{log}");
    assert!(!target2.join("xtrabackup_checkpoints").exists());
    let marker = std::fs::read_to_string(target2.join("innohot_backup_failed")).expect("the failure marker");
    assert!(marker.contains("removed behind the server's back"), "{marker}");
    assert_not_locked(&src);

    // Copy-back of the good backup onto the running server's datadir: refused by
    // the lock the server holds, naming its pid; the datadir keeps every file.
    let r = run(innohot!().command().args(["prepare", &format!("--target-dir={}", target.display())]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let names = tree::regular_files;
    let before = names(src.datadir());
    let ibdata_before = std::fs::read(src.datadir().join("ibdata1")).unwrap().len();
    for cmd in ["--copy-back", "--move-back"] {
        let r = run(innohot!().command().args([
            cmd,
            &format!("--target-dir={}", target.display()),
            &format!("--datadir={}", src.datadir().display()),
        ]));
        let running = format!("is running on {}", src.datadir().display());
        assert_refused(&r, 1, &["a server (pid ", &running, "stop it first"]);
        if let Some(pid) = src.pid() {
            assert!(r.stderr.contains(&format!("(pid {pid})")), "{}", r.stderr);
        }
    }
    assert_eq!(names(src.datadir()), before, "copy-back touched the running server's datadir");
    assert_eq!(std::fs::read(src.datadir().join("ibdata1")).unwrap().len(), ibdata_before);
    assert!(target.join("d/keep.ibd").exists(), "a refused move-back moved nothing");
    assert_not_locked(&src);

    // Into a datadir that holds the user's files (no server on it).
    let other = dir.path().join("other-datadir");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("ibdata1"), "the user's data").unwrap();
    let before = tree::file_contents(&other);
    let r = run(innohot!().command().args([
        "--copy-back",
        &format!("--target-dir={}", target.display()),
        &format!("--datadir={}", other.display()),
    ]));
    assert_refused(&r, 1, &["the datadir is not empty", "restore only into a missing or empty directory"]);
    assert_eq!(tree::file_contents(&other), before);
}

/// A user without privileges (backup_grants of mariabackup's suite): with --no-lock the backup
/// completes (the LSNs come from SHOW GLOBAL STATUS, FLUSH ENGINE LOGS is waited out); with a
/// lock it is refused before anything is copied, in mariabackup's words, the target left empty,
/// and the grants shown without the password hash; --safe-slave-backup on a server that is no
/// replica only says so.
#[test]
fn an_unprivileged_user_is_told_what_is_missing_in_mariabackups_words() {
    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    let mut conn = src.conn().unwrap();
    conn.query_drop("CREATE USER 'weak'@'localhost' IDENTIFIED BY 'xyz'").unwrap();
    conn.query_drop("CREATE DATABASE s").unwrap();
    conn.query_drop("CREATE TABLE s.t (id INT PRIMARY KEY) ENGINE=InnoDB").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let as_weak = |extra: &[&str]| {
        let mut c = innohot!().command();
        c.arg("--backup").arg(format!("--target-dir={}", target.display()));
        c.arg(format!("--socket={}", src.socket().display())).args(["--user", "weak", "--password", "xyz"]);
        run(c.args(extra))
    };
    let r = as_weak(&["--no-lock"]);
    assert_refused(&r, 1, &["Error: missing required privilege BINLOG MONITOR on *.*", "SHOW MASTER STATUS"]);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "the target is left empty");
    conn.query_drop("GRANT BINLOG MONITOR ON *.* TO 'weak'@'localhost'").unwrap();
    let r = as_weak(&["--no-lock"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains("missing required privilege"), "{}", r.stderr);
    let info = std::fs::read_to_string(target.join("xtrabackup_info")).unwrap();
    assert!(!info.contains("xyz"), "{info}");
    std::fs::remove_dir_all(&target).unwrap();

    let r = as_weak(&[]);
    assert_refused(
        &r,
        1,
        &["Error: missing required privilege RELOAD on *.*", "GRANT BINLOG MONITOR ON *.* TO `weak`"],
    );
    assert!(r.stderr.contains("Warning: missing required privilege PROCESS"), "{}", r.stderr);
    assert!(!r.stderr.contains("IDENTIFIED") && !r.stderr.contains("xyz"), "{}", r.stderr);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "the target is left empty");
    assert_not_locked(&src);

    conn.query_drop("GRANT RELOAD, PROCESS ON *.* TO 'weak'@'localhost'").unwrap();
    let r = as_weak(&["--safe-slave-backup"]);
    assert_refused(&r, 1, &["missing required privilege REPLICATION SLAVE ADMIN", "privilege SLAVE MONITOR"]);
    conn.query_drop("GRANT REPLICATION SLAVE ADMIN, SLAVE MONITOR ON *.* TO 'weak'@'localhost'").unwrap();
    let r = as_weak(&["--safe-slave-backup"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("because host is not a slave"), "{}", r.stderr);
}

/// `--no-version-check` (xtrabackup's and mariabackup's; innohot never asks for a newer
/// version) is taken on the command line and in an option file alike: both read the option's
/// one declaration. In a file its value must still be a boolean.
#[test]
fn no_version_check_on_the_command_line_and_in_an_option_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backup");
    let cnf = dir.path().join("my.cnf");
    let defaults = format!("--defaults-file={}", cnf.display());
    let nowhere = format!("--socket={}", dir.path().join("no.sock").display());
    std::fs::write(&cnf, "[xtrabackup]\nno_version_check\n[mariabackup]\nloose-no-version-check=1\n").unwrap();
    // Without a server: taken either way, the backup goes on as far as connecting.
    for given in ["--no-version-check", defaults.as_str()] {
        let r = run(backup_cmd(None, &target, &[given, &nowhere]));
        assert_refused(&r, 1, &["nothing listens at socket", "no.sock"]);
        assert!(!r.stderr.contains("unknown option"), "{given}: {}", r.stderr);
    }
    std::fs::write(&cnf, "[client]\nuser=root\n[xtrabackup]\nno-version-check=maybe\n").unwrap();
    let r = run(backup_cmd(None, &target, &[&defaults, &nowhere]));
    assert_refused(&r, 1, &["my.cnf, line 4 ([xtrabackup]): 'maybe' is not a boolean"]);
    assert!(!target.exists());

    let Some(b) = binaries_or_skip() else { return };
    let src = server(&b);
    std::fs::write(&cnf, "[xtrabackup]\nno-version-check\n").unwrap();
    let r = run(backup_cmd(Some(&src), &target, &["--no-version-check", &defaults, "--throttle=0"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(target.join("xtrabackup_checkpoints").is_file());
}
