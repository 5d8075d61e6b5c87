//! `innohot backup` options: the command line, then INNOHOT_PASSWORD, then
//! `--defaults-extra-file`, then `--defaults-file` (groups [mysqld] (socket
//! and port only), [client], [xtrabackup], [mariabackup], [innohot], each
//! followed by its `--defaults-group-suffix` variant; later groups win), as
//! DBAs already keep them for their other tools.

use crate::args::{self, BackupCmd};
use crate::filter::{FilterSpec, NameFilter};
use crate::optfile::{self, GroupKind};
use innohot::backup::BackupOptions;
use innohot::copy::Pacing;
use innohot::io::ReadPolicy;
use innohot::server::mysql::{ConnectOptions, SslMode};
use innohot::server::HistoryRow;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// or `-uuid`, settled by `incremental`.
    incremental: (Option<PathBuf>, Option<u64>, Option<HistoryRow>),
    /// `--stream=xbstream`: the backup goes to stdout.
    pub stream: bool,
    /// `--compress=zstd` with its level and threads.
    pub compress: Option<innohot::stream::compress::Compression>,
    /// The option files' `compress`, `compress-zstd-level` and `compress-threads`.
    compress_file: (Option<String>, Option<i32>, Option<usize>),
    /// `--databases-file` and `--tables-file`, read once every source is merged.
    filter_files: (Option<PathBuf>, Option<PathBuf>),
    /// The option files' `ftwrl-wait-timeout`, `-threshold` and `-query-type` (all queries?).
    lock_wait: (Option<u64>, Option<u64>, Option<bool>),
    /// `innodb-force-recovery` in an option file (refused: prepare's option).
    force_recovery: bool,
    /// `--safe-slave-backup`: how long to wait for the replica's temporary tables (None: off).
    pub safe_slave_backup: Option<Duration>,
    /// The option files' `safe-slave-backup` and `safe-slave-backup-timeout`.
    safe_slave: (bool, Option<u64>),
}

/// `--protocol`, as the clients spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Socket,
    Tcp,
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "socket" => Ok(Protocol::Socket),
            "tcp" => Ok(Protocol::Tcp),
            "pipe" | "memory" => Err(format!("--protocol={s} exists only on Windows: use socket or tcp")),
            _ => Err(format!("--protocol={s} is not socket or tcp")),
        }
    }
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

/// TLS settings that cannot work are refused before connecting; TLS asked for
/// over a Unix socket is not used, and a warning says so.
fn check_tls(out: &mut BackupArgs) -> Result<(), String> {
    let tls = &out.connect.tls;
    let mode = tls.mode();
    if matches!(mode, SslMode::VerifyCa | SslMode::VerifyIdentity) && tls.ca.is_none() {
        return Err(format!(
            "--ssl-mode={} needs --ssl-ca=FILE, the CA that signed the server's certificate",
            mode.name()
        ));
    }
    if tls.cert.is_some() != tls.key.is_some() {
        return Err("--ssl-cert and --ssl-key go together: give both or neither".into());
    }
    if let (Some(socket), Some(port), true) = (&out.connect.socket, out.connect.port, mode.required()) {
        out.warnings.push(format!(
            "--ssl-mode={}: TLS cannot run over the Unix socket {} with innohot: connecting to 127.0.0.1:{port} \
             over TCP with TLS instead (innohot checks that server's @@socket is {})",
            mode.name(),
            socket.display(),
            socket.display()
        ));
    } else if out.connect.socket.is_some() && mode != SslMode::Disabled {
        out.warnings.push(format!(
            "--ssl-mode={}: TLS is not used over the Unix socket (the connection does not leave this host); \
             use --host and --port for a TLS connection",
            mode.name()
        ));
    }
    Ok(())
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("--{name} needs a number, not '{}'", v.trim()))
}

