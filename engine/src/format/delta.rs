//! Incremental deltas, the peers' incremental backup of one tablespace
//! (`mariabackup --backup --incremental-basedir=...`; docs/FORMATS.md §7b):
//! `NAME.delta` holds the pages changed since `from_lsn`, `NAME.meta` says
//! how to read them (for `db/t.ibd`: `db/t.ibd.delta` and `db/t.ibd.meta`).
//!
//! A `.delta` is a series of blocks. A block is a header page then the
//! pages it lists, each `page_size` bytes, whole and as they were on disk.
//! The header starts with big-endian `0x78747261` ("xtra") when another
//! block follows, `0x58545241` ("XTRA") on the last; then one big-endian
//! page number per 4 bytes, at most `page_size / 4 - 1` of them, ended by
//! `0xFFFFFFFF` when the block lists fewer; the rest is zeros. Only the last
//! block may list fewer: the reader finds block `k` at `k * page_size / 4`
//! pages without looking at the blocks before it. An empty delta is one
//! header page, "XTRA" and the end mark. The writer lists pages in file
//! order, so the numbers ascend across the whole file.
//!
//! `decode` accepts exactly what `encode` writes (which is what mariabackup
//! 10.11 writes): mariabackup's own reader is laxer (it ignores the bytes
//! after the end mark and takes an empty last block after a full one), but
//! such a file comes from no writer and most likely from damage.

use super::page::{fil_header, PageLayout};
use super::{be_u32, put_u32, FormatError, Lsn};

/// First 4 bytes of a block's header when another block follows ("xtra").
pub const MAGIC_MORE: u32 = 0x7874_7261;
/// First 4 bytes of the last block's header ("XTRA").
pub const MAGIC_LAST: u32 = 0x5854_5241;
/// Ends a header's page list when the block lists fewer than it can hold
/// (FIL_NULL: no page has this number).
pub const END_OF_LIST: u32 = 0xFFFF_FFFF;
/// Smallest page a delta may hold: a 1 KiB ROW_FORMAT=COMPRESSED page.
pub const MIN_PAGE_SIZE: usize = 1024;
/// Largest: a 64 KiB innodb_page_size.
pub const MAX_PAGE_SIZE: usize = 65536;

/// Appended to a tablespace file's name for its delta: `db/t.ibd.delta`, `ibdata1.delta`.
pub const DELTA_SUFFIX: &str = ".delta";
/// Appended to the same name for its meta: `db/t.ibd.meta`, `ibdata1.meta`
/// (not `.delta.meta`).
pub const META_SUFFIX: &str = ".meta";

const WHAT: &str = "incremental delta";

fn bad(detail: String) -> FormatError {
    FormatError::Malformed { what: WHAT, detail }
}

/// One page of a delta: its number in the tablespace and its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaPage<'a> {
    pub page_no: u32,
    pub page: &'a [u8],
}

/// A delta's pages are the tablespace's physical pages: 1 KiB to 16 KiB
/// compressed ones, 4 KiB to 64 KiB otherwise, always a power of two.
pub fn check_page_size(page_size: usize) -> Result<(), FormatError> {
    if page_size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
        Ok(())
    } else {
        Err(bad(format!("page size {page_size} is not a power of two from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}")))
    }
}

/// How many pages one block lists at most: a header slot each, the first
/// slot being the magic.
pub fn pages_per_block(page_size: usize) -> usize {
    page_size / 4 - 1
}

/// The header page of one block listing `page_nos`, `last` or not. A block
/// that is not the last must be full ([`pages_per_block`] pages): the reader
/// counts on it. The numbers must ascend and none may be [`END_OF_LIST`].
pub fn block_header(page_size: usize, page_nos: &[u32], last: bool) -> Result<Vec<u8>, FormatError> {
    check_page_size(page_size)?;
    let room = pages_per_block(page_size);
    if page_nos.len() > room || (!last && page_nos.len() != room) {
        return Err(bad(format!(
            "a {} block of {page_size}-byte pages lists {} pages (a block holds {room}, and all but the last are full)",
            if last { "last" } else { "non-last" },
            page_nos.len()
        )));
    }
    let mut h = vec![0u8; page_size];
    put_u32(&mut h, 0, if last { MAGIC_LAST } else { MAGIC_MORE });
    let mut prev = None;
    for (i, &no) in page_nos.iter().enumerate() {
        if no == END_OF_LIST || prev.is_some_and(|p| p >= no) {
            return Err(bad(format!(
                "page number {no} after {prev:?}: the list must ascend and not hold {END_OF_LIST:#x}"
            )));
        }
        put_u32(&mut h, 4 * (i + 1), no);
        prev = Some(no);
    }
    if page_nos.len() < room {
        put_u32(&mut h, 4 * (page_nos.len() + 1), END_OF_LIST);
    }
    Ok(h)
}

