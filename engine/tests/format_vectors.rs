//! Known-answer tests for the format module. The expected values were computed by hand or
//! by a separate Python implementation (bitwise CRC-32C table, ut_fold_*), never by this crate.

use innohot::format::checksum::{
    crc32c, fold_binary, fold_pair, log_block_innodb, page_crc32, page_full_crc32, page_innodb_new, page_innodb_old,
    page_zip_crc32,
};
use innohot::format::mysql57::mlog::{
    decode_record, encode_checkpoint_group, encode_mtr, encode_record, read_compressed, read_u64_compressed,
    write_compressed, write_u64_compressed, Decoded, Record,
};
use innohot::format::mysql57::{
    block_checksum_kind, block_no_for_lsn, classify_block, header_with_creator, newest_checkpoint, stamp_block,
    xtrabackup_creator, BlockChecksum, BlockClass, BlockHeader, Checkpoint, LogFileHeader, RingGeometry, Span,
};
use innohot::format::page::{
    fil_header, fsp_header, is_doublewrite_page, layout_from_flags, layout_from_page0, new_page, set_page_lsn,
    stamp_full_crc32, stamp_legacy_crc32, stamp_legacy_innodb, validate_page, Accepted, PageDefect, PageLayout,
    FIL_NULL, PAGE_TYPE_INDEX,
};
use innohot::format::FormatError;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

// ---------------------------------------------------------------- checksums

#[test]
fn crc32c_check_value() {
    // The CRC-32C catalogue check value.
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    assert_eq!(crc32c(b""), 0);
}

#[test]
fn fold_pair_by_hand() {
    // (0 ^ 0 ^ 0x62946A4F) << 8 = 0x62946A4F00; + 0; ^ 0x573ED587 = 0x62C3549A87; + 0.
    assert_eq!(fold_pair(0, 0), 0x62_C354_9A87);
    assert_eq!(fold_pair(0, 0), 424_183_896_711);
    // (1 ^ 2 ^ M2) << 8 = 0x62946A4C00; + 1 = 0x62946A4C01; ^ 0x573ED587 = 0x62C3549986;
    // + 2 = 0x62C3549988.
    assert_eq!(fold_pair(1, 2), 0x62_C354_9988);
    // Wrapping: the shift drops the top byte and the additions wrap.
    assert_eq!(fold_pair(u64::MAX, u64::MAX), 424_183_896_951);
    assert_eq!(fold_binary(b""), 0);
    assert_eq!(fold_binary(b"a"), fold_pair(0, 0x61));
    assert_eq!(fold_binary(b"abc"), 27_980_077_537_347_513);
}

/// A 16 KiB page whose every byte is set by a formula the Python cross-check repeats.
fn pattern_page() -> Vec<u8> {
    let size = 16384;
    let mut p = new_page(size, 7, 3, PAGE_TYPE_INDEX, 0x0000_0001_2345_6789);
    for i in 0..size - 38 - 8 {
        p[38 + i] = ((i * 31 + 7) & 0xFF) as u8;
    }
    let low = p[20..24].to_vec();
    p[size - 4..].copy_from_slice(&low);
    p
}

#[test]
fn page_checksums_known_answers() {
    let p = pattern_page();
    assert_eq!(page_crc32(&p), 0x0143_255E);
    assert_eq!(page_innodb_new(&p), 0xDABC_8A09);
    let mut q = p.clone();
    q[0..4].copy_from_slice(&0xDABC_8A09u32.to_be_bytes());
    // The old checksum covers [0,26), so it depends on the stored new one.
    assert_eq!(page_innodb_old(&q), 0xF3CC_9483);
    let mut f = p.clone();
    let low = f[20..24].to_vec();
    f[16384 - 8..16384 - 4].copy_from_slice(&low);
    f[16384 - 4..].fill(0);
    assert_eq!(page_full_crc32(&f), 0x787D_317D);
}

