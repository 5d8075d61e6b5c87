//! MySQL 5.7 redo log (format 1): file header, checkpoints, 512-byte blocks, ring math.
//! See docs/FORMATS.md §2-3.

use crate::format::checksum::{crc32c, log_block_innodb};
use crate::format::{be_u16, be_u32, be_u64, need, put_u16, put_u32, put_u64, FormatError, Lsn};

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
/// Stored block checksum when `innodb_log_checksum_algorithm=none`.
pub const LOG_NO_CHECKSUM_MAGIC: u32 = 0xDEAD_BEEF;

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
        need("redo file header", block, LOG_BLOCK_SIZE)?;
        // Format first: 5.6 headers (format 0) carry no checksum, and naming the format
        // of an 8.0 or MariaDB log is more useful than a checksum complaint.
        let format = be_u32(block, 0);
        if format != LOG_HEADER_FORMAT_57 {
            return Err(FormatError::UnsupportedRedoFormat { found: format });
        }
        check_block_crc("redo file header", block)?;
        Ok(LogFileHeader { format, start_lsn: be_u64(block, 8), creator: parse_creator(block) })
    }
    /// A 512-byte block with the CRC-32C stamped.
    pub fn encode(&self) -> [u8; LOG_BLOCK_SIZE] {
        let mut b = [0u8; LOG_BLOCK_SIZE];
        put_u32(&mut b, 0, self.format);
        put_u64(&mut b, 8, self.start_lsn);
        write_creator(&mut b, &self.creator);
        stamp_block(&mut b, BlockChecksum::Crc32c);
        b
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
        need("redo checkpoint", block, LOG_BLOCK_SIZE)?;
        check_block_crc("redo checkpoint", block)?;
        Ok(Checkpoint {
            no: be_u64(block, 0),
            lsn: be_u64(block, 8),
            offset: be_u64(block, 16),
            log_buf_size: be_u64(block, 24),
        })
    }
    pub fn encode(&self) -> [u8; LOG_BLOCK_SIZE] {
        let mut b = [0u8; LOG_BLOCK_SIZE];
        put_u64(&mut b, 0, self.no);
        put_u64(&mut b, 8, self.lsn);
        put_u64(&mut b, 16, self.offset);
        put_u64(&mut b, 24, self.log_buf_size);
        stamp_block(&mut b, BlockChecksum::Crc32c);
        b
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
    need("redo log header", header, LOG_FILE_HDR_SIZE as usize)?;
    // A checksum-valid block 0 with another format is an 8.0 or MariaDB log whose
    // checkpoint slots mean something else. A damaged block 0 is the caller's business.
    let format = be_u32(header, 0);
    if format != LOG_HEADER_FORMAT_57 && block_crc_ok(&header[..LOG_BLOCK_SIZE]) {
        return Err(FormatError::UnsupportedRedoFormat { found: format });
    }
    let slot = |at: usize| Checkpoint::parse(&header[at..at + LOG_BLOCK_SIZE]).ok();
    match (slot(LOG_CHECKPOINT_1), slot(LOG_CHECKPOINT_2)) {
        (Some(a), Some(b)) => Ok(if b.no > a.no { b } else { a }),
        (Some(a), None) => Ok(a),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(FormatError::NoValidCheckpoint),
    }
}

/// The 2048-byte header with the creator replaced and block 0's CRC recomputed.
pub fn header_with_creator(header: &[u8], creator: &str) -> Result<Vec<u8>, FormatError> {
    let n = LOG_FILE_HDR_SIZE as usize;
    need("redo log header", header, n)?;
    let mut out = header[..n].to_vec();
    write_creator(&mut out, creator);
    stamp_block(&mut out[..LOG_BLOCK_SIZE], BlockChecksum::Crc32c);
    Ok(out)
}

