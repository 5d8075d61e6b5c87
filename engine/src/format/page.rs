//! InnoDB page layout and validation (both flavors).

use super::checksum::{page_crc32, page_full_crc32, page_innodb_new, page_innodb_old, page_zip_crc32};
use super::{be_u16, be_u32, be_u64, need, put_u16, put_u32, put_u64, FormatError, Lsn};

pub const FIL_PAGE_SPACE_OR_CHKSUM: usize = 0;
pub const FIL_PAGE_OFFSET: usize = 4;
pub const FIL_PAGE_PREV: usize = 8;
pub const FIL_PAGE_NEXT: usize = 12;
pub const FIL_PAGE_LSN: usize = 16;
pub const FIL_PAGE_TYPE: usize = 24;
pub const FIL_PAGE_FILE_FLUSH_LSN: usize = 26;
pub const FIL_PAGE_SPACE_ID: usize = 34;
pub const FIL_PAGE_DATA: usize = 38;
/// Trailer: old-style checksum (4) + low 32 bits of the LSN (4).
pub const FIL_PAGE_END_LSN_OLD_CHKSUM: usize = 8;
/// FSP header fields on page 0, relative to the page start.
pub const FSP_SPACE_ID: usize = FIL_PAGE_DATA;
pub const FSP_SIZE: usize = FIL_PAGE_DATA + 8;
pub const FSP_SPACE_FLAGS: usize = FIL_PAGE_DATA + 16;

/// Checksums turned off (`innodb_checksum_algorithm=none`).
pub const CHECKSUM_NONE_MAGIC: u32 = 0xDEAD_BEEF;
/// The smallest page that can carry a page header and an FSP header.
pub const MIN_PAGE_SIZE: usize = 1024;

/// "No page" in prev/next links.
pub const FIL_NULL: u32 = 0xFFFF_FFFF;
/// MariaDB full_crc32 marker in the FSP flags (bit 4).
pub const FSP_FLAGS_FCRC32_MARKER: u32 = 1 << 4;
/// MariaDB full_crc32 page_compressed pages: bit 15 of the page type, size in the rest.
const FCRC32_PAGE_COMPRESSED: u16 = 1 << 15;

pub const PAGE_TYPE_ALLOCATED: u16 = 0;
pub const PAGE_TYPE_UNDO_LOG: u16 = 2;
pub const PAGE_TYPE_INODE: u16 = 3;
pub const PAGE_TYPE_IBUF_FREE_LIST: u16 = 4;
pub const PAGE_TYPE_IBUF_BITMAP: u16 = 5;
pub const PAGE_TYPE_SYS: u16 = 6;
pub const PAGE_TYPE_TRX_SYS: u16 = 7;
pub const PAGE_TYPE_FSP_HDR: u16 = 8;
pub const PAGE_TYPE_XDES: u16 = 9;
pub const PAGE_TYPE_BLOB: u16 = 10;
pub const PAGE_TYPE_INDEX: u16 = 17855;

/// How the pages of one tablespace are laid out, learnt from page 0's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLayout {
    /// Bytes per page in the file (the compressed size for ROW_FORMAT=COMPRESSED).
    pub physical_size: usize,
    /// Bytes per page in the buffer pool (innodb_page_size).
    pub logical_size: usize,
    /// MariaDB full_crc32 (flags bit 4) instead of the legacy layout.
    pub full_crc32: bool,
}

impl PageLayout {
    /// Uncompressed legacy (MySQL 5.7) pages of `size` bytes.
    pub fn legacy(size: usize) -> Self {
        PageLayout { physical_size: size, logical_size: size, full_crc32: false }
    }
    pub fn is_compressed(&self) -> bool {
        self.physical_size != self.logical_size
    }
}

