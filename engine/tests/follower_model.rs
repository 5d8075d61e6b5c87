//! Model-based test of the MySQL 5.7 redo follower (`Mysql57Follower`) against an
//! in-memory model of a 5.7 redo ring (docs/FORMATS.md §2-3).
//!
//! The model writer keeps an LSN that always sits in a block's data area
//! [12, 508) as 5.7 does (a block that fills to 508 gets data_len 512 and the
//! LSN jumps 16 bytes to the next block's data start), appends one valid
//! mini-transaction per Append (MLOG_WRITE_STRING of pattern bytes, then
//! MLOG_MULTI_REC_END, or lone MLOG_MULTI_REC_END bytes when short), and on a flush writes every block from the one holding the last flushed LSN
//! up to the current partial one, with block number, data_len,
//! first_rec_group, checkpoint number, the flush bit on the first block of the
//! write and CRC-32C, at ring offsets it computes itself (and checks against
//! `RingGeometry::lsn_offset`). A torn flush stops part-way: some blocks land,
//! the next one is half new, half old (a poll that ran while the server wrote).
//!
//! The writer records, for every ring slot, what is on disk there (never
//! written / a valid image of block LSN x / torn) and the newest LSN ever
//! written there, plus the truth: the latest valid image of every block LSN.
//! From that the harness knows what each poll must do:
//! - "lap happened" = the slot of the block at `copied_lsn()` was written with
//!   a later LSN. A poll that returns `RedoLapped` when no lap happened is a
//!   false alarm; a poll that returns Ok while that slot holds a valid later
//!   block missed a lap (a torn later block is unreadable: nobody can tell).
//! - otherwise the pass copies every full block up to the first partial,
//!   unreadable or stale one, reports exactly that end and scanned LSN, and
//!   the copy (`xtrabackup_logfile` from offset 2048) equals the truth from
//!   align_down(checkpoint LSN) to `copied_lsn()`, byte for byte, and holds
//!   nothing more (the partial block waits for the final pass).
//! - `copied_lsn()` never decreases; the reported scanned LSN never exceeds
//!   what the writer has validly on disk.
//! - the final pass (in teardown, unless a lap was already reported) copies
//!   the partial block as it is on disk: block number, data_len ==
//!   last_lsn % 512 and data equal to the truth's latest image.
//! - the follower's record scanner sees only valid record groups from the
//!   checkpoint on, so it must never stop with a note; LogScanned events carry
//!   the pass's scanned LSN and byte count.
//!
//! Ops are generated and shrunk by proptest-state-machine (`Model` is the
//! reference: LSN arithmetic only; `Harness` holds the byte-level ring and the
//! follower). The property runs through `TestRunner` rather than
//! `prop_state_machine!` so that it can assert afterwards that the generator
//! reached laps, torn and stale ends, long follows and the 2^30 block-number
//! wrap. More cases: `PROPTEST_CASES=60000 cargo test -p innohot --test follower_model`.

use innohot::events::{EventKind, Recorder};
use innohot::follow::mysql57::{read_stable_header, Mysql57Follower, Mysql57FollowerParts};
use innohot::follow::{PassEnd, RedoFollower, DEFAULT_READ_STEP};
use innohot::format::mysql57::mlog::{encode_record, Record};
use innohot::format::mysql57::{
    block_checksum_kind, stamp_block, xtrabackup_creator, BlockChecksum, Checkpoint, LogFileHeader, RingGeometry,
};
use innohot::io::mem::MemFile;
use innohot::io::{ManualClock, SourceFile};
use innohot::{BackupError, RedoLap};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const BLK: u64 = 512;
const HDR: u64 = 12;
const DATA_END: u64 = 508;
/// Record bytes per block.
const PER_BLOCK: u64 = DATA_END - HDR;
const FILE_HDR: u64 = 2048;
const SERVER_CREATOR: &str = "MySQL 5.7.17";
const MLOG_MULTI_REC_END: u8 = 31;

fn align_down(lsn: u64) -> u64 {
    lsn - lsn % BLK
}

/// Written here again rather than taken from the engine: ((lsn / 512) & 0x3FFFFFFF) + 1.
fn block_no(lsn: u64) -> u32 {
    (((lsn / BLK) & 0x3FFF_FFFF) + 1) as u32
}

/// The LSN after `n` record bytes appended at `lsn` (5.7: skip trailer + header at block ends).
fn advance(lsn: u64, n: u64) -> u64 {
    let total = lsn % BLK - HDR + n;
    align_down(lsn) + total / PER_BLOCK * BLK + HDR + total % PER_BLOCK
}

/// Record bytes between two data-area LSNs.
fn data_between(from: u64, to: u64) -> u64 {
    (align_down(to) - align_down(from)) / BLK * PER_BLOCK + to % BLK - from % BLK
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// One mini-transaction of exactly `len` bytes: an MLOG_WRITE_STRING of pattern bytes, then
/// MLOG_MULTI_REC_END (shorter than 8: that many MLOG_MULTI_REC_END bytes), so the follower's
/// record scanner can decode every group it is handed.
fn mtr_bytes(len: u64, seed: u8, start: u64) -> Vec<u8> {
    let len = len as usize;
    if len < 8 {
        return vec![MLOG_MULTI_REC_END; len];
    }
    let data: Vec<u8> = (0..len as u64 - 8).map(|k| pattern(seed, start, k)).collect();
    let rec = Record::WriteString { space: u32::from(seed % 100), page: u32::from(seed / 3), offset: 38, data };
    let mut out = Vec::with_capacity(len);
    encode_record(&rec, false, &mut out);
    out.push(MLOG_MULTI_REC_END);
    assert_eq!(out.len(), len, "mtr_bytes framing");
    out
}

fn pattern(seed: u8, start: u64, k: u64) -> u8 {
    let mut z =
        start.wrapping_add(k).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(seed).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 31;
    z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    (z >> 29) as u8
}

// ---------------------------------------------------------------- fake I/O

type Shared = Arc<Mutex<Vec<u8>>>;

// ---------------------------------------------------------------- model ring

/// What one ring slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OnDisk {
    Never,
    Valid {
        lsn: u64,
        data_len: u16,
    },
    /// A write that did not finish: checksum fails.
    Torn,
}

