//! The index-page layout both redo formats edit (MariaDB's EXTENDED row records, MySQL 5.7's MLOG_*_REC_*) (page0page.h, rem0rec.h):
//! header fields, the sparse directory, record-header bit fields, and the
//! directory maintenance (`page_dir_split_slot`, `page_dir_balance_slot`,
//! `page_mem_free`) that recovery runs as part of an insert or delete.
//!
//! Every access is bounds-checked and fails with a description instead of
//! panicking: a damaged page must be refused, as the server refuses it.

use crate::format::page::{FIL_PAGE_OFFSET, FIL_PAGE_TYPE};

/// What is inconsistent in an index page; the caller adds the record and page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexDefect {
    #[error("byte {at} is outside the page")]
    ByteOutside { at: usize },
    #[error("bytes {at}..{} are outside the page", at + len)]
    BytesOutside { at: usize, len: usize },
    #[error("a record header at {rec} would start {k} bytes before it")]
    HeaderBeforeStart { rec: usize, k: usize },
    #[error("a {len}-byte copy from {from} to {to} leaves the page")]
    CopyLeaves { from: usize, to: usize, len: usize },
    #[error("{len} bytes at {at} leave the page")]
    PutLeaves { at: usize, len: usize },
    #[error("directory slot {n} does not fit the page")]
    SlotOutside { n: usize },
    #[error("no directory slot points to the owner record {owner}")]
    NoOwnerSlot { owner: usize },
    /// A record, field or header value the operation cannot take, in words (the
    /// record decoders' many checks each name their own field).
    #[error("{0}")]
    Inconsistent(String),
}

impl From<String> for IndexDefect {
    fn from(detail: String) -> Self {
        IndexDefect::Inconsistent(detail)
    }
}

impl From<&str> for IndexDefect {
    fn from(detail: &str) -> Self {
        IndexDefect::Inconsistent(detail.to_string())
    }
}

pub type Res<T> = Result<T, IndexDefect>;

pub const PAGE_HEADER: usize = 38;
pub const PAGE_N_DIR_SLOTS: usize = PAGE_HEADER;
pub const PAGE_HEAP_TOP: usize = PAGE_HEADER + 2;
pub const PAGE_N_HEAP: usize = PAGE_HEADER + 4;
pub const PAGE_FREE: usize = PAGE_HEADER + 6;
pub const PAGE_GARBAGE: usize = PAGE_HEADER + 8;
pub const PAGE_LAST_INSERT: usize = PAGE_HEADER + 10;
pub const PAGE_INSTANT: usize = PAGE_HEADER + 12;
pub const PAGE_DIRECTION_B: usize = PAGE_HEADER + 13;
pub const PAGE_N_DIRECTION: usize = PAGE_HEADER + 14;
pub const PAGE_N_RECS: usize = PAGE_HEADER + 16;
pub const PAGE_LEVEL: usize = PAGE_HEADER + 26;
/// The header bytes `page_create_low` clears (up to PAGE_LEVEL).
pub const PAGE_HEADER_PRIV_END: usize = 26;
/// PAGE_HEADER + 36 + 2 segment headers of 10 bytes.
pub const PAGE_DATA: usize = PAGE_HEADER + 36 + 20;
pub const NEW_EXTRA: usize = 5;
pub const OLD_EXTRA: usize = 6;
pub const NEW_INFIMUM: usize = PAGE_DATA + NEW_EXTRA;
pub const NEW_SUPREMUM: usize = NEW_INFIMUM + 8 + NEW_EXTRA;
pub const NEW_SUPREMUM_END: usize = NEW_SUPREMUM + 8;
pub const OLD_INFIMUM: usize = PAGE_DATA + 1 + OLD_EXTRA;
pub const OLD_SUPREMUM: usize = PAGE_DATA + 2 + 2 * OLD_EXTRA + 8;
pub const OLD_SUPREMUM_END: usize = OLD_SUPREMUM + 9;
/// The directory ends before the 8-byte FIL trailer.
pub const PAGE_DIR: usize = 8;
pub const MAX_N_OWNED: u8 = 8;
pub const MIN_N_OWNED: u8 = 4;
pub const HEAP_NO_USER_LOW: usize = 2;
pub const REC_MAX_N_FIELDS: usize = 1023;
pub const PAGE_TYPE_INDEX: u16 = 17855;
pub const PAGE_TYPE_RTREE: u16 = 17854;
pub const PAGE_TYPE_INSTANT: u16 = 18;
const NO_DIRECTION: u8 = 5;
const LEFT: u8 = 1;
const RIGHT: u8 = 2;

