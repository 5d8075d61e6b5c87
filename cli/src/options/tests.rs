//! The option sources merged: command line, INNOHOT_PASSWORD, option files.

use super::*;
use innohot::copy::Pacing;
use innohot::server::mysql::SslMode;
use std::path::Path;

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

#[test]
fn command_line_beats_env_beats_defaults_file() {
    let file = "[mysqld]\nport=1\nuser=mysql\nsocket=/run/m.sock\n[client]\nuser = root\npassword=\"fromfile\"\nport=3307\n[innohot]\nchunk-size=1048576\n";
    let read = |_: &PathBuf| Ok(file.to_string());
    let a = parse_backup_args(&args(&["--defaults-file=/x.cnf", "--target-dir", "/b", "--port=3308"]), None, &read)
        .unwrap();
    assert_eq!(a.connect.user.as_deref(), Some("root"), "[mysqld] user= is the OS account, never the SQL user");
    assert_eq!(a.connect.socket.as_deref(), Some(std::path::Path::new("/run/m.sock")));
    assert_eq!(a.connect.password.as_deref(), Some("fromfile"));
    assert_eq!(a.connect.port, Some(3308));
    assert_eq!(a.options.copy.chunk_size, 1 << 20);
    let a =
        parse_backup_args(&args(&["--defaults-file", "/x.cnf", "--target-dir=/b"]), Some("env".into()), &read).unwrap();
    assert_eq!(a.connect.password.as_deref(), Some("env"));
    let a = parse_backup_args(&args(&["--target-dir=/b", "--password=cli"]), Some("env".into()), &read).unwrap();
    assert_eq!(a.connect.password.as_deref(), Some("cli"));
}

#[test]
fn bad_input_is_named() {
    let read = |_: &PathBuf| Err(crate::optfile::OptionFileError::NotFound);
    let e = |a: &[&str]| parse_backup_args(&args(a), None, &read).unwrap_err();
    assert!(e(&["--socket=/s"]).contains("--target-dir is required"));
    assert!(e(&["--target-dir=/b", "--bogus=1"]).contains("unknown option --bogus"));
    assert!(e(&["--target-dir=/b", "--chunk-size=big"]).contains("--chunk-size needs a number"));
    assert!(e(&["--target-dir=/b", "--password"]).contains("INNOHOT_PASSWORD"));
    // A password given the wrong way is refused without being repeated.
    for wrong in [&["--target-dir=/b", "-p", "s3cret"][..], &["-p", "s3cret", "--target-dir=/b"]] {
        let msg = e(wrong);
        assert!(!msg.contains("s3cret"), "the password leaked into: {msg}");
        assert!(msg.contains("--password=") || msg.contains("INNOHOT_PASSWORD"), "{msg}");
    }
    assert!(e(&["--defaults-file=/nope", "--target-dir=/b"]).contains("no such file"));
}

#[test]
fn mariabackup_server_options_of_a_backup() {
    let read = |_: &PathBuf| Err(crate::optfile::OptionFileError::NotFound);
    let p = |a: &[&str]| parse_backup_args(&args(a), None, &read);
    let a = p(&["--target-dir=/b", "--innodb-log-write-ahead-size=10000", "--innodb_log_checkpoint_now=1"]).unwrap();
    assert!(a.options.checkpoint_first);
    assert_eq!(a.warnings, ["--innodb-log-write-ahead-size=10000 adjusted to 4096"]);
    assert!(p(&["--target-dir=/b", "--innodb-log-checkpoint-now"]).unwrap().options.checkpoint_first);
    assert!(!p(&["--target-dir=/b"]).unwrap().options.checkpoint_first);
    assert!(p(&["--target-dir=/b", "--slave-info"]).unwrap().options.slave_info);
    assert!(!p(&["--target-dir=/b"]).unwrap().options.slave_info);
    assert!(p(&["--target-dir=/b", "--galera-info", "--extended-validation"]).unwrap().options.galera_info);
    assert!(!p(&["--target-dir=/b"]).unwrap().options.galera_info);
    assert_eq!(p(&["--target-dir=/b"]).unwrap().safe_slave_backup, None);
    let a = p(&["--target-dir=/b", "--safe-slave-backup"]).unwrap();
    assert_eq!(a.safe_slave_backup, Some(Duration::from_secs(300)));
    let a = p(&["--target-dir=/b", "--safe-slave-backup", "--safe-slave-backup-timeout=9"]).unwrap();
    assert_eq!(a.safe_slave_backup, Some(Duration::from_secs(9)));
    let a = p(&["--target-dir=/b", "--no-lock", "--ftwrl-wait-timeout=1"]).unwrap();
    assert!(a.options.no_lock);
    let wait = innohot::backup::LockWait { timeout: 1, threshold: 60, all_queries: true };
    assert_eq!(a.options.lock_wait, Some(wait));
    let a =
        p(&["--target-dir=/b", "--ftwrl-wait-timeout=5", "--ftwrl-wait-threshold=2", "--ftwrl-wait-query-type=update"]);
    assert_eq!(
        a.unwrap().options.lock_wait,
        Some(innohot::backup::LockWait { timeout: 5, threshold: 2, all_queries: false })
    );
    assert_eq!(p(&["--target-dir=/b", "--ftwrl-wait-timeout=0"]).unwrap().options.lock_wait, None);
    assert!(p(&["--target-dir=/b", "--ftwrl-wait-query-type=some"]).unwrap_err().contains("ALL, UPDATE"));
    let e = p(&["--target-dir=/b", "--innodb-force-recovery=1"]).unwrap_err();
    assert!(e.contains("should only be used with \"--prepare\"") && e.getopt.is_none(), "{e}");
    let e = p(&["--target-dir=/b", "--innodb-log-write-ahead-size=4095"]).unwrap_err();
    assert!(e.contains("give a power of two from 512 to 4096"), "{e}");
}