/// What a pass starting at `copied_lsn()` must do, read off the ring's slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Copies the full blocks before `at`, then finds block `found` where block `at` belongs.
    Lapped {
        at: u64,
        found: u64,
    },
    Stops {
        copied_to: u64,
        scanned: u64,
        end: PassEnd,
    },
}

struct Ring {
    geom: RingGeometry,
    files: Vec<Shared>,
    blocks_per_file: u64,
    ring_blocks: u64,
    /// Block-aligned LSN of the writer's first block and its ring slot.
    base_lsn: u64,
    base_slot: u64,
    lsn: u64,
    /// LSN at the last complete flush.
    flushed: u64,
    /// The log buffer: blocks from align_down(flushed) to align_down(lsn).
    buf: Vec<[u8; 512]>,
    cp: Checkpoint,
    slots: Vec<OnDisk>,
    /// Newest block LSN whose write (valid or torn) reached each slot.
    ever: Vec<u64>,
    /// Latest valid image of every block, from base_lsn, contiguous.
    truth: Vec<u8>,
    /// Highest LSN validly on disk (end of the data of the highest valid block written).
    frontier: u64,
    /// A torn flush happened and no complete flush since.
    torn_pending: bool,
}

fn new_block(block_lsn: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[0..4].copy_from_slice(&block_no(block_lsn).to_be_bytes());
    b[4..6].copy_from_slice(&(HDR as u16).to_be_bytes());
    b
}

impl Ring {
    fn new(files: u32, file_size: u64, first_lsn: u64, first_slot: u64, cp_no: u64) -> Ring {
        let geom = RingGeometry::new(files, file_size).unwrap();
        let blocks_per_file = (file_size - FILE_HDR) / BLK;
        let ring_blocks = blocks_per_file * u64::from(files);
        assert_eq!(ring_blocks, geom.ring_blocks());
        let base_lsn = align_down(first_lsn);
        // The first block already holds older records up to first_lsn.
        let mut first = new_block(base_lsn);
        for at in HDR..first_lsn % BLK {
            first[at as usize] = pattern(0xAA, base_lsn, at);
        }
        first[4..6].copy_from_slice(&((first_lsn % BLK) as u16).to_be_bytes());
        let mut ring = Ring {
            geom,
            files: (0..files).map(|_| Arc::new(Mutex::new(vec![0u8; file_size as usize]))).collect(),
            blocks_per_file,
            ring_blocks,
            base_lsn,
            base_slot: first_slot,
            lsn: first_lsn,
            flushed: first_lsn,
            buf: vec![first],
            cp: Checkpoint { no: 0, lsn: first_lsn, offset: 0, log_buf_size: 16 << 20 },
            slots: vec![OnDisk::Never; ring_blocks as usize],
            ever: vec![0; ring_blocks as usize],
            truth: Vec::new(),
            frontier: 0,
            torn_pending: false,
        };
        for i in 0..u64::from(files) {
            let start_lsn = ring.lsn_of_slot(i * blocks_per_file);
            let h = LogFileHeader { format: 1, start_lsn, creator: SERVER_CREATOR.into() }.encode();
            ring.files[i as usize].lock().unwrap()[..512].copy_from_slice(&h);
        }
        // The previous checkpoint fills the other slot.
        ring.checkpoint(first_lsn, cp_no - 1);
        ring
    }

    fn capacity(&self) -> u64 {
        self.ring_blocks * BLK
    }

    fn slot_of(&self, block_lsn: u64) -> usize {
        let d = (i128::from(block_lsn) - i128::from(self.base_lsn)) / i128::from(BLK);
        (i128::from(self.base_slot) + d).rem_euclid(i128::from(self.ring_blocks)) as usize
    }

    fn lsn_of_slot(&self, slot: u64) -> u64 {
        self.base_lsn + (slot + self.ring_blocks - self.base_slot) % self.ring_blocks * BLK
    }

    /// (file, offset in file) of a slot.
    fn place(&self, slot: usize) -> (usize, u64) {
        let s = slot as u64;
        ((s / self.blocks_per_file) as usize, FILE_HDR + s % self.blocks_per_file * BLK)
    }

    fn real_offset(&self, lsn: u64) -> u64 {
        let (file, off) = self.place(self.slot_of(align_down(lsn)));
        file as u64 * self.geom.file_size + off + lsn % BLK
    }

    fn checkpoint(&mut self, lsn: u64, no: u64) {
        self.cp = Checkpoint { no, lsn, offset: self.real_offset(lsn), log_buf_size: 16 << 20 };
        let at = self.cp.slot_offset();
        self.files[0].lock().unwrap()[at..at + 512].copy_from_slice(&self.cp.encode());
    }

