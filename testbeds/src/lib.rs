//! Real-server test harness for innohot.
//!
//! Everything here drives *real* MariaDB binaries from the Debian packages
//! `mariadb-server mariadb-backup mariadb-client` (10.11 on Debian 12):
//!
//! - [`LocalServer`] / [`ServerBuilder`]: a private `mariadbd` on a fresh
//!   temporary datadir (or on an existing one, e.g. a restored backup),
//!   listening on its own unix socket and a free loopback port, killed by pid
//!   when dropped.
//! - [`ContainerServer`] / [`ContainerBuilder`]: the same in a Docker
//!   container (testcontainers), its datadir bind-mounted from this host at
//!   the same path, its port mapped; tests call [`docker_or_skip`].
//! - [`TestServer`]: what both offer (endpoint, datadir, connection).
//! - [`Workload`]: concurrent writer threads over InnoDB, MyISAM and Aria
//!   tables, optionally with DDL, bounded in time and operations.
//! - [`Writers`]: writer threads running a test's own statements (its own
//!   tables, sequences, pacing), stopped, counted and joined in one place.
//! - [`Rng`]: the seeded random source (the simulator's) of every load.
//! - [`table_checksums`]: `CHECKSUM TABLE ... EXTENDED` of every user table,
//!   to compare a source with a restored copy ([`checksums_of`] for a test's
//!   server); [`check_tables`] / [`check_tables_extended`]: `CHECK TABLE ...
//!   EXTENDED`.
//! - [`cli`]: the `innohot` binary under test ([`Innohot`], [`innohot!`]) and
//!   what a run of it did ([`Run`]): completed, a completed backup of a kind
//!   ([`BackupKind`]), refused.
//! - [`mariabackup`]: runs the reference tool (`mariabackup --backup` /
//!   `--prepare` / `--copy-back`, incremental backups and their
//!   `--prepare --incremental-dir`) and reports its wall time.
//! - [`roundtrip`]: the binlog position of a backup, binlog replay into a
//!   restored server, prepare (of a backup or a chain of incrementals) +
//!   copy-back + start, checksum differences,
//!   waiting for dirty pages to be written.
//!
//! - [`mysql57`]: MySQL 5.7 and XtraBackup 2.4 from a basedir or tarball
//!   named by environment variables, as [`Binaries`] of kind
//!   [`ServerKind::Mysql57`]: the same [`ServerBuilder`], [`LocalServer`],
//!   workloads, checksums and binlog replay run on them
//!   ([`mysql57_or_skip`]).
//!
//! # Skipping: one policy
//!
//! A test whose prerequisite is missing (MariaDB's binaries, MySQL 5.7,
//! Docker and its image, root for a tmpfs mount) prints exactly one line
//! `skipped: <why>` to stderr and returns, passing; unless a setting says the
//! prerequisite must be there, in which case the test FAILS with the reason,
//! so that a broken setup cannot pass as skipped tests (CI demands MariaDB by
//! leaving `INNOHOT_SKIP_REAL_SERVER` unset, and MySQL 5.7 with
//! `INNOHOT_REQUIRE_MYSQL57=1` where the tarballs are):
//!
//! | prerequisite | asked through | missing fails the test when |
//! | --- | --- | --- |
//! | MariaDB 10.11 | [`binaries_or_skip`] | `INNOHOT_SKIP_REAL_SERVER` is not `1` (the default) |
//! | MySQL 5.7, XtraBackup 2.4 | [`mysql57_or_skip`], [`mysql57_server_or_skip`] | `INNOHOT_REQUIRE_MYSQL57=1`, or a variable names something broken |
//! | Docker and the test image | [`docker_or_skip`], [`container::image_or_skip`] | `INNOHOT_REQUIRE_DOCKER=1` |
//!
//! [`skip::found_or_skip`] is that policy for any other prerequisite, and
//! [`skip::skip`] prints the line for skips no setting can demand away.
//!
//! Set `INNOHOT_KEEP_SERVER_DIRS=1` to keep every temporary directory the
//! harness creates (datadir, socket, error log, and [`work_dir`]'s) for a
//! post-mortem.

#![forbid(unsafe_op_in_unsafe_fn)]

mod binaries;
mod checksum;
pub mod cli;
pub mod container;
pub mod mariabackup;
pub mod mysql57;
pub mod roundtrip;
mod server;
pub mod skip;
mod testbed;
pub mod tree;
mod workload;
mod writers;

use std::fmt;

