//! The production driver: the orchestrator on this thread, the log copier on
//! another, real time in between.

use super::{Backup, Next, PollAgain, SharedFollower, Summary};
use crate::error::{BackupError, Result};
use crate::io::Clock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a wait between steps sleeps at most before it looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// Runs a backup to its end. The server is never left locked, whatever fails.
pub fn run(backup: Backup, clock: Arc<dyn Clock>) -> Result<Summary> {
    run_until_stopped(backup, clock, Arc::new(AtomicBool::new(false)))
}

/// As `run`, but once `stop` is set (a signal handler sets it) the backup
/// aborts before its next step, as on any failure: the lock is released, the
/// log copier stopped, no checkpoints file left; the result is
/// `BackupError::Interrupted`.
pub fn run_until_stopped(mut backup: Backup, clock: Arc<dyn Clock>, stop: Arc<AtomicBool>) -> Result<Summary> {
    let interval = backup.opts.log_poll_interval;
    std::thread::scope(|scope| {
        let mut copier_thread = None;
        let result = loop {
            if stop.load(Ordering::SeqCst) {
                backup.abort();
                break Err(BackupError::Interrupted);
            }
            let next = backup.step();
            if copier_thread.is_none() {
                if let Some(shared) = backup.running_follower() {
                    let clock = clock.clone();
                    copier_thread = Some(scope.spawn(move || poll_until_stopped(&shared, &*clock, interval)));
                }
            }
            match next {
                Ok(Next::Continue) => {}
                Ok(Next::WaitUntil(t)) => {
                    // In slices, so a stop request is seen within one.
                    while !stop.load(Ordering::SeqCst) {
                        let left = t.saturating_sub(clock.now());
                        if left.is_zero() {
                            break;
                        }
                        clock.sleep(left.min(STOP_CHECK));
                    }
                }
                Ok(Next::Finished(summary)) => break Ok(summary),
                Err(e) => break Err(e),
            }
        };
        if let Some(shared) = &backup.follower {
            shared.stop();
        }
        result
    })
}

/// The log copier thread's loop: a pass, then wait, in slices so a stop is seen soon.
fn poll_until_stopped(shared: &SharedFollower, clock: &dyn Clock, interval: Duration) {
    let slice = Duration::from_millis(50).min(interval);
    while shared.background_poll() == PollAgain::Yes {
        let mut waited = Duration::ZERO;
        while waited < interval && !shared.is_stopped() {
            clock.sleep(slice);
            waited += slice;
        }
    }
}
