//! InnoDB page layout and validation (both flavors).

use super::checksum::{page_crc32, page_full_crc32, page_innodb_new, page_innodb_old, page_zip_crc32};
use super::page_compressed::{
    self, InflateError, PAGE_TYPE_MYSQL_COMPRESSED, PAGE_TYPE_PAGE_COMPRESSED, PAGE_TYPE_PAGE_COMPRESSED_ENCRYPTED,
};
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
/// The first page not yet added to a free list (a multiple of the extent size).
pub const FSP_FREE_LIMIT: usize = FIL_PAGE_DATA + 12;
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
    /// ROW_FORMAT=COMPRESSED: every page is a compressed (page_zip) page with
    /// its own checksum rule, even when KEY_BLOCK_SIZE equals the page size.
    pub compressed: bool,
}

impl PageLayout {
    /// Uncompressed legacy (MySQL 5.7) pages of `size` bytes.
    pub fn legacy(size: usize) -> Self {
        PageLayout { physical_size: size, logical_size: size, full_crc32: false, compressed: false }
    }
    /// Uncompressed MariaDB full_crc32 pages of `size` bytes.
    pub fn full_crc32(size: usize) -> Self {
        PageLayout { physical_size: size, logical_size: size, full_crc32: true, compressed: false }
    }
    /// ROW_FORMAT=COMPRESSED pages of `physical` bytes in a tablespace of `logical`-byte pages.
    pub fn row_compressed(physical: usize, logical: usize) -> Self {
        PageLayout { physical_size: physical, logical_size: logical, full_crc32: false, compressed: true }
    }
    /// The layout the server gives a new tablespace, for a file whose page 0 is
    /// not written yet: full_crc32 when `innodb_checksum_algorithm` says so
    /// (MariaDB's default since 10.5), the legacy layout otherwise.
    pub fn for_new_file(size: usize, checksum_algorithm: Option<&str>) -> Self {
        match checksum_algorithm {
            Some(a) if a.eq_ignore_ascii_case("full_crc32") || a.eq_ignore_ascii_case("strict_full_crc32") => {
                PageLayout::full_crc32(size)
            }
            _ => PageLayout::legacy(size),
        }
    }
    pub fn is_compressed(&self) -> bool {
        self.compressed
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
        return Ok(PageLayout::full_crc32(512usize << ssize));
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
    if zip_ssize == 0 {
        return Ok(PageLayout::legacy(logical_size));
    }
    // KEY_BLOCK_SIZE may equal the page size: the pages are still page_zip pages.
    Ok(PageLayout::row_compressed(physical_size, logical_size))
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
    /// A MariaDB PAGE_COMPRESSED page that inflates to a page whose checksum holds.
    PageCompressed(page_compressed::Algorithm),
    /// A MySQL 5.7 page-compressed page (type 14) that inflates to a page whose checksum holds.
    MysqlCompressed(page_compressed::Algorithm),
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
    /// A PAGE_COMPRESSED page whose payload does not inflate to one page.
    PageCompressed(InflateError),
    /// The page is encrypted (a key version is set, or the page type says so):
    /// not a torn page, and re-reading will not help.
    Encrypted { key_version: u32, page_type: u16 },
    /// A MySQL 5.7 page-compressed page (type 14) whose body does not inflate
    /// to one page.
    MysqlCompressed(InflateError),
}

impl PageDefect {
    /// Whether re-reading the page may help (a write in progress) or the page
    /// is what it is (encrypted, or a format innohot does not read).
    pub fn is_permanent(&self) -> bool {
        matches!(self, PageDefect::Encrypted { .. })
    }
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
            PageDefect::PageCompressed(e) => write!(f, "PAGE_COMPRESSED page: {e}"),
            PageDefect::Encrypted { key_version, page_type } => {
                write!(f, "the page is encrypted (key version {key_version}, page type {page_type})")
            }
            PageDefect::MysqlCompressed(e) => {
                write!(f, "MySQL page-compressed page (page type {PAGE_TYPE_MYSQL_COMPRESSED}): {e}")
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
/// full_crc32: trailer CRC and LSN low word). See docs/FORMATS.md §1.
pub fn validate_page(page: &[u8], space_id: u32, page_no: u32, layout: PageLayout) -> Result<Accepted, PageDefect> {
    let len = page.len();
    if len != layout.physical_size {
        return Err(PageDefect::WrongLength { expected: layout.physical_size, found: len });
    }
    if len < MIN_PAGE_SIZE {
        // A hand-made layout too small to hold the fields read below.
        return Err(PageDefect::WrongLength { expected: MIN_PAGE_SIZE, found: len });
    }
    if is_all_zero(page) {
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

/// Whether every byte is 0: 64 bytes at a time (OR-folded, which vectorises), so
/// that a page never written, which the server leaves as zeros, costs little.
pub fn is_all_zero(bytes: &[u8]) -> bool {
    bytes.chunks(64).all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0)
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

/// Writes a ROW_FORMAT=COMPRESSED page's one checksum field (offset 0), the crc32
/// variant the server writes (`buf_flush_update_zip_checksum`); such pages have no trailer.
pub fn stamp_zip_crc32(page: &mut [u8]) {
    let crc = page_zip_crc32(page);
    put_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, crc);
}

/// Stamps a page written again with its tablespace's checksum: page_zip crc32 for
/// ROW_FORMAT=COMPRESSED, full_crc32, or the legacy crc32 (both copies).
pub fn stamp_for_layout(page: &mut [u8], layout: PageLayout) {
    if layout.compressed {
        stamp_zip_crc32(page);
    } else if layout.full_crc32 {
        stamp_full_crc32(page);
    } else {
        stamp_legacy_crc32(page);
    }
}

/// How a MySQL 5.7 server with this `innodb_checksum_algorithm` accepts a page
/// rewritten after redo: a non-strict setting reads any valid checksum, so crc32
/// is stamped; the strict ones need their own. `None`: not a 5.7 setting.
pub fn stamp_for_mysql57(page: &mut [u8], layout: PageLayout, algorithm: &str) -> Option<()> {
    match (algorithm, layout.compressed) {
        ("crc32" | "strict_crc32" | "innodb" | "none", true) => stamp_zip_crc32(page),
        ("crc32" | "strict_crc32" | "innodb" | "none", false) => stamp_legacy_crc32(page),
        ("strict_innodb", false) => stamp_legacy_innodb(page),
        ("strict_none", false) => {
            let size = page.len();
            copy_lsn_low(page, size - 4);
            put_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, CHECKSUM_NONE_MAGIC);
            put_u32(page, size - FIL_PAGE_END_LSN_OLD_CHKSUM, CHECKSUM_NONE_MAGIC);
        }
        ("strict_none", true) => put_u32(page, FIL_PAGE_SPACE_OR_CHKSUM, CHECKSUM_NONE_MAGIC),
        _ => return None,
    }
    Some(())
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

/// MariaDB's tablespace encryption record on page 0 starts with these bytes.
pub const CRYPT_MAGIC: [u8; 6] = [b's', 0x0E, 0x0C, b'R', b'E', b't'];
/// The record's scheme byte for an encrypted tablespace (0 = not encrypted).
pub const CRYPT_SCHEME_ENCRYPTED: u8 = 1;

/// Where page 0 holds MariaDB's encryption record: after the extent
/// descriptors that fit on one page. The server counts from the FSP header
/// (at 38) an offset that itself starts with the FSP header's position and
/// size (38 + 112), so the header's 38 is counted twice: 0x28bc on a 16 KiB
/// page, as the real files show.
pub fn crypt_data_offset(layout: PageLayout) -> usize {
    const XDES_ARR_OFFSET: usize = FIL_PAGE_DATA + 112;
    // Flst node (12) + state (4) + id (8), then 2 bits per page of the extent.
    let extent = extent_size_pages(layout.logical_size) as usize;
    let xdes_size = 24 + (extent * 2).div_ceil(8);
    FIL_PAGE_DATA + XDES_ARR_OFFSET + xdes_size * layout.physical_size / extent
}

/// Whether page 0 says the tablespace is encrypted (MariaDB's ENCRYPTED=YES or
/// innodb_encrypt_tables). A record with scheme 0 (ENCRYPTED=NO) is not.
pub fn is_encrypted_tablespace(page0: &[u8], layout: PageLayout) -> bool {
    let at = crypt_data_offset(layout);
    page0.len() > at + CRYPT_MAGIC.len()
        && page0[at..at + CRYPT_MAGIC.len()] == CRYPT_MAGIC
        && page0[at + CRYPT_MAGIC.len()] == CRYPT_SCHEME_ENCRYPTED
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

/// Legacy (5.7 and MariaDB non-full_crc32) pages: the page type first tells
/// MariaDB's PAGE_COMPRESSED and encrypted pages, whose checksum field holds
/// no checksum, from ordinary ones.
fn validate_legacy(page: &[u8]) -> Result<Accepted, PageDefect> {
    match be_u16(page, FIL_PAGE_TYPE) {
        PAGE_TYPE_PAGE_COMPRESSED => validate_page_compressed(page),
        PAGE_TYPE_PAGE_COMPRESSED_ENCRYPTED => Err(PageDefect::Encrypted {
            key_version: be_u32(page, FIL_PAGE_FILE_FLUSH_LSN),
            page_type: PAGE_TYPE_PAGE_COMPRESSED_ENCRYPTED,
        }),
        PAGE_TYPE_MYSQL_COMPRESSED => validate_mysql_compressed(page),
        _ => validate_legacy_checksum(page),
    }
}

/// MySQL 5.7 transparent page compression: the page inflated must pass the
/// legacy checksum and torn-page tests (the server checksums before it
/// compresses). Copied as stored; the server reads it back as it wrote it.
fn validate_mysql_compressed(page: &[u8]) -> Result<Accepted, PageDefect> {
    let mut inflated = vec![0u8; page.len()];
    let algorithm = page_compressed::inflate_mysql(page, &mut inflated).map_err(PageDefect::MysqlCompressed)?;
    validate_legacy_checksum(&inflated)?;
    Ok(Accepted::MysqlCompressed(algorithm))
}

/// Inflates the page and validates what the server checksummed before it
/// compressed: the payload itself carries no checksum.
fn validate_page_compressed(page: &[u8]) -> Result<Accepted, PageDefect> {
    let head = be_u32(page, FIL_PAGE_SPACE_OR_CHKSUM);
    if head != CHECKSUM_NONE_MAGIC {
        let tail = be_u32(page, page.len() - 4);
        return Err(PageDefect::Checksum { stored_head: head, stored_tail: tail, crc32: CHECKSUM_NONE_MAGIC });
    }
    let mut inflated = vec![0u8; page.len()];
    let algorithm = page_compressed::inflate(page, &mut inflated).map_err(PageDefect::PageCompressed)?;
    validate_legacy_checksum(&inflated)?;
    Ok(Accepted::PageCompressed(algorithm))
}

fn validate_legacy_checksum(page: &[u8]) -> Result<Accepted, PageDefect> {
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
    let key_version = be_u32(page, 0);
    if key_version != 0 {
        return Err(PageDefect::Encrypted { key_version, page_type });
    }
    if !compressed {
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

    /// A 5.7 page restamped after redo passes the server's test for each setting.
    #[test]
    fn mysql57_restamps_pass_validation_for_every_checksum_setting() {
        let layout = PageLayout::legacy(16384);
        for algorithm in ["crc32", "strict_crc32", "innodb", "none", "strict_innodb", "strict_none"] {
            let mut pg = new_page(16384, 7, 3, 17855, 0x1234_5678_9abc);
            pg[100..200].fill(0x5a);
            stamp_legacy_innodb(&mut pg);
            set_page_lsn(&mut pg, 0x1234_5678_ffff);
            assert!(validate_page(&pg, 7, 3, layout).is_err(), "a changed LSN must fail the old stamp");
            stamp_for_mysql57(&mut pg, layout, algorithm).expect("a 5.7 setting");
            assert!(validate_page(&pg, 7, 3, layout).is_ok(), "{algorithm}");
            let head = be_u32(&pg, FIL_PAGE_SPACE_OR_CHKSUM);
            match algorithm {
                "strict_innodb" => assert_eq!(head, page_innodb_new(&pg)),
                "strict_none" => assert_eq!(head, CHECKSUM_NONE_MAGIC),
                _ => assert_eq!(head, page_crc32(&pg)),
            }
        }
        assert!(stamp_for_mysql57(&mut vec![0u8; 16384], layout, "full_crc32").is_none());
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
