//! Unit vectors for the EXTENDED appliers: hand-built 4 KiB pages and records, with
//! the bytes the server's page0cur.cc / page0page.cc / trx0undo.cc rules give.

use super::extended::{self, decode, ExtError, Extended};
use super::index::*;
use super::insert::Insert;
use crate::format::page;

const SIZE: usize = 4096;

fn index_page(comp: bool) -> Vec<u8> {
    let mut pg = page::new_page(SIZE, 7, 3, page::PAGE_TYPE_INDEX, 100);
    let ext = Extended::InitIndex { comp };
    extended::apply(&mut pg, 3, &ext).unwrap();
    pg
}

fn dyn_insert(prev: usize, data: &[u8]) -> Extended<'_> {
    Extended::Insert(Insert { comp: true, reuse: false, prev, shift: 0, enc_hdr: 0, hdr_c: 0, data_c: 0, data })
}

fn run(pg: &mut [u8], ext: &Extended<'_>) -> Result<(), ExtError> {
    extended::apply(pg, 3, ext)
}

#[test]
fn init_row_format_dynamic_writes_the_empty_compact_page() {
    let pg = index_page(true);
    assert_eq!(&pg[24..26], &[0x45, 0xBF], "FIL_PAGE_INDEX");
    // n_dir_slots 2, heap_top 120, n_heap 0x8002, free/garbage/last_insert 0, direction 5.
    assert_eq!(&pg[38..52], &[0, 2, 0, 120, 0x80, 2, 0, 0, 0, 0, 0, 0, 0, 5]);
    let inf_sup = [
        1, 0, 2, 0, 13, b'i', b'n', b'f', b'i', b'm', b'u', b'm', 0, 1, 0, 11, 0, 0, b's', b'u', b'p', b'r', b'e',
        b'm', b'u', b'm',
    ];
    assert_eq!(&pg[94..120], &inf_sup);
    assert!(pg[120..SIZE - 12].iter().all(|&b| b == 0));
    assert_eq!(&pg[SIZE - 12..SIZE - 8], &[0, 112, 0, 99], "slots: supremum, infimum");
    assert_eq!(&pg[16..24], &100u64.to_be_bytes(), "the FIL header is kept");
}

#[test]
fn init_row_format_redundant_writes_the_empty_redundant_page() {
    let pg = index_page(false);
    assert_eq!(&pg[38..52], &[0, 2, 0, 125, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5]);
    assert_eq!(&pg[94..101], &[0x08, 0x01, 0, 0, 0x03, 0, 0x74]);
    assert_eq!(&pg[101..109], b"infimum\0");
    assert_eq!(&pg[116..125], b"supremum\0");
    assert_eq!(&pg[SIZE - 12..SIZE - 8], &[0, 116, 0, 101]);
}

#[test]
fn insert_heap_dynamic_appends_links_and_counts() {
    let mut pg = index_page(true);
    run(&mut pg, &dyn_insert(0, &[1, 2, 3, 4])).unwrap();
    // Header at 120: info 0, heap_no 2 (0x00, 0x10), next = 112 - 125 = 0xFFF3; data at 125.
    assert_eq!(&pg[120..129], &[0, 0, 0x10, 0xFF, 0xF3, 1, 2, 3, 4]);
    assert_eq!(&pg[97..99], &[0, 26], "the infimum links 26 bytes on, to 125");
    assert_eq!(&pg[40..42], &[0, 129], "PAGE_HEAP_TOP");
    assert_eq!(&pg[42..44], &[0x80, 3], "PAGE_N_HEAP");
    assert_eq!(&pg[48..50], &[0, 125], "PAGE_LAST_INSERT");
    assert_eq!(&pg[54..56], &[0, 1], "PAGE_N_RECS");
    assert_eq!(pg[107] & 0x0F, 2, "the supremum owns 2");
    // The next one after it: last insert was the predecessor, so direction RIGHT, 1.
    run(&mut pg, &dyn_insert(125 - 99, &[5, 6, 7, 8])).unwrap();
    assert_eq!((pg[51] & 7, &pg[52..54]), (2, &[0u8, 1][..]));
    assert_eq!(&pg[129..134], &[0, 0, 0x18, 0xFF, 0xEA], "heap_no 3, next = 112 - 134");
}