/// Decodes FSP flags (MySQL 5.7 layout, MariaDB legacy layout and MariaDB full_crc32).
///
/// 5.7: bit 0 post-antelope, bits 1-4 zip ssize, bit 5 atomic blobs, bits 6-9 page ssize
/// (0 = 16 KiB, else 512 << ssize). full_crc32: bit 4 marker, bits 0-3 page ssize.
pub fn layout_from_flags(flags: u32) -> Result<PageLayout, FormatError> {
    if flags & FSP_FLAGS_FCRC32_MARKER != 0 {
        // Legacy zip_ssize is at most 5, so its bit 3 (= flags bit 4) is never set in
        // valid legacy flags: MariaDB uses that bit as the full_crc32 marker.
        let ssize = flags & 0xF;
        if !(3..=7).contains(&ssize) {
            return Err(FormatError::BadPageSize {
                flags,
                detail: "full_crc32 page ssize (bits 0-3) must be 3..=7 (4 KiB..64 KiB)",
            });
        }
        let size = 512usize << ssize;
        return Ok(PageLayout { physical_size: size, logical_size: size, full_crc32: true });
    }
    let page_ssize = (flags >> 6) & 0xF;
    let logical_size = match page_ssize {
        0 => 16384,
        3..=7 => 512usize << page_ssize,
        _ => {
            return Err(FormatError::BadPageSize {
                flags,
                detail: "page ssize (bits 6-9) must be 0 or 3..=7 (4 KiB..64 KiB)",
            })
        }
    };
    // Bit 3 of zip_ssize is the full_crc32 marker handled above, so this is 0..=7.
    let zip_ssize = (flags >> 1) & 0xF;
    let physical_size = match zip_ssize {
        0 => logical_size,
        1..=5 => 512usize << zip_ssize,
        _ => {
            return Err(FormatError::BadPageSize {
                flags,
                detail: "zip ssize (bits 1-4) must be 0..=5 (at most 16 KiB)",
            })
        }
    };
    if physical_size > logical_size {
        return Err(FormatError::BadPageSize { flags, detail: "compressed page size larger than the page size" });
    }
    if zip_ssize != 0 && physical_size == logical_size {
        // PageLayout tells compressed pages by physical != logical: refuse rather than
        // validate page_zip pages with the uncompressed rules.
        return Err(FormatError::BadPageSize {
            flags,
            detail: "ROW_FORMAT=COMPRESSED with KEY_BLOCK_SIZE equal to the page size is not supported",
        });
    }
    Ok(PageLayout { physical_size, logical_size, full_crc32: false })
}

/// Reads page 0's FSP flags (at 54) and decodes them; `page0` may be any prefix >= 58 bytes.
pub fn layout_from_page0(page0: &[u8]) -> Result<PageLayout, FormatError> {
    need("page 0 FSP flags", page0, FSP_SPACE_FLAGS + 4)?;
    layout_from_flags(be_u32(page0, FSP_SPACE_FLAGS))
}

/// The fields of the FIL header every page carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilHeader {
    pub checksum_or_key_version: u32,
    pub page_no: u32,
    pub prev: u32,
    pub next: u32,
    pub lsn: Lsn,
    pub page_type: u16,
    pub flush_lsn: Lsn,
    pub space_id: u32,
}

pub fn fil_header(page: &[u8]) -> Result<FilHeader, FormatError> {
    need("FIL header", page, FIL_PAGE_DATA)?;
    Ok(FilHeader {
        checksum_or_key_version: be_u32(page, FIL_PAGE_SPACE_OR_CHKSUM),
        page_no: be_u32(page, FIL_PAGE_OFFSET),
        prev: be_u32(page, FIL_PAGE_PREV),
        next: be_u32(page, FIL_PAGE_NEXT),
        lsn: be_u64(page, FIL_PAGE_LSN),
        page_type: be_u16(page, FIL_PAGE_TYPE),
        flush_lsn: be_u64(page, FIL_PAGE_FILE_FLUSH_LSN),
        space_id: be_u32(page, FIL_PAGE_SPACE_ID),
    })
}

/// The FSP header of page 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FspHeader {
    pub space_id: u32,
    /// FSP_SIZE: the tablespace's size in pages.
    pub size_pages: u32,
    pub flags: u32,
}

pub fn fsp_header(page0: &[u8]) -> Result<FspHeader, FormatError> {
    need("FSP header", page0, FSP_SPACE_FLAGS + 4)?;
    Ok(FspHeader {
        space_id: be_u32(page0, FSP_SPACE_ID),
        size_pages: be_u32(page0, FSP_SIZE),
        flags: be_u32(page0, FSP_SPACE_FLAGS),
    })
}

/// Which rule accepted a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    AllZero,
    Crc32,
    Innodb,
    ChecksumNone,
    FullCrc32,
    /// System tablespace doublewrite area: never validated.
    Doublewrite,
    /// ROW_FORMAT=COMPRESSED page checksum (crc32, innodb or none).
    Compressed,
}

/// Why a page was refused; each names what it compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageDefect {
    /// Low 32 bits of FIL_PAGE_LSN differ from the trailer copy: a half-written page.
    TornLsn { header_lsn_low: u32, trailer_lsn_low: u32 },
    /// The page number at offset 4 is not this page's position.
    WrongPageNo { expected: u32, found: u32 },
    /// No accepted checksum matches the stored fields.
    Checksum { stored_head: u32, stored_tail: u32, crc32: u32 },
    /// A buffer of the wrong length was handed in.
    WrongLength { expected: usize, found: usize },
}

