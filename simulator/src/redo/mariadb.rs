//! MariaDB 10.8+'s redo log: one `ib_logfile0`, a 12288-byte header (file
//! header at 0, checkpoint blocks at 4096 and 8192) and a ring of
//! mini-transactions from offset 12288 on. Each mtr is its records, a
//! termination byte (the sequence bit of its LSN: 1 on even laps, 0 on odd
//! ones) and the CRC-32C of the records. A write ends with zeros up to the next
//! write block, as the server's does; a checkpoint writes FILE_MODIFY for the
//! tablespaces changed since the last one and FILE_CHECKPOINT, makes them
//! durable, then fills the other checkpoint block.

use super::{Encoded, FileOp, Mtr, PageChange, PageOp, SimRedoWriter};
use crate::config::SimConfig;
use crate::rng::Rng;
use crate::truth::Truth;
use innohot::format::mariadb::{
    self, encode_page_edit, encode_record, seal_mtr, Checkpoint, Header, PageEdit, PageId, Record, Ring, CHECKPOINT_1,
    CHECKPOINT_2, MTR_TRAILER, START_OFFSET,
};
use innohot::format::{page, Lsn};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// What the simulated server writes as the log's creator.
pub const CREATOR: &str = "MariaDB 10.11.19";

pub struct MariaDbLog {
    file: File,
    file_size: u64,
    ring: Ring,
    write_block: u64,
    previous_lap: bool,
    /// End of the log in memory.
    lsn: Lsn,
    /// End of the log on disk.
    flushed_lsn: Lsn,
    /// End of the zeros the last write put after `flushed_lsn`.
    written_lsn: Lsn,
    /// The log bytes from `flushed_lsn` to `lsn`, not yet written.
    buf: Vec<u8>,
    checkpoint_lsn: Lsn,
    /// The checkpoint block the next checkpoint goes to (0: offset 4096, 1: 8192).
    next_slot: usize,
    phantom_tail_percent: u64,
    /// Its own stream, so phantom tails leave every other draw as it was.
    phantom_rng: Rng,
    /// The phantom tail on disk now: its LSN and the bytes it covers.
    phantom: Option<(Lsn, Vec<u8>)>,
}

fn write_all_at(file: &File, data: &[u8], offset: u64) {
    file.write_all_at(data, offset).expect("simulator write to its own temp dir");
}

/// The record bytes of `mtr` (before the termination byte), as the server logs it:
/// records of the same page in a row continue it (same_page, offsets relative to the
/// end of the previous record's range).
pub fn encode_records(mtr: &Mtr) -> Vec<u8> {
    let mut out = Vec::new();
    let put =
        |out: &mut Vec<u8>, rec: &Record<'_>| encode_record(out, rec).expect("the simulator writes valid records");
    for f in &mtr.files {
        let rec = match f {
            FileOp::Modify { space, name } => {
                Record::File { op: mariadb::FileOp::Modify, space: *space, name: name.as_bytes(), new_name: None }
            }
            FileOp::Create { space, name, .. } => {
                Record::File { op: mariadb::FileOp::Create, space: *space, name: name.as_bytes(), new_name: None }
            }
            FileOp::Delete { space, name } => {
                Record::File { op: mariadb::FileOp::Delete, space: *space, name: name.as_bytes(), new_name: None }
            }
            FileOp::Rename { space, from, to } => Record::File {
                op: mariadb::FileOp::Rename,
                space: *space,
                name: from.as_bytes(),
                new_name: Some(to.as_bytes()),
            },
            FileOp::IndexLoad { .. } => panic!("MariaDB logs every index build: no MLOG_INDEX_LOAD"),
        };
        put(&mut out, &rec);
    }
    // The page the previous record changed and where its range ended (1: none may follow).
    let mut last: Option<(u32, u32)> = None;
    let mut last_offset = 0u32;
    for PageChange { space, page: page_no, op } in &mtr.pages {
        let id = PageId { space: *space, page: *page_no };
        let here = Some((*space, *page_no));
        let (edit, end) = match op {
            PageOp::Init | PageOp::Free => {
                let op = if *op == PageOp::Init { mariadb::PageOp::InitPage } else { mariadb::PageOp::FreePage };
                put(&mut out, &Record::Page { op, page: Some(id), payload: &[] });
                last = here;
                last_offset = if op == mariadb::PageOp::InitPage { page::FIL_PAGE_TYPE as u32 } else { 1 };
                continue;
            }
            PageOp::Write { offset, data, .. } => {
                (PageEdit::Write { offset: u32::from(*offset), data }, u32::from(*offset) + data.len() as u32)
            }
            PageOp::Memset { offset, len, fill } => (
                PageEdit::Memset { offset: u32::from(*offset), len: u32::from(*len), fill },
                u32::from(*offset) + u32::from(*len),
            ),
            PageOp::Memmove { offset, len, from } => (
                PageEdit::Memmove {
                    offset: u32::from(*offset),
                    len: u32::from(*len),
                    source: i32::from(*from) - i32::from(*offset),
                },
                u32::from(*offset) + u32::from(*len),
            ),
        };
        let abs = edit.offset();
        let same = last == here && last_offset > 1 && abs >= last_offset;
        let edit = edit.with_offset(if same { abs - last_offset } else { abs });
        let (op, payload) = encode_page_edit(&edit);
        put(&mut out, &Record::Page { op, page: if same { None } else { Some(id) }, payload: &payload });
        last = here;
        last_offset = end;
    }
    out
}

