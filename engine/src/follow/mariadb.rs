//! The MariaDB 10.8+ redo follower: copies every mini-transaction (mtr) the
//! server writes to its `ib_logfile0` ring into the backup's own `ib_logfile0`,
//! as mariabackup 10.11 does (docs/FORMATS.md §5): a 12288-byte header whose first
//! LSN is the start checkpoint, then the whole, CRC-valid mtrs from that
//! checkpoint on with every termination byte set to 1, so that file offset
//! 12288 + (lsn - checkpoint) holds LSN `lsn` and the copy never wraps.
//!
//! Unlike mariabackup, which only notices an overwritten ring when its copy
//! stops advancing, each poll compares the server's newest checkpoint with the
//! copy: the server writes a checkpoint block only after the log up to its end
//! LSN is durable, and never reuses ring space ahead of its checkpoint. So a
//! copy that stops before that end LSN, or lags it by more than the ring, was
//! overwritten: the poll fails with `BackupError::RedoLapped`. Each poll also
//! checks that `ib_logfile0` is still the file being followed (an online resize
//! renames `ib_logfile101` over it) and fails with `BackupError::RedoResized`.
//!
//! The file's tail is not trusted. Under a commit load a read of the block the
//! server is writing can return its new bytes up to some point and the stale
//! contents of the server's log buffer after it, and those stale bytes are
//! often whole mtrs with valid CRCs (see `LogWrittenProbe`). A copy that took
//! them would continue in the middle of the real mtr written there later, and
//! stall or report a false lap. So, given a probe, the follower copies only
//! mtrs that end at or below what the server reported as written before the
//! read; what lies past it is read again after the next probe. Without a probe
//! (a file no server writes any more) every whole mtr counts.

use super::{report_pass, PassEnd, PassReport, RedoFollower};
use crate::error::{BackupError, RedoLap, Result};
use crate::events::{Phase, Progress};
use crate::format::mariadb::{
    self, backup_creator, backup_log_header, records, scan_mtr, Checkpoint, Header, MtrEnd, MtrScan, Record, Ring,
    MAX_MTR_SPAN, START_OFFSET,
};
use crate::format::{FormatError, Lsn};
use crate::io::{Clock, ReadPolicy, SourceFile, SourceFs, TargetFile};
use crate::server::LogWrittenProbe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Back-to-back re-reads in the final pass when the log ends in an mtr whose CRC fails
/// (one being written), as mariabackup retries a failed parse.
const FINAL_PASS_REREADS: u32 = 100;
/// Final-pass rounds that chase a checkpoint the server wrote during the pass.
const FINAL_PASS_ROUNDS: u32 = 10;
/// How often a busy follower asks the server how far its log is written: the
/// question costs the server about as much as a small query, and the answer
/// only delays the copy of what is already read by this much.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(10);
/// The global status variable in which MariaDB publishes how far its log is
/// written to disk (see `LogWrittenProbe`).
pub const LOG_WRITTEN_STATUS: &str = "Innodb_lsn_flushed";

pub use super::FileOpRecord;

/// A FILE_* record's operation, as the orchestrator knows it.
fn file_change(op: mariadb::FileOp) -> super::FileChange {
    use super::FileChange;
    match op {
        mariadb::FileOp::Create => FileChange::Create,
        mariadb::FileOp::Delete => FileChange::Delete,
        mariadb::FileOp::Rename => FileChange::Rename,
        mariadb::FileOp::Modify => FileChange::Modify,
    }
}

/// Reads and checks the first 12288 bytes of `ib_logfile0`: the header block and the
/// newest checkpoint (an encrypted or pre-10.8 log is refused here, by name).
pub fn read_log_header(file: &mut dyn SourceFile, path: &Path) -> Result<(Header, Checkpoint)> {
    let mut head = vec![0u8; START_OFFSET as usize];
    read_head(file, path, &mut head)?;
    mariadb::parse_log_header(&head).map_err(|source| BackupError::Format { path: path.into(), source })
}

