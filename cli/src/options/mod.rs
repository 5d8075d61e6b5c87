//! `innohot backup` options: the command line, then INNOHOT_PASSWORD, then
//! `--defaults-extra-file`, then `--defaults-file` (groups [mysqld] (socket
//! and port only), [client], [xtrabackup], [mariabackup], [innohot], each
//! followed by its `--defaults-group-suffix` variant; later groups win), as
//! DBAs already keep them for their other tools. Every option is declared once,
//! in `table`; every source applies it through that declaration.

mod finish;
pub mod table;
#[cfg(test)]
mod tests;
mod values;

use crate::args::{self, BackupCmd};
use crate::filter::FilterSpec;
use crate::optfile::{self, GroupKind, ReadFile};
use innohot::backup::BackupOptions;
use innohot::io::ReadPolicy;
use innohot::server::mysql::ConnectOptions;
use innohot::server::HistoryRow;
use std::path::{Path, PathBuf};
use std::time::Duration;
pub use values::Protocol;

#[derive(Debug, Default)]
pub struct BackupArgs {
    pub target_dir: Option<PathBuf>,
    pub connect: ConnectOptions,
    pub options: BackupOptions,
    /// `--datadir`: must be the server's.
    pub datadir: Option<PathBuf>,
    pub json: bool,
    pub quiet: bool,
    /// Lines to print before the backup starts (ignored loose- options, no-op settings).
    pub warnings: Vec<String>,
    /// `protocol=`: TCP ignores any socket setting.
    pub protocol: Option<Protocol>,
    /// A partial backup's names (`--databases`, `--tables`, ...).
    pub filter: FilterSpec,
    /// `--extra-lsndir`: where xtrabackup_checkpoints and xtrabackup_info are copied too.
    pub extra_lsndir: Option<PathBuf>,
    /// `--incremental-basedir`, `--incremental-lsn` and `--incremental-history-name`
    /// or `-uuid`, settled by `finish`.
    incremental: (Option<PathBuf>, Option<u64>, Option<HistoryRow>),
    /// `--stream=xbstream`: the backup goes to stdout.
    pub stream: bool,
    /// `--compress=zstd` with its level and threads.
    pub compress: Option<innohot::stream::compress::Compression>,
    /// `compress`, `compress-zstd-level` and `compress-threads` as given, settled by `finish`.
    compress_given: CompressGiven,
    /// `--databases-file` and `--tables-file`, read once every source is merged.
    filter_files: (Option<PathBuf>, Option<PathBuf>),
    /// `ftwrl-wait-timeout`, `-threshold` and `-query-type` (all queries?).
    lock_wait: (Option<u64>, Option<u64>, Option<bool>),
    /// `innodb-force-recovery` given (refused: prepare's option).
    force_recovery: bool,
    /// `--safe-slave-backup`: how long to wait for the replica's temporary tables (None: off).
    pub safe_slave_backup: Option<Duration>,
    /// `safe-slave-backup` and `safe-slave-backup-timeout` as given.
    safe_slave: (bool, Option<u64>),
    /// Which source the setters are applying now.
    layer: Layer,
}

/// The source of the options being applied, for the one option whose meaning differs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Layer {
    #[default]
    File,
    CommandLine,
}

#[derive(Debug, Default)]
struct CompressGiven {
    /// An option file's `compress`: maybe mariabackup's qpress, which is ignored there.
    file: Option<String>,
    command_line: Option<String>,
    level: Option<i32>,
    threads: Option<usize>,
}

/// From the server's groups only where it listens and keeps its data: its
/// `user=` is the OS account the server runs as, not an SQL user, and the rest
/// is the server's business (the backup asks the server for what it needs).
const FROM_SERVER: [&str; 3] = ["socket", "port", "datadir"];
/// Standard client options (every MariaDB and MySQL client takes them, so
/// they sit in shared `[client]` groups) that change nothing for a backup: it
/// sends no text whose character set matters, loads no client plugins, and
/// its two connections' buffers and timeouts are its own.
const CLIENT_NO_OPS: [&str; 10] = [
    "default-character-set",
    "character-sets-dir",
    "plugin-dir",
    "connect-timeout",
    "max-allowed-packet",
    "net-buffer-length",
    "local-infile",
    "secure-auth",
    "column-type-info",
    "auto-rehash",
];