impl MariaDbLog {
    /// Creates `ib_logfile0` (all zeros); `start` writes the header.
    pub fn create(cfg: &SimConfig, datadir: &Path) -> std::io::Result<Self> {
        let p = datadir.join("ib_logfile0");
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(p)?;
        file.set_len(cfg.log_file_size)?;
        let start = cfg.start_lsn;
        Ok(MariaDbLog {
            file,
            file_size: cfg.log_file_size,
            ring: Ring::new(start, cfg.log_file_size).expect("a ring after the 12288-byte header"),
            write_block: cfg.log_write_block.max(512),
            previous_lap: cfg.previous_lap,
            lsn: start,
            flushed_lsn: start,
            written_lsn: start,
            buf: Vec::new(),
            checkpoint_lsn: start,
            next_slot: 0,
            phantom_tail_percent: cfg.phantom_tail_percent,
            phantom_rng: Rng::new(cfg.seed ^ 0x7A11_F00D),
            phantom: None,
        })
    }

    /// Writes `bytes` at the ring positions of LSN `lsn` on.
    fn write_ring(&self, lsn: Lsn, bytes: &[u8]) {
        let mut at = 0usize;
        for (offset, n) in self.ring.spans(lsn, bytes.len() as u64) {
            write_all_at(&self.file, &bytes[at..at + n as usize], offset);
            at += n as usize;
        }
    }

    fn append_records(&mut self, records: Vec<u8>, truth: &mut Truth) -> (Lsn, Lsn) {
        let start = self.lsn;
        let records_len = records.len();
        let mtr = seal_mtr(records, self.ring.sequence_bit(start + records_len as u64));
        self.lsn += mtr.len() as u64;
        truth.mariadb_log.mtr_appended(start, &mtr, records_len);
        self.buf.extend_from_slice(&mtr);
        truth.redo_appended(start, self.lsn);
        (start, self.lsn)
    }

    /// A previous lap's mtrs in the ring behind `start`: page writes to tablespaces
    /// long gone, framed for their own lap (so their termination bytes are stale now).
    fn fill_previous_lap(&mut self, start: Lsn, rng: &mut Rng) {
        let from = start.saturating_sub(self.ring.capacity()).max(self.ring.first_lsn());
        let mut lap = Vec::with_capacity((start - from) as usize);
        let mut records = Vec::new();
        let mut data = Vec::new();
        while start - (from + lap.len() as u64) >= 64 {
            let lsn = from + lap.len() as u64;
            let room = (start - lsn - MTR_TRAILER as u64) as usize;
            data.resize(rng.range(1, (room - 16).min(300) as u64) as usize, 0);
            rng.fill(&mut data);
            let id = PageId { space: rng.range(1, 5000) as u32, page: rng.below(1 << 20) as u32 };
            let edit = PageEdit::Write { offset: rng.range(38, 16000) as u32, data: &data };
            let (op, payload) = encode_page_edit(&edit);
            records.clear();
            encode_record(&mut records, &Record::Page { op, page: Some(id), payload: &payload })
                .expect("a valid record");
            let bit = self.ring.sequence_bit(lsn + records.len() as u64);
            lap.extend_from_slice(&seal_mtr(std::mem::take(&mut records), bit));
        }
        self.write_ring(from, &lap);
    }

