//! The values backup options take, checked as mariabackup (or the server) checks them.

use super::{BackupArgs, BadOption};
use innohot::copy::Pacing;

/// `--protocol`, as the clients spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Socket,
    Tcp,
}

impl std::str::FromStr for Protocol {
    type Err = BadOption;
    fn from_str(s: &str) -> Result<Self, BadOption> {
        match s.trim().to_ascii_lowercase().as_str() {
            "socket" => Ok(Protocol::Socket),
            "tcp" => Ok(Protocol::Tcp),
            "pipe" | "memory" => Err(format!("--protocol={s} exists only on Windows: use socket or tcp").into()),
            _ => Err(format!("--protocol={s} is not socket or tcp").into()),
        }
    }
}

pub fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, BadOption> {
    v.trim().parse().map_err(|_| format!("--{name} needs a number, not '{}'", v.trim()).into())
}

/// `innodb-flush-method`, mariabackup's (the server's) choice of how data files are opened: whether
/// innohot reads them with O_DIRECT. A value mariabackup's option parser refuses exits as it does.
pub fn flush_method(v: &str) -> Result<bool, BadOption> {
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
pub fn query_type(v: &str) -> Result<bool, BadOption> {
    match v.trim().to_ascii_lowercase().as_str() {
        "all" => Ok(true),
        "update" | "select" => Ok(false),
        other => Err(format!("--ftwrl-wait-query-type needs ALL, UPDATE or SELECT, not '{other}'").into()),
    }
}

/// `--innodb-log-write-ahead-size`: mariabackup's server option, checked as it
/// checks it (clamped to 512..4096, then a power of two). innohot writes no
/// redo during a backup, so the value changes nothing else.
pub fn write_ahead_size(a: &mut BackupArgs, v: &str) -> Result<(), BadOption> {
    let n: u64 = number("innodb-log-write-ahead-size", v)?;
    let clamped = n.clamp(512, 4096);
    if clamped != n {
        a.warnings.push(format!("--innodb-log-write-ahead-size={n} adjusted to {clamped}"));
    }
    if !clamped.is_power_of_two() {
        return Err(format!("--innodb-log-write-ahead-size={n}: give a power of two from 512 to 4096").into());
    }
    Ok(())
}

/// More lanes than this would only queue on the disk and grow memory (one chunk each).
const MAX_PARALLEL: u32 = 64;

pub fn parallel(n: u32) -> Result<usize, BadOption> {
    match n {
        1..=MAX_PARALLEL => Ok(n as usize),
        _ => Err(format!("--parallel={n}: give 1 to {MAX_PARALLEL} copy lanes").into()),
    }
}

/// `--throttle`: `auto` (keeping an earlier --max-impact), or MiB per second (0: no limit).
pub fn pacing(value: &str, current: Pacing) -> Result<Pacing, BadOption> {
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
        Err(_) => Err(format!("--throttle={value}: give auto, or MiB per second (0: no limit)").into()),
    }
}

/// `--max-impact`: only with `--throttle=auto`, which a fixed rate would silently override.
pub fn max_impact(percent: u32, current: Pacing) -> Result<Pacing, BadOption> {
    match current {
        _ if !(1..=90).contains(&percent) => Err(format!("--max-impact={percent}: give 1 to 90 percent").into()),
        Pacing::Auto { window, .. } => Ok(Pacing::Auto { max_impact_percent: percent, window }),
        _ => Err(format!(
            "--max-impact={percent} applies to --throttle=auto; with a fixed --throttle (or 0) there is nothing to adapt"
        )
        .into()),
    }
}

/// `--stream=FORMAT`: xbstream is the one format (mariabackup's too; `tar` is XtraBackup 2.4's).
pub fn stream_format(v: &str) -> Result<bool, BadOption> {
    match v {
        "xbstream" => Ok(true),
        "tar" => Err("--stream=tar: innohot streams xbstream only (as mariabackup): use --stream=xbstream and \
                      mbstream -x or innohot extract to unpack it"
            .into()),
        other => Err(format!("--stream={other}: unknown stream format; the one format is xbstream").into()),
    }
}
