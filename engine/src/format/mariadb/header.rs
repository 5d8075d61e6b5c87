//! Block 0 of `ib_logfile0` (format, first LSN, creator) and the two checkpoint blocks.

use super::{FIRST_LSN, START_OFFSET};
use crate::format::checksum::crc32c;
use crate::format::{be_u32, be_u64, need, put_u32, put_u64, FormatError, Lsn};

pub const HEADER_BLOCK_SIZE: usize = 512;
pub const CHECKPOINT_1: usize = 4096;
pub const CHECKPOINT_2: usize = 8192;
/// Bytes of a checkpoint block that carry data: [0,60) and the CRC at 60.
pub const CHECKPOINT_SIZE: usize = 64;
const CHECKPOINT_CRC_AT: usize = 60;
const HEADER_CRC_AT: usize = 508;
const CREATOR_AT: usize = 16;
const CREATOR_LEN: usize = 32;
/// Where an encrypted log keeps its key information (`LOG_HEADER_CREATOR_END`).
const CRYPT_INFO_AT: usize = 48;
/// `mariabackup` writes its creator with `snprintf(.., 16, "Backup %u.%u.%u")`.
const BACKUP_CREATOR_MAX: usize = 15;

/// "Phys": the 10.8+ format.
pub const FORMAT_10_8: u32 = 0x5068_7973;
/// What 10.11 writes at offset 0 when `innodb_encrypt_log=ON` (checked on a real server).
pub const FORMAT_ENCRYPTED_10_8: u32 = 0xF09F_979D;
/// "PHYS": MariaDB 10.5-10.7 (512-byte blocks, other ring layout).
pub const FORMAT_10_5: u32 = 0x5048_5953;
const FORMAT_ENCRYPTED_BIT: u32 = 1 << 31;

/// Block 0 of `ib_logfile0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The LSN stored at file offset 12288 on the first lap.
    pub first_lsn: Lsn,
    /// NUL-padded label, at most 32 bytes ("MariaDB 10.11.19", "Backup 10.11.19").
    pub creator: String,
}

impl Header {
    /// Parses [0,512): format, the zero word at 4, first_lsn, the creator and the CRC-32C at 508.
    pub fn parse(block: &[u8]) -> Result<Self, FormatError> {
        need("MariaDB redo log header", block, HEADER_BLOCK_SIZE)?;
        // The format first: naming an encrypted or older log helps more than a checksum complaint.
        let format = be_u32(block, 0);
        if format == FORMAT_ENCRYPTED_10_8 || format == FORMAT_10_8 | FORMAT_ENCRYPTED_BIT {
            return Err(encrypted(format));
        }
        if format != FORMAT_10_8 {
            return Err(FormatError::Malformed {
                what: "MariaDB redo log header",
                detail: format!(
                    "redo log format {format:#010x} ({}) is not the MariaDB 10.8+ format 0x50687973 (\"Phys\"); \
                     this flavor reads only logs written by MariaDB 10.8 or later",
                    describe_format(format)
                ),
            });
        }
        let stored = be_u32(block, HEADER_CRC_AT);
        let computed = crc32c(&block[..HEADER_CRC_AT]);
        if stored != computed {
            return Err(FormatError::BadChecksum { what: "MariaDB redo log header", stored, computed });
        }
        if be_u32(block, 4) != 0 {
            return Err(FormatError::Malformed {
                what: "MariaDB redo log header",
                detail: format!("the word at offset 4 is {:#x}, not 0", be_u32(block, 4)),
            });
        }
        if be_u32(block, CRYPT_INFO_AT) != 0 {
            return Err(encrypted(format));
        }
        let first_lsn = be_u64(block, 8);
        if first_lsn < FIRST_LSN {
            return Err(FormatError::Malformed {
                what: "MariaDB redo log header",
                detail: format!("first LSN {first_lsn} is below the smallest possible LSN {FIRST_LSN}"),
            });
        }
        Ok(Header { first_lsn, creator: parse_creator(block) })
    }

    /// A 512-byte block with the CRC-32C stamped.
    pub fn encode(&self) -> [u8; HEADER_BLOCK_SIZE] {
        let mut b = [0u8; HEADER_BLOCK_SIZE];
        put_u32(&mut b, 0, FORMAT_10_8);
        put_u64(&mut b, 8, self.first_lsn);
        write_creator(&mut b, &self.creator, CREATOR_LEN);
        let crc = crc32c(&b[..HEADER_CRC_AT]);
        put_u32(&mut b, HEADER_CRC_AT, crc);
        b
    }
}

fn encrypted(format: u32) -> FormatError {
    FormatError::Malformed {
        what: "MariaDB redo log header",
        detail: format!(
            "the redo log is encrypted (innodb_encrypt_log=ON, format {format:#010x}); innohot does not \
             support encrypted redo logs: back up this server with mariabackup, or set innodb_encrypt_log=OFF \
             (a restart rewrites the log unencrypted)"
        ),
    }
}

/// What wrote a redo log of this format, for error messages.
pub fn describe_format(format: u32) -> &'static str {
    match format & !FORMAT_ENCRYPTED_BIT {
        0 => "MySQL 5.6 or MariaDB before 10.2",
        1 => "MySQL 5.7 or MariaDB 10.2",
        2..=6 => "MySQL 8.0 or later",
        103 => "MariaDB 10.3",
        104 => "MariaDB 10.4",
        FORMAT_10_5 => "MariaDB 10.5 to 10.7",
        _ => "not an InnoDB redo log format innohot knows",
    }
}

