//! The bodies of the MySQL 5.7 page records beyond the byte writes: row
//! operations on index pages (with the index description `mlog_parse_index`
//! reads), page create/reorganize/list operations, undo-page operations,
//! page initialisation and the compressed-page records. Layouts as
//! `recv_parse_or_apply_log_rec_body` (log0recv.cc) reads them.

pub use super::body_decode::{decode_body, Cur, Stop};
use super::mlog::{write_compressed, write_u64_compressed};

pub const MLOG_REC_INSERT: u8 = 9;
pub const MLOG_REC_CLUST_DELETE_MARK: u8 = 10;
pub const MLOG_REC_SEC_DELETE_MARK: u8 = 11;
pub const MLOG_REC_UPDATE_IN_PLACE: u8 = 13;
pub const MLOG_REC_DELETE: u8 = 14;
pub const MLOG_LIST_END_DELETE: u8 = 15;
pub const MLOG_LIST_START_DELETE: u8 = 16;
pub const MLOG_LIST_END_COPY_CREATED: u8 = 17;
pub const MLOG_PAGE_REORGANIZE: u8 = 18;
pub const MLOG_PAGE_CREATE: u8 = 19;
pub const MLOG_UNDO_INSERT: u8 = 20;
pub const MLOG_UNDO_ERASE_END: u8 = 21;
pub const MLOG_UNDO_INIT: u8 = 22;
pub const MLOG_UNDO_HDR_DISCARD: u8 = 23;
pub const MLOG_UNDO_HDR_REUSE: u8 = 24;
pub const MLOG_UNDO_HDR_CREATE: u8 = 25;
pub const MLOG_REC_MIN_MARK: u8 = 26;
pub const MLOG_IBUF_BITMAP_INIT: u8 = 27;
pub const MLOG_INIT_FILE_PAGE: u8 = 29;
pub const MLOG_DUMMY_RECORD: u8 = 32;
pub const MLOG_COMP_REC_MIN_MARK: u8 = 36;
pub const MLOG_COMP_PAGE_CREATE: u8 = 37;
pub const MLOG_COMP_REC_INSERT: u8 = 38;
pub const MLOG_COMP_REC_CLUST_DELETE_MARK: u8 = 39;
pub const MLOG_COMP_REC_SEC_DELETE_MARK: u8 = 40;
pub const MLOG_COMP_REC_UPDATE_IN_PLACE: u8 = 41;
pub const MLOG_COMP_REC_DELETE: u8 = 42;
pub const MLOG_COMP_LIST_END_DELETE: u8 = 43;
pub const MLOG_COMP_LIST_START_DELETE: u8 = 44;
pub const MLOG_COMP_LIST_END_COPY_CREATED: u8 = 45;
pub const MLOG_COMP_PAGE_REORGANIZE: u8 = 46;
pub const MLOG_ZIP_WRITE_NODE_PTR: u8 = 48;
pub const MLOG_ZIP_WRITE_BLOB_PTR: u8 = 49;
pub const MLOG_ZIP_WRITE_HEADER: u8 = 50;
pub const MLOG_ZIP_PAGE_COMPRESS: u8 = 51;
pub const MLOG_ZIP_PAGE_COMPRESS_NO_DATA: u8 = 52;
pub const MLOG_ZIP_PAGE_REORGANIZE: u8 = 53;
pub const MLOG_PAGE_CREATE_RTREE: u8 = 57;
pub const MLOG_COMP_PAGE_CREATE_RTREE: u8 = 58;
pub const MLOG_INIT_FILE_PAGE2: u8 = 59;
pub const MLOG_TRUNCATE: u8 = 60;

/// `UNIV_SQL_NULL` as an update vector's field length.
pub const SQL_NULL: u32 = 0xFFFF_FFFF;

/// The columns of a COMPACT index as a record names them: per field, bit 15 = NOT NULL
/// and the low 15 bits 0 or 0x7FFF for a variable-length column, else its fixed length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDesc {
    pub n_uniq: u16,
    pub fields: Vec<u16>,
}