/// Applies one option file setting (name with dashes); false if innohot does not know it.
fn apply(a: &mut BackupArgs, name: &str, value: Option<&str>) -> Result<bool, BadOption> {
    let need = || value.ok_or_else(|| format!("{name} needs a value ({name}=...)"));
    match name {
        "target-dir" => a.target_dir = Some(PathBuf::from(need()?)),
        "socket" => a.connect.socket = Some(PathBuf::from(need()?)),
        "host" => a.connect.host = Some(need()?.to_string()),
        "port" => a.connect.port = Some(number(name, need()?)?),
        "user" => a.connect.user = Some(need()?.to_string()),
        "password" | "pass" => a.connect.password = Some(need()?.to_string()),
        "ssl-mode" => a.connect.tls.mode = Some(need()?.parse::<SslMode>().map_err(|e| e.to_string())?),
        // The MariaDB clients' spelling of the same choices.
        "ssl" => a.connect.tls.mode = Some(if optfile::is_on(value)? { SslMode::Required } else { SslMode::Disabled }),
        "skip-ssl" => a.connect.tls.mode = Some(SslMode::Disabled),
        "ssl-verify-server-cert" => {
            if optfile::is_on(value)? {
                a.connect.tls.mode = Some(SslMode::VerifyIdentity);
            }
        }
        "protocol" => a.protocol = Some(need()?.parse()?),
        "ssl-ca" => a.connect.tls.ca = Some(PathBuf::from(need()?)),
        "ssl-cert" => a.connect.tls.cert = Some(PathBuf::from(need()?)),
        "ssl-key" => a.connect.tls.key = Some(PathBuf::from(need()?)),
        "datadir" => a.datadir = Some(PathBuf::from(need()?)),
        "parallel" => a.options.copy.parallel = parallel(number(name, need()?)?)?,
        "throttle" => a.options.copy.pacing = pacing(need()?, a.options.copy.pacing)?,
        "max-impact" => a.options.copy.pacing = max_impact(number(name, need()?)?, a.options.copy.pacing)?,
        "range-size" => a.options.copy.range_size = number(name, need()?)?,
        "chunk-size" => a.options.copy.chunk_size = number(name, need()?)?,
        "page-retries" => a.options.copy.page_retries = number(name, need()?)?,
        "retry-delay-ms" => a.options.copy.retry_delay = Duration::from_millis(number(name, need()?)?),
        "log-poll-ms" => {
            a.options.log_poll_interval = Duration::from_millis(number(name, need()?)?);
            a.options.log_poll_fixed = true;
        }
        "no-direct" => a.options.copy.read_policy.direct = false,
        "direct" => a.options.copy.read_policy.direct = true,
        "no-fadvise" => a.options.copy.read_policy.fadvise = false,
        "debug-pause-before-lock-ms" => {
            a.options.debug_pause_before_lock = Duration::from_millis(number(name, need()?)?)
        }
        "debug-skip-tablespace" => a.options.debug_skip_tablespace = Some(need()?.to_string()),
        "extra-lsndir" => a.extra_lsndir = Some(PathBuf::from(need()?)),
        "incremental-basedir" => a.incremental.0 = Some(PathBuf::from(need()?)),
        "incremental-lsn" => a.incremental.1 = Some(number(name, need()?)?),
        "incremental-history-name" => a.incremental.2 = Some(HistoryRow::Name(need()?.to_string())),
        "incremental-history-uuid" => a.incremental.2 = Some(HistoryRow::Uuid(need()?.to_string())),
        "incremental" | "incremental-force-scan" => {
            optfile::is_on(value)?;
        }
        "stream" => a.stream = stream_format(need()?)?,
        "compress" => a.compress_file.0 = Some(value.unwrap_or_default().to_string()),
        "compress-zstd-level" => a.compress_file.1 = Some(number(name, need()?)?),
        "compress-threads" => a.compress_file.2 = Some(number(name, need()?)?),
        "history" => a.options.history = Some(value.unwrap_or_default().to_string()),
        "innodb-log-checkpoint-now" => a.options.checkpoint_first = optfile::is_on(value)?,
        "slave-info" => a.options.slave_info = optfile::is_on(value)?,
        "galera-info" => a.options.galera_info = optfile::is_on(value)?,
        "extended-validation" => {
            optfile::is_on(value)?;
        }
        "no-lock" => a.options.no_lock = optfile::is_on(value)?,
        "safe-slave-backup" => a.safe_slave.0 = optfile::is_on(value)?,
        "safe-slave-backup-timeout" => a.safe_slave.1 = Some(number(name, need()?)?),
        "innodb-force-recovery" => a.force_recovery = true,
        "innodb-flush-method" => a.options.copy.read_policy.direct = flush_method(need()?)?,
        "ftwrl-wait-timeout" => a.lock_wait.0 = Some(number(name, need()?)?),
        "ftwrl-wait-threshold" => a.lock_wait.1 = Some(number(name, need()?)?),
        "ftwrl-wait-query-type" => a.lock_wait.2 = Some(query_type(need()?)?),
        "innodb-log-write-ahead-size" => write_ahead_size(a, need()?)?,
        "log-copy-interval" => {
            a.options.log_poll_interval = Duration::from_millis(number(name, need()?)?);
            a.options.log_poll_fixed = true;
        }
        // More log lines than innohot's own are not written; a core dump is the
        // system's setting (ulimit -c), not a tool's.
        "verbose" | "core-file" => {}
        "databases" => a.filter.databases.push(need()?.to_string()),
        "databases-exclude" => a.filter.databases_exclude.push(need()?.to_string()),
        "tables" => a.filter.tables.push(need()?.to_string()),
        "tables-exclude" => a.filter.tables_exclude.push(need()?.to_string()),
        "databases-file" => a.filter_files.0 = Some(PathBuf::from(need()?)),
        "tables-file" => a.filter_files.1 = Some(PathBuf::from(need()?)),
        _ => return Ok(false),
    }
    Ok(true)
}

