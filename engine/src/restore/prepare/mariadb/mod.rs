//! Applying a MariaDB 10.8+ backup's redo (its `ib_logfile0`) to its pages:
//! pure, pages come and go through [`PageStore`] as for MySQL 5.7
//! (`prepare::mysql57`), so the simulator's oracle and a future on-disk prepare share it.
//!
//! The copy is a 12288-byte header whose first LSN is the start checkpoint,
//! then whole mtrs with every termination byte 1 (see `follow::mariadb`). Recovery
//! starts at the checkpoint, which must be confirmed by its FILE_CHECKPOINT
//! record in the copy, and applies each mtr to the pages it names, as the
//! server's `recv_recover_page` does: a page takes an mtr only if its
//! FIL_PAGE_LSN is not past the mtr's start; then its LSN becomes the mtr's end
//! LSN. As in the server, the log is parsed once ([`parse`]: framing, CRC-32C,
//! every record decoded and listed with its page) before any page is read, and
//! the list is then applied to pages fetched once each ([`pages`]). Changed pages get their checksum again (full_crc32 or, for a legacy
//! tablespace, crc32). ROW_FORMAT=COMPRESSED pages are handed over as stored
//! (the compressed frame): the server's recovery applies the records to that
//! frame too (`log_phys_t::apply` picks `page.zip.data`), and writes only
//! FIL_PAGE_LSN (no trailer) and the page_zip crc32 at offset 0.
//!
//! Covers the physical records: WRITE, MEMSET, MEMMOVE, INIT_PAGE, FREE_PAGE,
//! the page-checksum OPTION (skipped, as recovery does when it matches) and the
//! file records (FILE_CREATE/DELETE/RENAME/MODIFY, whose names are followed,
//! FILE_CHECKPOINT), and the EXTENDED row and undo records ([`extended`]),
//! which recovery applies by re-running the server's page operations. A record
//! the server would refuse as corrupted is refused by name, never skipped.
//! After an EXTENDED record a same_page record counts from FIL_PAGE_TYPE.
//!
//! TRIM_PAGES (an undo tablespace truncated by innodb_undo_log_truncate) cannot
//! be expressed through [`PageStore`]: it is reported in [`ApplyReport::trimmed`],
//! and an on-disk prepare must truncate that file to the new size after applying.

mod delete;
pub mod extended;
pub(crate) use super::index;
mod insert;
mod pages;
mod parse;
mod undo;

pub use super::PageStore;
use crate::format::mariadb::{self, PageEdit, PageId, PageOp, Ring, SIZE_OF_FILE_CHECKPOINT, START_OFFSET};
use crate::format::page;
use crate::format::{FormatError, Lsn};
use extended::ExtError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error("ib_logfile0: {0}")]
    Format(#[from] FormatError),
    #[error("ib_logfile0 at LSN {lsn}: {detail}")]
    BadMtr { lsn: Lsn, detail: String },
    #[error("redo record in the mini-transaction at LSN {lsn}: {detail}")]
    BadRecord { lsn: Lsn, detail: String },
    /// An EXTENDED (row or undo) record that does not decode, or that the page it
    /// names cannot take (the server's recovery would call the page corrupted).
    #[error("redo record in the mini-transaction at LSN {lsn}: {page}: {error}")]
    BadExtended { lsn: Lsn, page: PageId, error: ExtError },
    #[error(
        "ib_logfile0 has no FILE_CHECKPOINT({checkpoint}) record between LSN {checkpoint} and {last_lsn}: \
         recovery cannot start from its checkpoint (the copy did not start where the server's checkpoint says)"
    )]
    CheckpointNotConfirmed { checkpoint: Lsn, last_lsn: Lsn },
}

pub use super::ApplyReport;

/// Where page 0 keeps FSP_SIZE (FSP header at 38, size at +8).
const FSP_SIZE_AT: u32 = 46;