/// The cursor-relative part of MLOG_REC_INSERT (`page_cur_parse_insert_rec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertBody {
    /// Present when the record's info bits, origin or shared prefix differ from the
    /// cursor record's (bit 0 of the logged length).
    pub info: Option<InsertInfo>,
    /// The record's bytes from the first one that differs from the cursor record.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsertInfo {
    pub info_bits: u8,
    /// Offset of the record origin from its first byte (the header size).
    pub origin_offset: u32,
    /// Bytes shared with the cursor record, counted from its first byte.
    pub mismatch_index: u32,
}

/// DB_TRX_ID's position in the record, the new DB_ROLL_PTR and DB_TRX_ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysVals {
    pub pos: u32,
    pub roll_ptr: [u8; 7],
    pub trx_id: u64,
}

/// One field of an update vector: None = SQL NULL. Field numbers from 1023 name
/// virtual columns, which recovery skips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateField {
    pub field_no: u32,
    pub value: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub info_bits: u8,
    pub fields: Vec<UpdateField>,
}

/// A page record's body. `index` is None on the REDUNDANT (non-COMP) types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageBody {
    Insert {
        index: Option<IndexDesc>,
        cursor: u16,
        ins: InsertBody,
    },
    ClustDeleteMark {
        index: Option<IndexDesc>,
        flags: u8,
        val: u8,
        sys: SysVals,
        offset: u16,
    },
    /// `index` only on the obsolete MLOG_COMP_REC_SEC_DELETE_MARK.
    SecDeleteMark {
        index: Option<IndexDesc>,
        val: u8,
        offset: u16,
    },
    UpdateInPlace {
        index: Option<IndexDesc>,
        flags: u8,
        sys: SysVals,
        offset: u16,
        update: Update,
    },
    Delete {
        index: Option<IndexDesc>,
        offset: u16,
    },
    /// MLOG_LIST_END_DELETE (`end`) or MLOG_LIST_START_DELETE.
    ListDelete {
        index: Option<IndexDesc>,
        end: bool,
        offset: u16,
    },
    CopyCreated {
        index: Option<IndexDesc>,
        inserts: Vec<InsertBody>,
    },
    /// `zip_level` only on MLOG_ZIP_PAGE_REORGANIZE (whose index is COMPACT).
    Reorganize {
        index: Option<IndexDesc>,
        zip_level: Option<u8>,
    },
    Create {
        comp: bool,
        rtree: bool,
    },
    UndoInsert {
        data: Vec<u8>,
    },
    UndoEraseEnd,
    UndoInit {
        undo_type: u32,
    },
    UndoHdrDiscard,
    UndoHdrCreate {
        trx_id: u64,
    },
    UndoHdrReuse {
        trx_id: u64,
    },
    MinMark {
        comp: bool,
        offset: u16,
    },
    IbufBitmapInit,
    /// MLOG_INIT_FILE_PAGE2 (`v2`) or the older MLOG_INIT_FILE_PAGE.
    InitFilePage {
        v2: bool,
    },
    ZipWriteNodePtr {
        offset: u16,
        z_offset: u16,
        data: [u8; 4],
    },
    ZipWriteBlobPtr {
        offset: u16,
        z_offset: u16,
        data: [u8; 20],
    },
    ZipWriteHeader {
        offset: u8,
        data: Vec<u8>,
    },
    ZipCompress {
        prev_next: [u8; 8],
        data: Vec<u8>,
        trailer: Vec<u8>,
    },
    ZipCompressNoData {
        index: IndexDesc,
        level: u8,
    },
    Truncate {
        lsn: u64,
    },
}

/// Whether `ty` is a page record whose body this module reads.
pub fn is_body_type(ty: u8) -> bool {
    matches!(ty, 9..=11 | 13..=27 | 29 | 36..=46 | 48..=53 | 57..=60)
}

