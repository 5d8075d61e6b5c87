//! MySQL 5.7 redo: log files of 512-byte blocks with their header and
//! checkpoints ([`log`], re-exported here) and the MLOG records the blocks
//! carry ([`mlog`]).

pub mod log;
pub mod mlog;

pub use log::*;