    /// Reads the ring bytes of `len` LSNs from `lsn`.
    fn read_ring(&self, lsn: Lsn, len: u64) -> Vec<u8> {
        let mut out = vec![0u8; len as usize];
        let mut at = 0usize;
        for (offset, n) in self.ring.spans(lsn, len) {
            self.file.read_exact_at(&mut out[at..at + n as usize], offset).expect("read the simulated ring");
            at += n as usize;
        }
        out
    }

    /// What a reader sees while a write is in flight on a real server: past the
    /// new end, stale log-buffer bytes that happen to be whole mtrs, with valid
    /// CRCs and this lap's termination byte, where the zeros will be.
    fn write_phantom_tail(&mut self, truth: &mut Truth) {
        let at = self.lsn;
        let mut tail = Vec::new();
        let mut records = Vec::new();
        let mut data = Vec::new();
        for _ in 0..self.phantom_rng.range(1, 4) {
            data.resize(self.phantom_rng.range(1, 40) as usize, 0);
            self.phantom_rng.fill(&mut data);
            let id = PageId { space: self.phantom_rng.range(1, 5000) as u32, page: self.phantom_rng.below(64) as u32 };
            let edit = PageEdit::Write { offset: self.phantom_rng.range(38, 4000) as u32, data: &data };
            let (op, payload) = encode_page_edit(&edit);
            records.clear();
            encode_record(&mut records, &Record::Page { op, page: Some(id), payload: &payload })
                .expect("a valid record");
            let lsn = at + tail.len() as u64;
            let bit = self.ring.sequence_bit(lsn + records.len() as u64);
            tail.extend_from_slice(&seal_mtr(std::mem::take(&mut records), bit));
        }
        let saved = self.read_ring(at, tail.len() as u64);
        self.write_ring(at, &tail);
        self.written_lsn = self.written_lsn.max(at + tail.len() as u64);
        self.phantom = Some((at, saved));
        truth.phantom_tails += 1;
    }

    fn write_checkpoint_block(&mut self, cp: Checkpoint, truth: &mut Truth) {
        let at = [CHECKPOINT_1, CHECKPOINT_2][self.next_slot];
        write_all_at(&self.file, &cp.encode(), at as u64);
        truth.mariadb_checkpoints.push(cp);
        self.next_slot ^= 1;
    }
}

impl SimRedoWriter for MariaDbLog {
    /// The header, a previous lap behind the start (when configured: then the log
    /// began more than a lap ago and the other checkpoint block holds an older
    /// checkpoint), then FILE_CHECKPOINT at the start LSN and its checkpoint block.
    fn start(&mut self, rng: &mut Rng, truth: &mut Truth) {
        let start = self.lsn;
        let cap = self.file_size - START_OFFSET;
        let first_lsn = if self.previous_lap { start - cap - rng.below(cap) } else { start };
        self.ring = Ring::new(first_lsn.max(mariadb::FIRST_LSN), self.file_size).expect("a valid ring");
        let header = Header { first_lsn: self.ring.first_lsn(), creator: CREATOR.into() };
        write_all_at(&self.file, &header.encode(), 0);
        if self.previous_lap {
            self.fill_previous_lap(start, rng);
            self.next_slot = rng.below(2) as usize;
            let old = start - cap / 2;
            self.write_checkpoint_block(Checkpoint { lsn: old, end_lsn: old }, &mut Truth::default());
        }
        self.checkpoint(start, &[], truth);
    }

    fn encode(&self, mtr: &Mtr) -> Encoded {
        let bytes = encode_records(mtr);
        Encoded { len: (bytes.len() + MTR_TRAILER) as u64, bytes }
    }

    fn append_encoded(&mut self, mtr: Encoded, truth: &mut Truth) -> (Lsn, Lsn) {
        self.append_records(mtr.bytes, truth)
    }

