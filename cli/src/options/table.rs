//! Every `innohot backup` option, declared once. The command line (`args::backup` builds
//! clap's arguments from this table), the option files (`[client]`, `[xtrabackup]`,
//! `[mariabackup]`, `[innohot]`, ...) and `--mysqld-args` all reach an option through its
//! entry here, so an option cannot work in one place and silently not in another.
//!
//! Option files are applied first, then the command line, each through the same setter:
//! the later setting wins. The command line's options are applied in this table's order
//! (not the order typed), so where two options set the same thing the later entry wins:
//! `--ssl-mode` over `--ssl`/`--skip-ssl`, `--direct`/`--no-direct` over
//! `--innodb-flush-method`, `--log-copy-interval` over `--log-poll-ms`.

use super::values::{flush_method, max_impact, pacing, parallel, query_type, stream_format, write_ahead_size};
use super::{BackupArgs, BadOption, Layer};
use innohot::server::mysql::SslMode;
use innohot::server::HistoryRow;
use std::path::PathBuf;
use std::time::Duration;

/// How an option is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--name` alone on the command line; `name`, `name=1` or `name=0` in an option file.
    Flag,
    /// `--name=VALUE` or `--name VALUE`; once.
    Value(&'static str),
    /// `--name` or `--name=VALUE` (never a separate word).
    OptionalValue(&'static str),
    /// `--name=VALUE`, as often as wanted: each adds to the list.
    Many(&'static str),
}

/// Where an option may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    /// Only on the command line: what names the option files, or what only a run asks for.
    CommandLine,
}

/// One option's value as given: its name as written (for messages) and the value, if any.
#[derive(Debug, Clone, Copy)]
pub struct Val<'a> {
    pub name: &'a str,
    pub raw: Option<&'a str>,
}

impl<'a> Val<'a> {
    pub fn need(&self) -> Result<&'a str, BadOption> {
        self.raw.ok_or_else(|| format!("{} needs a value ({}=...)", self.name, self.name).into())
    }
    fn string(&self) -> Result<String, BadOption> {
        self.need().map(str::to_string)
    }
    fn path(&self) -> Result<PathBuf, BadOption> {
        self.need().map(PathBuf::from)
    }
    pub fn number<T: std::str::FromStr>(&self) -> Result<T, BadOption> {
        super::values::number(self.name, self.need()?)
    }
    fn millis(&self) -> Result<Duration, BadOption> {
        self.number().map(Duration::from_millis)
    }
    /// A switch's value: bare is on; 1/0, ON/OFF, TRUE/FALSE.
    fn on(&self) -> Result<bool, BadOption> {
        Ok(crate::optfile::is_on(self.raw)?)
    }
}

/// Applies one given value of the option to the backup's settings.
pub type Setter = fn(&mut BackupArgs, Val) -> Result<(), BadOption>;

#[derive(Debug)]
pub struct OptionSpec {
    /// The long name, with dashes (`_` is taken for `-` everywhere).
    pub name: &'static str,
    /// Other names for it, in option files and on the command line (hidden in --help).
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// The --help line.
    pub help: &'static str,
    pub scope: Scope,
    /// Left out of --help (test-only options).
    pub hidden: bool,
    /// Options it may not be given with on the command line.
    pub conflicts: &'static [&'static str],
    pub set: Setter,
}

impl OptionSpec {
    const fn new(name: &'static str, kind: Kind, help: &'static str, set: Setter) -> Self {
        OptionSpec { name, aliases: &[], kind, help, scope: Scope::Everywhere, hidden: false, conflicts: &[], set }
    }
    const fn command_line_only(mut self) -> Self {
        self.scope = Scope::CommandLine;
        self
    }
    const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
    const fn conflicts(mut self, with: &'static [&'static str]) -> Self {
        self.conflicts = with;
        self
    }
}

/// The option of that name or alias (with dashes), wherever it may be given.
pub fn lookup(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.name == name || o.aliases.contains(&name))
}

/// The option of that name an option file may set (None: innohot does not know it there).
pub fn lookup_in_file(name: &str) -> Option<&'static OptionSpec> {
    lookup(name).filter(|o| o.scope == Scope::Everywhere)
}

