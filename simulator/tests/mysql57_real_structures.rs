//! The simulator's MySQL 5.7 redo and tablespaces against what a real 5.7.41
//! server wrote (engine/tests/fixtures/mysql57-redo, see its README.md): one
//! set of rules, drawn from the real bytes and 5.7's log0log.cc / fil0fil.cc,
//! checked on both, so that a rule the real server breaks is a wrong rule and
//! one the simulator breaks is a simulator bug.
//!
//! Rules: the log file header (format, start LSN, creator "MySQL 5.7.N", nothing
//! else); the checkpoint slots (number parity, LSN and its group offset, the log
//! buffer size, nothing else); every block's header (number, data length,
//! first_rec_group = the first mtr starting in it, the checkpoint number, flush
//! bits); the records (all decode, up to the end of the log); the checkpoint's
//! MLOG_FILE_NAME + MLOG_CHECKPOINT group; page 0's FIL and FSP headers.

use innohot::format::mysql57::{
    self, mlog, BlockChecksum, BlockHeader, Checkpoint, LogFileHeader, RingGeometry, LOG_BLOCK_DATA_END,
    LOG_BLOCK_HDR_SIZE, LOG_BLOCK_SIZE, LOG_FILE_HDR_SIZE,
};
use innohot::format::page;
use innohot::format::Lsn;
use innohot_simulator::config::{extent_pages, Flavor, Scenario};
use innohot_simulator::server::SimServer;
use innohot_simulator::SimConfig;
use mlog::Record;
use std::os::unix::fs::FileExt;

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../engine/tests/fixtures/mysql57-redo");
const HDR: usize = LOG_FILE_HDR_SIZE as usize;
const PER_BLOCK: usize = LOG_BLOCK_DATA_END - LOG_BLOCK_HDR_SIZE;

/// A log as a backup copies it: file 0's first 2048 bytes, the blocks from the
/// newest checkpoint's block on, and where the written log ends.
struct Redo {
    label: String,
    geometry: RingGeometry,
    head: Vec<u8>,
    blocks: Vec<u8>,
    end_lsn: Lsn,
    /// The header block of every file after the first.
    other_headers: Vec<Vec<u8>>,
}

impl Redo {
    fn real() -> Self {
        let log = std::fs::read(format!("{REAL}/xtrabackup_logfile")).expect("the real 5.7 redo fixture");
        let end = std::fs::read_to_string(format!("{REAL}/end_lsn")).expect("the fixture's end_lsn");
        Redo {
            label: "real 5.7.41".into(),
            geometry: RingGeometry::new(2, 4 << 20).unwrap(),
            head: log[..HDR].to_vec(),
            blocks: log[HDR..].to_vec(),
            end_lsn: end.trim().parse().unwrap(),
            // ib_logfile1 was all zeros: the log never reached it (see the README).
            other_headers: vec![vec![0; LOG_BLOCK_SIZE]],
        }
    }

    fn simulated(server: &SimServer) -> Self {
        let g = RingGeometry::new(server.cfg.log_files, server.cfg.log_file_size).unwrap();
        let files: Vec<std::fs::File> = (0..g.files)
            .map(|i| std::fs::File::open(server.paths.real_datadir.join(format!("ib_logfile{i}"))).unwrap())
            .collect();
        let mut head = vec![0u8; HDR];
        files[0].read_exact_at(&mut head, 0).unwrap();
        let cp = mysql57::newest_checkpoint(&head).unwrap();
        let start = cp.lsn - cp.lsn % LOG_BLOCK_SIZE as u64;
        let end_lsn = server.flushed_lsn();
        let len = (end_lsn - start).div_ceil(LOG_BLOCK_SIZE as u64) * LOG_BLOCK_SIZE as u64;
        let mut blocks = Vec::new();
        for span in g.spans(start, len, cp.lsn, cp.offset) {
            let mut buf = vec![0u8; span.len as usize];
            files[span.file as usize].read_exact_at(&mut buf, span.offset).unwrap();
            blocks.extend(buf);
        }
        let other_headers = files[1..]
            .iter()
            .map(|f| {
                let mut b = vec![0u8; LOG_BLOCK_SIZE];
                f.read_exact_at(&mut b, 0).unwrap();
                b
            })
            .collect();
        Redo { label: format!("simulated, {}", server.cfg), geometry: g, head, blocks, end_lsn, other_headers }
    }