/// mariabackup's refusal of `--innodb-force-recovery` on a backup (its words, which scripts grep;
/// innobackupex's prepare is `--apply-log`).
fn force_recovery_on_backup(innobackupex: bool) -> String {
    let prepare = if innobackupex { "--apply-log" } else { "--prepare" };
    format!(
        "\"--innodb-force-recovery\" should only be used with \"{prepare}\": a backup reads a running server; \
         the option is for prepare's recovery"
    )
}

/// `innodb-flush-method`, mariabackup's (the server's) choice of how data files are opened: whether
/// innohot reads them with O_DIRECT. A value mariabackup's option parser refuses exits as it does.
fn flush_method(v: &str) -> Result<bool, BadOption> {
    const METHODS: [&str; 6] = ["fsync", "O_DSYNC", "littlesync", "nosync", "O_DIRECT", "O_DIRECT_NO_FSYNC"];
    let v = v.trim();
    let index = METHODS.iter().position(|m| m.eq_ignore_ascii_case(v)).or_else(|| v.parse().ok());
    match index {
        Some(i) if i < METHODS.len() => Ok(i >= 4),
        _ => Err(BadOption {
            msg: format!("innodb-flush-method={v}: give one of {} (or 0 to 5)", METHODS.join(", ")),
            getopt: Some(crate::args::GETOPT_INVALID_VALUE),
        }),
    }
}

/// mariabackup's `--ftwrl-wait-query-type`: `all` (the default) or `update`; its third value,
/// `select`, counts what `update` counts there, and is taken as that.
fn query_type(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "all" => Ok(true),
        "update" | "select" => Ok(false),
        other => Err(format!("--ftwrl-wait-query-type needs ALL, UPDATE or SELECT, not '{other}'")),
    }
}

/// `--ftwrl-wait-timeout` (0: none) with its threshold and query type, the command line's over
/// the option files'.
fn lock_wait(out: &mut BackupArgs, c: &BackupCmd) -> Result<(), String> {
    let timeout = c.ftwrl_wait_timeout.or(out.lock_wait.0).unwrap_or(0);
    let threshold = c.ftwrl_wait_threshold.or(out.lock_wait.1).unwrap_or(60);
    let all_queries = match &c.ftwrl_wait_query_type {
        Some(v) => query_type(v)?,
        None => out.lock_wait.2.unwrap_or(true),
    };
    out.options.lock_wait = (timeout > 0).then_some(innohot::backup::LockWait { timeout, threshold, all_queries });
    Ok(())
}

