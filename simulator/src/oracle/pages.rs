//! The copied tablespaces: read back into memory for the engine's prepare, and
//! checked page by page against the versions the server had on disk.

use crate::config::Flavor;
use crate::server::SimServer;
use innohot::format::page::{self, PageLayout};
use innohot::restore::prepare::PageStore;
use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// The copied pages held in memory by space id, for the engine's prepare.
pub(super) struct CopiedPages {
    page_size: usize,
    pub(super) spaces: HashMap<u32, Vec<u8>>,
}

impl PageStore for CopiedPages {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        let ps = self.page_size;
        let file = self.spaces.get_mut(&space)?;
        file.get_mut(page as usize * ps..(page as usize + 1) * ps)
    }
}

impl CopiedPages {
    /// Extends each held tablespace shorter than the size the redo gives it with
    /// zero pages, as prepare does before it applies the redo (never shortens).
    pub(super) fn extend_to(&mut self, sizes: &std::collections::BTreeMap<u32, u32>) {
        for (space, pages) in sizes {
            if let Some(file) = self.spaces.get_mut(space) {
                let len = *pages as usize * self.page_size;
                if file.len() < len {
                    file.resize(len, 0);
                }
            }
        }
    }
}

/// The copied pages by space id, as the backup holds them (a space whose file is
/// missing has no entry).
pub(super) fn copied_pages(srv: &SimServer, target: &Path) -> CopiedPages {
    let mut store = CopiedPages { page_size: srv.cfg.page_size, spaces: Default::default() };
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        if let Ok(bytes) = fs::read(target.join(rel)) {
            store.spaces.insert(*id, bytes);
        }
    }
    store
}

/// Every tablespace the server had at the final pass is copied whole, and each
/// copied page is valid and a version the server had on disk during the copy.
pub(super) fn check_pages(srv: &SimServer, copied: &CopiedPages, wrong: &mut Vec<String>) {
    let psize = srv.cfg.page_size;
    let layout = page_layout(srv);
    let (from, to) = srv.truth.copy_window;
    for (id, rel) in &srv.truth.spaces_at_final_pass {
        let Some(copy) = copied.spaces.get(id) else {
            wrong.push(format!("{} was not copied", rel.display()));
            continue;
        };
        let last = srv.truth.pages_at_final_pass.iter().find(|(i, _)| i == id).map(|(_, p)| p.len()).unwrap_or(0);
        let sizes = srv.truth.copied_size_range(*id, from, last as u32);
        if copy.len() % psize != 0 || !sizes.contains(&((copy.len() / psize) as u32)) {
            wrong.push(format!(
                "{} is {} bytes; the file had {} to {} pages during the copy",
                rel.display(),
                copy.len(),
                sizes.start(),
                sizes.end()
            ));
            continue;
        }
        for (no, pg) in copy.chunks_exact(psize).enumerate() {
            if let Err(d) = page::validate_page(pg, *id, no as u32, layout) {
                wrong.push(format!("{} page {no}: copied page is invalid: {d}", rel.display()));
                return;
            }
            if !srv.truth.page_was_on_disk(*id, no as u32, pg, from, to) {
                wrong.push(format!(
                    "{} page {no}: the copy is no version the server had on disk during the copy",
                    rel.display()
                ));
                return;
            }
        }
    }
}

/// The page layout every tablespace of the simulated server has.
pub(super) fn page_layout(srv: &SimServer) -> PageLayout {
    PageLayout { full_crc32: srv.cfg.flavor == Flavor::MariaDb, ..PageLayout::legacy(srv.cfg.page_size) }
}

/// Page `no` of a prepared copy; None past its end. The server's pages from an
/// extension whose redo the backup does not hold are all zeros, and the copy
/// may lack them.
pub(super) fn restored_page(file: &[u8], no: usize, psize: usize) -> Option<&[u8]> {
    file.get(no * psize..(no + 1) * psize)
}

/// Prepare may meet redo for a tablespace the backup does not hold only if the
/// server dropped it (TRUNCATE drops one too).
pub(super) fn check_missing_spaces_were_dropped(
    srv: &SimServer,
    spaces_not_in_backup: &[u32],
    wrong: &mut Vec<String>,
) {
    for id in spaces_not_in_backup {
        if !srv.truth.dropped_spaces.contains(id) {
            wrong.push(format!(
                "prepare found redo for tablespace {id}, which is not in the backup but was never dropped"
            ));
        }
    }
}
