//! MariaDB 10.8+ redo log (format "Phys", one `ib_logfile0`): header, checkpoints,
//! ring math, mini-transaction (mtr) framing and records. See docs/FORMATS.md §4-5.
//!
//! The file is a 12288-byte header followed by a ring of `size - 12288` bytes.
//! The log has no blocks: it is a stream of mtrs, each made of records, one
//! termination byte (the sequence bit of its LSN: 1 on even laps of the ring,
//! 0 on odd laps) and a CRC-32C of the record bytes. A reader finds the end of
//! the log where no valid mtr starts.
//!
//! Split by concern: [`header`] (block 0 and the checkpoints), [`ring`] (where an
//! LSN lives), [`varint`] (the integers records use), [`mtr`] (framing of one
//! mini-transaction), [`record`] (the records inside it) and [`edit`] (the
//! payloads of WRITE, MEMSET and MEMMOVE). Everything is re-exported here.

pub mod edit;
pub mod header;
pub mod mtr;
pub mod record;
pub mod ring;
pub mod varint;

pub use edit::*;
pub use header::*;
pub use mtr::*;
pub use record::*;
pub use ring::*;
pub use varint::*;

#[cfg(test)]
mod tests;
