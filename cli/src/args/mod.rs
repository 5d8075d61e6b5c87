//! The command line as clap sees it, and what happens before clap: the
//! xtrabackup/mariabackup spelling (`innohot --backup --target-dir=X`), the
//! `loose-` prefix, `_` for `-` in option names, and the password, which is
//! taken out of the arguments so no parser, error or help text ever holds it.

mod backup;
mod words;

pub use backup::BackupCmd;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
pub use words::*;

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

/// A value clap's value parsers refuse; clap_error puts the option and the value around it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadValue {
    #[error("'{0}' is not a size such as 48M")]
    NotASize(String),
    #[error("'{0}': use a size in M or G, such as 48M")]
    SizeUnit(String),
    #[error("'{0}': MySQL 5.7 takes a whole number of MiB, at least 4M")]
    NotWholeMib(String),
    #[error("needs A..B with A < B")]
    SeedRange,
}

/// `48M`, `1G`, `50331648`: a whole number of MiB, as MySQL 5.7 takes it.
fn parse_log_file_size(raw: &str) -> Result<u64, BadValue> {
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits.parse().map_err(|_| BadValue::NotASize(raw.into()))?;
    let mult: u64 = match unit {
        "" => 1,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return Err(BadValue::SizeUnit(raw.into())),
    };
    match n.checked_mul(mult) {
        Some(v) if v >= 4 << 20 && v % (1 << 20) == 0 => Ok(v),
        _ => Err(BadValue::NotWholeMib(raw.into())),
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

fn parse_seed_range(s: &str) -> Result<(u64, u64), BadValue> {
    let (a, b) = s.split_once("..").ok_or(BadValue::SeedRange)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| BadValue::SeedRange)?, b.parse().map_err(|_| BadValue::SeedRange)?);
    if a < b {
        Ok((a, b))
    } else {
        Err(BadValue::SeedRange)
    }
}

/// Every command's name (`backup`, ..., `mysql57-log-group`, ...), from clap's subcommands:
/// the one list of them.
pub fn command_names() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect()
}

/// Whether `name` is one of innohot's commands.
pub fn is_command(name: &str) -> bool {
    command_names().iter().any(|c| c == name)
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
