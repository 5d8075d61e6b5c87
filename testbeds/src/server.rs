//! A private server (`mariadbd`, or MySQL 5.7's `mysqld`) for one test.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};
use tempfile::TempDir;

use crate::binaries::ServerKind;
use crate::{io_err, Binaries, Error, Result};

/// Poll interval while waiting for the server to come up or go down. This is
/// a real process with real start-up work, so polling is the honest way.
const POLL: Duration = Duration::from_millis(100);

/// Builder for a [`LocalServer`].
///
/// Every server gets `--no-defaults` (no /etc/mysql/*.cnf is read), its own
/// datadir, unix socket, free loopback port, pid file, error log and tmpdir,
/// binary logging (`--log-bin=mysql-bin --server-id=1`),
/// `--innodb-log-file-size` (default 96M, 10.11's default),
/// `--innodb-buffer-pool-size=64M`, and `--user=root` when run as root
/// (mariadbd refuses to run as root otherwise). [`ServerBuilder::option`]
/// appends more; later options win.
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    binaries: Binaries,
    log_file_size: String,
    buffer_pool_size: String,
    extra: Vec<String>,
    startup_timeout: Duration,
    shutdown_timeout: Duration,
}

impl ServerBuilder {
    /// Defaults: 96M redo log, 64M buffer pool, 60 s to start and to stop.
    pub fn new(binaries: Binaries) -> Self {
        ServerBuilder {
            binaries,
            log_file_size: "96M".to_string(),
            buffer_pool_size: "64M".to_string(),
            extra: Vec::new(),
            startup_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(60),
        }
    }

    /// `--innodb-log-file-size` (e.g. "96M", "8M"). 10.11 refuses a size
    /// below `innodb_log_buffer_size` (16M by default) when resizing online.
    pub fn innodb_log_file_size(mut self, size: impl Into<String>) -> Self {
        self.log_file_size = size.into();
        self
    }

    /// `--innodb-buffer-pool-size` (e.g. "64M").
    pub fn innodb_buffer_pool_size(mut self, size: impl Into<String>) -> Self {
        self.buffer_pool_size = size.into();
        self
    }

    /// One more server option, e.g. `"--innodb-page-size=4k"` or
    /// `"--binlog-format=ROW"`. For a fresh datadir it is also passed to
    /// `mariadb-install-db`, so creation-time settings (page size, undo
    /// tablespaces) take effect.
    pub fn option(mut self, opt: impl Into<String>) -> Self {
        self.extra.push(opt.into());
        self
    }

    /// The binaries this builder starts.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// How long to wait for the server to accept connections.
    pub fn startup_timeout(mut self, t: Duration) -> Self {
        self.startup_timeout = t;
        self
    }

    /// How long [`LocalServer::stop`] waits for a clean shutdown.
    pub fn shutdown_timeout(mut self, t: Duration) -> Self {
        self.shutdown_timeout = t;
        self
    }

    /// Create a fresh datadir with `mariadb-install-db` (root with no
    /// password, no `test` database) in a temporary directory, start the
    /// server on it and wait until it accepts connections. The directory is
    /// removed when the [`LocalServer`] is dropped.
    pub fn start(self) -> Result<LocalServer> {
        let rundir = make_rundir()?;
        let datadir = rundir.path().join("data");
        let install_log = rundir.path().join("install-db.log");
        let log = File::create(&install_log).map_err(io_err(format!("creating {}", install_log.display())))?;
        let log2 = log.try_clone().map_err(io_err("dup of install-db log"))?;
        let mut cmd = Command::new(&self.binaries.install_db);
        cmd.arg("--no-defaults");
        match self.binaries.kind {
            ServerKind::MariaDb => {
                cmd.arg(format!("--datadir={}", datadir.display()))
                    .arg("--auth-root-authentication-method=normal")
                    .arg("--skip-test-db");
            }
            ServerKind::Mysql57 => {
                // root@localhost with an empty password, no test database.
                cmd.arg("--initialize-insecure").arg(format!("--datadir={}", datadir.display()));
                if let Some(b) = &self.binaries.basedir {
                    cmd.arg(format!("--basedir={}", b.display()));
                }
            }
        }
        cmd.arg(format!("--innodb-log-file-size={}", self.log_file_size))
            // A private tmpdir: with the shared /tmp, concurrent bootstraps
            // sometimes remove each other's `#sql-temptable-<pid>-*` files
            // and mariadb-install-db fails (seen with 3 in parallel).
            .arg(format!("--tmpdir={}", rundir.path().display()));
        if is_root() {
            cmd.arg("--user=root");
        }
        cmd.args(&self.extra);
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let what = match self.binaries.kind {
            ServerKind::MariaDb => "mariadb-install-db".to_string(),
            ServerKind::Mysql57 => format!("{} --initialize-insecure", self.binaries.server_name()),
        };
        let t0 = Instant::now();
        let status = cmd.status().map_err(io_err(format!("running {}", self.binaries.install_db.display())))?;
        if !status.success() {
            return Err(Error::Command {
                what,
                detail: format!("{status}; last lines of its output:\n{}", tail_of_file(&install_log, 30)),
            });
        }
        let install_time = t0.elapsed();
        let mut server = LocalServer::new(self, rundir, datadir)?;
        server.install_time = Some(install_time);
        server.spawn_and_wait()?;
        Ok(server)
    }

