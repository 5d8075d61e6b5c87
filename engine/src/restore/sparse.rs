//! PAGE_COMPRESSED tablespaces are sparse on the server: after a compressed
//! page's frame, the rest of the page is a punched hole. A copy that wrote
//! every zero would take up to a page per frame more disk than the server's
//! file (issue 24); copy-back leaves those zeros unwritten instead, so they
//! are holes in the new file, which reads back the same bytes.

use crate::format::page;
use crate::io::TargetFile;
use std::io;

/// The unit a hole is made of: the file-system block (4 KiB on ext4 and xfs by
/// default), what the server pads a compressed frame to.
const BLOCK: usize = super::store::COMPRESSED_FRAME_BLOCK;

/// The page size of a PAGE_COMPRESSED tablespace whose page 0 starts `first`;
/// None for any other file, which is copied whole.
pub(super) fn page_compressed_page_size(first: &[u8]) -> Option<usize> {
    let layout = page::layout_from_page0(first).ok()?;
    let flags = u32::from_be_bytes(first.get(page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4)?.try_into().ok()?);
    (!layout.compressed && super::store::page_compressed_flags(flags)).then_some(layout.physical_size)
}

/// Writes `data`, whole pages of `page_size` bytes from `offset` in a file of
/// `file_size` bytes, leaving each page's trailing all-zero blocks unwritten,
/// and all of a page that is all zero: the server extends a PAGE_COMPRESSED
/// file sparse, so its pages never written are holes too. The file's last block
/// is always written, so the file has its full length.
pub(super) fn write_sparse(
    out: &mut dyn TargetFile,
    data: &[u8],
    offset: u64,
    page_size: usize,
    file_size: u64,
) -> io::Result<()> {
    if !offset.is_multiple_of(page_size as u64) {
        return out.write_at(data, offset);
    }
    for (i, p) in data.chunks(page_size).enumerate() {
        let at = offset + (i * page_size) as u64;
        let used = p.iter().rposition(|&b| b != 0).map_or(0, |last| (last + 1).div_ceil(BLOCK) * BLOCK);
        if used >= p.len() || p.len() < page_size {
            out.write_at(p, at)?;
            continue;
        }
        if used > 0 {
            out.write_at(&p[..used], at)?;
        }
        let end = at + p.len() as u64;
        if end == file_size {
            out.write_at(&p[p.len() - BLOCK..], end - BLOCK as u64)?;
        }
    }
    Ok(())
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

    #[test]
    fn only_a_compressed_pages_frame_blocks_are_written() {
        const PS: usize = 16384;
        let mut data = vec![0u8; 4 * PS];
        data[..PS].fill(1); // a page with no zero tail
        data[PS + 5000] = 7; // a frame ending in the page's 2nd block
                             // page 2 all zero; page 3 a frame in its first block, and the file's end
        data[3 * PS + 10] = 9;
        let mut w = Writes::default();
        write_sparse(&mut w, &data, 0, PS, 4 * PS as u64).unwrap();
        let want = vec![(0, PS), (PS as u64, 8192), (3 * PS as u64, 4096), (4 * PS as u64 - 4096, 4096)];
        assert_eq!(w.0, want);
        // A file ending in a page all zero still gets its last block.
        let mut w = Writes::default();
        write_sparse(&mut w, &data[..3 * PS], 0, PS, 3 * PS as u64).unwrap();
        assert_eq!(w.0.last(), Some(&(3 * PS as u64 - 4096, 4096)));
        // Not at a page boundary: written as it is.
        let mut w = Writes::default();
        write_sparse(&mut w, &data[..100], 10, PS, 4 * PS as u64).unwrap();
        assert_eq!(w.0, vec![(10, 100)]);
    }
}
