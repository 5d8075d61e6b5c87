//! MySQL 5.7 redo: log files of 512-byte blocks with their header and
//! checkpoints ([`log`], re-exported here) and the MLOG records the blocks
//! carry ([`mlog`]), and the layout that turns a backup's redo copy into a
//! log group a 5.7 server recovers from ([`group`]).

pub mod body;
mod body_decode;
pub mod group;
pub mod log;
pub mod mlog;
pub mod page_zip;

pub use log::*;