/// Applies every mtr of the backup's `ib_logfile0` (the whole file) from its checkpoint
/// up to `last_lsn`: [`parse_log`], then [`apply_parsed`].
pub fn apply_log(log: &[u8], last_lsn: Lsn, store: &mut dyn PageStore) -> Result<ApplyReport, PrepareError> {
    apply_parsed(log, &parse_log(log, last_lsn)?, store)
}

/// A backup's redo parsed once: what the log says whatever the pages hold, and
/// every page record filed under its page.
#[derive(Debug)]
pub struct ParsedLog {
    /// The log-level fields of the report: mtrs, checkpoints, end_lsn, file_operations,
    /// file_names, trimmed, sizes. The page counts are left at zero.
    pub report: ApplyReport,
    first: Lsn,
    /// The pages named and their records.
    parsed: parse::Parsed,
}

/// Frames and checks every mtr of the backup's `ib_logfile0` (the whole file) from
/// its checkpoint up to `last_lsn` and files its page records under their pages, as
/// the server's recovery parses before it applies. A record recovery would refuse is
/// refused here, by name; the pages are not looked at.
pub fn parse_log(log: &[u8], last_lsn: Lsn) -> Result<ParsedLog, PrepareError> {
    let head_len = START_OFFSET as usize;
    if log.len() < head_len {
        return Err(FormatError::TooShort { what: "ib_logfile0", need: head_len, have: log.len() }.into());
    }
    let (header, cp) = mariadb::parse_log_header(&log[..head_len])?;
    let first = header.first_lsn;
    if cp.lsn != first || last_lsn < first || last_lsn - first > (log.len() - head_len) as u64 {
        return Err(PrepareError::BadMtr {
            lsn: first,
            detail: format!(
                "a backup's log starts at its checkpoint ({} here, first LSN {first}) and holds the redo up to \
                 last_lsn {last_lsn}: {} bytes after the header, {} here",
                cp.lsn,
                last_lsn.saturating_sub(first),
                log.len() - head_len
            ),
        });
    }
    // The copy as recovery reads it: a ring as long as the file, never wrapped (lap 0: bit 1).
    let ring = Ring::new(first, (log.len() as u64).max(START_OFFSET + SIZE_OF_FILE_CHECKPOINT as u64 + 1))?;
    let redo = &log[head_len..head_len + (last_lsn - first) as usize];
    let mut report = ApplyReport { end_lsn: first, ..ApplyReport::default() };
    let (parsed, confirmed) = parse::parse(redo, first, &ring, cp.lsn, &mut report)?;
    if !confirmed {
        return Err(PrepareError::CheckpointNotConfirmed { checkpoint: cp.lsn, last_lsn });
    }
    Ok(ParsedLog { report, first, parsed })
}

/// Applies a parsed log (`log` is the file it was parsed from) to the pages: each
/// takes the mtrs its FIL_PAGE_LSN is not past, in log order ([`pages`]).
pub fn apply_parsed(log: &[u8], parsed: &ParsedLog, store: &mut dyn PageStore) -> Result<ApplyReport, PrepareError> {
    let head_len = START_OFFSET as usize;
    let redo = &log[head_len..head_len + (parsed.report.end_lsn - parsed.first) as usize];
    let mut report = parsed.report.clone();
    report.pages_touched = pages::apply_pages(redo, parsed.first, &parsed.parsed, store, &mut report)?;
    Ok(report)
}

/// The FSP_SIZE a WRITE to page 0 stores, if it covers that field.
fn fsp_size_written(id: PageId, edit: Option<PageEdit<'_>>, last_offset: u32) -> Option<u32> {
    let (0, Some(PageEdit::Write { offset, data })) = (id.page, edit) else { return None };
    let at = last_offset + offset;
    if at > FSP_SIZE_AT || at + (data.len() as u32) < FSP_SIZE_AT + 4 {
        return None;
    }
    let i = (FSP_SIZE_AT - at) as usize;
    Some(u32::from_be_bytes(data[i..i + 4].try_into().expect("4 bytes")))
}

