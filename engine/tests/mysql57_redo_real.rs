//! Redo a real MySQL 5.7.41 server wrote (tests/fixtures/mysql57-redo, made by
//! scripts/make-mysql57-redo-fixture.sh; see its README.md): the engine's
//! block checks, checkpoint parsing and record decoder against bytes nobody in
//! this project produced, and the record encoder (which the simulator writes
//! its redo with) against the server's own encoding.
//!
//! The test fails, rather than skips, when the fixture is missing.
#![allow(clippy::disallowed_methods)] // tests read fixture files directly; the io-layer rule is for engine code

use innohot::format::mysql57::body;
use innohot::format::mysql57::mlog::{self, Decoded, Record};
use innohot::format::mysql57::{
    self, BlockChecksum, BlockClass, BlockHeader, Checkpoint, LogFileHeader, RingGeometry, LOG_BLOCK_DATA_END,
    LOG_BLOCK_HDR_SIZE, LOG_BLOCK_SIZE, LOG_FILE_HDR_SIZE,
};
use innohot::format::Lsn;
use innohot::restore::prepare::mysql57::{apply_log, PageStore};
use std::collections::BTreeMap;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mysql57-redo");
/// The server ran with --innodb-log-files-in-group=2 --innodb-log-file-size=4M.
const FILE_SIZE: u64 = 4 << 20;
const HDR: usize = LOG_FILE_HDR_SIZE as usize;
const PER_BLOCK: usize = LOG_BLOCK_DATA_END - LOG_BLOCK_HDR_SIZE;

struct Fixture {
    /// The `xtrabackup_logfile` layout: file 0's first 2048 bytes, then blocks.
    log: Vec<u8>,
    cp: Checkpoint,
    end_lsn: Lsn,
}

fn fixture() -> Fixture {
    let log = std::fs::read(format!("{DIR}/xtrabackup_logfile")).expect("the real 5.7 redo fixture");
    let end = std::fs::read_to_string(format!("{DIR}/end_lsn")).expect("the fixture's end_lsn");
    let end_lsn = end.trim().parse().expect("end_lsn is a number");
    let cp = mysql57::newest_checkpoint(&log[..HDR]).expect("a valid checkpoint");
    Fixture { log, cp, end_lsn }
}

fn first_block_lsn(cp: &Checkpoint) -> Lsn {
    cp.lsn - cp.lsn % LOG_BLOCK_SIZE as u64
}

fn blocks(f: &Fixture) -> impl Iterator<Item = (Lsn, &[u8])> {
    let start = first_block_lsn(&f.cp);
    f.log[HDR..].chunks(LOG_BLOCK_SIZE).enumerate().map(move |(i, b)| (start + (i * LOG_BLOCK_SIZE) as u64, b))
}

/// One mini-transaction as the log holds it.
struct Mtr {
    start: Lsn,
    end: Lsn,
    /// Each record with its bytes as the server wrote them.
    records: Vec<(Decoded, Vec<u8>)>,
}

/// The record bytes of every block (headers and trailers dropped) and the LSN of each.
struct Stream {
    data: Vec<u8>,
    first_block_lsn: Lsn,
}

impl Stream {
    fn new(f: &Fixture) -> Self {
        let mut data = Vec::new();
        for (lsn, b) in blocks(f) {
            let h = BlockHeader::parse(b).unwrap();
            let end = usize::from(h.data_len).min(LOG_BLOCK_DATA_END);
            assert!(end >= LOG_BLOCK_HDR_SIZE, "block at LSN {lsn}: data_len {}", h.data_len);
            data.extend_from_slice(&b[LOG_BLOCK_HDR_SIZE..end]);
        }
        Stream { data, first_block_lsn: first_block_lsn(&f.cp) }
    }
    fn lsn_at(&self, pos: usize) -> Lsn {
        self.first_block_lsn + (pos / PER_BLOCK * LOG_BLOCK_SIZE + LOG_BLOCK_HDR_SIZE + pos % PER_BLOCK) as u64
    }
    fn pos_of(&self, lsn: Lsn) -> usize {
        let blocks = ((lsn - self.first_block_lsn) / LOG_BLOCK_SIZE as u64) as usize;
        blocks * PER_BLOCK + (lsn % LOG_BLOCK_SIZE as u64) as usize - LOG_BLOCK_HDR_SIZE
    }
}

