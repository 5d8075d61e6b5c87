//! Applying a MySQL 5.7 backup's redo (`xtrabackup_logfile`) to its pages:
//! the first piece of `innohot prepare`. Pure: pages come and go through
//! [`PageStore`], so the simulator's oracle and a future on-disk prepare
//! share it.
//!
//! Covers every page record type a 5.7 server writes: byte writes, row records
//! ([`rows`]), whole-page records ([`pages`]); on ROW_FORMAT=COMPRESSED pages the
//! records that carry the compressed bytes, and a refusal by name of those that
//! would need the page recompressed. A record this prepare cannot apply stops
//! it rather than being skipped, so a prepare never silently drops redo.

mod pages;
#[cfg(test)]
mod row_tests;
pub mod rows;
mod zip_frames;

pub use super::PageStore;
use crate::format::mysql57::body::PageBody;
use crate::format::mysql57::mlog::{self, Record};
use crate::format::mysql57::{self, LOG_BLOCK_DATA_END, LOG_BLOCK_HDR_SIZE, LOG_BLOCK_SIZE, LOG_FILE_HDR_SIZE};
use crate::format::page;
use crate::format::{FormatError, Lsn};
use pages::ApplyError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error("xtrabackup_logfile: {0}")]
    Format(#[from] FormatError),
    #[error("xtrabackup_logfile block at LSN {lsn}: {detail}")]
    BadBlock { lsn: Lsn, detail: String },
    #[error("redo record at LSN {lsn}: {detail}")]
    BadRecord { lsn: Lsn, detail: String },
    #[error(
        "redo record at LSN {lsn} changes page {page} of tablespace {space}, beyond its end: \
         the backup lacks pages the redo needs (a file grew during the copy?)"
    )]
    PageMissing { lsn: Lsn, space: u32, page: u32 },
    /// A record the page cannot take (the server would call the page corrupted).
    #[error("redo record {what} at LSN {lsn} on page {page} of tablespace {space}: {detail}")]
    BadPage { lsn: Lsn, space: u32, page: u32, what: &'static str, detail: String },
    /// A record the server never writes for a ROW_FORMAT=COMPRESSED page this way.
    #[error(
        "redo record {what} at LSN {lsn} changes page {page} of ROW_FORMAT=COMPRESSED tablespace {space} in a way \
         innohot's prepare does not know for compressed pages; nothing was changed: use xtrabackup --prepare or \
         innohot mysql57-log-group, and report the case"
    )]
    Compressed { lsn: Lsn, space: u32, page: u32, what: &'static str },
}

pub use super::ApplyReport;

/// Record bytes of the copy with the block framing removed, and the LSN math back.
struct Stream {
    data: Vec<u8>,
    first_block_lsn: Lsn,
}

const PER_BLOCK: usize = LOG_BLOCK_DATA_END - LOG_BLOCK_HDR_SIZE;

impl Stream {
    fn lsn_at(&self, pos: usize) -> Lsn {
        self.first_block_lsn + (pos / PER_BLOCK * LOG_BLOCK_SIZE + LOG_BLOCK_HDR_SIZE + pos % PER_BLOCK) as u64
    }
    fn pos_of(&self, lsn: Lsn) -> usize {
        let blocks = ((lsn - self.first_block_lsn) / LOG_BLOCK_SIZE as u64) as usize;
        let within = (lsn % LOG_BLOCK_SIZE as u64) as usize;
        blocks * PER_BLOCK + within.saturating_sub(LOG_BLOCK_HDR_SIZE)
    }
}