/// The `.delta` bytes of `pages` (ascending page numbers, each page
/// `page_size` bytes): full blocks, then the last one, which is full too
/// when the count is a multiple of [`pages_per_block`]; no pages give one
/// empty last block.
pub fn encode(page_size: usize, pages: &[DeltaPage<'_>]) -> Result<Vec<u8>, FormatError> {
    check_page_size(page_size)?;
    if let Some(p) = pages.iter().find(|p| p.page.len() != page_size) {
        return Err(bad(format!("page {} is {} bytes, not {page_size}", p.page_no, p.page.len())));
    }
    if let Some(w) = pages.windows(2).find(|w| w[0].page_no >= w[1].page_no) {
        return Err(bad(format!("page {} comes after page {}: pages must ascend", w[1].page_no, w[0].page_no)));
    }
    let room = pages_per_block(page_size);
    let blocks: Vec<&[DeltaPage<'_>]> = if pages.is_empty() { vec![&[]] } else { pages.chunks(room).collect() };
    let mut out = Vec::with_capacity((pages.len() + blocks.len()) * page_size);
    for (i, block) in blocks.iter().enumerate() {
        let nos: Vec<u32> = block.iter().map(|p| p.page_no).collect();
        out.extend(block_header(page_size, &nos, i + 1 == blocks.len())?);
        for p in block.iter() {
            out.extend_from_slice(p.page);
        }
    }
    Ok(out)
}

/// What one block's header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// "XTRA": no block follows.
    pub last: bool,
    /// The pages that follow the header, in this order.
    pub page_nos: Vec<u32>,
}

/// Reads the header page of a block (`header` is the whole page, so its
/// length is the page size). `at` is its byte offset in the file, for the
/// messages; `after` is the last page number of the blocks before it (full,
/// so never empty), `None` for the first block.
///
/// Refuses a magic other than "xtra"/"XTRA", a page number not above the
/// one before (naming a duplicate as such), a non-zero byte after the end
/// mark, a non-last block that is not full, and an empty last block after
/// full ones.
pub fn parse_block_header(header: &[u8], at: u64, after: Option<u32>) -> Result<BlockHeader, FormatError> {
    let page_size = header.len();
    check_page_size(page_size)?;
    let last = match be_u32(header, 0) {
        MAGIC_LAST => true,
        MAGIC_MORE => false,
        m => {
            return Err(bad(format!(
                "block header at byte {at}: magic {m:#010x} is neither \"xtra\" ({MAGIC_MORE:#010x}) nor \"XTRA\" \
                 ({MAGIC_LAST:#010x}): not a delta, or a block cut short before"
            )))
        }
    };
    let mut page_nos = Vec::new();
    let mut prev = after;
    let mut end = None;
    for slot in 1..page_size / 4 {
        let off = at + 4 * slot as u64;
        let no = be_u32(header, 4 * slot);
        if no == END_OF_LIST {
            end = Some(slot);
            break;
        }
        match prev {
            Some(p) if p == no => return Err(bad(format!("byte {off}: page {no} is listed twice"))),
            Some(p) if p > no => {
                return Err(bad(format!(
                    "byte {off}: page {no} comes after page {p} (the writer lists pages ascending)"
                )))
            }
            _ => {}
        }
        page_nos.push(no);
        prev = Some(no);
    }
    if let Some(slot) = end {
        let rest = 4 * (slot + 1);
        if let Some(i) = header[rest..].iter().position(|&b| b != 0) {
            return Err(bad(format!(
                "byte {}: {:#04x} after the page list's end mark at byte {} (the rest of a header is zeros)",
                at + (rest + i) as u64,
                header[rest + i],
                at + 4 * slot as u64
            )));
        }
    }
    if !last && end.is_some() {
        return Err(bad(format!(
            "block at byte {at} is marked \"xtra\" (more follow) but lists {} pages, not the {} of a full block",
            page_nos.len(),
            pages_per_block(page_size)
        )));
    }
    if last && page_nos.is_empty() && after.is_some() {
        return Err(bad(format!("block at byte {at}: an empty last block after full ones (no writer makes one)")));
    }
    Ok(BlockHeader { last, page_nos })
}

/// The pages of a whole `.delta` file of `page_size`-byte pages, in file
/// order. Besides [`parse_block_header`]'s checks, refuses an empty file, a
/// block cut short, bytes after the last block and a file that ends after a
/// block marked "xtra"; each error names the byte offset.
pub fn decode(page_size: usize, delta: &[u8]) -> Result<Vec<DeltaPage<'_>>, FormatError> {
    check_page_size(page_size)?;
    if delta.is_empty() {
        return Err(bad("the file is empty (a delta holds at least one header page)".into()));
    }
    let mut pages: Vec<DeltaPage<'_>> = Vec::new();
    let mut at = 0usize;
    loop {
        let Some(header) = delta.get(at..at + page_size) else {
            return Err(bad(format!(
                "block header at byte {at}: the file ends {} bytes into its {page_size} (cut short)",
                delta.len() - at
            )));
        };
        let block = parse_block_header(header, at as u64, pages.last().map(|p| p.page_no))?;
        let body = at + page_size;
        let end = body + block.page_nos.len() * page_size;
        let Some(bytes) = delta.get(body..end) else {
            return Err(bad(format!(
                "block at byte {at} lists {} pages ({} bytes from byte {body}) but the file ends at byte {} (cut short)",
                block.page_nos.len(),
                end - body,
                delta.len()
            )));
        };
        for (&page_no, page) in block.page_nos.iter().zip(bytes.chunks_exact(page_size)) {
            pages.push(DeltaPage { page_no, page });
        }
        at = end;
        match (block.last, at == delta.len()) {
            (true, true) => return Ok(pages),
            (true, false) => {
                return Err(bad(format!("{} bytes after the last block (\"XTRA\"), from byte {at}", delta.len() - at)))
            }
            (false, true) => {
                return Err(bad(format!("the file ends at byte {at}, after a block marked \"xtra\" (more follow)")))
            }
            (false, false) => {}
        }
    }
}

