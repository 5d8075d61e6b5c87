//! Finding the MariaDB binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// What to do when binaries are missing; part of every such error message.
pub const MISSING_BINARIES_HINT: &str = "install the Debian packages mariadb-server mariadb-backup mariadb-client (run scripts/install-test-deps.sh as root)";

/// Directories searched after `PATH` (Debian puts `mariadbd` in /usr/sbin,
/// which is not on a normal user's PATH).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/usr/local/sbin", "/usr/bin"];

/// Paths of the MariaDB programs the harness runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The server, `mariadbd` (package mariadb-server).
    pub mariadbd: PathBuf,
    /// `mariadb-install-db` (package mariadb-server).
    pub install_db: PathBuf,
    /// `mariabackup` (package mariadb-backup).
    pub mariabackup: PathBuf,
    /// The command-line client `mariadb` (package mariadb-client); optional
    /// for the harness, handy for debugging.
    pub client: Option<PathBuf>,
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
        match (mariadbd, install_db, mariabackup) {
            (Some(mariadbd), Some(install_db), Some(mariabackup)) => {
                Ok(Binaries { mariadbd, install_db, mariabackup, client })
            }
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

    /// `mariadbd --version`, e.g. "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 ...".
    pub fn server_version(&self) -> Result<String> {
        let out = Command::new(&self.mariadbd)
            .arg("--version")
            .output()
            .map_err(crate::io_err(format!("running {} --version", self.mariadbd.display())))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

fn is_executable(p: &Path) -> bool {
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