fn read_head(file: &mut dyn SourceFile, path: &Path, head: &mut [u8]) -> Result<()> {
    let got = file.read_at(head, 0).map_err(|e| BackupError::io(path, "reading the redo log header", e))?;
    if got < head.len() {
        return Err(BackupError::Format {
            path: path.into(),
            source: FormatError::TooShort { what: "MariaDB redo log header", need: head.len(), have: got },
        });
    }
    Ok(())
}

/// The pieces a `MariaDbFollower` is built from.
pub struct MariaDbFollowerParts {
    /// The server's `ib_logfile0`, open.
    pub source: Box<dyn SourceFile>,
    pub source_path: PathBuf,
    /// When set, every poll also opens `source_path` afresh to notice a new file renamed
    /// over it (an open handle keeps reading the old one). None = check the handle only.
    pub source_fs: Option<Arc<dyn SourceFs>>,
    /// Where the server says its log is written up to; None = trust every whole mtr in the file.
    pub probe: Option<Box<dyn LogWrittenProbe>>,
    /// `innodb_log_file_size` as the file has it (the size of `ib_logfile0`).
    pub file_size: u64,
    /// The checkpoint the copy starts from (`read_log_header`).
    pub checkpoint: Checkpoint,
    /// The server's version ("10.11.19-MariaDB-0+deb12u1"): the copy's creator is "Backup 10.11.19".
    pub server_version: String,
    /// The backup's `ib_logfile0`, just created.
    pub out: Box<dyn TargetFile>,
    pub out_path: PathBuf,
    pub read_step: usize,
    pub progress: Arc<dyn Progress>,
    pub clock: Arc<dyn Clock>,
}

/// Follows a MariaDB 10.8+ `ib_logfile0` into the backup's `ib_logfile0` (docs/FORMATS.md §5).
pub struct MariaDbFollower {
    source: Box<dyn SourceFile>,
    source_path: PathBuf,
    source_fs: Option<Arc<dyn SourceFs>>,
    ring: Ring,
    out: Box<dyn TargetFile>,
    out_path: PathBuf,
    start_lsn: Lsn,
    /// LSN after the last copied mtr.
    next_lsn: Lsn,
    last_lsn: Lsn,
    finished: bool,
    read_step: usize,
    buf: Vec<u8>,
    head: Vec<u8>,
    /// Why the last pass stopped.
    last_end: MtrEnd,
    /// The newest checkpoint seen in the server's file.
    server_checkpoint: Checkpoint,
    probe: Option<Box<dyn LogWrittenProbe>>,
    /// The log is durable up to here: the newest probe answer or checkpoint end LSN.
    written_lsn: Lsn,
    /// Engine-clock time of the last probe.
    last_probe: Option<Duration>,
    /// The last pass stopped at `written_lsn` with more whole mtrs after it.
    held_back: bool,
    file_ops: Vec<FileOpRecord>,
    progress: Arc<dyn Progress>,
    clock: Arc<dyn Clock>,
    /// The first pass belongs to phase 9, later ones to phase 13.
    event_phase: Phase,
}