    /// Writes the buffered mtrs, then zeros to the end of the write block; now
    /// and then the write is caught in flight (`phantom_tail_percent`).
    fn flush(&mut self, truth: &mut Truth) {
        if self.lsn == self.flushed_lsn {
            return;
        }
        self.settle();
        let mut buf = std::mem::take(&mut self.buf);
        let end_offset = self.ring.offset(self.lsn);
        let pad = (self.write_block - end_offset % self.write_block) % self.write_block;
        buf.resize(buf.len() + pad as usize, 0);
        self.write_ring(self.flushed_lsn, &buf);
        buf.clear();
        self.buf = buf;
        self.flushed_lsn = self.lsn;
        self.written_lsn = self.written_lsn.max(self.lsn + pad);
        if self.phantom_tail_percent > 0 && self.phantom_rng.below(100) < self.phantom_tail_percent {
            self.write_phantom_tail(truth);
        }
    }

    fn settle(&mut self) {
        if let Some((at, saved)) = self.phantom.take() {
            self.write_ring(at, &saved);
        }
    }

    fn checkpoint(&mut self, lsn: Lsn, names: &[(u32, String)], truth: &mut Truth) {
        let mut records = Vec::new();
        for (space, name) in names {
            let rec =
                Record::File { op: mariadb::FileOp::Modify, space: *space, name: name.as_bytes(), new_name: None };
            encode_record(&mut records, &rec).expect("a valid FILE_MODIFY");
        }
        encode_record(&mut records, &Record::FileCheckpoint { lsn }).expect("a valid FILE_CHECKPOINT");
        let (end_lsn, _) = self.append_records(records, truth);
        self.flush(truth);
        self.write_checkpoint_block(Checkpoint { lsn, end_lsn }, truth);
        self.checkpoint_lsn = lsn;
    }

    fn lsn(&self) -> Lsn {
        self.lsn
    }
    fn flushed_lsn(&self) -> Lsn {
        self.flushed_lsn
    }
    fn checkpoint_lsn(&self) -> Lsn {
        self.checkpoint_lsn
    }
    fn capacity(&self) -> u64 {
        self.ring.capacity()
    }
    fn written_lsn(&self) -> Lsn {
        self.written_lsn
    }
    fn variables(&self) -> Vec<(&'static str, String)> {
        vec![("innodb_log_file_size", self.file_size.to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Flavor, Scenario};
    use innohot::format::mariadb::{parse_log_header, records, scan_mtr, MtrEnd, MtrScan};

    fn log_for(seed: u64, previous_lap: bool) -> (tempfile::TempDir, MariaDbLog, Truth, Rng) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Default);
        cfg.previous_lap = previous_lap;
        let mut log = MariaDbLog::create(&cfg, dir.path()).unwrap();
        let (mut truth, mut rng) = (Truth::default(), Rng::new(seed));
        log.start(&mut rng, &mut truth);
        (dir, log, truth, rng)
    }

    fn some_mtr(rng: &mut Rng) -> Mtr {
        let mut pages = Vec::new();
        let space = rng.range(1, 9) as u32;
        for _ in 0..rng.range(1, 5) {
            let page = rng.below(3) as u32;
            let offset = rng.range(38, 4000) as u16;
            let op = match rng.below(5) {
                0 => PageOp::Init,
                1 => PageOp::Memset { offset, len: rng.range(1, 90) as u16, fill: vec![rng.below(256) as u8] },
                2 => PageOp::Memmove { offset, len: rng.range(1, 30) as u16, from: offset + 40 },
                _ => PageOp::Write {
                    offset,
                    data: vec![rng.below(256) as u8; rng.range(1, 300) as usize],
                    string: false,
                },
            };
            pages.push(PageChange { space, page, op });
        }
        Mtr { files: vec![FileOp::Modify { space, name: format!("./d/t{space}.ibd") }], pages }
    }