    /// Start the server on an existing datadir (e.g. a prepared backup). The
    /// datadir belongs to the caller and is left in place on drop; only the
    /// socket, pid file and error log live in a temporary directory.
    pub fn start_on(self, datadir: impl AsRef<Path>) -> Result<LocalServer> {
        let datadir = datadir.as_ref();
        let datadir = datadir.canonicalize().map_err(io_err(format!("datadir {}", datadir.display())))?;
        let rundir = make_rundir()?;
        let mut server = LocalServer::new(self, rundir, datadir)?;
        server.spawn_and_wait()?;
        Ok(server)
    }
}

/// A running (or stopped) private `mariadbd`.
///
/// Dropping it kills the server by pid (SIGKILL) if it still runs, also
/// while a test panics. The server is additionally started with a
/// parent-death signal (SIGKILL), so it does not outlive a test process
/// that is killed outright; note that Linux sends that signal when the
/// *thread* that started the server exits, so keep a `LocalServer` in the
/// thread that created it (as tests naturally do).
#[derive(Debug)]
pub struct LocalServer {
    cfg: ServerBuilder,
    rundir: Option<TempDir>,
    rundir_path: PathBuf,
    datadir: PathBuf,
    socket: PathBuf,
    port: u16,
    pid_file: PathBuf,
    error_log: PathBuf,
    child: Option<Child>,
    install_time: Option<Duration>,
    last_start_time: Duration,
}

impl LocalServer {
    fn new(cfg: ServerBuilder, rundir: TempDir, datadir: PathBuf) -> Result<LocalServer> {
        let rundir_path = rundir.path().to_path_buf();
        let port = free_port()?;
        Ok(LocalServer {
            socket: rundir_path.join("mariadbd.sock"),
            pid_file: rundir_path.join("mariadbd.pid"),
            error_log: rundir_path.join("error.log"),
            rundir: Some(rundir),
            rundir_path,
            datadir,
            port,
            cfg,
            child: None,
            install_time: None,
            last_start_time: Duration::ZERO,
        })
    }

    /// The server's arguments after `--no-defaults` (no password among them).
    pub fn args(&self) -> Vec<String> {
        let c = &self.cfg;
        let mut a = vec![
            format!("--datadir={}", self.datadir.display()),
            format!("--socket={}", self.socket.display()),
            format!("--port={}", self.port),
            "--bind-address=127.0.0.1".to_string(),
            "--log-bin=mysql-bin".to_string(),
            "--server-id=1".to_string(),
            format!("--innodb-log-file-size={}", c.log_file_size),
            format!("--innodb-buffer-pool-size={}", c.buffer_pool_size),
            format!("--pid-file={}", self.pid_file.display()),
            format!("--log-error={}", self.error_log.display()),
            format!("--tmpdir={}", self.rundir_path.display()),
        ];
        if let Some(b) = &c.binaries.basedir {
            a.push(format!("--basedir={}", b.display()));
        }
        if is_root() {
            a.push("--user=root".to_string());
        }
        a.extend(c.extra.iter().cloned());
        a
    }