/// Why the options cannot run: the message, and the exit code mariabackup's option parser
/// (my_getopt) gives the same mistake, when it is one of its own: an option it does not know
/// (`args::getopt_code`), a value it refuses (`args::GETOPT_INVALID_VALUE`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{msg}")]
pub struct BadOption {
    pub msg: String,
    pub getopt: Option<u8>,
}

impl BadOption {
    /// The same problem, said to be at `place` (an option file's line, `--mysqld-args`).
    fn at(self, place: &str) -> BadOption {
        BadOption { msg: format!("{place}: {}", self.msg), getopt: self.getopt }
    }
}

impl From<String> for BadOption {
    fn from(msg: String) -> Self {
        BadOption { msg, getopt: None }
    }
}

impl From<&str> for BadOption {
    fn from(msg: &str) -> Self {
        msg.to_string().into()
    }
}

impl From<innohot::server::mysql::BadSslMode> for BadOption {
    fn from(e: innohot::server::mysql::BadSslMode) -> Self {
        e.to_string().into()
    }
}

impl From<optfile::BadOptionFile> for BadOption {
    fn from(e: optfile::BadOptionFile) -> Self {
        e.to_string().into()
    }
}

impl From<crate::filter::BadPattern> for BadOption {
    fn from(e: crate::filter::BadPattern) -> Self {
        e.to_string().into()
    }
}

impl std::ops::Deref for BadOption {
    type Target = str;
    fn deref(&self) -> &str {
        &self.msg
    }
}

/// Applies one option file setting (name with dashes); false if innohot does not know it there.
fn apply(a: &mut BackupArgs, name: &str, value: Option<&str>) -> Result<bool, BadOption> {
    let Some((spec, off)) = table::lookup_in_file(name) else { return Ok(false) };
    let raw = match (off, value) {
        (true, Some(_)) => return Err(format!("{name} takes no value: it turns {} off", spec.name).into()),
        (true, None) => Some("0"),
        (false, value) => value,
    };
    (spec.set)(a, table::Val { name, raw })?;
    Ok(true)
}

/// Settings from one option file (and those it includes), lowest precedence first.
fn apply_file(out: &mut BackupArgs, path: &Path, suffix: Option<&str>, read_file: ReadFile) -> Result<(), BadOption> {
    for o in optfile::read_options(path, suffix, read_file)? {
        if o.kind == GroupKind::Server && !FROM_SERVER.contains(&o.name.as_str()) {
            continue; // the server's own settings
        }
        if apply(out, &o.name, o.value.as_deref()).map_err(|e| e.at(&o.at()))? {
            continue;
        }
        if o.kind != GroupKind::Tool && CLIENT_NO_OPS.contains(&o.name.as_str()) {
            continue;
        }
        if o.loose {
            out.warnings.push(format!("{}: ignoring loose-{}: innohot does not know it", o.at(), o.name));
            continue;
        }
        let msg = format!(
            "{}: unknown option {}: innohot does not implement it; remove it, or write loose-{} to have \
             innohot ignore it",
            o.at(),
            o.name,
            o.name
        );
        return Err(BadOption { msg, getopt: Some(args::getopt_code(o.value.is_some())) });
    }
    out.options.options_source = format!("{} and the command line", path.display());
    Ok(())
}

