//! Compressing pages again as the server does (issue 24: a page prepare changed
//! stays PAGE_COMPRESSED): every compressed page of the real MariaDB 10.11
//! samples in tests/fixtures/mariadb, inflated and compressed again by innohot,
//! is the server's own frame byte for byte with zlib (at the default level 6)
//! and lz4 (the server's liblz4, built from source); with snappy innohot writes
//! a frame that inflates (by the server's rules, which innohot's inflate
//! follows) back to the same page.
#![allow(clippy::disallowed_methods)] // tests read fixtures directly

use innohot::format::page::{validate_page, PageLayout};
use innohot::format::page_compressed::{self, compress_full_crc32, compress_legacy, Algorithm, CompressWith};
use std::path::Path;

const PAGE: usize = 16384;

fn sample(name: &str) -> (u32, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mariadb").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let flags = u32::from_be_bytes(bytes[54..58].try_into().unwrap());
    (flags, bytes)
}

/// (page number, stored page, inflated page) of each compressed page.
fn compressed_pages(flags: u32, bytes: &[u8]) -> Vec<(u32, Vec<u8>, Vec<u8>)> {
    let full_crc32 = flags & 0x10 != 0;
    let mut v = Vec::new();
    for (n, stored) in bytes.chunks(PAGE).enumerate() {
        if !page_compressed::is_compressed_page(stored, full_crc32) {
            continue;
        }
        let mut page = vec![0u8; PAGE];
        let done = if full_crc32 {
            page_compressed::inflate_full_crc32(stored, flags, &mut page)
        } else {
            page_compressed::inflate(stored, &mut page)
        };
        done.unwrap_or_else(|e| panic!("page {n}: {e}"));
        v.push((n as u32, stored.to_vec(), page));
    }
    assert!(v.len() >= 3, "the sample has {} compressed pages", v.len());
    v
}

fn compress(flags: u32, algorithm: Algorithm, page: &[u8]) -> Option<(usize, Vec<u8>)> {
    let with = CompressWith { algorithm, level: 6, block_size: 4096 };
    let mut out = vec![0u8; PAGE];
    let n = if flags & 0x10 != 0 {
        compress_full_crc32(page, with, &mut out)
    } else {
        compress_legacy(page, with, &mut out)
    }?;
    Some((n, out))
}

#[test]
fn zlib_and_lz4_frames_are_the_servers_byte_for_byte() {
    let samples = [
        ("page_compressed_full_crc32_zlib.ibd", Algorithm::Zlib),
        ("page_compressed_crc32_zlib.ibd", Algorithm::Zlib),
        ("page_compressed_full_crc32_lz4.ibd", Algorithm::Lz4),
        ("page_compressed_crc32_lz4.ibd", Algorithm::Lz4),
    ];
    for (name, algorithm) in samples {
        let (flags, bytes) = sample(name);
        for (n, stored, page) in compressed_pages(flags, &bytes) {
            let (len, out) = compress(flags, algorithm, &page).unwrap_or_else(|| panic!("{name} page {n}"));
            assert!(out[len..].iter().all(|&b| b == 0), "{name} page {n}: bytes after the frame's blocks");
            if out != stored {
                let at = out.iter().zip(&stored).position(|(a, b)| a != b);
                panic!("{name} page {n}: innohot's frame differs from the server's at byte {at:?}");
            }
        }
    }
}

#[test]
fn snappy_frames_inflate_to_the_page() {
    for (name, algorithm) in [("page_compressed_crc32_snappy.ibd", Algorithm::Snappy)] {
        let (flags, bytes) = sample(name);
        let full_crc32 = flags & 0x10 != 0;
        let layout = if full_crc32 { PageLayout::full_crc32(PAGE) } else { PageLayout::legacy(PAGE) };
        let space = u32::from_be_bytes(bytes[34..38].try_into().unwrap());
        for (n, stored, page) in compressed_pages(flags, &bytes) {
            let (len, out) = compress(flags, algorithm, &page).unwrap_or_else(|| panic!("{name} page {n}"));
            let stored_len = stored.iter().rposition(|&b| b != 0).unwrap().div_ceil(4096) * 4096;
            assert!(len <= stored_len + 4096, "{name} page {n}: {len} bytes, the server's {stored_len}");
            assert!(validate_page(&out, space, n, layout).is_ok(), "{name} page {n}");
            let mut back = vec![0u8; PAGE];
            let got = if full_crc32 {
                page_compressed::inflate_full_crc32(&out, flags, &mut back)
            } else {
                page_compressed::inflate(&out, &mut back)
            };
            assert_eq!(got, Ok(algorithm), "{name} page {n}");
            assert!(back == page, "{name} page {n}: inflates to another page");
        }
    }
}

#[test]
fn algorithms_innohot_cannot_write_leave_the_page_uncompressed() {
    let (flags, bytes) = sample("page_compressed_crc32_lzo.ibd");
    let (_, _, page) = compressed_pages(flags, &bytes).remove(0);
    for algorithm in [Algorithm::Lzo, Algorithm::Lzma, Algorithm::Bzip2] {
        assert_eq!(compress(flags, algorithm, &page), None, "{algorithm:?}");
    }
}