#[test]
fn new_page_fields_at_their_offsets() {
    let p = new_page(4096, 0x0102_0304, 9, 8, 0x1122_3344_5566_7788);
    assert_eq!(p.len(), 4096);
    assert_eq!(&p[0..4], &[0, 0, 0, 0]);
    assert_eq!(&p[4..8], &[0, 0, 0, 9]);
    assert_eq!(&p[8..16], &[0xFF; 8]);
    assert_eq!(&p[16..24], &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    assert_eq!(&p[24..26], &[0, 8]);
    assert_eq!(&p[26..34], &[0; 8]);
    assert_eq!(&p[34..38], &[1, 2, 3, 4]);
    assert!(p[38..].iter().all(|&b| b == 0));
    let h = fil_header(&p).unwrap();
    assert_eq!(h.page_no, 9);
    assert_eq!((h.prev, h.next), (FIL_NULL, FIL_NULL));
    assert_eq!(h.lsn, 0x1122_3344_5566_7788);
    assert_eq!(h.page_type, 8);
    assert_eq!(h.space_id, 0x0102_0304);
    assert!(matches!(fil_header(&p[..37]), Err(FormatError::TooShort { need: 38, .. })));
}

#[test]
fn stamp_legacy_crc32_known_answer_and_validates() {
    let mut p = pattern_page();
    p[16380..].fill(0);
    stamp_legacy_crc32(&mut p);
    assert_eq!(be32(&p, 0), 0x0143_255E);
    assert_eq!(be32(&p, 16384 - 8), 0x0143_255E);
    assert_eq!(be32(&p, 16384 - 4), 0x2345_6789);
    assert_eq!(validate_page(&p, 7, 3, PageLayout::legacy(16384)), Ok(Accepted::Crc32));
    // Wrong position in the file.
    assert_eq!(
        validate_page(&p, 7, 4, PageLayout::legacy(16384)),
        Err(PageDefect::WrongPageNo { expected: 4, found: 3 })
    );
    // Torn: the trailer's LSN copy differs.
    let mut t = p.clone();
    t[16383] ^= 1;
    assert_eq!(
        validate_page(&t, 7, 3, PageLayout::legacy(16384)),
        Err(PageDefect::TornLsn { header_lsn_low: 0x2345_6789, trailer_lsn_low: 0x2345_6788 })
    );
    // A data byte.
    let mut d = p.clone();
    d[5000] ^= 0x40;
    assert!(matches!(
        validate_page(&d, 7, 3, PageLayout::legacy(16384)),
        Err(PageDefect::Checksum { stored_head: 0x0143_255E, stored_tail: 0x0143_255E, .. })
    ));
    // Wrong length.
    assert_eq!(
        validate_page(&p[..8192], 7, 3, PageLayout::legacy(16384)),
        Err(PageDefect::WrongLength { expected: 16384, found: 8192 })
    );
}

#[test]
fn innodb_fold_checksums_are_accepted() {
    // Stamped by hand from the known answers above.
    let mut p = pattern_page();
    p[0..4].copy_from_slice(&0xDABC_8A09u32.to_be_bytes());
    p[16376..16380].copy_from_slice(&0xF3CC_9483u32.to_be_bytes());
    assert_eq!(validate_page(&p, 7, 3, PageLayout::legacy(16384)), Ok(Accepted::Innodb));
    // The crate's own stamp agrees.
    let mut s = pattern_page();
    stamp_legacy_innodb(&mut s);
    assert_eq!(s, p);
    // Field 1 may be 0 (pages from before the new checksum existed); the old checksum
    // then covers those zeros.
    let mut z = p.clone();
    z[0..4].fill(0);
    z[16376..16380].copy_from_slice(&0x483A_2262u32.to_be_bytes());
    assert_eq!(validate_page(&z, 7, 3, PageLayout::legacy(16384)), Ok(Accepted::Innodb));
    // Very old InnoDB: field 2 = mach_read_from_4(FIL_PAGE_LSN), the LSN's high word (1).
    let mut o = p.clone();
    o[16376..16380].copy_from_slice(&1u32.to_be_bytes());
    assert_eq!(validate_page(&o, 7, 3, PageLayout::legacy(16384)), Ok(Accepted::Innodb));
    // Wrong new checksum.
    let mut w = p.clone();
    w[3] ^= 1;
    assert!(matches!(validate_page(&w, 7, 3, PageLayout::legacy(16384)), Err(PageDefect::Checksum { .. })));
    // Wrong old checksum.
    let mut w = p.clone();
    w[16379] ^= 1;
    assert!(matches!(validate_page(&w, 7, 3, PageLayout::legacy(16384)), Err(PageDefect::Checksum { .. })));
    // A data byte changes the new checksum.
    let mut w = p.clone();
    w[100] ^= 1;
    assert!(validate_page(&w, 7, 3, PageLayout::legacy(16384)).is_err());
}

#[test]
fn checksum_none_magic() {
    let mut p = pattern_page();
    p[0..4].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
    p[16376..16380].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
    assert_eq!(validate_page(&p, 7, 3, PageLayout::legacy(16384)), Ok(Accepted::ChecksumNone));
    // Only one of the two fields: refused.
    p[16376..16380].copy_from_slice(&0x0143_255Eu32.to_be_bytes());
    assert!(validate_page(&p, 7, 3, PageLayout::legacy(16384)).is_err());
}

#[test]
fn all_zero_and_doublewrite() {
    let z = vec![0u8; 16384];
    assert_eq!(validate_page(&z, 5, 77, PageLayout::legacy(16384)), Ok(Accepted::AllZero));
    let l = PageLayout::legacy(16384);
    assert!(!is_doublewrite_page(0, 63, l));
    assert!(is_doublewrite_page(0, 64, l));
    assert!(is_doublewrite_page(0, 191, l));
    assert!(!is_doublewrite_page(0, 192, l));
    assert!(!is_doublewrite_page(1, 100, l));
    // 4 KiB pages: extent = 256 pages; 64 KiB: 64 pages.
    assert!(!is_doublewrite_page(0, 255, PageLayout::legacy(4096)));
    assert!(is_doublewrite_page(0, 256, PageLayout::legacy(4096)));
    assert!(is_doublewrite_page(0, 767, PageLayout::legacy(4096)));
    assert!(!is_doublewrite_page(0, 768, PageLayout::legacy(4096)));
    assert!(is_doublewrite_page(0, 64, PageLayout::legacy(65536)));
    assert!(!is_doublewrite_page(0, 192, PageLayout::legacy(32768)));
    // Garbage in the doublewrite area of space 0 is not judged.
    let garbage = vec![0x5Au8; 16384];
    assert_eq!(validate_page(&garbage, 0, 100, l), Ok(Accepted::Doublewrite));
    assert!(validate_page(&garbage, 1, 100, l).is_err());
}

#[test]
fn full_crc32_pages() {
    let layout = layout_from_flags(0x15).unwrap(); // marker + ssize 5
    assert_eq!(layout, PageLayout::full_crc32(16384));
    let mut p = pattern_page();
    p[16380..].fill(0);
    stamp_full_crc32(&mut p);
    assert_eq!(be32(&p, 16384 - 8), 0x2345_6789);
    assert_eq!(be32(&p, 16384 - 4), 0x787D_317D);
    assert_eq!(validate_page(&p, 7, 3, layout), Ok(Accepted::FullCrc32));
    // Every byte is covered, including [26,38) and the first four.
    for at in [0, 2, 27, 35, 5000, 16376, 16381] {
        let mut w = p.clone();
        w[at] ^= 0x10;
        assert!(validate_page(&w, 7, 3, layout).is_err(), "byte {at}");
    }
    // A consistent CRC over a torn LSN copy.
    let mut t = p.clone();
    t[16384 - 8] ^= 1;
    let crc = crc32c(&t[..16380]);
    t[16380..].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(validate_page(&t, 7, 3, layout), Err(PageDefect::TornLsn { .. })));
    // All zero is fine in full_crc32 too.
    assert_eq!(validate_page(&[0u8; 16384], 7, 3, layout), Ok(Accepted::AllZero));
}

