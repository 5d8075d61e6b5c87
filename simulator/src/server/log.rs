//! The server's side of its redo log: flushing it, checkpoints, and keeping
//! the writer from overwriting what the last checkpoint still needs.

use super::SimServer;
use innohot::format::Lsn;

impl SimServer {
    /// log_write_up_to(lsn): the log buffer goes to disk.
    pub fn flush_log(&mut self) {
        self.log.flush(&mut self.truth);
        self.log_is_durable();
        self.publish_flushed();
    }

    /// Every mtr so far is on disk: nothing to take back for `pages_at_flushed_lsn`.
    pub(super) fn log_is_durable(&mut self) {
        self.unflushed_undo.clear();
        self.unflushed_freed.clear();
    }

    /// log_checkpoint(): advance to the oldest dirty page, name the tablespaces
    /// changed since they were last clean at a checkpoint in the redo
    /// (MLOG_FILE_NAME / FILE_MODIFY), make it durable, then the checkpoint block.
    /// As fil_names_clear(): every named tablespace is named, and those last
    /// changed before the new checkpoint LSN are forgotten.
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
            .named_spaces
            .iter()
            .filter_map(|(id, _)| self.spaces.iter().find(|s| s.id == *id))
            .map(|s| (s.id, s.redo_name.clone()))
            .collect();
        self.named_spaces.retain(|(_, max_lsn)| *max_lsn >= oldest);
        self.log.checkpoint(oldest, &names, &mut self.truth);
        self.log_is_durable();
    }

    /// Whether the tablespace was named since it was last clean at a checkpoint.
    pub(super) fn is_named(&self, id: u32) -> bool {
        self.named_spaces.iter().any(|(i, _)| *i == id)
    }

    /// fil_names_write_if_was_clean(): `id` changes at `lsn`; a newly named one goes last.
    pub(super) fn note_named(&mut self, id: u32, lsn: Lsn) {
        match self.named_spaces.iter_mut().find(|(i, _)| *i == id) {
            Some((_, max_lsn)) => *max_lsn = lsn,
            None => self.named_spaces.push((id, lsn)),
        }
    }

    /// Keeps the log from overwriting what the last checkpoint still needs
    /// (log_margin_checkpoint_age): flush every dirty page, then checkpoint.
    pub(super) fn make_room(&mut self, need: u64) {
        let cap = self.log.capacity();
        if self.log.lsn() + need + 4096 - self.log.checkpoint_lsn() < cap * 3 / 4 {
            return;
        }
        self.checkpoint_now();
    }

    /// The server idle for a moment (the incremental scenario, under a
    /// backup's lock): one last change, to a page 0 (which the workload
    /// seldom changes again), then every dirty page written and a checkpoint
    /// at the current LSN, the end of that change, which the page then
    /// carries on disk as its LSN.
    pub fn settle_to_clean_checkpoint(&mut self) {
        self.log.settle();
        let s = self.rng.below(self.spaces.len() as u64) as usize;
        self.page0_mtr(s);
        self.checkpoint_now();
        self.publish_flushed();
    }

    /// `SET GLOBAL innodb_log_checkpoint_now=ON`: every dirty page written, then
    /// a checkpoint at the current LSN.
    pub fn checkpoint_now(&mut self) {
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
}
