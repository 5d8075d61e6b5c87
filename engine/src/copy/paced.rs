//! The pool's side of `--throttle`: a fixed budget, or the `AutoPacer` with
//! its line to the server, and the notes that tell the user what it did.

use super::pace::{AutoPacer, PaceMode, PaceSample};
use super::{Pacing, Throttle};
use crate::server::LoadProbe;
use std::time::Duration;

/// What one stretch of the copy in one mode did, for the notes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaceStretch {
    pub seconds: f64,
    pub bytes: f64,
}

impl PaceStretch {
    pub fn mib_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes / self.seconds / f64::from(1 << 20)
        } else {
            0.0
        }
    }
}

enum Kind {
    /// Auto pacing whose line to the server failed: full speed from then on.
    Off,
    Fixed(Throttle),
    Auto {
        pacer: AutoPacer,
        probe: Box<dyn LoadProbe>,
        max_impact: u32,
    },
}

/// The copy's pace, shared by the lanes behind the pool's mutex.
pub struct PaceState {
    kind: Kind,
    /// The current stretch (since the last change of mode) and the totals per mode.
    stretch: PaceStretch,
    paced: PaceStretch,
    full: PaceStretch,
}

/// What the pool should do before a chunk, and what to tell the user.
pub struct Gate {
    pub start_at: Duration,
    pub note: Option<String>,
}

impl PaceState {
    /// None when nothing paces the copy (unpaced, or auto without a line to the
    /// server: then `why_unpaced` says so).
    pub fn new(pacing: Pacing, probe: Option<Box<dyn LoadProbe>>) -> Option<Self> {
        let kind = match (pacing, probe) {
            (Pacing::Unpaced, _) | (Pacing::Auto { .. }, None) => return None,
            (Pacing::Fixed(rate), _) => Kind::Fixed(Throttle::new(rate)?),
            (Pacing::Auto { max_impact_percent, window }, Some(probe)) => {
                Kind::Auto { pacer: AutoPacer::new(max_impact_percent, window), probe, max_impact: max_impact_percent }
            }
        };
        let none = PaceStretch::default;
        Some(PaceState { kind, stretch: none(), paced: none(), full: none() })
    }

    /// Before a chunk at `now`: samples the server when a window has passed.
    pub fn gate(&mut self, now: Duration) -> Gate {
        let Kind::Auto { pacer, probe, max_impact } = &mut self.kind else {
            return Gate { start_at: now, note: None };
        };
        if !pacer.wants_sample(now) {
            return Gate { start_at: pacer.gate(now), note: None };
        }
        let before = pacer.mode();
        let counter = match probe.load() {
            Ok(c) => c,
            Err(e) => {
                let limit = pacer.limit();
                let note = format!(
                    "pace: the server's load could not be read ({e}): the copy goes on at {}",
                    limit.map_or("full speed".to_string(), |l| format!("{} MiB/s", l >> 20))
                );
                self.kind = limit.and_then(Throttle::new).map_or(Kind::Off, Kind::Fixed);
                return Gate { start_at: now, note: Some(note) };
            }
        };
        let (max_impact, sample) = (*max_impact, pacer.sample(now, counter));
        let start_at = pacer.gate(now);
        let note = sample.and_then(|s| self.account(before, &s, max_impact));
        Gate { start_at, note }
    }

    /// After a chunk of `bytes` at `now`: when the next may start.
    pub fn charge(&mut self, now: Duration, bytes: u64) -> Duration {
        match &mut self.kind {
            Kind::Off => now,
            Kind::Fixed(t) => t.charge(now, bytes),
            Kind::Auto { pacer, .. } => pacer.charge(now, bytes),
        }
    }

    /// Adds the window that `s` ends to the stretch; a note when the mode changed.
    fn account(&mut self, before: PaceMode, s: &PaceSample, max_impact: u32) -> Option<String> {
        let seconds = s.seconds;
        self.stretch.seconds += seconds;
        self.stretch.bytes += s.copied_per_second * seconds;
        let total = match before {
            PaceMode::Paced => Some(&mut self.paced),
            PaceMode::Idle => Some(&mut self.full),
            PaceMode::Measuring => None,
        };
        if let Some(total) = total {
            total.seconds += seconds;
            total.bytes += s.copied_per_second * seconds;
        }
        if s.mode == before {
            return None;
        }
        let stretch = std::mem::take(&mut self.stretch);
        let was = match before {
            PaceMode::Paced => format!(
                " (over the last {:.2} s, paced: {:.1} MiB/s copied)",
                stretch.seconds,
                stretch.mib_per_second()
            ),
            PaceMode::Idle => format!(
                " (over the last {:.2} s, at full speed: {:.1} MiB/s copied)",
                stretch.seconds,
                stretch.mib_per_second()
            ),
            PaceMode::Measuring => String::new(),
        };
        let now = match s.mode {
            PaceMode::Idle => {
                format!("the server is idle ({:.0} row operations/s): the copy goes at full speed", s.server_per_second)
            }
            PaceMode::Measuring => format!(
                "the server runs {:.0} row operations/s: the copy waits one window to measure it undisturbed",
                s.server_per_second
            ),
            PaceMode::Paced => format!(
                "the server ran {:.0} row operations/s undisturbed: the copy is paced so it keeps at least {}% of that \
                 (--max-impact={max_impact}), starting at {} MiB/s",
                s.baseline,
                100 - max_impact,
                s.limit.unwrap_or(0) >> 20
            ),
        };
        Some(format!("pace: {now}{was}"))
    }

    /// The whole copy's pacing in one line (None for a fixed rate, or before any window).
    pub fn summary(&self) -> Option<String> {
        let Kind::Auto { .. } = &self.kind else { return None };
        let (p, f) = (&self.paced, &self.full);
        (p.seconds + f.seconds > 0.0).then(|| {
            format!(
                "pace: {:.2} s paced at {:.1} MiB/s on average, {:.2} s at full speed at {:.1} MiB/s",
                p.seconds,
                p.mib_per_second(),
                f.seconds,
                f.mib_per_second()
            )
        })
    }
}
