//! The fake server: real files in a temp dir, a buffer pool of real pages, a
//! redo writer (see `redo/`: MySQL 5.7 blocks or MariaDB 10.8+ mtrs), a page
//! flusher (with torn writes), a checkpointer, a binary log and MyISAM
//! writers. Every byte it puts on disk is also recorded in `Truth`.

use crate::config::{Flavor, SimConfig};
use crate::redo::mariadb::Log108;
use crate::redo::mysql57::Log57;
use crate::redo::{FileOp, Mtr, PageChange, PageOp, SimRedoWriter};
use crate::rng::Rng;
use crate::truth::Truth;
use innohot::format::page;
use innohot::format::Lsn;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Where the simulated server keeps things.
#[derive(Debug, Clone)]
pub struct SimPaths {
    pub root: PathBuf,
    /// The real datadir (`mysqldata1/mydata`).
    pub real_datadir: PathBuf,
    /// The symlink the server's `datadir` variable names, as in the seed.
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
    /// Pages freed (FREE_PAGE) and not initialized again: their contents no longer matter.
    pub freed: BTreeSet<u32>,
    /// MariaDB: created during the run and page 0 not written yet; the flusher writes
    /// page 0 first (it heads the flush list), so until then the other pages wait.
    page0_pending: bool,
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
    log: Box<dyn SimRedoWriter>,
    pub binlog: BinlogState,
    /// DDL waits (FLUSH TABLES WITH READ LOCK; BACKUP STAGE BLOCK_DDL on).
    pub ddl_blocked: bool,
    /// Commits and non-InnoDB writes wait (FLUSH TABLES WITH READ LOCK; BACKUP STAGE BLOCK_COMMIT).
    pub commits_blocked: bool,
    /// BACKUP STAGE START ran and END has not.
    pub backup_stage: bool,
    /// MyISAM `.MYD` and Aria `.MAD` files the workload appends to.
    myisam_files: Vec<PathBuf>,
    /// Non-InnoDB files (relative to the datadir) a backup must copy.
    pub non_innodb: Vec<PathBuf>,
    tear: Option<PendingTear>,
    named_since_checkpoint: BTreeSet<u32>,
    /// Pre-images of page bytes changed by mtrs not yet on disk: (space id, page, offset, old bytes).
    unflushed_undo: Vec<(u32, u32, usize, Vec<u8>)>,
    /// Whether a page was freed before an mtr not yet on disk freed or initialized it.
    unflushed_freed: Vec<(u32, u32, bool)>,
    next_space_id: u32,
    ddl_counter: u32,
    pub truth: Truth,
    /// Server actions so far: the time axis of page-version lifetimes.
    pub seq: u64,
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
            let redo_name = format!("./{}", rel.display());
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
                freed: BTreeSet::new(),
                page0_pending: false,
            });
        }
        let mut rng = rng;
        let log: Box<dyn SimRedoWriter> = match cfg.flavor {
            Flavor::Mysql57 => Box::new(Log57::create(&cfg, &paths.real_datadir, &mut rng)?),
            Flavor::MariaDb => Box::new(Log108::create(&cfg, &paths.real_datadir)?),
        };
        let server_uuid = uuid_from(&mut rng);
        let mut server = SimServer {
            binlog: BinlogState {
                file: "mysql-bin.000003".into(),
                position: 154 + rng.range(0, 100_000),
                server_uuid,
                gtid_next: 1 + rng.range(0, 5000),
            },
            log,
            cfg,
            paths,
            rng,
            spaces: built,
            ddl_blocked: false,
            commits_blocked: false,
            backup_stage: false,
            myisam_files,
            non_innodb,
            tear: None,
            named_since_checkpoint: BTreeSet::new(),
            unflushed_undo: Vec::new(),
            unflushed_freed: Vec::new(),
            next_space_id: 0,
            ddl_counter: 0,
            truth,
            seq: 0,
        };
        server.next_space_id = server.spaces.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        server.log.start(&mut server.rng, &mut server.truth);
        Ok(server)
    }

    /// log_write_up_to(lsn): the log buffer goes to disk.
    pub fn flush_log(&mut self) {
        self.log.flush(&mut self.truth);
        self.log_is_durable();
    }

    /// Every mtr so far is on disk: nothing to take back for `pages_at_flushed_lsn`.
    fn log_is_durable(&mut self) {
        self.unflushed_undo.clear();
        self.unflushed_freed.clear();
    }

    /// log_checkpoint(): advance to the oldest dirty page, name the touched
    /// tablespaces in the redo (MLOG_FILE_NAME / FILE_MODIFY), make it durable,
    /// then the checkpoint block.
    pub fn checkpoint(&mut self) {
        let oldest = self
            .spaces
            .iter()
            .flat_map(|s| s.oldest.iter().copied().filter(|&l| l != 0))
            .min()
            .unwrap_or(self.log.lsn());
        if oldest <= self.log.checkpoint_lsn() + 9 {
            return;
        }
        let names: Vec<(u32, String)> = self
            .named_since_checkpoint
            .iter()
            .filter_map(|id| self.spaces.iter().find(|s| s.id == *id))
            .map(|s| (s.id, s.redo_name.clone()))
            .collect();
        self.named_since_checkpoint.clear();
        self.log.checkpoint(oldest, &names, &mut self.truth);
        self.log_is_durable();
    }

    /// Keeps the log from overwriting what the last checkpoint still needs
    /// (log_margin_checkpoint_age): flush every dirty page, then checkpoint.
    fn make_room(&mut self, need: u64) {
        let cap = self.log.capacity();
        if self.log.lsn() + need + 4096 - self.log.checkpoint_lsn() < cap * 3 / 4 {
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
        let mut mtr = Mtr::default();
        let space_id = self.spaces[space_idx].id;
        let is_system = self.spaces[space_idx].is_system;
        if !is_system && self.named_since_checkpoint.insert(space_id) {
            mtr.files.push(FileOp::Modify { space: space_id, name: self.spaces[space_idx].redo_name.clone() });
        }
        // Pages freed by this mtr so far (a later record on one initializes it again).
        let mut freed_here = BTreeSet::new();
        for _ in 0..nrec {
            let writable = &self.spaces[space_idx].writable;
            let page_no = writable[self.rng.below(writable.len() as u64) as usize];
            if self.tear.as_ref().is_some_and(|t| t.space == space_idx && t.page == page_no) {
                continue; // the page is being written: InnoDB would wait for the latch
            }
            let ops = match self.cfg.flavor {
                Flavor::Mysql57 => vec![self.op57(psize)],
                Flavor::MariaDb => {
                    let freed = self.spaces[space_idx].freed.contains(&page_no) || freed_here.contains(&page_no);
                    let ops = self.ops108(space_idx, page_no, freed, freed_here.len());
                    match ops.last() {
                        Some(PageOp::Free) => freed_here.insert(page_no),
                        _ => freed_here.remove(&page_no),
                    };
                    ops
                }
            };
            mtr.pages.extend(ops.into_iter().map(|op| PageChange { space: space_id, page: page_no, op }));
        }
        if mtr.pages.is_empty() {
            // Every picked page was latched: write one harmless byte to page 0's body instead.
            let page_no = 0;
            let op = PageOp::Write { offset: (psize / 2) as u16, data: vec![7], string: false };
            if self.tear.as_ref().is_some_and(|t| t.space == space_idx && t.page == page_no) {
                self.finish_tear();
            }
            mtr.pages.push(PageChange { space: space_id, page: page_no, op });
        }
        let encoded = self.log.encode(&mtr);
        let need = encoded.len;
        if self.cfg.flavor == Flavor::Mysql57 {
            // (The 5.7 runs' historical order: the pages change before room is made, so
            // make_room may write a page with this mtr's bytes before its redo; harmless
            // for 5.7's idempotent byte writes, not for MEMMOVE.)
            mtr.pages.iter().for_each(|c| self.change_page(space_idx, c));
            self.make_room(need);
        } else {
            self.make_room(need);
            mtr.pages.iter().for_each(|c| self.change_page(space_idx, c));
        }
        let (start, end) = self.log.append_encoded(encoded, &mut self.truth);
        let s = &mut self.spaces[space_idx];
        for c in &mtr.pages {
            let p = c.page as usize;
            if matches!(c.op, PageOp::Free | PageOp::Init) {
                self.unflushed_freed.push((s.id, c.page, s.freed.contains(&c.page)));
            }
            if c.op == PageOp::Free {
                // A freed page is not written back: what is on disk no longer matters.
                s.oldest[p] = 0;
                s.freed.insert(c.page);
                continue;
            }
            s.freed.remove(&c.page);
            s.newest[p] = end;
            if s.oldest[p] == 0 {
                s.oldest[p] = start;
            }
        }
        (start, end)
    }

    /// A MySQL 5.7 page record: MLOG_1/2/4/8BYTES or MLOG_WRITE_STRING in the page body.
    fn op57(&mut self, psize: usize) -> PageOp {
        let body_lo = page::FIL_PAGE_DATA + 64;
        let body_hi = psize - page::FIL_PAGE_END_LSN_OLD_CHKSUM - 64;
        match self.rng.below(5) {
            kind @ 0..=2 => {
                let width = [1usize, 2, 4][kind as usize];
                let off = self.rng.range(body_lo as u64, (body_hi - width) as u64) as u16;
                let value = match width {
                    1 => self.rng.below(256) as u32,
                    2 => self.rng.below(65536) as u32,
                    _ => self.rng.next_u64() as u32,
                };
                PageOp::Write { offset: off, data: value.to_be_bytes()[4 - width..].to_vec(), string: false }
            }
            3 => {
                let off = self.rng.range(body_lo as u64, body_hi as u64 - 8) as u16;
                PageOp::Write { offset: off, data: self.rng.next_u64().to_be_bytes().to_vec(), string: false }
            }
            _ => {
                let len = self.rng.range(1, 200) as usize;
                let off = self.rng.range(body_lo as u64, (body_hi - len) as u64) as u16;
                let mut data = vec![0u8; len];
                self.rng.fill(&mut data);
                PageOp::Write { offset: off, data, string: true }
            }
        }
    }

    /// MariaDB page records on one page: WRITE, MEMSET, MEMMOVE in the body; a user
    /// table's page may be freed (FREE_PAGE), and a freed page comes back with
    /// INIT_PAGE, its page type and some bytes.
    fn ops108(&mut self, space_idx: usize, page_no: u32, freed: bool, freed_in_mtr: usize) -> Vec<PageOp> {
        let psize = self.cfg.page_size;
        let (lo, hi) = ((page::FIL_PAGE_DATA + 64) as u64, (psize - page::FIL_PAGE_END_LSN_OLD_CHKSUM - 64) as u64);
        let data = |rng: &mut Rng, n: u64| {
            let mut d = vec![0u8; rng.range(1, n) as usize];
            rng.fill(&mut d);
            d
        };
        if freed {
            let body = data(&mut self.rng, 64);
            let off = self.rng.range(lo, hi - body.len() as u64) as u16;
            return vec![
                PageOp::Init,
                PageOp::Write { offset: 24, data: page::PAGE_TYPE_INDEX.to_be_bytes().to_vec(), string: false },
                PageOp::Write { offset: off, data: body, string: false },
            ];
        }
        let s = &self.spaces[space_idx];
        let may_free = !s.is_system && page_no >= 3 && s.writable.len() > s.freed.len() + freed_in_mtr + 2;
        let op = match self.rng.below(16) {
            0..=5 | 14 | 15 => {
                let d = data(&mut self.rng, 8);
                PageOp::Write { offset: self.rng.range(lo, hi - d.len() as u64) as u16, data: d, string: false }
            }
            6..=8 => {
                let d = data(&mut self.rng, 200);
                PageOp::Write { offset: self.rng.range(lo, hi - d.len() as u64) as u16, data: d, string: false }
            }
            9 | 10 => {
                let len = self.rng.range(1, 300);
                let most = if self.rng.chance(0.5) { 1 } else { 4 };
                let fill = data(&mut self.rng, most);
                let fill = fill[..fill.len().min(len as usize)].to_vec();
                PageOp::Memset { offset: self.rng.range(lo, hi - len) as u16, len: len as u16, fill }
            }
            11 | 12 => {
                let len = self.rng.range(1, 200);
                let (a, b) = (self.rng.range(lo, hi - len), self.rng.range(lo, hi - len));
                let (offset, from) = if a == b { (a, a + 1) } else { (a, b) };
                PageOp::Memmove { offset: offset as u16, len: len as u16, from: from as u16 }
            }
            _ if may_free => PageOp::Free,
            _ => {
                PageOp::Write { offset: self.rng.range(lo, hi - 1) as u16, data: data(&mut self.rng, 1), string: false }
            }
        };
        vec![op]
    }

    /// Applies a change to the buffer pool, keeping the bytes it replaced until the log is flushed.
    fn change_page(&mut self, space_idx: usize, change: &PageChange) {
        let id = self.spaces[space_idx].id;
        let page = &mut self.spaces[space_idx].pages[change.page as usize];
        let (offset, len) = changed_range(&change.op, page.len());
        self.unflushed_undo.push((id, change.page, offset, page[offset..offset + len].to_vec()));
        apply_change(page, change);
    }

    /// The pages freed as of the end of the log on disk: (space id, page).
    pub fn freed_at_flushed_lsn(&self) -> BTreeSet<(u32, u32)> {
        let mut out: BTreeSet<(u32, u32)> =
            self.spaces.iter().flat_map(|s| s.freed.iter().map(move |&p| (s.id, p))).collect();
        for &(space, page, was) in self.unflushed_freed.iter().rev() {
            if was {
                out.insert((space, page));
            } else {
                out.remove(&(space, page));
            }
        }
        out
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
        if newest > self.log.flushed_lsn() {
            self.flush_log();
        }
        let mut image = self.spaces[space_idx].pages[page_no as usize].clone();
        page::set_page_lsn(&mut image, newest);
        crate::datadir::stamp_page(self.cfg.flavor, &mut image);
        self.spaces[space_idx].oldest[page_no as usize] = 0;
        if page_no == 0 {
            self.spaces[space_idx].page0_pending = false;
        }
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
                let waits_for_page0 = s.page0_pending && p > 0;
                if o != 0
                    && !waits_for_page0
                    && !self.tear.as_ref().is_some_and(|t| t.space == si && t.page == p as u32)
                {
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
        if path.extension().is_some_and(|e| e == "MAD") {
            // An Aria write goes to Aria's transaction log too.
            let log = self.paths.real_datadir.join(crate::datadir::ARIA_TOP_FILES[1]);
            let f = std::fs::OpenOptions::new().append(true).open(log).expect("simulated Aria log");
            (&f).write_all(&row[..16]).expect("append to the simulated Aria log");
        }
    }

    /// One server action, chosen by the seed: what a busy server does between two engine steps.
    pub fn act(&mut self) {
        self.seq += 1;
        if self.tear.is_some() && self.rng.chance(0.35) {
            self.finish_tear();
            return;
        }
        match self.rng.below(100) {
            0..=44 if !self.commits_blocked => self.transaction(),
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
            _ if !self.ddl_blocked
                && self.cfg.ddl_per_mille > 0
                && self.rng.below(1000) < self.cfg.ddl_per_mille * 12 =>
            {
                self.ddl()
            }
            _ if !self.commits_blocked => self.myisam_write(),
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
        if self.cfg.flavor == Flavor::MariaDb {
            return self.create_table_lazily(schema, name);
        }
        let id = self.next_space_id;
        self.next_space_id += 1;
        let n = self.rng.range(4, self.cfg.table_pages_max.max(5) as u64) as u32;
        let flags = crate::datadir::fsp_flags(self.cfg.flavor, self.cfg.page_size, true);
        let mut cfg = self.cfg.clone();
        cfg.start_lsn = self.log.lsn();
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
        let create = FileOp::Create { space: id, flags, name: redo_name.clone() };
        self.log.append(&Mtr { files: vec![create], pages: vec![] }, &mut self.truth);
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
            freed: BTreeSet::new(),
            page0_pending: false,
        });
        self.truth.ddl.push((self.seq, format!("CREATE {schema}.{name} (space {id})")));
    }

    /// MariaDB's CREATE TABLE: FILE_MODIFY in an mtr of its own, then FILE_CREATE
    /// with INIT_PAGE and the first bytes of every page; the file is created full of
    /// zeros and its pages reach it only when the flusher writes them, page 0 first.
    fn create_table_lazily(&mut self, schema: &str, name: &str) {
        let id = self.next_space_id;
        self.next_space_id += 1;
        let n = self.rng.range(4, self.cfg.table_pages_max.max(5) as u64) as u32;
        let psize = self.cfg.page_size;
        let flags = crate::datadir::fsp_flags(self.cfg.flavor, psize, true);
        let rel = Path::new(schema).join(format!("{name}.ibd"));
        let path = self.paths.real_datadir.join(&rel);
        let redo_name = format!("./{}", rel.display());
        self.named_since_checkpoint.insert(id);
        let modify = FileOp::Modify { space: id, name: redo_name.clone() };
        self.log.append(&Mtr { files: vec![modify], pages: vec![] }, &mut self.truth);
        let mut changes = Vec::new();
        for p in 0..n {
            let ty = match p {
                0 => page::PAGE_TYPE_FSP_HDR,
                1 => page::PAGE_TYPE_IBUF_BITMAP,
                2 => page::PAGE_TYPE_INODE,
                _ => page::PAGE_TYPE_INDEX,
            };
            let mut ops = vec![
                PageOp::Init,
                PageOp::Write { offset: page::FIL_PAGE_TYPE as u16, data: ty.to_be_bytes().to_vec(), string: false },
            ];
            if p == 0 {
                let mut hdr = vec![0u8; page::FSP_SPACE_FLAGS + 4];
                crate::datadir::fsp_header(&mut hdr, id, n, flags);
                let data = hdr[page::FSP_SPACE_ID..].to_vec();
                ops.push(PageOp::Write { offset: page::FSP_SPACE_ID as u16, data, string: false });
            } else if p >= 3 {
                let mut body = vec![0u8; self.rng.range(8, 64) as usize];
                self.rng.fill(&mut body);
                ops.push(PageOp::Write { offset: (page::FIL_PAGE_DATA + 64) as u16, data: body, string: false });
            }
            changes.extend(ops.into_iter().map(|op| PageChange { space: id, page: p, op }));
        }
        let mtr = Mtr { files: vec![FileOp::Create { space: id, flags, name: redo_name.clone() }], pages: changes };
        let encoded = self.log.encode(&mtr);
        self.make_room(encoded.len);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("simulated CREATE TABLE");
        file.set_len(n as u64 * psize as u64).expect("simulated CREATE TABLE extends the file");
        let zero = vec![0u8; psize];
        for no in 0..n {
            self.truth.page_written(id, no, &zero, self.seq);
        }
        let frm = crate::datadir::random_bytes(&mut self.rng, &[0xFE, 0x01, 0x0A, 0x0C], 600, 4000);
        std::fs::write(self.paths.real_datadir.join(schema).join(format!("{name}.frm")), frm).expect("simulated .frm");
        self.spaces.push(Space {
            id,
            path,
            rel,
            redo_name,
            file,
            pages: vec![zero; n as usize],
            newest: vec![0; n as usize],
            oldest: vec![0; n as usize],
            is_system: false,
            writable: (3..n).collect(),
            freed: BTreeSet::new(),
            page0_pending: true,
        });
        let idx = self.spaces.len() - 1;
        mtr.pages.iter().for_each(|c| self.change_page(idx, c));
        let (start, end) = self.log.append_encoded(encoded, &mut self.truth);
        let s = &mut self.spaces[idx];
        s.newest.fill(end);
        s.oldest.fill(start);
        self.truth.ddl.push((self.seq, format!("CREATE {schema}.{name} (space {id}, pages written later)")));
    }

    fn drop_table(&mut self, idx: usize) {
        let s = self.spaces.remove(idx);
        std::fs::remove_file(&s.path).expect("simulated DROP TABLE");
        let frm = s.path.with_extension("frm");
        let _ = std::fs::remove_file(frm);
        self.named_since_checkpoint.remove(&s.id);
        self.truth.dropped_spaces.push(s.id);
        let delete = FileOp::Delete { space: s.id, name: s.redo_name.clone() };
        self.log.append(&Mtr { files: vec![delete], pages: vec![] }, &mut self.truth);
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
                let to = self.paths.real_datadir.join(&to_rel);
                let s = &mut self.spaces[victim];
                std::fs::rename(&s.path, &to).expect("simulated RENAME TABLE");
                let _ = std::fs::rename(s.path.with_extension("frm"), to.with_extension("frm"));
                let from_name = std::mem::replace(&mut s.redo_name, format!("./{}", to_rel.display()));
                let rename = FileOp::Rename { space: s.id, from: from_name.clone(), to: s.redo_name.clone() };
                s.path = to;
                s.rel = to_rel;
                let what = format!("RENAME {from_name} TO {} (space {})", s.redo_name, s.id);
                self.log.append(&Mtr { files: vec![rename], pages: vec![] }, &mut self.truth);
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
                page::set_page_lsn(&mut image, self.log.lsn());
                page::stamp_legacy_crc32(&mut image);
                write_all_at(&s.file, &image, page_no as u64 * psize as u64);
                s.pages[page_no as usize] = image.clone();
                s.oldest[page_no as usize] = 0;
                let id = s.id;
                self.unflushed_undo.retain(|u| !(u.0 == id && u.1 == page_no));
                self.truth.page_written(id, page_no, &image, self.seq);
                let load = Mtr { files: vec![FileOp::IndexLoad { space: id }], pages: vec![] };
                let (start, _) = self.log.append(&load, &mut self.truth);
                self.truth.index_loads.push(start);
                self.truth.ddl.push((self.seq, format!("sorted index build on space {id}")));
            }
        }
        self.flush_log();
    }

    // ---- what the control plane reads ----------------------------------------

    pub fn lsn(&self) -> Lsn {
        self.log.lsn()
    }
    pub fn flushed_lsn(&self) -> Lsn {
        self.log.flushed_lsn()
    }
    pub fn checkpoint_lsn(&self) -> Lsn {
        self.log.checkpoint_lsn()
    }
    /// Bytes of redo the ring holds.
    pub fn log_capacity(&self) -> u64 {
        self.log.capacity()
    }
    /// How far into the ring the server has written (see `SimRedoWriter::written_lsn`).
    pub fn log_written_lsn(&self) -> Lsn {
        self.log.written_lsn()
    }
    /// UNLOCK TABLES, BACKUP STAGE END, or the backup's connection closed.
    pub fn release_locks(&mut self) {
        self.ddl_blocked = false;
        self.commits_blocked = false;
        self.backup_stage = false;
    }

    /// Whether a backup left anything locked.
    pub fn is_locked(&self) -> bool {
        self.ddl_blocked || self.commits_blocked || self.backup_stage
    }

    /// `Executed_Gtid_Set` (5.7) or `@@gtid_current_pos` (MariaDB: domain-server-sequence).
    pub fn gtid_set(&self) -> String {
        match self.cfg.flavor {
            Flavor::Mysql57 => format!("{}:1-{}", self.binlog.server_uuid, self.binlog.gtid_next - 1),
            Flavor::MariaDb => format!("0-1-{}", self.binlog.gtid_next - 1),
        }
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
        let ibdata = if (c.ibdata_pages as u64 * c.page_size as u64) % (1 << 20) == 0 {
            format!("ibdata1:{ibdata_mb}M:autoextend")
        } else {
            format!("ibdata1:{}K:autoextend", (c.ibdata_pages as u64 * c.page_size as u64) >> 10)
        };
        let mut vars = vec![
            ("datadir", format!("{}/", self.paths.datadir_link.display())),
            ("innodb_data_home_dir", String::new()),
            ("innodb_data_file_path", ibdata),
            ("innodb_log_group_home_dir", "./".into()),
            ("innodb_page_size", c.page_size.to_string()),
            ("innodb_undo_directory", "./".into()),
            ("innodb_undo_tablespaces", c.undo_tablespaces.to_string()),
            ("log_bin", "ON".into()),
            ("server_id", "1".into()),
        ];
        vars.extend(self.log.variables());
        match c.flavor {
            Flavor::Mysql57 => vars.extend([
                ("version", "5.7.17-sim-log".to_string()),
                ("innodb_checksum_algorithm", "crc32".into()),
                ("gtid_mode", "ON".into()),
                ("server_uuid", self.binlog.server_uuid.clone()),
            ]),
            Flavor::MariaDb => vars.extend([
                ("version", "10.11.19-MariaDB-log".to_string()),
                ("innodb_checksum_algorithm", "full_crc32".into()),
                ("innodb_compression_level", "6".into()),
                ("gtid_current_pos", self.gtid_set()),
            ]),
        }
        vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

/// The bytes of a page a change writes: (offset, length).
fn changed_range(op: &PageOp, page_size: usize) -> (usize, usize) {
    match op {
        PageOp::Write { offset, data, .. } => (*offset as usize, data.len()),
        PageOp::Memset { offset, len, .. } | PageOp::Memmove { offset, len, .. } => (*offset as usize, *len as usize),
        PageOp::Init => (0, page_size),
        PageOp::Free => (0, 0),
    }
}

/// Applies a change to a buffer-pool page, as recovery would.
pub fn apply_change(page: &mut [u8], change: &PageChange) {
    match &change.op {
        PageOp::Write { offset, data, .. } => {
            let o = *offset as usize;
            page[o..o + data.len()].copy_from_slice(data);
        }
        PageOp::Memset { offset, len, fill } => {
            let o = *offset as usize;
            for (i, b) in page[o..o + *len as usize].iter_mut().enumerate() {
                *b = fill[i % fill.len()];
            }
        }
        PageOp::Memmove { offset, len, from } => {
            let f = *from as usize;
            page.copy_within(f..f + *len as usize, *offset as usize);
        }
        PageOp::Init => {
            page.fill(0);
            page[page::FIL_PAGE_OFFSET..page::FIL_PAGE_OFFSET + 4].copy_from_slice(&change.page.to_be_bytes());
            page[page::FIL_PAGE_PREV..page::FIL_PAGE_NEXT + 4].fill(0xFF);
            page[page::FIL_PAGE_SPACE_ID..page::FIL_PAGE_SPACE_ID + 4].copy_from_slice(&change.space.to_be_bytes());
        }
        PageOp::Free => {}
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
