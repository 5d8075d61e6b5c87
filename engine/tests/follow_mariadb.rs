//! The MariaDB 10.8+ redo follower against a simulated server writing a small
//! ring (deterministic: a seeded writer appends between polls, no sleeps, no
//! wall clock), and against a real MariaDB 10.11 log whose mariabackup copy
//! was captured from the same server state.
#![allow(clippy::disallowed_methods)] // tests read fixtures and write temp files directly

use innohot::events::{EventKind, Phase, Recorder, Silent};
use innohot::follow::mariadb::PROBE_INTERVAL;
use innohot::follow::mariadb::{read_log_header, FileOpRecord, MariaDbFollower, MariaDbFollowerParts};
use innohot::follow::{FileChange, PassEnd, RedoFollower};
use innohot::format::mariadb::{
    self, backup_creator, backup_log_header, encode_mtr, records, scan_mtr, Checkpoint, FileOp, Header, MtrScan,
    PageId, PageOp, Record, Ring, CHECKPOINT_1, CHECKPOINT_2, START_OFFSET,
};
use innohot::format::Lsn;
use innohot::io::mem::MemFile;
use innohot::io::{Clock, DirEntry, ManualClock, ReadPolicy, SourceFile, SourceFs};
use innohot::server::{LogWrittenProbe, ServerError};
use innohot::{BackupError, RedoLap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const VERSION: &str = "10.11.19-MariaDB-0+deb12u1";

type Shared = Arc<Mutex<Vec<u8>>>;

/// A file system whose `ib_logfile0` path can be pointed at another file (a rename over it).
struct MemFs {
    current: Mutex<Shared>,
}

impl SourceFs for MemFs {
    fn open(&self, _path: &Path, _policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>> {
        Ok(Box::new(MemFile::over(self.current.lock().unwrap().clone())))
    }
    fn list(&self, _dir: &Path) -> io::Result<Vec<DirEntry>> {
        Ok(Vec::new())
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(path.to_path_buf())
    }
    fn exists(&self, _path: &Path) -> bool {
        true
    }
}

/// A seeded stand-in for the server: writes mtrs into a small ring the way 10.11 does
/// (sequence bits, wrap, FILE_CHECKPOINT, checkpoint blocks) and never reuses ring space
/// ahead of its checkpoint.
struct Writer {
    file: Shared,
    ring: Ring,
    lsn: Lsn,
    cp: Checkpoint,
    next_slot: usize,
    /// Every mtr written: (start LSN, bytes as written).
    mtrs: Vec<(Lsn, Vec<u8>)>,
    rng: u64,
    /// mtrs that crossed the end of the file.
    crossed_wrap: usize,
    big_every: u64,
}

impl Writer {
    fn new(file_size: u64, first_lsn: Lsn, seed: u64) -> Writer {
        let ring = Ring::new(first_lsn, file_size).unwrap();
        let mut file = vec![0u8; file_size as usize];
        file[..512].copy_from_slice(&Header { first_lsn, creator: "MariaDB 10.11.19".into() }.encode());
        let mut w = Writer {
            file: Arc::new(Mutex::new(file)),
            ring,
            lsn: first_lsn,
            cp: Checkpoint { lsn: first_lsn, end_lsn: first_lsn },
            next_slot: CHECKPOINT_1,
            mtrs: Vec::new(),
            rng: seed | 1,
            crossed_wrap: 0,
            big_every: 13,
        };
        w.checkpoint();
        w
    }

    fn rand(&mut self, below: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % below.max(1)
    }

    /// Writes `bytes` at the ring position of `lsn` (across the end of the file if needed).
    fn put(&self, lsn: Lsn, bytes: &[u8]) {
        let mut f = self.file.lock().unwrap();
        let mut at = 0usize;
        for (off, n) in self.ring.spans(lsn, bytes.len() as u64) {
            f[off as usize..(off + n) as usize].copy_from_slice(&bytes[at..at + n as usize]);
            at += n as usize;
        }
    }

    fn append(&mut self, bytes: Vec<u8>) {
        assert!(
            self.lsn + bytes.len() as u64 <= self.cp.lsn + self.ring.capacity(),
            "the writer overran its checkpoint"
        );
        if self.ring.spans(self.lsn, bytes.len() as u64).len() == 2 {
            self.crossed_wrap += 1;
        }
        self.put(self.lsn, &bytes);
        self.mtrs.push((self.lsn, bytes.clone()));
        self.lsn += bytes.len() as u64;
    }

    /// FILE_CHECKPOINT(lsn) at the current LSN, then (once it is "durable") the checkpoint block.
    fn checkpoint(&mut self) {
        let lsn = self.lsn;
        let m = encode_mtr(&[Record::FileCheckpoint { lsn }], lsn, &self.ring).unwrap();
        self.cp = Checkpoint { lsn, end_lsn: lsn };
        self.append(m);
        let slot = self.next_slot;
        self.next_slot = if slot == CHECKPOINT_1 { CHECKPOINT_2 } else { CHECKPOINT_1 };
        self.file.lock().unwrap()[slot..slot + 64].copy_from_slice(&self.cp.encode());
    }

    /// The next pseudo-random mtr, encoded for the current LSN (not written).
    fn next_mtr(&mut self) -> Vec<u8> {
        let space = 5 + self.rand(3) as u32;
        let page = self.rand(1000) as u32;
        let name = format!("./db/t{space}.ibd").into_bytes();
        let mut payloads = Vec::new();
        let n = 1 + self.rand(5);
        for i in 0..n {
            let len = if self.rand(self.big_every) == 0 { 9000 + self.rand(12000) } else { 1 + self.rand(700) };
            payloads.push(vec![(i as u8).wrapping_mul(37) | 2; len as usize]);
        }
        let mut recs = Vec::new();
        if self.rand(8) == 0 {
            recs.push(Record::File { op: FileOp::Modify, space, name: &name, new_name: None });
        }
        recs.push(Record::Page { op: PageOp::InitPage, page: Some(PageId { space, page }), payload: &[] });
        for (i, p) in payloads.iter().enumerate() {
            let op = if i % 3 == 2 { PageOp::Memset } else { PageOp::Write };
            recs.push(Record::Page { op, page: None, payload: p });
        }
        encode_mtr(&recs, self.lsn, &self.ring).unwrap()
    }

    /// One more mtr; checkpoints first when the ring would otherwise overrun the checkpoint.
    fn write_one(&mut self) -> u64 {
        let mut m = self.next_mtr();
        if self.lsn + m.len() as u64 > self.cp.lsn + self.ring.capacity() {
            self.checkpoint();
            m = self.next_mtr();
        }
        let n = m.len() as u64;
        self.append(m);
        n
    }

    /// Writes mtrs until at least `n` more bytes of log exist.
    fn write_bytes(&mut self, n: u64) {
        let target = self.lsn + n;
        while self.lsn < target {
            self.write_one();
        }
    }

    /// Writes about `n` more bytes, never past LSN `limit` (the follower's lap point).
    fn write_within(&mut self, n: u64, limit: Lsn) {
        let target = self.lsn + n;
        while self.lsn < target {
            let m = self.next_mtr();
            // A forced checkpoint adds a 16-byte mtr first.
            if self.lsn + m.len() as u64 + 16 > limit {
                return;
            }
            if self.lsn + m.len() as u64 > self.cp.lsn + self.ring.capacity() {
                self.checkpoint();
                continue;
            }
            self.append(m);
        }
    }

    /// What the backup's ib_logfile0 must hold after copying [from, to).
    fn expected_copy(&self, from: Checkpoint, to: Lsn) -> Vec<u8> {
        let mut out = backup_log_header(from, &backup_creator(VERSION));
        for (lsn, bytes) in &self.mtrs {
            if *lsn >= from.lsn && *lsn < to {
                let mut b = bytes.clone();
                let t = b.len() - 5;
                b[t] = 1;
                out.extend_from_slice(&b);
            }
        }
        out
    }

    fn follower(&self, from: Checkpoint, read_step: usize) -> (MariaDbFollower, MemFile) {
        let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
        self.probed_follower(from, read_step, None, clock)
    }

    fn probed_follower(
        &self,
        from: Checkpoint,
        read_step: usize,
        probe: Option<Box<dyn LogWrittenProbe>>,
        clock: Arc<ManualClock>,
    ) -> (MariaDbFollower, MemFile) {
        let out = MemFile::default();
        let f = MariaDbFollower::start(MariaDbFollowerParts {
            source: Box::new(MemFile::over(self.file.clone())),
            source_path: PathBuf::from("/data/ib_logfile0"),
            probe,
            source_fs: None,
            file_size: self.ring.file_size(),
            checkpoint: from,
            server_version: VERSION.into(),
            out: Box::new(out.clone()),
            out_path: PathBuf::from("/backup/ib_logfile0"),
            read_step,
            progress: Arc::new(Silent),
            clock,
        })
        .expect("start");
        (f, out)
    }
}

/// 12288 + 64 KiB: a ring small enough to wrap often.
const SMALL: u64 = START_OFFSET + 65536;

/// Walks a backup ib_logfile0 as recovery would: (mtrs, end LSN).
fn walk_copy(copy: &[u8]) -> (usize, Lsn) {
    let (header, cp) = mariadb::parse_log_header(&copy[..12288]).unwrap();
    assert_eq!(header.first_lsn, cp.lsn);
    let ring = Ring::new(header.first_lsn, copy.len() as u64 + 1).unwrap();
    let (mut n, mut lsn, mut at) = (0, cp.lsn, START_OFFSET as usize);
    while let MtrScan::Mtr { len, records_len } = scan_mtr(&copy[at..], lsn, &ring) {
        assert_eq!(copy[at + records_len], 1);
        assert!(records(&copy[at..at + records_len]).all(|r| r.is_ok()));
        n += 1;
        lsn += len as u64;
        at += len;
    }
    (n, lsn)
}

#[test]
fn copies_a_ring_across_many_wraps_poll_by_poll() {
    for (seed, read_step) in [(1u64, 4096usize), (2, 65536), (3, 700), (4, 1 << 20)] {
        let mut w = Writer::new(SMALL, 20_000 + seed * 977, seed);
        w.write_bytes(30_000);
        w.checkpoint();
        let start = w.cp;
        w.write_bytes(10_000);
        let (mut f, out) = w.follower(start, read_step);
        assert_eq!(f.start_lsn(), start.lsn);
        assert_eq!(f.target_name(), "ib_logfile0");
        assert_eq!(out.bytes(), w.expected_copy(start, start.lsn), "only the header before the first poll");
        for round in 0..60 {
            if round > 0 {
                // Up to the whole ring between two polls, but never over the copy position.
                let n = 1 + w.rand(70_000);
                let limit = f.copied_lsn() + w.ring.capacity();
                w.write_within(n, limit);
            }
            let r = f.poll(false).unwrap_or_else(|e| panic!("seed {seed} round {round}: {e}"));
            // At the true end the bytes of the previous lap read as a bad sequence bit, or
            // (when a stale byte happens to equal it) as a CRC failure.
            assert!(matches!(r.end, PassEnd::CaughtUp | PassEnd::Unreadable), "{:?}", r.end);
            assert_eq!(f.copied_lsn(), w.lsn, "seed {seed} round {round}");
            assert_eq!(r.scanned_lsn, w.lsn);
            assert_eq!(out.bytes(), w.expected_copy(start, w.lsn), "seed {seed} round {round}");
        }
        assert!(w.crossed_wrap >= 10, "only {} mtrs crossed the end of the ring", w.crossed_wrap);
        assert!((w.lsn - start.lsn) / w.ring.capacity() >= 10, "the writer lapped the ring fewer than 10 times");
        assert!(w.mtrs.iter().any(|(_, m)| m.len() > 9000), "no mtr longer than two read steps");
        let r = f.poll(true).unwrap();
        assert_eq!(r.copied, 0);
        assert!(f.is_finished());
        assert_eq!(f.last_lsn(), w.lsn);
        assert_eq!(out.syncs(), 1);
        assert!(matches!(f.poll(false), Err(BackupError::FollowerGone(_))));
        let copy = out.bytes();
        let expected_mtrs = w.mtrs.iter().filter(|(l, _)| *l >= start.lsn).count();
        assert_eq!(walk_copy(&copy), (expected_mtrs, w.lsn));
    }
}

#[test]
fn a_partial_mtr_is_copied_only_once_complete() {
    let mut w = Writer::new(SMALL, 30_000, 7);
    // A lap of old log first, so stale mtrs lie behind every partial write.
    w.write_bytes(2 * 65536);
    w.checkpoint();
    let start = w.cp;
    let (mut f, out) = w.follower(start, 4096);
    f.poll(false).unwrap();
    let mut crossing_seen = false;
    for _ in 0..40 {
        let m = w.next_mtr();
        if w.lsn + m.len() as u64 > w.cp.lsn + w.ring.capacity() {
            w.checkpoint();
            f.poll(false).unwrap();
            continue;
        }
        crossing_seen |= w.ring.spans(w.lsn, m.len() as u64).len() == 2;
        let before = f.copied_lsn();
        for cut in [1, m.len() / 3, m.len() / 2, m.len() - 5, m.len() - 4, m.len() - 1] {
            w.put(w.lsn, &m[..cut]);
            let r = f.poll(false).unwrap();
            assert_eq!((r.copied, f.copied_lsn()), (0, before), "copied a partial mtr ({cut} of {} bytes)", m.len());
        }
        w.append(m);
        f.poll(false).unwrap();
        assert_eq!(f.copied_lsn(), w.lsn);
    }
    assert!(crossing_seen, "no partial mtr crossed the end of the ring");
    // In the final pass too: a torn last mtr is left out, everything before it is in.
    let m = w.next_mtr();
    w.put(w.lsn, &m[..m.len() - 2]);
    f.poll(true).unwrap();
    assert_eq!(f.last_lsn(), w.lsn);
    assert_eq!(out.bytes(), w.expected_copy(start, w.lsn));
}

/// `Innodb_lsn_flushed` as a test sets it.
struct Flushed(Arc<AtomicU64>);

impl LogWrittenProbe for Flushed {
    fn status_lsn(&mut self, variable: &str) -> Result<Lsn, ServerError> {
        assert_eq!(variable, "Innodb_lsn_flushed");
        Ok(self.0.load(Ordering::SeqCst))
    }
}

/// What a reader sees when it catches the server's write in flight: after the
/// real end, whole mtrs with valid CRCs that are not the server's (stale buffer
/// bytes). Then the real write lands over them. Returns the real mtr.
fn phantom_then_real(w: &mut Writer) -> Vec<u8> {
    let phantom = w.next_mtr();
    let mut real = w.next_mtr();
    while real == phantom {
        real = w.next_mtr();
    }
    w.put(w.lsn, &phantom);
    real
}

#[test]
fn a_stale_tail_past_what_the_server_says_is_written_is_never_copied() {
    let mut w = Writer::new(SMALL, 40_000, 11);
    w.write_bytes(2 * 65536);
    w.checkpoint();
    let start = w.cp;
    let flushed = Arc::new(AtomicU64::new(w.lsn));
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
    let probe: Box<dyn LogWrittenProbe> = Box::new(Flushed(flushed.clone()));
    let (mut f, out) = w.probed_follower(start, 4096, Some(probe), clock.clone());
    // The same history, followed without a probe: it takes the stale tail.
    let (mut trusting, trusting_out) = w.follower(start, 4096);
    f.poll(false).unwrap();
    let mut trusting_failed = false;
    for round in 0..40 {
        if w.lsn + 30_000 > w.cp.lsn + w.ring.capacity() {
            w.checkpoint();
            flushed.store(w.lsn, Ordering::SeqCst);
        }
        let real = phantom_then_real(&mut w);
        clock.sleep(PROBE_INTERVAL);
        f.poll(false).unwrap();
        assert!(f.copied_lsn() <= w.lsn, "round {round}: copied past Innodb_lsn_flushed");
        assert_eq!(out.bytes(), w.expected_copy(start, f.copied_lsn()), "round {round}");
        trusting_failed |= trusting.poll(false).is_err();
        w.append(real);
        flushed.store(w.lsn, Ordering::SeqCst);
        // Asked again only after PROBE_INTERVAL: until then the new mtr waits.
        f.poll(false).unwrap();
        clock.sleep(PROBE_INTERVAL);
        f.poll(false).unwrap();
        assert_eq!(f.copied_lsn(), w.lsn, "round {round}");
        assert_eq!(out.bytes(), w.expected_copy(start, w.lsn), "round {round}");
        if !trusting_failed {
            trusting_failed |= trusting.poll(false).is_err();
        }
    }
    f.poll(true).unwrap();
    assert_eq!(f.last_lsn(), w.lsn);
    assert_eq!(out.bytes(), w.expected_copy(start, w.lsn));
    // Without the probe the copy went wrong: an error, or bytes that are not the server's.
    assert!(
        trusting_failed || trusting_out.bytes() != w.expected_copy(start, w.lsn),
        "a follower without a probe must take the stale tail"
    );
}

#[test]
fn an_answer_inside_an_mtr_holds_that_mtr_back_without_an_error() {
    let mut w = Writer::new(SMALL, 40_000, 13);
    w.write_bytes(20_000);
    w.checkpoint();
    let start = w.cp;
    let before = w.lsn;
    w.write_one();
    let flushed = Arc::new(AtomicU64::new(before + 3));
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
    let probe: Box<dyn LogWrittenProbe> = Box::new(Flushed(flushed.clone()));
    let (mut f, out) = w.probed_follower(start, 4096, Some(probe), clock.clone());
    f.poll(false).expect("an answer inside an mtr is no overwrite");
    assert_eq!(f.copied_lsn(), before);
    flushed.store(w.lsn, Ordering::SeqCst);
    clock.sleep(PROBE_INTERVAL);
    f.poll(false).unwrap();
    assert_eq!(f.copied_lsn(), w.lsn);
    assert_eq!(out.bytes(), w.expected_copy(start, w.lsn));
}

#[test]
fn a_server_that_says_more_is_written_than_the_file_holds_is_an_error_not_a_wait() {
    let mut w = Writer::new(SMALL, 40_000, 12);
    w.write_bytes(20_000);
    w.checkpoint();
    let start = w.cp;
    w.write_bytes(5_000);
    let flushed = Arc::new(AtomicU64::new(w.lsn + 100));
    let clock = Arc::new(ManualClock::starting_at(1_700_000_000));
    let (mut f, _out) = w.probed_follower(start, 4096, Some(Box::new(Flushed(flushed))), clock);
    match f.poll(false) {
        Err(BackupError::RedoLapped { lsn: copied_lsn, evidence: RedoLap::ServerAhead { detail, .. }, .. }) => {
            assert_eq!(copied_lsn, w.lsn);
            assert!(detail.contains("Innodb_lsn_flushed"), "{detail}");
        }
        other => panic!("expected RedoLapped, got {other:?}"),
    }
}

#[test]
fn a_lap_fails_the_first_poll_after_it() {
    for seed in 1..=20u64 {
        let mut w = Writer::new(SMALL, 50_000, seed);
        w.write_bytes(20_000);
        w.checkpoint();
        let start = w.cp;
        let (mut f, _out) = w.follower(start, 8192);
        w.write_bytes(30_000);
        f.poll(false).unwrap();
        let copied = f.copied_lsn();
        // Up to the last mtr that still leaves the copy position intact: no lap.
        loop {
            let m = w.next_mtr();
            if w.lsn + m.len() as u64 > copied + w.ring.capacity()
                || w.lsn + m.len() as u64 > w.cp.lsn + w.ring.capacity()
            {
                break;
            }
            w.append(m);
        }
        f.poll(false).unwrap_or_else(|e| panic!("seed {seed}: no lap yet, but {e}"));
        assert_eq!(f.copied_lsn(), w.lsn);
        let copied = f.copied_lsn();
        // Now overwrite the copy position by as little as one mtr.
        while w.lsn <= copied + w.ring.capacity() {
            w.write_one();
        }
        match f.poll(false) {
            Err(BackupError::RedoLapped {
                lsn: copied_lsn,
                ring_bytes,
                evidence: RedoLap::ServerAhead { server_lsn, .. },
            }) => {
                assert_eq!(copied_lsn, copied);
                assert!(server_lsn > copied && server_lsn <= w.lsn, "seed {seed}: server LSN {server_lsn}");
                assert_eq!(ring_bytes, 65536);
            }
            other => panic!("seed {seed}: the lap went unnoticed: {other:?}"),
        }
    }
}

#[test]
fn a_lap_of_more_than_the_ring_fails_before_reading() {
    let mut w = Writer::new(SMALL, 50_000, 99);
    w.checkpoint();
    let start = w.cp;
    let (mut f, _out) = w.follower(start, 65536);
    w.write_bytes(3 * 65536);
    w.checkpoint();
    let e = f.poll(false).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, BackupError::RedoLapped { lsn, .. } if lsn == start.lsn), "{msg}");
    assert!(msg.contains("innodb_log_file_size") && msg.contains("wrapped"), "{msg}");
    // A follower started from a checkpoint the ring no longer holds fails at once.
    match MariaDbFollower::start(MariaDbFollowerParts {
        source: Box::new(MemFile::over(w.file.clone())),
        source_path: PathBuf::from("/data/ib_logfile0"),
        probe: None,
        source_fs: None,
        file_size: SMALL,
        checkpoint: start,
        server_version: VERSION.into(),
        out: Box::new(MemFile::default()),
        out_path: PathBuf::from("/backup/ib_logfile0"),
        read_step: 4096,
        progress: Arc::new(Silent),
        clock: Arc::new(ManualClock::starting_at(1_700_000_000)),
    }) {
        Err(BackupError::RedoLapped { .. }) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("started from an overwritten checkpoint"),
    }
}

