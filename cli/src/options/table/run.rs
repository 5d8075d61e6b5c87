//! What the backup records, how it locks, what it copies of the server, and where it writes.

use super::Kind::{Flag, Many, OptionalValue as Opt, Value};
use super::{OptionSpec, Val};
use crate::options::values::{query_type, stream_format, write_ahead_size};
use crate::options::{BadOption, Layer};

/// In the order the command line applies them (see `table`).
pub static RUN: &[OptionSpec] = &[
    OptionSpec::new(
        "history",
        Opt("NAME"),
        "Record the backup in the server's history table (MariaDB: mysql.mariadb_backup_history, MySQL \
         5.7: PERCONA_SCHEMA.xtrabackup_history), under NAME (empty if none given)",
        |a, v| {
            a.options.history = Some(v.raw.unwrap_or_default().to_string());
            Ok(())
        },
    ),
    OptionSpec::new(
        "innodb-log-checkpoint-now",
        Opt("BOOL"),
        "Have the server checkpoint (SET GLOBAL innodb_log_checkpoint_now=ON) before the backup",
        |a, v| {
            a.options.checkpoint_first = v.on()?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "innodb-log-write-ahead-size",
        Value("BYTES"),
        "Checked as mariabackup checks it (a power of two, 512 to 4096); changes nothing else: innohot \
         writes no redo during a backup",
        |a, v| write_ahead_size(a, v.need()?),
    ),
    switch!(
        "slave-info",
        "Write xtrabackup_slave_info: CHANGE MASTER statements (and SET GLOBAL gtid_slave_pos) that point a \
         clone of this replica at its masters, read under the lock (MariaDB: SHOW ALL SLAVES STATUS)",
        |a, v| {
            a.options.slave_info = v.on()?;
            Ok(())
        },
    ),
    switch!(
        "galera-info",
        "Write xtrabackup_galera_info (wsrep_local_state_uuid:wsrep_last_committed, read under the lock) on \
         a Galera node; elsewhere mariabackup's warning, and the backup goes on",
        |a, v| {
            a.options.galera_info = v.on()?;
            Ok(())
        },
    ),
    no_op!(
        "extended-validation",
        "Accepted for mariabackup's scripts: innohot checks every page it copies (checksum and LSN) whether \
         or not this is given; encrypted pages, which it adds decryption for, are refused",
    ),
    OptionSpec::new(
        "innodb-force-recovery",
        Value("N"),
        "Refused, as mariabackup refuses it on a backup: a backup reads a running server (prepare's option)",
        |a, _| {
            a.force_recovery = true;
            Ok(())
        },
    ),
    switch!(
        "no-lock",
        "Take no lock at all (no BACKUP STAGE, no FLUSH TABLES WITH READ LOCK): only when every table is \
         InnoDB and no DDL runs during the backup; xtrabackup_binlog_info is then not consistent with the data",
        |a, v| {
            a.options.no_lock = v.on()?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "ftwrl-wait-timeout",
        Value("SECONDS"),
        "Before the lock, wait up to SECONDS for long queries (see --ftwrl-wait-threshold) to end, and fail \
         if one still runs; the lock statements then also wait at most SECONDS (0, the default: no wait)",
        |a, v| {
            a.lock_wait.0 = Some(v.number()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "ftwrl-wait-threshold",
        Value("SECONDS"),
        "With --ftwrl-wait-timeout: only queries running at least this long hold up the lock (default 60)",
        |a, v| {
            a.lock_wait.1 = Some(v.number()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "ftwrl-wait-query-type",
        Value("ALL|UPDATE"),
        "With --ftwrl-wait-timeout: ALL queries hold up the lock (the default), or only UPDATE ones (writes)",
        |a, v| {
            a.lock_wait.2 = Some(query_type(v.need()?)?);
            Ok(())
        },
    ),
    switch!(
        "safe-slave-backup",
        "On a replica: stop its SQL thread before the backup, until no temporary table of the replication \
         is open (Slave_open_temp_tables = 0), and start it again after the backup",
        |a, v| {
            a.safe_slave.0 = v.on()?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "safe-slave-backup-timeout",
        Value("SECONDS"),
        "How long --safe-slave-backup waits for Slave_open_temp_tables to become 0 (default 300)",
        |a, v| {
            a.safe_slave.1 = Some(v.number()?);
            Ok(())
        },
    ),
    // More log lines than innohot's own are not written; a core dump is the system's
    // setting (ulimit -c), not a tool's.
    no_op!("verbose", "Accepted for mariabackup's scripts: innohot's log is the same either way"),
    no_op!("core-file", "Accepted for mariabackup's scripts: core dumps are the system's setting (ulimit -c)"),
    // xtrabackup asks Percona's server for news of newer versions unless told not to, so
    // `no-version-check` sits in many [xtrabackup] groups and scripts; innohot never asks.
    no_op!(
        "no-version-check",
        "Accepted for xtrabackup's and mariabackup's scripts: innohot never checks for a newer version",
    ),
    OptionSpec::new(
        "databases",
        Many("NAMES"),
        "Partial backup: only these databases and db.table tables (space-separated)",
        |a, v| {
            a.filter.databases.push(v.string()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "databases-exclude",
        Many("NAMES"),
        "Partial backup: never these databases and db.table tables (space-separated)",
        |a, v| {
            a.filter.databases_exclude.push(v.string()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "databases-file",
        Value("FILE"),
        "Partial backup: the --databases names, one per line of FILE",
        |a, v| {
            a.filter_files.0 = Some(v.path()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "tables",
        Many("REGEX"),
        "Partial backup: only tables whose db.table a regular expression finds (comma-separated)",
        |a, v| {
            a.filter.tables.push(v.string()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "tables-exclude",
        Many("REGEX"),
        "Partial backup: never tables whose db.table a regular expression finds (wins over includes)",
        |a, v| {
            a.filter.tables_exclude.push(v.string()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "tables-file",
        Value("FILE"),
        "Partial backup: only the db.table tables listed one per line of FILE",
        |a, v| {
            a.filter_files.1 = Some(v.path()?);
            Ok(())
        },
    ),
    OptionSpec::new("json", Flag, "Print a JSON summary of the run on stdout (also on failure)", |a, _| {
        a.json = true;
        Ok(())
    })
    .command_line_only(),
    OptionSpec::new(
        "stream",
        Value("FORMAT"),
        "Write the backup to stdout as an xbstream (FORMAT: xbstream), for `mbstream -x` or `innohot \
         extract`; --target-dir is then not needed. The stream ends with innohot_manifest only when the \
         backup completed",
        |a, v| {
            a.stream = stream_format(v.need()?)?;
            Ok(())
        },
    ),
    // An option file's `compress` may be mariabackup's own (qpress): `finish` warns and
    // ignores it there, where the command line's is refused.
    OptionSpec::new(
        "compress",
        Opt("ALGORITHM"),
        "Compress each streamed file with zstd (ALGORITHM: zstd), sent as NAME.zst as XtraBackup 8.0 does; \
         needs --stream=xbstream. `innohot extract --decompress` or `zstd -d` undo it",
        |a, v| {
            let algo = Some(v.raw.unwrap_or_default().to_string());
            match a.layer {
                Layer::File => a.compress_given.file = algo,
                Layer::CommandLine => a.compress_given.command_line = algo,
            }
            Ok(())
        },
    ),
    OptionSpec::new(
        "compress-zstd-level",
        Value("N"),
        "zstd's level for --compress=zstd: 1 (the default, as XtraBackup's: fastest) to 19",
        |a, v| {
            a.compress_given.level = Some(v.number()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "compress-threads",
        Value("N"),
        "Threads compressing for --compress=zstd (default: every core)",
        |a, v| {
            a.compress_given.threads = Some(v.number()?);
            Ok(())
        },
    ),
    OptionSpec::new("quiet", Flag, "No progress output: only errors (and --json)", |a, _| {
        a.quiet = true;
        Ok(())
    })
    .command_line_only(),
    OptionSpec::new("debug-pause-before-lock-ms", Value("MS"), "Test only: wait this long before the lock", |a, v| {
        test_hooks_allowed(&v)?;
        a.options.test_hooks.pause_before_lock = v.millis()?;
        Ok(())
    })
    .hidden(),
    OptionSpec::new(
        "debug-skip-tablespace",
        Value("SCHEMA/TABLE"),
        "Test only: leave this SCHEMA/TABLE out of the copy",
        |a, v| {
            test_hooks_allowed(&v)?;
            a.options.test_hooks.skip_tablespace = Some(v.string()?);
            Ok(())
        },
    )
    .hidden(),
];

/// The environment variable, set to `1`, that lets the test-only options through.
const TEST_HOOKS_VAR: &str = "INNOHOT_TEST_HOOKS";

/// The test-only options (`TestHooks`) make a backup stall or leave a table
/// out on purpose: only a test suite that says so in the environment may
/// give them, so a stray option can never weaken a real backup.
fn test_hooks_allowed(v: &Val) -> Result<(), BadOption> {
    if std::env::var_os(TEST_HOOKS_VAR).is_some_and(|on| on == "1") {
        return Ok(());
    }
    Err(format!(
        "{} is a test hook: innohot accepts it only with {TEST_HOOKS_VAR}=1 in its environment, as the test suites \
         run it; leave it out of a real backup",
        v.name
    )
    .into())
}
