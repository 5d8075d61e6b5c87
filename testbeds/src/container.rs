//! A MariaDB (or MySQL) server in a Docker container, on testcontainers.
//!
//! The image is `INNOHOT_TEST_IMAGE` (`name:tag`), by default
//! [`DEFAULT_IMAGE`], which `scripts/build-test-image.sh` builds from
//! Debian's packages with no registry. Official `mariadb:10.11` and
//! `mysql:5.7` images work too: the server's options are passed as the
//! container's command after the server program's name, as their
//! entrypoints take them, and root gets an empty password through
//! `MARIADB_ALLOW_EMPTY_ROOT_PASSWORD` / `MYSQL_ALLOW_EMPTY_PASSWORD`.
//!
//! The datadir lives in a temporary directory of this host and is
//! bind-mounted AT THE SAME PATH in the container, so the server's
//! `@@datadir` names files this host can read (as `innohot backup` on the
//! host needs). Port 3306 is mapped to a free port of 127.0.0.1; the server
//! is ready when a query over that port answers. Dropping a
//! [`ContainerServer`] removes its container (testcontainers labels every
//! container `org.testcontainers.managed-by=testcontainers`; CI removes
//! leaked ones by that label).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use mysql::{Conn, Opts, OptsBuilder};
use tempfile::TempDir;
use testcontainers::core::{CmdWaitFor, ExecCommand, IntoContainerPort, Mount};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

use crate::testbed::{Endpoint, TestServer};
use crate::{io_err, Error, Result};

/// Environment variable naming the image (`name:tag`) of the container tests.
pub const IMAGE_ENV: &str = "INNOHOT_TEST_IMAGE";
/// The image `scripts/build-test-image.sh` builds (its newest build).
pub const DEFAULT_IMAGE: &str = "innohot-test-mariadb:local";
/// Socket of the server inside the container (all three images use it).
pub const CONTAINER_SOCKET: &str = "/run/mysqld/mysqld.sock";
/// The label testcontainers puts on every container it starts.
pub const MANAGED_LABEL: &str = "org.testcontainers.managed-by=testcontainers";

/// Environment variable naming the MySQL 5.7 image of the `container_mysql57_*`
/// tests (e.g. `mysql:5.7`, pulled first).
pub const MYSQL57_IMAGE_ENV: &str = "INNOHOT_TEST_IMAGE_MYSQL57";
/// The MySQL 5.7 image `scripts/build-test-image.sh` builds from the tarball
/// in `INNOHOT_MYSQL57_TARBALL`.
pub const DEFAULT_MYSQL57_IMAGE: &str = "innohot-test-mysql57:local";

/// The image of the `container_mysql57_*` tests: `INNOHOT_TEST_IMAGE_MYSQL57`;
/// else `INNOHOT_TEST_IMAGE` when that names a MySQL image; else
/// [`DEFAULT_MYSQL57_IMAGE`].
pub fn mysql57_test_image() -> String {
    if let Some(i) = std::env::var(MYSQL57_IMAGE_ENV).ok().filter(|s| !s.is_empty()) {
        return i;
    }
    let general = test_image();
    if is_mysql_image(&general) {
        general
    } else {
        DEFAULT_MYSQL57_IMAGE.to_string()
    }
}

/// The image of the container tests: `INNOHOT_TEST_IMAGE` or [`DEFAULT_IMAGE`].
pub fn test_image() -> String {
    std::env::var(IMAGE_ENV).ok().filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_IMAGE.to_string())
}

/// Whether `image` is a MySQL server image (`mysql:5.7`, `reg:5000/mysql:5.7`),
/// not MariaDB: the tests that prepare with mariabackup and write Aria tables
/// skip it, the MySQL 5.7 test runs only on it.
pub fn is_mysql_image(image: &str) -> bool {
    let (name, _) = split_image(image);
    let last = name.rsplit('/').next().unwrap_or(&name);
    last.contains("mysql") && !last.contains("mariadb")
}