pub fn r1(pg: &[u8], at: usize) -> Res<u8> {
    pg.get(at).copied().ok_or(IndexDefect::ByteOutside { at })
}

pub fn r2(pg: &[u8], at: usize) -> Res<u16> {
    match pg.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(IndexDefect::BytesOutside { at, len: 2 }),
    }
}

pub fn w1(pg: &mut [u8], at: usize, v: u8) -> Res<()> {
    *pg.get_mut(at).ok_or(IndexDefect::ByteOutside { at })? = v;
    Ok(())
}

pub fn w2(pg: &mut [u8], at: usize, v: u16) -> Res<()> {
    let b = pg.get_mut(at..at + 2).ok_or(IndexDefect::BytesOutside { at, len: 2 })?;
    b.copy_from_slice(&v.to_be_bytes());
    Ok(())
}

/// `rec - k`, refused when it would leave the page.
pub fn back(rec: usize, k: usize) -> Res<usize> {
    rec.checked_sub(k).ok_or(IndexDefect::HeaderBeforeStart { rec, k })
}

/// Copies `len` bytes from `from` to `to` within the page (memmove).
pub fn copy(pg: &mut [u8], from: usize, to: usize, len: usize) -> Res<()> {
    if from.max(to) + len > pg.len() {
        return Err(IndexDefect::CopyLeaves { from, to, len });
    }
    pg.copy_within(from..from + len, to);
    Ok(())
}

pub fn put(pg: &mut [u8], at: usize, data: &[u8]) -> Res<()> {
    let b = pg.get_mut(at..at + data.len()).ok_or(IndexDefect::PutLeaves { at, len: data.len() })?;
    b.copy_from_slice(data);
    Ok(())
}

/// Where directory slot `n` lives (slot 0, the infimum's, is the last 2 bytes before the trailer).
pub fn slot_at(size: usize, n: usize) -> Res<usize> {
    (size - PAGE_DIR).checked_sub(2 * (n + 1)).filter(|&at| at >= PAGE_DATA).ok_or(IndexDefect::SlotOutside { n })
}

pub fn is_index_page(pg: &[u8]) -> bool {
    let t = u16::from_be_bytes([pg[FIL_PAGE_TYPE], pg[FIL_PAGE_TYPE + 1]]);
    matches!(t, PAGE_TYPE_INDEX | PAGE_TYPE_RTREE | PAGE_TYPE_INSTANT)
}

pub fn is_comp(pg: &[u8]) -> bool {
    pg[PAGE_N_HEAP] & 0x80 != 0
}

pub fn is_leaf(pg: &[u8]) -> bool {
    pg[PAGE_LEVEL] == 0 && pg[PAGE_LEVEL + 1] == 0
}

pub fn page_no_is(pg: &[u8], page_no: u32) -> bool {
    pg[FIL_PAGE_OFFSET..FIL_PAGE_OFFSET + 4] == page_no.to_be_bytes()
}

/// The n_owned bits of a record (its 4 low bits of the byte 5 or 6 before it).
pub fn n_owned(pg: &[u8], rec: usize, comp: bool) -> Res<u8> {
    Ok(r1(pg, back(rec, if comp { NEW_EXTRA } else { OLD_EXTRA })?)? & 0x0F)
}