/// Checks every block of the copy and strips the framing, up to `last_lsn`.
fn unframe(log: &[u8], start_block_lsn: Lsn, last_lsn: Lsn) -> Result<Stream, PrepareError> {
    let mut data = Vec::with_capacity(log.len());
    let mut lsn = start_block_lsn;
    for block in log[LOG_FILE_HDR_SIZE as usize..].chunks(LOG_BLOCK_SIZE) {
        if lsn >= last_lsn {
            break;
        }
        let bad = |detail: String| PrepareError::BadBlock { lsn, detail };
        if block.len() < LOG_BLOCK_SIZE {
            return Err(bad(format!("truncated: {} bytes", block.len())));
        }
        if mysql57::block_checksum_kind(block).is_none() {
            return Err(bad("checksum mismatch".into()));
        }
        let h = mysql57::BlockHeader::parse(block)?;
        if h.block_no != mysql57::block_no_for_lsn(lsn) {
            return Err(bad(format!("block number {} where {} belongs", h.block_no, mysql57::block_no_for_lsn(lsn))));
        }
        let end = (h.data_len as usize).min(LOG_BLOCK_DATA_END).min((last_lsn - lsn) as usize);
        if end < LOG_BLOCK_HDR_SIZE {
            return Err(bad(format!("data length {}", h.data_len)));
        }
        data.extend_from_slice(&block[LOG_BLOCK_HDR_SIZE..end]);
        lsn += LOG_BLOCK_SIZE as u64;
    }
    Ok(Stream { data, first_block_lsn: start_block_lsn })
}

/// Applies every complete mini-transaction from `checkpoint_lsn` to `last_lsn`.
/// Records of an mtr go to a page only if the page is older than the mtr
/// (its FIL_PAGE_LSN is at or before the mtr's start); the page's LSN then
/// becomes the mtr's end. Checksums are left to the caller (`pages_touched`).
pub fn apply_log(
    log: &[u8],
    checkpoint_lsn: Lsn,
    last_lsn: Lsn,
    store: &mut dyn PageStore,
) -> Result<ApplyReport, PrepareError> {
    let mut report = ApplyReport { end_lsn: checkpoint_lsn, by_type: vec![0; 64], ..ApplyReport::default() };
    let mut touched = std::collections::BTreeSet::new();
    let mut frames = zip_frames::ZipFrames::default();
    for_each_mtr(log, checkpoint_lsn, last_lsn, |records, mtr_start, mtr_end| {
        note_fsp_sizes(records, &mut report.sizes);
        // Whether a page takes this mtr is decided once, before any of its records land.
        let mut takes: Vec<((u32, u32), bool)> = Vec::new();
        for (i, rec) in records.iter().enumerate() {
            let mtr = Mtr { start: mtr_start, end: mtr_end, rest: &records[i + 1..] };
            apply_record(rec, &mtr, store, &mut frames, &mut report, &mut takes)?;
        }
        touched.extend(takes.iter().filter(|(_, t)| *t).map(|(id, _)| *id));
        report.mtrs += 1;
        report.end_lsn = mtr_end;
        Ok(())
    })?;
    touched.extend(frames.compress_all(store, report.end_lsn)?);
    report.pages_touched = touched.into_iter().collect();
    Ok(report)
}

/// The mini-transaction a record belongs to: its LSNs and the records after it.
struct Mtr<'a> {
    start: Lsn,
    end: Lsn,
    rest: &'a [Record],
}

/// The size in pages (FSP_SIZE on page 0) each tablespace has at the end of the
/// redo, for those whose size the redo changes. A 5.7 server extends a data file
/// without a record of its own, only this header write; a file copied before it
/// grew is shorter than its header says, and the server refuses to start on a
/// system tablespace like that ("the tail of the system tablespace is missing")
/// or to read a page past a file's end.
pub fn fsp_sizes(
    log: &[u8],
    checkpoint_lsn: Lsn,
    last_lsn: Lsn,
) -> Result<std::collections::BTreeMap<u32, u32>, PrepareError> {
    let mut sizes = std::collections::BTreeMap::new();
    for_each_mtr(log, checkpoint_lsn, last_lsn, |records, _, _| {
        note_fsp_sizes(records, &mut sizes);
        Ok(())
    })?;
    Ok(sizes)
}

