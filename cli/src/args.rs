//! The command line as clap sees it, and what happens before clap: the
//! xtrabackup/mariabackup spelling (`innohot --backup --target-dir=X`), the
//! `loose-` prefix, `_` for `-` in option names, and the password, which is
//! taken out of the arguments so no parser, error or help text ever holds it.

use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 the backup (or the command) failed, or the command line or an
option file could not be understood (the message says which). Run as mariabackup (a symlink of
that name), an unknown option exits as mariabackup's: 7 with a value, 2 without.

xtrabackup/mariabackup spelling works too: innohot --backup --target-dir=DIR ...,
innohot --prepare / --copy-back / --move-back --target-dir=DIR [--datadir=D].";

#[derive(Parser, Debug)]
#[command(
    name = "innohot",
    version,
    about = "Hot physical backups of InnoDB servers (MySQL 5.7, MariaDB 10.8-10.11)",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Hot backup of a running MySQL 5.7 or MariaDB 10.8-10.11 server
    Backup(Box<BackupCmd>),
    /// Apply a MariaDB 10.8+ or MySQL 5.7 backup's copied redo to its data files, in place (as mariabackup or xtrabackup --prepare)
    Prepare(PrepareCmd),
    /// Copy a prepared backup into a missing or empty datadir
    CopyBack(RestoreCmd),
    /// Move a prepared backup into a missing or empty datadir (rename on one file system)
    MoveBack(RestoreCmd),
    /// Check a backup without restoring it: every page's checksum, the metadata, the redo copy, and every
    /// file a server needs (system and undo tablespaces, each InnoDB table's .ibd, .isl links)
    Verify(VerifyCmd),
    /// Unpack an xbstream (mariabackup --stream=xbstream) from stdin or a file into a new or empty
    /// directory, as mbstream -x does, refusing a damaged or truncated stream by name
    Extract(ExtractCmd),
    /// Prepare a MySQL 5.7 backup through a MySQL 5.7 server: write its redo copy as the
    /// ib_logfile group the server's crash recovery starts from
    Mysql57LogGroup(LogGroupCmd),
    /// Back up a simulated MySQL 5.7 server under concurrent writes and check the
    /// backup against the simulator's ground truth
    Demo(DemoCmd),
    /// Simulated backups: one seed, a replayed config line, or a sweep over many seeds
    Sim(SimCmd),
}

/// `innohot backup` (also `innohot --backup`). Options may also come from
/// option files: groups [client], [xtrabackup], [mariabackup], [innohot] (and
/// the same with --defaults-group-suffix), and socket/port from [mysqld].
#[derive(Args, Debug, Default, Clone)]
#[command(after_help = "\
Precedence: command line, then INNOHOT_PASSWORD (password only), then --defaults-extra-file,
then --defaults-file. Option files are read only when named. In an option file an option
innohot does not know is an error unless written loose-NAME (then ignored with a warning);
[mysqld] options other than socket and port are the server's and ignored.