impl std::fmt::Display for PageDefect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageDefect::TornLsn { header_lsn_low, trailer_lsn_low } => write!(
                f,
                "torn page: LSN low word {header_lsn_low:#010x} in the header but {trailer_lsn_low:#010x} in the trailer"
            ),
            PageDefect::WrongPageNo { expected, found } => {
                write!(f, "page number field says {found}, expected {expected}")
            }
            PageDefect::Checksum { stored_head, stored_tail, crc32 } => write!(
                f,
                "checksum mismatch: stored {stored_head:#010x}/{stored_tail:#010x}, crc32 of the bytes is {crc32:#010x}"
            ),
            PageDefect::WrongLength { expected, found } => {
                write!(f, "page buffer is {found} bytes, expected {expected}")
            }
        }
    }
}

/// Doublewrite buffer pages of the system tablespace: two extents after the first.
pub fn is_doublewrite_page(space_id: u32, page_no: u32, layout: PageLayout) -> bool {
    if space_id != 0 {
        return false;
    }
    let extent = extent_size_pages(layout.logical_size);
    (extent..3 * extent).contains(&u64::from(page_no))
}

/// Validates one page read at position `page_no` of tablespace `space_id`.
///
/// Order: length, all-zero, doublewrite, page number, then the flavor's checksum
/// rules (legacy: torn-LSN test first, then crc32 / 0xDEADBEEF / innodb fold;
/// full_crc32: trailer CRC and LSN low word). See formats.md §1.
pub fn validate_page(page: &[u8], space_id: u32, page_no: u32, layout: PageLayout) -> Result<Accepted, PageDefect> {
    let len = page.len();
    if len != layout.physical_size {
        return Err(PageDefect::WrongLength { expected: layout.physical_size, found: len });
    }
    if len < MIN_PAGE_SIZE {
        // A hand-made layout too small to hold the fields read below.
        return Err(PageDefect::WrongLength { expected: MIN_PAGE_SIZE, found: len });
    }
    if page.iter().all(|&b| b == 0) {
        return Ok(Accepted::AllZero);
    }
    if is_doublewrite_page(space_id, page_no, layout) {
        return Ok(Accepted::Doublewrite);
    }
    let found = be_u32(page, FIL_PAGE_OFFSET);
    if found != page_no {
        return Err(PageDefect::WrongPageNo { expected: page_no, found });
    }
    if layout.full_crc32 {
        validate_full_crc32(page)
    } else if layout.is_compressed() {
        validate_zip(page)
    } else {
        validate_legacy(page)
    }
}

/// Writes the crc32 checksum fields of a legacy page (both copies) and the
/// trailer's LSN low word, as a 5.7 server does before a page write.
pub fn stamp_legacy_crc32(page: &mut [u8]) {
    let size = page.len();
    copy_lsn_low(page, size - 4);
    let crc = page_crc32(page);
    put_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, crc);
    put_u32(page, size - FIL_PAGE_END_LSN_OLD_CHKSUM, crc);
}

/// Writes the full_crc32 trailer (LSN low word at size-8, CRC at size-4).
pub fn stamp_full_crc32(page: &mut [u8]) {
    let size = page.len();
    copy_lsn_low(page, size - 8);
    let crc = page_full_crc32(page);
    put_u32(page, size - 4, crc);
}

/// Sets FIL_PAGE_LSN (the trailer copy is set by the stamp functions).
pub fn set_page_lsn(page: &mut [u8], lsn: Lsn) {
    put_u64(page, FIL_PAGE_LSN, lsn);
}

/// Builds an empty page with a FIL header (checksum not stamped).
pub fn new_page(size: usize, space_id: u32, page_no: u32, page_type: u16, lsn: Lsn) -> Vec<u8> {
    let mut page = vec![0u8; size];
    put_u32(&mut page, FIL_PAGE_OFFSET, page_no);
    put_u32(&mut page, FIL_PAGE_PREV, FIL_NULL);
    put_u32(&mut page, FIL_PAGE_NEXT, FIL_NULL);
    put_u64(&mut page, FIL_PAGE_LSN, lsn);
    put_u16(&mut page, FIL_PAGE_TYPE, page_type);
    put_u32(&mut page, FIL_PAGE_SPACE_ID, space_id);
    page
}

/// Writes the legacy "innodb" fold checksums (new at 0, old at size-8) and the trailer's
/// LSN low word, as a 5.7 server with `innodb_checksum_algorithm=innodb` does.
pub fn stamp_legacy_innodb(page: &mut [u8]) {
    let size = page.len();
    copy_lsn_low(page, size - 4);
    let new = page_innodb_new(page);
    put_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, new);
    // The old checksum covers [0,26): it must be computed after the new one is stored.
    let old = page_innodb_old(page);
    put_u32(page, size - FIL_PAGE_END_LSN_OLD_CHKSUM, old);
}

/// FSP_EXTENT_SIZE: 1 MiB of pages up to 16 KiB pages, 64 pages for 32 and 64 KiB.
fn extent_size_pages(logical_size: usize) -> u64 {
    if logical_size == 0 {
        return 0;
    }
    if logical_size <= 16384 {
        (1_048_576 / logical_size) as u64
    } else {
        64
    }
}