    fn append(&mut self, len: u64, seed: u8) {
        let start = self.lsn;
        let cur = self.buf.last_mut().unwrap();
        if be16(cur, 6) == 0 {
            cur[6..8].copy_from_slice(&((start % BLK) as u16).to_be_bytes());
        }
        let bytes = mtr_bytes(len, seed, start);
        let (mut left, mut k) = (len, 0usize);
        while left > 0 {
            let off = self.lsn % BLK;
            let take = left.min(DATA_END - off);
            let cp_no = self.cp.no as u32;
            let cur = self.buf.last_mut().unwrap();
            cur[off as usize..(off + take) as usize].copy_from_slice(&bytes[k..k + take as usize]);
            k += take as usize;
            self.lsn += take;
            left -= take;
            if self.lsn % BLK == DATA_END {
                // Full: 5.7 fixes data_len and the checkpoint number now and opens the next block.
                cur[4..6].copy_from_slice(&(BLK as u16).to_be_bytes());
                cur[8..12].copy_from_slice(&cp_no.to_be_bytes());
                let next = align_down(self.lsn) + BLK;
                self.buf.push(new_block(next));
                self.lsn = next + HDR;
            } else {
                cur[4..6].copy_from_slice(&((self.lsn % BLK) as u16).to_be_bytes());
            }
        }
    }

    /// The block image a flush writes for buffer block `i`.
    fn image(&self, i: usize) -> [u8; 512] {
        let mut img = self.buf[i];
        if i + 1 == self.buf.len() {
            img[4..6].copy_from_slice(&((self.lsn % BLK) as u16).to_be_bytes());
            img[8..12].copy_from_slice(&(self.cp.no as u32).to_be_bytes());
        }
        if i == 0 {
            img[0] |= 0x80; // flush bit on the first block of a write
        }
        stamp_block(&mut img, BlockChecksum::Crc32c);
        img
    }

    fn flush(&mut self) {
        let first = align_down(self.flushed);
        for i in 0..self.buf.len() {
            let img = self.image(i);
            self.write_valid(first + i as u64 * BLK, &img);
        }
        self.flushed = self.lsn;
        let last = self.buf.pop().unwrap();
        self.buf = vec![last];
        self.torn_pending = false;
    }

    /// A flush caught part-way: `done` blocks landed, the next one is torn at byte `cut`.
    fn torn_flush(&mut self, done: u8, cut: u16) {
        let first = align_down(self.flushed);
        let d = usize::from(done) % self.buf.len();
        for i in 0..d {
            let img = self.image(i);
            self.write_valid(first + i as u64 * BLK, &img);
        }
        let img = self.image(d);
        self.write_torn(first + d as u64 * BLK, &img, usize::from(cut).min(512));
        self.torn_pending = true;
    }

    fn disk_block(&self, slot: usize) -> [u8; 512] {
        let (file, off) = self.place(slot);
        let data = self.files[file].lock().unwrap();
        data[off as usize..off as usize + 512].try_into().unwrap()
    }

    fn write_raw(&self, slot: usize, bytes: &[u8; 512]) {
        let (file, off) = self.place(slot);
        self.files[file].lock().unwrap()[off as usize..off as usize + 512].copy_from_slice(bytes);
    }

    fn write_valid(&mut self, block_lsn: u64, img: &[u8; 512]) {
        let slot = self.slot_of(block_lsn);
        let (file, off) = self.place(slot);
        assert_eq!(
            self.geom.lsn_offset(block_lsn, self.cp.lsn, self.cp.offset),
            file as u64 * self.geom.file_size + off,
            "RingGeometry::lsn_offset disagrees with the model ring at LSN {block_lsn}"
        );
        self.write_raw(slot, img);
        let data_len = be16(img, 4);
        self.slots[slot] = OnDisk::Valid { lsn: block_lsn, data_len };
        self.ever[slot] = self.ever[slot].max(block_lsn);
        let at = (block_lsn - self.base_lsn) as usize;
        if self.truth.len() < at + 512 {
            self.truth.resize(at + 512, 0);
        }
        self.truth[at..at + 512].copy_from_slice(img);
        self.frontier = self.frontier.max(block_lsn + u64::from(data_len));
    }

    fn write_torn(&mut self, block_lsn: u64, img: &[u8; 512], cut: usize) {
        let slot = self.slot_of(block_lsn);
        let old = self.disk_block(slot);
        let mut torn = old;
        torn[..cut].copy_from_slice(&img[..cut]);
        if torn == *img {
            return self.write_valid(block_lsn, img);
        }
        if torn == old {
            return; // nothing landed yet
        }
        while block_checksum_kind(&torn).is_some() {
            torn[511] = torn[511].wrapping_add(1);
        }
        self.write_raw(slot, &torn);
        self.slots[slot] = OnDisk::Torn;
        self.ever[slot] = self.ever[slot].max(block_lsn);
    }

