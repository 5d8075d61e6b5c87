//! The backup's SIGINT/SIGTERM handling.

use crate::commands::common::FAILURE;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// SIGINT/SIGTERM: the first sets the stop flag (the backup aborts cleanly at
/// its next step), a second one exits at once (the server drops the lock with
/// the connection).
pub(crate) struct Signals {
    pub(crate) stop: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
}

impl Signals {
    pub(crate) fn install() -> Signals {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let s = Signals { stop: Arc::default(), which: Arc::default() };
        for sig in [SIGINT, SIGTERM] {
            // The conditional shutdown first: it sees the flag unset on the first signal.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, FAILURE as i32, s.stop.clone());
            let _ = signal_hook::flag::register(sig, s.stop.clone());
            let _ = signal_hook::flag::register_usize(sig, s.which.clone(), sig as usize);
        }
        s
    }

    pub(crate) fn name(&self) -> &'static str {
        match self.which.load(Ordering::SeqCst) as i32 {
            signal_hook::consts::SIGINT => "SIGINT",
            signal_hook::consts::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}