#[test]
fn delete_dynamic_of_the_last_record_gives_back_the_heap() {
    let empty = index_page(true);
    let mut pg = empty.clone();
    run(&mut pg, &dyn_insert(0, &[1, 2, 3, 4])).unwrap();
    run(&mut pg, &Extended::DeleteDynamic { prev: 0, hdr_size: 0, data_size: 4 }).unwrap();
    assert_eq!(pg, empty, "deleting the top record shrinks PAGE_HEAP_TOP and zeroes it");
    let err = run(&mut pg, &Extended::DeleteDynamic { prev: 0, hdr_size: 0, data_size: 4 }).unwrap_err();
    assert!(
        err.to_string().contains("DELETE_ROW_FORMAT_DYNAMIC") && err.detail.to_string().contains("n_recs 0"),
        "{err}"
    );
}

#[test]
fn delete_dynamic_of_an_inner_record_joins_page_free() {
    let mut pg = index_page(true);
    run(&mut pg, &dyn_insert(0, &[1, 2, 3, 4])).unwrap();
    run(&mut pg, &dyn_insert(26, &[5, 6, 7, 8])).unwrap();
    run(&mut pg, &Extended::DeleteDynamic { prev: 0, hdr_size: 0, data_size: 4 }).unwrap();
    assert_eq!(&pg[97..99], &[0, 35], "infimum -> 134");
    assert_eq!(&pg[44..48], &[0, 125, 0, 9], "PAGE_FREE 125, PAGE_GARBAGE 9");
    assert_eq!(&pg[123..129], &[0, 0, 0, 0, 0, 0], "next free 0, data zeroed");
    // INSERT_REUSE_DYNAMIC takes it back (shift 0).
    let ins =
        Insert { comp: true, reuse: true, prev: 0, shift: 0, enc_hdr: 0, hdr_c: 0, data_c: 0, data: &[9, 9, 9, 9] };
    run(&mut pg, &Extended::Insert(ins)).unwrap();
    assert_eq!(&pg[120..129], &[0, 0, 0x10, 0, 9, 9, 9, 9, 9], "heap_no 2 again, next = 134 - 125");
    assert_eq!(&pg[44..48], &[0, 0, 0, 0]);
}

#[test]
fn the_ninth_owned_record_splits_the_slot() {
    let mut pg = index_page(true);
    let mut prev = 0;
    for i in 0..8u8 {
        run(&mut pg, &dyn_insert(prev, &[i; 4])).unwrap();
        prev = 120 + 9 * usize::from(i) + 5 - 99;
    }
    // Records at 125, 134, ...; the 4th (143 + 9 = 152) takes a new slot owning 4,
    // the supremum keeps 5.
    assert_eq!(&pg[38..40], &[0, 3]);
    assert_eq!(&pg[SIZE - 14..SIZE - 8], &[0, 112, 0, 152, 0, 99]);
    assert_eq!((pg[152 - 5] & 15, pg[107] & 15), (4, 5));
    // Deleting the first leaves 3 < 4 owned: the supremum's slot (5) lends one,
    // so the slot moves to 161; deleting the next leaves 3 again, and with the
    // supremum at 4 the two slots merge.
    run(&mut pg, &Extended::DeleteDynamic { prev: 0, hdr_size: 0, data_size: 4 }).unwrap();
    assert_eq!(&pg[38..40], &[0, 3]);
    assert_eq!(&pg[SIZE - 12..SIZE - 10], &[0, 161]);
    assert_eq!((pg[161 - 5] & 15, pg[107] & 15), (4, 4));
    run(&mut pg, &Extended::DeleteDynamic { prev: 0, hdr_size: 0, data_size: 4 }).unwrap();
    assert_eq!(&pg[38..40], &[0, 2], "merged");
    assert_eq!(&pg[SIZE - 14..SIZE - 8], &[0, 0, 0, 112, 0, 99]);
    assert_eq!(pg[107] & 15, 7);
}