/// "Backup <major.minor.patch>" from a server version such as "10.11.19-MariaDB-0+deb12u1",
/// cut to 15 bytes as mariabackup's `snprintf(.., 16, ..)` does.
pub fn backup_creator(server_version: &str) -> String {
    let numeric: String = server_version.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let mut creator = format!("Backup {}", numeric.trim_end_matches('.'));
    creator.truncate(BACKUP_CREATOR_MAX);
    creator
}

/// One checkpoint block (offset 4096 or 8192).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Recovery starts reading the log here.
    pub lsn: Lsn,
    /// Where this checkpoint's FILE_CHECKPOINT mtr starts; the log up to here was durable
    /// before the block was written.
    pub end_lsn: Lsn,
}

impl Checkpoint {
    /// Parses a block: CRC-32C of [0,60) at 60, zeros in [16,60), end LSN not below the LSN.
    pub fn parse(block: &[u8]) -> Result<Self, FormatError> {
        need("MariaDB redo checkpoint", block, CHECKPOINT_SIZE)?;
        let stored = be_u32(block, CHECKPOINT_CRC_AT);
        let computed = crc32c(&block[..CHECKPOINT_CRC_AT]);
        if stored != computed {
            return Err(FormatError::BadChecksum { what: "MariaDB redo checkpoint", stored, computed });
        }
        if block[16..CHECKPOINT_CRC_AT].iter().any(|&b| b != 0) {
            return Err(FormatError::Malformed {
                what: "MariaDB redo checkpoint",
                detail: "bytes 16..60 are not zero".into(),
            });
        }
        let cp = Checkpoint { lsn: be_u64(block, 0), end_lsn: be_u64(block, 8) };
        if cp.end_lsn < cp.lsn {
            return Err(FormatError::Malformed {
                what: "MariaDB redo checkpoint",
                detail: format!("end LSN {} is below the checkpoint LSN {}", cp.end_lsn, cp.lsn),
            });
        }
        Ok(cp)
    }

    /// The 64 meaningful bytes of a block (the rest of the 4096-byte block is zero).
    pub fn encode(&self) -> [u8; CHECKPOINT_SIZE] {
        let mut b = [0u8; CHECKPOINT_SIZE];
        put_u64(&mut b, 0, self.lsn);
        put_u64(&mut b, 8, self.end_lsn);
        let crc = crc32c(&b[..CHECKPOINT_CRC_AT]);
        put_u32(&mut b, CHECKPOINT_CRC_AT, crc);
        b
    }
}

/// The valid checkpoint with the larger LSN, from the first 8256+ bytes of the file
/// (on a tie the block at 8192 wins, as in the server). A block whose LSN is below
/// `first_lsn` is not valid.
pub fn newest_checkpoint(head: &[u8], first_lsn: Lsn) -> Result<Checkpoint, FormatError> {
    need("MariaDB redo log header", head, CHECKPOINT_2 + CHECKPOINT_SIZE)?;
    let slot = |at: usize| Checkpoint::parse(&head[at..at + CHECKPOINT_SIZE]).ok().filter(|c| c.lsn >= first_lsn);
    match (slot(CHECKPOINT_1), slot(CHECKPOINT_2)) {
        (Some(a), Some(b)) => Ok(if b.lsn >= a.lsn { b } else { a }),
        (Some(a), None) => Ok(a),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(FormatError::NoValidCheckpoint),
    }
}

/// Header block and newest checkpoint from the first 12288 bytes of `ib_logfile0`.
pub fn parse_log_header(head: &[u8]) -> Result<(Header, Checkpoint), FormatError> {
    need("MariaDB redo log header", head, CHECKPOINT_2 + CHECKPOINT_SIZE)?;
    let header = Header::parse(&head[..HEADER_BLOCK_SIZE])?;
    let cp = newest_checkpoint(head, header.first_lsn)?;
    Ok((header, cp))
}

/// The 12288-byte header of a backup's `ib_logfile0`, as mariabackup 10.11 writes it:
/// first_lsn = the checkpoint LSN, the creator, checkpoint block 1 = {LSN, end LSN},
/// checkpoint block 2 and everything else zero.
pub fn backup_log_header(checkpoint: Checkpoint, creator: &str) -> Vec<u8> {
    let mut out = vec![0u8; START_OFFSET as usize];
    let mut block = Header { first_lsn: checkpoint.lsn, creator: String::new() }.encode();
    // The creator field of a backup is the snprintf'd 16 bytes: at most 15 plus NUL.
    write_creator(&mut block, creator, BACKUP_CREATOR_MAX);
    let crc = crc32c(&block[..HEADER_CRC_AT]);
    put_u32(&mut block, HEADER_CRC_AT, crc);
    out[..HEADER_BLOCK_SIZE].copy_from_slice(&block);
    out[CHECKPOINT_1..CHECKPOINT_1 + CHECKPOINT_SIZE].copy_from_slice(&checkpoint.encode());
    out
}

/// The creator up to its first NUL; not-UTF-8 bytes are replaced (it is only a label).
fn parse_creator(block: &[u8]) -> String {
    let field = &block[CREATOR_AT..CREATOR_AT + CREATOR_LEN];
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Writes `creator` NUL-padded in the 32-byte field, cut to `max` bytes on a character boundary.
fn write_creator(block: &mut [u8], creator: &str, max: usize) {
    let mut end = creator.len().min(max);
    while !creator.is_char_boundary(end) {
        end -= 1;
    }
    let field = &mut block[CREATOR_AT..CREATOR_AT + CREATOR_LEN];
    field.fill(0);
    field[..end].copy_from_slice(&creator.as_bytes()[..end]);
}