/// Every mtr from the checkpoint LSN to the end of the log. Panics on a record
/// that does not decode, or a log that ends inside an mtr.
fn mtrs(f: &Fixture) -> Vec<Mtr> {
    let s = Stream::new(f);
    let mut pos = s.pos_of(f.cp.lsn);
    let mut out = Vec::new();
    while pos < s.data.len() {
        let start = s.lsn_at(pos);
        let mut records = Vec::new();
        loop {
            let d = match mlog::decode_record(&s.data[pos..]) {
                Ok(Some(d)) => d,
                Ok(None) => panic!("the log ends inside the record at LSN {}", s.lsn_at(pos)),
                Err(e) => panic!("record at LSN {} (mtr from {start}): {e}", s.lsn_at(pos)),
            };
            let raw = s.data[pos..pos + d.len].to_vec();
            pos += d.len;
            let ends = d.single || matches!(d.record, Record::MultiRecEnd | Record::Checkpoint { .. });
            records.push((d, raw));
            if ends {
                break;
            }
        }
        out.push(Mtr { start, end: s.lsn_at(pos), records });
    }
    out
}

fn type_of(raw: &[u8]) -> u8 {
    raw[0] & !mlog::MLOG_SINGLE_REC_FLAG
}

#[test]
fn the_file_header_and_checkpoints_are_as_documented() {
    let f = fixture();
    let h = LogFileHeader::parse(&f.log[..LOG_BLOCK_SIZE]).unwrap();
    assert_eq!(h.format, mysql57::LOG_HEADER_FORMAT_57);
    // "MySQL " and INNODB_VERSION_STR, NUL-padded, nothing else in the block.
    let version = h.creator.strip_prefix("MySQL 5.7.").unwrap_or_else(|| panic!("creator {:?}", h.creator));
    assert!(!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()), "creator {:?}", h.creator);
    assert_eq!(&f.log[4..8], &[0; 4], "bytes 4..8 of the header are unused");
    assert!(f.log[16 + h.creator.len()..508].iter().all(|&b| b == 0), "the header block is zero after the creator");
    assert!(h.start_lsn >= mysql57::LOG_START_LSN && h.start_lsn.is_multiple_of(512), "start_lsn {}", h.start_lsn);
    assert!(f.log[1024..1536].iter().all(|&b| b == 0), "1024..1536 of file 0 is unused");

    let g = RingGeometry::new(2, FILE_SIZE).unwrap();
    let slots: Vec<Checkpoint> = [mysql57::LOG_CHECKPOINT_1, mysql57::LOG_CHECKPOINT_2]
        .iter()
        .map(|&at| {
            let cp = Checkpoint::parse(&f.log[at..at + LOG_BLOCK_SIZE]).unwrap();
            assert_eq!(cp.slot_offset(), at, "checkpoint {} in the slot its parity names", cp.no);
            assert!(f.log[at + 32..at + 508].iter().all(|&b| b == 0), "checkpoint block past its fields is zero");
            // innodb_log_buffer_size, 16 MiB by default.
            assert_eq!(cp.log_buf_size, 16 << 20);
            // The header's start LSN is the LSN of file 0's first data byte, the ring's anchor.
            assert_eq!(g.lsn_offset(cp.lsn, h.start_lsn, LOG_FILE_HDR_SIZE), cp.offset, "checkpoint {}", cp.no);
            assert_eq!(cp.offset % 512, cp.lsn % 512);
            cp
        })
        .collect();
    let (old, new) = if slots[0].no > slots[1].no { (slots[1], slots[0]) } else { (slots[0], slots[1]) };
    assert_eq!(old.no + 1, new.no, "the two slots hold consecutive checkpoints");
    assert!(old.lsn <= new.lsn);
    assert_eq!(f.cp, new, "newest_checkpoint takes the larger number");
}

