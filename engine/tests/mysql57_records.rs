//! MySQL 5.7 page record bodies: hand-computed vectors and encode/decode round trips.

use innohot::format::mysql57::body::*;
use innohot::format::mysql57::mlog::{decode_record, encode_record, Record};
use proptest::prelude::*;

/// MLOG_COMP_REC_INSERT, single, space 5, page 3: a 3-field clustered index
/// (id INT NOT NULL, DB_TRX_ID, DB_ROLL_PTR), cursor 99, 3 logged bytes with
/// info bits 0, origin 5 and 0x300 shared bytes.
const COMP_INSERT: [u8; 23] = [
    0xA6, 0x05, 0x03, // type | single flag, space, page
    0x00, 0x03, 0x00, 0x01, 0x80, 0x04, 0x80, 0x06, 0x80, 0x07, // n, n_uniq, fields
    0x00, 0x63, // cursor record offset
    0x07, 0x00, 0x05, 0x83, 0x00, // end_seg_len 3 << 1 | 1, info bits, origin, mismatch index
    0xAA, 0xBB, 0xCC,
];

#[test]
fn a_compact_insert_decodes_field_by_field() {
    let d = decode_record(&COMP_INSERT).unwrap().unwrap();
    assert!(d.single);
    assert_eq!(d.len, COMP_INSERT.len());
    let want = Record::Page {
        space: 5,
        page: 3,
        body: PageBody::Insert {
            index: Some(IndexDesc { n_uniq: 1, fields: vec![0x8004, 0x8006, 0x8007] }),
            cursor: 99,
            ins: InsertBody {
                info: Some(InsertInfo { info_bits: 0, origin_offset: 5, mismatch_index: 0x300 }),
                data: vec![0xAA, 0xBB, 0xCC],
            },
        },
    };
    assert_eq!(d.record, want);
    let mut again = Vec::new();
    encode_record(&want, true, &mut again);
    assert_eq!(again, COMP_INSERT);
    for n in 0..COMP_INSERT.len() {
        assert_eq!(decode_record(&COMP_INSERT[..n]).unwrap(), None, "a {n}-byte prefix is incomplete");
    }
}

