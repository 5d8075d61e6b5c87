//! Simulated time: advanced only by the scheduler.

use innohot::io::Clock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// 2026-01-01 00:00:00 UTC: every simulated run starts here.
pub const SIM_EPOCH_UNIX: u64 = 1_767_225_600;

#[derive(Clone, Default)]
pub struct SimClock {
    nanos: Arc<AtomicU64>,
}

impl SimClock {
    pub fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
    /// Moves time forward to `t` (never backwards).
    pub fn advance_to(&self, t: u64) {
        self.nanos.fetch_max(t, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }
    fn unix_seconds(&self) -> u64 {
        SIM_EPOCH_UNIX + self.now_nanos() / 1_000_000_000
    }
    /// Engine logic never sleeps under the simulator; if something does, time just moves.
    fn sleep(&self, d: Duration) {
        self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }
    fn unix_nanos(&self) -> i128 {
        SIM_EPOCH_UNIX as i128 * 1_000_000_000 + self.now_nanos() as i128
    }
}
