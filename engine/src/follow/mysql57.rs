//! The MySQL 5.7 redo follower: copies the server's 512-byte log blocks, in
//! LSN order across the files of its log group, into `xtrabackup_logfile`.

use super::{report_pass, PassEnd, PassReport, RedoFollower};
use crate::error::{BackupError, RedoLap, Result};
use crate::events::{emit, EventKind, Phase, Progress, Role};
use crate::format::mysql57::{self, BlockClass, Checkpoint, RingGeometry, LOG_BLOCK_SIZE};
use crate::format::{FormatError, Lsn};
use crate::io::{Clock, SourceFile, TargetFile};
use std::path::PathBuf;
use std::sync::Arc;

/// Back-to-back re-reads of a block that fails its checksum in the final pass.
const FINAL_PASS_REREADS: u32 = 100;

/// Reads the 2048-byte header of file 0 until the checkpoint number is stable
/// (the server may be writing a checkpoint as we read).
pub fn read_stable_header(file0: &mut dyn SourceFile, path: &std::path::Path) -> Result<(Vec<u8>, Checkpoint)> {
    let mut last: Option<(Vec<u8>, Checkpoint)> = None;
    for _ in 0..10 {
        let mut header = vec![0u8; mysql57::LOG_FILE_HDR_SIZE as usize];
        let got = file0.read_at(&mut header, 0).map_err(|e| BackupError::io(path, "reading the redo log header", e))?;
        if got < header.len() {
            return Err(BackupError::Format {
                path: path.into(),
                source: crate::format::FormatError::TooShort { what: "redo log header", need: header.len(), have: got },
            });
        }
        mysql57::LogFileHeader::parse(&header[..LOG_BLOCK_SIZE])
            .map_err(|source| BackupError::Format { path: path.into(), source })?;
        let cp =
            mysql57::newest_checkpoint(&header).map_err(|source| BackupError::Format { path: path.into(), source })?;
        if let Some((_, prev)) = &last {
            if prev.no == cp.no {
                return Ok((header, cp));
            }
        }
        last = Some((header, cp));
    }
    Err(BackupError::RedoCorrupt {
        lsn: last.map(|(_, c)| c.lsn).unwrap_or(0),
        detail: format!("{}: the checkpoint number kept changing over 10 reads of the header", path.display()),
    })
}

/// Decodes the copied records as they arrive, to find what a copy cannot
/// survive (MLOG_INDEX_LOAD). Stops, saying so, at a record type it does not
/// know: 5.7 records carry no length, so nothing after one can be read.
struct RecordScanner {
    pending: Vec<u8>,
    /// Data bytes (block framing removed) before `pending[0]`, from the start block.
    pending_pos: u64,
    start_block_lsn: Lsn,
    /// Data bytes of the start block that precede the checkpoint.
    skip: usize,
    stopped: bool,
    flushed_below: Lsn,
}

const DATA_PER_BLOCK: u64 = (mysql57::LOG_BLOCK_DATA_END - mysql57::LOG_BLOCK_HDR_SIZE) as u64;

/// Where record decoding stopped, and why: the MLOG_INDEX_LOAD check is off from there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "redo record decoding stopped at LSN {lsn} ({cause}): MLOG_INDEX_LOAD detection is off for the rest of this backup"
)]
struct ScanStopped {
    lsn: Lsn,
    cause: FormatError,
}

impl RecordScanner {
    fn new(start_block_lsn: Lsn, checkpoint_lsn: Lsn, flushed_below: Lsn) -> Self {
        let skip = ((checkpoint_lsn - start_block_lsn) as usize).saturating_sub(mysql57::LOG_BLOCK_HDR_SIZE);
        RecordScanner { pending: Vec::new(), pending_pos: 0, start_block_lsn, skip, stopped: false, flushed_below }
    }

    fn lsn_at(&self, pos: u64) -> Lsn {
        self.start_block_lsn
            + pos / DATA_PER_BLOCK * LOG_BLOCK_SIZE as u64
            + mysql57::LOG_BLOCK_HDR_SIZE as u64
            + pos % DATA_PER_BLOCK
    }