#[test]
fn compressed_pages() {
    // 16 KiB pages, zip ssize 1 => 1 KiB physical.
    let flags = 0x21 | (1 << 1);
    let layout = layout_from_flags(flags).unwrap();
    assert_eq!(layout, PageLayout::row_compressed(1024, 16384));
    assert!(layout.is_compressed());
    let mut z = vec![0u8; 1024];
    z[4..8].copy_from_slice(&9u32.to_be_bytes());
    z[8..16].fill(0xFF);
    z[16..24].copy_from_slice(&0x55u64.to_be_bytes());
    z[24..26].copy_from_slice(&PAGE_TYPE_INDEX.to_be_bytes());
    z[34..38].copy_from_slice(&7u32.to_be_bytes());
    for (i, b) in z.iter_mut().enumerate().skip(38) {
        *b = ((i * 13 + 1) & 0xFF) as u8;
    }
    assert_eq!(page_zip_crc32(&z), 0x2401_4442);
    z[0..4].copy_from_slice(&0x2401_4442u32.to_be_bytes());
    assert_eq!(validate_page(&z, 7, 9, layout), Ok(Accepted::Compressed));
    // No torn-LSN test for compressed pages (the trailer is compressed data).
    // [16,24) and [26,34) are outside the zip checksum, like the server's.
    let mut w = z.clone();
    w[500] ^= 1;
    assert!(matches!(validate_page(&w, 7, 9, layout), Err(PageDefect::Checksum { .. })));
    let mut n = z.clone();
    n[0..4].copy_from_slice(&0xDEAD_BEEFu32.to_be_bytes());
    assert_eq!(validate_page(&n, 7, 9, layout), Ok(Accepted::Compressed));
    assert_eq!(
        validate_page(&z, 7, 9, PageLayout::legacy(16384)),
        Err(PageDefect::WrongLength { expected: 16384, found: 1024 })
    );
}

