//! Applying the parsed records: every page the log names is fetched once, in
//! (space, page) order, unless the log leaves it freed; the records are then
//! applied in log order (the log's bytes and the record list are read straight
//! through, the pages held in a table by their parse index), each page taking the
//! mtrs its FIL_PAGE_LSN is not past (`recv_recover_page`) and each taken mtr's end
//! LSN; last, the changed pages get their checksum again and go back to the store
//! in (space, page) order.

use super::extended;
use super::parse::{is_applied, Mtr, PageInfo, Parsed};
use super::{apply_edit, next_offset, ApplyReport, PageStore, PrepareError};
use crate::format::mariadb::{decode_page_edit, records, PageEdit, PageId, PageOp, Record};
use crate::format::page::{self, PageLayout};
use crate::format::Lsn;

/// One page the log names, while the records are applied.
#[derive(Debug, Default)]
struct Held {
    /// Its bytes; None when it is not applied (freed at the end, not in the store, or
    /// applied by the other worker).
    page: Option<Vec<u8>>,
    /// The start LSN of the last mtr met for it, and whether the page takes that mtr.
    mtr: Option<(Lsn, bool)>,
    /// The end LSN the page gets when its current mtr is over.
    end: Lsn,
    /// It took an mtr: it goes back to the store.
    touched: bool,
}

/// What one worker's records did, for the report.
#[derive(Debug, Default)]
struct Tally {
    applied: u64,
    already: u64,
    initialized: u64,
    extended: u64,
    /// Pages whose last FREE_PAGE or INIT_PAGE applied is FREE_PAGE (true) or INIT_PAGE.
    freed: Vec<((u32, u32), bool)>,
}

/// Below this many records one worker applies them all.
const PARALLEL_FROM: u64 = 1 << 16;

/// Applies the parsed records (`redo` is the log after its header, from LSN
/// `first`); returns the pages changed, sorted, whose checksums were written again.
/// The pages are shared out between two workers when there are many records: each
/// reads the whole record list and applies those of its own pages, so every page
/// still takes its records in log order, and the report is the same.
pub(super) fn apply_pages(
    redo: &[u8],
    first: Lsn,
    parsed: &Parsed,
    store: &mut dyn PageStore,
    report: &mut ApplyReport,
) -> Result<Vec<(u32, u32)>, PrepareError> {
    let mut order: Vec<usize> = (0..parsed.pages.len()).filter(|&s| parsed.pages[s].ops > 0).collect();
    order.sort_unstable_by_key(|&s| parsed.pages[s].id);
    let held = fetch(&parsed.pages, &order, store, report);
    let groups = share_out(held, &parsed.pages);
    let done: Vec<_> = if groups.len() == 1 {
        groups.into_iter().map(|g| apply_records(redo, first, parsed, g)).collect()
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> =
                groups.into_iter().map(|g| scope.spawn(move || apply_records(redo, first, parsed, g))).collect();
            workers.into_iter().map(|w| w.join().expect("a prepare worker panicked")).collect()
        })
    };
    let mut held: Vec<Held> = Vec::new();
    let mut failed: Option<(usize, PrepareError)> = None;
    for result in done {
        match result {
            // The first refusal in log order: the one a single worker would have met.
            Err((at, e)) => {
                if failed.as_ref().is_none_or(|(other, _)| at < *other) {
                    failed = Some((at, e));
                }
            }
            Ok((mine, tally)) => {
                merge(&mut held, mine);
                add_tally(report, tally);
            }
        }
    }
    if let Some((_, e)) = failed {
        return Err(e);
    }
    Ok(put_back(&parsed.pages, &order, &mut held, store))
}

/// Splits the fetched pages between two workers, balancing their record counts
/// (one worker when there are few records).
fn share_out(held: Vec<Held>, pages: &[PageInfo]) -> Vec<Vec<Held>> {
    let fetched: Vec<usize> = (0..held.len()).filter(|&s| held[s].page.is_some()).collect();
    let total: u64 = fetched.iter().map(|&s| pages[s].ops).sum();
    if total < PARALLEL_FROM || fetched.len() < 2 {
        return vec![held];
    }
    let mut by_weight = fetched;
    by_weight.sort_unstable_by_key(|&s| (std::cmp::Reverse(pages[s].ops), s));
    let mut weight = [0u64; 2];
    let mut groups: [Vec<Held>; 2] = [Vec::new(), Vec::new()];
    for g in &mut groups {
        g.resize_with(held.len(), Held::default);
    }
    let mut held = held;
    for s in by_weight {
        let g = usize::from(weight[1] < weight[0]);
        weight[g] += pages[s].ops;
        groups[g][s] = std::mem::take(&mut held[s]);
    }
    groups.into()
}

