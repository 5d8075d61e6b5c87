//! Row records on a COMPACT page: inserts, a delete, reuse of the freed record,
//! reorganize, checked against the page invariants the server keeps.

use super::pages;
use super::rows;
use crate::format::mysql57::body::{IndexDesc, InsertBody, InsertInfo, PageBody};
use crate::prepare::index::*;

fn ix() -> IndexDesc {
    IndexDesc { n_uniq: 1, fields: vec![0x8004] } // one INT NOT NULL, a secondary-like index
}

fn page() -> Vec<u8> {
    let mut pg = crate::format::page::new_page(16384, 5, 3, 17855, 100);
    pages::apply(&mut pg, 5, 3, &PageBody::Create { comp: true, rtree: false }, false).unwrap();
    pg
}

fn ins(key: u32) -> InsertBody {
    let mut data = vec![0u8; 5];
    data.extend_from_slice(&key.to_be_bytes());
    InsertBody { info: Some(InsertInfo { info_bits: 0, origin_offset: 5, mismatch_index: 0 }), data }
}

/// The keys in list order, after checking every slot's n_owned sums to the records.
fn keys(pg: &[u8]) -> Vec<u32> {
    let n_slots = usize::from(r2(pg, PAGE_N_DIR_SLOTS).unwrap());
    let mut owned = 0usize;
    for s in 0..n_slots {
        let rec = usize::from(r2(pg, slot_at(pg.len(), s).unwrap()).unwrap());
        let n = n_owned(pg, rec, true).unwrap();
        if s != 0 && s + 1 != n_slots {
            assert!((4..=8).contains(&n), "slot {s} owns {n}");
        }
        owned += usize::from(n);
    }
    let mut out = Vec::new();
    let mut at = next_rec(pg, NEW_INFIMUM, true).unwrap();
    while at != NEW_SUPREMUM {
        out.push(u32::from_be_bytes(pg[at..at + 4].try_into().unwrap()));
        at = next_rec(pg, at, true).unwrap();
    }
    assert_eq!(owned, out.len() + 2, "n_owned over the slots counts every record and infimum, supremum");
    assert_eq!(usize::from(r2(pg, PAGE_N_RECS).unwrap()), out.len());
    out
}

#[test]
fn inserts_delete_reuse_and_reorganize_keep_the_page_consistent() {
    let mut pg = page();
    let mut cur = NEW_INFIMUM;
    for k in 1..=20 {
        let body = PageBody::Insert { index: Some(ix()), cursor: cur as u16, ins: ins(k) };
        pages::apply(&mut pg, 5, 3, &body, false).unwrap();
        cur = usize::from(r2(&pg, PAGE_LAST_INSERT).unwrap());
    }
    assert_eq!(keys(&pg), (1..=20).collect::<Vec<_>>());
    assert_eq!(usize::from(r2(&pg, PAGE_HEAP_TOP).unwrap()), NEW_SUPREMUM_END + 20 * 9);
    assert_eq!((r2(&pg, PAGE_HEADER + 12).unwrap(), r2(&pg, PAGE_N_DIRECTION).unwrap()), (2, 19));
    // Delete key 5: it joins PAGE_FREE as garbage, its bytes stay.
    let five = NEW_SUPREMUM_END + 4 * 9 + 5;
    pages::apply(&mut pg, 5, 3, &PageBody::Delete { index: Some(ix()), offset: five as u16 }, false).unwrap();
    assert_eq!(keys(&pg), (1..=20).filter(|k| *k != 5).collect::<Vec<_>>());
    assert_eq!((usize::from(r2(&pg, PAGE_FREE).unwrap()), r2(&pg, PAGE_GARBAGE).unwrap()), (five, 9));
    assert_eq!(&pg[five..five + 4], &5u32.to_be_bytes());
    // A record of the same size reuses it.
    let last = rows::prev_rec(&pg, NEW_SUPREMUM).unwrap();
    let body = PageBody::Insert { index: Some(ix()), cursor: last as u16, ins: ins(100) };
    pages::apply(&mut pg, 5, 3, &body, false).unwrap();
    assert_eq!((r2(&pg, PAGE_FREE).unwrap(), r2(&pg, PAGE_GARBAGE).unwrap()), (0, 0));
    assert_eq!(usize::from(r2(&pg, PAGE_LAST_INSERT).unwrap()), five);
    let mut want: Vec<u32> = (1..=20).filter(|k| *k != 5).collect();
    want.push(100);
    assert_eq!(keys(&pg), want);
    // Reorganize: the records in list order from the heap's start.
    pages::apply(&mut pg, 5, 3, &PageBody::Reorganize { index: Some(ix()), zip_level: None }, false).unwrap();
    assert_eq!(keys(&pg), want);
    assert_eq!(&pg[NEW_SUPREMUM_END + 4 * 9 + 5..][..4], &6u32.to_be_bytes());
    assert_eq!((r2(&pg, PAGE_HEADER + 12).unwrap(), r2(&pg, PAGE_N_DIRECTION).unwrap()), (2, 19));
    // List end delete from key 10: a chain onto PAGE_FREE.
    let ten = NEW_SUPREMUM_END + 8 * 9 + 5;
    let body = PageBody::ListDelete { index: Some(ix()), end: true, offset: ten as u16 };
    pages::apply(&mut pg, 5, 3, &body, false).unwrap();
    assert_eq!(keys(&pg), vec![1, 2, 3, 4, 6, 7, 8, 9]);
    assert_eq!((usize::from(r2(&pg, PAGE_FREE).unwrap()), r2(&pg, PAGE_GARBAGE).unwrap()), (ten, 12 * 9));
}

#[test]
fn a_row_record_on_a_compressed_page_is_refused_and_header_writes_apply() {
    let mut pg = vec![0u8; 8192];
    let body = PageBody::Delete { index: Some(ix()), offset: 200 };
    assert_eq!(pages::apply(&mut pg, 5, 3, &body, true), Err(None));
    let body = PageBody::ZipWriteHeader { offset: 40, data: vec![1, 2] };
    pages::apply(&mut pg, 5, 3, &body, true).unwrap();
    assert_eq!(&pg[40..42], &[1, 2]);
}