    fn checkpoint(&self) -> Checkpoint {
        mysql57::newest_checkpoint(&self.head).unwrap()
    }

    fn first_block_lsn(&self) -> Lsn {
        let cp = self.checkpoint();
        cp.lsn - cp.lsn % LOG_BLOCK_SIZE as u64
    }

    fn block_iter(&self) -> impl Iterator<Item = (Lsn, &[u8])> {
        let start = self.first_block_lsn();
        self.blocks.chunks(LOG_BLOCK_SIZE).enumerate().map(move |(i, b)| (start + (i * LOG_BLOCK_SIZE) as u64, b))
    }

    /// Every mtr from the checkpoint LSN to the end: (start, end, records).
    fn mtrs(&self) -> Vec<(Lsn, Lsn, Vec<Record>)> {
        let first = self.first_block_lsn();
        let mut data = Vec::new();
        for (_, b) in self.block_iter() {
            let h = BlockHeader::parse(b).unwrap();
            data.extend_from_slice(&b[LOG_BLOCK_HDR_SIZE..usize::from(h.data_len).min(LOG_BLOCK_DATA_END)]);
        }
        let lsn_at =
            |pos: usize| first + (pos / PER_BLOCK * LOG_BLOCK_SIZE + LOG_BLOCK_HDR_SIZE + pos % PER_BLOCK) as u64;
        let cp = self.checkpoint();
        let mut pos = ((cp.lsn - first) / 512) as usize * PER_BLOCK + (cp.lsn % 512) as usize - LOG_BLOCK_HDR_SIZE;
        let mut out = Vec::new();
        while pos < data.len() {
            let start = lsn_at(pos);
            let mut records = Vec::new();
            loop {
                let d = match mlog::decode_record(&data[pos..]) {
                    Ok(Some(d)) => d,
                    other => panic!("{}: record at LSN {}: {other:?}", self.label, lsn_at(pos)),
                };
                pos += d.len;
                let ends = d.single || matches!(d.record, Record::MultiRecEnd | Record::Checkpoint { .. });
                records.push(d.record);
                if ends {
                    break;
                }
            }
            out.push((start, lsn_at(pos), records));
        }
        out
    }
}

/// Block 0 of a log file: format 1, start LSN at 8, "MySQL 5.7.N" at 16, zeros, CRC-32C.
fn check_file_header(label: &str, block: &[u8]) -> LogFileHeader {
    let h = LogFileHeader::parse(block).unwrap_or_else(|e| panic!("{label}: {e}"));
    let version = h.creator.strip_prefix("MySQL 5.7.").unwrap_or_else(|| panic!("{label}: creator {:?}", h.creator));
    assert!(!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()), "{label}: creator {:?}", h.creator);
    assert_eq!(&block[4..8], &[0; 4], "{label}");
    assert!(block[16 + h.creator.len()..508].iter().all(|&b| b == 0), "{label}: bytes after the creator");
    assert!(
        h.start_lsn >= mysql57::LOG_START_LSN && h.start_lsn.is_multiple_of(512),
        "{label}: start LSN {}",
        h.start_lsn
    );
    h
}

