//! MariaDB PAGE_COMPRESSED pages: [`inflate`] for tablespaces that are not
//! full_crc32, [`inflate_full_crc32`] for full_crc32 ones.
//!
//! Such a page is written as: the FIL header of the uncompressed page with
//! 0xDEADBEEF in the checksum field, page type 34354, the algorithm as a u64
//! at 26, the payload length as a u16 at 38, the payload from 40, then zeros.
//! The payload carries no checksum of its own: the only proof that it is
//! whole is that it inflates to exactly one page whose own checksum holds,
//! which is what the server and mariabackup check too.

use super::{be_u16, be_u64};
use std::io::Read;

mod compress;
pub use compress::{compress_full_crc32, compress_legacy, CompressWith};

/// FIL_PAGE_PAGE_COMPRESSED.
pub const PAGE_TYPE_PAGE_COMPRESSED: u16 = 34354;
/// FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED: compressed, then encrypted.
pub const PAGE_TYPE_PAGE_COMPRESSED_ENCRYPTED: u16 = 37401;
/// MySQL 5.7's transparent page compression (`COMPRESSION='zlib'`), another format.
pub const PAGE_TYPE_MYSQL_COMPRESSED: u16 = 14;

/// Whether FSP flags say PAGE_COMPRESSED: the full_crc32 algorithm bits 5-7, or
/// the legacy layout's bit 16.
pub fn flags_say_page_compressed(flags: u32) -> bool {
    if flags & super::page::FSP_FLAGS_FCRC32_MARKER != 0 {
        (flags >> 5) & 7 != 0
    } else {
        flags & (1 << 16) != 0
    }
}

/// The page size of a PAGE_COMPRESSED tablespace whose page 0 starts `page0`
/// (pages whose frames the server stores sparse); None for any other file.
pub fn sparse_page_size(page0: &[u8]) -> Option<usize> {
    let layout = super::page::layout_from_page0(page0).ok()?;
    let at = super::page::FSP_SPACE_FLAGS;
    let flags = u32::from_be_bytes(page0.get(at..at + 4)?.try_into().ok()?);
    (!layout.compressed && flags_say_page_compressed(flags)).then_some(layout.physical_size)
}
/// Where the algorithm is stored (a u64 in the flush-LSN field).
pub const ALGORITHM_AT: usize = 26;
/// Where the payload length is stored (a u16 right after the FIL header).
pub const PAYLOAD_LEN_AT: usize = 38;
/// Where the payload starts.
pub const PAYLOAD_AT: usize = 40;

/// The algorithms MariaDB can write (`innodb_compression_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Zlib,
    Lz4,
    Lzo,
    Lzma,
    Bzip2,
    Snappy,
}

impl Algorithm {
    /// The number the server stores on the page.
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            1 => Algorithm::Zlib,
            2 => Algorithm::Lz4,
            3 => Algorithm::Lzo,
            4 => Algorithm::Lzma,
            5 => Algorithm::Bzip2,
            6 => Algorithm::Snappy,
            _ => return None,
        })
    }

    pub fn code(self) -> u64 {
        match self {
            Algorithm::Zlib => 1,
            Algorithm::Lz4 => 2,
            Algorithm::Lzo => 3,
            Algorithm::Lzma => 4,
            Algorithm::Bzip2 => 5,
            Algorithm::Snappy => 6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Zlib => "zlib",
            Algorithm::Lz4 => "lz4",
            Algorithm::Lzo => "lzo",
            Algorithm::Lzma => "lzma",
            Algorithm::Bzip2 => "bzip2",
            Algorithm::Snappy => "snappy",
        }
    }
}

/// Why a page_compressed page cannot be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// The algorithm field holds no algorithm the server knows.
    UnknownAlgorithm(u64),
    /// The payload length is 0 or runs past the page.
    BadLength(u16),
    /// The payload does not inflate to exactly one page.
    Damaged(Algorithm),
    /// The header the server copied from the page (number, links, LSN,
    /// space id) differs from the inflated page's own.
    HeaderDiffers,
}

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InflateError::UnknownAlgorithm(code) => write!(f, "unknown page compression algorithm {code}"),
            InflateError::BadLength(len) => write!(f, "page_compressed payload length {len} does not fit the page"),
            InflateError::Damaged(a) => write!(f, "the {} payload does not inflate to one page", a.name()),
            InflateError::HeaderDiffers => write!(f, "the header does not match the inflated page's"),
        }
    }
}

