//! Hand-computed vectors for the small encodings.

use super::*;

#[test]
fn dense_slot_vectors() {
    assert_eq!(dense_slot(0x7d, false, false), 0x007d);
    assert_eq!(dense_slot(0x7d, true, false), 0x407d);
    assert_eq!(dense_slot(0x3fff, true, true), 0xffff);
    assert_eq!(dense_slot(300, false, true), 0x812c);
}

#[test]
fn mlog_heap_no_vectors() {
    // heap_no 2: (2-1)<<1 = 2; cleared: 3.
    assert_eq!(encode_mlog_heap_no(2, false), vec![0x02]);
    assert_eq!(encode_mlog_heap_no(2, true), vec![0x03]);
    // heap_no 64: 63<<1 = 126, still one byte.
    assert_eq!(encode_mlog_heap_no(64, false), vec![0x7e]);
    // heap_no 65: 64 -> 0x80|64>>7 = 0x80, then (64<<1)&0xff = 0x80.
    assert_eq!(encode_mlog_heap_no(65, false), vec![0x80, 0x80]);
    // heap_no 300, cleared: 299 = 0x12b -> 0x80|2 = 0x82, (0x256|1)&0xff = 0x57.
    assert_eq!(encode_mlog_heap_no(300, true), vec![0x82, 0x57]);
}

fn col(fixed_len: usize, not_null: bool, big: bool) -> ColSpec {
    ColSpec { fixed_len, not_null, big }
}

#[test]
fn fields_vectors() {
    // Clustered leaf: id INT NOT NULL, DB_TRX_ID(6), DB_ROLL_PTR(7),
    // a INT NULL, c CHAR(6) NOT NULL, v VARCHAR(300) NULL, b BLOB NULL.
    let cols = [
        col(4, true, false),
        col(6, true, false),
        col(7, true, false),
        col(4, false, false),
        col(6, true, false),
        col(0, false, true),
        col(0, false, true),
    ];
    let raw = encode_fields(&cols, FieldsTail::ClusteredLeaf { trx_id_pos: 1 });
    // id: sum 4 -> at trx: write 4<<1|1 = 9; trx starts col 1 with 6, +7 = 13;
    // a nullable fixed: write 13<<1|1 = 27, then 4<<1 = 8; c: sum 6;
    // v: write 6<<1|1 = 13, then 0x7e; b: 0x7e; tail: trx col 1.
    assert_eq!(raw, vec![9, 27, 8, 13, 0x7e, 0x7e, 1]);
    let ix = ZipIndex::decode(&raw, true, false).unwrap();
    assert_eq!(ix.trx_id_col, Some(1));
    assert_eq!(ix.n_nullable, 3);
    assert_eq!(ix.fields[1], ZipField { fixed_len: 13, not_null: true, big: false });
    assert_eq!(ix.fields[4], ZipField { fixed_len: 0, not_null: false, big: true });
    // Secondary leaf (a INT NULL, id INT NOT NULL): 8, 9, tail 0.
    let raw = encode_fields(&[col(4, false, false), col(4, true, false)], FieldsTail::SecondaryLeaf);
    assert_eq!(raw, vec![8, 9, 0]);
    assert_eq!(ZipIndex::decode(&raw, true, false).unwrap().trx_id_col, None);
    // Non-leaf: VARCHAR(24) NOT NULL (short), CHAR(200) NOT NULL, 2 nullable in the index.
    let raw = encode_fields(&[col(0, true, false), col(200, true, false)], FieldsTail::NonLeaf { n_nullable: 2 });
    // 200<<1|1 = 401 = 0x191 -> 0x81 0x91.
    assert_eq!(raw, vec![1, 0x81, 0x91, 2]);
    let ix = ZipIndex::decode(&raw, false, false).unwrap();
    assert_eq!(ix.n_nullable, 2);
    assert_eq!(
        ix.fields,
        vec![
            ZipField { fixed_len: 0, not_null: true, big: false },
            ZipField { fixed_len: 200, not_null: true, big: false }
        ]
    );
}

#[test]
fn fields_merge_stops_at_768() {
    let raw = encode_fields(&[col(500, true, false), col(500, true, false)], FieldsTail::SecondaryLeaf);
    // 1001 = 0x3e9 twice, then 0.
    assert_eq!(raw, vec![0x83, 0xe9, 0x83, 0xe9, 0]);
}

#[test]
fn fields_decode_refuses() {
    assert!(ZipIndex::decode(&[], true, false).is_err());
    assert!(ZipIndex::decode(&[9, 5], true, false).is_err()); // trx col 5 >= 1 field
    assert!(ZipIndex::decode(&[8, 0], false, false).is_err()); // 1 nullable > 0
    assert!(ZipIndex::decode(&[9, 0x80], true, false).is_err()); // cut entry
}

/// Empty pages (a new table's root): compressed and decompressed back.
#[test]
fn empty_pages_round_trip() {
    let cols = [col(4, true, false), col(6, true, false), col(7, true, false), col(0, false, true)];
    let tails = [
        (FieldsTail::ClusteredLeaf { trx_id_pos: 1 }, 0u8),
        (FieldsTail::SecondaryLeaf, 0),
        (FieldsTail::NonLeaf { n_nullable: 1 }, 1),
    ];
    for logical in [4096, 8192, 16384] {
        for zip_size in [1024, 2048, 4096, 8192, 16384].into_iter().filter(|&z| z <= logical) {
            for (tail, level) in tails {
                let mut frame = vec![0u8; logical];
                crate::restore::prepare::index::create(&mut frame, true);
                frame[8..16].copy_from_slice(&[0xff; 8]);
                frame[crate::restore::prepare::index::PAGE_LEVEL + 1] = level;
                let n = if level == 0 { cols.len() } else { 1 };
                let ix = ZipIndex::decode(&encode_fields(&cols[..n], tail), level == 0, false).unwrap();
                let zip = compress(&frame, &ix, zip_size, 6).unwrap().unwrap();
                let u = decompress_full(&zip, logical).unwrap();
                assert!(u.frame == frame, "{logical} {zip_size} {tail:?}");
                assert_eq!(u.index, ix);
                assert!(!u.mlog_nonempty());
            }
        }
    }
}

/// A frame whose records cannot fit is refused with None, a broken one with
/// an error saying where.
#[test]
fn refusals() {
    let mut frame = vec![0u8; 16384];
    crate::restore::prepare::index::create(&mut frame, true);
    let ix = ZipIndex::decode(&encode_fields(&[col(4, true, false)], FieldsTail::SecondaryLeaf), true, false).unwrap();
    // 600 heap records cannot have 2-byte entries in a 1 KiB page.
    let mut big = frame.clone();
    big[crate::restore::prepare::index::PAGE_N_HEAP..][..2].copy_from_slice(&(0x8000u16 | 602).to_be_bytes());
    assert_eq!(compress(&big, &ix, 1024, 6), Ok(None));
    // A broken infimum.
    let mut bad = frame.clone();
    bad[100] = b'X';
    assert!(matches!(compress(&bad, &ix, 1024, 6), Err(ZipError::Frame { offset: 99, .. })));
    // Not an index page.
    let mut other = frame.clone();
    other[24..26].copy_from_slice(&2u16.to_be_bytes());
    assert_eq!(compress(&other, &ix, 1024, 6), Err(ZipError::NotIndex(2)));
    assert!(matches!(decompress(&other[..1024], 16384), Err(ZipError::NotIndex(2))));
    assert!(matches!(decompress(&frame[..1000], 16384), Err(ZipError::Size(_))));
}