Exit codes: 0 completed OK, 1 the backup failed or was interrupted (the target then holds
innohot_backup_failed naming why, and no xtrabackup_checkpoints; a refusal for the user's privileges
leaves it empty; a stream then ends without its manifest); bad input (options) exits 1 too.")]
pub struct BackupCmd {
    /// Where the backup goes: a new or empty directory
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Read options from this file only (as mariabackup)
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    /// Read this option file after --defaults-file; its values win
    #[arg(long, value_name = "FILE")]
    pub defaults_extra_file: Option<PathBuf>,
    /// Also read the groups [client<SUFFIX>], [xtrabackup<SUFFIX>], ... (they win over the plain groups)
    #[arg(long, value_name = "SUFFIX")]
    pub defaults_group_suffix: Option<String>,
    /// Accepted for compatibility: innohot reads no option file unless named
    #[arg(long)]
    pub no_defaults: bool,
    /// SQL user for the backup's connection
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Password: --password=VALUE or --password VALUE (better: INNOHOT_PASSWORD or password= in the [client] group)
    #[arg(long, value_name = "PASSWORD", require_equals = true)]
    pub password: Option<String>,
    /// Server host for a TCP connection
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Server TCP port (default 3306)
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Server Unix socket
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// TLS for a TCP connection: DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY
    /// (default: DISABLED, or VERIFY_CA when --ssl-ca is given); never used over a Unix socket
    #[arg(long, value_name = "MODE")]
    pub ssl_mode: Option<String>,
    /// How to reach the server: TCP (--host/--port, 127.0.0.1 by default; a socket setting is
    /// ignored) or SOCKET
    #[arg(long, value_name = "TCP|SOCKET")]
    pub protocol: Option<String>,
    /// The MariaDB clients' switch: TLS without verifying the certificate (--ssl-mode=REQUIRED);
    /// --ssl=0 or --skip-ssl: none
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true)]
    pub ssl: Option<Option<String>>,
    /// No TLS (--ssl-mode=DISABLED)
    #[arg(long)]
    pub skip_ssl: bool,
    /// Verify the server's certificate and host name (--ssl-mode=VERIFY_IDENTITY; needs --ssl-ca)
    #[arg(long)]
    pub ssl_verify_server_cert: bool,
    /// The CA certificate (PEM) that signed the server's certificate
    #[arg(long, value_name = "FILE")]
    pub ssl_ca: Option<PathBuf>,
    /// A client certificate (PEM), with --ssl-key
    #[arg(long, value_name = "FILE")]
    pub ssl_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM)
    #[arg(long, value_name = "FILE")]
    pub ssl_key: Option<PathBuf>,
    /// Where this host sees the server's datadir, when not at the path the server reports
    /// (containers, mounts); innohot checks it is the server's and refuses otherwise
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// Data-file copy lanes: files, and ranges of large files, copied at once (default 1)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
    /// How fast the data files are read before the lock: auto (the default) paces the copy by the
    /// server's own throughput (see --max-impact) and goes at full speed while the server is idle;
    /// N: at most N MiB per second, all lanes together; 0: no limit. Note: xtrabackup's
    /// --throttle counts chunks, not MiB
    #[arg(long, value_name = "auto|MIB_PER_S")]
    pub throttle: Option<String>,
    /// With --throttle=auto: the share (percent) of its pre-backup row operations per second the
    /// server may lose while the data files are copied (default 40)
    #[arg(long, value_name = "PERCENT")]
    pub max_impact: Option<u32>,
    /// Files larger than this are copied as ranges of this size on several lanes
    /// (default 64 MiB; only with --parallel above 1)
    #[arg(long, value_name = "BYTES")]
    pub range_size: Option<u64>,
    /// Bytes read per data-file chunk (default 1 MiB)
    #[arg(long, value_name = "BYTES")]
    pub chunk_size: Option<usize>,
    /// Re-reads of a chunk with a torn page before the backup fails (default 10)
    #[arg(long, value_name = "N")]
    pub page_retries: Option<u32>,
    /// Wait between re-reads of a torn page (default 100)
    #[arg(long, value_name = "MS")]
    pub retry_delay_ms: Option<u64>,
    /// Copy new redo exactly this often (default: adaptive, from 2 ms while the server
    /// writes up to the time the redo log takes to refill at 256 MiB/s, at most 1 s)
    #[arg(long, value_name = "MS")]
    pub log_poll_ms: Option<u64>,
    /// Read data files with O_DIRECT (the default reads through the page cache
    /// with read-ahead and drops each chunk behind the copy)
    #[arg(long, conflicts_with = "no_direct")]
    pub direct: bool,
    /// Read data files through the page cache (the default; kept for scripts)
    #[arg(long)]
    pub no_direct: bool,
    /// No posix_fadvise on data files
    #[arg(long)]
    pub no_fadvise: bool,
    /// Also write xtrabackup_checkpoints and xtrabackup_info into DIR (replacing those there)
    #[arg(long, value_name = "DIR")]
    pub extra_lsndir: Option<PathBuf>,
    /// An incremental backup over the backup in DIR (or its --extra-lsndir): only the pages
    /// changed since its to_lsn are copied, as NAME.delta and NAME.meta
    #[arg(long, value_name = "DIR", conflicts_with = "incremental_lsn")]
    pub incremental_basedir: Option<PathBuf>,
    /// An incremental backup of the pages changed since LSN (the base's to_lsn)
    #[arg(long, value_name = "LSN")]
    pub incremental_lsn: Option<u64>,
    /// An incremental backup over the newest backup recorded with --history=NAME in the
    /// server's history table
    #[arg(long, value_name = "NAME", conflicts_with = "incremental_history_uuid")]
    pub incremental_history_name: Option<String>,
    /// An incremental backup over the backup whose history row has this uuid
    #[arg(long, value_name = "UUID")]
    pub incremental_history_uuid: Option<String>,
    /// innobackupex's flag for an incremental backup: it is one when a base is given
    /// (--incremental-basedir, -lsn or -history-name/-uuid)
    #[arg(long)]
    pub incremental: bool,
    /// Accepted for mariabackup's scripts: an incremental always reads every page (as
    /// mariabackup 10.11's does)
    #[arg(long)]
    pub incremental_force_scan: bool,
    /// mariabackup's name for --log-poll-ms
    #[arg(long, value_name = "MS")]
    pub log_copy_interval: Option<u64>,
    /// Record the backup in the server's history table (MariaDB: mysql.mariadb_backup_history,
    /// MySQL 5.7: PERCONA_SCHEMA.xtrabackup_history), under NAME (empty if none given)
    #[arg(long, value_name = "NAME", num_args = 0..=1, require_equals = true)]
    pub history: Option<Option<String>>,
    /// Have the server checkpoint (SET GLOBAL innodb_log_checkpoint_now=ON) before the backup
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true)]
    pub innodb_log_checkpoint_now: Option<Option<String>>,
    /// Checked as mariabackup checks it (a power of two, 512 to 4096); changes nothing
    /// else: innohot writes no redo during a backup
    #[arg(long, value_name = "BYTES")]
    pub innodb_log_write_ahead_size: Option<String>,
    /// Write xtrabackup_slave_info: CHANGE MASTER statements (and SET GLOBAL gtid_slave_pos) that point
    /// a clone of this replica at its masters, read under the lock (MariaDB: SHOW ALL SLAVES STATUS)
    #[arg(long)]
    pub slave_info: bool,
    /// Write xtrabackup_galera_info (wsrep_local_state_uuid:wsrep_last_committed, read under the
    /// lock) on a Galera node; elsewhere mariabackup's warning, and the backup goes on
    #[arg(long)]
    pub galera_info: bool,
    /// Accepted for mariabackup's scripts: innohot checks every page it copies (checksum and LSN)
    /// whether or not this is given; encrypted pages, which it adds decryption for, are refused
    #[arg(long)]
    pub extended_validation: bool,
    /// Refused, as mariabackup refuses it on a backup: a backup reads a running server (prepare's option)
    #[arg(long, value_name = "N")]
    pub innodb_force_recovery: Option<String>,
    /// mariabackup's way to read the data files: O_DIRECT or O_DIRECT_NO_FSYNC read them with
    /// O_DIRECT (as --direct), fsync, O_DSYNC, littlesync, nosync through the page cache
    #[arg(long, value_name = "METHOD")]
    pub innodb_flush_method: Option<String>,
    /// Take no lock at all (no BACKUP STAGE, no FLUSH TABLES WITH READ LOCK): only when every table is
    /// InnoDB and no DDL runs during the backup; xtrabackup_binlog_info is then not consistent with the data
    #[arg(long)]
    pub no_lock: bool,
    /// Before the lock, wait up to SECONDS for long queries (see --ftwrl-wait-threshold) to end, and fail
    /// if one still runs; the lock statements then also wait at most SECONDS (0, the default: no wait)
    #[arg(long, value_name = "SECONDS")]
    pub ftwrl_wait_timeout: Option<u64>,
    /// With --ftwrl-wait-timeout: only queries running at least this long hold up the lock (default 60)
    #[arg(long, value_name = "SECONDS")]
    pub ftwrl_wait_threshold: Option<u64>,
    /// With --ftwrl-wait-timeout: ALL queries hold up the lock (the default), or only UPDATE ones (writes)
    #[arg(long, value_name = "ALL|UPDATE")]
    pub ftwrl_wait_query_type: Option<String>,
    /// On a replica: stop its SQL thread before the backup, until no temporary table of the
    /// replication is open (Slave_open_temp_tables = 0), and start it again after the backup
    #[arg(long)]
    pub safe_slave_backup: bool,
    /// How long --safe-slave-backup waits for Slave_open_temp_tables to become 0 (default 300)
    #[arg(long, value_name = "SECONDS")]
    pub safe_slave_backup_timeout: Option<u64>,
    /// Accepted for mariabackup's scripts: innohot's log is the same either way
    #[arg(long)]
    pub verbose: bool,
    /// Accepted for mariabackup's scripts: core dumps are the system's setting (ulimit -c)
    #[arg(long)]
    pub core_file: bool,
    /// Partial backup: only these databases and db.table tables (space-separated)
    #[arg(long, value_name = "NAMES")]
    pub databases: Vec<String>,
    /// Partial backup: never these databases and db.table tables (space-separated)
    #[arg(long, value_name = "NAMES")]
    pub databases_exclude: Vec<String>,
    /// Partial backup: the --databases names, one per line of FILE
    #[arg(long, value_name = "FILE")]
    pub databases_file: Option<PathBuf>,
    /// Partial backup: only tables whose db.table a regular expression finds (comma-separated)
    #[arg(long, value_name = "REGEX")]
    pub tables: Vec<String>,
    /// Partial backup: never tables whose db.table a regular expression finds (wins over includes)
    #[arg(long, value_name = "REGEX")]
    pub tables_exclude: Vec<String>,
    /// Partial backup: only the db.table tables listed one per line of FILE
    #[arg(long, value_name = "FILE")]
    pub tables_file: Option<PathBuf>,
    /// Print a JSON summary of the run on stdout (also on failure)
    #[arg(long)]
    pub json: bool,
    /// Write the backup to stdout as an xbstream (FORMAT: xbstream), for `mbstream -x` or
    /// `innohot extract`; --target-dir is then not needed. The stream ends with innohot_manifest
    /// only when the backup completed
    #[arg(long, value_name = "FORMAT")]
    pub stream: Option<String>,
    /// Compress each streamed file with zstd (ALGORITHM: zstd), sent as NAME.zst as XtraBackup 8.0
    /// does; needs --stream=xbstream. `innohot extract --decompress` or `zstd -d` undo it
    #[arg(long, value_name = "ALGORITHM", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub compress: Option<String>,
    /// zstd's level for --compress=zstd: 1 (the default, as XtraBackup's: fastest) to 19
    #[arg(long, value_name = "N")]
    pub compress_zstd_level: Option<i32>,
    /// Threads compressing for --compress=zstd (default: every core)
    #[arg(long, value_name = "N")]
    pub compress_threads: Option<usize>,
    /// No progress output: only errors (and --json)
    #[arg(long)]
    pub quiet: bool,
    /// Test only: wait this long before the lock
    #[arg(long, value_name = "MS", hide = true)]
    pub debug_pause_before_lock_ms: Option<u64>,
    /// Test only: leave this SCHEMA/TABLE out of the copy
    #[arg(long, value_name = "SCHEMA/TABLE", hide = true)]
    pub debug_skip_tablespace: Option<String>,
}

