//! MySQL 5.7 and Percona XtraBackup 2.4 for the real-server tests.
//!
//! Neither comes from Debian, so the tests take them from the environment:
//!
//! - `INNOHOT_MYSQL57_BASEDIR`: an unpacked MySQL 5.7 basedir (`bin/mysqld`,
//!   `bin/mysql`, `bin/mysqlbinlog`, `share/`), or `INNOHOT_MYSQL57_TARBALL`:
//!   a `.tar.xz` / `.tar.gz` of one (e.g. an official
//!   `mysql-5.7.x-linux-glibc2.12-x86_64.tar.gz`);
//! - `INNOHOT_XTRABACKUP24_BASEDIR` (with `bin/xtrabackup`) or
//!   `INNOHOT_XTRABACKUP24_TARBALL`.
//!
//! A tarball is unpacked once into `$TMPDIR/innohot-dist-cache/`, in a
//! directory named after its file name, size and modification time: a test
//! unpacks into a temporary directory beside it and renames that into place,
//! so concurrent tests never see a half-unpacked tree (the loser of a race
//! removes its own copy).
//!
//! Without these variables the 5.7 tests print `skipped: <why>` and return,
//! unless `INNOHOT_REQUIRE_MYSQL57=1` (set by `.ci/run` when the tarballs are
//! there), which turns the skip into a failure. A variable that is set but
//! names something unusable always fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::binaries::{is_executable, ServerKind};
use crate::skip::{found_or_skip, Demand};
use crate::{io_err, Binaries, Error, Result};

/// An unpacked MySQL 5.7 basedir.
pub const MYSQL57_BASEDIR_ENV: &str = "INNOHOT_MYSQL57_BASEDIR";
/// A MySQL 5.7 tarball.
pub const MYSQL57_TARBALL_ENV: &str = "INNOHOT_MYSQL57_TARBALL";
/// An unpacked Percona XtraBackup 2.4 basedir.
pub const XTRABACKUP24_BASEDIR_ENV: &str = "INNOHOT_XTRABACKUP24_BASEDIR";
/// A Percona XtraBackup 2.4 tarball.
pub const XTRABACKUP24_TARBALL_ENV: &str = "INNOHOT_XTRABACKUP24_TARBALL";
/// `1`: the 5.7 tests must run; a missing server fails them.
pub use crate::skip::REQUIRE_MYSQL57_ENV;

/// Runtime packages of the two tarballs on Debian 12.
pub const MYSQL57_PACKAGES_HINT: &str =
    "install the Debian packages libaio1 libssl3 libgcrypt20 (scripts/install-test-deps.sh as root)";

/// Why the 5.7 binaries cannot be used: not configured (a skip unless
/// required) or configured but broken (always a failure).
#[derive(Debug)]
pub enum Unavailable {
    /// No environment variable names them.
    NotConfigured(String),
    /// A variable names something that does not work.
    Broken(String),
}

/// MySQL 5.7 and XtraBackup 2.4 from the environment, as [`Binaries`] of
/// kind [`ServerKind::Mysql57`] (`mariabackup` is `xtrabackup`).
pub fn locate() -> std::result::Result<Binaries, Unavailable> {
    let xb = basedir_from_env(XTRABACKUP24_BASEDIR_ENV, XTRABACKUP24_TARBALL_ENV, "xtrabackup")?;
    locate_with(Some(xb))
}

/// Like [`locate`], for tests that need only the server: XtraBackup is
/// used when configured, else `mariabackup` names a missing `xtrabackup`.
pub fn locate_server() -> std::result::Result<Binaries, Unavailable> {
    let xb = match basedir_from_env(XTRABACKUP24_BASEDIR_ENV, XTRABACKUP24_TARBALL_ENV, "xtrabackup") {
        Ok(xb) => Some(xb),
        Err(Unavailable::NotConfigured(_)) => None,
        Err(e) => return Err(e),
    };
    locate_with(xb)
}

fn locate_with(xb: Option<PathBuf>) -> std::result::Result<Binaries, Unavailable> {
    let mysql = basedir_from_env(MYSQL57_BASEDIR_ENV, MYSQL57_TARBALL_ENV, "mysqld")?;
    let xb = xb.unwrap_or_else(|| PathBuf::from("/nonexistent/xtrabackup24"));
    let bin = mysql.join("bin");
    let b = Binaries {
        kind: ServerKind::Mysql57,
        mariadbd: bin.join("mysqld"),
        install_db: bin.join("mysqld"),
        mariabackup: xb.join("bin").join("xtrabackup"),
        client: Some(bin.join("mysql")).filter(|p| is_executable(p)),
        binlog_tool: Some(bin.join("mysqlbinlog")).filter(|p| is_executable(p)),
        basedir: Some(mysql.clone()),
    };
    let version = runs(&b.mariadbd, "--version").map_err(Unavailable::Broken)?;
    if !version.contains(" 5.7.") {
        return Err(Unavailable::Broken(format!(
            "{} is not MySQL 5.7: `mysqld --version` says {version:?}",
            b.mariadbd.display()
        )));
    }
    if !xb.starts_with("/nonexistent") {
        runs(&b.mariabackup, "--version").map_err(Unavailable::Broken)?;
    }
    if b.client.is_none() || b.binlog_tool.is_none() {
        return Err(Unavailable::Broken(format!(
            "{} lacks bin/mysql or bin/mysqlbinlog (binlog replay needs both)",
            mysql.display()
        )));
    }
    Ok(b)
}

/// [`locate`] for a test, under the skip policy ([`crate::skip`]): the
/// binaries, or `None` after printing `skipped: <why>` (the test returns).
/// Fails the test when nothing is configured and
/// `INNOHOT_REQUIRE_MYSQL57=1`, and always when a variable names something
/// broken (the variable itself demands the server).
pub fn mysql57_or_skip() -> Option<Binaries> {
    decide(locate(), Demand::mysql57())
}

