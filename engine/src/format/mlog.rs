//! MySQL 5.7 redo records (MLOG_*) and the compressed integers they use.

use super::{FormatError, Lsn};

pub const MLOG_SINGLE_REC_FLAG: u8 = 0x80;
pub const MLOG_1BYTE: u8 = 1;
pub const MLOG_2BYTES: u8 = 2;
pub const MLOG_4BYTES: u8 = 4;
pub const MLOG_8BYTES: u8 = 8;
pub const MLOG_WRITE_STRING: u8 = 30;
pub const MLOG_MULTI_REC_END: u8 = 31;
pub const MLOG_FILE_DELETE: u8 = 35;
pub const MLOG_FILE_CREATE2: u8 = 47;
pub const MLOG_FILE_RENAME2: u8 = 54;
pub const MLOG_FILE_NAME: u8 = 55;
pub const MLOG_CHECKPOINT: u8 = 56;
pub const MLOG_INDEX_LOAD: u8 = 61;

/// `mach_write_compressed`: 1-5 bytes (0xxxxxxx, 10xxxxxx+1, 110xxxxx+2, 1110xxxx+3, 0xF0+4).
pub fn write_compressed(out: &mut Vec<u8>, v: u32) {
    todo!()
}

/// `mach_parse_compressed`: the value and the bytes used; None if `b` is too short.
pub fn read_compressed(b: &[u8]) -> Option<(u32, usize)> {
    todo!()
}

/// `mach_u64_write_compressed`: high 32 bits compressed, low 32 bits as 4 raw bytes.
pub fn write_u64_compressed(out: &mut Vec<u8>, v: u64) {
    todo!()
}

pub fn read_u64_compressed(b: &[u8]) -> Option<(u64, usize)> {
    todo!()
}

/// The records the simulator writes and the engine must understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// MLOG_1BYTE / 2BYTES / 4BYTES: `width` is 1, 2 or 4.
    WriteN { space: u32, page: u32, offset: u16, width: u8, value: u32 },
    Write8 { space: u32, page: u32, offset: u16, value: u64 },
    WriteString { space: u32, page: u32, offset: u16, data: Vec<u8> },
    /// Names must not contain NUL; stored NUL-terminated with a u16 length.
    FileName { space: u32, page: u32, name: String },
    FileCreate { space: u32, page: u32, flags: u32, name: String },
    FileRename { space: u32, page: u32, from: String, to: String },
    FileDelete { space: u32, page: u32, name: String },
    IndexLoad { space: u32, page: u32 },
    Checkpoint { lsn: Lsn },
    MultiRecEnd,
}

impl Record {
    /// The page this record changes, if it is a page record.
    pub fn page_id(&self) -> Option<(u32, u32)> {
        match self {
            Record::WriteN { space, page, .. }
            | Record::Write8 { space, page, .. }
            | Record::WriteString { space, page, .. } => Some((*space, *page)),
            _ => None,
        }
    }
}

/// Appends one record; `single` sets MLOG_SINGLE_REC_FLAG on its type byte.
pub fn encode_record(rec: &Record, single: bool, out: &mut Vec<u8>) {
    todo!()
}

/// One decoded record: what it is, how many bytes it used, whether it had the single flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub record: Record,
    pub len: usize,
    pub single: bool,
}

/// Decodes the record at the start of `b`. Ok(None) = `b` ends inside the record.
/// Unknown types and impossible values are errors.
pub fn decode_record(b: &[u8]) -> Result<Option<Decoded>, FormatError> {
    todo!()
}

/// A mini-transaction's bytes: one record gets the single flag; more get MLOG_MULTI_REC_END.
pub fn encode_mtr(records: &[Record]) -> Vec<u8> {
    todo!()
}

/// The group 5.7 writes at a checkpoint: MLOG_FILE_NAME for each space touched since the
/// previous checkpoint (as one mtr, framed like `encode_mtr`), then MLOG_CHECKPOINT(lsn).
pub fn encode_checkpoint_group(file_names: &[(u32, String)], lsn: Lsn) -> Vec<u8> {
    todo!()
}