/// `innohot prepare` (also `innohot --prepare`).
#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Applies the redo copied into ib_logfile0 from its checkpoint to last_lsn (xtrabackup_checkpoints),
writes back only the pages it changes, then writes a fresh ib_logfile0 and, last, backup_type =
log-applied. An interrupted prepare can be run again. A prepared backup is left alone (exit 0).
Refused, backup unchanged, exit 1: an incomplete or failed backup; a file a server needs missing
(backup-my.cnf, the system tablespace files of its innodb_data_file_path, undo001..N of its
innodb_undo_tablespaces, the .ibd of an InnoDB table whose .frm is there, a tablespace the redo
changes); xtrabackup_checkpoints inconsistent; a damaged log or page; an encrypted backup; a system
tablespace of several files (use mariabackup --prepare); another prepare of the same backup
running (innohot_prepare.lock). ROW_FORMAT=COMPRESSED and PAGE_COMPRESSED tables are prepared; an
undo tablespace the redo truncated is cut to its new size.

--export (MariaDB backups, as mariabackup --export): after the redo is applied, the MariaDB server
binary (--mariadbd, same series as the backup's server) starts on the backup in bootstrap mode,
rolls back the transactions open at the backup's end, runs FLUSH TABLES ... FOR EXPORT for every
table with a .frm and an .ibd, and shuts down slowly. Every location it could write is pinned
inside the backup and the .isl links to DATA DIRECTORY files are moved aside while it runs, so it
never touches the source server's files. A table the server could not export is named (no .cfg).

Exit codes: 0 prepared (or already prepared), 1 refused or failed; bad input (options) exits 1 too.")]
pub struct PrepareCmd {
    /// The backup directory
    #[arg(long, value_name = "DIR", required = true)]
    pub target_dir: PathBuf,
    /// Apply the incremental backup in DIR to the prepared backup in --target-dir (its next link:
    /// from_lsn = the target's to_lsn); DIR itself is only read
    #[arg(long, value_name = "DIR")]
    pub incremental_dir: Option<PathBuf>,
    /// Accepted for mariabackup's scripts, and must be readable: prepare takes the
    /// server settings it needs from the backup's own backup-my.cnf
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    /// As --defaults-file
    #[arg(long, value_name = "SUFFIX")]
    pub defaults_group_suffix: Option<String>,
    /// Also write a .cfg file beside each table's .ibd for IMPORT TABLESPACE (MariaDB backups):
    /// the MariaDB server binary runs on the prepared backup in bootstrap mode and writes them
    #[arg(long)]
    pub export: bool,
    /// Refused with the way to do it: innohot's prepare leaves XA PREPARED transactions to the
    /// server, which keeps them prepared (XA RECOVER lists them; end each with XA ROLLBACK)
    #[arg(long)]
    pub rollback_xa: bool,
    /// The MariaDB server binary --export runs (default: mariadbd on PATH or in /usr/sbin);
    /// it must be of the backup's series (10.11 for a 10.11 backup)
    #[arg(long, value_name = "PATH")]
    pub mariadbd: Option<PathBuf>,
    /// Accepted for mariabackup's scripts: innohot's prepare never rolls back
    /// (the server does at its start), so every prepare is log-only
    #[arg(long)]
    pub apply_log_only: bool,
    /// After the prepare, log the binlog position of InnoDB's last commit ("Last binlog file F, position N")
    /// and write it to xtrabackup_binlog_pos_innodb (ON, AUTO or 1; OFF or 0: not)
    #[arg(long, value_name = "ON|OFF", num_args = 0..=1, require_equals = true)]
    pub binlog_info: Option<Option<String>>,
    /// mariabackup's permission to skip corrupt pages (at most 1; also innodb_force_recovery= in
    /// --defaults-file): accepted and logged, but innohot's prepare still stops at a corrupt page
    #[arg(long, value_name = "N")]
    pub innodb_force_recovery: Option<String>,
    #[command(flatten)]
    pub common: CommonRestore,
}

/// Options every restore command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonRestore {
    /// Print a JSON summary on stdout (also on failure)
    #[arg(long)]
    pub json: bool,
    /// Only errors (and --json)
    #[arg(long)]
    pub quiet: bool,
    /// The buffer pool of prepare --export's server (default 100M); else not used (innohot
    /// holds only the pages the redo names)
    #[arg(long, value_name = "SIZE")]
    pub use_memory: Option<String>,
    /// Accepted for script compatibility, not used (prepare uses up to two threads of its own)
    #[arg(long, value_name = "N")]
    pub parallel: Option<u32>,
    /// Accepted for compatibility: innohot reads no option file unless named
    #[arg(long)]
    pub no_defaults: bool,
    /// Accepted for mariabackup's scripts: innohot's log is the same either way
    #[arg(long)]
    pub verbose: bool,
    /// Connection options mariabackup's scripts pass to every command: accepted and not used
    /// (only backup connects to a server)
    #[arg(long, hide = true, value_name = "NAME")]
    pub user: Option<String>,
    #[arg(long, hide = true, value_name = "HOST")]
    pub host: Option<String>,
    #[arg(long, hide = true, value_name = "PORT")]
    pub port: Option<String>,
    #[arg(long, hide = true, value_name = "PATH")]
    pub socket: Option<String>,
    #[arg(long, hide = true, value_name = "TCP|SOCKET")]
    pub protocol: Option<String>,
}