#[test]
fn innodb_flush_method_and_mysqld_args_as_mariabackup_takes_them() {
    let file = "[mariadbd]\ninnodb-flush-method=blablabla\n[mariabackup]\ninnodb-flush-method=O_DIRECT\n";
    let read = |_: &PathBuf| Ok(file.to_string());
    let p = |a: &[&str]| parse_backup_args(&args(a), None, &read);
    assert!(p(&["--defaults-file=/my.cnf", "--target-dir=/b"]).unwrap().options.copy.read_policy.direct);
    let a = p(&["--defaults-file=/my.cnf", "--target-dir=/b", "--innodb-flush-method=fsync"]).unwrap();
    assert!(!a.options.copy.read_policy.direct, "the command line wins");
    assert!(p(&["--target-dir=/b", "--innodb_flush_method=5"]).unwrap().options.copy.read_policy.direct);
    let e = p(&["--target-dir=/b", "--innodb-flush-method=blablabla"]).unwrap_err();
    assert_eq!(e.getopt, Some(crate::args::GETOPT_INVALID_VALUE), "{e}");
    let read = |_: &PathBuf| Ok("[mariabackup]\ninnodb-flush-method=blablabla\n".to_string());
    let e = parse_backup_args(&args(&["--defaults-file=/c.cnf", "--target-dir=/b"]), None, &read).unwrap_err();
    assert!(e.starts_with("/c.cnf, line 2 ([mariabackup]): innodb-flush-method=blablabla: give one of"), "{e}");
    assert_eq!(e.getopt, Some(13));
    let read = |_: &PathBuf| Ok("[mariabackup]\nunknown-option=XXX\n".to_string());
    let e = parse_backup_args(&args(&["--defaults-file=/c.cnf", "--target-dir=/b"]), None, &read).unwrap_err();
    assert_eq!(e.getopt, Some(7));

    let a = p(&["--target-dir=/b", "--mysqld-args", "--unknown-option", "--password=hush", "--port=3310"]).unwrap();
    assert_eq!(a.connect.port, Some(3310), "where the server listens is taken");
    assert_eq!(a.connect.password, None, "after --mysqld-args a word is the server's");
    let warnings = a.warnings.join("\n");
    assert!(warnings.contains("--mysqld-args (--unknown-option --password=xxxxxxxx)"), "{warnings}");
    assert!(!warnings.contains("hush"));
}

#[test]
fn tls_over_a_socket_goes_to_the_same_servers_tcp_port() {
    let read = |_: &PathBuf| Ok("[client]\nsocket=/s.sock\nport=3310\n".to_string());
    let p = |a: &[&str]| parse_backup_args(&args(a), None, &read).unwrap();
    let a = p(&["--defaults-file=/my.cnf", "--target-dir=/b", "--ssl"]);
    assert_eq!(a.connect.tls.mode, Some(SslMode::Required));
    assert!(a.warnings[0].contains("connecting to 127.0.0.1:3310 over TCP with TLS instead"), "{:?}", a.warnings);
    assert_eq!(p(&["--defaults-file=/my.cnf", "--target-dir=/b", "--ssl=0"]).connect.tls.mode, Some(SslMode::Disabled));
    let a = p(&["--defaults-file=/my.cnf", "--target-dir=/b", "--ssl", "--skip-ssl"]);
    assert_eq!(a.connect.tls.mode, Some(SslMode::Disabled));
    assert!(a.warnings.is_empty());
    let read = |_: &PathBuf| Ok("[client]\nsocket=/s.sock\n".to_string());
    let a = parse_backup_args(&args(&["--defaults-file=/my.cnf", "--target-dir=/b", "--ssl"]), None, &read).unwrap();
    assert!(a.warnings[0].contains("TLS is not used over the Unix socket"), "no port known: {:?}", a.warnings);
}

