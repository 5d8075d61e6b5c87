//! What every command shares: the exit codes, the bad-input message (and mariabackup's getopt
//! codes when innohot runs under its name), and the wall clock.

use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const FAILURE: u8 = 1;
/// Bad input is a failure like any other (mariabackup, and scripts written for
/// it, expect 1 too); the message says it is the command line.
pub(crate) const USAGE: u8 = 1;

pub(crate) fn usage_error(command: &str, msg: &str) -> ExitCode {
    let help = if command.is_empty() { "innohot --help".to_string() } else { format!("innohot {command} --help") };
    eprintln!("innohot{}{}: {msg} ({help} lists the options)", if command.is_empty() { "" } else { " " }, command);
    ExitCode::from(USAGE)
}

/// An option innohot does not know, or a value mariabackup's option parser would not take:
/// exit 1 like all bad input, except when innohot runs as `mariabackup` or `mariadb-backup`
/// (a drop-in, by its argv[0]): then my_getopt's `code`, which scripts written for mariabackup
/// (and its test suite) check.
pub(crate) fn getopt_failure(command: &str, msg: &str, code: u8) -> ExitCode {
    let usage = usage_error(command, msg);
    if runs_as_mariabackup() {
        ExitCode::from(code)
    } else {
        usage
    }
}

/// Whether argv[0] is `mariabackup` or `mariadb-backup` (a symlink of that name).
pub(crate) fn runs_as_mariabackup() -> bool {
    mariabackup_name().is_some()
}

/// argv[0]'s name when it is `mariabackup` or `mariadb-backup`.
pub(crate) fn mariabackup_name() -> Option<String> {
    let program = std::env::args_os().next().map(PathBuf::from);
    let name = program.as_deref().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or_default();
    ["mariabackup", "mariadb-backup"].contains(&name).then(|| name.to_string())
}

/// The wall clock for log labels (the CLI is the one place that may read it directly).
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Owned strings from string literals (the unit tests' argument lists).
#[cfg(test)]
pub(crate) fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}
