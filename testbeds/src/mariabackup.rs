//! Running the reference tool, `mariabackup` (or, for a MySQL 5.7 testbed,
//! XtraBackup 2.4's `xtrabackup`, which takes the same options here),
//! against a [`LocalServer`].

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::tail_of_file;
use crate::{io_err, Binaries, Error, LocalServer, Result};

/// `mariabackup --backup --target-dir=TARGET --socket=S --user=root` (no
/// password: the harness's root has none). Its output goes to `log`.
/// Returns the wall time.
pub fn backup(server: &LocalServer, target: &Path, log: &Path) -> Result<Duration> {
    backup_with(server, target, &[], log)
}

/// [`backup`] with `--incremental-basedir=BASE`: an incremental backup of
/// the pages changed since BASE's `to_lsn` (`NAME.delta` and `NAME.meta`
/// per tablespace), the redo and the other files whole.
pub fn backup_incremental(server: &LocalServer, target: &Path, base: &Path, log: &Path) -> Result<Duration> {
    backup_with(server, target, &[format!("--incremental-basedir={}", base.display())], log)
}

fn backup_with(server: &LocalServer, target: &Path, extra: &[String], log: &Path) -> Result<Duration> {
    let b = server.binaries();
    let mut args = vec![
        "--backup".to_string(),
        format!("--target-dir={}", target.display()),
        format!("--socket={}", server.socket().display()),
        "--user=root".to_string(),
    ];
    if b.kind == crate::ServerKind::Mysql57 {
        // XtraBackup 2.4 does not take the datadir from the server.
        args.push(format!("--datadir={}", server.datadir().display()));
    }
    args.extend_from_slice(extra);
    run(b, "--backup", &args, log)
}

/// `mariabackup --defaults-file=TARGET/backup-my.cnf --prepare
/// --target-dir=TARGET`. Returns the wall time.
///
/// The backup's own `backup-my.cnf` is the only option file read (as
/// mariabackup reads it when no `--no-defaults` is given): it carries the
/// source's page size, undo tablespaces and checksum algorithm, without
/// which `--prepare` of, say, a 4k-page backup fails ("Data file
/// './ibdata1' uses page size 4096, but the innodb_page_size start-up
/// parameter is 16384"). Without that file, `--no-defaults`.
pub fn prepare(binaries: &Binaries, target: &Path, log: &Path) -> Result<Duration> {
    let args = vec!["--prepare".to_string(), format!("--target-dir={}", target.display())];
    run_with(binaries, "--prepare", &backup_defaults(target), &args, log)
}

/// `mariabackup --defaults-file=INC/backup-my.cnf --prepare
/// --target-dir=TARGET --incremental-dir=INC`: applies the incremental
/// backup INC onto TARGET, a full backup already prepared by [`prepare`]
/// (or with earlier incrementals of its chain applied, in order). Returns
/// the wall time.
///
/// mariabackup consumes INC: each applied `NAME.delta` is deleted, the
/// `.new` files are moved into TARGET and the DDL markers removed, so INC
/// cannot be applied again, not even onto a fresh copy of the base; copy
/// it first if it is needed afterwards. It requires TARGET's `to_lsn` to
/// be INC's `from_lsn`. The server settings come from INC's
/// `backup-my.cnf`, as mariabackup itself reads them for an incremental
/// prepare.
pub fn prepare_incremental(binaries: &Binaries, target: &Path, inc: &Path, log: &Path) -> Result<Duration> {
    let args = vec![
        "--prepare".to_string(),
        format!("--target-dir={}", target.display()),
        format!("--incremental-dir={}", inc.display()),
    ];
    run_with(binaries, "--prepare --incremental-dir", &backup_defaults(inc), &args, log)
}

/// `--defaults-file=TARGET/backup-my.cnf` when the backup has one, else
/// `--no-defaults`.
fn backup_defaults(target: &Path) -> String {
    let cnf = target.join("backup-my.cnf");
    if cnf.is_file() {
        format!("--defaults-file={}", cnf.display())
    } else {
        "--no-defaults".to_string()
    }
}

/// `mariabackup --no-defaults --copy-back --target-dir=TARGET
/// --datadir=DATADIR`: copies a
/// prepared backup into DATADIR (which must be missing or empty). A
/// tablespace that has an `.isl` file in the backup is written where that
/// `.isl` points (the source's DATA DIRECTORY path), the `.isl` itself into
/// DATADIR; mariabackup refuses to overwrite an existing file there. Returns
/// the wall time.
///
/// Not `--defaults-file=TARGET/backup-my.cnf` as for [`prepare`]: with its
/// `innodb_undo_directory=./`, mariabackup 10.11 copies the undo
/// tablespaces to `DATADIR./undo001` (the path glued on without a slash),
/// a directory next to DATADIR, and the restored server cannot start.
pub fn copy_back(binaries: &Binaries, target: &Path, datadir: &Path, log: &Path) -> Result<Duration> {
    let args = vec![
        "--copy-back".to_string(),
        format!("--target-dir={}", target.display()),
        format!("--datadir={}", datadir.display()),
    ];
    if binaries.kind == crate::ServerKind::Mysql57 {
        // XtraBackup 2.4 copies the undo tablespaces back only when told how
        // many there are (innodb_undo_tablespaces in backup-my.cnf), and into
        // innodb_undo_directory taken relative to its working directory, which
        // for backup-my.cnf's `./` is not DATADIR: named explicitly.
        let mut args = args;
        args.push(format!("--innodb-undo-directory={}", datadir.display()));
        return run_with(binaries, "--copy-back", &backup_defaults(target), &args, log);
    }
    run(binaries, "--copy-back", &args, log)
}

fn run(b: &Binaries, what: &str, args: &[String], log: &Path) -> Result<Duration> {
    run_with(b, what, "--no-defaults", args, log)
}

fn run_with(b: &Binaries, what: &str, defaults: &str, args: &[String], log: &Path) -> Result<Duration> {
    let out = std::fs::File::create(log).map_err(io_err(format!("creating {}", log.display())))?;
    let err = out.try_clone().map_err(io_err("dup of log file"))?;
    let t0 = Instant::now();
    let status = Command::new(&b.mariabackup)
        .arg(defaults)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(io_err(format!("running {}", b.mariabackup.display())))?;
    let took = t0.elapsed();
    if !status.success() {
        return Err(Error::Command {
            what: format!("{} {what}", b.backup_tool_name()),
            detail: format!("{status}; {} ends with:\n{}", log.display(), tail_of_file(log, 30)),
        });
    }
    Ok(took)
}
