//! The one skip policy of the real-server tests (see the crate's doc).
//!
//! A test that needs something this machine may lack (MariaDB's binaries,
//! MySQL 5.7, Docker, root) asks for it here. Found: the test runs. Missing:
//! the test prints one line `skipped: <why>` and returns, unless the
//! environment says the prerequisite must be there, in which case the test
//! fails with the reason: a CI run that is meant to exercise a server must
//! not pass by skipping it.

/// `1`: a missing MariaDB is a skip, not a failure (MariaDB is demanded by default).
pub const SKIP_ENV: &str = "INNOHOT_SKIP_REAL_SERVER";
/// `1`: a missing MySQL 5.7 / XtraBackup 2.4 fails the 5.7 tests.
pub const REQUIRE_MYSQL57_ENV: &str = "INNOHOT_REQUIRE_MYSQL57";
/// `1`: a missing Docker daemon or test image fails the container tests.
pub const REQUIRE_DOCKER_ENV: &str = "INNOHOT_REQUIRE_DOCKER";

/// Whether the environment demands that a prerequisite be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// Missing: the test skips.
    Optional,
    /// Missing: the test fails; the text names the setting that demands it.
    Required(&'static str),
}

impl Demand {
    /// MariaDB's binaries: demanded unless `INNOHOT_SKIP_REAL_SERVER=1`.
    pub fn mariadb() -> Demand {
        if env_is_1(SKIP_ENV) {
            Demand::Optional
        } else {
            Demand::Required("INNOHOT_SKIP_REAL_SERVER is not 1; set it to 1 to skip these tests")
        }
    }

    /// MySQL 5.7 and XtraBackup 2.4: demanded when `INNOHOT_REQUIRE_MYSQL57=1`.
    pub fn mysql57() -> Demand {
        if env_is_1(REQUIRE_MYSQL57_ENV) {
            Demand::Required("INNOHOT_REQUIRE_MYSQL57=1")
        } else {
            Demand::Optional
        }
    }

    /// Docker and the test image: demanded when `INNOHOT_REQUIRE_DOCKER=1`.
    pub fn docker() -> Demand {
        if env_is_1(REQUIRE_DOCKER_ENV) {
            Demand::Required("INNOHOT_REQUIRE_DOCKER=1")
        } else {
            Demand::Optional
        }
    }
}

/// The policy: `found` when it is there; else `None` after printing
/// `skipped: <why>` when `demand` is optional; else a panic (a failed test)
/// saying why and which setting demanded it.
pub fn found_or_skip<T, E: std::fmt::Display>(found: Result<T, E>, demand: Demand) -> Option<T> {
    match (found, demand) {
        (Ok(t), _) => Some(t),
        (Err(why), Demand::Optional) => {
            skip(why);
            None
        }
        (Err(why), Demand::Required(by)) => panic!("this test must run ({by}) but cannot: {why}"),
    }
}

/// Prints the one line a skipped test prints. For skips that no setting can
/// turn into failures (e.g. a test written for another server kind than the
/// configured image).
pub fn skip(why: impl std::fmt::Display) {
    eprintln!("skipped: {why}");
}

fn env_is_1(var: &str) -> bool {
    std::env::var(var).map(|v| v == "1").unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_runs_and_optional_skips() {
        assert_eq!(found_or_skip::<u8, &str>(Ok(3), Demand::Required("X=1")), Some(3));
        assert_eq!(found_or_skip::<u8, &str>(Err("none here"), Demand::Optional), None);
    }

    #[test]
    #[should_panic(expected = "this test must run (X=1) but cannot: none here")]
    fn required_and_missing_fails() {
        found_or_skip::<u8, &str>(Err("none here"), Demand::Required("X=1"));
    }
}
