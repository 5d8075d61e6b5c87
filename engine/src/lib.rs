//! innohot: hot physical backups of InnoDB servers.

pub mod format;