/// `innohot copy-back` / `move-back` (also `--copy-back`, `--move-back`).
#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Only into a missing or empty datadir, only a prepared backup; nothing is ever overwritten (every
destination is checked before the first byte is written). ibdata*, undo* and ib_logfile0 go to
innodb_data_home_dir, innodb_undo_directory and innodb_log_group_home_dir when --defaults-file
names them ([mysqld], [server], [mariadb], [mariadbd]), else to the datadir; a DATA DIRECTORY
table goes back to the path its .isl names. xtrabackup_*, backup-my.cnf and innohot_* stay in
the backup. Files are fdatasynced, directories fsynced.

Exit codes: 0 done, 1 refused or failed; bad input (options) exits 1 too.")]
pub struct RestoreCmd {
    /// The prepared backup directory
    #[arg(long, value_name = "DIR", required = true)]
    pub target_dir: PathBuf,
    /// The server's datadir (missing or empty); default: datadir= from --defaults-file
    #[arg(long, value_name = "DIR")]
    pub datadir: Option<PathBuf>,
    /// The server's option file: datadir, innodb_data_home_dir, innodb_undo_directory, innodb_log_group_home_dir
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    /// Also read the groups named with this suffix ([mysqld.1] for .1), after the plain ones
    #[arg(long, value_name = "SUFFIX")]
    pub defaults_group_suffix: Option<String>,
    /// Put DATA DIRECTORY tables inside the datadir (the .isl is rewritten to point there)
    #[arg(long)]
    pub remote_tablespaces_inside_datadir: bool,
    /// Give every restored file and directory this owner: USER, USER:GROUP or UID:GID
    /// (default: the backup's owners when run as root, else the caller's)
    #[arg(long, value_name = "USER[:GROUP]")]
    pub chown: Option<String>,
    /// Where ibdata* go (wins over --defaults-file); relative to the datadir; empty: the datadir
    /// (innodb_data_file_path's absolute paths then stand as they are)
    #[arg(long, value_name = "DIR")]
    pub innodb_data_home_dir: Option<String>,
    /// The server's system tablespace files (wins over --defaults-file): the backup's file of each
    /// name goes to its path there (absolute, or under --innodb-data-home-dir / the datadir)
    #[arg(long, value_name = "SPEC")]
    pub innodb_data_file_path: Option<String>,
    /// Where undo* go (wins over --defaults-file); relative to the datadir
    #[arg(long, value_name = "DIR")]
    pub innodb_undo_directory: Option<PathBuf>,
    /// Where ib_logfile0 goes (wins over --defaults-file); relative to the datadir
    #[arg(long, value_name = "DIR")]
    pub innodb_log_group_home_dir: Option<PathBuf>,
    /// Where aria_log_control and aria_log.* go (wins over --defaults-file); relative to the datadir
    #[arg(long, value_name = "DIR")]
    pub aria_log_dir_path: Option<PathBuf>,
    /// Accepted for mariabackup's scripts, not applied: copy-back reads at full speed (a warning says so)
    #[arg(long, value_name = "N")]
    pub throttle: Option<u64>,
    #[command(flatten)]
    pub common: CommonRestore,
}