use Kind::{Flag, Many, OptionalValue as Opt, Value};

/// Options that only name where options come from; `options::resolve` reads them first.
const fn source(name: &'static str, kind: Kind, help: &'static str) -> OptionSpec {
    OptionSpec::new(name, kind, help, |_, _| Ok(())).command_line_only()
}

/// Switches mariabackup takes that change nothing in innohot (the help says why); a value
/// given in an option file must still be a boolean.
const fn no_op(name: &'static str, help: &'static str) -> OptionSpec {
    OptionSpec::new(name, Flag, help, |_, v| v.on().map(drop))
}

/// Every `innohot backup` option (see the module's note on the order).
pub static OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("target-dir", Value("DIR"), "Where the backup goes: a new or empty directory", |a, v| {
        a.target_dir = Some(v.path()?);
        Ok(())
    }),
    source("defaults-file", Value("FILE"), "Read options from this file only (as mariabackup)"),
    source("defaults-extra-file", Value("FILE"), "Read this option file after --defaults-file; its values win"),
    source(
        "defaults-group-suffix",
        Value("SUFFIX"),
        "Also read the groups [client<SUFFIX>], [xtrabackup<SUFFIX>], ... (they win over the plain groups)",
    ),
    source("no-defaults", Flag, "Accepted for compatibility: innohot reads no option file unless named"),
    OptionSpec::new("user", Value("NAME"), "SQL user for the backup's connection", |a, v| {
        a.connect.user = Some(v.string()?);
        Ok(())
    }),
    // The command line's password never gets here: `args::prepare` takes it out first.
    OptionSpec::new(
        "password",
        Opt("PASSWORD"),
        "Password: --password=VALUE or --password VALUE (better: INNOHOT_PASSWORD or password= in the \
         [client] group)",
        |a, v| {
            a.connect.password = Some(v.string()?);
            Ok(())
        },
    )
    .aliases(&["pass"]),
    OptionSpec::new("host", Value("HOST"), "Server host for a TCP connection", |a, v| {
        a.connect.host = Some(v.string()?);
        Ok(())
    }),
    OptionSpec::new("port", Value("PORT"), "Server TCP port (default 3306)", |a, v| {
        a.connect.port = Some(v.number()?);
        Ok(())
    }),
    OptionSpec::new("socket", Value("PATH"), "Server Unix socket", |a, v| {
        a.connect.socket = Some(v.path()?);
        Ok(())
    }),
    OptionSpec::new(
        "protocol",
        Value("TCP|SOCKET"),
        "How to reach the server: TCP (--host/--port, 127.0.0.1 by default; a socket setting is ignored) \
         or SOCKET",
        |a, v| {
            a.protocol = Some(v.need()?.parse()?);
            Ok(())
        },
    ),
    // The MariaDB clients' spelling of the --ssl-mode choices.
    OptionSpec::new(
        "ssl",
        Opt("BOOL"),
        "The MariaDB clients' switch: TLS without verifying the certificate (--ssl-mode=REQUIRED); \
         --ssl=0 or --skip-ssl: none",
        |a, v| {
            a.connect.tls.mode = Some(if v.on()? { SslMode::Required } else { SslMode::Disabled });
            Ok(())
        },
    ),
    OptionSpec::new("skip-ssl", Flag, "No TLS (--ssl-mode=DISABLED)", |a, _| {
        a.connect.tls.mode = Some(SslMode::Disabled);
        Ok(())
    }),
    OptionSpec::new(
        "ssl-verify-server-cert",
        Flag,
        "Verify the server's certificate and host name (--ssl-mode=VERIFY_IDENTITY; needs --ssl-ca)",
        |a, v| {
            if v.on()? {
                a.connect.tls.mode = Some(SslMode::VerifyIdentity);
            }
            Ok(())
        },
    ),
    OptionSpec::new(
        "ssl-mode",
        Value("MODE"),
        "TLS for a TCP connection: DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY (default: \
         DISABLED, or VERIFY_CA when --ssl-ca is given); never used over a Unix socket",
        |a, v| {
            a.connect.tls.mode = Some(v.need()?.parse()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "ssl-ca",
        Value("FILE"),
        "The CA certificate (PEM) that signed the server's certificate",
        |a, v| {
            a.connect.tls.ca = Some(v.path()?);
            Ok(())
        },
    ),
    OptionSpec::new("ssl-cert", Value("FILE"), "A client certificate (PEM), with --ssl-key", |a, v| {
        a.connect.tls.cert = Some(v.path()?);
        Ok(())
    }),
    OptionSpec::new("ssl-key", Value("FILE"), "The client certificate's private key (PEM)", |a, v| {
        a.connect.tls.key = Some(v.path()?);
        Ok(())
    }),
    OptionSpec::new(
        "datadir",
        Value("DIR"),
        "Where this host sees the server's datadir, when not at the path the server reports (containers, \
         mounts); innohot checks it is the server's and refuses otherwise",
        |a, v| {
            a.datadir = Some(v.path()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "parallel",
        Value("N"),
        "Data-file copy lanes: files, and ranges of large files, copied at once (default 1)",
        |a, v| {
            a.options.copy.parallel = parallel(v.number()?)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "throttle",
        Value("auto|MIB_PER_S"),
        "How fast the data files are read before the lock: auto (the default) paces the copy by the \
         server's own throughput (see --max-impact) and goes at full speed while the server is idle; N: at \
         most N MiB per second, all lanes together; 0: no limit. Note: xtrabackup's --throttle counts \
         chunks, not MiB",
        |a, v| {
            a.options.copy.pacing = pacing(v.need()?, a.options.copy.pacing)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "max-impact",
        Value("PERCENT"),
        "With --throttle=auto: the share (percent) of its pre-backup row operations per second the server \
         may lose while the data files are copied (default 40)",
        |a, v| {
            a.options.copy.pacing = max_impact(v.number()?, a.options.copy.pacing)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "range-size",
        Value("BYTES"),
        "Files larger than this are copied as ranges of this size on several lanes (default 64 MiB; only \
         with --parallel above 1)",
        |a, v| {
            a.options.copy.range_size = v.number()?;
            Ok(())
        },
    ),
    OptionSpec::new("chunk-size", Value("BYTES"), "Bytes read per data-file chunk (default 1 MiB)", |a, v| {
        a.options.copy.chunk_size = v.number()?;
        Ok(())
    }),
    OptionSpec::new(
        "page-retries",
        Value("N"),
        "Re-reads of a chunk with a torn page before the backup fails (default 10)",
        |a, v| {
            a.options.copy.page_retries = v.number()?;
            Ok(())
        },
    ),
    OptionSpec::new("retry-delay-ms", Value("MS"), "Wait between re-reads of a torn page (default 100)", |a, v| {
        a.options.copy.retry_delay = v.millis()?;
        Ok(())
    }),
    OptionSpec::new(
        "log-poll-ms",
        Value("MS"),
        "Copy new redo exactly this often (default: adaptive, from 2 ms while the server writes up to the \
         time the redo log takes to refill at 256 MiB/s, at most 1 s)",
        |a, v| {
            a.options.log_poll_interval = v.millis()?;
            a.options.log_poll_fixed = true;
            Ok(())
        },
    ),
    OptionSpec::new(
        "innodb-flush-method",
        Value("METHOD"),
        "mariabackup's way to read the data files: O_DIRECT or O_DIRECT_NO_FSYNC read them with O_DIRECT \
         (as --direct), fsync, O_DSYNC, littlesync, nosync through the page cache",
        |a, v| {
            a.options.copy.read_policy.direct = flush_method(v.need()?)?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "direct",
        Flag,
        "Read data files with O_DIRECT (the default reads through the page cache with read-ahead and drops \
         each chunk behind the copy)",
        |a, _| {
            a.options.copy.read_policy.direct = true;
            Ok(())
        },
    )
    .conflicts(&["no-direct"]),
    OptionSpec::new(
        "no-direct",
        Flag,
        "Read data files through the page cache (the default; kept for scripts)",
        |a, _| {
            a.options.copy.read_policy.direct = false;
            Ok(())
        },
    ),
    OptionSpec::new("no-fadvise", Flag, "No posix_fadvise on data files", |a, _| {
        a.options.copy.read_policy.fadvise = false;
        Ok(())
    }),
    OptionSpec::new(
        "extra-lsndir",
        Value("DIR"),
        "Also write xtrabackup_checkpoints and xtrabackup_info into DIR (replacing those there)",
        |a, v| {
            a.extra_lsndir = Some(v.path()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "incremental-basedir",
        Value("DIR"),
        "An incremental backup over the backup in DIR (or its --extra-lsndir): only the pages changed since \
         its to_lsn are copied, as NAME.delta and NAME.meta",
        |a, v| {
            a.incremental.0 = Some(v.path()?);
            Ok(())
        },
    )
    .conflicts(&["incremental-lsn"]),
    OptionSpec::new(
        "incremental-lsn",
        Value("LSN"),
        "An incremental backup of the pages changed since LSN (the base's to_lsn)",
        |a, v| {
            a.incremental.1 = Some(v.number()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "incremental-history-name",
        Value("NAME"),
        "An incremental backup over the newest backup recorded with --history=NAME in the server's history \
         table",
        |a, v| {
            a.incremental.2 = Some(HistoryRow::Name(v.string()?));
            Ok(())
        },
    )
    .conflicts(&["incremental-history-uuid"]),
    OptionSpec::new(
        "incremental-history-uuid",
        Value("UUID"),
        "An incremental backup over the backup whose history row has this uuid",
        |a, v| {
            a.incremental.2 = Some(HistoryRow::Uuid(v.string()?));
            Ok(())
        },
    ),
    no_op(
        "incremental",
        "innobackupex's flag for an incremental backup: it is one when a base is given \
         (--incremental-basedir, -lsn or -history-name/-uuid)",
    ),
    no_op(
        "incremental-force-scan",
        "Accepted for mariabackup's scripts: an incremental always reads every page (as mariabackup \
         10.11's does)",
    ),
    OptionSpec::new("log-copy-interval", Value("MS"), "mariabackup's name for --log-poll-ms", |a, v| {
        a.options.log_poll_interval = v.millis()?;
        a.options.log_poll_fixed = true;
        Ok(())
    }),
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
    OptionSpec::new(
        "slave-info",
        Flag,
        "Write xtrabackup_slave_info: CHANGE MASTER statements (and SET GLOBAL gtid_slave_pos) that point a \
         clone of this replica at its masters, read under the lock (MariaDB: SHOW ALL SLAVES STATUS)",
        |a, v| {
            a.options.slave_info = v.on()?;
            Ok(())
        },
    ),
    OptionSpec::new(
        "galera-info",
        Flag,
        "Write xtrabackup_galera_info (wsrep_local_state_uuid:wsrep_last_committed, read under the lock) on \
         a Galera node; elsewhere mariabackup's warning, and the backup goes on",
        |a, v| {
            a.options.galera_info = v.on()?;
            Ok(())
        },
    ),
    no_op(
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
    OptionSpec::new(
        "no-lock",
        Flag,
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
    OptionSpec::new(
        "safe-slave-backup",
        Flag,
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
    no_op("verbose", "Accepted for mariabackup's scripts: innohot's log is the same either way"),
    no_op("core-file", "Accepted for mariabackup's scripts: core dumps are the system's setting (ulimit -c)"),
    // xtrabackup asks Percona's server for news of newer versions unless told not to, so
    // `no-version-check` sits in many [xtrabackup] groups and scripts; innohot never asks.
    no_op(
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
        a.options.debug_pause_before_lock = v.millis()?;
        Ok(())
    })
    .hidden(),
    OptionSpec::new(
        "debug-skip-tablespace",
        Value("SCHEMA/TABLE"),
        "Test only: leave this SCHEMA/TABLE out of the copy",
        |a, v| {
            a.options.debug_skip_tablespace = Some(v.string()?);
            Ok(())
        },
    )
    .hidden(),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_conflicts_name_options() {
        let mut names: Vec<&str> =
            OPTIONS.iter().flat_map(|o| std::iter::once(o.name).chain(o.aliases.iter().copied())).collect();
        let all = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all, "an option name is declared twice");
        for o in OPTIONS {
            assert!(!o.name.contains('_'), "{}: dashes, not underscores", o.name);
            for c in o.conflicts {
                assert!(lookup(c).is_some(), "{} conflicts with an unknown {c}", o.name);
            }
        }
    }
}