impl MariaDbFollower {
    /// Checks the source, then writes the backup's 12288-byte header.
    pub fn start(parts: MariaDbFollowerParts) -> Result<Self> {
        let MariaDbFollowerParts {
            mut source,
            source_path,
            source_fs,
            probe,
            file_size,
            checkpoint,
            server_version,
            out,
            out_path,
            read_step,
            progress,
            clock,
        } = parts;
        if read_step == 0 {
            return Err(BackupError::Config("the redo read step must be a positive number of bytes".into()));
        }
        let format_err = |source| BackupError::Format { path: source_path.clone(), source };
        let (header, newest) = read_log_header(&mut *source, &source_path)?;
        let size = source.size().map_err(|e| BackupError::io(&source_path, "stat", e))?;
        if size != file_size {
            return Err(BackupError::RedoResized {
                path: source_path.clone(),
                lsn: checkpoint.lsn,
                detail: format!("ib_logfile0 is {size} bytes, not the {file_size} bytes expected"),
            });
        }
        let ring = Ring::new(header.first_lsn, file_size).map_err(format_err)?;
        if checkpoint.lsn < header.first_lsn || checkpoint.end_lsn < checkpoint.lsn {
            return Err(format_err(FormatError::Malformed {
                what: "MariaDB redo checkpoint",
                detail: format!(
                    "the copy cannot start from checkpoint LSN {} (end LSN {}): the log starts at LSN {}",
                    checkpoint.lsn, checkpoint.end_lsn, header.first_lsn
                ),
            }));
        }
        let creator = backup_creator(&server_version);
        let mut follower = MariaDbFollower {
            source,
            source_path,
            source_fs,
            ring,
            out,
            out_path,
            start_lsn: checkpoint.lsn,
            next_lsn: checkpoint.lsn,
            last_lsn: checkpoint.lsn,
            finished: false,
            read_step,
            buf: Vec::new(),
            head: vec![0u8; START_OFFSET as usize],
            last_end: MtrEnd::Marker(0),
            server_checkpoint: newest,
            probe,
            written_lsn: newest.end_lsn,
            last_probe: None,
            held_back: false,
            file_ops: Vec::new(),
            progress,
            clock,
            event_phase: Phase::FirstLogCopy,
        };
        // Refuse before writing anything when the ring no longer holds the checkpoint.
        follower.check_not_lapped(newest)?;
        follower
            .out
            .write_at(&backup_log_header(checkpoint, &creator), 0)
            .map_err(|e| BackupError::io(&follower.out_path, "writing the log header", e))?;
        Ok(follower)
    }

    /// The newest checkpoint seen in the server's file at the last poll.
    pub fn server_checkpoint(&self) -> Checkpoint {
        self.server_checkpoint
    }

    fn resized(&self, detail: String) -> BackupError {
        BackupError::RedoResized { path: self.source_path.clone(), lsn: self.next_lsn, detail }
    }

    /// Checks that the followed file is still the server's log, and returns its newest checkpoint.
    fn check_source(&mut self) -> Result<Checkpoint> {
        let size = self.source.size().map_err(|e| BackupError::io(&self.source_path, "stat", e))?;
        if size != self.ring.file_size() {
            return Err(self.resized(format!("its size changed from {} to {size} bytes", self.ring.file_size())));
        }
        read_head(&mut *self.source, &self.source_path, &mut self.head)?;
        let header = match Header::parse(&self.head[..mariadb::HEADER_BLOCK_SIZE]) {
            Ok(h) => h,
            Err(e) => return Err(self.resized(format!("its header no longer reads as the same log: {e}"))),
        };
        if header.first_lsn != self.ring.first_lsn() {
            return Err(self.resized(format!(
                "its header now starts the log at LSN {}, not {}",
                header.first_lsn,
                self.ring.first_lsn()
            )));
        }
        let newest = mariadb::newest_checkpoint(&self.head, header.first_lsn)
            .map_err(|source| BackupError::Format { path: self.source_path.clone(), source })?;
        if let Some(fs) = &self.source_fs {
            let policy = ReadPolicy { direct: false, fadvise: false };
            let mut now = fs
                .open(&self.source_path, policy)
                .map_err(|e| BackupError::io(&self.source_path, "re-opening the redo log", e))?;
            let now_size = now.size().map_err(|e| BackupError::io(&self.source_path, "stat", e))?;
            let mut block = vec![0u8; mariadb::HEADER_BLOCK_SIZE];
            read_head(&mut *now, &self.source_path, &mut block)?;
            let now_first = Header::parse(&block).map(|h| h.first_lsn);
            if now_size != self.ring.file_size() || now_first.as_ref().ok() != Some(&self.ring.first_lsn()) {
                let first = match now_first {
                    Ok(lsn) => format!("first LSN {lsn}"),
                    Err(e) => format!("a header that does not parse ({e})"),
                };
                return Err(self.resized(format!(
                    "the file now at this path has {now_size} bytes and {first}; innohot follows the old one \
                     ({} bytes, first LSN {})",
                    self.ring.file_size(),
                    self.ring.first_lsn()
                )));
            }
        }
        self.server_checkpoint = newest;
        Ok(newest)
    }

