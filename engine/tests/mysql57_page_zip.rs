//! MySQL 5.7 ROW_FORMAT=COMPRESSED pages: every index page of the real
//! tablespaces in fixtures/mysql57-zip/ (made by
//! scripts/make-mysql57-zip-fixture.sh with MySQL 5.7.41) decompresses to a
//! consistent frame, and compress(decompress(page)) decompresses to the
//! same frame. Random and flipped bytes never make either panic.
#![allow(clippy::disallowed_methods)] // tests read fixture files directly; the io-layer rule is for engine code

use innohot::format::mysql57::page_zip::{compress, decompress, decompress_full, record_layout, Unzipped, ZipError};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

const INFIMUM: usize = 99;
const SUPREMUM: usize = 112;

/// (file, KEY_BLOCK_SIZE, innodb_page_size)
const FIXTURES: &[(&str, usize, usize)] = &[
    ("kbs1.ibd", 1024, 16384),
    ("kbs2.ibd", 2048, 16384),
    ("kbs4.ibd", 4096, 16384),
    ("kbs8.ibd", 8192, 16384),
    ("kbs16.ibd", 16384, 16384),
    ("p8k_kbs4.ibd", 4096, 8192),
    ("rtree4.ibd", 4096, 16384),
];

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql57-zip").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn be16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_be_bytes([b[at], b[at + 1]]))
}

fn is_index(p: &[u8]) -> bool {
    matches!(be16(p, 24), 17855 | 17854)
}

fn next(f: &[u8], rec: usize) -> usize {
    (rec + be16(f, rec - 2)) % 65536
}

#[derive(Default, Debug)]
struct Seen {
    user: usize,
    free: usize,
    deleted: usize,
}

/// The checks a frame must pass: record list, owned counts and sparse
/// directory, heap numbers, free list.
fn check_frame(f: &[u8], ctx: &str) -> Seen {
    let size = f.len();
    let n_heap = be16(f, 42) & 0x7fff;
    let (n_recs, n_slots) = (be16(f, 54), be16(f, 38));
    let mut heaps = BTreeSet::new();
    let mut seen = Seen::default();
    let mut owners = vec![INFIMUM];
    let (mut rec, mut owned_sum) = (INFIMUM, usize::from(f[INFIMUM - 5] & 15));
    loop {
        rec = next(f, rec);
        if rec == SUPREMUM {
            break;
        }
        if rec < 125 || rec >= size || seen.user > n_recs {
            panic!("{ctx}: bad record list at {rec}");
        }
        seen.user += 1;
        seen.deleted += usize::from(f[rec - 5] & 0x20 != 0);
        let owned = usize::from(f[rec - 5] & 15);
        if owned != 0 {
            owners.push(rec);
        }
        owned_sum += owned;
        if !heaps.insert(be16(f, rec - 4) >> 3) {
            panic!("{ctx}: heap_no of {rec} twice");
        }
    }
    owners.push(SUPREMUM);
    owned_sum += usize::from(f[SUPREMUM - 5] & 15);
    if seen.user != n_recs || owned_sum != n_recs + 2 {
        panic!("{ctx}: {} records, owned sum {owned_sum}, PAGE_N_RECS {n_recs}", seen.user);
    }
    let slots: Vec<usize> = (0..n_slots).map(|i| be16(f, size - 8 - 2 * (i + 1))).collect();
    if slots != owners {
        panic!("{ctx}: sparse directory {slots:?} but owners {owners:?}");
    }
    let mut rec = be16(f, 44);
    while rec != 0 {
        if seen.free > n_heap || rec < 125 || rec >= size {
            panic!("{ctx}: bad free list at {rec}");
        }
        seen.free += 1;
        if !heaps.insert(be16(f, rec - 4) >> 3) {
            panic!("{ctx}: heap_no of free {rec} twice");
        }
        rec = if be16(f, rec - 2) == 0 { 0 } else { next(f, rec) };
    }
    if heaps != (2..n_heap).collect::<BTreeSet<_>>() {
        panic!("{ctx}: heap numbers {heaps:?}, PAGE_N_HEAP {n_heap}");
    }
    seen
}

/// The columns stored uncompressed are back in place: every user record of
/// a clustered leaf page has a DB_TRX_ID and a DB_ROLL_PTR, every BLOB
/// pointer names this tablespace and a page in it, every child page number
/// is a page of this tablespace.
fn check_uncompressed_columns(u: &Unzipped, ctx: &str) {
    let f = &u.frame;
    let space = &f[34..38];
    let mut rec = next(f, INFIMUM);
    while rec != SUPREMUM {
        let lay = record_layout(f, rec, &u.index).unwrap_or_else(|| panic!("{ctx}: record {rec} unreadable"));
        if let Some(c) = u.index.trx_id_col {
            let at = rec + lay.fields[c].start;
            if f[at..at + 6] == [0; 6] || f[at + 6..at + 13] == [0; 7] {
                panic!("{ctx}: record {rec}: DB_TRX_ID/DB_ROLL_PTR {:02x?}", &f[at..at + 13]);
            }
        }
        for fl in lay.fields.iter().filter(|fl| fl.ext) {
            let r = rec + fl.start + fl.len - 20;
            if &f[r..r + 4] != space || f[r + 4..r + 8] == [0; 4] {
                panic!("{ctx}: record {rec}: BLOB pointer {:02x?}", &f[r..r + 20]);
            }
        }
        if !u.index.leaf {
            let child = u32::from_be_bytes(f[rec + lay.data - 4..rec + lay.data].try_into().unwrap());
            if !(3..=100_000).contains(&child) {
                panic!("{ctx}: record {rec}: child page {child}");
            }
        }
        rec = next(f, rec);
    }
}