/// Moves the pages a worker applied into `into` (the first worker's table is taken whole).
fn merge(into: &mut Vec<Held>, mine: Vec<Held>) {
    if into.is_empty() {
        *into = mine;
        return;
    }
    for (slot, h) in mine.into_iter().enumerate() {
        if h.page.is_some() {
            into[slot] = h;
        }
    }
}

fn add_tally(report: &mut ApplyReport, t: Tally) {
    report.records_applied += t.applied;
    report.records_already_in_page += t.already;
    report.pages_initialized += t.initialized;
    report.extended_applied += t.extended;
    for (id, freed) in t.freed {
        if freed {
            report.pages_freed.insert(id);
        } else {
            report.pages_freed.remove(&id);
        }
    }
}

/// Applies, in log order, the records of the pages `held` holds; a refusal comes
/// with the index of its run.
fn apply_records(
    redo: &[u8],
    first: Lsn,
    parsed: &Parsed,
    mut held: Vec<Held>,
) -> Result<(Vec<Held>, Tally), (usize, PrepareError)> {
    let mut tally = Tally::default();
    for (i, run) in parsed.runs.iter().flatten().enumerate() {
        let info = &parsed.pages[run.slot as usize];
        if info.last_init.is_some_and(|at| i < at) {
            // Before the page's last INIT_PAGE: superseded, as recovery discards it.
            continue;
        }
        let h = &mut held[run.slot as usize];
        if h.page.is_none() {
            continue;
        }
        let mtr = parsed.mtrs[run.mtr as usize];
        let at = (mtr.start - first) as usize + run.at as usize;
        let bytes = &redo[at..at + run.len as usize];
        apply_run(h, info.id, mtr, bytes, &mut tally).map_err(|e| (i, e))?;
    }
    Ok((held, tally))
}

/// Applies one run of records (`bytes`) of `mtr` to its page, if the page takes
/// the mtr: decided once, at the mtr's first run for the page, from its FIL_PAGE_LSN.
fn apply_run(h: &mut Held, id: PageId, mtr: Mtr, bytes: &[u8], tally: &mut Tally) -> Result<(), PrepareError> {
    let pg = h.page.as_mut().expect("a held page");
    let take = match h.mtr {
        Some((start, take)) if start == mtr.start => take,
        previous => {
            if let Some((_, true)) = previous {
                page::set_page_lsn(pg, h.end);
            }
            let take = page_lsn(pg) <= mtr.start;
            h.mtr = Some((mtr.start, take));
            h.end = mtr.end();
            take
        }
    };
    let bad = |e: crate::format::FormatError| PrepareError::BadRecord { lsn: mtr.start, detail: format!("{id}: {e}") };
    let mut last_offset = 0u32;
    for rec in records(bytes) {
        let Record::Page { op, payload, .. } = rec.map_err(bad)? else { unreachable!("a run holds page records only") };
        if !is_applied(op, payload) {
            // As the parse: the page-checksum OPTION leaves the offset, TRIM_PAGES sets 1.
            last_offset = if op == PageOp::Option { last_offset } else { 1 };
            continue;
        }
        if !take {
            tally.already += 1;
            continue;
        }
        h.touched = true;
        tally.applied += 1;
        last_offset = apply_op(pg, id, op, mtr.start, payload, last_offset, tally)?;
    }
    Ok(())
}

/// Fetches the pages (in `order`) the records are applied to; reports those the log
/// leaves freed and those the store does not hold.
fn fetch(pages: &[PageInfo], order: &[usize], store: &mut dyn PageStore, report: &mut ApplyReport) -> Vec<Held> {
    let mut held: Vec<Held> = pages.iter().map(|_| Held::default()).collect();
    // (first record, space) of the pages the store does not hold.
    let mut missing: Vec<(usize, u32)> = Vec::new();
    for &slot in order {
        let PageInfo { id, freed, first, ops, last_init } = pages[slot];
        if freed {
            // Never read nor written (as in recovery); its FREE_PAGE is reported, unless
            // the backup does not hold its tablespace (dropped during the backup).
            if store.holds_space(id.space) {
                report.pages_freed.insert((id.space, id.page));
            }
            continue;
        }
        let taken = match last_init {
            // Every record applied follows its last INIT_PAGE (`apply_records`).
            Some(_) => store.take_initialized_page(id.space, id.page),
            None => store.take_page(id.space, id.page),
        };
        match taken {
            Some(pg) => held[slot].page = Some(pg),
            None => {
                report.records_without_tablespace += ops;
                missing.push((first, id.space));
            }
        }
    }
    missing.sort_unstable();
    for (_, space) in missing {
        if !report.spaces_not_in_backup.contains(&space) {
            report.spaces_not_in_backup.push(space);
        }
    }
    held
}