/// Keeps the FSP_SIZE an mtr writes on page 0 of a tablespace, whatever the
/// page's LSN: the last write in the log is the size at its end.
fn note_fsp_sizes(records: &[Record], sizes: &mut std::collections::BTreeMap<u32, u32>) {
    for rec in records {
        if let Record::WriteN { space, page: 0, offset, width: 4, value } = *rec {
            if usize::from(offset) == page::FSP_SIZE {
                sizes.insert(space, value);
            }
        }
    }
}

/// Calls `each` with every complete mini-transaction from `checkpoint_lsn` to
/// `last_lsn`, in log order, with its start and end LSN.
fn for_each_mtr(
    log: &[u8],
    checkpoint_lsn: Lsn,
    last_lsn: Lsn,
    mut each: impl FnMut(&[Record], Lsn, Lsn) -> Result<(), PrepareError>,
) -> Result<(), PrepareError> {
    if log.len() < LOG_FILE_HDR_SIZE as usize {
        return Err(FormatError::TooShort {
            what: "xtrabackup_logfile",
            need: LOG_FILE_HDR_SIZE as usize,
            have: log.len(),
        }
        .into());
    }
    let start_block = checkpoint_lsn - checkpoint_lsn % LOG_BLOCK_SIZE as u64;
    let stream = unframe(log, start_block, last_lsn)?;
    let mut pos = stream.pos_of(checkpoint_lsn);
    'mtrs: while pos < stream.data.len() {
        let mtr_start = stream.lsn_at(pos);
        let mut records = Vec::new();
        let mut at = pos;
        loop {
            let decoded = mlog::decode_record(&stream.data[at..])
                .map_err(|e| PrepareError::BadRecord { lsn: stream.lsn_at(at), detail: e.to_string() })?;
            let Some(d) = decoded else { break 'mtrs }; // the copy ends inside this mtr
            at += d.len;
            let ends_mtr = d.single || matches!(d.record, Record::MultiRecEnd | Record::Checkpoint { .. });
            if records.is_empty() && matches!(d.record, Record::MultiRecEnd) {
                return Err(PrepareError::BadRecord {
                    lsn: mtr_start,
                    detail: "an mtr that is only MLOG_MULTI_REC_END".into(),
                });
            }
            records.push(d.record);
            if ends_mtr {
                break;
            }
        }
        let mtr_end = stream.lsn_at(at);
        if mtr_end > last_lsn {
            break;
        }
        each(&records, mtr_start, mtr_end)?;
        pos = at;
    }
    Ok(())
}

fn apply_record(
    rec: &Record,
    mtr: &Mtr<'_>,
    store: &mut dyn PageStore,
    frames: &mut zip_frames::ZipFrames,
    report: &mut ApplyReport,
    takes: &mut Vec<((u32, u32), bool)>,
) -> Result<(), PrepareError> {
    let (mtr_start, mtr_end) = (mtr.start, mtr.end);
    let Some((space, page_no)) = rec.page_id() else { return apply_pageless(rec, mtr_start, report) };
    let zip_space = store.is_compressed(space);
    let zip = matches!(rec, Record::Page { .. }) && zip_space;
    let Some(pg) = store.page_mut(space, page_no) else {
        report.records_without_tablespace += 1;
        if !report.spaces_not_in_backup.contains(&space) {
            report.spaces_not_in_backup.push(space);
        }
        return Ok(());
    };
    if !takes_mtr(pg, (space, page_no), mtr_start, takes) {
        report.records_already_in_page += 1;
        return Ok(());
    }
    if frames.takes(rec, zip_space) {
        return apply_to_frame(rec, mtr, store, frames, report);
    }
    if let Record::Page { body: PageBody::ZipCompress { .. } | PageBody::InitFilePage { .. }, .. } = rec {
        frames.drop_frame((space, page_no));
    }
    let size = pg.len();
    let range = |offset: u16, len: usize| -> Result<std::ops::Range<usize>, PrepareError> {
        let o = offset as usize;
        // The server writes anywhere in the page (FIL_PAGE_TYPE, FIL_PAGE_PREV/NEXT too).
        if o + len > size {
            return Err(PrepareError::BadRecord {
                lsn: mtr_start,
                detail: format!("write of {len} bytes at offset {o} of page {page_no} (space {space}) leaves the page"),
            });
        }
        Ok(o..o + len)
    };
    match rec {
        Record::WriteN { offset, width, value, .. } => {
            let r = range(*offset, *width as usize)?;
            let bytes = value.to_be_bytes();
            pg[r].copy_from_slice(&bytes[4 - *width as usize..]);
        }
        Record::Write8 { offset, value, .. } => {
            let r = range(*offset, 8)?;
            pg[r].copy_from_slice(&value.to_be_bytes());
        }
        Record::WriteString { offset, data, .. } => {
            let r = range(*offset, data.len())?;
            pg[r].copy_from_slice(data);
        }
        Record::Page { body, .. } => {
            let what = mlog::body_name(body);
            pages::apply(pg, space, page_no, body, zip)
                .map_err(|e| page_error(e, mtr_start, (space, page_no), what))?;
            report.by_type[usize::from(body.type_byte())] += 1;
        }
        _ => unreachable!("page records only"),
    }
    page::set_page_lsn(pg, mtr_end);
    report.records_applied += 1;
    Ok(())
}

