//! Compressing a page as the MariaDB server stores a PAGE_COMPRESSED one, so a
//! page prepare changed goes back to disk compressed (and the rest of its page
//! a hole), as the server's own flush would have left it.
//!
//! The stored frame: for a full_crc32 tablespace, the page's first 26 bytes,
//! then the compressed stream of the whole page; the type field says "compressed"
//! (bit 15) and the frame's length in 256-byte units; the frame ends in a CRC-32C
//! of what precedes it; lz4, lzo and snappy keep the stream's exact length in
//! the byte 5 before the end. For the legacy layout, the page's 38-byte FIL header
//! with 0xDEADBEEF as its checksum, type 34354 and the algorithm in the
//! flush-LSN field, the stream's length at 38, the stream from 40. Either frame
//! is then padded with zeros to a whole file-system block; the rest of the page
//! is zero, never written (a hole).

use super::{Algorithm, FCRC32_COMPRESSED_MARKER, FCRC32_PAYLOAD_AT, PAYLOAD_AT, PAYLOAD_LEN_AT};
use crate::format::checksum::crc32c;

/// Page types the server never compresses: an allocated page, FSP_HDR, XDES.
const NEVER_COMPRESSED: [u16; 3] = [0, 8, 9];
/// 0xDEADBEEF: "no checksum" in a legacy compressed frame's checksum field.
const NO_CHECKSUM_MAGIC: u32 = 0xDEAD_BEEF;

/// How the server compresses pages: its `innodb_compression_level` and the
/// block size of the file system the file is on (frames end on a block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressWith {
    pub algorithm: Algorithm,
    pub level: u32,
    pub block_size: usize,
}

/// The stored form of `page` (uncompressed, its checksum already written) in a
/// full_crc32 PAGE_COMPRESSED tablespace: `out` (as long as the page) gets the
/// frame and zeros; returns the bytes worth writing (a multiple of the block
/// size), or None when the server would store the page uncompressed (a type it
/// never compresses, an algorithm innohot cannot write, or no block saved).
pub fn compress_full_crc32(page: &[u8], with: CompressWith, out: &mut [u8]) -> Option<usize> {
    let psize = page.len();
    if NEVER_COMPRESSED.contains(&super::be_u16(page, 24)) {
        return None;
    }
    out.fill(0);
    let len = compress_stream(with, page, &mut out[FCRC32_PAYLOAD_AT..])?;
    let actual = FCRC32_PAYLOAD_AT + len;
    let exact_len = matches!(with.algorithm, Algorithm::Lz4 | Algorithm::Lzo | Algorithm::Snappy);
    let frame = (actual + usize::from(exact_len) + 4 + 255) & !255;
    if frame >= psize {
        return None;
    }
    out[..FCRC32_PAYLOAD_AT].copy_from_slice(&page[..FCRC32_PAYLOAD_AT]);
    let marker = FCRC32_COMPRESSED_MARKER | (frame >> 8) as u16;
    out[24..26].copy_from_slice(&marker.to_be_bytes());
    if exact_len {
        out[frame - 5] = (actual + 5) as u8;
    }
    let crc = crc32c(&out[..frame - 4]);
    out[frame - 4..frame].copy_from_slice(&crc.to_be_bytes());
    Some(round_up(frame, with.block_size).min(psize))
}

/// [`compress_full_crc32`] for a tablespace of the legacy (not full_crc32) layout.
pub fn compress_legacy(page: &[u8], with: CompressWith, out: &mut [u8]) -> Option<usize> {
    let psize = page.len();
    if NEVER_COMPRESSED.contains(&super::be_u16(page, 24)) {
        return None;
    }
    out.fill(0);
    let len = compress_stream(with, page, &mut out[PAYLOAD_AT..])?;
    out[..PAYLOAD_LEN_AT].copy_from_slice(&page[..PAYLOAD_LEN_AT]);
    out[..4].copy_from_slice(&NO_CHECKSUM_MAGIC.to_be_bytes());
    out[24..26].copy_from_slice(&super::PAGE_TYPE_PAGE_COMPRESSED.to_be_bytes());
    out[26..34].copy_from_slice(&with.algorithm.code().to_be_bytes());
    out[PAYLOAD_LEN_AT..PAYLOAD_AT].copy_from_slice(&(len as u16).to_be_bytes());
    let write = round_up(PAYLOAD_AT + len, with.block_size);
    // The server writes such a page whole; nothing is saved, so it is kept uncompressed.
    (write < psize).then_some(write)
}

fn round_up(n: usize, block: usize) -> usize {
    let block = block.max(512);
    n.div_ceil(block) * block
}