#[derive(Default, Debug)]
struct Figures {
    pages: usize,
    mlog: usize,
    non_leaf: usize,
    clustered_leaf: usize,
    blobs: usize,
    free_recs: usize,
    deleted: usize,
    rtree: usize,
    rtree_non_leaf: usize,
    logged_writes: usize,
    logged_clears: usize,
    roundtrip: usize,
    not_fitting: usize,
}

/// Free bytes of a compressed page between its modification log's end
/// marker and its uncompressed trailer.
fn slack(u: &Unzipped, zip_size: usize) -> usize {
    let n_dense = (be16(&u.frame, 42) & 0x7fff) - 2;
    let per = match (u.index.leaf, u.index.trx_id_col) {
        (false, _) => 6,
        (true, None) => 2,
        (true, Some(_)) => 15,
    };
    zip_size - (u.m_end + 1) - n_dense * per - 20 * u.n_blobs
}

fn run_fixture(name: &str, zip_size: usize, logical: usize) -> Figures {
    let data = fixture(name);
    let mut fig = Figures::default();
    for (no, page) in data.chunks_exact(zip_size).enumerate() {
        if !is_index(page) {
            continue;
        }
        let u = decompress_full(page, logical).unwrap_or_else(|e| panic!("{name} page {no}: {e}"));
        let ctx = format!("{name} page {no}");
        let seen = check_frame(&u.frame, &ctx);
        check_uncompressed_columns(&u, &ctx);
        fig.pages += 1;
        fig.mlog += usize::from(u.mlog_nonempty());
        fig.non_leaf += usize::from(!u.index.leaf);
        fig.rtree += usize::from(be16(page, 24) == 17854);
        fig.rtree_non_leaf += usize::from(be16(page, 24) == 17854 && !u.index.leaf);
        fig.clustered_leaf += usize::from(u.index.trx_id_col.is_some());
        fig.blobs += u.n_blobs;
        fig.logged_writes += u.log.written;
        fig.logged_clears += u.log.cleared;
        fig.free_recs += seen.free;
        fig.deleted += seen.deleted;
        // Our deflate is not the server's: a page the server filled may not fit
        // again at its level, and then compress tries level 9 by itself (level 1
        // makes that happen on the fixtures' fuller pages).
        let at =
            |level| compress(&u.frame, &u.index, zip_size, level).unwrap_or_else(|e| panic!("{name} page {no}: {e}"));
        let (z, at_9) = (at(6), at(9));
        assert!(at(1).is_some() || at_9.is_none(), "{name} page {no}: fits at level 9 but compress(1) gives up");
        match z {
            Some(z) => {
                let again = decompress_full(&z, logical).unwrap_or_else(|e| panic!("{name} page {no} again: {e}"));
                assert!(again.frame == u.frame, "{name} page {no}: the round trip changes the frame");
                assert!(!again.mlog_nonempty());
                assert_eq!(again.index, u.index);
                fig.roundtrip += 1;
            }
            None => {
                // Only a page the server had (nearly) filled may not fit again.
                let slack = slack(&u, zip_size);
                assert!(slack < 64, "{name} page {no}: does not fit again though {slack} bytes were free");
                fig.not_fitting += 1
            }
        }
    }
    fig
}

#[test]
fn fixtures_decompress_consistently_and_round_trip() {
    let mut total = Figures::default();
    for &(name, zip_size, logical) in FIXTURES {
        let f = run_fixture(name, zip_size, logical);
        eprintln!("{name}: {f:?}");
        assert!(f.pages >= 5, "{name}: only {} index pages", f.pages);
        assert!(f.non_leaf >= 1, "{name}: no node-pointer page");
        assert!(f.not_fitting * 10 <= f.pages, "{name}: {} pages do not fit again", f.not_fitting);
        total.pages += f.pages;
        total.roundtrip += f.roundtrip;
        total.not_fitting += f.not_fitting;
        total.non_leaf += f.non_leaf;
        total.rtree += f.rtree;
        total.rtree_non_leaf += f.rtree_non_leaf;
        total.mlog += f.mlog;
        total.blobs += f.blobs;
        total.logged_writes += f.logged_writes;
        total.logged_clears += f.logged_clears;
        total.free_recs += f.free_recs;
        total.deleted += f.deleted;
    }
    eprintln!("all: {total:?}");
    assert!(total.mlog >= 10, "only {} pages with a modification log", total.mlog);
    assert!(total.blobs >= 1 && total.free_recs >= 10, "{total:?}");
    // 5.7's page_zip_clear_rec() no longer logs clearing (older servers
    // did): see modification_log_clear_entry below.
    assert!(total.logged_writes >= 10 && total.rtree >= 3 && total.rtree_non_leaf >= 1, "{total:?}");
}