/// The pages of `pages` (whole pages of `page_size` bytes, the first being
/// page `first_page_no` of its tablespace) that an incremental backup from
/// `from_lsn` takes, in order.
///
/// A page goes in when its FIL_PAGE_LSN is `>= from_lsn`, not `>`.
/// `from_lsn` is the base's `to_lsn`; a page whose LSN equals it was last
/// changed by the mini-transaction that ends exactly there. The
/// incremental's redo starts at its own checkpoint, at or after `from_lsn`,
/// so it never carries that mini-transaction: leaving the page out (`>`)
/// leaves the change to the base alone, and Percona found the base did not
/// always hold it when the checkpoint had not moved between the two backups
/// (XtraBackup's PXB-1824, changes lost). With `>=` the delta carries the
/// page itself: one page more at worst, and a delta page (the page as it
/// was read, before the incremental's redo) is always right to apply.
/// mariabackup 10.11 still takes only LSN `> from_lsn` (docs/FORMATS.md §7b).
///
/// A page of zeros (allocated, never written) is left out whatever
/// `from_lsn`: its LSN is 0, and mariabackup never takes one.
pub fn changed_pages(
    pages: &[u8],
    page_size: usize,
    first_page_no: u32,
    from_lsn: Lsn,
) -> Result<Vec<DeltaPage<'_>>, FormatError> {
    check_page_size(page_size)?;
    if !pages.len().is_multiple_of(page_size) {
        return Err(bad(format!("{} bytes are not whole pages of {page_size} bytes", pages.len())));
    }
    let mut out = Vec::new();
    for (i, page) in pages.chunks_exact(page_size).enumerate() {
        let page_no =
            u32::try_from(i).ok().and_then(|i| first_page_no.checked_add(i)).filter(|&n| n != END_OF_LIST).ok_or_else(
                || bad(format!("page {i} after page {first_page_no} has no page number below {END_OF_LIST:#x}")),
            )?;
        if page.iter().all(|&b| b == 0) {
            continue;
        }
        let lsn = fil_header(page)?.lsn;
        if lsn > from_lsn || (lsn == from_lsn && !planted_skip_page_at_from_lsn()) {
            out.push(DeltaPage { page_no, page });
        }
    }
    Ok(out)
}

