//! Test-only seams into a backup: production never sets them.

use std::time::Duration;

/// What a test asks of a backup to provoke a failure on purpose. The
/// default is no hook at all, which is what every production backup runs
/// with; the CLI accepts the matching options only with
/// `INNOHOT_TEST_HOOKS=1` in its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestHooks {
    /// Waits this long after the data copy, before the lock, so a test can
    /// make the server outrun the log copier (zero: no pause).
    pub pause_before_lock: Duration,
    /// Leaves this tablespace (`schema/table`, as the server's dictionary
    /// names it) out of the copy, so a test can prove the backup then fails
    /// instead of completing without it.
    pub skip_tablespace: Option<String>,
}
