//! Reading the page record bodies of [`super::body`].

use super::body::*;
use super::mlog::{read_compressed, read_u64_compressed};

/// PAGE_DATA: a compressed page's header writes end before it.
const PAGE_DATA: usize = 38 + 36 + 20;

/// Why a body did not decode: the input ended first, or it cannot be a 5.7 record.
pub enum Stop {
    Short,
    Bad(String),
}

type R<T> = Result<T, Stop>;

/// A cursor whose reads stop with [`Stop::Short`] at the end of the input.
pub struct Cur<'a> {
    pub b: &'a [u8],
    pub pos: usize,
}

impl<'a> Cur<'a> {
    fn bytes(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Stop::Short)?;
        let out = self.b.get(self.pos..end).ok_or(Stop::Short)?;
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> R<u16> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn array<const N: usize>(&mut self) -> R<[u8; N]> {
        Ok(self.bytes(N)?.try_into().expect("N bytes"))
    }
    fn compressed(&mut self) -> R<u32> {
        let (v, n) = read_compressed(&self.b[self.pos..]).ok_or(Stop::Short)?;
        self.pos += n;
        Ok(v)
    }
    fn u64_compressed(&mut self) -> R<u64> {
        let (v, n) = read_u64_compressed(&self.b[self.pos..]).ok_or(Stop::Short)?;
        self.pos += n;
        Ok(v)
    }
}

/// Reads the body of a record of type `ty` (one [`is_body_type`] accepts).
pub fn decode_body(ty: u8, c: &mut Cur<'_>) -> Result<PageBody, Stop> {
    match ty {
        9..=11 | 13..=17 | 38..=45 => row_body(ty, c),
        _ => other_body(ty, c),
    }
}

fn index_of(ty: u8, c: &mut Cur<'_>) -> R<Option<IndexDesc>> {
    if matches!(ty, 36..=46 | 58) {
        index_desc(c).map(Some)
    } else {
        Ok(None)
    }
}

/// The records that change records of an index page.
fn row_body(ty: u8, c: &mut Cur<'_>) -> R<PageBody> {
    let index = |c: &mut Cur<'_>| index_of(ty, c);
    Ok(match ty {
        MLOG_REC_INSERT | MLOG_COMP_REC_INSERT => {
            let index = index(c)?;
            let cursor = c.u16()?;
            PageBody::Insert { index, cursor, ins: insert_body(c)? }
        }
        MLOG_REC_CLUST_DELETE_MARK | MLOG_COMP_REC_CLUST_DELETE_MARK => {
            let index = index(c)?;
            let (flags, val) = (c.u8()?, c.u8()?);
            let sys = sys_vals(c)?;
            PageBody::ClustDeleteMark { index, flags, val, sys, offset: c.u16()? }
        }
        MLOG_REC_SEC_DELETE_MARK | MLOG_COMP_REC_SEC_DELETE_MARK => {
            let index = index(c)?;
            PageBody::SecDeleteMark { index, val: c.u8()?, offset: c.u16()? }
        }
        MLOG_REC_UPDATE_IN_PLACE | MLOG_COMP_REC_UPDATE_IN_PLACE => {
            let index = index(c)?;
            let flags = c.u8()?;
            let sys = sys_vals(c)?;
            let offset = c.u16()?;
            PageBody::UpdateInPlace { index, flags, sys, offset, update: update(c)? }
        }
        MLOG_REC_DELETE | MLOG_COMP_REC_DELETE => PageBody::Delete { index: index(c)?, offset: c.u16()? },
        MLOG_LIST_END_DELETE | MLOG_COMP_LIST_END_DELETE | MLOG_LIST_START_DELETE | MLOG_COMP_LIST_START_DELETE => {
            let end = matches!(ty, MLOG_LIST_END_DELETE | MLOG_COMP_LIST_END_DELETE);
            PageBody::ListDelete { index: index(c)?, end, offset: c.u16()? }
        }
        MLOG_LIST_END_COPY_CREATED | MLOG_COMP_LIST_END_COPY_CREATED => {
            let index = index(c)?;
            let len = u32::from_be_bytes(c.array::<4>()?) as usize;
            let mut inner = Cur { b: c.bytes(len)?, pos: 0 };
            let mut inserts = Vec::new();
            while inner.pos < inner.b.len() {
                // The length said the bytes are all there: ending early is damage.
                inserts.push(insert_body(&mut inner).map_err(|e| match e {
                    Stop::Short => Stop::Bad(format!("its {len} bytes of records end inside a record")),
                    bad => bad,
                })?);
            }
            PageBody::CopyCreated { index, inserts }
        }
        other => return Err(Stop::Bad(format!("{} is not a row record", type_name(other)))),
    })
}

