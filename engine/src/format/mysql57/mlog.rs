//! MySQL 5.7 redo records (MLOG_*) and the compressed integers they use.

use super::body::{self, Cur, PageBody, Stop};
use crate::format::{FormatError, Lsn};

/// MLOG_WRITE_STRING may not write past the largest page (64 KiB).
const MAX_STRING_END: usize = 65536;

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
    if v < 0x80 {
        out.push(v as u8);
    } else if v < 0x4000 {
        out.extend_from_slice(&((v | 0x8000) as u16).to_be_bytes());
    } else if v < 0x20_0000 {
        out.extend_from_slice(&(v | 0xC0_0000).to_be_bytes()[1..]);
    } else if v < 0x1000_0000 {
        out.extend_from_slice(&(v | 0xE000_0000).to_be_bytes());
    } else {
        out.push(0xF0);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// `mach_parse_compressed`: the value and the bytes used; None if `b` is too short.
pub fn read_compressed(b: &[u8]) -> Option<(u32, usize)> {
    let first = *b.first()?;
    // Like the server (release build), any first byte >= 0xF0 means "4 raw bytes follow".
    let be = |x: &[u8]| x.iter().fold(0u32, |acc, &y| acc << 8 | u32::from(y));
    let len = match first {
        0x00..=0x7F => return Some((u32::from(first), 1)),
        0x80..=0xBF => 2,
        0xC0..=0xDF => 3,
        0xE0..=0xEF => 4,
        _ => 5,
    };
    let bytes = b.get(..len)?;
    let v = match len {
        2 => be(bytes) & 0x3FFF,
        3 => be(bytes) & 0x1F_FFFF,
        4 => be(bytes) & 0x0FFF_FFFF,
        _ => be(&bytes[1..]),
    };
    Some((v, len))
}

/// `mach_u64_write_compressed`: high 32 bits compressed, low 32 bits as 4 raw bytes.
pub fn write_u64_compressed(out: &mut Vec<u8>, v: u64) {
    write_compressed(out, (v >> 32) as u32);
    out.extend_from_slice(&(v as u32).to_be_bytes());
}

pub fn read_u64_compressed(b: &[u8]) -> Option<(u64, usize)> {
    let (high, n) = read_compressed(b)?;
    let low = b.get(n..n + 4)?;
    let low = u32::from_be_bytes(low.try_into().ok()?);
    Some((u64::from(high) << 32 | u64::from(low), n + 4))
}

/// The records the simulator writes and the engine must understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// MLOG_1BYTE / 2BYTES / 4BYTES: `width` is 1, 2 or 4.
    WriteN {
        space: u32,
        page: u32,
        offset: u16,
        width: u8,
        value: u32,
    },
    Write8 {
        space: u32,
        page: u32,
        offset: u16,
        value: u64,
    },
    WriteString {
        space: u32,
        page: u32,
        offset: u16,
        data: Vec<u8>,
    },
    /// Names must not contain NUL; stored NUL-terminated with a u16 length.
    FileName {
        space: u32,
        page: u32,
        name: String,
    },
    FileCreate {
        space: u32,
        page: u32,
        flags: u32,
        name: String,
    },
    FileRename {
        space: u32,
        page: u32,
        from: String,
        to: String,
    },
    FileDelete {
        space: u32,
        page: u32,
        name: String,
    },
    /// An index built without redo; the 8 bytes are its index id.
    IndexLoad {
        space: u32,
        page: u32,
        index_id: u64,
    },
    /// Any other page record: row, page, undo, initialisation, compressed-page.
    Page {
        space: u32,
        page: u32,
        body: PageBody,
    },
    /// MLOG_DUMMY_RECORD: padding, one byte.
    Dummy,
    Checkpoint {
        lsn: Lsn,
    },
    MultiRecEnd,
}

impl Record {
    /// The page this record changes, if it is a page record.
    pub fn page_id(&self) -> Option<(u32, u32)> {
        match self {
            Record::WriteN { space, page, .. }
            | Record::Write8 { space, page, .. }
            | Record::WriteString { space, page, .. }
            | Record::Page { space, page, .. } => Some((*space, *page)),
            _ => None,
        }
    }
}

/// The server's name of a page body's record type.
pub fn body_name(b: &PageBody) -> &'static str {
    body::type_name(b.type_byte())
}

