//! The one parse of a backup's redo, before any page is read (as the server's
//! recovery parses into `recv_sys.pages` before it applies): each mtr is framed
//! and its CRC-32C checked once, its file records go into the report, and its
//! page records are decoded (a record recovery would refuse is refused here, by
//! name) and listed in log order as runs: a record that names its page and the
//! same_page records after it, one small entry in all, with the page it is for,
//! so that whether a page ends freed is known before it is read and the list
//! stays a fraction of the log's size. [`super::pages`] applies the list.

use super::extended::{self, Extended};
use super::{fsp_size_written, next_offset, ApplyReport, PrepareError};
use crate::format::mariadb::{
    self, decode_page_edit, records, scan_mtr, FileOp, MtrScan, PageEdit, PageId, PageOp, Record, Ring,
};
use crate::format::Lsn;
use crate::restore::prepare::PageMap;

/// An mtr that has page records to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mtr {
    /// Its start LSN.
    pub start: Lsn,
    /// Its length: it ends at `start + len`.
    pub len: u32,
}

impl Mtr {
    pub fn end(&self) -> Lsn {
        self.start + u64::from(self.len)
    }
}

/// A run of page records of one mtr: a record that names its page and the
/// same_page records right after it (the first counts its offsets from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Run {
    /// Its mtr: an index in the parse's mtrs.
    pub mtr: u32,
    /// Its page: an index in the parse's pages.
    pub slot: u32,
    /// Where its first record starts, counted from the start of its mtr.
    pub at: u32,
    /// Its bytes.
    pub len: u32,
}

/// Whether a page record is applied to its page (the page-checksum OPTION and
/// TRIM_PAGES are not; the latter is about the file).
pub(super) fn is_applied(op: PageOp, payload: &[u8]) -> bool {
    match op {
        PageOp::Option | PageOp::Reserved => false,
        PageOp::Extended => payload.first() != Some(&extended::TRIM_PAGES),
        _ => true,
    }
}

/// A page the log names, and what its records say about it as a whole.
#[derive(Debug, Clone)]
pub(super) struct PageInfo {
    pub id: PageId,
    /// Its last FREE_PAGE or INIT_PAGE record is FREE_PAGE (only INIT_PAGE brings a
    /// freed page back): recovery never reads nor writes it.
    pub freed: bool,
    /// The index of its first run in the parse's runs (log order).
    pub first: usize,
    /// The index of the run of its last INIT_PAGE record (the run's first): the
    /// records before it do not shape the page (recovery discards them; they may
    /// not fit the page as the backup holds it, e.g. after the server freed it
    /// without writing it).
    pub last_init: Option<usize>,
    /// How many records it has to apply.
    pub ops: u64,
}

/// What the parse found: the pages the log names, the mtrs with page records,
/// and the runs of page records, in log order (in one list per parse thread:
/// read them with `.iter().flatten()`).
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub pages: Vec<PageInfo>,
    pub mtrs: Vec<Mtr>,
    pub runs: Vec<Vec<Run>>,
    /// How many runs `runs` holds.
    pub len: usize,
}

impl Parsed {
    fn push(&mut self, run: Run) {
        match self.runs.last_mut() {
            Some(list) => list.push(run),
            None => self.runs.push(vec![run]),
        }
        self.len += 1;
    }
}

/// The run being read, and how many records of it are applied.
#[derive(Debug, Clone, Copy)]
struct Open {
    run: Run,
    ops: u64,
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
    /// The page [`Parser::slot`] found last, and its slot: mtrs in a row often name
    /// the same page (a bulk index build fills one page after another).
    last_slot: Option<(PageId, usize)>,
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
/// Only a position right after what could end an mtr (a termination byte with the
/// sequence bit of its LSN, then 4 CRC bytes) is framed: framing at every byte of a
/// BLOB's payload walks up to 1 MiB of it per position, and took longer than the
/// parse it was to halve.
fn middle_mtr(redo: &[u8], first: Lsn, ring: &Ring) -> Option<usize> {
    if redo.len() < HALVES_FROM {
        return None;
    }
    let mid = redo.len() / 2;
    let after_an_end = |at: usize| {
        let termination = at - mariadb::MTR_TRAILER;
        redo[termination] == ring.sequence_bit(first + termination as u64)
    };
    (mid..(mid + 65536).min(redo.len())).find(|&at| {
        redo[at] > 1
            && after_an_end(at)
            && matches!(scan_mtr(&redo[at..], first + at as u64, ring), MtrScan::Mtr { .. })
    })
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
        let mtrs_before = self.out.mtrs.len() as u32;
        let mut runs = b.out.runs;
        for run in runs.iter_mut().flatten() {
            run.slot = slot_of[run.slot as usize];
            run.mtr += mtrs_before;
        }
        self.out.mtrs.extend(b.out.mtrs);
        self.out.runs.extend(runs);
        self.out.len += b.out.len;
    }

