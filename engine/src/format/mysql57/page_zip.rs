//! MySQL 5.7 ROW_FORMAT=COMPRESSED B-tree pages (`page0zip.cc`): the
//! compressed page as stored on disk (KEY_BLOCK_SIZE bytes) and the
//! uncompressed frame the server keeps beside it in the buffer pool.
//!
//! A compressed index page holds, in this order:
//!
//! * the first [`PAGE_DATA`] (94) bytes of the frame, verbatim (FIL header
//!   and index page header);
//! * a zlib stream (window bits = log2 of the logical page size): the index
//!   field information ([`fields`]) ended by a full flush, then the record
//!   bytes of the frame from [`PAGE_ZIP_START`] to PAGE_HEAP_TOP in heap
//!   order, without the 5 fixed header bytes of each record and without the
//!   columns stored uncompressed;
//! * the modification log: records written since the page was compressed,
//!   each `(heap_no - 1) << 1 | clear` (1 or 2 bytes) followed, unless
//!   clearing, by the record's extra bytes backwards and its data bytes;
//!   a 0 byte ends it;
//! * free space, then growing downwards from the page end: BLOB pointers of
//!   existing records (20 bytes each), the uncompressed columns per heap
//!   number (DB_TRX_ID+DB_ROLL_PTR, 13 bytes, on clustered leaf pages; the
//!   4-byte child page number on non-leaf pages) and the dense directory
//!   (2 bytes per record: user records in key order with their owned and
//!   deleted flags, then the free list).
//!
//! [`decompress`] builds the frame exactly as `page_zip_decompress()` does;
//! [`compress`] builds a compressed page (empty modification log) that
//! decompresses to a given frame. Both are pure and never panic.

mod fields;
pub mod mlog;
mod place;
mod rec;
mod stream;
mod unzip;
mod zip;

pub use fields::{encode_fields, ColSpec, FieldsTail, ZipField, ZipIndex};
pub use rec::{Field, Layout};
pub use unzip::{decompress_full, Unzipped};
pub use zip::compress;

/// The fields of the record at `rec` of a frame, as the page's field
/// information describes them (`node_ptr` on non-leaf pages).
pub fn record_layout(frame: &[u8], rec: usize, ix: &ZipIndex) -> Option<Layout> {
    rec::frame_layout(frame, rec, ix, !ix.leaf)
}

/// Bytes copied verbatim at the start of a compressed page (FIL header +
/// index page header); the zlib stream starts here.
pub const PAGE_DATA: usize = crate::restore::prepare::index::PAGE_DATA;
/// Where the user records of a COMPACT frame may start (end of supremum).
pub const PAGE_ZIP_START: usize = crate::restore::prepare::index::NEW_SUPREMUM_END;
/// Size of a dense directory entry.
pub const DIR_SLOT_SIZE: usize = 2;
/// The record offset in a dense directory entry.
pub const DIR_SLOT_MASK: u16 = 0x3fff;
/// Dense directory flag: the record owns a sparse directory slot.
pub const DIR_SLOT_OWNED: u16 = 0x4000;
/// Dense directory flag: the record is delete-marked.
pub const DIR_SLOT_DEL: u16 = 0x8000;
/// DB_TRX_ID + DB_ROLL_PTR, stored uncompressed on clustered leaf pages.
pub const TRX_ROLL_LEN: usize = 13;
/// Child page number of a node pointer record.
pub const NODE_PTR_SIZE: usize = 4;
/// An externally stored column's reference.
pub const EXTERN_REF_SIZE: usize = 20;

/// Why a compressed page or frame cannot be converted, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("sizes: {0}")]
    Size(String),
    #[error("page type {0} is not a B-tree (17855) or R-tree (17854) index page")]
    NotIndex(u16),
    #[error("page header: {0}")]
    Header(String),
    #[error("dense directory entry {slot} (byte {at} of the compressed page): {what}")]
    Dir { slot: usize, at: usize, what: String },
    #[error("index field information: {0}")]
    Fields(String),
    #[error("zlib stream (byte {at} of the compressed page): {what}")]
    Stream { at: usize, what: String },
    #[error("record heap_no {heap_no} at frame offset {offset}: {what}")]
    Record { heap_no: usize, offset: usize, what: String },
    #[error("modification log entry at byte {at} of the compressed page: {what}")]
    Mlog { at: usize, what: String },
    #[error("uncompressed frame at offset {offset}: {what}")]
    Frame { offset: usize, what: String },
}

pub type Result<T> = std::result::Result<T, ZipError>;

/// The uncompressed frame of the compressed index page `zip` (its length is
/// the KEY_BLOCK_SIZE) for a server with `logical_size` = innodb_page_size.
pub fn decompress(zip: &[u8], logical_size: usize) -> Result<Vec<u8>> {
    Ok(decompress_full(zip, logical_size)?.frame)
}

/// Checks the sizes: a compressed page of 1..16 KiB, a logical page of
/// 4, 8 or 16 KiB, the first not larger than the second.
pub(crate) fn check_sizes(zip_size: usize, logical: usize) -> Result<()> {
    if !matches!(zip_size, 1024 | 2048 | 4096 | 8192 | 16384) {
        return Err(ZipError::Size(format!("compressed page size {zip_size} is not 1, 2, 4, 8 or 16 KiB")));
    }
    if !matches!(logical, 4096 | 8192 | 16384) || zip_size > logical {
        return Err(ZipError::Size(format!(
            "logical page size {logical} (compressed {zip_size}) is not 4, 8 or 16 KiB at least as large"
        )));
    }
    Ok(())
}

pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The page type, if this is an index page.
pub(crate) fn index_type(page: &[u8]) -> Result<u16> {
    let t = be16(page, 24);
    if t == crate::restore::prepare::index::PAGE_TYPE_INDEX || t == crate::restore::prepare::index::PAGE_TYPE_RTREE {
        Ok(t)
    } else {
        Err(ZipError::NotIndex(t))
    }
}

/// Encodes a modification log record number: `(heap_no - 1) << 1 | clear`,
/// one byte below heap_no 65, else two (high bit set in the first).
/// (heap_no 0 and 1, infimum and supremum, are never logged.)
pub fn encode_mlog_heap_no(heap_no: usize, clear: bool) -> Vec<u8> {
    let n = heap_no.saturating_sub(1);
    let v = (n << 1) | usize::from(clear);
    if n >= 64 {
        vec![0x80 | (v >> 8) as u8, v as u8]
    } else {
        vec![v as u8]
    }
}

/// A dense directory entry for a record at `offset`.
pub fn dense_slot(offset: usize, owned: bool, deleted: bool) -> u16 {
    let mut v = offset as u16 & DIR_SLOT_MASK;
    if owned {
        v |= DIR_SLOT_OWNED;
    }
    if deleted {
        v |= DIR_SLOT_DEL;
    }
    v
}

#[cfg(test)]
mod tests;