    /// The pass a correct follower makes from `copied` (its scanned LSN before: `scanned`).
    fn expect_pass(&self, copied: u64, scanned: u64) -> Expect {
        let mut b = copied;
        loop {
            match self.slots[self.slot_of(b)] {
                OnDisk::Valid { lsn, data_len } if lsn == b => {
                    if u64::from(data_len) == BLK {
                        b += BLK;
                        continue;
                    }
                    return Expect::Stops {
                        copied_to: b,
                        scanned: b + u64::from(data_len),
                        end: PassEnd::PartialBlock,
                    };
                }
                OnDisk::Valid { lsn, .. } if lsn > b => return Expect::Lapped { at: b, found: lsn },
                OnDisk::Valid { .. } => {
                    return Expect::Stops { copied_to: b, scanned: scanned.max(b), end: PassEnd::CaughtUp }
                }
                OnDisk::Never | OnDisk::Torn => {
                    return Expect::Stops { copied_to: b, scanned: scanned.max(b), end: PassEnd::Unreadable }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- reference state machine

/// The server and backup a case starts from.
#[derive(Clone, Debug)]
struct Spec {
    files: u32,
    file_size: u64,
    read_step: usize,
    /// The writer's LSN before its prehistory.
    first_lsn: u64,
    /// Ring slot (block index, headers not counted) of first_lsn's block.
    first_slot: u64,
    /// Appends, each flushed, before the backup starts (may wrap the ring).
    prehistory: Vec<u16>,
    /// Which eligible record-group boundary (modulo their number) becomes the start checkpoint.
    cp_pick: usize,
    cp_no: u64,
    /// Weight of Poll among the ops (Append is 8): low means long gaps, laps on small rings.
    poll_weight: u32,
    /// Whether torn flushes are generated.
    torn: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Poll,
    Flush,
    Append { len: u16, seed: u8 },
    Checkpoint { pick: u8 },
    TornFlush { done: u8, cut: u16 },
}

/// The abstract writer: LSN arithmetic only; the bytes live in `Ring`.
#[derive(Clone, Debug)]
struct Model {
    spec: Arc<Spec>,
    lsn: u64,
    flushed: u64,
    cp_lsn: u64,
    cp_no: u64,
    /// Record-group boundaries after the checkpoint: candidates for the next one.
    boundaries: Vec<u64>,
}

impl Model {
    fn from_spec(spec: Arc<Spec>) -> Model {
        let cap = u64::from(spec.files) * (spec.file_size - FILE_HDR);
        let mut lsn = spec.first_lsn;
        let mut bounds = vec![lsn];
        for &n in &spec.prehistory {
            lsn = advance(lsn, u64::from(n));
            bounds.push(lsn);
        }
        // The start checkpoint's block must still be in the ring (a server keeps it there).
        let eligible: Vec<u64> = bounds.iter().copied().filter(|&b| align_down(lsn) < align_down(b) + cap).collect();
        let cp_lsn = eligible[spec.cp_pick % eligible.len()];
        Model {
            lsn,
            flushed: lsn,
            cp_lsn,
            cp_no: spec.cp_no,
            boundaries: bounds.into_iter().filter(|&b| b > cp_lsn).collect(),
            spec,
        }
    }
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    let read_step = prop_oneof![
        Just(512usize),
        Just(1536),
        Just(4096),
        Just(DEFAULT_READ_STEP),
        (1usize..=24).prop_map(|k| k * 512)
    ];
    // Fresh server, anywhere, and just before the block number wraps at 2^30.
    let first_block = prop_oneof![Just(16u64), 16u64..1_000_000, ((1u64 << 30) - 200)..((1u64 << 30) + 10)];
    let cp_no = prop_oneof![1u64..100, (u64::from(u32::MAX) - 3)..(u64::from(u32::MAX) + 3)];
    (
        // Small rings (laps within a few appends) as often as any size.
        (2u32..=3, prop_oneof![4u64..8, 4u64..40]),
        read_step,
        first_block,
        12u64..508,
        any::<Index>(),
        prop::collection::vec(1u16..=2000, 0..40),
        any::<usize>(),
        cp_no,
        1u32..=8,
        any::<bool>(),
    )
        .prop_map(|((files, k), read_step, block, off, slot, prehistory, cp_pick, cp_no, poll_weight, torn)| {
            Spec {
                files,
                file_size: FILE_HDR + k * BLK,
                read_step,
                first_lsn: block * BLK + off,
                first_slot: slot.index((u64::from(files) * k) as usize) as u64,
                prehistory,
                cp_pick,
                cp_no,
                poll_weight,
                torn,
            }
        })
}

impl ReferenceStateMachine for Model {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        spec_strategy().prop_map(|s| Model::from_spec(Arc::new(s))).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Op> {
        let mut ops = vec![
            (state.spec.poll_weight, Just(Op::Poll).boxed()),
            (4, Just(Op::Flush).boxed()),
            (8, (1u16..=2000, any::<u8>()).prop_map(|(len, seed)| Op::Append { len, seed }).boxed()),
            (1, any::<u8>().prop_map(|pick| Op::Checkpoint { pick }).boxed()),
        ];
        if state.spec.torn {
            let cut = prop_oneof![Just(0u16), Just(512), 0u16..=512];
            ops.push((2, (any::<u8>(), cut).prop_map(|(done, cut)| Op::TornFlush { done, cut }).boxed()));
        }
        prop::strategy::Union::new_weighted(ops).boxed()
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        match *op {
            Op::Append { len, .. } => {
                state.lsn = advance(state.lsn, u64::from(len));
                state.boundaries.push(state.lsn);
            }
            Op::Flush => state.flushed = state.lsn,
            Op::Checkpoint { pick } => {
                // Only flushed record-group boundaries can become checkpoints.
                let flushed = state.flushed;
                let candidates: Vec<u64> = state.boundaries.iter().copied().filter(|&b| b <= flushed).collect();
                if !candidates.is_empty() {
                    state.cp_lsn = candidates[usize::from(pick) % candidates.len()];
                    state.cp_no += 1;
                    let cp = state.cp_lsn;
                    state.boundaries.retain(|&b| b > cp);
                }
            }
            Op::Poll | Op::TornFlush { .. } => {}
        }
        state
    }
}

// ---------------------------------------------------------------- coverage counters

#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    cases: u64,
    polls: u64,
    partial: u64,
    unreadable: u64,
    caught_up: u64,
    laps: u64,
    final_laps: u64,
    finals: u64,
    /// Cases whose copy is longer than the ring twice over.
    wrapped_twice: u64,
    /// Cases whose copy crosses the 2^30 block-number wrap.
    block_no_wrap: u64,
}

thread_local! {
    static STATS: Cell<Stats> = Cell::new(Stats::default());
}

fn stat(f: impl FnOnce(&mut Stats)) {
    STATS.with(|s| {
        let mut v = s.get();
        f(&mut v);
        s.set(v);
    });
}

// ---------------------------------------------------------------- system under test

const CREATOR: &str = "xtrabkup 240102  3:04:05";

struct Harness {
    ring: Ring,
    follower: Mysql57Follower,
    out: Shared,
    out_file: MemFile,
    recorder: Arc<Recorder>,
    /// align_down(start checkpoint LSN): LSN at offset 2048 of the copy.
    start: u64,
    /// copied_lsn() after the last poll.
    copied: u64,
    /// The follower's scanned LSN as last reported (the checkpoint LSN before any pass).
    scanned: u64,
    /// A poll reported RedoLapped: the backup stops there.
    lapped: bool,
}

impl Harness {
    fn new(model: &Model) -> Harness {
        let spec = &model.spec;
        let mut ring = Ring::new(spec.files, spec.file_size, spec.first_lsn, spec.first_slot, spec.cp_no);
        for (i, &n) in spec.prehistory.iter().enumerate() {
            ring.append(u64::from(n), i as u8);
            ring.flush();
        }
        ring.flush();
        ring.checkpoint(model.cp_lsn, model.cp_no);
        assert_eq!((ring.lsn, ring.flushed), (model.lsn, model.flushed), "model ring and LSN model disagree");

        let (header, cp) = read_stable_header(&mut MemFile::over(ring.files[0].clone()), Path::new("ib_logfile0"))
            .expect("the model ring's header reads");
        assert_eq!(cp, ring.cp, "read_stable_header must find the newest checkpoint");

        let out: Shared = Arc::default();
        let out_file = MemFile::over(out.clone());
        let recorder = Arc::new(Recorder::default());
        let follower = Mysql57Follower::start(Mysql57FollowerParts {
            files: ring.files.iter().map(|f| Box::new(MemFile::over(f.clone())) as Box<dyn SourceFile>).collect(),
            file_paths: (0..spec.files).map(|i| PathBuf::from(format!("ib_logfile{i}"))).collect(),
            geometry: ring.geom,
            checkpoint: cp,
            header: header.clone(),
            creator: xtrabackup_creator(2024, 1, 2, 3, 4, 5),
            out: Box::new(out_file.clone()),
            out_path: PathBuf::from("xtrabackup_logfile"),
            read_step: spec.read_step,
            progress: recorder.clone(),
            clock: Arc::new(ManualClock::starting_at(1_700_000_000)),
            index_loads_flushed_below: 0,
        })
        .expect("Mysql57Follower::start");

        let start = align_down(cp.lsn);
        assert_eq!((follower.start_lsn(), follower.copied_lsn()), (start, start));
        {
            let copy = out.lock().unwrap();
            assert_eq!(copy.len() as u64, FILE_HDR, "start writes exactly the 2048-byte header");
            let relabelled = LogFileHeader::parse(&copy[..512]).expect("the copy's header block is valid");
            let original = LogFileHeader::parse(&header[..512]).unwrap();
            assert_eq!(relabelled.creator, CREATOR, "the copy carries the xtrabackup label");
            assert_eq!(relabelled.start_lsn, original.start_lsn);
            assert_eq!(&copy[512..2048], &header[512..2048], "checkpoint blocks are copied as read");
        }
        Harness { ring, follower, out, out_file, recorder, start, copied: start, scanned: cp.lsn, lapped: false }
    }

    fn apply(&mut self, model: &Model, op: &Op) {
        match *op {
            Op::Append { len, seed } => self.ring.append(u64::from(len), seed),
            Op::Flush => self.ring.flush(),
            Op::TornFlush { done, cut } => self.ring.torn_flush(done, cut),
            Op::Checkpoint { .. } => {
                if model.cp_no != self.ring.cp.no {
                    self.ring.checkpoint(model.cp_lsn, model.cp_no);
                }
            }
            Op::Poll => self.poll(),
        }
    }

    fn check(&self, model: &Model) {
        assert_eq!(self.ring.lsn, model.lsn, "model ring LSN");
        assert_eq!(self.ring.flushed, model.flushed, "model ring flushed LSN");
        assert_eq!((self.ring.cp.lsn, self.ring.cp.no), (model.cp_lsn, model.cp_no), "model ring checkpoint");
        assert_eq!(self.follower.copied_lsn(), self.copied, "copied_lsn moved outside a poll");
    }

    /// (lap happened: a later block was written, even torn, over the block at `c`;
    ///  lap visible: the slot of `c` holds a valid later block now)
    fn lap_facts(&self, c: u64) -> (bool, bool) {
        let slot = self.ring.slot_of(c);
        (self.ring.ever[slot] > c, matches!(self.ring.slots[slot], OnDisk::Valid { lsn, .. } if lsn > c))
    }

    fn poll(&mut self) {
        if self.lapped {
            return;
        }
        stat(|s| s.polls += 1);
        let c = self.follower.copied_lsn();
        let (lap_happened, lap_visible) = self.lap_facts(c);
        let expect = self.ring.expect_pass(c, self.scanned);
        let result = self.follower.poll(false);
        let now = self.follower.copied_lsn();
        assert!(now >= c, "copied_lsn went back from {c} to {now}");
        // The two lap invariants first: they name a lap bug better than anything checked later.
        match &result {
            Err(BackupError::RedoLapped { lsn, .. }) => assert!(
                lap_happened,
                "false alarm: RedoLapped at LSN {lsn} but the block at copied_lsn {c} was never overwritten"
            ),
            Ok(report) => assert!(
                !lap_visible,
                "lap missed: the block at copied_lsn {c} was overwritten by LSN {} and the poll said {report:?}",
                self.ring.ever[self.ring.slot_of(c)]
            ),
            Err(e) => panic!("poll from copied_lsn {c}: unexpected error {e}"),
        }
        let events = self.scanned_events();
        match result {
            Err(BackupError::RedoLapped {
                lsn,
                ring_bytes,
                evidence: RedoLap::BlockNumber { expected_no, found_no },
            }) => {
                let Expect::Lapped { at, found } = expect else {
                    panic!("RedoLapped at LSN {lsn} but the ring shows {expect:?}")
                };
                assert_eq!(
                    (lsn, expected_no, found_no, ring_bytes),
                    (at, block_no(at), block_no(found), self.ring.capacity()),
                    "RedoLapped details"
                );
                assert!(now <= at, "copied_lsn {now} went past the lapped block {at}");
                assert!(events.is_empty(), "a failed pass emitted {events:?}");
                stat(|s| s.laps += 1);
                self.copied = now;
                self.lapped = true;
            }
            Err(e) => unreachable!("{e}"),
            Ok(report) => {
                let Expect::Stops { copied_to, scanned, end } = expect else {
                    panic!("poll from {c} returned {report:?} but the ring shows {expect:?}")
                };
                assert_eq!(
                    (report.end, report.scanned_lsn, now),
                    (end, scanned, copied_to),
                    "pass end, scanned LSN, copied_lsn"
                );
                assert_eq!(report.copied, copied_to - c, "bytes copied by the pass");
                assert!(
                    report.scanned_lsn <= self.ring.frontier,
                    "scanned LSN {} is beyond what the writer has on disk ({})",
                    report.scanned_lsn,
                    self.ring.frontier
                );
                let want: &[(u64, u64)] =
                    if report.scanned_lsn != self.scanned { &[(report.scanned_lsn, report.copied)] } else { &[] };
                assert_eq!(events, want, "LogScanned events (lsn, bytes) of the pass");
                stat(|s| match end {
                    PassEnd::PartialBlock => s.partial += 1,
                    PassEnd::Unreadable => s.unreadable += 1,
                    PassEnd::CaughtUp => s.caught_up += 1,
                });
                self.copied = now;
                self.scanned = report.scanned_lsn;
            }
        }
        self.check_copy(self.copied, false);
    }

    /// The pass's LogScanned events as (lsn, bytes). The model writes only valid record groups
    /// from the checkpoint on, so the follower's record scanner must never stop with a note.
    fn scanned_events(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for e in self.recorder.take() {
            match e.kind {
                EventKind::LogScanned { lsn, bytes } => out.push((lsn, bytes)),
                other => panic!("the follower emitted {other:?} while following valid redo"),
            }
        }
        out
    }

    /// The copy equals the truth from `start` to `upto`; before the final pass it holds nothing more.
    fn check_copy(&self, upto: u64, final_pass: bool) {
        let copy = self.out.lock().unwrap();
        let want = (upto - self.start) as usize;
        let hdr = FILE_HDR as usize;
        if final_pass {
            assert_eq!(copy.len(), hdr + want, "final copy length");
        } else {
            assert_eq!(
                copy.len(),
                hdr + want,
                "the copy must end at copied_lsn {upto} (no partial block before the final pass)"
            );
        }
        let from = (self.start - self.ring.base_lsn) as usize;
        let truth = &self.ring.truth[from..from + want];
        if copy[hdr..hdr + want] != *truth {
            let i = (0..want).find(|&i| copy[hdr + i] != truth[i]).unwrap();
            let b = i / 512 * 512;
            panic!(
                "copy differs from the truth at LSN {} (block LSN {}): copy header {:02x?}, truth header {:02x?}",
                self.start + i as u64,
                self.start + b as u64,
                &copy[hdr + b..hdr + b + 12],
                &truth[b..b + 12]
            );
        }
    }

    fn final_pass(&mut self) {
        stat(|s| s.cases += 1);
        if self.lapped {
            return; // the backup already failed
        }
        if self.ring.torn_pending {
            self.ring.flush(); // FLUSH ENGINE LOGS finishes the write in flight
        }
        assert!(!self.ring.slots.contains(&OnDisk::Torn));
        let c = self.follower.copied_lsn();
        let (lap_happened, lap_visible) = self.lap_facts(c);
        let expect = self.ring.expect_pass(c, self.scanned);
        let result = self.follower.poll(true);
        match &result {
            Err(BackupError::RedoLapped { lsn, .. }) => {
                assert!(lap_happened, "false alarm in the final pass: RedoLapped at {lsn}, copied_lsn {c}")
            }
            Ok(report) => assert!(
                !lap_visible,
                "lap missed by the final pass: the block at copied_lsn {c} was overwritten; {report:?}"
            ),
            Err(_) => {}
        }
        let events = self.scanned_events();
        match (result, expect) {
            (Err(BackupError::RedoLapped { lsn, .. }), _) => {
                assert!(matches!(expect, Expect::Lapped { at, .. } if at == lsn), "final pass: ring shows {expect:?}");
                assert!(events.is_empty(), "a failed final pass emitted {events:?}");
                stat(|s| s.final_laps += 1);
            }
            (Ok(report), Expect::Stops { copied_to, scanned, end: PassEnd::PartialBlock }) => {
                let last = self.follower.last_lsn();
                assert_eq!((report.end, report.scanned_lsn, last), (PassEnd::PartialBlock, scanned, scanned));
                assert_eq!(self.follower.copied_lsn(), copied_to);
                assert_eq!(events, [(last, report.copied)], "the final pass reports once");
                assert_eq!(last, self.ring.flushed, "the final pass ends at the flushed LSN");
                assert!(self.follower.is_finished());
                assert!(self.out_file.syncs() >= 1, "the final pass must sync the copy");
                assert!(
                    (copied_to - c..=copied_to - c + BLK).contains(&report.copied),
                    "final pass copied {} bytes for {c}..{last}",
                    report.copied
                );
                self.check_copy(copied_to + BLK, true);
                {
                    let copy = self.out.lock().unwrap();
                    let at = (FILE_HDR + copied_to - self.start) as usize;
                    let blk = &copy[at..at + 512];
                    assert_eq!(be32(blk, 0) & 0x7FFF_FFFF, block_no(copied_to), "partial block number");
                    assert_eq!(u64::from(be16(blk, 4)), last % BLK, "partial block data_len == last_lsn % 512");
                }
                assert!(self.ring.cp.lsn <= last, "the latest checkpoint is beyond the copy");
                assert!(matches!(self.follower.poll(false), Err(BackupError::FollowerGone(_))));
                stat(|s| {
                    s.finals += 1;
                    if last - self.start > 2 * self.ring.capacity() {
                        s.wrapped_twice += 1;
                    }
                    if block_no(last) < block_no(self.start) {
                        s.block_no_wrap += 1;
                    }
                });
            }
            (result, expect) => panic!("final pass from {c}: {result:?}, but the ring shows {expect:?}"),
        }
    }
}

impl StateMachineTest for Harness {
    type SystemUnderTest = Harness;
    type Reference = Model;

    fn init_test(model: &Model) -> Harness {
        Harness::new(model)
    }

    fn apply(mut h: Harness, model: &Model, op: Op) -> Harness {
        h.apply(model, &op);
        h
    }

    fn check_invariants(h: &Harness, model: &Model) {
        h.check(model);
    }

    fn teardown(mut h: Harness, _model: Model) {
        h.final_pass();
    }
}

// ---------------------------------------------------------------- the property

#[test]
fn follower_agrees_with_the_model_ring() {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2048);
    let config = Config { cases, source_file: Some(file!()), ..Config::default() };
    let mut runner = TestRunner::new(config.clone());
    let result = runner.run(&Model::sequential_strategy(1..150), |(initial, ops, seen)| {
        Harness::test_sequential(config.clone(), initial, ops, seen);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let s = STATS.with(Cell::get);
    eprintln!("follower model: {s:?}");
    // The generator must reach every outcome, or the property proves little.
    assert!(s.laps > 0 && s.final_laps > 0, "no lap was generated: {s:?}");
    assert!(s.finals > s.cases / 4, "too few clean final passes: {s:?}");
    assert!(s.unreadable > 0 && s.caught_up > 0, "torn flushes never met a poll: {s:?}");
    assert!(s.wrapped_twice > 0 && s.block_no_wrap > 0, "no long follow: {s:?}");
}

// ---------------------------------------------------------------- fixed cases

/// Drives the model and the harness with explicit ops.
struct Script {
    model: Model,
    h: Harness,
}

fn fixed_spec(files: u32, k: u64, read_step: usize, first_lsn: u64) -> Spec {
    Spec {
        files,
        file_size: FILE_HDR + k * BLK,
        read_step,
        first_lsn,
        first_slot: 0,
        prehistory: Vec::new(),
        cp_pick: 0,
        cp_no: 7,
        poll_weight: 1,
        torn: false,
    }
}

impl Script {
    fn new(spec: Spec) -> Script {
        let model = Model::from_spec(Arc::new(spec));
        let h = Harness::new(&model);
        Script { model, h }
    }
    fn op(&mut self, op: Op) -> &mut Script {
        self.model = Model::apply(self.model.clone(), &op);
        self.h.apply(&self.model, &op);
        self.h.check(&self.model);
        self
    }
    fn append(&mut self, mut n: u64) -> &mut Script {
        while n > 0 {
            let len = n.min(2000);
            self.op(Op::Append { len: len as u16, seed: 1 });
            n -= len;
        }
        self
    }
    /// Appends until the LSN is `to` (a data-area LSN), then flushes.
    fn flush_at(&mut self, to: u64) -> &mut Script {
        let n = data_between(self.model.lsn, to);
        self.append(n).op(Op::Flush)
    }
    fn finish(self) -> Harness {
        let mut h = self.h;
        h.final_pass();
        h
    }
}

#[test]
fn lsn_arithmetic_matches_the_5_7_layout() {
    assert_eq!(advance(8204, 0), 8204);
    assert_eq!(advance(8204, 495), 8204 + 495);
    assert_eq!(advance(8204, 496), 8192 + 512 + 12, "a block filled to 508 jumps to the next data start");
    assert_eq!(advance(8204, 496 * 3 + 5), 8192 + 3 * 512 + 12 + 5);
    for (from, n) in [(8204u64, 1u64), (8700, 3000), (9000, 496)] {
        assert_eq!(data_between(from, advance(from, n)), n);
    }
}

#[test]
fn ring_wrapped_three_times_with_polls_under_capacity_is_copied_exactly() {
    for (files, k, step) in [(2, 4, DEFAULT_READ_STEP), (3, 5, 512), (2, 7, 1536), (3, 4, 4096)] {
        let mut s = Script::new(fixed_spec(files, k, step, 8192 + 12));
        let cap = s.h.ring.capacity();
        let mut i = 0u8;
        while s.model.lsn < 8192 + 3 * cap + 700 {
            // Flushed less than the ring between two polls: never lapped.
            s.op(Op::Append { len: 700, seed: i }).op(Op::Flush).op(Op::Poll);
            i = i.wrapping_add(1);
        }
        let h = s.finish();
        assert!(!h.lapped);
        assert!(h.follower.is_finished());
        assert!(h.follower.last_lsn() > 8192 + 3 * cap);
    }
}

#[test]
fn a_lap_by_exactly_one_block_is_detected_and_one_block_less_is_not_a_lap() {
    // 2 files of 2048 + 4 * 512 bytes: 8 blocks of ring.
    let mut s = Script::new(fixed_spec(2, 4, DEFAULT_READ_STEP, 8192 + 12));
    s.op(Op::Poll);
    assert_eq!(s.h.follower.copied_lsn(), 8192);
    // The partial block one ring later than the follower's next block sits in the slot next to it.
    s.flush_at(8192 + 4096 - 512 + 100).op(Op::Poll);
    assert!(!s.h.lapped);
    assert_eq!(s.h.follower.copied_lsn(), 8192 + 4096 - 512);

    let mut s = Script::new(fixed_spec(2, 4, DEFAULT_READ_STEP, 8192 + 12));
    s.op(Op::Poll);
    s.flush_at(8192 + 4096 + 100);
    let r = s.h.follower.poll(false);
    match r {
        Err(BackupError::RedoLapped { lsn, ring_bytes, evidence: RedoLap::BlockNumber { expected_no, found_no } }) => {
            assert_eq!((lsn, expected_no, found_no, ring_bytes), (8192, 17, 25, 4096));
        }
        other => panic!("a one-block lap went unnoticed: {other:?}"),
    }
    // And through the harness (which also checks the copy was left as it was).
    let mut s = Script::new(fixed_spec(2, 4, 512, 8192 + 12));
    s.op(Op::Poll).flush_at(8192 + 4096 + 12).op(Op::Poll);
    assert!(s.h.lapped);
    assert_eq!(s.h.follower.copied_lsn(), 8192);
}

#[test]
fn a_lap_after_the_last_poll_fails_the_final_pass() {
    let mut s = Script::new(fixed_spec(3, 4, 1024, 8192 + 300));
    s.op(Op::Poll).flush_at(advance(8192 + 300, 2000)).op(Op::Poll);
    let c = s.h.follower.copied_lsn();
    s.flush_at(c + 6144 + 40);
    let mut h = s.h;
    assert!(matches!(h.follower.poll(true), Err(BackupError::RedoLapped { lsn, .. }) if lsn == c));
}

#[test]
fn a_partial_block_waits_for_the_final_pass_and_is_copied_as_last_written() {
    let mut s = Script::new(fixed_spec(2, 6, DEFAULT_READ_STEP, 8192 + 12));
    s.append(100).op(Op::Flush).op(Op::Poll);
    assert_eq!(s.h.follower.copied_lsn(), 8192);
    assert_eq!(s.h.out.lock().unwrap().len(), 2048, "the partial block is not copied yet");
    s.append(50).op(Op::Flush).op(Op::Poll);
    assert_eq!(s.h.follower.copied_lsn(), 8192);
    assert_eq!(s.h.out.lock().unwrap().len(), 2048, "the grown partial block is not copied yet");
    // Grown but not flushed: the final pass copies the block as last flushed.
    s.append(30);
    let h = s.finish();
    assert_eq!(h.follower.last_lsn(), 8204 + 150);
    let copy = h.out.lock().unwrap();
    assert_eq!(copy.len(), 2048 + 512);
    let blk = &copy[2048..2560];
    assert_eq!(be32(blk, 0) & 0x7FFF_FFFF, block_no(8192));
    assert_eq!(be16(blk, 4), 162, "data_len == last_lsn % 512");
    assert_eq!(blk, &h.ring.truth[..512]);
    assert!((12..162).all(|i| blk[i] == h.ring.truth[i]));
}

#[test]
fn a_partial_block_that_fills_up_is_copied_by_the_next_poll() {
    let mut s = Script::new(fixed_spec(2, 6, 512, 8192 + 500));
    s.op(Op::Flush).op(Op::Poll);
    assert_eq!(s.h.follower.copied_lsn(), 8192);
    s.append(8).op(Op::Flush).op(Op::Poll); // fills 8192's block to 508: LSN jumps to 8716
    assert_eq!((s.model.lsn, s.h.follower.copied_lsn()), (8192 + 512 + 12, 8192 + 512));
    let h = s.finish();
    assert_eq!(h.follower.last_lsn(), 8716);
}

#[test]
fn a_torn_block_stops_a_pass_and_fails_a_final_pass_that_cannot_read_it() {
    let mut s = Script::new(fixed_spec(2, 6, DEFAULT_READ_STEP, 8192 + 12));
    s.append(100).op(Op::Flush).op(Op::Poll);
    s.append(1200).op(Op::TornFlush { done: 1, cut: 200 }).op(Op::Poll);
    // Block 8192 landed whole; block 8704 is torn: the pass ends there, unreadable.
    assert_eq!(s.h.follower.copied_lsn(), 8704);
    assert_eq!(s.h.ring.slots[s.h.ring.slot_of(8704)], OnDisk::Torn);
    let mut h = s.h;
    match h.follower.poll(true) {
        Err(BackupError::RedoCorrupt { lsn, .. }) => assert_eq!(lsn, 8704),
        other => panic!("a block that stays torn must fail the final pass: {other:?}"),
    }
}

#[test]
fn a_write_that_has_not_landed_yet_ends_a_pass_at_the_previous_lap() {
    // The ring is full of the previous lap; a flush lands its first block only.
    let mut spec = fixed_spec(2, 4, 1024, 8192 + 12);
    spec.prehistory = vec![2000, 2000, 2000];
    let mut s = Script::new(spec);
    s.op(Op::Poll);
    let c = s.h.follower.copied_lsn();
    s.append(700).op(Op::TornFlush { done: 1, cut: 0 }).op(Op::Poll);
    assert_eq!(s.h.follower.copied_lsn(), c + 512);
    assert!(matches!(s.h.ring.slots[s.h.ring.slot_of(c + 512)], OnDisk::Valid { lsn, .. } if lsn < c + 512));
    s.op(Op::Flush).op(Op::Poll);
    let h = s.finish();
    assert_eq!(h.follower.last_lsn(), h.ring.flushed);
}

#[test]
fn block_numbers_wrapping_at_2_pow_30_do_not_confuse_the_follower() {
    let first = ((1u64 << 30) - 20) * 512 + 12;
    let mut s = Script::new(fixed_spec(3, 5, 2048, first));
    for i in 0..40u8 {
        s.op(Op::Append { len: 900, seed: i }).op(Op::Flush).op(Op::Poll);
    }
    let h = s.finish();
    assert!(block_no(h.follower.last_lsn()) < block_no(first));
}
