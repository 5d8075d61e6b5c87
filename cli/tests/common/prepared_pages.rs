//! Two prepared copies of one backup (or chain) compared page by page, each
//! difference put in a class that explains it or listed as unexplained.
//! Shared by prepare_vs_mariabackup.rs and real_incremental.rs.

use innohot::format::{page, page_compressed};
use innohot::io::local::RealLocalFs;
use innohot::restore::prepare::tablespace_files;
use std::collections::BTreeMap;
use std::path::Path;

/// A stored page as the server holds it in memory (PAGE_COMPRESSED inflated).
fn logical(stored: &[u8], page0: &[u8]) -> Vec<u8> {
    let flags = u32::from_be_bytes(page0[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].try_into().unwrap());
    let full_crc32 = flags & page::FSP_FLAGS_FCRC32_MARKER != 0;
    if !page_compressed::flags_say_page_compressed(flags) || !page_compressed::is_compressed_page(stored, full_crc32) {
        return stored.to_vec();
    }
    let mut out = vec![0u8; stored.len()];
    if full_crc32 {
        page_compressed::inflate_full_crc32(stored, flags, &mut out).expect("inflate (full_crc32)");
    } else {
        page_compressed::inflate(stored, &mut out).expect("inflate");
    }
    out
}

/// Two inflated full_crc32 pages equal but for the CRC-32C field at the end: the
/// server checksums only the compressed form of a page it compresses, so the
/// inflated image carries whatever that field held in the buffer pool.
fn same_but_crc(a: &[u8], b: &[u8]) -> bool {
    let n = a.len() - 4;
    if a[..n] != b[..n] {
        let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap();
        eprintln!("inflated pages differ from byte {first} of {}", a.len());
        return false;
    }
    true
}

/// Page-by-page comparison of the tablespaces of two prepared copies. Returns the
/// count of each difference class and the unexplained differences; also counts,
/// per kind of tablespace, the pages the prepare changed (`orig` is the unprepared backup).
pub fn compare_prepared(
    orig: &Path,
    theirs: &Path,
    mine: &Path,
    freed: &[(u32, u32)],
) -> (BTreeMap<&'static str, usize>, Vec<String>) {
    let mut classes: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for path in tablespace_files(&RealLocalFs, theirs).unwrap() {
        let rel = path.strip_prefix(theirs).unwrap();
        let (x, y) = (std::fs::read(&path).unwrap(), std::fs::read(mine.join(rel)).unwrap_or_default());
        let o = std::fs::read(orig.join(rel)).unwrap_or_default();
        if x.len() < 4096 || x[..4096].iter().all(|&b| b == 0) {
            continue;
        }
        let layout = page::layout_from_page0(&x).unwrap();
        let flags = u32::from_be_bytes(x[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].try_into().unwrap());
        let kind = if layout.compressed {
            "zip"
        } else if page_compressed::flags_say_page_compressed(flags) {
            "page_compressed"
        } else {
            "plain"
        };
        let space = u32::from_be_bytes(x[34..38].try_into().unwrap());
        let ps = layout.physical_size;
        let fsp_size = |f: &[u8]| f.get(46..50).map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()));
        let (short, long) = if x.len() < y.len() { (&x, &y) } else { (&y, &x) };
        if x.len() != y.len()
            && fsp_size(&o) == 0
            && fsp_size(&x) == fsp_size(&y)
            && long[short.len()..].iter().all(|&b| b == 0)
        {
            // A table created during the backup whose page 0 was still unwritten
            // when copied: recovery creates it from the redo and extends its file
            // to FSP_SIZE, or leaves the file short (the server extends it when it
            // needs the pages); both tools have been seen doing either. The extra
            // pages are all zero, and the servers compared below read both alike.
            *classes.entry("deferred tablespace: one copy extended to FSP_SIZE with zero pages").or_default() += 1;
        } else if x.len() != y.len() {
            unexplained.push(format!(
                "{}: {} bytes after mariabackup, {} after innohot, {} in the backup (FSP_SIZE {} / {} / {})",
                rel.display(),
                x.len(),
                y.len(),
                o.len(),
                fsp_size(&x),
                fsp_size(&y),
                fsp_size(&o)
            ));
        }
        for (n, (p, q)) in x.chunks(ps).zip(y.chunks(ps)).enumerate() {
            if o.get(n * ps..(n + 1) * ps) != Some(q) {
                *classes
                    .entry(match kind {
                        "zip" => "changed: zip",
                        "page_compressed" => "changed: page_compressed",
                        _ => "changed: plain",
                    })
                    .or_default() += 1;
            }
            if p == q {
                continue;
            }
            if freed.contains(&(space, n as u32)) {
                *classes.entry("freed").or_default() += 1;
            } else if kind == "page_compressed" && same_but_crc(&logical(p, &x), &logical(q, &x)) {
                // innohot compresses the page again keeping the inner CRC field it
                // read; the server keeps what its buffer held (or, with lzo, lzma,
                // bzip2, innohot writes the page uncompressed).
                let full_crc32 = flags & page::FSP_FLAGS_FCRC32_MARKER != 0;
                let class = if page_compressed::is_compressed_page(q, full_crc32) {
                    "page_compressed: the same page, another inner CRC field"
                } else {
                    "page_compressed written uncompressed"
                };
                *classes.entry(class).or_default() += 1;
            } else {
                let first = p.iter().zip(q).position(|(a, b)| a != b).unwrap();
                let t = u16::from_be_bytes([p[24], p[25]]);
                unexplained.push(format!("{} ({kind}) page {n} type {t}: first differing byte {first}", rel.display()));
            }
        }
    }
    (classes, unexplained)
}
