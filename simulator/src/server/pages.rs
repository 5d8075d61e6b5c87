//! The buffer pool and the flusher: page changes (with what they replaced until
//! the log is on disk), page writes with the flavor's checksum, torn writes,
//! doublewrite activity, and the pages as of the end of the log on disk.

use super::{write_all_at, PendingTear, SimServer};
use crate::redo::{PageChange, PageOp};
use innohot::format::page;
use std::collections::BTreeSet;

impl SimServer {
    /// Applies a change to the buffer pool, keeping the bytes it replaced until the log is flushed.
    pub(super) fn change_page(&mut self, space_idx: usize, change: &PageChange) {
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
    pub(super) fn write_page(&mut self, space_idx: usize, page_no: u32, may_tear: bool) {
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

    pub(super) fn finish_page_write(&mut self, space_idx: usize, page_no: u32, image: &[u8], from: usize) {
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

    pub(super) fn flush_some_pages(&mut self) {
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