    /// What proves the log written up to `self.written_lsn`, for error text.
    fn written_evidence(&self, server: Checkpoint) -> String {
        if self.written_lsn > server.end_lsn {
            format!("the server reported its log written up to LSN {} ({LOG_WRITTEN_STATUS})", self.written_lsn)
        } else {
            format!("its checkpoint at LSN {} proves the redo up to LSN {} was written", server.lsn, server.end_lsn)
        }
    }

    /// The server had written up to `self.written_lsn`: if that is more than the ring ahead of
    /// the copy, the redo at the copy position was overwritten.
    fn check_not_lapped(&self, server: Checkpoint) -> Result<()> {
        if planted_skip_wrap_check() {
            return Ok(());
        }
        if self.written_lsn > self.next_lsn + self.ring.capacity() {
            let detail = format!("{}: more than the ring ahead of the copy", self.written_evidence(server));
            return Err(BackupError::RedoLapped {
                lsn: self.next_lsn,
                ring_bytes: self.ring.capacity(),
                evidence: RedoLap::ServerAhead { server_lsn: self.written_lsn, detail },
            });
        }
        Ok(())
    }

    /// The log up to `self.written_lsn` was durable before the pass began: a pass that stopped
    /// short of it found the ring overwritten there. A pass held back by a whole, CRC-valid
    /// mtr that ends past it did not (an answer inside an mtr is taken as no answer yet).
    fn check_reached(&self, server: Checkpoint) -> Result<()> {
        if self.next_lsn >= self.written_lsn || self.held_back || planted_skip_wrap_check() {
            return Ok(());
        }
        let found = match self.last_end {
            MtrEnd::SequenceBit { expected, found } => {
                format!("bytes of another pass over the ring (termination byte {found}, expected {expected})")
            }
            MtrEnd::Marker(b) => format!("the end-of-log byte {b}"),
            MtrEnd::Checksum { .. } => "a mini-transaction whose CRC-32C fails".into(),
            MtrEnd::TooLong => "no mini-transaction (no end within 1 MiB)".into(),
        };
        let detail = format!(
            "{} before this pass, yet at LSN {} the file holds {found}",
            self.written_evidence(server),
            self.next_lsn
        );
        Err(BackupError::RedoLapped {
            lsn: self.next_lsn,
            ring_bytes: self.ring.capacity(),
            evidence: RedoLap::ServerAhead { server_lsn: self.written_lsn, detail },
        })
    }

    /// Reads the `len` ring bytes from `lsn` (joined across the end of the file) into `self.buf`.
    fn read_ring(&mut self, lsn: Lsn, len: usize) -> Result<()> {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let mut at = 0usize;
        for (offset, n) in self.ring.spans(lsn, len as u64) {
            let dst = &mut self.buf[at..at + n as usize];
            let got = self
                .source
                .read_at(dst, offset)
                .map_err(|e| BackupError::io(&self.source_path, "reading the redo log", e))?;
            if got < dst.len() {
                let detail = format!("a read of {} bytes at offset {offset} returned only {got}", dst.len());
                return Err(self.resized(detail));
            }
            at += n as usize;
        }
        Ok(())
    }

