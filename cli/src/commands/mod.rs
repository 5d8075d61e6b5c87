//! The operator commands, one file each (backup, prepare, copy-back and move-back, verify,
//! extract, mysql57-log-group), and what they share.

pub(crate) mod backup;
pub(crate) mod common;
pub(crate) mod extract;
pub(crate) mod log_group;
pub(crate) mod prepare;
pub(crate) mod restore;
pub(crate) mod run;
pub(crate) mod verify;