/// A record that names no page: markers and file operations.
fn apply_pageless(rec: &Record, mtr_start: Lsn, report: &mut ApplyReport) -> Result<(), PrepareError> {
    match rec {
        Record::FileName { .. } | Record::Checkpoint { .. } | Record::MultiRecEnd | Record::Dummy => Ok(()),
        // A marker, as in 5.7's own recovery: the index's pages reached the data
        // file before it was written, and a backup holds one only when its copy
        // began after that (a later one fails the backup).
        Record::IndexLoad { .. } => Ok(()),
        Record::FileCreate { .. } | Record::FileRename { .. } | Record::FileDelete { .. } => {
            report.file_operations += 1;
            Ok(())
        }
        _ => Err(PrepareError::BadRecord {
            lsn: mtr_start,
            detail: "a record without a page of a kind this prepare does not know".into(),
        }),
    }
}

/// A page record the page could not take, or a record this prepare does not
/// apply to a compressed page.
fn page_error(e: ApplyError, lsn: Lsn, (space, page): (u32, u32), what: &'static str) -> PrepareError {
    match e {
        ApplyError::Defect(defect) => PrepareError::BadPage { lsn, space, page, what, detail: defect.to_string() },
        ApplyError::NotForZip => PrepareError::Compressed { lsn, space, page, what },
    }
}

/// Applies a record to the frame of a compressed page (see [`zip_frames`]); the
/// stored page's LSN follows, as for any page.
fn apply_to_frame(
    rec: &Record,
    mtr: &Mtr<'_>,
    store: &mut dyn PageStore,
    frames: &mut zip_frames::ZipFrames,
    report: &mut ApplyReport,
) -> Result<(), PrepareError> {
    let (space, page_no) = rec.page_id().expect("a page record");
    let what = match rec {
        Record::Page { body, .. } => mlog::body_name(body),
        _ => "a byte write",
    };
    let frame = frames.frame(store, (space, page_no), mtr.start)?;
    zip_frames::apply(frame, rec, mtr.rest).map_err(|e| page_error(e, mtr.start, (space, page_no), what))?;
    if let Record::Page { body, .. } = rec {
        report.by_type[usize::from(body.type_byte())] += 1;
    }
    let pg = store.page_mut(space, page_no).expect("decompressed above");
    page::set_page_lsn(pg, mtr.end);
    report.records_applied += 1;
    Ok(())
}