#[test]
fn fsp_flags_decoding() {
    let l16 = PageLayout::legacy(16384);
    assert_eq!(layout_from_flags(0).unwrap(), l16); // Antelope
    assert_eq!(layout_from_flags(0x21).unwrap(), l16); // DYNAMIC
    assert_eq!(layout_from_flags(0x21 | (3 << 6)).unwrap(), PageLayout::legacy(4096));
    assert_eq!(layout_from_flags(4 << 6).unwrap(), PageLayout::legacy(8192));
    assert_eq!(layout_from_flags(5 << 6).unwrap(), l16);
    assert_eq!(layout_from_flags(6 << 6).unwrap(), PageLayout::legacy(32768));
    assert_eq!(layout_from_flags(7 << 6).unwrap(), PageLayout::legacy(65536));
    for bad in [1 << 6, 2 << 6, 8 << 6, 15 << 6] {
        assert!(matches!(layout_from_flags(bad), Err(FormatError::BadPageSize { .. })), "{bad:#x}");
    }
    assert_eq!(layout_from_flags(0x21 | (4 << 1)).unwrap(), PageLayout::row_compressed(8192, 16384));
    // zip ssize 6/7 (bit 4 clear) are invalid; a zip size above the page size too.
    assert!(layout_from_flags(6 << 1).is_err());
    assert!(layout_from_flags(7 << 1).is_err());
    assert!(layout_from_flags((3 << 6) | (4 << 1)).is_err());
    // KEY_BLOCK_SIZE=16 on 16 KiB pages (flags 0x2b, as MariaDB 10.11 writes them):
    // the pages are the size of ordinary ones but still page_zip pages.
    let kbs16 = layout_from_flags(0x2b).unwrap();
    assert_eq!(kbs16, PageLayout::row_compressed(16384, 16384));
    assert!(kbs16.is_compressed());
    assert_eq!(layout_from_flags((7 << 6) | (5 << 1)).unwrap().physical_size, 16384);
    // full_crc32: bit 4 marker, ssize in bits 0-3.
    assert_eq!(layout_from_flags(0x10 | 3).unwrap(), PageLayout::full_crc32(4096));
    assert_eq!(layout_from_flags(0x10 | 7).unwrap().physical_size, 65536);
    assert!(layout_from_flags(0x10).is_err());
    assert!(layout_from_flags(0x10 | 8).is_err());

    let mut p0 = vec![0u8; 58];
    p0[38..42].copy_from_slice(&11u32.to_be_bytes());
    p0[46..50].copy_from_slice(&640u32.to_be_bytes());
    p0[54..58].copy_from_slice(&0x21u32.to_be_bytes());
    assert_eq!(layout_from_page0(&p0).unwrap(), l16);
    let f = fsp_header(&p0).unwrap();
    assert_eq!((f.space_id, f.size_pages, f.flags), (11, 640, 0x21));
    assert!(matches!(layout_from_page0(&p0[..57]), Err(FormatError::TooShort { .. })));
}

#[test]
fn set_page_lsn_only_touches_the_header() {
    let mut p = new_page(4096, 1, 2, 0, 5);
    set_page_lsn(&mut p, 0xAABB_CCDD_0011_2233);
    assert_eq!(&p[16..24], &[0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x11, 0x22, 0x33]);
    assert!(p[4088..].iter().all(|&b| b == 0));
}

// ---------------------------------------------------------------- redo blocks

/// A log block with every field written by hand at its offset.
fn hand_block(no: u32, flush: bool, data_len: u16, first: u16, cp_no: u32) -> [u8; 512] {
    let mut b = [0u8; 512];
    let raw = no | if flush { 0x8000_0000 } else { 0 };
    b[0..4].copy_from_slice(&raw.to_be_bytes());
    b[4..6].copy_from_slice(&data_len.to_be_bytes());
    b[6..8].copy_from_slice(&first.to_be_bytes());
    b[8..12].copy_from_slice(&cp_no.to_be_bytes());
    for (i, x) in b.iter_mut().enumerate().take(508).skip(12) {
        *x = (i & 0xFF) as u8;
    }
    b
}

#[test]
fn log_block_known_answers() {
    let mut b = hand_block(17, true, 512, 12, 5);
    assert_eq!(crc32c(&b[..508]), 0xF962_C788);
    assert_eq!(log_block_innodb(&b), 0x3401_BA3B);
    assert_eq!(log_block_innodb(&[0u8; 512]), 1);
    let h = BlockHeader::parse(&b).unwrap();
    assert_eq!(h, BlockHeader { block_no: 17, flush_bit: true, data_len: 512, first_rec_group: 12, checkpoint_no: 5 });
    let mut w = [0u8; 512];
    h.write_into(&mut w);
    assert_eq!(&w[..12], &b[..12]);

    assert_eq!(block_checksum_kind(&b), None);
    stamp_block(&mut b, BlockChecksum::Crc32c);
    assert_eq!(&b[508..], &[0xF9, 0x62, 0xC7, 0x88]);
    assert_eq!(block_checksum_kind(&b), Some(BlockChecksum::Crc32c));
    stamp_block(&mut b, BlockChecksum::Innodb);
    assert_eq!(&b[508..], &[0x34, 0x01, 0xBA, 0x3B]);
    assert_eq!(block_checksum_kind(&b), Some(BlockChecksum::Innodb));
    stamp_block(&mut b, BlockChecksum::None);
    assert_eq!(&b[508..], &[0xDE, 0xAD, 0xBE, 0xEF]);
    assert_eq!(block_checksum_kind(&b), Some(BlockChecksum::None));
    assert_eq!(block_checksum_kind(&[0u8; 512]), None);
    assert_eq!(block_checksum_kind(&b[..511]), None);
}

#[test]
fn block_numbers() {
    assert_eq!(block_no_for_lsn(0), 1);
    assert_eq!(block_no_for_lsn(511), 1);
    assert_eq!(block_no_for_lsn(8192), 17);
    assert_eq!(block_no_for_lsn(8192 + 511), 17);
    assert_eq!(block_no_for_lsn(((1u64 << 30) - 1) * 512), 1 << 30);
    assert_eq!(block_no_for_lsn((1u64 << 30) * 512), 1);
    assert_eq!(block_no_for_lsn((1u64 << 30) * 512 + 8192), 17);
}

fn stamped(no: u32, data_len: u16) -> [u8; 512] {
    let mut b = hand_block(no, false, data_len, 0, 1);
    stamp_block(&mut b, BlockChecksum::Crc32c);
    b
}

