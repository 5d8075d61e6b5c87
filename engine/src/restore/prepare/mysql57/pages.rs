//! MySQL 5.7's whole-page records: page create and reorganize, list deletes and
//! copies, undo-page operations, ibuf bitmap and file-page initialisation, and
//! the compressed-page records that carry their bytes (applied to the
//! compressed page as the server writes them to `page_zip->data`).

use super::rows;
use crate::format::mysql57::body::{self, IndexDesc, InsertBody, PageBody};
use crate::restore::prepare::index::*;

const PAGE_DIRECTION: usize = PAGE_HEADER + 12;
const PAGE_MAX_TRX_ID: usize = PAGE_HEADER + 18;
const FIL_PAGE_TYPE: usize = 24;
const FIL_PAGE_DATA_END: usize = 8;
const UNDO_PAGE_HDR: usize = 38;
const UNDO_PAGE_START: usize = UNDO_PAGE_HDR + 2;
const UNDO_PAGE_FREE: usize = UNDO_PAGE_HDR + 4;
/// TRX_UNDO_PAGE_HDR + TRX_UNDO_PAGE_HDR_SIZE (6 + a 12-byte list node).
const UNDO_SEG_HDR: usize = UNDO_PAGE_HDR + 18;
const UNDO_STATE: usize = UNDO_SEG_HDR;
const UNDO_LAST_LOG: usize = UNDO_SEG_HDR + 2;
/// TRX_UNDO_SEG_HDR_SIZE: 4 + an FSEG header (10) + a list base node (16).
const UNDO_SEG_HDR_SIZE: usize = 30;
/// TRX_UNDO_LOG_OLD_HDR_SIZE: 34 + a list node (12).
const UNDO_LOG_HDR_SIZE: usize = 46;

/// Why a record was not applied to a page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The page cannot take the record: the server would call it corrupted.
    #[error(transparent)]
    Defect(#[from] IndexDefect),
    /// A record the server never writes for a compressed page this way, or one
    /// that would need the compressed page decompressed and compressed again.
    #[error("the record does not apply to a compressed page as bytes")]
    NotForZip,
}

impl From<String> for ApplyError {
    fn from(detail: String) -> Self {
        ApplyError::Defect(detail.into())
    }
}

/// Applies a page body to an uncompressed page (`zip` false) or to a page of a
/// ROW_FORMAT=COMPRESSED tablespace as stored (`zip` true). `NotForZip`: this
/// record cannot be applied to a compressed page without recompressing it.
pub fn apply(pg: &mut [u8], space: u32, page_no: u32, b: &PageBody, zip: bool) -> Result<(), ApplyError> {
    match b {
        PageBody::UndoInsert { data } => undo_insert(pg, data)?,
        PageBody::UndoEraseEnd => {
            let free = usize::from(r2(pg, UNDO_PAGE_FREE)?);
            let end = pg.len() - FIL_PAGE_DATA_END;
            pg.get_mut(free..end).ok_or(format!("TRX_UNDO_PAGE_FREE {free} is past the page"))?.fill(0xFF);
        }
        PageBody::UndoInit { undo_type } => {
            w2(pg, UNDO_PAGE_HDR, *undo_type as u16)?;
            w2(pg, UNDO_PAGE_START, UNDO_SEG_HDR as u16)?;
            w2(pg, UNDO_PAGE_FREE, UNDO_SEG_HDR as u16)?;
            w2(pg, FIL_PAGE_TYPE, crate::format::page::PAGE_TYPE_UNDO_LOG)?;
        }
        PageBody::UndoHdrDiscard => undo_discard(pg)?,
        PageBody::UndoHdrCreate { trx_id } => undo_create(pg, *trx_id)?,
        PageBody::UndoHdrReuse { trx_id } => undo_reuse(pg, *trx_id)?,
        PageBody::IbufBitmapInit => {
            w2(pg, FIL_PAGE_TYPE, crate::format::page::PAGE_TYPE_IBUF_BITMAP)?;
            let n = (pg.len() * 4).div_ceil(8);
            pg.get_mut(38..38 + n).ok_or_else(|| "the bitmap leaves the page".to_string())?.fill(0);
        }
        PageBody::InitFilePage { .. } => {
            pg.fill(0);
            pg[4..8].copy_from_slice(&page_no.to_be_bytes());
            pg[34..38].copy_from_slice(&space.to_be_bytes());
        }
        PageBody::Truncate { .. } => {}
        _ if zip => return zip_apply(pg, b),
        _ => index_apply(pg, b, Rules::Plain)?,
    }
    Ok(())
}

