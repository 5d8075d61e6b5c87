//! The fake MySQL 5.7 server: real files in a temp dir, a buffer pool of real
//! pages, a redo writer producing real format-1 blocks, a page flusher (with
//! torn writes), a checkpointer, a binary log and MyISAM writers. Every byte
//! it puts on disk is also recorded in `Truth`.

use crate::config::SimConfig;
use crate::rng::Rng;
use crate::truth::Truth;
use innohot::format::mlog::{self, Record};
use innohot::format::page;
use innohot::format::redo57::{self, BlockChecksum, BlockHeader, Checkpoint, LogFileHeader, RingGeometry};
use innohot::format::Lsn;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const BLOCK: usize = redo57::LOG_BLOCK_SIZE;
const HDR: usize = redo57::LOG_BLOCK_HDR_SIZE;
const DATA_END: usize = redo57::LOG_BLOCK_DATA_END;

/// Where the simulated server keeps things.
#[derive(Debug, Clone)]
pub struct SimPaths {
    pub root: PathBuf,
    /// The real datadir (`mysqldata1/mydata`).
    pub real_datadir: PathBuf,
    /// The symlink the server's `datadir` variable names, as in the reference run.
    pub datadir_link: PathBuf,
}

/// One InnoDB tablespace held by the server.
pub struct Space {
    pub id: u32,
    pub path: PathBuf,
    /// Relative to the datadir, as the backup lays it out.
    pub rel: PathBuf,
    /// The name MLOG_FILE_NAME carries ("./shop/t1.ibd").
    pub redo_name: String,
    file: File,
    pub pages: Vec<Vec<u8>>,
    /// Newest modification LSN per page (what FIL_PAGE_LSN gets on flush).
    newest: Vec<Lsn>,
    /// Oldest unflushed modification per page; 0 = clean.
    oldest: Vec<Lsn>,
    pub is_system: bool,
    /// Pages redo may change (not page 0's header, not the doublewrite area).
    writable: Vec<u32>,
}

/// A tablespace as the datadir builder made it.
pub(crate) struct SpaceSpec {
    pub id: u32,
    pub path: PathBuf,
    pub rel: PathBuf,
    pub is_system: bool,
    pub pages: Vec<Vec<u8>>,
    pub writable: Vec<u32>,
}

/// A page write split in two: the first part is on disk, the rest is not yet.
struct PendingTear {
    space: usize,
    page: u32,
    image: Vec<u8>,
    split: usize,
}

/// The in-memory log buffer and the ring on disk.
struct LogWriter {
    geometry: RingGeometry,
    anchor_lsn: Lsn,
    anchor_offset: u64,
    files: Vec<File>,
    /// Current end of the log in memory (always inside a block's data area).
    lsn: Lsn,
    /// End of the log on disk.
    flushed_lsn: Lsn,
    /// Blocks from the one holding `flushed_lsn` up to the one holding `lsn`.
    blocks: VecDeque<(Lsn, [u8; BLOCK])>,
    next_checkpoint_no: u64,
    checkpoint_lsn: Lsn,
}

pub struct BinlogState {
    pub file: String,
    pub position: u64,
    pub server_uuid: String,
    pub gtid_next: u64,
}

pub struct SimServer {
    pub cfg: SimConfig,
    pub paths: SimPaths,
    rng: Rng,
    pub spaces: Vec<Space>,
    log: LogWriter,
    pub binlog: BinlogState,
    /// FLUSH TABLES WITH READ LOCK held: commits and non-InnoDB writes wait.
    pub read_locked: bool,
    myisam_files: Vec<PathBuf>,
    /// Non-InnoDB files (relative to the datadir) a backup must copy.
    pub non_innodb: Vec<PathBuf>,
    tear: Option<PendingTear>,
    named_since_checkpoint: BTreeSet<u32>,
    /// Pre-images of page bytes changed by mtrs not yet on disk: (space id, page, offset, old bytes).
    unflushed_undo: Vec<(u32, u32, usize, Vec<u8>)>,
    next_space_id: u32,
    ddl_counter: u32,
    pub truth: Truth,
    /// Server actions so far: the time axis of page-version lifetimes.
    pub seq: u64,
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn write_all_at(file: &File, data: &[u8], offset: u64) {
    file.write_all_at(data, offset).expect("simulator write to its own temp dir");
}

impl SimServer {
    /// Builds the datadir (see `datadir.rs`) and starts the server on it.
    pub fn start(cfg: SimConfig, root: &Path) -> std::io::Result<Self> {
        crate::datadir::build(cfg, root)
    }