/// Whether Docker can run the container tests here: `Ok(())`, or why not
/// (no daemon, daemon not answering, image missing locally). Never pulls.
pub fn docker_available(image: &str) -> std::result::Result<(), String> {
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let (name, tag) = split_image(image);
    let ping = docker_get(&host, "/_ping")?;
    if !ping.starts_with("HTTP/1.1 200") && !ping.starts_with("HTTP/1.0 200") {
        return Err(format!("the Docker daemon does not answer /_ping with 200: {}", first_line(&ping)));
    }
    let inspect = docker_get(&host, &format!("/images/{name}:{tag}/json"))?;
    if inspect.starts_with("HTTP/1.1 404") || inspect.starts_with("HTTP/1.0 404") {
        let hint = if image == DEFAULT_IMAGE {
            "build it with scripts/build-test-image.sh".to_string()
        } else if image == DEFAULT_MYSQL57_IMAGE {
            "build it with INNOHOT_MYSQL57_TARBALL=<a MySQL 5.7 tarball> scripts/build-test-image.sh, \
             or name a pulled mysql:5.7 in INNOHOT_TEST_IMAGE_MYSQL57"
                .to_string()
        } else {
            format!("docker pull {image} first")
        };
        return Err(format!("image {image} is not in the local Docker ({hint})"));
    }
    Ok(())
}

/// [`docker_available`] for a test of the image [`test_image`], under the
/// skip policy ([`crate::skip`]): `true` when Docker can run it; else prints
/// `skipped: <why>` and returns `false` (the test returns), or fails the test
/// when `INNOHOT_REQUIRE_DOCKER=1`.
pub fn docker_or_skip() -> bool {
    image_or_skip(&test_image())
}

