//! Ground truth: every redo block and page version the server put on disk,
//! and what it said at the moments the backup asked.

use innohot::format::checksum::{crc32c, crc32c_append};
use innohot::format::mariadb;
use innohot::format::mysql57::Checkpoint;
use innohot::format::Lsn;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// A 64-bit fingerprint of a page image: the CRC-32C of each half (one pass).
pub fn fingerprint(bytes: &[u8]) -> u64 {
    let (a, b) = bytes.split_at(bytes.len() / 2);
    ((crc32c(a) as u64) << 32) | crc32c_append(0x5A5A_5A5A, b) as u64
}

/// One image of a page as it reached the disk whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageVersion {
    pub fingerprint: u64,
    /// FIL_PAGE_LSN of the image.
    pub lsn: Lsn,
    /// Server action number when it was written (0 = built with the datadir).
    pub written_at: u64,
}

/// Every mtr a MariaDB server appended to its log, as one byte stream by LSN.
#[derive(Default)]
pub struct MariaLog {
    /// LSN of `bytes[0]` (the first mtr appended after startup).
    pub base: Lsn,
    pub bytes: Vec<u8>,
    /// Each mtr: (start LSN, bytes of records before its termination byte).
    pub mtrs: Vec<(Lsn, usize)>,
}

impl MariaLog {
    pub fn mtr_appended(&mut self, start: Lsn, mtr: &[u8], records_len: usize) {
        if self.mtrs.is_empty() {
            self.base = start;
        }
        assert_eq!(self.base + self.bytes.len() as u64, start, "mtrs are appended back to back");
        self.bytes.extend_from_slice(mtr);
        self.mtrs.push((start, records_len));
    }

    /// The log from `from` to `to` as a backup must hold it: every termination byte 1.
    /// None when the range does not start and end at mtr boundaries the server wrote.
    pub fn as_copied(&self, from: Lsn, to: Lsn) -> Option<Vec<u8>> {
        let first = self.mtrs.binary_search_by_key(&from, |m| m.0).ok()?;
        let end = self.base + self.bytes.len() as u64;
        if to != end && self.mtrs.binary_search_by_key(&to, |m| m.0).is_err() || to < from || to > end {
            return None;
        }
        let mut out = self.bytes[(from - self.base) as usize..(to - self.base) as usize].to_vec();
        for &(start, records_len) in self.mtrs[first..].iter().take_while(|m| m.0 < to) {
            out[(start - from) as usize + records_len] = 1;
        }
        Some(out)
    }
}

#[derive(Default)]
pub struct Truth {
    /// MySQL 5.7: the last image written of every redo block, by block LSN.
    pub blocks: HashMap<Lsn, Vec<u8>>,
    /// MySQL 5.7: every checkpoint written, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// MariaDB: every mtr appended.
    pub mariadb_log: MariaLog,
    /// MariaDB: every checkpoint block written, in order.
    pub mariadb_checkpoints: Vec<mariadb::Checkpoint>,
    /// Versions of each page on disk, oldest first.
    pub pages: HashMap<(u32, u32), Vec<PageVersion>>,
    /// (binlog position after the commit, end LSN of its redo), in commit order.
    pub commits: Vec<(u64, Lsn)>,
    /// Redo bytes appended (LSN distance, headers included).
    pub redo_lsn_range: Option<(Lsn, Lsn)>,
    pub torn_writes_started: u64,
    /// MariaDB log writes caught in flight with whole stale mtrs after their end.
    pub phantom_tails: u64,
    /// DDL statements run: (server action number, what).
    pub ddl: Vec<(u64, String)>,
    /// Space ids of dropped tablespaces (TRUNCATE drops one too).
    pub dropped_spaces: Vec<u32>,
    /// Start LSNs of MLOG_INDEX_LOAD records (pages changed without redo).
    pub index_loads: Vec<Lsn>,
    /// The checkpoint LSN when the log copy started.
    pub checkpoint_at_start: Option<Lsn>,
    /// The LSN the backup last asked the server for.
    pub last_lsn_answered: Lsn,
    /// The LSN the backup read before it copied any data file: an index built
    /// without redo below it had its pages flushed before the copy.
    pub lsn_read_before_copy: Option<Lsn>,
    // Moments the backup asked:
    pub binlog_at_lock: Option<(String, u64, String)>,
    pub non_innodb_at_lock: BTreeMap<PathBuf, Vec<u8>>,
    pub flushed_at_final_pass: Option<Lsn>,
    /// Every page (by space id) as of the end of the log at the final pass.
    pub pages_at_final_pass: Vec<(u32, Vec<Vec<u8>>)>,
    /// Pages freed as of the end of the log at the final pass: their contents do not matter.
    pub freed_at_final_pass: std::collections::BTreeSet<(u32, u32)>,
    /// The tablespaces (id, path in the backup) at the final pass: DDL is blocked
    /// from the lock on, so this is the set the backup must hold.
    pub spaces_at_final_pass: Vec<(u32, PathBuf)>,
    pub checkpoint_at_last_read: Option<Lsn>,
    /// Server action numbers bounding the reads of data files (scan to final pass).
    pub copy_window: (u64, u64),
    /// Server action number when the read lock was granted.
    pub lock_seq: u64,
    /// First moment the server overwrote redo the copier had not copied: (sim ns, LSN).
    pub lapped_at: Option<(u64, Lsn)>,
    /// Data-file extensions: (space id, server action number, pages before, pages after).
    pub grown: Vec<(u32, u64, u32, u32)>,
    /// How many times the ring's write position passed its end during the backup.
    pub ring_wraps: u64,
}

