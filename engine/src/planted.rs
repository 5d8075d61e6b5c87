//! Known bugs that tests can switch on (feature `planted-bugs`, never in a release).

use std::sync::atomic::AtomicBool;

/// The 5.7 follower copies a block from a later lap as if it were the expected one.
pub static SKIP_LAP_CHECK: AtomicBool = AtomicBool::new(false);

/// The lock-time re-check of the files copied before MySQL 5.7's FTWRL trusts
/// a stamp however young it is, so a same-size write in the same timestamp
/// tick as the copy goes unnoticed.
pub static TRUST_YOUNG_STAMPS: AtomicBool = AtomicBool::new(false);

/// The MariaDB follower never compares the server's checkpoint with its copy position,
/// so it does not notice that the server overwrote redo it had not copied yet.
pub static SKIP_WRAP_CHECK_MARIADB: AtomicBool = AtomicBool::new(false);

/// The MariaDB follower copies every whole mtr it reads, past what the server
/// reported as written, so a stale tail caught mid-write ends up in the copy.
pub static TRUST_LOG_TAIL: AtomicBool = AtomicBool::new(false);

/// The stream's ledger writes no `.ren` marker for a table renamed after it
/// was sent, so prepare leaves its copy under the old name.
pub static SKIP_REN_MARKER: AtomicBool = AtomicBool::new(false);

/// An incremental backup's delta takes only pages whose LSN is above its
/// `from_lsn` (mariabackup's `>`), not at or above it: a page last changed
/// by the mini-transaction that ends exactly at the base's `to_lsn` is left out.
pub static SKIP_PAGE_AT_FROM_LSN: AtomicBool = AtomicBool::new(false);
