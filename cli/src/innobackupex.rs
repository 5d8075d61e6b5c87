//! innobackupex's spelling, as mariabackup still takes it after `--innobackupex`:
//! the mode is `--apply-log` (prepare), `--copy-back` or `--move-back`, a backup
//! when none is given; the backup directory is the one word that is no option's
//! value; a backup goes into a new subdirectory of it named for the time
//! (`2026-12-07_10-15-00`, UTC as innohot's other labels) unless
//! `--no-timestamp`; `--redo-only` is `--apply-log-only`. The result is the
//! xtrabackup spelling (`--backup ... --target-dir=DIR`), which `args` takes
//! from there.

use crate::args::{long_name, takes_separate_value, UsageError};
use innohot::timefmt::civil;

/// innobackupex's modes and the command each one is.
const MODES: [(&str, &str); 3] = [("apply-log", "prepare"), ("copy-back", "copy-back"), ("move-back", "move-back")];

/// The xtrabackup spelling of an innobackupex command line (`--innobackupex` already taken out).
pub fn rewrite(args: &[String], now_unix: u64) -> Result<Vec<String>, UsageError> {
    let modes: Vec<&str> = args
        .iter()
        .filter_map(|a| long_name(a))
        .filter_map(|n| MODES.iter().find(|(flag, _)| *flag == n).map(|(_, cmd)| *cmd))
        .collect();
    let command = match modes.as_slice() {
        [] => "backup",
        [one] => one,
        _ => return Err(UsageError::Bad("--innobackupex: give one of --apply-log, --copy-back, --move-back".into())),
    };
    let mut out = vec![format!("--{command}")];
    let mut dirs = Vec::new();
    let mut timestamp = true;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let name = long_name(arg);
        match name.as_deref() {
            Some(n) if MODES.iter().any(|(flag, _)| *flag == n) => continue,
            Some("no-timestamp") => timestamp = false,
            Some("redo-only") => out.push("--apply-log-only".into()),
            Some(n) => {
                out.push(arg.clone());
                if !arg.contains('=') && takes_separate_value(command, n) {
                    out.extend(it.next().cloned());
                }
            }
            None if arg == "-u" => {
                out.push(arg.clone());
                out.extend(it.next().cloned());
            }
            None if arg.starts_with('-') => out.push(arg.clone()),
            None => dirs.push(arg.clone()),
        }
    }
    let dir = match dirs.as_slice() {
        [one] => std::path::PathBuf::from(one),
        [] => {
            return Err(UsageError::Bad(
                "--innobackupex needs the backup directory as an argument (innobackupex [OPTIONS] DIR)".into(),
            ))
        }
        many => {
            return Err(UsageError::Bad(format!(
                "--innobackupex takes one backup directory, not {} ({})",
                many.len(),
                many.join(", ")
            )))
        }
    };
    let target = if command == "backup" && timestamp { dir.join(timestamp_name(now_unix)) } else { dir };
    out.push(format!("--target-dir={}", target.display()));
    Ok(out)
}

/// innobackupex's name for a backup's subdirectory: `YYYY-MM-DD_hh-mm-ss`.
fn timestamp_name(unix: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}-{mo:02}-{d:02}_{h:02}-{mi:02}-{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::commands::common::strings as v;

    #[test]
    fn innobackupex_lines_become_xtrabackup_lines() {
        let at = 1_499_154_729; // 2017-07-04 07:52:09 UTC
        let r = |a: &[&str]| rewrite(&v(a), at);
        assert_eq!(
            r(&["--defaults-file=/my.cnf", "--no-timestamp", "--user", "bk", "/b"]).unwrap(),
            v(&["--backup", "--defaults-file=/my.cnf", "--user", "bk", "--target-dir=/b"])
        );
        assert_eq!(
            r(&["--password", "x", "-u", "root", "/b"]).unwrap(),
            v(&["--backup", "--password", "x", "-u", "root", "--target-dir=/b/2017-07-04_07-52-09"])
        );
        assert_eq!(
            r(&["--apply-log", "--innodb-force-recovery=2", "--redo-only", "/b"]).unwrap(),
            v(&["--prepare", "--innodb-force-recovery=2", "--apply-log-only", "--target-dir=/b"])
        );
        assert_eq!(r(&["--copy-back", "/b"]).unwrap(), v(&["--copy-back", "--target-dir=/b"]));
        assert!(r(&["--no-timestamp"]).unwrap_err().message().contains("needs the backup directory"));
        assert!(r(&["/a", "/b"]).unwrap_err().message().contains("one backup directory, not 2"));
        assert!(r(&["--apply-log", "--copy-back", "/b"]).unwrap_err().message().contains("give one of"));
        assert!(MODES.iter().all(|(_, command)| crate::args::XTRABACKUP_MODES.contains(command)));
    }
}