#[test]
fn a_resized_log_is_noticed() {
    // The open file changes size.
    let mut w = Writer::new(SMALL, 40_000, 5);
    w.checkpoint();
    let (mut f, _) = w.follower(w.cp, 4096);
    w.write_bytes(1000);
    f.poll(false).unwrap();
    w.file.lock().unwrap().resize(SMALL as usize * 2, 0);
    let msg = match f.poll(false) {
        Err(e @ BackupError::RedoResized { .. }) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(msg.contains("ib_logfile101") && msg.contains("size changed"), "{msg}");

    // The log is recreated in place with a new first LSN.
    let mut w = Writer::new(SMALL, 40_000, 6);
    w.checkpoint();
    let (mut f, _) = w.follower(w.cp, 4096);
    w.file.lock().unwrap()[..512].copy_from_slice(&Header { first_lsn: 99_999, creator: "MariaDB".into() }.encode());
    assert!(matches!(f.poll(false), Err(BackupError::RedoResized { .. })));

    // ib_logfile101 renamed over ib_logfile0: the open handle still reads the old file, so
    // only opening the path again shows the new one.
    let mut w = Writer::new(SMALL, 40_000, 7);
    w.checkpoint();
    let fs = Arc::new(MemFs { current: Mutex::new(w.file.clone()) });
    let out = MemFile::default();
    let mut f = MariaDbFollower::start(MariaDbFollowerParts {
        source: Box::new(MemFile::over(w.file.clone())),
        source_path: PathBuf::from("/data/ib_logfile0"),
        probe: None,
        source_fs: Some(fs.clone()),
        file_size: SMALL,
        checkpoint: w.cp,
        server_version: VERSION.into(),
        out: Box::new(out),
        out_path: PathBuf::from("/backup/ib_logfile0"),
        read_step: 4096,
        progress: Arc::new(Silent),
        clock: Arc::new(ManualClock::starting_at(1_700_000_000)),
    })
    .unwrap();
    w.write_bytes(3000);
    f.poll(false).unwrap();
    let resized = Writer::new(START_OFFSET + 131072, w.lsn, 8);
    *fs.current.lock().unwrap() = resized.file.clone();
    let msg = match f.poll(false) {
        Err(e @ BackupError::RedoResized { .. }) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(msg.contains("/data/ib_logfile0") && msg.contains("follows the old one"), "{msg}");
}

#[test]
fn start_refuses_an_encrypted_log_by_name() {
    let mut file = vec![0u8; SMALL as usize];
    file[..512].copy_from_slice(&std::fs::read(data("encrypted_header.bin")).unwrap());
    let r = MariaDbFollower::start(MariaDbFollowerParts {
        source: Box::new(MemFile::over(Arc::new(Mutex::new(file)))),
        source_path: PathBuf::from("/data/ib_logfile0"),
        probe: None,
        source_fs: None,
        file_size: SMALL,
        checkpoint: Checkpoint { lsn: 44404, end_lsn: 44404 },
        server_version: VERSION.into(),
        out: Box::new(MemFile::default()),
        out_path: PathBuf::from("/backup/ib_logfile0"),
        read_step: 4096,
        progress: Arc::new(Silent),
        clock: Arc::new(ManualClock::starting_at(1_700_000_000)),
    });
    let msg = match r {
        Err(e) => e.to_string(),
        Ok(_) => panic!("an encrypted log was accepted"),
    };
    assert!(msg.contains("/data/ib_logfile0") && msg.contains("encrypted"), "{msg}");
}

#[test]
fn poll_events_follow_the_phases() {
    let mut w = Writer::new(SMALL, 40_000, 11);
    w.checkpoint();
    let rec = Arc::new(Recorder::default());
    let out = MemFile::default();
    let mut f = MariaDbFollower::start(MariaDbFollowerParts {
        source: Box::new(MemFile::over(w.file.clone())),
        source_path: PathBuf::from("/data/ib_logfile0"),
        probe: None,
        source_fs: None,
        file_size: SMALL,
        checkpoint: w.cp,
        server_version: VERSION.into(),
        out: Box::new(out),
        out_path: PathBuf::from("/backup/ib_logfile0"),
        read_step: 4096,
        progress: rec.clone(),
        clock: Arc::new(ManualClock::starting_at(1_700_000_000)),
    })
    .unwrap();
    w.write_bytes(5000);
    f.poll(false).unwrap();
    f.poll(false).unwrap(); // nothing new: no event
    w.write_bytes(5000);
    f.poll(false).unwrap();
    f.poll(true).unwrap();
    let phases: Vec<_> = rec
        .take()
        .into_iter()
        .map(|e| match e.kind {
            EventKind::LogScanned { lsn, .. } => (e.phase, lsn),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(phases.len(), 3);
    assert_eq!(phases[0].0, Phase::FirstLogCopy);
    assert_eq!(phases[1].0, Phase::LogFollows);
    assert_eq!(phases[2], (Phase::StopLogCopy, w.lsn));
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mariadb1011").join(name)
}

/// The scratch server's 4 MiB ib_logfile0 rebuilt from the captured pieces (README.md there).
fn real_server_log() -> Vec<u8> {
    let mut f = vec![0u8; 4 << 20];
    let header = std::fs::read(data("server_header.bin")).unwrap();
    let low = std::fs::read(data("server_ring_12288.bin")).unwrap();
    let high = std::fs::read(data("server_ring_4071424.bin")).unwrap();
    f[..12288].copy_from_slice(&header);
    f[12288..12288 + low.len()].copy_from_slice(&low);
    f[4_071_424..].copy_from_slice(&high);
    f
}

#[test]
fn a_real_log_copies_byte_for_byte_like_mariabackup() {
    let mariabackup = std::fs::read(data("mariabackup_ib_logfile0")).unwrap();
    for read_step in [512, 4096, 65536, 1 << 20] {
        let file = Arc::new(Mutex::new(real_server_log()));
        let mut src = MemFile::over(file.clone());
        let (header, cp) = read_log_header(&mut src, Path::new("ib_logfile0")).unwrap();
        assert_eq!(header.first_lsn, 44404);
        assert_eq!(cp, Checkpoint { lsn: 8_287_165, end_lsn: 8_287_165 });
        let out = MemFile::default();
        let mut f = MariaDbFollower::start(MariaDbFollowerParts {
            source: Box::new(src),
            source_path: PathBuf::from("ib_logfile0"),
            probe: None,
            source_fs: None,
            file_size: 4 << 20,
            checkpoint: cp,
            server_version: VERSION.into(),
            out: Box::new(out.clone()),
            out_path: PathBuf::from("backup/ib_logfile0"),
            read_step,
            progress: Arc::new(Silent),
            clock: Arc::new(ManualClock::starting_at(1_700_000_000)),
        })
        .unwrap();
        let r = f.poll(true).unwrap();
        assert_eq!(r.copied, 8_456_447 - 8_287_165);
        assert_eq!(f.last_lsn(), 8_456_447, "mariabackup's last_lsn");
        assert!(out.bytes() == mariabackup, "read step {read_step}: the copy differs from mariabackup's");
        let ops = f.take_file_ops();
        let got: Vec<_> = ops.iter().map(|o| (o.op, o.space, o.name.as_str(), o.new_name.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (FileChange::Modify, 7, "./w/t_new.ibd", None),
                (FileChange::Create, 7, "./w/t_new.ibd", None),
                (FileChange::Modify, 1, "./mysql/innodb_table_stats.ibd", None),
                (FileChange::Modify, 2, "./mysql/innodb_index_stats.ibd", None),
                (FileChange::Rename, 7, "./w/t_new.ibd", Some("./w/t_renamed.ibd")),
                (FileChange::Delete, 6, "./w/filler.ibd", None),
            ]
        );
        assert_eq!(
            ops[0],
            FileOpRecord {
                lsn: 8_287_758,
                op: FileChange::Modify,
                space: 7,
                name: "./w/t_new.ibd".into(),
                new_name: None
            }
        );
        assert!(ops.windows(2).all(|p| p[0].lsn <= p[1].lsn));
    }
}

/// Copies a real, stopped server's ib_logfile0 the way a backup would, for checking the
/// result with `mariabackup --prepare` by hand (see tests/data/mariadb1011/README.md):
/// INNOHOT_FOLLOW_MARIADB_SRC=<datadir>/ib_logfile0 INNOHOT_FOLLOW_MARIADB_OUT=<dir> \
/// [INNOHOT_FOLLOW_MARIADB_CHECKPOINT=<lsn>,<end_lsn>] [INNOHOT_FOLLOW_MARIADB_UNTIL=<stop file>] cargo test -p innohot --test follow_mariadb -- --ignored copy_a_real_log_into_a_directory
#[test]
#[ignore = "needs INNOHOT_FOLLOW_MARIADB_SRC and INNOHOT_FOLLOW_MARIADB_OUT"]
fn copy_a_real_log_into_a_directory() {
    use innohot::io::real::{RealSourceFs, RealTargetDir};
    use innohot::io::TargetDir;
    let src = PathBuf::from(std::env::var("INNOHOT_FOLLOW_MARIADB_SRC").expect("INNOHOT_FOLLOW_MARIADB_SRC"));
    let out_dir = PathBuf::from(std::env::var("INNOHOT_FOLLOW_MARIADB_OUT").expect("INNOHOT_FOLLOW_MARIADB_OUT"));
    let version = std::env::var("INNOHOT_FOLLOW_MARIADB_VERSION").unwrap_or_else(|_| VERSION.into());
    let fs = Arc::new(RealSourceFs);
    let mut source = fs.open(&src, ReadPolicy { direct: false, fadvise: false }).unwrap();
    let (_, mut cp) = read_log_header(&mut *source, &src).unwrap();
    // A hot copy starts from the checkpoint read before the data files were copied.
    if let Ok(v) = std::env::var("INNOHOT_FOLLOW_MARIADB_CHECKPOINT") {
        let (lsn, end) = v.split_once(',').expect("INNOHOT_FOLLOW_MARIADB_CHECKPOINT=lsn,end_lsn");
        cp = Checkpoint { lsn: lsn.parse().unwrap(), end_lsn: end.parse().unwrap() };
    }
    let file_size = source.size().unwrap();
    let target = RealTargetDir::create(&out_dir, false).unwrap();
    let out = target.create_file(Path::new("ib_logfile0")).unwrap();
    let mut f = MariaDbFollower::start(MariaDbFollowerParts {
        source,
        source_path: src.clone(),
        probe: None,
        source_fs: Some(fs),
        file_size,
        checkpoint: cp,
        server_version: version,
        out,
        out_path: out_dir.join("ib_logfile0"),
        read_step: 65536,
        progress: Arc::new(Silent),
        clock: Arc::new(ManualClock::starting_at(1_700_000_000)),
    })
    .unwrap();
    // A hot copy: poll every 200 ms until the file INNOHOT_FOLLOW_MARIADB_UNTIL appears.
    if let Ok(until) = std::env::var("INNOHOT_FOLLOW_MARIADB_UNTIL") {
        println!("following {} from checkpoint {} (end {})", src.display(), cp.lsn, cp.end_lsn);
        while !Path::new(&until).exists() {
            f.poll(false).unwrap();
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    f.poll(true).unwrap();
    println!(
        "copied {} from checkpoint {} to LSN {}; the server's latest checkpoint is {}",
        src.display(),
        cp.lsn,
        f.last_lsn(),
        f.server_checkpoint().lsn
    );
}
