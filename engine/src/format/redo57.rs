//! MySQL 5.7 redo log (format 1): file header, checkpoints, 512-byte blocks, ring math.
//! See formats.md §2-3.

use super::{FormatError, Lsn};

pub const LOG_BLOCK_SIZE: usize = 512;
pub const LOG_BLOCK_HDR_SIZE: usize = 12;
pub const LOG_BLOCK_TRL_SIZE: usize = 4;
/// Data bytes per block: [12, 508).
pub const LOG_BLOCK_DATA_END: usize = LOG_BLOCK_SIZE - LOG_BLOCK_TRL_SIZE;
pub const LOG_FILE_HDR_SIZE: u64 = 2048;
/// The first LSN a freshly initialised 5.7 server uses (a block boundary).
pub const LOG_START_LSN: Lsn = 8192;
pub const LOG_CHECKPOINT_1: usize = 512;
pub const LOG_CHECKPOINT_2: usize = 1536;
pub const LOG_HEADER_FORMAT_57: u32 = 1;
pub const LOG_HEADER_CREATOR: usize = 16;
pub const LOG_HEADER_CREATOR_LEN: usize = 32;
/// Block numbers wrap at 2^30 (1..=2^30).
pub const BLOCK_NO_MODULUS: u32 = 1 << 30;
pub const FLUSH_BIT: u32 = 0x8000_0000;

/// Block 0 of every redo file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFileHeader {
    pub format: u32,
    /// LSN of this file's first data byte (offset 2048).
    pub start_lsn: Lsn,
    /// NUL-padded, at most 32 bytes.
    pub creator: String,
}

impl LogFileHeader {
    /// Parses block 0 and checks its CRC-32C at 508 and that the format is 1.
    pub fn parse(block: &[u8]) -> Result<Self, FormatError> {
        todo!()
    }
    /// A 512-byte block with the CRC-32C stamped.
    pub fn encode(&self) -> [u8; LOG_BLOCK_SIZE] {
        todo!()
    }
}

/// One checkpoint slot (offset 512 or 1536 of file 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub no: u64,
    pub lsn: Lsn,
    /// Byte offset of `lsn` in the whole group, file headers counted.
    pub offset: u64,
    pub log_buf_size: u64,
}

impl Checkpoint {
    /// Parses a slot and checks its CRC-32C.
    pub fn parse(block: &[u8]) -> Result<Self, FormatError> {
        todo!()
    }
    pub fn encode(&self) -> [u8; LOG_BLOCK_SIZE] {
        todo!()
    }
    /// Where the server writes this checkpoint: odd numbers go to 1536.
    pub fn slot_offset(&self) -> usize {
        if self.no % 2 == 1 {
            LOG_CHECKPOINT_2
        } else {
            LOG_CHECKPOINT_1
        }
    }
}

/// The valid slot with the larger number, from the first 2048 bytes of file 0.
pub fn newest_checkpoint(header: &[u8]) -> Result<Checkpoint, FormatError> {
    todo!()
}

/// The 2048-byte header with the creator replaced and block 0's CRC recomputed.
pub fn header_with_creator(header: &[u8], creator: &str) -> Result<Vec<u8>, FormatError> {
    todo!()
}

/// "xtrabkup yymmdd hh:mm:ss" as xtrabackup labels its copy (hour space-padded: "%2d").
pub fn xtrabackup_creator(year: u32, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> String {
    todo!()
}

/// The 12-byte block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub block_no: u32,
    pub flush_bit: bool,
    /// Bytes used including the header; 512 = full.
    pub data_len: u16,
    /// Offset of the first record group starting here, 0 = none.
    pub first_rec_group: u16,
    /// Low 32 bits of the checkpoint number current when written.
    pub checkpoint_no: u32,
}

impl BlockHeader {
    pub fn parse(block: &[u8]) -> Result<Self, FormatError> {
        todo!()
    }
    pub fn write_into(&self, block: &mut [u8]) {
        todo!()
    }
}

/// ((lsn / 512) & 0x3FFFFFFF) + 1
pub fn block_no_for_lsn(lsn: Lsn) -> u32 {
    todo!()
}

/// The three block checksum algorithms (`innodb_log_checksum_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockChecksum {
    Crc32c,
    Innodb,
    None,
}

/// Which algorithm, if any, matches the stored checksum at 508.
pub fn block_checksum_kind(block: &[u8]) -> Option<BlockChecksum> {
    todo!()
}

/// Stores the checksum at 508 (0xDEADBEEF for None).
pub fn stamp_block(block: &mut [u8], kind: BlockChecksum) {
    todo!()
}

/// What a 512-byte block read at the position of `block_lsn` means to a copier (formats.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockClass {
    /// The expected block, checksum ok. `data_len < 512` is the current end of the log.
    Current { data_len: u16 },
    /// A checksum-valid block from an earlier lap: the copier has caught up.
    Stale { found_no: u32 },
    /// A checksum-valid block from a later lap: the writer overwrote what was not yet copied.
    Lapped { expected_no: u32, found_no: u32 },
    /// The checksum fails: a block being written, or never written; try again later.
    Unreadable,
}

/// Classifies a block; `ring_blocks` is the ring's capacity in blocks.
pub fn classify_block(block: &[u8], block_lsn: Lsn, ring_blocks: u64) -> BlockClass {
    todo!()
}

/// N files of `file_size` bytes forming one ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingGeometry {
    pub files: u32,
    pub file_size: u64,
}

/// One contiguous piece of a ring read: `len` bytes at `offset` of file `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub file: u32,
    pub offset: u64,
    pub len: u64,
}

impl RingGeometry {
    /// Refuses sizes that are not multiples of 512 or leave no room after the header.
    pub fn new(files: u32, file_size: u64) -> Result<Self, FormatError> {
        todo!()
    }
    /// Data bytes in the ring: N * (S - 2048).
    pub fn capacity(&self) -> u64 {
        todo!()
    }
    pub fn ring_blocks(&self) -> u64 {
        self.capacity() / LOG_BLOCK_SIZE as u64
    }
    /// Group offset (headers counted) -> data offset (headers not counted).
    pub fn size_offset(&self, real: u64) -> u64 {
        todo!()
    }
    /// Data offset -> group offset.
    pub fn real_offset(&self, size: u64) -> u64 {
        todo!()
    }
    /// Group offset of `lsn`, anchored at a checkpoint's (lsn, offset).
    pub fn lsn_offset(&self, lsn: Lsn, anchor_lsn: Lsn, anchor_offset: u64) -> u64 {
        todo!()
    }
    /// The file spans holding the `len` log bytes that start at `lsn` (headers skipped,
    /// wrapping from the last file to file 0). `lsn` and `len` are multiples of 512.
    pub fn spans(&self, lsn: Lsn, len: u64, anchor_lsn: Lsn, anchor_offset: u64) -> Vec<Span> {
        todo!()
    }
}