fn check_header_and_checkpoints(r: &Redo) {
    let label = &r.label;
    let h = check_file_header(label, &r.head[..LOG_BLOCK_SIZE]);
    assert!(r.head[1024..1536].iter().all(|&b| b == 0), "{label}: 1024..1536");
    let g = r.geometry;
    let cps: Vec<Checkpoint> = [mysql57::LOG_CHECKPOINT_1, mysql57::LOG_CHECKPOINT_2]
        .iter()
        .map(|&at| {
            let cp = Checkpoint::parse(&r.head[at..at + LOG_BLOCK_SIZE]).unwrap();
            assert_eq!(cp.slot_offset(), at, "{label}: checkpoint {} in the slot of its parity", cp.no);
            assert_eq!(cp.log_buf_size, 16 << 20, "{label}: innodb_log_buffer_size");
            assert!(r.head[at + 32..at + 508].iter().all(|&b| b == 0), "{label}: checkpoint block after its fields");
            assert_eq!(cp.offset % 512, cp.lsn % 512, "{label}");
            cp
        })
        .collect();
    let (old, new) = if cps[0].no < cps[1].no { (cps[0], cps[1]) } else { (cps[1], cps[0]) };
    assert_eq!(old.no + 1, new.no, "{label}: consecutive checkpoints");
    assert!(old.lsn <= new.lsn, "{label}");
    // Both checkpoints place their LSNs on one ring.
    assert_eq!(g.lsn_offset(old.lsn, new.lsn, new.offset), old.offset, "{label}");
    // A file's header names the LSN of its first data byte in the lap that wrote it
    // last: one the writer reached, at or before the end of the log.
    let anchored = |hdr: &LogFileHeader, file: u64| {
        assert_eq!(g.lsn_offset(hdr.start_lsn, new.lsn, new.offset), file * g.file_size + LOG_FILE_HDR_SIZE, "{label}");
        assert!(hdr.start_lsn <= r.end_lsn, "{label}: file {file} starts at {} after the log's end", hdr.start_lsn);
    };
    anchored(&h, 0);
    for (i, block) in r.other_headers.iter().enumerate() {
        // A file the writer has not entered yet has no header.
        if block.iter().any(|&b| b != 0) {
            anchored(&check_file_header(label, block), i as u64 + 1);
        }
    }
}

fn check_blocks(r: &Redo) {
    let label = &r.label;
    let cp = r.checkpoint();
    let n = r.blocks.len() / LOG_BLOCK_SIZE;
    let mtrs = r.mtrs();
    assert_eq!(mtrs.first().map(|m| m.0), Some(cp.lsn), "{label}: an mtr starts at the checkpoint LSN");
    assert_eq!(mtrs.last().map(|m| m.1), Some(r.end_lsn), "{label}: the last mtr ends where the log ends");
    // Where each log write of an mtr commit starts: a checkpoint's MLOG_FILE_NAME
    // records and its MLOG_CHECKPOINT are one commit (mtr_t::commit_checkpoint).
    let mut starts: Vec<Lsn> = mtrs
        .iter()
        .enumerate()
        .filter(|(i, m)| {
            let names_before = i
                .checked_sub(1)
                .is_some_and(|j| mtrs[j].2.iter().all(|r| matches!(r, Record::FileName { .. } | Record::MultiRecEnd)));
            !(matches!(m.2[..], [Record::Checkpoint { .. }]) && names_before)
        })
        .map(|(_, m)| m.0)
        .collect();
    starts.push(r.end_lsn);
    // The MLOG_CHECKPOINT of the newest checkpoint: blocks written after it carry the next number.
    let group_end = mtrs
        .iter()
        .find(|m| matches!(m.2[..], [Record::Checkpoint { lsn }] if lsn == cp.lsn))
        .map(|m| m.1)
        .unwrap_or_else(|| panic!("{label}: no MLOG_CHECKPOINT({}) after the checkpoint", cp.lsn));
    let (mut flush_bits, mut previous_no) = (0, 0);
    for (i, (lsn, b)) in r.block_iter().enumerate() {
        assert_eq!(mysql57::block_checksum_kind(b), Some(BlockChecksum::Crc32c), "{label}: block at {lsn}");
        let h = BlockHeader::parse(b).unwrap();
        assert_eq!(h.block_no, mysql57::block_no_for_lsn(lsn), "{label}: block at {lsn}");
        let last = i + 1 == n;
        let want_len = if last { (r.end_lsn - lsn) as u16 } else { LOG_BLOCK_SIZE as u16 };
        assert_eq!(h.data_len, want_len, "{label}: block at {lsn}");
        // log_close(): the first commit that starts in the block (the checkpoint's
        // block may hold earlier ones, not decoded here).
        let first = starts.iter().find(|&&s| s >= lsn && s < lsn + LOG_BLOCK_SIZE as u64).copied();
        if i == 0 && lsn + u64::from(h.first_rec_group) < cp.lsn {
            assert!(h.first_rec_group >= LOG_BLOCK_HDR_SIZE as u16, "{label}: block at {lsn}");
        } else {
            assert_eq!(h.first_rec_group, first.map_or(0, |s| (s - lsn) as u16), "{label}: block at {lsn}");
        }
        // The checkpoint number the server would write next when the block filled up,
        // or for the last block of a write, when it was written: never past the newest
        // checkpoint's successor, which every block written after its MLOG_CHECKPOINT has.
        // (The checkpoint LSN is the oldest dirty page's, so blocks before the group may
        // be older than several checkpoints.)
        let no = u64::from(h.checkpoint_no);
        assert!(no <= cp.no + 1, "{label}: block at {lsn}: checkpoint_no {no}, newest {}", cp.no);
        assert!(no >= previous_no, "{label}: block at {lsn}");
        if lsn + LOG_BLOCK_SIZE as u64 > group_end || last {
            assert_eq!(no, cp.no + 1, "{label}: block at {lsn} written after checkpoint {}", cp.no);
        }
        previous_no = no;
        flush_bits += usize::from(h.flush_bit);
    }
    // Set on the first block of every write, so neither on none nor (with writes
    // longer than a block) on all.
    assert!(flush_bits > 0, "{label}: no block has the flush bit");
    assert!(n < 8 || flush_bits < n, "{label}: every block has the flush bit");
}

