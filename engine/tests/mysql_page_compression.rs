//! MySQL 5.7 transparent page compression (`COMPRESSION='zlib'|'lz4'`, page
//! type 14) is backed up: such a page validates when its body inflates to a
//! page whose checksum and torn-page tests hold, and a damaged one is a
//! defect worth a re-read, not a refusal. (Before, every type-14 page was
//! refused and a 5.7 server with one such table could not be backed up.)
//! The layout is the one a real 5.7.41 server wrote (checked on its files):
//! header kept, type 14 at 24, version at 26, algorithm at 27, original type
//! at 28, body size at 30, compressed size at 32, compressed body at 38.

use innohot::format::page::{stamp_legacy_crc32, validate_page, Accepted, PageDefect, PageLayout};
use innohot::format::page_compressed::Algorithm;
use std::io::Write;

const PSIZE: usize = 16384;

/// An index page (type 17855) of space 23, page 3, as the server checksums it.
fn plain_page() -> Vec<u8> {
    let mut p = vec![0u8; PSIZE];
    p[4..8].copy_from_slice(&3u32.to_be_bytes());
    p[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    p[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
    p[16..24].copy_from_slice(&0x2a_5dd2u64.to_be_bytes());
    p[24..26].copy_from_slice(&17855u16.to_be_bytes());
    p[34..38].copy_from_slice(&23u32.to_be_bytes());
    for (i, b) in p[38..400].iter_mut().enumerate() {
        *b = (i % 7) as u8 + b'a';
    }
    stamp_legacy_crc32(&mut p);
    p
}

fn compress(plain: &[u8], algorithm: Algorithm) -> Vec<u8> {
    let body = &plain[38..];
    let payload = match algorithm {
        Algorithm::Zlib => {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(body).unwrap();
            z.finish().unwrap()
        }
        Algorithm::Lz4 => lz4_flex::block::compress(body),
        other => panic!("5.7 writes no {other:?}"),
    };
    let mut p = vec![0u8; PSIZE];
    p[..38].copy_from_slice(&plain[..38]);
    p[24..26].copy_from_slice(&14u16.to_be_bytes());
    p[26] = 2;
    p[27] = if algorithm == Algorithm::Zlib { 1 } else { 2 };
    p[28..30].copy_from_slice(&plain[24..26]);
    p[30..32].copy_from_slice(&((PSIZE - 38) as u16).to_be_bytes());
    p[32..34].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    p[38..38 + payload.len()].copy_from_slice(&payload);
    p
}

#[test]
fn zlib_and_lz4_pages_validate_and_damage_is_caught() {
    let layout = PageLayout::legacy(PSIZE);
    for algorithm in [Algorithm::Zlib, Algorithm::Lz4] {
        let page = compress(&plain_page(), algorithm);
        assert_eq!(validate_page(&page, 23, 3, layout), Ok(Accepted::MysqlCompressed(algorithm)));

        // A page written over while read: LSN in the header from the new
        // write, body from the old one.
        let mut torn = page.clone();
        torn[23] ^= 1;
        let defect = validate_page(&torn, 23, 3, layout).unwrap_err();
        assert!(!defect.is_permanent(), "{algorithm:?}: {defect}");

        // A damaged compressed body: not one page, named.
        let mut bad = page.clone();
        bad[38] ^= 0xff;
        bad[39] ^= 0xff;
        let defect = validate_page(&bad, 23, 3, layout).unwrap_err();
        assert!(!defect.is_permanent(), "{algorithm:?}: {defect}");

        // An algorithm 5.7 does not write.
        let mut unknown = page.clone();
        unknown[27] = 9;
        let defect = validate_page(&unknown, 23, 3, layout).unwrap_err();
        assert!(matches!(defect, PageDefect::MysqlCompressed(_)), "{defect:?}");
        assert!(defect.to_string().contains("page type 14") && defect.to_string().contains("algorithm 9"), "{defect}");
    }
}
