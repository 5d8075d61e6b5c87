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
    /// The index of its last INIT_PAGE record: the records before it do not
    /// shape the page (recovery discards them; they may not fit the page as
    /// the backup holds it, e.g. after the server freed it without writing it).
    pub last_init: Option<usize>,
    /// How many records it has to apply.
    pub ops: u64,
}

/// What the parse found: the pages the log names and their records, in log order
/// (in one run per parse thread: read them with `.iter().flatten()`).
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub pages: Vec<PageInfo>,
    pub ops: Vec<Vec<Op>>,
    /// How many records `ops` holds.
    pub len: usize,
}

impl Parsed {
    fn push(&mut self, op: Op) {
        match self.ops.last_mut() {
            Some(run) => run.push(op),
            None => self.ops.push(vec![op]),
        }
        self.len += 1;
    }
}

/// The state of the parse across mtrs (of the whole log, or of one half of it).
#[derive(Default)]
struct Parser {
    report: ApplyReport,
    slots: PageMap<u32>,
    out: Parsed,
    /// Per page: whether a FREE_PAGE or INIT_PAGE record of it was met.
    settled: Vec<bool>,
    /// A FILE_CHECKPOINT record for the checkpoint was met.
    confirmed: bool,
}

/// Below this many bytes of redo one thread parses it all.
const HALVES_FROM: usize = 1 << 20;

/// Parses the mtrs of `redo` (the log after its header, from LSN `first` to the end of
/// `redo`): fills the report's log-level fields (mtrs, end_lsn, file records, sizes,
/// trims) and returns every page's records, and whether a FILE_CHECKPOINT(`checkpoint`)
/// record was met. A long log is parsed as two halves at once: the second from an mtr
/// found near the middle, which counts only if the first half's own framing ends
/// exactly there (else the first thread goes on alone): the result is the same.
pub(super) fn parse(
    redo: &[u8],
    first: Lsn,
    ring: &Ring,
    checkpoint: Lsn,
    report: &mut ApplyReport,
) -> Result<(Parsed, bool), PrepareError> {
    let whole = |p: &mut Parser, from: usize| p.range(redo, first, ring, checkpoint, from, redo.len());
    let mut a = Parser::default();
    match middle_mtr(redo, first, ring) {
        None => {
            whole(&mut a, 0)?;
        }
        Some(mid) => {
            let (reached, b) = std::thread::scope(|scope| {
                let second = scope.spawn(move || {
                    let mut b = Parser::default();
                    b.range(redo, first, ring, checkpoint, mid, redo.len()).map(|_| b)
                });
                let reached = a.range(redo, first, ring, checkpoint, 0, mid);
                (reached, second.join().expect("a parse worker panicked"))
            });
            match reached? {
                at if at == mid => a.append(b?),
                at => {
                    whole(&mut a, at)?;
                }
            }
        }
    }
    let Parser { report: mine, out, confirmed, .. } = a;
    *report = ApplyReport { end_lsn: mine.end_lsn.max(report.end_lsn), ..mine };
    Ok((out, confirmed))
}

/// Where a valid mtr starts near the middle of a long log, if one is found soon.
fn middle_mtr(redo: &[u8], first: Lsn, ring: &Ring) -> Option<usize> {
    if redo.len() < HALVES_FROM {
        return None;
    }
    let mid = redo.len() / 2;
    (mid..(mid + 65536).min(redo.len()))
        .find(|&at| redo[at] > 1 && matches!(scan_mtr(&redo[at..], first + at as u64, ring), MtrScan::Mtr { .. }))
}

impl Parser {
    /// Parses the mtrs starting from `from` while they start before `until`; returns
    /// where the last one ended.
    fn range(
        &mut self,
        redo: &[u8],
        first: Lsn,
        ring: &Ring,
        checkpoint: Lsn,
        from: usize,
        until: usize,
    ) -> Result<usize, PrepareError> {
        let mut at = from;
        while at < until {
            let lsn = first + at as u64;
            let records_len = match scan_mtr(&redo[at..], lsn, ring) {
                MtrScan::Mtr { records_len, .. } => records_len,
                MtrScan::Incomplete => {
                    let last_lsn = first + redo.len() as u64;
                    let detail = format!("last_lsn {last_lsn} falls inside this mtr");
                    return Err(PrepareError::BadMtr { lsn, detail });
                }
                MtrScan::End(end) => {
                    return Err(PrepareError::BadMtr {
                        lsn,
                        detail: format!("no valid mini-transaction before last_lsn: {end}"),
                    })
                }
            };
            let mtr_len = records_len + mariadb::MTR_TRAILER;
            let file_checkpoint = self.mtr(&redo[at..at + records_len], lsn, mtr_len as u32)?;
            self.confirmed |= file_checkpoint == Some(checkpoint);
            self.report.mtrs += 1;
            self.report.end_lsn = lsn + mtr_len as u64;
            at += mtr_len;
        }
        Ok(at)
    }

    /// Adds the parse of the log right after this one's.
    fn append(&mut self, b: Parser) {
        let r = &mut self.report;
        r.mtrs += b.report.mtrs;
        r.end_lsn = b.report.end_lsn;
        r.file_operations += b.report.file_operations;
        r.checkpoints += b.report.checkpoints;
        r.file_names.extend(b.report.file_names);
        r.trimmed.extend(b.report.trimmed);
        r.sizes.extend(b.report.sizes);
        self.confirmed |= b.confirmed;
        let before = self.out.len;
        let mut slot_of = Vec::with_capacity(b.out.pages.len());
        for (page, settled) in b.out.pages.into_iter().zip(b.settled) {
            let slot = self.slot(page.id);
            let mine = &mut self.out.pages[slot];
            if settled {
                mine.freed = page.freed;
                self.settled[slot] = true;
            }
            if mine.ops == 0 && page.ops > 0 {
                mine.first = before + page.first;
            }
            if let Some(at) = page.last_init {
                mine.last_init = Some(before + at);
            }
            mine.ops += page.ops;
            slot_of.push(slot as u32);
        }
        let mut runs = b.out.ops;
        for op in runs.iter_mut().flatten() {
            op.slot = slot_of[op.slot as usize];
        }
        self.out.ops.extend(runs);
        self.out.len += b.out.len;
    }

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
            self.out.pages.push(PageInfo { id, freed: false, first: 0, last_init: None, ops: 0 });
            self.settled.push(false);
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
                Some(decode_page_edit(op.op, payload).map_err(|e| bad(format!("{id}: {e}")))?)
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
                    "{} record for {id} is not supported by this prepare (a backup must not hold it)",
                    op.op
                )))
            }
        };
        if let Some(size) = fsp_size_written(id, edit, last_offset) {
            self.report.sizes.insert(id.space, size);
        }
        let page = &mut self.out.pages[slot];
        if let PageOp::FreePage | PageOp::InitPage = op.op {
            page.freed = op.op == PageOp::FreePage;
            self.settled[slot] = true;
        }
        if op.op == PageOp::InitPage {
            page.last_init = Some(self.out.len);
        }
        if page.ops == 0 {
            page.first = self.out.len;
        }
        page.ops += 1;
        self.out.push(op);
        Ok(next_offset(op.op, edit, last_offset))
    }
}