/// `--mysqld-args`: the server's options, as in the server's option groups: where it listens and
/// keeps its data is taken (over the option files'), the rest is the server's business and
/// ignored with a warning (innohot asks the running server for what it needs).
fn server_args(out: &mut BackupArgs, words: &[String]) -> Result<(), BadOption> {
    let mut ignored = Vec::new();
    for word in words {
        match args::long_name(word) {
            Some(name) if FROM_SERVER.contains(&name.as_str()) => {
                let value = word.split_once('=').map(|(_, v)| v);
                apply(out, &name, value).map_err(|e| e.at("--mysqld-args"))?;
            }
            _ => ignored.push(word.clone()),
        }
    }
    if !ignored.is_empty() {
        out.warnings.push(format!(
            "ignoring the server options after --mysqld-args ({}): the server's settings are the running \
             server's (innohot takes only socket, port and datadir from them)",
            innohot::meta::mask_secrets(&ignored)
        ));
    }
    Ok(())
}

/// The command line's options, over what the option files set: each option's values in
/// the order given, the options in the table's order.
fn apply_command_line(out: &mut BackupArgs, cmd: &BackupCmd) -> Result<(), BadOption> {
    out.layer = Layer::CommandLine;
    // An incremental base on the command line replaces the option files' whole choice of base.
    let bases = ["incremental-basedir", "incremental-lsn", "incremental-history-name", "incremental-history-uuid"];
    if cmd.given.iter().any(|g| bases.contains(&g.spec.name)) {
        out.incremental = Default::default();
    }
    for g in &cmd.given {
        (g.spec.set)(out, table::Val { name: g.spec.name, raw: g.value.as_deref() })?;
    }
    Ok(())
}

/// The command line's values checked on their own, before any option file is read: a value
/// no setting could take is a usage error of the command line.
pub fn check_command_line(cmd: &BackupCmd) -> Result<(), BadOption> {
    apply_command_line(&mut BackupArgs::default(), cmd)
}

/// Merges the command line, INNOHOT_PASSWORD and the option files it names.
pub fn resolve(
    cmd: &BackupCmd,
    prepared: &args::Prepared,
    env_password: Option<String>,
    read_file: ReadFile,
    ask_password: &dyn Fn() -> Result<String, crate::argv::NoTerminal>,
) -> Result<BackupArgs, BadOption> {
    let mut out = BackupArgs::default();
    out.options.copy.read_policy = ReadPolicy::default();
    let (defaults, extra) =
        (cmd.value("defaults-file").map(PathBuf::from), cmd.value("defaults-extra-file").map(PathBuf::from));
    let suffix = cmd.value("defaults-group-suffix");
    for file in [&defaults, &extra].into_iter().flatten() {
        apply_file(&mut out, file, suffix, read_file)?;
    }
    if let (Some(a), Some(b)) = (&defaults, &extra) {
        out.options.options_source = format!("{}, {} and the command line", a.display(), b.display());
    }
    server_args(&mut out, &prepared.server_args)?;
    if let Some(p) = env_password {
        out.connect.password = Some(p);
    }
    if let Some(p) = &prepared.password {
        out.connect.password = Some(p.clone());
    } else if prepared.ask_password {
        out.connect.password = Some(ask_password().map_err(|e| e.to_string())?);
    }
    for name in &prepared.loose_ignored {
        out.warnings.push(format!("ignoring --loose-{name}: innohot does not know it"));
    }
    apply_command_line(&mut out, cmd)?;
    finish::finish(&mut out, prepared.innobackupex, read_file)?;
    Ok(out)
}

/// Parses `innohot backup` arguments (those after `backup`); `env_password` is INNOHOT_PASSWORD.
#[cfg(test)]
pub fn parse_backup_args(
    args: &[String],
    env_password: Option<String>,
    read_file: ReadFile,
) -> Result<BackupArgs, BadOption> {
    let line: Vec<String> = std::iter::once("backup".to_string()).chain(args.iter().cloned()).collect();
    let (cli, prepared) = args::parse(&line).map_err(|e| e.message().to_string())?;
    match cli.command {
        args::Command::Backup(cmd) => {
            resolve(&cmd, &prepared, env_password, read_file, &|| Err(crate::argv::NoTerminal))
        }
        other => Err(format!("not a backup command: {other:?}").into()),
    }
}
