//! Running the `innohot` binary under test and judging what it said.
//!
//! The harness cannot know where Cargo built the binary: a test passes
//! `env!("CARGO_BIN_EXE_innohot")` to [`Innohot::new`], or writes
//! [`innohot!`](crate::innohot), which expands to just that in the test's
//! own crate.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::TestServer;

/// The `innohot` binary under test, in the calling test crate:
/// `Innohot::new(env!("CARGO_BIN_EXE_innohot"))`.
#[macro_export]
macro_rules! innohot {
    () => {
        $crate::cli::Innohot::new(env!("CARGO_BIN_EXE_innohot"))
    };
}

/// The environment variable that lets innohot take its test-only options.
pub const TEST_HOOKS_VAR: &str = "INNOHOT_TEST_HOOKS";

/// The last line of every command innohot completes.
pub const COMPLETED: &str = "completed OK!";

/// The `innohot` program a test runs.
#[derive(Debug, Clone)]
pub struct Innohot {
    program: PathBuf,
}

/// What a run of `innohot` did.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Its stdout (empty when it went elsewhere).
    pub stdout: String,
    /// Its stderr: the log.
    pub stderr: String,
}

/// Which `backup_type` a completed backup's `xtrabackup_checkpoints` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupKind {
    /// `full-backuped`.
    Full,
    /// `incremental`.
    Incremental,
}

impl Innohot {
    /// The program at `program`.
    pub fn new(program: impl Into<PathBuf>) -> Innohot {
        Innohot { program: program.into() }
    }

    /// Its path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// A command running it. `INNOHOT_PASSWORD` is removed from its
    /// environment: a test that wants a password passes it itself.
    /// `INNOHOT_TEST_HOOKS=1` lets the test-only options through
    /// (`--debug-pause-before-lock-ms`, `--debug-skip-tablespace`), which
    /// innohot refuses without it.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.env_remove("INNOHOT_PASSWORD");
        c.env(TEST_HOOKS_VAR, "1");
        c
    }

    /// Runs it with `args` and waits; panics only when it cannot start.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::of(self.command().args(args))
    }

    /// `innohot backup --target-dir=TARGET <how to reach server> --user=root EXTRA`.
    pub fn backup_command(&self, server: &impl TestServer, target: &Path, extra: &[&str]) -> Command {
        let mut c = self.command();
        c.arg("backup").arg(format!("--target-dir={}", target.display()));
        c.args(server.endpoint().client_args()).arg("--user=root").args(extra);
        c
    }

    /// Runs [`Innohot::backup_command`].
    pub fn backup(&self, server: &impl TestServer, target: &Path, extra: &[&str]) -> Run {
        Run::of(&mut self.backup_command(server, target, extra))
    }

    /// [`Innohot::backup`], which must complete as a full backup
    /// ([`Run::assert_backup_completed`]).
    pub fn backup_completed(&self, server: &impl TestServer, target: &Path, extra: &[&str]) -> Run {
        let run = self.backup(server, target, extra);
        run.assert_backup_completed(target, BackupKind::Full);
        run
    }

    /// [`Innohot::backup`] that pauses `pause_ms` before its lock
    /// (`--debug-pause-before-lock-ms`) and runs `meanwhile` during the pause
    /// ([`Run::pausing`]).
    pub fn backup_pausing(
        &self,
        server: &impl TestServer,
        target: &Path,
        pause_ms: u64,
        extra: &[&str],
        meanwhile: impl FnOnce(),
    ) -> Run {
        let mut c = self.backup_command(server, target, extra);
        c.arg(format!("--debug-pause-before-lock-ms={pause_ms}"));
        Run::pausing(&mut c, |_| meanwhile())
    }

    /// `innohot prepare --target-dir=TARGET EXTRA`.
    pub fn prepare(&self, target: &Path, extra: &[&str]) -> Run {
        let mut c = self.command();
        c.arg("prepare").arg(format!("--target-dir={}", target.display())).args(extra);
        Run::of(&mut c)
    }

    /// `innohot copy-back --target-dir=TARGET --datadir=DATADIR`.
    pub fn copy_back(&self, target: &Path, datadir: &Path) -> Run {
        self.run([
            "copy-back".to_string(),
            format!("--target-dir={}", target.display()),
            format!("--datadir={}", datadir.display()),
        ])
    }

    /// `innohot verify --target-dir TARGET`.
    pub fn verify(&self, target: &Path) -> Run {
        let mut c = self.command();
        c.args(["verify", "--target-dir"]).arg(target);
        Run::of(&mut c)
    }
}

impl Run {
    /// Runs `cmd` to its end, its output captured.
    pub fn of(cmd: &mut Command) -> Run {
        let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
        Run::from(out)
    }