#[test]
fn classify_blocks() {
    let g = RingGeometry::new(2, 1 << 20).unwrap();
    let ring = g.ring_blocks();
    assert_eq!(ring, 4088);
    let cap = g.capacity();
    let lsn = 8192 + 100 * 512;
    let exp = block_no_for_lsn(lsn);
    assert_eq!(classify_block(&stamped(exp, 512), lsn, ring), BlockClass::Current { data_len: 512 });
    assert_eq!(classify_block(&stamped(exp, 300), lsn, ring), BlockClass::Current { data_len: 300 });
    let mut flushed = hand_block(exp, true, 512, 0, 1);
    stamp_block(&mut flushed, BlockChecksum::Innodb);
    assert_eq!(classify_block(&flushed, lsn, ring), BlockClass::Current { data_len: 512 });
    // The previous lap's block at this position, and two laps back.
    let old = block_no_for_lsn(lsn + 4 * cap - cap);
    assert_eq!(classify_block(&stamped(old, 512), lsn + 4 * cap, ring), BlockClass::Stale { found_no: old });
    let older = block_no_for_lsn(lsn + 4 * cap - 2 * cap);
    assert_eq!(classify_block(&stamped(older, 512), lsn + 4 * cap, ring), BlockClass::Stale { found_no: older });
    // The next lap: the writer overwrote this position.
    let newer = block_no_for_lsn(lsn + cap);
    assert_eq!(
        classify_block(&stamped(newer, 512), lsn, ring),
        BlockClass::Lapped { expected_no: exp, found_no: newer }
    );
    // Not a lap multiple.
    assert_eq!(
        classify_block(&stamped(exp - 1, 512), lsn, ring),
        BlockClass::Lapped { expected_no: exp, found_no: exp - 1 }
    );
    // Stale across the 2^30 wrap of block numbers: expected 5, found near 2^30.
    let wrap_lsn = (1u64 << 30) * 512 + 4 * 512;
    let e = block_no_for_lsn(wrap_lsn);
    assert_eq!(e, 5);
    let f = block_no_for_lsn(wrap_lsn - cap);
    assert_eq!(f, (1 << 30) + 5 - 4088);
    assert_eq!(classify_block(&stamped(f, 512), wrap_lsn, ring), BlockClass::Stale { found_no: f });
    // A ring of 1024 blocks divides 2^30: a block one lap AHEAD must not pass for one
    // (2^30 / 1024 - 1) laps behind. The distance is signed.
    let g1k = RingGeometry::new(1, 2048 + 1024 * 512).unwrap();
    assert_eq!(g1k.ring_blocks(), 1024);
    let ahead = block_no_for_lsn(lsn + g1k.capacity());
    assert_eq!(
        classify_block(&stamped(ahead, 512), lsn, 1024),
        BlockClass::Lapped { expected_no: exp, found_no: ahead }
    );
    let behind = block_no_for_lsn(lsn + 3 * g1k.capacity());
    assert_eq!(classify_block(&stamped(exp, 512), lsn + 3 * g1k.capacity(), 1024), BlockClass::Stale { found_no: exp });
    assert_eq!(behind, exp + 3 * 1024);
    // Checksum failures.
    assert_eq!(classify_block(&[0u8; 512], lsn, ring), BlockClass::Unreadable);
    let mut bad = stamped(exp, 512);
    bad[100] ^= 1;
    assert_eq!(classify_block(&bad, lsn, ring), BlockClass::Unreadable);
}

// ---------------------------------------------------------------- redo header

fn hand_header() -> Vec<u8> {
    let mut h = vec![0u8; 2048];
    h[0..4].copy_from_slice(&1u32.to_be_bytes());
    h[8..16].copy_from_slice(&8192u64.to_be_bytes());
    h[16..28].copy_from_slice(b"MySQL 5.7.17");
    h[508..512].copy_from_slice(&0x1381_C2B5u32.to_be_bytes());
    h
}

fn hand_checkpoint(no: u64, lsn: u64, offset: u64) -> [u8; 512] {
    let mut c = [0u8; 512];
    c[0..8].copy_from_slice(&no.to_be_bytes());
    c[8..16].copy_from_slice(&lsn.to_be_bytes());
    c[16..24].copy_from_slice(&offset.to_be_bytes());
    c[24..32].copy_from_slice(&(16u64 << 20).to_be_bytes());
    let crc = crc32c(&c[..508]);
    c[508..].copy_from_slice(&crc.to_be_bytes());
    c
}

#[test]
fn file_header_known_answer() {
    let h = hand_header();
    let parsed = LogFileHeader::parse(&h[..512]).unwrap();
    assert_eq!(parsed, LogFileHeader { format: 1, start_lsn: 8192, creator: "MySQL 5.7.17".into() });
    assert_eq!(parsed.encode().as_slice(), &h[..512]);
    let mut bad = h.clone();
    bad[30] = b'x';
    assert!(matches!(LogFileHeader::parse(&bad[..512]), Err(FormatError::BadChecksum { stored: 0x1381_C2B5, .. })));
    let mut v8 = h.clone();
    v8[0..4].copy_from_slice(&3u32.to_be_bytes());
    assert_eq!(LogFileHeader::parse(&v8[..512]), Err(FormatError::UnsupportedRedoFormat { found: 3 }));
    assert!(matches!(LogFileHeader::parse(&h[..511]), Err(FormatError::TooShort { .. })));
}