/// `innohot mysql57-log-group`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Writes ib_logfile0..N-1 into the backup directory from xtrabackup_logfile (the copied redo), with the
backup's start checkpoint in file 0. Then start a MySQL 5.7 server on the backup directory with the
same innodb_log_files_in_group and innodb_log_file_size (printed), let its crash recovery finish, and
shut it down cleanly (innodb_fast_shutdown=0): the directory is then a consistent datadir. Nothing in
the backup is changed or replaced; an existing ib_logfile* is refused.

Exit codes: 0 written, 1 refused or failed; bad input (options) exits 1 too.")]
pub struct LogGroupCmd {
    /// The MySQL 5.7 backup directory
    #[arg(long, value_name = "DIR", required = true)]
    pub target_dir: PathBuf,
    /// Files in the group (the server's innodb_log_files_in_group, at least 2)
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub innodb_log_files_in_group: u32,
    /// Size of each file, e.g. 48M (the server's innodb_log_file_size); default: 48M or the
    /// smallest whole MiB that holds the copied redo
    #[arg(long, value_name = "SIZE", value_parser = parse_log_file_size)]
    pub innodb_log_file_size: Option<u64>,
    #[command(flatten)]
    pub common: CommonRestore,
}

/// `48M`, `1G`, `50331648`: a whole number of MiB, as MySQL 5.7 takes it.
fn parse_log_file_size(raw: &str) -> Result<u64, String> {
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits.parse().map_err(|_| format!("'{raw}' is not a size such as 48M"))?;
    let mult: u64 = match unit {
        "" => 1,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return Err(format!("'{raw}': use a size in M or G, such as 48M")),
    };
    match n.checked_mul(mult) {
        Some(v) if v >= 4 << 20 && v % (1 << 20) == 0 => Ok(v),
        _ => Err(format!("'{raw}': MySQL 5.7 takes a whole number of MiB, at least 4M")),
    }
}

#[derive(Args, Debug, Clone)]
#[command(after_help = "Exit codes: 0 the backup is complete and every page valid, 1 a problem was found \
                        (each is listed); bad input (options) exits 1 too.")]
