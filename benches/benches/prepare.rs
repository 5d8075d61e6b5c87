//! Prepare (MariaDB 10.8+ redo applied to pages, parse included) per shape of
//! redo, the shapes of `scripts/compare-prepare.sh`: small-row updates, BLOB
//! pages written whole and freed, an index bulk-built then dropped (online DDL),
//! ROW_FORMAT=COMPRESSED 4 KiB pages (2 KiB frames), and pages freed and
//! initialised again (churn). Each log is built with the engine's own record
//! encoders; the pages live in memory, so only parse and apply are timed.
//!
//! `cargo bench -p innohot-benches --bench prepare`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use innohot::format::mariadb::{
    backup_log_header, encode_mtr, encode_page_edit, Checkpoint, PageEdit, PageId, PageOp, Record, Ring,
};
use innohot::format::page;
use innohot::restore::prepare::mariadb::apply_log;
use innohot::restore::prepare::PageStore;
use std::collections::HashMap;

const CP: u64 = 50_000;

/// A shape: the log, its last LSN and the pages it applies to.
type Shape = (Vec<u8>, u64, Mem);
/// A shape's name and builder.
type Maker = (&'static str, fn() -> Shape);
const SPACE: u32 = 5;

/// A backup's `ib_logfile0`: the header, the start checkpoint's FILE_CHECKPOINT, then mtrs.
struct Log {
    out: Vec<u8>,
    lsn: u64,
    ring: Ring,
}

impl Log {
    fn new() -> Self {
        let ring = Ring::new(CP, 1 << 34).expect("ring");
        let mut log =
            Log { out: backup_log_header(Checkpoint { lsn: CP, end_lsn: CP }, "Backup 10.11.19"), lsn: CP, ring };
        log.mtr(&[Record::FileCheckpoint { lsn: CP }]);
        log
    }

    fn mtr(&mut self, recs: &[Record<'_>]) {
        let m = encode_mtr(recs, self.lsn, &self.ring).expect("a valid mtr");
        self.lsn += m.len() as u64;
        self.out.extend(m);
    }

    /// The file and its last LSN.
    fn finish(self) -> (Vec<u8>, u64) {
        (self.out, self.lsn)
    }
}

fn id(page: u32) -> Option<PageId> {
    Some(PageId { space: SPACE, page })
}

fn edit(e: PageEdit<'_>) -> (PageOp, Vec<u8>) {
    encode_page_edit(&e)
}

/// Pages in memory, handed over and back without copies, as the file store does.
#[derive(Clone)]
struct Mem(HashMap<(u32, u32), Vec<u8>>);

impl PageStore for Mem {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        self.0.get_mut(&(space, page)).map(|p| p.as_mut_slice())
    }
    fn take_page(&mut self, space: u32, page: u32) -> Option<Vec<u8>> {
        self.0.remove(&(space, page))
    }
    fn put_page(&mut self, space: u32, page: u32, bytes: Vec<u8>) {
        self.0.insert((space, page), bytes);
    }
}

/// `pages` pages of `size` bytes (page 0 with FSP `flags`, the rest index pages) at LSN 1000.
fn pages(size: usize, pages: u32, flags: u32) -> Mem {
    let mut m = HashMap::new();
    for no in 0..pages {
        let ty = if no == 0 { page::PAGE_TYPE_FSP_HDR } else { page::PAGE_TYPE_INDEX };
        let mut p = page::new_page(size, SPACE, no, ty, 1000);
        if no == 0 {
            p[page::FSP_SPACE_FLAGS..page::FSP_SPACE_FLAGS + 4].copy_from_slice(&flags.to_be_bytes());
        }
        m.insert((SPACE, no), p);
    }
    Mem(m)
}

/// Row updates: a few small writes to a leaf page and to an undo page per mtr.
fn small() -> Shape {
    let mut log = Log::new();
    for i in 0..60_000u32 {
        let row = [(i % 251) as u8; 12];
        let (op1, a) = edit(PageEdit::Write { offset: 120 + (i % 900) * 16, data: &row });
        let (op2, b) = edit(PageEdit::Write { offset: 4, data: &i.to_be_bytes() });
        let undo = [(i % 13) as u8; 40];
        let (op3, c) = edit(PageEdit::Write { offset: 200 + (i % 300) * 40, data: &undo });
        log.mtr(&[
            Record::Page { op: op1, page: id(3 + i % 400), payload: &a },
            Record::Page { op: op2, page: None, payload: &b },
            Record::Page { op: op3, page: id(500 + i % 20), payload: &c },
        ]);
    }
    let (l, last) = log.finish();
    (l, last, pages(16384, 520, 0x15))
}

/// BLOB pages written whole after INIT_PAGE; two versions in three freed by purge.
/// The payload is hex text, as the harness's `repeat(md5(..))` rows: bytes that
/// never end an mtr, which is what finding the log's middle must cope with.
fn blob() -> Shape {
    let mut log = Log::new();
    let body: Vec<u8> = (0..16000u32).map(|i| b"0123456789abcdef"[(i * 7 + i / 16) as usize % 16]).collect();
    for i in 0..900u32 {
        let p = 10 + i % 600;
        let (op, w) = edit(PageEdit::Write { offset: 0, data: &body[..16000 - (i % 7) as usize * 100] });
        log.mtr(&[
            Record::Page { op: PageOp::InitPage, page: id(p), payload: &[] },
            Record::Page { op, page: None, payload: &w },
        ]);
        if i % 3 != 0 {
            log.mtr(&[Record::Page { op: PageOp::FreePage, page: id(p), payload: &[] }]);
        }
    }
    let (l, last) = log.finish();
    (l, last, pages(16384, 620, 0x15))
}

/// An index bulk-built (INIT_PAGE, then many small same_page writes per page),
/// then dropped: most of its pages end freed.
fn ddl() -> Shape {
    let mut log = Log::new();
    let rec = [0x33u8; 26];
    for round in 0..3u32 {
        for p in 10..1510u32 {
            let edits: Vec<_> = (0..40u32)
                .map(|k| {
                    edit(PageEdit::Write { offset: if k == 0 { 100 } else { 4 }, data: &rec[..10 + (k % 16) as usize] })
                })
                .collect();
            let mut recs = vec![Record::Page { op: PageOp::InitPage, page: id(p), payload: &[] }];
            recs.extend(edits.iter().map(|(op, w)| Record::Page { op: *op, page: None, payload: w }));
            log.mtr(&recs);
        }
        if round < 2 {
            for p in 10..1510u32 {
                log.mtr(&[Record::Page { op: PageOp::FreePage, page: id(p), payload: &[] }]);
            }
        }
    }
    let (l, last) = log.finish();
    (l, last, pages(16384, 1510, 0x15))
}

/// ROW_FORMAT=COMPRESSED, 4 KiB pages in 2 KiB frames: small writes into the
/// frames and, one mtr in eight, a frame written whole (recompressed).
fn zip4k() -> Shape {
    // POST_ANTELOPE, ZIP_SSIZE 2 (2 KiB), ATOMIC_BLOBS, PAGE_SSIZE 3 (4 KiB).
    let flags = 1 | 2 << 1 | 1 << 5 | 3 << 6;
    let layout = page::layout_from_flags(flags).expect("compressed 4k flags");
    assert_eq!((layout.physical_size, layout.logical_size), (2048, 4096));
    let mut log = Log::new();
    let frame = vec![0x77u8; 1900];
    for i in 0..60_000u32 {
        let p = 3 + i % 2000;
        let small = [(i % 200) as u8; 10];
        let (op, w) = if i % 8 == 0 {
            edit(PageEdit::Write { offset: 100, data: &frame })
        } else {
            edit(PageEdit::Write { offset: 100 + (i % 150) * 12, data: &small })
        };
        log.mtr(&[Record::Page { op, page: id(p), payload: &w }]);
    }
    let (l, last) = log.finish();
    (l, last, pages(2048, 2003, flags))
}

/// Rows inserted and deleted: pages initialised, written, freed and initialised again.
fn churn() -> Shape {
    let mut log = Log::new();
    let row = [0x44u8; 60];
    for i in 0..40_000u32 {
        let p = 10 + i % 300;
        let (op, w) = edit(PageEdit::Write { offset: 120 + (i % 200) * 64, data: &row });
        if i % 50 == 0 {
            log.mtr(&[
                Record::Page { op: PageOp::InitPage, page: id(p), payload: &[] },
                Record::Page { op, page: None, payload: &w },
            ]);
        } else if i % 50 == 49 {
            log.mtr(&[Record::Page { op: PageOp::FreePage, page: id(p), payload: &[] }]);
        } else {
            log.mtr(&[Record::Page { op, page: id(p), payload: &w }]);
        }
    }
    let (l, last) = log.finish();
    (l, last, pages(16384, 310, 0x15))
}

fn bench_prepare(c: &mut Criterion) {
    let mut group = c.benchmark_group("prepare");
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(3));
    group.sample_size(20);
    let shapes: [Maker; 5] = [("small", small), ("blob", blob), ("ddl", ddl), ("zip4k", zip4k), ("churn", churn)];
    for (name, make) in shapes {
        let (log, last, store) = make();
        let mut check = store.clone();
        let r = apply_log(&log, last, &mut check).expect("the shape's log applies");
        assert!(r.records_applied > 0, "{name}: records applied");
        group.throughput(Throughput::Bytes(log.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || store.clone(),
                |mut s| apply_log(&log, last, &mut s).expect("applies"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_prepare);
criterion_main!(benches);