    /// Files the records of one mtr; returns the LSN of its FILE_CHECKPOINT record, if any.
    fn mtr(&mut self, recs: &[u8], start: Lsn, mtr_len: u32) -> Result<Option<Lsn>, PrepareError> {
        let bad = |detail: String| PrepareError::BadRecord { lsn: start, detail };
        let mut checkpoint = None;
        // The run of the previous page record (its page is the run's), where its range ended.
        let mut open: Option<Open> = None;
        let mut last_offset = 0u32;
        let mut it = records(recs);
        let mut rec_start = 0usize;
        while let Some(rec) = it.next() {
            let rec_end = it.offset();
            match rec.map_err(|e| bad(e.to_string()))? {
                Record::Page { op, page, payload } => {
                    let mut run = match (page, open) {
                        (Some(id), _) => {
                            self.close(open.take());
                            last_offset = 0;
                            let mtr = self.mtr_index(start, mtr_len);
                            let slot = self.slot(id) as u32;
                            Open { run: Run { mtr, slot, at: rec_start as u32, len: 0 }, ops: 0 }
                        }
                        (None, Some(run)) => run,
                        (None, None) => return Err(bad("a same_page record without a page".into())),
                    };
                    run.run.len = (rec_end - run.run.at as usize) as u32;
                    let applied = is_applied(op, payload);
                    last_offset = self.page_record(run.run.slot as usize, op, start, payload, last_offset)?;
                    if applied {
                        self.page_counts(&run, op);
                        run.ops += 1;
                    }
                    open = Some(run);
                }
                other => {
                    self.close(open.take());
                    checkpoint = self.other_record(other).or(checkpoint);
                }
            }
            rec_start = rec_end;
        }
        self.close(open);
        Ok(checkpoint)
    }

    /// A file, checkpoint or padding record; returns the LSN of a FILE_CHECKPOINT.
    fn other_record(&mut self, rec: Record<'_>) -> Option<Lsn> {
        match rec {
            Record::File { op, space, name, new_name } => {
                self.report.file_operations += 1;
                let own = |n: &[u8]| Some(String::from_utf8_lossy(n).into_owned());
                let after = match (op, new_name) {
                    (FileOp::Delete, _) => None,
                    (FileOp::Rename, Some(to)) => own(to),
                    _ => own(name),
                };
                self.report.file_names.insert(space, after);
                None
            }
            Record::FileCheckpoint { lsn } => {
                self.report.checkpoints += 1;
                Some(lsn)
            }
            Record::Padding { .. } | Record::Page { .. } => None,
        }
    }

    /// The index of the mtr at `start` in the parse's mtrs, added on its first run.
    fn mtr_index(&mut self, start: Lsn, len: u32) -> u32 {
        if self.out.mtrs.last().is_none_or(|m| m.start != start) {
            self.out.mtrs.push(Mtr { start, len });
        }
        (self.out.mtrs.len() - 1) as u32
    }

    /// Lists a run that has records to apply.
    fn close(&mut self, open: Option<Open>) {
        if let Some(Open { run, ops }) = open.filter(|o| o.ops > 0) {
            let page = &mut self.out.pages[run.slot as usize];
            if page.ops == 0 {
                page.first = self.out.len;
            }
            page.ops += ops;
            self.out.push(run);
        }
    }

    /// What an applied record of the open run says about its page as a whole.
    fn page_counts(&mut self, open: &Open, op: PageOp) {
        let slot = open.run.slot as usize;
        let page = &mut self.out.pages[slot];
        if let PageOp::FreePage | PageOp::InitPage = op {
            page.freed = op == PageOp::FreePage;
            self.settled[slot] = true;
        }
        if op == PageOp::InitPage {
            // INIT_PAGE names its page: it is its run's first record.
            debug_assert_eq!(open.ops, 0);
            page.last_init = Some(self.out.len);
        }
    }

    /// The index of the page in `pages`, made on first sight.
    fn slot(&mut self, id: PageId) -> usize {
        if let Some((last, slot)) = self.last_slot.filter(|(last, _)| *last == id) {
            debug_assert_eq!(self.out.pages[slot].id, last);
            return slot;
        }
        let slot = self.slot_of(id);
        self.last_slot = Some((id, slot));
        slot
    }

    fn slot_of(&mut self, id: PageId) -> usize {
        let next = self.out.pages.len() as u32;
        let slot = *self.slots.entry((id.space, id.page)).or_insert(next);
        if slot == next {
            self.out.pages.push(PageInfo { id, freed: false, first: 0, last_init: None, ops: 0 });
            self.settled.push(false);
        }
        slot as usize
    }

    /// Decodes one page record (refusing what recovery refuses); returns where the
    /// next same_page record counts from.
    fn page_record(
        &mut self,
        slot: usize,
        op: PageOp,
        start: Lsn,
        payload: &[u8],
        last_offset: u32,
    ) -> Result<u32, PrepareError> {
        let id = self.out.pages[slot].id;
        let bad = |detail: String| PrepareError::BadRecord { lsn: start, detail };
        let edit: Option<PageEdit<'_>> = match op {
            PageOp::Write | PageOp::Memset | PageOp::Memmove => {
                Some(decode_page_edit(op, payload).map_err(|e| bad(format!("{id}: {e}")))?)
            }
            PageOp::Extended => {
                let ext = extended::decode(payload).map_err(|error| PrepareError::BadExtended {
                    lsn: start,
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
                    "{op} record for {id} is not supported by this prepare (a backup must not hold it)"
                )))
            }
        };
        if let Some(size) = fsp_size_written(id, edit, last_offset) {
            self.report.sizes.insert(id.space, size);
        }
        Ok(next_offset(op, edit, last_offset))
    }
}