/// "xtrabkup yymmdd hh:mm:ss" as xtrabackup labels its copy (hour space-padded: "%2d").
pub fn xtrabackup_creator(year: u32, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> String {
    format!("xtrabkup {:02}{:02}{:02} {:2}:{:02}:{:02}", year % 100, month, day, hour, min, sec)
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
        need("redo block header", block, LOG_BLOCK_HDR_SIZE)?;
        let raw = be_u32(block, 0);
        Ok(BlockHeader {
            block_no: raw & !FLUSH_BIT,
            flush_bit: raw & FLUSH_BIT != 0,
            data_len: be_u16(block, 4),
            first_rec_group: be_u16(block, 6),
            checkpoint_no: be_u32(block, 8),
        })
    }
    pub fn write_into(&self, block: &mut [u8]) {
        let raw = (self.block_no & !FLUSH_BIT) | if self.flush_bit { FLUSH_BIT } else { 0 };
        put_u32(block, 0, raw);
        put_u16(block, 4, self.data_len);
        put_u16(block, 6, self.first_rec_group);
        put_u32(block, 8, self.checkpoint_no);
    }
}

/// ((lsn / 512) & 0x3FFFFFFF) + 1
pub fn block_no_for_lsn(lsn: Lsn) -> u32 {
    (((lsn / LOG_BLOCK_SIZE as u64) & 0x3FFF_FFFF) + 1) as u32
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
    if block.len() < LOG_BLOCK_SIZE {
        return None;
    }
    let stored = be_u32(block, LOG_BLOCK_DATA_END);
    if stored == crc32c(&block[..LOG_BLOCK_DATA_END]) {
        Some(BlockChecksum::Crc32c)
    } else if stored == log_block_innodb(block) {
        Some(BlockChecksum::Innodb)
    } else if stored == LOG_NO_CHECKSUM_MAGIC {
        Some(BlockChecksum::None)
    } else {
        None
    }
}

/// Stores the checksum at 508 (0xDEADBEEF for None).
pub fn stamp_block(block: &mut [u8], kind: BlockChecksum) {
    let sum = match kind {
        BlockChecksum::Crc32c => crc32c(&block[..LOG_BLOCK_DATA_END]),
        BlockChecksum::Innodb => log_block_innodb(block),
        BlockChecksum::None => LOG_NO_CHECKSUM_MAGIC,
    };
    put_u32(block, LOG_BLOCK_DATA_END, sum);
}

/// What a 512-byte block read at the position of `block_lsn` means to a copier (docs/FORMATS.md §3).
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
    if block_checksum_kind(block).is_none() {
        return BlockClass::Unreadable;
    }
    let header = match BlockHeader::parse(block) {
        Ok(h) => h,
        Err(_) => return BlockClass::Unreadable,
    };
    let expected_no = block_no_for_lsn(block_lsn);
    let found_no = header.block_no;
    if found_no == expected_no {
        return BlockClass::Current { data_len: header.data_len };
    }
    // Block numbers count modulo 2^30: take the distance in (-2^29, 2^29].
    let modulus = i64::from(BLOCK_NO_MODULUS);
    let mut d = (i64::from(expected_no) - i64::from(found_no)).rem_euclid(modulus);
    if d > modulus / 2 {
        d -= modulus;
    }
    if d > 0 && ring_blocks > 0 && (d as u64).is_multiple_of(ring_blocks) {
        BlockClass::Stale { found_no }
    } else {
        BlockClass::Lapped { expected_no, found_no }
    }
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
        let bad = |detail: String| FormatError::Malformed { what: "redo log geometry", detail };
        if files == 0 {
            return Err(bad("no log files".into()));
        }
        if !file_size.is_multiple_of(LOG_BLOCK_SIZE as u64) {
            return Err(bad(format!("file size {file_size} is not a multiple of 512")));
        }
        if file_size <= LOG_FILE_HDR_SIZE {
            return Err(bad(format!("file size {file_size} leaves no room after the 2048-byte header")));
        }
        if (file_size - LOG_FILE_HDR_SIZE).checked_mul(u64::from(files)).is_none()
            || file_size.checked_mul(u64::from(files)).is_none()
        {
            return Err(bad(format!("{files} files of {file_size} bytes overflow 64 bits")));
        }
        Ok(RingGeometry { files, file_size })
    }
    /// Data bytes in the ring: N * (S - 2048).
    pub fn capacity(&self) -> u64 {
        u64::from(self.files) * (self.file_size - LOG_FILE_HDR_SIZE)
    }
    pub fn ring_blocks(&self) -> u64 {
        self.capacity() / LOG_BLOCK_SIZE as u64
    }
    /// Group offset (headers counted) -> data offset (headers not counted).
    pub fn size_offset(&self, real: u64) -> u64 {
        // Positions inside a file header map to that file's first data byte.
        let s = self.file_size;
        (real / s) * (s - LOG_FILE_HDR_SIZE) + (real % s).saturating_sub(LOG_FILE_HDR_SIZE)
    }
    /// Data offset -> group offset.
    pub fn real_offset(&self, size: u64) -> u64 {
        let data = self.file_size - LOG_FILE_HDR_SIZE;
        (size / data) * self.file_size + LOG_FILE_HDR_SIZE + size % data
    }
    /// Group offset of `lsn`, anchored at a checkpoint's (lsn, offset).
    pub fn lsn_offset(&self, lsn: Lsn, anchor_lsn: Lsn, anchor_offset: u64) -> u64 {
        let cap = i128::from(self.capacity());
        let diff = (i128::from(lsn) - i128::from(anchor_lsn)).rem_euclid(cap);
        let base = i128::from(self.size_offset(anchor_offset)) % cap;
        self.real_offset(((base + diff) % cap) as u64)
    }
    /// The file spans holding the `len` log bytes that start at `lsn` (headers skipped,
    /// wrapping from the last file to file 0). `lsn` and `len` are multiples of 512.
    pub fn spans(&self, lsn: Lsn, len: u64, anchor_lsn: Lsn, anchor_offset: u64) -> Vec<Span> {
        let mut out = Vec::new();
        let start = self.lsn_offset(lsn, anchor_lsn, anchor_offset);
        let mut file = (start / self.file_size) as u32;
        let mut offset = start % self.file_size;
        let mut left = len;
        while left > 0 {
            let take = left.min(self.file_size - offset);
            out.push(Span { file, offset, len: take });
            left -= take;
            file = (file + 1) % self.files;
            offset = LOG_FILE_HDR_SIZE;
        }
        out
    }
}