#[test]
fn checkpoint_known_answer_and_newest() {
    let c = Checkpoint { no: 7, lsn: 0x1234_5678_9ABC, offset: 993_856, log_buf_size: 16 << 20 };
    let enc = c.encode();
    assert_eq!(&enc[508..], &0x1F21_4D1Au32.to_be_bytes());
    assert_eq!(enc, hand_checkpoint(7, 0x1234_5678_9ABC, 993_856));
    assert_eq!(Checkpoint::parse(&enc).unwrap(), c);
    assert_eq!(c.slot_offset(), 1536);

    let mut h = hand_header();
    h[512..1024].copy_from_slice(&hand_checkpoint(8, 9000, 2856));
    h[1536..2048].copy_from_slice(&hand_checkpoint(7, 8800, 2656));
    assert_eq!(newest_checkpoint(&h).unwrap().no, 8);
    h[1536..2048].copy_from_slice(&hand_checkpoint(9, 9500, 3356));
    assert_eq!(newest_checkpoint(&h).unwrap().lsn, 9500);
    // A torn newer slot: fall back to the older one.
    h[1600] ^= 1;
    assert_eq!(newest_checkpoint(&h).unwrap().no, 8);
    h[600] ^= 1;
    assert_eq!(newest_checkpoint(&h), Err(FormatError::NoValidCheckpoint));
    assert!(matches!(newest_checkpoint(&h[..2047]), Err(FormatError::TooShort { .. })));
    // A checksum-valid header of another format (MySQL 8.0 writes 4).
    let mut v8 = hand_header();
    v8[0..4].copy_from_slice(&4u32.to_be_bytes());
    let crc = crc32c(&v8[..508]);
    v8[508..512].copy_from_slice(&crc.to_be_bytes());
    v8[512..1024].copy_from_slice(&hand_checkpoint(8, 9000, 2856));
    assert_eq!(newest_checkpoint(&v8), Err(FormatError::UnsupportedRedoFormat { found: 4 }));
}

#[test]
fn xtrabackup_header() {
    assert_eq!(xtrabackup_creator(2024, 3, 7, 9, 5, 1), "xtrabkup 240307  9:05:01");
    assert_eq!(xtrabackup_creator(2009, 12, 31, 23, 59, 58), "xtrabkup 091231 23:59:58");
    let mut h = hand_header();
    h[512..1024].copy_from_slice(&hand_checkpoint(8, 9000, 2856));
    let out = header_with_creator(&h, "xtrabkup 240307  9:05:01").unwrap();
    assert_eq!(out.len(), 2048);
    assert_eq!(&out[16..40], b"xtrabkup 240307  9:05:01");
    assert!(out[40..48].iter().all(|&b| b == 0));
    assert_eq!(&out[..16], &h[..16]);
    assert_eq!(&out[48..508], &h[48..508]);
    assert_eq!(&out[512..], &h[512..]);
    assert_eq!(be32(&out, 508), crc32c(&out[..508]));
    assert_eq!(LogFileHeader::parse(&out[..512]).unwrap().creator, "xtrabkup 240307  9:05:01");
    // Longer than 32 bytes: cut, no NUL left.
    let long = header_with_creator(&h, &"x".repeat(40)).unwrap();
    assert_eq!(&long[16..48], "x".repeat(32).as_bytes());
    assert_eq!(long[48], 0);
    assert!(header_with_creator(&h[..2000], "a").is_err());
}

// ---------------------------------------------------------------- ring math

