//! The production driver: the orchestrator on this thread, the log copier on
//! another, real time in between.

use super::{Backup, Next, PollAgain, SharedFollower, Summary};
use crate::error::Result;
use crate::io::Clock;
use std::sync::Arc;
use std::time::Duration;

/// Runs a backup to its end. The server is never left locked, whatever fails.
pub fn run(mut backup: Backup, clock: Arc<dyn Clock>) -> Result<Summary> {
    let interval = backup.opts.log_poll_interval;
    std::thread::scope(|scope| {
        let mut copier_thread = None;
        let result = loop {
            let next = backup.step();
            if copier_thread.is_none() {
                if let Some(shared) = backup.running_follower() {
                    let clock = clock.clone();
                    copier_thread = Some(scope.spawn(move || poll_until_stopped(&shared, &*clock, interval)));
                }
            }
            match next {
                Ok(Next::Continue) => {}
                Ok(Next::WaitUntil(t)) => clock.sleep(t.saturating_sub(clock.now())),
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