/// Header and checkpoint blocks always carry CRC-32C, whatever the block algorithm.
fn block_crc_ok(block: &[u8]) -> bool {
    be_u32(block, LOG_BLOCK_DATA_END) == crc32c(&block[..LOG_BLOCK_DATA_END])
}

fn check_block_crc(what: &'static str, block: &[u8]) -> Result<(), FormatError> {
    let stored = be_u32(block, LOG_BLOCK_DATA_END);
    let computed = crc32c(&block[..LOG_BLOCK_DATA_END]);
    if stored == computed {
        Ok(())
    } else {
        Err(FormatError::BadChecksum { what, stored, computed })
    }
}

/// The creator up to its first NUL; not-UTF-8 bytes are replaced (it is only a label).
fn parse_creator(block: &[u8]) -> String {
    let field = &block[LOG_HEADER_CREATOR..LOG_HEADER_CREATOR + LOG_HEADER_CREATOR_LEN];
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Writes `creator` NUL-padded, cut to 32 bytes on a character boundary.
fn write_creator(block: &mut [u8], creator: &str) {
    let mut end = creator.len().min(LOG_HEADER_CREATOR_LEN);
    while !creator.is_char_boundary(end) {
        end -= 1;
    }
    let field = &mut block[LOG_HEADER_CREATOR..LOG_HEADER_CREATOR + LOG_HEADER_CREATOR_LEN];
    field.fill(0);
    field[..end].copy_from_slice(&creator.as_bytes()[..end]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creator_is_cut_on_a_character_boundary() {
        let mut b = [0xFFu8; LOG_BLOCK_SIZE];
        write_creator(&mut b, &"é".repeat(20));
        assert_eq!(&b[16..48], "é".repeat(16).as_bytes());
        write_creator(&mut b, &format!("a{}", "é".repeat(20)));
        // 1 + 15 * 2 = 31 bytes, then a NUL.
        assert_eq!(parse_creator(&b), format!("a{}", "é".repeat(15)));
        assert_eq!(b[47], 0);
        assert_eq!(b[48], 0xFF);
    }

    #[test]
    fn header_positions_map_to_the_first_data_byte() {
        let g = RingGeometry::new(2, 4096).unwrap();
        assert_eq!(g.size_offset(0), 0);
        assert_eq!(g.size_offset(4096 + 100), 2048);
        assert_eq!(g.size_offset(4096 + 2048), 2048);
    }
}