/// Copies the low 32 bits of FIL_PAGE_LSN to `at`.
fn copy_lsn_low(page: &mut [u8], at: usize) {
    let low = be_u32(page, FIL_PAGE_LSN + 4);
    put_u32(page, at, low);
}

fn validate_legacy(page: &[u8]) -> Result<Accepted, PageDefect> {
    let size = page.len();
    let header_lsn_low = be_u32(page, FIL_PAGE_LSN + 4);
    let trailer_lsn_low = be_u32(page, size - 4);
    if header_lsn_low != trailer_lsn_low {
        return Err(PageDefect::TornLsn { header_lsn_low, trailer_lsn_low });
    }
    let head = be_u32(page, FIL_PAGE_SPACE_OR_CHKSUM);
    let tail = be_u32(page, size - FIL_PAGE_END_LSN_OLD_CHKSUM);
    let crc32 = page_crc32(page);
    if head == tail && head == crc32 {
        return Ok(Accepted::Crc32);
    }
    if head == tail && head == CHECKSUM_NONE_MAGIC {
        return Ok(Accepted::ChecksumNone);
    }
    // `buf_page_is_checksum_valid_innodb`: very old InnoDB stored the whole 8-byte LSN in
    // the trailer, so the old field may also equal mach_read_from_4(FIL_PAGE_LSN), which
    // is the HIGH word of the big-endian LSN (bytes [16,20)).
    let tail_ok = tail == be_u32(page, FIL_PAGE_LSN) || tail == page_innodb_old(page);
    if tail_ok && (head == 0 || head == page_innodb_new(page)) {
        return Ok(Accepted::Innodb);
    }
    Err(PageDefect::Checksum { stored_head: head, stored_tail: tail, crc32 })
}

/// `page_zip_verify_checksum`: crc32 or none. The "innodb" variant (adler32 over the same
/// ranges) is not implemented: such pages are refused, so a backup fails rather than
/// copying a torn page.
fn validate_zip(page: &[u8]) -> Result<Accepted, PageDefect> {
    let stored = be_u32(page, FIL_PAGE_SPACE_OR_CHKSUM);
    let crc32 = page_zip_crc32(page);
    if stored == crc32 || stored == CHECKSUM_NONE_MAGIC {
        return Ok(Accepted::Compressed);
    }
    // A compressed page has a single checksum field: report it twice.
    Err(PageDefect::Checksum { stored_head: stored, stored_tail: stored, crc32 })
}

/// MariaDB full_crc32, including page_compressed pages whose checksum sits at the end of
/// the compressed length (`buf_page_full_crc32_size`). As in MariaDB, the CRC is checked
/// first and the LSN copy only on uncompressed, unencrypted (key version 0) pages.
fn validate_full_crc32(page: &[u8]) -> Result<Accepted, PageDefect> {
    let len = page.len();
    let page_type = be_u16(page, FIL_PAGE_TYPE);
    let mut size = len;
    let compressed = page_type & FCRC32_PAGE_COMPRESSED != 0;
    if compressed {
        let c = usize::from(page_type & !FCRC32_PAGE_COMPRESSED) << 8;
        if c >= len || c < FIL_PAGE_DATA + 8 {
            let stored_tail = be_u32(page, len - 4);
            return Err(PageDefect::Checksum {
                stored_head: be_u32(page, 0),
                stored_tail,
                crc32: page_full_crc32(page),
            });
        }
        size = c;
    }
    let stored = be_u32(page, size - 4);
    let crc32 = page_full_crc32(&page[..size]);
    if stored != crc32 {
        return Err(PageDefect::Checksum { stored_head: be_u32(page, 0), stored_tail: stored, crc32 });
    }
    if !compressed && be_u32(page, 0) == 0 {
        let header_lsn_low = be_u32(page, FIL_PAGE_LSN + 4);
        let trailer_lsn_low = be_u32(page, size - 8);
        if header_lsn_low != trailer_lsn_low {
            return Err(PageDefect::TornLsn { header_lsn_low, trailer_lsn_low });
        }
    }
    Ok(Accepted::FullCrc32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_sizes() {
        assert_eq!(extent_size_pages(4096), 256);
        assert_eq!(extent_size_pages(8192), 128);
        assert_eq!(extent_size_pages(16384), 64);
        assert_eq!(extent_size_pages(32768), 64);
        assert_eq!(extent_size_pages(65536), 64);
        assert_eq!(extent_size_pages(0), 0);
    }

    #[test]
    fn tiny_layouts_do_not_panic() {
        let l = PageLayout::legacy(16);
        assert_eq!(
            validate_page(&[1u8; 16], 1, 0, l),
            Err(PageDefect::WrongLength { expected: MIN_PAGE_SIZE, found: 16 })
        );
    }
}
