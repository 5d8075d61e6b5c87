//! `--throttle=auto`: the data-file copy goes as fast as the server lets it.
//!
//! A backup that copies at full speed can take most of the disk from the
//! server it backs up: every commit's log flush queues behind the copy's
//! reads and writes. The pacer watches the server's own throughput (a
//! the server's row-operation counters, sampled on a line of its own, every `window`) and keeps
//! it at or above a share of what it was before the copy, with the copy's
//! rate as the knob: grown by a quarter while the server keeps its share,
//! cut by 30 % when it does not (AIMD, as TCP finds a path's rate), never
//! below a floor, so the copy always ends. An idle server gets the full
//! speed at once, and a server whose load stops mid-copy gets it back
//! within a few windows. Only the data-file copy is paced: never the redo
//! copy, never a copy under the lock.

use super::throttle::Throttle;
use std::time::Duration;

/// The share of its pre-copy throughput the server may lose (`--max-impact`).
pub const DEFAULT_MAX_IMPACT_PERCENT: u32 = 40;
/// How often the server's throughput is sampled.
pub const DEFAULT_PACE_WINDOW: Duration = Duration::from_millis(200);
/// A server doing less than this counts as idle: nothing to spare, full speed.
pub const IDLE_ROWS_PER_SECOND: f64 = 20.0;
/// The first limit once a busy server is seen: about a third of a SATA SSD.
pub const START_RATE: u64 = 64 << 20;
/// The least the copy is ever given, so a server that slows down for
/// reasons of its own cannot starve the backup forever.
pub const FLOOR_RATE: u64 = 4 << 20;
const GROW: f64 = 1.25;
const SHRINK: f64 = 0.7;
/// Windows at the floor with the server still below its share: the copy is
/// not what holds it back (its load changed), so its baseline is measured again.
const STUCK_WINDOWS: u32 = 10;

/// One reading of the server's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// A counter of the rows read by key and written for clients, and the
    /// commits (`Handler_*`): the backup's own status reads never move it.
    pub rows: u64,
    /// Sessions running a statement now (`Threads_running`), the probe's own left out.
    pub running: u64,
}

/// What the pacer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceMode {
    /// The copy waits one window so the server's undisturbed rate can be seen.
    Measuring,
    /// The server is idle: full speed.
    Idle,
    /// The copy is held to `limit`.
    Paced,
}

/// One sample's view, for the backup's report.
#[derive(Debug, Clone, PartialEq)]
pub struct PaceSample {
    /// Clock time of the sample.
    pub at: Duration,
    /// The window's length (at least the pacer's window: samples come between chunks).
    pub seconds: f64,
    /// What the copy read per second over the window that ended here.
    pub copied_per_second: f64,
    /// The server's row operations per second over that window.
    pub server_per_second: f64,
    /// The server's rate before the copy (or when last measured).
    pub baseline: f64,
    /// The mode and the limit (bytes per second) from here on.
    pub mode: PaceMode,
    pub limit: Option<u64>,
}

/// The pacer's state; pure, driven by the pool with the clock's time.
#[derive(Debug, Clone)]
pub struct AutoPacer {
    keep: f64,
    window: Duration,
    mode: PaceMode,
    baseline: f64,
    budget: Option<Throttle>,
    /// The last sample: clock time and the server's counter.
    last: Option<(Duration, u64)>,
    copied_since: u64,
    smoothed: Option<f64>,
    stuck: u32,
    /// Measuring: no copy before this.
    hold_until: Duration,
    /// The limit to go back to after a measurement.
    resume: u64,
}

impl AutoPacer {
    /// `max_impact_percent`: the share of its throughput the server may lose (1..=99).
    pub fn new(max_impact_percent: u32, window: Duration) -> Self {
        let keep = 1.0 - f64::from(max_impact_percent.clamp(1, 99)) / 100.0;
        AutoPacer {
            keep,
            window: window.max(Duration::from_micros(1)),
            mode: PaceMode::Measuring,
            baseline: 0.0,
            budget: None,
            last: None,
            copied_since: 0,
            smoothed: None,
            stuck: 0,
            hold_until: Duration::ZERO,
            resume: START_RATE,
        }
    }

    pub fn mode(&self) -> PaceMode {
        self.mode
    }