    /// Takes the next data bytes in LSN order. Some = the scan stopped here (a note,
    /// not a failure: only the MLOG_INDEX_LOAD check is lost).
    fn feed(&mut self, mut data: &[u8]) -> Result<Option<ScanStopped>> {
        if self.stopped {
            return Ok(None);
        }
        if self.skip > 0 {
            let n = self.skip.min(data.len());
            self.pending_pos += n as u64;
            self.skip -= n;
            data = &data[n..];
        }
        self.pending.extend_from_slice(data);
        let mut at = 0;
        let outcome = loop {
            match crate::format::mysql57::mlog::decode_record(&self.pending[at..]) {
                Ok(Some(d)) => {
                    if let crate::format::mysql57::mlog::Record::IndexLoad { space, .. } = d.record {
                        let lsn = self.lsn_at(self.pending_pos + at as u64);
                        if lsn >= self.flushed_below {
                            return Err(BackupError::IndexBuiltWithoutRedo { lsn, space });
                        }
                    }
                    at += d.len;
                }
                Ok(None) => break None,
                Err(cause) => {
                    self.stopped = true;
                    break Some(ScanStopped { lsn: self.lsn_at(self.pending_pos + at as u64), cause });
                }
            }
        };
        self.pending.drain(..at);
        self.pending_pos += at as u64;
        if self.stopped {
            self.pending = Vec::new();
        }
        Ok(outcome)
    }
}

/// Follows a MySQL 5.7 redo ring into `xtrabackup_logfile` (docs/FORMATS.md §3).
pub struct Mysql57Follower {
    files: Vec<Box<dyn SourceFile>>,
    file_paths: Vec<PathBuf>,
    geometry: RingGeometry,
    anchor: Checkpoint,
    out: Box<dyn TargetFile>,
    out_path: PathBuf,
    start_lsn: Lsn,
    /// Block-aligned LSN of the next block not yet copied.
    next_lsn: Lsn,
    scanned_lsn: Lsn,
    last_lsn: Lsn,
    finished: bool,
    read_step: usize,
    buf: Vec<u8>,
    progress: Arc<dyn Progress>,
    clock: Arc<dyn Clock>,
    /// The first pass belongs to phase 9, later ones to phase 13.
    event_phase: Phase,
    scanner: RecordScanner,
}

/// The pieces a `Mysql57Follower` is built from.
pub struct Mysql57FollowerParts {
    pub files: Vec<Box<dyn SourceFile>>,
    pub file_paths: Vec<PathBuf>,
    pub geometry: RingGeometry,
    /// The checkpoint the copy starts from.
    pub checkpoint: Checkpoint,
    /// File 0's first 2048 bytes, as read with `read_stable_header`.
    pub header: Vec<u8>,
    /// "xtrabkup yymmdd hh:mm:ss"
    pub creator: String,
    pub out: Box<dyn TargetFile>,
    pub out_path: PathBuf,
    pub read_step: usize,
    pub progress: Arc<dyn Progress>,
    pub clock: Arc<dyn Clock>,
    /// 5.7 writes MLOG_INDEX_LOAD after the index's pages reached the data file,
    /// so one below the server LSN read before the copy began (a DDL that ended
    /// before the backup) changed nothing the copy can miss. 0: every one fails the backup.
    pub index_loads_flushed_below: Lsn,
}

impl Mysql57Follower {
    /// Writes the relabelled header as the first 2048 bytes of the copy.
    pub fn start(parts: Mysql57FollowerParts) -> Result<Self> {
        let Mysql57FollowerParts {
            files,
            file_paths,
            geometry,
            checkpoint,
            header,
            creator,
            mut out,
            out_path,
            read_step,
            progress,
            clock,
            index_loads_flushed_below,
        } = parts;
        if read_step == 0 || read_step % LOG_BLOCK_SIZE != 0 {
            return Err(BackupError::Config(format!(
                "the redo read step must be a positive multiple of 512 bytes, not {read_step}"
            )));
        }
        let labelled = mysql57::header_with_creator(&header, &creator)
            .map_err(|source| BackupError::Format { path: out_path.clone(), source })?;
        out.write_at(&labelled, 0).map_err(|e| BackupError::io(&out_path, "writing the log header", e))?;
        let start_lsn = checkpoint.lsn - checkpoint.lsn % LOG_BLOCK_SIZE as u64;
        Ok(Mysql57Follower {
            files,
            file_paths,
            geometry,
            anchor: checkpoint,
            out,
            out_path,
            start_lsn,
            next_lsn: start_lsn,
            scanned_lsn: checkpoint.lsn,
            last_lsn: start_lsn,
            finished: false,
            read_step,
            buf: vec![0u8; read_step],
            progress,
            clock,
            event_phase: Phase::FirstLogCopy,
            scanner: RecordScanner::new(start_lsn, checkpoint.lsn, index_loads_flushed_below),
        })
    }

