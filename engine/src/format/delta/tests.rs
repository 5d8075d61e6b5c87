//! Vectors, refusals and round trips for incremental deltas.

use super::*;
use crate::format::page::{new_page, PAGE_TYPE_INDEX};
use proptest::prelude::*;

/// A page of `size` bytes filled with `fill`: the format does not look inside.
fn filled(size: usize, fill: u8) -> Vec<u8> {
    vec![fill; size]
}

fn pages<'a>(nos: &[u32], bytes: &'a [Vec<u8>]) -> Vec<DeltaPage<'a>> {
    nos.iter().zip(bytes).map(|(&page_no, page)| DeltaPage { page_no, page }).collect()
}

fn err(r: Result<impl std::fmt::Debug, FormatError>) -> String {
    r.expect_err("should be refused").to_string()
}

#[test]
fn a_three_page_delta_is_laid_out_byte_for_byte() {
    let bytes = [filled(4096, 0xA1), filled(4096, 0xB2), filled(4096, 0xC3)];
    let delta = encode(4096, &pages(&[0, 7, 0x0102_0304], &bytes)).unwrap();
    let mut want = vec![
        0x58, 0x54, 0x52, 0x41, // "XTRA": the only block is the last
        0x00, 0x00, 0x00, 0x00, // page 0
        0x00, 0x00, 0x00, 0x07, // page 7
        0x01, 0x02, 0x03, 0x04, // page 0x01020304
        0xFF, 0xFF, 0xFF, 0xFF, // end of the list: the block holds 1023
    ];
    want.resize(4096, 0);
    want.extend(std::iter::repeat_n(0xA1, 4096));
    want.extend(std::iter::repeat_n(0xB2, 4096));
    want.extend(std::iter::repeat_n(0xC3, 4096));
    assert_eq!(delta.len(), 4 * 4096);
    assert_eq!(delta, want);
    assert_eq!(decode(4096, &want).unwrap(), pages(&[0, 7, 0x0102_0304], &bytes));
}

#[test]
fn an_empty_delta_is_one_header_page() {
    // Byte for byte mariabackup 10.11's ibdata1.delta of an idle server.
    let mut want = vec![0x58, 0x54, 0x52, 0x41, 0xFF, 0xFF, 0xFF, 0xFF];
    want.resize(16384, 0);
    assert_eq!(encode(16384, &[]).unwrap(), want);
    assert_eq!(decode(16384, &want).unwrap(), vec![]);
}

#[test]
fn a_block_holds_page_size_over_4_minus_1_pages_and_only_the_last_may_hold_fewer() {
    // 1 KiB pages: 256 header slots, the first the magic, so 255 pages a block.
    assert_eq!(pages_per_block(1024), 255);
    assert_eq!(pages_per_block(16384), 4095);
    let bytes: Vec<Vec<u8>> = (0..510).map(|i| filled(1024, i as u8)).collect();
    let nos: Vec<u32> = (0..510).map(|i| 3 * i + 1).collect();

    // Exactly 255: one full last block, no end mark, the last slot a page.
    let d = encode(1024, &pages(&nos[..255], &bytes)).unwrap();
    assert_eq!(d.len(), 256 * 1024);
    assert_eq!(d[..8], [0x58, 0x54, 0x52, 0x41, 0, 0, 0, 1]);
    assert_eq!(d[1020..1024], 763u32.to_be_bytes(), "slot 255 holds page 3 * 254 + 1");
    assert_eq!(d[1024..2048], bytes[0][..]);

    // 256: a full "xtra" block, then a last block of one page and the end mark.
    let d = encode(1024, &pages(&nos[..256], &bytes)).unwrap();
    assert_eq!(d.len(), (256 + 2) * 1024);
    assert_eq!(d[..4], *b"xtra");
    let second = 256 * 1024;
    let mut head = vec![0x58, 0x54, 0x52, 0x41, 0, 0, 0x02, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF];
    head.resize(1024, 0);
    assert_eq!(d[second..second + 1024], head[..], "page 766, then the end mark");
    assert_eq!(decode(1024, &d).unwrap(), pages(&nos[..256], &bytes));

    // 510, two full blocks: "xtra" then "XTRA", neither with an end mark.
    let d = encode(1024, &pages(&nos, &bytes)).unwrap();
    assert_eq!(d.len(), 512 * 1024);
    assert_eq!((&d[..4], &d[second..second + 4]), (&b"xtra"[..], &b"XTRA"[..]));
    assert!(d[second + 4..second + 1024].chunks(4).all(|s| s != [0xFF; 4]));
    assert_eq!(decode(1024, &d).unwrap(), pages(&nos, &bytes));
}