    /// The file records of the mtr at `buf[from..from + records_len]`, which starts at `lsn`.
    fn note_file_ops(&mut self, from: usize, records_len: usize, lsn: Lsn) -> Result<()> {
        for rec in records(&self.buf[from..from + records_len]) {
            match rec {
                Ok(Record::File { op, space, name, new_name }) => self.file_ops.push(FileOpRecord {
                    lsn,
                    op: file_change(op),
                    space,
                    name: String::from_utf8_lossy(name).into_owned(),
                    new_name: new_name.map(|n| String::from_utf8_lossy(n).into_owned()),
                }),
                Ok(_) => {}
                Err(e) => {
                    return Err(BackupError::RedoCorrupt {
                        lsn,
                        detail: format!(
                            "{}: a mini-transaction with a valid CRC-32C holds a record recovery would refuse: {e}",
                            self.source_path.display()
                        ),
                    })
                }
            }
        }
        Ok(())
    }

    /// Copies every whole mtr from the copy position to the end of the log, or,
    /// with a probe, to the last one that ends at or below `written_lsn`.
    fn one_pass(&mut self) -> Result<PassReport> {
        let cap = usize::try_from(self.ring.capacity()).unwrap_or(usize::MAX);
        let step = self.read_step.min(cap);
        let max_window = MAX_MTR_SPAN.min(cap).max(step);
        let limit = if self.probe.is_some() && !planted_trust_tail() { self.written_lsn } else { Lsn::MAX };
        let mut window = step;
        let mut copied = 0u64;
        self.held_back = false;
        loop {
            self.read_ring(self.next_lsn, window)?;
            let mut pos = 0usize;
            let stop = loop {
                let lsn = self.next_lsn + pos as u64;
                match scan_mtr(&self.buf[pos..window], lsn, &self.ring) {
                    MtrScan::Mtr { len, .. } if lsn + len as u64 > limit => break Stop::Unwritten,
                    MtrScan::Mtr { len, records_len } => {
                        self.note_file_ops(pos, records_len, lsn)?;
                        // The copy never wraps: every termination byte is the first lap's.
                        self.buf[pos + records_len] = 1;
                        pos += len;
                    }
                    MtrScan::End(end) => break Stop::End(end),
                    MtrScan::Incomplete => break Stop::Incomplete,
                }
            };
            if pos > 0 {
                let offset = START_OFFSET + (self.next_lsn - self.start_lsn);
                self.out
                    .write_at(&self.buf[..pos], offset)
                    .map_err(|e| BackupError::io(&self.out_path, "writing the redo copy", e))?;
                self.next_lsn += pos as u64;
                copied += pos as u64;
            }
            let end = match stop {
                Stop::End(end) => end,
                Stop::Unwritten => {
                    // Whole mtrs follow, but the server has not said they are written.
                    self.held_back = true;
                    self.last_end = MtrEnd::Marker(0);
                    return Ok(PassReport { copied, scanned_lsn: self.next_lsn, end: PassEnd::CaughtUp });
                }
                Stop::Incomplete if pos > 0 => {
                    window = step;
                    continue;
                }
                Stop::Incomplete if window < max_window => {
                    window = window.saturating_mul(2).min(max_window);
                    continue;
                }
                // Even the longest possible mtr does not end here: not an mtr.
                Stop::Incomplete => MtrEnd::TooLong,
            };
            self.last_end = end;
            let how = match end {
                MtrEnd::Marker(_) | MtrEnd::SequenceBit { .. } => PassEnd::CaughtUp,
                MtrEnd::Checksum { .. } | MtrEnd::TooLong => PassEnd::Unreadable,
            };
            return Ok(PassReport { copied, scanned_lsn: self.next_lsn, end: how });
        }
    }

    /// Reads the header, and asks the probe when it is due: always on the final
    /// pass, otherwise when the last pass held mtrs back and `PROBE_INTERVAL` has passed.
    fn refresh_written(&mut self, force: bool) -> Result<Checkpoint> {
        let server = self.check_source()?;
        self.written_lsn = self.written_lsn.max(server.end_lsn);
        let now = self.clock.now();
        let due = match self.last_probe {
            None => true,
            Some(at) => self.held_back && now.saturating_sub(at) >= PROBE_INTERVAL,
        };
        if let Some(probe) = self.probe.as_mut() {
            if force || due {
                let flushed = probe.status_lsn(LOG_WRITTEN_STATUS)?;
                self.last_probe = Some(now);
                self.written_lsn = self.written_lsn.max(flushed);
            }
        }
        Ok(server)
    }