    /// Runs `cmd`, a backup given `--debug-pause-before-lock-ms`, and calls
    /// `meanwhile` with its pid once it says it is pausing (its stderr is read
    /// line by line); then lets it finish. Its stdout is captured when `cmd`
    /// pipes it (small outputs only: it is read after stderr), else left as
    /// `cmd` sets it. Panics (after killing it) if it ends without pausing.
    pub fn pausing(cmd: &mut Command, meanwhile: impl FnOnce(u32)) -> Run {
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("cannot run innohot: {e}"));
        let mut lines = BufReader::new(child.stderr.take().expect("stderr piped")).lines().map_while(Result::ok);
        let mut log = Vec::new();
        for line in lines.by_ref() {
            let paused = line.contains("pausing");
            log.push(line);
            if paused {
                break;
            }
        }
        if !log.last().is_some_and(|l| l.contains("pausing")) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the backup never paused before its lock:\n{}", log.join("\n"));
        }
        meanwhile(child.id());
        log.extend(lines);
        let mut stdout = String::new();
        if let Some(mut out) = child.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut stdout).expect("read innohot's stdout");
        }
        let status = child.wait().expect("wait for innohot");
        Run { code: status.code(), stdout, stderr: log.join("\n") }
    }

    /// Exit 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Exit 0 and stderr's last line ends with `completed OK!`.
    pub fn completed(&self) -> bool {
        self.ok() && self.stderr.trim_end().ends_with(COMPLETED)
    }

    /// The last `n` lines of stderr, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Panics unless it exited 0; `what` names the command.
    pub fn assert_ok(&self, what: &str) -> &Run {
        assert!(self.ok(), "{what}: exit {:?}:\n{}{}", self.code, self.stdout, self.tail(60));
        self
    }

    /// Panics unless it [completed](Run::completed); `what` names the command.
    pub fn assert_completed(&self, what: &str) -> &Run {
        assert!(
            self.completed(),
            "{what}: exit {:?}, the last line must be {COMPLETED}:\n{}",
            self.code,
            self.tail(60)
        );
        self
    }

    /// A backup into `target` completed: exit 0, `completed OK!` ends its
    /// last line, no line of its log calls anything corrupt, and `target`'s
    /// `xtrabackup_checkpoints` says the `backup_type` of `kind`.
    pub fn assert_backup_completed(&self, target: &Path, kind: BackupKind) -> &Run {
        self.assert_completed(&format!("innohot backup into {}", target.display()));
        let corrupt: Vec<&str> = self.stderr.lines().filter(|l| l.to_lowercase().contains("corrupt")).collect();
        assert!(corrupt.is_empty(), "a completed backup called something corrupt: {corrupt:#?}");
        let file = target.join("xtrabackup_checkpoints");
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let want = match kind {
            BackupKind::Full => "full-backuped",
            BackupKind::Incremental => "incremental",
        };
        let said = text.lines().find_map(|l| l.strip_prefix("backup_type = ")).map(str::trim);
        assert_eq!(said, Some(want), "{}:\n{text}", file.display());
        self
    }

    /// A backup into `target` failed cleanly: exit 1, never `completed OK!`,
    /// and no `xtrabackup_checkpoints` in `target` (nothing looks complete).
    pub fn assert_backup_failed(&self, target: &Path) -> &Run {
        self.assert_refused(1, &[]);
        let file = target.join("xtrabackup_checkpoints");
        assert!(!file.exists(), "a failed backup left {}:\n{}", file.display(), self.tail(60));
        self
    }

    /// It failed: exit `code`, never `completed OK!`, and stderr says every
    /// one of `says`.
    pub fn assert_refused(&self, code: i32, says: &[&str]) -> &Run {
        assert_eq!(self.code, Some(code), "exit code; stderr:\n{}", self.tail(60));
        assert!(!self.stderr.contains(COMPLETED), "a refused command said {COMPLETED}:\n{}", self.tail(60));
        for s in says {
            assert!(self.stderr.contains(s), "the message must say {s:?}:\n{}", self.tail(60));
        }
        self
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: i32, stderr: &str) -> Run {
        Run { code: Some(code), stdout: String::new(), stderr: stderr.into() }
    }

    #[test]
    fn completed_means_exit_0_and_the_last_line() {
        assert!(run(0, "a\n2026-01-01 completed OK!\n").completed());
        assert!(!run(1, "completed OK!").completed());
        assert!(!run(0, "completed OK!\nthen more").completed());
    }

    #[test]
    fn a_backup_is_judged_by_its_checkpoints_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("xtrabackup_checkpoints"), "backup_type = incremental\nfrom_lsn = 9\n").unwrap();
        run(0, "completed OK!").assert_backup_completed(dir.path(), BackupKind::Incremental);
        let full = std::panic::catch_unwind(|| {
            run(0, "completed OK!").assert_backup_completed(dir.path(), BackupKind::Full);
        });
        assert!(full.is_err());
        let corrupt = std::panic::catch_unwind(|| {
            run(0, "page 3 is corrupt\ncompleted OK!").assert_backup_completed(dir.path(), BackupKind::Incremental);
        });
        assert!(corrupt.is_err());
    }
}
