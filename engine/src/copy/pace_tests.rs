use super::*;

const MIB: f64 = (1 << 20) as f64;
const W: Duration = Duration::from_millis(200);

/// A server sharing one disk with the copy: `base` statements per second
/// alone, `base / (1 + copied / knee)` while the copy reads `copied` bytes per
/// second; the copy reads at most `disk` bytes per second.
struct Model {
    base: f64,
    knee: f64,
    disk: f64,
    now: Duration,
    counter: f64,
}

impl Model {
    fn new(base: f64, knee_mib: f64, disk_mib: f64) -> Self {
        Model { base, knee: knee_mib * MIB, disk: disk_mib * MIB, now: Duration::ZERO, counter: 1000.0 }
    }

    /// One window: the copy runs at what the pacer allows, the server at what
    /// the copy leaves it; the sample at its end.
    fn window(&mut self, p: &mut AutoPacer) -> PaceSample {
        let copy = match p.mode() {
            PaceMode::Measuring => 0.0,
            PaceMode::Idle => self.disk,
            PaceMode::Paced => (p.limit().unwrap() as f64).min(self.disk),
        };
        let server = self.base / (1.0 + copy / self.knee);
        p.charge(self.now, (copy * W.as_secs_f64()) as u64);
        self.now += W;
        self.counter += server * W.as_secs_f64();
        p.sample(self.now, self.load()).expect("a window after the first sample")
    }

    /// Four sessions while the server has a load, none once it is idle.
    fn load(&self) -> Load {
        Load { rows: self.counter as u64, running: if self.base > 0.0 { 4 } else { 0 } }
    }

    fn start(&mut self, p: &mut AutoPacer) {
        assert_eq!(p.sample(self.now, self.load()), None, "the first sample only starts the clock");
        assert_eq!(p.gate(self.now), W, "the copy waits one window while the server is measured");
    }
}

/// A pacer allowing `max_impact` percent, and a server of `base` statements a
/// second alone, sharing a 500 MiB/s disk whose copy at `knee` MiB/s halves it;
/// the first sample taken.
fn started(max_impact: u32, base: f64, knee_mib: f64) -> (AutoPacer, Model) {
    let (mut p, mut m) = (AutoPacer::new(max_impact, W), Model::new(base, knee_mib, 500.0));
    m.start(&mut p);
    (p, m)
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn an_idle_server_gets_the_full_speed_after_one_window() {
    let (mut p, mut m) = started(40, 0.0, 100.0);
    let s = m.window(&mut p);
    assert_eq!((s.mode, s.limit), (PaceMode::Idle, None));
    let s = m.window(&mut p);
    assert_eq!(s.copied_per_second, 500.0 * MIB);
    assert_eq!(p.gate(m.now), m.now);
    assert_eq!(p.charge(m.now, 1 << 20), m.now, "no limit: the next chunk at once");
}

#[test]
fn a_busy_server_keeps_its_share_and_the_copy_takes_what_is_left() {
    // Keeping 60 % of 3000/s allows the copy 100 * (1/0.6 - 1) = 66.7 MiB/s.
    let (mut p, mut m) = started(40, 3000.0, 100.0);
    let samples: Vec<PaceSample> = (0..100).map(|_| m.window(&mut p)).collect();
    assert_eq!(samples[0].mode, PaceMode::Paced);
    assert_eq!(samples[0].baseline, 3000.0);
    let late = &samples[50..];
    let server = mean(late.iter().map(|s| s.server_per_second));
    let copy = mean(late.iter().map(|s| s.copied_per_second)) / MIB;
    assert!(server >= 0.6 * 3000.0 * 0.93, "the server kept {server}/s of 3000/s");
    assert!(copy >= 0.6 * 66.7, "the copy was starved: {copy} MiB/s, 66.7 allowed");
    assert!(late.iter().all(|s| s.limit.unwrap() >= FLOOR_RATE));
}

#[test]
fn when_the_load_stops_the_copy_goes_full_speed_and_slows_again_when_it_comes_back() {
    let (mut p, mut m) = started(40, 3000.0, 100.0);
    for _ in 0..30 {
        m.window(&mut p);
    }
    let paced = p.limit().expect("paced under load");
    assert!((paced as f64) < 200.0 * MIB, "{paced}");
    m.base = 0.0;
    let after: Vec<PaceSample> = (0..3).map(|_| m.window(&mut p)).collect();
    assert!(after.iter().any(|s| s.mode == PaceMode::Idle), "{after:?}");
    let s = m.window(&mut p);
    assert_eq!(s.copied_per_second, 500.0 * MIB);
    // The load comes back: one window to measure it, then paced where it left off.
    m.base = 2000.0;
    let s = m.window(&mut p);
    assert_eq!(s.mode, PaceMode::Measuring);
    let s = m.window(&mut p);
    assert_eq!((s.mode, s.baseline), (PaceMode::Paced, 2000.0));
    assert_eq!(s.limit, Some(paced));
}

#[test]
fn a_server_slowing_down_on_its_own_is_measured_again_and_the_copy_is_not_starved() {
    let (mut p, mut m) = started(40, 3000.0, 100.0);
    for _ in 0..30 {
        m.window(&mut p);
    }
    // A third of the load goes away: below 60 % of the old baseline whatever the copy does.
    m.base = 1000.0;
    let samples: Vec<PaceSample> = (0..80).map(|_| m.window(&mut p)).collect();
    assert!(samples.iter().any(|s| s.mode == PaceMode::Measuring), "never measured again");
    let last = samples.last().unwrap();
    assert_eq!(last.mode, PaceMode::Paced);
    assert!(last.baseline < 1500.0, "{last:?}");
    let copy = mean(samples[60..].iter().map(|s| s.copied_per_second)) / MIB;
    assert!(copy >= 30.0, "the copy stayed starved: {copy} MiB/s");
}

#[test]
fn the_limit_never_falls_below_the_floor() {
    // A server that the least copy hurts: the copy still gets FLOOR_RATE.
    let (mut p, mut m) = started(1, 3000.0, 0.01);
    let samples: Vec<PaceSample> = (0..60).map(|_| m.window(&mut p)).collect();
    assert!(samples.iter().filter_map(|s| s.limit).all(|l| l >= FLOOR_RATE));
    assert!(samples.iter().any(|s| s.limit == Some(FLOOR_RATE)));
}

#[test]
fn a_counter_that_goes_back_is_not_paced_on() {
    let mut p = AutoPacer::new(40, W);
    let load = |rows| Load { rows, running: 1 };
    assert_eq!(p.sample(Duration::ZERO, load(500)), None);
    assert_eq!(p.sample(W, load(100)), None);
    assert_eq!(p.mode(), PaceMode::Measuring);
    assert!(p.wants_sample(W * 2));
    assert!(!p.wants_sample(W + W / 2));
}

#[test]
fn a_server_stalled_with_sessions_running_is_not_idle() {
    let (mut p, mut m) = started(40, 3000.0, 100.0);
    m.window(&mut p);
    let limit = p.limit().unwrap();
    // A window without a statement, but sessions are waiting: the copy slows down.
    let s = p.sample(m.now + W, Load { rows: m.counter as u64, running: 8 }).unwrap();
    assert_eq!(s.mode, PaceMode::Paced);
    assert!(s.limit.unwrap() < limit, "{s:?}");
}
