//! The simulated server's redo log, behind one seam: the server describes each
//! mini-transaction (mtr) in flavor-neutral terms, and a writer puts it on disk
//! in its flavor's format — MySQL 5.7's 512-byte blocks in `ib_logfile0..N`, or
//! MariaDB 10.8+'s mtr stream in one `ib_logfile0` ring.

pub mod mariadb;
pub mod mysql57;

use crate::rng::Rng;
use crate::truth::Truth;
use innohot::format::Lsn;

/// What one mtr does to one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageOp {
    /// `data` at `offset`. `string` keeps MySQL 5.7's record choice: MLOG_WRITE_STRING
    /// even for 1, 2, 4 or 8 bytes (otherwise those are MLOG_nBYTES).
    Write { offset: u16, data: Vec<u8>, string: bool },
    /// `len` bytes from `offset` filled with `fill` repeated (MariaDB MEMSET).
    Memset { offset: u16, len: u16, fill: Vec<u8> },
    /// `len` bytes copied from `from` to `offset`, overlapping allowed (MariaDB MEMMOVE).
    Memmove { offset: u16, len: u16, from: u16 },
    /// The page is (re)initialized: zero, with its page number, space id and no
    /// neighbours (MariaDB INIT_PAGE).
    Init,
    /// The page is freed: its contents no longer matter (MariaDB FREE_PAGE).
    Free,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageChange {
    pub space: u32,
    pub page: u32,
    pub op: PageOp,
}

/// A file-level record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOp {
    /// The first change to a tablespace since the last checkpoint (MLOG_FILE_NAME, FILE_MODIFY).
    Modify {
        space: u32,
        name: String,
    },
    Create {
        space: u32,
        flags: u32,
        name: String,
    },
    Delete {
        space: u32,
        name: String,
    },
    Rename {
        space: u32,
        from: String,
        to: String,
    },
    /// MySQL 5.7 MLOG_INDEX_LOAD: pages of the space were written without redo.
    IndexLoad {
        space: u32,
    },
}

/// One mini-transaction: file records first, then page changes, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mtr {
    pub files: Vec<FileOp>,
    pub pages: Vec<PageChange>,
}

/// An mtr in a log's own format.
pub struct Encoded {
    /// The bytes the writer appends (MariaDB: the records, before the termination byte and CRC).
    pub bytes: Vec<u8>,
    /// Bytes the mtr takes in the log (framing included, 5.7 block headers excluded).
    pub len: u64,
}

/// A redo log the simulated server writes. Every byte it puts on disk is also
/// recorded in `Truth`.
pub trait SimRedoWriter {
    /// Writes the log as the server finds it at startup: headers, what a previous lap
    /// left in the ring (when the configuration says so), the first checkpoint.
    fn start(&mut self, rng: &mut Rng, truth: &mut Truth);
    /// `mtr` in this log's format, ready to append.
    fn encode(&self, mtr: &Mtr) -> Encoded;
    /// Appends an encoded mtr to the log buffer; returns its (start, end) LSN.
    fn append_encoded(&mut self, mtr: Encoded, truth: &mut Truth) -> (Lsn, Lsn);
    /// Appends `mtr` to the log buffer; returns its (start, end) LSN.
    fn append(&mut self, mtr: &Mtr, truth: &mut Truth) -> (Lsn, Lsn) {
        let e = self.encode(mtr);
        self.append_encoded(e, truth)
    }
    /// Writes the log buffer to the ring: the log on disk ends at `lsn()`.
    fn flush(&mut self, truth: &mut Truth);
    /// The write in flight completes: a reader no longer sees its torn state (MariaDB's phantom tail).
    fn settle(&mut self) {}
    /// A checkpoint at `lsn`: the redo naming the tablespaces changed since the last
    /// one, made durable, then the checkpoint block.
    fn checkpoint(&mut self, lsn: Lsn, names: &[(u32, String)], truth: &mut Truth);
    /// End of the log in memory.
    fn lsn(&self) -> Lsn;
    /// End of the log on disk.
    fn flushed_lsn(&self) -> Lsn;
    /// The LSN of the newest checkpoint written.
    fn checkpoint_lsn(&self) -> Lsn;
    /// Bytes of log the ring holds.
    fn capacity(&self) -> u64;
    /// How far the writer has written into the ring (the flushed end plus any padding
    /// after it): a reader that has not copied LSN `l` lost it once this passes `l + capacity()`.
    fn written_lsn(&self) -> Lsn;
    /// `innodb_log_files_in_group` and the like: what `SHOW VARIABLES` says about the log.
    fn variables(&self) -> Vec<(&'static str, String)>;
}