/// The server's name of a record type, for messages.
pub fn type_name(ty: u8) -> &'static str {
    const NAMES: &[(u8, &str)] = &[
        (1, "MLOG_1BYTE"),
        (2, "MLOG_2BYTES"),
        (4, "MLOG_4BYTES"),
        (8, "MLOG_8BYTES"),
        (9, "MLOG_REC_INSERT"),
        (10, "MLOG_REC_CLUST_DELETE_MARK"),
        (11, "MLOG_REC_SEC_DELETE_MARK"),
        (13, "MLOG_REC_UPDATE_IN_PLACE"),
        (14, "MLOG_REC_DELETE"),
        (15, "MLOG_LIST_END_DELETE"),
        (16, "MLOG_LIST_START_DELETE"),
        (17, "MLOG_LIST_END_COPY_CREATED"),
        (18, "MLOG_PAGE_REORGANIZE"),
        (19, "MLOG_PAGE_CREATE"),
        (20, "MLOG_UNDO_INSERT"),
        (21, "MLOG_UNDO_ERASE_END"),
        (22, "MLOG_UNDO_INIT"),
        (23, "MLOG_UNDO_HDR_DISCARD"),
        (24, "MLOG_UNDO_HDR_REUSE"),
        (25, "MLOG_UNDO_HDR_CREATE"),
        (26, "MLOG_REC_MIN_MARK"),
        (27, "MLOG_IBUF_BITMAP_INIT"),
        (29, "MLOG_INIT_FILE_PAGE"),
        (30, "MLOG_WRITE_STRING"),
        (31, "MLOG_MULTI_REC_END"),
        (32, "MLOG_DUMMY_RECORD"),
        (35, "MLOG_FILE_DELETE"),
        (36, "MLOG_COMP_REC_MIN_MARK"),
        (37, "MLOG_COMP_PAGE_CREATE"),
        (38, "MLOG_COMP_REC_INSERT"),
        (39, "MLOG_COMP_REC_CLUST_DELETE_MARK"),
        (40, "MLOG_COMP_REC_SEC_DELETE_MARK"),
        (41, "MLOG_COMP_REC_UPDATE_IN_PLACE"),
        (42, "MLOG_COMP_REC_DELETE"),
        (43, "MLOG_COMP_LIST_END_DELETE"),
        (44, "MLOG_COMP_LIST_START_DELETE"),
        (45, "MLOG_COMP_LIST_END_COPY_CREATED"),
        (46, "MLOG_COMP_PAGE_REORGANIZE"),
        (47, "MLOG_FILE_CREATE2"),
        (48, "MLOG_ZIP_WRITE_NODE_PTR"),
        (49, "MLOG_ZIP_WRITE_BLOB_PTR"),
        (50, "MLOG_ZIP_WRITE_HEADER"),
        (51, "MLOG_ZIP_PAGE_COMPRESS"),
        (52, "MLOG_ZIP_PAGE_COMPRESS_NO_DATA"),
        (53, "MLOG_ZIP_PAGE_REORGANIZE"),
        (54, "MLOG_FILE_RENAME2"),
        (55, "MLOG_FILE_NAME"),
        (56, "MLOG_CHECKPOINT"),
        (57, "MLOG_PAGE_CREATE_RTREE"),
        (58, "MLOG_COMP_PAGE_CREATE_RTREE"),
        (59, "MLOG_INIT_FILE_PAGE2"),
        (60, "MLOG_TRUNCATE"),
        (61, "MLOG_INDEX_LOAD"),
    ];
    NAMES.iter().find(|(t, _)| *t == ty).map_or("an unknown type", |(_, n)| n)
}