    pub(crate) fn assemble(
        cfg: SimConfig,
        paths: SimPaths,
        rng: Rng,
        spaces: Vec<SpaceSpec>,
        myisam_files: Vec<PathBuf>,
        non_innodb: Vec<PathBuf>,
    ) -> std::io::Result<Self> {
        let mut truth = Truth::default();
        let mut built = Vec::new();
        for SpaceSpec { id, path, rel, is_system, pages, writable } in spaces {
            let file = std::fs::OpenOptions::new().read(true).write(true).open(&path)?;
            for (no, p) in pages.iter().enumerate() {
                truth.page_written(id, no as u32, p, 0);
            }
            let n = pages.len();
            // Redo names a DATA DIRECTORY table by its absolute path.
            let redo_name =
                crate::mount::remote_name(&paths.root, &path).unwrap_or_else(|| format!("./{}", rel.display()));
            built.push(Space {
                id,
                path,
                rel,
                redo_name,
                file,
                pages,
                newest: vec![0; n],
                oldest: vec![0; n],
                is_system,
                writable,
            });
        }
        let geometry = RingGeometry::new(cfg.log_files, cfg.log_file_size).expect("valid simulated ring");
        let mut log_files = Vec::new();
        for i in 0..cfg.log_files {
            let p = paths.real_datadir.join(format!("ib_logfile{i}"));
            let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(p)?;
            f.set_len(cfg.log_file_size)?;
            log_files.push(f);
        }
        let mut rng = rng;
        let start_lsn = cfg.start_lsn;
        let block_lsn = start_lsn - start_lsn % BLOCK as u64;
        let anchor_offset = geometry.real_offset(rng.below(geometry.ring_blocks()) * BLOCK as u64);
        let server_uuid = uuid_from(&mut rng);
        let mut server = SimServer {
            binlog: BinlogState {
                file: "mysql-bin.000003".into(),
                position: 154 + rng.range(0, 100_000),
                server_uuid,
                gtid_next: 1 + rng.range(0, 5000),
            },
            log: LogWriter {
                geometry,
                anchor_lsn: block_lsn,
                anchor_offset,
                files: log_files,
                lsn: start_lsn,
                flushed_lsn: start_lsn,
                blocks: VecDeque::new(),
                next_checkpoint_no: 1 + rng.range(0, 1000),
                checkpoint_lsn: start_lsn,
            },
            cfg,
            paths,
            rng,
            spaces: built,
            read_locked: false,
            myisam_files,
            non_innodb,
            tear: None,
            named_since_checkpoint: BTreeSet::new(),
            unflushed_undo: Vec::new(),
            next_space_id: 0,
            ddl_counter: 0,
            truth,
            seq: 0,
        };
        server.next_space_id = server.spaces.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        server.init_log();
        Ok(server)
    }

    /// File headers, a previous lap of old blocks, the first block and checkpoint.
    fn init_log(&mut self) {
        let g = self.log.geometry;
        let start = self.log.lsn;
        let block_lsn = start - start % BLOCK as u64;
        for i in 0..g.files {
            let hdr = LogFileHeader {
                format: redo57::LOG_HEADER_FORMAT_57,
                start_lsn: redo57::LOG_START_LSN,
                creator: "MySQL 5.7.17".into(),
            };
            write_all_at(&self.log.files[i as usize], &hdr.encode(), 0);
        }
        if self.cfg.previous_lap {
            // The ring as a server that has run a while leaves it: every other
            // position holds the block one lap older.
            let cap = g.capacity();
            let mut lsn = block_lsn + BLOCK as u64;
            while lsn < block_lsn + cap {
                if let Some(old) = lsn.checked_sub(cap).filter(|&o| o >= redo57::LOG_START_LSN) {
                    let mut b = [0u8; BLOCK];
                    self.rng.fill(&mut b[HDR..DATA_END]);
                    BlockHeader {
                        block_no: redo57::block_no_for_lsn(old),
                        flush_bit: false,
                        data_len: BLOCK as u16,
                        first_rec_group: 0,
                        checkpoint_no: (self.log.next_checkpoint_no.saturating_sub(2)) as u32,
                    }
                    .write_into(&mut b);
                    redo57::stamp_block(&mut b, BlockChecksum::Crc32c);
                    self.write_block_raw(old, &b);
                }
                lsn += BLOCK as u64;
            }
        }
        let data_len = (start % BLOCK as u64) as u16;
        let mut first = [0u8; BLOCK];
        BlockHeader {
            block_no: redo57::block_no_for_lsn(block_lsn),
            flush_bit: false,
            data_len,
            first_rec_group: data_len,
            checkpoint_no: self.log.next_checkpoint_no as u32,
        }
        .write_into(&mut first);
        self.log.blocks.push_back((block_lsn, first));
        self.flush_log();
        self.write_checkpoint(start);
    }