pub fn set_n_owned(pg: &mut [u8], rec: usize, n: u8, comp: bool) -> Res<()> {
    let at = back(rec, if comp { NEW_EXTRA } else { OLD_EXTRA })?;
    let b = r1(pg, at)?;
    w1(pg, at, (b & !0x0F) | n)
}

/// The next record: relative (mod 2^16) on COMPACT pages, absolute on REDUNDANT ones.
pub fn next_rec(pg: &[u8], rec: usize, comp: bool) -> Res<usize> {
    let v = r2(pg, back(rec, 2)?)?;
    Ok(if comp { usize::from((rec as u16).wrapping_add(v)) } else { usize::from(v) })
}

pub fn new_heap_no(pg: &[u8], rec: usize) -> Res<usize> {
    Ok(usize::from(r2(pg, back(rec, 4)?)? >> 3))
}

pub fn old_heap_no(pg: &[u8], rec: usize) -> Res<usize> {
    Ok(usize::from(r2(pg, back(rec, 5)?)? >> 3))
}

pub fn old_n_fields(buf: &[u8], rec: usize) -> Res<usize> {
    Ok(usize::from((r2(buf, back(rec, 4)?)? & 0x7FE) >> 1))
}

pub fn old_short(buf: &[u8], rec: usize) -> Res<bool> {
    Ok(r1(buf, back(rec, 3)?)? & 1 != 0)
}

/// `REC_N_OLD_EXTRA_BYTES` plus the field end offsets.
pub fn old_extra_size(buf: &[u8], rec: usize) -> Res<usize> {
    let n = old_n_fields(buf, rec)?;
    Ok(OLD_EXTRA + if old_short(buf, rec)? { n } else { 2 * n })
}

/// `rec_get_data_size_old`: the end offset of the last field, flags masked off.
pub fn old_data_size(buf: &[u8], rec: usize) -> Res<usize> {
    let n = old_n_fields(buf, rec)?;
    if n == 0 {
        return Ok(0);
    }
    Ok(if old_short(buf, rec)? {
        usize::from(r1(buf, back(rec, OLD_EXTRA + n)?)? & 0x7F)
    } else {
        usize::from(r2(buf, back(rec, OLD_EXTRA + 2 * n)?)? & 0x3FFF)
    })
}

/// `page_create_low`: an empty index page (INIT_ROW_FORMAT_REDUNDANT/DYNAMIC).
pub fn create(pg: &mut [u8], comp: bool) {
    const INF_SUP_OLD: [u8; 31] = [
        0x08, 0x01, 0x00, 0x00, 0x03, 0x00, 0x74, b'i', b'n', b'f', b'i', b'm', b'u', b'm', 0, 0x09, 0x01, 0x00, 0x08,
        0x03, 0x00, 0x00, b's', b'u', b'p', b'r', b'e', b'm', b'u', b'm', 0,
    ];
    const INF_SUP_NEW: [u8; 26] = [
        0x01, 0x00, 0x02, 0x00, 0x0d, b'i', b'n', b'f', b'i', b'm', b'u', b'm', 0, 0x01, 0x00, 0x0b, 0x00, 0x00, b's',
        b'u', b'p', b'r', b'e', b'm', b'u', b'm',
    ];
    let size = pg.len();
    pg[FIL_PAGE_TYPE..FIL_PAGE_TYPE + 2].copy_from_slice(&PAGE_TYPE_INDEX.to_be_bytes());
    pg[PAGE_HEADER..PAGE_HEADER + PAGE_HEADER_PRIV_END].fill(0);
    pg[PAGE_N_DIR_SLOTS + 1] = 2;
    pg[PAGE_INSTANT] = 0;
    pg[PAGE_DIRECTION_B] = NO_DIRECTION;
    pg[PAGE_N_HEAP + 1] = HEAP_NO_USER_LOW as u8;
    let (end, sup, inf) = if comp {
        pg[PAGE_N_HEAP] = 0x80;
        pg[PAGE_DATA..PAGE_DATA + INF_SUP_NEW.len()].copy_from_slice(&INF_SUP_NEW);
        (NEW_SUPREMUM_END, NEW_SUPREMUM, NEW_INFIMUM)
    } else {
        pg[PAGE_DATA..PAGE_DATA + INF_SUP_OLD.len()].copy_from_slice(&INF_SUP_OLD);
        (OLD_SUPREMUM_END, OLD_SUPREMUM, OLD_INFIMUM)
    };
    pg[PAGE_HEAP_TOP + 1] = end as u8;
    pg[end..size - PAGE_DIR].fill(0);
    pg[size - PAGE_DIR - 3] = sup as u8;
    pg[size - PAGE_DIR - 1] = inf as u8;
}

