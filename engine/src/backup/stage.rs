//! What the backup knows of the server, grouped by the phase that learns it.
//!
//! Each group exists only once its phase has run: phase 3 detects the
//! server (`Detected`), phase 4 locates its files (`Connected`), phase 6
//! opens its redo log (`RedoOpened`), phase 8 starts the log copy
//! (`Following`) and phase 11 plans the data copy (`Copying`). The dispatch
//! in `Backup::step_phase` hands each phase the group it needs; a phase run
//! out of order is a `BackupError::PhaseOrder`, never a panic.

use super::SharedFollower;
use crate::copy::{CopyPool, InnodbLayout};
use crate::error::{BackupError, Result};
use crate::events::Phase;
use crate::flavor::{Flavor, RedoLog};
use crate::format::Lsn;
use crate::server::ServerVars;
use std::path::PathBuf;
use std::sync::Arc;

/// Phase 3's: who the server is.
pub(super) struct Detected {
    pub vars: ServerVars,
    pub flavor: Box<dyn Flavor>,
}

/// Phase 4's on: the server and where its files are read on this host.
pub(super) struct Connected {
    pub vars: ServerVars,
    pub flavor: Box<dyn Flavor>,
    pub datadir: PathBuf,
}

/// Phase 6's on: the server's redo log, opened but not yet followed.
pub(super) struct RedoOpened {
    pub conn: Connected,
    pub redo_log: Box<dyn RedoLog>,
}

/// Phase 8's on: the redo log copied into the backup as the server writes it.
pub(super) struct Following {
    pub conn: Connected,
    pub redo_log: Box<dyn RedoLog>,
    pub follower: Arc<SharedFollower>,
    /// Where the redo copy starts; the final pass (phase 19) reads it again.
    pub start_lsn: Lsn,
}

/// Phase 11's on: the tablespaces to copy, shared by the copy lanes.
pub(super) struct Copying {
    pub run: Following,
    pub pool: Arc<CopyPool>,
    pub innodb_layout: InnodbLayout,
}

impl Copying {
    pub fn conn(&self) -> &Connected {
        &self.run.conn
    }
}

/// The groups known so far: each variant holds everything before it.
#[derive(Default)]
pub(super) enum Stage {
    /// Phases 1-3: nothing is known of the server.
    #[default]
    Starting,
    /// Phase 4.
    Detected(Detected),
    /// Phases 5-6.
    Connected(Connected),
    /// Phases 7-8.
    RedoOpened(RedoOpened),
    /// Phases 9-11.
    Following(Following),
    /// Phases 12-25.
    Copying(Copying),
}

/// What a phase needed and did not find: the orchestrator ran it out of order.
fn out_of_order(phase: Phase, needs: &'static str) -> BackupError {
    BackupError::PhaseOrder { phase, needs }
}

impl Stage {
    /// Phase 3 on: the server detected.
    pub fn detected(&mut self, phase: Phase, detected: Detected) -> Result<()> {
        match self {
            Stage::Starting => {
                *self = Stage::Detected(detected);
                Ok(())
            }
            _ => Err(out_of_order(phase, "a backup not yet connected")),
        }
    }

    /// Phase 4: the detected server, handed over to be located.
    pub fn take_detected(&mut self, phase: Phase) -> Result<Detected> {
        match std::mem::take(self) {
            Stage::Detected(d) => Ok(d),
            other => {
                *self = other;
                Err(out_of_order(phase, "the server detected in phase 3"))
            }
        }
    }

    /// Phase 4 on: the server's files located.
    pub fn connected(&mut self, phase: Phase, conn: Connected) -> Result<()> {
        match self {
            Stage::Starting => {
                *self = Stage::Connected(conn);
                Ok(())
            }
            _ => Err(out_of_order(phase, "the detected server handed over")),
        }
    }

    pub fn conn(&self, phase: Phase) -> Result<&Connected> {
        match self {
            Stage::Connected(c) => Ok(c),
            Stage::RedoOpened(r) => Ok(&r.conn),
            Stage::Following(f) => Ok(&f.conn),
            Stage::Copying(c) => Ok(c.conn()),
            Stage::Starting | Stage::Detected(_) => Err(out_of_order(phase, "the datadir located in phase 4")),
        }
    }

    /// Phase 6 on: the redo log opened.
    pub fn redo_opened(&mut self, phase: Phase, redo_log: Box<dyn RedoLog>) -> Result<()> {
        match std::mem::take(self) {
            Stage::Connected(conn) => {
                *self = Stage::RedoOpened(RedoOpened { conn, redo_log });
                Ok(())
            }
            other => {
                *self = other;
                Err(out_of_order(phase, "the datadir located in phase 4, and no redo log yet"))
            }
        }
    }

    pub fn redo(&self, phase: Phase) -> Result<&RedoOpened> {
        match self {
            Stage::RedoOpened(r) => Ok(r),
            _ => Err(out_of_order(phase, "the redo log opened in phase 6, not yet followed")),
        }
    }

    /// Phase 8 on: the redo log followed.
    pub fn following(&mut self, phase: Phase, follower: Arc<SharedFollower>, start_lsn: Lsn) -> Result<()> {
        match std::mem::take(self) {
            Stage::RedoOpened(RedoOpened { conn, redo_log }) => {
                *self = Stage::Following(Following { conn, redo_log, follower, start_lsn });
                Ok(())
            }
            other => {
                *self = other;
                Err(out_of_order(phase, "the redo log opened in phase 6, not yet followed"))
            }
        }
    }

    pub fn followed(&self, phase: Phase) -> Result<&Following> {
        match self {
            Stage::Following(f) => Ok(f),
            Stage::Copying(c) => Ok(&c.run),
            _ => Err(out_of_order(phase, "the follower started in phase 8")),
        }
    }

    /// Phase 11 on: the data copy planned.
    pub fn copying(&mut self, phase: Phase, pool: Arc<CopyPool>, innodb_layout: InnodbLayout) -> Result<()> {
        match std::mem::take(self) {
            Stage::Following(run) => {
                *self = Stage::Copying(Copying { run, pool, innodb_layout });
                Ok(())
            }
            other => {
                *self = other;
                Err(out_of_order(phase, "the follower started in phase 8, and no copy yet"))
            }
        }
    }

    pub fn copy(&mut self, phase: Phase) -> Result<&mut Copying> {
        match self {
            Stage::Copying(c) => Ok(c),
            _ => Err(out_of_order(phase, "the copy planned in phase 11")),
        }
    }

    /// The log follower, once started: stopped on abort, polled by drivers.
    pub fn follower(&self) -> Option<&Arc<SharedFollower>> {
        match self {
            Stage::Following(f) => Some(&f.follower),
            Stage::Copying(c) => Some(&c.run.follower),
            _ => None,
        }
    }

    /// The copy pool, once planned: stopped on abort, stepped by drivers' lanes.
    pub fn pool(&self) -> Option<&Arc<CopyPool>> {
        match self {
            Stage::Copying(c) => Some(&c.pool),
            _ => None,
        }
    }
}
