//! The incremental scenario's plan: what its seed draws besides the shapes
//! every scenario draws (`SimConfig::for_flavor`).

use crate::config::{FaultTargets, Scenario, SimConfig, DATA_FILES, SCENARIOS};
use crate::rng::Rng;

impl SimConfig {
    /// The incremental scenario: the ddl scenario's DDL and writes (but index
    /// builds without redo) in each of its three backups, torn writes or a
    /// lap now and then, the actions between the backups, whether the server
    /// idles into a clean checkpoint under each lock, and (for some seeds) one
    /// fault in one backup, named for what that backup writes (an
    /// incremental's data files are `NAME.delta` and `NAME.meta`).
    pub(crate) fn plan_incremental(&mut self, targets: &FaultTargets, safe_poll_us: u64, s: &mut Rng) {
        self.apply(Scenario::Ddl, targets, safe_poll_us, s);
        // Index builds without redo come between the backups (`incremental`):
        // during one they fail it, as the ddl scenario has them do.
        self.index_loads = false;
        // Unpaced: a copy made longer by the pace leaves fewer pages at from_lsn
        // (the server changes them again first), the case the scenario is for.
        (self.paced, self.shared_disk) = (false, false);
        if s.chance(0.3) {
            self.apply(Scenario::Torn, targets, safe_poll_us, s);
        }
        if s.chance(0.08) {
            self.apply(Scenario::Lap, targets, safe_poll_us, s);
        }
        self.between_actions = s.range(100, 1500);
        self.clean_checkpoint = s.chance(0.5);
        if s.chance(0.3) {
            let faulty = &SCENARIOS[3..=8];
            let sc = faulty[s.below(faulty.len() as u64) as usize];
            self.fault_backup = s.below(3) as u8;
            self.apply(sc, targets, safe_poll_us, s);
            if self.fault_backup > 0 {
                let delta = |name: &mut String| {
                    if DATA_FILES.contains(&name.as_str()) {
                        name.push_str(innohot::format::delta::DELTA_SUFFIX);
                    }
                };
                let f = &mut self.faults;
                f.target_create_enospc.iter_mut().for_each(delta);
                f.target_write_eio.iter_mut().for_each(|(n, _)| delta(n));
                f.target_sync_eio.iter_mut().for_each(delta);
            }
        }
    }
}