/// The directory slot that points to `owner`, searched from the last slot up to
/// (not including) the infimum's.
pub fn find_slot(pg: &[u8], owner: usize, last_slot: usize) -> Res<usize> {
    let first = slot_at(pg.len(), 0)?;
    let mut slot = last_slot;
    while usize::from(r2(pg, slot)?) != owner {
        slot += 2;
        if slot >= first {
            return Err(IndexDefect::NoOwnerSlot { owner });
        }
    }
    Ok(slot)
}

/// `page_dir_split_slot`: the slot at `slot` owns 9 records; a new slot takes the first 4.
pub fn split_slot(pg: &mut [u8], slot: usize) -> Res<()> {
    let comp = is_comp(pg);
    let mut rec = usize::from(r2(pg, slot + 2)?);
    for _ in 0..MAX_N_OWNED.div_ceil(2) {
        rec = next_rec(pg, rec, comp)?;
    }
    let n_slots = usize::from(r2(pg, PAGE_N_DIR_SLOTS)?);
    let last = slot_at(pg.len(), n_slots)?;
    copy(pg, last + 2, last, slot - last)?;
    w2(pg, PAGE_N_DIR_SLOTS, (n_slots + 1) as u16)?;
    w2(pg, slot, rec as u16)?;
    let half = MAX_N_OWNED.div_ceil(2);
    set_n_owned(pg, rec, half, comp)?;
    let moved = usize::from(r2(pg, slot - 2)?);
    set_n_owned(pg, moved, MAX_N_OWNED + 1 - half, comp)
}

/// `page_dir_balance_slot`: slot `s` owns 3 records; merge it into the next slot
/// or take one record from it.
pub fn balance_slot(pg: &mut [u8], s: usize) -> Res<()> {
    let comp = is_comp(pg);
    let n_slots = usize::from(r2(pg, PAGE_N_DIR_SLOTS)?);
    if s + 1 == n_slots {
        return Ok(());
    }
    let slot = slot_at(pg.len(), s)?;
    let up_rec = usize::from(r2(pg, back(slot, 2)?)?);
    let slot_rec = usize::from(r2(pg, slot)?);
    let up_n = n_owned(pg, up_rec, comp)?;
    if up_n <= MIN_N_OWNED {
        set_n_owned(pg, slot_rec, 0, comp)?;
        set_n_owned(pg, up_rec, up_n + MIN_N_OWNED - 1, comp)?;
        let last = slot_at(pg.len(), n_slots - 1)?;
        copy(pg, last, last + 2, slot - last)?;
        w2(pg, last, 0)?;
        return w2(pg, PAGE_N_DIR_SLOTS, (n_slots - 1) as u16);
    }
    set_n_owned(pg, slot_rec, 0, comp)?;
    let new_rec = next_rec(pg, slot_rec, comp)?;
    set_n_owned(pg, new_rec, MIN_N_OWNED, comp)?;
    set_n_owned(pg, up_rec, up_n - 1, comp)?;
    w2(pg, slot, new_rec as u16)
}