/// MySQL 5.7 transparent page compression (`COMPRESSION='zlib'|'lz4'`, page
/// type 14), as the 5.7.41 server writes it: the 38-byte FIL header is kept
/// (checksum, page number, links, LSN, space id) except bytes 24-34, which
/// hold the type 14, a format version (26), the algorithm (27: 1 zlib, 2
/// lz4), the original page type (28), the original body size (30: the page
/// less its 38-byte header) and the compressed size (32); the compressed body
/// follows at 38, the rest of the page is zeros (a punched hole on disk).
pub const MYSQL_VERSION_AT: usize = 26;
pub const MYSQL_ALGORITHM_AT: usize = 27;
pub const MYSQL_ORIGINAL_TYPE_AT: usize = 28;
pub const MYSQL_ORIGINAL_SIZE_AT: usize = 30;
pub const MYSQL_COMPRESSED_SIZE_AT: usize = 32;
pub const MYSQL_PAYLOAD_AT: usize = 38;

/// Inflates a MySQL 5.7 page-type-14 page into `out` (as long as the page):
/// the header with its original type back (bytes 26-34 zeroed, as the
/// server's checksum does not cover them) and the inflated body, which ends
/// in the page's own trailer, so the legacy checksum and torn-page tests
/// apply to it. Returns the algorithm.
pub fn inflate_mysql(page: &[u8], out: &mut [u8]) -> Result<Algorithm, InflateError> {
    let code = page[MYSQL_ALGORITHM_AT];
    let algorithm = match code {
        1 => Algorithm::Zlib,
        2 => Algorithm::Lz4,
        _ => return Err(InflateError::UnknownAlgorithm(u64::from(code))),
    };
    let original = usize::from(be_u16(page, MYSQL_ORIGINAL_SIZE_AT));
    let len = be_u16(page, MYSQL_COMPRESSED_SIZE_AT);
    let end = MYSQL_PAYLOAD_AT + usize::from(len);
    if len == 0 || end > page.len() || original != page.len() - MYSQL_PAYLOAD_AT {
        return Err(InflateError::BadLength(len));
    }
    out[..MYSQL_PAYLOAD_AT].copy_from_slice(&page[..MYSQL_PAYLOAD_AT]);
    out[24..26].copy_from_slice(&page[MYSQL_ORIGINAL_TYPE_AT..MYSQL_ORIGINAL_TYPE_AT + 2]);
    out[26..34].fill(0);
    match inflate_payload(algorithm, &page[MYSQL_PAYLOAD_AT..end], &mut out[MYSQL_PAYLOAD_AT..]) {
        Some(n) if n == original => Ok(algorithm),
        _ => Err(InflateError::Damaged(algorithm)),
    }
}

/// Inflates a (not encrypted) page_compressed page of `page.len()` bytes into
/// `out`, which must be as long as the page; returns the algorithm used.
pub fn inflate(page: &[u8], out: &mut [u8]) -> Result<Algorithm, InflateError> {
    let code = be_u64(page, ALGORITHM_AT);
    let algorithm = Algorithm::from_code(code).ok_or(InflateError::UnknownAlgorithm(code))?;
    let len = be_u16(page, PAYLOAD_LEN_AT);
    let end = PAYLOAD_AT + usize::from(len);
    if len == 0 || end > page.len() {
        return Err(InflateError::BadLength(len));
    }
    let produced = inflate_payload(algorithm, &page[PAYLOAD_AT..end], out);
    match produced {
        Some(n) if n == out.len() => {}
        _ => return Err(InflateError::Damaged(algorithm)),
    }
    // Bytes 0-4 (0xDEADBEEF), 24-26 (type) and 26-34 (algorithm) were
    // overwritten; the rest of the header is the page's own.
    if page[4..24] != out[4..24] || page[34..38] != out[34..38] {
        return Err(InflateError::HeaderDiffers);
    }
    Ok(algorithm)
}