#[test]
fn the_writer_refuses_what_the_reader_could_not_read() {
    let p = filled(1024, 1);
    let e = err(encode(1024, &[DeltaPage { page_no: 1, page: &p[..1000] }]));
    assert!(e.contains("page 1 is 1000 bytes, not 1024"), "{e}");
    let e = err(encode(1024, &[DeltaPage { page_no: 5, page: &p }, DeltaPage { page_no: 5, page: &p }]));
    assert!(e.contains("page 5 comes after page 5"), "{e}");
    assert!(encode(1024, &[DeltaPage { page_no: 5, page: &p }, DeltaPage { page_no: 4, page: &p }]).is_err());
    assert!(encode(1024, &[DeltaPage { page_no: END_OF_LIST, page: &p }]).is_err());
    for size in [0, 512, 1000, 3072, 131072] {
        assert!(encode(size, &[]).is_err(), "page size {size}");
    }
    let full: Vec<u32> = (0..255).collect();
    assert!(block_header(1024, &full, false).is_ok());
    assert!(err(block_header(1024, &full[..254], false)).contains("all but the last are full"));
    assert!(block_header(1024, &(0..256).collect::<Vec<u32>>(), true).is_err());
    assert!(block_header(1024, &[2, 1], true).is_err());
}

/// A 1 KiB-page delta of `n` pages numbered 10, 20, ...
fn sample(n: u32) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = (0..n).map(|i| filled(1024, i as u8)).collect();
    let nos: Vec<u32> = (1..=n).map(|i| 10 * i).collect();
    encode(1024, &pages(&nos, &bytes)).unwrap()
}

#[test]
fn decoding_refuses_damage_and_names_the_byte() {
    let mut d = sample(3);
    d[0] = b'Y';
    assert!(err(decode(1024, &d)).contains("block header at byte 0: magic 0x59545241"));

    let mut d = sample(3);
    d[8..12].copy_from_slice(&10u32.to_be_bytes());
    assert!(err(decode(1024, &d)).contains("byte 8: page 10 is listed twice"));
    d[8..12].copy_from_slice(&5u32.to_be_bytes());
    assert!(err(decode(1024, &d)).contains("byte 8: page 5 comes after page 10"));

    let mut d = sample(3);
    d[30] = 1;
    assert!(err(decode(1024, &d)).contains("byte 30: 0x01 after the page list's end mark at byte 16"));

    let mut d = sample(3);
    d[..4].copy_from_slice(b"xtra");
    assert!(err(decode(1024, &d)).contains("block at byte 0 is marked \"xtra\" (more follow) but lists 3 pages"));

    // Across blocks: the second block's first page must follow the first block's last.
    let mut d = sample(256);
    let second = 256 * 1024;
    d[second + 4..second + 8].copy_from_slice(&2550u32.to_be_bytes());
    assert!(err(decode(1024, &d)).contains(&format!("byte {}: page 2550 is listed twice", second + 4)));
    let mut d = sample(256);
    d[second..second + 4].copy_from_slice(b"ZZZZ");
    assert!(err(decode(1024, &d)).contains(&format!("block header at byte {second}: magic")));

    // An empty "XTRA" block after full ones: mariabackup's writer never makes one.
    let mut d = sample(255);
    d[..4].copy_from_slice(b"xtra");
    d.extend(encode(1024, &[]).unwrap());
    assert!(err(decode(1024, &d)).contains("an empty last block after full ones"));
}

#[test]
fn decoding_refuses_a_file_cut_short_or_too_long() {
    assert!(err(decode(1024, &[])).contains("the file is empty"));
    let d = sample(3);
    for cut in 1..d.len() {
        let e = err(decode(1024, &d[..cut]));
        assert!(e.contains("cut short"), "cut at {cut}: {e}");
    }
    assert!(err(decode(1024, &d[..1500]))
        .contains("lists 3 pages (3072 bytes from byte 1024) but the file ends at byte 1500"));
    let mut long = d.clone();
    long.push(0);
    assert!(err(decode(1024, &long)).contains("1 bytes after the last block (\"XTRA\"), from byte 4096"));
    let mut open = sample(255);
    open[..4].copy_from_slice(b"xtra");
    assert!(err(decode(1024, &open)).contains("the file ends at byte 262144, after a block marked \"xtra\""));
    assert!(decode(1000, &d).is_err() && decode(2048, &d).is_err());
}

