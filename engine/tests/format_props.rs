//! Property tests: encoders and decoders agree, stamps validate, ring math is consistent.

use innohot::format::mysql57::mlog::{
    decode_record, encode_mtr, encode_record, read_compressed, read_u64_compressed, write_compressed,
    write_u64_compressed, Record,
};
use innohot::format::mysql57::{BlockHeader, Checkpoint, LogFileHeader, RingGeometry};
use innohot::format::page::{new_page, stamp_full_crc32, stamp_legacy_crc32, validate_page, Accepted, PageLayout};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,40}"
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u16>(), prop::sample::select(vec![1u8, 2, 4]), any::<u32>()).prop_map(
            |(space, page, offset, width, v)| {
                let value = if width == 4 { v } else { v & ((1u32 << (8 * width)) - 1) };
                Record::WriteN { space, page, offset, width, value }
            }
        ),
        (any::<u32>(), any::<u32>(), any::<u16>(), any::<u64>())
            .prop_map(|(space, page, offset, value)| Record::Write8 { space, page, offset, value }),
        (any::<u32>(), any::<u32>(), any::<u16>(), prop::collection::vec(any::<u8>(), 0..300)).prop_map(
            |(space, page, offset, mut data)| {
                data.truncate(65536 - usize::from(offset));
                Record::WriteString { space, page, offset, data }
            }
        ),
        (any::<u32>(), any::<u32>(), name()).prop_map(|(space, page, name)| Record::FileName { space, page, name }),
        (any::<u32>(), any::<u32>(), any::<u32>(), name()).prop_map(|(space, page, flags, name)| Record::FileCreate {
            space,
            page,
            flags,
            name
        }),
        (any::<u32>(), any::<u32>(), name(), name()).prop_map(|(space, page, from, to)| Record::FileRename {
            space,
            page,
            from,
            to
        }),
        (any::<u32>(), any::<u32>(), name()).prop_map(|(space, page, name)| Record::FileDelete { space, page, name }),
        (any::<u32>(), any::<u32>(), any::<u64>()).prop_map(|(space, page, index_id)| Record::IndexLoad {
            space,
            page,
            index_id
        }),
        Just(Record::Dummy),
        any::<u64>().prop_map(|lsn| Record::Checkpoint { lsn }),
        Just(Record::MultiRecEnd),
    ]
}

fn never_single(r: &Record) -> bool {
    matches!(r, Record::Checkpoint { .. } | Record::MultiRecEnd | Record::Dummy)
}

