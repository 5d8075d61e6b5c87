//! innohot: hot physical backups of InnoDB servers.
//!
//! Layout: `format` holds pure byte-level codecs; `io` and `server` are the
//! boundary traits; `follow` (redo follower), `copy` (data-file copier) and
//! `backup` (the orchestrator) are step-able state machines over them, driven
//! by threads in production and by the simulator's scheduler in tests.

pub mod backup;
pub mod copy;
pub mod error;
pub mod error_kind;
pub mod events;
pub mod flavor;
pub mod follow;
pub mod format;
pub mod io;
pub mod meta;
#[cfg(feature = "planted-bugs")]
pub mod planted;
pub mod restore;
pub mod server;
pub mod stream;
pub mod timefmt;
pub mod verify;

pub use error::{BackupError, RedoLap, Result};
pub use error_kind::ErrorKind;