#[test]
fn pages_at_or_after_from_lsn_are_changed_and_zero_pages_never() {
    let mut scan = Vec::new();
    for (no, lsn) in [(40u32, 99u64), (41, 100), (42, 101), (43, 0)] {
        scan.extend(new_page(4096, 7, no, PAGE_TYPE_INDEX, lsn));
    }
    scan.extend(vec![0u8; 4096]); // page 44: allocated, never written
    let got: Vec<u32> = changed_pages(&scan, 4096, 40, 100).unwrap().iter().map(|p| p.page_no).collect();
    assert_eq!(got, [41, 42], "LSN 100 == from_lsn is taken (PXB-1824), 99 is not");
    assert_eq!(changed_pages(&scan, 4096, 40, 100).unwrap()[0].page, &scan[4096..8192]);
    let all: Vec<u32> = changed_pages(&scan, 4096, 40, 0).unwrap().iter().map(|p| p.page_no).collect();
    assert_eq!(all, [40, 41, 42, 43], "from LSN 0 every written page, the zero page still not");
    assert!(changed_pages(&scan, 4096, 40, 102).unwrap().is_empty());
    assert!(err(changed_pages(&scan[..5000], 4096, 0, 1)).contains("5000 bytes are not whole pages"));
    assert!(changed_pages(&scan[..8192], 4096, u32::MAX - 1, 1).is_err(), "page 0xFFFFFFFF does not exist");
    assert!(changed_pages(&scan[..4096], 4096, u32::MAX - 1, 1).is_ok());
    assert!(changed_pages(&[], 4096, 0, 1).unwrap().is_empty());
}

#[test]
fn the_meta_is_written_byte_for_byte_as_mariabackup_does() {
    // The bytes of mariabackup 10.11.19's d/t16.ibd.meta and d/tz.ibd.meta
    // (ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8 on 16 KiB pages).
    let plain = DeltaMeta::for_layout(PageLayout::full_crc32(16384), 10);
    assert_eq!(encode_meta(&plain), "page_size = 16384\nzip_size = 0 \nspace_id = 10\n");
    let zip = DeltaMeta::for_layout(PageLayout::row_compressed(8192, 16384), 9);
    assert_eq!(zip, DeltaMeta { page_size: 8192, zip_size: 8192, space_id: 9 });
    assert_eq!(encode_meta(&zip), "page_size = 8192\nzip_size = 8192 \nspace_id = 9\n");
    assert_eq!(encode_meta(&zip).len(), 47);
    assert_eq!(parse_meta(&encode_meta(&plain)), Ok(plain));
    assert_eq!(parse_meta(&encode_meta(&zip)), Ok(zip));
}

#[test]
fn the_meta_parser_reads_what_mariabackup_reads() {
    let want = DeltaMeta { page_size: 4096, zip_size: 0, space_id: 4_000_000_000 };
    for text in [
        "space_id=4000000000\nzip_size=0\npage_size=4096",
        "\n page_size   =  4096 \r\nzip_size = 0\r\n\nspace_id = 4000000000\r\n",
        "page_size = 4096\nzip_size = 0\nspace_id = 4000000000\nspace_flags = 33\n",
    ] {
        assert_eq!(parse_meta(text), Ok(want), "{text:?}");
    }
    assert_eq!(
        parse_meta("page_size = 1024\nzip_size = 1024\nspace_id = 0\n"),
        Ok(DeltaMeta { page_size: 1024, zip_size: 1024, space_id: 0 })
    );
}