/// Appends one record; `single` sets MLOG_SINGLE_REC_FLAG on its type byte.
pub fn encode_record(rec: &Record, single: bool, out: &mut Vec<u8>) {
    match rec {
        Record::WriteN { space, page, offset, width, value } => {
            let ty = match width {
                1 => MLOG_1BYTE,
                2 => MLOG_2BYTES,
                4 => MLOG_4BYTES,
                _ => panic!("encode_record: WriteN width {width} is not 1, 2 or 4"),
            };
            assert!(
                u64::from(*value) <= width_max(*width),
                "encode_record: value {value:#x} does not fit {width} byte(s)"
            );
            initial(out, ty, single, *space, *page);
            out.extend_from_slice(&offset.to_be_bytes());
            write_compressed(out, *value);
        }
        Record::Write8 { space, page, offset, value } => {
            initial(out, MLOG_8BYTES, single, *space, *page);
            out.extend_from_slice(&offset.to_be_bytes());
            write_u64_compressed(out, *value);
        }
        Record::WriteString { space, page, offset, data } => {
            assert!(
                usize::from(*offset) + data.len() <= MAX_STRING_END,
                "encode_record: MLOG_WRITE_STRING of {} bytes at {offset} passes 64 KiB",
                data.len()
            );
            initial(out, MLOG_WRITE_STRING, single, *space, *page);
            out.extend_from_slice(&offset.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(data);
        }
        Record::FileName { space, page, name } => {
            initial(out, MLOG_FILE_NAME, single, *space, *page);
            put_name(out, name);
        }
        Record::FileCreate { space, page, flags, name } => {
            initial(out, MLOG_FILE_CREATE2, single, *space, *page);
            out.extend_from_slice(&flags.to_be_bytes());
            put_name(out, name);
        }
        Record::FileRename { space, page, from, to } => {
            initial(out, MLOG_FILE_RENAME2, single, *space, *page);
            put_name(out, from);
            put_name(out, to);
        }
        Record::FileDelete { space, page, name } => {
            initial(out, MLOG_FILE_DELETE, single, *space, *page);
            put_name(out, name);
        }
        Record::IndexLoad { space, page, index_id } => {
            initial(out, MLOG_INDEX_LOAD, single, *space, *page);
            out.extend_from_slice(&index_id.to_be_bytes());
        }
        Record::Page { space, page, body } => {
            initial(out, body.type_byte(), single, *space, *page);
            body.encode(out);
        }
        Record::Dummy => out.push(body::MLOG_DUMMY_RECORD),
        // The server never flags these two single (it refuses them if flagged).
        Record::Checkpoint { lsn } => {
            out.push(MLOG_CHECKPOINT);
            out.extend_from_slice(&lsn.to_be_bytes());
        }
        Record::MultiRecEnd => out.push(MLOG_MULTI_REC_END),
    }
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
    let mut r = Reader { b, pos: 0 };
    let Some(type_byte) = r.u8() else {
        return Ok(None);
    };
    let single = type_byte & MLOG_SINGLE_REC_FLAG != 0;
    let ty = type_byte & !MLOG_SINGLE_REC_FLAG;
    match ty {
        MLOG_MULTI_REC_END | MLOG_CHECKPOINT | body::MLOG_DUMMY_RECORD if single => {
            return Err(malformed(format!("type {ty} must not carry the single-record flag")))
        }
        MLOG_MULTI_REC_END => return Ok(Some(Decoded { record: Record::MultiRecEnd, len: 1, single })),
        body::MLOG_DUMMY_RECORD => return Ok(Some(Decoded { record: Record::Dummy, len: 1, single })),
        MLOG_CHECKPOINT => {
            let Some(lsn) = r.u64() else { return Ok(None) };
            return Ok(Some(Decoded { record: Record::Checkpoint { lsn }, len: r.pos, single }));
        }
        MLOG_1BYTE | MLOG_2BYTES | MLOG_4BYTES | MLOG_8BYTES | MLOG_WRITE_STRING | MLOG_FILE_NAME
        | MLOG_FILE_DELETE | MLOG_FILE_CREATE2 | MLOG_FILE_RENAME2 | MLOG_INDEX_LOAD => {}
        t if body::is_body_type(t) => {}
        _ => {
            return Err(malformed(format!(
                "redo record type {ty} is not a MySQL 5.7 record type (the copy is damaged, or the log is not \
                 a 5.7 server's)"
            )))
        }
    }
    let Some(space) = r.compressed() else {
        return Ok(None);
    };
    let Some(page) = r.compressed() else {
        return Ok(None);
    };
    let record = match ty {
        MLOG_1BYTE | MLOG_2BYTES | MLOG_4BYTES => match decode_write_n(&mut r, ty, space, page)? {
            Some(record) => record,
            None => return Ok(None),
        },
        MLOG_8BYTES => {
            let Some(offset) = r.u16() else {
                return Ok(None);
            };
            let Some((value, n)) = read_u64_compressed(r.rest()) else {
                return Ok(None);
            };
            r.pos += n;
            Record::Write8 { space, page, offset, value }
        }
        MLOG_WRITE_STRING => match decode_write_string(&mut r, space, page)? {
            Some(record) => record,
            None => return Ok(None),
        },
        MLOG_FILE_NAME | MLOG_FILE_DELETE | MLOG_FILE_CREATE2 | MLOG_FILE_RENAME2 => {
            match decode_file(&mut r, ty, space, page)? {
                Some(record) => record,
                None => return Ok(None),
            }
        }
        MLOG_INDEX_LOAD => {
            // The index id (row_merge_write_redo); recovery skips it.
            let Some(index_id) = r.u64() else { return Ok(None) };
            Record::IndexLoad { space, page, index_id }
        }
        _ => match decode_page_body(&mut r, ty, space, page)? {
            Some(record) => record,
            None => return Ok(None),
        },
    };
    Ok(Some(Decoded { record, len: r.pos, single }))
}

/// The rest of an MLOG_FILE_NAME, _DELETE, _CREATE2 or _RENAME2 record.
fn decode_file(r: &mut Reader, ty: u8, space: u32, page: u32) -> Result<Option<Record>, FormatError> {
    Ok(Some(match ty {
        MLOG_FILE_NAME => {
            let Some(name) = r.name()? else {
                return Ok(None);
            };
            Record::FileName { space, page, name }
        }
        MLOG_FILE_DELETE => {
            let Some(name) = r.name()? else {
                return Ok(None);
            };
            Record::FileDelete { space, page, name }
        }
        MLOG_FILE_CREATE2 => {
            let Some(flags) = r.u32() else {
                return Ok(None);
            };
            let Some(name) = r.name()? else {
                return Ok(None);
            };
            Record::FileCreate { space, page, flags, name }
        }
        MLOG_FILE_RENAME2 => {
            let Some(from) = r.name()? else {
                return Ok(None);
            };
            let Some(to) = r.name()? else { return Ok(None) };
            Record::FileRename { space, page, from, to }
        }
        _ => unreachable!("file record types only"),
    }))
}

/// The body of a row, page, undo, initialisation or compressed-page record.
fn decode_page_body(r: &mut Reader, ty: u8, space: u32, page: u32) -> Result<Option<Record>, FormatError> {
    let mut c = Cur { b: r.b, pos: r.pos };
    match body::decode_body(ty, &mut c) {
        Ok(body) => {
            r.pos = c.pos;
            Ok(Some(Record::Page { space, page, body }))
        }
        Err(Stop::Short) => Ok(None),
        Err(Stop::Bad(detail)) => {
            Err(malformed(format!("{} of page {page} in space {space}: {detail}", body::type_name(ty))))
        }
    }
}

/// The rest of an MLOG_1BYTE/2BYTES/4BYTES record (`width` is the type).
fn decode_write_n(r: &mut Reader, width: u8, space: u32, page: u32) -> Result<Option<Record>, FormatError> {
    let (Some(offset), Some(value)) = (r.u16(), r.compressed()) else { return Ok(None) };
    if u64::from(value) > width_max(width) {
        return Err(malformed(format!(
            "MLOG_{width}BYTE{} value {value:#x} does not fit {width} byte(s)",
            if width == 1 { "" } else { "S" }
        )));
    }
    Ok(Some(Record::WriteN { space, page, offset, width, value }))
}

/// The rest of an MLOG_WRITE_STRING record.
fn decode_write_string(r: &mut Reader, space: u32, page: u32) -> Result<Option<Record>, FormatError> {
    let (Some(offset), Some(len)) = (r.u16(), r.u16()) else { return Ok(None) };
    if usize::from(offset) + usize::from(len) > MAX_STRING_END {
        return Err(malformed(format!("MLOG_WRITE_STRING of {len} bytes at offset {offset} passes 64 KiB")));
    }
    let Some(data) = r.bytes(usize::from(len)) else { return Ok(None) };
    Ok(Some(Record::WriteString { space, page, offset, data: data.to_vec() }))
}

/// A mini-transaction's bytes: one record gets the single flag; more get MLOG_MULTI_REC_END.
pub fn encode_mtr(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    match records {
        [] => {}
        [one] => encode_record(one, true, &mut out),
        many => {
            for rec in many {
                encode_record(rec, false, &mut out);
            }
            out.push(MLOG_MULTI_REC_END);
        }
    }
    out
}

/// The group 5.7 writes at a checkpoint: MLOG_FILE_NAME for each space touched since the
/// previous checkpoint (as one mtr, framed like `encode_mtr`), then MLOG_CHECKPOINT(lsn).
pub fn encode_checkpoint_group(file_names: &[(u32, String)], lsn: Lsn) -> Vec<u8> {
    let names: Vec<Record> = file_names
        .iter()
        .map(|(space, name)| Record::FileName { space: *space, page: 0, name: name.clone() })
        .collect();
    let mut out = encode_mtr(&names);
    encode_record(&Record::Checkpoint { lsn }, false, &mut out);
    out
}

fn width_max(width: u8) -> u64 {
    (1u64 << (8 * u32::from(width))) - 1
}

fn malformed(detail: String) -> FormatError {
    FormatError::Malformed { what: "redo record", detail }
}

/// `mlog_write_initial_log_record_low`: type, compressed space id, compressed page no.
fn initial(out: &mut Vec<u8>, ty: u8, single: bool, space: u32, page: u32) {
    out.push(if single { ty | MLOG_SINGLE_REC_FLAG } else { ty });
    write_compressed(out, space);
    write_compressed(out, page);
}

/// u16 length (NUL included), the name, NUL. Panics on a NUL inside or a name that
/// cannot fit: both are caller bugs that would write an unreadable log.
fn put_name(out: &mut Vec<u8>, name: &str) {
    assert!(!name.contains('\0'), "encode_record: file name {name:?} contains NUL");
    let len = u16::try_from(name.len() + 1)
        .unwrap_or_else(|_| panic!("encode_record: file name of {} bytes is too long", name.len()));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
}

/// A cursor whose reads return None when the input ends first.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.b[self.pos..]
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|x| x[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|x| u16::from_be_bytes([x[0], x[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.bytes(4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let x = self.bytes(8)?;
        Some(u64::from_be_bytes(x.try_into().ok()?))
    }
    fn compressed(&mut self) -> Option<u32> {
        let (v, n) = read_compressed(self.rest())?;
        self.pos += n;
        Some(v)
    }
    /// A NUL-terminated name with its u16 length; Ok(None) if the input ends first.
    fn name(&mut self) -> Result<Option<String>, FormatError> {
        let Some(len) = self.u16() else {
            return Ok(None);
        };
        let Some(raw) = self.bytes(usize::from(len)) else {
            return Ok(None);
        };
        let Some((&0, name)) = raw.split_last() else {
            return Err(malformed(format!("file name of length {len} is not NUL-terminated")));
        };
        if name.contains(&0) {
            return Err(malformed("file name contains a NUL before its end".into()));
        }
        // 5.7 stores table names in the filename-safe encoding, so names are ASCII in
        // practice; refusing other bytes beats silently renaming a file.
        String::from_utf8(name.to_vec()).map(Some).map_err(|_| malformed("file name is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_first_byte_from_0xf0_takes_four_more() {
        assert_eq!(read_compressed(&[0xF7, 0, 0, 1, 2]), Some((0x102, 5)));
        assert_eq!(read_compressed(&[0xFF, 0, 0, 1]), None);
    }

    #[test]
    fn non_canonical_encodings_are_read() {
        assert_eq!(read_compressed(&[0x80, 0x05]), Some((5, 2)));
        assert_eq!(read_compressed(&[0xE0, 0, 0, 5]), Some((5, 4)));
    }
}