/// How row records land on the page (the server's `page_cur_*` on a page with
/// or without a compressed copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// An uncompressed page.
    Plain,
    /// The uncompressed frame of a ROW_FORMAT=COMPRESSED page. `insert_plain`:
    /// the insert found no room in the compressed page, went in as on an
    /// uncompressed page, and the page was compressed again right after
    /// (MLOG_ZIP_PAGE_COMPRESS_NO_DATA follows it in the log).
    Zip { insert_plain: bool },
}

/// Applies a row or whole-page record to the uncompressed frame of a compressed
/// index page, as the server's recovery changes `block->frame`; the frame is
/// compressed again by the caller. `NotForZip`: a record the server never writes
/// for a compressed page this way.
pub fn apply_to_frame(pg: &mut [u8], b: &PageBody, rules: Rules) -> Result<(), ApplyError> {
    match b {
        PageBody::Create { .. } | PageBody::CopyCreated { .. } => Err(ApplyError::NotForZip),
        PageBody::ZipCompressNoData { .. } => Ok(()),
        PageBody::ZipWriteHeader { offset, data } => Ok(put(pg, usize::from(*offset), data)?),
        PageBody::ZipWriteNodePtr { offset, data, .. } => Ok(put(pg, usize::from(*offset), data)?),
        PageBody::ZipWriteBlobPtr { offset, data, .. } => Ok(put(pg, usize::from(*offset), data)?),
        PageBody::Reorganize { index, .. } => Ok(reorganize(pg, index.as_ref())?),
        _ => Ok(index_apply(pg, b, rules)?),
    }
}

/// The records a compressed page takes as bytes; any other would need the page
/// decompressed and compressed again.
fn zip_apply(pg: &mut [u8], b: &PageBody) -> Result<(), ApplyError> {
    match b {
        PageBody::ZipCompress { prev_next, data, trailer } => {
            let size = pg.len();
            if FIL_PAGE_TYPE + data.len() + trailer.len() > size {
                return Err(format!("a compressed image of {} bytes passes the page", data.len()).into());
            }
            pg[8..16].copy_from_slice(prev_next);
            pg[FIL_PAGE_TYPE..FIL_PAGE_TYPE + data.len()].copy_from_slice(data);
            pg[FIL_PAGE_TYPE + data.len()..size - trailer.len()].fill(0);
            pg[size - trailer.len()..].copy_from_slice(trailer);
        }
        PageBody::ZipWriteHeader { offset, data } => put(pg, usize::from(*offset), data)?,
        PageBody::ZipWriteNodePtr { z_offset, data, .. } => put(pg, usize::from(*z_offset), data)?,
        PageBody::ZipWriteBlobPtr { z_offset, data, .. } => put(pg, usize::from(*z_offset), data)?,
        _ => return Err(ApplyError::NotForZip),
    }
    Ok(())
}