#[test]
fn every_fixture_page_size_is_refused_for_a_wrong_logical_size() {
    let data = fixture("kbs16.ibd");
    let page = data.chunks_exact(16384).find(|p| is_index(p)).unwrap();
    assert!(matches!(decompress(page, 8192), Err(ZipError::Size(_))));
}

/// A "clear" entry (heap_no - 1) << 1 | 1 appended to the (empty) log of a
/// recompressed secondary-index leaf page zeroes that free record's data.
#[test]
fn modification_log_clear_entry() {
    use innohot::format::mysql57::page_zip::encode_mlog_heap_no;
    let data = fixture("kbs4.ibd");
    let mut done = 0;
    for page in data.chunks_exact(4096).filter(|p| is_index(p)) {
        let u = decompress_full(page, 16384).unwrap();
        let free = be16(&u.frame, 44);
        if !u.index.leaf || u.index.trx_id_col.is_some() || free == 0 {
            continue;
        }
        let mut z = compress(&u.frame, &u.index, 4096, 6).unwrap().unwrap();
        let start = decompress_full(&z, 16384).unwrap().mlog_start;
        let heap_no = be16(&u.frame, free - 4) >> 3;
        let entry = encode_mlog_heap_no(heap_no, true);
        z[start..start + entry.len()].copy_from_slice(&entry);
        let v = decompress_full(&z, 16384).unwrap();
        assert_eq!((v.log.cleared, v.log.written, v.m_end), (1, 0, start + entry.len()));
        // Only the free record's data changes: all of it becomes zero, up to
        // the next record's 5-byte header at the latest.
        let differ: Vec<usize> = (0..u.frame.len()).filter(|&i| u.frame[i] != v.frame[i]).collect();
        let Some(&last) = differ.last() else { continue };
        let next_origin = origins(&u.frame).into_iter().filter(|&o| o > free).min().unwrap_or(be16(&u.frame, 40) + 5);
        assert!(differ[0] >= free && last < next_origin - 5, "{differ:?} free {free} next {next_origin}");
        assert!(v.frame[free..=last].iter().all(|&b| b == 0));
        done += 1;
    }
    assert!(done >= 1, "no secondary leaf page with a free record");
}

/// Every record origin of a frame (record list and free list).
fn origins(f: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rec = next(f, INFIMUM);
    while rec != SUPREMUM {
        out.push(rec);
        rec = next(f, rec);
    }
    let mut rec = be16(f, 44);
    while rec != 0 {
        out.push(rec);
        rec = if be16(f, rec - 2) == 0 { 0 } else { next(f, rec) };
    }
    out
}

fn sample_pages() -> Vec<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    for &(name, zip_size, logical) in FIXTURES {
        let data = fixture(name);
        out.extend(data.chunks_exact(zip_size).filter(|p| is_index(p)).take(4).map(|p| (p.to_vec(), logical)));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn flipped_bytes_never_panic(pick in 0usize..1000, flips in prop::collection::vec((0usize..16384, any::<u8>()), 1..8)) {
        let pages = sample_pages();
        let (mut page, logical) = pages[pick % pages.len()].clone();
        for (at, b) in flips {
            let n = page.len();
            page[at % n] ^= b | 1;
        }
        if let Ok(u) = decompress_full(&page, logical) {
            let _ = compress(&u.frame, &u.index, page.len(), 1);
        }
    }

    /// Flips aimed at what is not checksummed by zlib: the page header, the
    /// modification log, the uncompressed trailer; and at the frame given to
    /// compress.
    #[test]
    fn aimed_flips_never_panic(pick in 0usize..1000, region in 0usize..4, flips in prop::collection::vec((0usize..4096, any::<u8>()), 1..6)) {
        let pages = sample_pages();
        let (mut page, logical) = pages[pick % pages.len()].clone();
        let u = decompress_full(&page, logical).unwrap();
        let n = page.len();
        let mut frame = u.frame.clone();
        for (at, b) in flips {
            let at = match region {
                0 => at % 94,
                1 => u.mlog_start + at % 64,
                2 => n - 1 - at % (n / 4),
                _ => {
                    let len = frame.len();
                    frame[at * 7 % len] ^= b | 1;
                    continue;
                }
            };
            page[at.min(n - 1)] ^= b | 1;
        }
        if let Ok(v) = decompress_full(&page, logical) {
            let _ = compress(&v.frame, &v.index, n, 1);
        }
        let _ = compress(&frame, &u.index, n, 1);
    }

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 1024), kind in 0u16..2) {
        let mut page = body;
        page[24..26].copy_from_slice(&(17854 + kind).to_be_bytes());
        let _ = decompress(&page, 16384);
    }
}