/// MLOG_FILE_NAME for each tablespace changed since the previous checkpoint, in
/// an mtr of its own (or none), then MLOG_CHECKPOINT: what encode_checkpoint_group writes.
fn check_checkpoint_group(r: &Redo) {
    let label = &r.label;
    let cp = r.checkpoint();
    let mtrs = r.mtrs();
    let at = mtrs.iter().position(|m| matches!(m.2[..], [Record::Checkpoint { lsn }] if lsn == cp.lsn)).unwrap();
    let names: Vec<(u32, String)> = match mtrs[..at].last() {
        Some((_, _, records)) if records.iter().all(|r| matches!(r, Record::FileName { .. } | Record::MultiRecEnd)) => {
            records
                .iter()
                .filter_map(|r| match r {
                    Record::FileName { space, page: 0, name } => Some((*space, name.clone())),
                    _ => None,
                })
                .collect()
        }
        _ => Vec::new(),
    };
    for (space, name) in &names {
        // Not the system tablespace (5.7 names user tablespaces only); a path ending in .ibd.
        assert!(*space != 0, "{label}: MLOG_FILE_NAME of the system tablespace");
        assert!((name.starts_with("./") || name.starts_with('/')) && name.ends_with(".ibd"), "{label}: {name:?}");
    }
    let group_start = if names.is_empty() { mtrs[at].0 } else { mtrs[at - 1].0 };
    assert!(group_start >= cp.lsn, "{label}");
    let want = mlog::encode_checkpoint_group(&names, cp.lsn);
    let mut got = Vec::new();
    for (_, _, records) in &mtrs[if names.is_empty() { at } else { at - 1 }..=at] {
        let single = records.len() == 1 && !matches!(records[0], Record::Checkpoint { .. });
        for rec in records {
            mlog::encode_record(rec, single, &mut got);
        }
    }
    assert_eq!(got, want, "{label}: the checkpoint's group");
}