    fn checked_pass(&mut self, force_probe: bool) -> Result<PassReport> {
        let server = self.refresh_written(force_probe)?;
        self.check_not_lapped(server)?;
        let report = self.one_pass()?;
        self.check_reached(server)?;
        Ok(report)
    }
}

/// Why a pass's scan stopped.
enum Stop {
    End(MtrEnd),
    /// The window ends inside an mtr.
    Incomplete,
    /// The next mtr ends past what the server reported written.
    Unwritten,
}

/// Test builds only: `planted::TRUST_LOG_TAIL` copies past the probe's answer.
fn planted_trust_tail() -> bool {
    #[cfg(feature = "planted-bugs")]
    if crate::planted::TRUST_LOG_TAIL.load(std::sync::atomic::Ordering::SeqCst) {
        return true;
    }
    false
}

/// Test builds only: `planted::SKIP_WRAP_CHECK_MARIADB` switches both overwrite checks off.
fn planted_skip_wrap_check() -> bool {
    #[cfg(feature = "planted-bugs")]
    if crate::planted::SKIP_WRAP_CHECK_MARIADB.load(std::sync::atomic::Ordering::SeqCst) {
        return true;
    }
    false
}

fn merge(a: PassReport, b: PassReport) -> PassReport {
    PassReport { copied: a.copied + b.copied, ..b }
}

impl RedoFollower for MariaDbFollower {
    fn ring_capacity(&self) -> u64 {
        self.ring.capacity()
    }

    fn take_file_ops(&mut self) -> Vec<FileOpRecord> {
        std::mem::take(&mut self.file_ops)
    }

    fn poll(&mut self, final_pass: bool) -> Result<PassReport> {
        if self.finished {
            return Err(BackupError::FollowerGone("the redo copy was already finished".into()));
        }
        let before = self.next_lsn;
        let mut report = self.checked_pass(final_pass)?;
        if final_pass {
            // The log may end in an mtr being written: read again right away, it settles fast.
            let mut rereads = 0;
            while report.end == PassEnd::Unreadable && rereads < FINAL_PASS_REREADS {
                rereads += 1;
                report = merge(report, self.one_pass()?);
            }
            // Redo written during the pass (a checkpoint, background work): copy up to
            // what the server now says is written.
            for _ in 0..FINAL_PASS_ROUNDS {
                self.refresh_written(true)?;
                if self.written_lsn <= self.next_lsn {
                    break;
                }
                report = merge(report, self.checked_pass(true)?);
            }
            self.out.sync().map_err(|e| BackupError::io(&self.out_path, "fdatasync of the redo copy", e))?;
            self.last_lsn = self.next_lsn;
            self.finished = true;
        }
        debug_assert!(self.next_lsn >= before, "the redo copy went back from LSN {before} to {}", self.next_lsn);
        debug_assert!(self.next_lsn >= self.start_lsn, "the redo copy is before its start LSN {}", self.start_lsn);
        debug_assert!(!self.finished || self.last_lsn == self.next_lsn, "last_lsn is not where the copy ended");
        report_pass(&*self.progress, &*self.clock, &mut self.event_phase, final_pass, before, &report);
        Ok(report)
    }
    fn start_lsn(&self) -> Lsn {
        self.start_lsn
    }
    fn last_lsn(&self) -> Lsn {
        self.last_lsn
    }
    fn is_finished(&self) -> bool {
        self.finished
    }
    fn copied_lsn(&self) -> Lsn {
        self.next_lsn
    }
    fn target_name(&self) -> &str {
        "ib_logfile0"
    }
}