fn index_apply(pg: &mut [u8], b: &PageBody, rules: Rules) -> Res<()> {
    let (zip, zip_insert) = match rules {
        Rules::Plain => (false, false),
        Rules::Zip { insert_plain } => (true, !insert_plain),
    };
    let ix = |index: &Option<IndexDesc>| index.clone();
    match b {
        PageBody::Create { comp, rtree } => {
            create(pg, *comp);
            if *rtree {
                w2(pg, FIL_PAGE_TYPE, PAGE_TYPE_RTREE)?;
            }
        }
        PageBody::Insert { index, cursor, ins } => {
            check_format(pg, index)?;
            rows::insert(pg, ix(index).as_ref(), usize::from(*cursor), ins, zip_insert)?;
        }
        PageBody::Delete { index, offset } => {
            check_format(pg, index)?;
            rows::delete(pg, ix(index).as_ref(), usize::from(*offset), zip)?;
        }
        PageBody::ClustDeleteMark { index, flags, val, sys, offset } => {
            check_format(pg, index)?;
            rows::clust_delete_mark(pg, ix(index).as_ref(), *flags, *val, sys, usize::from(*offset))?;
        }
        PageBody::SecDeleteMark { val, offset, .. } => rows::set_deleted(pg, usize::from(*offset), *val)?,
        PageBody::UpdateInPlace { index, flags, sys, offset, update } => {
            check_format(pg, index)?;
            rows::update_in_place(pg, ix(index).as_ref(), *flags, sys, usize::from(*offset), update)?;
        }
        PageBody::MinMark { offset, .. } => rows::set_min_mark(pg, usize::from(*offset))?,
        PageBody::ListDelete { index, end: true, offset } if zip => {
            // `page_delete_rec_list_end` deletes one record at a time on a compressed page.
            let sup = supremum(is_comp(pg));
            let stop = rows::prev_rec(pg, usize::from(*offset))?;
            for _ in 0..8192 {
                let rec = next_rec(pg, stop, is_comp(pg))?;
                if rec == sup {
                    return Ok(());
                }
                rows::delete(pg, index.as_ref(), rec, true)?;
            }
            return Err("the record list does not reach the supremum".into());
        }
        PageBody::ListDelete { index, end: true, offset } => list_end_delete(pg, index.as_ref(), usize::from(*offset))?,
        PageBody::ListDelete { index, end: false, offset } => {
            let comp = is_comp(pg);
            let inf = if comp { NEW_INFIMUM } else { OLD_INFIMUM };
            let stop = usize::from(*offset);
            while next_rec(pg, inf, comp)? != stop {
                let first = next_rec(pg, inf, comp)?;
                if first == if comp { NEW_SUPREMUM } else { OLD_SUPREMUM } {
                    return Err(format!("record {stop} is not on the page").into());
                }
                rows::delete(pg, index.as_ref(), first, zip)?;
            }
        }
        PageBody::CopyCreated { index, inserts } => copy_created(pg, index.as_ref(), inserts)?,
        PageBody::Reorganize { index, zip_level: None } => reorganize(pg, index.as_ref())?,
        other => return Err(format!("{} on an uncompressed page", body::type_name(other.type_byte())).into()),
    }
    Ok(())
}

fn check_format(pg: &[u8], index: &Option<IndexDesc>) -> Res<()> {
    if !is_index_page(pg) {
        return Err("the page is not an index page".into());
    }
    if is_comp(pg) != index.is_some() {
        return Err(format!("a {} record on a {} page", fmt(index.is_some()), fmt(is_comp(pg))).into());
    }
    Ok(())
}

fn fmt(comp: bool) -> &'static str {
    if comp {
        "COMPACT"
    } else {
        "REDUNDANT"
    }
}

fn supremum(comp: bool) -> usize {
    if comp {
        NEW_SUPREMUM
    } else {
        OLD_SUPREMUM
    }
}

