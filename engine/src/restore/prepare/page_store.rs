//! Where prepare's pages live while the redo is applied ([`PageStore`]), and the
//! maps keyed by page id it uses.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes page ids with a multiply per word. Prepare looks a page id up for
/// every record; std's SipHash took about an eighth of its time (perf), and
/// its flooding resistance buys nothing for ids read from one's own backup.
#[derive(Debug, Default, Clone, Copy)]
pub struct PageIdHasher(u64);

const PAGE_ID_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for PageIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(PAGE_ID_MULTIPLIER);
    }
    fn finish(&self) -> u64 {
        // The high bits are the well-mixed ones; the table indexes with the low.
        self.0 ^ (self.0 >> 32)
    }
}

/// A map keyed by (space id, page number).
pub type PageMap<V> = HashMap<(u32, u32), V, BuildHasherDefault<PageIdHasher>>;
/// A set of (space id, page number).
pub type PageSet = HashSet<(u32, u32), BuildHasherDefault<PageIdHasher>>;

/// Where the pages live while redo is applied.
pub trait PageStore {
    /// The page, or None when no tablespace with this id is in the backup.
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]>;
    /// Whether a tablespace with this id is in the backup (its page 0 is there).
    fn holds_space(&mut self, space: u32) -> bool {
        self.page_mut(space, 0).is_some()
    }
    /// The page's bytes to change apart from the store, which gets them back through
    /// [`PageStore::put_page`] (a store that holds pages in memory hands its own
    /// over, without a copy); None as for [`PageStore::page_mut`].
    fn take_page(&mut self, space: u32, page: u32) -> Option<Vec<u8>> {
        self.page_mut(space, page).map(|p| p.to_vec())
    }
    /// A page whose applied records start with INIT_PAGE, which rebuilds it whole:
    /// recovery builds such a page without reading it (MariaDB's `skip_read`), so a
    /// store may hand over zeros instead of the stored bytes (the page LSN 0 then
    /// takes every record from the INIT_PAGE on, as recovery's does). By default it
    /// is read, as [`PageStore::take_page`]: either way the page ends the same.
    fn take_initialized_page(&mut self, space: u32, page: u32) -> Option<Vec<u8>> {
        self.take_page(space, page)
    }
    /// Gives back a page [`PageStore::take_page`] handed over, as it is now.
    fn put_page(&mut self, space: u32, page: u32, bytes: Vec<u8>) {
        if let Some(dst) = self.page_mut(space, page) {
            dst.copy_from_slice(&bytes);
        }
    }
    /// Whether the tablespace is ROW_FORMAT=COMPRESSED (its pages held as stored).
    fn is_compressed(&mut self, _space: u32) -> bool {
        false
    }
}
