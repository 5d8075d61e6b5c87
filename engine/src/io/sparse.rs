//! PAGE_COMPRESSED tablespaces are sparse on the server: after a compressed
//! page's frame, the rest of the page is a punched hole, and pages never
//! written are holes too. A copy that wrote every zero would take up to a page
//! per frame more disk than the server's file (issue 24). The backup's copy,
//! prepare and copy-back leave those zeros unwritten (or punch them), so the
//! files read back the same bytes and take the server's blocks.

use super::{EditFile, TargetFile};
use std::io;

/// The unit a hole is made of: the file-system block (4 KiB on ext4 and xfs by
/// default), which the server pads a compressed frame to.
pub const BLOCK: usize = 4096;

/// The bytes of `page` up to the end of its last block holding a non-zero
/// byte: what must be written; the rest can be a hole.
pub fn used_len(page: &[u8]) -> usize {
    let end = page.len().min(page.iter().rposition(|&b| b != 0).map_or(0, |last| (last + 1).div_ceil(BLOCK) * BLOCK));
    debug_assert!(end <= page.len() && page[end..].iter().all(|&b| b == 0));
    end
}

/// Writes `data`, whole pages of `page_size` bytes from `offset`, leaving each
/// page's trailing all-zero blocks unwritten (all of a page that is all zero).
/// Returns whether the last block of `data` was left unwritten: the file is then
/// shorter than `offset + data.len()` until [`close_hole`] gives it its length.
/// Data not at a page boundary, and a partial page, are written as they are.
pub fn write_sparse(out: &mut dyn TargetFile, data: &[u8], offset: u64, page_size: usize) -> io::Result<bool> {
    if !offset.is_multiple_of(page_size as u64) || page_size < BLOCK {
        out.write_at(data, offset)?;
        return Ok(false);
    }
    let mut tail_hole = false;
    for (i, p) in data.chunks(page_size).enumerate() {
        let at = offset + (i * page_size) as u64;
        let used = if p.len() < page_size { p.len() } else { used_len(p) };
        if used > 0 {
            out.write_at(&p[..used], at)?;
        }
        tail_hole = used < p.len();
    }
    Ok(tail_hole)
}

/// Gives a file whose written part ended in a hole its full length `end` (a
/// multiple of [`BLOCK`]): the block of zeros before `end` is written.
pub fn close_hole(out: &mut dyn TargetFile, end: u64) -> io::Result<()> {
    debug_assert!(end >= BLOCK as u64 && end.is_multiple_of(BLOCK as u64));
    out.write_at(&[0u8; BLOCK], end - BLOCK as u64)
}

/// Writes one page of a PAGE_COMPRESSED tablespace in place: its frame's
/// blocks, and a hole punched over the zeros after them, as the server's flush
/// leaves it. A page past the file's end (`size`) is written whole, which gives
/// the file its new length.
pub fn rewrite_page(out: &mut dyn EditFile, page: &[u8], offset: u64, size: u64) -> io::Result<()> {
    let used = used_len(page);
    if used == page.len() || offset + page.len() as u64 > size {
        return out.write_at(page, offset);
    }
    if used > 0 {
        out.write_at(&page[..used], offset)?;
    }
    out.punch_hole(offset + used as u64, (page.len() - used) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what was written where.
    #[derive(Default)]
    struct Writes(Vec<(u64, usize)>);
    impl TargetFile for Writes {
        fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
            self.0.push((offset, data.len()));
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const PS: usize = 16384;

    #[test]
    fn only_a_compressed_pages_frame_blocks_are_written() {
        let mut data = vec![0u8; 4 * PS];
        data[..PS].fill(1); // a page with no zero tail
        data[PS + 5000] = 7; // a frame ending in the page's 2nd block
        data[3 * PS + 10] = 9; // page 2 all zero; page 3 a frame in its first block
        let mut w = Writes::default();
        assert!(write_sparse(&mut w, &data, 0, PS).unwrap(), "page 3 ends in a hole");
        assert_eq!(w.0, vec![(0, PS), (PS as u64, 8192), (3 * PS as u64, 4096)]);
        close_hole(&mut w, 4 * PS as u64).unwrap();
        assert_eq!(w.0.last(), Some(&(4 * PS as u64 - 4096, 4096)));
        // A chunk whose last page is full ends with no hole.
        let mut w = Writes::default();
        assert!(!write_sparse(&mut w, &data[..PS], 0, PS).unwrap());
        // Not at a page boundary: written as it is.
        let mut w = Writes::default();
        assert!(!write_sparse(&mut w, &data[..100], 10, PS).unwrap());
        assert_eq!(w.0, vec![(10, 100)]);
    }

    #[test]
    fn used_len_rounds_up_to_a_block() {
        let mut page = vec![0u8; PS];
        assert_eq!(used_len(&page), 0);
        page[0] = 1;
        assert_eq!(used_len(&page), BLOCK);
        page[BLOCK] = 1;
        assert_eq!(used_len(&page), 2 * BLOCK);
        page[PS - 1] = 1;
        assert_eq!(used_len(&page), PS);
    }
}