/// [`mysql57_or_skip`] for tests that need only the server ([`locate_server`]).
pub fn mysql57_server_or_skip() -> Option<Binaries> {
    decide(locate_server(), Demand::mysql57())
}

fn decide(found: std::result::Result<Binaries, Unavailable>, demand: Demand) -> Option<Binaries> {
    match found {
        Ok(b) => Some(b),
        Err(Unavailable::NotConfigured(why)) => found_or_skip(Err(format!("MySQL 5.7: {why}")), demand),
        Err(Unavailable::Broken(why)) => found_or_skip(
            Err(format!("MySQL 5.7: {why}")),
            Demand::Required("an INNOHOT_MYSQL57_* or INNOHOT_XTRABACKUP24_* variable names it"),
        ),
    }
}

/// Runs `program arg`; its stdout, or why it does not run.
fn runs(program: &Path, arg: &str) -> std::result::Result<String, String> {
    let out = Command::new(program).arg(arg).output().map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {arg} exited with {}: {} ({MYSQL57_PACKAGES_HINT})",
            program.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn basedir_from_env(dir_var: &str, tar_var: &str, program: &str) -> std::result::Result<PathBuf, Unavailable> {
    let get = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty()).map(PathBuf::from);
    if let Some(dir) = get(dir_var) {
        return find_basedir(&dir, program)
            .ok_or_else(|| Unavailable::Broken(format!("{dir_var}={} holds no bin/{program}", dir.display())));
    }
    let Some(tarball) = get(tar_var) else {
        return Err(Unavailable::NotConfigured(format!(
            "no {program}: set {dir_var} (an unpacked basedir) or {tar_var} (a tarball); \
             .ci/run sets them from ../shared/mysql57 and ../shared/xtrabackup24"
        )));
    };
    let root = unpack_cached(&tarball, &cache_root())
        .map_err(|e| Unavailable::Broken(format!("{tar_var}={}: {e}", tarball.display())))?;
    find_basedir(&root, program).ok_or_else(|| {
        Unavailable::Broken(format!("{tar_var}={}: the tarball holds no bin/{program}", tarball.display()))
    })
}

/// Where tarballs are unpacked.
pub fn cache_root() -> PathBuf {
    std::env::temp_dir().join("innohot-dist-cache")
}

/// `dir` itself or its one subdirectory that has an executable `bin/program`.
fn find_basedir(dir: &Path, program: &str) -> Option<PathBuf> {
    if is_executable(&dir.join("bin").join(program)) {
        return Some(dir.to_path_buf());
    }
    let mut subdirs = std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).collect::<Vec<_>>();
    subdirs.sort();
    subdirs.into_iter().find(|d| is_executable(&d.join("bin").join(program)))
}

/// Unpacks `tarball` (tar's compression autodetection: xz, gzip) once under
/// `cache`, in a directory keyed by its file name, size and mtime; returns
/// that directory. Safe against concurrent callers: each unpacks into its
/// own temporary directory, and the first rename into place wins.
pub fn unpack_cached(tarball: &Path, cache: &Path) -> Result<PathBuf> {
    let meta = std::fs::metadata(tarball).map_err(io_err(format!("reading {}", tarball.display())))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = tarball.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dest = cache.join(format!("{name}-{}-{mtime}", meta.len()));
    if dest.is_dir() {
        return Ok(dest);
    }
    std::fs::create_dir_all(cache).map_err(io_err(format!("creating {}", cache.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(cache)
        .map_err(io_err(format!("creating a directory in {}", cache.display())))?;
    let out = Command::new("tar")
        .arg("-xf")
        .arg(tarball)
        .arg("-C")
        .arg(tmp.path())
        .output()
        .map_err(io_err("running tar"))?;
    if !out.status.success() {
        return Err(Error::Command {
            what: format!("tar -xf {}", tarball.display()),
            detail: format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    let tmp = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp, &dest) {
        let _ = std::fs::remove_dir_all(&tmp);
        if !dest.is_dir() {
            return Err(Error::Io { context: format!("renaming {} to {}", tmp.display(), dest.display()), source: e });
        }
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_tarball(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let src = dir.join("src/mysql-5.7.99/bin");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("mysqld"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(src.join("mysqld"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let tarball = dir.join("m.tar.gz");
        let st = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(dir.join("src"))
            .arg("mysql-5.7.99")
            .status()
            .unwrap();
        assert!(st.success());
        tarball
    }

    #[test]
    fn a_tarball_is_unpacked_once_and_concurrent_callers_agree() {
        let dir = tempfile::tempdir().unwrap();
        let tarball = fake_tarball(dir.path());
        let cache = dir.path().join("cache");
        let dests: Vec<PathBuf> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4).map(|_| s.spawn(|| unpack_cached(&tarball, &cache).unwrap())).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(dests.iter().all(|d| d == &dests[0]), "{dests:?}");
        assert_eq!(find_basedir(&dests[0], "mysqld"), Some(dests[0].join("mysql-5.7.99")));
        // Only the keyed directory is left: every loser removed its copy.
        let left: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn not_configured_skips_unless_required_and_broken_always_fails() {
        assert!(decide(Err(Unavailable::NotConfigured("no".into())), Demand::Optional).is_none());
        let required =
            std::panic::catch_unwind(|| decide(Err(Unavailable::NotConfigured("x".into())), Demand::Required("R=1")));
        assert!(required.is_err());
        let broken = std::panic::catch_unwind(|| decide(Err(Unavailable::Broken("x".into())), Demand::Optional));
        assert!(broken.is_err());
    }
}
