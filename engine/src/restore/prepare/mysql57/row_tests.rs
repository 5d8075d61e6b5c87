//! Row records on a COMPACT page: inserts, a delete, reuse of the freed record,
//! reorganize, checked against the page invariants the server keeps.

use super::pages;
use super::rows;
use crate::format::mysql57::body::{IndexDesc, InsertBody, InsertInfo, PageBody};
use crate::restore::prepare::index::*;

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
    assert_eq!(pages::apply(&mut pg, 5, 3, &body, true), Err(pages::ApplyError::NotForZip));
    let body = PageBody::ZipWriteHeader { offset: 40, data: vec![1, 2] };
    pages::apply(&mut pg, 5, 3, &body, true).unwrap();
    assert_eq!(&pg[40..42], &[1, 2]);
}

/// An INT NOT NULL key and a nullable short VARCHAR: the header holds a null
/// byte, and a length byte unless the VARCHAR is NULL.
fn var_ix() -> IndexDesc {
    IndexDesc { n_uniq: 2, fields: vec![0x8004, 0x0000] }
}

fn var_rec(key: u32, text: Option<&[u8]>) -> InsertBody {
    let mut data = Vec::new();
    if let Some(t) = text {
        data.push(t.len() as u8);
    }
    data.push(u8::from(text.is_none()));
    data.extend_from_slice(&[0; 5]);
    data.extend_from_slice(&key.to_be_bytes());
    data.extend_from_slice(text.unwrap_or_default());
    let origin = if text.is_some() { 7 } else { 6 };
    InsertBody { info: Some(InsertInfo { info_bits: 0, origin_offset: origin, mismatch_index: 0 }), data }
}

/// Keys 1 and 2 with a 3-byte VARCHAR, key 1 deleted (PAGE_FREE, 14 bytes, a
/// 7-byte header), then key 3 with a NULL VARCHAR (10 bytes, a 6-byte header)
/// inserted after key 2 by `rest`'s rules. Returns the freed origin and the new one.
fn reuse_with(rules: pages::Rules) -> (usize, usize) {
    let mut pg = page();
    let ix = Some(var_ix());
    let body = PageBody::Insert { index: ix.clone(), cursor: NEW_INFIMUM as u16, ins: var_rec(1, Some(b"abc")) };
    pages::apply_to_frame(&mut pg, &body, rules).unwrap();
    let one = usize::from(r2(&pg, PAGE_LAST_INSERT).unwrap());
    let body = PageBody::Insert { index: ix.clone(), cursor: one as u16, ins: var_rec(2, Some(b"xyz")) };
    pages::apply_to_frame(&mut pg, &body, rules).unwrap();
    let two = usize::from(r2(&pg, PAGE_LAST_INSERT).unwrap());
    pages::apply_to_frame(&mut pg, &PageBody::Delete { index: ix.clone(), offset: one as u16 }, rules).unwrap();
    assert_eq!(usize::from(r2(&pg, PAGE_FREE).unwrap()), one);
    let body = PageBody::Insert { index: ix, cursor: two as u16, ins: var_rec(3, None) };
    pages::apply_to_frame(&mut pg, &body, rules).unwrap();
    assert_eq!(keys(&pg), vec![2, 3]);
    assert_eq!(r2(&pg, PAGE_FREE).unwrap(), 0, "the freed record was reused");
    (one, usize::from(r2(&pg, PAGE_LAST_INSERT).unwrap()))
}

#[test]
fn a_compressed_frame_reuses_a_free_record_in_place_and_an_uncompressed_page_from_its_start() {
    // page_cur_insert_rec_zip: the origin stays where the free record's was.
    let (freed, new) = reuse_with(pages::Rules::Zip { insert_plain: false });
    assert_eq!(new, freed);
    // page_cur_insert_rec_low (and a compressed page's insert recompressed right
    // after): the record starts where the free one started, one header byte shorter.
    let (freed, new) = reuse_with(pages::Rules::Plain);
    assert_eq!(new, freed - 1);
    let (freed, new) = reuse_with(pages::Rules::Zip { insert_plain: true });
    assert_eq!(new, freed - 1);
}

/// An INT NOT NULL key and two nullable short VARCHARs.
fn two_var_ix() -> IndexDesc {
    IndexDesc { n_uniq: 3, fields: vec![0x8004, 0x0000, 0x0000] }
}

