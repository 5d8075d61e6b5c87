//! The log follower as shared between the orchestrator and whoever polls it
//! (a thread in production, the simulator's scheduler in tests).

use crate::error::BackupError;
use crate::follow::RedoFollower;
use crate::format::Lsn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

pub struct SharedFollower {
    follower: Mutex<Box<dyn RedoFollower>>,
    error: Mutex<Option<BackupError>>,
    stop: AtomicBool,
    /// Redo bytes the last background pass copied, and the ring's capacity:
    /// what the production driver paces its polls by.
    last_copied: AtomicU64,
    ring_capacity: u64,
}

/// What a background poll says about the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollAgain {
    Yes,
    No,
}

impl SharedFollower {
    pub(super) fn new(f: Box<dyn RedoFollower>) -> Self {
        let ring_capacity = f.ring_capacity();
        SharedFollower {
            follower: Mutex::new(f),
            error: Mutex::new(None),
            stop: AtomicBool::new(false),
            last_copied: AtomicU64::new(0),
            ring_capacity,
        }
    }

    /// One background copy pass; a failure is kept for the orchestrator to raise.
    pub fn background_poll(&self) -> PollAgain {
        if self.stop.load(Ordering::SeqCst) {
            return PollAgain::No;
        }
        let mut f = self.lock();
        if f.is_finished() {
            return PollAgain::No;
        }
        match f.poll(false) {
            Ok(report) => {
                self.last_copied.store(report.copied, Ordering::SeqCst);
                PollAgain::Yes
            }
            Err(e) => {
                *self.error.lock().expect("follower error lock") = Some(e);
                self.stop.store(true, Ordering::SeqCst);
                PollAgain::No
            }
        }
    }

    /// (bytes the last background pass copied, the ring's capacity).
    pub fn last_pass(&self) -> (u64, u64) {
        (self.last_copied.load(Ordering::SeqCst), self.ring_capacity)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// See `RedoFollower::copied_lsn`.
    pub fn copied_lsn(&self) -> Lsn {
        self.lock().copied_lsn()
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether the copier stopped because the server overwrote redo it had not copied.
    pub fn failed_with_lap(&self) -> bool {
        self.error.lock().expect("follower error lock").as_ref().is_some_and(BackupError::is_lap)
    }

    pub(super) fn take_error(&self) -> Option<BackupError> {
        self.error.lock().expect("follower error lock").take()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Box<dyn RedoFollower>> {
        self.follower.lock().expect("follower lock")
    }
}
