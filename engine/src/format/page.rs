//! InnoDB page layout and validation (both flavors).

use super::{FormatError, Lsn};

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
    todo!()
}

/// Reads page 0's FSP flags (at 54) and decodes them; `page0` may be any prefix >= 58 bytes.
pub fn layout_from_page0(page0: &[u8]) -> Result<PageLayout, FormatError> {
    todo!()
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
    todo!()
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
    todo!()
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
    todo!()
}

/// Validates one page read at position `page_no` of tablespace `space_id`.
///
/// Order: length, all-zero, doublewrite, page number, then the flavor's checksum
/// rules (legacy: torn-LSN test first, then crc32 / 0xDEADBEEF / innodb fold;
/// full_crc32: trailer CRC and LSN low word). See formats.md §1.
pub fn validate_page(
    page: &[u8],
    space_id: u32,
    page_no: u32,
    layout: PageLayout,
) -> Result<Accepted, PageDefect> {
    todo!()
}

/// Writes the crc32 checksum fields of a legacy page (both copies) and the
/// trailer's LSN low word, as a 5.7 server does before a page write.
pub fn stamp_legacy_crc32(page: &mut [u8]) {
    todo!()
}

/// Writes the full_crc32 trailer (LSN low word at size-8, CRC at size-4).
pub fn stamp_full_crc32(page: &mut [u8]) {
    todo!()
}

/// Sets FIL_PAGE_LSN (the trailer copy is set by the stamp functions).
pub fn set_page_lsn(page: &mut [u8], lsn: Lsn) {
    todo!()
}

/// Builds an empty page with a FIL header (checksum not stamped).
pub fn new_page(size: usize, space_id: u32, page_no: u32, page_type: u16, lsn: Lsn) -> Vec<u8> {
    todo!()
}