    fn spawn_and_wait(&mut self) -> Result<()> {
        let out_path = self.rundir_path.join("mariadbd.out");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out_path)
            .map_err(io_err(format!("creating {}", out_path.display())))?;
        let out2 = out.try_clone().map_err(io_err("dup of mariadbd.out"))?;
        let mut cmd = Command::new(&self.cfg.binaries.mariadbd);
        cmd.arg("--no-defaults").args(self.args());
        cmd.stdin(Stdio::null()).stdout(out).stderr(out2);
        // SAFETY: the closure runs in the forked child before exec and only
        // calls the async-signal-safe prctl(2).
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
                Ok(())
            });
        }
        let t0 = Instant::now();
        let child = cmd.spawn().map_err(io_err(format!("starting {}", self.cfg.binaries.mariadbd.display())))?;
        self.child = Some(child);
        let deadline = t0 + self.cfg.startup_timeout;
        loop {
            if let Some(status) = self.try_wait_child()? {
                self.child = None;
                return Err(Error::Server {
                    detail: format!(
                        "{} exited with {status} before accepting connections; error log {} ends with:\n{}",
                        self.cfg.binaries.server_name(),
                        self.error_log.display(),
                        self.error_log_tail(30)
                    ),
                });
            }
            if self.socket.exists() && Conn::new(self.opts_with_timeout(Duration::from_secs(5))).is_ok() {
                self.last_start_time = t0.elapsed();
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(Error::Server {
                    detail: format!(
                        "{} did not accept connections within {:?}; error log ends with:\n{}",
                        self.cfg.binaries.server_name(),
                        self.cfg.startup_timeout,
                        self.error_log_tail(30)
                    ),
                });
            }
            sleep(POLL);
        }
    }

    fn try_wait_child(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            None => Ok(None),
            Some(c) => c.try_wait().map_err(io_err("waiting for mariadbd")),
        }
    }

    /// Unix socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The datadir.
    pub fn datadir(&self) -> &Path {
        &self.datadir
    }

    /// The server's error log.
    pub fn error_log(&self) -> &Path {
        &self.error_log
    }

    /// Process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_wait_child(), Ok(None)) && self.child.is_some()
    }

    /// Wall time of `mariadb-install-db` (fresh datadirs only).
    pub fn install_time(&self) -> Option<Duration> {
        self.install_time
    }

    /// Wall time from spawning mariadbd to its first accepted connection,
    /// for the latest start.
    pub fn start_time(&self) -> Duration {
        self.last_start_time
    }

    /// The binaries this server runs.
    pub fn binaries(&self) -> &Binaries {
        &self.cfg.binaries
    }

    /// A builder with this server's binaries, sizes and options (page size,
    /// checksum algorithm, plugins, ...), e.g. to start a restored copy of
    /// it with [`ServerBuilder::start_on`] under the same settings.
    pub fn builder(&self) -> ServerBuilder {
        self.cfg.clone()
    }

    /// Connection options: root, no password, over the unix socket.
    pub fn opts(&self) -> Opts {
        self.opts_with_timeout(Duration::from_secs(300))
    }

    fn opts_with_timeout(&self, t: Duration) -> Opts {
        OptsBuilder::new()
            .socket(Some(self.socket.to_string_lossy().into_owned()))
            .user(Some("root"))
            .prefer_socket(false)
            .read_timeout(Some(t))
            .write_timeout(Some(t))
            .into()
    }

    /// A new connection as root over the unix socket.
    pub fn conn(&self) -> Result<Conn> {
        Conn::new(self.opts()).map_err(crate::sql_err(format!("connecting to {}", self.socket.display())))
    }

    /// The last `lines` lines of the error log (empty if none yet).
    pub fn error_log_tail(&self, lines: usize) -> String {
        tail_of_file(&self.error_log, lines)
    }

    /// Clean shutdown: `SHUTDOWN` over a connection (SIGTERM if that cannot
    /// be sent), then wait for the process. After the shutdown timeout the
    /// server is killed and an error returned. The datadir stays; use
    /// [`LocalServer::restart`] to start again on it.
    pub fn stop(&mut self) -> Result<()> {
        if self.child.is_none() {
            return Ok(());
        }
        let sent = self.conn().and_then(|mut c| c.query_drop("SHUTDOWN").map_err(crate::sql_err("SHUTDOWN")));
        if sent.is_err() {
            self.signal(libc::SIGTERM);
        }
        let deadline = Instant::now() + self.cfg.shutdown_timeout;
        loop {
            if let Some(status) = self.try_wait_child()? {
                self.child = None;
                if !status.success() {
                    return Err(Error::Server {
                        detail: format!(
                            "server exited with {status} on shutdown; error log ends with:\n{}",
                            self.error_log_tail(30)
                        ),
                    });
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(Error::Server {
                    detail: format!(
                        "server did not shut down within {:?}; killed it. Error log ends with:\n{}",
                        self.cfg.shutdown_timeout,
                        self.error_log_tail(30)
                    ),
                });
            }
            sleep(POLL);
        }
    }

    /// SIGKILL the server and reap it (a crash, as far as InnoDB can tell).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }

    fn signal(&self, sig: libc::c_int) {
        if let Some(c) = self.child.as_ref() {
            if let Ok(pid) = libc::pid_t::try_from(c.id()) {
                // SAFETY: kill(2) on our own child's pid; the child is not
                // reaped yet, so the pid cannot have been reused.
                unsafe {
                    libc::kill(pid, sig);
                }
            }
        }
    }

    /// Stop the server if it runs (clean shutdown), then start it again on
    /// the same datadir, port and options (after [`LocalServer::kill`] this
    /// runs crash recovery).
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn_and_wait()
    }

    /// Keep the temporary run directory (socket, error log, and for fresh
    /// servers the datadir) after drop; returns its path.
    pub fn keep_dirs(&mut self) -> PathBuf {
        if let Some(d) = self.rundir.take() {
            let _ = d.keep();
        }
        self.rundir_path.clone()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.kill();
        if crate::keep_dirs() {
            let p = self.keep_dirs();
            eprintln!("kept server directory {}", p.display());
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io_err("binding 127.0.0.1:0 to pick a free port"))?;
    let port = l.local_addr().map_err(io_err("local_addr"))?.port();
    Ok(port)
}

/// A temporary directory whose paths are short enough for a unix socket
/// (sun_path is 108 bytes).
fn make_rundir() -> Result<TempDir> {
    let mut base = std::env::temp_dir();
    if base.as_os_str().len() > 60 {
        base = PathBuf::from("/tmp");
    }
    tempfile::Builder::new()
        .prefix("innohot-srv-")
        .tempdir_in(&base)
        .map_err(io_err(format!("creating a temporary directory in {}", base.display())))
}

pub(crate) fn tail_of_file(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