    /// The current limit in bytes per second (None: full speed or measuring).
    pub fn limit(&self) -> Option<u64> {
        (self.mode == PaceMode::Paced).then(|| self.budget.as_ref().map_or(self.resume, Throttle::rate))
    }

    /// Whether the server's counter should be read now.
    pub fn wants_sample(&self, now: Duration) -> bool {
        self.last.is_none_or(|(at, _)| now >= at + self.window)
    }

    /// Before a chunk: when it may start (`now` or earlier: at once).
    pub fn gate(&self, now: Duration) -> Duration {
        match self.mode {
            PaceMode::Measuring => self.hold_until.max(now),
            _ => now,
        }
    }

    /// After a chunk of `bytes`: when the next may start.
    pub fn charge(&mut self, now: Duration, bytes: u64) -> Duration {
        self.copied_since += bytes;
        match (&mut self.budget, self.mode) {
            (Some(t), PaceMode::Paced) => t.charge(now, bytes),
            (_, PaceMode::Measuring) => self.hold_until,
            _ => now,
        }
    }

    /// The server's load read at `now`. Returns what the window that ended
    /// here saw (None for the first sample, or a counter that went back: a
    /// server restarted under the backup is not paced on).
    pub fn sample(&mut self, now: Duration, load: Load) -> Option<PaceSample> {
        let counter = load.rows;
        let Some((at, before)) = self.last.replace((now, counter)) else {
            self.hold_until = now + self.window;
            return None;
        };
        let seconds = now.saturating_sub(at).as_secs_f64();
        let copied = std::mem::take(&mut self.copied_since);
        if seconds <= 0.0 || counter < before {
            return None;
        }
        let server = (counter - before) as f64 / seconds;
        let copied_per_second = copied as f64 / seconds;
        // Little work and nobody running: idle. Little work with
        // sessions running is a server stalled, perhaps by the copy: not idle.
        let idle = server < IDLE_ROWS_PER_SECOND && load.running == 0;
        match self.mode {
            PaceMode::Measuring => self.measured(server, idle),
            PaceMode::Idle => {
                if !idle {
                    self.measure_from(now);
                }
            }
            PaceMode::Paced => self.paced(now, server, idle, copied_per_second),
        }
        let (baseline, mode, limit) = (self.baseline, self.mode, self.limit());
        Some(PaceSample { at: now, seconds, copied_per_second, server_per_second: server, baseline, mode, limit })
    }

    fn measured(&mut self, server: f64, idle: bool) {
        self.baseline = server;
        self.smoothed = None;
        self.stuck = 0;
        if idle {
            self.mode = PaceMode::Idle;
            self.budget = None;
        } else {
            self.mode = PaceMode::Paced;
            self.budget = Throttle::new(self.resume);
        }
    }

    fn measure_from(&mut self, now: Duration) {
        if let Some(t) = &self.budget {
            self.resume = t.rate();
        }
        self.mode = PaceMode::Measuring;
        self.hold_until = now + self.window;
    }

    fn paced(&mut self, now: Duration, server: f64, idle: bool, copied_per_second: f64) {
        let seen = self.smoothed.map_or(server, |s| (s + server) / 2.0);
        self.smoothed = Some(seen);
        if idle {
            // The load stopped: nothing left to spare it for.
            self.resume = self.budget.as_ref().map_or(START_RATE, Throttle::rate);
            self.mode = PaceMode::Idle;
            self.budget = None;
            return;
        }
        let Some(budget) = &mut self.budget else { return };
        let rate = budget.rate();
        if seen >= self.keep * self.baseline {
            self.stuck = 0;
            self.baseline = self.baseline.max(seen);
            // Grown only while the limit is what holds the copy back.
            if copied_per_second * 1.5 >= rate as f64 {
                budget.set_rate((rate as f64 * GROW) as u64);
            }
        } else {
            let cut = ((rate as f64 * SHRINK) as u64).max(FLOOR_RATE);
            budget.set_rate(cut);
            if cut == FLOOR_RATE && rate == FLOOR_RATE {
                self.stuck += 1;
                if self.stuck >= STUCK_WINDOWS {
                    self.measure_from(now);
                    self.resume = START_RATE;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "pace_tests.rs"]
mod tests;