impl PageBody {
    /// The record type this body is written with.
    pub fn type_byte(&self) -> u8 {
        let c = |index: &Option<IndexDesc>, comp: u8, old: u8| if index.is_some() { comp } else { old };
        match self {
            PageBody::Insert { index, .. } => c(index, MLOG_COMP_REC_INSERT, MLOG_REC_INSERT),
            PageBody::ClustDeleteMark { index, .. } => {
                c(index, MLOG_COMP_REC_CLUST_DELETE_MARK, MLOG_REC_CLUST_DELETE_MARK)
            }
            PageBody::SecDeleteMark { index, .. } => c(index, MLOG_COMP_REC_SEC_DELETE_MARK, MLOG_REC_SEC_DELETE_MARK),
            PageBody::UpdateInPlace { index, .. } => c(index, MLOG_COMP_REC_UPDATE_IN_PLACE, MLOG_REC_UPDATE_IN_PLACE),
            PageBody::Delete { index, .. } => c(index, MLOG_COMP_REC_DELETE, MLOG_REC_DELETE),
            PageBody::ListDelete { index, end: true, .. } => c(index, MLOG_COMP_LIST_END_DELETE, MLOG_LIST_END_DELETE),
            PageBody::ListDelete { index, .. } => c(index, MLOG_COMP_LIST_START_DELETE, MLOG_LIST_START_DELETE),
            PageBody::CopyCreated { index, .. } => {
                c(index, MLOG_COMP_LIST_END_COPY_CREATED, MLOG_LIST_END_COPY_CREATED)
            }
            PageBody::Reorganize { zip_level: Some(_), .. } => MLOG_ZIP_PAGE_REORGANIZE,
            PageBody::Reorganize { index, .. } => c(index, MLOG_COMP_PAGE_REORGANIZE, MLOG_PAGE_REORGANIZE),
            PageBody::Create { comp, rtree } => match (comp, rtree) {
                (false, false) => MLOG_PAGE_CREATE,
                (true, false) => MLOG_COMP_PAGE_CREATE,
                (false, true) => MLOG_PAGE_CREATE_RTREE,
                (true, true) => MLOG_COMP_PAGE_CREATE_RTREE,
            },
            PageBody::UndoInsert { .. } => MLOG_UNDO_INSERT,
            PageBody::UndoEraseEnd => MLOG_UNDO_ERASE_END,
            PageBody::UndoInit { .. } => MLOG_UNDO_INIT,
            PageBody::UndoHdrDiscard => MLOG_UNDO_HDR_DISCARD,
            PageBody::UndoHdrCreate { .. } => MLOG_UNDO_HDR_CREATE,
            PageBody::UndoHdrReuse { .. } => MLOG_UNDO_HDR_REUSE,
            PageBody::MinMark { comp, .. } => {
                if *comp {
                    MLOG_COMP_REC_MIN_MARK
                } else {
                    MLOG_REC_MIN_MARK
                }
            }
            PageBody::IbufBitmapInit => MLOG_IBUF_BITMAP_INIT,
            PageBody::InitFilePage { v2 } => {
                if *v2 {
                    MLOG_INIT_FILE_PAGE2
                } else {
                    MLOG_INIT_FILE_PAGE
                }
            }
            PageBody::ZipWriteNodePtr { .. } => MLOG_ZIP_WRITE_NODE_PTR,
            PageBody::ZipWriteBlobPtr { .. } => MLOG_ZIP_WRITE_BLOB_PTR,
            PageBody::ZipWriteHeader { .. } => MLOG_ZIP_WRITE_HEADER,
            PageBody::ZipCompress { .. } => MLOG_ZIP_PAGE_COMPRESS,
            PageBody::ZipCompressNoData { .. } => MLOG_ZIP_PAGE_COMPRESS_NO_DATA,
            PageBody::Truncate { .. } => MLOG_TRUNCATE,
        }
    }