/// `--innodb-log-write-ahead-size`: mariabackup's server option, checked as it
/// checks it (clamped to 512..4096, then a power of two). innohot writes no
/// redo during a backup, so the value changes nothing else.
fn write_ahead_size(a: &mut BackupArgs, v: &str) -> Result<(), String> {
    let n: u64 = number("innodb-log-write-ahead-size", v)?;
    let clamped = n.clamp(512, 4096);
    if clamped != n {
        a.warnings.push(format!("--innodb-log-write-ahead-size={n} adjusted to {clamped}"));
    }
    if !clamped.is_power_of_two() {
        return Err(format!("--innodb-log-write-ahead-size={n}: give a power of two from 512 to 4096"));
    }
    Ok(())
}

/// More lanes than this would only queue on the disk and grow memory (one chunk each).
const MAX_PARALLEL: u32 = 64;

fn parallel(n: u32) -> Result<usize, String> {
    match n {
        1..=MAX_PARALLEL => Ok(n as usize),
        _ => Err(format!("--parallel={n}: give 1 to {MAX_PARALLEL} copy lanes")),
    }
}

/// `--throttle`: `auto` (keeping an earlier --max-impact), or MiB per second (0: no limit).
fn pacing(value: &str, current: Pacing) -> Result<Pacing, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("auto") {
        return Ok(match current {
            Pacing::Auto { .. } => current,
            _ => Pacing::default(),
        });
    }
    match value.parse::<u64>() {
        Ok(0) => Ok(Pacing::Unpaced),
        Ok(mib_per_s) => Ok(Pacing::Fixed(mib_per_s.saturating_mul(1 << 20))),
        Err(_) => Err(format!("--throttle={value}: give auto, or MiB per second (0: no limit)")),
    }
}

/// `--max-impact`: only with `--throttle=auto`, which a fixed rate would silently override.
fn max_impact(percent: u32, current: Pacing) -> Result<Pacing, String> {
    match current {
        _ if !(1..=90).contains(&percent) => Err(format!("--max-impact={percent}: give 1 to 90 percent")),
        Pacing::Auto { window, .. } => Ok(Pacing::Auto { max_impact_percent: percent, window }),
        _ => Err(format!(
            "--max-impact={percent} applies to --throttle=auto; with a fixed --throttle (or 0) there is nothing to adapt"
        )),
    }
}

/// Why the options cannot run: the message, and the exit code mariabackup's option parser
/// (my_getopt) gives the same mistake, when it is one of its own: an option it does not know
/// (`args::getopt_code`), a value it refuses (`args::GETOPT_INVALID_VALUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOption {
    pub msg: String,
    pub getopt: Option<u8>,
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

impl std::ops::Deref for BadOption {
    type Target = str;
    fn deref(&self) -> &str {
        &self.msg
    }
}

