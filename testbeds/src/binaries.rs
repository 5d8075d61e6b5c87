//! Finding the server binaries: MariaDB from Debian's packages, or MySQL 5.7
//! from a basedir or tarball (see [`crate::mysql57`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// What to do when binaries are missing; part of every such error message.
pub const MISSING_BINARIES_HINT: &str = "install the Debian packages mariadb-server mariadb-backup mariadb-client (run scripts/install-test-deps.sh as root)";

/// Directories searched after `PATH` (Debian puts `mariadbd` in /usr/sbin,
/// which is not on a normal user's PATH).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/usr/local/sbin", "/usr/bin"];

/// Which server the binaries are: how a datadir is created and which
/// options the server takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// MariaDB (10.11 from Debian): `mariadb-install-db`, `mariadbd`, `mariabackup`.
    MariaDb,
    /// MySQL 5.7 from a basedir: `mysqld --initialize-insecure`, `mysqld`,
    /// and Percona XtraBackup 2.4's `xtrabackup` as the reference tool.
    Mysql57,
}

/// Paths of the server programs the harness runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Which server these are.
    pub kind: ServerKind,
    /// The server: `mariadbd` (package mariadb-server) or MySQL's `mysqld`.
    pub mariadbd: PathBuf,
    /// What creates a datadir: `mariadb-install-db`, or for MySQL 5.7 the
    /// same `mysqld` (run with `--initialize-insecure`).
    pub install_db: PathBuf,
    /// The reference backup tool: `mariabackup` (package mariadb-backup), or
    /// for MySQL 5.7 XtraBackup 2.4's `xtrabackup`.
    pub mariabackup: PathBuf,
    /// The command-line client: `mariadb` (package mariadb-client) or
    /// MySQL's `mysql`; optional for the harness, needed for binlog replay.
    pub client: Option<PathBuf>,
    /// The binlog dumper of this server: `mariadb-binlog` or MySQL's
    /// `mysqlbinlog` (a 5.7 server rejects mariadb-binlog's output).
    pub binlog_tool: Option<PathBuf>,
    /// The server's basedir (`--basedir=`), for MySQL 5.7 (messages, charsets).
    pub basedir: Option<PathBuf>,
}

impl Binaries {
    /// Search `PATH`, then /usr/sbin, /usr/local/sbin, /usr/bin.
    pub fn locate() -> Result<Binaries> {
        let mut dirs: Vec<PathBuf> =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        dirs.extend(EXTRA_DIRS.iter().map(PathBuf::from));
        Self::locate_in(&dirs)
    }

    /// Search only `dirs`, in order.
    pub fn locate_in(dirs: &[PathBuf]) -> Result<Binaries> {
        let find = |name: &str| dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p));
        let mariadbd = find("mariadbd");
        let install_db = find("mariadb-install-db");
        let mariabackup = find("mariabackup");
        let client = find("mariadb");
        let binlog_tool = find("mariadb-binlog");
        match (mariadbd, install_db, mariabackup) {
            (Some(mariadbd), Some(install_db), Some(mariabackup)) => Ok(Binaries {
                kind: ServerKind::MariaDb,
                mariadbd,
                install_db,
                mariabackup,
                client,
                binlog_tool,
                basedir: None,
            }),
            (d, i, b) => {
                let mut missing = Vec::new();
                if d.is_none() {
                    missing.push("mariadbd");
                }
                if i.is_none() {
                    missing.push("mariadb-install-db");
                }
                if b.is_none() {
                    missing.push("mariabackup");
                }
                Err(Error::MissingBinaries { missing })
            }
        }
    }

    /// The server program's file name (`mariadbd`, `mysqld`), for messages.
    pub fn server_name(&self) -> String {
        program_name(&self.mariadbd)
    }

    /// The reference backup tool's file name (`mariabackup`, `xtrabackup`).
    pub fn backup_tool_name(&self) -> String {
        program_name(&self.mariabackup)
    }

    /// `mariadbd --version`, e.g. "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 ...".
    pub fn server_version(&self) -> Result<String> {
        let out = Command::new(&self.mariadbd)
            .arg("--version")
            .output()
            .map_err(crate::io_err(format!("running {} --version", self.mariadbd.display())))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

fn program_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

pub(crate) fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_error_names_the_packages() {
        let empty = tempfile::tempdir().unwrap();
        let err = Binaries::locate_in(&[empty.path().to_path_buf()]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(MISSING_BINARIES_HINT), "{msg}");
        assert!(msg.contains("mariadbd"), "{msg}");
        assert!(msg.contains("mariabackup"), "{msg}");
    }

    #[test]
    fn finds_executables_in_given_dirs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for name in ["mariadbd", "mariadb-install-db", "mariabackup"] {
            let p = dir.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let b = Binaries::locate_in(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(b.mariadbd, dir.path().join("mariadbd"));
        assert!(b.client.is_none());
    }
}