#[test]
fn insert_and_delete_redundant() {
    let empty = index_page(false);
    let mut pg = empty.clone();
    // 1 field, 1-byte offsets: enc_hdr = (1 - 1) << 3 | 1 << 2; the end offset 4 is logged.
    let ins = Insert {
        comp: false,
        reuse: false,
        prev: 0,
        shift: 0,
        enc_hdr: 4,
        hdr_c: 0,
        data_c: 0,
        data: &[4, 1, 2, 3, 4],
    };
    run(&mut pg, &Extended::Insert(ins)).unwrap();
    assert_eq!(&pg[125..136], &[4, 0, 0, 0x10, 0x03, 0, 0x74, 1, 2, 3, 4]);
    assert_eq!(&pg[99..101], &[0, 132], "the infimum points to 132");
    assert_eq!((&pg[40..44], &pg[48..50]), (&[0u8, 136, 0, 3][..], &[0u8, 132][..]));
    assert_eq!(pg[110] & 15, 2, "the supremum owns 2");
    run(&mut pg, &Extended::DeleteRedundant { prev: 0 }).unwrap();
    assert_eq!(pg, empty);
    let bad =
        Insert { comp: false, reuse: false, prev: 0, shift: 0, enc_hdr: 4, hdr_c: 0, data_c: 0, data: &[4, 1, 2] };
    let err = run(&mut pg, &Extended::Insert(bad)).unwrap_err();
    assert_eq!(err.what, "INSERT_HEAP_REDUNDANT");
    assert_eq!(pg, empty, "a refused insert writes nothing");
}

#[test]
fn undo_init_and_append() {
    let mut pg = page::new_page(SIZE, 7, 5, page::PAGE_TYPE_ALLOCATED, 100);
    pg[56..86].fill(0x5A); // a segment header: kept
    pg[86..90].fill(0x77); // old contents: cleared
    extended::apply(&mut pg, 5, &Extended::UndoInit).unwrap();
    assert_eq!(&pg[24..26], &[0, 2]);
    assert_eq!(&pg[38..56], &[0, 0, 0, 56, 0, 56, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]);
    assert!(pg[56..86].iter().all(|&b| b == 0x5A) && pg[86..SIZE - 8].iter().all(|&b| b == 0));
    extended::apply(&mut pg, 5, &Extended::UndoAppend { rec: &[0xAA, 0xBB, 0xCC] }).unwrap();
    assert_eq!(&pg[42..44], &[0, 63]);
    assert_eq!(&pg[56..63], &[0, 63, 0xAA, 0xBB, 0xCC, 0, 56]);
    pg[42..44].copy_from_slice(&4070u16.to_be_bytes());
    let err = extended::apply(&mut pg, 5, &Extended::UndoAppend { rec: &[1; 20] }).unwrap_err();
    assert!(err.detail.to_string().contains("no room"), "{err}");
}

#[test]
fn decoding_follows_the_servers_length_rules() {
    assert_eq!(decode(&[1]).unwrap(), Extended::InitIndex { comp: true });
    assert_eq!(decode(&[10]).unwrap(), Extended::TrimPages);
    assert_eq!(decode(&[8, 0x80, 0x02]).unwrap(), Extended::DeleteRedundant { prev: 0x82 });
    assert_eq!(decode(&[9, 5, 3, 7]).unwrap(), Extended::DeleteDynamic { prev: 5, hdr_size: 3, data_size: 7 });
    let ins = decode(&[7, 1, 3, 0x10, 2, 4, 0xAB, 0xCD]).unwrap();
    let want =
        Insert { comp: true, reuse: true, prev: 1, shift: 3, enc_hdr: 0x10, hdr_c: 2, data_c: 4, data: &[0xAB, 0xCD] };
    assert_eq!(ins, Extended::Insert(want));
    for bad in [&[][..], &[1, 0], &[2, 0], &[3, 1, 2], &[6, 1], &[8, 0x81], &[9, 1, 2], &[9, 1, 2, 3, 4], &[11]] {
        assert!(decode(bad).is_err(), "{bad:?} must be refused");
    }
    let mut pg = index_page(true);
    let err = extended::apply(&mut pg, 2, &Extended::InitIndex { comp: true }).unwrap_err();
    assert!(err.detail.to_string().contains("never name pages 0..2"), "{err}");
    pg[24..26].copy_from_slice(&[0, 2]);
    assert!(run(&mut pg, &dyn_insert(0, &[1])).unwrap_err().detail.to_string().contains("not that of an index page"));
}

