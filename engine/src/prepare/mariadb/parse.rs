//! The one parse of a backup's redo, before any page is read (as the server's
//! recovery parses into `recv_sys.pages` before it applies): each mtr is framed
//! and its CRC-32C checked once, its file records go into the report, and its
//! page records are decoded (a record recovery would refuse is refused here, by
//! name) and listed in log order with the page each is for, so that whether a
//! page ends freed is known before it is read. [`super::pages`] applies the list.

use super::extended::{self, Extended};
use super::{fsp_size_written, next_offset, ApplyReport, PrepareError};
use crate::format::mariadb::{
    self, decode_page_edit, records, scan_mtr, FileOp, MtrScan, PageEdit, PageId, PageOp, Record, Ring,
};
use crate::format::Lsn;
use crate::prepare::PageMap;

/// One page record to apply: where it is in the log, how its mtr frames it, and
/// which page ([`PageInfo`]) it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Op {
    /// The start LSN of its mtr.
    pub start: Lsn,
    /// Its mtr's length: the mtr ends at `start + mtr_len`.
    pub mtr_len: u32,
    /// Where its payload starts, counted from the start of its mtr.
    pub payload_at: u32,
    pub payload_len: u32,
    /// Where the previous record of its mtr on the same page left off (see `next_offset`).
    pub last_offset: u32,
    /// Its page: an index in the parse's pages.
    pub slot: u32,
    pub op: PageOp,
}

impl Op {
    pub fn end(&self) -> Lsn {
        self.start + u64::from(self.mtr_len)
    }
}

/// A page the log names, and what its records say about it as a whole.
#[derive(Debug, Clone)]
pub(super) struct PageInfo {
    pub id: PageId,
    /// Its last FREE_PAGE or INIT_PAGE record is FREE_PAGE (only INIT_PAGE brings a
    /// freed page back): recovery never reads nor writes it.
    pub freed: bool,
    /// The index of its first record in the parse's records (log order).
    pub first: usize,
    /// How many records it has to apply.
    pub ops: u64,
}

/// What the parse found: the pages the log names and their records, in log order.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub pages: Vec<PageInfo>,
    pub ops: Vec<Op>,
}

/// The state of the parse across mtrs.
struct Parser<'r> {
    report: &'r mut ApplyReport,
    slots: PageMap<u32>,
    out: Parsed,
}

/// Parses the mtrs of `redo` (the log after its header, from LSN `first` to the end of
/// `redo`): fills the report's log-level fields (mtrs, end_lsn, file records, sizes,
/// trims) and returns every page's records, and whether a FILE_CHECKPOINT(`checkpoint`)
/// record was met.
pub(super) fn parse(
    redo: &[u8],
    first: Lsn,
    ring: &Ring,
    checkpoint: Lsn,
    report: &mut ApplyReport,
) -> Result<(Parsed, bool), PrepareError> {
    let mut p = Parser { report, slots: PageMap::default(), out: Parsed::default() };
    let mut confirmed = false;
    let mut at = 0usize;
    while at < redo.len() {
        let lsn = first + at as u64;
        let records_len = match scan_mtr(&redo[at..], lsn, ring) {
            MtrScan::Mtr { records_len, .. } => records_len,
            MtrScan::Incomplete => {
                let last_lsn = first + redo.len() as u64;
                return Err(PrepareError::BadMtr { lsn, detail: format!("last_lsn {last_lsn} falls inside this mtr") });
            }
            MtrScan::End(end) => {
                return Err(PrepareError::BadMtr { lsn, detail: format!("no valid mtr before last_lsn: {end:?}") })
            }
        };
        let mtr_len = records_len + mariadb::MTR_TRAILER;
        let file_checkpoint = p.mtr(&redo[at..at + records_len], lsn, mtr_len as u32)?;
        confirmed |= file_checkpoint == Some(checkpoint);
        p.report.mtrs += 1;
        p.report.end_lsn = lsn + mtr_len as u64;
        at += mtr_len;
    }
    Ok((p.out, confirmed))
}