    /// Walks the ring from `from`: the mtrs with termination bytes forced to 1, and how it ended.
    fn walk(file: &[u8], from: Lsn) -> (Vec<u8>, MtrEnd) {
        let (header, _) = parse_log_header(&file[..12288]).unwrap();
        let ring = Ring::new(header.first_lsn, file.len() as u64).unwrap();
        let (mut out, mut lsn) = (Vec::new(), from);
        loop {
            let mut run = Vec::new();
            for (off, len) in ring.spans(lsn, ring.capacity()) {
                run.extend_from_slice(&file[off as usize..(off + len) as usize]);
            }
            match scan_mtr(&run, lsn, &ring) {
                MtrScan::Mtr { len, records_len } => {
                    assert!(records(&run[..records_len]).all(|r| r.is_ok()), "an mtr at {lsn} the engine refuses");
                    run[records_len] = 1;
                    out.extend_from_slice(&run[..len]);
                    lsn += len as u64;
                }
                MtrScan::End(end) => return (out, end),
                MtrScan::Incomplete => panic!("incomplete at {lsn}"),
            }
        }
    }

    #[test]
    fn the_ring_reads_back_from_the_newest_checkpoint_across_laps() {
        for (seed, previous_lap) in [(1, true), (2, false), (3, true), (4, true)] {
            let (dir, mut log, mut truth, mut rng) = log_for(seed, previous_lap);
            let mut checkpoints = 0;
            let until = log.lsn() + 3 * log.capacity();
            while log.lsn() < until {
                let mtr = some_mtr(&mut rng);
                log.append(&mtr, &mut truth);
                if rng.chance(0.3) {
                    log.flush(&mut truth);
                }
                // Checkpoint well before the ring fills, as the server's make_room does.
                if log.lsn() + 4096 - log.checkpoint_lsn() > log.capacity() / 2 {
                    let lsn = log.lsn();
                    log.checkpoint(lsn, &[(3, "./d/t3.ibd".into())], &mut truth);
                    checkpoints += 1;
                }
                assert!(log.written_lsn() - log.checkpoint_lsn() <= log.capacity(), "overwrote the checkpoint");
            }
            log.flush(&mut truth);
            let file = std::fs::read(dir.path().join("ib_logfile0")).unwrap();
            let (header, cp) = parse_log_header(&file[..12288]).unwrap();
            assert_eq!(header.creator, CREATOR);
            assert_eq!(Some(&cp), truth.mariadb_checkpoints.last(), "the newest checkpoint block is the last written");
            assert!(checkpoints >= 4);
            let (copied, end) = walk(&file, cp.lsn);
            assert_eq!(Some(copied), truth.mariadb_log.as_copied(cp.lsn, log.flushed_lsn()), "seed {seed}");
            assert!(matches!(end, MtrEnd::Marker(0) | MtrEnd::SequenceBit { .. }), "seed {seed}: {end:?}");
            // The checkpoint's own mtr is FILE_MODIFY + FILE_CHECKPOINT at its end LSN.
            let m = &truth.mariadb_log;
            let &(start, records_len) = m.mtrs.iter().find(|(s, _)| *s == cp.end_lsn).expect("an mtr at the end LSN");
            let at = (start - m.base) as usize;
            let recs: Vec<_> = records(&m.bytes[at..at + records_len]).collect();
            assert!(matches!(recs[..], [Ok(Record::File { .. }), Ok(Record::FileCheckpoint { lsn })] if lsn == cp.lsn));
        }
    }

    #[test]
    fn same_page_records_continue_the_previous_range() {
        let w = |offset, data: &[u8]| PageOp::Write { offset, data: data.to_vec(), string: false };
        let mtr = Mtr {
            files: vec![],
            pages: vec![
                PageChange { space: 5, page: 3, op: PageOp::Init },
                PageChange { space: 5, page: 3, op: w(25, &[0x08]) },
                PageChange { space: 5, page: 3, op: w(100, &[1, 2]) },
                PageChange { space: 5, page: 3, op: w(50, &[3]) },
                PageChange { space: 5, page: 4, op: PageOp::Memmove { offset: 60, len: 4, from: 59 } },
            ],
        };
        let bytes = encode_records(&mtr);
        assert_eq!(
            bytes,
            vec![
                0x12, 5, 3, // INIT_PAGE 5:3
                0xB2, 1, 0x08, // same page WRITE at 24 + 1
                0xB3, 74, 1, 2, // same page WRITE at 26 + 74 = 100
                0x34, 5, 3, 50, 3, // back before 102: page id again, offset 50
                0x55, 5, 4, 60, 4, 1, // MEMMOVE 5:4 at 60, 4 bytes, from 1 byte before
            ]
        );
    }
}