/// `page_delete_rec_list_end` as recovery replays it (the records join PAGE_FREE as one chain).
fn list_end_delete(pg: &mut [u8], ix: Option<&IndexDesc>, rec: usize) -> Res<()> {
    let comp = is_comp(pg);
    let sup = supremum(comp);
    if rec == sup {
        return Ok(());
    }
    w2(pg, PAGE_LAST_INSERT, 0)?;
    let prev = rows::prev_rec(pg, rec)?;
    let last = rows::prev_rec(pg, sup)?;
    let (mut size, mut n_recs, mut at) = (0usize, 0u16, rec);
    while at != sup {
        size += rows::offsets(pg, at, comp, ix)?.size();
        n_recs += 1;
        at = next_rec(pg, at, comp)?;
        if n_recs > 8192 {
            return Err("the record list does not reach the supremum".into());
        }
    }
    let (mut owner, mut count) = (rec, 0u8);
    while n_owned(pg, owner, comp)? == 0 {
        count += 1;
        owner = next_rec(pg, owner, comp)?;
    }
    let owned = n_owned(pg, owner, comp)?.wrapping_sub(count);
    let n_slots = usize::from(r2(pg, PAGE_N_DIR_SLOTS)?);
    let slot = find_slot(pg, owner, slot_at(pg.len(), n_slots - 1)?)?;
    w2(pg, slot, sup as u16)?;
    set_n_owned(pg, sup, owned, comp)?;
    w2(pg, PAGE_N_DIR_SLOTS, ((slot_at(pg.len(), 0)? - slot) / 2 + 1) as u16)?;
    link(pg, prev, sup, comp)?;
    let free = usize::from(r2(pg, PAGE_FREE)?);
    link(pg, last, free, comp)?;
    w2(pg, PAGE_FREE, rec as u16)?;
    let garbage = r2(pg, PAGE_GARBAGE)?;
    w2(pg, PAGE_GARBAGE, garbage.wrapping_add(size as u16))?;
    let n = r2(pg, PAGE_N_RECS)?;
    w2(pg, PAGE_N_RECS, n.wrapping_sub(n_recs))
}

fn link(pg: &mut [u8], rec: usize, next: usize, comp: bool) -> Res<()> {
    let v = match (comp, next) {
        (true, 0) => 0,
        (true, n) => (n as u16).wrapping_sub(rec as u16),
        (false, n) => n as u16,
    };
    w2(pg, back(rec, 2)?, v)
}

/// `page_parse_copy_rec_list_to_created_page`: each record goes after the last one.
fn copy_created(pg: &mut [u8], ix: Option<&IndexDesc>, inserts: &[InsertBody]) -> Res<()> {
    let sup = supremum(is_comp(pg));
    for ins in inserts {
        let cursor = rows::prev_rec(pg, sup)?;
        rows::insert(pg, ix, cursor, ins, false)?;
    }
    w2(pg, PAGE_LAST_INSERT, 0)?;
    w2(pg, PAGE_DIRECTION, 5)?;
    w2(pg, PAGE_N_DIRECTION, 0)
}

/// `btr_page_reorganize_low` in recovery: the page created again and every record
/// inserted in order; PAGE_MAX_TRX_ID kept on leaf pages unless the logged index
/// is clustered.
fn reorganize(pg: &mut [u8], ix: Option<&IndexDesc>) -> Res<()> {
    let comp = is_comp(pg);
    let temp = pg.to_vec();
    let rtree = r2(pg, FIL_PAGE_TYPE)? == PAGE_TYPE_RTREE;
    create(pg, comp);
    if rtree {
        w2(pg, FIL_PAGE_TYPE, PAGE_TYPE_RTREE)?;
    }
    let (inf, sup) = if comp { (NEW_INFIMUM, NEW_SUPREMUM) } else { (OLD_INFIMUM, OLD_SUPREMUM) };
    let (mut from, mut cur) = (next_rec(&temp, inf, comp)?, inf);
    let mut n = 0;
    while from != sup {
        let offs = rows::offsets(&temp, from, comp, ix)?;
        let start = back(from, offs.extra)?;
        let bytes = temp.get(start..from + offs.data()).ok_or("a record leaves the page")?;
        cur = rows::insert_built(pg, ix, cur, bytes, offs.extra, false)?;
        from = next_rec(&temp, from, comp)?;
        n += 1;
        if n > 8192 {
            return Err("the record list does not reach the supremum".into());
        }
    }
    let clustered = ix.is_some_and(|i| usize::from(i.n_uniq) < i.fields.len());
    if !clustered && is_leaf(pg) {
        pg[PAGE_MAX_TRX_ID..PAGE_MAX_TRX_ID + 8].copy_from_slice(&temp[PAGE_MAX_TRX_ID..PAGE_MAX_TRX_ID + 8]);
    }
    Ok(())
}