    fn ring_offset(&self, lsn: Lsn) -> (usize, u64) {
        let real = self.log.geometry.lsn_offset(lsn, self.log.anchor_lsn, self.log.anchor_offset);
        ((real / self.log.geometry.file_size) as usize, real % self.log.geometry.file_size)
    }

    fn write_block_raw(&mut self, block_lsn: Lsn, b: &[u8; BLOCK]) {
        let (file, off) = self.ring_offset(block_lsn);
        write_all_at(&self.log.files[file], b, off);
    }

    // ---- the redo writer -------------------------------------------------

    /// Appends one mini-transaction's bytes; returns its (start, end) LSN.
    fn append_mtr(&mut self, bytes: &[u8]) -> (Lsn, Lsn) {
        let start = self.log.lsn;
        let mut rest = bytes;
        while !rest.is_empty() {
            let lsn = self.log.lsn;
            let off = (lsn % BLOCK as u64) as usize;
            let n = rest.len().min(DATA_END - off);
            let (_, blk) = self.log.blocks.back_mut().expect("a current block");
            blk[off..off + n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            self.log.lsn += n as u64;
            if off + n == DATA_END {
                set_data_len(blk, BLOCK as u16);
                self.log.lsn += (redo57::LOG_BLOCK_TRL_SIZE + HDR) as u64;
                let new_lsn = self.log.lsn - HDR as u64;
                let mut nb = [0u8; BLOCK];
                BlockHeader {
                    block_no: redo57::block_no_for_lsn(new_lsn),
                    flush_bit: false,
                    data_len: HDR as u16,
                    first_rec_group: 0,
                    checkpoint_no: 0,
                }
                .write_into(&mut nb);
                self.log.blocks.push_back((new_lsn, nb));
            } else {
                set_data_len(blk, (off + n) as u16);
            }
        }
        // log_close(): the next record group starts at the new end.
        let end = self.log.lsn;
        let (_, blk) = self.log.blocks.back_mut().expect("a current block");
        if u16::from_be_bytes([blk[6], blk[7]]) == 0 {
            blk[6..8].copy_from_slice(&((end % BLOCK as u64) as u16).to_be_bytes());
        }
        self.truth.redo_appended(start, end);
        (start, end)
    }

    /// log_write_up_to(lsn): every block from the flushed end on, the partial one included.
    pub fn flush_log(&mut self) {
        let cp_no = self.log.next_checkpoint_no as u32;
        let blocks: Vec<(Lsn, [u8; BLOCK])> = self.log.blocks.iter().cloned().collect();
        for (block_lsn, mut b) in blocks {
            b[8..12].copy_from_slice(&cp_no.to_be_bytes());
            redo57::stamp_block(&mut b, BlockChecksum::Crc32c);
            self.write_block_raw(block_lsn, &b);
            self.truth.block_written(block_lsn, &b);
        }
        self.log.flushed_lsn = self.log.lsn;
        self.unflushed_undo.clear();
        while self.log.blocks.len() > 1 {
            self.log.blocks.pop_front();
        }
    }

    fn write_checkpoint(&mut self, lsn: Lsn) {
        let cp = Checkpoint {
            no: self.log.next_checkpoint_no,
            lsn,
            offset: self.log.geometry.lsn_offset(lsn, self.log.anchor_lsn, self.log.anchor_offset),
            log_buf_size: 16 << 20,
        };
        write_all_at(&self.log.files[0], &cp.encode(), cp.slot_offset() as u64);
        self.truth.checkpoints.push(cp);
        self.log.next_checkpoint_no += 1;
        self.log.checkpoint_lsn = lsn;
    }

    /// log_checkpoint(): advance to the oldest dirty page, name the touched
    /// tablespaces, write MLOG_CHECKPOINT, then the checkpoint block.
    pub fn checkpoint(&mut self) {
        let oldest =
            self.spaces.iter().flat_map(|s| s.oldest.iter().copied().filter(|&l| l != 0)).min().unwrap_or(self.log.lsn);
        if oldest <= self.log.checkpoint_lsn + 9 {
            return;
        }
        let names: Vec<(u32, String)> = self
            .named_since_checkpoint
            .iter()
            .filter_map(|id| self.spaces.iter().find(|s| s.id == *id))
            .map(|s| (s.id, s.redo_name.clone()))
            .collect();
        self.named_since_checkpoint.clear();
        let group = mlog::encode_checkpoint_group(&names, oldest);
        self.append_mtr(&group);
        self.flush_log();
        self.write_checkpoint(oldest);
    }

    /// Keeps the log from overwriting what the last checkpoint still needs
    /// (log_margin_checkpoint_age): flush every dirty page, then checkpoint.
    fn make_room(&mut self, need: u64) {
        let cap = self.log.geometry.capacity();
        if self.log.lsn + need + 4096 - self.log.checkpoint_lsn < cap * 3 / 4 {
            return;
        }
        self.finish_tear();
        self.flush_log();
        for s in 0..self.spaces.len() {
            for p in 0..self.spaces[s].pages.len() as u32 {
                if self.spaces[s].oldest[p as usize] != 0 {
                    self.write_page(s, p, false);
                }
            }
        }
        self.checkpoint();
    }

    // ---- pages -------------------------------------------------------------

    /// One mini-transaction of 1-4 page records on pages of one tablespace.
    fn page_mtr(&mut self, space_idx: usize) -> (Lsn, Lsn) {
        let psize = self.cfg.page_size;
        let nrec = self.rng.range(1, 4) as usize;
        let mut records = Vec::new();
        let space_id = self.spaces[space_idx].id;
        let is_system = self.spaces[space_idx].is_system;
        if !is_system && self.named_since_checkpoint.insert(space_id) {
            records.push(Record::FileName { space: space_id, page: 0, name: self.spaces[space_idx].redo_name.clone() });
        }
        let mut touched = Vec::new();
        for _ in 0..nrec {
            let writable = &self.spaces[space_idx].writable;
            let page_no = writable[self.rng.below(writable.len() as u64) as usize];
            if self.tear.as_ref().is_some_and(|t| t.space == space_idx && t.page == page_no) {
                continue; // the page is being written: InnoDB would wait for the latch
            }
            let body_lo = page::FIL_PAGE_DATA + 64;
            let body_hi = psize - page::FIL_PAGE_END_LSN_OLD_CHKSUM - 64;
            let rec = match self.rng.below(5) {
                kind @ 0..=2 => {
                    let width = [1u8, 2, 4][kind as usize];
                    let off = self.rng.range(body_lo as u64, (body_hi - width as usize) as u64) as u16;
                    let value = match width {
                        1 => self.rng.below(256) as u32,
                        2 => self.rng.below(65536) as u32,
                        _ => self.rng.next_u64() as u32,
                    };
                    Record::WriteN { space: space_id, page: page_no, offset: off, width, value }
                }
                3 => {
                    let off = self.rng.range(body_lo as u64, body_hi as u64 - 8) as u16;
                    Record::Write8 { space: space_id, page: page_no, offset: off, value: self.rng.next_u64() }
                }
                _ => {
                    let len = self.rng.range(1, 200) as usize;
                    let off = self.rng.range(body_lo as u64, (body_hi - len) as u64) as u16;
                    let mut data = vec![0u8; len];
                    self.rng.fill(&mut data);
                    Record::WriteString { space: space_id, page: page_no, offset: off, data }
                }
            };
            self.change_page(space_idx, page_no, &rec);
            touched.push(page_no);
            records.push(rec);
        }
        if records.iter().all(|r| r.page_id().is_none()) {
            // Every picked page was latched: write one harmless record to page 0's body instead.
            let page_no = 0;
            let rec = Record::WriteN { space: space_id, page: page_no, offset: (psize / 2) as u16, width: 1, value: 7 };
            if self.tear.as_ref().is_some_and(|t| t.space == space_idx && t.page == page_no) {
                self.finish_tear();
            }
            self.change_page(space_idx, 0, &rec);
            touched.push(page_no);
            records.push(rec);
        }
        let bytes = mlog::encode_mtr(&records);
        self.make_room(bytes.len() as u64);
        let (start, end) = self.append_mtr(&bytes);
        let s = &mut self.spaces[space_idx];
        for p in touched {
            s.newest[p as usize] = end;
            if s.oldest[p as usize] == 0 {
                s.oldest[p as usize] = start;
            }
        }
        (start, end)
    }

    /// Applies a record to the buffer pool, keeping the bytes it replaced until the log is flushed.
    fn change_page(&mut self, space_idx: usize, page_no: u32, rec: &Record) {
        let (offset, len) = match rec {
            Record::WriteN { offset, width, .. } => (*offset as usize, *width as usize),
            Record::Write8 { offset, .. } => (*offset as usize, 8),
            Record::WriteString { offset, data, .. } => (*offset as usize, data.len()),
            _ => return,
        };
        let id = self.spaces[space_idx].id;
        let page = &mut self.spaces[space_idx].pages[page_no as usize];
        self.unflushed_undo.push((id, page_no, offset, page[offset..offset + len].to_vec()));
        apply_record(page, rec);
    }

    /// Every page as of the end of the log on disk: the state a prepared backup
    /// that ends there must reproduce.
    pub fn pages_at_flushed_lsn(&self) -> Vec<(u32, Vec<Vec<u8>>)> {
        let mut out: Vec<(u32, Vec<Vec<u8>>)> = self.spaces.iter().map(|s| (s.id, s.pages.clone())).collect();
        for (id, page_no, offset, old) in self.unflushed_undo.iter().rev() {
            if let Some((_, pages)) = out.iter_mut().find(|(sid, _)| sid == id) {
                pages[*page_no as usize][*offset..offset + old.len()].copy_from_slice(old);
            }
        }
        out
    }

    /// Writes a dirty page (WAL first). `may_tear` lets it stop half way.
    fn write_page(&mut self, space_idx: usize, page_no: u32, may_tear: bool) {
        let newest = self.spaces[space_idx].newest[page_no as usize];
        if newest > self.log.flushed_lsn {
            self.flush_log();
        }
        let mut image = self.spaces[space_idx].pages[page_no as usize].clone();
        page::set_page_lsn(&mut image, newest);
        page::stamp_legacy_crc32(&mut image);
        self.spaces[space_idx].oldest[page_no as usize] = 0;
        if may_tear && self.tear.is_none() && self.rng.below(100) < self.cfg.torn_write_percent {
            let split = self.rng.range(1, (image.len() / 512 - 1) as u64) as usize * 512;
            let off = page_no as u64 * image.len() as u64;
            write_all_at(&self.spaces[space_idx].file, &image[..split], off);
            self.truth.torn_writes_started += 1;
            self.tear = Some(PendingTear { space: space_idx, page: page_no, image, split });
            return;
        }
        self.finish_page_write(space_idx, page_no, &image, 0);
    }

    fn finish_page_write(&mut self, space_idx: usize, page_no: u32, image: &[u8], from: usize) {
        let off = page_no as u64 * image.len() as u64;
        write_all_at(&self.spaces[space_idx].file, &image[from..], off + from as u64);
        let id = self.spaces[space_idx].id;
        self.truth.page_written(id, page_no, image, self.seq);
    }

    /// Completes a torn write: the page is whole on disk again.
    pub fn finish_tear(&mut self) {
        if let Some(t) = self.tear.take() {
            self.finish_page_write(t.space, t.page, &t.image, t.split);
        }
    }

    fn flush_some_pages(&mut self) {
        let mut dirty: Vec<(usize, u32)> = Vec::new();
        for (si, s) in self.spaces.iter().enumerate() {
            for (p, &o) in s.oldest.iter().enumerate() {
                if o != 0 && !self.tear.as_ref().is_some_and(|t| t.space == si && t.page == p as u32) {
                    dirty.push((si, p as u32));
                }
            }
        }
        let n = self.rng.range(1, 4) as usize;
        for _ in 0..n.min(dirty.len()) {
            let i = self.rng.below(dirty.len() as u64) as usize;
            let (si, p) = dirty.swap_remove(i);
            self.write_page(si, p, true);
        }
        // Doublewrite activity: the area takes copies of pages without redo.
        let sys = &self.spaces[0];
        let e = crate::config::extent_pages(self.cfg.page_size);
        if sys.is_system && self.rng.chance(0.3) {
            let p = self.rng.range(e as u64, 3 * e as u64 - 1) as u32;
            let mut junk = vec![0u8; self.cfg.page_size];
            self.rng.fill(&mut junk);
            self.spaces[0].pages[p as usize] = junk.clone();
            self.finish_page_write(0, p, &junk, 0);
        }
    }

    // ---- transactions, binlog, non-InnoDB ----------------------------------

    /// A committed transaction: redo for 1-3 mtrs, then a binlog event.
    fn transaction(&mut self) {
        let n = self.rng.range(1, 3);
        let mut end = 0;
        for _ in 0..n {
            let s = self.rng.below(self.spaces.len() as u64) as usize;
            end = self.page_mtr(s).1;
        }
        self.binlog.position += self.rng.range(120, 900);
        self.binlog.gtid_next += 1;
        self.truth.commits.push((self.binlog.position, end));
    }

    fn myisam_write(&mut self) {
        if self.myisam_files.is_empty() {
            return;
        }
        let i = self.rng.below(self.myisam_files.len() as u64) as usize;
        let path = self.myisam_files[i].clone();
        let f = std::fs::OpenOptions::new().append(true).open(&path).expect("simulated MyISAM file");
        let mut row = vec![0u8; self.rng.range(16, 256) as usize];
        self.rng.fill(&mut row);
        use std::io::Write;
        (&f).write_all(&row).expect("append to simulated MyISAM file");
    }

    /// One server action, chosen by the seed: what a busy server does between two engine steps.
    pub fn act(&mut self) {
        self.seq += 1;
        if self.tear.is_some() && self.rng.chance(0.35) {
            self.finish_tear();
            return;
        }
        match self.rng.below(100) {
            0..=44 if !self.read_locked => self.transaction(),
            0..=44 => {
                // Commits wait for the read lock; background work (purge) still writes redo.
                let s = self.rng.below(self.spaces.len() as u64) as usize;
                self.page_mtr(s);
            }
            45..=54 => {
                let s = self.rng.below(self.spaces.len() as u64) as usize;
                self.page_mtr(s);
            }
            55..=69 => self.flush_log(),
            70..=84 => self.flush_some_pages(),
            85..=91 => self.checkpoint(),
            _ if !self.read_locked
                && self.cfg.ddl_per_mille > 0
                && self.rng.below(1000) < self.cfg.ddl_per_mille * 12 =>
            {
                self.ddl()
            }
            _ if !self.read_locked => self.myisam_write(),
            _ => self.flush_log(),
        }
    }

    // ---- DDL ------------------------------------------------------------------

    /// User tables (not the system schemas), by index in `spaces`.
    fn user_tables(&self) -> Vec<usize> {
        let system = ["mysql", "sys", "performance_schema"];
        (0..self.spaces.len())
            .filter(|&i| {
                let s = &self.spaces[i];
                !s.is_system && !system.iter().any(|d| s.rel.starts_with(d))
            })
            .collect()
    }

    fn user_schema(&mut self) -> String {
        let n = self.cfg.schemas.max(1) as u64;
        ["shop", "crm", "ledger", "events"][self.rng.below(n) as usize % 4].to_string()
    }

    /// CREATE TABLE: the file and its first pages are written directly (as
    /// fil_ibd_create does), then MLOG_FILE_CREATE2.
    fn create_table(&mut self, schema: &str, name: &str) {
        let id = self.next_space_id;
        self.next_space_id += 1;
        let n = self.rng.range(4, self.cfg.table_pages_max.max(5) as u64) as u32;
        let flags = crate::datadir::fsp_flags(self.cfg.page_size, true);
        let mut cfg = self.cfg.clone();
        cfg.start_lsn = self.log.lsn;
        let pages = crate::datadir::tablespace_pages(&mut self.rng, &cfg, id, n, flags, page::PAGE_TYPE_INDEX);
        let rel = Path::new(schema).join(format!("{name}.ibd"));
        let path = self.paths.real_datadir.join(&rel);
        std::fs::write(&path, pages.concat()).expect("simulated CREATE TABLE");
        let frm = crate::datadir::random_bytes(&mut self.rng, &[0xFE, 0x01, 0x0A, 0x0C], 600, 4000);
        std::fs::write(self.paths.real_datadir.join(schema).join(format!("{name}.frm")), frm).expect("simulated .frm");
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).expect("simulated table file");
        for (no, p) in pages.iter().enumerate() {
            self.truth.page_written(id, no as u32, p, self.seq);
        }
        let redo_name = format!("./{}", rel.display());
        let rec = Record::FileCreate { space: id, page: 0, flags, name: redo_name.clone() };
        self.append_mtr(&mlog::encode_mtr(&[rec]));
        self.spaces.push(Space {
            id,
            path,
            rel,
            redo_name,
            file,
            newest: vec![0; pages.len()],
            oldest: vec![0; pages.len()],
            writable: (3..n).collect(),
            pages,
            is_system: false,
        });
        self.truth.ddl.push((self.seq, format!("CREATE {schema}.{name} (space {id})")));
    }