/// Whether the page takes the mtr starting at `mtr_start`: decided at its first
/// record (the page's LSN at or before the start), kept for the mtr's others.
fn takes_mtr(pg: &[u8], id: (u32, u32), mtr_start: Lsn, takes: &mut Vec<((u32, u32), bool)>) -> bool {
    match takes.iter().find(|(i, _)| *i == id) {
        Some((_, t)) => *t,
        None => {
            let page_lsn =
                u64::from_be_bytes(pg[page::FIL_PAGE_LSN..page::FIL_PAGE_LSN + 8].try_into().expect("8 bytes"));
            let t = page_lsn <= mtr_start;
            takes.push((id, t));
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mysql57::{BlockChecksum, BlockHeader, Checkpoint, LogFileHeader};

    /// An xtrabackup_logfile holding `stream` from LSN `start` (block-aligned + 12).
    fn logfile(start: Lsn, stream: &[u8]) -> (Vec<u8>, Lsn) {
        let mut out = vec![0u8; 2048];
        let hdr = LogFileHeader { format: 1, start_lsn: start, creator: "test".into() }.encode();
        out[..512].copy_from_slice(&hdr);
        let cp = Checkpoint { no: 1, lsn: start, offset: 2048, log_buf_size: 0 }.encode();
        out[512..1024].copy_from_slice(&cp);
        let mut lsn = start - start % 512;
        let mut rest = stream;
        let last = loop {
            let take = rest.len().min(PER_BLOCK);
            let mut b = [0u8; 512];
            b[12..12 + take].copy_from_slice(&rest[..take]);
            let data_len = if take == PER_BLOCK { 512 } else { 12 + take };
            BlockHeader {
                block_no: mysql57::block_no_for_lsn(lsn),
                flush_bit: false,
                data_len: data_len as u16,
                first_rec_group: 12,
                checkpoint_no: 1,
            }
            .write_into(&mut b);
            mysql57::stamp_block(&mut b, BlockChecksum::Crc32c);
            out.extend_from_slice(&b);
            rest = &rest[take..];
            let end = lsn + 12 + take as u64;
            lsn += 512;
            if take < PER_BLOCK {
                break end;
            }
        };
        (out, last)
    }

    struct Mem(Vec<Vec<u8>>);
    impl PageStore for Mem {
        fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
            (space == 5).then(|| self.0.get_mut(page as usize).map(|p| p.as_mut_slice())).flatten()
        }
    }

    fn page(lsn: Lsn) -> Vec<u8> {
        page::new_page(4096, 5, 0, page::PAGE_TYPE_INDEX, lsn)
    }

    #[test]
    fn applies_newer_mtrs_skips_older_ones_and_keeps_whole_mtrs_together() {
        let start = 8192 + 12;
        let w = |offset, value| Record::WriteN { space: 5, page: 0, offset, width: 2, value };
        let mut stream = mlog::encode_mtr(&[w(100, 0xAAAA), w(200, 0xBBBB)]); // both records on one page
        let first_end = start + stream.len() as u64;
        stream.extend(mlog::encode_mtr(&[Record::Write8 { space: 5, page: 0, offset: 300, value: 7 }]));
        let second_end = start + stream.len() as u64;
        stream.extend(mlog::encode_mtr(&[Record::WriteN { space: 9, page: 0, offset: 100, width: 1, value: 1 }]));
        let (log, last) = logfile(start, &stream);

        // A page older than everything takes all three mtrs (the unknown space is counted, not fatal).
        let mut mem = Mem(vec![page(100)]);
        let r = apply_log(&log, start, last, &mut mem).unwrap();
        assert_eq!((r.mtrs, r.records_applied, r.records_without_tablespace), (3, 3, 1));
        assert_eq!(&mem.0[0][100..102], &[0xAA, 0xAA]);
        assert_eq!(&mem.0[0][200..202], &[0xBB, 0xBB], "the second record of the same mtr must apply too");
        assert_eq!(&mem.0[0][300..308], &7u64.to_be_bytes());
        // The page's LSN is the end of the last mtr it took (the third went to another space).
        assert_eq!(u64::from_be_bytes(mem.0[0][16..24].try_into().unwrap()), second_end);
        assert_eq!(r.end_lsn, last);

        // A page already at the first mtr's end takes only the second.
        let mut mem = Mem(vec![page(first_end)]);
        let r = apply_log(&log, start, last, &mut mem).unwrap();
        assert_eq!((r.records_applied, r.records_already_in_page), (1, 2));
        assert_eq!(&mem.0[0][100..102], &[0, 0]);

        // Stopping before the last mtr's end leaves it out.
        let mut mem = Mem(vec![page(100)]);
        let r = apply_log(&log, start, last - 1, &mut mem).unwrap();
        assert_eq!(r.mtrs, 2);
    }

    #[test]
    fn the_size_a_space_ends_the_redo_with_is_its_last_fsp_size_write() {
        let start = 8192 + 12;
        let size = |space, value| Record::WriteN { space, page: 0, offset: page::FSP_SIZE as u16, width: 4, value };
        let mut stream = mlog::encode_mtr(&[size(5, 768), size(7, 64)]);
        stream.extend(mlog::encode_mtr(&[size(5, 4864)]));
        // Not a size: another offset, another page, another width.
        stream.extend(mlog::encode_mtr(&[Record::WriteN { space: 9, page: 0, offset: 50, width: 4, value: 1 }]));
        stream.extend(mlog::encode_mtr(&[Record::WriteN { space: 9, page: 1, offset: 46, width: 4, value: 1 }]));
        stream.extend(mlog::encode_mtr(&[Record::WriteN { space: 9, page: 0, offset: 46, width: 2, value: 1 }]));
        let (log, last) = logfile(start, &stream);
        let sizes = fsp_sizes(&log, start, last).unwrap();
        assert_eq!(sizes.clone().into_iter().collect::<Vec<_>>(), vec![(5, 4864), (7, 64)]);
        let mut mem = Mem(vec![page(100)]);
        assert_eq!(apply_log(&log, start, last, &mut mem).unwrap().sizes, sizes, "apply_log notes them too");
        // A write in an mtr the copy does not hold whole is not taken.
        let cut = fsp_sizes(&log, start, last - 1).unwrap();
        assert_eq!(cut.get(&5), Some(&4864));
        let (log, last) = logfile(start, &mlog::encode_mtr(&[size(5, 10)]));
        assert!(fsp_sizes(&log, start, last - 1).unwrap().is_empty());
    }

    #[test]
    fn mtrs_across_block_boundaries_and_damaged_blocks() {
        let start = 8192 + 12;
        let data: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
        let mut stream = Vec::new();
        for i in 0..6u16 {
            stream.extend(mlog::encode_mtr(&[Record::WriteString {
                space: 5,
                page: 0,
                offset: 64 + i * 10,
                data: data[..200].to_vec(),
            }]));
        }
        let (mut log, last) = logfile(start, &stream);
        let mut mem = Mem(vec![page(0)]);
        assert_eq!(apply_log(&log, start, last, &mut mem).unwrap().mtrs, 6);
        log[2048 + 512 + 40] ^= 1;
        let err = apply_log(&log, start, last, &mut Mem(vec![page(0)])).unwrap_err();
        assert!(matches!(err, PrepareError::BadBlock { lsn: 8704, .. }), "{err}");
        let (log, last) = logfile(start, &mlog::encode_mtr(&[Record::IndexLoad { space: 5, page: 0, index_id: 7 }]));
        let applied = apply_log(&log, start, last, &mut Mem(vec![page(0)])).unwrap();
        assert_eq!((applied.mtrs, applied.records_applied), (1, 0), "MLOG_INDEX_LOAD changes no page");
        let delete = Record::FileDelete { space: 5, page: 0, name: "./a/b.ibd".into() };
        let (log, last) = logfile(start, &mlog::encode_mtr(&[delete]));
        assert_eq!(apply_log(&log, start, last, &mut Mem(vec![page(0)])).unwrap().file_operations, 1);
    }
}