#[test]
fn undo_insert_update_and_redundant_delete_vectors() {
    // MLOG_UNDO_INSERT, space 0, page 0x1234 (2-byte compressed), 2 bytes.
    let undo = [0x14, 0x00, 0x92, 0x34, 0x00, 0x02, 0x01, 0x02];
    let d = decode_record(&undo).unwrap().unwrap();
    assert_eq!(d.record, Record::Page { space: 0, page: 0x1234, body: PageBody::UndoInsert { data: vec![1, 2] } });
    assert_eq!((d.len, d.single), (8, false));
    // MLOG_REC_DELETE (REDUNDANT: no index description), offset 0x65.
    let del = [0x8E, 0x07, 0x09, 0x00, 0x65];
    let d = decode_record(&del).unwrap().unwrap();
    assert_eq!(d.record, Record::Page { space: 7, page: 9, body: PageBody::Delete { index: None, offset: 0x65 } });
    // MLOG_REC_UPDATE_IN_PLACE (REDUNDANT): flags 0, pos 1, roll ptr, trx id 0:0x10,
    // offset 0x80, info bits 0x20, 2 fields: #2 = "ab", #3 = NULL.
    let upd = [
        0x8D, 0x01, 0x02, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 0x00, 0, 0, 0, 0x10, 0x00, 0x80, 0x20, 0x02, 0x02, 0x02,
        b'a', b'b', 0x03, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    let d = decode_record(&upd).unwrap().unwrap();
    let PageBody::UpdateInPlace { index: None, flags: 0, sys, offset: 0x80, update } = (match d.record {
        Record::Page { body, .. } => body,
        other => panic!("{other:?}"),
    }) else {
        panic!("not an update")
    };
    assert_eq!(sys, SysVals { pos: 1, roll_ptr: [1, 2, 3, 4, 5, 6, 7], trx_id: 0x10 });
    assert_eq!(update.info_bits, 0x20);
    assert_eq!(update.fields[0], UpdateField { field_no: 2, value: Some(b"ab".to_vec()) });
    assert_eq!(update.fields[1], UpdateField { field_no: 3, value: None });
    assert_eq!(d.len, upd.len());
}

#[test]
fn unknown_types_and_impossible_bodies_are_refused_by_name() {
    let err = decode_record(&[99, 0, 0]).unwrap_err().to_string();
    assert!(err.contains("redo record type 99 is not a MySQL 5.7 record type"), "{err}");
    // MLOG_ZIP_WRITE_HEADER reaching PAGE_DATA (94).
    let err = decode_record(&[50, 1, 1, 90, 4, 0, 0, 0, 0]).unwrap_err().to_string();
    assert!(err.contains("MLOG_ZIP_WRITE_HEADER of page 1 in space 1"), "{err}");
    // An index description whose unique fields leave no room for DB_TRX_ID and DB_ROLL_PTR.
    let err = decode_record(&[42, 1, 1, 0, 3, 0, 2, 0, 4, 0, 4, 0, 4, 0, 0x63]).unwrap_err().to_string();
    assert!(err.contains("3 fields with 2 unique"), "{err}");
    // MLOG_DUMMY_RECORD with the single flag is damage.
    assert!(decode_record(&[0x80 | 32]).is_err());
    assert_eq!(decode_record(&[32]).unwrap().unwrap().record, Record::Dummy);
}

fn index() -> impl Strategy<Value = Option<IndexDesc>> {
    prop::option::of((1u16..8, prop::collection::vec(any::<u16>(), 1..12)).prop_map(|(k, fields)| {
        let n = fields.len() as u16;
        let n_uniq = if n >= k + 2 { k } else { n };
        IndexDesc { n_uniq, fields }
    }))
}

fn insert() -> impl Strategy<Value = InsertBody> {
    (prop::option::of((any::<u8>(), 0u32..65536, 0u32..65536)), prop::collection::vec(any::<u8>(), 0..200)).prop_map(
        |(info, data)| InsertBody {
            info: info.map(|(info_bits, origin_offset, mismatch_index)| InsertInfo {
                info_bits,
                origin_offset,
                mismatch_index,
            }),
            data,
        },
    )
}

fn sys() -> impl Strategy<Value = SysVals> {
    (any::<u32>(), any::<[u8; 7]>(), any::<u64>()).prop_map(|(pos, roll_ptr, trx_id)| SysVals { pos, roll_ptr, trx_id })
}

fn update() -> impl Strategy<Value = Update> {
    let field = (any::<u32>(), prop::option::of(prop::collection::vec(any::<u8>(), 0..40)))
        .prop_map(|(field_no, value)| UpdateField { field_no, value });
    (any::<u8>(), prop::collection::vec(field, 0..5)).prop_map(|(info_bits, fields)| Update { info_bits, fields })
}

fn body() -> impl Strategy<Value = PageBody> {
    prop_oneof![
        (index(), any::<u16>(), insert()).prop_map(|(index, cursor, ins)| PageBody::Insert { index, cursor, ins }),
        (index(), any::<u8>(), any::<u8>(), sys(), any::<u16>())
            .prop_map(|(index, flags, val, sys, offset)| PageBody::ClustDeleteMark { index, flags, val, sys, offset }),
        (index(), any::<u8>(), any::<u16>()).prop_map(|(index, val, offset)| PageBody::SecDeleteMark {
            index,
            val,
            offset
        }),
        (index(), any::<u8>(), sys(), any::<u16>(), update()).prop_map(|(index, flags, sys, offset, update)| {
            PageBody::UpdateInPlace { index, flags, sys, offset, update }
        }),
        (index(), any::<u16>()).prop_map(|(index, offset)| PageBody::Delete { index, offset }),
        (index(), any::<bool>(), any::<u16>()).prop_map(|(index, end, offset)| PageBody::ListDelete {
            index,
            end,
            offset
        }),
        (index(), prop::collection::vec(insert(), 0..4))
            .prop_map(|(index, inserts)| PageBody::CopyCreated { index, inserts }),
        (index(), prop::option::of(0u8..10)).prop_map(|(index, zip_level)| {
            let index = if zip_level.is_some() && index.is_none() {
                Some(IndexDesc { n_uniq: 1, fields: vec![4] })
            } else {
                index
            };
            PageBody::Reorganize { index, zip_level }
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(comp, rtree)| PageBody::Create { comp, rtree }),
        prop::collection::vec(any::<u8>(), 0..100).prop_map(|data| PageBody::UndoInsert { data }),
        Just(PageBody::UndoEraseEnd),
        any::<u32>().prop_map(|undo_type| PageBody::UndoInit { undo_type }),
        Just(PageBody::UndoHdrDiscard),
        any::<u64>().prop_map(|trx_id| PageBody::UndoHdrCreate { trx_id }),
        any::<u64>().prop_map(|trx_id| PageBody::UndoHdrReuse { trx_id }),
        (any::<bool>(), any::<u16>()).prop_map(|(comp, offset)| PageBody::MinMark { comp, offset }),
        Just(PageBody::IbufBitmapInit),
        any::<bool>().prop_map(|v2| PageBody::InitFilePage { v2 }),
        (any::<u16>(), any::<u16>(), any::<[u8; 4]>()).prop_map(|(offset, z_offset, data)| PageBody::ZipWriteNodePtr {
            offset,
            z_offset,
            data
        }),
        (any::<u16>(), any::<u16>(), any::<[u8; 20]>())
            .prop_map(|(offset, z_offset, data)| PageBody::ZipWriteBlobPtr { offset, z_offset, data }),
        (0u8..90, prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(offset, data)| PageBody::ZipWriteHeader { offset, data }),
        (any::<[u8; 8]>(), prop::collection::vec(any::<u8>(), 0..300), prop::collection::vec(any::<u8>(), 0..30))
            .prop_map(|(prev_next, data, trailer)| PageBody::ZipCompress { prev_next, data, trailer }),
        (0u8..10)
            .prop_map(|level| PageBody::ZipCompressNoData { index: IndexDesc { n_uniq: 1, fields: vec![4] }, level }),
        any::<u64>().prop_map(|lsn| PageBody::Truncate { lsn }),
    ]
}

proptest! {
    #[test]
    fn page_bodies_round_trip(space in any::<u32>(), page in any::<u32>(), body in body(), single in any::<bool>(),
                              tail in prop::collection::vec(any::<u8>(), 0..8)) {
        let rec = Record::Page { space, page, body };
        let mut out = Vec::new();
        encode_record(&rec, single, &mut out);
        let n = out.len();
        out.extend(tail);
        let d = decode_record(&out).unwrap().unwrap();
        prop_assert_eq!(d.len, n);
        prop_assert_eq!(d.single, single);
        prop_assert_eq!(d.record, rec);
        for cut in 0..n {
            prop_assert_eq!(decode_record(&out[..cut]).unwrap(), None);
        }
    }
}
