//! Payloads of the WRITE, MEMSET and MEMMOVE page records.

use super::{read_varint, write_varint, PageOp};
use crate::format::FormatError;

/// The body of a WRITE, MEMSET or MEMMOVE record after its page id. `offset` is relative
/// to where the previous record on the same page left off: 0 after a page id,
/// FIL_PAGE_TYPE (24) after INIT_PAGE or EXTENDED, the end of the range a WRITE, MEMSET
/// or MEMMOVE changed after those (`log_phys_t::apply`, formats checked in
/// testbeds/NOTES-mariadb-redo.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageEdit<'a> {
    /// `data` at the offset.
    Write { offset: u32, data: &'a [u8] },
    /// `len` bytes at the offset, `fill` repeated (one byte: a plain memset).
    Memset { offset: u32, len: u32, fill: &'a [u8] },
    /// `len` bytes copied to the offset from `source` bytes away (never 0; regions may overlap).
    Memmove { offset: u32, len: u32, source: i32 },
}

/// "a WRITE of 4 bytes at offset 38", for messages.
impl std::fmt::Display for PageEdit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            PageEdit::Write { offset, data } => write!(f, "a WRITE of {} bytes at offset {offset}", data.len()),
            PageEdit::Memset { offset, len, .. } => write!(f, "a MEMSET of {len} bytes at offset {offset}"),
            PageEdit::Memmove { offset, len, source } => {
                write!(f, "a MEMMOVE of {len} bytes to offset {offset} from {source} bytes away")
            }
        }
    }
}

impl PageEdit<'_> {
    /// The (relative) offset the edit starts at.
    pub fn offset(&self) -> u32 {
        match *self {
            PageEdit::Write { offset, .. } | PageEdit::Memset { offset, .. } | PageEdit::Memmove { offset, .. } => {
                offset
            }
        }
    }

    /// Bytes of the page the edit changes.
    pub fn len(&self) -> u32 {
        match *self {
            PageEdit::Write { data, .. } => data.len() as u32,
            PageEdit::Memset { len, .. } | PageEdit::Memmove { len, .. } => len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same edit at another (relative) offset.
    pub fn with_offset(self, offset: u32) -> Self {
        match self {
            PageEdit::Write { data, .. } => PageEdit::Write { offset, data },
            PageEdit::Memset { len, fill, .. } => PageEdit::Memset { offset, len, fill },
            PageEdit::Memmove { len, source, .. } => PageEdit::Memmove { offset, len, source },
        }
    }
}

/// The record type and payload (what follows the page id) of an edit: offset varint, then
/// WRITE: the bytes; MEMSET: length varint and the fill bytes; MEMMOVE: length varint and
/// the source as a varint (`2(d-1)` for `d` bytes after the destination, `2(d-1)+1` for
/// `d` bytes before it).
pub fn encode_page_edit(edit: &PageEdit<'_>) -> (PageOp, Vec<u8>) {
    let mut out = Vec::new();
    write_varint(&mut out, edit.offset());
    match *edit {
        PageEdit::Write { data, .. } => {
            out.extend_from_slice(data);
            (PageOp::Write, out)
        }
        PageEdit::Memset { len, fill, .. } => {
            write_varint(&mut out, len);
            out.extend_from_slice(fill);
            (PageOp::Memset, out)
        }
        PageEdit::Memmove { len, source, .. } => {
            write_varint(&mut out, len);
            let d = source.unsigned_abs().saturating_sub(1);
            write_varint(&mut out, d << 1 | u32::from(source < 0));
            (PageOp::Memmove, out)
        }
    }
}

/// A payload recovery refuses (out of line: the parse loop inlines the decoder).
#[cold]
#[inline(never)]
fn bad(detail: &str) -> FormatError {
    FormatError::Malformed { what: "MariaDB page record", detail: detail.to_string() }
}

/// Reads a WRITE, MEMSET or MEMMOVE payload, refusing what recovery refuses (offset or
/// length varints longer than 3 bytes, an empty WRITE or MEMSET fill, a MEMMOVE whose
/// source varint is not the whole rest). Whether the edit fits the page is the caller's check.
#[inline(always)]
pub fn decode_page_edit(op: PageOp, payload: &[u8]) -> Result<PageEdit<'_>, FormatError> {
    let short_varint = |b: &[u8]| match read_varint(b) {
        Ok((v, n)) if n <= 3 => Ok((v, n)),
        _ => Err(bad("an offset or length that is not a varint of at most 3 bytes")),
    };
    let (offset, n) = short_varint(payload)?;
    let rest = &payload[n..];
    match op {
        PageOp::Write if !rest.is_empty() => Ok(PageEdit::Write { offset, data: rest }),
        PageOp::Write => Err(bad("a WRITE without data")),
        PageOp::Memset | PageOp::Memmove => {
            let (len, m) = short_varint(rest)?;
            let rest = &rest[m..];
            if op == PageOp::Memset {
                return match rest.len() {
                    0 => Err(bad("a MEMSET without fill bytes")),
                    k if k as u32 > len => Err(bad("a MEMSET fill longer than its length")),
                    _ => Ok(PageEdit::Memset { offset, len, fill: rest }),
                };
            }
            let (s, k) = short_varint(rest)?;
            if k != rest.len() {
                return Err(bad("bytes after a MEMMOVE source"));
            }
            let d = (s >> 1) as i32 + 1;
            Ok(PageEdit::Memmove { offset, len, source: if s & 1 == 1 { -d } else { d } })
        }
        other => Err(bad(&format!("{other} is not a WRITE, MEMSET or MEMMOVE"))),
    }
}
