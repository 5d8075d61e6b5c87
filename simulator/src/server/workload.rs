//! What a busy server does: mini-transactions of page records (MySQL 5.7's
//! byte writes; MariaDB's WRITE, MEMSET, MEMMOVE, FREE_PAGE and INIT_PAGE),
//! committed transactions with their binlog events, MyISAM and Aria writes.

use super::SimServer;
use crate::config::Flavor;
use crate::redo::{FileOp, Mtr, PageChange, PageOp};
use crate::rng::Rng;
use innohot::format::page;
use innohot::format::Lsn;
use std::collections::BTreeSet;

impl SimServer {
    /// One mini-transaction of 1-4 page records on pages of one tablespace.
    pub(super) fn page_mtr(&mut self, space_idx: usize) -> (Lsn, Lsn) {
        let psize = self.cfg.page_size;
        let nrec = self.rng.range(1, 4) as usize;
        let mut mtr = Mtr::default();
        let space_id = self.spaces[space_idx].id;
        let is_system = self.spaces[space_idx].is_system;
        if !is_system && !self.is_named(space_id) {
            mtr.files.push(FileOp::Modify { space: space_id, name: self.spaces[space_idx].redo_name.clone() });
        }
        if !is_system {
            // Named from here on: a checkpoint make_room takes below names it too.
            self.note_named(space_id, self.log.lsn());
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
                Flavor::Mysql57 => vec![self.op_mysql57(psize)],
                Flavor::MariaDb => {
                    let freed = self.spaces[space_idx].freed.contains(&page_no) || freed_here.contains(&page_no);
                    let ops = self.ops_mariadb(space_idx, page_no, freed, freed_here.len());
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
        self.commit_mtr(space_idx, mtr)
    }

    /// One mini-transaction writing a byte to page 0's body of a tablespace (an
    /// extent descriptor, say): a page the workload itself seldom changes.
    pub(super) fn page0_mtr(&mut self, space_idx: usize) -> (Lsn, Lsn) {
        let mut mtr = Mtr::default();
        let (space_id, is_system) = (self.spaces[space_idx].id, self.spaces[space_idx].is_system);
        if !is_system && !self.is_named(space_id) {
            mtr.files.push(FileOp::Modify { space: space_id, name: self.spaces[space_idx].redo_name.clone() });
        }
        if !is_system {
            self.note_named(space_id, self.log.lsn());
        }
        if self.tear.as_ref().is_some_and(|t| t.space == space_idx && t.page == 0) {
            self.finish_tear();
        }
        let offset = (self.cfg.page_size / 2) as u16;
        let op = PageOp::Write { offset, data: vec![self.rng.below(256) as u8], string: false };
        mtr.pages.push(PageChange { space: space_id, page: 0, op });
        self.commit_mtr(space_idx, mtr)
    }

    /// Logs an mtr of one tablespace and applies its changes to the buffer pool.
    pub(super) fn commit_mtr(&mut self, space_idx: usize, mtr: Mtr) -> (Lsn, Lsn) {
        let (space_id, is_system) = (self.spaces[space_idx].id, self.spaces[space_idx].is_system);
        let encoded = self.log.encode(&mtr);
        let need = encoded.len;
        // Room first, then the pages: make_room flushes every dirty page and declares
        // the log durable, so a change made before it would reach the disk (and the
        // oracle's truth) ahead of its redo, which InnoDB's WAL rule never allows.
        self.make_room(need);
        mtr.pages.iter().for_each(|c| self.change_page(space_idx, c));
        let (start, end) = self.log.append_encoded(encoded, &mut self.truth);
        if !is_system {
            self.note_named(space_id, start);
        }
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

    /// Extends a tablespace by 1-4 pages as InnoDB does when it runs out of
    /// room: the file first grows with zeros, then one mtr writes the new
    /// FSP_SIZE to page 0 and initializes the new pages (MariaDB: INIT_PAGE;
    /// MySQL 5.7: the page number and space id, as MLOG_INIT_FILE_PAGE2 leaves
    /// a page). 5.7 logs nothing else for it: a data file copied before the
    /// extension is shorter than the redo's pages need.
    pub(super) fn grow_space(&mut self) {
        let idx = self.grow_rng.below(self.spaces.len() as u64) as usize;
        let n = self.grow_rng.range(1, 4) as u32;
        let psize = self.cfg.page_size;
        if self.tear.as_ref().is_some_and(|t| t.space == idx && t.page == 0) {
            self.finish_tear();
        }
        let s = &mut self.spaces[idx];
        let old = s.pages.len() as u32;
        let new = old + n;
        s.file.set_len(u64::from(new) * psize as u64).expect("simulated extension of its own temp file");
        let id = s.id;
        let zero = vec![0u8; psize];
        for p in old..new {
            s.pages.push(zero.clone());
            s.newest.push(0);
            s.oldest.push(0);
            self.truth.page_written(id, p, &zero, self.seq);
        }
        self.truth.grown.push((id, self.seq, old, new));
        let mut mtr = Mtr::default();
        let is_system = self.spaces[idx].is_system;
        if !is_system && !self.is_named(id) {
            mtr.files.push(FileOp::Modify { space: id, name: self.spaces[idx].redo_name.clone() });
        }
        if !is_system {
            self.note_named(id, self.log.lsn());
        }
        let write = |page: u32, offset: usize, data: &[u8]| PageChange {
            space: id,
            page,
            op: PageOp::Write { offset: offset as u16, data: data.to_vec(), string: false },
        };
        mtr.pages.push(write(0, page::FSP_SIZE, &new.to_be_bytes()));
        for p in old..new {
            if self.cfg.flavor == Flavor::MariaDb {
                mtr.pages.push(PageChange { space: id, page: p, op: PageOp::Init });
                mtr.pages.push(write(p, page::FIL_PAGE_TYPE, &page::PAGE_TYPE_INDEX.to_be_bytes()));
            } else {
                mtr.pages.push(write(p, page::FIL_PAGE_OFFSET, &p.to_be_bytes()));
                mtr.pages.push(write(p, page::FIL_PAGE_SPACE_ID, &id.to_be_bytes()));
            }
        }
        self.commit_mtr(idx, mtr);
        self.spaces[idx].writable.extend(old..new);
    }

    /// A MySQL 5.7 page record: MLOG_1/2/4/8BYTES or MLOG_WRITE_STRING in the page body.
    pub(super) fn op_mysql57(&mut self, psize: usize) -> PageOp {
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
    pub(super) fn ops_mariadb(
        &mut self,
        space_idx: usize,
        page_no: u32,
        freed: bool,
        freed_in_mtr: usize,
    ) -> Vec<PageOp> {
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

    /// A committed transaction: redo for 1-3 mtrs, then a binlog event.
    pub(super) fn transaction(&mut self) {
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

    /// An append to a non-transactional table the locks still allow: user
    /// tables until BLOCK_DDL (FTWRL), the statistics and log tables until
    /// BLOCK_COMMIT.
    pub(super) fn myisam_write(&mut self) {
        let users = if self.non_trans_blocked { 0 } else { self.myisam_files.len() };
        let open = users + self.system_files.len();
        if open == 0 {
            return;
        }
        let i = self.rng.below(open as u64) as usize;
        let path = if i < users { self.myisam_files[i].clone() } else { self.system_files[i - users].clone() };
        let mut row = vec![0u8; self.rng.range(16, 256) as usize];
        self.rng.fill(&mut row);
        if self.cfg.flavor == Flavor::Mysql57 {
            return self.myisam_change(&path, &row);
        }
        self.files.append(&path, &row);
        if path.extension().is_some_and(|e| e == "MAD") {
            // An Aria write goes to Aria's transaction log too.
            let log = self.paths.real_datadir.join(crate::datadir::ARIA_TOP_FILES[1]);
            self.files.append(&log, &row[..16]);
        }
    }

    /// MySQL 5.7's MyISAM write, from a stream of its own: an INSERT appends
    /// the row to the `.MYD`, an UPDATE of a fixed-length row rewrites it in
    /// place, and either may rewrite the `.MYI` header's counters in place.
    /// The in-place writes leave the sizes as they were: only the times tell
    /// them (and a write in the same tick as the last leaves even those).
    fn myisam_change(&mut self, myd: &std::path::Path, row: &[u8]) {
        let r = &mut self.myisam_rng;
        let size = std::fs::metadata(myd).map(|m| m.len()).unwrap_or(0);
        match r.below(3) {
            1 if size >= row.len() as u64 => {
                let at = r.range(0, size - row.len() as u64);
                self.files.write_at(myd, row, at)
            }
            _ => self.files.append(myd, row),
        }
        if r.chance(0.6) {
            let mut counters = [0u8; 8];
            r.fill(&mut counters);
            self.files.write_at(&myd.with_extension("MYI"), &counters, 4);
        }
    }
}