proptest! {
    #[test]
    fn compressed_u32_round_trip(v in any::<u32>(), tail in prop::collection::vec(any::<u8>(), 0..6)) {
        let mut out = Vec::new();
        write_compressed(&mut out, v);
        let n = out.len();
        prop_assert!((1..=5).contains(&n));
        out.extend_from_slice(&tail);
        prop_assert_eq!(read_compressed(&out), Some((v, n)));
        for cut in 0..n {
            prop_assert_eq!(read_compressed(&out[..cut]), None);
        }
    }

    #[test]
    fn compressed_u64_round_trip(v in any::<u64>(), tail in prop::collection::vec(any::<u8>(), 0..6)) {
        let mut out = Vec::new();
        write_u64_compressed(&mut out, v);
        let n = out.len();
        out.extend_from_slice(&tail);
        prop_assert_eq!(read_u64_compressed(&out), Some((v, n)));
        for cut in 0..n {
            prop_assert_eq!(read_u64_compressed(&out[..cut]), None);
        }
    }

    #[test]
    fn record_round_trip(rec in record(), single in any::<bool>(), tail in prop::collection::vec(any::<u8>(), 0..4)) {
        let mut out = Vec::new();
        encode_record(&rec, single, &mut out);
        let n = out.len();
        for cut in 0..n {
            prop_assert_eq!(decode_record(&out[..cut]), Ok(None), "prefix {} of {:?}", cut, out);
        }
        out.extend_from_slice(&tail);
        let d = decode_record(&out).unwrap().unwrap();
        prop_assert_eq!(d.len, n);
        prop_assert_eq!(d.single, single && !never_single(&rec));
        prop_assert_eq!(d.record, rec);
    }

    #[test]
    fn mtr_round_trip(recs in prop::collection::vec(record().prop_filter("page or file record", |r| !never_single(r)), 0..6)) {
        let bytes = encode_mtr(&recs);
        let mut at = 0;
        let mut got = Vec::new();
        while at < bytes.len() {
            let d = decode_record(&bytes[at..]).unwrap().unwrap();
            at += d.len;
            prop_assert_eq!(d.single, recs.len() == 1);
            got.push(d.record);
        }
        if recs.len() > 1 {
            prop_assert_eq!(got.pop(), Some(Record::MultiRecEnd));
        }
        prop_assert_eq!(got, recs);
    }

    #[test]
    fn block_header_round_trip(block_no in 0u32..0x8000_0000, flush_bit in any::<bool>(), data_len in any::<u16>(),
                               first_rec_group in any::<u16>(), checkpoint_no in any::<u32>()) {
        let h = BlockHeader { block_no, flush_bit, data_len, first_rec_group, checkpoint_no };
        let mut b = [0xA5u8; 512];
        h.write_into(&mut b);
        prop_assert_eq!(BlockHeader::parse(&b).unwrap(), h);
        prop_assert!(b[12..].iter().all(|&x| x == 0xA5));
    }

    #[test]
    fn checkpoint_round_trip(no in any::<u64>(), lsn in any::<u64>(), offset in any::<u64>(), log_buf_size in any::<u64>(),
                             at in 0usize..512, mask in 1u8..=255) {
        let c = Checkpoint { no, lsn, offset, log_buf_size };
        let mut b = c.encode();
        prop_assert_eq!(Checkpoint::parse(&b).unwrap(), c);
        b[at] ^= mask;
        prop_assert!(Checkpoint::parse(&b).is_err());
    }

    #[test]
    fn file_header_round_trip(start_lsn in any::<u64>(), creator in "[ -~]{0,32}", at in 0usize..512, mask in 1u8..=255) {
        let h = LogFileHeader { format: 1, start_lsn, creator };
        let mut b = h.encode();
        prop_assert_eq!(LogFileHeader::parse(&b).unwrap(), h);
        b[at] ^= mask;
        prop_assert!(LogFileHeader::parse(&b).is_err());
    }

    #[test]
    fn stamped_pages_validate(size in prop::sample::select(vec![4096usize, 8192, 16384, 65536]),
                              space in 1u32.., page_no in any::<u32>(), lsn in any::<u64>(),
                              seed in any::<u64>(), full in any::<bool>(),
                              at_frac in 0.0f64..1.0, mask in 1u8..=255) {
        let mut p = new_page(size, space, page_no, 17855, lsn);
        let mut x = seed | 1;
        for b in &mut p[38..size - 8] {
            // xorshift: cheap varied content.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let layout = PageLayout { physical_size: size, logical_size: size, full_crc32: full, compressed: false };
        if full { stamp_full_crc32(&mut p) } else { stamp_legacy_crc32(&mut p) }
        let want = if full { Accepted::FullCrc32 } else { Accepted::Crc32 };
        prop_assert_eq!(validate_page(&p, space, page_no, layout), Ok(want));
        // Legacy checksums skip [26,38); full_crc32 covers every byte.
        let mut at = (at_frac * size as f64) as usize % size;
        if !full && (26..38).contains(&at) {
            at += 12;
        }
        p[at] ^= mask;
        prop_assert!(validate_page(&p, space, page_no, layout).is_err(), "byte {} ^ {:#x}", at, mask);
    }

    #[test]
    fn ring_math_is_consistent(files in 1u32..=4, blocks in 5u64..=40, anchor_lsn in 0u64..(1 << 50),
                               anchor_frac in 0.0f64..1.0, delta in -3_000_000i64..3_000_000,
                               len_blocks in 0u64..200) {
        let s = blocks * 512;
        let g = RingGeometry::new(files, s).unwrap();
        let cap = g.capacity();
        prop_assert_eq!(cap, u64::from(files) * (s - 2048));
        let anchor_size = ((anchor_frac * cap as f64) as u64).min(cap - 1);
        prop_assert_eq!(g.size_offset(g.real_offset(anchor_size)), anchor_size);
        let anchor_offset = g.real_offset(anchor_size);
        prop_assert_eq!(g.lsn_offset(anchor_lsn, anchor_lsn, anchor_offset), anchor_offset);

        let lsn = (anchor_lsn as i64 + delta).max(0) as u64 / 512 * 512;
        let len = len_blocks * 512;
        let real = g.lsn_offset(lsn, anchor_lsn, anchor_offset);
        prop_assert!(real % s >= 2048 && real < u64::from(files) * s);
        prop_assert_eq!(g.lsn_offset(lsn + cap, anchor_lsn, anchor_offset), real);
        // Offsets move with the LSN, modulo the capacity.
        let size = g.size_offset(real);
        let want = (anchor_size as i128 + (lsn as i128 - anchor_lsn as i128)).rem_euclid(cap as i128) as u64;
        prop_assert_eq!(size, want);

        let spans = g.spans(lsn, len, anchor_lsn, anchor_offset);
        prop_assert_eq!(spans.iter().map(|sp| sp.len).sum::<u64>(), len);
        let mut covered = 0;
        for sp in &spans {
            prop_assert!(sp.len > 0);
            prop_assert!(sp.file < files);
            prop_assert!(sp.offset >= 2048 && sp.offset + sp.len <= s);
            // Each span starts where the LSN it covers lives.
            prop_assert_eq!(u64::from(sp.file) * s + sp.offset, g.lsn_offset(lsn + covered, anchor_lsn, anchor_offset));
            // Its last byte too.
            prop_assert_eq!(u64::from(sp.file) * s + sp.offset + sp.len - 1,
                            g.lsn_offset(lsn + covered + sp.len - 1, anchor_lsn, anchor_offset));
            covered += sp.len;
        }
        // Pieces are maximal: all but the last end at a file's end.
        for sp in spans.iter().rev().skip(1) {
            prop_assert_eq!(sp.offset + sp.len, s);
        }
    }
}