    /// Appends the body (what follows type, space and page number).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            PageBody::Insert { index, cursor, ins } => {
                put_index(out, index);
                out.extend_from_slice(&cursor.to_be_bytes());
                put_insert(out, ins);
            }
            PageBody::ClustDeleteMark { index, flags, val, sys, offset } => {
                put_index(out, index);
                out.extend_from_slice(&[*flags, *val]);
                put_sys(out, sys);
                out.extend_from_slice(&offset.to_be_bytes());
            }
            PageBody::SecDeleteMark { index, val, offset } => {
                put_index(out, index);
                out.push(*val);
                out.extend_from_slice(&offset.to_be_bytes());
            }
            PageBody::UpdateInPlace { index, flags, sys, offset, update } => {
                put_index(out, index);
                out.push(*flags);
                put_sys(out, sys);
                out.extend_from_slice(&offset.to_be_bytes());
                put_update(out, update);
            }
            PageBody::Delete { index, offset } | PageBody::ListDelete { index, offset, .. } => {
                put_index(out, index);
                out.extend_from_slice(&offset.to_be_bytes());
            }
            PageBody::CopyCreated { index, inserts } => {
                put_index(out, index);
                let mut body = Vec::new();
                inserts.iter().for_each(|ins| put_insert(&mut body, ins));
                out.extend_from_slice(&(body.len() as u32).to_be_bytes());
                out.extend(body);
            }
            PageBody::Reorganize { index, zip_level } => {
                put_index(out, index);
                out.extend(zip_level);
            }
            PageBody::UndoInsert { data } => {
                out.extend_from_slice(&(data.len() as u16).to_be_bytes());
                out.extend_from_slice(data);
            }
            PageBody::UndoInit { undo_type } => write_compressed(out, *undo_type),
            PageBody::UndoHdrCreate { trx_id } | PageBody::UndoHdrReuse { trx_id } => {
                write_u64_compressed(out, *trx_id)
            }
            PageBody::MinMark { offset, .. } => out.extend_from_slice(&offset.to_be_bytes()),
            PageBody::ZipWriteNodePtr { offset, z_offset, data } => put_zip_ptr(out, *offset, *z_offset, data),
            PageBody::ZipWriteBlobPtr { offset, z_offset, data } => put_zip_ptr(out, *offset, *z_offset, data),
            PageBody::ZipWriteHeader { offset, data } => {
                out.extend_from_slice(&[*offset, data.len() as u8]);
                out.extend_from_slice(data);
            }
            PageBody::ZipCompress { prev_next, data, trailer } => {
                out.extend_from_slice(&(data.len() as u16).to_be_bytes());
                out.extend_from_slice(&(trailer.len() as u16).to_be_bytes());
                out.extend_from_slice(prev_next);
                out.extend_from_slice(data);
                out.extend_from_slice(trailer);
            }
            PageBody::ZipCompressNoData { index, level } => {
                put_index(out, &Some(index.clone()));
                out.push(*level);
            }
            PageBody::Truncate { lsn } => out.extend_from_slice(&lsn.to_be_bytes()),
            PageBody::Create { .. }
            | PageBody::UndoEraseEnd
            | PageBody::UndoHdrDiscard
            | PageBody::IbufBitmapInit
            | PageBody::InitFilePage { .. } => {}
        }
    }
}

fn put_index(out: &mut Vec<u8>, index: &Option<IndexDesc>) {
    if let Some(ix) = index {
        out.extend_from_slice(&(ix.fields.len() as u16).to_be_bytes());
        out.extend_from_slice(&ix.n_uniq.to_be_bytes());
        ix.fields.iter().for_each(|f| out.extend_from_slice(&f.to_be_bytes()));
    }
}

fn put_insert(out: &mut Vec<u8>, ins: &InsertBody) {
    write_compressed(out, (ins.data.len() as u32) << 1 | u32::from(ins.info.is_some()));
    if let Some(i) = ins.info {
        out.push(i.info_bits);
        write_compressed(out, i.origin_offset);
        write_compressed(out, i.mismatch_index);
    }
    out.extend_from_slice(&ins.data);
}

fn put_sys(out: &mut Vec<u8>, sys: &SysVals) {
    write_compressed(out, sys.pos);
    out.extend_from_slice(&sys.roll_ptr);
    write_u64_compressed(out, sys.trx_id);
}

fn put_update(out: &mut Vec<u8>, u: &Update) {
    out.push(u.info_bits);
    write_compressed(out, u.fields.len() as u32);
    for f in &u.fields {
        write_compressed(out, f.field_no);
        match &f.value {
            Some(v) => {
                write_compressed(out, v.len() as u32);
                out.extend_from_slice(v);
            }
            None => write_compressed(out, SQL_NULL),
        }
    }
}

fn put_zip_ptr(out: &mut Vec<u8>, offset: u16, z_offset: u16, data: &[u8]) {
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&z_offset.to_be_bytes());
    out.extend_from_slice(data);
}