#[test]
fn ring_offsets_two_files_of_one_mib() {
    let s = 1u64 << 20;
    let d = s - 2048; // 1_046_528 data bytes per file
    let g = RingGeometry::new(2, s).unwrap();
    assert_eq!(g.capacity(), 2 * d);
    assert_eq!(g.capacity(), 2_093_056);
    assert_eq!(g.real_offset(0), 2048);
    assert_eq!(g.real_offset(d - 1), s - 1);
    assert_eq!(g.real_offset(d), s + 2048);
    assert_eq!(g.real_offset(2 * d - 1), 2 * s - 1);
    assert_eq!(g.size_offset(2048), 0);
    assert_eq!(g.size_offset(s - 1), d - 1);
    assert_eq!(g.size_offset(s + 2048), d);
    assert_eq!(g.size_offset(2 * s - 1), 2 * d - 1);
    // Anchored at the first checkpoint of a fresh server.
    assert_eq!(g.lsn_offset(8192, 8192, 2048), 2048);
    assert_eq!(g.lsn_offset(8192 + 512, 8192, 2048), 2560);
    assert_eq!(g.lsn_offset(8192 + d, 8192, 2048), s + 2048);
    assert_eq!(g.lsn_offset(8192 + 2 * d, 8192, 2048), 2048);
    // Before the anchor: backwards around the ring.
    assert_eq!(g.lsn_offset(8192 - 512, 8192, 2048), 2 * s - 512);
    // Anchor in file 1.
    assert_eq!(g.lsn_offset(1_000_000, 1_000_000 + 5000, s + 7048), s + 2048);
    assert_eq!(g.lsn_offset(1_000_000 - 1, 1_000_000 + 5000, s + 7048), s - 1);

    // A read crossing from file 0 to file 1.
    assert_eq!(
        g.spans(8192 + d - 512, 1024, 8192, 2048),
        vec![Span { file: 0, offset: s - 512, len: 512 }, Span { file: 1, offset: 2048, len: 512 }]
    );
    // A read wrapping from file 1 back to file 0.
    assert_eq!(
        g.spans(8192 + 2 * d - 512, 2048, 8192, 2048),
        vec![Span { file: 1, offset: s - 512, len: 512 }, Span { file: 0, offset: 2048, len: 1536 }]
    );
    // Within one file, and empty.
    assert_eq!(g.spans(8192, 4096, 8192, 2048), vec![Span { file: 0, offset: 2048, len: 4096 }]);
    assert!(g.spans(8192, 0, 8192, 2048).is_empty());
    // Longer than a file: three pieces over three files.
    let g3 = RingGeometry::new(3, s).unwrap();
    let all = g3.spans(8192 + 512, 2 * d + 1024, 8192, 2048);
    assert_eq!(
        all,
        vec![
            Span { file: 0, offset: 2560, len: d - 512 },
            Span { file: 1, offset: 2048, len: d },
            Span { file: 2, offset: 2048, len: 1536 },
        ]
    );
}

#[test]
fn ring_geometry_refusals() {
    assert!(RingGeometry::new(0, 1 << 20).is_err());
    assert!(RingGeometry::new(2, 2048).is_err());
    assert!(RingGeometry::new(2, (1 << 20) + 100).is_err());
    assert!(RingGeometry::new(u32::MAX, u64::MAX - 511).is_err());
    assert!(RingGeometry::new(1, 2560).is_ok());
}

// ---------------------------------------------------------------- MLOG

#[test]
fn compressed_int_boundaries() {
    let cases: &[(u32, &[u8])] = &[
        (0, &[0x00]),
        (0x7F, &[0x7F]),
        (0x80, &[0x80, 0x80]),
        (0x3FFF, &[0xBF, 0xFF]),
        (0x4000, &[0xC0, 0x40, 0x00]),
        (0x1F_FFFF, &[0xDF, 0xFF, 0xFF]),
        (0x20_0000, &[0xE0, 0x20, 0x00, 0x00]),
        (0x0FFF_FFFF, &[0xEF, 0xFF, 0xFF, 0xFF]),
        (0x1000_0000, &[0xF0, 0x10, 0x00, 0x00, 0x00]),
        (0xFFFF_FFFF, &[0xF0, 0xFF, 0xFF, 0xFF, 0xFF]),
    ];
    for &(v, bytes) in cases {
        let mut out = Vec::new();
        write_compressed(&mut out, v);
        assert_eq!(out, bytes, "{v:#x}");
        assert_eq!(read_compressed(bytes), Some((v, bytes.len())), "{v:#x}");
        assert_eq!(read_compressed(&bytes[..bytes.len() - 1]), None, "{v:#x}");
    }
    assert_eq!(read_compressed(&[]), None);
    // u64: compressed high word, raw low word.
    let mut out = Vec::new();
    write_u64_compressed(&mut out, 0x0000_0001_0000_0002);
    assert_eq!(out, [0x01, 0x00, 0x00, 0x00, 0x02]);
    assert_eq!(read_u64_compressed(&out), Some((0x1_0000_0002, 5)));
    let mut out = Vec::new();
    write_u64_compressed(&mut out, 0x8000_0000_0000_00FF);
    assert_eq!(out, [0xF0, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF]);
    assert_eq!(read_u64_compressed(&out[..8]), None);
}

fn dec(b: &[u8]) -> Decoded {
    decode_record(b).unwrap().unwrap()
}