/// Applies a WRITE, MEMSET or MEMMOVE at `last_offset` + its offset.
fn apply_edit(pg: &mut [u8], edit: PageEdit<'_>, last_offset: u32, id: PageId, lsn: Lsn) -> Result<(), PrepareError> {
    let at = last_offset + edit.offset();
    let size = pg.len() as u32;
    if at < 8 || at >= size || at + edit.len() > size {
        let detail = format!("{edit} (byte {at}) leaves the {size}-byte page, {id}");
        return Err(PrepareError::BadRecord { lsn, detail });
    }
    let (at, len) = (at as usize, edit.len() as usize);
    match edit {
        PageEdit::Write { data, .. } => pg[at..at + len].copy_from_slice(data),
        PageEdit::Memset { fill, .. } => {
            for (i, b) in pg[at..at + len].iter_mut().enumerate() {
                *b = fill[i % fill.len()];
            }
        }
        PageEdit::Memmove { source, .. } => {
            let from = at as i64 + i64::from(source);
            if from < 8 || from as usize + len > pg.len() {
                let detail = format!("{edit} (byte {at}) copies from outside the page, {id}");
                return Err(PrepareError::BadRecord { lsn, detail });
            }
            pg.copy_within(from as usize..from as usize + len, at);
        }
    }
    Ok(())
}

/// Where the next same_page record's offset counts from.
fn next_offset(op: PageOp, edit: Option<PageEdit<'_>>, last_offset: u32) -> u32 {
    match (op, edit) {
        (PageOp::InitPage | PageOp::Extended, _) => page::FIL_PAGE_TYPE as u32,
        (PageOp::FreePage, _) => 1,
        (_, Some(e)) => last_offset + e.offset() + e.len(),
        (_, None) => last_offset,
    }
}