impl Truth {
    /// Forgets what the last backup asked and when (another backup of the
    /// same server follows: the incremental scenario); the server's history
    /// (page versions, redo, DDL, commits) stays.
    pub fn forget_backup(&mut self) {
        self.checkpoint_at_start = None;
        self.lsn_read_before_copy = None;
        self.binlog_at_lock = None;
        self.non_innodb_at_lock.clear();
        self.flushed_at_final_pass = None;
        self.pages_at_final_pass.clear();
        self.freed_at_final_pass.clear();
        self.spaces_at_final_pass.clear();
        self.checkpoint_at_last_read = None;
        self.copy_window = (0, 0);
        self.lock_seq = 0;
        self.lapped_at = None;
    }

    /// An index build without redo at `lsn` that the copied log holds and whose
    /// pages reached the data file only after the backup read the server's LSN:
    /// the backup must fail over it. (5.7 writes MLOG_INDEX_LOAD after the flush.)
    pub fn index_load_unflushed_at_copy(&self, lsn: Lsn) -> bool {
        lsn >= self.checkpoint_at_start.unwrap_or(u64::MAX) && lsn >= self.lsn_read_before_copy.unwrap_or(0)
    }
    pub fn block_written(&mut self, block_lsn: Lsn, image: &[u8]) {
        self.blocks.insert(block_lsn, image.to_vec());
    }
    pub fn page_written(&mut self, space: u32, page: u32, image: &[u8], seq: u64) {
        let lsn = u64::from_be_bytes(image[16..24].try_into().expect("a page has a FIL header"));
        self.pages.entry((space, page)).or_default().push(PageVersion {
            fingerprint: fingerprint(image),
            lsn,
            written_at: seq,
        });
    }
    pub fn redo_appended(&mut self, start: Lsn, end: Lsn) {
        let r = self.redo_lsn_range.get_or_insert((start, end));
        r.1 = end;
    }
    /// The sizes (in pages) a tablespace's file may have been copied with when
    /// the copy ran in the window [from, to] and it has `final_pages` at its end:
    /// its size when the window opened, up to the final one.
    pub fn copied_size_range(&self, space: u32, from: u64, final_pages: u32) -> std::ops::RangeInclusive<u32> {
        let at_start = self.grown.iter().find(|g| g.0 == space && g.1 >= from).map(|g| g.2).unwrap_or(final_pages);
        at_start..=final_pages
    }
    /// Whether this page image was on disk at some moment of the window [from, to].
    pub fn page_was_on_disk(&self, space: u32, page: u32, image: &[u8], from: u64, to: u64) -> bool {
        let Some(versions) = self.pages.get(&(space, page)) else { return false };
        let fp = fingerprint(image);
        versions.iter().enumerate().any(|(i, v)| {
            let replaced = versions.get(i + 1).map(|n| n.written_at).unwrap_or(u64::MAX);
            v.fingerprint == fp && v.written_at <= to && replaced >= from
        })
    }
}