/// [`docker_or_skip`] for another image.
pub fn image_or_skip(image: &str) -> bool {
    crate::skip::found_or_skip(docker_available(image), crate::skip::Demand::docker()).is_some()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// One `GET` to the Docker API (unix socket or tcp://), the whole response.
fn docker_get(docker_host: &str, path: &str) -> std::result::Result<String, String> {
    let req = format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n");
    let timeout = Some(Duration::from_secs(10));
    let mut resp = String::new();
    if let Some(addr) = docker_host.strip_prefix("tcp://") {
        let mut s =
            std::net::TcpStream::connect(addr).map_err(|e| format!("no Docker daemon at {docker_host}: {e}"))?;
        let _ = s.set_read_timeout(timeout);
        s.write_all(req.as_bytes()).map_err(|e| format!("Docker at {docker_host}: {e}"))?;
        s.read_to_string(&mut resp).map_err(|e| format!("Docker at {docker_host}: {e}"))?;
    } else {
        let sock = docker_host.strip_prefix("unix://").unwrap_or("/var/run/docker.sock");
        let sock = if sock.is_empty() { "/var/run/docker.sock" } else { sock };
        let mut s = std::os::unix::net::UnixStream::connect(sock)
            .map_err(|e| format!("no Docker daemon: cannot connect to {sock}: {e}"))?;
        let _ = s.set_read_timeout(timeout);
        s.write_all(req.as_bytes()).map_err(|e| format!("Docker at {sock}: {e}"))?;
        s.read_to_string(&mut resp).map_err(|e| format!("Docker at {sock}: {e}"))?;
    }
    Ok(resp)
}

fn split_image(image: &str) -> (String, String) {
    // A registry host may carry a port (`reg:5000/mariadb:10.11`): the tag
    // is after the last ':' only when no '/' follows it.
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (image[..i].to_string(), image[i + 1..].to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

/// Builder for a [`ContainerServer`]: binary logging (`--log-bin=mysql-bin
/// --server-id=1`), a 96M redo log and a 64M buffer pool, like
/// [`crate::ServerBuilder`]; [`ContainerBuilder::option`] appends more.
#[derive(Debug, Clone)]
pub struct ContainerBuilder {
    image: String,
    options: Vec<String>,
    user: Option<(u32, u32)>,
    mounts: Vec<(PathBuf, PathBuf, bool)>,
    same_path: bool,
    startup_timeout: Duration,
}

impl Default for ContainerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ContainerBuilder {
    /// The image of [`test_image`].
    pub fn new() -> Self {
        ContainerBuilder {
            image: test_image(),
            options: vec![
                "--log-bin=mysql-bin".into(),
                "--server-id=1".into(),
                "--innodb-log-file-size=96M".into(),
                "--innodb-buffer-pool-size=64M".into(),
            ],
            user: None,
            mounts: Vec::new(),
            same_path: true,
            startup_timeout: Duration::from_secs(120),
        }
    }

    /// Another image (`name:tag`).
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = image.into();
        self
    }

    /// One more server option, e.g. `"--innodb-page-size=4k"`.
    pub fn option(mut self, opt: impl Into<String>) -> Self {
        self.options.push(opt.into());
        self
    }

    /// Run the container as `uid:gid` (the datadir is chowned to it).
    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.user = Some((uid, gid));
        self
    }

    /// Bind-mount a host path into the container (read-only or not).
    pub fn mount(mut self, host: impl Into<PathBuf>, container: impl Into<PathBuf>, read_only: bool) -> Self {
        self.mounts.push((host.into(), container.into(), read_only));
        self
    }

    /// Mount the datadir at `/var/lib/mysql` instead of at its host path:
    /// the server's `@@datadir` then names a path that is not this host's
    /// (what `innohot backup --datadir` is for).
    pub fn datadir_at_default_path(mut self) -> Self {
        self.same_path = false;
        self
    }

    /// How long to wait for the first answered query.
    pub fn startup_timeout(mut self, t: Duration) -> Self {
        self.startup_timeout = t;
        self
    }

    /// Start on a fresh datadir (a temporary directory of this host, removed
    /// on drop); the image's entrypoint initialises it.
    pub fn start(self) -> Result<ContainerServer> {
        let rundir = tempfile::Builder::new()
            .prefix("innohot-ctr-")
            .tempdir_in("/tmp")
            .map_err(io_err("creating a temporary directory in /tmp"))?;
        let datadir = rundir.path().join("data");
        std::fs::create_dir(&datadir).map_err(io_err(format!("creating {}", datadir.display())))?;
        self.run(Some(rundir), datadir)
    }

    /// Start on an existing datadir (e.g. a restored backup), left in place
    /// on drop.
    pub fn start_on(self, datadir: impl AsRef<Path>) -> Result<ContainerServer> {
        let d = datadir.as_ref();
        let d = d.canonicalize().map_err(io_err(format!("datadir {}", d.display())))?;
        self.run(None, d)
    }

    fn run(self, rundir: Option<TempDir>, datadir: PathBuf) -> Result<ContainerServer> {
        if let Some((uid, gid)) = self.user {
            chown_tree(&datadir, uid, gid)?;
            if let Some(r) = rundir.as_ref() {
                chown_tree(r.path(), uid, gid)?;
            }
        }
        let inner_datadir =
            if self.same_path { datadir.to_string_lossy().into_owned() } else { "/var/lib/mysql".to_string() };
        let (name, tag) = split_image(&self.image);
        let program = if name.contains("mysql") && !name.contains("mariadb") { "mysqld" } else { "mariadbd" };
        let mut cmd = vec![program.to_string(), format!("--datadir={inner_datadir}")];
        cmd.extend(self.options.iter().cloned());
        let mut req = GenericImage::new(name, tag)
            .with_exposed_port(3306.tcp())
            .with_cmd(cmd)
            .with_env_var("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "1")
            .with_env_var("MYSQL_ALLOW_EMPTY_PASSWORD", "1")
            .with_mount(Mount::bind_mount(datadir.to_string_lossy(), inner_datadir.clone()));
        for (host, inside, ro) in &self.mounts {
            let m = Mount::bind_mount(host.to_string_lossy(), inside.to_string_lossy());
            let m = if *ro { m.with_access_mode(testcontainers::core::AccessMode::ReadOnly) } else { m };
            req = req.with_mount(m);
        }
        if let Some((uid, gid)) = self.user {
            req = req.with_user(format!("{uid}:{gid}"));
        }
        let t0 = Instant::now();
        let container = req.start().map_err(|e| Error::Server {
            detail: format!("starting a container of {} (never pulled here; see {IMAGE_ENV}): {e}", self.image),
        })?;
        let port = container
            .get_host_port_ipv4(3306.tcp())
            .map_err(|e| Error::Server { detail: format!("no host port for 3306: {e}") })?;
        let server = ContainerServer {
            container,
            image: self.image.clone(),
            rundir,
            datadir,
            inner_datadir: PathBuf::from(inner_datadir),
            port,
            start_time: Duration::ZERO,
        };
        server.wait_ready(t0, self.startup_timeout)
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<()> {
    let st = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(path)
        .status()
        .map_err(io_err("running chown"))?;
    if !st.success() {
        return Err(Error::Command {
            what: format!("chown -R {uid}:{gid} {}", path.display()),
            detail: st.to_string(),
        });
    }
    Ok(())
}

/// A server in a container, removed when dropped.
pub struct ContainerServer {
    container: Container<GenericImage>,
    image: String,
    rundir: Option<TempDir>,
    datadir: PathBuf,
    inner_datadir: PathBuf,
    port: u16,
    start_time: Duration,
}

impl std::fmt::Debug for ContainerServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerServer")
            .field("id", &self.container.id())
            .field("image", &self.image)
            .field("datadir", &self.datadir)
            .field("port", &self.port)
            .finish()
    }
}

impl ContainerServer {
    fn wait_ready(mut self, t0: Instant, timeout: Duration) -> Result<ContainerServer> {
        let deadline = t0 + timeout;
        loop {
            if Conn::new(self.opts_with_timeout(Duration::from_secs(5))).is_ok() {
                self.start_time = t0.elapsed();
                return Ok(self);
            }
            let running = self.container.is_running().unwrap_or(false);
            if !running || Instant::now() >= deadline {
                return Err(Error::Server {
                    detail: format!(
                        "container {} of {} {} ; its output ends with:\n{}",
                        self.container.id(),
                        self.image,
                        if running { format!("answered no query within {timeout:?}") } else { "exited".into() },
                        self.logs_tail(30)
                    ),
                });
            }
            sleep(Duration::from_millis(200));
        }
    }

    /// The last `lines` lines of the container's stdout and stderr.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut all = self.container.stdout_to_vec().unwrap_or_default();
        all.extend(self.container.stderr_to_vec().unwrap_or_default());
        let text = String::from_utf8_lossy(&all);
        let v: Vec<&str> = text.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        self.container.id()
    }

    /// The image it runs.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// Port 3306's mapping on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The datadir's path inside the container (the host path unless
    /// [`ContainerBuilder::datadir_at_default_path`]).
    pub fn inner_datadir(&self) -> &Path {
        &self.inner_datadir
    }

    /// Wall time from `docker run` to the first answered query.
    pub fn start_time(&self) -> Duration {
        self.start_time
    }

    fn opts_with_timeout(&self, t: Duration) -> Opts {
        OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(self.port)
            .user(Some("root"))
            .prefer_socket(false)
            .read_timeout(Some(t))
            .write_timeout(Some(t))
            .into()
    }

    /// Runs a command in the container and waits for it: (exit code,
    /// stdout, stderr).
    pub fn exec(&self, cmd: &[&str]) -> Result<(i64, String, String)> {
        let what = cmd.join(" ");
        let mut r = self
            .container
            .exec(ExecCommand::new(cmd.iter().copied()).with_cmd_ready_condition(CmdWaitFor::exit()))
            .map_err(|e| Error::Command { what: what.clone(), detail: e.to_string() })?;
        let out = r.stdout_to_vec().map_err(|e| Error::Command { what: what.clone(), detail: e.to_string() })?;
        let err = r.stderr_to_vec().map_err(|e| Error::Command { what: what.clone(), detail: e.to_string() })?;
        let code = r.exit_code().map_err(|e| Error::Command { what, detail: e.to_string() })?.unwrap_or(-1);
        Ok((code, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned()))
    }

    /// Clean shutdown of the server (SIGTERM, up to 60 s); the datadir stays.
    pub fn stop(&self) -> Result<()> {
        self.container.stop_with_timeout(Some(60)).map_err(|e| Error::Server { detail: format!("stopping: {e}") })
    }

    /// Keep the temporary directory (datadir) after drop; returns its path.
    pub fn keep_dirs(&mut self) -> Option<PathBuf> {
        self.rundir.take().map(|d| d.keep())
    }
}

impl Drop for ContainerServer {
    fn drop(&mut self) {
        if crate::keep_dirs() {
            if let Some(p) = self.keep_dirs() {
                eprintln!("kept container datadir {}", p.display());
            }
        }
    }
}

impl TestServer for ContainerServer {
    fn opts(&self) -> Opts {
        self.opts_with_timeout(Duration::from_secs(300))
    }
    fn endpoint(&self) -> Endpoint {
        Endpoint::Tcp { host: "127.0.0.1".into(), port: self.port }
    }
    fn datadir(&self) -> &Path {
        &self.datadir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_at_the_tag() {
        assert_eq!(split_image("mariadb:10.11"), ("mariadb".into(), "10.11".into()));
        assert_eq!(split_image("reg:5000/mysql:5.7"), ("reg:5000/mysql".into(), "5.7".into()));
        assert_eq!(split_image("reg:5000/mysql"), ("reg:5000/mysql".into(), "latest".into()));
        assert!(is_mysql_image("mysql:5.7") && is_mysql_image("reg:5000/library/mysql:5.7"));
        assert!(!is_mysql_image("mariadb:10.11") && !is_mysql_image(DEFAULT_IMAGE));
        assert!(!is_mysql_image("mysql-mirror/mariadb:10.11"));
        assert!(is_mysql_image(DEFAULT_MYSQL57_IMAGE));
    }

    #[test]
    fn no_daemon_is_a_reason_not_a_panic() {
        let why = docker_get("unix:///nonexistent/docker.sock", "/_ping").unwrap_err();
        assert!(why.contains("no Docker daemon"), "{why}");
    }
}