pub use binaries::{Binaries, ServerKind, MISSING_BINARIES_HINT};
pub use checksum::{
    all_checksums_of, all_table_checksums, check_tables, check_tables_extended, checksums_of, table_checksums,
    SKIPPED_MYSQL_TABLES, SKIPPED_SCHEMAS,
};
pub use cli::{BackupKind, Innohot, Run};
pub use container::{
    docker_or_skip, is_mysql_image, mysql57_test_image, test_image, ContainerBuilder, ContainerServer,
};
pub use innohot_simulator::rng::Rng;
pub use mysql57::{mysql57_or_skip, mysql57_server_or_skip};
pub use server::{LocalServer, ServerBuilder};
pub use skip::{found_or_skip, Demand, SKIP_ENV};
pub use testbed::{Endpoint, TestServer};
pub use workload::{Workload, WorkloadConfig, WorkloadStats};
pub use writers::Writers;

/// Environment variable that keeps the harness's temporary directories.
pub const KEEP_DIRS_ENV: &str = "INNOHOT_KEEP_SERVER_DIRS";

/// Errors of the harness. Messages never contain a password: the harness's
/// servers have a password-less root reachable only through their private
/// socket, and no option with a password is ever logged.
#[derive(Debug)]
pub enum Error {
    /// Required MariaDB binaries are not installed.
    MissingBinaries { missing: Vec<&'static str> },
    /// A file-system or process operation failed.
    Io { context: String, source: std::io::Error },
    /// A helper program (mariadb-install-db, mariabackup) failed.
    Command { what: String, detail: String },
    /// The server did not come up or go down in time, or died.
    Server { detail: String },
    /// A statement failed.
    Sql { context: String, source: mysql::Error },
    /// A workload thread failed or panicked.
    Workload { detail: String },
    /// A statement or program gave an answer the harness cannot use.
    Unexpected { detail: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingBinaries { missing } => write!(
                f,
                "{} not found (searched PATH, /usr/sbin, /usr/local/sbin, /usr/bin): {}",
                missing.join(", "),
                MISSING_BINARIES_HINT
            ),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Command { what, detail } => write!(f, "{what} failed: {detail}"),
            Error::Server { detail } => write!(f, "server: {detail}"),
            Error::Sql { context, source } => write!(f, "{context}: {source}"),
            Error::Workload { detail } => write!(f, "workload: {detail}"),
            Error::Unexpected { detail } => write!(f, "unexpected: {detail}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Sql { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result alias of the harness.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

pub(crate) fn sql_err(context: impl Into<String>) -> impl FnOnce(mysql::Error) -> Error {
    let context = context.into();
    move |source| Error::Sql { context, source }
}

/// Locate the MariaDB binaries for a real-server test, under the skip
/// policy ([`skip`]): `Some(binaries)` when found; when missing, a failure
/// naming the packages to install, or with `INNOHOT_SKIP_REAL_SERVER=1` a
/// printed `skipped: <reason>` and `None` (the test returns).
pub fn binaries_or_skip() -> Option<Binaries> {
    found_or_skip(Binaries::locate(), Demand::mariadb())
}

pub(crate) fn keep_dirs() -> bool {
    std::env::var(KEEP_DIRS_ENV).map(|v| v == "1").unwrap_or(false)
}

/// A temporary directory under /tmp (short paths: unix sockets, DATA
/// DIRECTORY tables), kept and named on stderr when
/// `INNOHOT_KEEP_SERVER_DIRS=1`, like the servers' own directories.
pub fn work_dir(prefix: &str) -> tempfile::TempDir {
    let keep = keep_dirs();
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .disable_cleanup(keep)
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| panic!("creating a directory in /tmp: {e}"));
    if keep {
        eprintln!("keeping {}", dir.path().display());
    }
    dir
}

/// Quote an identifier for MariaDB (backticks, inner backticks doubled).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing() -> Result<Binaries> {
        Err(Error::MissingBinaries { missing: vec!["mariadbd"] })
    }

    #[test]
    fn missing_binaries_skip_when_asked() {
        assert!(found_or_skip(missing(), Demand::Optional).is_none());
    }

    #[test]
    #[should_panic(expected = "install the Debian packages mariadb-server mariadb-backup mariadb-client")]
    fn missing_binaries_fail_by_default() {
        found_or_skip(missing(), Demand::Required("INNOHOT_SKIP_REAL_SERVER is not 1"));
    }

    #[test]
    fn quote_ident_doubles_backticks() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_ident("t1"), "`t1`");
    }
}
