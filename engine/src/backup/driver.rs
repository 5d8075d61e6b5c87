//! The production driver: the orchestrator on this thread, the log copier on
//! another, real time in between.

use super::{Backup, Next, PollAgain, SharedFollower, Summary};
use crate::copy::{CopyLane, CopyPool, LaneStep};
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
    let (interval, fixed) = (backup.opts.log_poll_interval, backup.opts.log_poll_fixed);
    std::thread::scope(|scope| {
        let mut copier_thread = None;
        let mut lanes_started = false;
        let result = loop {
            if stop.load(Ordering::SeqCst) {
                backup.abort();
                break Err(BackupError::Interrupted);
            }
            let next = backup.step();
            if copier_thread.is_none() {
                if let Some(shared) = backup.running_follower() {
                    let clock = clock.clone();
                    copier_thread = Some(scope.spawn(move || poll_until_stopped(&shared, &*clock, interval, fixed)));
                }
            }
            if !lanes_started {
                if let Some(pool) = backup.copy_pool() {
                    lanes_started = true;
                    for n in 2..=pool.lanes() as u32 {
                        let (pool, clock, stop) = (pool.clone(), clock.clone(), stop.clone());
                        scope.spawn(move || copy_until_idle(&pool, CopyLane::new(n), &*clock, &stop));
                    }
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
        if let Some(shared) = backup.stage.follower() {
            shared.stop();
        }
        if let Some(pool) = backup.stage.pool() {
            pool.stop();
        }
        result
    })
}

/// A copy lane's thread: steps until the queue is empty, waiting (in slices,
/// so a stop is seen soon) where a torn page or the throttle asks it to.
fn copy_until_idle(pool: &CopyPool, mut lane: CopyLane, clock: &dyn Clock, stop: &AtomicBool) {
    loop {
        if stop.load(Ordering::SeqCst) {
            pool.stop();
        }
        match pool.worker_step(&mut lane) {
            LaneStep::Worked => {}
            LaneStep::WaitUntil(t) => {
                while !pool.is_stopped() && !stop.load(Ordering::SeqCst) {
                    let left = t.saturating_sub(clock.now());
                    if left.is_zero() {
                        break;
                    }
                    clock.sleep(left.min(STOP_CHECK));
                }
            }
            LaneStep::Idle => return,
        }
    }
}

/// The log copier thread's loop: a pass, then a wait the pacer picks, in
/// slices so a stop is seen soon.
fn poll_until_stopped(shared: &SharedFollower, clock: &dyn Clock, interval: Duration, fixed: bool) {
    let (_, capacity) = shared.last_pass();
    let mut pacer = Pacer::new(interval, capacity);
    while shared.background_poll() == PollAgain::Yes {
        let wait = if fixed { interval } else { pacer.after_pass(shared.last_pass().0) };
        let slice = Duration::from_millis(20).min(wait);
        let mut waited = Duration::ZERO;
        while waited < wait && !shared.is_stopped() {
            clock.sleep(slice);
            waited += slice;
        }
    }
}

/// The fastest redo write rate innohot plans for (a busy server on fast
/// storage). The copier never waits longer than this rate needs to fill the
/// ring, so even a burst that starts right after an idle pass is copied in time.
pub const PLANNED_PEAK_REDO_RATE: u64 = 256 << 20;
/// The shortest wait between passes: below it a pass mostly finds nothing.
pub const MIN_POLL_WAIT: Duration = Duration::from_millis(2);

/// Paces the log copier: tight while the server writes (a pass that copied
/// much means the next one should come soon), backing off while it is idle,
/// never longer than the ring could be refilled at the planned peak rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pacer {
    longest: Duration,
    capacity: u64,
    wait: Duration,
}

impl Pacer {
    /// `configured`: the user's upper bound (`--log-poll-ms`); `capacity`: the ring's bytes.
    pub fn new(configured: Duration, capacity: u64) -> Self {
        let refill = Duration::from_secs_f64(capacity as f64 / PLANNED_PEAK_REDO_RATE as f64);
        let longest = configured.min(refill).max(MIN_POLL_WAIT);
        Pacer { longest, capacity, wait: MIN_POLL_WAIT }
    }

    /// The wait before the next pass, given what the last one copied.
    pub fn after_pass(&mut self, copied: u64) -> Duration {
        self.wait = if copied.saturating_mul(8) >= self.capacity {
            // An eighth of the ring in one wait: the headroom is going fast.
            MIN_POLL_WAIT
        } else if copied > 0 {
            (self.wait / 2).max(MIN_POLL_WAIT)
        } else {
            (self.wait * 2).min(self.longest)
        };
        self.wait
    }

    /// The longest the copier will ever wait.
    pub fn longest(&self) -> Duration {
        self.longest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_backs_off_to_the_refill_bound_and_a_burst_snaps_back() {
        // A 4 MiB ring refills in under 16 ms at the planned peak rate.
        let mut p = Pacer::new(Duration::from_secs(1), 4 << 20);
        assert_eq!(p.longest(), Duration::from_secs_f64(4.0 / 256.0));
        let idle: Vec<Duration> = (0..10).map(|_| p.after_pass(0)).collect();
        assert!(idle.windows(2).all(|w| w[0] <= w[1]), "{idle:?}");
        assert_eq!(*idle.last().unwrap(), p.longest());
        // A pass that copied an eighth of the ring: poll again at once.
        assert_eq!(p.after_pass(512 << 10), MIN_POLL_WAIT);
        // Some redo, not much: halve the wait.
        p.after_pass(0);
        p.after_pass(0);
        let before = p.wait;
        assert_eq!(p.after_pass(100), (before / 2).max(MIN_POLL_WAIT));
    }

    #[test]
    fn the_users_bound_wins_when_it_is_shorter_and_nothing_goes_below_the_floor() {
        let p = Pacer::new(Duration::from_millis(50), 96 << 20);
        assert_eq!(p.longest(), Duration::from_millis(50));
        let p = Pacer::new(Duration::from_secs(1), 96 << 20);
        assert_eq!(p.longest(), Duration::from_secs_f64(96.0 / 256.0));
        let p = Pacer::new(Duration::ZERO, 1 << 20);
        assert_eq!(p.longest(), MIN_POLL_WAIT);
    }
}