#[cfg(test)]
#[path = "tests/extended.rs"]
mod extended_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mariadb::{backup_log_header, encode_mtr, encode_page_edit, Checkpoint, FileOp, Record};
    use std::collections::BTreeMap;

    const CP: Lsn = 50_000;

    /// A backup's ib_logfile0 from checkpoint CP holding `mtrs` (each a record list) and
    /// the start checkpoint's FILE_CHECKPOINT first; returns the file and its end LSN.
    fn backup_log(mtrs: &[Vec<Record<'_>>]) -> (Vec<u8>, Lsn) {
        let big = Ring::new(CP, 1 << 30).unwrap();
        let mut out = backup_log_header(Checkpoint { lsn: CP, end_lsn: CP }, "Backup 10.11.19");
        let mut lsn = CP;
        let first = vec![Record::FileCheckpoint { lsn: CP }];
        for recs in std::iter::once(&first).chain(mtrs) {
            let m = encode_mtr(recs, lsn, &big).unwrap();
            lsn += m.len() as u64;
            out.extend(m);
        }
        (out, lsn)
    }

    struct Mem(BTreeMap<(u32, u32), Vec<u8>>);
    impl PageStore for Mem {
        fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
            self.0.get_mut(&(space, page)).map(|p| p.as_mut_slice())
        }
    }

    /// Space 7: page 0 (full_crc32 flags for 4 KiB pages) and page 3, both at LSN `lsn`.
    fn pages(lsn: Lsn) -> Mem {
        let mut p0 = page::new_page(4096, 7, 0, page::PAGE_TYPE_FSP_HDR, lsn);
        p0[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].copy_from_slice(&0x13u32.to_be_bytes());
        let p3 = page::new_page(4096, 7, 3, page::PAGE_TYPE_INDEX, lsn);
        Mem([((7, 0), p0), ((7, 3), p3)].into_iter().collect())
    }

    fn rec<'a>(page: Option<u32>, edit: PageEdit<'_>, buf: &'a mut Vec<u8>) -> Record<'a> {
        let (op, payload) = encode_page_edit(&edit);
        *buf = payload;
        Record::Page { op, page: page.map(|p| PageId { space: 7, page: p }), payload: buf }
    }

    fn lsn_of(p: &[u8]) -> Lsn {
        u64::from_be_bytes(p[16..24].try_into().unwrap())
    }

    #[test]
    fn writes_memsets_and_memmoves_land_where_the_server_put_them() {
        let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
        let mtr = vec![
            rec(Some(3), PageEdit::Write { offset: 100, data: &[1, 2, 3, 4] }, &mut a),
            // same_page: 6 bytes after the write's end (104) = 110, 8 bytes of AB.
            rec(None, PageEdit::Memset { offset: 6, len: 8, fill: &[0xAB] }, &mut b),
            // same_page at 118 + 2 = 120: the 4 bytes from 20 bytes before (100..104).
            rec(None, PageEdit::Memmove { offset: 2, len: 4, source: -20 }, &mut c),
        ];
        let (log, last) = backup_log(&[mtr]);
        let mut mem = pages(100);
        let r = apply_log(&log, last, &mut mem).unwrap();
        assert_eq!((r.mtrs, r.records_applied, r.checkpoints), (2, 3, 1));
        let p = &mem.0[&(7, 3)];
        assert_eq!(&p[100..104], &[1, 2, 3, 4]);
        assert_eq!(&p[110..118], &[0xAB; 8]);
        assert_eq!(&p[120..124], &[1, 2, 3, 4]);
        assert_eq!(&p[104..110], &[0; 6]);
        assert_eq!(lsn_of(p), last, "the page LSN is the end of the mtr it took");
        let layout = page::PageLayout { full_crc32: true, ..page::PageLayout::legacy(4096) };
        assert_eq!(page::validate_page(p, 7, 3, layout), Ok(page::Accepted::FullCrc32), "checksum written again");
        assert_eq!(r.pages_touched, vec![(7, 3)]);
    }

    #[test]
    fn a_page_newer_than_an_mtr_skips_it_and_takes_later_ones() {
        let (mut a, mut b) = (vec![], vec![]);
        let first = vec![rec(Some(3), PageEdit::Write { offset: 200, data: &[9] }, &mut a)];
        let second = vec![rec(Some(3), PageEdit::Write { offset: 300, data: &[8] }, &mut b)];
        let (log, last) = backup_log(&[first, second]);
        // The page already holds the first mtr: its LSN is the first mtr's end.
        let first_end = CP + 16 + 1 + 1 + 1 + 2 + 1 + 5;
        let mut mem = pages(first_end);
        let r = apply_log(&log, last, &mut mem).unwrap();
        assert_eq!((r.records_applied, r.records_already_in_page), (1, 1));
        let p = &mem.0[&(7, 3)];
        assert_eq!((p[200], p[300]), (0, 8));
        // Stopping at the first mtr's end applies nothing to it.
        let mut mem = pages(first_end);
        assert_eq!(apply_log(&log, first_end, &mut mem).unwrap().records_applied, 0);
    }

    #[test]
    fn init_page_rebuilds_a_page_from_nothing_and_free_page_marks_it() {
        let (mut a, mut b) = (vec![], vec![]);
        let mtr = vec![
            Record::File { op: FileOp::Create, space: 7, name: b"./d/t.ibd", new_name: None },
            Record::Page { op: PageOp::InitPage, page: Some(PageId { space: 7, page: 3 }), payload: &[] },
            // same_page right after INIT_PAGE counts from FIL_PAGE_TYPE: 24 + 0.
            rec(None, PageEdit::Write { offset: 0, data: &page::PAGE_TYPE_INDEX.to_be_bytes() }, &mut a),
            Record::Page { op: PageOp::FreePage, page: Some(PageId { space: 7, page: 0 }), payload: &[] },
        ];
        let rename =
            vec![Record::File { op: FileOp::Rename, space: 7, name: b"./d/t.ibd", new_name: Some(b"./d/u.ibd") }];
        let gone = vec![
            Record::File { op: FileOp::Delete, space: 9, name: b"./d/x.ibd", new_name: None },
            rec(Some(5), PageEdit::Write { offset: 64, data: &[1] }, &mut b),
        ];
        let (log, last) = backup_log(&[mtr, rename, gone]);
        let mut mem = pages(0);
        mem.0.get_mut(&(7, 3)).unwrap().fill(0); // never written: all zero, LSN 0
        let r = apply_log(&log, last, &mut mem).unwrap();
        let mut expected = page::new_page(4096, 7, 3, page::PAGE_TYPE_INDEX, r.end_lsn);
        let p = &mem.0[&(7, 3)];
        page::set_page_lsn(&mut expected, lsn_of(p));
        page::stamp_full_crc32(&mut expected);
        assert_eq!(p, &expected, "INIT_PAGE: zeros, page number, FIL_NULL neighbours, space id; then the type");
        assert_eq!(r.pages_initialized, 1);
        assert_eq!(r.pages_freed, [(7, 0)].into_iter().collect());
        assert_eq!(r.file_operations, 3);
        let names: Vec<_> = r.file_names.into_iter().collect();
        assert_eq!(names, vec![(7, Some("./d/u.ibd".into())), (9, None)]);
        assert_eq!((r.records_without_tablespace, r.spaces_not_in_backup), (1, vec![7]));
    }

    /// Seen on a real backup under load: the server freed a page without writing it
    /// back, then allocated it again (INIT_PAGE). The page the backup holds is older
    /// than the records before the INIT_PAGE expect; recovery discards those records,
    /// and so must prepare.
    #[test]
    fn records_before_the_last_init_page_are_not_applied() {
        let mut a = vec![];
        // INSERT_HEAP_DYNAMIC after the record at 99 + 15343, as the real one: this page has no such record.
        let insert = [0x06, 0xbb, 0x6f, 0x00, 0x00, 0x0a, 0xac, 0x55];
        let page3 = Some(PageId { space: 7, page: 3 });
        let stale = vec![Record::Page { op: PageOp::Extended, page: page3, payload: &insert }];
        let freed = vec![Record::Page { op: PageOp::FreePage, page: page3, payload: &[] }];
        let again = vec![
            Record::Page { op: PageOp::InitPage, page: page3, payload: &[] },
            rec(None, PageEdit::Write { offset: 0, data: &page::PAGE_TYPE_INDEX.to_be_bytes() }, &mut a),
        ];
        let (log, last) = backup_log(&[stale.clone(), freed, again]);
        let mut mem = pages(100);
        let r = apply_log(&log, last, &mut mem).expect("the records before INIT_PAGE are superseded");
        assert_eq!((r.records_applied, r.pages_initialized), (2, 1));
        let mut expected = page::new_page(4096, 7, 3, page::PAGE_TYPE_INDEX, last);
        page::stamp_full_crc32(&mut expected);
        assert_eq!(&mem.0[&(7, 3)], &expected);
        // Without a later INIT_PAGE the same record is refused, by page and LSN.
        let (log, last) = backup_log(&[stale]);
        let mut mem = pages(100);
        assert!(matches!(apply_log(&log, last, &mut mem), Err(PrepareError::BadExtended { .. })));
    }

    #[test]
    fn damaged_or_unsupported_redo_is_refused_by_name() {
        let mut a = vec![];
        let good = vec![rec(Some(3), PageEdit::Write { offset: 100, data: &[1] }, &mut a)];
        let (log, last) = backup_log(std::slice::from_ref(&good));
        let mut flipped = log.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(apply_log(&flipped, last, &mut pages(0)), Err(PrepareError::BadMtr { .. })));
        assert!(matches!(apply_log(&log, last - 1, &mut pages(0)), Err(PrepareError::BadMtr { .. })));
        // Without the start checkpoint's FILE_CHECKPOINT the copy is not recoverable.
        let mut no_cp = backup_log_header(Checkpoint { lsn: CP, end_lsn: CP }, "Backup 10.11.19");
        let m = encode_mtr(&good, CP, &Ring::new(CP, 1 << 20).unwrap()).unwrap();
        no_cp.extend(&m);
        let err = apply_log(&no_cp, CP + m.len() as u64, &mut pages(0)).unwrap_err();
        assert!(matches!(err, PrepareError::CheckpointNotConfirmed { checkpoint: CP, .. }), "{err}");
        // An EXTENDED subtype the server does not have, an insert on a page that is not an
        // index page, and writes off the page are refused.
        let ext = vec![Record::Page { op: PageOp::Extended, page: Some(PageId { space: 7, page: 3 }), payload: &[11] }];
        let (log, last) = backup_log(&[ext]);
        let err = apply_log(&log, last, &mut pages(0)).unwrap_err();
        assert!(
            matches!(&err, PrepareError::BadExtended { page: PageId { space: 7, page: 3 }, .. }),
            "a typed refusal naming the page: {err:?}"
        );
        let err = err.to_string();
        assert!(err.contains("subtype 11 does not exist") && err.contains("tablespace 7 page 3"), "{err}");
        assert!(!err.contains("{ ") && !err.contains("PageId"), "Rust Debug text: {err}");
        let ins = vec![Record::Page {
            op: PageOp::Extended,
            page: Some(PageId { space: 7, page: 3 }),
            payload: &[6, 0, 0, 0, 0, 1],
        }];
        let (log, last) = backup_log(&[ins]);
        let mut mem = pages(0);
        mem.0.get_mut(&(7, 3)).unwrap()[24..26].copy_from_slice(&[0, 2]);
        let err = apply_log(&log, last, &mut mem).unwrap_err();
        assert!(
            matches!(&err, PrepareError::BadExtended { error: ExtError { what: "INSERT_HEAP_DYNAMIC", .. }, .. }),
            "{err:?}"
        );
        let err = err.to_string();
        assert!(err.contains("INSERT_HEAP_DYNAMIC") && err.contains("not that of an index page"), "{err}");
        let mut b = vec![];
        let off = vec![rec(Some(3), PageEdit::Write { offset: 4095, data: &[1, 2] }, &mut b)];
        let (log, last) = backup_log(&[off]);
        assert!(matches!(apply_log(&log, last, &mut pages(0)), Err(PrepareError::BadRecord { .. })));
    }

    /// Enough records for two workers ([`pages`]): every page still takes its own
    /// records in log order, and the counts are those of one worker.
    #[test]
    fn many_records_over_many_pages_apply_as_one_worker_would() {
        const N: usize = 70_000;
        let mut mem = pages(100);
        for p in 4..9 {
            mem.0.insert((7, p), page::new_page(4096, 7, p, page::PAGE_TYPE_INDEX, 100));
        }
        let payloads: Vec<Vec<u8>> = (0..N)
            .map(|i| {
                let data = (i as u32).to_be_bytes();
                encode_page_edit(&PageEdit::Write { offset: 100 + (i % 50) as u32 * 4, data: &data }).1
            })
            .collect();
        let mtrs: Vec<Vec<Record<'_>>> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let id = PageId { space: 7, page: 3 + (i % 6) as u32 };
                vec![Record::Page { op: PageOp::Write, page: Some(id), payload: p }]
            })
            .collect();
        let (log, last) = backup_log(&mtrs);
        // The page (7, 5) already holds every record of the first half of the log.
        let half_lsn = CP + 16 + (log.len() as u64 - 12288 - 16) / 2;
        page::set_page_lsn(mem.0.get_mut(&(7, 5)).unwrap(), half_lsn);
        let r = apply_log(&log, last, &mut mem).unwrap();
        assert_eq!(r.records_applied + r.records_already_in_page, N as u64);
        assert!(r.records_already_in_page > 5_000 && r.records_already_in_page < 6_000, "{r:?}");
        assert_eq!(r.pages_touched, (3..9).map(|p| (7, p)).collect::<Vec<_>>());
        for p in 3..9u32 {
            let pg = &mem.0[&(7, p)];
            // The last record of each (page, offset) pair: the largest i with i % 6 == p - 3.
            for slot in 0..50usize {
                let last_i = (0..N).rev().find(|i| i % 6 == (p - 3) as usize && i % 50 == slot);
                let at = 100 + slot * 4;
                let want = last_i.map_or([0; 4], |i| (i as u32).to_be_bytes());
                assert_eq!(&pg[at..at + 4], &want, "page {p} slot {slot}");
            }
            let layout = page::PageLayout { full_crc32: true, ..page::PageLayout::legacy(4096) };
            assert_eq!(page::validate_page(pg, 7, p, layout), Ok(page::Accepted::FullCrc32));
        }
    }

    /// A log long enough to be parsed as two halves at once: a page freed in the first
    /// half and brought back in the second is applied, one freed in the second is not.
    #[test]
    fn a_long_log_parsed_in_halves_keeps_each_pages_last_free_or_init() {
        const N: usize = 250_000;
        let mut mem = pages(100);
        for p in [4, 5] {
            mem.0.insert((7, p), page::new_page(4096, 7, p, page::PAGE_TYPE_INDEX, 100));
        }
        let untouched = mem.0[&(7, 5)].clone();
        let payloads: Vec<Vec<u8>> = (0..N)
            .map(|i| encode_page_edit(&PageEdit::Write { offset: 100 + (i % 50) as u32 * 4, data: &[i as u8] }).1)
            .collect();
        let id = |page| Some(PageId { space: 7, page });
        let typ = page::PAGE_TYPE_INDEX.to_be_bytes();
        let back = encode_page_edit(&PageEdit::Write { offset: 0, data: &typ }).1;
        let mut mtrs = vec![vec![Record::Page { op: PageOp::FreePage, page: id(4), payload: &[] }]];
        for (i, p) in payloads.iter().enumerate() {
            mtrs.push(vec![Record::Page { op: PageOp::Write, page: id(3), payload: p }]);
            if i == N * 3 / 4 {
                mtrs.push(vec![
                    Record::Page { op: PageOp::InitPage, page: id(4), payload: &[] },
                    Record::Page { op: PageOp::Write, page: None, payload: &back },
                ]);
            }
        }
        mtrs.push(vec![Record::Page { op: PageOp::FreePage, page: id(5), payload: &[] }]);
        let (log, last) = backup_log(&mtrs);
        assert!(log.len() > 2 << 20, "long enough for two parse threads: {}", log.len());
        let r = apply_log(&log, last, &mut mem).unwrap();
        assert_eq!(r.pages_freed, [(7, 5)].into_iter().collect());
        assert_eq!(r.pages_touched, vec![(7, 3), (7, 4)]);
        // Page 4's FREE_PAGE comes before its last INIT_PAGE: superseded, not applied.
        assert_eq!((r.pages_initialized, r.records_applied, r.mtrs), (1, N as u64 + 2, N as u64 + 4));
        assert_eq!(mem.0[&(7, 5)], untouched, "a page the log leaves freed is never written");
        let p4 = &mem.0[&(7, 4)];
        assert_eq!((&p4[24..26], &p4[100..104]), (&typ[..], &[0u8; 4][..]));
        assert_eq!(mem.0[&(7, 3)][100 + 49 * 4], (N - 1) as u8);
    }
}
