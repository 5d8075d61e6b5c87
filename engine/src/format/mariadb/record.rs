//! The records of one mtr: page records (by [`PageOp`]) and file records (by
//! [`FileOp`]), decoded by [`records`] and written by [`encode_record`].

use super::{read_varint, varint_size, write_varint, MTR_SIZE_MAX};
use crate::format::{be_u64, FormatError, Lsn};

/// (tablespace, page number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageId {
    pub space: u32,
    pub page: u32,
}

/// The page record types (bits 6..4 of the first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageOp {
    FreePage,
    InitPage,
    /// Followed by a subtype byte (row format init, undo, insert, delete, trim).
    Extended,
    Write,
    Memset,
    Memmove,
    /// Unused; recovery refuses it.
    Reserved,
    /// Subtype 0 = page checksum; recovery skips it.
    Option,
}

/// The server's name of the record type, for messages.
impl std::fmt::Display for PageOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PageOp::FreePage => "FREE_PAGE",
            PageOp::InitPage => "INIT_PAGE",
            PageOp::Extended => "EXTENDED",
            PageOp::Write => "WRITE",
            PageOp::Memset => "MEMSET",
            PageOp::Memmove => "MEMMOVE",
            PageOp::Reserved => "RESERVED (type 0x60)",
            PageOp::Option => "OPTION",
        })
    }
}

/// "tablespace S page P", for messages.
impl std::fmt::Display for PageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tablespace {} page {}", self.space, self.page)
    }
}

impl PageOp {
    pub fn from_bits(first: u8) -> PageOp {
        match first & 0x70 {
            0x00 => PageOp::FreePage,
            0x10 => PageOp::InitPage,
            0x20 => PageOp::Extended,
            0x30 => PageOp::Write,
            0x40 => PageOp::Memset,
            0x50 => PageOp::Memmove,
            0x60 => PageOp::Reserved,
            _ => PageOp::Option,
        }
    }
    pub fn bits(self) -> u8 {
        match self {
            PageOp::FreePage => 0x00,
            PageOp::InitPage => 0x10,
            PageOp::Extended => 0x20,
            PageOp::Write => 0x30,
            PageOp::Memset => 0x40,
            PageOp::Memmove => 0x50,
            PageOp::Reserved => 0x60,
            PageOp::Option => 0x70,
        }
    }
}

pub const FILE_CREATE: u8 = 0x80;
pub const FILE_DELETE: u8 = 0x90;
pub const FILE_RENAME: u8 = 0xA0;
pub const FILE_MODIFY: u8 = 0xB0;
pub const FILE_CHECKPOINT: u8 = 0xF0;

/// The file-level operations (FILE_CREATE/DELETE/RENAME/MODIFY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileOp {
    Create,
    Delete,
    /// `new_name` is set.
    Rename,
    /// The first change to a file-per-table tablespace since the last checkpoint.
    Modify,
}

/// The server's name of the record type, for messages.
impl std::fmt::Display for FileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileOp::Create => "FILE_CREATE",
            FileOp::Delete => "FILE_DELETE",
            FileOp::Rename => "FILE_RENAME",
            FileOp::Modify => "FILE_MODIFY",
        })
    }
}

impl FileOp {
    pub fn bits(self) -> u8 {
        match self {
            FileOp::Create => FILE_CREATE,
            FileOp::Delete => FILE_DELETE,
            FileOp::Rename => FILE_RENAME,
            FileOp::Modify => FILE_MODIFY,
        }
    }
}

/// One record of an mtr. Page payloads and names borrow from the log bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// A page change. `page` is None for a same_page record (it continues the page of
    /// the previous page record); `payload` is everything after the page id.
    Page { op: PageOp, page: Option<PageId>, payload: &'a [u8] },
    /// Names are paths relative to the datadir ("./db/t.ibd"), without a NUL.
    File { op: FileOp, space: u32, name: &'a [u8], new_name: Option<&'a [u8]> },
    /// FILE_CHECKPOINT(lsn): the end marker of a checkpoint.
    FileCheckpoint { lsn: Lsn },
    /// A dummy FILE_CHECKPOINT record that recovery skips (`len` bytes in all).
    Padding { len: usize },
}

/// Why recovery would refuse a record (the iterator adds where it starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordDefect {
    #[error("first byte {0} ends the mini-transaction early")]
    EndsEarly(u8),
    #[error("unreadable length")]
    UnreadableLength,
    #[error("the record runs past the end of its mini-transaction")]
    PastMtrEnd,
    #[error("FREE_PAGE or INIT_PAGE cannot continue the previous page")]
    FreeOrInitContinues,
    #[error("unreadable tablespace id")]
    UnreadableSpace,
    #[error("the page id runs past the record")]
    PageIdPastRecord,
    #[error("unreadable page number")]
    UnreadablePageNo,
    #[error("corrupted page identifier")]
    CorruptPageId,
    #[error("FILE_CHECKPOINT with a non-zero page id")]
    CheckpointPageId,
    #[error("FILE_CHECKPOINT is not the last record of its mini-transaction")]
    CheckpointNotLast,
    #[error("{op} record with a {len}-byte payload")]
    PayloadLength { op: PageOp, len: usize },
    #[error("unknown file record type {0:#04x}")]
    UnknownFileRecord(u8),
    #[error("{op} record for tablespace {space} page {page} with a {len}-byte name")]
    FileRecordId { op: FileOp, space: u32, page: u32, len: usize },
    #[error("FILE_RENAME without a NUL between the names")]
    RenameWithoutNul,
    #[error("{0} name contains a NUL")]
    NameWithNul(FileOp),
    #[error("a file name that does not end in .ibd")]
    NotIbd,
}

