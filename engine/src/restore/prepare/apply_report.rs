//! What applying a backup's redo to its pages did: one report for both
//! appliers ([`super::mysql57`], [`super::mariadb`]), so that the on-disk
//! prepare builds its [`super::PrepareReport`] in one place.

use crate::format::Lsn;
use std::collections::{BTreeMap, BTreeSet};

/// What an applier did. Fields one redo format has no use for stay zero (or
/// empty) for the other: each says which flavor fills it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub mtrs: u64,
    pub records_applied: u64,
    /// Records whose page was already newer (its FIL_PAGE_LSN past the mtr's start).
    pub records_already_in_page: u64,
    /// Records for tablespaces that are not in the backup (dropped during it).
    pub records_without_tablespace: u64,
    /// Those tablespaces' ids.
    pub spaces_not_in_backup: Vec<u32>,
    /// File records seen: MariaDB's FILE_CREATE, FILE_DELETE, FILE_RENAME and
    /// FILE_MODIFY; 5.7's MLOG_FILE_CREATE2, DELETE and RENAME2 (the backup's
    /// lock-time reconcile already made its files the server's, and pages are
    /// found by space id, so these change nothing there).
    pub file_operations: u64,
    /// End LSN of the last complete mini-transaction applied.
    pub end_lsn: Lsn,
    /// Pages changed (their checksums are written again).
    pub pages_touched: Vec<(u32, u32)>,
    /// The last FSP_SIZE (pages) the redo gives each tablespace: a shorter file is
    /// extended to it, as recovery does.
    pub sizes: BTreeMap<u32, u32>,
    /// MySQL 5.7 only: page records applied, by record type (the byte writes are not
    /// counted here).
    pub by_type: Vec<u64>,
    /// MariaDB only: INIT_PAGE records applied.
    pub pages_initialized: u64,
    /// MariaDB only: pages whose last page record was FREE_PAGE: their contents no
    /// longer matter.
    pub pages_freed: BTreeSet<(u32, u32)>,
    /// MariaDB only: the name each tablespace the file records mention has at the end
    /// of the log ("./db/t.ibd"), None once deleted.
    pub file_names: BTreeMap<u32, Option<String>>,
    /// MariaDB only: FILE_CHECKPOINT records seen (the start checkpoint's among them).
    pub checkpoints: u64,
    /// MariaDB only: EXTENDED records applied (row and undo operations).
    pub extended_applied: u64,
    /// MariaDB only: TRIM_PAGES records: tablespace id -> its new size in pages. The
    /// pages from that size on are gone; the on-disk prepare truncates the file to it.
    pub trimmed: BTreeMap<u32, u32>,
}