    /// Reads `len` ring bytes starting at block-aligned `lsn` into `self.buf`.
    fn read_ring(&mut self, lsn: Lsn, len: usize) -> Result<()> {
        let spans = self.geometry.spans(lsn, len as u64, self.anchor.lsn, self.anchor.offset);
        let mut at = 0usize;
        for span in spans {
            let file = span.file as usize;
            let dst = &mut self.buf[at..at + span.len as usize];
            let got = self.files[file]
                .read_at(dst, span.offset)
                .map_err(|e| BackupError::io(&self.file_paths[file], "reading the redo log", e))?;
            if got < dst.len() {
                return Err(BackupError::RedoCorrupt {
                    lsn,
                    detail: format!(
                        "{} is shorter than innodb_log_file_size: read {got} of {} bytes at offset {}",
                        self.file_paths[file].display(),
                        dst.len(),
                        span.offset
                    ),
                });
            }
            at += span.len as usize;
        }
        Ok(())
    }

    /// Hands copied blocks' record bytes (up to `data_end` in the last one) to the scanner.
    fn scan(&mut self, from: usize, blocks: usize, last_data_end: usize) -> Result<()> {
        for i in 0..blocks {
            let b = &self.buf[from + i * LOG_BLOCK_SIZE..from + (i + 1) * LOG_BLOCK_SIZE];
            let end = if i + 1 == blocks { last_data_end } else { mysql57::LOG_BLOCK_DATA_END };
            if let Some(stopped) = self.scanner.feed(&b[mysql57::LOG_BLOCK_HDR_SIZE..end])? {
                let note = EventKind::Note(stopped.to_string());
                emit(&*self.progress, &*self.clock, self.event_phase, Role::LogCopier, note);
            }
        }
        Ok(())
    }

    fn copy_out(&mut self, from: usize, len: usize, lsn: Lsn) -> Result<()> {
        let offset = mysql57::LOG_FILE_HDR_SIZE + (lsn - self.start_lsn);
        self.out
            .write_at(&self.buf[from..from + len], offset)
            .map_err(|e| BackupError::io(&self.out_path, "writing the redo copy", e))
    }

    fn one_pass(&mut self, final_pass: bool) -> Result<PassReport> {
        let mut copied = 0u64;
        let ring_blocks = self.geometry.ring_blocks();
        // Never read more than the ring holds in one step: a longer read would wrap onto itself.
        let step = self.read_step.min(self.geometry.capacity() as usize);
        loop {
            self.read_ring(self.next_lsn, step)?;
            let mut whole = 0usize;
            let mut end = None;
            for i in 0..step / LOG_BLOCK_SIZE {
                let block_lsn = self.next_lsn + (i * LOG_BLOCK_SIZE) as u64;
                let block = &self.buf[i * LOG_BLOCK_SIZE..(i + 1) * LOG_BLOCK_SIZE];
                match mysql57::classify_block(block, block_lsn, ring_blocks) {
                    BlockClass::Current { data_len } if data_len as usize == LOG_BLOCK_SIZE => whole += 1,
                    BlockClass::Current { data_len }
                        if (mysql57::LOG_BLOCK_HDR_SIZE..LOG_BLOCK_SIZE).contains(&(data_len as usize)) =>
                    {
                        end = Some((PassEnd::PartialBlock, i, data_len));
                        break;
                    }
                    BlockClass::Current { data_len } => {
                        return Err(BackupError::RedoCorrupt {
                            lsn: block_lsn,
                            detail: format!("log block data length {data_len} is impossible (12..=512)"),
                        })
                    }
                    BlockClass::Stale { .. } => {
                        end = Some((PassEnd::CaughtUp, i, 0));
                        break;
                    }
                    BlockClass::Lapped { expected_no, found_no } => {
                        #[cfg(feature = "planted-bugs")]
                        if crate::planted::SKIP_LAP_CHECK.load(std::sync::atomic::Ordering::SeqCst) {
                            whole += 1;
                            continue;
                        }
                        return Err(BackupError::RedoLapped {
                            lsn: block_lsn,
                            ring_bytes: self.geometry.capacity(),
                            evidence: RedoLap::BlockNumber { expected_no, found_no },
                        });
                    }
                    BlockClass::Unreadable => {
                        end = Some((PassEnd::Unreadable, i, 0));
                        break;
                    }
                }
            }
            if whole > 0 {
                self.scan(0, whole, mysql57::LOG_BLOCK_DATA_END)?;
                self.copy_out(0, whole * LOG_BLOCK_SIZE, self.next_lsn)?;
                copied += (whole * LOG_BLOCK_SIZE) as u64;
                self.next_lsn += (whole * LOG_BLOCK_SIZE) as u64;
                self.scanned_lsn = self.scanned_lsn.max(self.next_lsn);
            }
            let Some((how, index, data_len)) = end else { continue };
            debug_assert_eq!(index, whole);
            if how == PassEnd::PartialBlock {
                self.scanned_lsn = self.next_lsn + data_len as u64;
                if final_pass {
                    // Only now: a partial block written earlier would be stale by the end.
                    self.scan(index * LOG_BLOCK_SIZE, 1, data_len as usize)?;
                    self.copy_out(index * LOG_BLOCK_SIZE, LOG_BLOCK_SIZE, self.next_lsn)?;
                    copied += data_len as u64;
                    self.last_lsn = self.scanned_lsn;
                }
            } else {
                self.last_lsn = self.next_lsn;
            }
            return Ok(PassReport { copied, scanned_lsn: self.scanned_lsn, end: how });
        }
    }
}

