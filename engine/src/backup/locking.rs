//! The lock statements as the user's options shape them: `--no-lock` (none),
//! and mariabackup's `--ftwrl-wait-timeout` (wait for long queries first, then
//! lock statements that give up after that many seconds).

use super::Backup;
use crate::error::Result;
use crate::events::Phase;
use crate::flavor::LockStep;
use std::time::Duration;

/// mariabackup's `--ftwrl-wait-timeout`, `--ftwrl-wait-threshold` and `--ftwrl-wait-query-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWait {
    /// Seconds to wait for the queries, and `lock_wait_timeout` of the lock statements.
    pub timeout: u64,
    /// Only queries running at least this long count (mariabackup's default: 60).
    pub threshold: u64,
    /// Reads, calls and transactions count too, not only writes (`all`, the default).
    pub all_queries: bool,
}

impl Backup {
    /// Runs one lock statement. From the first that holds something on, the
    /// abort path releases; the lock time starts where commits begin to wait,
    /// the DDL-blocked time where DDL does.
    pub(super) fn lock_statement(&mut self, phase: Phase, step: LockStep) -> Result<()> {
        if self.opts.no_lock {
            return Ok(());
        }
        if let Some(wait) = self.opts.lock_wait {
            match step {
                // mariabackup skips the FLUSH TABLES before FTWRL, and sets its own timeout.
                LockStep::FlushTables | LockStep::LongLockWait => return Ok(()),
                _ if !self.lock_wait_set => {
                    self.statement(phase, &format!("SET SESSION lock_wait_timeout={}", wait.timeout));
                    self.svc.server.set_lock_wait_timeout(wait.timeout)?;
                    self.lock_wait_set = true;
                }
                _ => {}
            }
        }
        self.statement(phase, step.statement());
        if step.holds_lock() {
            self.lock_attempted = true;
        }
        if step.starts_lock_timer() && self.lock_started.is_none() {
            self.lock_started = Some(self.svc.clock.now());
        }
        if step.starts_ddl_timer() && self.ddl_started.is_none() {
            self.ddl_started = Some(self.svc.clock.now());
        }
        self.svc.server.lock(step)?;
        Ok(())
    }

    /// `--ftwrl-wait-timeout`: before the lock, wait (up to the timeout, looking each second)
    /// until no query that would hold it up has run for the threshold; fail if one still does.
    pub(super) fn wait_for_long_queries(&mut self) -> Result<()> {
        let Some(wait) = self.opts.lock_wait.filter(|_| !self.opts.no_lock) else { return Ok(()) };
        let text = format!(
            "Waiting {} seconds for queries running longer than {} seconds to finish",
            wait.timeout, wait.threshold
        );
        self.note(Phase::Lock, text);
        let clock = self.svc.clock.clone();
        let deadline = clock.now() + Duration::from_secs(wait.timeout);
        loop {
            self.statement(Phase::Lock, "SHOW FULL PROCESSLIST");
            let Some(query) = self.svc.server.long_query(wait.threshold, wait.all_queries)? else { return Ok(()) };
            if clock.now() >= deadline {
                return Err(crate::error::BackupError::LockWaitTimeout(format!(
                    "--ftwrl-wait-timeout={}: {query} still runs",
                    wait.timeout
                )));
            }
            self.note(Phase::Lock, format!("Waiting for {query}"));
            clock.sleep(Duration::from_secs(1));
        }
    }
}