/// The compressed stream of the whole page into `out`; None when it does not fit
/// or innohot has no compressor for the algorithm (lzo, lzma, bzip2).
fn compress_stream(with: CompressWith, page: &[u8], out: &mut [u8]) -> Option<usize> {
    match with.algorithm {
        Algorithm::Zlib => {
            // compress2(): zlib header, window 15, memLevel 8, default strategy.
            let level = flate2::Compression::new(with.level.min(9));
            let mut z = flate2::Compress::new(level, true);
            let status = z.compress(page, out, flate2::FlushCompress::Finish).ok()?;
            (status == flate2::Status::StreamEnd).then_some(z.total_out() as usize)
        }
        // The server's own compressor (liblz4's LZ4_compress_default, built from
        // source): another lz4 encoder writes valid frames that are larger.
        Algorithm::Lz4 => {
            let (src_len, capacity) = (i32::try_from(page.len()).ok()?, i32::try_from(out.len()).ok()?);
            // SAFETY: liblz4 reads `src_len` bytes of `page` and writes at most
            // `capacity` bytes into `out`, both valid for those lengths; it keeps no
            // pointer after returning (0 when the stream does not fit).
            let n = unsafe {
                lz4_sys::LZ4_compress_default(page.as_ptr().cast(), out.as_mut_ptr().cast(), src_len, capacity)
            };
            usize::try_from(n).ok().filter(|&n| n > 0)
        }
        // Snappy wants room for its worst case, which is more than a page.
        Algorithm::Snappy => {
            let mut buf = vec![0u8; snap::raw::max_compress_len(page.len())];
            let n = snap::raw::Encoder::new().compress(page, &mut buf).ok()?;
            out.get_mut(..n)?.copy_from_slice(&buf[..n]);
            Some(n)
        }
        Algorithm::Lzo | Algorithm::Lzma | Algorithm::Bzip2 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::page::{validate_page, PageLayout};
    use crate::format::page_compressed::{inflate, inflate_full_crc32, is_compressed_page};

    /// A 16 KiB index page of compressible rows, with a valid checksum for `layout`.
    fn index_page(layout: PageLayout, space: u32, page_no: u32) -> Vec<u8> {
        let mut p = vec![0u8; layout.physical_size];
        p[4..8].copy_from_slice(&page_no.to_be_bytes());
        p[16..24].copy_from_slice(&0x1234_5678u64.to_be_bytes());
        p[24..26].copy_from_slice(&17855u16.to_be_bytes());
        p[34..38].copy_from_slice(&space.to_be_bytes());
        for (i, b) in p[38..8000].iter_mut().enumerate() {
            *b = b"row payload, quite repetitive "[i % 30];
        }
        crate::format::page::stamp_for_layout(&mut p, layout);
        p
    }

    const WITH: CompressWith = CompressWith { algorithm: Algorithm::Zlib, level: 6, block_size: 4096 };

    #[test]
    fn a_full_crc32_frame_inflates_to_the_page_and_passes_the_checksum() {
        let layout = PageLayout::full_crc32(16384);
        for algorithm in [Algorithm::Zlib, Algorithm::Lz4, Algorithm::Snappy] {
            let page = index_page(layout, 7, 3);
            let flags = 0x10 | ((algorithm.code() as u32) << 5) | 5;
            let mut out = vec![0u8; 16384];
            let with = CompressWith { algorithm, ..WITH };
            let n = compress_full_crc32(&page, with, &mut out).expect("compressible");
            assert_eq!(n % 4096, 0);
            assert!(n < 16384 && out[n..].iter().all(|&b| b == 0), "{algorithm:?}: {n}");
            assert!(is_compressed_page(&out, true));
            assert!(
                validate_page(&out, 7, 3, layout).is_ok(),
                "{algorithm:?}: {:?}",
                validate_page(&out, 7, 3, layout)
            );
            let mut back = vec![0u8; 16384];
            assert_eq!(inflate_full_crc32(&out, flags, &mut back), Ok(algorithm));
            assert_eq!(back, page, "{algorithm:?}");
        }
    }

    #[test]
    fn a_legacy_frame_inflates_to_the_page() {
        let layout = PageLayout::legacy(16384);
        let page = index_page(layout, 9, 4);
        let mut out = vec![0u8; 16384];
        let n = compress_legacy(&page, WITH, &mut out).expect("compressible");
        assert_eq!((n, &out[..4]), (4096, &[0xDE, 0xAD, 0xBE, 0xEF][..]));
        assert!(validate_page(&out, 9, 4, layout).is_ok());
        let mut back = vec![0u8; 16384];
        assert_eq!(inflate(&out, &mut back), Ok(Algorithm::Zlib));
        assert_eq!(back, page);
    }

    #[test]
    fn pages_the_server_never_compresses_or_that_save_nothing_stay_whole() {
        let layout = PageLayout::full_crc32(16384);
        let mut out = vec![0u8; 16384];
        let mut fsp = index_page(layout, 7, 0);
        fsp[24..26].copy_from_slice(&8u16.to_be_bytes());
        assert_eq!(compress_full_crc32(&fsp, WITH, &mut out), None);
        // Bytes no algorithm shrinks by a 4 KiB block.
        let mut noise = index_page(layout, 7, 5);
        let mut x = 0x9E37_79B9u32;
        for b in noise[38..16380].iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        assert_eq!(compress_full_crc32(&noise, WITH, &mut out), None);
        assert_eq!(compress_legacy(&noise, WITH, &mut out), None);
        let lzo = CompressWith { algorithm: Algorithm::Lzo, ..WITH };
        assert_eq!(compress_full_crc32(&index_page(layout, 7, 6), lzo, &mut out), None);
    }

    #[test]
    fn the_exact_stream_length_survives_every_remainder() {
        // Lengths whose frame ends exactly on 256 bytes store 0 in the length byte.
        let layout = PageLayout::full_crc32(16384);
        let with = CompressWith { algorithm: Algorithm::Lz4, ..WITH };
        let flags = 0x10 | (2 << 5) | 5;
        for fill in (100..9000).step_by(37) {
            let mut page = index_page(layout, 7, 3);
            let mut x = fill as u32 | 1;
            for b in page[38..38 + fill].iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
            crate::format::page::stamp_for_layout(&mut page, layout);
            let mut out = vec![0u8; 16384];
            if compress_full_crc32(&page, with, &mut out).is_some() {
                let mut back = vec![0u8; 16384];
                assert_eq!(inflate_full_crc32(&out, flags, &mut back), Ok(Algorithm::Lz4), "fill {fill}");
                assert_eq!(back, page, "fill {fill}");
            }
        }
    }
}
