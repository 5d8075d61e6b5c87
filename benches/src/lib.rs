//! What the benches share: a tablespace of valid pages to copy, and the
//! page-cache tools that make every copy sample start cold and measure what
//! a copy leaves in the cache (the server's cache is what fadvise protects).
#![allow(clippy::disallowed_methods)] // benches build their inputs with std::fs

use innohot::format::page;
use std::fs::File;
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Writes a full_crc32 tablespace of `pages` pages of 16 KiB: page 0 with an
/// FSP header, then index pages with pseudo-random bodies, each stamped as
/// the server stamps it, so the copier validates every page as in production.
pub fn write_tablespace(path: &Path, pages: u32, space_id: u32) -> std::io::Result<()> {
    const SIZE: usize = 16384;
    let mut f = File::create(path)?;
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(space_id);
    for no in 0..pages {
        let ty = if no == 0 { page::PAGE_TYPE_FSP_HDR } else { page::PAGE_TYPE_INDEX };
        let mut p = page::new_page(SIZE, space_id, no, ty, 1_000_000 + u64::from(no));
        if no == 0 {
            p[page::FSP_SPACE_ID..page::FSP_SPACE_ID + 4].copy_from_slice(&space_id.to_be_bytes());
            p[page::FSP_SIZE..page::FSP_SIZE + 4].copy_from_slice(&pages.to_be_bytes());
            // full_crc32 marker (bit 4) and page ssize 5 (16 KiB).
            p[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].copy_from_slice(&0x15u32.to_be_bytes());
        } else {
            for b in p[page::FIL_PAGE_DATA..SIZE - 8].iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
        }
        page::stamp_full_crc32(&mut p);
        f.write_all(&p)?;
    }
    f.sync_all()
}

/// Drops a file's pages from the page cache (after making them durable), so
/// the next read comes from the device.
pub fn evict(path: &Path) -> std::io::Result<()> {
    let f = File::open(path)?;
    f.sync_all()?;
    // SAFETY: a valid fd of an open file; advice only.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Bytes of a file that sit in the page cache now (mincore over a mapping).
pub fn cached_bytes(path: &Path) -> std::io::Result<u64> {
    let f = File::open(path)?;
    let len = f.metadata()?.len() as usize;
    if len == 0 {
        return Ok(0);
    }
    // SAFETY: page size query has no preconditions.
    let psize = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // SAFETY: maps `len` bytes of an open file read-only; unmapped below.
    let map = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), 0) };
    if map == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    let mut vec = vec![0u8; len.div_ceil(psize)];
    // SAFETY: `map` is a live mapping of `len` bytes and `vec` has one byte per page.
    let rc = unsafe { libc::mincore(map, len, vec.as_mut_ptr()) };
    // SAFETY: the mapping made above, of `len` bytes.
    unsafe { libc::munmap(map, len) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(vec.iter().filter(|&&b| b & 1 != 0).count() as u64 * psize as u64)
}