mod replay {
    use super::super::{apply_log, PageStore};
    use super::*;
    use crate::format::mariadb::varint::write_varint;
    use crate::format::mariadb::{backup_log_header, encode_mtr, Checkpoint, PageId, PageOp, Record, Ring};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    struct Mem(BTreeMap<(u32, u32), Vec<u8>>);
    impl PageStore for Mem {
        fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
            self.0.get_mut(&(space, page)).map(|p| p.as_mut_slice())
        }
    }

    /// A backup log: FILE_CHECKPOINT, then INIT_PAGE + INIT_ROW_FORMAT_DYNAMIC on
    /// page 3, then one mtr per EXTENDED payload.
    fn log_of(payloads: &[Vec<u8>]) -> (Vec<u8>, u64) {
        const CP: u64 = 50_000;
        let ring = Ring::new(CP, 1 << 22).unwrap();
        let mut out = backup_log_header(Checkpoint { lsn: CP, end_lsn: CP }, "Backup 10.11.19");
        let id = Some(PageId { space: 7, page: 3 });
        let mut mtrs = vec![
            vec![Record::FileCheckpoint { lsn: CP }],
            vec![
                Record::Page { op: PageOp::InitPage, page: id, payload: &[] },
                Record::Page { op: PageOp::Extended, page: None, payload: &[1] },
            ],
        ];
        mtrs.extend(payloads.iter().map(|p| vec![Record::Page { op: PageOp::Extended, page: id, payload: p }]));
        let mut lsn = CP;
        for recs in &mtrs {
            let m = encode_mtr(recs, lsn, &ring).unwrap();
            lsn += m.len() as u64;
            out.extend(m);
        }
        (out, lsn)
    }

    /// INSERT_HEAP_DYNAMIC after the previous record, with these data bytes.
    fn inserts(rows: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut prev = 0usize;
        let mut heap = NEW_SUPREMUM_END;
        rows.iter()
            .map(|data| {
                let mut p = vec![6];
                write_varint(&mut p, prev as u32);
                p.extend_from_slice(&[0, 0, 0]); // no logged header, nothing shared
                p.extend_from_slice(data);
                prev = heap + NEW_EXTRA - NEW_INFIMUM;
                heap += NEW_EXTRA + data.len();
                p
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn applying_the_same_log_twice_changes_nothing_the_second_time(
            rows in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 1..30)
        ) {
            let (log, last) = log_of(&inserts(&rows));
            let mut p0 = page::new_page(SIZE, 7, 0, page::PAGE_TYPE_FSP_HDR, 1);
            p0[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].copy_from_slice(&0x13u32.to_be_bytes());
            let mut mem = Mem([((7, 0), p0), ((7, 3), vec![0; SIZE])].into_iter().collect());
            let first = apply_log(&log, last, &mut mem).unwrap();
            prop_assert_eq!(first.extended_applied, rows.len() as u64 + 1);
            let pg = &mem.0[&(7, 3)];
            prop_assert_eq!(&pg[54..56], &(rows.len() as u16).to_be_bytes()[..], "PAGE_N_RECS");
            let once = mem.0.clone();
            let second = apply_log(&log, last, &mut mem).unwrap();
            prop_assert_eq!(second.records_applied, 0);
            prop_assert_eq!(second.records_already_in_page, first.records_applied);
            prop_assert!(once == mem.0, "the page LSN rule makes a second run a no-op");
        }
    }
}