/// Test builds only: `planted::SKIP_PAGE_AT_FROM_LSN` leaves out the pages whose LSN is `from_lsn`.
fn planted_skip_page_at_from_lsn() -> bool {
    #[cfg(feature = "planted-bugs")]
    if crate::planted::SKIP_PAGE_AT_FROM_LSN.load(std::sync::atomic::Ordering::SeqCst) {
        return true;
    }
    false
}

/// What `NAME.meta` says about `NAME.delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaMeta {
    /// Bytes per page in the delta: the physical page size, so the
    /// compressed size for ROW_FORMAT=COMPRESSED.
    pub page_size: usize,
    /// The compressed page size for ROW_FORMAT=COMPRESSED (then equal to
    /// `page_size`), 0 otherwise.
    pub zip_size: usize,
    /// The tablespace's id: the applier matches tablespaces by it, not by name.
    pub space_id: u32,
}

impl DeltaMeta {
    /// The meta of a tablespace laid out as `layout`.
    pub fn for_layout(layout: PageLayout, space_id: u32) -> Self {
        let zip_size = if layout.compressed { layout.physical_size } else { 0 };
        DeltaMeta { page_size: layout.physical_size, zip_size, space_id }
    }
}

/// The text of `NAME.meta`, byte for byte as mariabackup 10.11 writes it,
/// the space before the second line break included.
pub fn encode_meta(meta: &DeltaMeta) -> String {
    format!("page_size = {}\nzip_size = {} \nspace_id = {}\n", meta.page_size, meta.zip_size, meta.space_id)
}

const META: &str = "incremental delta meta";

fn bad_meta(detail: String) -> FormatError {
    FormatError::Malformed { what: META, detail }
}

/// Reads `NAME.meta`: lines `key = value` in any order, spaces around
/// either side optional, blank lines allowed, keys it does not know ignored
/// (XtraBackup adds `space_flags`), as mariabackup reads it. Refuses a line
/// without `=`, a key given twice, a value that is not a decimal number, a
/// missing `page_size`, `zip_size` or `space_id` (mariabackup 10.11 always
/// writes all three), and sizes no tablespace has: `page_size` a power of
/// two from 1 KiB to 64 KiB, `zip_size` 0 or equal to `page_size` and at
/// most 16 KiB, `page_size` at least 4 KiB when `zip_size` is 0.
pub fn parse_meta(text: &str) -> Result<DeltaMeta, FormatError> {
    let (mut page_size, mut zip_size, mut space_id) = (None, None, None);
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) else {
            return Err(bad_meta(format!("line {n} ({line:?}) is not `key = value`")));
        };
        let slot = match key {
            "page_size" => &mut page_size,
            "zip_size" => &mut zip_size,
            "space_id" => &mut space_id,
            _ => continue,
        };
        let number = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<u32>().ok())
            .flatten()
            .ok_or_else(|| bad_meta(format!("line {n}: {key} = {value:?} is not a decimal number below 2^32")))?;
        if slot.replace(number).is_some() {
            return Err(bad_meta(format!("line {n}: {key} is given twice")));
        }
    }
    let missing = |k: &str| bad_meta(format!("no {k} line"));
    let page_size = page_size.ok_or_else(|| missing("page_size"))? as usize;
    let zip_size = zip_size.ok_or_else(|| missing("zip_size"))? as usize;
    let space_id = space_id.ok_or_else(|| missing("space_id"))?;
    check_page_size(page_size).map_err(|_| bad_meta(format!("page_size {page_size} is no page size")))?;
    let sizes_fit = match zip_size {
        0 => page_size >= 4096,
        z => z == page_size && z <= 16384,
    };
    if !sizes_fit {
        return Err(bad_meta(format!(
            "page_size {page_size} with zip_size {zip_size}: a compressed tablespace has page_size = zip_size \
             (1 KiB to 16 KiB), any other page_size 4 KiB to 64 KiB and zip_size 0"
        )));
    }
    Ok(DeltaMeta { page_size, zip_size, space_id })
}

#[cfg(test)]
mod tests;