/// Page create/reorganize, undo, initialisation and compressed-page records.
fn other_body(ty: u8, c: &mut Cur<'_>) -> R<PageBody> {
    let comp = matches!(ty, 36..=46 | 58);
    let index = |c: &mut Cur<'_>| index_of(ty, c);
    Ok(match ty {
        MLOG_PAGE_REORGANIZE | MLOG_COMP_PAGE_REORGANIZE => PageBody::Reorganize { index: index(c)?, zip_level: None },
        MLOG_ZIP_PAGE_REORGANIZE => {
            let index = Some(index_desc(c)?);
            PageBody::Reorganize { index, zip_level: Some(zip_level(c)?) }
        }
        MLOG_PAGE_CREATE | MLOG_COMP_PAGE_CREATE | MLOG_PAGE_CREATE_RTREE | MLOG_COMP_PAGE_CREATE_RTREE => {
            PageBody::Create { comp, rtree: ty >= MLOG_PAGE_CREATE_RTREE }
        }
        MLOG_UNDO_INSERT => {
            let len = c.u16()?;
            PageBody::UndoInsert { data: c.bytes(usize::from(len))?.to_vec() }
        }
        MLOG_UNDO_ERASE_END => PageBody::UndoEraseEnd,
        MLOG_UNDO_INIT => PageBody::UndoInit { undo_type: c.compressed()? },
        MLOG_UNDO_HDR_DISCARD => PageBody::UndoHdrDiscard,
        MLOG_UNDO_HDR_CREATE => PageBody::UndoHdrCreate { trx_id: c.u64_compressed()? },
        MLOG_UNDO_HDR_REUSE => PageBody::UndoHdrReuse { trx_id: c.u64_compressed()? },
        MLOG_REC_MIN_MARK | MLOG_COMP_REC_MIN_MARK => PageBody::MinMark { comp, offset: c.u16()? },
        MLOG_IBUF_BITMAP_INIT => PageBody::IbufBitmapInit,
        MLOG_INIT_FILE_PAGE | MLOG_INIT_FILE_PAGE2 => PageBody::InitFilePage { v2: ty == MLOG_INIT_FILE_PAGE2 },
        MLOG_ZIP_WRITE_NODE_PTR => PageBody::ZipWriteNodePtr { offset: c.u16()?, z_offset: c.u16()?, data: c.array()? },
        MLOG_ZIP_WRITE_BLOB_PTR => PageBody::ZipWriteBlobPtr { offset: c.u16()?, z_offset: c.u16()?, data: c.array()? },
        MLOG_ZIP_WRITE_HEADER => zip_header(c)?,
        MLOG_ZIP_PAGE_COMPRESS => {
            let (size, trailer) = (usize::from(c.u16()?), usize::from(c.u16()?));
            let prev_next = c.array()?;
            let data = c.bytes(size)?.to_vec();
            PageBody::ZipCompress { prev_next, data, trailer: c.bytes(trailer)?.to_vec() }
        }
        MLOG_ZIP_PAGE_COMPRESS_NO_DATA => {
            let index = index_desc(c)?;
            PageBody::ZipCompressNoData { index, level: zip_level(c)? }
        }
        MLOG_TRUNCATE => PageBody::Truncate { lsn: u64::from_be_bytes(c.array()?) },
        other => return Err(Stop::Bad(format!("{} has no page body", type_name(other)))),
    })
}

/// `mlog_parse_index` (COMPACT): n, n_uniq, then n field descriptions.
fn index_desc(c: &mut Cur<'_>) -> R<IndexDesc> {
    let (n, n_uniq) = (c.u16()?, c.u16()?);
    // A clustered index (n_uniq < n) holds DB_TRX_ID and DB_ROLL_PTR after its key.
    if n_uniq > n || (n_uniq < n && n_uniq + 2 > n) || n == 0 || n > 1023 {
        return Err(Stop::Bad(format!("index description of {n} fields with {n_uniq} unique")));
    }
    let raw = c.bytes(2 * usize::from(n))?;
    Ok(IndexDesc { n_uniq, fields: raw.chunks(2).map(|f| u16::from_be_bytes([f[0], f[1]])).collect() })
}

fn insert_body(c: &mut Cur<'_>) -> R<InsertBody> {
    let len = c.compressed()?;
    if len >= 1 << 17 {
        return Err(Stop::Bad(format!("an inserted record of {} bytes", len >> 1)));
    }
    let info = if len & 1 != 0 {
        let info_bits = c.u8()?;
        let origin_offset = c.compressed()?;
        let mismatch_index = c.compressed()?;
        if origin_offset >= 1 << 16 || mismatch_index >= 1 << 16 {
            return Err(Stop::Bad(format!("origin {origin_offset} or shared prefix {mismatch_index} past 64 KiB")));
        }
        Some(InsertInfo { info_bits, origin_offset, mismatch_index })
    } else {
        None
    };
    Ok(InsertBody { info, data: c.bytes((len >> 1) as usize)?.to_vec() })
}

fn sys_vals(c: &mut Cur<'_>) -> R<SysVals> {
    let pos = c.compressed()?;
    let roll_ptr = c.array()?;
    Ok(SysVals { pos, roll_ptr, trx_id: c.u64_compressed()? })
}

/// `row_upd_index_parse`.
fn update(c: &mut Cur<'_>) -> R<Update> {
    let info_bits = c.u8()?;
    let n = c.compressed()?;
    let mut fields = Vec::new();
    for _ in 0..n {
        let field_no = c.compressed()?;
        let len = c.compressed()?;
        let value = if len == SQL_NULL { None } else { Some(c.bytes(len as usize)?.to_vec()) };
        fields.push(UpdateField { field_no, value });
    }
    Ok(Update { info_bits, fields })
}

fn zip_level(c: &mut Cur<'_>) -> R<u8> {
    match c.u8()? {
        l @ 0..=9 => Ok(l),
        l => Err(Stop::Bad(format!("compression level {l} (0-9 exist)"))),
    }
}

/// `page_zip_parse_write_header`: offset and length bytes; the write stays below PAGE_DATA.
fn zip_header(c: &mut Cur<'_>) -> R<PageBody> {
    let (offset, len) = (c.u8()?, c.u8()?);
    if len == 0 || usize::from(offset) + usize::from(len) >= PAGE_DATA {
        return Err(Stop::Bad(format!("a compressed-page header write of {len} bytes at {offset}")));
    }
    Ok(PageBody::ZipWriteHeader { offset, data: c.bytes(usize::from(len))?.to_vec() })
}
