//! Redo parsing throughput for both formats: decoding MySQL 5.7 records and
//! framing plus decoding MariaDB 10.8+ mini-transactions, on streams of the
//! physical records a busy server writes.
//!
//! `cargo bench -p innohot-benches --bench redo`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use innohot::format::{mariadb, mysql57::mlog};

/// About 1 MiB of 5.7 mtrs of page writes.
fn stream57() -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u32;
    while out.len() < 1 << 20 {
        let recs = vec![
            mlog::Record::WriteN {
                space: 5 + i % 7,
                page: 3 + i % 100,
                offset: 38 + (i % 900) as u16,
                width: 4,
                value: i,
            },
            mlog::Record::WriteString {
                space: 5 + i % 7,
                page: 3 + i % 100,
                offset: 120,
                data: vec![(i % 251) as u8; 40 + (i % 60) as usize],
            },
            mlog::Record::Write8 { space: 5 + i % 7, page: 3 + i % 100, offset: 200, value: u64::from(i) << 20 },
        ];
        out.extend(mlog::encode_mtr(&recs));
        i += 1;
    }
    out
}

fn parse57(mut b: &[u8]) -> usize {
    let mut n = 0;
    while let Ok(Some(d)) = mlog::decode_record(b) {
        b = &b[d.len..];
        n += 1;
    }
    n
}

/// About 1 MiB of 10.8 mtrs (WRITE and MEMSET records) laid from LSN `start`.
fn stream108(ring: &mariadb::Ring, start: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u32;
    while out.len() < 1 << 20 {
        let payload = [vec![(i % 200) as u8], vec![(i % 251) as u8; 30 + (i % 50) as usize]].concat();
        let set = [5u8, 16, 0xAB];
        let recs = [
            mariadb::Record::Page {
                op: mariadb::PageOp::Write,
                page: Some(mariadb::PageId { space: 5 + i % 7, page: 3 + i % 100 }),
                payload: &payload,
            },
            mariadb::Record::Page { op: mariadb::PageOp::Memset, page: None, payload: &set },
        ];
        let mtr = mariadb::encode_mtr(&recs, start + out.len() as u64, ring).expect("a valid mtr");
        out.extend(mtr);
        i += 1;
    }
    out
}

fn parse108(buf: &[u8], ring: &mariadb::Ring, start: u64) -> usize {
    let (mut at, mut n) = (0usize, 0);
    while let mariadb::MtrScan::Mtr { len, records_len } = mariadb::scan_mtr(&buf[at..], start + at as u64, ring) {
        n += mariadb::records(&buf[at..at + records_len]).filter(|r| r.is_ok()).count();
        at += len;
    }
    n
}

fn bench_redo(c: &mut Criterion) {
    let mut group = c.benchmark_group("redo");
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_secs(2));
    let s57 = stream57();
    group.throughput(Throughput::Bytes(s57.len() as u64));
    group.bench_function("mysql57_decode", |b| b.iter(|| parse57(&s57)));
    let start = 1 << 20;
    let ring = mariadb::Ring::new(start, 96 << 20).expect("ring");
    let s108 = stream108(&ring, start);
    assert!(parse108(&s108, &ring, start) > 1000, "the 10.8 stream must parse");
    group.throughput(Throughput::Bytes(s108.len() as u64));
    group.bench_function("mariadb108_scan_and_decode", |b| b.iter(|| parse108(&s108, &ring, start)));
    group.finish();
}

criterion_group!(benches, bench_redo);
criterion_main!(benches);