/// Iterates the records of one mtr (`records` = its bytes before the termination byte).
pub fn records(records: &[u8]) -> Records<'_> {
    Records { buf: records, at: 0, got_page_op: false, failed: false }
}

/// See [`records`]. Yields an error (and then stops) on a record recovery would refuse.
pub struct Records<'a> {
    buf: &'a [u8],
    at: usize,
    got_page_op: bool,
    failed: bool,
}

impl<'a> Records<'a> {
    #[cold]
    fn malformed(&mut self, at: usize, defect: RecordDefect) -> Option<Result<Record<'a>, FormatError>> {
        self.failed = true;
        Some(Err(FormatError::Malformed {
            what: "MariaDB redo record",
            detail: format!("record at byte {at} of its mini-transaction: {defect}"),
        }))
    }
}

impl<'a> Records<'a> {
    /// Where the record yielded last ends (its byte count from the start of the mtr).
    pub fn offset(&self) -> usize {
        self.at
    }

    /// Reads the header byte and length of the record at `self.at` and moves past
    /// it: (header byte, body = page id and payload).
    #[inline]
    fn frame(&mut self, start: usize) -> Result<(u8, &'a [u8]), RecordDefect> {
        let b = self.buf[start];
        if b <= 1 {
            return Err(RecordDefect::EndsEarly(b));
        }
        let nibble = usize::from(b & 0x0F);
        let (body_at, body_len) = if nibble != 0 {
            (start + 1, nibble)
        } else {
            match read_varint(&self.buf[start + 1..]) {
                Ok((add, n)) => (start + 1 + n, (add as usize + 15).saturating_sub(n)),
                Err(_) => return Err(RecordDefect::UnreadableLength),
            }
        };
        let body = self.buf.get(body_at..body_at + body_len).ok_or(RecordDefect::PastMtrEnd)?;
        self.at = body_at + body_len;
        Ok((b, body))
    }

    /// Decodes one record; an Err is the reason recovery would refuse it.
    #[inline(always)]
    fn decode(&mut self, start: usize) -> Result<Record<'a>, RecordDefect> {
        let (b, body) = self.frame(start)?;
        let same_page = b & 0x80 != 0;
        if same_page && self.got_page_op {
            let op = PageOp::from_bits(b);
            if matches!(op, PageOp::FreePage | PageOp::InitPage) {
                return Err(RecordDefect::FreeOrInitContinues);
            }
            return Ok(Record::Page { op, page: None, payload: body });
        }
        // A page id follows: two varints, unless this is the 2-byte dummy FILE_CHECKPOINT.
        if b == FILE_CHECKPOINT | 1 && body == [0] {
            return Ok(Record::Padding { len: 2 });
        }
        let Ok((space, n1)) = read_varint(body) else { return Err(RecordDefect::UnreadableSpace) };
        if n1 >= body.len() {
            return Err(RecordDefect::PageIdPastRecord);
        }
        let Ok((page, n2)) = read_varint(&body[n1..]) else { return Err(RecordDefect::UnreadablePageNo) };
        if space == u32::MAX || page == u32::MAX {
            return Err(RecordDefect::CorruptPageId);
        }
        let payload = &body[n1 + n2..];
        if !same_page {
            self.got_page_op = true;
            return page_record(b, PageId { space, page }, payload);
        }
        self.got_page_op = false;
        if b & 0xF0 == FILE_CHECKPOINT {
            return self.checkpoint_record(start, space, page, payload);
        }
        file_record(b & 0xF0, space, page, payload)
    }

    /// FILE_CHECKPOINT(lsn) ends its mtr; other lengths are padding.
    fn checkpoint_record(
        &self,
        start: usize,
        space: u32,
        page: u32,
        payload: &'a [u8],
    ) -> Result<Record<'a>, RecordDefect> {
        if space != 0 || page != 0 {
            return Err(RecordDefect::CheckpointPageId);
        }
        if payload.len() != 8 {
            return Ok(Record::Padding { len: self.at - start });
        }
        if self.at != self.buf.len() {
            return Err(RecordDefect::CheckpointNotLast);
        }
        Ok(Record::FileCheckpoint { lsn: be_u64(payload, 0) })
    }
}