/// Where file records sit: the MLOG_FILE_NAME of a tablespace an mtr is the first
/// to change since the checkpoint comes after the mtr's other records, and makes
/// it a multi-record mtr even when it has one (mtr_t::Command::prepare_write);
/// CREATE is MLOG_FILE_CREATE2 and the new file's MLOG_FILE_NAME; RENAME, DELETE
/// and MLOG_INDEX_LOAD (on the new index's root page, not page 0) are mtrs of
/// their own.
fn check_mtr_shapes(r: &Redo) -> usize {
    let label = &r.label;
    let mut named = 0;
    for (start, _, records) in r.mtrs() {
        let is_name = |rec: &Record| matches!(rec, Record::FileName { .. });
        let body = match records.last() {
            Some(Record::MultiRecEnd) => &records[..records.len() - 1],
            _ => &records[..],
        };
        if body.iter().all(is_name) {
            continue; // a checkpoint's MLOG_FILE_NAME records (or none)
        }
        if let Some(first) = body.iter().position(is_name) {
            assert!(body[first..].iter().all(is_name), "{label}: mtr at {start}: MLOG_FILE_NAME before other records");
            assert!(matches!(records.last(), Some(Record::MultiRecEnd)), "{label}: mtr at {start}");
            named += 1;
        }
        for (i, rec) in body.iter().enumerate() {
            match rec {
                Record::FileCreate { space, .. } => {
                    assert_eq!(i, 0, "{label}: mtr at {start}");
                    assert!(
                        matches!(body.get(1), Some(Record::FileName { space: s, .. }) if s == space),
                        "{label}: mtr at {start}: {records:?}"
                    );
                }
                Record::FileRename { .. } | Record::FileDelete { .. } => {
                    assert_eq!(records.len(), 1, "{label}: mtr at {start}: {records:?}");
                }
                Record::IndexLoad { page, .. } => {
                    assert_eq!(records.len(), 1, "{label}: mtr at {start}: {records:?}");
                    assert!(*page >= 3, "{label}: mtr at {start}: MLOG_INDEX_LOAD on page {page}");
                }
                _ => {}
            }
        }
    }
    named
}

/// What recovery from the checkpoint needs (and 5.7's fil_names_clear() keeps by
/// naming every tablespace changed since it was last clean at a checkpoint): every
/// tablespace with page records after the checkpoint LSN, but the system and undo
/// tablespaces, has an MLOG_FILE_NAME after the checkpoint LSN too.
fn check_changed_spaces_are_named(r: &Redo, predefined: &[u32]) {
    let (mut changed, mut named) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    for (_, _, records) in r.mtrs() {
        for rec in &records {
            match rec {
                Record::FileName { space, .. } | Record::FileCreate { space, .. } => {
                    named.insert(*space);
                }
                _ => {
                    if let Some((space, _)) = rec.page_id().filter(|(s, _)| !predefined.contains(s)) {
                        changed.insert(space);
                    }
                }
            }
        }
    }
    let unnamed: Vec<_> = changed.difference(&named).collect();
    assert!(unnamed.is_empty(), "{}: changed after the checkpoint, never named: {unnamed:?}", r.label);
}

fn check_redo(r: &Redo, predefined: &[u32]) -> usize {
    check_header_and_checkpoints(r);
    check_blocks(r);
    check_checkpoint_group(r);
    check_changed_spaces_are_named(r, predefined);
    check_mtr_shapes(r)
}

#[test]
fn the_rules_hold_for_the_real_servers_redo() {
    assert!(check_redo(&Redo::real(), &[0]) > 0, "mtrs that name a tablespace");
}

#[test]
fn the_simulated_redo_follows_the_real_servers_rules() {
    let (mut checked, mut named) = (0, 0);
    for seed in 0..6 {
        let scenario = if seed % 2 == 0 { Scenario::Default } else { Scenario::Ddl };
        let cfg = SimConfig::for_flavor(seed, Flavor::Mysql57, scenario);
        let dir = tempfile::tempdir().unwrap();
        let mut server = SimServer::start(cfg, dir.path()).unwrap();
        for round in 0..3 {
            for _ in 0..400 {
                server.act();
            }
            if round < 2 {
                server.checkpoint_now();
            }
        }
        server.flush_log();
        let r = Redo::simulated(&server);
        let predefined: Vec<u32> = server.spaces.iter().filter(|s| s.is_system).map(|s| s.id).collect();
        named += check_redo(&r, &predefined);
        checked += 1;
    }
    assert_eq!(checked, 6);
    assert!(named > 0, "mtrs that name a tablespace");
}

