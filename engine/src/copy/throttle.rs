//! `--throttle`: a budget of bytes per second shared by every copy lane.

use std::time::Duration;

/// Spreads the copy over time: each chunk costs `bytes / rate` seconds of the
/// budget, and a lane whose chunk overdrew it waits until the budget has
/// caught up. Simulated time works as well as real time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    bytes_per_second: u64,
    /// When the budget spent so far is paid off.
    paid_until: Duration,
}

impl Throttle {
    /// None for a rate of 0 (no limit).
    pub fn new(bytes_per_second: u64) -> Option<Self> {
        (bytes_per_second > 0).then_some(Throttle { bytes_per_second, paid_until: Duration::ZERO })
    }

    pub fn rate(&self) -> u64 {
        self.bytes_per_second
    }

    /// A new rate from now on (0 is taken as 1 byte per second); what is paid stays paid.
    pub fn set_rate(&mut self, bytes_per_second: u64) {
        self.bytes_per_second = bytes_per_second.max(1);
    }

    /// Charges a chunk copied at `now`; returns when the next chunk may start
    /// (`now` or earlier: at once). Idle time is not saved up, so a lane that
    /// paused does not burst afterwards.
    pub fn charge(&mut self, now: Duration, bytes: u64) -> Duration {
        let cost = Duration::from_nanos((bytes as u128 * 1_000_000_000 / self.bytes_per_second as u128) as u64);
        self.paid_until = self.paid_until.max(now) + cost;
        self.paid_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_means_no_throttle() {
        assert_eq!(Throttle::new(0), None);
    }

    #[test]
    fn chunks_are_spread_at_the_rate_and_idle_time_is_not_saved_up() {
        // 10 MiB/s: a 1 MiB chunk costs 100 ms (1 MiB / 10 MiB).
        let mut t = Throttle::new(10 << 20).unwrap();
        let ms = Duration::from_millis;
        assert_eq!(t.charge(ms(0), 1 << 20), ms(100));
        // A second lane charging at the same moment queues behind the first.
        assert_eq!(t.charge(ms(0), 1 << 20), ms(200));
        // Called on time, the next chunk is due 100 ms later.
        assert_eq!(t.charge(ms(200), 1 << 20), ms(300));
        // After 5 s of idleness the budget starts again from now: no burst.
        assert_eq!(t.charge(ms(5300), 1 << 20), ms(5400));
        // 3 bytes at 10 MiB/s: 286 ns (truncated).
        assert_eq!(t.charge(ms(10_000), 3) - ms(10_000), Duration::from_nanos(286));
    }
}