#[test]
fn every_block_passes_the_engines_checks() {
    let f = fixture();
    let ring_blocks = RingGeometry::new(2, FILE_SIZE).unwrap().ring_blocks();
    let n = f.log[HDR..].len() / LOG_BLOCK_SIZE;
    assert_eq!(f.log.len(), HDR + n * LOG_BLOCK_SIZE, "whole blocks only");
    assert!(f.cp.lsn >= first_block_lsn(&f.cp) + LOG_BLOCK_HDR_SIZE as u64);
    let mut flush_bits = 0;
    for (i, (lsn, b)) in blocks(&f).enumerate() {
        assert_eq!(mysql57::block_checksum_kind(b), Some(BlockChecksum::Crc32c), "block at LSN {lsn}");
        let h = BlockHeader::parse(b).unwrap();
        assert_eq!(h.block_no, mysql57::block_no_for_lsn(lsn), "block at LSN {lsn}");
        let last = i + 1 == n;
        let want_len = if last { (f.end_lsn - lsn) as u16 } else { LOG_BLOCK_SIZE as u16 };
        assert_eq!(h.data_len, want_len, "block at LSN {lsn} (last: {last})");
        assert_eq!(mysql57::classify_block(b, lsn, ring_blocks), BlockClass::Current { data_len: h.data_len });
        // log_sys->next_checkpoint_no when the block filled up (or, for the last block of
        // a write, was written): never past the newest checkpoint's successor, which the
        // last block has. (In this sample every block has it: the checkpoint came while
        // no page was dirty, so no block before it is kept.)
        assert!(u64::from(h.checkpoint_no) <= f.cp.no + 1, "block at LSN {lsn}");
        if last {
            assert_eq!(u64::from(h.checkpoint_no), f.cp.no + 1, "block at LSN {lsn}");
        }
        flush_bits += usize::from(h.flush_bit);
    }
    assert!(f.end_lsn > f.cp.lsn && f.end_lsn <= first_block_lsn(&f.cp) + (n * LOG_BLOCK_SIZE) as u64);
    assert!(flush_bits > 0, "the first block of every log write carries the flush bit");
}

/// first_rec_group is where the first mtr commit that starts in the block starts
/// (the end of the log counts: log_close() sets it for the next one), 0 if none
/// does. A checkpoint's MLOG_FILE_NAME records and its MLOG_CHECKPOINT are one
/// commit (mtr_t::commit_checkpoint).
#[test]
fn first_rec_group_is_the_first_mtr_start_in_the_block() {
    let f = fixture();
    let mtrs = mtrs(&f);
    let names_only =
        |m: &Mtr| m.records.iter().all(|(d, _)| matches!(d.record, Record::FileName { .. } | Record::MultiRecEnd));
    let mut starts: Vec<Lsn> = mtrs
        .iter()
        .enumerate()
        .filter(|(i, m)| {
            let checkpoint = matches!(m.records[..], [(Decoded { record: Record::Checkpoint { .. }, .. }, _)]);
            !(checkpoint && i.checked_sub(1).is_some_and(|j| names_only(&mtrs[j])))
        })
        .map(|(_, m)| m.start)
        .collect();
    starts.push(f.end_lsn);
    for (lsn, b) in blocks(&f) {
        let h = BlockHeader::parse(b).unwrap();
        let first = starts.iter().find(|&&s| s >= lsn && s < lsn + LOG_BLOCK_SIZE as u64);
        if lsn < f.cp.lsn && f.cp.lsn < lsn + LOG_BLOCK_SIZE as u64 {
            // The checkpoint's block: mtrs before the checkpoint LSN are not decoded here.
            assert!(h.first_rec_group != 0 && lsn + u64::from(h.first_rec_group) <= f.cp.lsn.max(*first.unwrap()));
            continue;
        }
        let want = first.map_or(0, |s| (s - lsn) as u16);
        assert_eq!(h.first_rec_group, want, "block at LSN {lsn}");
    }
}

struct NoPages;
impl PageStore for NoPages {
    fn page_mut(&mut self, _space: u32, _page: u32) -> Option<&mut [u8]> {
        None
    }
}