impl Parser<'_> {
    /// Files the records of one mtr; returns the LSN of its FILE_CHECKPOINT record, if any.
    fn mtr(&mut self, recs: &[u8], start: Lsn, mtr_len: u32) -> Result<Option<Lsn>, PrepareError> {
        let bad = |detail: String| PrepareError::BadRecord { lsn: start, detail };
        let mut checkpoint = None;
        // The page of the previous page record (and its slot) and where its range ended.
        let mut current: Option<(PageId, usize)> = None;
        let mut last_offset = 0u32;
        for rec in records(recs) {
            match rec.map_err(|e| bad(e.to_string()))? {
                Record::Page { op, page, payload } => {
                    let (id, slot) = match page {
                        Some(id) => {
                            last_offset = 0;
                            (id, self.slot(id))
                        }
                        None => current.ok_or_else(|| bad("a same_page record without a page".into()))?,
                    };
                    current = Some((id, slot));
                    // The payload borrows from `recs`: its place in the mtr.
                    let payload_at = (payload.as_ptr() as usize - recs.as_ptr() as usize) as u32;
                    let payload_len = payload.len() as u32;
                    let op = Op { start, mtr_len, payload_at, payload_len, last_offset, slot: slot as u32, op };
                    last_offset = self.page_record(slot, op, payload)?;
                }
                Record::File { op, space, name, new_name } => {
                    self.report.file_operations += 1;
                    let own = |n: &[u8]| Some(String::from_utf8_lossy(n).into_owned());
                    let after = match (op, new_name) {
                        (FileOp::Delete, _) => None,
                        (FileOp::Rename, Some(to)) => own(to),
                        _ => own(name),
                    };
                    self.report.file_names.insert(space, after);
                }
                Record::FileCheckpoint { lsn } => {
                    self.report.checkpoints += 1;
                    checkpoint = Some(lsn);
                }
                Record::Padding { .. } => {}
            }
        }
        Ok(checkpoint)
    }

    /// The index of the page in `pages`, made on first sight.
    fn slot(&mut self, id: PageId) -> usize {
        let next = self.out.pages.len() as u32;
        let slot = *self.slots.entry((id.space, id.page)).or_insert(next);
        if slot == next {
            self.out.pages.push(PageInfo { id, freed: false, first: 0, ops: 0 });
        }
        slot as usize
    }

    /// Decodes one page record (refusing what recovery refuses) and files it under
    /// its page; returns where the next same_page record counts from.
    fn page_record(&mut self, slot: usize, op: Op, payload: &[u8]) -> Result<u32, PrepareError> {
        let id = self.out.pages[slot].id;
        let last_offset = op.last_offset;
        let bad = |detail: String| PrepareError::BadRecord { lsn: op.start, detail };
        let edit: Option<PageEdit<'_>> = match op.op {
            PageOp::Write | PageOp::Memset | PageOp::Memmove => {
                Some(decode_page_edit(op.op, payload).map_err(|e| bad(format!("{id:?}: {e}")))?)
            }
            PageOp::Extended => {
                let ext = extended::decode(payload).map_err(|error| PrepareError::BadExtended {
                    lsn: op.start,
                    page: id,
                    error,
                })?;
                if ext == Extended::TrimPages {
                    // Parsed, never applied to a page: the record's page number is the new size.
                    self.report.trimmed.insert(id.space, id.page);
                    return Ok(1);
                }
                None
            }
            PageOp::InitPage | PageOp::FreePage => None,
            // OPT_PAGE_CHECKSUM: recovery compares it with the page; nothing to apply.
            PageOp::Option => return Ok(last_offset),
            PageOp::Reserved => {
                return Err(bad(format!(
                    "{:?} record for {id:?} is not supported by this prepare (a backup must not hold it)",
                    op.op
                )))
            }
        };
        if let Some(size) = fsp_size_written(id, edit, last_offset) {
            self.report.sizes.insert(id.space, size);
        }
        let page = &mut self.out.pages[slot];
        match op.op {
            PageOp::FreePage => page.freed = true,
            PageOp::InitPage => page.freed = false,
            _ => {}
        }
        if page.ops == 0 {
            page.first = self.out.ops.len();
        }
        page.ops += 1;
        self.out.ops.push(op);
        Ok(next_offset(op.op, edit, last_offset))
    }
}