    fn drop_table(&mut self, idx: usize) {
        let s = self.spaces.remove(idx);
        std::fs::remove_file(&s.path).expect("simulated DROP TABLE");
        let in_datadir = self.paths.real_datadir.join(&s.rel);
        let _ = std::fs::remove_file(in_datadir.with_extension("frm"));
        let _ = std::fs::remove_file(in_datadir.with_extension("isl"));
        self.named_since_checkpoint.remove(&s.id);
        self.truth.dropped_spaces.push(s.id);
        let rec = Record::FileDelete { space: s.id, page: 0, name: s.redo_name.clone() };
        self.append_mtr(&mlog::encode_mtr(&[rec]));
        self.truth.ddl.push((self.seq, format!("DROP {} (space {})", s.rel.display(), s.id)));
    }

    /// One DDL statement on a user table, or a sorted index build that writes
    /// pages without redo (MLOG_INDEX_LOAD), as the configuration allows.
    pub fn ddl(&mut self) {
        self.finish_tear();
        self.flush_log();
        self.ddl_counter += 1;
        let tables = self.user_tables();
        let kind = self.rng.below(if self.cfg.index_loads { 5 } else { 4 });
        if tables.len() <= 2 && (kind == 1 || kind == 3) {
            return; // keep a few tables around
        }
        let victim = tables[self.rng.below(tables.len() as u64) as usize];
        match kind {
            0 => {
                let schema = self.user_schema();
                let name = format!("n{}", self.ddl_counter);
                self.create_table(&schema, &name);
            }
            1 => self.drop_table(victim),
            2 => {
                let schema = self.user_schema();
                let to_rel = Path::new(&schema).join(format!("r{}.ibd", self.ddl_counter));
                let datadir = self.paths.real_datadir.clone();
                let s = &mut self.spaces[victim];
                let (from_here, to_here) = (datadir.join(&s.rel), datadir.join(&to_rel));
                let remote = !s.path.starts_with(&datadir);
                // A DATA DIRECTORY table stays in its directory; its link file follows.
                let to =
                    if remote { s.path.with_file_name(to_rel.file_name().expect("a name")) } else { to_here.clone() };
                std::fs::rename(&s.path, &to).expect("simulated RENAME TABLE");
                let _ = std::fs::rename(from_here.with_extension("frm"), to_here.with_extension("frm"));
                let new_name = if remote {
                    let name = crate::mount::remote_name(&self.paths.root, &to).expect("a remote table");
                    std::fs::remove_file(from_here.with_extension("isl")).expect("simulated RENAME: old link");
                    std::fs::write(to_here.with_extension("isl"), &name).expect("new link");
                    name
                } else {
                    format!("./{}", to_rel.display())
                };
                let from_name = std::mem::replace(&mut s.redo_name, new_name);
                let rec = Record::FileRename { space: s.id, page: 0, from: from_name.clone(), to: s.redo_name.clone() };
                s.path = to;
                s.rel = to_rel;
                let what = format!("RENAME {from_name} TO {} (space {})", s.redo_name, s.id);
                self.append_mtr(&mlog::encode_mtr(&[rec]));
                self.truth.ddl.push((self.seq, what));
            }
            3 => {
                // TRUNCATE as a new tablespace under the same name (8.0 / MariaDB style).
                let rel = self.spaces[victim].rel.clone();
                let schema = rel.parent().expect("schema dir").display().to_string();
                let name = rel.file_stem().expect("table name").to_string_lossy().to_string();
                self.drop_table(victim);
                self.create_table(&schema, &name);
            }
            _ => {
                // Bulk index build: new page images straight to disk, no redo for them.
                let s = &mut self.spaces[victim];
                let page_no = s.writable[self.rng.below(s.writable.len() as u64) as usize];
                let psize = self.cfg.page_size;
                let mut image = s.pages[page_no as usize].clone();
                self.rng.fill(&mut image[page::FIL_PAGE_DATA + 64..psize - 8]);
                page::set_page_lsn(&mut image, self.log.lsn);
                page::stamp_legacy_crc32(&mut image);
                write_all_at(&s.file, &image, page_no as u64 * psize as u64);
                s.pages[page_no as usize] = image.clone();
                s.oldest[page_no as usize] = 0;
                let id = s.id;
                self.unflushed_undo.retain(|u| !(u.0 == id && u.1 == page_no));
                self.truth.page_written(id, page_no, &image, self.seq);
                let (start, _) = self.append_mtr(&mlog::encode_mtr(&[Record::IndexLoad { space: id, page: 0 }]));
                self.truth.index_loads.push(start);
                self.truth.ddl.push((self.seq, format!("sorted index build on space {id}")));
            }
        }
        self.flush_log();
    }