impl RedoFollower for Mysql57Follower {
    fn ring_capacity(&self) -> u64 {
        self.geometry.capacity()
    }

    fn poll(&mut self, final_pass: bool) -> Result<PassReport> {
        if self.finished {
            return Err(BackupError::FollowerGone("the redo copy was already finished".into()));
        }
        let before = self.scanned_lsn;
        let copied_before = self.next_lsn;
        let mut report = self.one_pass(final_pass)?;
        if final_pass {
            // A torn read of the block being written: read again right away, it settles fast.
            let mut rereads = 0;
            while report.end == PassEnd::Unreadable && rereads < FINAL_PASS_REREADS {
                rereads += 1;
                let again = self.one_pass(true)?;
                report = PassReport { copied: report.copied + again.copied, ..again };
            }
            if report.end == PassEnd::Unreadable {
                return Err(BackupError::RedoCorrupt {
                    lsn: self.next_lsn,
                    detail: format!(
                        "the log block stays unreadable (bad checksum) after {FINAL_PASS_REREADS} reads in the final pass"
                    ),
                });
            }
            self.out.sync().map_err(|e| BackupError::io(&self.out_path, "fdatasync of the redo copy", e))?;
            self.finished = true;
        }
        debug_assert!(
            self.next_lsn >= copied_before,
            "the redo copy went back from LSN {copied_before} to {}",
            self.next_lsn
        );
        debug_assert!(self.scanned_lsn >= before, "the scan went back from LSN {before} to {}", self.scanned_lsn);
        debug_assert!(self.next_lsn >= self.start_lsn, "the redo copy is before its start LSN {}", self.start_lsn);
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
        "xtrabackup_logfile"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::mysql57::mlog::{encode_mtr, Record};

    /// Scans one MLOG_INDEX_LOAD placed right at the checkpoint (block 1000's
    /// first data byte) with the server's pre-copy LSN at `flushed_below`.
    fn scan_index_load(flushed_below: Lsn) -> Result<Option<ScanStopped>> {
        let block = 1000 * LOG_BLOCK_SIZE as u64;
        let checkpoint = block + mysql57::LOG_BLOCK_HDR_SIZE as u64;
        let mut scanner = RecordScanner::new(block, checkpoint, flushed_below);
        scanner.feed(&encode_mtr(&[Record::IndexLoad { space: 25, page: 3, index_id: 9 }]))
    }

    #[test]
    fn an_index_load_at_or_after_the_pre_copy_lsn_fails_the_backup() {
        let at = 1000 * LOG_BLOCK_SIZE as u64 + mysql57::LOG_BLOCK_HDR_SIZE as u64;
        for flushed_below in [0, at - 1, at] {
            match scan_index_load(flushed_below) {
                Err(BackupError::IndexBuiltWithoutRedo { lsn, space }) => assert_eq!((lsn, space), (at, 25)),
                other => panic!("flushed below {flushed_below}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_index_load_before_the_pre_copy_lsn_was_flushed_before_the_copy() {
        let at = 1000 * LOG_BLOCK_SIZE as u64 + mysql57::LOG_BLOCK_HDR_SIZE as u64;
        assert!(matches!(scan_index_load(at + 1), Ok(None)));
    }
}