/// Ends each page's last mtr, stamps the checksum of each page that took one (with
/// its tablespace's layout, from page 0 as the log left it) and hands every page
/// back to the store ([`PageStore::put_page`]); returns those changed, sorted.
fn put_back(pages: &[PageInfo], order: &[usize], held: &mut [Held], store: &mut dyn PageStore) -> Vec<(u32, u32)> {
    let mut touched = Vec::new();
    let mut layout: Option<(u32, PageLayout)> = None;
    for &slot in order {
        let id = pages[slot].id;
        let h = &mut held[slot];
        let Some(mut pg) = h.page.take() else { continue };
        if !h.touched {
            store.put_page(id.space, id.page, pg);
            continue;
        }
        if let Some((_, true)) = h.mtr {
            page::set_page_lsn(&mut pg, h.end);
        }
        let space_layout = match layout {
            Some((space, l)) if space == id.space => l,
            _ => {
                // Page 0 sorts first: if the log named it, it is this page or already back
                // in the store.
                let l = match id.page {
                    0 => page::layout_from_page0(&pg).ok(),
                    _ => store.page_mut(id.space, 0).and_then(|p0| page::layout_from_page0(p0).ok()),
                };
                // A tablespace without a readable page 0 is a new one: full_crc32, the default.
                let l = l.unwrap_or(PageLayout::full_crc32(0));
                layout = Some((id.space, l));
                l
            }
        };
        page::stamp_for_layout(&mut pg, space_layout);
        store.put_page(id.space, id.page, pg);
        touched.push((id.space, id.page));
    }
    touched
}

fn page_lsn(pg: &[u8]) -> Lsn {
    u64::from_be_bytes(pg[page::FIL_PAGE_LSN..page::FIL_PAGE_LSN + 8].try_into().expect("8 bytes"))
}

/// Applies one record the page takes (its payload decoded again: the parse checked
/// it) at `last_offset`; returns where the next same_page record counts from.
fn apply_op(
    pg: &mut [u8],
    id: PageId,
    op: PageOp,
    lsn: Lsn,
    payload: &[u8],
    last_offset: u32,
    tally: &mut Tally,
) -> Result<u32, PrepareError> {
    let mut edit: Option<PageEdit<'_>> = None;
    match op {
        PageOp::InitPage => {
            pg.fill(0);
            pg[page::FIL_PAGE_OFFSET..page::FIL_PAGE_OFFSET + 4].copy_from_slice(&id.page.to_be_bytes());
            pg[page::FIL_PAGE_PREV..page::FIL_PAGE_NEXT + 4].fill(0xFF);
            pg[page::FIL_PAGE_SPACE_ID..page::FIL_PAGE_SPACE_ID + 4].copy_from_slice(&id.space.to_be_bytes());
            tally.initialized += 1;
            tally.freed.push(((id.space, id.page), false));
        }
        PageOp::FreePage => tally.freed.push(((id.space, id.page), true)),
        PageOp::Extended => {
            let ext_err = |error| PrepareError::BadExtended { lsn, page: id, error };
            let ext = extended::decode(payload).map_err(ext_err)?;
            // In place: a refused record fails the whole prepare before any page is
            // written back, so a half-applied page never reaches the backup.
            extended::apply(pg, id.page, &ext).map_err(ext_err)?;
            tally.extended += 1;
        }
        PageOp::Write | PageOp::Memset | PageOp::Memmove => {
            let bad = |e| PrepareError::BadRecord { lsn, detail: format!("{id}: {e}") };
            let e = decode_page_edit(op, payload).map_err(bad)?;
            apply_edit(pg, e, last_offset, id, lsn)?;
            edit = Some(e);
        }
        PageOp::Option | PageOp::Reserved => unreachable!("never applied"),
    }
    Ok(next_offset(op, edit, last_offset))
}