#[test]
fn standard_client_options_are_understood_or_knowingly_ignored() {
    let file = "[client]\ncharacter-sets-dir=/usr/share/mariadb/charsets\nplugin-dir=/usr/lib/plugin\n\
                default-character-set=latin1\nsocket=/s.sock\nport=3310\nprotocol=TCP\nssl\n\
                [mysqld]\ndatadir=/var/lib/mysql\ninnodb_log_file_size=10M\n";
    let read = |_: &PathBuf| Ok(file.to_string());
    let a = parse_backup_args(&args(&["--defaults-file=/my.cnf", "--target-dir=/b"]), None, &read).unwrap();
    assert_eq!(a.connect.socket, None, "protocol=tcp: the socket gives way");
    assert_eq!((a.connect.host.as_deref(), a.connect.port), (Some("127.0.0.1"), Some(3310)));
    assert_eq!(a.connect.tls.mode, Some(SslMode::Required));
    assert_eq!(a.datadir.as_deref(), Some(Path::new("/var/lib/mysql")), "the server's datadir from [mysqld]");
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    let read = |_: &PathBuf| Ok("[client]\nskip-ssl\nprotocol=pipe\n".to_string());
    let e = parse_backup_args(&args(&["--defaults-file=/my.cnf", "--target-dir=/b"]), None, &read).unwrap_err();
    assert!(e.contains("line 3 ([client]): --protocol=pipe exists only on Windows"), "{e}");
}

#[test]
fn option_files_as_mariabackup_reads_them() {
    let main = "[client]\ndefault-character-set=utf8mb4\nsocket=/a.sock\n[mysqld]\ndatadir=/var/lib/mysql\n\
                innodb_buffer_pool_size=1G\n[mariabackup]\nuser=mb\nloose-compress\n[mariabackup_nightly]\nuser=night\n\
                [mysqldump]\nquick\n";
    let extra = "[xtrabackup]\ntarget_dir=/from-extra\n[client]\nsocket=/extra.sock\n";
    let read = |p: &PathBuf| Ok(if p.ends_with("extra.cnf") { extra } else { main }.to_string());
    let a = parse_backup_args(
        &args(&[
            "--defaults-file=/main.cnf",
            "--defaults-extra-file=/extra.cnf",
            "--defaults-group-suffix=_nightly",
            "--parallel=4",
            "--throttle=0",
            "--loose-frobnicate=3",
        ]),
        None,
        &read,
    )
    .unwrap();
    assert_eq!(a.connect.user.as_deref(), Some("night"), "the suffixed group wins");
    assert_eq!(a.connect.socket.as_deref(), Some(Path::new("/extra.sock")), "the extra file wins");
    assert_eq!(a.target_dir.as_deref(), Some(Path::new("/from-extra")));
    let warnings = a.warnings.join("\n");
    assert!(
        warnings.contains("compress in an option file ignored") && warnings.contains("--loose-frobnicate"),
        "{warnings}"
    );
    assert_eq!(a.options.copy.parallel, 4);
    assert_eq!(a.options.copy.pacing, Pacing::Unpaced, "--throttle=0 is no limit");

    let e = |text: &'static str, extra: &[&str]| {
        let read = move |_: &PathBuf| Ok(text.to_string());
        let mut line = args(&["--defaults-file=/my.cnf", "--target-dir=/b"]);
        line.extend(args(extra));
        parse_backup_args(&line, None, &read).unwrap_err()
    };
    let msg = e("[client]\nssl-crl=/crl.pem\n", &[]);
    assert!(
        msg.contains("/my.cnf, line 2 ([client]): unknown option ssl-crl") && msg.contains("loose-ssl-crl"),
        "{msg}"
    );
    assert!(e("[innohot]\nport=abc\n", &[]).contains("--port needs a number, not 'abc'"));
    assert!(e("!includedir /etc/mysql/conf.d/\n", &[]).contains("!include"));
    assert!(e("", &["--parallel=0"]).contains("give 1 to 64 copy lanes"));
    assert!(e("[innohot]\nparallel=65\n", &[]).contains("--parallel=65: give 1 to 64"));
    let read = |_: &PathBuf| Ok("[innohot]\nthrottle=20\nrange-size=1048576\n".to_string());
    let a = parse_backup_args(&args(&["--defaults-file=/my.cnf", "--target-dir=/b"]), None, &read).unwrap();
    assert_eq!(a.options.copy.pacing, Pacing::Fixed(20 << 20));
    assert_eq!(a.options.copy.range_size, 1 << 20);
    let auto = |percent| Pacing::Auto { max_impact_percent: percent, window: innohot::copy::DEFAULT_PACE_WINDOW };
    let read = |_: &PathBuf| Ok("[innohot]\nmax-impact=25\n".to_string());
    let a = parse_backup_args(&args(&["--defaults-file=/my.cnf", "--target-dir=/b"]), None, &read).unwrap();
    assert_eq!(a.options.copy.pacing, auto(25), "auto is the default, and the file's share is taken");
    let a = parse_backup_args(&args(&["--target-dir=/b", "--throttle=AUTO", "--max-impact=10"]), None, &read);
    assert_eq!(a.unwrap().options.copy.pacing, auto(10));
    assert!(e("", &["--throttle=fast"]).contains("--throttle=fast: give auto, or MiB per second"));
    assert!(e("", &["--throttle=50", "--max-impact=10"]).contains("applies to --throttle=auto"));
    assert!(e("", &["--max-impact=95"]).contains("give 1 to 90 percent"));
}

