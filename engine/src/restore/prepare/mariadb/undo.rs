//! UNDO_INIT and UNDO_APPEND, as `trx_undo_page_init` (trx0undo.cc) and
//! `log_phys_t::undo_append` (log0recv.cc) apply them.

use super::index::{r2, w2, Res};
use crate::format::page::{FIL_PAGE_DATA, FIL_PAGE_TYPE, PAGE_TYPE_UNDO_LOG};

const UNDO_PAGE_HDR: usize = FIL_PAGE_DATA;
const UNDO_PAGE_START: usize = UNDO_PAGE_HDR + 2;
const UNDO_PAGE_FREE: usize = UNDO_PAGE_HDR + 4;
const UNDO_PAGE_NODE: usize = UNDO_PAGE_HDR + 6;
const UNDO_PAGE_HDR_SIZE: usize = 18;
/// TRX_UNDO_SEG_HDR (right after the page header) + TRX_UNDO_SEG_HDR_SIZE (30).
const UNDO_SEG_HDR_END: usize = UNDO_PAGE_HDR + UNDO_PAGE_HDR_SIZE + 30;
const FIL_PAGE_DATA_END: usize = 8;

/// `trx_undo_page_init`: an empty undo page; the segment header (if any) is kept.
pub fn init(pg: &mut [u8]) {
    let size = pg.len();
    pg[FIL_PAGE_TYPE..FIL_PAGE_TYPE + 2].copy_from_slice(&PAGE_TYPE_UNDO_LOG.to_be_bytes());
    pg[UNDO_PAGE_HDR..UNDO_PAGE_HDR + 2].fill(0);
    let first = ((UNDO_PAGE_HDR + UNDO_PAGE_HDR_SIZE) as u16).to_be_bytes();
    pg[UNDO_PAGE_START..UNDO_PAGE_START + 2].copy_from_slice(&first);
    pg[UNDO_PAGE_FREE..UNDO_PAGE_FREE + 2].copy_from_slice(&first);
    // The page list node: FIL_NULL previous and next pages, byte offsets 0.
    for node in [UNDO_PAGE_NODE, UNDO_PAGE_NODE + 6] {
        pg[node..node + 4].fill(0xFF);
        pg[node + 4..node + 6].fill(0);
    }
    pg[UNDO_SEG_HDR_END..size - FIL_PAGE_DATA_END].fill(0);
}

/// `undo_append`: the record goes at TRX_UNDO_PAGE_FREE between the 2-byte offsets
/// of its end (before) and its start (after).
pub fn append(pg: &mut [u8], rec: &[u8]) -> Res<()> {
    let free = usize::from(r2(pg, UNDO_PAGE_FREE)?);
    if free < UNDO_PAGE_HDR + UNDO_PAGE_HDR_SIZE || free + rec.len() + 6 >= pg.len() - FIL_PAGE_DATA_END {
        return Err(format!("TRX_UNDO_PAGE_FREE {free} leaves no room for a {}-byte record", rec.len()).into());
    }
    let end = (free + 4 + rec.len()) as u16;
    w2(pg, UNDO_PAGE_FREE, end)?;
    w2(pg, free, end)?;
    pg[free + 2..free + 2 + rec.len()].copy_from_slice(rec);
    w2(pg, free + 2 + rec.len(), free as u16)
}