/// Bit 15 of a full_crc32 page's type: the page is stored page_compressed.
pub const FCRC32_COMPRESSED_MARKER: u16 = 1 << 15;
/// Where a full_crc32 page_compressed payload starts (the algorithm is in the FSP flags).
pub const FCRC32_PAYLOAD_AT: usize = 26;

/// Whether a page as stored in a PAGE_COMPRESSED tablespace is compressed (the
/// server writes a page uncompressed when compressing it would not save a block).
pub fn is_compressed_page(page: &[u8], full_crc32: bool) -> bool {
    let page_type = be_u16(page, 24);
    if full_crc32 {
        page_type & FCRC32_COMPRESSED_MARKER != 0
    } else {
        page_type == PAGE_TYPE_PAGE_COMPRESSED
    }
}

/// Inflates a full_crc32 page_compressed page (`is_compressed_page`) into `out`, as
/// long as the page. The algorithm is FSP flags bits 5-7. The type's low 15 bits
/// give the stored length in 256-byte units, CRC-32C last; for lz4, lzo and snappy,
/// which need the exact stream length, the byte 5 before the end holds its low 8
/// bits (plus 5), 0 meaning the stream ends 5 bytes before the end.
pub fn inflate_full_crc32(page: &[u8], fsp_flags: u32, out: &mut [u8]) -> Result<Algorithm, InflateError> {
    let code = u64::from((fsp_flags >> 5) & 7);
    let algorithm = Algorithm::from_code(code).ok_or(InflateError::UnknownAlgorithm(code))?;
    let units = be_u16(page, 24) & !FCRC32_COMPRESSED_MARKER;
    let mut size = usize::from(units) << 8;
    if size >= page.len() || size < FCRC32_PAYLOAD_AT + 5 + 1 {
        return Err(InflateError::BadLength(units));
    }
    if matches!(algorithm, Algorithm::Lz4 | Algorithm::Lzo | Algorithm::Snappy) {
        let low = usize::from(page[size - 5]);
        if low != 0 {
            size = size + low - 256;
        }
        size -= 5;
    }
    if size <= FCRC32_PAYLOAD_AT {
        return Err(InflateError::BadLength(units));
    }
    match inflate_payload(algorithm, &page[FCRC32_PAYLOAD_AT..size], out) {
        Some(n) if n == out.len() => {}
        _ => return Err(InflateError::Damaged(algorithm)),
    }
    // The first 24 bytes were copied from the page before it was compressed.
    if page[..24] != out[..24] {
        return Err(InflateError::HeaderDiffers);
    }
    Ok(algorithm)
}

/// Bytes written to `out`, or None when the payload is not a valid stream.
/// A stream that would produce more than `out` holds is invalid too.
fn inflate_payload(algorithm: Algorithm, payload: &[u8], out: &mut [u8]) -> Option<usize> {
    match algorithm {
        Algorithm::Zlib => {
            let mut z = flate2::Decompress::new(true);
            let status = z.decompress(payload, out, flate2::FlushDecompress::Finish).ok()?;
            (status == flate2::Status::StreamEnd).then_some(z.total_out() as usize)
        }
        Algorithm::Lz4 => lz4_flex::block::decompress_into(payload, out).ok(),
        Algorithm::Snappy => {
            let n = snap::raw::decompress_len(payload).ok()?;
            if n != out.len() {
                return None;
            }
            snap::raw::Decoder::new().decompress(payload, out).ok()
        }
        Algorithm::Lzo => lzo1x_decompress(payload, out),
        Algorithm::Lzma => {
            let mut sink = BoundedSink { out, len: 0 };
            lzma_rs::xz_decompress(&mut &payload[..], &mut sink).ok()?;
            Some(sink.len)
        }
        Algorithm::Bzip2 => {
            let mut inflated = Vec::with_capacity(out.len());
            // Read one byte past a page: a longer stream is not one page.
            let limit = out.len() as u64 + 1;
            bzip2_rs::DecoderReader::new(payload).take(limit).read_to_end(&mut inflated).ok()?;
            copy_whole(inflated, out)
        }
    }
}

/// A writer into a page buffer that refuses to grow past it: a damaged
/// stream must not make innohot allocate what it claims to expand to.
struct BoundedSink<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl std::io::Write for BoundedSink<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let end = self.len + data.len();
        if end > self.out.len() {
            return Err(std::io::Error::other("inflates past one page"));
        }
        self.out[self.len..end].copy_from_slice(data);
        self.len = end;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// LZO1X decompression (what `lzo1x_decompress_safe` accepts), bounded by
