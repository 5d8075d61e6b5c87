//! The ring of `ib_logfile0`: a 12288-byte header, then `size - 12288` bytes that
//! the log wraps around.

use super::SIZE_OF_FILE_CHECKPOINT;
use crate::format::{FormatError, Lsn};

/// Where the ring starts in the file; also the smallest LSN the format allows.
pub const START_OFFSET: u64 = 12288;
pub const FIRST_LSN: Lsn = START_OFFSET;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    first_lsn: Lsn,
    file_size: u64,
}

impl Ring {
    /// Refuses files with no room after the header and first LSNs below 12288.
    pub fn new(first_lsn: Lsn, file_size: u64) -> Result<Self, FormatError> {
        let bad = |detail: String| FormatError::Malformed { what: "MariaDB redo log geometry", detail };
        if file_size <= START_OFFSET + SIZE_OF_FILE_CHECKPOINT as u64 {
            return Err(bad(format!("file size {file_size} leaves no room after the 12288-byte header")));
        }
        if first_lsn < FIRST_LSN {
            return Err(bad(format!("first LSN {first_lsn} is below {FIRST_LSN}")));
        }
        Ok(Ring { first_lsn, file_size })
    }
    pub fn first_lsn(&self) -> Lsn {
        self.first_lsn
    }
    pub fn file_size(&self) -> u64 {
        self.file_size
    }
    /// Log bytes the ring holds: size - 12288.
    pub fn capacity(&self) -> u64 {
        self.file_size - START_OFFSET
    }
    /// Which pass over the ring holds `lsn` (negative before first_lsn).
    pub fn lap(&self, lsn: Lsn) -> i128 {
        (i128::from(lsn) - i128::from(self.first_lsn)).div_euclid(i128::from(self.capacity()))
    }
    /// 12288 + (lsn - first_lsn) mod capacity.
    pub fn offset(&self, lsn: Lsn) -> u64 {
        let rel = (i128::from(lsn) - i128::from(self.first_lsn)).rem_euclid(i128::from(self.capacity()));
        START_OFFSET + rel as u64
    }
    /// The termination byte an mtr ending at `lsn` carries: 1 on even laps, 0 on odd ones.
    pub fn sequence_bit(&self, lsn: Lsn) -> u8 {
        // Called for every mtr: the common case without 128-bit division.
        if let Some(rel) = lsn.checked_sub(self.first_lsn) {
            return u8::from((rel / self.capacity()).is_multiple_of(2));
        }
        u8::from(self.lap(lsn).rem_euclid(2) == 0)
    }
    /// The file ranges (offset, length) holding the `len` log bytes from `lsn`: one range,
    /// or two when the run crosses the end of the file. `len` is cut to the capacity.
    pub fn spans(&self, lsn: Lsn, len: u64) -> Vec<(u64, u64)> {
        let len = len.min(self.capacity());
        let start = self.offset(lsn);
        let first = len.min(self.file_size - start);
        let mut out = vec![(start, first)];
        if first < len {
            out.push((START_OFFSET, len - first));
        }
        out
    }
}