#[test]
fn records_by_hand() {
    let mut out = Vec::new();
    encode_record(&Record::WriteN { space: 0x80, page: 3, offset: 0x0102, width: 4, value: 0x4000 }, false, &mut out);
    assert_eq!(out, [4, 0x80, 0x80, 3, 0x01, 0x02, 0xC0, 0x40, 0x00]);

    let name = Record::FileName { space: 5, page: 0, name: "./test/t1.ibd".into() };
    let mut out = Vec::new();
    encode_record(&name, true, &mut out);
    let mut want = vec![55 | 0x80, 5, 0, 0, 14];
    want.extend_from_slice(b"./test/t1.ibd\0");
    assert_eq!(out, want);
    assert_eq!(dec(&out), Decoded { record: name.clone(), len: want.len(), single: true });

    let cp = Record::Checkpoint { lsn: 0x1122_3344_5566_7788 };
    let mut out = Vec::new();
    encode_record(&cp, true, &mut out); // never flagged single
    assert_eq!(out, [56, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);

    let ws = Record::WriteString { space: 1, page: 2, offset: 0x0F00, data: b"abc".to_vec() };
    let mut out = Vec::new();
    encode_record(&ws, false, &mut out);
    assert_eq!(out, [30, 1, 2, 0x0F, 0x00, 0, 3, b'a', b'b', b'c']);

    let cr = Record::FileCreate { space: 9, page: 0, flags: 0x21, name: "a".into() };
    let mut out = Vec::new();
    encode_record(&cr, false, &mut out);
    assert_eq!(out, [47, 9, 0, 0, 0, 0, 0x21, 0, 2, b'a', 0]);

    let rn = Record::FileRename { space: 9, page: 0, from: "a".into(), to: "bc".into() };
    let mut out = Vec::new();
    encode_record(&rn, false, &mut out);
    assert_eq!(out, [54, 9, 0, 0, 2, b'a', 0, 0, 3, b'b', b'c', 0]);

    let mut out = Vec::new();
    encode_record(&Record::IndexLoad { space: 300, page: 4, index_id: 0x0102 }, false, &mut out);
    assert_eq!(out, [61, 0x81, 0x2C, 4, 0, 0, 0, 0, 0, 0, 1, 2]);
    let mut out = Vec::new();
    encode_record(&Record::Write8 { space: 0, page: 0, offset: 38, value: 7 }, false, &mut out);
    assert_eq!(out, [8, 0, 0, 0, 38, 0, 0, 0, 0, 7]);
    let mut out = Vec::new();
    encode_record(&Record::FileDelete { space: 3, page: 0, name: String::new() }, false, &mut out);
    assert_eq!(out, [35, 3, 0, 0, 1, 0]);
}

#[test]
fn mtr_framing() {
    let a = Record::WriteN { space: 1, page: 2, offset: 3, width: 1, value: 4 };
    let b = Record::IndexLoad { space: 1, page: 2, index_id: 9 };
    assert!(encode_mtr(&[]).is_empty());
    assert_eq!(encode_mtr(std::slice::from_ref(&a)), [0x81, 1, 2, 0, 3, 4]);
    assert_eq!(encode_mtr(&[a.clone(), b.clone()]), [1, 1, 2, 0, 3, 4, 61, 1, 2, 0, 0, 0, 0, 0, 0, 0, 9, 31]);
    assert_eq!(dec(&[31]), Decoded { record: Record::MultiRecEnd, len: 1, single: false });

    let g = encode_checkpoint_group(&[(5, "./d/t.ibd".into()), (6, "./d/u.ibd".into())], 0x2000);
    let mut want = vec![55, 5, 0, 0, 10];
    want.extend_from_slice(b"./d/t.ibd\0");
    want.extend_from_slice(&[55, 6, 0, 0, 10]);
    want.extend_from_slice(b"./d/u.ibd\0");
    want.push(31);
    want.extend_from_slice(&[56, 0, 0, 0, 0, 0, 0, 0x20, 0]);
    assert_eq!(g, want);
    let one = encode_checkpoint_group(&[(5, "x".into())], 1);
    assert_eq!(one, [55 | 0x80, 5, 0, 0, 2, b'x', 0, 56, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(encode_checkpoint_group(&[], 1), [56, 0, 0, 0, 0, 0, 0, 0, 1]);
}

fn malformed(b: &[u8]) -> String {
    match decode_record(b) {
        Err(FormatError::Malformed { detail, .. }) => detail,
        other => panic!("expected Malformed for {b:?}, got {other:?}"),
    }
}

#[test]
fn records_refused() {
    // Types 5.7 does not write: 12, 28 (MLOG_LSN, debug builds only), 33 and 34 (5.6's
    // FILE_CREATE and FILE_RENAME), and anything past 61.
    for ty in [12u8, 28, 33, 34, 62, 99] {
        assert!(malformed(&[ty, 0, 0]).contains(&format!("type {ty} is not a MySQL 5.7")));
        assert!(malformed(&[0x80 | ty, 0, 0]).contains(&ty.to_string()));
    }
    // Value wider than the field.
    malformed(&[1, 0, 0, 0, 0, 0x81, 0x00]);
    malformed(&[2, 0, 0, 0, 0, 0xC1, 0x00, 0x00]);
    assert!(decode_record(&[2, 0, 0, 0, 0, 0xBF, 0xFF]).unwrap().is_some());
    // Names: missing NUL, NUL inside, zero length.
    malformed(&[55, 1, 0, 0, 2, b'a', b'b']);
    malformed(&[55, 1, 0, 0, 3, b'a', 0, 0]);
    malformed(&[55, 1, 0, 0, 0]);
    // Flags the server refuses.
    malformed(&[31 | 0x80]);
    malformed(&[56 | 0x80, 0, 0, 0, 0, 0, 0, 0, 0]);
    // MLOG_WRITE_STRING past 64 KiB.
    malformed(&[30, 0, 0, 0xFF, 0xFF, 0, 2, 1, 2]);
    assert_eq!(decode_record(&[]), Ok(None));
    assert_eq!(decode_record(&[55, 1, 0, 0, 3, b'a']), Ok(None));
}