/// `out` and by the input: any damaged stream gives None, never a panic.
///
/// The stream is a sequence of instructions; each copies a match from the
/// bytes already produced, then 0-3 literals (the "state" the next
/// instruction reads). Numbers below are the format's, not tuning.
pub fn lzo1x_decompress(input: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut r = Reader { input, at: 0 };
    let mut w = Writer { out, at: 0 };
    // What the last instruction copied as literals: 0, 1-3, or 4 for "4 or more".
    let mut state;
    let first = *input.first()?;
    if first > 17 {
        r.at = 1;
        let n = usize::from(first - 17);
        w.literals(&mut r, n)?;
        state = n.min(4);
    } else {
        state = 0;
    }
    loop {
        let op = r.byte()?;
        let (distance, length, literals_after) = match op {
            0..=15 if state == 0 => {
                // A run of 4 or more literals.
                let n = 3 + r.length(usize::from(op), 15)?;
                w.literals(&mut r, n)?;
                state = 4;
                continue;
            }
            0..=15 => {
                let far = usize::from(r.byte()?) << 2;
                if state == 4 {
                    (2049 + usize::from(op >> 2) + far, 3, usize::from(op & 3))
                } else {
                    (1 + usize::from(op >> 2) + far, 2, usize::from(op & 3))
                }
            }
            16..=31 => {
                let length = 2 + r.length(usize::from(op & 7), 7)?;
                let tail = r.le16()?;
                let back = (usize::from(op & 8) << 11) + usize::from(tail >> 2);
                if back == 0 {
                    // End of stream: it must end the payload too.
                    return (length == 3 && r.at == input.len()).then_some(w.at);
                }
                (16384 + back, length, usize::from(tail & 3))
            }
            32..=63 => {
                let length = 2 + r.length(usize::from(op & 31), 31)?;
                let tail = r.le16()?;
                (1 + usize::from(tail >> 2), length, usize::from(tail & 3))
            }
            64..=127 => {
                let far = usize::from(r.byte()?) << 3;
                (1 + usize::from((op >> 2) & 7) + far, 3 + usize::from((op >> 5) & 1), usize::from(op & 3))
            }
            128..=255 => {
                let far = usize::from(r.byte()?) << 3;
                (1 + usize::from((op >> 2) & 7) + far, 5 + usize::from((op >> 5) & 3), usize::from(op & 3))
            }
        };
        w.copy_match(distance, length)?;
        w.literals(&mut r, literals_after)?;
        state = literals_after;
    }
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.input.get(self.at)?;
        self.at += 1;
        Some(b)
    }
    fn le16(&mut self) -> Option<u16> {
        Some(u16::from(self.byte()?) | (u16::from(self.byte()?) << 8))
    }
    /// A length field: `short` if non-zero, else `base` plus 255 per zero byte
    /// plus the first non-zero byte.
    fn length(&mut self, short: usize, base: usize) -> Option<usize> {
        if short != 0 {
            return Some(short);
        }
        let mut n = base;
        loop {
            match self.byte()? {
                0 => n += 255,
                b => return Some(n + usize::from(b)),
            }
        }
    }
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn literals(&mut self, r: &mut Reader, n: usize) -> Option<()> {
        let src = r.input.get(r.at..r.at.checked_add(n)?)?;
        self.out.get_mut(self.at..self.at + n)?.copy_from_slice(src);
        r.at += n;
        self.at += n;
        Some(())
    }
    /// Byte by byte: a match may overlap the bytes it produces.
    fn copy_match(&mut self, distance: usize, length: usize) -> Option<()> {
        let from = self.at.checked_sub(distance)?;
        if self.at + length > self.out.len() {
            return None;
        }
        for i in 0..length {
            self.out[self.at + i] = self.out[from + i];
        }
        self.at += length;
        Some(())
    }
}

fn copy_whole(inflated: Vec<u8>, out: &mut [u8]) -> Option<usize> {
    if inflated.len() != out.len() {
        return None;
    }
    out.copy_from_slice(&inflated);
    Some(inflated.len())
}