#[test]
fn the_meta_parser_refuses_missing_keys_and_sizes_no_tablespace_has() {
    let refusals = [
        ("zip_size = 0\nspace_id = 1\n", "no page_size line"),
        ("page_size = 16384\nspace_id = 1\n", "no zip_size line"),
        ("page_size = 16384\nzip_size = 0\n", "no space_id line"),
        ("page_size = 16384\npage_size = 16384\nzip_size = 0\nspace_id = 1\n", "line 2: page_size is given twice"),
        ("page_size 16384\nzip_size = 0\nspace_id = 1\n", "line 1 (\"page_size 16384\") is not `key = value`"),
        ("page_size = 16k\nzip_size = 0\nspace_id = 1\n", "is not a decimal number"),
        ("page_size = -1\nzip_size = 0\nspace_id = 1\n", "is not a decimal number"),
        ("page_size = +4096\nzip_size = 0\nspace_id = 1\n", "is not a decimal number"),
        ("page_size = 16384\nzip_size = 0\nspace_id = 4294967296\n", "below 2^32"),
        ("page_size = 16384\nzip_size = 0\nspace_id =\n", "is not a decimal number"),
        ("page_size = 16383\nzip_size = 0\nspace_id = 1\n", "page_size 16383 is no page size"),
        ("page_size = 131072\nzip_size = 0\nspace_id = 1\n", "is no page size"),
        ("page_size = 512\nzip_size = 512\nspace_id = 1\n", "is no page size"),
        ("page_size = 2048\nzip_size = 0\nspace_id = 1\n", "page_size 2048 with zip_size 0"),
        ("page_size = 16384\nzip_size = 8192\nspace_id = 1\n", "page_size 16384 with zip_size 8192"),
        ("page_size = 32768\nzip_size = 32768\nspace_id = 1\n", "with zip_size 32768"),
    ];
    for (text, want) in refusals {
        let e = err(parse_meta(text));
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

/// Page numbers ascending and distinct, `n` of them, none END_OF_LIST.
fn ascending(n: usize) -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::btree_set(0u32..END_OF_LIST, n).prop_map(|s| s.into_iter().collect())
}

/// A page count around the block boundaries of `page_size`: none, one,
/// a block less one, a block, a block and one, two blocks, or any up to three.
fn count(page_size: usize) -> impl Strategy<Value = usize> {
    let b = pages_per_block(page_size);
    prop_oneof![Just(0), Just(1), Just(b - 1), Just(b), Just(b + 1), Just(2 * b), Just(2 * b + 1), 0..3 * b]
}

fn page_set() -> impl Strategy<Value = (usize, Vec<u32>, u8)> {
    prop_oneof![Just(1024usize), Just(2048), Just(4096)]
        .prop_flat_map(|size| (Just(size), count(size)))
        .prop_flat_map(|(size, n)| (Just(size), ascending(n), any::<u8>()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn deltas_round_trip((size, nos, seed) in page_set()) {
        let bytes: Vec<Vec<u8>> = (0..nos.len()).map(|i| filled(size, seed.wrapping_add(i as u8))).collect();
        let want = pages(&nos, &bytes);
        let d = encode(size, &want).unwrap();
        let blocks = nos.len().div_ceil(pages_per_block(size)).max(1);
        prop_assert_eq!(d.len(), (nos.len() + blocks) * size);
        prop_assert_eq!(decode(size, &d).unwrap(), want);
    }

    #[test]
    fn whatever_decodes_encodes_back_to_the_same_bytes(
        n in prop_oneof![Just(0u32), Just(3), Just(255), Just(256)],
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut d = sample(n);
        for (at, byte) in flips {
            // Mostly the headers, where the structure is.
            let at = if at % 2 == 0 { at % 1024 } else { at % d.len() };
            d[at] = byte;
        }
        if cut % 3 == 0 {
            d.truncate(cut % (d.len() + 1));
        }
        if let Ok(p) = decode(1024, &d) {
            prop_assert_eq!(encode(1024, &p).unwrap(), d);
        }
    }

    #[test]
    fn hostile_bytes_never_panic(head in prop_oneof![Just(MAGIC_LAST), Just(MAGIC_MORE), any::<u32>()],
                                 bytes in proptest::collection::vec(any::<u8>(), 0..3000),
                                 size in prop_oneof![Just(1024usize), Just(2048), Just(1000), Just(0)]) {
        let mut d = head.to_be_bytes().to_vec();
        d.extend(bytes);
        let _ = decode(size, &d);
        let _ = changed_pages(&d, size, 0, 5);
        if d.len() >= 1024 {
            let _ = parse_block_header(&d[..1024], 0, Some(7));
        }
    }

    #[test]
    fn metas_round_trip(size in prop_oneof![Just(4096usize), Just(16384), Just(65536)],
                        zip in prop_oneof![Just(0usize), Just(1024), Just(8192), Just(16384)],
                        space_id: u32) {
        let meta = if zip == 0 {
            DeltaMeta { page_size: size, zip_size: 0, space_id }
        } else {
            DeltaMeta { page_size: zip, zip_size: zip, space_id }
        };
        prop_assert_eq!(parse_meta(&encode_meta(&meta)), Ok(meta));
    }

    #[test]
    fn any_meta_text_never_panics(text in "[ -~\n\r]{0,120}") {
        let _ = parse_meta(&text);
    }
}