/// `trx_undo_parse_add_undo_rec`.
fn undo_insert(pg: &mut [u8], data: &[u8]) -> Res<()> {
    let free = usize::from(r2(pg, UNDO_PAGE_FREE)?);
    let end = free + 4 + data.len();
    if end > pg.len() - FIL_PAGE_DATA_END {
        return Err(format!("a {}-byte undo record at {free} passes the page", data.len()).into());
    }
    w2(pg, free, end as u16)?;
    w2(pg, free + 2 + data.len(), free as u16)?;
    w2(pg, UNDO_PAGE_FREE, end as u16)?;
    put(pg, free + 2, data)
}

/// `trx_undo_discard_latest_update_undo`.
fn undo_discard(pg: &mut [u8]) -> Res<()> {
    let free = usize::from(r2(pg, UNDO_LAST_LOG)?);
    let prev = usize::from(r2(pg, free + 32)?);
    if prev != 0 {
        let start = r2(pg, prev + 18)?;
        w2(pg, UNDO_PAGE_START, start)?;
        w2(pg, prev + 30, 0)?;
    }
    w2(pg, UNDO_PAGE_FREE, free as u16)?;
    w2(pg, UNDO_STATE, 2)?;
    w2(pg, UNDO_LAST_LOG, prev as u16)
}

/// `trx_undo_header_create`.
fn undo_create(pg: &mut [u8], trx_id: u64) -> Res<()> {
    let free = usize::from(r2(pg, UNDO_PAGE_FREE)?);
    let new_free = free + UNDO_LOG_HDR_SIZE;
    if new_free + 200 > pg.len() {
        return Err(format!("an undo log header at {free} does not fit the page").into());
    }
    w2(pg, UNDO_PAGE_START, new_free as u16)?;
    w2(pg, UNDO_PAGE_FREE, new_free as u16)?;
    w2(pg, UNDO_STATE, 1)?;
    let prev = usize::from(r2(pg, UNDO_LAST_LOG)?);
    if prev != 0 {
        w2(pg, prev + 30, free as u16)?;
    }
    w2(pg, UNDO_LAST_LOG, free as u16)?;
    w2(pg, free + 16, 1)?;
    put(pg, free, &trx_id.to_be_bytes())?;
    w2(pg, free + 18, new_free as u16)?;
    w1(pg, free + 20, 0)?;
    w1(pg, free + 21, 0)?;
    w2(pg, free + 30, 0)?;
    w2(pg, free + 32, prev as u16)
}

/// `trx_undo_insert_header_reuse`.
fn undo_reuse(pg: &mut [u8], trx_id: u64) -> Res<()> {
    let free = UNDO_SEG_HDR + UNDO_SEG_HDR_SIZE;
    let new_free = free + UNDO_LOG_HDR_SIZE;
    w2(pg, UNDO_PAGE_START, new_free as u16)?;
    w2(pg, UNDO_PAGE_FREE, new_free as u16)?;
    w2(pg, UNDO_STATE, 1)?;
    put(pg, free, &trx_id.to_be_bytes())?;
    w2(pg, free + 18, new_free as u16)?;
    w1(pg, free + 20, 0)?;
    w1(pg, free + 21, 0)
}