    // ---- what the control plane reads ----------------------------------------

    pub fn lsn(&self) -> Lsn {
        self.log.lsn
    }
    pub fn flushed_lsn(&self) -> Lsn {
        self.log.flushed_lsn
    }
    pub fn checkpoint_lsn(&self) -> Lsn {
        self.log.checkpoint_lsn
    }
    pub fn geometry(&self) -> RingGeometry {
        self.log.geometry
    }
    pub fn gtid_set(&self) -> String {
        format!("{}:1-{}", self.binlog.server_uuid, self.binlog.gtid_next - 1)
    }
    pub fn new_uuid(&mut self) -> String {
        uuid_from(&mut self.rng)
    }

    /// `SHOW VARIABLES` as the engine needs it.
    /// What `information_schema` lists: every file-per-table tablespace, by
    /// the name the dictionary gives it (`schema/table`).
    pub fn dictionary(&self) -> Vec<innohot::server::ServerTablespace> {
        self.spaces
            .iter()
            .filter(|s| !s.is_system)
            .map(|s| innohot::server::ServerTablespace {
                space_id: s.id,
                name: s.rel.with_extension("").display().to_string(),
                path: s.redo_name.clone(),
            })
            .collect()
    }

    pub fn variables(&self) -> BTreeMap<String, String> {
        let c = &self.cfg;
        let ibdata_mb = (c.ibdata_pages as u64 * c.page_size as u64) >> 20;
        let ibdata = if (c.ibdata_pages as u64 * c.page_size as u64).is_multiple_of(1 << 20) {
            format!("ibdata1:{ibdata_mb}M:autoextend")
        } else {
            format!("ibdata1:{}K:autoextend", (c.ibdata_pages as u64 * c.page_size as u64) >> 10)
        };
        [
            ("version", "5.7.17-sim-log".to_string()),
            ("datadir", format!("{}/", self.paths.datadir_link.display())),
            ("innodb_data_home_dir", String::new()),
            ("innodb_data_file_path", ibdata),
            ("innodb_log_group_home_dir", "./".into()),
            ("innodb_log_files_in_group", c.log_files.to_string()),
            ("innodb_log_file_size", c.log_file_size.to_string()),
            ("innodb_page_size", c.page_size.to_string()),
            ("innodb_undo_directory", "./".into()),
            ("innodb_undo_tablespaces", c.undo_tablespaces.to_string()),
            ("innodb_checksum_algorithm", "crc32".into()),
            ("innodb_log_checksum_algorithm", "crc32".into()),
            ("log_bin", "ON".into()),
            ("gtid_mode", "ON".into()),
            ("server_id", "1".into()),
            ("server_uuid", self.binlog.server_uuid.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

fn set_data_len(block: &mut [u8], len: u16) {
    block[4..6].copy_from_slice(&len.to_be_bytes());
}

/// Applies a page record to a buffer-pool page, as recovery would.
pub fn apply_record(page: &mut [u8], rec: &Record) {
    match rec {
        Record::WriteN { offset, width, value, .. } => {
            let o = *offset as usize;
            match width {
                1 => page[o] = *value as u8,
                2 => page[o..o + 2].copy_from_slice(&(*value as u16).to_be_bytes()),
                _ => put_u32(page, o, *value),
            }
        }
        Record::Write8 { offset, value, .. } => {
            let o = *offset as usize;
            page[o..o + 8].copy_from_slice(&value.to_be_bytes());
        }
        Record::WriteString { offset, data, .. } => {
            let o = *offset as usize;
            page[o..o + data.len()].copy_from_slice(data);
        }
        _ => {}
    }
}

fn uuid_from(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        (a & 0x0FFF) | 0x1000,
        ((b >> 48) & 0x3FFF) | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    )
}