/// Page 0 of a file-per-table tablespace: FIL header (page 0, no neighbours,
/// no flush LSN, the space id twice), FSP header (FSP_NOT_USED 0, the size,
/// a free limit in whole extents, the flags), the crc32 checksum.
fn check_page0(label: &str, p: &[u8], logical_size: usize) {
    let be32 = |at: usize| u32::from_be_bytes(p[at..at + 4].try_into().unwrap());
    assert_eq!(be32(page::FIL_PAGE_OFFSET), 0, "{label}");
    assert_eq!((be32(page::FIL_PAGE_PREV), be32(page::FIL_PAGE_NEXT)), (0, 0), "{label}: page 0 links nowhere");
    assert_eq!(u16::from_be_bytes([p[24], p[25]]), page::PAGE_TYPE_FSP_HDR, "{label}");
    assert_eq!(&p[page::FIL_PAGE_FILE_FLUSH_LSN..page::FIL_PAGE_FILE_FLUSH_LSN + 8], &[0; 8], "{label}");
    let fsp = page::fsp_header(p).unwrap();
    assert_eq!(fsp.space_id, be32(page::FIL_PAGE_SPACE_ID), "{label}");
    assert_eq!(be32(page::FSP_SPACE_ID + 4), 0, "{label}: FSP_NOT_USED");
    let extent = extent_pages(logical_size);
    let free_limit = be32(page::FSP_FREE_LIMIT);
    assert!(free_limit >= extent && free_limit % extent == 0, "{label}: free limit {free_limit}, extent {extent}");
    assert!(fsp.size_pages >= 4, "{label}");
    // 5.7 file-per-table, ROW_FORMAT=DYNAMIC: post-Antelope and atomic blobs, page_ssize.
    assert_eq!(fsp.flags & 0x3F, 0x21, "{label}: flags {:#x}", fsp.flags);
    assert_eq!(page::layout_from_flags(fsp.flags).unwrap().logical_size, logical_size, "{label}");
    let mut copy = p.to_vec();
    page::stamp_legacy_crc32(&mut copy);
    assert_eq!(copy, p, "{label}: the crc32 checksum and the trailer");
}

/// Pages 1 and 2 (ibuf bitmap, inode) link nowhere either: 0, not FIL_NULL; an
/// index page with no neighbours has FIL_NULL.
fn check_other_pages(label: &str, pages: &[&[u8]]) {
    let links = |p: &[u8]| {
        (u32::from_be_bytes(p[8..12].try_into().unwrap()), u32::from_be_bytes(p[12..16].try_into().unwrap()))
    };
    assert_eq!(links(pages[1]), (0, 0), "{label}: page 1");
    assert_eq!(links(pages[2]), (0, 0), "{label}: page 2");
    for p in &pages[3..] {
        if u16::from_be_bytes([p[24], p[25]]) == page::PAGE_TYPE_INDEX {
            assert_eq!(links(p), (page::FIL_NULL, page::FIL_NULL), "{label}: a root page");
        }
    }
}

#[test]
fn page_zero_of_a_simulated_tablespace_is_like_a_real_ones() {
    let real = std::fs::read(format!("{REAL}/t1.ibd.head")).expect("the real t1.ibd pages");
    let real_pages: Vec<&[u8]> = real.chunks(16384).collect();
    check_page0("real fx/t1.ibd", real_pages[0], 16384);
    check_other_pages("real fx/t1.ibd", &real_pages);
    for seed in 0..6 {
        let cfg = SimConfig::for_flavor(seed, Flavor::Mysql57, Scenario::Default);
        let dir = tempfile::tempdir().unwrap();
        let d = innohot_simulator::datadir::build(&cfg, dir.path()).unwrap();
        for s in d.spaces.iter().filter(|s| !s.is_system) {
            let label = format!("seed {seed}: {}", s.rel.display());
            check_page0(&label, &s.pages[0], cfg.page_size);
            let pages: Vec<&[u8]> = s.pages.iter().map(|p| p.as_slice()).collect();
            check_other_pages(&label, &pages);
        }
    }
}
