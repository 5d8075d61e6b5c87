//! `verify`'s page checks: every page of a tablespace file, or of an
//! incremental's delta.

use super::{rel, VerifyReport, PROBLEMS_PER_FILE, READ};
use crate::format::delta;
use crate::format::page::{self, PageLayout};
use crate::io::SourceFs;
use std::collections::BTreeSet;
use std::path::Path;

/// Every page of one tablespace file, as the copy validated it; in a prepared
/// backup (`applied` set) also no page LSN past the applied LSN. The space id its
/// page 0 holds goes into `held`.
pub(super) fn check_tablespace(
    fs: &dyn SourceFs,
    path: &Path,
    root: &Path,
    (new_file_layout, applied): (PageLayout, Option<u64>),
    held: &mut BTreeSet<u32>,
    r: &mut VerifyReport,
) {
    let name = rel(path, root);
    let mut f = match fs.open(path, READ) {
        Ok(f) => f,
        Err(e) => return r.problems.push(format!("{name}: cannot open it: {e}")),
    };
    let size = match f.size() {
        Ok(s) => s,
        Err(e) => return r.problems.push(format!("{name}: cannot read it: {e}")),
    };
    let mut head = vec![0u8; 4096.min(size as usize)];
    if let Err(e) = f.read_at(&mut head, 0) {
        return r.problems.push(format!("{name}: cannot read page 0: {e}"));
    }
    let (layout, space_id) = if head.len() >= page::FSP_SPACE_FLAGS + 4 && head.iter().any(|&b| b != 0) {
        match (page::layout_from_page0(&head), page::fsp_header(&head)) {
            (Ok(l), Ok(h)) => {
                held.insert(h.space_id);
                (l, h.space_id)
            }
            (Err(e), _) | (_, Err(e)) => return r.problems.push(format!("{name}: page 0: {e}")),
        }
    } else {
        (new_file_layout, 0)
    };
    let psize = layout.physical_size as u64;
    if size % psize != 0 {
        r.problems
            .push(format!("{name}: {size} bytes is not a whole number of {psize}-byte pages: the file is truncated"));
    }
    let mut buf = vec![0u8; layout.physical_size];
    let mut bad = 0usize;
    for page_no in 0..size / psize {
        match f.read_at(&mut buf, page_no * psize) {
            Ok(n) if n == buf.len() => {}
            Ok(_) => break,
            Err(e) => {
                r.problems.push(format!("{name}: page {page_no}: cannot read it: {e}"));
                return;
            }
        }
        r.pages += 1;
        match page::validate_page(&buf, space_id, page_no as u32, layout) {
            Err(defect) => {
                bad += 1;
                if bad <= PROBLEMS_PER_FILE {
                    r.problems.push(format!("{name}: page {page_no} is corrupt: {defect}"));
                }
                continue;
            }
            // Copies of other pages (or nothing): no LSN of their own.
            Ok(page::Accepted::Doublewrite | page::Accepted::AllZero) => continue,
            Ok(_) => {}
        }
        let page_lsn = u64::from_be_bytes(buf[page::FIL_PAGE_LSN..page::FIL_PAGE_LSN + 8].try_into().expect("8 bytes"));
        if let Some(applied) = applied.filter(|&a| page_lsn > a) {
            bad += 1;
            if bad <= PROBLEMS_PER_FILE {
                r.problems.push(format!(
                    "{name}: page {page_no} has LSN {page_lsn}, beyond the applied LSN {applied}: the page is \
                     newer than the prepared backup (changed after prepare, or a corrupt LSN); take a new backup"
                ));
            }
        }
    }
    if bad > PROBLEMS_PER_FILE {
        r.problems.push(format!("{name}: {} more corrupt pages", bad - PROBLEMS_PER_FILE));
    }
}

/// An incremental's `NAME.delta` with its `NAME.meta`: the meta reads, the
/// delta decodes, and every page in it passes the page checks (with the
/// layout its own page 0 gives when it holds page 0, else the meta's sizes
/// with `new_file_layout`'s checksum). The meta's space id goes into `held`.
pub(super) fn check_delta(
    fs: &dyn SourceFs,
    path: &Path,
    root: &Path,
    new_file_layout: PageLayout,
    held: &mut BTreeSet<u32>,
    r: &mut VerifyReport,
) {
    let name = rel(path, root);
    let stem = path.to_string_lossy();
    let meta_path = std::path::PathBuf::from(format!(
        "{}{}",
        stem.strip_suffix(delta::DELTA_SUFFIX).unwrap_or(&stem),
        delta::META_SUFFIX
    ));
    let read = |p: &Path| -> std::io::Result<Vec<u8>> {
        let mut f = fs.open(p, READ)?;
        let mut buf = vec![0u8; f.size()? as usize];
        let got = f.read_at(&mut buf, 0)?;
        buf.truncate(got);
        Ok(buf)
    };
    let meta = match read(&meta_path).map(|t| delta::parse_meta(&String::from_utf8_lossy(&t))) {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return r.problems.push(format!("{}: {e}", rel(&meta_path, root))),
        Err(e) => {
            return r
                .problems
                .push(format!("{}: cannot read it ({e}): {name} cannot be applied", rel(&meta_path, root)))
        }
    };
    held.insert(meta.space_id);
    let bytes = match read(path) {
        Ok(b) => b,
        Err(e) => return r.problems.push(format!("{name}: cannot read it: {e}")),
    };
    let pages = match delta::decode(meta.page_size, &bytes) {
        Ok(p) => p,
        Err(e) => return r.problems.push(format!("{name}: {e}")),
    };
    let own = pages.first().filter(|p| p.page_no == 0).and_then(|p| page::layout_from_page0(p.page).ok());
    let layout = own.filter(|l| l.physical_size == meta.page_size).unwrap_or(PageLayout {
        physical_size: meta.page_size,
        compressed: meta.zip_size != 0,
        // A ROW_FORMAT=COMPRESSED tablespace never has the full_crc32 format.
        full_crc32: new_file_layout.full_crc32 && meta.zip_size == 0,
        logical_size: new_file_layout.logical_size,
    });
    let mut bad = 0usize;
    for p in &pages {
        r.pages += 1;
        if let Err(defect) = page::validate_page(p.page, meta.space_id, p.page_no, layout) {
            bad += 1;
            if bad <= PROBLEMS_PER_FILE {
                r.problems.push(format!("{name}: page {} is corrupt: {defect}", p.page_no));
            }
        }
    }
    if bad > PROBLEMS_PER_FILE {
        r.problems.push(format!("{name}: {} more corrupt pages", bad - PROBLEMS_PER_FILE));
    }
}