/// `page_mem_free`: a deleted record joins PAGE_FREE, or shrinks the heap when it is
/// the last one allocated; its bytes are zeroed.
pub fn mem_free(pg: &mut [u8], rec: usize, data_size: usize, extra_size: usize) -> Res<()> {
    let free = usize::from(r2(pg, PAGE_FREE)?);
    let n_heap = r2(pg, PAGE_N_HEAP)?.wrapping_sub(1);
    let comp = n_heap & 0x8000 != 0;
    let top_no = if comp { new_heap_no(pg, rec)? | 0x8000 } else { old_heap_no(pg, rec)? };
    let deleting_top = usize::from(n_heap) == top_no;
    let end = rec + data_size;
    if deleting_top {
        let heap_top = usize::from(r2(pg, PAGE_HEAP_TOP)?);
        let savings = heap_top.checked_sub(end).ok_or("the deleted record ends past PAGE_HEAP_TOP")?;
        w2(pg, PAGE_HEAP_TOP, back(rec, extra_size)? as u16)?;
        w2(pg, PAGE_N_HEAP, n_heap)?;
        if savings > 0 {
            let garbage = r2(pg, PAGE_GARBAGE)?;
            w2(pg, PAGE_GARBAGE, garbage.wrapping_sub(savings as u16))?;
        }
    } else {
        w2(pg, PAGE_FREE, rec as u16)?;
        let garbage = r2(pg, PAGE_GARBAGE)?;
        w2(pg, PAGE_GARBAGE, garbage.wrapping_add((extra_size + data_size) as u16))?;
    }
    w2(pg, PAGE_LAST_INSERT, 0)?;
    let n_recs = r2(pg, PAGE_N_RECS)?;
    w2(pg, PAGE_N_RECS, n_recs.wrapping_sub(1))?;
    let from = if deleting_top {
        back(rec, extra_size)?
    } else {
        let next = match (free, comp) {
            (0, _) => 0,
            (_, true) => (free as u16).wrapping_sub(rec as u16),
            (_, false) => free as u16,
        };
        w2(pg, back(rec, 2)?, next)?;
        rec
    };
    pg.get_mut(from..end).ok_or("the deleted record leaves the page")?.fill(0);
    Ok(())
}

/// After an insert: PAGE_DIRECTION_B and PAGE_N_DIRECTION (not on R-trees), PAGE_N_RECS,
/// the owner's n_owned, and a split of its slot when it reached 9.
pub fn finish_insert(pg: &mut [u8], last_insert: usize, prev: usize, next: usize, owner: Owner) -> Res<()> {
    let comp = is_comp(pg);
    set_n_owned(pg, owner.rec, owner.n_owned + 1, comp)?;
    if pg[FIL_PAGE_TYPE + 1] != PAGE_TYPE_RTREE as u8 {
        let dir = pg[PAGE_DIRECTION_B];
        let n_dir = r2(pg, PAGE_N_DIRECTION)?;
        let (d, n) = if last_insert == 0 {
            (NO_DIRECTION, 0)
        } else if last_insert == prev && dir & 7 != LEFT {
            (RIGHT, n_dir.wrapping_add(1))
        } else if next == last_insert && dir & 7 != RIGHT {
            (LEFT, n_dir.wrapping_add(1))
        } else {
            (NO_DIRECTION, 0)
        };
        pg[PAGE_DIRECTION_B] = (dir & !7) | d;
        w2(pg, PAGE_N_DIRECTION, n)?;
    }
    let n_recs = r2(pg, PAGE_N_RECS)?;
    w2(pg, PAGE_N_RECS, n_recs.wrapping_add(1))?;
    if owner.n_owned == MAX_N_OWNED {
        split_slot(pg, owner.slot)?;
    }
    Ok(())
}

/// The record that owns a directory slot, its n_owned and the slot.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub rec: usize,
    pub n_owned: u8,
    pub slot: usize,
}