pub struct VerifyCmd {
    /// The backup directory to check
    #[arg(long, value_name = "DIR", required = true)]
    pub target_dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Every chunk's CRC-32 is checked; each file must come in order and end with its end chunk, so a
stream cut short (even between two chunks, which mbstream -x accepts) is refused, naming the
files it left unfinished. Files are created exclusively (0640, directories 0750) and fdatasynced.

Exit codes: 0 every file extracted whole, 1 a damaged or truncated stream or an I/O error (what was
extracted stays, for inspection); bad input (options) exits 1 too.")]
pub struct ExtractCmd {
    /// Where the files go: a new or empty directory (mbstream's -C)
    #[arg(long, short = 'C', value_name = "DIR", required = true)]
    pub target_dir: PathBuf,
    /// The stream: a file, or - (the default) for stdin
    #[arg(value_name = "STREAM", default_value = "-")]
    pub stream: PathBuf,
    /// Accepted for mbstream's command line (-x): extracting is what this command does
    #[arg(short = 'x', long = "extract")]
    pub extract: bool,
    /// Write each NAME.zst of the stream (backup --compress=zstd) as NAME, decompressed
    #[arg(long)]
    pub decompress: bool,
    /// Threads writing (and decompressing) files, each file on one of them (mbstream's -p)
    #[arg(long, short = 'p', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Accepted for mbstream's command line (-v); innohot extract always says what it did
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DemoCmd {
    /// Keep the simulated server and the backup here (new or empty); default a temporary directory
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[command(after_help = "Scenarios: default lap torn source-eio target-enospc target-eio fsync-fail \
                        connection-drop kill ddl mixed (and `all` with --seeds).")]
pub struct SimCmd {
    /// One simulated backup with this seed
    #[arg(long, value_name = "N", conflicts_with_all = ["seeds", "config"])]
    pub seed: Option<u64>,
    /// Many seeds (A..B, A < B): a table per scenario, a replay line per wrong result
    #[arg(long, value_name = "A..B", value_parser = parse_seed_range, conflicts_with = "config")]
    pub seeds: Option<(u64, u64)>,
    /// A scenario, or `all` (with --seeds)
    #[arg(long, value_name = "S")]
    pub scenario: Option<String>,
    /// The simulated server: mysql57 (the default) or mariadb, or `all` (with --seeds)
    #[arg(long, value_name = "F")]
    pub flavor: Option<String>,
    /// Replay the run a printed config line describes
    #[arg(long, value_name = "LINE")]
    pub config: Option<String>,
    /// Print the run's phase trace
    #[arg(long)]
    pub trace: bool,
    /// With --seeds: also fail when a flavor's scenario never reached what it aims
    /// at (a lap, a torn read, a fault, ...), since its verdicts then prove little
    #[arg(long, requires = "seeds")]
    pub require_reached: bool,
}

fn parse_seed_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || "needs A..B with A < B".to_string();
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a < b {
        Ok((a, b))
    } else {
        Err(bad())
    }
}

/// Why the command line cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// `--help` / `--version`: text for stdout, exit 0.
    Help(String),
    /// Exit 1 with this message.
    Bad(String),
    /// An option innohot does not know: exit 1 too, but as `mariabackup` (see `getopt_code`)
    /// my_getopt's code: `valued` (`--name=value`) 7, a bare `--name` 2.
    Unknown { msg: String, valued: bool },
}

/// my_getopt's EXIT_ARGUMENT_INVALID: mariabackup's exit code for a value its option does not
/// take (`innodb-flush-method=blablabla`), when innohot runs as `mariabackup`.
pub const GETOPT_INVALID_VALUE: u8 = 13;

/// mariabackup's exit code for an unknown option (my_getopt: EXIT_UNKNOWN_VARIABLE 7 for
/// `name=value`, EXIT_UNKNOWN_OPTION 2 for a bare name).
pub fn getopt_code(valued: bool) -> u8 {
    if valued {
        7
    } else {
        2
    }
}

#[cfg(test)]
impl UsageError {
    pub fn message(&self) -> &str {
        match self {
            UsageError::Help(s) | UsageError::Bad(s) | UsageError::Unknown { msg: s, .. } => s,
        }
    }
}

/// The arguments after preprocessing, ready for clap.
#[derive(Debug, Default)]
pub struct Prepared {
    pub args: Vec<String>,
    /// `--password=VALUE` from the command line (taken out of `args`).
    pub password: Option<String>,
    /// A bare `--password` or `-p`: ask on the terminal.
    pub ask_password: bool,
    /// `--loose-X` options innohot does not know, dropped (each gets a warning).
    pub loose_ignored: Vec<String>,
    /// The words after `--mysqld-args`: the server's options, as mariabackup passes them to its
    /// embedded server (see `options::server_args`).
    pub server_args: Vec<String>,
    /// `--innobackupex`: innobackupex's spelling (messages name `--apply-log` for `--prepare`).
    pub innobackupex: bool,
}

const MODES: [(&str, &str); 4] =
    [("backup", "backup"), ("prepare", "prepare"), ("copy-back", "copy-back"), ("move-back", "move-back")];

pub const PASSWORD_HOW: &str = "give the password as --password=VALUE, in INNOHOT_PASSWORD, or as password= in the \
                            [client] group of --defaults-file (the latter two keep it out of the process list)";

/// Turns `args` (without the program name) into what clap parses. Never puts
/// a password (or the word after a bare `--password`) into an error.
pub fn prepare(args: &[String]) -> Result<Prepared, UsageError> {
    // mariabackup's `--mysqld-args`: what follows is the server's, not the tool's.
    let (args, server_args) = match args.iter().position(|a| long_name(a).as_deref() == Some("mysqld-args")) {
        Some(i) => (&args[..i], args[i + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    // my_getopt's `-?` is `--help`.
    let mut args: Vec<String> = args.iter().map(|a| if a == "-?" { "--help".to_string() } else { a.clone() }).collect();
    let extracting = args.first().is_some_and(|a| a == "extract");
    if !extracting && args.iter().any(|a| long_name(a).as_deref() == Some("decompress")) {
        return Err(UsageError::Bad(DECOMPRESS_REFUSED.into()));
    }
    let before = args.len();
    args.retain(|a| long_name(a).as_deref() != Some("innobackupex"));
    let innobackupex = args.len() != before;
    if innobackupex {
        args = crate::innobackupex::rewrite(&args, crate::now_unix())?;
    }
    let mut out = prepare_words(args)?;
    out.server_args = server_args;
    out.innobackupex = innobackupex;
    Ok(out)
}

/// mariabackup's `--decompress` undoes its `--compress` (qpress files), which innohot does not make.
const DECOMPRESS_REFUSED: &str = "--decompress: innohot does not decompress mariabackup's --compress (.qp files): \
                                  decompress the backup with mariabackup --decompress (it needs qpress), then use \
                                  innohot on the result; innohot's own --compress=zstd stream is decompressed by \
                                  innohot extract --decompress";

/// A long option's name (`-` for `_`, without `loose-` or a value): `--Loose_No_Lock=1` is `no-lock`.
pub fn long_name(arg: &str) -> Option<String> {
    let name = arg.strip_prefix("--")?.split('=').next().unwrap_or_default().replace('_', "-");
    Some(name.strip_prefix("loose-").map(str::to_string).unwrap_or(name))
}

/// Whether `--name` of `command` takes the next word as its value (`--user NAME`); a password
/// option does too (`--password VALUE`, as mariabackup reads it).
pub fn takes_separate_value(command: &str, name: &str) -> bool {
    if name == "password" || name == "pass" {
        return true;
    }
    let cmd = Cli::command();
    let Some(sub) = cmd.find_subcommand(command) else { return false };
    let takes = sub
        .get_arguments()
        .find(|a| a.get_long() == Some(name))
        .is_some_and(|a| a.get_action().takes_values() && !a.is_require_equals_set());
    takes
}

fn prepare_words(mut args: Vec<String>) -> Result<Prepared, UsageError> {
    // The xtrabackup spelling: the mode is an option, anywhere on the line.
    let first_is_command = args.first().is_some_and(|a| !a.starts_with('-'));
    if !first_is_command {
        let mut modes = Vec::new();
        args.retain(|a| {
            let name = a.strip_prefix("--").map(|n| n.replace('_', "-"));
            match MODES.iter().find(|(flag, _)| name.as_deref() == Some(flag)) {
                Some((_, cmd)) => {
                    modes.push(*cmd);
                    false
                }
                None => true,
            }
        });
        match modes.as_slice() {
            [] => {}
            [one] => args.insert(0, one.to_string()),
            many => {
                return Err(UsageError::Bad(format!(
                    "give one of --backup, --prepare, --copy-back, --move-back, not {}",
                    many.iter().map(|m| format!("--{m}")).collect::<Vec<_>>().join(" and ")
                )))
            }
        }
    }
    let command = args.first().cloned().unwrap_or_default();
    if !["backup", "prepare", "copy-back", "move-back"].contains(&command.as_str()) {
        return Ok(Prepared { args, ..Prepared::default() });
    }
    let known = known_long_options(&command);
    let mut out = Prepared { args: vec![command.clone()], ..Prepared::default() };
    let mut it = args.into_iter().skip(1).peekable();
    while let Some(arg) = it.next() {
        // A bare --password or -p asks on the terminal, as the mysql clients do. A word right
        // after --password is its value, as mariabackup reads it; after -p it is refused unseen
        // (the clients would take it for a database name, mariabackup for the password).
        let (bare_long, bare_short) = (is_bare_password(&arg), arg == "-p");
        if bare_long || bare_short {
            if it.peek().is_some_and(|next| !next.starts_with('-')) {
                if bare_long {
                    out.password = it.next();
                    continue;
                }
                return Err(UsageError::Bad(format!(
                    "-p takes no separate value (the word after it is not shown, it may be a password): {PASSWORD_HOW}"
                )));
            }
            out.ask_password = true;
            continue;
        }
        if arg == "--" {
            out.args.push(arg);
            out.args.extend(it.by_ref());
            break;
        }
        let Some(long) = arg.strip_prefix("--") else {
            // The MySQL clients' short forms: -pPASSWORD (never a separate word), -uUSER, -u USER.
            if let Some(password) = arg.strip_prefix("-p") {
                out.password = Some(password.to_string());
            } else if let Some(user) = arg.strip_prefix("-u") {
                let user = match user {
                    "" => it.next().ok_or_else(|| UsageError::Bad("-u needs a user name: -u NAME or -uNAME".into()))?,
                    attached => attached.to_string(),
                };
                out.args.push(format!("--user={user}"));
            } else {
                out.args.push(arg);
            }
            continue;
        };
        let (name, value) = match long.split_once('=') {
            Some((n, v)) => (n.replace('_', "-"), Some(v.to_string())),
            None => (long.replace('_', "-"), None),
        };
        let (name, loose) = match name.strip_prefix("loose-") {
            Some(n) => (n.to_string(), true),
            None => (name, false),
        };
        if let (true, Some(v)) = (name == "password" || name == "pass", &value) {
            out.password = Some(v.clone());
            continue;
        }
        if loose && !known.contains(&name) {
            out.loose_ignored.push(name);
            continue;
        }
        out.args.push(match value {
            Some(v) => format!("--{name}={v}"),
            None => format!("--{name}"),
        });
    }
    Ok(out)
}

fn is_bare_password(arg: &str) -> bool {
    let Some(name) = arg.strip_prefix("--") else { return false };
    let name = name.replace('_', "-");
    let name = name.strip_prefix("loose-").unwrap_or(&name);
    name == "password" || name == "pass"
}

/// Long option names of a subcommand (what `loose-` may refer to).
fn known_long_options(command: &str) -> Vec<String> {
    let cmd = Cli::command();
    cmd.find_subcommand(command)
        .map(|c| c.get_arguments().filter_map(|a| a.get_long().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Parses a whole command line (without the program name).
pub fn parse(args: &[String]) -> Result<(Cli, Prepared), UsageError> {
    let prepared = prepare(args)?;
    let argv = std::iter::once("innohot".to_string()).chain(prepared.args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(cli) => Ok((cli, prepared)),
        Err(e) => Err(match clap_error(e) {
            // clap names the option without its value: whether it had one is in the words.
            UsageError::Unknown { msg, .. } => {
                let name = msg.strip_prefix("unknown option ").and_then(|m| m.split(':').next()).unwrap_or_default();
                let valued = prepared.args.iter().any(|a| a.strip_prefix(name).is_some_and(|v| v.starts_with('=')));
                UsageError::Unknown { msg, valued }
            }
            other => other,
        }),
    }
}

/// clap's error as one sentence: the option, what is wrong, where help is.
pub fn clap_error(e: clap::Error) -> UsageError {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let ctx = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        _ => String::new(),
    };
    // "--chunk-size <BYTES>" -> "--chunk-size"
    let option = |s: String| s.split([' ', '=']).next().unwrap_or_default().to_string();
    let msg = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => return UsageError::Help(e.render().to_string()),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            "give a command: backup, verify, prepare, copy-back, move-back, demo or sim".to_string()
        }
        ErrorKind::UnknownArgument => {
            let arg = ctx(ContextKind::InvalidArg);
            let name = arg.split('=').next().unwrap_or_default();
            if arg.starts_with("--") {
                let msg = format!("unknown option {name}: innohot does not implement it (see innohot COMMAND --help)");
                return UsageError::Unknown { msg, valued: arg.contains('=') };
            } else {
                format!("unexpected argument '{arg}' (see innohot --help)")
            }
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let arg = option(ctx(ContextKind::InvalidArg));
            let value = ctx(ContextKind::InvalidValue);
            let source = std::error::Error::source(&e);
            let is_number = source.is_some_and(|s| s.downcast_ref::<std::num::ParseIntError>().is_some());
            match source {
                _ if value.is_empty() => format!("{arg} needs a value"),
                Some(s) if !is_number => format!("{arg} {s}, not '{value}'"),
                _ => format!("{arg} needs a number, not '{value}'"),
            }
        }
        ErrorKind::InvalidSubcommand => {
            format!(
                "unknown command '{}' (commands: backup, verify, prepare, copy-back, move-back, demo, sim; see innohot --help)",
                ctx(ContextKind::InvalidSubcommand)
            )
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = ctx(ContextKind::InvalidArg);
            format!("{missing} is missing: give it (the command cannot run without it)")
        }
        ErrorKind::NoEquals => format!("{} needs =VALUE", option(ctx(ContextKind::InvalidArg))),
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.strip_prefix("error: ").unwrap_or(first).to_string()
        }
    };
    UsageError::Bad(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::strings as v;

    #[test]
    fn xtrabackup_spelling_becomes_a_command() {
        let p =
            prepare(&v(&["--defaults-file=/f", "--backup", "--target_dir=/b", "--loose-bogus=1", "--loose-user=u"]))
                .unwrap();
        assert_eq!(p.args, v(&["backup", "--defaults-file=/f", "--target-dir=/b", "--user=u"]));
        assert_eq!(p.loose_ignored, v(&["bogus"]));
        let (cli, _) = parse(&v(&["--prepare", "--target-dir=/b", "--use-memory=1G"])).unwrap();
        assert!(matches!(cli.command, Command::Prepare(ref p) if p.target_dir == std::path::Path::new("/b")));
        let (cli, _) = parse(&v(&["--copy-back", "--target-dir=/b", "--datadir=/d"])).unwrap();
        assert!(matches!(cli.command, Command::CopyBack(_)));
        assert!(prepare(&v(&["--backup", "--prepare"])).unwrap_err().message().contains("give one of"));
    }

    #[test]
    fn the_password_never_reaches_clap_or_an_error() {
        let p = prepare(&v(&["backup", "--password=s3cret", "--user=u"])).unwrap();
        assert_eq!(p.password.as_deref(), Some("s3cret"));
        assert!(!p.args.iter().any(|a| a.contains("s3cret")));
        for wrong in [&["backup", "-p", "s3cret"][..], &["backup", "-p", "s3cret", "--user=u"]] {
            let e = parse(&v(wrong)).unwrap_err();
            assert!(!e.message().contains("s3cret"), "{e:?}");
            assert!(e.message().contains("INNOHOT_PASSWORD"), "{e:?}");
        }
    }

    #[test]
    fn short_user_and_password_as_the_clients_take_them() {
        for line in [&["--backup", "-ubackup", "-ps3cret"][..], &["backup", "-u", "backup", "-ps3cret"]] {
            let p = prepare(&v(line)).unwrap();
            assert_eq!(p.password.as_deref(), Some("s3cret"), "{line:?}");
            assert_eq!(p.args, v(&["backup", "--user=backup"]), "{line:?}");
        }
        assert!(prepare(&v(&["backup", "-u"])).unwrap_err().message().contains("-u needs a user name"));
    }

    #[test]
    fn mariabackup_words_before_clap() {
        assert!(matches!(parse(&v(&["-?"])), Err(UsageError::Help(h)) if h.contains("backup")));
        let p = prepare(&v(&["--backup", "--target-dir=/b", "--mysqld-args", "--unknown-option", "--port=1"])).unwrap();
        assert_eq!(p.args, v(&["backup", "--target-dir=/b"]));
        assert_eq!(p.server_args, v(&["--unknown-option", "--port=1"]));
        let e = prepare(&v(&["--decompress", "--target-dir=/b"])).unwrap_err();
        assert!(matches!(&e, UsageError::Bad(m) if m.contains("does not decompress")), "{e:?}");
        let p = prepare(&v(&["--innobackupex", "--apply-log", "--innodb-force-recovery=2", "/b"])).unwrap();
        assert!(p.innobackupex);
        assert_eq!(p.args, v(&["prepare", "--innodb-force-recovery=2", "--target-dir=/b"]));
        assert_eq!(long_name("--loose_no_lock=1").as_deref(), Some("no-lock"));
        assert!(takes_separate_value("backup", "user") && !takes_separate_value("backup", "history"));
        assert!(!takes_separate_value("backup", "no-lock"));
    }

    #[test]
    fn password_as_a_separate_word_as_mariabackup_reads_it() {
        let p = prepare(&v(&["backup", "--user", "backup", "--password", "xyz", "--slave-info"])).unwrap();
        assert_eq!(p.password.as_deref(), Some("xyz"));
        assert_eq!(p.args, v(&["backup", "--user", "backup", "--slave-info"]));
        assert!(!p.ask_password);
    }

    #[test]
    fn a_bare_password_option_asks() {
        for bare in ["--password", "-p", "--loose_password"] {
            let p = prepare(&v(&["backup", bare, "--user=u"])).unwrap();
            assert!(p.ask_password && p.password.is_none(), "{bare}");
            assert_eq!(p.args, v(&["backup", "--user=u"]));
        }
    }

    #[test]
    fn usage_errors_are_one_sentence_and_help_is_help() {
        let bad = |a: &[&str]| match parse(&v(a)) {
            Err(UsageError::Bad(m)) | Err(UsageError::Unknown { msg: m, .. }) => m,
            other => panic!("{other:?}"),
        };
        assert!(bad(&["backup", "--bogus=1"]).starts_with("unknown option --bogus"));
        assert!(matches!(parse(&v(&["--backup", "--bogus=1"])), Err(UsageError::Unknown { valued: true, .. })));
        assert!(matches!(parse(&v(&["--backup", "--bogus"])), Err(UsageError::Unknown { valued: false, .. })));
        assert_eq!((getopt_code(true), getopt_code(false)), (7, 2));
        assert_eq!(bad(&["backup", "--port=x"]), "--port needs a number, not 'x'");
        assert!(bad(&["frob"]).contains("unknown command"));
        assert!(bad(&[]).starts_with("give a command"));
        assert_eq!(bad(&["sim", "--seeds=5..2"]), "--seeds needs A..B with A < B, not '5..2'");
        assert!(matches!(parse(&v(&["backup", "--help"])), Err(UsageError::Help(h)) if h.contains("--target-dir")));
        assert!(matches!(parse(&v(&["--help"])), Err(UsageError::Help(h)) if h.contains("backup")));
    }
}