#[test]
fn every_mtr_decodes_up_to_the_end_of_the_log() {
    let f = fixture();
    let mtrs = mtrs(&f);
    assert_eq!(mtrs.first().map(|m| m.start), Some(f.cp.lsn));
    assert_eq!(mtrs.last().map(|m| m.end), Some(f.end_lsn), "the last mtr ends where the log ends");
    let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &mtrs {
        for (_, raw) in &m.records {
            *histogram.entry(body::type_name(type_of(raw))).or_default() += 1;
        }
    }
    println!("{} mtrs from LSN {} to {}:", mtrs.len(), f.cp.lsn, f.end_lsn);
    for (name, n) in &histogram {
        println!("  {name:32} {n}");
    }
    // What the workload is there for (see the fixture's README).
    for name in [
        "MLOG_FILE_NAME",
        "MLOG_CHECKPOINT",
        "MLOG_FILE_CREATE2",
        "MLOG_FILE_RENAME2",
        "MLOG_FILE_DELETE",
        "MLOG_INDEX_LOAD",
        "MLOG_COMP_REC_INSERT",
        "MLOG_COMP_REC_UPDATE_IN_PLACE",
        "MLOG_COMP_REC_CLUST_DELETE_MARK",
        "MLOG_REC_SEC_DELETE_MARK",
        "MLOG_COMP_PAGE_CREATE",
        "MLOG_INIT_FILE_PAGE2",
        "MLOG_TRUNCATE",
        "MLOG_UNDO_INSERT",
        "MLOG_MULTI_REC_END",
        "MLOG_1BYTE",
        "MLOG_2BYTES",
        "MLOG_4BYTES",
        "MLOG_8BYTES",
    ] {
        assert!(histogram.contains_key(name), "no {name} in the fixture: {histogram:?}");
    }
    // The prepare code's own walk agrees (no page is in the store: nothing is applied).
    let report = apply_log(&f.log, f.cp.lsn, f.end_lsn, &mut NoPages).unwrap();
    assert_eq!(report.mtrs, mtrs.len() as u64);
    assert_eq!(report.end_lsn, f.end_lsn);
}

#[test]
fn records_re_encode_to_the_servers_bytes() {
    let f = fixture();
    let mut same: BTreeMap<&str, usize> = BTreeMap::new();
    let mut differ: BTreeMap<&str, usize> = BTreeMap::new();
    let mut first_diff: BTreeMap<&str, String> = BTreeMap::new();
    for m in mtrs(&f) {
        for (d, raw) in &m.records {
            let name = body::type_name(type_of(raw));
            let mut out = Vec::new();
            mlog::encode_record(&d.record, d.single, &mut out);
            if &out == raw {
                *same.entry(name).or_default() += 1;
            } else {
                *differ.entry(name).or_default() += 1;
                first_diff.entry(name).or_insert_with(|| format!("LSN {}: real {raw:02x?} ours {out:02x?}", m.start));
            }
        }
    }
    println!("byte-identical after decode + encode: {same:?}");
    println!("not identical: {differ:?}");
    for (name, diff) in &first_diff {
        println!("  {name}: {diff}");
    }
    // The server writes every integer in its shortest compressed form and every body
    // in the one layout the encoder writes: no record type is exempt.
    assert!(differ.is_empty(), "records the encoder writes differently from the server: {differ:?}");
    assert!(same.len() >= 25, "{same:?}");
}

/// At a checkpoint the server writes MLOG_FILE_NAME for the tablespaces changed
/// since the previous one (one mtr: one record flagged single, or several and
/// MLOG_MULTI_REC_END), then MLOG_CHECKPOINT with the checkpoint LSN: exactly
/// what `mlog::encode_checkpoint_group` (the simulator's) writes.
#[test]
fn the_checkpoint_group_is_what_encode_checkpoint_group_writes() {
    let f = fixture();
    let mtrs = mtrs(&f);
    let at = mtrs
        .iter()
        .position(
            |m| matches!(m.records[..], [(Decoded { record: Record::Checkpoint { lsn }, .. }, _)] if lsn == f.cp.lsn),
        )
        .expect("an MLOG_CHECKPOINT with the checkpoint's LSN after it");
    assert!(at >= 1, "MLOG_FILE_NAME records before MLOG_CHECKPOINT");
    let names_mtr = &mtrs[at - 1];
    let mut names = Vec::new();
    for (d, _) in &names_mtr.records {
        match &d.record {
            Record::FileName { space, page: 0, name } => names.push((*space, name.clone())),
            Record::MultiRecEnd => {}
            other => panic!("{other:?} in the checkpoint's MLOG_FILE_NAME mtr"),
        }
    }
    println!("checkpoint {} at LSN {}: MLOG_FILE_NAME {names:?}", f.cp.no, f.cp.lsn);
    assert!(!names.is_empty());
    for (space, name) in &names {
        // File-per-table tablespaces by "./schema/table.ibd"; never the system or an undo
        // tablespace (mtr_t::Command::prepare_write omits the predefined ones).
        assert!(*space != 0 && name.starts_with("./") && name.ends_with(".ibd"), "space {space}: {name:?}");
    }
    let real: Vec<u8> = names_mtr.records.iter().chain(&mtrs[at].records).flat_map(|(_, raw)| raw.clone()).collect();
    assert_eq!(mlog::encode_checkpoint_group(&names, f.cp.lsn), real);
    assert!(names_mtr.start >= f.cp.lsn);
}
