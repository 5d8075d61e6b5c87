//! `innohot backup` options: the command line, then INNOHOT_PASSWORD, then
//! `--defaults-file` groups [client], [xtrabackup], [mariabackup], [innohot]
//! (later groups win), as DBAs already keep them for their other tools.

use innohot::backup::BackupOptions;
use innohot::io::ReadPolicy;
use innohot::server::mysql::ConnectOptions;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct BackupArgs {
    pub target_dir: Option<PathBuf>,
    pub connect: ConnectOptions,
    pub options: BackupOptions,
}

const GROUPS: [&str; 5] = ["mysqld", "client", "xtrabackup", "mariabackup", "innohot"];
/// From [mysqld] only where the server listens: its `user=` is the OS account
/// the server runs as, not an SQL user.
const FROM_MYSQLD: [&str; 2] = ["socket", "port"];

/// `key=value` pairs of the groups innohot reads, later groups overriding earlier ones.
pub fn parse_defaults_file(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut by_group: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') || line.starts_with('!') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = GROUPS.iter().position(|g| g.eq_ignore_ascii_case(name.trim()));
            continue;
        }
        let Some(group) = current else { continue };
        if group == 0 && !FROM_MYSQLD.iter().any(|k| line.replace('-', "_").starts_with(k)) {
            continue;
        }
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line, ""),
        };
        if k.is_empty() {
            return Err(format!("line {}: an option with no name", n + 1));
        }
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        let v = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(v);
        by_group.entry(group).or_default().insert(k.replace('-', "_"), v.to_string());
    }
    Ok(by_group.into_values().flatten().collect())
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("--{} needs a number, not {v:?}", name.replace('_', "-")))
}

/// Applies one option (name with underscores); false if innohot does not know it.
fn apply(a: &mut BackupArgs, name: &str, value: Option<&str>) -> Result<bool, String> {
    let need = || value.ok_or_else(|| format!("--{} needs a value", name.replace('_', "-")));
    match name {
        "target_dir" => a.target_dir = Some(PathBuf::from(need()?)),
        // The server's datadir as seen on this host (checked against the server).
        "datadir" => a.options.datadir = Some(PathBuf::from(need()?)),
        "socket" => a.connect.socket = Some(PathBuf::from(need()?)),
        "host" => a.connect.host = Some(need()?.to_string()),
        "port" => a.connect.port = Some(number(name, need()?)?),
        "user" => a.connect.user = Some(need()?.to_string()),
        "password" => match value {
            Some(v) => a.connect.password = Some(v.to_string()),
            None => {
                return Err("--password needs =VALUE; or set INNOHOT_PASSWORD, or put password= in the \
                            [client] group of --defaults-file (keeps it out of the process list)"
                    .into())
            }
        },
        "chunk_size" => a.options.copy.chunk_size = number(name, need()?)?,
        "page_retries" => a.options.copy.page_retries = number(name, need()?)?,
        "retry_delay_ms" => a.options.copy.retry_delay = Duration::from_millis(number(name, need()?)?),
        "log_poll_ms" => a.options.log_poll_interval = Duration::from_millis(number(name, need()?)?),
        "debug_pause_before_lock_ms" => {
            a.options.debug_pause_before_lock = Duration::from_millis(number(name, need()?)?)
        }
        "debug_skip_tablespace" => a.options.debug_skip_tablespace = Some(need()?.to_string()),
        "no_direct" => a.options.copy.read_policy.direct = false,
        "no_fadvise" => a.options.copy.read_policy.fadvise = false,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Parses `innohot backup` arguments; `env_password` is INNOHOT_PASSWORD.
pub fn parse_backup_args(
    args: &[String],
    env_password: Option<String>,
    read_file: &dyn Fn(&PathBuf) -> Result<String, String>,
) -> Result<BackupArgs, String> {
    let mut cli = BackupArgs::default();
    cli.options.copy.read_policy = ReadPolicy::default();
    let mut from_file: Option<PathBuf> = None;
    let mut it = args.iter().peekable();
    let mut given = Vec::new();
    while let Some(arg) = it.next() {
        let Some(long) = arg.strip_prefix("--") else {
            // Never echo what may be a password: `-pSECRET`, or the word after a bare --password.
            if arg.starts_with("-p") {
                return Err("short options are not supported; give the password as --password=VALUE, \
                            INNOHOT_PASSWORD or in --defaults-file (the argument is not shown)"
                    .into());
            }
            return Err(format!("unexpected argument {arg:?}"));
        };
        let (name, inline) = match long.split_once('=') {
            Some((n, v)) => (n.replace('-', "_"), Some(v.to_string())),
            None => (long.replace('-', "_"), None),
        };
        if name == "defaults_file" {
            from_file =
                Some(PathBuf::from(inline.or_else(|| it.next().cloned()).ok_or("--defaults-file needs a path")?));
            continue;
        }
        if name == "password" && inline.is_none() {
            // Refuse before the next word (likely the password) can reach an error message.
            apply(&mut cli, "password", None)?;
        }
        let takes_value = !matches!(name.as_str(), "no_direct" | "no_fadvise" | "password");
        let value = match (inline, takes_value) {
            (Some(v), _) => Some(v),
            (None, true) => it.next().cloned(),
            (None, false) => None,
        };
        given.push((name, value));
    }
    let mut out = BackupArgs::default();
    out.options.copy.read_policy = ReadPolicy::default();
    if let Some(path) = &from_file {
        let text = read_file(path)?;
        let opts = parse_defaults_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for (k, v) in &opts {
            // Server-side options in [client]-like groups are not ours: skip what we do not know.
            apply(&mut out, k, Some(v.as_str())).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        out.options.options_source = format!("{} and the command line", path.display());
    }
    if let Some(p) = env_password {
        out.connect.password = Some(p);
    }
    for (name, value) in &given {
        if !apply(&mut out, name, value.as_deref())? {
            return Err(format!("unknown option --{}", name.replace('_', "-")));
        }
    }
    if out.target_dir.is_none() {
        return Err("--target-dir is required: an empty or new directory for the backup".into());
    }
    Ok(out)
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
        for wrong in [&["--target-dir=/b", "--password", "s3cret"][..], &["--target-dir=/b", "-ps3cret"]] {
            let msg = e(wrong);
            assert!(!msg.contains("s3cret"), "the password leaked into: {msg}");
            assert!(msg.contains("--password=") || msg.contains("INNOHOT_PASSWORD"), "{msg}");
        }
        assert!(e(&["--defaults-file=/nope", "--target-dir=/b"]).contains("no such file"));
    }
}