#[test]
fn no_version_check_from_the_command_line_and_an_option_file() {
    let read =
        |_: &PathBuf| Ok("[xtrabackup]\nno_version_check\n[mariabackup]\nloose-no-version-check=OFF\n".to_string());
    assert!(parse_backup_args(&args(&["--target-dir=/b", "--no-version-check"]), None, &read).is_ok());
    assert!(parse_backup_args(&args(&["--target-dir=/b", "--defaults-file=/my.cnf"]), None, &read).is_ok());
    let read = |_: &PathBuf| Ok("[xtrabackup]\nno-version-check=maybe\n".to_string());
    let e = parse_backup_args(&args(&["--target-dir=/b", "--defaults-file=/my.cnf"]), None, &read).unwrap_err();
    assert!(e.starts_with("/my.cnf, line 2 ([xtrabackup]): 'maybe' is not a boolean"), "{e}");
    let e = parse_backup_args(&args(&["--target-dir=/b", "--no-version-check=1"]), None, &read).unwrap_err();
    assert!(e.contains("--no-version-check"), "a switch on the command line takes no value: {e}");
}

#[test]
fn switches_turn_off_as_skip_and_disable_and_on_as_enable() {
    let read = |_: &PathBuf| Ok("[mariabackup]\nslave-info\ngalera_info=1\nloose-enable-no-lock\n".to_string());
    let p = |a: &[&str]| {
        let mut line = args(&["--target-dir=/b", "--defaults-file=/my.cnf"]);
        line.extend(args(a));
        parse_backup_args(&line, None, &read)
    };
    let a = p(&[]).unwrap();
    assert!(a.options.slave_info && a.options.galera_info && a.options.no_lock);
    let a = p(&["--skip-slave-info", "--disable_galera_info", "--loose-skip-no-lock"]).unwrap();
    assert!(!a.options.slave_info && !a.options.galera_info && !a.options.no_lock, "the command line wins");
    let read = |_: &PathBuf| Ok("[xtrabackup]\nskip-slave-info\n[innohot]\nenable-safe-slave-backup\n".to_string());
    let a = parse_backup_args(&args(&["--target-dir=/b", "--defaults-file=/c", "--slave-info"]), None, &read).unwrap();
    assert!(a.options.slave_info && a.safe_slave_backup.is_some());
    let read = |_: &PathBuf| Ok("[xtrabackup]\nskip-slave-info=1\n".to_string());
    let e = parse_backup_args(&args(&["--target-dir=/b", "--defaults-file=/c"]), None, &read).unwrap_err();
    assert!(e.contains("line 2 ([xtrabackup]): skip-slave-info takes no value"), "{e}");
    let a = parse_backup_args(&args(&["--target-dir=/b", "--ssl", "--skip-ssl"]), None, &read).unwrap();
    assert_eq!(a.connect.tls.mode, Some(SslMode::Disabled), "skip-ssl is an option of its own");
}