impl std::fmt::Display for BadOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Settings from one option file (and those it includes), lowest precedence first.
fn apply_file(
    out: &mut BackupArgs,
    path: &Path,
    suffix: Option<&str>,
    read_file: &dyn Fn(&PathBuf) -> Result<String, String>,
) -> Result<(), BadOption> {
    for o in optfile::read_options(path, suffix, read_file)? {
        if o.kind == GroupKind::Server && !FROM_SERVER.contains(&o.name.as_str()) {
            continue; // the server's own settings
        }
        let applied = apply(out, &o.name, o.value.as_deref());
        if applied.map_err(|e| BadOption { msg: format!("{}: {}", o.at(), e.msg), getopt: e.getopt })? {
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
                apply(out, &name, value)
                    .map_err(|e| BadOption { msg: format!("--mysqld-args: {}", e.msg), getopt: e.getopt })?;
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

/// Merges the command line, INNOHOT_PASSWORD and the option files it names.
pub fn resolve(
    cmd: &BackupCmd,
    prepared: &args::Prepared,
    env_password: Option<String>,
    read_file: &dyn Fn(&PathBuf) -> Result<String, String>,
    ask_password: &dyn Fn() -> Result<String, String>,
) -> Result<BackupArgs, BadOption> {
    let mut out = BackupArgs::default();
    out.options.copy.read_policy = ReadPolicy::default();
    let suffix = cmd.defaults_group_suffix.as_deref();
    for file in [&cmd.defaults_file, &cmd.defaults_extra_file].into_iter().flatten() {
        apply_file(&mut out, file, suffix, read_file)?;
    }
    if let (Some(a), Some(b)) = (&cmd.defaults_file, &cmd.defaults_extra_file) {
        out.options.options_source = format!("{}, {} and the command line", a.display(), b.display());
    }
    server_args(&mut out, &prepared.server_args)?;
    if let Some(p) = env_password {
        out.connect.password = Some(p);
    }
    if let Some(p) = &prepared.password {
        out.connect.password = Some(p.clone());
    } else if prepared.ask_password {
        out.connect.password = Some(ask_password()?);
    }
    for name in &prepared.loose_ignored {
        out.warnings.push(format!("ignoring --loose-{name}: innohot does not know it"));
    }
    let c = cmd.clone();
    if let Some(v) = c.target_dir {
        out.target_dir = Some(v);
    }
    if let Some(v) = c.user {
        out.connect.user = Some(v);
    }
    if let Some(v) = c.host {
        out.connect.host = Some(v);
    }
    if let Some(v) = c.port {
        out.connect.port = Some(v);
    }
    if let Some(v) = c.socket {
        out.connect.socket = Some(v);
    }
    if let Some(v) = &c.ssl {
        apply(&mut out, "ssl", v.as_deref())?;
    }
    if c.skip_ssl {
        out.connect.tls.mode = Some(SslMode::Disabled);
    }
    if c.ssl_verify_server_cert {
        out.connect.tls.mode = Some(SslMode::VerifyIdentity);
    }
    if let Some(v) = c.ssl_mode {
        out.connect.tls.mode = Some(v.parse::<SslMode>().map_err(|e| e.to_string())?);
    }
    for (given, slot) in [
        (c.ssl_ca, &mut out.connect.tls.ca),
        (c.ssl_cert, &mut out.connect.tls.cert),
        (c.ssl_key, &mut out.connect.tls.key),
    ] {
        if given.is_some() {
            *slot = given;
        }
    }
    if let Some(v) = &c.protocol {
        out.protocol = Some(v.parse()?);
    }
    if out.protocol == Some(Protocol::Tcp) {
        // As the clients do: a socket setting (from a shared [client] group, say) gives way.
        out.connect.socket = None;
        out.connect.host.get_or_insert_with(|| "127.0.0.1".to_string());
    }
    check_tls(&mut out)?;
    if let Some(v) = c.datadir {
        out.datadir = Some(v);
    }
    if let Some(n) = c.parallel {
        out.options.copy.parallel = parallel(n)?;
    }
    if let Some(v) = &c.throttle {
        out.options.copy.pacing = pacing(v, out.options.copy.pacing)?;
    }
    if let Some(n) = c.max_impact {
        out.options.copy.pacing = max_impact(n, out.options.copy.pacing)?;
    }
    if let Some(v) = c.range_size {
        out.options.copy.range_size = v;
    }
    if let Some(v) = c.chunk_size {
        out.options.copy.chunk_size = v;
    }
    if let Some(v) = c.page_retries {
        out.options.copy.page_retries = v;
    }
    if let Some(v) = c.retry_delay_ms {
        out.options.copy.retry_delay = Duration::from_millis(v);
    }
    if let Some(v) = c.log_poll_ms {
        out.options.log_poll_interval = Duration::from_millis(v);
        out.options.log_poll_fixed = true;
    }
    if let Some(v) = &c.innodb_flush_method {
        out.options.copy.read_policy.direct = flush_method(v)?;
    }
    if c.direct {
        out.options.copy.read_policy.direct = true;
    }
    if c.no_direct {
        out.options.copy.read_policy.direct = false;
    }
    if c.no_fadvise {
        out.options.copy.read_policy.fadvise = false;
    }
    partial_backup(&mut out, cmd, read_file)?;
    if let Some(v) = &c.extra_lsndir {
        out.extra_lsndir = Some(v.clone());
    }
    if let Some(v) = &c.history {
        out.options.history = Some(v.clone().unwrap_or_default());
    }
    if let Some(v) = &c.innodb_log_write_ahead_size {
        write_ahead_size(&mut out, v)?;
    }
    if let Some(v) = &c.innodb_log_checkpoint_now {
        out.options.checkpoint_first = optfile::is_on(v.as_deref())?;
    }
    if c.slave_info {
        out.options.slave_info = true;
    }
    if c.galera_info {
        out.options.galera_info = true;
    }
    if c.no_lock {
        out.options.no_lock = true;
    }
    if c.innodb_force_recovery.is_some() || out.force_recovery {
        return Err(force_recovery_on_backup(prepared.innobackupex).into());
    }
    lock_wait(&mut out, cmd)?;
    if c.safe_slave_backup || out.safe_slave.0 {
        let seconds = c.safe_slave_backup_timeout.or(out.safe_slave.1).unwrap_or(300);
        out.safe_slave_backup = Some(Duration::from_secs(seconds));
    }
    if let Some(v) = c.log_copy_interval {
        out.options.log_poll_interval = Duration::from_millis(v);
        out.options.log_poll_fixed = true;
    }
    if let Some(v) = c.debug_pause_before_lock_ms {
        out.options.debug_pause_before_lock = Duration::from_millis(v);
    }
    if let Some(v) = c.debug_skip_tablespace {
        out.options.debug_skip_tablespace = Some(v);
    }
    out.json = c.json;
    out.quiet = c.quiet;
    if out.options.copy.range_size < 1 << 20 {
        return Err("--range-size must be at least 1048576 bytes (1 MiB)".into());
    }
    if out.options.copy.chunk_size == 0 {
        return Err("--chunk-size must be at least one page (16384 bytes is the smallest sensible value)".into());
    }
    if let Some(v) = &c.stream {
        out.stream = stream_format(v)?;
    }
    compression(&mut out, (c.compress, c.compress_zstd_level, c.compress_threads))?;
    let history = c.incremental_history_name.map(HistoryRow::Name).or(c.incremental_history_uuid.map(HistoryRow::Uuid));
    if c.incremental_basedir.is_some() || c.incremental_lsn.is_some() || history.is_some() {
        out.incremental = (c.incremental_basedir, c.incremental_lsn, history);
    }
    incremental(&mut out, read_file)?;
    if out.stream && out.json {
        return Err("--json prints to stdout, which --stream=xbstream takes for the backup: leave out one".into());
    }
    if out.stream && out.target_dir.is_some() {
        out.warnings.push("--target-dir is not used with --stream: the backup goes to stdout".into());
    }
    if out.target_dir.is_none() && !out.stream {
        return Err("--target-dir is required: an empty or new directory for the backup (or --stream=xbstream)".into());
    }
    Ok(out)
}

/// `--incremental-basedir` (its xtrabackup_checkpoints' `to_lsn`, as
/// mariabackup takes it) or `--incremental-lsn`: where the incremental starts.
fn incremental(out: &mut BackupArgs, read_file: &dyn Fn(&PathBuf) -> Result<String, String>) -> Result<(), String> {
    // mariabackup's order: the LSN, else the base directory, else the history.
    let (basedir, lsn, history) = std::mem::take(&mut out.incremental);
    if basedir.is_none() && lsn.is_none() {
        out.options.incremental_history = history;
        return Ok(());
    }
    out.options.copy.incremental_from = match (basedir, lsn) {
        (None, None) => None,
        (_, Some(0)) => return Err("--incremental-lsn=0 is no base: take a full backup instead".into()),
        (_, Some(lsn)) => Some(lsn),
        (Some(dir), None) => {
            let file = dir.join(innohot::meta::CHECKPOINTS_FILE);
            let text = read_file(&file).map_err(|e| {
                let what = if dir.is_dir() { "has no readable" } else { "is no directory, so it has no" };
                format!(
                    "--incremental-basedir={}: {} {what} {} ({e}): the base must be a completed backup (or its \
                     --extra-lsndir)",
                    dir.display(),
                    dir.display(),
                    innohot::meta::CHECKPOINTS_FILE
                )
            })?;
            let cp = innohot::restore::Checkpoints::parse(&text)
                .map_err(|e| format!("--incremental-basedir: {}: {e}", file.display()))?;
            // A base that is only an --extra-lsndir has no backup-my.cnf: nothing to compare.
            let cnf = read_file(&dir.join(innohot::meta::BACKUP_MY_CNF)).unwrap_or_default();
            out.options.incremental_base_undo = cnf
                .lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == "innodb_undo_tablespaces")
                .and_then(|(_, v)| v.trim().parse().ok());
            Some(cp.to_lsn)
        }
    };
    Ok(())
}

/// `--compress=zstd`, `--compress-zstd-level`, `--compress-threads` (the
/// command line's win over the option files').
fn compression(out: &mut BackupArgs, given: (Option<String>, Option<i32>, Option<usize>)) -> Result<(), String> {
    let (algo, level, threads) = std::mem::take(&mut out.compress_file);
    let level = given.1.or(level);
    let threads = given.2.or(threads);
    // mariabackup's own `compress` (qpress) in an option file: that file serves mariabackup too.
    let algo = match algo {
        Some(a) if a != "zstd" && given.0.is_none() => {
            out.warnings.push(format!(
                "compress{} in an option file ignored: that is mariabackup's qpress; innohot compresses with \
                 --compress=zstd",
                if a.is_empty() { String::new() } else { format!("={a}") }
            ));
            None
        }
        a => a,
    };
    let Some(algo) = given.0.or(algo) else {
        if level.is_some() || threads.is_some() {
            out.warnings.push("--compress-zstd-level and --compress-threads do nothing without --compress=zstd".into());
        }
        return Ok(());
    };
    if algo != "zstd" {
        let given = if algo.is_empty() { "--compress".to_string() } else { format!("--compress={algo}") };
        return Err(format!(
            "{given}: innohot compresses with zstd only (mariabackup's --compress is qpress): use --compress=zstd \
             (each file sent as NAME.zst, as XtraBackup 8.0 does)"
        ));
    }
    if !out.stream {
        return Err("--compress=zstd compresses a stream: add --stream=xbstream (a directory backup is not \
                    compressed)"
            .into());
    }
    let level = level.unwrap_or(1);
    if !(1..=19).contains(&level) {
        return Err(format!("--compress-zstd-level={level}: give 1 (fastest) to 19 (smallest)"));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.unwrap_or(cores);
    if threads == 0 {
        return Err("--compress-threads=0: give at least 1".into());
    }
    out.compress = Some(innohot::stream::compress::Compression { level, threads });
    Ok(())
}

/// `--stream=FORMAT`: xbstream is the one format (mariabackup's too; `tar` is XtraBackup 2.4's).
fn stream_format(v: &str) -> Result<bool, String> {
    match v {
        "xbstream" => Ok(true),
        "tar" => Err("--stream=tar: innohot streams xbstream only (as mariabackup): use --stream=xbstream and \
                      mbstream -x or innohot extract to unpack it"
            .into()),
        other => Err(format!("--stream={other}: unknown stream format; the one format is xbstream")),
    }
}

/// The partial backup's filter from the options (the command line's add to the
/// option files'), with its `--databases-file` and `--tables-file` read.
fn partial_backup(
    out: &mut BackupArgs,
    c: &BackupCmd,
    read_file: &dyn Fn(&PathBuf) -> Result<String, String>,
) -> Result<(), String> {
    let f = &mut out.filter;
    f.databases.extend(c.databases.iter().cloned());
    f.databases_exclude.extend(c.databases_exclude.iter().cloned());
    f.tables.extend(c.tables.iter().cloned());
    f.tables_exclude.extend(c.tables_exclude.iter().cloned());
    let (databases_file, tables_file) =
        (c.databases_file.clone().or(out.filter_files.0.take()), c.tables_file.clone().or(out.filter_files.1.take()));
    let lines = |option: &str, path: &PathBuf| -> Result<Vec<String>, String> {
        let text = read_file(path).map_err(|e| format!("--{option}={}: {e}", path.display()))?;
        Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
    };
    if let Some(path) = databases_file {
        out.filter.databases.extend(lines("databases-file", &path)?);
    }
    if let Some(path) = tables_file {
        out.filter.table_names.extend(lines("tables-file", &path)?);
    }
    if !out.filter.is_empty() {
        let rule = NameFilter::new(&out.filter).map_err(|e| e.to_string())?;
        out.options.filter = innohot::backup::filter::Filter(Some(std::sync::Arc::new(rule)));
    }
    Ok(())
}

/// Parses `innohot backup` arguments (those after `backup`); `env_password` is INNOHOT_PASSWORD.
#[cfg(test)]
pub fn parse_backup_args(
    args: &[String],
    env_password: Option<String>,
    read_file: &dyn Fn(&PathBuf) -> Result<String, String>,
) -> Result<BackupArgs, BadOption> {
    let line: Vec<String> = std::iter::once("backup".to_string()).chain(args.iter().cloned()).collect();
    let (cli, prepared) = args::parse(&line).map_err(|e| e.message().to_string())?;
    match cli.command {
        args::Command::Backup(cmd) => resolve(&cmd, &prepared, env_password, read_file, &|| {
            Err(format!("--password without =VALUE asks on a terminal, and there is none: {}", args::PASSWORD_HOW))
        }),
        other => Err(format!("not a backup command: {other:?}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let a = parse_backup_args(&args(&["--defaults-file", "/x.cnf", "--target-dir=/b"]), Some("env".into()), &read)
            .unwrap();
        assert_eq!(a.connect.password.as_deref(), Some("env"));
        let a = parse_backup_args(&args(&["--target-dir=/b", "--password=cli"]), Some("env".into()), &read).unwrap();
        assert_eq!(a.connect.password.as_deref(), Some("cli"));
    }

    #[test]
    fn bad_input_is_named() {
        let read = |_: &PathBuf| Err("no such file".to_string());
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
        let read = |_: &PathBuf| Err("none".to_string());
        let p = |a: &[&str]| parse_backup_args(&args(a), None, &read);
        let a =
            p(&["--target-dir=/b", "--innodb-log-write-ahead-size=10000", "--innodb_log_checkpoint_now=1"]).unwrap();
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
        let a = p(&[
            "--target-dir=/b",
            "--ftwrl-wait-timeout=5",
            "--ftwrl-wait-threshold=2",
            "--ftwrl-wait-query-type=update",
        ]);
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
        assert_eq!(
            p(&["--defaults-file=/my.cnf", "--target-dir=/b", "--ssl=0"]).connect.tls.mode,
            Some(SslMode::Disabled)
        );
        let a = p(&["--defaults-file=/my.cnf", "--target-dir=/b", "--ssl", "--skip-ssl"]);
        assert_eq!(a.connect.tls.mode, Some(SslMode::Disabled));
        assert!(a.warnings.is_empty());
        let read = |_: &PathBuf| Ok("[client]\nsocket=/s.sock\n".to_string());
        let a =
            parse_backup_args(&args(&["--defaults-file=/my.cnf", "--target-dir=/b", "--ssl"]), None, &read).unwrap();
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
}
