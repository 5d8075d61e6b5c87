//! innodb_page_size 4k, 8k, 32k, 64k; ROW_FORMAT=COMPRESSED; PAGE_COMPRESSED
//! with every algorithm (full_crc32 and crc32 layouts).

use super::harness::*;
use innohot_testbeds::{binaries_or_skip, roundtrip};
use mysql::prelude::Queryable;
use std::time::Duration;

fn page_size_round_trip(size: &str) {
    let Some(b) = binaries_or_skip() else { return };
    let opt = format!("--innodb-page-size={size}");
    let mut src = start_source(&b, &[&opt]);
    let mut c = src.conn().unwrap();
    let got: Option<u64> = c.query_first("SELECT @@innodb_page_size").unwrap();
    let bytes = size.trim_end_matches('k').parse::<u64>().unwrap() * 1024;
    assert_eq!(got, Some(bytes), "the server did not take {opt}");
    rows_table(&mut c, "ps", "t1", "", "", 3000);
    rows_table(&mut c, "ps", "t2", ", KEY kv (k, v)", "", 3000);
    let targets = vec![Target::Rows(q("ps", "t1")), Target::Rows(q("ps", "t2"))];
    let r = Restore { expect_tables: vec!["ps.t1".into(), "ps.t2".into()], ..Default::default() };
    round_trip(&mut src, targets, vec![], &r);
}

#[test]
fn page_size_4k_round_trip() {
    page_size_round_trip("4k");
}

#[test]
fn page_size_8k_round_trip() {
    page_size_round_trip("8k");
}

#[test]
fn page_size_32k_round_trip() {
    page_size_round_trip("32k");
}

#[test]
fn page_size_64k_round_trip() {
    page_size_round_trip("64k");
}

// 2 and 3. ROW_FORMAT=COMPRESSED, PAGE_COMPRESSED

/// zip_ssize of the tablespace flags (bits 1..4): 1 = 1k ... 5 = 16k.
fn zip_ssize(flags: u32) -> u32 {
    (flags >> 1) & 0xf
}

/// ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE 1, 2, 4, 8 and PAGE_COMPRESSED with
/// every algorithm, on one default (16k, full_crc32) server.
#[test]
fn zip_kbs_1_2_4_8_and_page_compressed_full_crc32_all_algorithms_round_trip() {
    let Some(b) = binaries_or_skip() else { return };
    let mut src = start_source(&b, &PROVIDERS);
    let mut c = src.conn().unwrap();
    let mut targets = Vec::new();
    let mut expect = Vec::new();
    for kbs in [1u32, 2, 4, 8] {
        let t = format!("zip{kbs}");
        rows_table(&mut c, "fmt", &t, "", &format!("ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE={kbs}"), 2000);
        targets.push(Target::Rows(q("fmt", &t)));
        expect.push(format!("fmt.{t}"));
    }
    for (algo, _) in ALGORITHMS {
        // full_crc32 keeps the algorithm in the tablespace flags, fixed at CREATE.
        exec(&mut c, &format!("SET GLOBAL innodb_compression_algorithm = {algo}"));
        let t = format!("pc_{algo}");
        rows_table(&mut c, "fmt", &t, "", "PAGE_COMPRESSED=1", 2000);
        targets.push(Target::Rows(q("fmt", &t)));
        expect.push(format!("fmt.{t}"));
    }
    roundtrip::flush_dirty_pages(&mut c, Duration::from_secs(60)).unwrap();
    // The files really are of the kinds this test is about.
    for kbs in [1u32, 2, 4, 8] {
        let (_, flags) = page_header(&src.datadir().join(format!("fmt/zip{kbs}.ibd")), kbs as u64 * 1024, 0);
        assert_eq!(zip_ssize(flags), kbs.trailing_zeros() + 1, "zip{kbs}: flags {flags:#x}");
    }
    for (algo, n) in ALGORITHMS {
        let (h, flags) = page_header(&src.datadir().join(format!("fmt/pc_{algo}.ibd")), 16384, 3);
        assert!(flags & 0x10 != 0 && u64::from((flags >> 5) & 7) == n, "pc_{algo}: flags {flags:#x}");
        assert!(be16(&h, 24) & 0x8000 != 0, "pc_{algo}: page 3 is not page_compressed (type {:#x})", be16(&h, 24));
    }
    let r = Restore { expect_tables: expect, ..Default::default() };
    round_trip(&mut src, targets, vec![], &r);
}

/// ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=16 on a 16k server (flags 0x2b).
#[test]
fn zip_kbs_16_round_trip() {
    let Some(b) = binaries_or_skip() else { return };
    let mut src = start_source(&b, &[]);
    let mut c = src.conn().unwrap();
    rows_table(&mut c, "fmt", "zip16", "", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=16", 3000);
    rows_table(&mut c, "fmt", "zip16b", ", KEY kv (k, v)", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=16", 3000);
    roundtrip::flush_dirty_pages(&mut c, Duration::from_secs(60)).unwrap();
    let (_, flags) = page_header(&src.datadir().join("fmt/zip16.ibd"), 16384, 0);
    assert_eq!(zip_ssize(flags), 5, "flags {flags:#x}");
    let targets = vec![Target::Rows(q("fmt", "zip16")), Target::Rows(q("fmt", "zip16b"))];
    let r = Restore { expect_tables: vec!["fmt.zip16".into(), "fmt.zip16b".into()], ..Default::default() };
    round_trip(&mut src, targets, vec![], &r);
}

/// PAGE_COMPRESSED on a crc32 server: each page carries the algorithm that
/// was the global one when the page was written; every algorithm is on disk
/// at the start of the backup, and the writers keep switching it.
#[test]
fn page_compressed_crc32_all_algorithms_round_trip() {
    let Some(b) = binaries_or_skip() else { return };
    let mut opts = vec!["--innodb-checksum-algorithm=crc32"];
    opts.extend(PROVIDERS);
    let mut src = start_source(&b, &opts);
    let mut c = src.conn().unwrap();
    let mut targets = Vec::new();
    let mut expect = Vec::new();
    for (algo, _) in ALGORITHMS {
        exec(&mut c, &format!("SET GLOBAL innodb_compression_algorithm = {algo}"));
        let t = format!("pc_{algo}");
        rows_table(&mut c, "pcc", &t, "", "PAGE_COMPRESSED=1", 2000);
        roundtrip::flush_dirty_pages(&mut c, Duration::from_secs(60)).unwrap();
        targets.push(Target::Rows(q("pcc", &t)));
        expect.push(format!("pcc.{t}"));
    }
    for (algo, n) in ALGORITHMS {
        let (h, flags) = page_header(&src.datadir().join(format!("pcc/pc_{algo}.ibd")), 16384, 3);
        assert!(flags & 0x10 == 0 && flags & (1 << 16) != 0, "pc_{algo}: flags {flags:#x}");
        assert_eq!(be16(&h, 24), 0x8632, "pc_{algo}: page 3 is not page_compressed");
        assert_eq!(u64::from_be_bytes(h[26..34].try_into().unwrap()), n, "pc_{algo}: page 3's algorithm");
    }
    let side = ALGORITHMS.iter().map(|(a, _)| format!("SET GLOBAL innodb_compression_algorithm = {a}")).collect();
    let r = Restore { expect_tables: expect, ..Default::default() };
    round_trip(&mut src, targets, side, &r);
}