/// A page record that names its page; recovery refuses impossible payload lengths.
#[inline]
fn page_record(b: u8, page: PageId, payload: &[u8]) -> Result<Record<'_>, RecordDefect> {
    let op = PageOp::from_bits(b);
    let bad = match op {
        PageOp::FreePage | PageOp::InitPage => !payload.is_empty(),
        PageOp::Extended | PageOp::Write | PageOp::Memset | PageOp::Memmove => payload.is_empty(),
        PageOp::Reserved => true,
        PageOp::Option => false,
    };
    if bad {
        return Err(RecordDefect::PayloadLength { op, len: payload.len() });
    }
    Ok(Record::Page { op, page: Some(page), payload })
}

/// FILE_CREATE, DELETE, RENAME or MODIFY: names end in .ibd; a rename carries both, NUL-separated.
fn file_record(kind: u8, space: u32, page: u32, payload: &[u8]) -> Result<Record<'_>, RecordDefect> {
    let op = match kind {
        FILE_CREATE => FileOp::Create,
        FILE_DELETE => FileOp::Delete,
        FILE_RENAME => FileOp::Rename,
        FILE_MODIFY => FileOp::Modify,
        _ => return Err(RecordDefect::UnknownFileRecord(kind)),
    };
    if payload.is_empty() || space == 0 || page != 0 {
        return Err(RecordDefect::FileRecordId { op, space, page, len: payload.len() });
    }
    let nul = payload.iter().position(|&c| c == 0);
    let (name, new_name) = match (op, nul) {
        (FileOp::Rename, Some(i)) => (&payload[..i], Some(&payload[i + 1..])),
        (FileOp::Rename, None) => return Err(RecordDefect::RenameWithoutNul),
        (_, Some(_)) => return Err(RecordDefect::NameWithNul(op)),
        (_, None) => (payload, None),
    };
    let ibd = |n: &[u8]| n.len() >= 4 && n.ends_with(b".ibd") && !n.contains(&0);
    if !ibd(name) || !new_name.is_none_or(ibd) {
        return Err(RecordDefect::NotIbd);
    }
    Ok(Record::File { op, space, name, new_name })
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, FormatError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.buf.len() {
            return None;
        }
        let start = self.at;
        match self.decode(start) {
            Ok(record) => Some(Ok(record)),
            Err(detail) => self.malformed(start, detail),
        }
    }
}

/// Appends one record. Fails on records the server cannot write (see [`records`]).
pub fn encode_record(out: &mut Vec<u8>, rec: &Record<'_>) -> Result<(), FormatError> {
    let bad = |detail: String| Err(FormatError::Malformed { what: "MariaDB redo record", detail });
    let mut body = Vec::new();
    // The server writes a length varint for page records longer than 15 bytes, and for
    // file records from 15 bytes on (`mtr_t::log_file_op` compares with >=; seen on real logs).
    let mut varint_from = 16;
    let first = match *rec {
        Record::Page { op, page, payload } => {
            if let Some(id) = page {
                if id.space == u32::MAX || id.page == u32::MAX {
                    return bad(format!("page id {}:{} is reserved", id.space, id.page));
                }
                write_varint(&mut body, id.space);
                write_varint(&mut body, id.page);
            } else if matches!(op, PageOp::FreePage | PageOp::InitPage) {
                return bad(format!("{op} cannot be a same_page record"));
            }
            body.extend_from_slice(payload);
            op.bits() | if page.is_none() { 0x80 } else { 0 }
        }
        Record::File { op, space, name, new_name } => {
            if space == 0 || space == u32::MAX || name.contains(&0) || new_name.is_some() != (op == FileOp::Rename) {
                return bad(format!("{op} record for tablespace {space} cannot be written"));
            }
            write_varint(&mut body, space);
            body.push(0);
            body.extend_from_slice(name);
            if let Some(n) = new_name {
                body.push(0);
                body.extend_from_slice(n);
            }
            varint_from = 15;
            op.bits()
        }
        Record::FileCheckpoint { lsn } => {
            body.extend_from_slice(&[0, 0]);
            body.extend_from_slice(&lsn.to_be_bytes());
            FILE_CHECKPOINT
        }
        Record::Padding { len: 2 } => {
            out.extend_from_slice(&[FILE_CHECKPOINT | 1, 0]);
            return Ok(());
        }
        Record::Padding { len: 3 } => {
            out.extend_from_slice(&[FILE_CHECKPOINT | 2, 0, 0]);
            return Ok(());
        }
        Record::Padding { len } => return bad(format!("padding records are 2 or 3 bytes, not {len}")),
    };
    let n = body.len();
    if n == 0 {
        return bad("a record needs at least one byte after its type".into());
    }
    if n >= MTR_SIZE_MAX {
        return bad(format!("a {n}-byte record is longer than an mtr may be"));
    }
    if n < varint_from {
        out.push(first | n as u8);
    } else {
        // The varint counts the bytes after the type byte, itself included, minus 15.
        let lenlen = (1..=5).find(|&k| varint_size((n + k - 15) as u32) == k).unwrap_or(5);
        out.push(first);
        write_varint(out, (n + lenlen - 15) as u32);
    }
    out.extend_from_slice(&body);
    Ok(())
}