fn two_var_rec(key: u32, texts: [Option<&[u8]>; 2]) -> InsertBody {
    // Lengths of the non-NULL fields, the last field's first; then the null bits.
    let mut data: Vec<u8> = texts.iter().rev().flatten().map(|t| t.len() as u8).collect();
    data.push(texts.iter().enumerate().filter(|(_, t)| t.is_none()).map(|(i, _)| 1u8 << i).sum());
    let origin = data.len() + 5;
    data.extend_from_slice(&[0; 5]);
    data.extend_from_slice(&key.to_be_bytes());
    texts.iter().flatten().for_each(|t| data.extend_from_slice(t));
    InsertBody { info: Some(InsertInfo { info_bits: 0, origin_offset: origin as u32, mismatch_index: 0 }), data }
}

#[test]
fn a_compressed_frame_never_reuses_a_free_record_whose_header_is_shorter() {
    // Freed: a 7-byte header and 8 data bytes. New: an 8-byte header and 4 data
    // bytes, 12 of the 15 freed: an uncompressed page takes the space, a
    // compressed page's frame keeps it free and uses the heap.
    for (rules, reused) in [(pages::Rules::Plain, true), (pages::Rules::Zip { insert_plain: false }, false)] {
        let mut pg = page();
        let ix = Some(two_var_ix());
        let body = PageBody::Insert {
            index: ix.clone(),
            cursor: NEW_INFIMUM as u16,
            ins: two_var_rec(1, [None, Some(b"abcd")]),
        };
        pages::apply_to_frame(&mut pg, &body, rules).unwrap();
        let one = usize::from(r2(&pg, PAGE_LAST_INSERT).unwrap());
        pages::apply_to_frame(&mut pg, &PageBody::Delete { index: ix.clone(), offset: one as u16 }, rules).unwrap();
        let body = PageBody::Insert {
            index: ix.clone(),
            cursor: NEW_INFIMUM as u16,
            ins: two_var_rec(2, [Some(b""), Some(b"")]),
        };
        pages::apply_to_frame(&mut pg, &body, rules).unwrap();
        assert_eq!(r2(&pg, PAGE_FREE).unwrap() == 0, reused, "{rules:?}");
        assert_eq!(keys(&pg), vec![2]);
    }
}

#[test]
fn deleting_on_a_compressed_frame_clears_the_columns_kept_apart() {
    // A clustered leaf: key, DB_TRX_ID, DB_ROLL_PTR.
    let ix = IndexDesc { n_uniq: 1, fields: vec![0x8004, 0x8006, 0x8007] };
    let ins = |key: u32| {
        let mut data = vec![0u8; 5];
        data.extend_from_slice(&key.to_be_bytes());
        data.extend_from_slice(&[0xAB; 13]);
        InsertBody { info: Some(InsertInfo { info_bits: 0, origin_offset: 5, mismatch_index: 0 }), data }
    };
    for (rules, cleared) in [(pages::Rules::Plain, false), (pages::Rules::Zip { insert_plain: false }, true)] {
        let mut pg = page();
        for (k, cursor) in [(1, NEW_INFIMUM), (2, NEW_SUPREMUM_END + 5)] {
            let body = PageBody::Insert { index: Some(ix.clone()), cursor: cursor as u16, ins: ins(k) };
            pages::apply_to_frame(&mut pg, &body, rules).unwrap();
        }
        let one = NEW_SUPREMUM_END + 5;
        // Purge deletes a delete-marked record.
        rows::set_deleted(&mut pg, one, 1).unwrap();
        pages::apply_to_frame(&mut pg, &PageBody::Delete { index: Some(ix.clone()), offset: one as u16 }, rules)
            .unwrap();
        assert_eq!(&pg[one..one + 4], &1u32.to_be_bytes(), "the key stays");
        let sys = &pg[one + 4..one + 17];
        assert_eq!(sys.iter().all(|&b| b == 0), cleared, "{rules:?}: {sys:?}");
        assert_eq!(pg[one - 5] == 0, cleared, "{rules:?}: info bits and n_owned {:#x}", pg[one - 5]);
        assert_eq!(keys(&pg), vec![2]);
    }
}
